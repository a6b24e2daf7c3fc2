/* kernels.h - the numeric kernels of the forward pass, one per file.
 *
 * Each kernel has a portable reference implementation (<op>_<dtype>.c).
 * Float reductions run in one fixed order everywhere (and the build uses
 * -ffp-contract=off), so every board computes bit-identical results.
 */
#ifndef LLM_KERNELS_H
#define LLM_KERNELS_H

#include <stdint.h>

/* How the compiler laid out a weight matrix for the kernels (toolchain/compile/layout.py):
 * blocks of `rows` rows, the last block possibly shorter. Within a block each group
 * of columns (q8: group_size; f32: the whole row) is stored in chunks of `cols`
 * columns, a chunk holding that span of every row of the block in turn; a group not
 * a multiple of `cols` long ends in a chunk padded with zero weights. After each
 * quantized group come the block's float scales for it, one per row. A q8 byte is
 * the value + `bias` (0, or 128: unsigned bytes for VNNI). (q4, q5 and q6 have a
 * layout of their own: kquant.h.) */
typedef struct {
    int rows, cols, bias;
} WeightLayout;

/* Bytes of one block of `rows` rows, of values of `bits` bits (32: float). */
long layout_block_bytes(const WeightLayout *l, int rows, int cols, int group_size, int bits);
/* Row `row` of a [rows x cols] matrix in layout l, as floats (dequantized). */
void layout_row_f32(float *out, const uint8_t *w, int rows, int cols, int group_size, int bits,
                    const WeightLayout *l, int row);

/* out[r] for the `rows` rows of one block of a matrix in layout l:
 * f32: sum_j w[r, j] * x[j], in column order;
 * q8: over groups in order, (float)(int32 sum of the group's products)
 *   * weight scale * activation scale xs[g], added to the row's float sum.
 * The portable references; every ISA variant gives the same floats bit for bit. */
void matvec_f32_reference(float *out, const float *x, const uint8_t *block, int rows, int cols,
                          const WeightLayout *l);
void matvec_q8_reference(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                         int group_size, const WeightLayout *l);
/* q4, q5, q6 (kquant.h): whole rows, one after another, in the formats' own layout. */
void matvec_q4_reference(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                         int group_size);
void matvec_q5_reference(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                         int group_size);
void matvec_q6_reference(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                         int group_size);
/* A matrix-vector kernel: q8's ISA variants (below) and the k-quants'. */
typedef void (*Matvec)(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                       int group_size);
/* q4's ISA variants, bit for bit the reference's: matvec_q4_kernel. */
void matvec_q4_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size);
void matvec_q4_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                           int group_size);
/* q5's and q6's (x86-64 AVX2 and AVX-512 VNNI, each the q4 twin's body): matvec_q5_kernel,
 * matvec_q6_kernel */
void matvec_q5_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size);
void matvec_q6_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size);
void matvec_q5_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                           int group_size);
void matvec_q6_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                           int group_size);
/* ... and the Cortex-M twins of q4, q5 and q6: the DSP extension (M4, M7, M33) and
 * Helium (M55). */
void matvec_q4_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size);
void matvec_q5_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size);
void matvec_q6_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size);
void matvec_q4_mve(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size);
void matvec_q5_mve(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size);
void matvec_q6_mve(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size);
/* ... and Arm NEON (AArch64 and Armv7), and AArch64 with the dot-product extension
 * (matvec_kquant_neon.c, matvec_kquant_dotprod.c: q4, q5, q6) */
void matvec_q4_neon(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size);
void matvec_q4_dotprod(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                       int group_size);
void matvec_q5_neon(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size);
void matvec_q6_neon(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                    int group_size);
void matvec_q5_dotprod(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                       int group_size);
void matvec_q6_dotprod(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                       int group_size);
/* Row `row` of a q4, q5 or q6 matrix (`bits`), dequantized: d * sc * q - dmin * m. */
void kquant_row_f32(float *out, const uint8_t *w, int cols, int group_size, int bits, int row);

