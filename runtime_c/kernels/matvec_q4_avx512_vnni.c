/* x86-64 AVX-512 VNNI: q4 matrices (kquant.h), eight rows at a time, bit for bit as
 * matvec_q4_reference sums them.
 *
 * A sub-block's 16 bytes hold values 0-15 in their low nibbles and 16-31 in their
 * high ones, so 64 bytes (four sub-blocks, a "chunk") make one zmm of low values and
 * one of high values, each lined up with its activations once those are reordered
 * the same way. The activations are reordered once per product, for all rows, into
 * a buffer on the stack (zero where a group has no column, so a short sub-block or
 * group needs no care past its masked weight loads). Per chunk, VPDPBUSD multiplies
 * the unsigned values by the int8 activations: each int32 lane holds eight products
 * of one sub-block (at most 8 * 15 * 127, an int16). Two chunks' lanes packed into
 * int16 meet their sub-blocks' scales in one VPDPWSSD, which so collects
 * sum_j sc_j * S_j; the mins meet each sub-block's sum of x (made once, packed the
 * same way) in another. Eight rows' lanes are then added up together, and the float
 * step is the reference's, lane by lane for the eight rows:
 * ((float)A * d - (float)B * dmin) * xs, added in group order.
 * The scales' 6-bit fields become bytes with PDEP (BMI2: every AVX-512 VNNI CPU has
 * it). Products whose reordered activations would not fit the buffer, which only
 * very long rows of small groups need, go to the AVX2 twin: the same floats.
 * The eight rows are one run of bytes, prefetched Q4_PREFETCH_BYTES ahead as one run
 * (as the q8 kernels do theirs; measured on the 110M shape, 8 KB beat 4, 6, 12 and
 * 16 KB, and a prefetch per row's stream fell far behind). */
#include "kquant.h"

#if defined(LLM_KERNEL_AVX512_VNNI)
#include <immintrin.h>
#include <string.h>

#define TARGET __attribute__((target("avx512vnni,bmi2")))
#ifndef Q4_PREFETCH_BYTES
#define Q4_PREFETCH_BYTES 8192
#endif

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

/* In each 128-bit lane k, the sums of the int32 lanes of a0..a3: [a0, a1, a2, a3]'s
 * share of lane k (the caller adds the lanes up). */
TARGET static inline __m512i lane_totals4(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
}

/* The mins of rows 4h .. 4h + 3 for sub-blocks 8 * pair .. (fields of them), as int16,
 * row r's in 128-bit lane r. */
TARGET static inline __m512i mins4(const uint8_t *const *p, int scale_at, int n_sub, int pair, int fields) {
    return _mm512_cvtepu8_epi16(_mm256_setr_epi64x((long long)six_bit_bytes(p[0] + scale_at, n_sub + 8 * pair, fields),
                                                   (long long)six_bit_bytes(p[1] + scale_at, n_sub + 8 * pair, fields),
                                                   (long long)six_bit_bytes(p[2] + scale_at, n_sub + 8 * pair, fields),
                                                   (long long)six_bit_bytes(p[3] + scale_at, n_sub + 8 * pair, fields)));
}

/* Every int32 lane of b: the total of its 128-bit lane. */
TARGET static inline __m512i quarter_totals(__m512i b) {
    b = _mm512_add_epi32(b, _mm512_shuffle_epi32(b, _MM_PERM_BADC));
    return _mm512_add_epi32(b, _mm512_shuffle_epi32(b, _MM_PERM_CDAB));
}

/* One group of len columns of ROWS rows (p[r]: the group's bytes in row r); the
 * rows' sums get its contributions. */
TARGET static inline __attribute__((always_inline)) __m256 group_rows(__m256 sum, const uint8_t *const p[ROWS],
                                                                      const int8_t *prepared, float xs, int len) {
    /* VPSHUFB picks, in 128-bit lane k, the scale of sub-block k for int16 words 0-3
     * and of sub-block 4 + k for words 4-7: the order _mm512_packs_epi32 leaves */
    static const uint16_t pick[32] = {
        0x8000, 0x8000, 0x8000, 0x8000, 0x8004, 0x8004, 0x8004, 0x8004, 0x8001, 0x8001, 0x8001,
        0x8001, 0x8005, 0x8005, 0x8005, 0x8005, 0x8002, 0x8002, 0x8002, 0x8002, 0x8006, 0x8006,
        0x8006, 0x8006, 0x8003, 0x8003, 0x8003, 0x8003, 0x8007, 0x8007, 0x8007, 0x8007};
    const __m512i spread = _mm512_loadu_si512(pick), low = _mm512_set1_epi8(15), zero = _mm512_setzero_si512();
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB, pairs = group_pairs(len);
    const int scale_at = 16 * n_sub, half_at = scale_at + kquant_scale_bytes(4, n_sub);
    __m512i a[ROWS], b[2] = {zero, zero}; /* B: rows 0-3, 4-7 */
    for (int r = 0; r < ROWS; r++) a[r] = zero;
    for (int pair = 0; pair < pairs; pair++, prepared += PAIR_BYTES) {
        /* the weight bytes of this pair's two chunks: 16 per sub-block there is */
        const int bytes0 = 16 * kquant_min(4, n_sub - 8 * pair), bytes1 = 16 * kquant_min(4, n_sub - 8 * pair - 4);
        const __mmask64 m0 = bytes0 >= 64 ? ~0ULL : (1ULL << bytes0) - 1;
        const __mmask64 m1 = bytes1 >= 64 ? ~0ULL : bytes1 <= 0 ? 0 : (1ULL << bytes1) - 1;
        const __m512i lo0 = _mm512_loadu_si512(prepared), hi0 = _mm512_loadu_si512(prepared + 64);
        const __m512i lo1 = _mm512_loadu_si512(prepared + 128), hi1 = _mm512_loadu_si512(prepared + 192);
        /* B: the mins (int16) against the eight sums of x, four rows to a vector */
        const int fields = kquant_min(8, n_sub - 8 * pair);
        const __m512i xsums = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)(prepared + 256)));
        b[0] = _mm512_dpwssd_epi32(b[0], mins4(p, scale_at, n_sub, pair, fields), xsums);
        b[1] = _mm512_dpwssd_epi32(b[1], mins4(p + 4, scale_at, n_sub, pair, fields), xsums);
