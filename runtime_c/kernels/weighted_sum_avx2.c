/* weighted_sum_avx2.c - one head's attention output for x86-64 AVX2, over an f32
 * value cache (weighted_sum_f32) or a half or int8 one (value_sums_f16 / _i8;
 * weighted_sum.c): up to 64 outputs at a time in eight ymm registers for all
 * positions, each position adding att[t] * its value row (multiply, then add: no
 * fused multiply-add; halves and int8 widen to floats exactly). Each lane is one
 * output's sum over the positions in order from 0.0f: the reference's floats,
 * without its load and store of every sum per position. Heads of 64 take one pass
 * over the values; what is left of a head goes 32, then 8 at a time, and its last
 * few outputs masked (f32) or as scalar floats. Each position prefetches the
 * values 8 positions ahead (see scores_avx2.c). */
#include "kernels.h"

#if defined(LLM_KERNEL_X86)
LLM_TARGET_AVX2
#include "lanes_avx2.h"

/* out[0..8 * vecs) from elements i0.. of each value row (vecs and kind constant
 * where inlined: registers); a single f32 vector takes the lanes of `mask` */
static inline __attribute__((always_inline)) void sum_block(float *out, const float *att, const void *values, long i0,
                                                            int stride, int n, int vecs, int kind, __m256i mask) {
    __m256 sum[8];
    for (int v = 0; v < vecs; v++) sum[v] = _mm256_setzero_ps();
    for (int t = 0; t < n; t++) {
        const long row = (long)t * stride + i0;
        const __m256 w = _mm256_set1_ps(att[t]);
        for (int v = 0; v < vecs; v += 2) {
            _mm_prefetch((const char *)values + (row + 8L * stride + 8 * v) * kind, _MM_HINT_T0);
        }
        for (int v = 0; v < vecs; v++) {
            const __m256 x = cache_load8(values, row + 8 * v, kind, vecs == 1, mask);
            sum[v] = _mm256_add_ps(sum[v], _mm256_mul_ps(w, x));
        }
    }
    for (int v = 0; v < vecs; v++) {
        if (vecs > 1) {
            _mm256_storeu_ps(out + 8 * v, sum[v]);
        } else {
            _mm256_maskstore_ps(out, mask, sum[v]);
        }
    }
}

static inline __attribute__((always_inline)) void weighted_sum(float *out, const float *att, const void *values,
                                                               int stride, int n, int head_dim, int kind) {
    const __m256i all = _mm256_set1_epi32(-1);
    int i = 0;
    for (; i + 64 <= head_dim; i += 64) sum_block(out + i, att, values, i, stride, n, 8, kind, all);
    for (; i + 32 <= head_dim; i += 32) sum_block(out + i, att, values, i, stride, n, 4, kind, all);
    for (; i + 8 <= head_dim; i += 8) sum_block(out + i, att, values, i, stride, n, 1, kind, all);
    if (kind == CACHE_F32 && i < head_dim) sum_block(out + i, att, values, i, stride, n, 1, kind, lanes_avx2(head_dim - i));
    for (; kind != CACHE_F32 && i < head_dim; i++) {
        float sum = 0.0f;
        for (int t = 0; t < n; t++) sum += att[t] * kv_element(values, (long)t * stride + i, kind);
        out[i] = sum;
    }
}

void weighted_sum_f32_avx2(float *out, const float *att, const float *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_F32);
}

void value_sums_f16_avx2(float *out, const float *att, const uint16_t *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_F16);
}

void value_sums_i8_avx2(float *out, const float *att, const int8_t *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_I8);
}
#endif
