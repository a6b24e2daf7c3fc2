/* weighted_sum_f32_neon.c - weighted_sum_f32 (weighted_sum_f32.c) for AArch64
 * NEON: up to 64 outputs at a time in sixteen q registers for all positions, each
 * position adding att[t] * its value row as a vector multiply, then a vector add
 * (no fused fmla). Each lane is one output's sum over the positions in order from
 * 0.0f: the reference's floats, without its load and store of every sum per
 * position. Heads of 64 take one pass over the values; what is left of a head goes
 * 16, then 4 at a time, and its last few outputs as scalar floats. AArch64 only
 * (see scores_f32_neon.c). */
#include "kernels.h"

#if defined(LLM_KERNEL_A64)
#include <arm_neon.h>

/* out[0..4 * vecs) from values[0..) (vecs constant where inlined: registers) */
static inline __attribute__((always_inline)) void sum_block(float *out, const float *att, const float *values,
                                                            int stride, int n, int vecs) {
    float32x4_t sum[16];
    for (int v = 0; v < vecs; v++) sum[v] = vdupq_n_f32(0.0f);
    for (int t = 0; t < n; t++, values += stride) {
        const float32x4_t w = vdupq_n_f32(att[t]);
        for (int v = 0; v < vecs; v++) sum[v] = vaddq_f32(sum[v], vmulq_f32(w, vld1q_f32(values + 4 * v)));
    }
    for (int v = 0; v < vecs; v++) vst1q_f32(out + 4 * v, sum[v]);
}

void weighted_sum_f32_neon(float *out, const float *att, const float *values, int stride, int n, int head_dim) {
    int i = 0;
    for (; i + 64 <= head_dim; i += 64) sum_block(out + i, att, values + i, stride, n, 16);
    for (; i + 16 <= head_dim; i += 16) sum_block(out + i, att, values + i, stride, n, 4);
    for (; i + 4 <= head_dim; i += 4) sum_block(out + i, att, values + i, stride, n, 1);
    for (; i < head_dim; i++) {
        float sum = 0.0f;
        for (int t = 0; t < n; t++) sum += att[t] * values[(long)t * stride + i];
        out[i] = sum;
    }
}
#endif