#pragma GCC unroll 8 /* the rows' sums stay in registers */
        for (int r = 0; r < ROWS; r++) {
            const uint8_t *v = p[r] + 128 * pair;
            const __m512i v0 = _mm512_maskz_loadu_epi8(m0, v), v1 = _mm512_maskz_loadu_epi8(m1, v + 64);
            __m512i s0 = _mm512_dpbusd_epi32(zero, _mm512_and_si512(v0, low), lo0);
            s0 = _mm512_dpbusd_epi32(s0, _mm512_and_si512(_mm512_srli_epi16(v0, 4), low), hi0);
            __m512i s1 = _mm512_dpbusd_epi32(zero, _mm512_and_si512(v1, low), lo1);
            s1 = _mm512_dpbusd_epi32(s1, _mm512_and_si512(_mm512_srli_epi16(v1, 4), low), hi1);
            const uint64_t scales = six_bit_bytes(p[r] + scale_at, 8 * pair, fields);
            const __m512i sc = _mm512_shuffle_epi8(_mm512_set1_epi64((long long)scales), spread);
            a[r] = _mm512_dpwssd_epi32(a[r], _mm512_packs_epi32(s0, s1), sc);
        }
    }
    /* A: rows 0-3's 128-bit lanes' shares, rows 4-7's, added up to [A0-3 A0-3 A4-7 A4-7] */
    const __m512i t0 = lane_totals4(a[0], a[1], a[2], a[3]), t1 = lane_totals4(a[4], a[5], a[6], a[7]);
    __m512i t = _mm512_add_epi32(_mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
    t = _mm512_add_epi32(t, _mm512_shuffle_i32x4(t, t, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m256i totals_a = _mm512_castsi512_si256(_mm512_shuffle_i32x4(t, t, _MM_SHUFFLE(2, 0, 2, 0)));
    /* B: row r's four lanes of 128-bit lane r of b[0] or b[1] */
    const __m256i totals_b = _mm512_castsi512_si256(_mm512_permutex2var_epi32(
        quarter_totals(b[0]), _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0),
        quarter_totals(b[1])));
    int32_t halves[ROWS]; /* each row's d and dmin */
    for (int r = 0; r < ROWS; r++) memcpy(&halves[r], p[r] + half_at, sizeof halves[r]);
    /* d0 dmin0 d1 dmin1 ..., exactly (F16C), then the d's and the dmins apart */
    const __m512 dd = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15),
                                            _mm512_cvtph_ps(_mm256_setr_epi32(halves[0], halves[1], halves[2], halves[3],
                                                                              halves[4], halves[5], halves[6], halves[7])));
    const __m256 fa = _mm256_mul_ps(_mm256_cvtepi32_ps(totals_a), _mm512_castps512_ps256(dd));
    const __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(totals_b), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(dd), 1)));
    return _mm256_add_ps(sum, _mm256_mul_ps(_mm256_sub_ps(fa, fb), _mm256_set1_ps(xs)));
}

TARGET void matvec_q4_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                                  int group_size) {
    _Alignas(64) int8_t prepared[PREPARED_BYTES];
    if (!prepare(prepared, x, cols, group_size)) {
        matvec_q4_avx2(out, x, xs, w, rows, cols, group_size);
        return;
    }
    const long row_bytes = kquant_row_bytes(4, cols, group_size);
    for (int r = 0; r < rows; r += ROWS) {
        const int n = kquant_min(ROWS, rows - r);
        const uint8_t *p[ROWS];
        for (int i = 0; i < ROWS; i++) p[i] = w + (r + kquant_min(i, n - 1)) * row_bytes; /* a short block repeats its last row */
        __m256 sum = _mm256_setzero_ps();
        const int8_t *at = prepared;
        /* the bytes Q4_PREFETCH_BYTES on, a share per group */
        const char *ahead = (const char *)(w + r * row_bytes) + Q4_PREFETCH_BYTES;
        const long share = ROWS * row_bytes / ((cols + group_size - 1) / group_size) + 64;
        for (int start = 0, gi = 0; start < cols; start += group_size, gi++) {
            const int len = kquant_min(group_size, cols - start);
            for (long b = 0; b < share; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
            ahead += share - 64;
            /* the default group, whole: a copy of group_rows with its sizes constant */
            sum = len == 256 ? group_rows(sum, p, at, xs[gi], 256) : group_rows(sum, p, at, xs[gi], len);
            at += PAIR_BYTES * group_pairs(len);
            for (int i = 0; i < ROWS; i++) p[i] += kquant_group_bytes(4, len);
        }
        float got[ROWS];
        _mm256_storeu_ps(got, sum);
        memcpy(out + r, got, sizeof(float) * (size_t)n);
    }
}
#endif
