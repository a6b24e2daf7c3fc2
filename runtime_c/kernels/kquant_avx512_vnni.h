/* kquant_avx512_vnni.h - the AVX-512 VNNI k-quant kernels' insides, shared by the
 * matrix-vector twins (matvec_kquant_avx512_vnni.c, which says how they work) and the
 * GEMM twins (gemm_kquant_avx512_vnni.c): a block of 8 rows for one token or a tile of
 * two. */
#ifndef LLM_KQUANT_AVX512_VNNI_H
#define LLM_KQUANT_AVX512_VNNI_H

#include <immintrin.h>
#include <string.h>
#include "lanes_avx512.h"

#define TARGET __attribute__((target("avx512vnni,bmi2")))
#include "kquant.h"
enum { PREFETCH_BYTES = 8192 };

/* Per group, per pair of chunks (eight sub-blocks, 256 columns): each chunk's low
 * activations, its high ones, then the pair's eight sums of x as int16, 64 bytes each. */
enum { CHUNK_VALUES = 4 * KQUANT_SUB, PAIR_BYTES = 5 * 64, PREPARED_BYTES = 24 * 1024, ROWS = 8 };
/* The GEMM's register tile: 8 rows x 2 tokens (16 accumulators of 32 zmm registers). */
enum { TILE = 2 };

static inline int group_pairs(int len) {
    return (len + 2 * CHUNK_VALUES - 1) / (2 * CHUNK_VALUES);
}

/* Bytes of one token's reordered activations (a whole number of 64). */
static inline long prepared_bytes(int cols, int group_size) {
    long bytes = 0;
    for (int start = 0; start < cols; start += group_size) bytes += PAIR_BYTES * group_pairs(kquant_min(group_size, cols - start));
    return bytes;
}

/* The reordered activations of every group (prepared_bytes of them). Within a chunk,
 * sub-block k's values 0-15 go to bytes 16k.. of the low part and its values 16-31 to
 * the same bytes of the high part. */
static inline void prepare(int8_t *buf, const int8_t *x, int cols, int group_size) {
    memset(buf, 0, (size_t)prepared_bytes(cols, group_size));
    for (int start = 0; start < cols; start += group_size) {
        const int len = kquant_min(group_size, cols - start);
        for (int pair = 0; pair < group_pairs(len); pair++, buf += PAIR_BYTES) {
            int16_t sums[8] = {0};
            for (int k = 0; k < 8; k++) {
                const int at = pair * 2 * CHUNK_VALUES + KQUANT_SUB * k; /* the sub-block's first column */
                const int n = kquant_min(KQUANT_SUB, len - at);
                if (n <= 0) break;
                int8_t *low = buf + 128 * (k / 4) + 16 * (k % 4);
                memcpy(low, x + start + at, (size_t)kquant_min(16, n));
                if (n > 16) memcpy(low + 64, x + start + at + 16, (size_t)(n - 16));
                for (int i = 0; i < n; i++) sums[k] = (int16_t)(sums[k] + x[start + at + i]); /* |sum| <= 32 * 127 */
            }
            memcpy(buf + 256, sums, sizeof sums);
        }
    }
}

/* Fields first .. first + n - 1 (n <= 8) of a group's 6-bit stream as the bytes of a
 * word, zero past n: eight fields from six bytes where they start on one (PDEP
 * spreads them; the word read may reach into the group's d and dmin, never past
 * them), else one by one. */
TARGET static inline uint64_t six_bit_bytes(const uint8_t *stream, int first, int n) {
    uint64_t v = 0;
    if (first % 8 == 0 && n == 8) {
        memcpy(&v, stream + 6 * (first / 8), sizeof v);
        return _pdep_u64(v, 0x3F3F3F3F3F3F3F3FULL);
    }
    for (int i = 0; i < n; i++) v |= (uint64_t)kquant_six_bits(stream, first + i) << (8 * i);
    return v;
}

