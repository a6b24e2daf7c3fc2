/* scores_f32_vfp.c - scores_f32 (scores.c) in single-precision VFP assembly for
 * the Cortex-M FPU: 8 positions at a time, their 8 sums in s8..s15 while each key
 * element's row is read with one VLDM of 8 floats and multiplied in with VMLA
 * (product rounded, then the sum: C's a += q * k). Each sum still runs over the
 * elements in order from 0.0f, then is divided by `scale`: the same floats. The
 * last few positions are one more block where the rows are long enough (reading
 * up to 7 floats past n in each row), else one by one. */
#include "kernels.h"

#if defined(LLM_KERNEL_VFP)
static const float zeros[8];

#define MLA8(q) "vmla.f32 s8, " q ", s16\n\tvmla.f32 s9, " q ", s17\n\tvmla.f32 s10, " q ", s18\n\t"  \
                "vmla.f32 s11, " q ", s19\n\tvmla.f32 s12, " q ", s20\n\tvmla.f32 s13, " q ", s21\n\t" \
                "vmla.f32 s14, " q ", s22\n\tvmla.f32 s15, " q ", s23\n\t"
#define ROW(q) "vldm %[ki], {s16-s23}\n\tadd %[ki], %[ki], %[stride]\n\t" MLA8(q)

/* att[0..8 blocks) for the positions from keys[0] on, 8 per block */
static inline void score_blocks(float *att, const float *q, const float *keys, int stride, int blocks,
                                int head_dim, float scale) {
    const float *qi, *ki;
    __asm__ volatile(
        "0:\n\t"
        "vldm %[zeros], {s8-s15}\n\t"
        "mov %[qi], %[q]\n\t"
        "mov %[ki], %[kb]\n"
        "1:\n\t"
        "vldmia %[qi]!, {s0-s3}\n\t"
        ROW("s0") ROW("s1") ROW("s2") ROW("s3")
        "cmp %[qi], %[qend]\n\t"
        "bne 1b\n\t"
        "vdiv.f32 s8, s8, %[scale]\n\tvdiv.f32 s9, s9, %[scale]\n\t"
        "vdiv.f32 s10, s10, %[scale]\n\tvdiv.f32 s11, s11, %[scale]\n\t"
        "vdiv.f32 s12, s12, %[scale]\n\tvdiv.f32 s13, s13, %[scale]\n\t"
        "vdiv.f32 s14, s14, %[scale]\n\tvdiv.f32 s15, s15, %[scale]\n\t"
        "vstmia %[a]!, {s8-s15}\n\t"
        "add %[kb], %[kb], #32\n\t"
        "subs %[blocks], %[blocks], #1\n\t"
        "bne 0b"
        : [a] "+r"(att), [kb] "+r"(keys), [blocks] "+r"(blocks), [qi] "=&r"(qi), [ki] "=&r"(ki)
        : [q] "r"(q), [qend] "r"(q + head_dim), [stride] "r"(stride * 4), [zeros] "r"(zeros), [scale] "t"(scale)
        : "s0", "s1", "s2", "s3", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19",
          "s20", "s21", "s22", "s23", "cc", "memory");
}

void scores_f32_vfp(float *att, const float *q, const float *keys, int stride, int n, int head_dim, float scale) {
    if (head_dim <= 0 || head_dim % 4 != 0) { /* the loop below takes 4 elements of q at a time */
        scores_f32(att, q, keys, stride, n, head_dim, scale);
        return;
    }
    const int whole = n / 8 * 8, rest = n - whole;
    if (whole > 0) score_blocks(att, q, keys, stride, whole / 8, head_dim, scale);
    if (rest >= 2 && whole + 8 <= stride) {
        /* the last few as one more block, when the rows reach that far: the
         * positions past n cost nothing but their arithmetic */
        float last[8];
        score_blocks(last, q, keys + whole, stride, 1, head_dim, scale);
        for (int t = 0; t < rest; t++) att[whole + t] = last[t];
        return;
    }
    for (int t = whole; t < n; t++) { /* else one by one */
        float sum = 0.0f;
        for (int i = 0; i < head_dim; i++) sum += q[i] * keys[(long)i * stride + t];
        att[t] = sum / scale;
    }
}
#endif
