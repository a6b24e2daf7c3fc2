#include "layout.h"

/* The stream in order, chunk by chunk and row by row: each row still sums its
 * columns in order. */
void matvec_f32_reference(float *out, const float *x, const uint8_t *block, int rows, int cols,
                          const WeightLayout *l) {
    const int width = l->cols;
    const float *w = (const float *)(const void *)block;
    for (int r = 0; r < rows; r++) out[r] = 0.0f;
    for (int j0 = 0; j0 < cols; j0 += width) {
        const int n = cols - j0 < width ? cols - j0 : width;
        for (int r = 0; r < rows; r++, w += width) {
            float sum = out[r];
            for (int c = 0; c < n; c++) sum += w[c] * x[j0 + c];
            out[r] = sum;
        }
    }
}
