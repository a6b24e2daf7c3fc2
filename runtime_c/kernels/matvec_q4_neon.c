/* Arm NEON (AArch64 and Armv7): q4 matrices (kquant.h), bit for bit as
 * matvec_q4_reference sums them.
 *
 * The body is kquant_neon.h's; here one sub-block's products: its 16 bytes of nibbles
 * split into the values 0-15 (low nibbles) and 16-31 (high), each beside its 16
 * activations. VMULL/VMLAL make the 32 products into eight int16 lanes, four per lane
 * (at most 4 * 15 * 128 = 7680: no overflow), and VPADDL widens them pairwise into
 * the four int32 lanes the body weighs by the sub-block's scale. Armv7 takes the
 * vectors' D halves (no VMLAL2 there), and converts d and dmin in software, since
 * its NEON flushes subnormal halves; the float step is scalar (VFP: IEEE) on both. */
#include "kquant.h"

#if defined(LLM_KERNEL_NEON) || defined(LLM_KERNEL_DISPATCH_A64)
#include <arm_neon.h>
#include "kquant_neon.h"

static inline int32x4_t sub_dot(uint8x16_t packed, int8x16_t x0, int8x16_t x1) {
    const int8x16_t lo = q4_low(packed), hi = q4_high(packed);
    int16x8_t p = vmull_s8(vget_low_s8(lo), vget_low_s8(x0));
#if defined(__aarch64__)
    p = vmlal_high_s8(p, lo, x0);
    p = vmlal_s8(p, vget_low_s8(hi), vget_low_s8(x1));
    p = vmlal_high_s8(p, hi, x1);
#else
    p = vmlal_s8(p, vget_high_s8(lo), vget_high_s8(x0));
    p = vmlal_s8(p, vget_low_s8(hi), vget_low_s8(x1));
    p = vmlal_s8(p, vget_high_s8(hi), vget_high_s8(x1));
#endif
    return vpaddlq_s16(p);
}

void matvec_q4_neon(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size) {
    q4_matvec(out, x, xs, w, rows, cols, group_size, sub_dot);
}
#endif
