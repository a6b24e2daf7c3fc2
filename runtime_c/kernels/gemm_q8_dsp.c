/* The DSP extension's q8 GEMM twin (Cortex-M4, M7, M33): matvec_q8_dsp's products
 * for two tokens at once, each weight word loaded and sign-extended (SXTB16) once
 * for both tokens' SMLADs.
 *
 * Register tile: 2 rows x 2 tokens. Four int32 sums, the two rows' weight words (one
 * LDRD: rows 2k and 2k+1 are consecutive words of a chunk), a temporary, the two
 * tokens' activation pairs (x0, x2), (x1, x3) and three pointers fill the 14 core
 * registers; 4 rows x 2 tokens would want 16 live at once, and spilling costs more
 * than it saves. So a block goes in two passes over its weights, rows 0-1 then
 * rows 2-3 (one pointer 8 bytes on): per chunk of 4 columns, 3 LDRD, 4 SXTB16 and
 * 8 SMLAD for 16 multiply-accumulates, 15 instructions against the matvec's 18 for
 * as many (without a cache, instructions are the cost).
 *
 * Each (row, token)'s int32 sum over a group is the matvec's exactly (integer sums
 * in any order), and its float epilogue the same operations in the same order,
 * group after group: sum = sum + ((float)acc * ws) * xs, VMUL then VMLA (which
 * rounds the product before it adds), from +0.0f. */
#include "kernels.h"

#if defined(LLM_KERNEL_DSP)
#include "q8_m.h"

/* Registers:
 *   r0 p (the weight stream, at the pass's rows), r1 and r2 the tokens' activations
 *   r3, r4 the chunk's words of the pass's two rows (a, b); r5 a temporary
 *   r6, r7 token 0's (x0, x2), (x1, x3); r8, r9 token 1's
 *   r10 row a token 0, r11 row a token 1, r12 row b token 0, lr row b token 1
 * and on the FPU: s0, s1 the float sums of rows a, b for token 0, s2, s3 for token 1,
 * s4-s7 the group's converted sums, s8, s9 the rows' scales (s8 before them, in a loop
 * of chunks, the group's end of token 0's activations), s10, s11 the tokens' activation
 * scales, s12, s13 the tokens' xs pointers, s14 where token 0's
 * activations end, s15 their bytes (all caller-saved). On the stack: the pair, the
 * block, the pass's offset (0: rows 0-1; 8: rows 2-3), which is also that of its
 * rows' outputs (2 floats), a group's bytes of activations. */
