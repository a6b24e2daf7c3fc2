/* scores_neon.c - the attention scores' sums for AArch64 NEON, over an f32 key
 * cache (scores_f32, divided by `scale`) or a half or int8 one (key_dots_f16 / _i8,
 * the sums before the cache's scales; scores.c): 32 positions at a time, their
 * sums in eight q registers for the whole head while each key element's row (the
 * cache holds keys transposed) adds q[i] * k as a vector multiply, then a vector
 * add (never a fused fmla, which rounds once; halves and int8 widen to floats
 * exactly). Each lane is one position's sum over the elements in order from 0.0f:
 * the reference's floats, without its load and store of every sum per element.
 * Then 4 positions at a time, and the last few as scalar floats (the same
 * operations, so the same sums). AArch64 NEON is IEEE, denormals included; Armv7's
 * is not, so Armv7 keeps the C loops. */
#include "kernels.h"

#if defined(LLM_KERNEL_A64)
#include "lanes_neon.h"

/* att[0..4 * vecs) from positions t0.. of keys (vecs and kind constant where
 * inlined: registers) */
static inline __attribute__((always_inline)) void score_block(float *att, const float *q, const void *keys, long t0,
                                                              int stride, int head_dim, float scale, int vecs,
                                                              int kind) {
    float32x4_t sum[8];
    for (int v = 0; v < vecs; v++) sum[v] = vdupq_n_f32(0.0f);
    for (int i = 0; i < head_dim; i++) {
        const long row = (long)i * stride + t0;
        const float32x4_t qi = vdupq_n_f32(q[i]);
        for (int v = 0; v < vecs; v++) sum[v] = vaddq_f32(sum[v], vmulq_f32(qi, cache_load4(keys, row + 4 * v, kind)));
    }
    const float32x4_t s = vdupq_n_f32(scale);
    for (int v = 0; v < vecs; v++) vst1q_f32(att + 4 * v, kind == CACHE_F32 ? vdivq_f32(sum[v], s) : sum[v]);
}

static inline __attribute__((always_inline)) void scores(float *att, const float *q, const void *keys, int stride,
                                                         int n, int head_dim, float scale, int kind) {
    int t = 0;
    for (; t + 32 <= n; t += 32) score_block(att + t, q, keys, t, stride, head_dim, scale, 8, kind);
    for (; t + 4 <= n; t += 4) score_block(att + t, q, keys, t, stride, head_dim, scale, 1, kind);
    for (; t < n; t++) {
        float sum = 0.0f;
        for (int i = 0; i < head_dim; i++) {
            const long at = (long)i * stride + t;
            sum += q[i] * kv_element(keys, at, kind);
        }
        att[t] = kind == CACHE_F32 ? sum / scale : sum;
    }
}

void scores_f32_neon(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale) {
    scores(att, q, keys, stride, n, head_dim, scale, CACHE_F32);
}

void key_dots_f16_neon(float *att, const float *q, const uint16_t *keys, int stride, int n, int head_dim) {
    scores(att, q, keys, stride, n, head_dim, 1.0f, CACHE_F16);
}

void key_dots_i8_neon(float *att, const float *q, const int8_t *keys, int stride, int n, int head_dim) {
    scores(att, q, keys, stride, n, head_dim, 1.0f, CACHE_I8);
}
#endif
