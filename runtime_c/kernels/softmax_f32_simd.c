/* softmax_f32_simd.c - softmax_f32 (softmax_f32.c) with the board's float vectors
 * (lanes_f32.h: AVX2 on x86-64, NEON on AArch64), the same floats:
 * - the max: vf_max(v, m) is `v > m ? v : m`, the reference's step, lane by lane
 *   from x[0] (a NaN there stays, a NaN later is passed over, as in the C loop);
 *   a maximum is the same value in any order (+0 and -0 give the same x - max);
 * - the exponentials a vector at a time (exp_f32_simd.h), then their sum in index
 *   order, one scalar add at a time, as the reference adds them;
 * - the division: the vector one rounds as the scalar one.
 * The last n % VF_LANES values take the scalar code. */
#include "kernels.h"

#if defined(LLM_KERNEL_X86) || defined(LLM_KERNEL_A64)
LLM_TARGET_AVX2
#include "exp_f32_simd.h"

static float max_of(const float *x, int n) {
    vf m = vf_set(x[0]);
    int i = 0;
    for (; i + VF_LANES <= n; i += VF_LANES) m = vf_max(vf_load(x + i), m);
    float lanes[VF_LANES], max = x[0];
    vf_store(lanes, m);
    for (int j = 0; j < VF_LANES; j++) {
        if (lanes[j] > max) max = lanes[j];
    }
    for (; i < n; i++) {
        if (x[i] > max) max = x[i];
    }
    return max;
}

void softmax_f32_simd(float *x, int n) {
    const float max = max_of(x, n);
    const vf vmax = vf_set(max);
    int i = 0;
    for (; i + VF_LANES <= n; i += VF_LANES) vf_store(x + i, exp_f32_simd(vf_sub(vf_load(x + i), vmax)));
    for (; i < n; i++) x[i] = exp_f32(x[i] - max);
    float sum = 0.0f;
    for (i = 0; i < n; i++) sum += x[i];
    const vf vsum = vf_set(sum);
    for (i = 0; i + VF_LANES <= n; i += VF_LANES) vf_store(x + i, vf_div(vf_load(x + i), vsum));
    for (; i < n; i++) x[i] /= sum;
}
#endif
