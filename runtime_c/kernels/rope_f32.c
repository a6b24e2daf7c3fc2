#include "kernels.h"

void rope_f32(float *v, int n_heads, int head_dim, const float *cos, const float *sin) {
    for (int h = 0; h < n_heads; h++) {
        float *head = v + h * head_dim;
        for (int j = 0; j < head_dim / 2; j++) {
            float v0 = head[2 * j];
            float v1 = head[2 * j + 1];
            head[2 * j] = v0 * cos[j] - v1 * sin[j];
            head[2 * j + 1] = v0 * sin[j] + v1 * cos[j];
        }
    }
}
