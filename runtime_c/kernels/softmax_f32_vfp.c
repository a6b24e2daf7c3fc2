/* softmax_f32_vfp.c - softmax_f32 (softmax_f32.c) in single-precision VFP assembly
 * for the Cortex-M FPU: the same floats, in about a third of the instructions.
 * Its exponentials are exp_f32's (exp_f32.c) step by step: every argument is
 * x - max <= 0, for which exp_f32 rounds k with -0.5 (at 0 too: k = 0 either way);
 * from -87 up, k >= -126 and 2^k is normal, so the result is p * 2^k; below
 * EXP_F32_MIN it is 0. The arguments between (subnormal results) and NaN go to
 * exp_f32 itself. VMLA/VMLS round the product and then the sum, as C's a * b + c
 * under -ffp-contract=off. */
#include "kernels.h"

#if defined(LLM_KERNEL_VFP)
#include "exp_f32.h"

/* s17..s22 for the exponential loop */
static const float exp_consts[6] = {EXP_F32_LOG2E, EXP_F32_LN2_HI, EXP_F32_LN2_LO, -87.0f, EXP_F32_MIN, 0.0f};
/* reloaded for each value into s1..s9, as VMLA adds into its destination: -0.5
 * for kf - 0.5 = -0.5 + d * log2e, then the series from c7 */
static const float exp_addends[9] = {-0.5f, EXP_F32_TAYLOR_TERMS};

/* max over x[1..n) from `max` on, as softmax_f32's loop: a value replaces the
 * maximum only when greater (never a NaN). */
static float max_from(const float *x, int n, float max) {
    int i = 1;
    int blocks = (n - 1) / 8;
    if (blocks > 0) {
        const float *p = x + 1;
#define MAX_STEP(s) "vcmp.f32 " s ", %[max]\n\tvmrs APSR_nzcv, fpscr\n\tit gt\n\tvmovgt.f32 %[max], " s "\n\t"
        __asm__("1:\n\t"
                "vldmia %[p]!, {s0-s7}\n\t"
                MAX_STEP("s0") MAX_STEP("s1") MAX_STEP("s2") MAX_STEP("s3")
                MAX_STEP("s4") MAX_STEP("s5") MAX_STEP("s6") MAX_STEP("s7")
                "subs %[blocks], %[blocks], #1\n\t"
                "bne 1b"
                : [p] "+r"(p), [blocks] "+r"(blocks), [max] "+t"(max)
                : "m"(*(const float(*)[n])x)
                : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "cc");
#undef MAX_STEP
        i = 1 + (n - 1) / 8 * 8;
    }
    for (; i < n; i++) {
        if (x[i] > max) max = x[i];
    }
    return max;
}

void softmax_f32_vfp(float *x, int n) {
    const float max = max_from(x, n, x[0]);
    float sum = 0.0f;
    float *p = x;
    int left = n;
    const uint32_t one = 0x3F800000u; /* the bits of 1.0f: + k << 23 gives 2^k */
    uint32_t t = 0;
    while (left > 0) {
        /* e = exp_f32(x - max) in order, until the end or a value for exp_f32 itself */
        __asm__ volatile(
            "vldmia %[k], {s17-s22}\n"
            "1:\n\t"
            "vldr s0, [%[p]]\n\t"
            "vsub.f32 s0, s0, %[max]\n\t"   /* d = x - max */
            "vcmp.f32 s0, s20\n\t"
            "vmrs APsR_nzcv, fpscr\n\t"
            "blt 3f\n\t"                    /* d < -87, or NaN */
            "vldmia %[c], {s1-s9}\n\t"
            "vmla.f32 s1, s0, s17\n\t"      /* kf - 0.5, kf = d * log2e */
            "vcvt.s32.f32 s1, s1\n\t"       /* k, rounded towards 0 as C's (int) */
            "vmov %[t], s1\n\t"
            "vcvt.f32.s32 s1, s1\n\t"
            "vmls.f32 s0, s1, s18\n\t"      /* r = (d - k ln2_hi) - k ln2_lo */
            "vmls.f32 s0, s1, s19\n\t"
            "vmla.f32 s3, s2, s0\n\t"       /* p = p * r + c, from c7 down to c0 */
            "vmla.f32 s4, s3, s0\n\t"
            "vmla.f32 s5, s4, s0\n\t"
            "vmla.f32 s6, s5, s0\n\t"
            "vmla.f32 s7, s6, s0\n\t"
            "vmla.f32 s8, s7, s0\n\t"
            "vmla.f32 s9, s8, s0\n\t"
            "add %[t], %[one], %[t], lsl #23\n\t" /* 2^k */
            "vmov s1, %[t]\n\t"
            "vmul.f32 s9, s9, s1\n"
            "2:\n\t"
            "vstmia %[p]!, {s9}\n\t"
            "vadd.f32 %[sum], %[sum], s9\n\t"
            "subs %[left], %[left], #1\n\t"
            "bne 1b\n\t"
            "b 4f\n"
            "3:\n\t"
            "bvs 4f\n\t"                    /* NaN */
            "vcmp.f32 s0, s21\n\t"
            "vmrs APsR_nzcv, fpscr\n\t"
            "bge 4f\n\t"                    /* a subnormal result */
            "vmov.f32 s9, s22\n\t"          /* below EXP_F32_MIN: 0 */
            "b 2b\n"
            "4:"
            : [p] "+r"(p), [left] "+r"(left), [sum] "+t"(sum), [t] "+r"(t)
            : [max] "t"(max), [k] "r"(exp_consts), [c] "r"(exp_addends), [one] "r"(one)
            : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s17", "s18", "s19", "s20", "s21",
              "s22", "cc", "memory");
        if (left > 0) { /* stopped at a value exp_f32 computes itself */
            *p = exp_f32(*p - max);
            sum += *p++;
            left--;
        }
    }
    int blocks = n / 8;
    if (blocks > 0) {
        float *q = x;
#define DIV8 "vdiv.f32 s0, s0, %[sum]\n\tvdiv.f32 s1, s1, %[sum]\n\tvdiv.f32 s2, s2, %[sum]\n\t" \
             "vdiv.f32 s3, s3, %[sum]\n\tvdiv.f32 s4, s4, %[sum]\n\tvdiv.f32 s5, s5, %[sum]\n\t" \
             "vdiv.f32 s6, s6, %[sum]\n\tvdiv.f32 s7, s7, %[sum]\n\t"
        __asm__ volatile("1:\n\t"
                         "vldmia %[q], {s0-s7}\n\t" DIV8
                         "vstmia %[q]!, {s0-s7}\n\t"
                         "subs %[blocks], %[blocks], #1\n\t"
                         "bne 1b"
                         : [q] "+r"(q), [blocks] "+r"(blocks)
                         : [sum] "t"(sum)
                         : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "cc", "memory");
#undef DIV8
    }
    for (int i = n / 8 * 8; i < n; i++) x[i] /= sum;
}
#endif
