/* x86-64 AVX2: q4, q5 and q6 matrices (kquant.h), one body, bit for bit as the
 * reference kernels sum them.
 *
 * A sub-block's 16 bytes of nibbles are its 32 values: the low nibbles values 0-15,
 * the high ones 16-31, so one ymm holds them in order beside the 32 activations
 * (q5 and q6 then add their top bits, from the bytes after the nibbles, into the same
 * bytes). VPMADDUBSW multiplies the unsigned values by the int8 activations and adds
 * pairs: the values are at most 63 (q6 stores q + 32) and the activations at least
 * -128, so a pair is at most 2 * 63 * 128 = 16128 in size, and never saturates.
 * VPMADDWD by the sub-block's scale (q4, q5: at most 63; q6: at most 255) widens to
 * int32 and weighs it, so every lane collects sc_j * S_j and one horizontal sum per
 * group gives the reference's A exactly (q6: with 32 * sum_j sc_j * X_j more, taken
 * off after; even the widest group's, 32 * 255 * 32 * 63 * 128, is an int32). B, the
 * mins times each sub-block's sum of x, X_j (made once for all rows, as int16), and
 * q6's sum_j sc_j * X_j take VPMADDWD too, eight sub-blocks at a time where a group
 * has a whole number of eight, whose 6-bit fields are then unpacked eight in a
 * vector (elsewhere one by one). A short last sub-block runs the reference's loop.
 * The float step is the reference's: ((float)A * d - (float)B * dmin) * xs (q6: B
 * and dmin 0), added in group order. */
#include "kquant.h"

#if defined(LLM_KERNEL_X86)
LLM_TARGET_AVX2
#include <immintrin.h>
#include <string.h>

static inline int32_t hsum4(__m128i s) {
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static inline int32_t hsum(__m256i v) {
    return hsum4(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

/* A group's n scales then n mins, from their stream of 6-bit fields: eight fields
 * from every six bytes, read as one 64-bit word while a word stays within the stream
 * and its d and dmin; the rest one by one. */
static inline void six_bit_fields(int16_t *fields, const uint8_t *stream, int n) {
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t v;
        memcpy(&v, stream + 6 * (k / 8), sizeof v);
        for (int i = 0; i < 8; i++) fields[k + i] = (int16_t)(v >> (6 * i) & 63);
    }
    for (; k < n; k++) fields[k] = (int16_t)kquant_six_bits(stream, k);
}

/* A full sub-block's 32 values (q6: as stored, q + 32) in order, from its span. */
static inline __attribute__((always_inline)) __m256i sub_block_values(const uint8_t *span, int bits) {
    /* the 16 bytes in both lanes, the upper shifted 4: values 0-15, then 16-31 */
    const __m256i packed = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)span));
    const __m256i q = _mm256_and_si256(_mm256_srlv_epi32(packed, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                                       _mm256_set1_epi8(15));
    if (bits == 5) {
        /* bit i of the word is value i's 16: byte i gets the word's byte i / 8, keeps
         * its bit i % 8, and that bit, if set, becomes 16 */
        int32_t word;
        memcpy(&word, span + 16, sizeof word);
        const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(word),
                                                   _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL,
                                                                      0x0303030303030303LL));
        const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
        return _mm256_or_si256(q, _mm256_and_si256(set, _mm256_set1_epi8(16)));
    }
    if (bits == 6) {
        /* byte k of the 8 holds the top bits of values k, k + 8, k + 16, k + 24 (bits
         * 0-1, 2-3, 4-5, 6-7): the 8 in every 64-bit lane, lane l shifted right 2l
         * brings value 8l + k's pair to bits 0-1 of byte k, and a shift left 4 to 4-5 */
        long long tops;
        memcpy(&tops, span + 16, sizeof tops);
        const __m256i pair = _mm256_srlv_epi64(_mm256_set1_epi64x(tops), _mm256_setr_epi64x(0, 2, 4, 6));
        return _mm256_or_si256(q, _mm256_and_si256(_mm256_slli_epi64(pair, 4), _mm256_set1_epi8(0x30)));
    }
    return q;
}

/* Fields 8c .. 8c + 7 of a group's scales (low lane) and of its mins (high lane), as
 * int16, for n_sub a multiple of 8: each field's two bytes picked into its word, a
 * multiply that shifts the field up to bit 8, and a shift down. The 8-byte reads end
 * within the stream and the group's d and dmin. */
static inline __m256i six_bit_chunk(const uint8_t *stream, int c, int n_sub) {
    long long sc, mins;
    memcpy(&sc, stream + 6 * c, sizeof sc);
    memcpy(&mins, stream + 6 * (n_sub / 8 + c), sizeof mins);
    const __m256i words = _mm256_shuffle_epi8(
        _mm256_setr_epi64x(sc, 0, mins, 0),
        _mm256_setr_epi8(0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6, 0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6));
    /* field i starts at bit 0, 6, 4, 2, 0, 6, 4, 2 of its word */
    const __m256i up = _mm256_mullo_epi16(words, _mm256_setr_epi16(256, 4, 16, 64, 256, 4, 16, 64, 256, 4, 16, 64, 256,
                                                                    4, 16, 64));
    return _mm256_and_si256(_mm256_srli_epi16(up, 8), _mm256_set1_epi16(63));
}

/* One row's group of len columns at p, of a bits-bit format: ((float)A * d -
 * (float)B * dmin) * xs, as the reference; sums[j] is sub-block j's sum of x (the
 * same for every row). */
