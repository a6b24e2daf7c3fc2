/* Cortex-M4/M7/M33 DSP extension: q4, q5 and q6 matrices (kquant.h), bit for bit
 * as matvec_q4_reference, matvec_q5_reference and matvec_q6_reference sum them.
 *
 * A word of a sub-block's packed nibbles (bytes k..k+3 of its 16) holds values
 * k..k+3 in its low nibbles and k+16..k+19 in its high ones. With the mask
 * 0x000F000F one AND with a shifted operand gives two of them as the int16 pair
 * SMLAD wants: w & m = (v[k], v[k+2]), w >> 8 & m = (v[k+1], v[k+3]), w >> 4 & m =
 * (v[k+16], v[k+18]), w >> 12 & m = (v[k+17], v[k+19]). The activations are widened
 * to int16 pairs in that same order once per group (sxtb16, as matvec_q8_dsp.c) and
 * zero-padded to whole sub-blocks, so a short last sub-block needs no loop of its
 * own; each sub-block's sum of x (X_j) is made then too. Two rows share each load of
 * activations: per word of two rows, LDRD, LDRD, 2 LDR, 8 AND, 8 SMLAD = 20
 * instructions for 16 multiply-accumulates; with each sub-block's scale (LDR, UBFX,
 * MLA a row) about 1.5 per multiply-accumulate in all, for groups of 8 sub-blocks.
 *
 * q5 and q6 put their top bits into the same pairs, against the same activations
 * (Q5_DSP_ASM, Q6_DSP_ASM): q5's fifth bits, once a sub-block's word of them has had
 * bits 1 and 4 of each bit's index swapped (5 instructions), lie 16 apart for each
 * pair, so an AND with a shifted operand and an ORR add them to it; q6's two top
 * bits of values k..k+3 (and k+16..k+19) lie in bytes k..k+3 of a word of them (mod
 * 8), so the nibbles spread into bytes (values k..k+3, k+16..k+19: two ANDs) take
 * them with an AND and an ORR each, and UXTB16 (with its rotate) makes the pairs. q6
 * stores q + 32, so 32 sum_j sc_j X_j comes off A. Their bits take the registers a
 * second row's would: a row at a time, the activations loaded for each. Per sub-block
 * of two rows 173 (q5) and 154 (q6) instructions against q4's 86.
 *
 * Groups go outer and rows inner (as many whole groups as KQUANT_MAX_GROUP columns
 * hold, prepared in a 2.3 KB stack buffer), each row's float sum kept in out[r]; the
 * integer sums S_j, A = sum sc_j * S_j and B = sum m_j * X_j are exact in any order,
 * and the float step is the reference's: ((float)A * d - (float)B * dmin) * xs
 * (q6: B and dmin 0), added in group order from 0.0f. */
#include "kquant.h"

#if defined(LLM_KERNEL_DSP)
#include <arm_acle.h>
#include <string.h>
#include "kquant_m_asm.h"

/* Bytes 1 and 3 sign-extended: SXTB16 with its rotate folded in. */
static inline uint32_t sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* The prepared activations of a group of n_sub sub-blocks, in words: per sub-block
 * 16 words of int16 pairs, per word of weights (x0, x2), (x1, x3), (x16, x18),
 * (x17, x19); then the n_sub sums X_j; then the group's xs. One pointer walks them
 * all in the assembly below. */
static inline int prepared_words(int n_sub) {
    return 17 * n_sub + 1;
}

/* One group's (len <= KQUANT_MAX_GROUP columns), zeros past len, whose values are
 * not read (they may lie past x). */
