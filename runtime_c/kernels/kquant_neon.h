/* kquant_neon.h - the body of the Arm q4 twins (matvec_q4_neon.c, matvec_q4_dotprod.c):
 * everything but the products, which each file passes in (sub_dot, quad_dot).
 *
 * Rows one after another, as the compiler lays q4 matrices out (kquant.h). A group of
 * a multiple of 256 columns (the default group size) takes the vector path: eight
 * sub-blocks at a time, their 6-bit scales and mins decoded by a table lookup into
 * int16 lanes, quad_dot's four sub-block sums S_j weighed by their scales lane by
 * lane and the mins by each sub-block's sum of x (made once per product for all
 * rows), so that the lanes of two vectors sum to A and B exactly (integers, any
 * order). Any other group (a short last one, other group sizes) decodes its fields
 * one by one and takes its sub-blocks one at a time (sub_dot), a short last
 * sub-block from a zero-padded copy of its x (x past the row may not be readable,
 * and the span's padding nibbles need not be 0). The float step is the reference's,
 * ((float)A * d - (float)B * dmin) * xs, in scalar C (Armv7: VFP, which is IEEE),
 * added to the row's sum in group order. */
#ifndef LLM_KQUANT_NEON_H
#define LLM_KQUANT_NEON_H

#include <arm_neon.h>
#include <string.h>
#include "kquant.h"

/* The 32 products of a sub-block's values (16 bytes of nibbles) with its 32
 * activations x0 (columns 0-15) and x1 (16-31), summing to S_j over the lanes. */
typedef int32x4_t (*KquantSubDot)(uint8x16_t packed, int8x16_t x0, int8x16_t x1);
/* [S_0, S_1, S_2, S_3] of the four whole sub-blocks at p (64 bytes) and x (128). */
typedef int32x4_t (*KquantQuadDot)(const uint8_t *p, const int8_t *x);

/* The low nibbles are values 0-15, the high ones 16-31: lined up with x0 and x1, and
 * 0..15 fit int8, so the signed products take them as they are. */
static inline int8x16_t q4_low(uint8x16_t packed) {
    return vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(15)));
}

static inline int8x16_t q4_high(uint8x16_t packed) {
    return vreinterpretq_s8_u8(vshrq_n_u8(packed, 4));
}

static inline int32_t q4_hsum(int32x4_t v) {
#if defined(__aarch64__)
    return vaddvq_s32(v);
#else /* Armv7 has no across-vector add */
    const int32x2_t s = vadd_s32(vget_low_s32(v), vget_high_s32(v));
    return vget_lane_s32(vpadd_s32(s, s), 0);
#endif
}

/* A group's n scales then n mins, from their stream of 6-bit fields: eight fields
 * from every six bytes, read as one 64-bit word while a word stays within the stream
 * and its d and dmin; the rest one by one (as matvec_kquant_avx2.c). */
static inline void q4_fields(int16_t *fields, const uint8_t *stream, int n) {
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t v;
        memcpy(&v, stream + 6 * (k / 8), sizeof v); /* little-endian: every board here */
        for (int i = 0; i < 8; i++) fields[k + i] = (int16_t)(v >> (6 * i) & 63);
    }
    for (; k < n; k++) fields[k] = (int16_t)kquant_six_bits(stream, k);
}

/* The group's d and dmin, exactly. */
static inline float32x2_t q4_halves(const uint8_t *half) {
#if defined(__aarch64__) /* FCVTL converts halves exactly, subnormals too (FPCR.FZ is 0) */
    uint32_t both;
    memcpy(&both, half, sizeof both);
    return vget_low_f32(vcvt_f32_f16(vreinterpret_f16_u32(vdup_n_u32(both))));
#else /* Armv7 NEON flushes subnormals: the portable conversion */
    return vset_lane_f32(kquant_half(half + 2), vdup_n_f32(kquant_half(half)), 1);
#endif
}

/* Eight consecutive 6-bit fields from the 8 bytes at `stream` (6 bytes hold them;
 * the two after are read and dropped): field i is bits 6i.. of the stream, so the
 * 16-bit lane i takes the bytes (6i) / 8 and the next, shifted right by (6i) % 8. */
