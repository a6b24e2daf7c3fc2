/* kquant_neon.h - the body of the Arm k-quant twins (matvec_kquant_neon.c,
 * matvec_kquant_dotprod.c) for q4, q5 and q6: everything but the products, which
 * each file passes in (sub_dot, quad_dot).
 *
 * Rows one after another, as the compiler lays k-quant matrices out (kquant.h). A
 * sub-block's values become two int8 vectors, values 0-15 and 16-31, lined up with
 * their activations (kq_values: q4 the nibbles, q5 and q6 with their top bits put
 * above them). A group of a multiple of 256 columns (the default group size) takes
 * the vector path: eight sub-blocks at a time, their scales and mins (q4, q5: 6-bit
 * fields decoded by a table lookup; q6: bytes) in int16 lanes, quad_dot's four
 * sub-block sums S_j weighed by their scales lane by lane and the mins by each
 * sub-block's sum of x (made once per product for all rows), so that the lanes of two
 * vectors sum to A and B exactly (integers, any order). q6's values are taken as
 * stored, q + 32 in 0..63 (no subtraction per value; its products' lanes have the room,
 * below): its second vector sums sc_j X_j in the mins' place, and A is the first's
 * total less 32 times that, exactly (q6 has no mins: B = 0). Any other group (a short
 * last one, other group sizes; a row of one such group, as a small model's, goes
 * straight to it) decodes its fields from a word or two and takes its sub-blocks
 * four at a time while it can, then one at a time (sub_dot), a short last sub-block
 * from a zero-padded copy of its x (x past the row may not be readable, and the span's
 * padding values need not be 0). The float step is the reference's,
 * ((float)A * d - (float)B * dmin) * xs, in scalar C (Armv7: VFP, which is IEEE),
 * added to the row's sum in group order. */
#ifndef LLM_KQUANT_NEON_H
#define LLM_KQUANT_NEON_H

#include <arm_neon.h>
#include <string.h>
#include "kquant.h"

/* The 32 products of a sub-block's values lo (0-15) and hi (16-31) with its
 * activations x0 (columns 0-15) and x1 (16-31), summing to S_j over the lanes. */
typedef int32x4_t (*KquantSubDot)(int8x16_t lo, int8x16_t hi, int8x16_t x0, int8x16_t x1);
/* [S_0, S_1, S_2, S_3] of the four whole sub-blocks at p and x (128 bytes); each
 * format its own (the span's size and decoding are the file's constants). */
typedef int32x4_t (*KquantQuadDot)(const uint8_t *p, const int8_t *x);

/* A sub-block's 32 values from its span (kquant.h), as they are stored (q4 0..15, q5
 * 0..31, q6 q + 32 in 0..63: all fit int8, so signed products take them as they are):
 * lo = values 0-15, hi = 16-31.
 * - q4: the low nibbles, then the high ones.
 * - q5: bit i of the 4 bytes after the nibbles is value i's 16. Byte i / 8 goes to
 *   the 8 lanes of its values (TBL from the span's last 16 bytes; Armv7 VTBL, 8),
 *   VTST against each lane's bit makes a mask, and BSL takes the 16 from it, the
 *   rest from the nibble.
 * - q6: byte k of the 8 after the nibbles holds the top two bits of values k, k + 8,
 *   k + 16, k + 24 (bits 0-1, 2-3, 4-5, 6-7). Those 8 bytes, and beside them the same
 *   shifted right by 2, masked to bits 0-1 and 4-5, hold in lane i the top bits of
 *   value i (bits 0-1) and of value 16 + i (bits 4-5): VSLI puts the former above the
 *   low nibbles, VSRI the high nibbles below the latter. */
