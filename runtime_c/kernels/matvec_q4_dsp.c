/* Cortex-M4/M7/M33 DSP extension: q4 matrices (kquant.h), bit for bit as
 * matvec_q4_reference sums them.
 *
 * A word of a sub-block's packed nibbles (bytes k..k+3 of its 16) holds values
 * k..k+3 in its low nibbles and k+16..k+19 in its high ones. With the mask
 * 0x000F000F one AND with a shifted operand gives two of them as the int16 pair
 * SMLAD wants: w & m = (v[k], v[k+2]), w >> 8 & m = (v[k+1], v[k+3]), w >> 4 & m =
 * (v[k+16], v[k+18]), w >> 12 & m = (v[k+17], v[k+19]). The activations are widened
 * to int16 pairs in that same order once per group (sxtb16, as matvec_q8_dsp.c) and
 * zero-padded to whole sub-blocks, so a short last sub-block needs no loop of its
 * own; each sub-block's sum of x (X_j) is made then too. Two rows share each load of
 * activations: per word and row 4 ANDs and 4 SMLADs for 8 multiply-accumulates.
 *
 * Groups go outer and rows inner (as many whole groups as KQUANT_MAX_GROUP columns
 * hold, prepared in a 2 KB stack buffer), each row's float sum kept in out[r]; the
 * integer sums S_j, A = sum sc_j * S_j and B = sum m_j * X_j are exact in any order,
 * and the float step is the reference's: ((float)A * d - (float)B * dmin) * xs,
 * added in group order from 0.0f. */
#include "kquant.h"

#if defined(LLM_KERNEL_DSP)
#include <arm_acle.h>
#include <string.h>

static inline uint32_t load4(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one LDR: Armv7-M and v8-M load words unaligned */
    return v;
}

/* Bytes 1 and 3 sign-extended: SXTB16 with its rotate folded in. */
static inline uint32_t sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* A group's d and dmin, the halves at p: VCVTB/VCVTT (every Cortex-M FPU has them,
 * though FPv4's __ARM_FP does not say so) convert them exactly (the FPU's
 * flush-to-zero is off), where the C conversion would take a call, and a loop for
 * a subnormal. */
static inline void halves(const uint8_t *p, float *d, float *dmin) {
#if defined(__ARM_FP) && (__ARM_FP & 4)
    const uint32_t h = load4(p);
    float packed, lo, hi;
    memcpy(&packed, &h, sizeof packed);
    __asm__("vcvtb.f32.f16 %0, %1" : "=t"(lo) : "t"(packed));
    __asm__("vcvtt.f32.f16 %0, %1" : "=t"(hi) : "t"(packed));
    *d = lo;
    *dmin = hi;
#else
    *d = kquant_half(p);
    *dmin = kquant_half(p + 2);
#endif
}

/* One group's activations (len <= KQUANT_MAX_GROUP): per word of weights the four
 * pairs (x0, x2), (x1, x3), (x16, x18), (x17, x19), sub-block by sub-block, zeros
 * past len; sums[j] = X_j. Values past len are not read (they may lie past x). */
static void prepare_group(uint32_t *xp, int32_t *sums, const int8_t *x, int len) {
    for (int j = 0; j * KQUANT_SUB < len; j++, x += KQUANT_SUB, xp += 16) {
        int8_t pad[KQUANT_SUB];
        const int n = kquant_min(KQUANT_SUB, len - j * KQUANT_SUB);
        const int8_t *xj = x;
        if (n < KQUANT_SUB) {
            memset(pad, 0, sizeof pad);
            memcpy(pad, x, (size_t)n);
            xj = pad;
        }
        int32_t s = 0;
        for (int k = 0; k < 16; k += 4) {
            const uint32_t lo = load4(xj + k), hi = load4(xj + 16 + k);
            uint32_t *q = xp + k;
            q[0] = __sxtb16(lo);
            q[1] = sxtb16_ror8(lo);
            q[2] = __sxtb16(hi);
            q[3] = sxtb16_ror8(hi);
            /* the four int16 pairs' halves added: the sub-block's sum of x */
            s = __smlad(q[0], 0x00010001u, s);
            s = __smlad(q[1], 0x00010001u, s);
            s = __smlad(q[2], 0x00010001u, s);
            s = __smlad(q[3], 0x00010001u, s);
        }
        sums[j] = s;
    }
}

