#include <math.h>
#include "kernels.h"

void rmsnorm_f32(float *out, const float *x, const float *weight, int n, float eps) {
    float ss = 0.0f;
    for (int j = 0; j < n; j++) {
        ss += x[j] * x[j];
    }
    /* sqrtf is correctly rounded on every IEEE target, unlike libm's powf. */
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (int j = 0; j < n; j++) {
        out[j] = weight[j] * (inv * x[j]);
    }
}