static inline int16x8_t q4_octet(const uint8_t *stream) {
    static const uint8_t pairs[16] = {0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6};
    static const int16_t shifts[8] = {0, -6, -4, -2, 0, -6, -4, -2};
    const uint8x8_t bytes = vld1_u8(stream);
#if defined(__aarch64__)
    const uint8x16_t lanes = vqtbl1q_u8(vcombine_u8(bytes, bytes), vld1q_u8(pairs));
#else
    const uint8x16_t lanes = vcombine_u8(vtbl1_u8(bytes, vld1_u8(pairs)), vtbl1_u8(bytes, vld1_u8(pairs + 8)));
#endif
    const uint16x8_t fields = vshlq_u16(vreinterpretq_u16_u8(lanes), vld1q_s16(shifts));
    return vreinterpretq_s16_u16(vandq_u16(fields, vdupq_n_u16(63)));
}

/* sums[j] = sub-block j's sum of x over the group's len columns (at most 32 * 128:
 * an int16). */
static inline void q4_sub_block_sums(int16_t *sums, const int8_t *x, int len) {
    for (int j = 0; j * KQUANT_SUB < len; j++) sums[j] = 0;
    for (int i = 0; i < len; i++) sums[i / KQUANT_SUB] = (int16_t)(sums[i / KQUANT_SUB] + x[i]);
}

/* The floats of `n` rows' (1 or 2, `stride` bytes apart) groups of 256 * octets
 * columns at p, eight sub-blocks at a time, added to sum[]. The rows share the loads
 * of x (a quad's at a time, against register spills) and of its sums. */
static inline __attribute__((always_inline)) void q4_octets(float *sum, const int n, const int8_t *x, float xs,
                                                            const int16_t *sums, const uint8_t *p0, long stride,
                                                            int octets, KquantQuadDot quad_dot) {
    const uint8_t *p1 = p0 + stride, *scales0 = p0 + 128 * octets, *scales1 = scales0 + stride;
    int32x4_t a0 = vdupq_n_s32(0), b0 = a0, a1 = a0, b1 = a0;
    for (int k = 0; k < octets; k++, p0 += 128, p1 += 128, x += 256) {
        /* 8-byte reads: the last, of the mins, ends 2 bytes into d and dmin */
        const int16x8_t sc0 = q4_octet(scales0 + 6 * k), mn0 = q4_octet(scales0 + 6 * (octets + k));
        const int16x8_t xsum = vld1q_s16(sums + 8 * k);
        a0 = vmlaq_s32(a0, quad_dot(p0, x), vmovl_s16(vget_low_s16(sc0)));
        b0 = vmlal_s16(b0, vget_low_s16(mn0), vget_low_s16(xsum));
        if (n == 2) {
            const int16x8_t sc1 = q4_octet(scales1 + 6 * k), mn1 = q4_octet(scales1 + 6 * (octets + k));
            a1 = vmlaq_s32(a1, quad_dot(p1, x), vmovl_s16(vget_low_s16(sc1)));
            b1 = vmlal_s16(b1, vget_low_s16(mn1), vget_low_s16(xsum));
            a1 = vmlaq_s32(a1, quad_dot(p1 + 64, x + 128), vmovl_s16(vget_high_s16(sc1)));
            b1 = vmlal_s16(b1, vget_high_s16(mn1), vget_high_s16(xsum));
        }
        a0 = vmlaq_s32(a0, quad_dot(p0 + 64, x + 128), vmovl_s16(vget_high_s16(sc0)));
        b0 = vmlal_s16(b0, vget_high_s16(mn0), vget_high_s16(xsum));
    }
    float32x2_t dd = q4_halves(scales0 + 12 * octets);
    sum[0] += ((float)q4_hsum(a0) * vget_lane_f32(dd, 0) - (float)q4_hsum(b0) * vget_lane_f32(dd, 1)) * xs;
    if (n == 2) {
        dd = q4_halves(scales1 + 12 * octets);
        sum[1] += ((float)q4_hsum(a1) * vget_lane_f32(dd, 0) - (float)q4_hsum(b1) * vget_lane_f32(dd, 1)) * xs;
    }
}

