/* lanes_f32.h - a vector of floats and one of int32s, and the IEEE operations on
 * them that the exponential's twins need (exp_f32_simd.h), on the two SIMD sets
 * whose floats round exactly as scalar C does: x86-64 AVX2 (8 lanes) and AArch64
 * NEON (4 lanes; Armv7's flushes denormals, so it has none of this). Each
 * operation is one instruction of the scalar code's, lane by lane:
 * - vf_max(v, m) is `v > m ? v : m` (VMAXPS; on NEON a compare and select, since
 *   FMAX returns a NaN operand instead of passing over it);
 * - vi_from_vf truncates toward zero as C's (int) does, wherever that is defined;
 * - vf_select(mask, a, b) takes a where the mask is set, else b. */
#ifndef LLM_LANES_F32_H
#define LLM_LANES_F32_H

#include "kernels.h"

#if defined(LLM_KERNEL_X86)
#include <immintrin.h>

#define VF_LANES 8
typedef __m256 vf;
typedef __m256i vi;
typedef __m256 vmask;

static inline vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vf_set(float x) { return _mm256_set1_ps(x); }
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vf_neg(vf a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
static inline vf vf_max(vf v, vf m) { return _mm256_max_ps(v, m); }
static inline vmask vf_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline vmask vf_gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline vmask vf_nan(vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
static inline vf vf_select(vmask m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }
static inline vi vi_from_vf(vf a) { return _mm256_cvttps_epi32(a); }
static inline vf vf_from_vi(vi a) { return _mm256_cvtepi32_ps(a); }
static inline vf vf_bits(vi a) { return _mm256_castsi256_ps(a); }
static inline vi vi_set(int32_t x) { return _mm256_set1_epi32(x); }
static inline vi vi_add(vi a, vi b) { return _mm256_add_epi32(a, b); }
static inline vi vi_sub(vi a, vi b) { return _mm256_sub_epi32(a, b); }
static inline vi vi_shift_exponent(vi a) { return _mm256_slli_epi32(a, 23); }
static inline vmask vi_lt(vi a, vi b) { return _mm256_castsi256_ps(_mm256_cmpgt_epi32(b, a)); }
static inline vmask vi_gt(vi a, vi b) { return _mm256_castsi256_ps(_mm256_cmpgt_epi32(a, b)); }
static inline vi vi_select(vmask m, vi a, vi b) {
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(b), _mm256_castsi256_ps(a), m));
}

#elif defined(LLM_KERNEL_A64)
#include <arm_neon.h>

#define VF_LANES 4
typedef float32x4_t vf;
typedef int32x4_t vi;
typedef uint32x4_t vmask;

static inline vf vf_load(const float *p) { return vld1q_f32(p); }
static inline void vf_store(float *p, vf v) { vst1q_f32(p, v); }
static inline vf vf_set(float x) { return vdupq_n_f32(x); }
static inline vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf vf_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf vf_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf vf_neg(vf a) { return vnegq_f32(a); }
static inline vf vf_max(vf v, vf m) { return vbslq_f32(vcgtq_f32(v, m), v, m); }
static inline vmask vf_lt(vf a, vf b) { return vcltq_f32(a, b); }
static inline vmask vf_gt(vf a, vf b) { return vcgtq_f32(a, b); }
static inline vmask vf_nan(vf a) { return vmvnq_u32(vceqq_f32(a, a)); }
static inline vf vf_select(vmask m, vf a, vf b) { return vbslq_f32(m, a, b); }
static inline vi vi_from_vf(vf a) { return vcvtq_s32_f32(a); }
static inline vf vf_from_vi(vi a) { return vcvtq_f32_s32(a); }
static inline vf vf_bits(vi a) { return vreinterpretq_f32_s32(a); }
static inline vi vi_set(int32_t x) { return vdupq_n_s32(x); }
static inline vi vi_add(vi a, vi b) { return vaddq_s32(a, b); }
static inline vi vi_sub(vi a, vi b) { return vsubq_s32(a, b); }
static inline vi vi_shift_exponent(vi a) { return vshlq_n_s32(a, 23); }
static inline vmask vi_lt(vi a, vi b) { return vcltq_s32(a, b); }
static inline vmask vi_gt(vi a, vi b) { return vcgtq_s32(a, b); }
static inline vi vi_select(vmask m, vi a, vi b) { return vbslq_s32(m, a, b); }
#endif

#endif