/* A whole matrix (or a run of its blocks, starting on one): out[rows]. The q8 and
 * f32 ones take the board's kernel where there is one (below); xq is in the form
 * the q8 kernel takes (KERNEL_X_BYTES). */
void matmul_f32(float *out, const float *x, const uint8_t *w, int rows, int cols, const WeightLayout *l);
void matmul_q8(float *out, const int8_t *xq, const float *xs, const uint8_t *w, int rows, int cols,
               int group_size, const WeightLayout *l);
void matmul_kquant(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size, int bits);

/* Several tokens through one matrix at once (a prompt's batch): token t's activations at
 * x + t * x_stride, in the form its matrix kernel takes, its group scales at
 * xs + t * xs_stride, its outputs at out + t * out_stride. */
typedef struct {
    const int8_t *x;
    const float *xs;
    long x_stride, xs_stride, out_stride;
    int tokens;
} TokenBatch;
/* The same products for a batch: each token's outputs those of matmul_q8 (matmul_kquant)
 * on it alone, bit for bit, with a block's weights (a k-quant's rows) read once for all
 * the tokens, by the board's GEMM twin where it has one (gemm_q8_kernel, ...: below),
 * else by its matrix-vector kernel, token after token, while the block is in cache. */
void matmul_q8_tokens(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size,
                      const WeightLayout *l);
void matmul_kquant_tokens(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size,
                          int bits);
/* A GEMM kernel: a q8 block (k-quant rows) in the layout of the board's matvec kernel,
 * for every token of b: the int32 sums of each (row, token) and each token's float
 * epilogue exactly the matvec kernel's, register tiles of rows x tokens sharing each
 * load of weights. The portable twin is gemm_each: the matvec kernel per token. */
typedef void (*Gemm)(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size);
void gemm_each(Matvec matvec, float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols,
               int group_size);
/* Arm NEON's (AArch64 and Armv7) and the AArch64 dot-product extension's q8 twins:
 * tiles of 4 rows x 4 tokens (Armv7: x 2), the matvec kernels' body (q8_tile_neon.h) */
void gemm_q8_neon(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols, int group_size);
void gemm_q8_dotprod(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols, int group_size);
/* x86-64's q8 twins: a block of the matvec's layout, tiles of 16 rows x 8 tokens
 * (AVX-512 VNNI) or 8 rows x 4 tokens (AVX2, AVX-VNNI) */
void gemm_q8_avx512_vnni(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols, int group_size);
void gemm_q8_avx2(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols, int group_size);
/* ... and of gemm_each(matvec_q4_<isa>) (q5's, q6's): AVX-512 VNNI, 8 rows x 2 tokens */
void gemm_q4_avx512_vnni(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size);
void gemm_q5_avx512_vnni(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size);
void gemm_q6_avx512_vnni(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size);

/* The ISA variants of matvec_q8 (and of matvec_f32 where an ISA has one): one block
 * of at most KERNEL_ROWS (KERNEL_F32_ROWS) rows in the kernel's own layout
 * (KERNEL_ROWS, KERNEL_COLS, KERNEL_BIAS; KERNEL_F32_ROWS, KERNEL_F32_COLS), which
 * the compiler wrote the image in, picked at compile time by one LLM_KERNEL_<ISA>
 * macro from the board's features (or, in a portable build, at run time: below). */
void matvec_q8_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                    int group_size);
void matvec_q8_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows,
                           int cols, int group_size);
void matvec_q8_neon(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                    int group_size);
void matvec_q8_dotprod(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                       int group_size);
void matvec_q8_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                   int group_size);
void matvec_q8_mve(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                   int group_size);
/* ... and the GEMM twins of the Cortex-M ones (gemm_q8_dsp.c, gemm_q8_mve.c): gemm_q8_kernel */
void gemm_q8_dsp(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size);
void gemm_q8_mve(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size);

