/* q8_avx512_vnni.h - what the AVX-512 VNNI q8 kernels share, the matrix-vector one
 * (matvec_q8_avx512_vnni.c: the layout and why) and its GEMM twin
 * (gemm_q8_avx512_vnni.c), so that both make each int32 sum and each float step
 * alike. */
#ifndef LLM_Q8_AVX512_VNNI_H
#define LLM_Q8_AVX512_VNNI_H

#include <immintrin.h>
#include <string.h>

/* VNNI for these kernels' functions alone, not the whole build: GCC 12 auto-vectorizes
 * plain int8 dot products elsewhere (the reference's) into VPDPBUSD with the
 * signedness wrong (seen on -O2 -fvect-cost-model=cheap, and at -O3). */
#define VNNI_TARGET __attribute__((target("avx512vnni")))

/* 16 int32 lanes whose total is x[0] + ... + x[n - 1] (n a multiple of 4: x is
 * zero-padded to whole chunks), one VPDPBUSD against ones per 64 values. */
VNNI_TARGET static inline __m512i x_lane_sums(const int8_t *x, int n) {
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i s = _mm512_setzero_si512();
    int j = 0;
    for (; j + 64 <= n; j += 64) s = _mm512_dpbusd_epi32(s, ones, _mm512_loadu_si512(x + j));
    if (j < n) s = _mm512_dpbusd_epi32(s, ones, _mm512_maskz_loadu_epi8(~0ULL >> (64 - (n - j)), x + j));
    return s;
}

/* x[0..3] in every int32 lane: the four activations a chunk's rows meet. */
VNNI_TARGET static inline __m512i broadcast4(const int8_t *x) {
    int32_t v;
    memcpy(&v, x, sizeof v);
    return _mm512_set1_epi32(v);
}

/* A group's products added to the rows' running sums, each lane in the reference's
 * order: sum + ((float)acc * scales) * xs. */
VNNI_TARGET static inline __m512 add_group(__m512 sum, __m512i acc, __m512 scales, float xs) {
    return _mm512_add_ps(sum, _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), scales), _mm512_set1_ps(xs)));
}

#endif
