/* x86-64 AVX2 and AVX-VNNI: one block of up to 8 rows.
 *
 * A chunk is 8 rows x 4 columns = 32 bytes = one ymm: every row's four weights
 * meet the same four activations (broadcast), and each int32 lane collects one
 * row, so there is no horizontal sum.
 * - AVX2 (weights signed, bias 0): VPMADDUBSW wants one unsigned operand, so it
 *   multiplies |w| by x carrying w's sign; |x|, |w| <= 127 (quantize_q8's range), so
 *   its int16 pair sums (at most 2 * 127 * 127) never saturate; VPMADDWD by ones
 *   widens them to int32.
 * - AVX-VNNI (weights stored + 128, unsigned): VPDPBUSD does all of that in one
 *   instruction, but adds 128 * sum(x) to every lane, so each group's accumulator
 *   starts at -128 * sum(x over the group), the same for all rows.
 * The int32 sums are exact; the float epilogue runs across the 8 rows at once,
 * each lane in the reference's order ((float)acc * scale * xs[g], then added).
 *
 * The weights stream through once per token, prefetched LLM_PREFETCH_BYTES ahead
 * (prefetch.h): on one thread of an AMD EPYC Zen 3 a prefetch took stories110M from
 * 48 to 62 decode tok/s, median of alternating runs. */
#include "kernels.h"

#if defined(LLM_KERNEL_AVX2) || defined(LLM_KERNEL_AVX_VNNI) || defined(LLM_KERNEL_DISPATCH_X86)
LLM_TARGET_AVX2
#include "q8_avx2.h"

/* `rows` is the constant 8 for whole blocks, so the masks drop out there. */
TARGET static inline __attribute__((always_inline)) void block_rows(float *out, const int8_t *x, const float *xs,
                                                             const uint8_t *p, int rows, int cols,
                                                             int group_size) {
    const long chunk = 4L * rows;
    const __m256i mask = lanes_avx2(rows);
    __m256 sum = _mm256_setzero_ps();
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        const int len = cols - start < group_size ? cols - start : group_size;
        const int chunks = (len + 3) / 4;
        const int8_t *xg = x + start;
        __m256i acc = group_start(xg, 4 * chunks);
        /* two accumulators: the multiply-add's latency exceeds its issue interval */
        __m256i acc2 = _mm256_setzero_si256();
        int c = 0;
        for (; c + 2 <= chunks; c += 2, p += 2 * chunk) {
            _mm_prefetch((const char *)p + LLM_PREFETCH_BYTES, _MM_HINT_T0); /* may pass the image's end: no fault */
            const __m256i w = load_chunk(p, rows, mask), w2 = load_chunk(p + chunk, rows, mask);
            acc = dot_chunk(acc, w, chunk_magnitudes(w), broadcast4(xg + 4 * c));
            acc2 = dot_chunk(acc2, w2, chunk_magnitudes(w2), broadcast4(xg + 4 * c + 4));
        }
        if (c < chunks) {
            const __m256i w = load_chunk(p, rows, mask);
            acc = dot_chunk(acc, w, chunk_magnitudes(w), broadcast4(xg + 4 * c));
            p += chunk;
        }
        sum = add_group(sum, _mm256_add_epi32(acc, acc2), load_scales(p, rows, mask), xs[g]);
        p += chunk;
    }
    store_rows(out, sum, rows, mask);
}

TARGET void matvec_q8_avx2(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                    int group_size) {
    if (rows == 8) {
        block_rows(out, x, xs, block, 8, cols, group_size);
    } else {
        block_rows(out, x, xs, block, rows, cols, group_size);
    }
}
#endif
