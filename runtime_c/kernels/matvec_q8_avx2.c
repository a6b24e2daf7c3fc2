/* x86-64 AVX2 and AVX-VNNI: one block of up to 8 rows.
 *
 * A chunk is 8 rows x 4 columns = 32 bytes = one ymm: every row's four weights
 * meet the same four activations (broadcast), and each int32 lane collects one
 * row, so there is no horizontal sum.
 * - AVX2 (weights signed, bias 0): VPMADDUBSW wants one unsigned operand, so it
 *   multiplies |x| by w carrying x's sign; |x|, |w| <= 127, so its int16 pair sums
 *   (at most 2 * 127 * 127) never saturate; VPMADDWD by ones widens them to int32.
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
#include <immintrin.h>
#include "lanes_avx2.h"
#include <string.h>

/* VNNI is enabled for this file's functions alone, not for the whole build: GCC 12
 * auto-vectorizes plain int8 dot products elsewhere (the reference's) into VPDPBUSD
 * with the signedness wrong (seen on -O2 -fvect-cost-model=cheap, and at -O3). */
#if defined(LLM_KERNEL_AVX_VNNI) && defined(LLM_VNNI_EVEX)
/* the same instruction EVEX-encoded (AVX512-VNNI + VL): lets a CPU without AVX-VNNI
 * but with AVX-512 VNNI test this kernel (tests/test_isa_kernels.py) */
#define DPBUSD _mm256_dpbusd_epi32
#define TARGET __attribute__((target("avx512vnni,avx512vl")))
#elif defined(LLM_KERNEL_AVX_VNNI)
#define DPBUSD _mm256_dpbusd_avx_epi32 /* VEX-encoded: AVX-VNNI */
#define TARGET __attribute__((target("avxvnni")))
#else
#define TARGET
#endif

TARGET static inline __m256i broadcast4(const int8_t *x) {
    int32_t v;
    memcpy(&v, x, sizeof v);
    return _mm256_set1_epi32(v);
}

#if defined(LLM_KERNEL_AVX_VNNI)
/* -128 * (x[0] + ... + x[n - 1]) in every lane, n a multiple of 4 (whole chunks). */
TARGET static inline __m256i minus_128_sum(const int8_t *x, int n) {
    const __m256i ones = _mm256_set1_epi8(1);
    __m256i s = _mm256_setzero_si256();
    int j = 0;
    for (; j + 32 <= n; j += 32) s = DPBUSD(s, ones, _mm256_loadu_si256((const __m256i *)(x + j)));
    if (j < n) s = DPBUSD(s, ones, _mm256_maskload_epi32((const int *)(x + j), lanes_avx2((n - j) / 4)));
    s = _mm256_add_epi32(s, _mm256_permute2x128_si256(s, s, 0x01));
    s = _mm256_add_epi32(s, _mm256_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm256_add_epi32(s, _mm256_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(s, 7));
}

TARGET static inline __m256i dot_chunk(__m256i acc, __m256i w, __m256i x) {
    return DPBUSD(acc, w, x);
}
#else
TARGET static inline __m256i dot_chunk(__m256i acc, __m256i w, __m256i x) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(w, x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}
#endif

/* A chunk of weights: whole blocks load 32 bytes; a short block's chunk is
 * rows * 4 bytes, loaded as `rows` int32 lanes (the others zero). */
TARGET static inline __m256i load_chunk(const uint8_t *p, int rows, __m256i mask) {
    return rows == 8 ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskload_epi32((const int *)p, mask);
}

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
#if defined(LLM_KERNEL_AVX_VNNI)
        __m256i acc = minus_128_sum(xg, 4 * chunks);
#else
        __m256i acc = _mm256_setzero_si256();
#endif
        /* two accumulators: the multiply-add's latency exceeds its issue interval */
        __m256i acc2 = _mm256_setzero_si256();
        int c = 0;
        for (; c + 2 <= chunks; c += 2, p += 2 * chunk) {
            _mm_prefetch((const char *)p + LLM_PREFETCH_BYTES, _MM_HINT_T0); /* may pass the image's end: no fault */
            acc = dot_chunk(acc, load_chunk(p, rows, mask), broadcast4(xg + 4 * c));
            acc2 = dot_chunk(acc2, load_chunk(p + chunk, rows, mask), broadcast4(xg + 4 * c + 4));
        }
        if (c < chunks) {
            acc = dot_chunk(acc, load_chunk(p, rows, mask), broadcast4(xg + 4 * c));
            p += chunk;
        }
        acc = _mm256_add_epi32(acc, acc2);
        const __m256 scales = rows == 8 ? _mm256_loadu_ps((const float *)(const void *)p)
                                        : _mm256_maskload_ps((const float *)(const void *)p, mask);
        p += chunk;
        const __m256 prod = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), scales), _mm256_set1_ps(xs[g]));
        sum = _mm256_add_ps(sum, prod);
    }
    if (rows == 8) {
        _mm256_storeu_ps(out, sum);
    } else {
        _mm256_maskstore_ps(out, mask, sum);
    }
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
