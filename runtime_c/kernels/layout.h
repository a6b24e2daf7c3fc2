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

/* Value c of a row's span in a chunk, the span starting at `span` (bits 8 or 4). */
static inline int layout_value(const uint8_t *span, int c, int bits, uint8_t bias) {
    if (bits == 8) return (int8_t)(span[c] ^ bias); /* value + bias, as a byte */
    const uint8_t byte = span[c >> 1];
    return (c & 1 ? byte >> 4 : byte & 15) - 8;
}

/* The int32 sum of x[0..len) times one row's values of a group: spans of `width`
 * values `stride` bytes apart, starting at `span`. A call of its own, so that the
 * compiler keeps the loop in registers (inlined, gcc spills it on Cortex-M). */
__attribute__((noinline)) static int32_t layout_row_dot(const int8_t *x, const uint8_t *span, int len, int width,
                                                        long stride, int bits, uint8_t bias) {
    int32_t acc = 0;
    for (int j0 = 0; j0 < len; j0 += width, x += width, span += stride) {
        const int n = len - j0 < width ? len - j0 : width;
        if (bits == 8 && bias == 0) { /* plain int8: no conversion */
            for (int c = 0; c < n; c++) acc += (int32_t)x[c] * (int8_t)span[c];
        } else {
            for (int c = 0; c < n; c++) acc += (int32_t)x[c] * layout_value(span, c, bits, bias);
        }
    }
    return acc;
}

/* The reference matvec of a quantized block (matvec_q8_reference, matvec_q4_reference):
 * row by row, group by group, (float)(int32 sum) * weight scale * activation scale
 * added to the row's sum in group order. */
static inline void layout_matvec(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows,
                                 int cols, int group_size, const WeightLayout *l, int bits) {
    const long span = (long)l->cols * bits / 8, chunk = rows * span;
    for (int r = 0; r < rows; r++) {
        const uint8_t *group = block;
        float sum = 0.0f;
        for (int start = 0, g = 0; start < cols; start += group_size, g++) {
            const int len = cols - start < group_size ? cols - start : group_size;
            const long values = layout_values_bytes(l, rows, len, bits);
            const float *scales = (const float *)(const void *)(group + values); /* 4-byte aligned */
            /* one row alone holds the group contiguously: one span */
            const int width = rows == 1 ? len : l->cols;
            const int32_t acc = layout_row_dot(x + start, group + r * span, len, width, chunk, bits, (uint8_t)l->bias);
            sum += (float)acc * scales[r] * xs[g];
            group += values + 4L * rows;
        }
        out[r] = sum;
    }
}

#endif
