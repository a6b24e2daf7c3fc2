/* arm_count.c - one matrix product in a format, for benchmarks/arm_count.py to count
 * its instructions under QEMU: `arm_count BITS CALLS [ROWS COLS [TOKENS EACH]]` (BITS
 * 4, 5, 6: q4, q5, q6 in groups of 256; 8: q8 in groups of 64, in the board kernel's
 * layout; 1024 x 1024 unless given), CALLS 0 or 1, so that the difference of the two
 * runs is the product's. With TOKENS (q8 only) a batch of that many tokens: EACH 0
 * through the board's GEMM twin (matmul_q8_tokens), 1 through gemm_each, the matvec
 * kernel token after token, block by block. The matrix is zeros: no kernel here
 * branches on values. */
#include <stdio.h>
#include <stdlib.h>
#include "kquant.h"

enum { N = 1024, TOKENS = 32 };
static uint8_t w[N * N * 2];
static int8_t x[TOKENS * N];
static float xs[TOKENS * N], out[TOKENS * N];
static const WeightLayout layout = {KERNEL_ROWS, KERNEL_COLS, KERNEL_BIAS};

/* matmul_q8_tokens with gemm_each for every block */
static void matmul_q8_each(const TokenBatch *b, int rows, int cols) {
    const long step = layout_block_bytes(&layout, KERNEL_ROWS, cols, 64, 8);
    for (int i = 0; i < rows; i += KERNEL_ROWS) {
        const int n = rows - i < KERNEL_ROWS ? rows - i : KERNEL_ROWS;
        gemm_each(matvec_q8_kernel, out + i, b, w + i / KERNEL_ROWS * step, n, cols, 64);
    }
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 5 && argc != 7) return 2;
    const int bits = atoi(argv[1]), calls = atoi(argv[2]);
    const int rows = argc >= 5 ? atoi(argv[3]) : N, cols = argc >= 5 ? atoi(argv[4]) : N;
    const int tokens = argc == 7 ? atoi(argv[5]) : 0, each = argc == 7 && atoi(argv[6]);
    if (rows < 1 || rows > N || cols < 1 || cols > N || tokens < 0 || tokens > TOKENS) return 2;
    const TokenBatch batch = {x, xs, N, N, N, tokens};
    for (int i = 0; i < calls; i++) {
        if (bits == 8 && tokens > 0) {
            if (each) {
                matmul_q8_each(&batch, rows, cols);
            } else {
                matmul_q8_tokens(out, &batch, w, rows, cols, 64, &layout);
            }
        } else if (bits == 8) {
            matmul_q8(out, x, xs, w, rows, cols, 64, &layout);
        } else {
            matmul_kquant(out, x, xs, w, rows, cols, 256, bits);
        }
    }
    printf("%g\n", (double)out[0]);
    return 0;
}
