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

/* GROUP_DOT_ROWS rows at once: each 16 activations are loaded once for the four. */
void group_dot_rows_q8_mve(int32_t *sums, int sums_stride, const int8_t *x, const int8_t *w, long stride,
                           int n, int group_size) {
    for (int start = 0, g = 0; start < n; start += group_size, g++) {
        int len = start + group_size < n ? group_size : n - start;
        const int8_t *a = x + start, *b0 = w + start, *b1 = b0 + stride, *b2 = b1 + stride, *b3 = b2 + stride;
        int32_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
        int j = 0;
        for (; j + 16 <= len; j += 16) {
            const int8x16_t xv = vld1q_s8(a + j);
            acc0 = vmladavaq_s8(acc0, xv, vld1q_s8(b0 + j));
            acc1 = vmladavaq_s8(acc1, xv, vld1q_s8(b1 + j));
            acc2 = vmladavaq_s8(acc2, xv, vld1q_s8(b2 + j));
            acc3 = vmladavaq_s8(acc3, xv, vld1q_s8(b3 + j));
        }
        if (j < len) {
            mve_pred16_t p = vctp8q((uint32_t)(len - j));
            const int8x16_t xv = vld1q_z_s8(a + j, p);
            acc0 = vmladavaq_p_s8(acc0, xv, vld1q_z_s8(b0 + j, p), p);
            acc1 = vmladavaq_p_s8(acc1, xv, vld1q_z_s8(b1 + j, p), p);
            acc2 = vmladavaq_p_s8(acc2, xv, vld1q_z_s8(b2 + j, p), p);
            acc3 = vmladavaq_p_s8(acc3, xv, vld1q_z_s8(b3 + j, p), p);
        }
        sums[g] = acc0;
        sums[sums_stride + g] = acc1;
        sums[2 * sums_stride + g] = acc2;
        sums[3 * sums_stride + g] = acc3;
    }
}
#endif
