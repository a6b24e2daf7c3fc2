/* exp_f32.h - the constants of exp_f32 (exp_f32.c), in one place for it and for
 * its assembly twins (softmax_f32_vfp.c, swiglu_f32_vfp.c), which must compute the
 * same floats step by step. */
#ifndef LLM_EXP_F32_H
#define LLM_EXP_F32_H

#define EXP_F32_MAX 88.72283f  /* above: +inf */
#define EXP_F32_MIN -103.97208f /* below: 0 */
#define EXP_F32_LOG2E 1.44269504f
/* ln2 split in two so that k * EXP_F32_LN2_HI is exact */
#define EXP_F32_LN2_HI 0.693145752f
#define EXP_F32_LN2_LO 1.42860677e-6f
/* The Taylor series of e^r to r^7, highest power first (Horner's order):
 * the truncation error is below 1e-8 for |r| <= ln2 / 2. */
#define EXP_F32_TAYLOR_TERMS 1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f
#define EXP_F32_TAYLOR {EXP_F32_TAYLOR_TERMS}

#endif