/* Fields first .. first + n - 1 (n <= 8) of a group's sub-block scales (q4, q5:
 * the 6-bit stream, the mins after the scales; q6: a byte each) as a word's bytes. */
TARGET static inline __attribute__((always_inline)) uint64_t fields8(const uint8_t *scales, int bits, int first, int n) {
    if (bits != 6) return six_bit_bytes(scales, first, n);
    uint64_t v = 0;
    memcpy(&v, scales + first, (size_t)n); /* no further: the group's d may be the image's last bytes */
    return v;
}

/* Fields first .. first + n - 1 of rows p[0..3] as int16, row r's in 128-bit lane r. */
TARGET static inline __attribute__((always_inline)) __m512i fields4(const uint8_t *const *p, int scale_at, int bits,
                                                                    int first, int n) {
    return _mm512_cvtepu8_epi16(_mm256_setr_epi64x(
        (long long)fields8(p[0] + scale_at, bits, first, n), (long long)fields8(p[1] + scale_at, bits, first, n),
        (long long)fields8(p[2] + scale_at, bits, first, n), (long long)fields8(p[3] + scale_at, bits, first, n)));
}

/* Sub-blocks first .. first + 3 of a group's values at v (those below n_sub): [values
 * 0-15 of each], [values 16-31 of each], 16 bytes a sub-block. */
TARGET static inline __attribute__((always_inline)) void chunk_values(__m512i *low, __m512i *high, const uint8_t *v,
                                                                      int bits, int first, int n_sub) {
    /* the sub-blocks' spans (q4: 16 bytes, one run of nibbles; q5, q6: 20 or 24 bytes,
     * whole int32s, whose nibbles a permute of int32s picks into place), two loads */
    const int span = kquant_span_bytes(bits), bytes = span * kquant_min(4, n_sub - first);
    const uint8_t *at = v + (long)span * first;
    const __m512i d0 = _mm512_maskz_loadu_epi8(bytes >= 64 ? ~0ULL : bytes <= 0 ? 0 : (1ULL << bytes) - 1, at);
    const __m512i d1 = _mm512_maskz_loadu_epi8(bytes <= 64 ? 0 : (1ULL << (bytes - 64)) - 1, at + 64);
    const __m512i n = bits == 4   ? d0
                      : bits == 5 ? _mm512_permutex2var_epi32(d0, _mm512_setr_epi32(0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18), d1)
                                  : _mm512_permutex2var_epi32(d0, _mm512_setr_epi32(0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15, 18, 19, 20, 21), d1);
    const __m512i fifteen = _mm512_set1_epi8(15);
    *low = _mm512_and_si512(n, fifteen);
    *high = _mm512_and_si512(_mm512_srli_epi16(n, 4), fifteen);
    if (bits == 4) return;
    if (bits == 5) { /* bit i of sub-block k's word: value i's 16, at byte 16k + i of low or high */
        const __m128i words = _mm512_castsi512_si128(
            _mm512_permutex2var_epi32(d0, _mm512_setr_epi32(4, 9, 14, 19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), d1));
        const __m512i sixteen = _mm512_set1_epi8(16);
        *low = _mm512_mask_add_epi8(*low, (__mmask64)_mm_cvtsi128_si64(_mm_cvtepi32_epi16(words)), *low, sixteen);
        *high = _mm512_mask_add_epi8(*high, (__mmask64)_mm_cvtsi128_si64(_mm_cvtepi32_epi16(_mm_srli_epi32(words, 16))),
                                     *high, sixteen);
        return;
    }
    /* q6: byte j of the 8 holds the top bits of values j, j + 8, j + 16, j + 24 (bits
     * 0-1, 2-3, 4-5, 6-7); each 128-bit lane gets its sub-block's 8 twice, and a shift
     * per 64-bit half brings the pair each byte of values wants to bits 4-5 */
    const __m512i tops = _mm512_permutex2var_epi32(
        d0, _mm512_setr_epi32(4, 5, 4, 5, 10, 11, 10, 11, 16, 17, 16, 17, 22, 23, 22, 23), d1);
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    *low = _mm512_or_si512(*low, _mm512_and_si512(_mm512_sllv_epi64(tops, _mm512_setr_epi64(4, 2, 4, 2, 4, 2, 4, 2)),
                                                  bits45));
    *high = _mm512_or_si512(*high, _mm512_and_si512(_mm512_srlv_epi64(tops, _mm512_setr_epi64(0, 2, 0, 2, 0, 2, 0, 2)),
                                                    bits45));
}

