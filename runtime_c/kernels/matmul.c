/* matmul.c - whole matrices, block by block, each block with the board's kernel
 * where it has one (kernels.h), else the portable reference. */
#include "kernels.h"

void matmul_q8(float *out, const int8_t *xq, const float *xs, const uint8_t *w, int rows, int cols,
               int group_size, const WeightLayout *l) {
    const long step = layout_block_bytes(l, l->rows, cols, group_size, 8);
    for (int i = 0; i < rows; i += l->rows, w += step) {
        const int n = rows - i < l->rows ? rows - i : l->rows;
#if defined(KERNEL_ROWS)
        matvec_q8_kernel(out + i, xq, xs, w, n, cols, group_size); /* the image is in its layout */
#else
        matvec_q8_reference(out + i, xq, xs, w, n, cols, group_size, l);
#endif
    }
}

void matmul_kquant(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size, int bits) {
    switch (bits) {
    case 4: matvec_q4_kernel(out, x, xs, w, rows, cols, group_size); break;
    case 5: matvec_q5_kernel(out, x, xs, w, rows, cols, group_size); break;
    default: matvec_q6_kernel(out, x, xs, w, rows, cols, group_size); break;
    }
}

void matmul_f32(float *out, const float *x, const uint8_t *w, int rows, int cols, const WeightLayout *l) {
    const long step = layout_block_bytes(l, l->rows, cols, cols, 32);
    for (int i = 0; i < rows; i += l->rows, w += step) {
        const int n = rows - i < l->rows ? rows - i : l->rows;
#if defined(KERNEL_F32_ROWS)
        matvec_f32_kernel(out + i, x, w, n, cols);
#else
        matvec_f32_reference(out + i, x, w, n, cols, l);
#endif
    }
}