typedef void (*MatvecF32)(float *out, const float *x, const uint8_t *block, int rows, int cols);
void matvec_f32_avx2(float *out, const float *x, const uint8_t *block, int rows, int cols);
void matvec_f32_neon(float *out, const float *x, const uint8_t *block, int rows, int cols);

/* A portable build (LLM_KERNEL_DISPATCH_X86, LLM_KERNEL_DISPATCH_A64: the x86-64 and
 * aarch64-linux boards) carries the kernel sets of one layout and picks one at run
 * time from the CPU (dispatch.c): on x86-64 the AVX2 set, whose files compile their
 * functions alone for AVX2 and F16C (LLM_TARGET_AVX2, below; the rest of the binary
 * stays baseline x86-64); on AArch64 NEON (baseline there) with or without the
 * dot-product matvec. Either falls back to the portable C. */
#if defined(LLM_KERNEL_DISPATCH_X86) || defined(LLM_KERNEL_DISPATCH_A64)
#define LLM_KERNEL_DISPATCH 1
#endif
#if defined(LLM_KERNEL_AVX2) || defined(LLM_KERNEL_AVX_VNNI) || defined(LLM_KERNEL_AVX512_VNNI) || \
    defined(LLM_KERNEL_DISPATCH_X86)
#define LLM_KERNEL_X86 1 /* every x86-64 kernel set has AVX2: its float kernels too */
#include "prefetch.h"
#endif
#if (defined(LLM_KERNEL_NEON) || defined(LLM_KERNEL_DOTPROD) || defined(LLM_KERNEL_DISPATCH_A64)) && \
    defined(__aarch64__)
#define LLM_KERNEL_A64 1 /* AArch64 NEON is IEEE (Armv7's flushes denormals): its float kernels too */
#endif
#if defined(LLM_KERNEL_DISPATCH_X86) /* the x86 kernel files' functions, and theirs alone */
#define LLM_TARGET_AVX2 _Pragma("GCC target(\"avx2,f16c\")")
#else /* the other x86 boards build everything for their ISA (-mavx2 ...) */
#define LLM_TARGET_AVX2
#endif

#if defined(LLM_KERNEL_AVX512_VNNI)
#define LLM_KERNEL_NAME "avx512-vnni"
#define KERNEL_ROWS 16
#define KERNEL_COLS 4
#define KERNEL_BIAS 128
#define matvec_q8_kernel matvec_q8_avx512_vnni
#define gemm_q8_kernel gemm_q8_avx512_vnni
#define KERNEL_F32_ROWS 16
#define KERNEL_F32_COLS 1
#define matvec_f32_kernel matvec_f32_avx2
#define quantize_q8_kernel quantize_q8_avx2
#elif defined(LLM_KERNEL_AVX_VNNI)
#define LLM_KERNEL_NAME "avx-vnni"
#define KERNEL_ROWS 8
#define KERNEL_COLS 4
#define KERNEL_BIAS 128
#define matvec_q8_kernel matvec_q8_avx2
#define gemm_q8_kernel gemm_q8_avx2
#define KERNEL_F32_ROWS 16
#define KERNEL_F32_COLS 1
#define matvec_f32_kernel matvec_f32_avx2
#define quantize_q8_kernel quantize_q8_avx2
#elif defined(LLM_KERNEL_AVX2)
#define LLM_KERNEL_NAME "avx2"
#define KERNEL_ROWS 8
#define KERNEL_COLS 4
#define KERNEL_BIAS 0
#define matvec_q8_kernel matvec_q8_avx2
#define gemm_q8_kernel gemm_q8_avx2
#define KERNEL_F32_ROWS 16
#define KERNEL_F32_COLS 1
#define matvec_f32_kernel matvec_f32_avx2
#define quantize_q8_kernel quantize_q8_avx2
#elif defined(LLM_KERNEL_DISPATCH)
/* one layout that every kernel set of the build reads: AVX2's on x86-64, NEON's on
 * AArch64; the kernels are those of kernel_set (dispatch.c) */
