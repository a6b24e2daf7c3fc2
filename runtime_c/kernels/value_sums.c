/* value_sums.c - one head's attention output over a half or int8 value cache (the
 * f32 cache's is weighted_sum_f32.c): the same loops, each element widened to a
 * float first; int8 rows' scales are in att already (kv_cache.c). */
#include "kernels.h"

static inline void value_sums(float *out, const float *att, const void *values, int stride, int n, int head_dim,
                              int kind) {
    for (int i = 0; i < head_dim; i++) out[i] = 0.0f;
    for (int t = 0; t < n; t++) {
        const float weight = att[t];
        for (int i = 0; i < head_dim; i++) out[i] += weight * kv_element(values, (long)t * stride + i, kind);
    }
}

void value_sums_f16(float *out, const float *att, const uint16_t *values, int stride, int n, int head_dim) {
    value_sums(out, att, values, stride, n, head_dim, CACHE_F16);
}

void value_sums_i8(float *out, const float *att, const int8_t *values, int stride, int n, int head_dim) {
    value_sums(out, att, values, stride, n, head_dim, CACHE_I8);
}
