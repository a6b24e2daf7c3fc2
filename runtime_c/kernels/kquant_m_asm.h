/* kquant_m_asm.h - what the Cortex-M k-quant twins (matvec_kquant_dsp.c, matvec_kquant_mve.c)
 * share: GNU assembler macros, as a C string (KQUANT_M_ASM) that each file puts in
 * its own __asm__ block before its functions and purges after them
 * (KQUANT_M_ASM_PURGE), and the C around the assembly's group of two rows of any
 * size (kquant_m_group_pair). What differs between the twins, the products of a
 * sub-block, stays in each file; its macro Q4_SUB j, n (sub-block j of a group of
 * n) is what Q4_GROUP expands, so each file defines it (with Q4_SCALE for its
 * scale) before its first Q4_GROUP.
 *
 * Registers both keep to: r0 the prepared activations (then the group's X_j and xs),
 * r1 and r2 the two rows' weights, lr and r8 the rows' 6-bit fields, r9 and r10 their
 * B, r11 and r12 their A; s2-s12 the float step's (free in both). The rest, where they
 * differ, are the macros' arguments. */
#if defined(LLM_KERNEL_DSP) || defined(LLM_KERNEL_MVE)
#ifndef LLM_KQUANT_M_ASM_H
#define LLM_KQUANT_M_ASM_H

#include <string.h>
#include "kquant.h"

static inline uint32_t kquant_m_load4(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one LDR: Armv7-M and v8-M load words unaligned */
    return v;
}

/* A group's d and dmin, the halves at p: VCVTB/VCVTT (every Cortex-M FPU has them,
 * though FPv4's __ARM_FP does not say so) convert them exactly (the FPU's
 * flush-to-zero is off), where the C conversion would take a call, and a loop for
 * a subnormal. */
static inline void kquant_m_halves(const uint8_t *p, float *d, float *dmin) {
#if defined(__ARM_FP) && (__ARM_FP & 4)
    const uint32_t h = kquant_m_load4(p);
    float packed, lo, hi;
    memcpy(&packed, &h, sizeof packed);
    __asm__("vcvtb.f32.f16 %0, %1" : "=t"(lo) : "t"(packed));
    __asm__("vcvtt.f32.f16 %0, %1" : "=t"(hi) : "t"(packed));
    *d = lo;
    *dmin = hi;
#else
    *d = kquant_half(p);
    *dmin = kquant_half(p + 2);
#endif
}

/* q6's d, the half at p (the image's last bytes, perhaps: two read), as above. */
static inline float kquant_m_half(const uint8_t *p) {
#if defined(__ARM_FP) && (__ARM_FP & 4)
    const uint32_t h = (uint32_t)(p[0] | p[1] << 8);
    float packed, d;
    memcpy(&packed, &h, sizeof packed);
    __asm__("vcvtb.f32.f16 %0, %1" : "=t"(d) : "t"(packed));
    return d;
#else
    return kquant_half(p);
#endif
}

/* Field k of a group's stream of 6-bit fields. */
static inline int32_t kquant_m_field(const uint8_t *stream, int k) {
    const int bit = 6 * k;
    return (int32_t)(kquant_m_load4(stream + (bit >> 3)) >> (bit & 7) & 63); /* at worst reads into d */
}

/* The file's assembly for two rows' (p0, p1) group of n_sub sub-blocks, its
 * activations at xp: only a[0], a[1] = their A, sum_j sc[2j + r] * S_j, the scales
 * given. */
typedef void (*KquantMDots)(const void *xp, const uint8_t *p0, const uint8_t *p1, const int32_t *sc, int n_sub,
                            int32_t *a);

/* Two rows' group of any n_sub, its activations at xp (the sums X_j, then xs, at
 * sums): the scales decoded for dots, B and the float step here, added to out[0] and
 * out[1]. Always inlined into each file's group_pair_c, so that dots is a direct
 * call and the code is what that function's own copy compiled to. */
