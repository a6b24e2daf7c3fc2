/* matmul.c - whole matrices, block by block, each block with the board's kernel
 * where it has one (kernels.h), else the portable reference. */
#include "kernels.h"

void gemm_each(Matvec matvec, float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols,
               int group_size) {
    for (int t = 0; t < b->tokens; t++) {
        matvec(out + t * b->out_stride, b->x + t * b->x_stride, b->xs + t * b->xs_stride, w, rows, cols, group_size);
    }
}

void matmul_q8_tokens(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size,
                      const WeightLayout *l) {
    const long step = layout_block_bytes(l, l->rows, cols, group_size, 8);
    for (int i = 0; i < rows; i += l->rows, w += step) {
        const int n = rows - i < l->rows ? rows - i : l->rows;
#if defined(KERNEL_ROWS) /* the image is in its kernels' layout */
        if (b->tokens == 1) { /* decoding: the matvec kernel, streaming */
            matvec_q8_kernel(out + i, b->x, b->xs, w, n, cols, group_size);
        } else {
            gemm_q8_kernel(out + i, b, w, n, cols, group_size);
        }
#else
        for (int t = 0; t < b->tokens; t++) {
            matvec_q8_reference(out + i + t * b->out_stride, b->x + t * b->x_stride, b->xs + t * b->xs_stride, w, n,
                                cols, group_size, l);
        }
#endif
    }
}

void matmul_kquant_tokens(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size,
                          int bits) {
    if (b->tokens == 1) { /* decoding: the matvec kernels, streaming */
        switch (bits) {
        case 4: matvec_q4_kernel(out, b->x, b->xs, w, rows, cols, group_size); break;
        case 5: matvec_q5_kernel(out, b->x, b->xs, w, rows, cols, group_size); break;
        default: matvec_q6_kernel(out, b->x, b->xs, w, rows, cols, group_size); break;
        }
        return;
    }
    switch (bits) {
    case 4: gemm_q4_kernel(out, b, w, rows, cols, group_size); break;
    case 5: gemm_q5_kernel(out, b, w, rows, cols, group_size); break;
    default: gemm_q6_kernel(out, b, w, rows, cols, group_size); break;
    }
}

/* One token: a batch of one. */
void matmul_q8(float *out, const int8_t *xq, const float *xs, const uint8_t *w, int rows, int cols,
               int group_size, const WeightLayout *l) {
    const TokenBatch one = {xq, xs, 0, 0, 0, 1};
    matmul_q8_tokens(out, &one, w, rows, cols, group_size, l);
}

void matmul_kquant(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size, int bits) {
    const TokenBatch one = {x, xs, 0, 0, 0, 1};
    matmul_kquant_tokens(out, &one, w, rows, cols, group_size, bits);
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
