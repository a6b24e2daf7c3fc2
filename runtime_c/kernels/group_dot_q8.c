#include "kernels.h"

void group_dot_q8_reference(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size) {
    for (int start = 0, g = 0; start < n; start += group_size, g++) {
        int end = start + group_size < n ? start + group_size : n;
        int32_t acc = 0;
        for (int j = start; j < end; j++) {
            acc += (int32_t)x[j] * (int32_t)w[j];
        }
        sums[g] = acc;
    }
}
