/* q8_tile_neon.h - the body of the Arm q8 kernels (layout R=4, C=16, bias 0): one
 * block of up to 4 rows against a tile of 1 to Q8_TILE_MAX tokens, with the plain
 * NEON products (AArch64 and Armv7) or the dot-product extension's SDOT (AArch64).
 * The matvec kernels (matvec_q8_neon.c, matvec_q8_dotprod.c) are its tile of one
 * token, the GEMM twins (gemm_q8_neon.c, gemm_q8_dotprod.c) its tiles of several:
 * one body, so a token's sums and floats are the same whichever runs it.
 *
 * A chunk is 16 columns of row 0, then of row 1, 2, 3 (64 bytes for a whole block):
 * each row's 16-byte load of weights serves every token of the tile, and each
 * token's 16-byte load of x its four rows. A (row, token) has its own accumulator
 * of four int32 lanes: with SDOT one instruction sums its 16 products four at a
 * time; without, vmull_s8 (columns 0-7) and vmlal_s8 (8-15) make int16 lanes, each
 * the sum of two products (|v| <= 127: at most 2 * 16129 = 32258, which fits
 * int16), added pairwise into the four int32 lanes (vpadalq_s16). The int32 sums
 * are exact, so their order is free. At the end of a group each token's four rows'
 * lanes are reduced to one vector [row 0 .. row 3] and that token's float epilogue
 * runs with the rows in lanes, each lane doing the reference's
 * `sum = sum + ((float)acc * ws) * xs` in group order.
 *
 * AArch64 NEON is IEEE (denormals kept, round to nearest): products and sums are
 * vector ops (separate multiplies and adds, never a fused fmla). Armv7 NEON
 * flushes denormals to zero: it still makes the products (normal by construction:
 * every scale is 0 or >= 2^-63, toolchain/compile/layout.py MIN_SCALE), but the
 * running sums, which may cancel to a denormal, are added by the scalar VFP, which
 * is IEEE.
 *
 * The tile: 4 rows x 4 tokens on AArch64 (16 accumulators, 4 vectors of weights, 4
 * of x and 4 float sums: 28 of the 32 vector registers), 4 rows x 2 tokens on Armv7
 * (16 Q registers, which also hold the scalar VFP sums; a row's weights loaded one
 * at a time). */
#ifndef LLM_Q8_TILE_NEON_H
#define LLM_Q8_TILE_NEON_H

#include <arm_neon.h>
#include "kernels.h"
#include "lanes_neon.h"

#if defined(__aarch64__)
#define Q8_TILE_MAX 4
#else
#define Q8_TILE_MAX 2
#endif

/* acc += the 16 products of one row's span w with x: by SDOT if `sdot` (the file
 * including this is built for the dot-product extension), else pairwise into the 4
 * lanes by NEON's widening multiplies. */
static inline __attribute__((always_inline)) int32x4_t dot16(int32x4_t acc, int8x16_t w, int8x16_t x,
                                                             const int sdot) {
#if defined(__ARM_FEATURE_DOTPROD)
    if (sdot) return vdotq_s32(acc, w, x);
#else
    (void)sdot;
#endif
    int16x8_t p = vmull_s8(vget_low_s8(w), vget_low_s8(x));
#if defined(__aarch64__)
    p = vmlal_high_s8(p, w, x); /* reads the upper halves in place */
#else
    p = vmlal_s8(p, vget_high_s8(w), vget_high_s8(x)); /* D halves of the Q registers: free */
#endif
    return vpadalq_s16(acc, p);
}

/* p + n, opaque to the optimizer. Armv7's VLD1 takes no offset, only a post-increment
 * of its address register: without this GCC folds the steps back into offsets from
 * one pointer and spends an ADD per load on them. On AArch64 it keeps the weights'
 * pointer a pointer: else GCC works it out anew after each group from x's. */
static inline const int8_t *step(const int8_t *p, long n) {
    p += n;
    __asm__("" : "+r"(p));
    return p;
}