#if defined(LLM_KERNEL_X86)
#define KERNEL_ROWS 8
#define KERNEL_COLS 4
#define KERNEL_BIAS 0
#define KERNEL_F32_ROWS 16
#else
#define KERNEL_ROWS 4
#define KERNEL_COLS 16
#define KERNEL_BIAS 0
#define KERNEL_F32_ROWS 8
#endif
#define KERNEL_F32_COLS 1
#define matvec_q8_kernel kernel_set.matvec_q8
#define gemm_q8_kernel kernel_set.gemm_q8
#define matvec_f32_kernel kernel_set.matvec_f32
#define quantize_q8_kernel kernel_set.quantize_q8
#define matvec_q4_kernel kernel_set.matvec_q4
#define matvec_q5_kernel kernel_set.matvec_q5
#define matvec_q6_kernel kernel_set.matvec_q6
#elif defined(LLM_KERNEL_DOTPROD)
#define LLM_KERNEL_NAME "neon-dotprod"
#define KERNEL_ROWS 4
#define KERNEL_COLS 16
#define KERNEL_BIAS 0
#define matvec_q8_kernel matvec_q8_dotprod
#define gemm_q8_kernel gemm_q8_dotprod
#define KERNEL_F32_ROWS 8 /* the NEON f32 kernel: 8 rows per column */
#define KERNEL_F32_COLS 1
#define matvec_f32_kernel matvec_f32_neon
#elif defined(LLM_KERNEL_NEON)
#define LLM_KERNEL_NAME "neon"
#define KERNEL_ROWS 4
#define KERNEL_COLS 16
#define KERNEL_BIAS 0
#define matvec_q8_kernel matvec_q8_neon
#define gemm_q8_kernel gemm_q8_neon
#define KERNEL_F32_ROWS 8 /* AArch64: two vectors of 4 rows; Armv7: 8 scalar VFP sums */
#define KERNEL_F32_COLS 1
#define matvec_f32_kernel matvec_f32_neon
#elif defined(LLM_KERNEL_MVE)
#define LLM_KERNEL_NAME "mve"
#define KERNEL_ROWS 4
#define KERNEL_COLS 16
#define KERNEL_BIAS 0
#define matvec_q8_kernel matvec_q8_mve
#define gemm_q8_kernel gemm_q8_mve
#elif defined(LLM_KERNEL_DSP)
#define LLM_KERNEL_NAME "dsp"
#define KERNEL_ROWS 4
#define KERNEL_COLS 4
#define KERNEL_BIAS 0
#define matvec_q8_kernel matvec_q8_dsp
#define gemm_q8_kernel gemm_q8_dsp
#else
#define LLM_KERNEL_NAME "reference"
#endif

/* The form the q8 kernel takes its activations in. Most kernels read the int8
 * values as they are, zero-padded to whole chunks; the DSP kernel wants them
 * widened and reordered, once per matrix-vector product, into KERNEL_X_BYTES
 * bytes per value (matvec_q8_prepare). */
#if defined(LLM_KERNEL_DSP)
#define KERNEL_X_BYTES 2
void matvec_q8_prepare(int8_t *prepared, const int8_t *x, int n);
#else
#define KERNEL_X_BYTES 1
#endif

/* An ISA with an f32 kernel defines KERNEL_F32_ROWS, KERNEL_F32_COLS and
 * matvec_f32_kernel next to its q8 ones above. */

/* Runs the board's matvec_q8 kernel and the reference on random matrices of many
 * shapes and group sizes (values in [-127, 127], as quantization produces): first
 * with one group's scales 1 and the others 0, so each output is that group's int32
 * sum exactly, then with random scales, then with running sums that cancel into
 * subnormals (and the f32 kernel, if any, on normal and on tiny values); 0 when
 * every output agrees to the bit, -1 at the first that does not. */
