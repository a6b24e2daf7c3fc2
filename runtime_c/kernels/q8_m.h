/* q8_m.h - what the Cortex-M q8 twins share, matvec and GEMM (matvec_q8_dsp.c,
 * gemm_q8_dsp.c with the DSP extension; matvec_q8_mve.c, gemm_q8_mve.c with Helium):
 * the matvec files' pieces the GEMM files call, and the GEMM twins' driver, which
 * runs blocks of 4 rows in groups of a multiple of 16 columns (the usual block: 64)
 * two tokens at a time through the ISA's assembly and hands everything else to the
 * matvec kernel. */
#if defined(LLM_KERNEL_DSP) || defined(LLM_KERNEL_MVE)
#ifndef LLM_Q8_M_H
#define LLM_Q8_M_H

#include "kernels.h"

/* out[0..3] += one group of `len` (<= its group size) columns of a block of 4 rows:
 * x, xs and block at that group (a row's shorter last group), as the matvec kernel
 * adds it. */
typedef void (*ShortGroup)(float *out, const int8_t *x, const float *xs, const uint8_t *block, int len);
#if defined(LLM_KERNEL_DSP)
void matvec_q8_dsp_group(float *out, const int8_t *x, const float *xs, const uint8_t *block, int len);
#else
void matvec_q8_mve_chunks(float *out, const int8_t *x, const float *xs, const uint8_t *block, int n_groups,
                          int chunks);
#endif

/* Two tokens of a batch, for the assembly: their activations (in the matvec kernel's
 * form), group scales and outputs. */
typedef struct {
    const int8_t *x[2];
    const float *xs[2];
    float *out[2];
} TokenPair;
/* out[0..3] of both tokens = the outputs of the first n_groups (>= 1) groups of
 * group_size (a multiple of 16) columns of a block of 4 rows, each token's bit for bit
 * the matvec kernel's. */
typedef void (*PairKernel)(const TokenPair *pair, const uint8_t *block, int n_groups, int group_size);
/* The GEMM files' assembly: groups of 64 columns unrolled whole, and groups of any
 * multiple of 16 in a loop. */
#if defined(LLM_KERNEL_DSP)
void gemm_q8_dsp_pair_g64(const TokenPair *pair, const uint8_t *block, int n_groups, int group_size);
void gemm_q8_dsp_pair_quads(const TokenPair *pair, const uint8_t *block, int n_groups, int group_size);
#else
void gemm_q8_mve_pair_g64(const TokenPair *pair, const uint8_t *block, int n_groups, int group_size);
void gemm_q8_mve_pair_chunks(const TokenPair *pair, const uint8_t *block, int n_groups, int group_size);
#endif

/* The GEMM twin: the tokens two by two through `pair` (then a row's shorter last
 * group through `rest`, token by token), an odd last token through `matvec`. */
static inline void gemm_q8_pairs(PairKernel pair_kernel, ShortGroup rest, Matvec matvec, float *out,
                                 const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size) {
    if (rows != 4 || group_size % 16 != 0 || cols < group_size || b->tokens < 2) {
        gemm_each(matvec, out, b, w, rows, cols, group_size);
        return;
    }
    const int whole = cols / group_size, len = cols - whole * group_size;
    const uint8_t *last = w + (long)whole * (4 * group_size + 16); /* the shorter last group, if any */
    int t = 0;
    for (; t + 2 <= b->tokens; t += 2) {
        TokenPair pair;
        for (int i = 0; i < 2; i++) {
            pair.x[i] = b->x + (t + i) * b->x_stride;
            pair.xs[i] = b->xs + (t + i) * b->xs_stride;
            pair.out[i] = out + (t + i) * b->out_stride;
        }
        pair_kernel(&pair, w, whole, group_size);
        for (int i = 0; i < 2 && len > 0; i++) {
            rest(pair.out[i], pair.x[i] + whole * group_size * KERNEL_X_BYTES, pair.xs[i] + whole, last, len);
        }
    }
    if (t < b->tokens) {
        matvec(out + t * b->out_stride, b->x + t * b->x_stride, b->xs + t * b->xs_stride, w, rows, cols, group_size);
    }
}

#endif
#endif
