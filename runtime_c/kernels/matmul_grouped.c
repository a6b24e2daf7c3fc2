#include "kernels.h"

/* Groups per call of the group-dot kernel: bounds the stack, not the matrix. A
 * multiple of 4, so every call starts on a whole quad of activations. */
#define GROUPS_PER_CHUNK 64

void matmul_grouped(float *out, const int8_t *xq, int x_bytes, const float *xs, const int8_t *w,
                    int bits, const float *ws, int rows, int cols, int group_size, GroupDot dot) {
    const int n_groups = (cols + group_size - 1) / group_size;
    const long row_bytes = ((long)cols * bits + 7) / 8;
    int32_t sums[GROUPS_PER_CHUNK];
    float products[GROUPS_PER_CHUNK];
    for (int i = 0; i < rows; i++) {
        const int8_t *row = w + i * row_bytes;
        const float *row_scales = ws + (long)i * n_groups;
        float sum = 0.0f;
        for (int g0 = 0; g0 < n_groups; g0 += GROUPS_PER_CHUNK) {
            int start = g0 * group_size; /* a whole byte for q4: groups are even */
            int n = cols - start < GROUPS_PER_CHUNK * group_size ? cols - start : GROUPS_PER_CHUNK * group_size;
            dot(sums, xq + (long)start * x_bytes, row + (long)start * bits / 8, n, group_size);
            /* The float part is the same for every ISA: one order, one result. The
             * products are independent (and vectorise); the sum runs in group order. */
            const int groups = (n + group_size - 1) / group_size;
            for (int g = 0; g < groups; g++) {
                products[g] = (float)sums[g] * row_scales[g0 + g] * xs[g0 + g];
            }
            for (int g = 0; g < groups; g++) {
                sum += products[g];
            }
        }
        out[i] = sum;
    }
}

void matmul_q8(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
               const float *ws, int rows, int cols, int group_size) {
    matmul_grouped(out, xq, KERNEL_X_BYTES, xs, wq, 8, ws, rows, cols, group_size, group_dot_q8);
}

void matmul_q4(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
               const float *ws, int rows, int cols, int group_size) {
    matmul_grouped(out, xq, 1, xs, wq, 4, ws, rows, cols, group_size, group_dot_q4_reference);
}