/* [sum(a0), sum(a1), sum(a2), sum(a3)]: integer adds, in any order. */
static inline int32x4_t reduce4(int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3) {
#if defined(__aarch64__)
    return vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3));
#else
    const int32x2_t b0 = vadd_s32(vget_low_s32(a0), vget_high_s32(a0));
    const int32x2_t b1 = vadd_s32(vget_low_s32(a1), vget_high_s32(a1));
    const int32x2_t b2 = vadd_s32(vget_low_s32(a2), vget_high_s32(a2));
    const int32x2_t b3 = vadd_s32(vget_low_s32(a3), vget_high_s32(a3));
    return vcombine_s32(vpadd_s32(b0, b1), vpadd_s32(b2, b3));
#endif
}

/* One block against `tokens` tokens (1 .. Q8_TILE_MAX), token t's activations at
 * x + t * x_stride, its scales at xs + t * xs_stride, its outputs at
 * out + t * out_stride. Inlined with constant `tokens` and `sdot`, and with rows = 4
 * (every block but maybe the last: the row offsets fold to constants) or any rows,
 * whose missing rows read row rows-1 again and whose lanes are then dropped. The
 * loops over tokens and rows unroll fully, so the arrays live in registers. */
static inline __attribute__((always_inline)) void tile_q8(float *out, long out_stride, const int8_t *x,
                                                          long x_stride, const float *xs, long xs_stride,
                                                          const int8_t *w, const int rows, int cols,
                                                          int group_size, const int tokens, const int sdot) {
    const long chunk = 16L * rows;
    const long o1 = rows > 1 ? 16 : 0, o2 = rows > 2 ? 32 : o1, o3 = rows > 3 ? 48 : o2;
    const int8_t *xt[Q8_TILE_MAX];
#if defined(__aarch64__)
    float32x4_t sum[Q8_TILE_MAX];
#else
    const long steps[4] = {o1, o2 - o1, o3 - o2, chunk - o3}; /* to the next row's span */
    float sum[Q8_TILE_MAX][4];
#endif
#pragma GCC unroll 4
    for (int t = 0; t < tokens; t++) {
        xt[t] = x + t * x_stride;
#if defined(__aarch64__)
        sum[t] = vdupq_n_f32(0.0f);
#else
        sum[t][0] = sum[t][1] = sum[t][2] = sum[t][3] = 0.0f;
#endif
    }
    /* chunks per group: the compiler picks this kernel only for groups of whole chunks */
    const int group_chunks = group_size / 16;
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        /* a short last group ends in a zero-padded chunk, and x is padded too: whole chunks */
        const int8_t *end = xt[0] + 16 * (cols - start < group_size ? (cols - start + 15) / 16 : group_chunks);
        int32x4_t a[Q8_TILE_MAX][4];
#pragma GCC unroll 4
        for (int t = 0; t < tokens; t++) a[t][0] = a[t][1] = a[t][2] = a[t][3] = vdupq_n_s32(0);
        do { /* at least one chunk */
            int8x16_t xv[Q8_TILE_MAX];
#pragma GCC unroll 4
            for (int t = 0; t < tokens; t++) {
                xv[t] = vld1q_s8(xt[t]);
                xt[t] += 16;
            }
#if defined(__aarch64__)
            const int8x16_t wv[4] = {vld1q_s8(w), vld1q_s8(w + o1), vld1q_s8(w + o2), vld1q_s8(w + o3)};
            w = step(w, chunk); /* a whole block: two LDP of 32 bytes */
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
#pragma GCC unroll 4
                for (int t = 0; t < tokens; t++) a[t][r] = dot16(a[t][r], wv[r], xv[t], sdot);
            }
#else
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                const int8x16_t wv = vld1q_s8(w);
                w = step(w, steps[r]);
#pragma GCC unroll 4
                for (int t = 0; t < tokens; t++) a[t][r] = dot16(a[t][r], wv, xv[t], sdot);
            }
#endif
        } while (xt[0] != end);
        const float32x4_t ws = load_scales(w, rows);
        w += 4L * rows; /* past the scales, to the next group */