static void prepare_group(uint32_t *xp, const int8_t *x, float xs, int len) {
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
    int32_t *sums = (int32_t *)(xp + 16 * n_sub);
    for (int j = 0; j < n_sub; j++, x += KQUANT_SUB, xp += 16) {
        int8_t pad[KQUANT_SUB];
        const int n = kquant_min(KQUANT_SUB, len - j * KQUANT_SUB);
        const int8_t *xj = x;
        if (n < KQUANT_SUB) {
            memset(pad, 0, sizeof pad);
            memcpy(pad, x, (size_t)n);
            xj = pad;
        }
        int32_t s = 0;
        for (int k = 0; k < 16; k += 4) {
            const uint32_t lo = kquant_m_load4(xj + k), hi = kquant_m_load4(xj + 16 + k);
            uint32_t *q = xp + k;
            q[0] = __sxtb16(lo);
            q[1] = sxtb16_ror8(lo);
            q[2] = __sxtb16(hi);
            q[3] = sxtb16_ror8(hi);
            /* the pairs' halves added: the sub-block's sum of x */
            s = __smlad(q[0], 0x00010001u, s);
            s = __smlad(q[1], 0x00010001u, s);
            s = __smlad(q[2], 0x00010001u, s);
            s = __smlad(q[3], 0x00010001u, s);
        }
        sums[j] = s;
    }
    memcpy(sums + n_sub, &xs, sizeof xs);
}

/* q5's sub-block, for both assembly blocks below (each purges it after use,
 * Q5_DSP_ASM_PURGE): a row's S_j. Per word of nibbles as q4's pairs, each or-ed with
 * its two fifth bits, which the word of them with bits 1 and 4 of each bit's index
 * swapped (Q5_SWAP) holds 16 apart, as a pair's lanes: those of values k, k+2 (k+1,
 * k+3; k+16, k+18; k+17, k+19) at k, k+16 (k+1, k+17; k+2, k+18; k+3, k+19). */
#define Q5_DSP_ASM                                                                            \
    /* h's bits, index bits 1 and 4 swapped (2..3, 6..7, 10..11, 14..15 with 14 above         \
     * them); t0, t1 temporaries */                                                          \
    ".macro Q5_SWAP h, t0, t1\n"                                                              \
    "  movw \\t0, #0xCCCC\n"                                                                  \
    "  eor \\t1, \\h, \\h, lsr #14\n"                                                         \
    "  and \\t1, \\t1, \\t0\n"                                                                \
    "  eor \\h, \\h, \\t1\n"                                                                  \
    "  eor \\h, \\h, \\t1, lsl #14\n"                                                         \
    ".endm\n"                                                                                 \
    /* r7 |= fifth & (h shifted by s: left when s < 0); r8 a temporary */                    \
    ".macro Q5_BITS s, h, fifth\n"                                                            \
    "  .if \\s < 0\n"                                                                         \
    "  and r8, \\fifth, \\h, lsl #(-(\\s))\n"                                                 \
    "  .elseif \\s == 0\n"                                                                    \
    "  and r8, \\fifth, \\h\n"                                                                \
    "  .else\n"                                                                               \
    "  and r8, \\fifth, \\h, lsr #(\\s)\n"                                                    \
    "  .endif\n"                                                                              \
    "  orr r7, r7, r8\n"                                                                      \
    ".endm\n"                                                                                 \
    /* word k (0..3) of the sub-block at rp, its pairs' fifth bits at 4k + i (and 16         \
     * above) in h for pair i, fifth 0x00100010, r3 0x000F000F: S += the products with       \
     * the activation pairs at r0 (r4, r5, r6 temporaries) */                                \
    ".macro Q5_WORD k, rp, h, fifth, s\n"                                                     \
    "  ldrd r4, r5, [r0], #8\n"                                                               \
    "  ldr r6, [\\rp], #4\n"                                                                  \
    "  and r7, r3, r6\n"                                                                      \
    "  Q5_BITS (4 * \\k - 4), \\h, \\fifth\n"                                                 \
    "  .if \\k == 0\n"                                                                        \
    "  smuad \\s, r7, r4\n"                                                                   \
    "  .else\n"                                                                               \
    "  smlad \\s, r7, r4, \\s\n"                                                              \
    "  .endif\n"                                                                              \
    "  and r7, r3, r6, lsr #8\n"                                                              \
    "  Q5_BITS (4 * \\k - 3), \\h, \\fifth\n"                                                 \
    "  smlad \\s, r7, r5, \\s\n"                                                              \
    "  ldrd r4, r5, [r0], #8\n"                                                               \
    "  and r7, r3, r6, lsr #4\n"                                                              \
    "  Q5_BITS (4 * \\k - 2), \\h, \\fifth\n"                                                 \
    "  smlad \\s, r7, r4, \\s\n"                                                              \
    "  and r7, r3, r6, lsr #12\n"                                                             \
    "  Q5_BITS (4 * \\k - 1), \\h, \\fifth\n"                                                 \
    "  smlad \\s, r7, r5, \\s\n"                                                              \
    ".endm\n"                                                                                 \
    /* a sub-block's S into s, the row at rp then past it */                                 \
    ".macro Q5_DOT rp, h, fifth, s\n"                                                         \
    "  ldr \\h, [\\rp, #16]\n"                                                                \
    "  Q5_SWAP \\h, r7, r8\n"                                                                 \
    "  Q5_WORD 0, \\rp, \\h, \\fifth, \\s\n"                                                  \
    "  Q5_WORD 1, \\rp, \\h, \\fifth, \\s\n"                                                  \
    "  Q5_WORD 2, \\rp, \\h, \\fifth, \\s\n"                                                  \
    "  Q5_WORD 3, \\rp, \\h, \\fifth, \\s\n"                                                  \
    "  adds \\rp, \\rp, #4\n" /* past the fifth bits */                                      \
    ".endm\n"
