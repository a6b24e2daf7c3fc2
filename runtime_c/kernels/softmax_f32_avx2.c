/* softmax_f32_avx2.c - softmax_f32 (softmax_f32.c) with AVX2, the same floats:
 * - the max: VMAXPS(v, m) is `v > m ? v : m`, the reference's step, lane by lane
 *   from x[0] (a NaN there stays, a NaN later is passed over, as in the C loop);
 *   a maximum is the same value in any order (+0 and -0 give the same x - max);
 * - the exponentials eight at a time (exp_f32_avx2.h), then their sum in index
 *   order, one scalar add at a time, as the reference adds them;
 * - the division: VDIVPS rounds as the scalar one.
 * The last n % 8 values take the scalar code. */
#include "kernels.h"

#if defined(LLM_KERNEL_X86)
#include "exp_f32_avx2.h"

static float max_of(const float *x, int n) {
    __m256 m = _mm256_set1_ps(x[0]);
    int i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
    float lanes[8], max = x[0];
    _mm256_storeu_ps(lanes, m);
    for (int j = 0; j < 8; j++) {
        if (lanes[j] > max) max = lanes[j];
    }
    for (; i < n; i++) {
        if (x[i] > max) max = x[i];
    }
    return max;
}

void softmax_f32_avx2(float *x, int n) {
    const float max = max_of(x, n);
    const __m256 vmax = _mm256_set1_ps(max);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp_f32_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax)));
    for (; i < n; i++) x[i] = exp_f32(x[i] - max);
    float sum = 0.0f;
    for (i = 0; i < n; i++) sum += x[i];
    const __m256 vsum = _mm256_set1_ps(sum);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_div_ps(_mm256_loadu_ps(x + i), vsum));
    for (; i < n; i++) x[i] /= sum;
}
#endif