static inline __attribute__((always_inline)) void kq_values(const uint8_t *span, int bits, int8x16_t *lo,
                                                            int8x16_t *hi) {
    const uint8x16_t packed = vld1q_u8(span);
    if (bits == 4) {
        *lo = vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(15)));
        *hi = vreinterpretq_s8_u8(vshrq_n_u8(packed, 4));
    } else if (bits == 5) {
        static const uint8_t lane_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
#if defined(__aarch64__)
        /* the span's last 16 bytes, whose last 4 are the fifth bits, as TBL's table */
        static const uint8_t low_bytes[16] = {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13};
        static const uint8_t high_bytes[16] = {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15};
        const uint8x16_t tail = vld1q_u8(span + 4);
        const uint8x16_t low = vqtbl1q_u8(tail, vld1q_u8(low_bytes));
        const uint8x16_t high = vqtbl1q_u8(tail, vld1q_u8(high_bytes));
#else /* the span's last 8 bytes, whose last 4 are the fifth bits, as VTBL's table */
        static const uint8_t bytes[32] = {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5,
                                          6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7};
        const uint8x8_t tail = vld1_u8(span + 12);
        const uint8x16_t low = vcombine_u8(vtbl1_u8(tail, vld1_u8(bytes)), vtbl1_u8(tail, vld1_u8(bytes + 8)));
        const uint8x16_t high = vcombine_u8(vtbl1_u8(tail, vld1_u8(bytes + 16)), vtbl1_u8(tail, vld1_u8(bytes + 24)));
#endif
        const uint8x16_t sixteen = vdupq_n_u8(16), bit = vld1q_u8(lane_bit);
        *lo = vreinterpretq_s8_u8(vbslq_u8(sixteen, vtstq_u8(low, bit), vandq_u8(packed, vdupq_n_u8(15))));
        *hi = vreinterpretq_s8_u8(vbslq_u8(sixteen, vtstq_u8(high, bit), vshrq_n_u8(packed, 4)));
    } else {
        const uint8x8_t top = vld1_u8(span + 16);
        const uint8x16_t tops = vandq_u8(vcombine_u8(top, vshr_n_u8(top, 2)), vdupq_n_u8(0x33));
        *lo = vreinterpretq_s8_u8(vsliq_n_u8(packed, tops, 4));
        *hi = vreinterpretq_s8_u8(vsriq_n_u8(tops, packed, 4));
    }
}

static inline int32_t kq_hsum(int32x4_t v) {
#if defined(__aarch64__)
    return vaddvq_s32(v);
#else /* Armv7 has no across-vector add */
    const int32x2_t s = vadd_s32(vget_low_s32(v), vget_high_s32(v));
    return vget_lane_s32(vpadd_s32(s, s), 0);
#endif
}

/* A group's n scales then n mins (q6: n scales twice, the second for its offset),
 * from their stream of 6-bit fields: up to eight fields from every six bytes, read as
 * one word, 64 bits while that stays within the stream and its d and dmin, else 32. */
static inline void kq_fields(int16_t *fields, const uint8_t *stream, int n, int bits) {
    if (bits == 6) {
        for (int k = 0; k < n; k++) fields[k] = fields[n + k] = stream[k];
        return;
    }
    for (int k = 0; k < 2 * n; k += 8) {
        const int r = kquant_min(8, 2 * n - k);
        uint64_t v; /* little-endian: every board here */
        if (r > 4) { /* 5 fields or more: 4 bytes of the stream or more remain */
            memcpy(&v, stream + 6 * (k / 8), sizeof v);
        } else { /* 4 fields or fewer: at most 3 bytes of it, then d */
            uint32_t u;
            memcpy(&u, stream + 6 * (k / 8), sizeof u);
            v = u;
        }
        for (int i = 0; i < r; i++) fields[k + i] = (int16_t)(v >> (6 * i) & 63);
    }
}

/* The reference's float step for a group at whose d `half` points: A and B as above
 * (q6: a, its sum of sc_j times stored values, and b, its sum of sc_j X_j). q6's d
 * is its last bytes (a 2-byte read: the group may end the image), its dmin 0 as the
 * reference's, whose (float)0 * 0.0f changes no bit. */
