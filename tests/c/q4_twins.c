/* q4_twins.c - the board's q4 twin (kernels.h: matvec_q4_kernel) against
 * matvec_q4_reference on shapes past the on-board selftest's (llm-test -k: rows of
 * at most 300 columns, groups of at most 256): groups of 512, 768 and 1024, several
 * octets of sub-blocks, last groups that are whole octets but shorter than the group,
 * rows too long for the twins' cached sums of x, odd row counts, activations of
 * -128. For tests/test_isa_kernels.py, built for an Arm board and run under its
 * QEMU. Prints "q4 twin matches in N cases" or the first shape that differs. */
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

int main(void) {
    static const int colss[] = {256, 512, 768, 1024, 300, 1000, 9000, 8448, 33, 480};
    static const int groups[] = {256, 512, 1024, 768, 32, 64, 96, 288, 160};
    int cases = 0;
    for (unsigned ci = 0; ci < sizeof colss / sizeof *colss; ci++) {
        for (unsigned gi = 0; gi < sizeof groups / sizeof *groups; gi++) {
            for (int rows = 1; rows <= 5; rows++) {
                const int cols = colss[ci], g = groups[gi];
                const long row_bytes = kquant_row_bytes(4, cols, g);
                if (rows * row_bytes > (long)sizeof w) continue;
                for (long i = 0; i < rows * row_bytes; i++) w[i] = (uint8_t)next();
                for (int r = 0; r < rows; r++) { /* finite halves: exponent below 30, subnormals too */
                    uint8_t *p = w + r * row_bytes;
                    for (int start = 0; start < cols; start += g) {
                        const int len = kquant_min(g, cols - start), n_sub = (len + 31) / 32;
                        uint8_t *half = p + 16 * n_sub + kquant_scale_bytes(4, n_sub);
                        for (int k = 0; k < 4; k += 2) {
                            const uint32_t h = next() % 0x7800u;
                            half[k] = (uint8_t)h;
                            half[k + 1] = (uint8_t)(h >> 8);
                        }
                        p += kquant_group_bytes(4, len);
                    }
                }
                for (int i = 0; i < cols; i++) x[i] = (int8_t)((int)(next() % 256) - 128);
                for (int i = 0; i * g < cols; i++) xs[i] = (float)(next() % 1000000 + 1) * 3.1e-7f;
                matvec_q4_reference(want, x, xs, w, rows, cols, g);
                matvec_q4_kernel(got, x, xs, w, rows, cols, g);
                if (memcmp(want, got, sizeof(float) * (size_t)rows) != 0) {
                    printf("q4 twin DIFFERS: cols %d, group %d, rows %d\n", cols, g, rows);
                    return 1;
                }
                cases++;
            }
        }
    }
    printf("q4 twin matches in %d cases\n", cases);
    return 0;
}
