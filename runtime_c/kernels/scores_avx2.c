/* scores_avx2.c - the attention scores' sums for x86-64 AVX2, over an f32 key cache
 * (scores_f32, divided by `scale`) or a half or int8 one (key_dots_f16 / _i8, the
 * sums before the cache's scales; scores.c): 32 positions at a time, their sums
 * in four ymm registers for the whole head while each key element's row (the cache
 * holds keys transposed) adds q[i] * k (multiply, then add: no fused multiply-add;
 * halves and int8 widen to floats exactly). Each lane is one position's sum over
 * the elements in order from 0.0f: the reference's floats. The C loop keeps its
 * sums in memory, a load and a store per product; here they stay in registers.
 * Then blocks of 8 positions, and the last few masked (f32) or as scalar floats
 * (no read past n).
 * The cache is out of the CPU's caches by the next token (the weights stream
 * through them), and its rows are a context apart: each row prefetches the row 8
 * ahead: the two f32 attention kernels went from 1,955 to 1,171 profile samples
 * over 200 stories110M tokens on one core of an AMD EPYC (Zen 3). */
#include "kernels.h"

#if defined(LLM_KERNEL_X86)
LLM_TARGET_AVX2
#include "lanes_avx2.h"

/* att[0..8 * vecs) from positions t0.. of keys (vecs and kind constant where
 * inlined: registers); a single f32 vector takes the lanes of `mask` */
static inline __attribute__((always_inline)) void score_block(float *att, const float *q, const void *keys, long t0,
                                                              int stride, int head_dim, float scale, int vecs,
                                                              int kind, __m256i mask) {
    __m256 sum[4];
    for (int v = 0; v < vecs; v++) sum[v] = _mm256_setzero_ps();
    for (int i = 0; i < head_dim; i++) {
        const long row = (long)i * stride + t0;
        const __m256 qi = _mm256_set1_ps(q[i]);
        for (int v = 0; v < vecs; v += 2) {
            _mm_prefetch((const char *)keys + (row + 8L * stride + 8 * v) * kind, _MM_HINT_T0);
        }
        for (int v = 0; v < vecs; v++) {
            const __m256 k = cache_load8(keys, row + 8 * v, kind, vecs == 1, mask);
            sum[v] = _mm256_add_ps(sum[v], _mm256_mul_ps(qi, k));
        }
    }
    const __m256 s = _mm256_set1_ps(scale);
    for (int v = 0; v < vecs; v++) {
        const __m256 a = kind == CACHE_F32 ? _mm256_div_ps(sum[v], s) : sum[v];
        if (vecs > 1) {
            _mm256_storeu_ps(att + 8 * v, a);
        } else {
            _mm256_maskstore_ps(att, mask, a);
        }
    }
}

static inline __attribute__((always_inline)) void scores(float *att, const float *q, const void *keys, int stride,
                                                         int n, int head_dim, float scale, int kind) {
    const __m256i all = _mm256_set1_epi32(-1);
    int t = 0;
    for (; t + 32 <= n; t += 32) score_block(att + t, q, keys, t, stride, head_dim, scale, 4, kind, all);
    for (; t + 8 <= n; t += 8) score_block(att + t, q, keys, t, stride, head_dim, scale, 1, kind, all);
    if (kind == CACHE_F32 && t < n) score_block(att + t, q, keys, t, stride, head_dim, scale, 1, kind, lanes_avx2(n - t));
    for (; kind != CACHE_F32 && t < n; t++) {
        float sum = 0.0f;
        for (int i = 0; i < head_dim; i++) sum += q[i] * kv_element(keys, (long)i * stride + t, kind);
        att[t] = sum;
    }
}

void scores_f32_avx2(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale) {
    scores(att, q, keys, stride, n, head_dim, scale, CACHE_F32);
}

void key_dots_f16_avx2(float *att, const float *q, const uint16_t *keys, int stride, int n, int head_dim) {
    scores(att, q, keys, stride, n, head_dim, 1.0f, CACHE_F16);
}

void key_dots_i8_avx2(float *att, const float *q, const int8_t *keys, int stride, int n, int head_dim) {
    scores(att, q, keys, stride, n, head_dim, 1.0f, CACHE_I8);
}
#endif
