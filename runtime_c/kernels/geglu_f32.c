#include "kernels.h"

/* GELU by its tanh approximation, as PyTorch's approximate="tanh" computes it:
 * 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))). */
void geglu_f32(float *h, const float *h3, int n) {
    const float beta = 0.7978845608028654f, kappa = 0.044715f;
    for (int i = 0; i < n; i++) {
        const float g = h[i], inner = beta * (g + kappa * (g * g * g));
        h[i] = 0.5f * g * (1.0f + tanh_f32(inner)) * h3[i];
    }
}
