/* swiglu_f32_simd.c - swiglu_f32 (swiglu_f32.c) with the board's float vectors
 * (lanes_f32.h: AVX2 on x86-64, NEON on AArch64), the same floats: g / (1 + e^-g)
 * * h3 a vector at a time, each operation the scalar one's (the negation flips the
 * sign bit, as C's; exp_f32_simd.h for e^-g; the division's operands in the C
 * order, which also picks the NaN that comes out). The last n % VF_LANES values
 * go to swiglu_f32. */
#include "kernels.h"

#if defined(LLM_KERNEL_X86) || defined(LLM_KERNEL_A64)
LLM_TARGET_AVX2
#include "exp_f32_simd.h"

void swiglu_f32_simd(float *h, const float *h3, int n) {
    const vf one = vf_set(1.0f);
    int i = 0;
    for (; i + VF_LANES <= n; i += VF_LANES) {
        const vf g = vf_load(h + i);
        const vf gate = vf_div(g, vf_add(one, exp_f32_simd(vf_neg(g))));
        vf_store(h + i, vf_mul(gate, vf_load(h3 + i)));
    }
    swiglu_f32(h + i, h3 + i, n - i);
}
#endif
