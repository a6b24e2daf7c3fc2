/* x86-64 AVX2: 32 int8 products per step. maddubs needs one unsigned operand, so
 * it multiplies |x| by w carrying x's sign; |x| <= 127, so the int16 pair sums
 * (at most 2 * 127 * 127) never saturate. With AVX-VNNI the pair sums and the
 * widening to int32 are one instruction. Groups whose size is a multiple of 32
 * are summed eight at a time with one horizontal-add tree. */
#include "kernels.h"

#if defined(LLM_KERNEL_AVX2) || defined(LLM_KERNEL_AVX_VNNI)
#include <immintrin.h>

/* How far ahead the weights are fetched into L2, and then into L1 (measured best) */
#define PREFETCH_L2 4096
#define PREFETCH_L1 1024

static inline __m256i dot32(__m256i acc, const int8_t *x, const int8_t *w) {
    __m256i vx = _mm256_loadu_si256((const __m256i *)x);
    __m256i vw = _mm256_loadu_si256((const __m256i *)w);
    __m256i ax = _mm256_sign_epi8(vx, vx);
    __m256i sw = _mm256_sign_epi8(vw, vx);
#if defined(LLM_KERNEL_AVX_VNNI)
    return _mm256_dpbusd_avx_epi32(acc, ax, sw);
#else
    __m256i pairs = _mm256_maddubs_epi16(ax, sw);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
#endif
}

static inline __m256i group_acc(const int8_t *x, const int8_t *w, int group_size) {
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < group_size; j += 32) acc = dot32(acc, x + j, w + j);
    return acc;
}

/* The eight lane sums of a[0..7], in order, as one vector. */
static inline __m256i hsum8(__m256i a0, __m256i a1, __m256i a2, __m256i a3, __m256i a4,
                            __m256i a5, __m256i a6, __m256i a7) {
    __m256i b0 = _mm256_hadd_epi32(a0, a1), b1 = _mm256_hadd_epi32(a2, a3);
    __m256i b2 = _mm256_hadd_epi32(a4, a5), b3 = _mm256_hadd_epi32(a6, a7);
    __m256i c0 = _mm256_hadd_epi32(b0, b1), c1 = _mm256_hadd_epi32(b2, b3);
    /* c0 = [s0 s1 s2 s3 | s0' s1' s2' s3'] (low and high 128-bit halves), c1 likewise */
    __m256i lo = _mm256_permute2x128_si256(c0, c1, 0x20), hi = _mm256_permute2x128_si256(c0, c1, 0x31);
    return _mm256_add_epi32(lo, hi);
}

static inline int32_t hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

void group_dot_q8_avx2(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size) {
    int start = 0, g = 0;
    if (group_size % 32 == 0) {
        for (; start + 8 * group_size <= n; start += 8 * group_size, g += 8) {
            const int8_t *xs = x + start, *ws = w + start;
            for (int line = 0; line < 8 * group_size; line += 64) {
                _mm_prefetch((const char *)(ws + PREFETCH_L2 + line), _MM_HINT_T1);
                _mm_prefetch((const char *)(ws + PREFETCH_L1 + line), _MM_HINT_T0);
            }
            __m256i s = hsum8(group_acc(xs, ws, group_size),
                              group_acc(xs + group_size, ws + group_size, group_size),
                              group_acc(xs + 2 * group_size, ws + 2 * group_size, group_size),
                              group_acc(xs + 3 * group_size, ws + 3 * group_size, group_size),
                              group_acc(xs + 4 * group_size, ws + 4 * group_size, group_size),
                              group_acc(xs + 5 * group_size, ws + 5 * group_size, group_size),
                              group_acc(xs + 6 * group_size, ws + 6 * group_size, group_size),
                              group_acc(xs + 7 * group_size, ws + 7 * group_size, group_size));
            _mm256_storeu_si256((__m256i *)(sums + g), s);
        }
        for (; start + 4 * group_size <= n; start += 4 * group_size, g += 4) {
            const int8_t *xs = x + start, *ws = w + start;
            __m256i z = _mm256_setzero_si256();
            __m256i s = hsum8(group_acc(xs, ws, group_size),
                              group_acc(xs + group_size, ws + group_size, group_size),
                              group_acc(xs + 2 * group_size, ws + 2 * group_size, group_size),
                              group_acc(xs + 3 * group_size, ws + 3 * group_size, group_size), z, z, z, z);
            _mm_storeu_si128((__m128i *)(sums + g), _mm256_castsi256_si128(s));
        }
    }
    for (; start < n; start += group_size, g++) {
        int end = start + group_size < n ? start + group_size : n;
        __m256i acc = _mm256_setzero_si256();
        int j = start;
        for (; j + 32 <= end; j += 32) acc = dot32(acc, x + j, w + j);
        int32_t tail = 0;
        for (; j < end; j++) tail += (int32_t)x[j] * (int32_t)w[j];
        sums[g] = hsum(acc) + tail;
    }
}
#endif
