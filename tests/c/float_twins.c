/* float_twins.c - softmax_f32 and swiglu_f32 beside the board's twins of them
 * (kernels.h: softmax_f32_kernel, swiglu_f32_kernel) on floats read from stdin, for
 * tests/test_isa_kernels.py on boards whose code it cannot load through ctypes
 * (AArch64, under qemu-user). Each record: int32 op (0 softmax, 1 SwiGLU), int32 n,
 * n floats x, and for SwiGLU n floats h3; written back: the C's n floats, then the
 * twin's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

static int read_floats(float *to, int n) {
    return fread(to, sizeof(float), (size_t)n, stdin) == (size_t)n;
}

int main(void) {
    int32_t head[2];
    while (fread(head, sizeof head, 1, stdin) == 1) {
        const int op = head[0], n = head[1];
        float *want = malloc(sizeof(float) * (size_t)n), *got = malloc(sizeof(float) * (size_t)n);
        float *h3 = malloc(sizeof(float) * (size_t)n);
        if (n < 1 || want == NULL || got == NULL || h3 == NULL || !read_floats(want, n) ||
            (op == 1 && !read_floats(h3, n))) {
            fprintf(stderr, "float_twins: bad record\n");
            return 1;
        }
        memcpy(got, want, sizeof(float) * (size_t)n);
        if (op == 0) {
            softmax_f32(want, n);
            softmax_f32_kernel(got, n);
        } else {
            swiglu_f32(want, h3, n);
            swiglu_f32_kernel(got, h3, n);
        }
        fwrite(want, sizeof(float), (size_t)n, stdout);
        fwrite(got, sizeof(float), (size_t)n, stdout);
        free(want);
        free(got);
        free(h3);
    }
    return 0;
}
