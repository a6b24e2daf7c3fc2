/* weighted_sum_f32_avx2.c - weighted_sum_f32 (weighted_sum_f32.c) for x86-64 AVX2:
 * up to 64 outputs at a time in eight ymm registers for all positions, each
 * position adding att[t] * its value row (multiply, then add: no fused
 * multiply-add). Each lane is one output's sum over the positions in order from
 * 0.0f: the reference's floats, without its load and store of every sum per
 * position. Heads of 64 take one pass over the values; what is left of a head
 * goes 32, then 8 at a time, and its last few outputs masked. Each position
 * prefetches the values 8 positions ahead (see scores_f32_avx2.c). */
#include "kernels.h"

#if defined(LLM_KERNEL_X86)
#include "lanes_avx2.h"

/* out[0..8 * vecs) from values[0..) (vecs constant where inlined: registers); a
 * single vector takes the lanes of `mask` */
static inline __attribute__((always_inline)) void sum_block(float *out, const float *att, const float *values,
                                                            int stride, int n, int vecs, __m256i mask) {
    __m256 sum[8];
    for (int v = 0; v < vecs; v++) sum[v] = _mm256_setzero_ps();
    for (int t = 0; t < n; t++, values += stride) {
        const __m256 w = _mm256_set1_ps(att[t]);
        for (int v = 0; v < vecs; v += 2) _mm_prefetch((const char *)(values + 8L * stride + 8 * v), _MM_HINT_T0);
        for (int v = 0; v < vecs; v++) {
            const __m256 x = vecs > 1 ? _mm256_loadu_ps(values + 8 * v) : _mm256_maskload_ps(values, mask);
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

void weighted_sum_f32_avx2(float *out, const float *att, const float *values, int stride, int n, int head_dim) {
    const __m256i all = _mm256_set1_epi32(-1);
    int i = 0;
    for (; i + 64 <= head_dim; i += 64) sum_block(out + i, att, values + i, stride, n, 8, all);
    for (; i + 32 <= head_dim; i += 32) sum_block(out + i, att, values + i, stride, n, 4, all);
    for (; i + 8 <= head_dim; i += 8) sum_block(out + i, att, values + i, stride, n, 1, all);
    if (i < head_dim) sum_block(out + i, att, values + i, stride, n, 1, lanes_avx2(head_dim - i));
}
#endif
