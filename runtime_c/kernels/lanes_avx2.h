/* lanes_avx2.h - the mask of the first n of 8 int32 (or float) lanes, for the
 * masked loads and stores of the x86 kernels' short blocks and tails; and 8
 * elements of a KV cache as floats, whichever way it stores them. */
#ifndef LLM_LANES_AVX2_H
#define LLM_LANES_AVX2_H

#include <immintrin.h>
#include "kernels.h"

static inline __m256i lanes_avx2(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Elements i.. of `cache` as 8 floats, exactly (every half and int8 is a float);
 * an f32 cache's `masked` load takes only the lanes of `mask`. */
static inline __attribute__((always_inline)) __m256 cache_load8(const void *cache, long i, int kind, int masked,
                                                                __m256i mask) {
    const char *p = (const char *)cache + i * kind;
    if (kind == CACHE_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
    if (kind == CACHE_I8) return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
    const float *f = (const float *)(const void *)p;
    return masked ? _mm256_maskload_ps(f, mask) : _mm256_loadu_ps(f);
}

#endif
