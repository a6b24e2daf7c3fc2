/* exp_f32_avx2.h - exp_f32 (exp_f32.c) on 8 floats at once with AVX2, the same
 * floats bit for bit: every step is one IEEE operation of the scalar code (x86
 * vector floats keep denormals; no fused multiply-add), and its branches become
 * blends of what each lane would have returned:
 * - k = (int)(kf + (kf < 0 ? -0.5 : 0.5)): VCVTTPS2DQ truncates as C's (int);
 * - 2^k scales p as the scalar code does: p * 2^(k+64) * 2^-64 where k < -126,
 *   p * 2^(k-1) * 2 where k > 127, else p * 2^k * 1 (times 1 is exact);
 * - NaN lanes return x itself, x > EXP_F32_MAX +inf, x < EXP_F32_MIN 0 (the
 *   other steps' values in those lanes are thrown away). */
#ifndef LLM_EXP_F32_AVX2_H
#define LLM_EXP_F32_AVX2_H

#include <immintrin.h>
#include <math.h>
#include "exp_f32.h"

/* 2^k for -126 <= k <= 127 in each lane */
static inline __m256 pow2i_avx2(__m256i k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}

static inline __m256 exp_f32_avx2(__m256 x) {
    static const float taylor[8] = EXP_F32_TAYLOR;
    const __m256 kf = _mm256_mul_ps(x, _mm256_set1_ps(EXP_F32_LOG2E));
    const __m256 half = _mm256_blendv_ps(_mm256_set1_ps(0.5f), _mm256_set1_ps(-0.5f),
                                         _mm256_cmp_ps(kf, _mm256_setzero_ps(), _CMP_LT_OQ));
    const __m256i k = _mm256_cvttps_epi32(_mm256_add_ps(kf, half));
    const __m256 kfl = _mm256_cvtepi32_ps(k);
    const __m256 r = _mm256_sub_ps(_mm256_sub_ps(x, _mm256_mul_ps(kfl, _mm256_set1_ps(EXP_F32_LN2_HI))),
                                   _mm256_mul_ps(kfl, _mm256_set1_ps(EXP_F32_LN2_LO)));
    __m256 p = _mm256_set1_ps(taylor[0]);
    for (int i = 1; i < 8; i++) p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(taylor[i]));
    const __m256i low = _mm256_cmpgt_epi32(_mm256_set1_epi32(-126), k);  /* k < -126 */
    const __m256i high = _mm256_cmpgt_epi32(k, _mm256_set1_epi32(127)); /* k > 127 */
    const __m256i shift = _mm256_sub_epi32(_mm256_and_si256(low, _mm256_set1_epi32(64)),
                                           _mm256_and_si256(high, _mm256_set1_epi32(1)));
    const __m256 after = _mm256_blendv_ps(_mm256_blendv_ps(_mm256_set1_ps(1.0f), _mm256_set1_ps(0x1p-64f),
                                                           _mm256_castsi256_ps(low)),
                                          _mm256_set1_ps(2.0f), _mm256_castsi256_ps(high));
    __m256 e = _mm256_mul_ps(_mm256_mul_ps(p, pow2i_avx2(_mm256_add_epi32(k, shift))), after);
    e = _mm256_blendv_ps(e, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(EXP_F32_MAX), _CMP_GT_OQ));
    e = _mm256_blendv_ps(e, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(EXP_F32_MIN), _CMP_LT_OQ));
    return _mm256_blendv_ps(e, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

#endif
