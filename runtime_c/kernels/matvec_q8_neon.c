/* matvec_q8_neon - one block of up to 4 rows (layout R=4, C=16, bias 0) with Arm
 * NEON, AArch64 and Armv7.
 *
 * A chunk is 16 columns of row 0, then of row 1, 2, 3 (64 bytes for a whole block):
 * one 16-byte load of x serves the four rows. Each row's 16 products are made by
 * vmull_s8 (columns 0-7) and vmlal_s8 (8-15) into int16 lanes, each lane the sum
 * of two products (|v| <= 127: at most 2 * 16129 = 32258, which fits int16), then
 * added pairwise into the row's four int32 lanes (vpadalq_s16). At the end of a
 * group the four rows' lanes are reduced to one vector [row 0 .. row 3] and the
 * float epilogue runs with the rows in lanes, each lane doing the reference's
 * `sum = sum + ((float)acc * ws) * xs` in group order.
 *
 * AArch64 NEON is IEEE (denormals kept, round to nearest): products and sums are
 * vector ops (separate multiplies and adds, never a fused fmla). Armv7 NEON
 * flushes denormals to zero: it still makes the products (normal by construction:
 * every scale is 0 or >= 2^-63, toolchain/compile/layout.py MIN_SCALE), but the running
 * sums, which may cancel to a denormal, are added by the scalar VFP, which is IEEE.
 */
#include "kernels.h"

#if defined(LLM_KERNEL_NEON) || defined(LLM_KERNEL_DISPATCH_A64)
#include <arm_neon.h>
#include "lanes_neon.h"

/* acc += the 16 products of one row's span w with x, pairwise into 4 lanes. */
static inline int32x4_t dot16(int32x4_t acc, int8x16_t w, int8x16_t x) {
#if defined(__aarch64__)
    int16x8_t p = vmull_s8(vget_low_s8(w), vget_low_s8(x));
    p = vmlal_high_s8(p, w, x); /* reads the upper halves in place */
#else
    int16x8_t p = vmull_s8(vget_low_s8(w), vget_low_s8(x));
    p = vmlal_s8(p, vget_high_s8(w), vget_high_s8(x)); /* D halves of the Q registers: free */
#endif
    return vpadalq_s16(acc, p);
}

#if !defined(__aarch64__)
/* p + n, opaque to the optimizer: Armv7's VLD1 takes no offset, only a post-increment
 * of its address register; without this GCC folds the steps back into offsets from
 * one pointer and spends an ADD per load on them. */
static inline const int8_t *step(const int8_t *p, long n) {
    p += n;
    __asm__("" : "+r"(p));
    return p;
}
#endif

/* [sum(a0), sum(a1), sum(a2), sum(a3)]: integer adds, in any order. */
static inline int32x4_t reduce4(int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3) {
#if defined(__aarch64__)
    return vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3));
#else
    const int32x2_t b0 = vadd_s32(vget_low_s32(a0), vget_high_s32(a0)), b1 = vadd_s32(vget_low_s32(a1), vget_high_s32(a1));
    const int32x2_t b2 = vadd_s32(vget_low_s32(a2), vget_high_s32(a2)), b3 = vadd_s32(vget_low_s32(a3), vget_high_s32(a3));
    return vcombine_s32(vpadd_s32(b0, b1), vpadd_s32(b2, b3));
#endif
}

/* Inlined twice: rows = 4 (every block but maybe the last: the row offsets fold to
 * constants) and any rows, whose missing rows read row rows-1 again and whose
 * lanes are then dropped. */
static inline __attribute__((always_inline)) void block_q8(float *out, const int8_t *x, const float *xs,
                                                           const int8_t *w, const int rows, int cols,
                                                           int group_size) {
    const long chunk = 16L * rows;
    const long o1 = rows > 1 ? 16 : 0, o2 = rows > 2 ? 32 : o1, o3 = rows > 3 ? 48 : o2;
#if defined(__aarch64__)
    float32x4_t sum = vdupq_n_f32(0.0f);
#else
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#endif
    /* chunks per group: the compiler picks this kernel only for groups of whole chunks */
    const int group_chunks = group_size / 16;
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        /* a short last group ends in a zero-padded chunk, and x is padded too: whole chunks */
        const int8_t *end = x + 16 * (cols - start < group_size ? (cols - start + 15) / 16 : group_chunks);
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
        do { /* at least one chunk */
            const int8x16_t xv = vld1q_s8(x);
#if defined(__aarch64__)
            a0 = dot16(a0, vld1q_s8(w), xv); /* a whole block: two LDP of 32 bytes */
            a1 = dot16(a1, vld1q_s8(w + o1), xv);
            a2 = dot16(a2, vld1q_s8(w + o2), xv);
            a3 = dot16(a3, vld1q_s8(w + o3), xv);
            w += chunk;
#else
            a0 = dot16(a0, vld1q_s8(w), xv);
            w = step(w, o1);
            a1 = dot16(a1, vld1q_s8(w), xv);
            w = step(w, o2 - o1);
            a2 = dot16(a2, vld1q_s8(w), xv);
            w = step(w, o3 - o2);
            a3 = dot16(a3, vld1q_s8(w), xv);
            w = step(w, chunk - o3);
#endif
            x += 16;
        } while (x != end);
        /* ((float)acc * ws) * xs per lane: vcvt rounds to nearest like the C cast */
        const float32x4_t p =
            vmulq_n_f32(vmulq_f32(vcvtq_f32_s32(reduce4(a0, a1, a2, a3)), load_scales(w, rows)), xs[g]);
        w += 4L * rows; /* past the scales, to the next group */
#if defined(__aarch64__)
        sum = vaddq_f32(sum, p);
#else
        /* scalar VFP adds (denormal sums kept), reading the lanes as S registers
         * where GCC can (by D halves it reads the even lanes in place) */
        const float32x2_t lo = vget_low_f32(p), hi = vget_high_f32(p);
        s0 += vget_lane_f32(lo, 0);
        s1 += vget_lane_f32(lo, 1);
        s2 += vget_lane_f32(hi, 0);
        s3 += vget_lane_f32(hi, 1);
#endif
    }
#if defined(__aarch64__)
    store_rows(out, sum, rows);
#else
    out[0] = s0;
    if (rows > 1) out[1] = s1;
    if (rows > 2) out[2] = s2;
    if (rows > 3) out[3] = s3;
#endif
}

void matvec_q8_neon(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                    int group_size) {
    const int8_t *w = (const int8_t *)block; /* bias 0: the bytes are the int8 values */
    if (rows == KERNEL_ROWS) {
        block_q8(out, x, xs, w, KERNEL_ROWS, cols, group_size);
    } else {
        block_q8(out, x, xs, w, rows, cols, group_size);
    }
}
#endif
