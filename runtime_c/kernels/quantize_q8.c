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
        if (scale == 0.0f) { /* the group zeros: it must not divide by its scale */
            for (int j = start; j < end; j++) xq[j] = 0;
            continue;
        }
        for (int j = start; j < end; j++) {
            /* roundf(x / scale), halves away from zero, the same on every board, in
             * integers (roundf is a library call on FPUs without a rounding
             * instruction): with q = x / scale, t = (int)(2q) is exact (|q| is at
             * most 127 and a bit: scale rounded from amax / 127), and the nearest
             * integer is (t + 1) / 2 for t >= 0, (t - 1) / 2 for t < 0, C's
             * division rounding towards 0. The clamp guards int8 against a scale
             * that rounded below amax / 127. A NaN quotient (a NaN activation, or
             * an infinite one over the infinite scale it makes) becomes 0, as the
             * VFP twin's conversion makes it: (int)NaN is undefined behaviour. */
            const float v = 2.0f * (x[j] / scale);
            const int t = v == v ? (int)v : 0;
            const int q = (t + (t < 0 ? -1 : 1)) / 2;
            xq[j] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
    }
}