/* Four 6-bit fields from `bit` of a stream: field i at bits 6i of the result (a
 * word holds them from any bit offset, which is even; the bytes read lie within the
 * group: at worst its d). */
static inline uint32_t four_fields(const uint8_t *stream, int bit) {
    return load4(stream + (bit >> 3)) >> (bit & 7);
}

/* One sub-block's S for two rows: acc += the products of its four words. */
#define PAIR_WORD(k)                                                            \
    do {                                                                        \
        const uint32_t w0 = load4(p0 + 4 * (k)), w1 = load4(p1 + 4 * (k));      \
        uint32_t xa = xp[4 * (k)], xb = xp[4 * (k) + 1];                        \
        s0 = __smlad(w0 & mask, xa, s0);                                        \
        s1 = __smlad(w1 & mask, xa, s1);                                        \
        s0 = __smlad(w0 >> 8 & mask, xb, s0);                                   \
        s1 = __smlad(w1 >> 8 & mask, xb, s1);                                   \
        xa = xp[4 * (k) + 2];                                                   \
        xb = xp[4 * (k) + 3];                                                   \
        s0 = __smlad(w0 >> 4 & mask, xa, s0);                                   \
        s1 = __smlad(w1 >> 4 & mask, xa, s1);                                   \
        s0 = __smlad(w0 >> 12 & mask, xb, s0);                                  \
        s1 = __smlad(w1 >> 12 & mask, xb, s1);                                  \
    } while (0)

/* A and B of one row's group at p (n_sub sub-blocks, S_j at s[2j]). */
static inline __attribute__((always_inline)) void weigh(int32_t *a_out, int32_t *b_out, const int32_t *s, const int32_t *sums, const uint8_t *p,
                         int n_sub) {
    const uint8_t *stream = p + 16 * n_sub;
    int32_t a = 0, b = 0;
    int j = 0;
    for (; j + 4 <= n_sub; j += 4) {
        const uint32_t sc = four_fields(stream, 6 * j), m = four_fields(stream, 6 * (n_sub + j));
        a += (int32_t)(sc & 63) * s[2 * j];
        a += (int32_t)(sc >> 6 & 63) * s[2 * j + 2];
        a += (int32_t)(sc >> 12 & 63) * s[2 * j + 4];
        a += (int32_t)(sc >> 18 & 63) * s[2 * j + 6];
        b += (int32_t)(m & 63) * sums[j];
        b += (int32_t)(m >> 6 & 63) * sums[j + 1];
        b += (int32_t)(m >> 12 & 63) * sums[j + 2];
        b += (int32_t)(m >> 18 & 63) * sums[j + 3];
    }
    if (j < n_sub) { /* 1 to 3 more */
        const uint32_t sc = four_fields(stream, 6 * j), m = four_fields(stream, 6 * (n_sub + j));
        for (int i = 0; j + i < n_sub; i++) {
            a += (int32_t)(sc >> 6 * i & 63) * s[2 * (j + i)];
            b += (int32_t)(m >> 6 * i & 63) * sums[j + i];
        }
    }
    *a_out = a;
    *b_out = b;
}

/* Rows r0 and r1's group (p0, p1: their bytes of it): their contributions added to
 * out0 and out1. */
static inline void group_pair(float *out0, float *out1, const uint32_t *xp, const int32_t *sums, float xs,
                              const uint8_t *p0, const uint8_t *p1, int n_sub) {
    uint32_t mask = 0x000F000Fu;
    __asm__("" : "+r"(mask)); /* in a register: AND with a shifted operand is then one instruction */
    int32_t s[2 * KQUANT_MAX_GROUP / KQUANT_SUB]; /* S_j of rows 0 and 1, interleaved */
    const uint8_t *q0 = p0, *q1 = p1;
    for (int j = 0; j < n_sub; j++, xp += 16, p0 += 16, p1 += 16) {
        int32_t s0 = 0, s1 = 0;
        PAIR_WORD(0);
        PAIR_WORD(1);
        PAIR_WORD(2);
        PAIR_WORD(3);
        s[2 * j] = s0;
        s[2 * j + 1] = s1;
    }
    int32_t a0, b0, a1, b1;
    weigh(&a0, &b0, s, sums, q0, n_sub);
    weigh(&a1, &b1, s + 1, sums, q1, n_sub);
    float d, dmin;
    halves(p0 + kquant_scale_bytes(4, n_sub), &d, &dmin);
    *out0 += ((float)a0 * d - (float)b0 * dmin) * xs;
    halves(p1 + kquant_scale_bytes(4, n_sub), &d, &dmin);
    *out1 += ((float)a1 * d - (float)b1 * dmin) * xs;
}

