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
        if (scale < KERNEL_MIN_SCALE) scale = 0.0f; /* and the group zeros: see kernels.h */
        xs[g] = scale;
        for (int j = start; j < end; j++) {
            /* roundf is exact (IEEE), so every board rounds alike; a group of scale
             * 0 must not divide by it. The clamp guards the quotient against
             * overflowing int8 (undefined behaviour), as for a scale that rounded
             * below amax / 127. */
            float r = scale > 0.0f ? roundf(x[j] / scale) : 0.0f;
            xq[j] = (int8_t)(r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r);
        }
    }
}
