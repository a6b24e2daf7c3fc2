/* matvec_q8_dotprod - one block of up to 4 rows (layout R=4, C=16, bias 0) with
 * the AArch64 dot-product extension (Cortex-A76 and later).
 *
 * The layout is the plain NEON kernel's (matvec_q8_neon.c): a chunk holds 16
 * columns of row 0, then of rows 1, 2, 3, so one 16-byte load of x serves the four
 * rows, and one SDOT per row sums its 16 products four at a time into four int32
 * lanes. Four rows, four independent accumulators: SDOT's latency is hidden. At
 * the end of a group the rows' lanes are reduced to one vector [row 0 .. row 3]
 * and the float epilogue runs with the rows in lanes, each lane doing the
 * reference's `sum = sum + ((float)acc * ws) * xs` in group order: AArch64 NEON
 * is IEEE, so separate vector multiplies and adds (never a fused fmla) give the
 * reference's floats bit for bit.
 */
#include "kernels.h"

#if defined(LLM_KERNEL_DOTPROD) || defined(LLM_KERNEL_DISPATCH_A64)
#if defined(LLM_KERNEL_DISPATCH_A64) /* this file's functions alone: the rest stays Armv8.0-A */
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
#include <arm_neon.h>
#include "lanes_neon.h"

/* Inlined twice: rows = 4 (every block but maybe the last: the row offsets fold to
 * constants) and any rows, whose missing rows read row rows-1 again and whose
 * lanes are then dropped. */
static inline __attribute__((always_inline)) void block_q8(float *out, const int8_t *x, const float *xs,
                                                           const int8_t *w, const int rows, int cols,
                                                           int group_size) {
    const long chunk = 16L * rows;
    const long o1 = rows > 1 ? 16 : 0, o2 = rows > 2 ? 32 : o1, o3 = rows > 3 ? 48 : o2;
    float32x4_t sum = vdupq_n_f32(0.0f);
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        const int len = cols - start < group_size ? cols - start : group_size;
        const int8_t *xg = x + start;
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
        /* the last chunk of a short group is zero-padded, and so is x: whole chunks */
        for (int j = 0; j < len; j += 16, w += chunk) {
            const int8x16_t xv = vld1q_s8(xg + j);
            a0 = vdotq_s32(a0, vld1q_s8(w), xv);
            a1 = vdotq_s32(a1, vld1q_s8(w + o1), xv);
            a2 = vdotq_s32(a2, vld1q_s8(w + o2), xv);
            a3 = vdotq_s32(a3, vld1q_s8(w + o3), xv);
        }
        const int32x4_t acc = vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3)); /* [row 0 .. row 3] */
        /* ((float)acc * ws) * xs per lane: scvtf rounds to nearest like the C cast */
        sum = vaddq_f32(sum, vmulq_n_f32(vmulq_f32(vcvtq_f32_s32(acc), load_scales(w, rows)), xs[g]));
        w += 4L * rows; /* past the scales, to the next group */
    }
    store_rows(out, sum, rows);
}

void matvec_q8_dotprod(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                       int group_size) {
    const int8_t *w = (const int8_t *)block; /* bias 0: the bytes are the int8 values */
    if (rows == KERNEL_ROWS) {
        block_q8(out, x, xs, w, KERNEL_ROWS, cols, group_size);
    } else {
        block_q8(out, x, xs, w, rows, cols, group_size);
    }
}
#endif
