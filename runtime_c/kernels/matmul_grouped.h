/* matmul_grouped.h - the body of matmul_q8 and matmul_q4 (kernels.h): `bits` per
 * stored weight, `x_bytes` per activation; dot_rows, if not NULL, takes
 * GROUP_DOT_ROWS rows at a time. Inline, so each caller's group-dot kernels are
 * direct calls the compiler can inline into the row loop. */
#ifndef LLM_MATMUL_GROUPED_H
#define LLM_MATMUL_GROUPED_H

#include "kernels.h"

/* Groups per call of the group-dot kernel: bounds the stack, not the matrix. A
 * multiple of 4, so every call starts on a whole quad of activations. */
#define GROUPS_PER_CHUNK 64

/* sum + the groups' int32 sums scaled by their weight and activation scales, in
 * group order. The float part is the same for every ISA: one order, one result. */
static inline float add_groups(float sum, const int32_t *sums, const float *row_scales, const float *xs, int groups) {
    for (int g = 0; g < groups; g++) {
        sum += (float)sums[g] * row_scales[g] * xs[g];
    }
    return sum;
}

static inline void matmul_grouped(float *out, const int8_t *xq, int x_bytes, const float *xs, const int8_t *w,
                                  int bits, const float *ws, int rows, int cols, int group_size, GroupDot dot,
                                  GroupDotRows dot_rows) {
    const int n_groups = (cols + group_size - 1) / group_size;
    const long row_bytes = ((long)cols * bits + 7) / 8;
    const int chunk_cols = GROUPS_PER_CHUNK * group_size;
    int32_t sums[GROUP_DOT_ROWS * GROUPS_PER_CHUNK];
    int i = 0;
    if (dot_rows) { /* GROUP_DOT_ROWS rows at a time, then any left one by one */
        for (; i + GROUP_DOT_ROWS <= rows; i += GROUP_DOT_ROWS) {
            float acc[GROUP_DOT_ROWS] = {0.0f};
            for (int g0 = 0; g0 < n_groups; g0 += GROUPS_PER_CHUNK) {
                int start = g0 * group_size;
                int n = cols - start < chunk_cols ? cols - start : chunk_cols;
                dot_rows(sums, GROUPS_PER_CHUNK, xq + (long)start * x_bytes, w + i * row_bytes + (long)start * bits / 8,
                         row_bytes, n, group_size);
                const int groups = (n + group_size - 1) / group_size;
                for (int r = 0; r < GROUP_DOT_ROWS; r++) {
                    acc[r] = add_groups(acc[r], sums + r * GROUPS_PER_CHUNK, ws + (long)(i + r) * n_groups + g0,
                                        xs + g0, groups);
                }
            }
            for (int r = 0; r < GROUP_DOT_ROWS; r++) out[i + r] = acc[r];
        }
    }
    for (; i < rows; i++) {
        float sum = 0.0f;
        for (int g0 = 0; g0 < n_groups; g0 += GROUPS_PER_CHUNK) {
            int start = g0 * group_size; /* a whole byte for q4: groups are even */
            int n = cols - start < chunk_cols ? cols - start : chunk_cols;
            dot(sums, xq + (long)start * x_bytes, w + i * row_bytes + (long)start * bits / 8, n, group_size);
            sum = add_groups(sum, sums, ws + (long)i * n_groups + g0, xs + g0, (n + group_size - 1) / group_size);
        }
        out[i] = sum;
    }
}

#endif
