/* AArch64 with the dot-product extension (Cortex-A76 and later): q4, q5 and q6
 * matrices (kquant.h), bit for bit as the reference kernels sum them.
 *
 * The body is kquant_neon.h's, as are the values (int8: q4 0..15, q5 0..31, q6 stored
 * q + 32 in 0..63); here one sub-block's products: values 0-15 and 16-31 each beside
 * their 16 activations, and two SDOTs sum the 32 products four at a time into four
 * int32 lanes; for four sub-blocks at once two pairwise adds then make
 * [S_0 .. S_3], for the body to weigh by the four scales. */
#include "kquant.h"

#if defined(LLM_KERNEL_DOTPROD) || defined(LLM_KERNEL_DISPATCH_A64)
#if defined(LLM_KERNEL_DISPATCH_A64) /* this file's functions alone: the rest stays Armv8.0-A */
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
#include <arm_neon.h>
#include "kquant_neon.h"

static inline __attribute__((always_inline)) int32x4_t sub_dot(int8x16_t lo, int8x16_t hi, int8x16_t x0,
                                                               int8x16_t x1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo, x0), hi, x1);
}

/* Sub-block k's sums at p and x (a quad's). */
static inline __attribute__((always_inline)) int32x4_t sub_sums(const uint8_t *p, const int8_t *x, int k, int bits) {
    int8x16_t lo, hi;
    kq_values(p + kquant_span_bytes(bits) * k, bits, &lo, &hi);
    return sub_dot(lo, hi, vld1q_s8(x + 32 * k), vld1q_s8(x + 32 * k + 16));
}

/* Four sub-blocks' lanes added pairwise twice: [S_0, S_1, S_2, S_3]. */
static inline __attribute__((always_inline)) int32x4_t quad(const uint8_t *p, const int8_t *x, int bits) {
    return vpaddq_s32(vpaddq_s32(sub_sums(p, x, 0, bits), sub_sums(p, x, 1, bits)),
                      vpaddq_s32(sub_sums(p, x, 2, bits), sub_sums(p, x, 3, bits)));
}

/* Each format's quad and matvec, rows two at a time where fewer instructions run so
 * (1024 x 1024, group 256, counted under QEMU: benchmarks/arm_count.py; q4 0.51M
 * against 0.59M one at a time, q6 0.64M against 0.73M); q5's decoding leaves too few
 * registers for two rows (0.84M one at a time, in pairs 0.86M). */
enum { PAIRS_Q4 = 1, PAIRS_Q5 = 0, PAIRS_Q6 = 1 };
#define QUAD_INLINE static inline __attribute__((always_inline))
KQ_TWIN(4, dotprod, QUAD_INLINE, PAIRS_Q4) /* matvec_q4_dotprod */
KQ_TWIN(5, dotprod, QUAD_INLINE, PAIRS_Q5) /* matvec_q5_dotprod */
KQ_TWIN(6, dotprod, QUAD_INLINE, PAIRS_Q6) /* matvec_q6_dotprod */
#endif
