/* x86-64 AVX2: q4 matrices (kquant.h), bit for bit as matvec_q4_reference sums them.
 *
 * A sub-block's 16 bytes of nibbles are its 32 values: the low nibbles values 0-15,
 * the high ones 16-31, so one ymm holds them in order beside the 32 activations.
 * VPMADDUBSW multiplies the unsigned values (0-15) by the int8 activations and adds
 * pairs (at most 2 * 15 * 127: no saturation); VPMADDWD by the sub-block's scale
 * (at most 63) widens to int32 and weighs it, so every lane collects sc_j * S_j and
 * one horizontal sum per group gives the reference's A exactly; B, the mins times
 * each sub-block's sum of x, takes those sums made once for all rows. A short last
 * sub-block runs the reference's loop. The float step is the reference's:
 * ((float)A * d - (float)B * dmin) * xs, added in group order. */
#include "kquant.h"

#if defined(LLM_KERNEL_X86)
LLM_TARGET_AVX2
#include <immintrin.h>
#include <string.h>

static inline int32_t hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
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

/* One row's group of len columns at p: ((float)A * d - (float)B * dmin) * xs, as the
 * reference; sums[j] is sub-block j's sum of x (the same for every row). */
static inline float group_dot(const int8_t *x, float xs, const int32_t *sums, const uint8_t *p, int len) {
    const __m256i low = _mm256_set1_epi8(15), high_lane = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
    const uint8_t *scales = p + 16 * n_sub, *half = scales + kquant_scale_bytes(4, n_sub);
    int16_t fields[2 * KQUANT_MAX_GROUP / KQUANT_SUB + 8]; /* scales, then mins */
    six_bit_fields(fields, scales, 2 * n_sub);
    const int full = len / KQUANT_SUB;
    __m256i a = _mm256_setzero_si256();
    for (int j = 0; j < full; j++) {
        /* the 16 bytes in both lanes, the upper shifted 4: values 0-15, then 16-31 */
        const __m256i packed = _mm256_broadcastsi128_si256(
            _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * j)));
        const __m256i q = _mm256_and_si256(_mm256_srlv_epi32(packed, high_lane), low);
        const __m256i xj = _mm256_loadu_si256((const __m256i *)(const void *)(x + KQUANT_SUB * j));
        a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(q, xj), _mm256_set1_epi16(fields[j])));
    }
    int32_t sa = hsum(a), sb = 0;
    if (full < n_sub) { /* a short last sub-block: x past the row may not be read */
        const int8_t *xj = x + KQUANT_SUB * full;
        int32_t s = 0;
        for (int i = 0; i < len - KQUANT_SUB * full; i++) s += kquant_value(p + 16 * full, i, 4) * xj[i];
        sa += fields[full] * s;
    }
    for (int j = 0; j < n_sub; j++) sb += fields[n_sub + j] * sums[j];
    /* F16C converts a half exactly, as f16_to_f32 does */
    const float d = _cvtsh_ss((unsigned short)(half[0] | half[1] << 8));
    const float dmin = _cvtsh_ss((unsigned short)(half[2] | half[3] << 8));
    return ((float)sa * d - (float)sb * dmin) * xs;
}

/* Row by row, as the weights lie; each sub-block's sum of x is made once for all rows
 * (rows up to SUMS_COLS long; a longer one's groups make their own). */
enum { SUMS_COLS = 8192 };

static void sub_block_sums(int32_t *sums, const int8_t *x, int len) {
    for (int j = 0; j * KQUANT_SUB < len; j++) sums[j] = 0;
    for (int i = 0; i < len; i++) sums[i / KQUANT_SUB] += x[i];
}

void matvec_q4_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size) {
    int32_t sums[SUMS_COLS / KQUANT_SUB]; /* group by group */
    const int cached = cols <= SUMS_COLS;
    for (int start = 0, at = 0; cached && start < cols; start += group_size, at += (group_size + 31) / 32) {
        sub_block_sums(sums + at, x + start, kquant_min(group_size, cols - start));
    }
    const long row_bytes = kquant_row_bytes(4, cols, group_size);
    for (int r = 0; r < rows; r++) {
        const uint8_t *p = w + r * row_bytes;
        float sum = 0.0f;
        for (int start = 0, gi = 0, at = 0; start < cols; start += group_size, gi++, at += (group_size + 31) / 32) {
            const int len = kquant_min(group_size, cols - start);
            int32_t own[KQUANT_MAX_GROUP / KQUANT_SUB];
            if (!cached) sub_block_sums(own, x + start, len);
            sum += group_dot(x + start, xs[gi], cached ? sums + at : own, p, len);
            p += kquant_group_bytes(4, len);
        }
        out[r] = sum;
    }
}
#endif