#pragma GCC unroll 4
        for (int t = 0; t < tokens; t++) {
            /* ((float)acc * ws) * xs per lane: the conversion rounds to nearest like the C cast */
            const int32x4_t acc = reduce4(a[t][0], a[t][1], a[t][2], a[t][3]); /* [row 0 .. row 3] */
            const float32x4_t p = vmulq_n_f32(vmulq_f32(vcvtq_f32_s32(acc), ws), xs[t * xs_stride + g]);
#if defined(__aarch64__)
            sum[t] = vaddq_f32(sum[t], p);
#else
            /* scalar VFP adds (denormal sums kept), reading the lanes as S registers
             * where GCC can (by D halves it reads the even lanes in place) */
            const float32x2_t lo = vget_low_f32(p), hi = vget_high_f32(p);
            sum[t][0] += vget_lane_f32(lo, 0);
            sum[t][1] += vget_lane_f32(lo, 1);
            sum[t][2] += vget_lane_f32(hi, 0);
            sum[t][3] += vget_lane_f32(hi, 1);
#endif
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < tokens; t++) {
        float *o = out + t * out_stride;
#if defined(__aarch64__)
        store_rows(o, sum[t], rows);
#else
        o[0] = sum[t][0];
        if (rows > 1) o[1] = sum[t][1];
        if (rows > 2) o[2] = sum[t][2];
        if (rows > 3) o[3] = sum[t][3];
#endif
    }
}

/* A block for every token of b, in tiles of Q8_TILE_MAX tokens and one of the rest;
 * a short block (at most a matrix's last) token after token, which spares the code of
 * its tiles. */
static inline __attribute__((always_inline)) void gemm_q8_tiles(float *out, const TokenBatch *b,
                                                                const uint8_t *block, int rows, int cols,
                                                                int group_size, const int sdot) {
    const int8_t *w = (const int8_t *)block; /* bias 0: the bytes are the int8 values */
    const long xo = b->x_stride, so = b->xs_stride, oo = b->out_stride;
    if (rows != KERNEL_ROWS) {
        for (int t = 0; t < b->tokens; t++) {
            tile_q8(out + t * oo, 0, b->x + t * xo, 0, b->xs + t * so, 0, w, rows, cols, group_size, 1, sdot);
        }
        return;
    }
    int t = 0;
    for (; b->tokens - t >= Q8_TILE_MAX; t += Q8_TILE_MAX) {
        tile_q8(out + t * oo, oo, b->x + t * xo, xo, b->xs + t * so, so, w, KERNEL_ROWS, cols, group_size,
                Q8_TILE_MAX, sdot);
    }
    out += t * oo;
    const int8_t *x = b->x + t * xo;
    const float *xs = b->xs + t * so;
    switch (b->tokens - t) { /* the rest, fewer than Q8_TILE_MAX */
#if Q8_TILE_MAX > 3
    case 3: tile_q8(out, oo, x, xo, xs, so, w, KERNEL_ROWS, cols, group_size, 3, sdot); break;
#endif
#if Q8_TILE_MAX > 2
    case 2: tile_q8(out, oo, x, xo, xs, so, w, KERNEL_ROWS, cols, group_size, 2, sdot); break;
#endif
    case 1: tile_q8(out, oo, x, xo, xs, so, w, KERNEL_ROWS, cols, group_size, 1, sdot); break;
    default: break;
    }
}

/* One block for one token: the matvec kernels. */
static inline __attribute__((always_inline)) void matvec_q8_tile(float *out, const int8_t *x, const float *xs,
                                                                 const uint8_t *block, int rows, int cols,
                                                                 int group_size, const int sdot) {
    const int8_t *w = (const int8_t *)block; /* bias 0: the bytes are the int8 values */
    if (rows == KERNEL_ROWS) {
        tile_q8(out, 0, x, 0, xs, 0, w, KERNEL_ROWS, cols, group_size, 1, sdot);
    } else {
        tile_q8(out, 0, x, 0, xs, 0, w, rows, cols, group_size, 1, sdot);
    }
}

#endif
