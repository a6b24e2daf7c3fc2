/* weighted_sum.c - one head's attention output over a value cache stored by
 * position, f32 (weighted_sum_f32), half or int8 (value_sums_f16 / _i8; an int8
 * cache's row scales are in att already, kv_cache.c). One loop for all three, each
 * element widened to a float first (exactly). */
#include "kernels.h"

static inline void weighted_sum(float *out, const float *att, const void *values, int stride, int n, int head_dim,
                                int kind) {
    for (int i = 0; i < head_dim; i++) out[i] = 0.0f;
    for (int t = 0; t < n; t++) {
        const float weight = att[t];
        for (int i = 0; i < head_dim; i++) out[i] += weight * kv_element(values, (long)t * stride + i, kind);
    }
}

void weighted_sum_f32(float *out, const float *att, const float *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_F32);
}

void value_sums_f16(float *out, const float *att, const uint16_t *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_F16);
}

void value_sums_i8(float *out, const float *att, const int8_t *values, int stride, int n, int head_dim) {
    weighted_sum(out, att, values, stride, n, head_dim, CACHE_I8);
}
