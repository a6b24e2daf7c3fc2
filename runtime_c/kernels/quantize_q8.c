#include <math.h>
#include "kernels.h"

void quantize_q8(int8_t *xq, float *xs, const float *x, int n, int group_size) {
    int n_groups = (n + group_size - 1) / group_size;
    for (int g = 0; g < n_groups; g++) {
        int start = g * group_size;
        int end = start + group_size < n ? start + group_size : n;
        float amax = 0.0f;
        for (int j = start; j < end; j++) {
            float a = fabsf(x[j]);
            if (a > amax) amax = a;
        }
        float scale = amax / 127.0f;
        xs[g] = scale;
        for (int j = start; j < end; j++) {
            /* roundf is exact (IEEE), so every board rounds alike; an all-zero
             * group has scale 0 and must not divide by it. A subnormal scale keeps
             * few bits and may round well below amax / 127 (2e-43 / 127 becomes
             * 1.4e-45): clamp, or the quotient overflows int8 (undefined behaviour). */
            float r = scale > 0.0f ? roundf(x[j] / scale) : 0.0f;
            xq[j] = (int8_t)(r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r);
        }
    }
}
