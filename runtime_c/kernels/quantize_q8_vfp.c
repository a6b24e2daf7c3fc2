/* quantize_q8_vfp.c - quantize_q8 (quantize_q8.c) in single-precision VFP assembly
 * for the Cortex-M FPU: the group's max |x| 8 floats per load, then per value
 * t = (int)(2 (x / scale)) (VADD of the quotient to itself: the same exact double)
 * and q = (t + 1 + (t < 0 ? -1 : 0)) >> 1 (an arithmetic shift: the floor, which
 * is the reference's (t +- 1) / 2 rounded towards 0), the same bytes. The
 * reference's clamp to [-127, 127] is SSAT's to [-128, 127] here: for finite x,
 * |x / scale| is at most 127 and a bit (scale is amax / 127 rounded), so t lies
 * in [-254, 254] and q in [-127, 127], where both clamps change nothing. */
#include <math.h>
#include "kernels.h"

#if defined(LLM_KERNEL_VFP)
/* max |x[i]| over x[0..n) from 0, as the reference: a value replaces it only when greater */
static float abs_max(const float *x, int n) {
    float amax = 0.0f;
    int blocks = n / 8;
    if (blocks > 0) {
        const float *p = x;
#define STEP(s) "vabs.f32 " s ", " s "\n\tvcmp.f32 " s ", %[m]\n\tvmrs APSR_nzcv, fpscr\n\tit gt\n\tvmovgt.f32 %[m], " s "\n\t"
        __asm__("1:\n\t"
                "vldmia %[p]!, {s0-s7}\n\t"
                STEP("s0") STEP("s1") STEP("s2") STEP("s3") STEP("s4") STEP("s5") STEP("s6") STEP("s7")
                "subs %[blocks], %[blocks], #1\n\t"
                "bne 1b"
                : [p] "+r"(p), [blocks] "+r"(blocks), [m] "+t"(amax)
                : "m"(*(const float(*)[n])x)
                : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "cc");
#undef STEP
    }
    for (int i = n / 8 * 8; i < n; i++) {
        const float a = fabsf(x[i]);
        if (a > amax) amax = a;
    }
    return amax;
}

#define ROUND(s) "vdiv.f32 " s ", " s ", %[scale]\n\tvadd.f32 " s ", " s ", " s "\n\tvcvt.s32.f32 " s ", " s "\n\t" \
                 "vmov %[t], " s "\n\tadd %[t], %[t], %[t], asr #31\n\tadd %[t], %[t], #1\n\t"             \
                 "asr %[t], %[t], #1\n\tssat %[t], #8, %[t]\n\tstrb %[t], [%[q]], #1\n\t"

void quantize_q8_vfp(int8_t *xq, float *xs, const float *x, int n, int group_size) {
    int n_groups = (n + group_size - 1) / group_size;
    for (int g = 0; g < n_groups; g++) {
        int start = g * group_size;
        int end = start + group_size < n ? start + group_size : n;
        float scale = abs_max(x + start, end - start) / 127.0f;
        if (scale < KERNEL_MIN_SCALE) scale = 0.0f; /* and the group zeros: see kernels.h */
        xs[g] = scale;
        if (scale == 0.0f) {
            for (int j = start; j < end; j++) xq[j] = 0;
            continue;
        }
        const float *p = x + start;
        int8_t *q = xq + start;
        int blocks = (end - start) / 8, rest = (end - start) % 8, t;
        __asm__ volatile("cmp %[blocks], #0\n\t"
                         "beq 2f\n"
                         "1:\n\t"
                         "vldmia %[p]!, {s0-s7}\n\t"
                         ROUND("s0") ROUND("s1") ROUND("s2") ROUND("s3")
                         ROUND("s4") ROUND("s5") ROUND("s6") ROUND("s7")
                         "subs %[blocks], %[blocks], #1\n\t"
                         "bne 1b\n"
                         "2:\n\t"
                         "cmp %[rest], #0\n\t"
                         "beq 4f\n"
                         "3:\n\t"
                         "vldmia %[p]!, {s0}\n\t"
                         ROUND("s0")
                         "subs %[rest], %[rest], #1\n\t"
                         "bne 3b\n"
                         "4:"
                         : [p] "+r"(p), [q] "+r"(q), [blocks] "+r"(blocks), [rest] "+r"(rest), [t] "=&r"(t)
                         : [scale] "t"(scale)
                         : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "cc", "memory");
    }
}
#endif