static inline float kq_step(int32_t a, int32_t b, const uint8_t *half, float xs, int bits) {
    float d, dmin;
    if (bits == 6) {
        /* a over stored values fits an int32 too: at most 32 sub-blocks * 255 * 32 * 63 * 128 < 2^31 */
        a = (int32_t)((int64_t)a - 32 * (int64_t)b); /* the exact A, an int32 (kquant.h) */
        b = 0;
#if defined(__aarch64__) /* FCVTL converts halves exactly, subnormals too (FPCR.FZ is 0) */
        uint16_t h;
        memcpy(&h, half, sizeof h);
        d = vget_lane_f32(vget_low_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h)))), 0);
#else /* Armv7 NEON flushes subnormals: the portable conversion */
        d = kquant_half(half);
#endif
        dmin = 0.0f;
    } else {
#if defined(__aarch64__)
        uint32_t both;
        memcpy(&both, half, sizeof both);
        const float32x2_t dd = vget_low_f32(vcvt_f32_f16(vreinterpret_f16_u32(vdup_n_u32(both))));
        d = vget_lane_f32(dd, 0);
        dmin = vget_lane_f32(dd, 1);
#else
        d = kquant_half(half);
        dmin = kquant_half(half + 2);
#endif
    }
    return ((float)a * d - (float)b * dmin) * xs;
}

/* Eight consecutive 6-bit fields from the 8 bytes at `stream` (6 bytes hold them;
 * the two after are read and dropped): field i is bits 6i.. of the stream, so the
 * 16-bit lane i takes the bytes (6i) / 8 and the next, shifted right by (6i) % 8. */
static inline int16x8_t kq_octet(const uint8_t *stream) {
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

/* Octet k's eight scales and the eight fields for its second vector (q4, q5: the
 * mins, the stream's second half; q6: the scales again, unsigned bytes, 0..255 as
 * kquant.py's SCALE_MAX), of a group of `octets`. */
static inline __attribute__((always_inline)) void kq_octet_fields(int16x8_t *sc, int16x8_t *mn, const uint8_t *scales,
                                                                  int k, int octets, int bits) {
    if (bits == 6) {
        *sc = *mn = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(scales + 8 * k)));
    } else { /* 8-byte reads: the last, of the mins, ends 2 bytes into d and dmin */
        *sc = kq_octet(scales + 6 * k);
        *mn = kq_octet(scales + 6 * (octets + k));
    }
}

/* sums[j] = sub-block j's sum of x over the group's len columns (at most 32 * 128:
 * an int16). */
static inline void kq_sub_block_sums(int16_t *sums, const int8_t *x, int len) {
    for (int j = 0; j * KQUANT_SUB < len; j++) sums[j] = 0;
    for (int i = 0; i < len; i++) sums[i / KQUANT_SUB] = (int16_t)(sums[i / KQUANT_SUB] + x[i]);
}

/* The floats of `n` rows' (1 or 2, `stride` bytes apart) groups of 256 * octets
 * columns at p, eight sub-blocks at a time, added to sum[]. The rows share the loads
 * of x (a quad's at a time, against register spills) and of its sums. The lanes'
 * int32 sums stay exact: a lane's share of A is at most 8 sub-blocks' sc * |S| (q6:
 * 8 * 255 * 32 * 63 * 128, below 2^29). */
