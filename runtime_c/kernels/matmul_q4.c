#include "matmul_grouped.h"

void matmul_q4(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
               const float *ws, int rows, int cols, int group_size) {
    matmul_grouped(out, xq, 1, xs, wq, 4, ws, rows, cols, group_size, group_dot_q4_reference, (GroupDotRows)0);
}
