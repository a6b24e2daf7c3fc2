/* x86-64 AVX-512 VNNI: the GEMM twins of matvec_kquant_avx512_vnni.c (q4, q5, q6), a
 * tile of rows for a batch of tokens.
 *
 * Each token's activations are reordered once per call (the matvec reorders them once
 * per call too, but a batch through gemm_each calls it per token), as many tokens at
 * once as fit the buffer, and the rows then go eight at a time through those tokens
 * two by two: the register tile is 8 rows x 2 tokens, each row's values unpacked from
 * their nibbles (and q5's, q6's top bits) and its sub-block scales spread once for
 * both tokens, which is most of the matvec's work per row. The eight rows stay in L1
 * from one pair of tokens to the next, and are prefetched on the first pass only. The
 * int32 sums and each token's float steps are the matvec's (kquant_avx512_vnni.h:
 * group_rows, block_rows): its floats bit for bit. A product whose one token's
 * activations would not fit the buffer goes to the matvec token after token (and
 * so to the AVX2 twins). */
#include "kernels.h"

#if defined(LLM_KERNEL_AVX512_VNNI)
#include "kquant_avx512_vnni.h"

/* Every row of a bits-bit matrix for every token of b; 0 where one token's activations
 * do not fit the buffer. */
TARGET static inline __attribute__((always_inline)) int gemm(float *out, const TokenBatch *b, const uint8_t *w,
                                                             int rows, int cols, int group_size, int bits) {
    _Alignas(64) int8_t prepared[PREPARED_BYTES];
    const long bytes = prepared_bytes(cols, group_size), fit = PREPARED_BYTES / bytes;
    if (fit < 1) return 0;
    for (int first = 0; first < b->tokens; first += (int)fit) {
        const int n = kquant_min((int)fit, b->tokens - first);
        for (int t = 0; t < n; t++) prepare(prepared + t * bytes, b->x + (first + t) * b->x_stride, cols, group_size);
        for (int r = 0; r < rows; r += ROWS) {
            int t = 0;
            for (; t + TILE <= n; t += TILE) {
                float *const outs[TILE] = {out + (first + t) * b->out_stride, out + (first + t + 1) * b->out_stride};
                const int8_t *const ready[TILE] = {prepared + t * bytes, prepared + (t + 1) * bytes};
                const float *const xs[TILE] = {b->xs + (first + t) * b->xs_stride, b->xs + (first + t + 1) * b->xs_stride};
                block_rows(outs, TILE, ready, xs, w, r, rows, cols, group_size, bits, t == 0);
            }
            if (t < n) {
                float *const outs[TILE] = {out + (first + t) * b->out_stride};
                const int8_t *const ready[TILE] = {prepared + t * bytes};
                const float *const xs[TILE] = {b->xs + (first + t) * b->xs_stride};
                block_rows(outs, 1, ready, xs, w, r, rows, cols, group_size, bits, t == 0);
            }
        }
    }
    return 1;
}

TARGET void gemm_q4_avx512_vnni(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols,
                                int group_size) {
    if (!gemm(out, b, w, rows, cols, group_size, 4)) gemm_each(matvec_q4_avx512_vnni, out, b, w, rows, cols, group_size);
}

TARGET void gemm_q5_avx512_vnni(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols,
                                int group_size) {
    if (!gemm(out, b, w, rows, cols, group_size, 5)) gemm_each(matvec_q5_avx512_vnni, out, b, w, rows, cols, group_size);
}

TARGET void gemm_q6_avx512_vnni(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols,
                                int group_size) {
    if (!gemm(out, b, w, rows, cols, group_size, 6)) gemm_each(matvec_q6_avx512_vnni, out, b, w, rows, cols, group_size);
}
#endif