static inline __attribute__((always_inline)) void kquant_m_group_pair(float *out, const void *xp, const int32_t *sums,
                                                                     const uint8_t *p0, const uint8_t *p1, int n_sub,
                                                                     KquantMDots dots) {
    const uint8_t *s0 = p0 + 16 * n_sub, *s1 = p1 + 16 * n_sub;
    int32_t sc[2 * KQUANT_MAX_GROUP / KQUANT_SUB], a[2], b0 = 0, b1 = 0;
    for (int j = 0; j < n_sub; j++) {
        sc[2 * j] = kquant_m_field(s0, j);
        sc[2 * j + 1] = kquant_m_field(s1, j);
        b0 += kquant_m_field(s0, n_sub + j) * sums[j];
        b1 += kquant_m_field(s1, n_sub + j) * sums[j];
    }
    dots(xp, p0, p1, sc, n_sub, a);
    float xs, d, dmin;
    memcpy(&xs, sums + n_sub, sizeof xs);
    kquant_m_halves(s0 + kquant_scale_bytes(4, n_sub), &d, &dmin);
    out[0] += ((float)a[0] * d - (float)b0 * dmin) * xs;
    kquant_m_halves(s1 + kquant_scale_bytes(4, n_sub), &d, &dmin);
    out[1] += ((float)a[1] * d - (float)b1 * dmin) * xs;
}

/* Fields first .. first + n - 1 of a group's stream of 6-bit fields into f[0..n-1]
 * (f has room for a multiple of 4): four from each word read, which lies within the
 * group (at worst reaching into its d and dmin). */
static inline void kquant_m_fields(const uint8_t *stream, int first, int n, int32_t *f) {
    for (int j = 0; j < n; j += 4) {
        const int bit = 6 * (first + j);
        uint32_t w = kquant_m_load4(stream + (bit >> 3)) >> (bit & 7);
        __asm__("" : "+r"(w)); /* a scalar loop: gcc's vectorized one, for Helium, took several times as long */
        f[j] = (int32_t)(w & 63);
        f[j + 1] = (int32_t)(w >> 6 & 63);
        f[j + 2] = (int32_t)(w >> 12 & 63);
        f[j + 3] = (int32_t)(w >> 18 & 63);
    }
}

/* A group's d and dmin (q6: d, dmin 0), its scales' end at `at`. */
static inline void kquant_m_group_halves(const uint8_t *at, int bits, float *d, float *dmin) {
    if (bits == 6) {
        *d = kquant_m_half(at);
        *dmin = 0.0f;
    } else {
        kquant_m_halves(at, d, dmin);
    }
}

/* The file's row of a group of n_sub sub-blocks, its activations as the file
 * prepares them at xp: sum_j sc[j] * S_j, the scales given (q6: S_j of the values
 * as stored, q + 32). */
typedef int32_t (*KquantMRow)(const void *xp, const uint8_t *p, const int32_t *sc, int n_sub);

/* One row's (p1 NULL) or two rows' group of n_sub sub-blocks in the format of
 * `bits`: per row the scales decoded for `row` and its A, B (q6: 32 sum_j sc_j X_j
 * off A, for the + 32) and the float step, added to out[0] (then out[1]). The
 * prepared activations at xp, xj_bytes a sub-block, then the sums X_j, then xs. */
static inline __attribute__((always_inline)) void kquant_m_group(float *out, const void *xp, int xj_bytes,
                                                                 const uint8_t *p0, const uint8_t *p1, int n_sub,
                                                                 int bits, KquantMRow row) {
    const int span = kquant_span_bytes(bits);
    const int32_t *sums = (const int32_t *)(const void *)((const uint8_t *)xp + xj_bytes * n_sub);
    float xs;
    memcpy(&xs, sums + n_sub, sizeof xs);
    for (int r = 0; r < (p1 ? 2 : 1); r++) {
        const uint8_t *p = r ? p1 : p0, *scales = p + span * n_sub;
        int32_t sc[KQUANT_MAX_GROUP / KQUANT_SUB], m[KQUANT_MAX_GROUP / KQUANT_SUB], b = 0, offset = 0;
        if (bits == 6) {
            for (int j = 0; j < n_sub; j++) {
                sc[j] = scales[j];
                offset += sc[j] * sums[j];
            }
        } else {
            kquant_m_fields(scales, 0, n_sub, sc);
            kquant_m_fields(scales, n_sub, n_sub, m);
            for (int j = 0; j < n_sub; j++) b += m[j] * sums[j];
        }
        const int32_t a = row(xp, p, sc, n_sub) - 32 * offset;
        float d, dmin;
        kquant_m_group_halves(scales + kquant_scale_bytes(bits, n_sub), bits, &d, &dmin);
        out[r] += ((float)a * d - (float)b * dmin) * xs;
    }
}

