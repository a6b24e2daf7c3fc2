/* kquant_twins.c - the board's q4, q5 and q6 twins (kernels.h: matvec_q4_kernel,
 * matvec_q5_kernel, matvec_q6_kernel) against their references on shapes past the
 * on-board selftest's (llm-test -k: rows of at most 300 columns, groups of at most
 * 256): groups of 512, 768 and 1024, several octets of sub-blocks, last groups that
 * are whole octets but shorter than the group, rows too long for the twins' cached
 * sums of x, odd row counts, activations of -128; and, besides random bytes, every
 * byte 0xFF (each format's largest values and scales) or 0x00 (q6: q = -32) against
 * activations all -128, the sums' extremes, and activations all 0 (the float step's
 * signed zeros). For tests/test_isa_kernels.py, built for an Arm board and run under
 * its QEMU. Prints "k-quant twins match in N cases" or the first case that differs. */
#include <stdio.h>
#include <string.h>
#include "kquant.h"

static uint32_t state = 7;

static uint32_t next(void) {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
}

static uint8_t w[5 * 20000];
static int8_t x[9000];
static float xs[400], want[5], got[5];

/* Every group's half floats made finite (exponent below 30, subnormals too), of
 * either sign. */
static void finite_halves(uint8_t *p, int bits, int cols, int g) {
    for (int start = 0; start < cols; start += g) {
        const int len = kquant_min(g, cols - start), n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
        uint8_t *half = p + (long)kquant_span_bytes(bits) * n_sub + kquant_scale_bytes(bits, n_sub);
        for (int k = 0; k < (bits == 6 ? 2 : 4); k += 2) {
            const uint32_t h = next() % 0x7800u | (next() & 1u) << 15;
            half[k] = (uint8_t)h;
            half[k + 1] = (uint8_t)(h >> 8);
        }
        p += kquant_group_bytes(bits, len);
    }
}

int main(void) {
    static const int colss[] = {256, 512, 768, 1024, 300, 1000, 9000, 8448, 33, 480};
    static const int groups[] = {256, 512, 1024, 768, 32, 64, 96, 288, 160};
    const Matvec twins[3] = {matvec_q4_kernel, matvec_q5_kernel, matvec_q6_kernel};
    const Matvec references[3] = {matvec_q4_reference, matvec_q5_reference, matvec_q6_reference};
    int cases = 0;
    for (int bits = 4; bits <= 6; bits++) {
        for (unsigned ci = 0; ci < sizeof colss / sizeof *colss; ci++) {
            for (unsigned gi = 0; gi < sizeof groups / sizeof *groups; gi++) {
                /* 6, 7: 2 rows of 0xFF, of 0x00 bytes against -128s; 8: 2 random rows against
                 * zeros, so that a group's A and B are 0 (a -0.0f where d is negative) */
                for (int rows = 1; rows <= 8; rows++) {
                    const int cols = colss[ci], g = groups[gi], n = rows > 5 ? 2 : rows, fill = rows == 6 ? 0xFF : 0;
                    const long row_bytes = kquant_row_bytes(bits, cols, g);
                    if (n * row_bytes > (long)sizeof w) continue;
                    for (long i = 0; i < n * row_bytes; i++) w[i] = rows == 6 || rows == 7 ? (uint8_t)fill : (uint8_t)next();
                    for (int r = 0; r < n; r++) finite_halves(w + r * row_bytes, bits, cols, g);
                    for (int i = 0; i < cols; i++) {
                        x[i] = rows == 8 ? 0 : rows > 5 ? -128 : (int8_t)((int)(next() % 256) - 128);
                    }
                    for (int i = 0; i * g < cols; i++) xs[i] = (float)(next() % 1000000 + 1) * 3.1e-7f;
                    references[bits - 4](want, x, xs, w, n, cols, g);
                    twins[bits - 4](got, x, xs, w, n, cols, g);
                    if (memcmp(want, got, sizeof(float) * (size_t)n) != 0) {
                        printf("q%d twin DIFFERS: cols %d, group %d, rows %d, case %d\n", bits, cols, g, n, rows);
                        return 1;
                    }
                    cases++;
                }
            }
        }
    }
    printf("k-quant twins match in %d cases\n", cases);
    return 0;
}
