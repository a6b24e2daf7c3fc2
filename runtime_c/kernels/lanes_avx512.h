/* lanes_avx512.h - horizontal sums of the AVX-512 kernels (the q8 GEMM twin's group
 * sums of x, the k-quant twins' row totals): eight vectors' int32 lane totals at once,
 * a few permutes and adds for all eight rather than four steps for each. */
#ifndef LLM_LANES_AVX512_H
#define LLM_LANES_AVX512_H

#include <immintrin.h>

/* In each 128-bit lane k, the sums of the int32 lanes of a0..a3: [a0, a1, a2, a3]'s
 * share of lane k (the caller adds the lanes up). */
static inline __m512i lane_totals4(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
}

/* The totals of a[0..7]'s int32 lanes: a[i]'s in int32 lanes i and i + 4 for i < 4,
 * in lanes i + 4 and i + 8 for the others ([T0-3, T0-3, T4-7, T4-7]). */
static inline __attribute__((always_inline)) __m512i lane_totals8(const __m512i a[8]) {
    const __m512i t0 = lane_totals4(a[0], a[1], a[2], a[3]), t1 = lane_totals4(a[4], a[5], a[6], a[7]);
    const __m512i t = _mm512_add_epi32(_mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)),
                                       _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm512_add_epi32(t, _mm512_shuffle_i32x4(t, t, _MM_SHUFFLE(2, 3, 0, 1)));
}

#endif
