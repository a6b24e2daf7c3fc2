/* x86-64 AVX2 and AVX-VNNI: the GEMM twin of matvec_q8_avx2.c (its layout: a chunk of
 * 8 rows x 4 columns is one ymm), one block for a batch of tokens.
 *
 * The register tile is the block's 8 rows x 4 tokens (of 16 ymm registers: four
 * accumulators, four running sums, the chunk, its magnitudes and the products' steps):
 * each chunk of weights is loaded once, and with AVX2 made unsigned (|w|) once, for
 * the four tokens, where the matvec does both per token. Further tokens take further
 * passes over the block, by then in L1; a batch's last two go together, and one alone
 * to the matvec. The int32 sums are exact whatever their order, and each token's
 * float step is the matvec's (q8_avx2.h), group after group: its floats bit for bit. */
#include "kernels.h"

#if defined(LLM_KERNEL_AVX2) || defined(LLM_KERNEL_AVX_VNNI) || defined(LLM_KERNEL_DISPATCH_X86)
LLM_TARGET_AVX2
#include "q8_avx2.h"

enum { TILE = 4 };

/* Tokens first .. first + n - 1 (n: 2 or 4, a constant) of b through the block:
 * `rows` is the constant 8 for whole blocks, as in the matvec. */
TARGET static inline __attribute__((always_inline)) void tile(float *out, const TokenBatch *b, int first, int n,
                                                              const uint8_t *p, int rows, int cols, int group_size) {
    const long chunk = 4L * rows, stride = b->x_stride;
    const __m256i mask = lanes_avx2(rows);
    const int8_t *x = b->x + first * stride;
    __m256 sum[TILE];
    for (int t = 0; t < n; t++) sum[t] = _mm256_setzero_ps();
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        const int len = cols - start < group_size ? cols - start : group_size;
        const int chunks = (len + 3) / 4;
        const int8_t *xg = x + start;
        __m256i acc[TILE];
#pragma GCC unroll 4
        for (int t = 0; t < n; t++) acc[t] = group_start(xg + t * stride, 4 * chunks);
        for (const int8_t *xc = xg, *end = xg + 4 * chunks; xc < end; xc += 4, p += chunk) {
            _mm_prefetch((const char *)p + LLM_PREFETCH_BYTES, _MM_HINT_T0); /* may pass the image's end: no fault */
            const __m256i w = load_chunk(p, rows, mask), magnitudes = chunk_magnitudes(w);
#pragma GCC unroll 4
            for (int t = 0; t < n; t++) acc[t] = dot_chunk(acc[t], w, magnitudes, broadcast4(xc + t * stride));
        }
        const __m256 scales = load_scales(p, rows, mask);
        p += chunk;
#pragma GCC unroll 4
        for (int t = 0; t < n; t++) sum[t] = add_group(sum[t], acc[t], scales, b->xs[(first + t) * b->xs_stride + g]);
    }
    for (int t = 0; t < n; t++) store_rows(out + (first + t) * b->out_stride, sum[t], rows, mask);
}

/* The tokens in tiles of 4, then of 2 (each size a copy of tile with it constant). */
TARGET static inline __attribute__((always_inline)) void block_tokens(float *out, const TokenBatch *b,
                                                                      const uint8_t *p, int rows, int cols,
                                                                      int group_size) {
    int first = 0;
    for (; first + TILE <= b->tokens; first += TILE) tile(out, b, first, TILE, p, rows, cols, group_size);
    if (first + 2 <= b->tokens) {
        tile(out, b, first, 2, p, rows, cols, group_size);
        first += 2;
    }
    if (first < b->tokens) {
        matvec_q8_avx2(out + first * b->out_stride, b->x + first * b->x_stride, b->xs + first * b->xs_stride, p,
                       rows, cols, group_size);
    }
}

TARGET void gemm_q8_avx2(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols,
                         int group_size) {
    if (rows == 8) {
        block_tokens(out, b, block, 8, cols, group_size);
    } else {
        block_tokens(out, b, block, rows, cols, group_size);
    }
}
#endif