/* Every int32 lane of b: the total of its 128-bit lane. */
TARGET static inline __m512i quarter_totals(__m512i b) {
    b = _mm512_add_epi32(b, _mm512_shuffle_epi32(b, _MM_PERM_BADC));
    return _mm512_add_epi32(b, _mm512_shuffle_epi32(b, _MM_PERM_CDAB));
}

/* One group of len columns of ROWS rows (p[r]: the group's bytes in row r, p[0] +
 * row_at[r]) of a bits-bit format for `tokens` tokens (1 or TILE, a constant: token t's
 * activations prepared[t], scale xs[t]); the rows' sums of each, sum[t], get its
 * contributions. A row's values are unpacked once for all the tokens. */
TARGET static inline __attribute__((always_inline)) void group_rows(__m256 sum[TILE], int tokens,
                                                                    const uint8_t *const p[ROWS],
                                                                    const int8_t *const prepared[TILE],
                                                                    const float xs[TILE], int len, int bits,
                                                                    __m256i row_at) {
    /* VPSHUFB picks each int16 word's scale from the pair's eight: q4 and q5 have, in
     * 128-bit lane k, sub-block k's lanes in words 0-3 and sub-block 4 + k's in 4-7 (the
     * order _mm512_packs_epi32 leaves two chunks in); q6 has chunk c's sub-block
     * 4c + k in all eight */
    static const uint16_t two_chunks[32] = {
        0x8000, 0x8000, 0x8000, 0x8000, 0x8004, 0x8004, 0x8004, 0x8004, 0x8001, 0x8001, 0x8001,
        0x8001, 0x8005, 0x8005, 0x8005, 0x8005, 0x8002, 0x8002, 0x8002, 0x8002, 0x8006, 0x8006,
        0x8006, 0x8006, 0x8003, 0x8003, 0x8003, 0x8003, 0x8007, 0x8007, 0x8007, 0x8007};
    const __m512i spread = _mm512_loadu_si512(two_chunks), zero = _mm512_setzero_si512();
    static const uint16_t one_chunk[2][32] = {
        {0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8001, 0x8001, 0x8001,
         0x8001, 0x8001, 0x8001, 0x8001, 0x8001, 0x8002, 0x8002, 0x8002, 0x8002, 0x8002, 0x8002,
         0x8002, 0x8002, 0x8003, 0x8003, 0x8003, 0x8003, 0x8003, 0x8003, 0x8003, 0x8003},
        {0x8004, 0x8004, 0x8004, 0x8004, 0x8004, 0x8004, 0x8004, 0x8004, 0x8005, 0x8005, 0x8005,
         0x8005, 0x8005, 0x8005, 0x8005, 0x8005, 0x8006, 0x8006, 0x8006, 0x8006, 0x8006, 0x8006,
         0x8006, 0x8006, 0x8007, 0x8007, 0x8007, 0x8007, 0x8007, 0x8007, 0x8007, 0x8007}};
    const __m512i spread_c0 = _mm512_loadu_si512(one_chunk[0]), spread_c1 = _mm512_loadu_si512(one_chunk[1]);
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB, pairs = group_pairs(len);
    const int scale_at = kquant_span_bytes(bits) * n_sub, half_at = scale_at + kquant_scale_bytes(bits, n_sub);
    /* q4, q5: B, the mins against the sums of x; q6: the scales against them */
    const int min_first = bits == 6 ? 0 : n_sub;
    __m512i a[TILE][ROWS], b[TILE][2]; /* b: rows 0-3, 4-7 */
#pragma GCC unroll 2 /* the accumulators in registers */
    for (int t = 0; t < tokens; t++) {
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++) a[t][r] = zero;
        b[t][0] = b[t][1] = zero;
    }
    for (int pair = 0; pair < pairs; pair++) {
        const int fields = kquant_min(8, n_sub - 8 * pair);
        const __m512i mins0 = fields4(p, scale_at, bits, min_first + 8 * pair, fields);
        const __m512i mins1 = fields4(p + 4, scale_at, bits, min_first + 8 * pair, fields);
        __m512i lo0[TILE], hi0[TILE], lo1[TILE], hi1[TILE]; /* the tokens' activations of the pair */
#pragma GCC unroll 2
        for (int t = 0; t < tokens; t++) {
            const int8_t *x = prepared[t] + pair * PAIR_BYTES;
            lo0[t] = _mm512_loadu_si512(x), hi0[t] = _mm512_loadu_si512(x + 64);
            lo1[t] = _mm512_loadu_si512(x + 128), hi1[t] = _mm512_loadu_si512(x + 192);
            const __m512i xsums = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)(x + 256)));
            b[t][0] = _mm512_dpwssd_epi32(b[t][0], mins0, xsums);
            b[t][1] = _mm512_dpwssd_epi32(b[t][1], mins1, xsums);
        }
