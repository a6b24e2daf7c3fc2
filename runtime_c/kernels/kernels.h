/* kernels.h - the numeric kernels of the forward pass, one per file.
 *
 * Each kernel has a portable reference implementation (<op>_<dtype>.c).
 * Float reductions run in one fixed order everywhere (and the build uses
 * -ffp-contract=off), so every board computes bit-identical results.
 */
#ifndef LLM_KERNELS_H
#define LLM_KERNELS_H

#include <stdint.h>

/* out[i] = sum_j w[i, j] * x[j] for a [rows x cols] row-major float matrix. */
void matmul_f32(float *out, const float *x, const float *w, int rows, int cols);

/* The same for int8 weights and activations: int32 sums per group of
 * `group_size` columns (the last group may be shorter), each scaled by the
 * weight scale ws[i, g] and the activation scale xs[g], summed over groups in order. */
void matmul_q8(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
               const float *ws, int rows, int cols, int group_size);

/* Symmetric per-group int8 quantization of x[n]: xs[g] = max|x| / 127. */
void quantize_q8(int8_t *xq, float *xs, const float *x, int n, int group_size);

/* out = x / rms(x) * weight; out may alias x. */
void rmsnorm_f32(float *out, const float *x, const float *weight, int n, float eps);

/* In-place softmax of x[n]. */
void softmax_f32(float *x, int n);

/* Rotates the (even, odd) pairs of each of n_heads heads by the angles whose
 * cosines and sines are cos[head_dim / 2], sin[head_dim / 2]. */
void rope_f32(float *v, int n_heads, int head_dim, const float *cos, const float *sin);

/* e^x to within 2 ulp, from basic arithmetic only: libm's expf differs between
 * C libraries, and the boards must agree bit for bit. */
float exp_f32(float x);

/* In-place Walsh-Hadamard transform of x[n], n a power of two, unnormalised
 * (applying it twice multiplies by n). */
void hadamard_f32(float *x, int n);

/* IEEE half precision <-> float, round to nearest even, in software so every
 * board (with or without half-float hardware) converts alike. */
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);

#endif
