/* Cortex-M55 Helium (MVE): q4, q5 and q6 matrices (kquant.h), bit for bit as
 * matvec_q4_reference, matvec_q5_reference and matvec_q6_reference sum them.
 *
 * A sub-block's 16 bytes of nibbles are one vector: VAND with 15 gives values 0-15,
 * VSHR by 4 values 16-31, both in [0, 15] and so valid signed bytes, and VMLADAV(A)
 * multiplies each by its 16 activations and adds them all into S_j, exactly
 * (|S_j| <= 15 * 127 * 32). Two rows share each load of activations: per sub-block
 * of two rows 4 VLDRB, 2 VAND, 2 VSHR, 4 VMLADAV(A) and each row's scale (UBFX, MLA;
 * a word of four scales read once for four sub-blocks), 16.5 instructions for 64
 * multiply-accumulates; each row's B four mins at a time (VDUP of their word, VSHL
 * by lane, VAND, VMLADAV against four X_j). A group's
 * activations are copied, zero-padded to whole sub-blocks, into a small stack buffer
 * together with each sub-block's sum of x (X_j, VADDV) once for all rows; groups go
 * outer and rows inner (as many whole groups as KQUANT_MAX_GROUP columns hold), each
 * row's float sum kept in out[r]. A = sum sc_j * S_j and B = sum m_j * X_j are exact
 * integers; the float step is the reference's on the scalar FPU (which, unlike
 * Helium's vector float, keeps subnormals): ((float)A * d - (float)B * dmin) * xs,
 * added in group order from 0.0f.
 *
 * q5 adds its fifth bits to the same vectors before the VMLADAVs: each half's 16 bits
 * are a predicate (VMSR P0), one bit a byte lane, and a predicated VADD puts 16 where
 * they are set. q6's 8 bytes of top bits (byte i: values i, i + 8, i + 16, i + 24)
 * become a vector in the core registers, bytes 8-15 shifted by 2 and all masked to
 * 0x33, so that lane i holds value i's top at bits 0-1 and value i + 16's at bits 4-5:
 * VSLI and VSRI then put them above the nibbles; q6 stores q + 32, so 32 sum_j sc_j
 * X_j comes off A. Per sub-block of two rows 34 instructions each, against q4's 16.5. */
#include "kquant.h"

#if defined(LLM_KERNEL_MVE)
#include <arm_mve.h>
#include <string.h>
#include "kquant_m_asm.h"

/* The prepared activations of a group of n_sub sub-blocks, in bytes: 32 per
 * sub-block (zeros past the group's columns), then the n_sub sums X_j (int32), then
 * the group's xs. */
static inline int prepared_bytes(int n_sub) {
    return 36 * n_sub + 4;
}

static inline __attribute__((always_inline)) void prepare_group(int8_t *xp, const int8_t *x, float xs, int len) {
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
    memset(xp + len, 0, (size_t)(KQUANT_SUB * n_sub - len));
    memcpy(xp, x, (size_t)len); /* x past len may lie past the buffer: not read */
    int32_t sums[KQUANT_MAX_GROUP / KQUANT_SUB];
    for (int j = 0; j < n_sub; j++) {
        sums[j] = vaddvaq_s8(vaddvq_s8(vldrbq_s8(xp + 32 * j)), vldrbq_s8(xp + 32 * j + 16));
    }
    memcpy(xp + 32 * n_sub, sums, 4 * (size_t)n_sub);
    memcpy(xp + 36 * n_sub, &xs, sizeof xs);
}

/* Two rows' (p0, p1) n_groups groups of n_sub sub-blocks each, after their
 * activations at xp (prepare_group, one after another): out[0] and out[1] plus the
 * groups' contributions in order. In assembly for n_sub 8 (groups of 256 columns,
 * q4's default) and 2 (64): gcc keeps Helium's vectors poorly in registers. */
