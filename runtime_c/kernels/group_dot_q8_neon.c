/* Arm NEON (AArch64, and Armv7 with NEON): 16 int8 products per step, widened
 * to int16 pairs (vmull/vmlal: two products of |v| <= 127 fit in int16) and
 * pairwise accumulated into four int32 lanes. */
#include "kernels.h"

#if defined(LLM_KERNEL_NEON)
#include <arm_neon.h>

static inline int32_t hsum(int32x4_t v) {
#if defined(__aarch64__)
    return vaddvq_s32(v);
#else
    int32x2_t s = vadd_s32(vget_low_s32(v), vget_high_s32(v));
    return vget_lane_s32(vpadd_s32(s, s), 0);
#endif
}

void group_dot_q8_neon(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size) {
    for (int start = 0, g = 0; start < n; start += group_size, g++) {
        int end = start + group_size < n ? start + group_size : n;
        int32x4_t acc = vdupq_n_s32(0);
        int j = start;
        for (; j + 16 <= end; j += 16) {
            int8x16_t a = vld1q_s8(x + j), b = vld1q_s8(w + j);
            int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
            p = vmlal_s8(p, vget_high_s8(a), vget_high_s8(b));
            acc = vpadalq_s16(acc, p);
        }
        int32_t tail = 0;
        for (; j < end; j++) tail += (int32_t)x[j] * (int32_t)w[j];
        sums[g] = hsum(acc) + tail;
    }
}
#endif