#define KQUANT_M_ASM                                                                          \
    /* the bytes of a sub-block's values (q4 16, q5 20): what Q4_SCALE steps over */         \
    ".set KQ_SPAN, 16\n"                                                                      \
    /* whether Q4_GROUP's B is Helium's (the file sets it after this) */                     \
    ".set KQ_VECTOR_B, 0\n"                                                                   \
    /* ra (+)= lr * x, rb (+)= r8 * y: the rows' sums of products with their fields;          \
     * `first` starts them */                                                                 \
    ".macro KQ_MAC2 first, ra, rb, x, y\n"                                                    \
    "  .if \\first\n"                                                                        \
    "  mul \\ra, lr, \\x\n"                                                                 \
    "  mul \\rb, r8, \\y\n"                                                                 \
    "  .else\n"                                                                               \
    "  mla \\ra, lr, \\x, \\ra\n"                                                          \
    "  mla \\rb, r8, \\y, \\rb\n"                                                          \
    "  .endif\n"                                                                              \
    ".endm\n"                                                                                 \
    /* field f of the 6-bit stream that starts `at` bytes past r1 and r2 into lr and        \
     * r8, a word read from its byte (its last byte at worst the group's d) */             \
    ".macro Q4_FIELDS f, at\n"                                                                \
    "  ldr lr, [r1, #(\\at + ((6 * \\f) >> 3))]\n"                                           \
    "  ldr r8, [r2, #(\\at + ((6 * \\f) >> 3))]\n"                                           \
    "  ubfx lr, lr, #((6 * \\f) & 7), #6\n"                                                  \
    "  ubfx r8, r8, #((6 * \\f) & 7), #6\n"                                                  \
    ".endm\n"                                                                                 \
    /* sub-block j of n, its S_j of the rows in sa and sb: A += sc_j * S_j */                \
    ".macro Q4_SCALE j, n, sa, sb\n"                                                          \
    "  Q4_FIELDS \\j, (KQ_SPAN*(\\n-\\j-1))\n"                                                \
    "  KQ_MAC2 (\\j == 0), r11, r12, \\sa, \\sb\n"                                           \
    ".endm\n"                                                                                 \
    /* a group of n sub-blocks (Q4_SUB, the file's), then its B and the float step;         \
     * x, w0, w1, h0 and h1 scratch core registers, the rows' float sums in f0 and f1;       \
     * then r1, r2 at the next group's weights, r0 at its activations */                   \
    ".macro Q4_GROUP n, x, w0, w1, h0, h1, f0, f1\n"                                          \
    "  .irp j, 0, 1, 2, 3, 4, 5, 6, 7\n"                                                      \
    "  .if \\j < \\n\n"                                                                       \
    "  Q4_SUB \\j, \\n\n"                                                                     \
    "  .endif\n"                                                                              \
    "  .endr\n"                                                                               \
    /* B = sum m_j * X_j, in r9 and r10 (r1, r2 now at the scales, r0 at the X_j): on        \
     * Helium (KQ_VECTOR_B) four at a time, each word of four mins copied to the lanes,      \
     * shifted by lane (q7: 0, -6, -12, -18) and and-ed with 63 (q4, fifteens again after)    \
     * for VMLADAV with four X_j; r4, r6 and q0-q2 free by then */                            \
    "  .if KQ_VECTOR_B && (\\n % 4) == 0\n"                                                  \
    "  vmov.i32 q4, #63\n"                                                                    \
    "  .irp j, 0, 4\n"                                                                        \
    "  .if \\j < \\n\n"                                                                     \
    "  vldrw.u32 q0, [r0], #16\n"                                                             \
    "  ldr \\w0, [r1, #((6 * (\\n + \\j)) >> 3)]\n"                                          \
    "  ldr \\w1, [r2, #((6 * (\\n + \\j)) >> 3)]\n"                                          \
    "  vdup.32 q1, \\w0\n"                                                                   \
    "  vdup.32 q2, \\w1\n"                                                                   \
    "  vshl.u32 q1, q1, q7\n"                                                                 \
    "  vshl.u32 q2, q2, q7\n"                                                                 \
    "  vand q1, q1, q4\n"                                                                     \
    "  vand q2, q2, q4\n"                                                                     \
    "  .if \\j == 0\n"                                                                       \
    "  vmladav.s32 r4, q1, q0\n"                                                              \
    "  vmladav.s32 r6, q2, q0\n"                                                              \
    "  .else\n"                                                                               \
    "  vmladava.s32 r4, q1, q0\n"                                                             \
    "  vmladava.s32 r6, q2, q0\n"                                                             \
    "  .endif\n"                                                                              \
    "  .endif\n"                                                                              \
    "  .endr\n"                                                                               \
    "  mov r9, r4\n"                                                                          \
    "  mov r10, r6\n"                                                                         \
    "  vmov.i8 q4, #15\n"                                                                     \
    "  .else\n"                                                                               \
    "  .irp j, 0, 1, 2, 3, 4, 5, 6, 7\n"                                                      \
    "  .if \\j < \\n\n"                                                                       \
    /* four mins at a time from one word a row */                                             \
    "  .if (\\j % 4) == 0\n"                                                                  \
    "  ldr \\w0, [r1, #((6 * (\\n + \\j)) >> 3)]\n"                                           \
    "  ldr \\w1, [r2, #((6 * (\\n + \\j)) >> 3)]\n"                                           \
    "  .endif\n"                                                                              \
    "  ldr \\x, [r0], #4\n"                                                                   \
    "  ubfx lr, \\w0, #(((6 * (\\n + \\j - \\j % 4)) & 7) + 6 * (\\j % 4)), #6\n"             \
    "  ubfx r8, \\w1, #(((6 * (\\n + \\j - \\j % 4)) & 7) + 6 * (\\j % 4)), #6\n"             \
    "  KQ_MAC2 (\\j == 0), r9, r10, \\x, \\x\n"                                              \
    "  .endif\n"                                                                              \
    "  .endr\n"                                                                               \
    "  .endif\n"                                                                              \
    /* the float step on the scalar FPU (which, unlike Helium's vector float, keeps         \
     * subnormals), the reference's: ((float)A * d - (float)B * dmin) * xs, added to        \
     * the row's sum; VCVTB/VCVTT widen the halves exactly */                                 \
    "  vldmia r0!, {s2}\n"                                                                    \
    "  ldr \\h0, [r1, #((12 * \\n + 7) >> 3)]\n"                                              \
    "  ldr \\h1, [r2, #((12 * \\n + 7) >> 3)]\n"                                              \
    "  vmov s3, s4, \\h0, \\h1\n"                                                             \
    "  vcvtb.f32.f16 s5, s3\n"                                                                \
    "  vcvtt.f32.f16 s6, s3\n"                                                                \
    "  vcvtb.f32.f16 s7, s4\n"                                                                \
    "  vcvtt.f32.f16 s8, s4\n"                                                                \
    "  vmov s9, s10, r11, r9\n"                                                               \
    "  vmov s11, s12, r12, r10\n"                                                             \
    "  vcvt.f32.s32 s9, s9\n"                                                                 \
    "  vcvt.f32.s32 s10, s10\n"                                                               \
    "  vcvt.f32.s32 s11, s11\n"                                                               \
    "  vcvt.f32.s32 s12, s12\n"                                                               \
    "  vmul.f32 s9, s9, s5\n"                                                                 \
    "  vmul.f32 s10, s10, s6\n"                                                               \
    "  vmul.f32 s11, s11, s7\n"                                                               \
    "  vmul.f32 s12, s12, s8\n"                                                               \
    "  vsub.f32 s9, s9, s10\n"                                                                \
    "  vsub.f32 s11, s11, s12\n"                                                              \
    "  vmul.f32 s9, s9, s2\n"                                                                 \
    "  vmul.f32 s11, s11, s2\n"                                                               \
    "  vadd.f32 \\f0, \\f0, s9\n"                                                             \
    "  vadd.f32 \\f1, \\f1, s11\n"                                                            \
    "  add r1, r1, #(((12 * \\n + 7) >> 3) + 4)\n"                                            \
    "  add r2, r2, #(((12 * \\n + 7) >> 3) + 4)\n"                                            \
    ".endm\n"                                                                                 \
    /* q6's: sub-block j of n (24 bytes each), its S_j of the rows in sa and sb, of          \
     * the values as stored (q + 32): A += sc_j * S_j, sc_j a byte */                        \
    ".macro Q6_SCALE j, n, sa, sb\n"                                                          \
    "  ldrb lr, [r1, #(24 * (\\n - \\j - 1) + \\j)]\n"                                  \
    "  ldrb r8, [r2, #(24 * (\\n - \\j - 1) + \\j)]\n"                                  \
    "  KQ_MAC2 (\\j == 0), r11, r12, \\sa, \\sb\n"                                           \
    ".endm\n"                                                                                 \
    /* q6's group, as Q4_GROUP (the same arguments; h0, h1 unused): its n sub-blocks         \
     * (Q6_SUB, the file's), then 32 sum_j sc_j X_j off A (the values stored q + 32), and    \
     * the float step: (float)A * d * xs, which is the reference's ((float)A * d -          \
     * (float)0 * 0.0f) * xs to the bit (x - +0 is x) */                                     \
    ".macro Q6_GROUP n, x, w0, w1, h0, h1, f0, f1\n"                                          \
    "  .irp j, 0, 1, 2, 3, 4, 5, 6, 7\n"                                                      \
    "  .if \\j < \\n\n"                                                                     \
    "  Q6_SUB \\j, \\n\n"                                                                   \
    "  .endif\n"                                                                              \
    "  .endr\n"                                                                               \
    "  .irp j, 0, 1, 2, 3, 4, 5, 6, 7\n"                                                      \
    "  .if \\j < \\n\n"                                                                     \
    "  ldrb lr, [r1, #\\j]\n"                                                                \
    "  ldrb r8, [r2, #\\j]\n"                                                                \
    "  ldr \\x, [r0], #4\n"                                                                  \
    "  KQ_MAC2 (\\j == 0), r9, r10, \\x, \\x\n"                                              \
    "  .endif\n"                                                                              \
    "  .endr\n"                                                                               \
    "  sub r11, r11, r9, lsl #5\n"                                                            \
    "  sub r12, r12, r10, lsl #5\n"                                                           \
    "  vldmia r0!, {s2}\n"                                                                    \
    "  ldrh \\w0, [r1, #\\n]\n"                                                             \
    "  ldrh \\w1, [r2, #\\n]\n"                                                             \
    "  vmov s3, s4, \\w0, \\w1\n"                                                           \
    "  vcvtb.f32.f16 s5, s3\n"                                                                \
    "  vcvtb.f32.f16 s7, s4\n"                                                                \
    "  vmov s9, s10, r11, r12\n"                                                              \
    "  vcvt.f32.s32 s9, s9\n"                                                                 \
    "  vcvt.f32.s32 s10, s10\n"                                                               \
    "  vmul.f32 s9, s9, s5\n"                                                                 \
    "  vmul.f32 s10, s10, s7\n"                                                               \
    "  vmul.f32 s9, s9, s2\n"                                                                 \
    "  vmul.f32 s10, s10, s2\n"                                                               \
    "  vadd.f32 \\f0, \\f0, s9\n"                                                           \
    "  vadd.f32 \\f1, \\f1, s10\n"                                                          \
    "  add r1, r1, #(\\n + 2)\n"                                                             \
    "  add r2, r2, #(\\n + 2)\n"                                                             \
    ".endm\n"

/* After the file's last use of them. */
#define KQUANT_M_ASM_PURGE \
    ".purgem KQ_MAC2\n.purgem Q4_FIELDS\n.purgem Q4_SCALE\n.purgem Q4_GROUP\n.purgem Q6_SCALE\n.purgem Q6_GROUP\n"
#endif

#endif