int kernel_selftest(uint32_t seed, int *cases);

/* Symmetric per-group int8 quantization of x[n]: xs[g] = max|x| / 127, or 0 (and
 * the group zeros) below KERNEL_MIN_SCALE, so that every product of scales and
 * sums in matvec_q8 is a normal float (toolchain/compile/layout.py: MIN_SCALE). */
#define KERNEL_MIN_SCALE 0x1p-63f
void quantize_q8(int8_t *xq, float *xs, const float *x, int n, int group_size);
/* The same, bit for bit, vectorized (the forward pass calls quantize_q8_kernel, the
 * board's where it has one). Inputs are finite: a NaN's int8 is undefined in C. */
void quantize_q8_avx2(int8_t *xq, float *xs, const float *x, int n, int group_size);

/* out = x / rms(x) * weight; out may alias x. */
void rmsnorm_f32(float *out, const float *x, const float *weight, int n, float eps);

/* In-place softmax of x[n]. */
void softmax_f32(float *x, int n);

/* att[t] = (sum over i in order of q[i] * keys[i * stride + t]) / scale for t < n:
 * the attention scores of one head over a key cache stored transposed (the VFP
 * twin may read a row on to the next multiple of 8 positions, up to stride). */
void scores_f32(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale);

/* out[i] = sum over t in order of att[t] * values[t * stride + i], for i < head_dim:
 * one head's attention output over a value cache stored by position. */
void weighted_sum_f32(float *out, const float *att, const float *values, int stride, int n, int head_dim);

/* The same, bit for bit, with AVX2 (x86-64): the sums in registers, not memory. */
void scores_f32_avx2(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale);
void weighted_sum_f32_avx2(float *out, const float *att, const float *values, int stride, int n, int head_dim);
/* ... and with AArch64 NEON. */
void scores_f32_neon(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale);
void weighted_sum_f32_neon(float *out, const float *att, const float *values, int stride, int n, int head_dim);

/* The same sums over a KV cache of halves or int8 (before the cache's scales, and
 * not divided by a scale: kv_cache.c finishes them): att[t] = sum over i in order
 * of q[i] * keys[i * stride + t]; out[i] = sum over t in order of att[t] *
 * values[t * stride + i]. Each element is widened to a float first (exactly). */
void key_dots_f16(float *att, const float *q, const uint16_t *keys, int stride, int n, int head_dim);
void key_dots_i8(float *att, const float *q, const int8_t *keys, int stride, int n, int head_dim);
void value_sums_f16(float *out, const float *att, const uint16_t *values, int stride, int n, int head_dim);
void value_sums_i8(float *out, const float *att, const int8_t *values, int stride, int n, int head_dim);
/* ... bit for bit, with AVX2 (F16C for the halves) and AArch64 NEON */
void key_dots_f16_avx2(float *att, const float *q, const uint16_t *keys, int stride, int n, int head_dim);
void key_dots_i8_avx2(float *att, const float *q, const int8_t *keys, int stride, int n, int head_dim);
void value_sums_f16_avx2(float *out, const float *att, const uint16_t *values, int stride, int n, int head_dim);
void value_sums_i8_avx2(float *out, const float *att, const int8_t *values, int stride, int n, int head_dim);
void key_dots_f16_neon(float *att, const float *q, const uint16_t *keys, int stride, int n, int head_dim);
void key_dots_i8_neon(float *att, const float *q, const int8_t *keys, int stride, int n, int head_dim);
void value_sums_f16_neon(float *out, const float *att, const uint16_t *values, int stride, int n, int head_dim);
void value_sums_i8_neon(float *out, const float *att, const int8_t *values, int stride, int n, int head_dim);

