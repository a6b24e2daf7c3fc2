/* x86-64 AVX-512 VNNI: the GEMM twin of matvec_q8_avx512_vnni.c (its layout: a chunk of
 * 16 rows x 4 columns is one zmm), one block for a batch of tokens.
 *
 * The register tile is the block's 16 rows x 8 tokens: each chunk of weights is loaded
 * once and meets every token's four activations (broadcast) in VPDPBUSD, eight
 * accumulators to a load where the matvec makes a load per token, and eight of them
 * hide VPDPBUSD's latency as the matvec's second accumulator does. Further tokens take
 * further passes over the block, by then in L1 (the 110M shape's 16 x 768 block is
 * 13 KB); a batch's last few go four or two at a time, and one alone to the matvec.
 * Each (token, group)'s accumulator starts, as the matvec's, at -128 * the group's sum
 * of x, the tile's eight sums reduced together (lane_totals8) instead of one by one.
 * The int32 sums are exact whatever their order, and each token's float step is the
 * matvec's (add_group), group after group: its floats bit for bit. The weights are
 * prefetched as the matvec prefetches them, a line a chunk, on every pass (past the
 * first, the next block's). */
#include "kernels.h"

#if defined(LLM_KERNEL_AVX512_VNNI)
#include "lanes_avx512.h"
#include "q8_avx512_vnni.h"

enum { TILE = 8 };

/* Tokens first .. first + n - 1 (n: 2, 4 or 8, a constant) of b through the block:
 * `rows` is the constant 16 for whole blocks, as in the matvec. */
VNNI_TARGET static inline __attribute__((always_inline)) void tile(float *out, const TokenBatch *b, int first, int n,
                                                                   const uint8_t *p, int rows, int cols,
                                                                   int group_size) {
    const long chunk = 4L * rows;
    const __mmask64 wmask = rows == 16 ? ~0ULL : ~0ULL >> (64 - chunk);
    const __mmask16 rmask = (__mmask16)((1u << rows) - 1);
    const int8_t *x = b->x + first * b->x_stride;
    const long stride = b->x_stride;
    __m512 sum[TILE];
    for (int t = 0; t < n; t++) sum[t] = _mm512_setzero_ps();
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        const int len = cols - start < group_size ? cols - start : group_size;
        const int chunks = (len + 3) / 4;
        const int8_t *xg = x + start;
        __m512i xsums[TILE], acc[TILE];
#pragma GCC unroll 8
        for (int t = 0; t < TILE; t++) xsums[t] = t < n ? x_lane_sums(xg + t * stride, 4 * chunks) : _mm512_setzero_si512();
        /* -128 * each token's sum; token t's in lane t % 4 + 8 * (t / 4) */
        const __m512i sums = lane_totals8(xsums);
        const __m512i start_at = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, 7));
#pragma GCC unroll 8
        for (int t = 0; t < n; t++) acc[t] = _mm512_permutexvar_epi32(_mm512_set1_epi32(t % 4 + 8 * (t / 4)), start_at);
        for (const int8_t *xc = xg, *end = xg + 4 * chunks; xc < end; xc += 4, p += chunk) {
            _mm_prefetch((const char *)p + LLM_PREFETCH_BYTES, _MM_HINT_T0); /* may pass the image's end: no fault */
            const __m512i w = _mm512_maskz_loadu_epi8(wmask, p);
#pragma GCC unroll 8
            for (int t = 0; t < n; t++) acc[t] = _mm512_dpbusd_epi32(acc[t], w, broadcast4(xc + t * stride));
        }
        const __m512 scales = _mm512_maskz_loadu_ps(rmask, p);
        p += chunk;
#pragma GCC unroll 8
        for (int t = 0; t < n; t++) sum[t] = add_group(sum[t], acc[t], scales, b->xs[(first + t) * b->xs_stride + g]);
    }
    for (int t = 0; t < n; t++) _mm512_mask_storeu_ps(out + (first + t) * b->out_stride, rmask, sum[t]);
}

/* The tokens in tiles of 8, then of 4 and 2 (each size a copy of tile with it constant). */
VNNI_TARGET static inline __attribute__((always_inline)) void block_tokens(float *out, const TokenBatch *b,
                                                                           const uint8_t *p, int rows, int cols,
                                                                           int group_size) {
    int first = 0;
    for (; first + TILE <= b->tokens; first += TILE) tile(out, b, first, TILE, p, rows, cols, group_size);
    if (first + 4 <= b->tokens) {
        tile(out, b, first, 4, p, rows, cols, group_size);
        first += 4;
    }
    if (first + 2 <= b->tokens) {
        tile(out, b, first, 2, p, rows, cols, group_size);
        first += 2;
    }
    if (first < b->tokens) {
        matvec_q8_avx512_vnni(out + first * b->out_stride, b->x + first * b->x_stride, b->xs + first * b->xs_stride,
                              p, rows, cols, group_size);
    }
}

VNNI_TARGET void gemm_q8_avx512_vnni(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols,
                                     int group_size) {
    if (rows == 16) {
        block_tokens(out, b, block, 16, cols, group_size);
    } else {
        block_tokens(out, b, block, rows, cols, group_size);
    }
}
#endif
