/* lanes_avx2.h - the mask of the first n of 8 int32 (or float) lanes, for the
 * masked loads and stores of the x86 kernels' short blocks and tails. */
#ifndef LLM_LANES_AVX2_H
#define LLM_LANES_AVX2_H

#include <immintrin.h>

static inline __m256i lanes_avx2(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#endif
