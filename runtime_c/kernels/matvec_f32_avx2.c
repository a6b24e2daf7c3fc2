/* x86-64 AVX2 f32: one block of up to 16 rows, laid out a column at a time (the
 * block's 16 floats of column j side by side: 64 bytes, one cache line).
 *
 * Each row's sum is out[r] = (..((0 + w[r,0] x[0]) + w[r,1] x[1]) ..), the
 * reference's column order: two ymm accumulators hold rows 0-7 and 8-15, and each
 * column adds its products (multiply, then add: no fused multiply-add) with x[j]
 * broadcast. Vector floats on x86 are IEEE with denormals, so every lane rounds as
 * the scalar reference does. The two chains also hide the add's latency. Used by
 * the AVX-512 boards too: with one 64-byte column per step, zmm registers would
 * only halve the instruction count of a loop bound by memory. The weights are
 * prefetched LLM_PREFETCH_BYTES ahead (prefetch.h). */
#include "kernels.h"

#if defined(LLM_KERNEL_X86)
LLM_TARGET_AVX2
#include "lanes_avx2.h"

void matvec_f32_avx2(float *out, const float *x, const uint8_t *block, int rows, int cols) {
    const float *w = (const float *)(const void *)block;
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    if (rows == 16) {
        for (int j = 0; j < cols; j++, w += 16) {
            _mm_prefetch((const char *)w + LLM_PREFETCH_BYTES, _MM_HINT_T0); /* may pass the image's end: no fault */
            const __m256 xj = _mm256_set1_ps(x[j]);
            lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_loadu_ps(w), xj));
            hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_loadu_ps(w + 8), xj));
        }
        _mm256_storeu_ps(out, lo);
        _mm256_storeu_ps(out + 8, hi);
        return;
    }
    /* a short block (the matrix's last): columns of `rows` floats, masked */
    const __m256i mlo = lanes_avx2(rows), mhi = lanes_avx2(rows - 8);
    for (int j = 0; j < cols; j++, w += rows) {
        const __m256 xj = _mm256_set1_ps(x[j]);
        lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_maskload_ps(w, mlo), xj));
        hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_maskload_ps(w + 8, mhi), xj));
    }
    _mm256_maskstore_ps(out, mlo, lo);
    _mm256_maskstore_ps(out + 8, mhi, hi);
}
#endif
