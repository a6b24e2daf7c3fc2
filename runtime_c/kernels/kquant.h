/* kquant.h - the q4, q5 and q6 weight formats (docs/formats.md), shared by their
 * reference kernels (matvec_q4.c, matvec_q5.c, matvec_q6.c) and the embedding's
 * row lookup.
 *
 * A matrix is stored row by row; each row in groups of LLM_GROUP_SIZE columns (the
 * last may be shorter), each group in sub-blocks of 32 columns (the last may be
 * shorter) with an integer scale each (q4, q5: 6 bits, and a 6-bit min; q6: 8 bits)
 * and one half-float scale per group (q4, q5: and one for the mins). A group holds,
 * in order: each sub-block's 32 values (16 bytes of low nibbles, value k and k + 16 in
 * byte k; q5: 4 bytes of fifth bits, bit i of value i; q6: 8 bytes of top two bits,
 * values k, k + 8, k + 16, k + 24 in byte k), the sub-block scales (q4, q5: the
 * scales then the mins as one stream of 6-bit fields, least significant first; q6:
 * a byte each), then d (q4, q5: then dmin) as little-endian half floats.
 *   q4, q5: w = d * sc * q - dmin * m, q in [0, 15] or [0, 31]
 *   q6:     w = d * sc * q,            q in [-32, 31] (stored + 32)
 * A group's dot product with int8 activations is exact in integers, with one float
 * step per group: ((float)sum_j(sc_j * S_j) * d - (float)sum_j(m_j * X_j) * dmin) * xs,
 * S_j the sub-block's sum of q * x and X_j its sum of x. */
#ifndef LLM_KQUANT_H
#define LLM_KQUANT_H

#include "kernels.h"

enum { KQUANT_SUB = 32, KQUANT_MAX_GROUP = 1024 }; /* the widest group (quantize.py): int32 sums */

static inline int kquant_min(int a, int b) {
    return a < b ? a : b;
}

/* Bytes of one sub-block's values, of the sub-block scales of a group of n_sub,
 * and of the group's half floats. */
static inline int kquant_span_bytes(int bits) {
    return 16 + (bits == 5 ? 4 : bits == 6 ? 8 : 0);
}

static inline int kquant_scale_bytes(int bits, int n_sub) {
    return bits == 6 ? n_sub : (12 * n_sub + 7) / 8;
}

static inline long kquant_group_bytes(int bits, int len) {
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
    return (long)n_sub * kquant_span_bytes(bits) + kquant_scale_bytes(bits, n_sub) + (bits == 6 ? 2 : 4);
}

static inline long kquant_row_bytes(int bits, int cols, int group_size) {
    long bytes = 0;
    for (int start = 0; start < cols; start += group_size) {
        bytes += kquant_group_bytes(bits, kquant_min(group_size, cols - start));
    }
    return bytes;
}

/* Value i (0..31) of a sub-block's span: the level q. */
static inline int kquant_value(const uint8_t *span, int i, int bits) {
    int v = (span[i & 15] >> (i & 16 ? 4 : 0)) & 15;
    if (bits == 5) return v | ((span[16 + (i >> 3)] >> (i & 7)) & 1) << 4;
    if (bits == 6) return (v | ((span[16 + (i & 7)] >> (2 * (i >> 3))) & 3) << 4) - 32;
    return v;
}

/* Field k of a stream of 6-bit fields (a field may straddle two bytes; the byte
 * after the stream, read for the last field, is the group's d). */
static inline int kquant_six_bits(const uint8_t *stream, int k) {
    const int bit = 6 * k;
    const unsigned pair = stream[bit >> 3] | (unsigned)stream[(bit >> 3) + 1] << 8;
    return (int)(pair >> (bit & 7)) & 63;
}

static inline float kquant_half(const uint8_t *p) {
    return f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

/* Where a group's parts lie. */
typedef struct {
    const uint8_t *values, *scales;
    float d, dmin;
    int n_sub;
    const uint8_t *next; /* the next group */
} KquantGroup;

static inline KquantGroup kquant_group(const uint8_t *p, int bits, int len) {
    KquantGroup g;
    g.n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
    g.values = p;
    g.scales = p + (long)g.n_sub * kquant_span_bytes(bits);
    const uint8_t *half = g.scales + kquant_scale_bytes(bits, g.n_sub);
    g.d = kquant_half(half);
    g.dmin = bits == 6 ? 0.0f : kquant_half(half + 2);
    g.next = half + (bits == 6 ? 2 : 4);
    return g;
}

/* Sub-block j's scale and min. */
static inline int kquant_scale(const KquantGroup *g, int bits, int j) {
    return bits == 6 ? g->scales[j] : kquant_six_bits(g->scales, j);
}

static inline int kquant_sub_min(const KquantGroup *g, int bits, int j) {
    return bits == 6 ? 0 : kquant_six_bits(g->scales, g->n_sub + j);
}

/* One row's dot product with x (its scales xs per group), as the header says. A call
 * of its own, so that the compiler keeps the loop in registers. */
__attribute__((noinline)) static float kquant_row_dot(const int8_t *x, const float *xs, const uint8_t *row,
                                                      int cols, int group_size, int bits) {
    float sum = 0.0f;
    for (int start = 0, gi = 0; start < cols; start += group_size, gi++) {
        const int len = kquant_min(group_size, cols - start);
        const KquantGroup g = kquant_group(row, bits, len);
        int32_t a = 0, b = 0;
        for (int j = 0; j < g.n_sub; j++) {
            const int8_t *xj = x + start + KQUANT_SUB * j;
            const uint8_t *span = g.values + (long)j * kquant_span_bytes(bits);
            int32_t s = 0, xsum = 0;
            for (int i = 0, n = kquant_min(KQUANT_SUB, len - KQUANT_SUB * j); i < n; i++) {
                s += kquant_value(span, i, bits) * xj[i];
                xsum += xj[i];
            }
            a += kquant_scale(&g, bits, j) * s;
            b += kquant_sub_min(&g, bits, j) * xsum;
        }
        sum += ((float)a * g.d - (float)b * g.dmin) * xs[gi];
        row = g.next;
    }
    return sum;
}

/* The reference matrix-vector product: rows one after another. */
static inline void kquant_matvec(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                                 int group_size, int bits) {
    const long row_bytes = kquant_row_bytes(bits, cols, group_size);
    for (int r = 0; r < rows; r++) out[r] = kquant_row_dot(x, xs, w + r * row_bytes, cols, group_size, bits);
}

#endif
