/* Cortex-M4/M7 DSP extension: SMLAD multiplies two pairs of int16 and adds both
 * products to an int32. The activations are widened to int16 once per
 * matrix-vector product (group_dot_q8_prepare), in the order SXTB16 produces
 * weights: of every four, (x0, x2) then (x1, x3). Then four int8 products
 * take one weight load, two SXTB16 and two SMLAD, plus the activation loads. */
#include "kernels.h"

#if defined(LLM_KERNEL_DSP)
#include <arm_acle.h>
#include <string.h>

/* Where activation j lives in the prepared array. */
static inline int slot(int j) {
    static const int8_t order[4] = {0, 2, 1, 3};
    return (j & ~3) + order[j & 3];
}

void group_dot_q8_prepare(int8_t *prepared, const int8_t *x, int n) {
    int16_t *p = (int16_t *)(void *)prepared;
    for (int j = 0; j < n; j++) p[slot(j)] = x[j];
    for (int j = n; j & 3; j++) p[slot(j)] = 0; /* the last quad, padded */
}

/* Bytes 1 and 3 sign-extended: SXTB16 with its rotate folded in (the intrinsic
 * would cost a separate ROR). */
static inline uint32_t sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline uint32_t load4(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one LDR: Cortex-M4/M7 load unaligned words */
    return v;
}

/* Four int8 weights times their four prepared activations (two int16 pairs). */
static inline int32_t quad(int32_t acc, uint32_t w, const uint32_t *x) {
    acc = __smlad(__sxtb16(w), x[0], acc);
    return __smlad(sxtb16_ror8(w), x[1], acc);
}

void group_dot_q8_dsp(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size) {
    const int16_t *xp = (const int16_t *)(const void *)x;
    int start = 0, g = 0;
    if (group_size % 16 == 0) { /* the usual case: whole groups in a tight pointer loop */
        const uint32_t *xw = (const uint32_t *)(const void *)xp; /* aligned: a planned buffer */
        const int8_t *wp = w;
        for (; start + group_size <= n; start += group_size, g++) {
            int32_t acc = 0;
            for (int k = group_size / 16; k > 0; k--, wp += 16, xw += 8) {
                acc = quad(acc, load4(wp), xw);
                acc = quad(acc, load4(wp + 4), xw + 2);
                acc = quad(acc, load4(wp + 8), xw + 4);
                acc = quad(acc, load4(wp + 12), xw + 6);
            }
            sums[g] = acc;
        }
    }
    for (; start < n; start += group_size, g++) {
        int end = start + group_size < n ? start + group_size : n;
        int32_t acc = 0;
        int j = start;
        if ((start & 3) == 0) { /* whole quads */
            for (; j + 4 <= end; j += 4) acc = quad(acc, load4(w + j), (const uint32_t *)(const void *)(xp + j));
        }
        for (; j < end; j++) acc += (int32_t)xp[slot(j)] * (int32_t)w[j];
        sums[g] = acc;
    }
}

/* acc += four activations (xa, xb: prepared, two words loaded once) times the word
 * of four weights at p, p + stride, q, q + stride (rows 0 to 3): 21 instructions
 * for 16 multiply-accumulates. */
#define ROW_STEP(acc, load)                              \
    load                                                 \
    "sxtb16 %[t], %[v]\n\t"                             \
    "smlad  " acc ", %[t], %[xa], " acc "\n\t"          \
    "sxtb16 %[v], %[v], ror #8\n\t"                     \
    "smlad  " acc ", %[v], %[xb], " acc "\n\t"
#define FOUR_ROWS_STEP                                          \
    "ldrd   %[xa], %[xb], [%[xw]], #8\n\t"                    \
    ROW_STEP("%[a1]", "ldr    %[v], [%[p], %[stride]]\n\t")   \
    ROW_STEP("%[a0]", "ldr    %[v], [%[p]], #4\n\t")          \
    ROW_STEP("%[a3]", "ldr    %[v], [%[q], %[stride]]\n\t")   \
    ROW_STEP("%[a2]", "ldr    %[v], [%[q]], #4\n\t")

/* GROUP_DOT_ROWS rows at once, row r at w + r * stride, its sums at
 * sums + r * sums_stride: each pair of activation words is loaded once for all. */
void group_dot_rows_q8_dsp(int32_t *sums, int sums_stride, const int8_t *x, const int8_t *w, long stride,
                           int n, int group_size) {
    int start = 0, g = 0;
    if (group_size % 8 == 0) {
        const uint32_t *xw = (const uint32_t *)(const void *)x; /* 8-byte aligned: a planned buffer */
        uint32_t xa, xb, v, t;
        for (; start + group_size <= n; start += group_size, g++) {
            const int8_t *p = w + start, *q = p + 2 * stride; /* rows 0, 2; rows 1, 3 at +stride */
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            int k = group_size / 8;
            /* FOUR_ROWS_STEP twice per turn: 44 instructions for 32 multiply-accumulates.
             * Written out because the compiler spills these 13 live registers. */
            __asm__ volatile(
                "1:\n\t" FOUR_ROWS_STEP FOUR_ROWS_STEP
                "subs   %[k], %[k], #1\n\t"
                "bne    1b\n\t"
                : [p] "+r"(p), [q] "+r"(q), [xw] "+r"(xw), [k] "+r"(k), [a0] "+r"(a0), [a1] "+r"(a1),
                  [a2] "+r"(a2), [a3] "+r"(a3), [xa] "=&r"(xa), [xb] "=&r"(xb), [v] "=&r"(v), [t] "=&r"(t)
                : [stride] "r"(stride)
                : "cc", "memory");
            sums[g] = a0;
            sums[sums_stride + g] = a1;
            sums[2 * sums_stride + g] = a2;
            sums[3 * sums_stride + g] = a3;
        }
    }
    if (start < n) { /* a shorter last group, or groups off the quads: row by row */
        for (int r = 0; r < GROUP_DOT_ROWS; r++) {
            group_dot_q8_dsp(sums + r * sums_stride + g, x + (long)start * KERNEL_X_BYTES, w + r * stride + start,
                             n - start, group_size);
        }
    }
}
#endif
