/* x86-64 AVX2: quantize_q8 eight values at a time, bit for bit the reference
 * (quantize_q8.c), which the compiler cannot vectorize by itself: its roundf is a
 * library call and its max a branch.
 * - the group's max |x|: VMAXPS(a, amax) returns amax when a is NaN, as the
 *   reference's `if (a > amax)` ignores it; max is exact, so the order is free;
 * - x / scale: VDIVPS rounds exactly as the scalar division;
 * - roundf (half away from zero): t = trunc(v), then t + sign(v) where
 *   |v - t| >= 0.5 (v - t is exact for every float), which is what roundf does;
 * - the clamp to [-127, 127], then the int32 -> int8 narrowing, exact for those;
 * - a NaN quotient (NaN or infinite activations) gives 0, as in the reference.
 * A group's last n % 8 values take the reference's scalar code. */
#include <math.h>
#include "kernels.h"

#if defined(LLM_KERNEL_X86)
LLM_TARGET_AVX2
#include <immintrin.h>
#include <string.h>

static inline int8_t quantize_one(float x, float scale) {
    float r = scale > 0.0f ? roundf(x / scale) : 0.0f;
    if (r != r) r = 0.0f; /* (int8_t)NaN is undefined behaviour */
    return (int8_t)(r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r);
}

void quantize_q8_avx2(int8_t *xq, float *xs, const float *x, int n, int group_size) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    for (int start = 0, g = 0; start < n; start += group_size, g++) {
        const int end = start + group_size < n ? start + group_size : n;
        const int vend = start + (end - start) / 8 * 8;
        __m256 vmax = _mm256_setzero_ps();
        for (int j = start; j < vend; j += 8) vmax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask), vmax);
        float lanes[8];
        _mm256_storeu_ps(lanes, vmax);
        float amax = 0.0f;
        for (int i = 0; i < 8; i++) {
            if (lanes[i] > amax) amax = lanes[i];
        }
        for (int j = vend; j < end; j++) {
            float a = fabsf(x[j]);
            if (a > amax) amax = a;
        }
        float scale = amax / 127.0f;
        if (scale < KERNEL_MIN_SCALE) scale = 0.0f; /* and the group zeros: see kernels.h */
        xs[g] = scale;
        if (scale == 0.0f) {
            memset(xq + start, 0, (size_t)(end - start));
            continue;
        }
        const __m256 vscale = _mm256_set1_ps(scale), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
        const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
        for (int j = start; j < vend; j += 8) {
            const __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + j), vscale);
            const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 away = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(v, t), abs_mask), half, _CMP_GE_OQ);
            const __m256 step = _mm256_and_ps(away, _mm256_or_ps(one, _mm256_and_ps(v, sign_mask)));
            /* MAXPS gives its second operand, -127, for a NaN: the ordered mask makes it 0 */
            const __m256 r = _mm256_and_ps(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(t, step), lo), hi),
                                           _mm256_cmp_ps(v, v, _CMP_ORD_Q));
            /* eight int32 in [-127, 127] -> eight bytes: pack twice, the 128-bit halves first joined */
            const __m256i i32 = _mm256_cvtps_epi32(r);
            const __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
            const __m128i i8 = _mm_packs_epi16(i16, i16);
            _mm_storel_epi64((__m128i *)(void *)(xq + j), i8);
        }
        for (int j = vend; j < end; j++) xq[j] = quantize_one(x[j], scale);
    }
}
#endif
