/* Cortex-M55 Helium (MVE): VMLADAVA multiplies 16 int8 pairs and adds them all to
 * one scalar accumulator; a predicated step (VCTP) covers a group's last bytes,
 * so there is no scalar remainder. */
#include "kernels.h"

#if defined(LLM_KERNEL_MVE)
#include <arm_mve.h>

void group_dot_q8_mve(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size) {
    for (int start = 0, g = 0; start < n; start += group_size, g++) {
        int len = start + group_size < n ? group_size : n - start;
        const int8_t *a = x + start, *b = w + start;
        int32_t acc = 0;
        int j = 0;
        for (; j + 16 <= len; j += 16) acc = vmladavaq_s8(acc, vld1q_s8(a + j), vld1q_s8(b + j));
        if (j < len) {
            mve_pred16_t p = vctp8q((uint32_t)(len - j));
            acc = vmladavaq_p_s8(acc, vld1q_z_s8(a + j, p), vld1q_z_s8(b + j, p), p);
        }
        sums[g] = acc;
    }
}
#endif
