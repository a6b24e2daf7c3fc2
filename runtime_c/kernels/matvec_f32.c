#include "layout.h"

/* One row's sum over columns in order: spans of `width` floats `stride` floats
 * apart. A call of its own, so that the compiler keeps the loop in registers. */
__attribute__((noinline)) static float row_dot(const float *x, const float *span, int cols, int width, long stride) {
    float sum = 0.0f;
    for (int j0 = 0; j0 < cols; j0 += width, x += width, span += stride) {
        const int n = cols - j0 < width ? cols - j0 : width;
        for (int c = 0; c < n; c++) sum += span[c] * x[c];
    }
    return sum;
}

void matvec_f32_reference(float *out, const float *x, const uint8_t *block, int rows, int cols,
                          const WeightLayout *l) {
    const float *w = (const float *)(const void *)block;
    for (int r = 0; r < rows; r++) {
        /* one row alone holds its columns contiguously: one span */
        out[r] = row_dot(x, w + (long)r * l->cols, cols, rows == 1 ? cols : l->cols, (long)rows * l->cols);
    }
}
