/* selftest.c - the board's kernel against the portable reference, on the board
 * itself (llm -k): random int8 inputs of awkward sizes and group tails. */
#include <string.h>
#include "kernels.h"

#define MAX_N 300

static uint32_t next(uint32_t *state) { /* xorshift32 */
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* The multi-row kernel, if the ISA has one, on GROUP_DOT_ROWS rows `stride` apart
 * (the first row is w; groups of 4 or more): each row's sums must be the
 * reference's (want: scratch for them). */
static int rows_agree(const int16_t *prepared, const int8_t *x, int8_t *w, long stride, int n, int group_size,
                      int32_t *want, uint32_t *state) {
#if GROUP_DOT_ROWS > 1
    int32_t got[GROUP_DOT_ROWS * (MAX_N / 4)];
    const int n_groups = (n + group_size - 1) / group_size;
    if (group_size < 4) return 1;
    for (int r = 1; r < GROUP_DOT_ROWS; r++) {
        for (int i = 0; i < n; i++) w[r * stride + i] = (int8_t)((int)(next(state) % 255) - 127);
    }
    group_dot_rows_q8(got, n_groups, (const int8_t *)prepared, w, stride, n, group_size);
    for (int r = 0; r < GROUP_DOT_ROWS; r++) {
        group_dot_q8_reference(want, x, w + r * stride, n, group_size);
        for (int k = 0; k < n_groups; k++) {
            if (got[r * n_groups + k] != want[k]) return 0;
        }
    }
#else
    (void)prepared, (void)x, (void)w, (void)stride, (void)n, (void)group_size, (void)want, (void)state;
#endif
    return 1;
}

int kernel_selftest(uint32_t seed, int *cases) {
    static const int sizes[] = {1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 172, 255, 300};
    static const int groups[] = {1, 3, 4, 8, 16, 32, 64, 100, 256};
    int8_t x[MAX_N], w[GROUP_DOT_ROWS * (MAX_N + 4)]; /* rows MAX_N + 4 apart */
    int16_t prepared[MAX_N + 4]; /* int16: aligned for either form */
    int32_t want[MAX_N], got[MAX_N];
    uint32_t state = seed ? seed : 1;
    *cases = 0;
    for (unsigned s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        for (unsigned g = 0; g < sizeof groups / sizeof *groups; g++) {
            int n = sizes[s], group_size = groups[g], n_groups = (n + group_size - 1) / group_size;
            for (int i = 0; i < n; i++) { /* quantized values lie in [-127, 127] */
                x[i] = (int8_t)((int)(next(&state) % 255) - 127);
                w[i] = (int8_t)((int)(next(&state) % 255) - 127);
            }
            if (s == 0) x[0] = w[0] = -127; /* the extreme product */
            group_dot_q8_reference(want, x, w, n, group_size);
#if KERNEL_X_BYTES == 1
            memcpy(prepared, x, (size_t)n);
#else
            group_dot_q8_prepare((int8_t *)prepared, x, n);
#endif
            group_dot_q8(got, (const int8_t *)prepared, w, n, group_size);
            for (int k = 0; k < n_groups; k++) {
                if (got[k] != want[k]) return -1;
            }
            if (!rows_agree(prepared, x, w, MAX_N + 4, n, group_size, want, &state)) return -1;
            (*cases)++;
        }
    }
    return 0;
}
