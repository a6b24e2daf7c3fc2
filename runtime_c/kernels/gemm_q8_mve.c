/* Helium's q8 GEMM twin (Cortex-M55): matvec_q8_mve's products for two tokens at
 * once, each 16-byte load of weights used by both tokens' VMLADAVAs.
 *
 * Register tile: 4 rows x 2 tokens. VMLADAV sums into an even core register, and
 * there are eight (r0, r2, ..., r12, lr): the eight int32 sums; the odd ones hold the
 * pointers and the group count (lr being a sum, no low-overhead loop). Per chunk of
 * 16 columns: the two tokens' activations (2 VLDRB), each row's weights (4 VLDRB) and
 * 8 VMLADAVA, 14 instructions for 128 multiply-accumulates, against the matvec's 9
 * for 64.
 *
 * Each (row, token)'s int32 sum over a group is the matvec's exactly, and the float
 * epilogue is its own, token by token: the 4 rows as the lanes of a vector, VCVT,
 * times the scales, times the activation scale ((float)acc * ws) * xs, then each
 * row's running sum added on the scalar FPU, which does not flush subnormals
 * (matvec_q8_mve.c says why). */
#include "kernels.h"

#if defined(LLM_KERNEL_MVE)
#include "q8_m.h"

/* Registers: r1 p (the weight stream), r3 and r5 the tokens' activations, r7 and r9
 * their xs pointers, r11 the groups left (groups of 64; else the group's end of token
 * 0's activations, the groups left on the stack); r0, r2, r4, r6 token 0's sums of rows 0-3,
 * r8, r10, r12, lr token 1's; q0 and q1 the tokens' activations, q2 and q3 the rows'
 * weights by turns (a load need not wait for the previous row's multiplies), then in
 * the epilogue q0 and q2 the tokens' products, q1 the scales; q4 (s16-s19) and q5
 * (s20-s23) the tokens' float sums (callee-saved: pushed). */