static inline __attribute__((always_inline)) float group_dot(const int8_t *x, float xs, const int16_t *sums,
                                                             const uint8_t *p, int len, int bits) {
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB, span = kquant_span_bytes(bits);
    const uint8_t *scales = p + span * n_sub, *half = scales + kquant_scale_bytes(bits, n_sub);
    int16_t fields[2 * KQUANT_MAX_GROUP / KQUANT_SUB + 8]; /* scales, then mins (q6: none) */
    /* q4, q5: B = sum_j m_j * X_j; q6: sum_j sc_j * X_j (its values' offset, below) */
    __m128i b4 = _mm_setzero_si128();
    int32_t sb = 0;
    if (n_sub % 8 == 0) { /* eight sub-blocks' fields at a time, their products with X_j too */
        for (int c = 0; c < n_sub / 8; c++) {
            const __m128i xsum = _mm_loadu_si128((const __m128i *)(const void *)(sums + 8 * c));
            if (bits == 6) {
                const __m128i sc = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(const void *)(scales + 8 * c)));
                _mm_storeu_si128((__m128i *)(void *)(fields + 8 * c), sc);
                b4 = _mm_add_epi32(b4, _mm_madd_epi16(sc, xsum));
            } else {
                const __m256i f = six_bit_chunk(scales, c, n_sub);
                _mm_storeu_si128((__m128i *)(void *)(fields + 8 * c), _mm256_castsi256_si128(f));
                b4 = _mm_add_epi32(b4, _mm_madd_epi16(_mm256_extracti128_si256(f, 1), xsum));
            }
        }
    } else {
        if (bits == 6) {
            for (int j = 0; j < n_sub; j++) fields[j] = scales[j];
        } else {
            six_bit_fields(fields, scales, 2 * n_sub);
        }
        for (int j = 0; j < n_sub; j++) sb += fields[bits == 6 ? j : n_sub + j] * sums[j];
    }
    const int full = len / KQUANT_SUB;
    __m256i a = _mm256_setzero_si256();
#pragma GCC unroll 8 /* the default group's eight sub-blocks without a loop's counting */
    for (int j = 0; j < full; j++) {
        const __m256i xj = _mm256_loadu_si256((const __m256i *)(const void *)(x + KQUANT_SUB * j));
        a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(sub_block_values(p + span * j, bits), xj),
                                                  _mm256_set1_epi16(fields[j])));
    }
    int32_t sa = hsum(a);
    sb += hsum4(b4);
    if (full < n_sub) { /* a short last sub-block: x past the row may not be read */
        const int8_t *xj = x + KQUANT_SUB * full;
        int32_t s = 0;
        for (int i = 0; i < len - KQUANT_SUB * full; i++) {
            s += (kquant_value(p + span * full, i, bits) + (bits == 6 ? 32 : 0)) * xj[i]; /* q6: as stored */
        }
        sa += fields[full] * s; /* q6: its 32 * sc * X_j is in the offset too */
    }
    if (bits == 6) { /* the values were q + 32: A = sum sc_j (S_j + 32 X_j) - 32 sum sc_j X_j; no B */
        sa -= 32 * sb;
        sb = 0;
    }
    /* F16C converts a half exactly, as f16_to_f32 does */
    const float d = _cvtsh_ss((unsigned short)(half[0] | half[1] << 8));
    const float dmin = bits == 6 ? 0.0f : _cvtsh_ss((unsigned short)(half[2] | half[3] << 8));
    return ((float)sa * d - (float)sb * dmin) * xs;
}

/* Row by row, as the weights lie; each sub-block's sum of x is made once for all rows
 * (rows up to SUMS_COLS long; a longer one's groups make their own). */
enum { SUMS_COLS = 8192 };

static void sub_block_sums(int16_t *sums, const int8_t *x, int len) { /* |X_j| <= 32 * 128 */
    for (int j = 0; j * KQUANT_SUB < len; j++) sums[j] = 0;
    for (int i = 0; i < len; i++) sums[i / KQUANT_SUB] = (int16_t)(sums[i / KQUANT_SUB] + x[i]);
}

static inline __attribute__((always_inline)) void matvec(float *out, const int8_t *x, const float *xs,
                                                         const uint8_t *w, int rows, int cols, int group_size,
                                                         int bits) {
    int16_t sums[SUMS_COLS / KQUANT_SUB]; /* group by group */
    const int cached = cols <= SUMS_COLS;
    for (int start = 0, at = 0; cached && start < cols; start += group_size, at += (group_size + 31) / 32) {
        sub_block_sums(sums + at, x + start, kquant_min(group_size, cols - start));
    }
    const long row_bytes = kquant_row_bytes(bits, cols, group_size);
    for (int r = 0; r < rows; r++) {
        const uint8_t *p = w + r * row_bytes;
        float sum = 0.0f;
        for (int start = 0, gi = 0, at = 0; start < cols; start += group_size, gi++, at += (group_size + 31) / 32) {
            const int len = kquant_min(group_size, cols - start);
            int16_t own[KQUANT_MAX_GROUP / KQUANT_SUB];
            if (!cached) sub_block_sums(own, x + start, len);
            const int16_t *sub_sums = cached ? sums + at : own;
            /* the default group, whole: a copy of group_dot with its sizes constant */
            sum += len == 256 ? group_dot(x + start, xs[gi], sub_sums, p, 256, bits)
                              : group_dot(x + start, xs[gi], sub_sums, p, len, bits);
            p += kquant_group_bytes(bits, len);
        }
        out[r] = sum;
    }
}

void matvec_q4_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size) {
    matvec(out, x, xs, w, rows, cols, group_size, 4);
}

void matvec_q5_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size) {
    matvec(out, x, xs, w, rows, cols, group_size, 5);
}

void matvec_q6_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size) {
    matvec(out, x, xs, w, rows, cols, group_size, 6);
}
#endif
