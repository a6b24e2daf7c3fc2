#include "kernels.h"

void swiglu_f32(float *h, const float *h3, int n) {
    for (int i = 0; i < n; i++) {
        const float g = h[i];
        h[i] = g / (1.0f + exp_f32(-g)) * h3[i];
    }
}
