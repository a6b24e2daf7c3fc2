/* x86-64 AVX-512 VNNI: one block of up to 16 rows, weights stored + 128 (unsigned).
 *
 * A chunk is 16 rows x 4 columns = 64 bytes = one zmm, so one VPDPBUSD multiplies
 * every row's four bytes by the same four activations (broadcast) and adds them into
 * that row's int32 lane: lanes are rows, and no horizontal sum is ever needed.
 * VPDPBUSD takes unsigned x signed bytes, hence the stored bias: a lane gets
 * sum((w + 128) * x) = sum(w * x) + 128 * sum(x), so each group's accumulator
 * starts at -128 * sum(x over the group), one value for all 16 rows (computed once
 * per group and block: one VPDPBUSD of 64 activations against ones and a lane sum).
 * The int32 results are exact (VPDPBUSD wraps, but the true sum fits in int32).
 * The float epilogue runs across the 16 rows at once: (float)acc * scales * xs[g],
 * added to the rows' running sums, each lane in the reference's order (x86 vector
 * floats are IEEE, with denormals). The weight stream is prefetched
 * LLM_PREFETCH_BYTES ahead (prefetch.h), two lines per two chunks. */
#include "kernels.h"

#if defined(LLM_KERNEL_AVX512_VNNI)
#include "q8_avx512_vnni.h"

/* -128 * (x[0] + ... + x[n - 1]) in every lane (n: whole chunks). */
VNNI_TARGET static inline __m512i minus_128_sum(const int8_t *x, int n) {
    __m512i s = x_lane_sums(x, n);
    /* the lane total, in every lane: four permute-and-add steps */
    s = _mm512_add_epi32(s, _mm512_shuffle_i32x4(s, s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm512_add_epi32(s, _mm512_shuffle_i32x4(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
    s = _mm512_add_epi32(s, _mm512_shuffle_epi32(s, _MM_PERM_BADC));
    s = _mm512_add_epi32(s, _mm512_shuffle_epi32(s, _MM_PERM_CDAB));
    return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, 7));
}

/* A block of `rows` rows: `rows` is the constant 16 for whole blocks, so the
 * compiler drops the masks there; a short block's chunks are rows * 4 bytes. */
VNNI_TARGET static inline __attribute__((always_inline)) void block_rows(float *out, const int8_t *x, const float *xs,
                                                             const uint8_t *p, int rows, int cols,
                                                             int group_size) {
    const long chunk = 4L * rows;
    const __mmask64 wmask = rows == 16 ? ~0ULL : ~0ULL >> (64 - chunk);
    const __mmask16 rmask = (__mmask16)((1u << rows) - 1);
    __m512 sum = _mm512_setzero_ps();
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        const int len = cols - start < group_size ? cols - start : group_size;
        const int chunks = (len + 3) / 4;
        const int8_t *xg = x + start;
        __m512i acc = minus_128_sum(xg, 4 * chunks);
        int c = 0;
        /* two accumulators: VPDPBUSD's latency is longer than its issue interval */
        __m512i acc2 = _mm512_setzero_si512();
        for (; c + 2 <= chunks; c += 2, p += 2 * chunk) {
            _mm_prefetch((const char *)p + LLM_PREFETCH_BYTES, _MM_HINT_T0); /* may pass the image's end: no fault */
            _mm_prefetch((const char *)p + LLM_PREFETCH_BYTES + 64, _MM_HINT_T0);
            acc = _mm512_dpbusd_epi32(acc, _mm512_maskz_loadu_epi8(wmask, p), broadcast4(xg + 4 * c));
            acc2 = _mm512_dpbusd_epi32(acc2, _mm512_maskz_loadu_epi8(wmask, p + chunk), broadcast4(xg + 4 * c + 4));
        }
        if (c < chunks) {
            acc = _mm512_dpbusd_epi32(acc, _mm512_maskz_loadu_epi8(wmask, p), broadcast4(xg + 4 * c));
            p += chunk;
        }
        acc = _mm512_add_epi32(acc, acc2);
        const __m512 scales = _mm512_maskz_loadu_ps(rmask, p);
        p += chunk;
        sum = add_group(sum, acc, scales, xs[g]);
    }
    _mm512_mask_storeu_ps(out, rmask, sum);
}

VNNI_TARGET void matvec_q8_avx512_vnni(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                           int group_size) {
    if (rows == 16) {
        block_rows(out, x, xs, block, 16, cols, group_size);
    } else {
        block_rows(out, x, xs, block, rows, cols, group_size);
    }
}
#endif
