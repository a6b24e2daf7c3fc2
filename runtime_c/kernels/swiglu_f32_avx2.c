/* swiglu_f32_avx2.c - swiglu_f32 (swiglu_f32.c) with AVX2, the same floats:
 * g / (1 + e^-g) * h3 eight at a time, each operation the scalar one's (the
 * negation flips the sign bit, as C's; exp_f32_avx2.h for e^-g; the division's
 * operands in the C order, which also picks the NaN that comes out). The last
 * n % 8 values go to swiglu_f32. */
#include "kernels.h"

#if defined(LLM_KERNEL_X86)
#include "exp_f32_avx2.h"

void swiglu_f32_avx2(float *h, const float *h3, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(h + i);
        const __m256 gate = _mm256_div_ps(g, _mm256_add_ps(one, exp_f32_avx2(_mm256_xor_ps(g, sign))));
        _mm256_storeu_ps(h + i, _mm256_mul_ps(gate, _mm256_loadu_ps(h3 + i)));
    }
    swiglu_f32(h + i, h3 + i, n - i);
}
#endif