__asm__(
    ".pushsection .text.gemm_q8_mve_asm,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    ".macro PAIR_ROW acc0, acc1, w, first\n"
    "  vldrb.u8 \\w, [r1], #16\n"
    "  .if \\first\n"
    "  vmladav.s8 \\acc0, q0, \\w\n"
    "  vmladav.s8 \\acc1, q1, \\w\n"
    "  .else\n"
    "  vmladava.s8 \\acc0, q0, \\w\n"
    "  vmladava.s8 \\acc1, q1, \\w\n"
    "  .endif\n"
    ".endm\n"
    ".macro PAIR_CHUNK first\n"
    "  vldrb.u8 q0, [r3], #16\n"
    "  vldrb.u8 q1, [r5], #16\n"
    "  PAIR_ROW r0, r8, q2, \\first\n"
    "  PAIR_ROW r2, r10, q3, \\first\n"
    "  PAIR_ROW r4, r12, q2, \\first\n"
    "  PAIR_ROW r6, lr, q3, \\first\n"
    ".endm\n"
    /* the group's epilogue; p then points past its scales, xs to the next group's
     * (the lane order of `vmov qd[2], qd[0]`: matvec_q8_mve.c) */
    ".macro PAIR_EPILOGUE\n"
    "  vmov q0[2], q0[0], r0, r4\n"
    "  vmov q0[3], q0[1], r2, r6\n"
    "  vmov q2[2], q2[0], r8, r12\n"
    "  vmov q2[3], q2[1], r10, lr\n"
    "  vcvt.f32.s32 q0, q0\n"
    "  vcvt.f32.s32 q2, q2\n"
    "  vldrw.u32 q1, [r1], #16\n"
    "  vmul.f32 q0, q0, q1\n"
    "  vmul.f32 q2, q2, q1\n"
    "  ldr r0, [r7], #4\n"
    "  ldr r2, [r9], #4\n"
    "  vmul.f32 q0, q0, r0\n"
    "  vmul.f32 q2, q2, r2\n"
    "  vadd.f32 s16, s16, s0\n"
    "  vadd.f32 s17, s17, s1\n"
    "  vadd.f32 s18, s18, s2\n"
    "  vadd.f32 s19, s19, s3\n"
    "  vadd.f32 s20, s20, s8\n"
    "  vadd.f32 s21, s21, s9\n"
    "  vadd.f32 s22, s22, s10\n"
    "  vadd.f32 s23, s23, s11\n"
    ".endm\n"

    /* a group of 64 columns, written out whole; then the groups left in r11 */
    ".macro PAIR_G64\n"
    "  PAIR_CHUNK 1\n"
    "  PAIR_CHUNK 0\n"
    "  PAIR_CHUNK 0\n"
    "  PAIR_CHUNK 0\n"
    ".endm\n"
    ".macro PAIR_G64_NEXT\n"
    "  subs r11, r11, #1\n"
    ".endm\n"
    /* a group of any multiple of 16 columns: chunks until token 0's activations reach
     * the group's end (r11); then the groups left on the stack */
    ".macro PAIR_CHUNKS\n"
    "  ldr r11, [sp, #40]\n"
    "  add r11, r11, r3\n"
    "  PAIR_CHUNK 1\n"
    "  cmp r3, r11\n"
    "  beq 4f\n"
    "3:\n"
    "  PAIR_CHUNK 0\n"
    "  cmp r3, r11\n"
    "  bne 3b\n"
    "4:\n"
    ".endm\n"
    ".macro PAIR_CHUNKS_NEXT\n"
    "  ldr r0, [sp, #36]\n"
    "  subs r0, r0, #1\n"
    "  str r0, [sp, #36]\n"
    ".endm\n"
    /* name(pair r0, block r1, n_groups r2, group_size r3), its groups by `group`,
     * `next` counting them (flags: ne while any are left); on the stack, above the
     * float sums pushed: the pair, n_groups, group_size */
    ".macro PAIR_FUNCTION name, group, next\n"
    ".global \\name\n"
    ".type \\name, %function\n"
    ".thumb_func\n"
    "\\name:\n"
    "  push {r0, r2, r3, r4-r11, lr}\n"
    "  vpush {s16-s23}\n"
    "  mov r11, r2\n"
    "  ldm r0, {r3, r5, r7, r9}\n" /* x0, x1, xs0, xs1 */
    "  vmov.i32 q4, #0\n"          /* the sums start at +0.0f, as the reference's */
    "  vmov.i32 q5, #0\n"
    "1:\n"
    "  \\group\n"
    "  PAIR_EPILOGUE\n"
    "  \\next\n"
    "  bne 1b\n"
    "  ldr r0, [sp, #32]\n"        /* the pair */
    "  ldrd r2, r3, [r0, #16]\n"   /* out0, out1 */
    "  vstrw.32 q4, [r2]\n"
    "  vstrw.32 q5, [r3]\n"
    "  vpop {s16-s23}\n"
    "  pop {r0, r2, r3, r4-r11, pc}\n"
    ".size \\name, .-\\name\n"
    ".endm\n"
    "PAIR_FUNCTION gemm_q8_mve_pair_g64, PAIR_G64, PAIR_G64_NEXT\n"
    "PAIR_FUNCTION gemm_q8_mve_pair_chunks, PAIR_CHUNKS, PAIR_CHUNKS_NEXT\n"
    ".purgem PAIR_G64\n"
    ".purgem PAIR_G64_NEXT\n"
    ".purgem PAIR_CHUNKS\n"
    ".purgem PAIR_CHUNKS_NEXT\n"
    ".purgem PAIR_FUNCTION\n"
    ".purgem PAIR_ROW\n"
    ".purgem PAIR_CHUNK\n"
    ".purgem PAIR_EPILOGUE\n"
    ".popsection\n");

/* A row's shorter last group, as the matvec kernel adds it. */
static void short_group(float *out, const int8_t *x, const float *xs, const uint8_t *block, int len) {
    matvec_q8_mve_chunks(out, x, xs, block, 1, (len + 15) / 16);
}

void gemm_q8_mve(float *out, const TokenBatch *b, const uint8_t *w, int rows, int cols, int group_size) {
    /* groups of 64 columns unrolled whole, any other multiple of 16 in a loop of chunks */
    const PairKernel pair = group_size == 64 ? gemm_q8_mve_pair_g64 : gemm_q8_mve_pair_chunks;
    gemm_q8_pairs(pair, short_group, matvec_q8_mve, out, b, w, rows, cols, group_size);
}
#endif