__asm__(
    ".pushsection .text.gemm_q8_dsp_asm,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    /* one chunk of the two rows for the two tokens; first starts the sums */
    ".macro PAIR_MAC acc, w, x, first\n"
    "  .if \\first\n"
    "  smuad \\acc, \\w, \\x\n"
    "  .else\n"
    "  smlad \\acc, \\w, \\x, \\acc\n"
    "  .endif\n"
    ".endm\n"
    ".macro PAIR_ROW w, acc0, acc1, first\n"
    "  sxtb16 r5, \\w\n"
    "  PAIR_MAC \\acc0, r5, r6, \\first\n"
    "  PAIR_MAC \\acc1, r5, r8, \\first\n"
    "  sxtb16 \\w, \\w, ror #8\n"
    "  smlad \\acc0, \\w, r7, \\acc0\n"
    "  smlad \\acc1, \\w, r9, \\acc1\n"
    ".endm\n"
    ".macro PAIR_CHUNK first\n"
    "  ldrd r3, r4, [r0], #16\n"
    "  ldrd r6, r7, [r1], #8\n"
    "  ldrd r8, r9, [r2], #8\n"
    "  PAIR_ROW r3, r10, r11, \\first\n"
    "  PAIR_ROW r4, r12, lr, \\first\n"
    ".endm\n"
    /* the group's float epilogue; p then points at the next group's (pass's) rows */
    ".macro PAIR_EPILOGUE\n"
    "  vmov s4, s5, r10, r12\n"
    "  vmov s6, s7, r11, lr\n"
    "  vcvt.f32.s32 s4, s4\n"
    "  vcvt.f32.s32 s5, s5\n"
    "  vcvt.f32.s32 s6, s6\n"
    "  vcvt.f32.s32 s7, s7\n"
    "  vldmia r0, {s8-s9}\n"
    "  adds r0, r0, #16\n"
    "  vmov r5, r6, s12, s13\n"
    "  vldmia r5!, {s10}\n"
    "  vldmia r6!, {s11}\n"
    "  vmov s12, s13, r5, r6\n"
    "  vmul.f32 s4, s4, s8\n"
    "  vmul.f32 s5, s5, s9\n"
    "  vmul.f32 s6, s6, s8\n"
    "  vmul.f32 s7, s7, s9\n"
    "  vmla.f32 s0, s4, s10\n"
    "  vmla.f32 s1, s5, s10\n"
    "  vmla.f32 s2, s6, s11\n"
    "  vmla.f32 s3, s7, s11\n"
    ".endm\n"

    /* a group of 64 columns, written out whole */
    ".macro PAIR_G64\n"
    "  PAIR_CHUNK 1\n"
    "  .rept 15\n"
    "  PAIR_CHUNK 0\n"
    "  .endr\n"
    ".endm\n"
    /* a group of any multiple of 16 columns: a loop of 4 chunks, until token 0's
     * activations reach the group's end (in s8 until the epilogue) */
    ".macro PAIR_QUADS\n"
    "  ldr r5, [sp, #12]\n"
    "  add r5, r5, r1\n"
    "  vmov s8, r5\n"
    "  mov r10, #0\n"
    "  mov r11, #0\n"
    "  mov r12, #0\n"
    "  mov lr, #0\n"
    "3:\n"
    "  .rept 4\n"
    "  PAIR_CHUNK 0\n"
    "  .endr\n"
    "  vmov r5, s8\n"
    "  cmp r1, r5\n"
    "  bne 3b\n"
    ".endm\n"
    /* name(pair r0, block r1, n_groups r2, group_size r3), its groups by `group` */
    ".macro PAIR_FUNCTION name, group\n"
    ".global \\name\n"
    ".type \\name, %function\n"
    ".thumb_func\n"
    "\\name:\n"
    "  push {r4-r11, lr}\n"
    "  lsls r3, r3, #1\n"           /* a group's bytes of activations */
    "  mul r2, r2, r3\n"
    "  vmov s15, r2\n"
    "  movs r2, #0\n"
    "  push {r0-r3}\n"
    "2:\n"                           /* a pass: two rows */
    "  ldr r5, [sp]\n"
    "  ldm r5, {r1-r4}\n"            /* x0, x1, xs0, xs1 */
    "  vmov s12, s13, r3, r4\n"
    "  vmov r3, s15\n"
    "  add r3, r3, r1\n"
    "  vmov s14, r3\n"
    "  ldrd r0, r3, [sp, #4]\n"      /* block, the pass's offset */
    "  add r0, r0, r3\n"
    "  movs r3, #0\n"                /* the float sums start at +0.0f, as the reference's */
    "  vmov s0, s1, r3, r3\n"
    "  vmov s2, s3, r3, r3\n"
    "1:\n"                           /* a group */
    "  \\group\n"
    "  PAIR_EPILOGUE\n"
    "  vmov r5, s14\n"
    "  cmp r1, r5\n"
    "  bne 1b\n"
    "  ldr r5, [sp]\n"
    "  ldrd r6, r7, [r5, #16]\n"     /* out0, out1 */
    "  ldr r3, [sp, #8]\n"
    "  add r6, r6, r3\n"
    "  add r7, r7, r3\n"
    "  vstmia r6, {s0-s1}\n"
    "  vstmia r7, {s2-s3}\n"
    "  adds r3, r3, #8\n"
    "  str r3, [sp, #8]\n"
    "  cmp r3, #16\n"
    "  bne 2b\n"
    "  add sp, sp, #16\n"
    "  pop {r4-r11, pc}\n"
    ".size \\name, .-\\name\n"
    ".endm\n"
    "PAIR_FUNCTION gemm_q8_dsp_pair_g64, PAIR_G64\n"
    "PAIR_FUNCTION gemm_q8_dsp_pair_quads, PAIR_QUADS\n"
    ".purgem PAIR_G64\n"
    ".purgem PAIR_QUADS\n"
    ".purgem PAIR_FUNCTION\n"
    ".purgem PAIR_MAC\n"
    ".purgem PAIR_ROW\n"
    ".purgem PAIR_CHUNK\n"
    ".purgem PAIR_EPILOGUE\n"
    ".popsection\n");

void gemm_q8_dsp(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size) {
    /* groups of 64 columns unrolled whole, any other multiple of 16 in a loop of 4 chunks */
    const PairKernel pair = group_size == 64 ? gemm_q8_dsp_pair_g64 : gemm_q8_dsp_pair_quads;
    gemm_q8_pairs(pair, matvec_q8_dsp_group, matvec_q8_dsp, out, b, w, rows, cols, group_size);
}
#endif