/* SwiGLU's gate in place: h[i] = silu(h[i]) * h3[i], silu(g) = g / (1 + e^-g). */
void swiglu_f32(float *h, const float *h3, int n);
/* Gemma's gate in place (GeGLU): h[i] = gelu(h[i]) * h3[i], GELU by its tanh approximation. */
void geglu_f32(float *h, const float *h3, int n);

/* softmax_f32 and swiglu_f32, bit for bit, with AVX2 (x86-64) or NEON (AArch64):
 * eight or four exponentials at a time (exp_f32_simd.h), the softmax's sum still
 * in index order. */
void softmax_f32_simd(float *x, int n);
void swiglu_f32_simd(float *h, const float *h3, int n);

/* The scalar single-precision FPU of the Cortex-M cores that have one (M4F, M7,
 * M33, M55) runs the float kernels above from assembly: the same operations in
 * the same order (VMLA/VMLS round the product, then the sum: not fused), so the
 * same floats, with a multiply-accumulate and a load of 8 floats each one
 * instruction. With the board's kernels only: the reference build keeps the C.
 * selftest.c checks each against its C twin on the board. */
#if (defined(LLM_KERNEL_DSP) || defined(LLM_KERNEL_MVE)) && defined(__ARM_FP) && (__ARM_FP & 4) && \
    defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define LLM_KERNEL_VFP 1
