/* x86-64 AVX-512 VNNI: q4, q5 and q6 matrices (kquant.h), eight rows at a time, bit
 * for bit as the reference kernels sum them.
 *
 * A sub-block's 16 bytes of nibbles hold values 0-15 in their low halves and 16-31
 * in their high ones (q5 and q6 add their top bits from the bytes after them), so
 * four sub-blocks (a "chunk") make one zmm of values 0-15 and one of values 16-31,
 * each lined up with its activations once those are reordered the same way. The
 * activations are reordered once per product, for all rows, into a buffer on the
 * stack (zero where a group has no column, so a short sub-block or group needs no
 * care past its weight loads). Per chunk, VPDPBUSD multiplies the unsigned values by
 * the int8 activations, and the int32 lanes, packed into int16, meet their
 * sub-blocks' scales in VPDPWSSD, which so collects sum_j sc_j * S_j. A q4 or q5 lane
 * holds eight products (at most 8 * 31 * 127, an int16), two chunks to a pack; a q6
 * lane four (its stored values q + 32 reach 63), a chunk's two halves to a pack,
 * and 32 * sum_j sc_j * X_j is taken off after. The mins (q4, q5) meet each
 * sub-block's sum of x, made once and packed the same way, in another VPDPWSSD.
 * Eight rows' lanes are then added up together, and the float step is the
 * reference's, lane by lane for the eight rows: ((float)A * d - (float)B * dmin) * xs
 * (q6: B and dmin 0, which changes no bit), added in group order. The 6-bit fields
 * become bytes with PDEP (BMI2: every AVX-512 VNNI CPU has it). Products whose
 * reordered activations would not fit the buffer, which only very long rows of small
 * groups need, go to the AVX2 twins: the same floats.
 * The eight rows are one run of bytes, prefetched PREFETCH_BYTES ahead as one run
 * into L2 (prefetcht1; measured on the 110M shape in q4, 8 KB beat 4, 6, 12 and 16 KB,
 * and a prefetch per row's stream fell far behind; into L1, as the q8 kernels
 * prefetch, q4 decoded at 1.45x to 1.53x q8 over three runs of five rounds, into L2
 * at 1.50x to 1.57x, and a token's matrices alone, from memory, took 2.5 ms, not 3.0 to 3.6). */
#include "kquant.h"

#if defined(LLM_KERNEL_AVX512_VNNI)
#include <immintrin.h>
#include <string.h>
#include "lanes_avx512.h"

#define TARGET __attribute__((target("avx512vnni,bmi2")))
enum { PREFETCH_BYTES = 8192 };

/* Per group, per pair of chunks (eight sub-blocks, 256 columns): each chunk's low
 * activations, its high ones, then the pair's eight sums of x as int16, 64 bytes each. */
enum { CHUNK_VALUES = 4 * KQUANT_SUB, PAIR_BYTES = 5 * 64, PREPARED_BYTES = 24 * 1024, ROWS = 8 };

static inline int group_pairs(int len) {
    return (len + 2 * CHUNK_VALUES - 1) / (2 * CHUNK_VALUES);
}

/* The reordered activations of every group, or 0 where they need more than the
 * buffer. Within a chunk, sub-block k's values 0-15 go to bytes 16k.. of the low
 * part and its values 16-31 to the same bytes of the high part. */
static int prepare(int8_t *buf, const int8_t *x, int cols, int group_size) {
    int bytes = 0;
    for (int start = 0; start < cols; start += group_size) bytes += PAIR_BYTES * group_pairs(kquant_min(group_size, cols - start));
    if (bytes > PREPARED_BYTES) return 0;
    memset(buf, 0, (size_t)bytes);
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
    return 1;
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
 * row_at[r]) of a bits-bit format; the rows' sums get its contributions. */
TARGET static inline __attribute__((always_inline)) __m256 group_rows(__m256 sum, const uint8_t *const p[ROWS],
                                                                      const int8_t *prepared, float xs, int len,
                                                                      int bits, __m256i row_at) {
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
    __m512i a[ROWS], b[2] = {zero, zero}; /* b: rows 0-3, 4-7 */
    for (int r = 0; r < ROWS; r++) a[r] = zero;
    for (int pair = 0; pair < pairs; pair++, prepared += PAIR_BYTES) {
        const __m512i lo0 = _mm512_loadu_si512(prepared), hi0 = _mm512_loadu_si512(prepared + 64);
        const __m512i lo1 = _mm512_loadu_si512(prepared + 128), hi1 = _mm512_loadu_si512(prepared + 192);
        const int fields = kquant_min(8, n_sub - 8 * pair);
        const __m512i xsums = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)(prepared + 256)));
        b[0] = _mm512_dpwssd_epi32(b[0], fields4(p, scale_at, bits, min_first + 8 * pair, fields), xsums);
        b[1] = _mm512_dpwssd_epi32(b[1], fields4(p + 4, scale_at, bits, min_first + 8 * pair, fields), xsums);
