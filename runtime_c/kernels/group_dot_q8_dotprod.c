/* AArch64 with the dot-product extension (Cortex-A76 and later): SDOT sums four
 * int8 products into each int32 lane, 16 products per instruction. */
#include "kernels.h"

#if defined(LLM_KERNEL_DOTPROD)
#include <arm_neon.h>

void group_dot_q8_dotprod(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size) {
    for (int start = 0, g = 0; start < n; start += group_size, g++) {
        int end = start + group_size < n ? start + group_size : n;
        int32x4_t acc = vdupq_n_s32(0);
        int j = start;
        for (; j + 16 <= end; j += 16) acc = vdotq_s32(acc, vld1q_s8(x + j), vld1q_s8(w + j));
        int32_t tail = 0;
        for (; j < end; j++) tail += (int32_t)x[j] * (int32_t)w[j];
        sums[g] = vaddvq_s32(acc) + tail;
    }
}
#endif