#define Q5_DSP_ASM_PURGE ".purgem Q5_SWAP\n.purgem Q5_BITS\n.purgem Q5_WORD\n.purgem Q5_DOT\n"

/* q6's word k (0..3) of the sub-block at rp (then past the word), as the q5 macros
 * above: the top bits of its values k..k+3 and k+16..k+19 are at bits 2 * (k / 2)
 * and 4 + 2 * (k / 2) of the bytes of the word of them at 4 * (k mod 2) (each byte i
 * of the 8 holds values i, i + 8, i + 16, i + 24), read into t; r3 0x30303030, r12
 * 0x0F0F0F0F; r7 and r8 the values as bytes, r9 a temporary; S (r10) += the products
 * with the activation pairs at r0. */
#define Q6_DSP_ASM                                                                            \
    ".macro Q6_WORD k, rp, t\n"                                                               \
    "  ldr \\t, [\\rp, #(16 + 4 * (\\k & 1) - 4 * \\k)]\n"                                    \
    "  ldr r6, [\\rp], #4\n"                                                                  \
    "  ldrd r4, r5, [r0], #8\n"                                                               \
    "  and r7, r6, #0x0F0F0F0F\n"                                                             \
    "  and r8, r12, r6, lsr #4\n"                                                             \
    "  and r9, r3, \\t, lsl #(4 - 2 * (\\k >> 1))\n"                                          \
    "  orr r7, r7, r9\n"                                                                      \
    "  .if \\k >> 1\n"                                                                        \
    "  and r9, r3, \\t, lsr #2\n"                                                             \
    "  .else\n"                                                                               \
    "  and r9, r3, \\t\n"                                                                     \
    "  .endif\n"                                                                              \
    "  orr r8, r8, r9\n"                                                                      \
    "  uxtb16 r9, r7\n"                                                                       \
    "  .if \\k == 0\n"                                                                        \
    "  smuad r10, r9, r4\n"                                                                   \
    "  .else\n"                                                                               \
    "  smlad r10, r9, r4, r10\n"                                                              \
    "  .endif\n"                                                                              \
    "  uxtb16 r9, r7, ror #8\n"                                                               \
    "  smlad r10, r9, r5, r10\n"                                                              \
    "  ldrd r4, r5, [r0], #8\n"                                                               \
    "  uxtb16 r9, r8\n"                                                                       \
    "  smlad r10, r9, r4, r10\n"                                                              \
    "  uxtb16 r9, r8, ror #8\n"                                                               \
    "  smlad r10, r9, r5, r10\n"                                                              \
    ".endm\n"                                                                                 \
    /* a sub-block's S into r10, the row at rp then past it */                               \
    ".macro Q6_DOT rp, t\n"                                                                   \
    "  Q6_WORD 0, \\rp, \\t\n"                                                                \
    "  Q6_WORD 1, \\rp, \\t\n"                                                                \
    "  Q6_WORD 2, \\rp, \\t\n"                                                                \
    "  Q6_WORD 3, \\rp, \\t\n"                                                                \
    "  adds \\rp, \\rp, #8\n" /* past the top bits */                                        \
    ".endm\n"
