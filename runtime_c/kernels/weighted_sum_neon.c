/* weighted_sum_neon.c - one head's attention output for AArch64 NEON, over an f32
 * value cache (weighted_sum_f32) or a half or int8 one (value_sums_f16 / _i8;
 * weighted_sum.c): up to 64 outputs at a time in sixteen q registers for all
 * positions, each position adding att[t] * its value row as a vector multiply,
 * then a vector add (no fused fmla; halves and int8 widen to floats exactly). Each
 * lane is one output's sum over the positions in order from 0.0f: the reference's
 * floats, without its load and store of every sum per position. Heads of 64 take
 * one pass over the values; what is left of a head goes 16, then 4 at a time, and
 * its last few outputs as scalar floats. AArch64 only (see scores_neon.c). */
#include "kernels.h"

#if defined(LLM_KERNEL_A64)
#include "lanes_neon.h"

/* out[0..4 * vecs) from elements i0.. of each value row (vecs and kind constant
 * where inlined: registers) */
static inline __attribute__((always_inline)) void sum_block(float *out, const float *att, const void *values, long i0,
                                                            int stride, int n, int vecs, int kind) {
    float32x4_t sum[16];
    for (int v = 0; v < vecs; v++) sum[v] = vdupq_n_f32(0.0f);
    for (int t = 0; t < n; t++) {
        const long row = (long)t * stride + i0;
        const float32x4_t w = vdupq_n_f32(att[t]);
        for (int v = 0; v < vecs; v++) sum[v] = vaddq_f32(sum[v], vmulq_f32(w, cache_load4(values, row + 4 * v, kind)));
    }
    for (int v = 0; v < vecs; v++) vst1q_f32(out + 4 * v, sum[v]);
}

static inline __attribute__((always_inline)) void weighted_sum(float *out, const float *att, const void *values,
                                                               int stride, int n, int head_dim, int kind) {
    int i = 0;
    for (; i + 64 <= head_dim; i += 64) sum_block(out + i, att, values, i, stride, n, 16, kind);
    for (; i + 16 <= head_dim; i += 16) sum_block(out + i, att, values, i, stride, n, 4, kind);
    for (; i + 4 <= head_dim; i += 4) sum_block(out + i, att, values, i, stride, n, 1, kind);
    for (; i < head_dim; i++) {
        float sum = 0.0f;
        for (int t = 0; t < n; t++) {
            const long at = (long)t * stride + i;
            sum += att[t] * kv_element(values, at, kind);
        }
        out[i] = sum;
    }
}

void weighted_sum_f32_neon(float *out, const float *att, const float *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_F32);
}

void value_sums_f16_neon(float *out, const float *att, const uint16_t *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_F16);
}

void value_sums_i8_neon(float *out, const float *att, const int8_t *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_I8);
}
#endif
