#include "kernels.h"

void matmul_f32(float *out, const float *x, const float *w, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
        const float *row = w + (long)i * cols;
        float sum = 0.0f;
        for (int j = 0; j < cols; j++) {
            sum += row[j] * x[j];
        }
        out[i] = sum;
    }
}
