/* exp_f32_simd.h - exp_f32 (exp_f32.c) on a vector of floats at once (lanes_f32.h:
 * AVX2 or AArch64 NEON), the same floats bit for bit: every step is one IEEE
 * operation of the scalar code (no fused multiply-add), and its branches become
 * selections of what each lane would have returned:
 * - k = (int)(kf + (kf < 0 ? -0.5 : 0.5)), truncated as C's (int);
 * - 2^k scales p as the scalar code does: p * 2^(k+64) * 2^-64 where k < -126,
 *   p * 2^(k-1) * 2 where k > 127, else p * 2^k * 1 (times 1 is exact);
 * - NaN lanes return x itself, x > EXP_F32_MAX +inf, x < EXP_F32_MIN 0 (the
 *   other steps' values in those lanes, whatever their conversions gave, are
 *   thrown away). */
#ifndef LLM_EXP_F32_SIMD_H
#define LLM_EXP_F32_SIMD_H

#include <math.h>
#include "exp_f32.h"
#include "lanes_f32.h"

static inline vf exp_f32_simd(vf x) {
    static const float taylor[8] = EXP_F32_TAYLOR;
    const vf kf = vf_mul(x, vf_set(EXP_F32_LOG2E));
    const vf half = vf_select(vf_lt(kf, vf_set(0.0f)), vf_set(-0.5f), vf_set(0.5f));
    const vi k = vi_from_vf(vf_add(kf, half));
    const vf kfl = vf_from_vi(k);
    const vf r = vf_sub(vf_sub(x, vf_mul(kfl, vf_set(EXP_F32_LN2_HI))), vf_mul(kfl, vf_set(EXP_F32_LN2_LO)));
    vf p = vf_set(taylor[0]);
    for (int i = 1; i < 8; i++) p = vf_add(vf_mul(p, r), vf_set(taylor[i]));
    const vmask low = vi_lt(k, vi_set(-126)), high = vi_gt(k, vi_set(127));
    const vi shift = vi_select(low, vi_set(64), vi_select(high, vi_set(-1), vi_set(0)));
    const vf after = vf_select(low, vf_set(0x1p-64f), vf_select(high, vf_set(2.0f), vf_set(1.0f)));
    const vf scale = vf_bits(vi_shift_exponent(vi_add(vi_add(k, shift), vi_set(127)))); /* 2^(k + shift) */
    vf e = vf_mul(vf_mul(p, scale), after);
    e = vf_select(vf_gt(x, vf_set(EXP_F32_MAX)), vf_set(INFINITY), e);
    e = vf_select(vf_lt(x, vf_set(EXP_F32_MIN)), vf_set(0.0f), e);
    return vf_select(vf_nan(x), x, e);
}

#endif
