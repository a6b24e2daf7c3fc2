#include "kernels.h"

void scores_f32(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale) {
    for (int t = 0; t < n; t++) att[t] = 0.0f;
    /* one key element of every position at a time: the positions side by side
     * (vectorisable), each score still summing its elements in order */
    for (int i = 0; i < head_dim; i++) {
        const float *restrict k = keys + (long)i * stride;
        float *restrict a = att;
        const float qi = q[i];
        for (int t = 0; t < n; t++) a[t] += qi * k[t];
    }
    for (int t = 0; t < n; t++) att[t] /= scale;
}
