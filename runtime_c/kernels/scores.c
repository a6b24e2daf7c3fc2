/* scores.c - the attention scores over a key cache stored transposed: of an f32
 * cache divided by `scale` (scores_f32), of a half or int8 one the sums before
 * the cache's scales (key_dots_f16 / _i8; kv_cache.c applies those). One loop for
 * all three, each element widened to a float first (exactly). */
#include "kernels.h"

static inline void key_dots(float *att, const float *q, const void *keys, int stride, int n, int head_dim,
                            int kind) {
    for (int t = 0; t < n; t++) att[t] = 0.0f;
    /* one key element of every position at a time: the positions side by side
     * (vectorisable), each score still summing its elements in order */
    for (int i = 0; i < head_dim; i++) {
        float *restrict a = att;
        const float qi = q[i];
        for (int t = 0; t < n; t++) a[t] += qi * kv_element(keys, (long)i * stride + t, kind);
    }
}

void scores_f32(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale) {
    key_dots(att, q, keys, stride, n, head_dim, CACHE_F32);
    for (int t = 0; t < n; t++) att[t] /= scale;
}

void key_dots_f16(float *att, const float *q, const uint16_t *keys, int stride, int n, int head_dim) {
    key_dots(att, q, keys, stride, n, head_dim, CACHE_F16);
}

void key_dots_i8(float *att, const float *q, const int8_t *keys, int stride, int n, int head_dim) {
    key_dots(att, q, keys, stride, n, head_dim, CACHE_I8);
}
