/* weighted_sum_f32_vfp.c - weighted_sum_f32 (weighted_sum.c) in single-precision
 * VFP assembly for the Cortex-M FPU: 8 outputs at a time in s8..s15, each position's
 * 8 values read with one VLDM and added in with VMLA (product rounded, then the
 * sum: C's out += w * v), positions in order: the same floats. */
#include "kernels.h"

#if defined(LLM_KERNEL_VFP)
static const float zeros[8];

#define MLA8(w, v0, v1, v2, v3, v4, v5, v6, v7)                                                             \
    "vmla.f32 s8, " w ", " v0 "\n\tvmla.f32 s9, " w ", " v1 "\n\tvmla.f32 s10, " w ", " v2 "\n\t"           \
    "vmla.f32 s11, " w ", " v3 "\n\tvmla.f32 s12, " w ", " v4 "\n\tvmla.f32 s13, " w ", " v5 "\n\t"         \
    "vmla.f32 s14, " w ", " v6 "\n\tvmla.f32 s15, " w ", " v7 "\n\t"
#define FIRST "vldm %[vi], {s16-s23}\n\tadd %[vi], %[vi], %[stride]\n\t" \
              MLA8("s0", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23")
#define SECOND "vldm %[vi], {s24-s31}\n\tadd %[vi], %[vi], %[stride]\n\t" \
               MLA8("s1", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31")

void weighted_sum_f32_vfp(float *out, const float *att, const float *values, int stride, int n, int head_dim) {
    int i = 0;
    for (; i + 8 <= head_dim && n > 0; i += 8) { /* 8 outputs over all positions */
        const float *a = att, *vi = values + i;
        int pairs = n / 2;
        __asm__ volatile(
            "vldm %[zeros], {s8-s15}\n\t"
            "tst %[n], #1\n\t"
            "beq 1f\n\t"
            "vldmia %[a]!, {s0}\n\t" /* an odd position first, then pairs */
            FIRST
            "1:\n\t"
            "cmp %[pairs], #0\n\t"
            "beq 3f\n"
            "2:\n\t"
            "vldmia %[a]!, {s0-s1}\n\t"
            FIRST SECOND
            "subs %[pairs], %[pairs], #1\n\t"
            "bne 2b\n"
            "3:\n\t"
            "vstm %[out], {s8-s15}"
            : [a] "+r"(a), [vi] "+r"(vi), [pairs] "+r"(pairs)
            : [n] "r"(n), [out] "r"(out + i), [stride] "r"(stride * 4), [zeros] "r"(zeros)
            : "s0", "s1", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19", "s20",
              "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31", "cc", "memory");
    }
    for (; i < head_dim; i++) { /* the outputs past the last 8, as the reference */
        float sum = 0.0f;
        for (int t = 0; t < n; t++) sum += att[t] * values[(long)t * stride + i];
        out[i] = sum;
    }
}
#endif
