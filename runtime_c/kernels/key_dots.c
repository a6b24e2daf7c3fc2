/* key_dots.c - the sums of attention scores over a half or int8 key cache (the
 * f32 cache's are scores_f32.c), before the cache's scales: kv_cache.c applies
 * those. The same loops as scores_f32, each element widened to a float first. */
#include "kernels.h"

static inline void key_dots(float *att, const float *q, const void *keys, int stride, int n, int head_dim,
                            int kind) {
    for (int t = 0; t < n; t++) att[t] = 0.0f;
    for (int i = 0; i < head_dim; i++) {
        float *restrict a = att;
        const float qi = q[i];
        for (int t = 0; t < n; t++) a[t] += qi * kv_element(keys, (long)i * stride + t, kind);
    }
}

void key_dots_f16(float *att, const float *q, const uint16_t *keys, int stride, int n, int head_dim) {
    key_dots(att, q, keys, stride, n, head_dim, CACHE_F16);
}

void key_dots_i8(float *att, const float *q, const int8_t *keys, int stride, int n, int head_dim) {
    key_dots(att, q, keys, stride, n, head_dim, CACHE_I8);
}