#pragma GCC unroll 8 /* the rows' sums stay in registers */
        for (int r = 0; r < ROWS; r++) {
            __m512i v0l, v0h, v1l, v1h;
            chunk_values(&v0l, &v0h, p[r], bits, 8 * pair, n_sub);
            chunk_values(&v1l, &v1h, p[r], bits, 8 * pair + 4, n_sub);
            const __m512i scales = _mm512_set1_epi64((long long)fields8(p[r] + scale_at, bits, 8 * pair, fields));
            if (bits == 6) { /* four products a lane: a chunk's low and high lanes to a pack */
                const __m512i p0 = _mm512_packs_epi32(_mm512_dpbusd_epi32(zero, v0l, lo0), _mm512_dpbusd_epi32(zero, v0h, hi0));
                const __m512i p1 = _mm512_packs_epi32(_mm512_dpbusd_epi32(zero, v1l, lo1), _mm512_dpbusd_epi32(zero, v1h, hi1));
                a[r] = _mm512_dpwssd_epi32(a[r], p0, _mm512_shuffle_epi8(scales, spread_c0));
                a[r] = _mm512_dpwssd_epi32(a[r], p1, _mm512_shuffle_epi8(scales, spread_c1));
            } else {
                const __m512i s0 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, v0l, lo0), v0h, hi0);
                const __m512i s1 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, v1l, lo1), v1h, hi1);
                a[r] = _mm512_dpwssd_epi32(a[r], _mm512_packs_epi32(s0, s1), _mm512_shuffle_epi8(scales, spread));
            }
        }
    }
    /* A: the rows' totals, [A0-3 A0-3 A4-7 A4-7] */
    const __m512i t = lane_totals8(a);
    __m256i totals_a = _mm512_castsi512_si256(_mm512_shuffle_i32x4(t, t, _MM_SHUFFLE(2, 0, 2, 0)));
    /* b: row r's four lanes of 128-bit lane r of b[0] or b[1] */
    __m256i totals_b = _mm512_castsi512_si256(_mm512_permutex2var_epi32(
        quarter_totals(b[0]), _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0),
        quarter_totals(b[1])));
    if (bits == 6) { /* the values were q + 32: A = sum sc_j (S_j + 32 X_j) - 32 sum sc_j X_j; no B */
        totals_a = _mm256_sub_epi32(totals_a, _mm256_slli_epi32(totals_b, 5));
        totals_b = _mm256_setzero_si256();
    }
    /* each row's d and dmin, gathered (eight scalar loads and one vector load of them
     * stall on store forwarding); q6's d is the upper half of the word before it, and a
     * zero dmin */
    __m256i halves = _mm256_i32gather_epi32((const int *)(const void *)(p[0] + half_at - (bits == 6 ? 2 : 0)), row_at, 1);
    if (bits == 6) halves = _mm256_srli_epi32(halves, 16);
    /* d0 dmin0 d1 dmin1 ..., exactly (F16C), then the d's and the dmins apart */
    const __m512 dd = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15),
                                            _mm512_cvtph_ps(halves));
    const __m256 fa = _mm256_mul_ps(_mm256_cvtepi32_ps(totals_a), _mm512_castps512_ps256(dd));
    const __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(totals_b), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(dd), 1)));
    return _mm256_add_ps(sum, _mm256_mul_ps(_mm256_sub_ps(fa, fb), _mm256_set1_ps(xs)));
}

/* Every row of a bits-bit matrix; 0 where the activations do not fit the buffer. */
TARGET static inline __attribute__((always_inline)) int matvec(float *out, const int8_t *x, const float *xs,
                                                               const uint8_t *w, int rows, int cols, int group_size,
                                                               int bits) {
    _Alignas(64) int8_t prepared[PREPARED_BYTES];
    if (!prepare(prepared, x, cols, group_size)) return 0;
    const long row_bytes = kquant_row_bytes(bits, cols, group_size);
    for (int r = 0; r < rows; r += ROWS) {
        const int n = kquant_min(ROWS, rows - r);
        const uint8_t *p[ROWS];
        for (int i = 0; i < ROWS; i++) p[i] = w + (r + kquant_min(i, n - 1)) * row_bytes; /* a short block repeats its last row */
        const __m256i row_at = _mm256_mullo_epi32(
            _mm256_min_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(n - 1)),
            _mm256_set1_epi32((int)row_bytes));
        __m256 sum = _mm256_setzero_ps();
        const int8_t *at = prepared;
        /* the bytes PREFETCH_BYTES on, a share per group */
        const char *ahead = (const char *)(w + r * row_bytes) + PREFETCH_BYTES;
        const long share = ROWS * row_bytes / ((cols + group_size - 1) / group_size) + 64;
        for (int start = 0, gi = 0; start < cols; start += group_size, gi++) {
            const int len = kquant_min(group_size, cols - start);
            const long group_bytes = kquant_group_bytes(bits, len);
            for (long b = 0; b < share; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T1);
            ahead += share - 64;
            /* the default group, whole: a copy of group_rows with its sizes constant */
            sum = len == 256 ? group_rows(sum, p, at, xs[gi], 256, bits, row_at)
                             : group_rows(sum, p, at, xs[gi], len, bits, row_at);
            at += PAIR_BYTES * group_pairs(len);
            for (int i = 0; i < ROWS; i++) p[i] += group_bytes;
        }
        float got[ROWS];
        _mm256_storeu_ps(got, sum);
        memcpy(out + r, got, sizeof(float) * (size_t)n);
    }
    return 1;
}

TARGET void matvec_q4_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                                  int group_size) {
    if (!matvec(out, x, xs, w, rows, cols, group_size, 4)) matvec_q4_avx2(out, x, xs, w, rows, cols, group_size);
}

TARGET void matvec_q5_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                                  int group_size) {
    if (!matvec(out, x, xs, w, rows, cols, group_size, 5)) matvec_q5_avx2(out, x, xs, w, rows, cols, group_size);
}

TARGET void matvec_q6_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                                  int group_size) {
    if (!matvec(out, x, xs, w, rows, cols, group_size, 6)) matvec_q6_avx2(out, x, xs, w, rows, cols, group_size);
}
#endif
