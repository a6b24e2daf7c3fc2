/* swiglu_f32_vfp.c - swiglu_f32 (swiglu_f32.c) in single-precision VFP assembly for
 * the Cortex-M FPU: h = g / (1 + exp_f32(-g)) * h3, with exp_f32 (exp_f32.c) step by
 * step for |-g| <= 87, where k lies in [-126, 126] and 2^k is normal; other values
 * (and NaN) go to exp_f32 itself. VMLA/VMLS round the product and then the sum,
 * as C's a * b + c under -ffp-contract=off: the same floats. */
#include "kernels.h"

#if defined(LLM_KERNEL_VFP)
#include "exp_f32.h"

/* s16..s23 */
static const float exp_consts[8] = {1.0f / 5040.0f, EXP_F32_LOG2E, -0.5f, EXP_F32_LN2_HI, EXP_F32_LN2_LO,
                                    87.0f, 0.5f, 1.0f};
/* the rest of the series, reloaded for each value: VMLA adds into its destination */
static const float exp_taylor[8] = EXP_F32_TAYLOR;

void swiglu_f32_vfp(float *h, const float *h3, int n) {
    const uint32_t one = 0x3F800000u; /* the bits of 1.0f: + k << 23 gives 2^k */
    uint32_t t = 0;
    while (n > 0) {
        __asm__ volatile(
            "vldmia %[k], {s16-s23}\n"
            "1:\n\t"
            "vldr s9, [%[h]]\n\t"           /* g */
            "vneg.f32 s0, s9\n\t"           /* x = -g */
            "vabs.f32 s1, s0\n\t"
            "vcmp.f32 s1, s21\n\t"
            "vmrs APSR_nzcv, fpscr\n\t"
            "bhi 2f\n\t"                    /* |x| > 87, or NaN */
            "vmul.f32 s1, s0, s17\n\t"      /* kf = x * log2e */
            "vcmp.f32 s1, #0\n\t"
            "vmrs APSR_nzcv, fpscr\n\t"
            "ite lt\n\t"
            "vaddlt.f32 s1, s1, s18\n\t"    /* kf + (kf < 0 ? -0.5 : 0.5) */
            "vaddge.f32 s1, s1, s22\n\t"
            "vcvt.s32.f32 s1, s1\n\t"       /* k, rounded towards 0 as C's (int) */
            "vmov %[t], s1\n\t"
            "vcvt.f32.s32 s1, s1\n\t"
            "vmls.f32 s0, s1, s19\n\t"      /* r = (x - k ln2_hi) - k ln2_lo */
            "vmls.f32 s0, s1, s20\n\t"
            "vldmia %[c], {s2-s8}\n\t"      /* p = p * r + c, from c7 (s16) down to c0 */
            "vmla.f32 s2, s16, s0\n\t"
            "vmla.f32 s3, s2, s0\n\t"
            "vmla.f32 s4, s3, s0\n\t"
            "vmla.f32 s5, s4, s0\n\t"
            "vmla.f32 s6, s5, s0\n\t"
            "vmla.f32 s7, s6, s0\n\t"
            "vmla.f32 s8, s7, s0\n\t"
            "add %[t], %[one], %[t], lsl #23\n\t" /* 2^k */
            "vmov s1, %[t]\n\t"
            "vmul.f32 s8, s8, s1\n\t"       /* e^-g */
            "vadd.f32 s8, s8, s23\n\t"      /* 1 + e^-g */
            "vdiv.f32 s9, s9, s8\n\t"       /* g / (1 + e^-g) */
            "vldmia %[h3]!, {s1}\n\t"
            "vmul.f32 s9, s9, s1\n\t"       /* * h3 */
            "vstmia %[h]!, {s9}\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n"
            "2:"
            : [h] "+r"(h), [h3] "+r"(h3), [n] "+r"(n), [t] "+r"(t)
            : [k] "r"(exp_consts), [c] "r"(exp_taylor + 1), [one] "r"(one)
            : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s16", "s17", "s18", "s19", "s20",
              "s21", "s22", "s23", "cc", "memory");
        if (n > 0) { /* stopped at a value exp_f32 computes itself */
            const float g = *h;
            *h++ = g / (1.0f + exp_f32(-g)) * *h3++;
            n--;
        }
    }
}
#endif