/* Any other group of len columns at p, sub-block by sub-block. */
static inline __attribute__((always_inline)) float q4_group(const int8_t *x, float xs, const int16_t *sums,
                                                            const uint8_t *p, int len, KquantSubDot sub_dot) {
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB, full = len / KQUANT_SUB;
    const uint8_t *scales = p + 16 * n_sub, *half = scales + kquant_scale_bytes(4, n_sub);
    int16_t fields[2 * KQUANT_MAX_GROUP / KQUANT_SUB]; /* scales, then mins */
    q4_fields(fields, scales, 2 * n_sub);
    int32x4_t a = vdupq_n_s32(0);
    for (int j = 0; j < full; j++) {
        const int8_t *xj = x + KQUANT_SUB * j;
        a = vmlaq_n_s32(a, sub_dot(vld1q_u8(p + 16 * j), vld1q_s8(xj), vld1q_s8(xj + 16)), fields[j]);
    }
    if (full < n_sub) { /* a short last sub-block: its x zero-padded, so padding adds 0 */
        int8_t pad[KQUANT_SUB] = {0};
        memcpy(pad, x + KQUANT_SUB * full, (size_t)(len - KQUANT_SUB * full));
        a = vmlaq_n_s32(a, sub_dot(vld1q_u8(p + 16 * full), vld1q_s8(pad), vld1q_s8(pad + 16)), fields[full]);
    }
    int32_t b = 0;
    for (int j = 0; j < n_sub; j++) b += fields[n_sub + j] * sums[j];
    const float32x2_t dd = q4_halves(half);
    const float d = vget_lane_f32(dd, 0), dmin = vget_lane_f32(dd, 1);
    return ((float)q4_hsum(a) * d - (float)b * dmin) * xs;
}

/* n rows (1 or 2) from the one at w. */
static inline __attribute__((always_inline)) void q4_rows(float *out, const int n, const int8_t *x, const float *xs,
                                                          const int16_t *sums, const uint8_t *w, long row_bytes,
                                                          int cols, int group_size, KquantSubDot sub_dot,
                                                          KquantQuadDot quad_dot) {
    const int per_group = (group_size + KQUANT_SUB - 1) / KQUANT_SUB, octets = group_size % 256 ? 0 : group_size / 256;
    const long full_bytes = kquant_group_bytes(4, group_size);
    float sum[2] = {0.0f, 0.0f};
    for (int start = 0, gi = 0, at = 0; start < cols; start += group_size, gi++, at += per_group) {
        const int len = kquant_min(group_size, cols - start);
        int16_t own[KQUANT_MAX_GROUP / KQUANT_SUB];
        if (sums == NULL) q4_sub_block_sums(own, x + start, len);
        const int16_t *xsums = sums != NULL ? sums + at : own;
        if (octets && len == group_size) { /* every group but maybe the last */
            q4_octets(sum, n, x + start, xs[gi], xsums, w, row_bytes, octets, quad_dot);
            w += full_bytes;
        } else {
            for (int i = 0; i < n; i++) {
                const uint8_t *p = w + i * row_bytes;
                if (len % 256 == 0) {
                    q4_octets(sum + i, 1, x + start, xs[gi], xsums, p, 0, len / 256, quad_dot);
                } else {
                    sum[i] += q4_group(x + start, xs[gi], xsums, p, len, sub_dot);
                }
            }
            w += kquant_group_bytes(4, len);
        }
    }
    for (int i = 0; i < n; i++) out[i] = sum[i];
}

/* Each sub-block's sum of x made once for all rows (rows of up to Q4_SUMS_COLS / 32
 * sub-blocks; a longer one's groups make their own), then the rows one at a time or,
 * with `pairs`, two at a time (whichever the ISA runs in fewer instructions). */
enum { Q4_SUMS_COLS = 8192 };

static inline __attribute__((always_inline)) void q4_matvec(float *out, const int8_t *x, const float *xs,
                                                            const uint8_t *w, int rows, int cols, int group_size,
                                                            KquantSubDot sub_dot, KquantQuadDot quad_dot,
                                                            const int pairs) {
    int16_t sums[Q4_SUMS_COLS / KQUANT_SUB]; /* group by group */
    const int per_group = (group_size + KQUANT_SUB - 1) / KQUANT_SUB;
    const int cached = (long)((cols + group_size - 1) / group_size) * per_group <= Q4_SUMS_COLS / KQUANT_SUB;
    for (int start = 0, at = 0; cached && start < cols; start += group_size, at += per_group) {
        q4_sub_block_sums(sums + at, x + start, kquant_min(group_size, cols - start));
    }
    const long row_bytes = kquant_row_bytes(4, cols, group_size);
    int r = 0;
    for (; pairs && r + 2 <= rows; r += 2) {
        q4_rows(out + r, 2, x, xs, cached ? sums : NULL, w + r * row_bytes, row_bytes, cols, group_size, sub_dot,
                quad_dot);
    }
    for (; r < rows; r++) {
        q4_rows(out + r, 1, x, xs, cached ? sums : NULL, w + r * row_bytes, row_bytes, cols, group_size, sub_dot,
                quad_dot);
    }
}

#endif
