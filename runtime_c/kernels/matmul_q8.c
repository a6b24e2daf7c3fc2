#include "matmul_grouped.h"

void matmul_q8(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
               const float *ws, int rows, int cols, int group_size) {
    matmul_grouped(out, xq, KERNEL_X_BYTES, xs, wq, 8, ws, rows, cols, group_size, group_dot_q8, group_dot_rows_q8);
}
