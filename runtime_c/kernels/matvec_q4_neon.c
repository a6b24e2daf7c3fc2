/* Arm NEON (AArch64 and Armv7): q4 matrices (kquant.h), bit for bit as
 * matvec_q4_reference sums them.
 *
 * The body is kquant_neon.h's; here one sub-block's products: its 16 bytes of nibbles
 * split into the values 0-15 (low nibbles) and 16-31 (high), each beside its 16
 * activations. VMULL/VMLAL make the 32 products into eight int16 lanes, four per lane
 * (at most 4 * 15 * 128 = 7680: no overflow); VPADDL widens them pairwise into four
 * int32 lanes, or for four sub-blocks at once, VPADD first adds them pairwise twice
 * in int16 (16 products a lane, at most 30720), so that one VPADDL makes
 * [S_0 .. S_3] for the body to weigh by the four scales. Armv7 takes the
 * vectors' D halves (no VMLAL2 there), and converts d and dmin in software, since
 * its NEON flushes subnormal halves; the float step is scalar (VFP: IEEE) on both. */
#include "kquant.h"

#if defined(LLM_KERNEL_NEON) || defined(LLM_KERNEL_DISPATCH_A64)
#include <arm_neon.h>
#include "kquant_neon.h"

/* The 32 products of a sub-block, four to each int16 lane (at most 4 * 15 * 128 = 7680). */
static inline __attribute__((always_inline)) int16x8_t products(uint8x16_t packed, int8x16_t x0, int8x16_t x1) {
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
    return p;
}

static inline __attribute__((always_inline)) int32x4_t sub_dot(uint8x16_t packed, int8x16_t x0, int8x16_t x1) {
    return vpaddlq_s16(products(packed, x0, x1));
}

/* Four sub-blocks' lanes added pairwise twice while they fit int16 (16 products:
 * at most 30720), then widened: [S_0, S_1, S_2, S_3]. Armv7's 16 Q registers do not
 * hold it and the body's rows and scales: a call of its own there spills less. */
#if defined(__aarch64__)
#define QUAD_INLINE static inline __attribute__((always_inline))
#else
#define QUAD_INLINE static __attribute__((noinline))
#endif
QUAD_INLINE int32x4_t quad_dot(const uint8_t *p, const int8_t *x) {
    const int16x8_t s0 = products(vld1q_u8(p), vld1q_s8(x), vld1q_s8(x + 16));
    const int16x8_t s1 = products(vld1q_u8(p + 16), vld1q_s8(x + 32), vld1q_s8(x + 48));
    const int16x8_t s2 = products(vld1q_u8(p + 32), vld1q_s8(x + 64), vld1q_s8(x + 80));
    const int16x8_t s3 = products(vld1q_u8(p + 48), vld1q_s8(x + 96), vld1q_s8(x + 112));
#if defined(__aarch64__)
    return vpaddlq_s16(vpaddq_s16(vpaddq_s16(s0, s1), vpaddq_s16(s2, s3)));
#else /* pairwise adds on D registers only */
    const int16x4_t h0 = vpadd_s16(vget_low_s16(s0), vget_high_s16(s0));
    const int16x4_t h1 = vpadd_s16(vget_low_s16(s1), vget_high_s16(s1));
    const int16x4_t h2 = vpadd_s16(vget_low_s16(s2), vget_high_s16(s2));
    const int16x4_t h3 = vpadd_s16(vget_low_s16(s3), vget_high_s16(s3));
    return vpaddlq_s16(vcombine_s16(vpadd_s16(h0, h1), vpadd_s16(h2, h3)));
#endif
}

void matvec_q4_neon(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size) {
#if defined(__aarch64__) /* one row at a time: 0.61M instructions for 1024 x 1024, in pairs 0.65M */
    q4_matvec(out, x, xs, w, rows, cols, group_size, sub_dot, quad_dot, 0);
#else /* pairs: 1.04M against 1.06M */
    q4_matvec(out, x, xs, w, rows, cols, group_size, sub_dot, quad_dot, 1);
#endif
}
#endif
