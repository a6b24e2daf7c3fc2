/* x86-64 AVX-512 VNNI: q4, q5 and q6 matrices (kquant.h), eight rows at a time, bit
 * for bit as the reference kernels sum them.
 *
 * A sub-block's 16 bytes of nibbles hold values 0-15 in their low halves and 16-31
 * in their high ones (q5 and q6 add their top bits from the bytes after them), so
 * four sub-blocks (a "chunk") make one zmm of values 0-15 and one of values 16-31,
 * each lined up with its activations once those are reordered the same way. The
 * activations are reordered once per product, for all rows, into a buffer on the
 * stack (zero where a group has no column, so a short sub-block or group needs no
 * care past its weight loads). Per chunk, VPDPBUSD multiplies the unsigned values by
 * the int8 activations, and the int32 lanes, packed into int16, meet their
 * sub-blocks' scales in VPDPWSSD, which so collects sum_j sc_j * S_j. A q4 or q5 lane
 * holds eight products (at most 8 * 31 * 127, an int16), two chunks to a pack; a q6
 * lane four (its stored values q + 32 reach 63), a chunk's two halves to a pack,
 * and 32 * sum_j sc_j * X_j is taken off after. The mins (q4, q5) meet each
 * sub-block's sum of x, made once and packed the same way, in another VPDPWSSD.
 * Eight rows' lanes are then added up together, and the float step is the
 * reference's, lane by lane for the eight rows: ((float)A * d - (float)B * dmin) * xs
 * (q6: B and dmin 0, which changes no bit), added in group order. The 6-bit fields
 * become bytes with PDEP (BMI2: every AVX-512 VNNI CPU has it). Products whose
 * reordered activations would not fit the buffer, which only very long rows of small
 * groups need, go to the AVX2 twins: the same floats.
 * The eight rows are one run of bytes, prefetched PREFETCH_BYTES ahead as one run
 * into L2 (prefetcht1; measured on the 110M shape in q4, 8 KB beat 4, 6, 12 and 16 KB,
 * and a prefetch per row's stream fell far behind; into L1, as the q8 kernels
 * prefetch, q4 decoded at 1.45x to 1.53x q8 over three runs of five rounds, into L2
 * at 1.50x to 1.57x, and a token's matrices alone, from memory, took 2.5 ms, not 3.0 to 3.6). */
#include "kernels.h"

#if defined(LLM_KERNEL_AVX512_VNNI)
#include "kquant_avx512_vnni.h"

/* Every row of a bits-bit matrix; 0 where the activations do not fit the buffer. */
TARGET static inline __attribute__((always_inline)) int matvec(float *out, const int8_t *x, const float *xs,
                                                               const uint8_t *w, int rows, int cols, int group_size,
                                                               int bits) {
    _Alignas(64) int8_t prepared[PREPARED_BYTES];
    if (prepared_bytes(cols, group_size) > PREPARED_BYTES) return 0;
    prepare(prepared, x, cols, group_size);
    float *const outs[TILE] = {out};
    const int8_t *const ready[TILE] = {prepared};
    const float *const scales[TILE] = {xs};
    for (int r = 0; r < rows; r += ROWS) block_rows(outs, 1, ready, scales, w, r, rows, cols, group_size, bits, 1);
    return 1;
}

TARGET void matvec_q4_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                                  int group_size) {
    if (!matvec(out, x, xs, w, rows, cols, group_size, 4)) matvec_q4_avx2(out, x, xs, w, rows, cols, group_size);
}

TARGET void matvec_q5_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                                  int group_size) {
    if (!matvec(out, x, xs, w, rows, cols, group_size, 5)) matvec_q5_avx2(out, x, xs, w, rows, cols, group_size);
}

TARGET void matvec_q6_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                                  int group_size) {
    if (!matvec(out, x, xs, w, rows, cols, group_size, 6)) matvec_q6_avx2(out, x, xs, w, rows, cols, group_size);
}
#endif