#pragma GCC unroll 8 /* the rows' sums stay in registers */
        for (int r = 0; r < ROWS; r++) {
            __m512i v0l, v0h, v1l, v1h;
            chunk_values(&v0l, &v0h, p[r], bits, 8 * pair, n_sub);
            chunk_values(&v1l, &v1h, p[r], bits, 8 * pair + 4, n_sub);
            const __m512i scales = _mm512_set1_epi64((long long)fields8(p[r] + scale_at, bits, 8 * pair, fields));
#pragma GCC unroll 2
            for (int t = 0; t < tokens; t++) {
                if (bits == 6) { /* four products a lane: a chunk's low and high lanes to a pack */
                    const __m512i p0 = _mm512_packs_epi32(_mm512_dpbusd_epi32(zero, v0l, lo0[t]), _mm512_dpbusd_epi32(zero, v0h, hi0[t]));
                    const __m512i p1 = _mm512_packs_epi32(_mm512_dpbusd_epi32(zero, v1l, lo1[t]), _mm512_dpbusd_epi32(zero, v1h, hi1[t]));
                    a[t][r] = _mm512_dpwssd_epi32(a[t][r], p0, _mm512_shuffle_epi8(scales, spread_c0));
                    a[t][r] = _mm512_dpwssd_epi32(a[t][r], p1, _mm512_shuffle_epi8(scales, spread_c1));
                } else {
                    const __m512i s0 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, v0l, lo0[t]), v0h, hi0[t]);
                    const __m512i s1 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, v1l, lo1[t]), v1h, hi1[t]);
                    a[t][r] = _mm512_dpwssd_epi32(a[t][r], _mm512_packs_epi32(s0, s1), _mm512_shuffle_epi8(scales, spread));
                }
            }
        }
    }
    /* each row's d and dmin, gathered (eight scalar loads and one vector load of them
     * stall on store forwarding); q6's d is the upper half of the word before it, and a
     * zero dmin */
    __m256i halves = _mm256_i32gather_epi32((const int *)(const void *)(p[0] + half_at - (bits == 6 ? 2 : 0)), row_at, 1);
    if (bits == 6) halves = _mm256_srli_epi32(halves, 16);
    /* d0 dmin0 d1 dmin1 ..., exactly (F16C), then the d's and the dmins apart */
    const __m512 dd = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15),
                                            _mm512_cvtph_ps(halves));
