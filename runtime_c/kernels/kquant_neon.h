/* kquant_neon.h - the body of the Arm q4 twins (matvec_q4_neon.c, matvec_q4_dotprod.c):
 * everything but one sub-block's products, which each file passes in as `sub_dot`.
 *
 * Rows one after another, as the compiler lays q4 matrices out (kquant.h). Per group
 * of a row: the 6-bit scales and mins decoded once; per sub-block, sub_dot makes the
 * 32 products q * x into the four int32 lanes of a vector (their sum is S_j), which
 * the sub-block's scale weighs into an accumulator: its lanes sum to A exactly
 * (integers, any order). B, the mins times each sub-block's sum of x, takes those
 * sums made once per product for all rows. The float step is the reference's,
 * ((float)A * d - (float)B * dmin) * xs, in scalar C (Armv7: VFP, which is IEEE),
 * added to the row's sum in group order. A short last sub-block reads its x from a
 * zero-padded copy (x past the row may not be readable, and the span's padding
 * nibbles need not be 0). */
#ifndef LLM_KQUANT_NEON_H
#define LLM_KQUANT_NEON_H

#include <arm_neon.h>
#include <string.h>
#include "kquant.h"

/* The 32 products of a sub-block's values (16 bytes of nibbles) with its 32
 * activations x0 (columns 0-15) and x1 (16-31), summing to S_j over the lanes. */
typedef int32x4_t (*KquantSubDot)(uint8x16_t packed, int8x16_t x0, int8x16_t x1);

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
 * and its d and dmin; the rest one by one (as matvec_q4_avx2.c). */
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

/* sums[j] = sub-block j's sum of x over the group's len columns. */
static inline void q4_sub_block_sums(int32_t *sums, const int8_t *x, int len) {
    for (int j = 0; j * KQUANT_SUB < len; j++) sums[j] = 0;
    for (int i = 0; i < len; i++) sums[i / KQUANT_SUB] += x[i];
}

/* One row's group of len columns at p, as the reference's float step. */
static inline __attribute__((always_inline)) float q4_group(const int8_t *x, float xs, const int32_t *sums,
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

/* Each sub-block's sum of x made once for all rows (rows of up to Q4_SUMS_COLS / 32
 * sub-blocks; a longer one's groups make their own). */
enum { Q4_SUMS_COLS = 8192 };

static inline __attribute__((always_inline)) void q4_matvec(float *out, const int8_t *x, const float *xs,
                                                            const uint8_t *w, int rows, int cols, int group_size,
                                                            KquantSubDot sub_dot) {
    int32_t sums[Q4_SUMS_COLS / KQUANT_SUB]; /* group by group */
    const int per_group = (group_size + KQUANT_SUB - 1) / KQUANT_SUB;
    const int cached = (long)((cols + group_size - 1) / group_size) * per_group <= Q4_SUMS_COLS / KQUANT_SUB;
    for (int start = 0, at = 0; cached && start < cols; start += group_size, at += per_group) {
        q4_sub_block_sums(sums + at, x + start, kquant_min(group_size, cols - start));
    }
    const long row_bytes = kquant_row_bytes(4, cols, group_size);
    for (int r = 0; r < rows; r++) {
        const uint8_t *p = w + r * row_bytes;
        float sum = 0.0f;
        for (int start = 0, gi = 0, at = 0; start < cols; start += group_size, gi++, at += per_group) {
            const int len = kquant_min(group_size, cols - start);
            int32_t own[KQUANT_MAX_GROUP / KQUANT_SUB];
            if (!cached) q4_sub_block_sums(own, x + start, len);
            sum += q4_group(x + start, xs[gi], cached ? sums + at : own, p, len, sub_dot);
            p += kquant_group_bytes(4, len);
        }
        out[r] = sum;
    }
}

#endif
