/* scores_f32_neon.c - scores_f32 (scores_f32.c) for AArch64 NEON: 32 positions at
 * a time, their sums in eight q registers for the whole head while each key
 * element's row (the cache holds keys transposed) adds q[i] * k as a vector
 * multiply, then a vector add (never a fused fmla, which rounds once). Each lane is
 * one position's sum over the elements in order from 0.0f, divided by `scale` at
 * the end: the reference's floats, without its load and store of every sum per
 * element. Then 4 positions at a time, and the last few as scalar floats (the same
 * operations, so the same sums). AArch64 NEON is IEEE, denormals included; Armv7's
 * is not, so Armv7 keeps the C loop. */
#include "kernels.h"

#if defined(LLM_KERNEL_A64)
#include <arm_neon.h>

/* att[0..4 * vecs) from keys[0..) (vecs constant where inlined: registers) */
static inline __attribute__((always_inline)) void score_block(float *att, const float *q, const float *keys,
                                                              int stride, int head_dim, float scale, int vecs) {
    float32x4_t sum[8];
    for (int v = 0; v < vecs; v++) sum[v] = vdupq_n_f32(0.0f);
    for (int i = 0; i < head_dim; i++, keys += stride) {
        const float32x4_t qi = vdupq_n_f32(q[i]);
        for (int v = 0; v < vecs; v++) sum[v] = vaddq_f32(sum[v], vmulq_f32(qi, vld1q_f32(keys + 4 * v)));
    }
    const float32x4_t s = vdupq_n_f32(scale);
    for (int v = 0; v < vecs; v++) vst1q_f32(att + 4 * v, vdivq_f32(sum[v], s));
}

void scores_f32_neon(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale) {
    int t = 0;
    for (; t + 32 <= n; t += 32) score_block(att + t, q, keys + t, stride, head_dim, scale, 8);
    for (; t + 4 <= n; t += 4) score_block(att + t, q, keys + t, stride, head_dim, scale, 1);
    for (; t < n; t++) {
        float sum = 0.0f;
        for (int i = 0; i < head_dim; i++) sum += q[i] * keys[(long)i * stride + t];
        att[t] = sum / scale;
    }
}
#endif
