#include "kernels.h"

void weighted_sum_f32(float *out, const float *att, const float *values, int stride, int n, int head_dim) {
    for (int i = 0; i < head_dim; i++) out[i] = 0.0f;
    for (int t = 0; t < n; t++) {
        const float *restrict v = values + (long)t * stride;
        const float weight = att[t];
        for (int i = 0; i < head_dim; i++) out[i] += weight * v[i];
    }
}
