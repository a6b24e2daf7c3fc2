/* The AVX2 k-quant twins (runtime_c/kernels/matvec_kquant_avx2.c) alone: each of q4,
 * q5 and q6 on a ROWS x COLS matrix of random bytes (finite scales) in groups of
 * GROUP, checked once against the reference, then run 5 x REPS times; prints the
 * best time per MAC. Under valgrind's callgrind, each twin's inclusive count over
 * 6 x ROWS x COLS is its instructions per MAC (docs/benchmarks.md):
 *
 *   K=runtime_c/kernels
 *   cc -std=c11 -O2 -mavx2 -mf16c -DLLM_KERNEL_AVX2 -ffp-contract=off -I$K -o kquant_avx2 \
 *       benchmarks/kquant_avx2.c $K/matvec_kquant_avx2.c $K/matvec_q[456].c $K/f16.c
 *   ./kquant_avx2 256 768 300 256
 *   valgrind --tool=callgrind ./kquant_avx2 768 2048 1 256 && callgrind_annotate --inclusive=yes callgrind.out.*
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kquant.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s ROWS COLS REPS GROUP\n", argv[0]);
        return 2;
    }
    const int rows = atoi(argv[1]), cols = atoi(argv[2]), reps = atoi(argv[3]), group = atoi(argv[4]);
    const Matvec twins[3] = {matvec_q4_avx2, matvec_q5_avx2, matvec_q6_avx2};
    const Matvec references[3] = {matvec_q4_reference, matvec_q5_reference, matvec_q6_reference};
    const int groups = (cols + group - 1) / group;
    int8_t *x = malloc((size_t)cols);
    float *xs = malloc(sizeof(float) * (size_t)groups), *got = malloc(sizeof(float) * (size_t)rows),
          *want = malloc(sizeof(float) * (size_t)rows);
    for (int i = 0; i < cols; i++) x[i] = (int8_t)(rand() % 255 - 127);
    for (int g = 0; g < groups; g++) xs[g] = 0.001f * (float)(g + 1);
    int status = 0;
    for (int bits = 4; bits <= 6; bits++) {
        const long row_bytes = kquant_row_bytes(bits, cols, group);
        uint8_t *w = malloc((size_t)(row_bytes * rows));
        for (long i = 0; i < row_bytes * rows; i++) w[i] = (uint8_t)rand();
        for (int r = 0; r < rows; r++) { /* each group's d (and dmin): 0.125 and 0.0078125 */
            uint8_t *p = w + r * row_bytes;
            for (int start = 0; start < cols; start += group) {
                const int len = kquant_min(group, cols - start), n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
                uint8_t *half = p + (long)kquant_span_bytes(bits) * n_sub + kquant_scale_bytes(bits, n_sub);
                half[0] = 0, half[1] = 0x30;
                if (bits != 6) half[2] = 0, half[3] = 0x20;
                p += kquant_group_bytes(bits, len);
            }
        }
        twins[bits - 4](got, x, xs, w, rows, cols, group);
        references[bits - 4](want, x, xs, w, rows, cols, group);
        if (memcmp(got, want, sizeof(float) * (size_t)rows) != 0) {
            printf("q%d: the twin differs from the reference\n", bits);
            status = 1;
        }
        double best = 1e30;
        for (int t = 0; t < 5; t++) {
            const double t0 = now();
            for (int i = 0; i < reps; i++) twins[bits - 4](got, x, xs, w, rows, cols, group);
            const double dt = (now() - t0) / reps;
            best = dt < best ? dt : best;
        }
        printf("q%d %d x %d, groups of %d: %.4f ns per MAC\n", bits, rows, cols, group, best * 1e9 / rows / cols);
        free(w);
    }
    free(x), free(xs), free(got), free(want);
    return status;
}
