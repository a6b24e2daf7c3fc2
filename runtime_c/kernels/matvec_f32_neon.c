/* matvec_f32_neon - one block of up to 8 rows of f32 weights (layout R=8, C=1:
 * each column holds its 8 rows' weights side by side), for the NEON boards.
 *
 * The reference sums each row as `sum = sum + w[r][j] * x[j]`, j in order. With
 * the rows interleaved per column that is one column after another: the 8 rows'
 * running sums as 8 independent chains, the weights read as one sequential stream.
 *
 * AArch64 NEON is IEEE: two vectors of 4 rows, out = out + w * x[j] as a vector
 * multiply then a vector add (never a fused fmla, which would round once).
 * Armv7 NEON flushes denormals to zero, and here the products themselves may be
 * denormal (any weight times any activation), so Armv7 keeps every operation in
 * the scalar VFP, which is IEEE: the same 8 chains in S registers.
 */
#include <string.h>
#include "kernels.h"

#if defined(LLM_KERNEL_NEON) || defined(LLM_KERNEL_DOTPROD) || defined(LLM_KERNEL_DISPATCH_A64)

/* Any block height (the last block of a matrix may be short), in scalar floats:
 * bit for bit the reference's order. */
static inline __attribute__((always_inline)) void block_f32_scalar(float *out, const float *x, const float *w,
                                                                   const int rows, int cols) {
    float s[KERNEL_F32_ROWS] = {0.0f};
    for (int j = 0; j < cols; j++, w += rows) {
        const float xj = x[j];
        for (int r = 0; r < rows; r++) s[r] += w[r] * xj;
    }
    memcpy(out, s, sizeof(float) * (size_t)rows);
}

#if defined(__aarch64__)
#include <arm_neon.h>

void matvec_f32_neon(float *out, const float *x, const uint8_t *block, int rows, int cols) {
    const float *w = (const float *)(const void *)block;
    if (rows != KERNEL_F32_ROWS) { /* the last block of a matrix, at most */
        block_f32_scalar(out, x, w, rows, cols);
        return;
    }
    float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;
    int j = 0;
    for (; j + 4 <= cols; j += 4, w += 4 * KERNEL_F32_ROWS) { /* four columns per load of x */
        const float32x4_t xj = vld1q_f32(x + j);
        lo = vaddq_f32(lo, vmulq_laneq_f32(vld1q_f32(w), xj, 0));
        hi = vaddq_f32(hi, vmulq_laneq_f32(vld1q_f32(w + 4), xj, 0));
        lo = vaddq_f32(lo, vmulq_laneq_f32(vld1q_f32(w + 8), xj, 1));
        hi = vaddq_f32(hi, vmulq_laneq_f32(vld1q_f32(w + 12), xj, 1));
        lo = vaddq_f32(lo, vmulq_laneq_f32(vld1q_f32(w + 16), xj, 2));
        hi = vaddq_f32(hi, vmulq_laneq_f32(vld1q_f32(w + 20), xj, 2));
        lo = vaddq_f32(lo, vmulq_laneq_f32(vld1q_f32(w + 24), xj, 3));
        hi = vaddq_f32(hi, vmulq_laneq_f32(vld1q_f32(w + 28), xj, 3));
    }
    for (; j < cols; j++, w += KERNEL_F32_ROWS) {
        lo = vaddq_f32(lo, vmulq_n_f32(vld1q_f32(w), x[j]));
        hi = vaddq_f32(hi, vmulq_n_f32(vld1q_f32(w + 4), x[j]));
    }
    vst1q_f32(out, lo);
    vst1q_f32(out + 4, hi);
}
#else
void matvec_f32_neon(float *out, const float *x, const uint8_t *block, int rows, int cols) {
    const float *w = (const float *)(const void *)block;
    if (rows != KERNEL_F32_ROWS) {
        block_f32_scalar(out, x, w, rows, cols);
        return;
    }
    /* spelled out so that the 8 sums live in S registers (GCC keeps an array of them
     * in memory); VFP's VMLA.F32, which GCC may use, rounds the product before the add */
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f, s4 = 0.0f, s5 = 0.0f, s6 = 0.0f, s7 = 0.0f;
    for (int j = 0; j < cols; j++, w += KERNEL_F32_ROWS) {
        const float xj = x[j];
        s0 += w[0] * xj;
        s1 += w[1] * xj;
        s2 += w[2] * xj;
        s3 += w[3] * xj;
        s4 += w[4] * xj;
        s5 += w[5] * xj;
        s6 += w[6] * xj;
        s7 += w[7] * xj;
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
    out[4] = s4;
    out[5] = s5;
    out[6] = s6;
    out[7] = s7;
}
#endif
#endif