static inline __attribute__((always_inline)) void kq_octets(float *sum, const int n, const int8_t *x, float xs,
                                                            const int16_t *sums, const uint8_t *p0, long stride,
                                                            int octets, int bits, KquantQuadDot quad_dot) {
    const int span = kquant_span_bytes(bits);
    const uint8_t *p1 = p0 + stride, *scales0 = p0 + 8 * span * octets, *scales1 = scales0 + stride;
    int32x4_t a0 = vdupq_n_s32(0), b0 = a0, a1 = a0, b1 = a0;
    for (int k = 0; k < octets; k++, p0 += 8 * span, p1 += 8 * span, x += 256) {
        int16x8_t sc0, mn0;
        kq_octet_fields(&sc0, &mn0, scales0, k, octets, bits);
        const int16x8_t xsum = vld1q_s16(sums + 8 * k);
        a0 = vmlaq_s32(a0, quad_dot(p0, x), vmovl_s16(vget_low_s16(sc0)));
        b0 = vmlal_s16(b0, vget_low_s16(mn0), vget_low_s16(xsum));
        if (n == 2) {
            int16x8_t sc1, mn1;
            kq_octet_fields(&sc1, &mn1, scales1, k, octets, bits);
            a1 = vmlaq_s32(a1, quad_dot(p1, x), vmovl_s16(vget_low_s16(sc1)));
            b1 = vmlal_s16(b1, vget_low_s16(mn1), vget_low_s16(xsum));
            a1 = vmlaq_s32(a1, quad_dot(p1 + 4 * span, x + 128), vmovl_s16(vget_high_s16(sc1)));
            b1 = vmlal_s16(b1, vget_high_s16(mn1), vget_high_s16(xsum));
        }
        a0 = vmlaq_s32(a0, quad_dot(p0 + 4 * span, x + 128), vmovl_s16(vget_high_s16(sc0)));
        b0 = vmlal_s16(b0, vget_high_s16(mn0), vget_high_s16(xsum));
    }
    const int scale_bytes = kquant_scale_bytes(bits, 8 * octets);
    sum[0] += kq_step(kq_hsum(a0), kq_hsum(b0), scales0 + scale_bytes, xs, bits);
    if (n == 2) sum[1] += kq_step(kq_hsum(a1), kq_hsum(b1), scales1 + scale_bytes, xs, bits);
}

/* Any other group of len columns at p: its whole sub-blocks four at a time while
 * four remain, then one at a time. */
static inline __attribute__((always_inline)) float kq_group(const int8_t *x, float xs, const int16_t *sums,
                                                            const uint8_t *p, int len, int bits,
                                                            KquantSubDot sub_dot, KquantQuadDot quad_dot) {
    const int span = kquant_span_bytes(bits);
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB, full = len / KQUANT_SUB;
    const uint8_t *scales = p + span * n_sub, *half = scales + kquant_scale_bytes(bits, n_sub);
    int16_t fields[2 * KQUANT_MAX_GROUP / KQUANT_SUB]; /* scales, then mins */
    kq_fields(fields, scales, n_sub, bits);
    int32x4_t a = vdupq_n_s32(0);
    int j = 0;
    for (; j + 4 <= full; j += 4) {
        a = vmlaq_s32(a, quad_dot(p + span * j, x + KQUANT_SUB * j), vmovl_s16(vld1_s16(fields + j)));
    }
    int8x16_t lo, hi;
    for (; j < full; j++) {
        const int8_t *xj = x + KQUANT_SUB * j;
        kq_values(p + span * j, bits, &lo, &hi);
        a = vmlaq_n_s32(a, sub_dot(lo, hi, vld1q_s8(xj), vld1q_s8(xj + 16)), fields[j]);
    }
    if (full < n_sub) { /* a short last sub-block: its x zero-padded, so padding adds 0 */
        int8_t pad[KQUANT_SUB] = {0};
        memcpy(pad, x + KQUANT_SUB * full, (size_t)(len - KQUANT_SUB * full));
        kq_values(p + span * full, bits, &lo, &hi);
        a = vmlaq_n_s32(a, sub_dot(lo, hi, vld1q_s8(pad), vld1q_s8(pad + 16)), fields[full]);
    }
    int32_t b = 0;
    for (j = 0; j < n_sub; j++) b += fields[n_sub + j] * sums[j];
    return kq_step(kq_hsum(a), b, half, xs, bits);
}

