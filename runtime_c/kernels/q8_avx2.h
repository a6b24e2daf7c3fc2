/* q8_avx2.h - what the AVX2 and AVX-VNNI q8 kernels share, the matrix-vector one
 * (matvec_q8_avx2.c: the layout and why) and its GEMM twin (gemm_q8_avx2.c), so that
 * both make each int32 sum and each float step alike. Included after LLM_TARGET_AVX2. */
#ifndef LLM_Q8_AVX2_H
#define LLM_Q8_AVX2_H

#include <immintrin.h>
#include <string.h>
#include "lanes_avx2.h"

/* VNNI is enabled for these kernels' functions alone, not for the whole build: GCC 12
 * auto-vectorizes plain int8 dot products elsewhere (the reference's) into VPDPBUSD
 * with the signedness wrong (seen on -O2 -fvect-cost-model=cheap, and at -O3). */
#if defined(LLM_KERNEL_AVX_VNNI) && defined(LLM_VNNI_EVEX)
/* the same instruction EVEX-encoded (AVX512-VNNI + VL): lets a CPU without AVX-VNNI
 * but with AVX-512 VNNI test these kernels (tests/test_isa_kernels.py) */
#define DPBUSD _mm256_dpbusd_epi32
#define TARGET __attribute__((target("avx512vnni,avx512vl")))
#elif defined(LLM_KERNEL_AVX_VNNI)
#define DPBUSD _mm256_dpbusd_avx_epi32 /* VEX-encoded: AVX-VNNI */
#define TARGET __attribute__((target("avxvnni")))
#else
#define TARGET
#endif

TARGET static inline __m256i broadcast4(const int8_t *x) {
    int32_t v;
    memcpy(&v, x, sizeof v);
    return _mm256_set1_epi32(v);
}

/* A chunk of weights: whole blocks load 32 bytes; a short block's chunk is
 * rows * 4 bytes, loaded as `rows` int32 lanes (the others zero). */
TARGET static inline __m256i load_chunk(const uint8_t *p, int rows, __m256i mask) {
    return rows == 8 ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskload_epi32((const int *)p, mask);
}

#if defined(LLM_KERNEL_AVX_VNNI)
/* -128 * (x[0] + ... + x[n - 1]) in every lane, n a multiple of 4 (whole chunks). */
TARGET static inline __m256i minus_128_sum(const int8_t *x, int n) {
    const __m256i ones = _mm256_set1_epi8(1);
    __m256i s = _mm256_setzero_si256();
    int j = 0;
    for (; j + 32 <= n; j += 32) s = DPBUSD(s, ones, _mm256_loadu_si256((const __m256i *)(x + j)));
    if (j < n) s = DPBUSD(s, ones, _mm256_maskload_epi32((const int *)(x + j), lanes_avx2((n - j) / 4)));
    s = _mm256_add_epi32(s, _mm256_permute2x128_si256(s, s, 0x01));
    s = _mm256_add_epi32(s, _mm256_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm256_add_epi32(s, _mm256_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(s, 7));
}

/* A group's accumulator before its products: VPDPBUSD adds 128 * sum(x). */
TARGET static inline __m256i group_start(const int8_t *x, int n) {
    return minus_128_sum(x, n);
}

/* A chunk's weights as the products take them: as they are. */
TARGET static inline __m256i chunk_magnitudes(__m256i w) {
    return w;
}

TARGET static inline __m256i dot_chunk(__m256i acc, __m256i w, __m256i magnitudes, __m256i x) {
    (void)magnitudes;
    return DPBUSD(acc, w, x);
}
#else
TARGET static inline __m256i group_start(const int8_t *x, int n) {
    (void)x, (void)n;
    return _mm256_setzero_si256();
}

/* VPMADDUBSW wants one unsigned operand: |w|, made once per chunk for every token,
 * against x carrying w's sign (dot_chunk). */
TARGET static inline __m256i chunk_magnitudes(__m256i w) {
    return _mm256_abs_epi8(w);
}

/* |w| * (x with w's sign) = w * x; |x|, |w| <= 127, so the int16 pair sums (at most
 * 2 * 127 * 127) never saturate; VPMADDWD by ones widens them to int32. */
TARGET static inline __m256i dot_chunk(__m256i acc, __m256i w, __m256i magnitudes, __m256i x) {
    const __m256i pairs = _mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(x, w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}
#endif

/* A group's scales (after its chunks) and its products added to the rows' running
 * sums, each lane in the reference's order: sum + ((float)acc * scales) * xs. */
TARGET static inline __m256 load_scales(const uint8_t *p, int rows, __m256i mask) {
    return rows == 8 ? _mm256_loadu_ps((const float *)(const void *)p)
                     : _mm256_maskload_ps((const float *)(const void *)p, mask);
}

TARGET static inline __m256 add_group(__m256 sum, __m256i acc, __m256 scales, float xs) {
    return _mm256_add_ps(sum, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), scales), _mm256_set1_ps(xs)));
}

TARGET static inline void store_rows(float *out, __m256 sum, int rows, __m256i mask) {
    if (rows == 8) {
        _mm256_storeu_ps(out, sum);
    } else {
        _mm256_maskstore_ps(out, mask, sum);
    }
}

#endif