/* The same for one row (the last of an odd number). */
static inline void group_one(float *out0, const uint32_t *xp, const int32_t *sums, float xs, const uint8_t *p0,
                             int n_sub) {
    uint32_t mask = 0x000F000Fu;
    __asm__("" : "+r"(mask));
    int32_t s[2 * KQUANT_MAX_GROUP / KQUANT_SUB];
    const uint8_t *q0 = p0;
    for (int j = 0; j < n_sub; j++, xp += 16, p0 += 16) {
        int32_t s0 = 0;
        for (int k = 0; k < 16; k += 4) {
            const uint32_t w0 = load4(p0 + k);
            s0 = __smlad(w0 & mask, xp[k], s0);
            s0 = __smlad(w0 >> 8 & mask, xp[k + 1], s0);
            s0 = __smlad(w0 >> 4 & mask, xp[k + 2], s0);
            s0 = __smlad(w0 >> 12 & mask, xp[k + 3], s0);
        }
        s[2 * j] = s0;
    }
    int32_t a0, b0;
    weigh(&a0, &b0, s, sums, q0, n_sub);
    float d, dmin;
    halves(p0 + kquant_scale_bytes(4, n_sub), &d, &dmin);
    *out0 += ((float)a0 * d - (float)b0 * dmin) * xs;
}

void matvec_q4_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size) {
    uint32_t xp[KQUANT_MAX_GROUP / 2]; /* a run of groups' activations as int16 pairs: 2 KB */
    int32_t sums[KQUANT_MAX_GROUP / KQUANT_SUB];
    const long row_bytes = kquant_row_bytes(4, cols, group_size);
    const int span = (group_size + KQUANT_SUB - 1) / KQUANT_SUB * KQUANT_SUB; /* a group's prepared values */
    const int per_run = KQUANT_MAX_GROUP / span;                              /* >= 1: group_size <= 1024 */
    for (int r = 0; r < rows; r++) out[r] = 0.0f;
    long at = 0; /* the run's first group's byte offset in a row */
    for (int start = 0, gi = 0; start < cols;) {
        int n = 0, used = 0;
        for (; n < per_run && start + n * group_size < cols; n++) {
            const int len = kquant_min(group_size, cols - start - n * group_size);
            prepare_group(xp + used / 2, sums + used / KQUANT_SUB, x + start + n * group_size, len);
            used += (len + KQUANT_SUB - 1) / KQUANT_SUB * KQUANT_SUB;
        }
        int r = 0;
        for (; r + 2 <= rows; r += 2) {
            const uint8_t *p = w + r * row_bytes + at;
            for (int g = 0, off = 0; g < n; g++) {
                const int len = kquant_min(group_size, cols - start - g * group_size);
                const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
                group_pair(out + r, out + r + 1, xp + 16 * off, sums + off, xs[gi + g], p, p + row_bytes, n_sub);
                p += kquant_group_bytes(4, len);
                off += n_sub;
            }
        }
        if (r < rows) {
            const uint8_t *p = w + r * row_bytes + at;
            for (int g = 0, off = 0; g < n; g++) {
                const int len = kquant_min(group_size, cols - start - g * group_size);
                const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
                group_one(out + r, xp + 16 * off, sums + off, xs[gi + g], p, n_sub);
                p += kquant_group_bytes(4, len);
                off += n_sub;
            }
        }
        for (int g = 0; g < n; g++) at += kquant_group_bytes(4, kquant_min(group_size, cols - start - g * group_size));
        start += n * group_size;
        gi += n;
    }
}
#endif
