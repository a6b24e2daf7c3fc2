/* layout.h - walking a matrix in the compiler's layout (kernels.h: WeightLayout),
 * shared by the reference kernels. */
#ifndef LLM_LAYOUT_H
#define LLM_LAYOUT_H

#include "kernels.h"

/* Bytes of one chunk (`rows` rows of l->cols values of `bits` bits), and of one
 * group's values (without its scales). */
static inline long layout_chunk_bytes(const WeightLayout *l, int rows, int bits) {
    return (long)rows * l->cols * bits / 8;
}

static inline long layout_values_bytes(const WeightLayout *l, int rows, int len, int bits) {
    return (long)((len + l->cols - 1) / l->cols) * layout_chunk_bytes(l, rows, bits);
}

/* The int32 sum of x[0..len) times one row's q8 values of a group: spans of `width`
 * values `stride` bytes apart, starting at `span`, each value stored + bias. A call
 * of its own, so that the compiler keeps the loop in registers (inlined, gcc spills
 * it on Cortex-M). */
__attribute__((noinline)) static int32_t layout_row_dot(const int8_t *x, const uint8_t *span, int len, int width,
                                                        long stride, uint8_t bias) {
    int32_t acc = 0;
    for (int j0 = 0; j0 < len; j0 += width, x += width, span += stride) {
        const int n = len - j0 < width ? len - j0 : width;
        for (int c = 0; c < n; c++) acc += (int32_t)x[c] * (int8_t)(span[c] ^ bias); /* value + bias, as a byte */
    }
    return acc;
}

/* The reference matvec of a q8 block (matvec_q8_reference): row by row, group by
 * group, (float)(int32 sum) * weight scale * activation scale added to the row's sum
 * in group order. */
static inline void layout_matvec(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows,
                                 int cols, int group_size, const WeightLayout *l) {
    const long span = l->cols, chunk = rows * span;
    for (int r = 0; r < rows; r++) {
        const uint8_t *group = block;
        float sum = 0.0f;
        for (int start = 0, g = 0; start < cols; start += group_size, g++) {
            const int len = cols - start < group_size ? cols - start : group_size;
            const long values = layout_values_bytes(l, rows, len, 8);
            const float *scales = (const float *)(const void *)(group + values); /* 4-byte aligned */
            /* one row alone holds the group contiguously: one span */
            const int width = rows == 1 ? len : l->cols;
            const int32_t acc = layout_row_dot(x + start, group + r * span, len, width, chunk, (uint8_t)l->bias);
            sum += (float)acc * scales[r] * xs[g];
            group += values + 4L * rows;
        }
        out[r] = sum;
    }
}

#endif
