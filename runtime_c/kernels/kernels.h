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

/* sums[g] = the int32 dot product of activations x and weights w over group g
 * of n columns (the last group may be shorter). */
typedef void (*GroupDot)(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size);

/* The same for int8 (q8) or packed int4 (q4) weights and int8 activations: int32
 * sums per group of `group_size` columns, each scaled by the weight scale
 * ws[i, g] and the activation scale xs[g], summed over groups in order. For q8
 * xq is in the form group_dot_q8 takes (see KERNEL_X_BYTES); q4 takes it plain. */
void matmul_q8(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
               const float *ws, int rows, int cols, int group_size);
void matmul_q4(float *out, const int8_t *xq, const float *xs, const int8_t *wq,
               const float *ws, int rows, int cols, int group_size);

/* sums[g] = the int32 dot product of x and w over group g of n columns: the
 * integer core of matmul_q8. One portable reference and one variant per ISA,
 * picked at compile time by one LLM_KERNEL_<ISA> macro (from the board's
 * features); every variant returns exactly the reference's sums. */
void group_dot_q8_reference(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size);
void group_dot_q8_avx2(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size);
void group_dot_q8_neon(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size);
void group_dot_q8_dotprod(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size);
void group_dot_q8_dsp(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size);
void group_dot_q8_mve(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size);

/* The q4 integer core: w holds two values per byte (group_dot_q4.c); portable only so far. */
void group_dot_q4_reference(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size);

#if defined(LLM_KERNEL_AVX_VNNI)
#define group_dot_q8 group_dot_q8_avx2
#define LLM_KERNEL_NAME "avx-vnni"
#elif defined(LLM_KERNEL_AVX2)
#define group_dot_q8 group_dot_q8_avx2
#define LLM_KERNEL_NAME "avx2"
#elif defined(LLM_KERNEL_DOTPROD)
#define group_dot_q8 group_dot_q8_dotprod
#define LLM_KERNEL_NAME "neon-dotprod"
#elif defined(LLM_KERNEL_NEON)
#define group_dot_q8 group_dot_q8_neon
#define LLM_KERNEL_NAME "neon"
#elif defined(LLM_KERNEL_MVE)
#define group_dot_q8 group_dot_q8_mve
#define LLM_KERNEL_NAME "mve"
#elif defined(LLM_KERNEL_DSP)
#define group_dot_q8 group_dot_q8_dsp
#define LLM_KERNEL_NAME "dsp"
#else
#define group_dot_q8 group_dot_q8_reference
#define LLM_KERNEL_NAME "reference"
#endif

/* The form group_dot_q8 takes its activations in. Most kernels read the int8
 * values as they are; the DSP kernel wants them widened and reordered, once per
 * matrix-vector product, into KERNEL_X_BYTES bytes per value. */
#if defined(LLM_KERNEL_DSP)
#define KERNEL_X_BYTES 2
void group_dot_q8_prepare(int8_t *prepared, const int8_t *x, int n);
#else
#define KERNEL_X_BYTES 1
#endif

/* Kernels that take GROUP_DOT_ROWS rows at once (row r at w + r * stride, its
 * sums at sums + r * sums_stride) load each activation once for all of them;
 * matmul_q8 uses one where the ISA has it, and the sums are the same. They pay
 * on the microcontrollers, where every load is an instruction; on x86 four
 * weight streams measured slower than one (66-72 against 41-48 tok/s on 110M). */
typedef void (*GroupDotRows)(int32_t *sums, int sums_stride, const int8_t *x, const int8_t *w, long stride,
                             int n, int group_size);
void group_dot_rows_q8_dsp(int32_t *sums, int sums_stride, const int8_t *x, const int8_t *w, long stride,
                           int n, int group_size);
void group_dot_rows_q8_mve(int32_t *sums, int sums_stride, const int8_t *x, const int8_t *w, long stride,
                           int n, int group_size);
#if defined(LLM_KERNEL_MVE)
#define GROUP_DOT_ROWS 4
#define group_dot_rows_q8 group_dot_rows_q8_mve
#elif defined(LLM_KERNEL_DSP)
#define GROUP_DOT_ROWS 4
#define group_dot_rows_q8 group_dot_rows_q8_dsp
#else
#define GROUP_DOT_ROWS 1
#define group_dot_rows_q8 ((GroupDotRows)0)
#endif

/* Runs the selected group_dot_q8 and the reference on random inputs of many
 * sizes and group sizes (values in [-127, 127], as quantization produces);
 * 0 when every sum agrees, -1 at the first that does not. */
int kernel_selftest(uint32_t seed, int *cases);

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
