/* arm_count.c - one matrix-vector product in a format, for benchmarks/arm_count.py to
 * count its instructions under QEMU: `arm_count BITS CALLS [ROWS COLS]` (BITS 4, 5, 6:
 * q4, q5, q6 in groups of 256; 8: q8 in groups of 64, in the board kernel's layout;
 * 1024 x 1024 unless given), CALLS 0 or 1, so that the difference of the two runs is
 * the product's. The matrix is zeros: no kernel here branches on values. */
#include <stdio.h>
#include <stdlib.h>
#include "kquant.h"

enum { N = 1024 };
static uint8_t w[N * N * 2];
static int8_t x[N];
static float xs[N], out[N];

int main(int argc, char **argv) {
    if (argc != 3 && argc != 5) return 2;
    const int bits = atoi(argv[1]), calls = atoi(argv[2]);
    const int rows = argc == 5 ? atoi(argv[3]) : N, cols = argc == 5 ? atoi(argv[4]) : N;
    if (rows < 1 || rows > N || cols < 1 || cols > N) return 2;
    static const WeightLayout layout = {KERNEL_ROWS, KERNEL_COLS, KERNEL_BIAS};
    for (int i = 0; i < calls; i++) {
        if (bits == 8) {
            matmul_q8(out, x, xs, w, rows, cols, 64, &layout);
        } else {
            matmul_kquant(out, x, xs, w, rows, cols, 256, bits);
        }
    }
    printf("%g\n", (double)out[0]);
    return 0;
}
