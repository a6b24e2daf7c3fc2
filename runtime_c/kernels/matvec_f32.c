#include "layout.h"

void matvec_f32_reference(float *out, const float *x, const uint8_t *block, int rows, int cols,
                          const WeightLayout *l) {
    const long chunk = layout_chunk_bytes(l, rows, 32) / 4;
    const float *w = (const float *)(const void *)block;
    for (int r = 0; r < rows; r++) {
        float sum = 0.0f;
        for (int j0 = 0; j0 < cols; j0 += l->cols) {
            const float *span = w + (j0 / l->cols) * chunk + (long)r * l->cols;
            const int n = cols - j0 < l->cols ? cols - j0 : l->cols;
            for (int c = 0; c < n; c++) sum += span[c] * x[j0 + c];
        }
        out[r] = sum;
    }
}