void softmax_f32_vfp(float *x, int n);
void scores_f32_vfp(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale);
void weighted_sum_f32_vfp(float *out, const float *att, const float *values, int stride, int n, int head_dim);
void swiglu_f32_vfp(float *h, const float *h3, int n);
void quantize_q8_vfp(int8_t *xq, float *xs, const float *x, int n, int group_size);
#define softmax_f32_kernel softmax_f32_vfp
#define scores_f32_kernel scores_f32_vfp
#define weighted_sum_f32_kernel weighted_sum_f32_vfp
#define swiglu_f32_kernel swiglu_f32_vfp
#define quantize_q8_kernel quantize_q8_vfp
#elif defined(LLM_KERNEL_DISPATCH)
#define softmax_f32_kernel kernel_set.softmax_f32
#define swiglu_f32_kernel kernel_set.swiglu_f32
#define scores_f32_kernel kernel_set.scores_f32
#define weighted_sum_f32_kernel kernel_set.weighted_sum_f32
#define key_dots_f16_kernel kernel_set.key_dots_f16
#define key_dots_i8_kernel kernel_set.key_dots_i8
#define value_sums_f16_kernel kernel_set.value_sums_f16
#define value_sums_i8_kernel kernel_set.value_sums_i8
#elif defined(LLM_KERNEL_X86)
#define softmax_f32_kernel softmax_f32_simd
#define swiglu_f32_kernel swiglu_f32_simd
#define scores_f32_kernel scores_f32_avx2
#define weighted_sum_f32_kernel weighted_sum_f32_avx2
#define key_dots_f16_kernel key_dots_f16_avx2
#define key_dots_i8_kernel key_dots_i8_avx2
#define value_sums_f16_kernel value_sums_f16_avx2
#define value_sums_i8_kernel value_sums_i8_avx2
#elif defined(LLM_KERNEL_A64)
#define softmax_f32_kernel softmax_f32_simd
#define swiglu_f32_kernel swiglu_f32_simd
#define scores_f32_kernel scores_f32_neon
#define weighted_sum_f32_kernel weighted_sum_f32_neon
#define key_dots_f16_kernel key_dots_f16_neon
#define key_dots_i8_kernel key_dots_i8_neon
#define value_sums_f16_kernel value_sums_f16_neon
#define value_sums_i8_kernel value_sums_i8_neon
#else
#define scores_f32_kernel scores_f32
#define weighted_sum_f32_kernel weighted_sum_f32
#endif
#if !defined(matvec_q4_kernel) && defined(LLM_KERNEL_AVX512_VNNI)
#define matvec_q4_kernel matvec_q4_avx512_vnni
#elif !defined(matvec_q4_kernel) && defined(LLM_KERNEL_X86)
#define matvec_q4_kernel matvec_q4_avx2
#elif !defined(matvec_q4_kernel) && defined(LLM_KERNEL_DSP)
#define matvec_q4_kernel matvec_q4_dsp
#elif !defined(matvec_q4_kernel) && defined(LLM_KERNEL_MVE)
#define matvec_q4_kernel matvec_q4_mve
#elif !defined(matvec_q4_kernel) && defined(LLM_KERNEL_DOTPROD)
#define matvec_q4_kernel matvec_q4_dotprod
#elif !defined(matvec_q4_kernel) && defined(LLM_KERNEL_NEON)
#define matvec_q4_kernel matvec_q4_neon
#endif
#if defined(matvec_q4_kernel)
#define KERNEL_Q4_TWIN /* selftest.c checks it against the reference */
#else /* elsewhere the portable C, for now */
#define matvec_q4_kernel matvec_q4_reference
#endif
#if !defined(matvec_q5_kernel) && defined(LLM_KERNEL_AVX512_VNNI)
#define matvec_q5_kernel matvec_q5_avx512_vnni
#define matvec_q6_kernel matvec_q6_avx512_vnni
#define gemm_q4_kernel gemm_q4_avx512_vnni
#define gemm_q5_kernel gemm_q5_avx512_vnni
#define gemm_q6_kernel gemm_q6_avx512_vnni
#elif !defined(matvec_q5_kernel) && defined(LLM_KERNEL_X86)
#define matvec_q5_kernel matvec_q5_avx2
#define matvec_q6_kernel matvec_q6_avx2
#elif !defined(matvec_q5_kernel) && defined(LLM_KERNEL_DSP)
#define matvec_q5_kernel matvec_q5_dsp
#define matvec_q6_kernel matvec_q6_dsp
#elif !defined(matvec_q5_kernel) && defined(LLM_KERNEL_MVE)
#define matvec_q5_kernel matvec_q5_mve
#define matvec_q6_kernel matvec_q6_mve
#elif !defined(matvec_q5_kernel) && defined(LLM_KERNEL_DOTPROD)
#define matvec_q5_kernel matvec_q5_dotprod
#define matvec_q6_kernel matvec_q6_dotprod
#elif !defined(matvec_q5_kernel) && defined(LLM_KERNEL_NEON)
#define matvec_q5_kernel matvec_q5_neon
#define matvec_q6_kernel matvec_q6_neon
#endif
#if defined(matvec_q5_kernel)
#define KERNEL_Q5_Q6_TWINS /* selftest.c checks them against the reference */
#else /* elsewhere the portable C, for now */
#define matvec_q5_kernel matvec_q5_reference
#define matvec_q6_kernel matvec_q6_reference
#endif
/* The GEMM twins (gemm_q8_kernel, gemm_q4_kernel, ...: an ISA's, defined with its matvec
 * kernels above) turn on selftest.c's checks of them against gemm_each; elsewhere the
 * matvec kernel runs token after token. */
#if defined(gemm_q8_kernel)
#define KERNEL_GEMM_Q8_TWIN
#elif defined(KERNEL_ROWS)
#define gemm_q8_kernel(out, b, w, rows, cols, group_size) \
    gemm_each(matvec_q8_kernel, out, b, w, rows, cols, group_size)
#endif
#if defined(gemm_q4_kernel)
#define KERNEL_GEMM_KQUANT_TWINS
#else
#define gemm_q4_kernel(out, b, w, rows, cols, group_size) \
    gemm_each(matvec_q4_kernel, out, b, w, rows, cols, group_size)
#define gemm_q5_kernel(out, b, w, rows, cols, group_size) \
    gemm_each(matvec_q5_kernel, out, b, w, rows, cols, group_size)