#pragma GCC unroll 2
    for (int t = 0; t < tokens; t++) {
        /* A: the rows' totals, [A0-3 A0-3 A4-7 A4-7] */
        const __m512i at = lane_totals8(a[t]);
        __m256i totals_a = _mm512_castsi512_si256(_mm512_shuffle_i32x4(at, at, _MM_SHUFFLE(2, 0, 2, 0)));
        /* b: row r's four lanes of 128-bit lane r of b[0] or b[1] */
        __m256i totals_b = _mm512_castsi512_si256(_mm512_permutex2var_epi32(
            quarter_totals(b[t][0]), _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0),
            quarter_totals(b[t][1])));
        if (bits == 6) { /* the values were q + 32: A = sum sc_j (S_j + 32 X_j) - 32 sum sc_j X_j; no B */
            totals_a = _mm256_sub_epi32(totals_a, _mm256_slli_epi32(totals_b, 5));
            totals_b = _mm256_setzero_si256();
        }
        const __m256 fa = _mm256_mul_ps(_mm256_cvtepi32_ps(totals_a), _mm512_castps512_ps256(dd));
        const __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(totals_b), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(dd), 1)));
        sum[t] = _mm256_add_ps(sum[t], _mm256_mul_ps(_mm256_sub_ps(fa, fb), _mm256_set1_ps(xs[t])));
    }
}

/* Rows r .. r + 7 of a bits-bit matrix w (fewer at its end) for `tokens` tokens (1 or
 * TILE, a constant): token t's activations prepared[t], its scales xs[t], its outputs
 * out[t]. With `prefetch`, the first pass over the rows fetches the bytes
 * PREFETCH_BYTES on, a share per group. */
TARGET static inline __attribute__((always_inline)) void block_rows(float *const out[TILE], int tokens,
                                                                    const int8_t *const prepared[TILE],
                                                                    const float *const xs[TILE], const uint8_t *w,
                                                                    int r, int rows, int cols, int group_size,
                                                                    int bits, int prefetch) {
    const long row_bytes = kquant_row_bytes(bits, cols, group_size);
    const int n = kquant_min(ROWS, rows - r);
    const uint8_t *p[ROWS];
    for (int i = 0; i < ROWS; i++) p[i] = w + (r + kquant_min(i, n - 1)) * row_bytes; /* a short block repeats its last row */
    const __m256i row_at = _mm256_mullo_epi32(
        _mm256_min_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(n - 1)),
        _mm256_set1_epi32((int)row_bytes));
    __m256 sum[TILE];
    const int8_t *at[TILE];
    for (int t = 0; t < tokens; t++) sum[t] = _mm256_setzero_ps(), at[t] = prepared[t];
    const char *ahead = (const char *)(w + r * row_bytes) + PREFETCH_BYTES;
    const long share = ROWS * row_bytes / ((cols + group_size - 1) / group_size) + 64;
    for (int start = 0, gi = 0; start < cols; start += group_size, gi++) {
        const int len = kquant_min(group_size, cols - start);
        const long group_bytes = kquant_group_bytes(bits, len);
        if (prefetch) {
            for (long b = 0; b < share; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T1);
            ahead += share - 64;
        }
        float group_xs[TILE];
        for (int t = 0; t < tokens; t++) group_xs[t] = xs[t][gi];
        /* the default group, whole: a copy of group_rows with its sizes constant */
        if (len == 256) {
            group_rows(sum, tokens, p, at, group_xs, 256, bits, row_at);
        } else {
            group_rows(sum, tokens, p, at, group_xs, len, bits, row_at);
        }
        for (int t = 0; t < tokens; t++) at[t] += PAIR_BYTES * group_pairs(len);
        for (int i = 0; i < ROWS; i++) p[i] += group_bytes;
    }
    for (int t = 0; t < tokens; t++) {
        float got[ROWS];
        _mm256_storeu_ps(got, sum[t]);
        memcpy(out[t] + r, got, sizeof(float) * (size_t)n);
    }
}

#endif