/* n rows (1 or 2) from the one at w. */
static inline __attribute__((always_inline)) void kq_rows(float *out, const int n, const int8_t *x, const float *xs,
                                                          const int16_t *sums, const uint8_t *w, long row_bytes,
                                                          int cols, int group_size, int bits, KquantSubDot sub_dot,
                                                          KquantQuadDot quad_dot) {
    const int per_group = (group_size + KQUANT_SUB - 1) / KQUANT_SUB, octets = group_size % 256 ? 0 : group_size / 256;
    const long full_bytes = kquant_group_bytes(bits, group_size);
    float sum[2] = {0.0f, 0.0f};
    for (int start = 0, gi = 0, at = 0; start < cols; start += group_size, gi++, at += per_group) {
        const int len = kquant_min(group_size, cols - start);
        int16_t own[KQUANT_MAX_GROUP / KQUANT_SUB];
        if (sums == NULL) kq_sub_block_sums(own, x + start, len);
        const int16_t *xsums = sums != NULL ? sums + at : own;
        if (octets && len == group_size) { /* every group but maybe the last */
            kq_octets(sum, n, x + start, xs[gi], xsums, w, row_bytes, octets, bits, quad_dot);
            w += full_bytes;
        } else {
            for (int i = 0; i < n; i++) {
                const uint8_t *p = w + i * row_bytes;
                if (len % 256 == 0) {
                    kq_octets(sum + i, 1, x + start, xs[gi], xsums, p, 0, len / 256, bits, quad_dot);
                } else {
                    sum[i] += kq_group(x + start, xs[gi], xsums, p, len, bits, sub_dot, quad_dot);
                }
            }
            w += kquant_group_bytes(bits, len);
        }
    }
    for (int i = 0; i < n; i++) out[i] = sum[i];
}

/* Each sub-block's sum of x made once for all rows (rows of up to KQ_SUMS_COLS / 32
 * sub-blocks; a longer one's groups make their own), then the rows one at a time or,
 * with `pairs`, two at a time (whichever the ISA runs in fewer instructions). */
enum { KQ_SUMS_COLS = 8192 };

static inline __attribute__((always_inline)) void kq_matvec(float *out, const int8_t *x, const float *xs,
                                                            const uint8_t *w, int rows, int cols, int group_size,
                                                            int bits, KquantSubDot sub_dot, KquantQuadDot quad_dot,
                                                            const int pairs) {
    int16_t sums[KQ_SUMS_COLS / KQUANT_SUB]; /* group by group */
    const int per_group = (group_size + KQUANT_SUB - 1) / KQUANT_SUB;
    const int cached = (long)((cols + group_size - 1) / group_size) * per_group <= KQ_SUMS_COLS / KQUANT_SUB;
    for (int start = 0, at = 0; cached && start < cols; start += group_size, at += per_group) {
        kq_sub_block_sums(sums + at, x + start, kquant_min(group_size, cols - start));
    }
    const long row_bytes = kquant_row_bytes(bits, cols, group_size);
    if (cols < group_size && cols % 256 != 0) { /* rows of one short group (small models): kq_group alone */
        for (int r = 0; r < rows; r++) { /* 0.0f + as the reference's sum: a -0.0f becomes +0.0f */
            out[r] = 0.0f + kq_group(x, xs[0], sums, w + r * row_bytes, cols, bits, sub_dot, quad_dot);
        }
        return;
    }
    int r = 0;
    for (; pairs && r + 2 <= rows; r += 2) {
        kq_rows(out + r, 2, x, xs, cached ? sums : NULL, w + r * row_bytes, row_bytes, cols, group_size, bits,
                sub_dot, quad_dot);
    }
    for (; r < rows; r++) {
        kq_rows(out + r, 1, x, xs, cached ? sums : NULL, w + r * row_bytes, row_bytes, cols, group_size, bits,
                sub_dot, quad_dot);
    }
}


/* A file's twin of one format: matvec_q<bits>_<isa>, from the file's sub_dot and
 * quad(p, x, bits) (quad_q<bits>, compiled as quad_attr says), rows in pairs or not. */
#define KQ_TWIN(bits, isa, quad_attr, pairs)                                                                 \
    quad_attr int32x4_t quad_q##bits(const uint8_t *p, const int8_t *x) {                                     \
        return quad(p, x, bits);                                                                             \
    }                                                                                                        \
    void matvec_q##bits##_##isa(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows,    \
                                int cols, int group_size) {                                                  \
        kq_matvec(out, x, xs, w, rows, cols, group_size, bits, sub_dot, quad_q##bits, pairs);                \
    }

#endif