#define gemm_q6_kernel(out, b, w, rows, cols, group_size) \
    gemm_each(matvec_q6_kernel, out, b, w, rows, cols, group_size)
#endif
#if !defined(quantize_q8_kernel) /* x86 has its own (above) */
#define quantize_q8_kernel quantize_q8
#endif
#if !defined(softmax_f32_kernel) /* elsewhere the C exponentials */
#define softmax_f32_kernel softmax_f32
#define swiglu_f32_kernel swiglu_f32
#endif
#if !defined(key_dots_f16_kernel) /* the boards without twins of these */
#define key_dots_f16_kernel key_dots_f16
#define key_dots_i8_kernel key_dots_i8
#define value_sums_f16_kernel value_sums_f16
#define value_sums_i8_kernel value_sums_i8
#endif

/* Picks the kernels this build runs and returns their name ("avx2", "reference",
 * ...). The board's features fix them at compile time, except in a portable build,
 * where the first call picks a kernel set from this CPU (llm_init and
 * kernel_selftest make it, before any thread runs a kernel): the best it can run,
 * or the one named by the environment variable LLM_KERNELS if it can run that
 * ("reference": the portable C). Every set gives the same floats. */
#if defined(LLM_KERNEL_DISPATCH)
typedef struct {
    const char *name;
    Matvec matvec_q8;
    Gemm gemm_q8;
    MatvecF32 matvec_f32;
    Matvec matvec_q4, matvec_q5, matvec_q6;
    void (*quantize_q8)(int8_t *xq, float *xs, const float *x, int n, int group_size);
    void (*softmax_f32)(float *x, int n);
    void (*swiglu_f32)(float *h, const float *h3, int n);
    void (*scores_f32)(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale);
    void (*weighted_sum_f32)(float *out, const float *att, const float *values, int stride, int n, int head_dim);
    void (*key_dots_f16)(float *att, const float *q, const uint16_t *keys, int stride, int n, int head_dim);
    void (*key_dots_i8)(float *att, const float *q, const int8_t *keys, int stride, int n, int head_dim);
    void (*value_sums_f16)(float *out, const float *att, const uint16_t *values, int stride, int n, int head_dim);
    void (*value_sums_i8)(float *out, const float *att, const int8_t *values, int stride, int n, int head_dim);
} KernelSet;
extern KernelSet kernel_set; /* the one picked: the *_kernel names above call through it */
const char *kernels_init(void);
#else
static inline const char *kernels_init(void) {
    return LLM_KERNEL_NAME;
}
#endif

/* Rotates the (even, odd) pairs of each of n_heads heads by the angles whose
 * cosines and sines are cos[head_dim / 2], sin[head_dim / 2]. */
void rope_f32(float *v, int n_heads, int head_dim, const float *cos, const float *sin);

/* e^x to within 2 ulp, from basic arithmetic only: libm's expf differs between
 * C libraries, and the boards must agree bit for bit. */
float exp_f32(float x);
/* tanh(x) from exp_f32, for the same reason. */
float tanh_f32(float x);

/* In-place Walsh-Hadamard transform of x[n], n a power of two, unnormalised
 * (applying it twice multiplies by n). */
void hadamard_f32(float *x, int n);

/* IEEE half precision <-> float, round to nearest even, in software so every
 * board (with or without half-float hardware) converts alike. */
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);

/* How a KV cache stores an element, as its size in bytes (the attention kernels
 * take it as a constant, one loop for all three). */
enum { CACHE_F32 = 4, CACHE_F16 = 2, CACHE_I8 = 1 };

/* Element i of a cache as a float. */
static inline float kv_element(const void *cache, long i, int kind) {
    if (kind == CACHE_F32) return ((const float *)cache)[i];
    if (kind == CACHE_F16) return f16_to_f32(((const uint16_t *)cache)[i]);
    return (float)((const int8_t *)cache)[i];
}

#endif