void matvec_q4_mve_pair8(const int8_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
void matvec_q4_mve_pair2(const int8_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
/* The same for q5 and q6. */
void matvec_q5_mve_pair8(const int8_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
void matvec_q5_mve_pair2(const int8_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
void matvec_q6_mve_pair8(const int8_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
void matvec_q6_mve_pair2(const int8_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
/* Any other group of two rows: only a[0], a[1] = their A, sum_j sc[2j + r] * S_j, the
 * scales given (kquant_m_group_pair), a low-overhead loop of the same sub-blocks. */
void matvec_q4_mve_dots(const void *xp, const uint8_t *p0, const uint8_t *p1, const int32_t *sc, int n_sub,
                        int32_t *a);

/* Registers: r0 xp, r1 and r2 the rows' weights, r4 and r6 the rows' S_j (VMLADAV
 * wants even registers), r9 and r10 their B, r11 and r12 their A, r8 and lr the
 * scale fields, r3 and r5 temporaries; q0, q1 a sub-block's activations, q2, q3 the
 * rows' nibbles, q4 fifteens, q5 the low nibbles; s24, s25 the rows' float sums,
 * s0-s12 the epilogue's (q0-q3, free by then). q5: r3 and r5 the rows' fifth bits,
 * r7 16. q6: r3, r5, r7, r8 a row's top bits, r9 0x33333333 (until the group's B),
 * q7 their vector, q5 its copy. Q4_GROUP and what it expands but
 * Q4_SUB are kquant_m_asm.h's, shared with matvec_kquant_dsp.c. */
__asm__(
    ".pushsection .text.matvec_q4_mve_asm,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    KQUANT_M_ASM
    ".set KQ_VECTOR_B, 1\n"
    /* a sub-block's S_j of both rows into r4 and r6, r0, r1 and r2 past it */
    ".macro Q4M_DOT\n"
    "  vldrb.u8 q0, [r0], #16\n"
    "  vldrb.u8 q1, [r0], #16\n"
    "  vldrb.u8 q2, [r1], #16\n"
    "  vldrb.u8 q3, [r2], #16\n"
    "  vand q5, q2, q4\n"
    "  vshr.u8 q2, q2, #4\n"
    "  vmladav.s8 r4, q5, q0\n"
    "  vmladava.s8 r4, q2, q1\n"
    "  vand q5, q3, q4\n"
    "  vshr.u8 q3, q3, #4\n"
    "  vmladav.s8 r6, q5, q0\n"
    "  vmladava.s8 r6, q3, q1\n"
    ".endm\n"
    /* sub-block j of n: S_j of both rows, then A += sc_j * S_j */
    /* sub-block j of n: S_j of both rows, then A += sc_j * S_j, the scales' words
     * read once for four sub-blocks into r3 and r5 */
    ".macro Q4_SUB j, n\n"
    "  Q4M_DOT\n"
    "  .if (\\j % 4) == 0\n"
    "  ldr r3, [r1, #(16 * (\\n - \\j - 1) + ((6 * \\j) >> 3))]\n"
    "  ldr r5, [r2, #(16 * (\\n - \\j - 1) + ((6 * \\j) >> 3))]\n"
    "  .endif\n"
    "  ubfx lr, r3, #(6 * (\\j % 4)), #6\n"
    "  ubfx r8, r5, #(6 * (\\j % 4)), #6\n"
    "  KQ_MAC2 (\\j == 0), r11, r12, r4, r6\n"
    ".endm\n"
    /* the function: (xp r0, p0 r1, p1 r2, out r3, n_groups [sp]) */
    ".macro Q4M_PAIR name, n, group=Q4_GROUP\n"
    ".global \\name\n"
    ".type \\name, %function\n"
    ".thumb_func\n"
    "\\name:\n"
    "  push {r3-r11, lr}\n"
    "  vpush {d8-d15}\n"
    "  vldr s24, [r3]\n"
    "  vldr s25, [r3, #4]\n"
    "  vmov.i8 q4, #15\n"
    /* q7: 0, -6, -12, -18, the shifts of Q4_GROUP's four mins a word (in groups of a
     * multiple of 4 sub-blocks) */
    "  .ifc \\group,Q4_GROUP\n"
    "  .if (\\n % 4) == 0\n"
    "  movs r4, #0\n"
    "  vidup.u32 q7, r4, #2\n"
    "  mvn r4, #2\n"
    "  vmul.i32 q7, q7, r4\n"
    "  .endif\n"
    "  .endif\n"
    "1:\n"
    "  \\group \\n, r3, r5, r7, r3, r5, s24, s25\n"
    "  ldr r3, [sp, #104]\n"
    "  subs r3, r3, #1\n"
    "  str r3, [sp, #104]\n"
    "  bne 1b\n"
    "  ldr r3, [sp, #64]\n"
    "  vstr s24, [r3]\n"
    "  vstr s25, [r3, #4]\n"
    "  vpop {d8-d15}\n"
    "  pop {r3-r11, pc}\n"
    ".size \\name, .-\\name\n"
    ".endm\n"
    "Q4M_PAIR matvec_q4_mve_pair8, 8\n"
    /* matvec_q4_mve_dots(xp r0, p0 r1, p1 r2, sc r3, n_sub [sp], a [sp, #4]) */
    ".global matvec_q4_mve_dots\n"
    ".type matvec_q4_mve_dots, %function\n"
    ".thumb_func\n"
    "matvec_q4_mve_dots:\n"
    "  push {r3-r11, lr}\n"
    "  vpush {d8-d11}\n"
    "  vmov.i8 q4, #15\n"
    "  ldr r5, [sp, #72]\n"
    "  movs r11, #0\n"
    "  movs r12, #0\n"
    "  dls lr, r5\n" /* n_sub >= 1 */
    "1:\n"
    "  Q4M_DOT\n"
    "  ldrd r8, r9, [r3], #8\n"
    "  mla r11, r8, r4, r11\n"
    "  mla r12, r9, r6, r12\n"
    "  le lr, 1b\n"
    "  ldr r4, [sp, #76]\n"
    "  strd r11, r12, [r4]\n"
    "  vpop {d8-d11}\n"
    "  pop {r3-r11, pc}\n"
    ".size matvec_q4_mve_dots, .-matvec_q4_mve_dots\n"
    "Q4M_PAIR matvec_q4_mve_pair2, 2\n"
    ".purgem Q4_SUB\n"
    /* q5's sub-block: q4's nibbles, each row's fifth bits two predicates (bit i of
     * each that of byte lane i), 16 (r7) added to the lanes whose bit is set */
    ".macro Q5M_FIFTH q, h\n"
    "  vmsr p0, \\h\n"
    "  vpst\n"
    "  vaddt.i8 \\q, \\q, r7\n"
    ".endm\n"
    ".macro Q5M_ROW q, h, s\n"
    "  vand q5, \\q, q4\n"
    "  vshr.u8 \\q, \\q, #4\n"
    "  Q5M_FIFTH q5, \\h\n"
    "  lsr \\h, \\h, #16\n"
    "  Q5M_FIFTH \\q, \\h\n"
    "  vmladav.s8 \\s, q5, q0\n"
    "  vmladava.s8 \\s, \\q, q1\n"
    ".endm\n"
    ".macro Q4_SUB j, n\n"
    "  .if \\j == 0\n"
    "  movs r7, #16\n"
    "  .endif\n"
    "  vldrb.u8 q0, [r0], #16\n"
    "  vldrb.u8 q1, [r0], #16\n"
    "  ldr r3, [r1, #16]\n"
    "  ldr r5, [r2, #16]\n"
    "  vldrb.u8 q2, [r1], #20\n"
    "  vldrb.u8 q3, [r2], #20\n"
    "  Q5M_ROW q2, r3, r4\n"
    "  Q5M_ROW q3, r5, r6\n"
    "  Q4_SCALE \\j, \\n, r4, r6\n"
    ".endm\n"
    ".set KQ_SPAN, 20\n"
    "Q4M_PAIR matvec_q5_mve_pair8, 8\n"
    "Q4M_PAIR matvec_q5_mve_pair2, 2\n"
    ".purgem Q5M_FIFTH\n"
    ".purgem Q5M_ROW\n"
    /* q6's sub-block: a row's 8 bytes of top bits into q7, bytes 0-7 as they are and
     * bytes 8-15 shifted right by 2, each and-ed with 0x33 (r9), so that every lane's
     * (byte i mod 8's) bits 0-1 are the top of value i, bits 4-5 that of value i + 16
     * and the rest 0; then VSLI puts the first above the low nibbles, VSRI the high
     * nibbles below the second */
    ".macro Q6M_ROW rp, q, s\n"
    "  ldr r3, [\\rp, #16]\n"
    "  ldr r5, [\\rp, #20]\n"
    "  and r7, r9, r3, lsr #2\n"
    "  and r8, r9, r5, lsr #2\n"
    "  and r3, r3, r9\n"
    "  and r5, r5, r9\n"
    /* the first register to the lower lane, q7[0] and q7[1] (as QEMU runs it, and
     * as gcc's later vcreateq emits it) */
    "  vmov q7[2], q7[0], r3, r7\n"
    "  vmov q7[3], q7[1], r5, r8\n"
    "  vldrb.u8 \\q, [\\rp], #24\n"
    "  vmov q5, q7\n"
    "  vsri.8 q5, \\q, #4\n" /* values 16-31 */
    "  vsli.8 \\q, q7, #4\n" /* values 0-15 */
    "  vmladav.s8 \\s, \\q, q0\n"
    "  vmladava.s8 \\s, q5, q1\n"
    ".endm\n"
    ".macro Q6_SUB j, n\n"
    "  .if \\j == 0\n"
    "  mov r9, #0x33333333\n" /* until the group's B */
    "  .endif\n"
    "  vldrb.u8 q0, [r0], #16\n"
    "  vldrb.u8 q1, [r0], #16\n"
    "  Q6M_ROW r1, q2, r4\n"
    "  Q6M_ROW r2, q3, r6\n"
    "  Q6_SCALE \\j, \\n, r4, r6\n"
    ".endm\n"
    "Q4M_PAIR matvec_q6_mve_pair8, 8, Q6_GROUP\n"
    "Q4M_PAIR matvec_q6_mve_pair2, 2, Q6_GROUP\n"
    ".purgem Q6M_ROW\n"
    ".purgem Q6_SUB\n"
    ".purgem Q4M_DOT\n"
    ".purgem Q4_SUB\n"
    ".purgem Q4M_PAIR\n"
    KQUANT_M_ASM_PURGE
    ".popsection\n");

/* Field i (0..3) of a word of 6-bit fields. */
#define FIELD(v, i) ((int32_t)((v) >> (6 * (i)) & 63))

/* One sub-block's S of a row: its 32 values times the activations (xl, xh). */
static inline int32_t sub_dot(const uint8_t *p, int8x16_t xl, int8x16_t xh) {
    const uint8x16_t v = vldrbq_u8(p);
    const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(15)));
    const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
    return vmladavaq_s8(vmladavq_s8(lo, xl), hi, xh);
}

/* A row's A for sub-blocks j0..j0+3 (n of them, 1 to 4), the scales' word sc. */
#define ROW_A(a, p, sc, n)                                                                 \
    do {                                                                                   \
        for (int i_ = 0; i_ < (n); i_++) {                                                 \
            a += FIELD(sc, i_) * sub_dot((p) + 16 * (j0 + i_), xl[i_], xh[i_]);            \
        }                                                                                  \
    } while (0)

/* Two rows' group of any n_sub: kquant_m_group_pair with matvec_q4_mve_dots. */
static void group_pair_c(float *out, const int8_t *xp, const uint8_t *p0, const uint8_t *p1, int n_sub) {
    kquant_m_group_pair(out, xp, (const int32_t *)(const void *)(xp + 32 * n_sub), p0, p1, n_sub, matvec_q4_mve_dots);
}

/* A row's group (a last row without a pair), its activations at xp: its
 * contribution added to out[0]. */
static void group_row(float *out, const int8_t *xp, const uint8_t *p, int n_sub) {
    const int32_t *sums = (const int32_t *)(const void *)(xp + 32 * n_sub);
    const uint8_t *stream = p + 16 * n_sub; /* the scale stream */
    const int mins_shift = (6 * n_sub) & 7;
    int32_t a = 0, b = 0;
    for (int j0 = 0; j0 < n_sub; j0 += 4) {
        const int n = kquant_min(4, n_sub - j0);
        int8x16_t xl[4], xh[4];
        for (int i = 0; i < n; i++) {
            xl[i] = vldrbq_s8(xp + 32 * (j0 + i));
            xh[i] = vldrbq_s8(xp + 32 * (j0 + i) + 16);
        }
        /* four fields from byte 3 * j0 / 4 (scales) and bit 6 * (n_sub + j0) (mins):
         * the words read lie within the group, at worst reaching its d */
        const uint32_t sc = kquant_m_load4(stream + 3 * j0 / 4);
        const uint32_t m = kquant_m_load4(stream + ((6 * (n_sub + j0)) >> 3)) >> mins_shift;
        if (n == 4) {
            ROW_A(a, p, sc, 4);
        } else {
            ROW_A(a, p, sc, n);
        }
        for (int i = 0; i < n; i++) b += FIELD(m, i) * sums[j0 + i];
    }
    float xs, d, dmin;
    memcpy(&xs, sums + n_sub, sizeof xs);
    kquant_m_halves(stream + kquant_scale_bytes(4, n_sub), &d, &dmin);
    out[0] += ((float)a * d - (float)b * dmin) * xs;
}

/* q5's and q6's row of a group (kquant_m_group): sum_j sc[j] * S_j, S_j from the
 * nibbles as q4's with the top bits added (q6: of the values as stored, q + 32).
 * q5's 32 fifth bits are two predicates, bit i of each its byte lane i, so a
 * predicated VADD puts 16 on the lanes whose bit is set. q6's 8 bytes of top bits
 * are gathered twice over, lane i taking byte i mod 8, whose bits 0-1 and 2-3 hold
 * the top of values i and i + 8, 4-5 and 6-7 those of i + 16 and i + 24: a shift
 * by lane (VSHL by a vector) brings each lane's to bits 4-5. */
static int32_t q5_row(const void *xp, const uint8_t *p, const int32_t *sc, int n_sub) {
    const int8_t *x = xp;
    int32_t a = 0;
    for (int j = 0; j < n_sub; j++, x += 32, p += 20) {
        const uint8x16_t v = vldrbq_u8(p);
        const uint32_t h = kquant_m_load4(p + 16);
        uint8x16_t lo = vandq_u8(v, vdupq_n_u8(15)), hi = vshrq_n_u8(v, 4);
        lo = vaddq_m_n_u8(lo, lo, 16, (mve_pred16_t)h);
        hi = vaddq_m_n_u8(hi, hi, 16, (mve_pred16_t)(h >> 16));
        a += sc[j] * vmladavaq_s8(vmladavq_s8(vreinterpretq_s8_u8(lo), vldrbq_s8(x)), vreinterpretq_s8_u8(hi),
                                  vldrbq_s8(x + 16));
    }
    return a;
}

static int32_t q6_row(const void *xp, const uint8_t *p, const int32_t *sc, int n_sub) {
    static const uint8_t eights[16] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7};
    static const int8_t to_lo[16] = {4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 2, 2};
    static const int8_t to_hi[16] = {0, 0, 0, 0, 0, 0, 0, 0, -2, -2, -2, -2, -2, -2, -2, -2};
    const uint8x16_t offsets = vldrbq_u8(eights);
    const int8x16_t shift_lo = vldrbq_s8(to_lo), shift_hi = vldrbq_s8(to_hi);
    const int8_t *x = xp;
    int32_t a = 0;
    for (int j = 0; j < n_sub; j++, x += 32, p += 24) {
        const uint8x16_t v = vldrbq_u8(p), t = vldrbq_gather_offset_u8(p + 16, offsets);
        const uint8x16_t tops = vdupq_n_u8(0x30);
        const uint8x16_t lo = vorrq_u8(vandq_u8(v, vdupq_n_u8(15)), vandq_u8(vshlq_u8(t, shift_lo), tops));
        const uint8x16_t hi = vorrq_u8(vshrq_n_u8(v, 4), vandq_u8(vshlq_u8(t, shift_hi), tops));
        a += sc[j] * vmladavaq_s8(vmladavq_s8(vreinterpretq_s8_u8(lo), vldrbq_s8(x)), vreinterpretq_s8_u8(hi),
                                  vldrbq_s8(x + 16));
    }
    return a;
}

/* One row (p1 NULL) or two of q5 or q6, any group (kquant_m_group). */
static void group5(float *out, const int8_t *xp, const uint8_t *p0, const uint8_t *p1, int n_sub) {
    kquant_m_group(out, xp, 32, p0, p1, n_sub, 5, q5_row);
}

static void group6(float *out, const int8_t *xp, const uint8_t *p0, const uint8_t *p1, int n_sub) {
    kquant_m_group(out, xp, 32, p0, p1, n_sub, 6, q6_row);
}

/* Rows p0 and p1 (or p0 alone: p1 NULL), `same` groups of n_sub sub-blocks, bytes
 * each, their activations at q: q4's in assembly where it has it. */
static inline __attribute__((always_inline)) void groups(float *out, const int8_t *q, const uint8_t *p0,
                                                         const uint8_t *p1, int same, int n_sub, long bytes, int bits) {
    if (p1 && (n_sub == 8 || n_sub == 2)) {
        if (bits == 4) {
            (n_sub == 8 ? matvec_q4_mve_pair8 : matvec_q4_mve_pair2)(q, p0, p1, out, same);
        } else if (bits == 5) {
            (n_sub == 8 ? matvec_q5_mve_pair8 : matvec_q5_mve_pair2)(q, p0, p1, out, same);
        } else {
            (n_sub == 8 ? matvec_q6_mve_pair8 : matvec_q6_mve_pair2)(q, p0, p1, out, same);
        }
        return;
    }
    for (int k = 0; k < same; k++, q += prepared_bytes(n_sub), p0 += bytes, p1 = p1 ? p1 + bytes : NULL) {
        if (bits == 5) {
            group5(out, q, p0, p1, n_sub);
        } else if (bits == 6) {
            group6(out, q, p0, p1, n_sub);
        } else if (p1) {
            group_pair_c(out, q, p0, p1, n_sub);
        } else {
            group_row(out, q, p0, n_sub);
        }
    }
}

/* The product, compiled for each format (bits a constant). */
static inline __attribute__((always_inline)) void matvec_mve(float *out, const int8_t *x, const float *xs,
                                                             const uint8_t *w, int rows, int cols, int group_size,
                                                             int bits) {
    /* a run of groups' activations (prepare_group), as many as KQUANT_MAX_GROUP
     * columns hold: at most 1.3 KB */
    int8_t xp[36 * KQUANT_MAX_GROUP / KQUANT_SUB + 4 * KQUANT_MAX_GROUP / KQUANT_SUB] __attribute__((aligned(16)));
    const long row_bytes = kquant_row_bytes(bits, cols, group_size);
    const int per_run = KQUANT_MAX_GROUP / ((group_size + KQUANT_SUB - 1) / KQUANT_SUB * KQUANT_SUB); /* >= 1 */
    for (int r = 0; r < rows; r++) out[r] = 0.0f;
    long at = 0; /* the run's first group's byte offset in a row */
    for (int start = 0, gi = 0; start < cols;) {
        int n = 0, used = 0;
        for (; n < per_run && start + n * group_size < cols; n++) {
            const int len = kquant_min(group_size, cols - start - n * group_size);
            prepare_group(xp + used, x + start + n * group_size, xs[gi + n], len);
            used += prepared_bytes((len + KQUANT_SUB - 1) / KQUANT_SUB);
        }
        for (int r = 0; r < rows; r += 2) {
            const uint8_t *p0 = w + r * row_bytes + at, *p1 = r + 1 < rows ? p0 + row_bytes : NULL;
            const int8_t *q = xp;
            for (int g = 0; g < n;) {
                const int len = kquant_min(group_size, cols - start - g * group_size);
                const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
                const long bytes = kquant_group_bytes(bits, len);
                /* the whole groups (all but a row's last) alike: at once */
                const int same = len == group_size ? n - g - (cols - start - (n - 1) * group_size < group_size) : 1;
                groups(out + r, q, p0, p1, same, n_sub, bytes, bits);
                q += same * prepared_bytes(n_sub);
                p0 += same * bytes;
                p1 = p1 ? p1 + same * bytes : NULL;
                g += same;
            }
        }
        for (int g = 0; g < n; g++) {
            at += kquant_group_bytes(bits, kquant_min(group_size, cols - start - g * group_size));
        }
        start += n * group_size;
        gi += n;
    }
}

void matvec_q4_mve(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size) {
    matvec_mve(out, x, xs, w, rows, cols, group_size, 4);
}

void matvec_q5_mve(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size) {
    matvec_mve(out, x, xs, w, rows, cols, group_size, 5);
}

void matvec_q6_mve(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size) {
    matvec_mve(out, x, xs, w, rows, cols, group_size, 6);
}
#endif
