/* Arm NEON (AArch64 and Armv7): q4, q5 and q6 matrices (kquant.h), bit for bit as
 * matvec_q4_reference, matvec_q5_reference and matvec_q6_reference sum them.
 *
 * The body is kquant_neon.h's, as are the values (int8: q4 0..15, q5 0..31, q6 stored
 * q + 32 in 0..63); here one sub-block's products, values 0-15 and 16-31 each beside
 * their 16 activations. VMULL/VMLAL make the 32 products into eight int16 lanes, four
 * per lane (at most 4 * 63 * 128 = 32256 in q6: no overflow); VPADDL widens them
 * pairwise into four int32 lanes. For four sub-blocks at once, VPADD first adds them
 * pairwise in int16 while the lanes have room, so that few pairwise adds make
 * [S_0 .. S_3] for the body to weigh by the four scales: q4 twice (16 products a
 * lane, at most 16 * 15 * 128 = 30720), q5 once (8, at most 8 * 31 * 128 = 31744),
 * q6 not at all (8 would reach 64512). Armv7 takes the vectors' D halves (no VMLAL2
 * there), and converts d and dmin in software, since its NEON flushes subnormal
 * halves; the float step is scalar (VFP: IEEE) on both. */
#include "kquant.h"

#if defined(LLM_KERNEL_NEON) || defined(LLM_KERNEL_DISPATCH_A64)
#include <arm_neon.h>
#include "kquant_neon.h"

/* The 32 products of a sub-block, four to each int16 lane. */
static inline __attribute__((always_inline)) int16x8_t products(int8x16_t lo, int8x16_t hi, int8x16_t x0,
                                                                int8x16_t x1) {
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

static inline __attribute__((always_inline)) int32x4_t sub_dot(int8x16_t lo, int8x16_t hi, int8x16_t x0,
                                                               int8x16_t x1) {
    return vpaddlq_s16(products(lo, hi, x0, x1));
}

/* Adjacent lanes of a and b added: [a0 + a1, a2 + a3, b0 + b1, b2 + b3]. */
static inline int32x4_t pair_sums(int32x4_t a, int32x4_t b) {
#if defined(__aarch64__)
    return vpaddq_s32(a, b);
#else /* pairwise adds on D registers only */
    return vcombine_s32(vpadd_s32(vget_low_s32(a), vget_high_s32(a)), vpadd_s32(vget_low_s32(b), vget_high_s32(b)));
#endif
}

/* The same in int16, eight lanes a vector. */
static inline int16x8_t pair_sums16(int16x8_t a, int16x8_t b) {
#if defined(__aarch64__)
    return vpaddq_s16(a, b);
#else
    return vcombine_s16(vpadd_s16(vget_low_s16(a), vget_high_s16(a)), vpadd_s16(vget_low_s16(b), vget_high_s16(b)));
#endif
}

/* Sub-block k's products at p and x (a quad's), four to each int16 lane. */
static inline __attribute__((always_inline)) int16x8_t sub_products(const uint8_t *p, const int8_t *x, int k,
                                                                    int bits) {
    int8x16_t lo, hi;
    kq_values(p + kquant_span_bytes(bits) * k, bits, &lo, &hi);
    return products(lo, hi, vld1q_s8(x + 32 * k), vld1q_s8(x + 32 * k + 16));
}

/* [S_0, S_1, S_2, S_3] of four sub-blocks, their lanes added pairwise in int16 as far
 * as the format's values allow (above). */
static inline __attribute__((always_inline)) int32x4_t quad(const uint8_t *p, const int8_t *x, int bits) {
    const int16x8_t s0 = sub_products(p, x, 0, bits), s1 = sub_products(p, x, 1, bits);
    const int16x8_t s2 = sub_products(p, x, 2, bits), s3 = sub_products(p, x, 3, bits);
    if (bits == 4) return vpaddlq_s16(pair_sums16(pair_sums16(s0, s1), pair_sums16(s2, s3)));
    if (bits == 5) return pair_sums(vpaddlq_s16(pair_sums16(s0, s1)), vpaddlq_s16(pair_sums16(s2, s3)));
    return pair_sums(pair_sums(vpaddlq_s16(s0), vpaddlq_s16(s1)), pair_sums(vpaddlq_s16(s2), vpaddlq_s16(s3)));
}

/* Each format's quad and matvec. Armv7's 16 Q registers do not hold a quad and the
 * body's rows and scales: a call of its own there spills less. Rows one at a time or
 * in pairs, whichever runs fewer instructions (1024 x 1024, group 256, counted under
 * QEMU: benchmarks/arm_count.py): AArch64 q4 0.63M one at a time against 0.67M in
 * pairs, q5 0.94M against 1.01M, q6 0.78M against 0.74M; Armv7 q4 1.13M against
 * 1.05M, q5 1.72M against 1.63M, q6 1.12M against 1.07M. */
#if defined(__aarch64__)
#define QUAD_INLINE static inline __attribute__((always_inline))
enum { PAIRS_Q4 = 0, PAIRS_Q5 = 0, PAIRS_Q6 = 1 };
#else
#define QUAD_INLINE static __attribute__((noinline))
enum { PAIRS_Q4 = 1, PAIRS_Q5 = 1, PAIRS_Q6 = 1 };
#endif
KQ_TWIN(4, neon, QUAD_INLINE, PAIRS_Q4) /* matvec_q4_neon */
KQ_TWIN(5, neon, QUAD_INLINE, PAIRS_Q5) /* matvec_q5_neon */
KQ_TWIN(6, neon, QUAD_INLINE, PAIRS_Q6) /* matvec_q6_neon */
#endif
