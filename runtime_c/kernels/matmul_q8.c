#include "kernels.h"

void matmul_q8(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
               const float *ws, int rows, int cols, int group_size) {
    int n_groups = (cols + group_size - 1) / group_size;
    for (int i = 0; i < rows; i++) {
        const int8_t *row = wq + (long)i * cols;
        const float *row_scales = ws + (long)i * n_groups;
        float sum = 0.0f;
        for (int g = 0; g < n_groups; g++) {
            int start = g * group_size;
            int end = start + group_size < cols ? start + group_size : cols;
            int32_t acc = 0;
            for (int j = start; j < end; j++) {
                acc += (int32_t)xq[j] * (int32_t)row[j];
            }
            sum += (float)acc * row_scales[g] * xs[g];
        }
        out[i] = sum;
    }
}