#define Q6_DSP_ASM_PURGE ".purgem Q6_WORD\n.purgem Q6_DOT\n"

#if defined(__ARM_FP) && (__ARM_FP & 4) /* the epilogue is on the FPU (every DSP board has one) */
#define Q4_DSP_ASM 1
/* Two rows' (p0, p1) n_groups groups of n_sub sub-blocks each, all full, after the
 * activations at xp (prepare_group, one after another): out[0] and out[1] plus the
 * groups' contributions in order. In assembly for n_sub 8 (groups of 256 columns,
 * q4's default) and 2 (64), because the body needs all 14 core registers. */
void matvec_q4_dsp_pair8(const uint32_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
void matvec_q4_dsp_pair2(const uint32_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
/* The same for q5 and q6. */
void matvec_q5_dsp_pair8(const uint32_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
void matvec_q5_dsp_pair2(const uint32_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
void matvec_q6_dsp_pair8(const uint32_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
void matvec_q6_dsp_pair2(const uint32_t *xp, const uint8_t *p0, const uint8_t *p1, float *out, int n_groups);
/* Any other group of two rows: only a[0], a[1] = their A, sum_j sc[2j + r] * S_j, the
 * scales given (kquant_m_group_pair), a loop of the same sub-blocks. */
void matvec_q4_dsp_dots(const void *xp, const uint8_t *p0, const uint8_t *p1, const int32_t *sc, int n_sub,
                        int32_t *a);

/* Registers: r0 xp, r1 and r2 the rows' weights, r3 the mask 0x000F000F, r4 and r5
 * two words of activation pairs, r6 and r7 the rows' word of nibbles, r8 a
 * temporary, r9 and r10 the rows' S_j (then B), r11 and r12 their A; lr a
 * temporary. FPU: s0, s1 the rows' sums; s2-s14 the epilogue's. Q4_GROUP and what it
 * expands but Q4_SUB are kquant_m_asm.h's, shared with matvec_kquant_mve.c. */
__asm__(
    ".pushsection .text.matvec_q4_dsp_asm,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    /* one row's two products with the pair (ra, rb): the and-ed nibbles of w
     * (shifted sa, then sb) times them; first starts the sum */
    ".macro Q4_WORD first\n"
    "  ldrd r4, r5, [r0], #8\n"
    "  ldr r6, [r1], #4\n"
    "  ldr r7, [r2], #4\n"
    "  and r8, r3, r6\n"
    "  .if \\first\n"
    "  smuad r9, r8, r4\n"
    "  .else\n"
    "  smlad r9, r8, r4, r9\n"
    "  .endif\n"
    "  and r8, r3, r7\n"
    "  .if \\first\n"
    "  smuad r10, r8, r4\n"
    "  .else\n"
    "  smlad r10, r8, r4, r10\n"
    "  .endif\n"
    "  and r8, r3, r6, lsr #8\n"
    "  smlad r9, r8, r5, r9\n"
    "  and r8, r3, r7, lsr #8\n"
    "  smlad r10, r8, r5, r10\n"
    "  ldrd r4, r5, [r0], #8\n"
    "  and r8, r3, r6, lsr #4\n"
    "  smlad r9, r8, r4, r9\n"
    "  and r8, r3, r7, lsr #4\n"
    "  smlad r10, r8, r4, r10\n"
    "  and r6, r3, r6, lsr #12\n"
    "  smlad r9, r6, r5, r9\n"
    "  and r7, r3, r7, lsr #12\n"
    "  smlad r10, r7, r5, r10\n"
    ".endm\n"
    KQUANT_M_ASM
    /* sub-block j of n: S_j of both rows, then A += sc_j * S_j */
    ".macro Q4_SUB j, n\n"
    "  Q4_WORD 1\n"
    "  Q4_WORD 0\n"
    "  Q4_WORD 0\n"
    "  Q4_WORD 0\n"
    "  Q4_SCALE \\j, \\n, r9, r10\n"
    ".endm\n"
    /* the function: (xp r0, p0 r1, p1 r2, out r3, n_groups [sp]) */
    /* (q6: its group macro, its mask in r3, and 8 bytes of stack for the sub-blocks) */
    ".macro Q4_PAIR name, n, group=Q4_GROUP, mask=0x000F000F, frame=0\n"
    ".global \\name\n"
    ".type \\name, %function\n"
    ".thumb_func\n"
    "\\name:\n"
    "  push {r3-r11, lr}\n"
    "  .if \\frame\n"
    "  sub sp, sp, #(\\frame)\n"
    "  .endif\n"
    "  vldr s0, [r3]\n"
    "  vldr s1, [r3, #4]\n"
    "  mov r3, #(\\mask)\n"
    "1:\n"
    "  \\group \\n, r4, r6, r7, r4, r5, s0, s1\n"
    "  ldr r4, [sp, #(40 + \\frame)]\n"
    "  subs r4, r4, #1\n"
    "  str r4, [sp, #(40 + \\frame)]\n"
    "  bne 1b\n"
    "  .if \\frame\n"
    "  add sp, sp, #(\\frame)\n"
    "  .endif\n"
    "  pop {r3}\n"
    "  vstr s0, [r3]\n"
    "  vstr s1, [r3, #4]\n"
    "  pop {r4-r11, pc}\n"
    ".size \\name, .-\\name\n"
    ".endm\n"
    "Q4_PAIR matvec_q4_dsp_pair8, 8\n"
    /* matvec_q4_dsp_dots(xp r0, p0 r1, p1 r2, sc r3, n_sub [sp], a [sp, #4]); lr the
     * scales, the end of xp where r3 was pushed */
    ".global matvec_q4_dsp_dots\n"
    ".type matvec_q4_dsp_dots, %function\n"
    ".thumb_func\n"
    "matvec_q4_dsp_dots:\n"
    "  push {r3-r11, lr}\n"
    "  mov lr, r3\n"
    "  ldr r4, [sp, #40]\n"
    "  add r4, r0, r4, lsl #6\n" /* 64 bytes of activation pairs a sub-block */
    "  str r4, [sp]\n"
    "  mov r3, #0x000F000F\n"
    "  movs r11, #0\n"
    "  movs r12, #0\n"
    "1:\n"
    "  Q4_WORD 1\n"
    "  Q4_WORD 0\n"
    "  Q4_WORD 0\n"
    "  Q4_WORD 0\n"
    "  ldrd r4, r5, [lr], #8\n"
    "  mla r11, r4, r9, r11\n"
    "  mla r12, r5, r10, r12\n"
    "  ldr r4, [sp]\n"
    "  cmp r0, r4\n"
    "  bne 1b\n"
    "  ldr r4, [sp, #44]\n"
    "  strd r11, r12, [r4]\n"
    "  pop {r3-r11, pc}\n"
    ".size matvec_q4_dsp_dots, .-matvec_q4_dsp_dots\n"
    "Q4_PAIR matvec_q4_dsp_pair2, 2\n"
    ".purgem Q4_SUB\n"
    /* q5's: a row at a time (its fifth bits take the registers a second row's
     * would), then its A += sc_j * S_j; r10 is 0x00100010 until the group's B */
    Q5_DSP_ASM
    ".macro Q5_ROW j, n, rp, acc\n"
    "  Q5_DOT \\rp, lr, r10, r9\n"
    "  ldr r8, [\\rp, #(20 * (\\n - \\j - 1) + ((6 * \\j) >> 3))]\n"
    "  ubfx r8, r8, #((6 * \\j) & 7), #6\n"
    "  .if \\j == 0\n"
    "  mul \\acc, r8, r9\n"
    "  .else\n"
    "  mla \\acc, r8, r9, \\acc\n"
    "  .endif\n"
    ".endm\n"
    ".macro Q4_SUB j, n\n"
    "  .if \\j == 0\n"
    "  mov r10, #0x00100010\n"
    "  .endif\n"
    "  Q5_ROW \\j, \\n, r1, r11\n"
    "  sub r0, r0, #64\n" /* the same activations for the second row */
    "  Q5_ROW \\j, \\n, r2, r12\n"
    ".endm\n"
    ".set KQ_SPAN, 20\n"
    "Q4_PAIR matvec_q5_dsp_pair8, 8\n"
    "Q4_PAIR matvec_q5_dsp_pair2, 2\n"
    ".purgem Q5_ROW\n"
    Q5_DSP_ASM_PURGE
    /* q6's: a row at a time too, r12 (the second row's A) on the stack meanwhile for
     * the mask 0x0F0F0F0F */
    Q6_DSP_ASM
    ".macro Q6_ROW j, n, rp\n"
    "  Q6_DOT \\rp, lr\n"
    "  ldrb r8, [\\rp, #(24 * (\\n - \\j - 1) + \\j)]\n"
    ".endm\n"
    ".macro Q6_SUB j, n\n"
    "  .if \\j\n"
    "  str r12, [sp]\n"
    "  .endif\n"
    "  mov r12, #0x0F0F0F0F\n"
    "  Q6_ROW \\j, \\n, r1\n"
    "  .if \\j\n"
    "  mla r11, r8, r10, r11\n"
    "  .else\n"
    "  mul r11, r8, r10\n"
    "  .endif\n"
    "  sub r0, r0, #64\n"
    "  Q6_ROW \\j, \\n, r2\n"
    "  .if \\j\n"
    "  ldr r9, [sp]\n"
    "  mla r12, r8, r10, r9\n"
    "  .else\n"
    "  mul r12, r8, r10\n"
    "  .endif\n"
    ".endm\n"
    "Q4_PAIR matvec_q6_dsp_pair8, 8, Q6_GROUP, 0x30303030, 8\n"
    "Q4_PAIR matvec_q6_dsp_pair2, 2, Q6_GROUP, 0x30303030, 8\n"
    ".purgem Q6_ROW\n"
    ".purgem Q6_SUB\n"
    Q6_DSP_ASM_PURGE
    ".purgem Q4_WORD\n"
    ".purgem Q4_SUB\n"
    ".purgem Q4_PAIR\n"
    KQUANT_M_ASM_PURGE
    ".popsection\n");
#endif

#if defined(Q4_DSP_ASM)
/* Two rows' group of any n_sub: kquant_m_group_pair with matvec_q4_dsp_dots. */
static void group_pair_c(float *out, const uint32_t *xp, const uint8_t *p0, const uint8_t *p1, int len) {
    const int n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
    kquant_m_group_pair(out, xp, (const int32_t *)(xp + 16 * n_sub), p0, p1, n_sub, matvec_q4_dsp_dots);
}
#endif

/* q5's and q6's row of a group of n_sub sub-blocks, its activations at xp: sum_j
 * sc[j] * S_j, the scales given (kquant_m_group), q6's S_j of its stored values q +
 * 32. A loop of sub-blocks in assembly, one row at a time (the top bits take the
 * registers a second row's would). */
int32_t matvec_q5_dsp_row(const void *xp, const uint8_t *p, const int32_t *sc, int n_sub);
int32_t matvec_q6_dsp_row(const void *xp, const uint8_t *p, const int32_t *sc, int n_sub);

/* Registers: r0 xp, r1 the row's weights, lr the scales, r4 and r5 two words of
 * activation pairs, r6 a word of nibbles, r10 S_j, r11 A; the end of xp at [sp].
 * q5: r2 the fifth bits (index bits 1 and 4 swapped), r3 the mask 0x000F000F, r9
 * 0x00100010, r7, r8 and r12 temporaries. q6: r2 a word of top bits, r3 0x30303030,
 * r12 0x0F0F0F0F, r7 and r8 the word's values as bytes (k..k+3, k+16..k+19), r9 a
 * temporary. */
__asm__(
    ".pushsection .text.matvec_kquant_dsp_row,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    Q5_DSP_ASM
    Q6_DSP_ASM
    /* the function (xp r0, p r1, sc r2, n_sub r3): the scales to lr, the end of xp
     * (64 bytes of pairs a sub-block) to [sp] */
    ".macro KQ_ROW name\n"
    ".global \\name\n"
    ".type \\name, %function\n"
    ".thumb_func\n"
    "\\name:\n"
    "  push {r3-r11, lr}\n"
    "  mov lr, r2\n"
    "  add r3, r0, r3, lsl #6\n"
    "  str r3, [sp]\n"
    "  movs r11, #0\n"
    ".endm\n"
    /* A += sc_j * S_j; the next sub-block, if any; A returned */
    ".macro KQ_ROW_END name\n"
    "  ldr r8, [lr], #4\n"
    "  mla r11, r8, r10, r11\n"
    "  ldr r8, [sp]\n"
    "  cmp r0, r8\n"
    "  bne 1b\n"
    "  mov r0, r11\n"
    "  pop {r3-r11, pc}\n"
    ".size \\name, .-\\name\n"
    ".endm\n"
    "KQ_ROW matvec_q5_dsp_row\n"
    "  mov r3, #0x000F000F\n"
    "  mov r9, #0x00100010\n"
    "1:\n"
    "  Q5_DOT r1, r2, r9, r10\n"
    "KQ_ROW_END matvec_q5_dsp_row\n"
    "KQ_ROW matvec_q6_dsp_row\n"
    "  mov r3, #0x30303030\n"
    "  mov r12, #0x0F0F0F0F\n"
    "1:\n"
    "  Q6_DOT r1, r2\n"
    "KQ_ROW_END matvec_q6_dsp_row\n"
    Q5_DSP_ASM_PURGE
    Q6_DSP_ASM_PURGE
    ".purgem KQ_ROW\n"
    ".purgem KQ_ROW_END\n"
    ".popsection\n");

/* A q4 row in C (a last row without a pair), as matvec_q5_dsp_row: sum_j sc[j] *
 * S_j, S_j from the words of nibbles as the assembly's. */
static int32_t q4_row(const void *xp, const uint8_t *p, const int32_t *sc, int n_sub) {
    uint32_t mask = 0x000F000Fu;
    __asm__("" : "+r"(mask)); /* in a register: AND with a shifted operand is then one instruction */
    const uint32_t *xj = xp;
    int32_t a = 0;
    for (int j = 0; j < n_sub; j++, xj += 16, p += 16) {
        int32_t s = 0;
        for (int k = 0; k < 4; k++) {
            const uint32_t w = kquant_m_load4(p + 4 * k);
            s = __smlad(w & mask, xj[4 * k], s);
            s = __smlad(w >> 8 & mask, xj[4 * k + 1], s);
            s = __smlad(w >> 4 & mask, xj[4 * k + 2], s);
            s = __smlad(w >> 12 & mask, xj[4 * k + 3], s);
        }
        a += sc[j] * s;
    }
    return a;
}

/* One row (p1 NULL) or two, any group (kquant_m_group). */
static inline __attribute__((always_inline)) void group_c(float *out, const uint32_t *xp, const uint8_t *p0,
                                                          const uint8_t *p1, int len, int bits) {
    kquant_m_group(out, xp, 64, p0, p1, (len + KQUANT_SUB - 1) / KQUANT_SUB, bits,
                   bits == 4 ? q4_row : bits == 5 ? matvec_q5_dsp_row : matvec_q6_dsp_row);
}

/* n groups of n_sub sub-blocks of rows p0 and p1 (or p0 alone: p1 NULL), their
 * activations at xp: q4's assembly where it has them, else group_c. */
static inline __attribute__((always_inline)) void groups(float *out, const uint32_t *xp, const uint8_t *p0,
                                                         const uint8_t *p1, int n, int n_sub, int len, int bits) {
#if defined(Q4_DSP_ASM)
    if (p1 && (n_sub == 8 || n_sub == 2)) {
        if (bits == 4) {
            (n_sub == 8 ? matvec_q4_dsp_pair8 : matvec_q4_dsp_pair2)(xp, p0, p1, out, n);
        } else if (bits == 5) {
            (n_sub == 8 ? matvec_q5_dsp_pair8 : matvec_q5_dsp_pair2)(xp, p0, p1, out, n);
        } else {
            (n_sub == 8 ? matvec_q6_dsp_pair8 : matvec_q6_dsp_pair2)(xp, p0, p1, out, n);
        }
        return;
    }
#endif
    const long bytes = kquant_group_bytes(bits, len);
#if defined(Q4_DSP_ASM)
    if (bits == 4 && p1) {
        for (int g = 0; g < n; g++, xp += prepared_words(n_sub), p0 += bytes, p1 += bytes) {
            group_pair_c(out, xp, p0, p1, len);
        }
        return;
    }
#endif
    for (int g = 0; g < n; g++, xp += prepared_words(n_sub), p0 += bytes, p1 = p1 ? p1 + bytes : NULL) {
        group_c(out, xp, p0, p1, len, bits);
    }
}

/* The product, compiled for each format (bits a constant). */
static inline __attribute__((always_inline)) void matvec_dsp(float *out, const int8_t *x, const float *xs,
                                                             const uint8_t *w, int rows, int cols, int group_size,
                                                             int bits) {
    /* a run of groups' activations (prepare_group), as many as KQUANT_MAX_GROUP
     * columns hold: at most 2.3 KB */
    uint32_t xp[17 * KQUANT_MAX_GROUP / KQUANT_SUB + KQUANT_MAX_GROUP / KQUANT_SUB];
    const long row_bytes = kquant_row_bytes(bits, cols, group_size);
    const int per_run = KQUANT_MAX_GROUP / ((group_size + KQUANT_SUB - 1) / KQUANT_SUB * KQUANT_SUB); /* >= 1 */
    for (int r = 0; r < rows; r++) out[r] = 0.0f;
    long at = 0; /* the run's first group's byte offset in a row */
    for (int start = 0, gi = 0; start < cols;) {
        /* the run: `whole` groups of group_size columns, then maybe a shorter last one */
        int whole = 0, used = 0, last = 0;
        for (int n = 0; n < per_run && start + n * group_size < cols; n++) {
            const int len = kquant_min(group_size, cols - start - n * group_size);
            prepare_group(xp + used, x + start + n * group_size, xs[gi + n], len);
            used += prepared_words((len + KQUANT_SUB - 1) / KQUANT_SUB);
            if (len == group_size) {
                whole++;
            } else {
                last = len;
            }
        }
        const int n_sub = (group_size + KQUANT_SUB - 1) / KQUANT_SUB, last_sub = (last + KQUANT_SUB - 1) / KQUANT_SUB;
        const long whole_bytes = whole * kquant_group_bytes(bits, group_size);
        const uint32_t *last_xp = xp + whole * prepared_words(n_sub);
        for (int r = 0; r < rows; r += 2) {
            const uint8_t *p0 = w + r * row_bytes + at, *p1 = r + 1 < rows ? p0 + row_bytes : NULL;
            if (whole > 0) groups(out + r, xp, p0, p1, whole, n_sub, group_size, bits);
            if (last > 0) {
                groups(out + r, last_xp, p0 + whole_bytes, p1 ? p1 + whole_bytes : NULL, 1, last_sub, last, bits);
            }
        }
        at += whole_bytes + (last > 0 ? kquant_group_bytes(bits, last) : 0);
        start += whole * group_size + last;
        gi += whole + (last > 0);
    }
}

void matvec_q4_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size) {
    matvec_dsp(out, x, xs, w, rows, cols, group_size, 4);
}

void matvec_q5_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size) {
    matvec_dsp(out, x, xs, w, rows, cols, group_size, 5);
}

void matvec_q6_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                   int group_size) {
    matvec_dsp(out, x, xs, w, rows, cols, group_size, 6);
}
#endif
