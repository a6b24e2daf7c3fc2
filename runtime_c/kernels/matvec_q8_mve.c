/* Cortex-M55 Helium (MVE): VMLADAV multiplies 16 int8 pairs and adds them all
 * into one general-purpose register.
 *
 * Layout (kernels.h): blocks of 4 rows, chunks of 16 columns, bias 0: a chunk is
 * 16 bytes of row 0, then of rows 1, 2, 3. Per chunk (64 multiply-accumulates):
 * one VLDRB of the 16 activations, then per row one VLDRB of its weights and one
 * VMLADAV(A). The float epilogue of each group (its 4 scales follow it in the
 * stream) takes the 4 rows as the 4 lanes of one vector: the int32 sums moved in
 * two at a time, VCVT, times the scales (VLDRW), times the activation scale:
 * ((float)acc * ws) * xs, the reference's order. Helium's float operations flush
 * subnormals to zero (QEMU models them with the standard FPSCR value), but these
 * products never are subnormal (every scale is 0 or >= 2^-63, and |acc| >= 1 or
 * acc = 0, kernels.h: KERNEL_MIN_SCALE); the running sums can be, so each row's
 * sum is added with the scalar FPU, which does not flush: `vadd.f32 s12, s12, s8`
 * reads lane 0 of q2 in place (q registers alias the s registers). */
#include "kernels.h"

#if defined(LLM_KERNEL_MVE)
#include <arm_mve.h>
#include "q8_m.h"

/* In assembly:
 * matvec_q8_mve itself takes the usual block, 4 rows of whole groups of 64 columns
 *   (4 chunks), written out whole, one low-overhead loop (LE) per group; it hands
 *   every other block to matvec_q8_mve_any (below).
 * matvec_q8_mve_chunks: blocks of 4 rows, groups of `chunks` chunks (any group size
 *   the layout allows, 16 * chunks columns): out[0..3] += the outputs of n_groups
 *   (>= 1) groups from the group at `block` (x, xs: that group's activations and
 *   scale); also the shorter last group of a row (its last chunk padded with zeros)
 *   (q8_m.h). */

/* Registers: r0 out, r1 x, r2 xs, r3 p (the weight stream); r4, r6, r8, r10 the
 * int32 sums of rows 0-3 (VMLADAV wants even registers); r12 a temporary; lr the
 * loop count; q0 the chunk's activations, q1 and q2 the rows' weights by turns (a
 * load need not wait for the previous row's multiply), then q2 the group's products
 * and q1 its scales; q3 (s12-s15) the rows' float sums. */
__asm__(
    ".pushsection .text.matvec_q8_mve_asm,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    /* one row of a chunk; first: the group's first chunk, which starts the sums */
    ".macro MVE_ROW acc, w, first\n"
    "  vldrb.u8 \\w, [r3], #16\n"
    "  .if \\first\n"
    "  vmladav.s8 \\acc, q0, \\w\n"
    "  .else\n"
    "  vmladava.s8 \\acc, q0, \\w\n"
    "  .endif\n"
    ".endm\n"
    ".macro MVE_CHUNK first\n"
    "  vldrb.u8 q0, [r1], #16\n"
    "  MVE_ROW r4, q1, \\first\n"
    "  MVE_ROW r6, q2, \\first\n"
    "  MVE_ROW r8, q1, \\first\n"
    "  MVE_ROW r10, q2, \\first\n"
    ".endm\n"
    /* the group's epilogue; p then points past its scales, xs to the next group's */
    ".macro MVE_EPILOGUE\n"
    /* `vmov qd[2], qd[0], ra, rb` puts ra in lane 0 and rb in lane 2 (so QEMU runs
     * it, and clang builds the vector {r0, r1, r2, r3} with `vmov q0[2], q0[0], r0, r2`
     * then `vmov q0[3], q0[1], r1, r3`); llm-test -k checks the order on the board */
    "  vmov q2[2], q2[0], r4, r8\n"
    "  vmov q2[3], q2[1], r6, r10\n"
    "  vcvt.f32.s32 q2, q2\n"
    "  vldrw.u32 q1, [r3], #16\n"
    "  vmul.f32 q2, q2, q1\n"
    "  ldr r12, [r2], #4\n"
    "  vmul.f32 q2, q2, r12\n"
    "  vadd.f32 s12, s12, s8\n"
    "  vadd.f32 s13, s13, s9\n"
    "  vadd.f32 s14, s14, s10\n"
    "  vadd.f32 s15, s15, s11\n"
    ".endm\n"

    /* matvec_q8_mve(out r0, x r1, xs r2, block r3, rows [sp], cols [sp, #4], group_size [sp, #8]):
     * the usual block (4 rows, whole groups of 64 columns) here, every other one in C */
    ".global matvec_q8_mve\n"
    ".type matvec_q8_mve, %function\n"
    ".thumb_func\n"
    "matvec_q8_mve:\n"
    "  push {r4, r6, r8, r10, lr}\n"
    "  ldrd r4, r6, [sp, #20]\n" /* rows, cols */
    "  ldr r8, [sp, #28]\n"      /* group_size */
    "  cmp r4, #4\n"
    "  it eq\n"
    "  cmpeq r8, #64\n"
    "  bne 9f\n"
    "  ands r12, r6, #63\n"
    "  bne 9f\n"
    "  lsrs r12, r6, #6\n"      /* the groups; none: not the usual block either */
    "  beq 9f\n"
    "  vmov.i32 q3, #0\n"       /* the sums start at +0.0f, as the reference's */
    "  dls lr, r12\n"
    "1:\n"
    "  MVE_CHUNK 1\n"
    "  MVE_CHUNK 0\n"
    "  MVE_CHUNK 0\n"
    "  MVE_CHUNK 0\n"
    "  MVE_EPILOGUE\n"
    "  le lr, 1b\n"
    "  vstrw.32 q3, [r0]\n"
    "  pop {r4, r6, r8, r10, pc}\n"
    "9:\n"
    "  pop {r4, r6, r8, r10, lr}\n"
    "  b matvec_q8_mve_any\n"   /* the arguments as they came */
    ".size matvec_q8_mve, .-matvec_q8_mve\n"

    /* matvec_q8_mve_chunks(out r0, x r1, xs r2, block r3, n_groups [sp], chunks [sp, #4]) */
    ".global matvec_q8_mve_chunks\n"
    ".type matvec_q8_mve_chunks, %function\n"
    ".thumb_func\n"
    "matvec_q8_mve_chunks:\n"
    "  push {r4, r5, r6, r7, r8, r10, lr}\n"
    "  ldrd r5, r7, [sp, #28]\n" /* n_groups, chunks */
    "  subs r7, r7, #1\n"        /* the chunks after the first */
    "  vldrw.u32 q3, [r0]\n"
    "1:\n"
    "  MVE_CHUNK 1\n"
    "  wls lr, r7, 3f\n"
    "2:\n"
    "  MVE_CHUNK 0\n"
    "  le lr, 2b\n"
    "3:\n"
    "  MVE_EPILOGUE\n"
    "  subs r5, r5, #1\n"
    "  bne 1b\n"
    "  vstrw.32 q3, [r0]\n"
    "  pop {r4, r5, r6, r7, r8, r10, pc}\n"
    ".size matvec_q8_mve_chunks, .-matvec_q8_mve_chunks\n"
    ".purgem MVE_ROW\n"
    ".purgem MVE_CHUNK\n"
    ".purgem MVE_EPILOGUE\n"
    ".popsection\n");

/* A block of 1 to 3 rows (the last of a matrix whose rows are not a multiple of
 * 4), with intrinsics; the float epilogue is scalar C, in the reference's order. */
static void rows_short(float *out, const int8_t *x, const float *xs, const uint8_t *p, int rows, int cols,
                       int group_size) {
    for (int r = 0; r < rows; r++) out[r] = 0.0f;
    for (int start = 0; start < cols; start += group_size, xs++) {
        const int len = cols - start < group_size ? cols - start : group_size;
        int32_t acc[3] = {0, 0, 0};
        for (int k = (len + 15) / 16; k > 0; k--, x += 16, p += 16 * rows) {
            const int8x16_t xv = vldrbq_s8(x);
            for (int r = 0; r < rows; r++) acc[r] = vmladavaq_s8(acc[r], xv, vldrbq_s8((const int8_t *)p + 16 * r));
        }
        const float *scales = (const float *)(const void *)p;
        for (int r = 0; r < rows; r++) out[r] += (float)acc[r] * scales[r] * *xs;
        p += 4 * rows;
    }
}

/* Every other block: fewer rows, another group size, or a shorter last group
 * (called from matvec_q8_mve, above). */
void matvec_q8_mve_any(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                       int group_size);
void matvec_q8_mve_any(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                       int group_size) {
    if (rows < 4) {
        rows_short(out, x, xs, block, rows, cols, group_size);
        return;
    }
    const int whole = cols / group_size, start = whole * group_size;
    if (whole > 0 && group_size == 64) {
        matvec_q8_mve(out, x, xs, block, 4, start, 64); /* its whole groups the usual way */
    } else {
        for (int r = 0; r < 4; r++) out[r] = 0.0f;
        if (whole > 0) matvec_q8_mve_chunks(out, x, xs, block, whole, group_size / 16);
    }
    if (start < cols) { /* the shorter last group, added on */
        matvec_q8_mve_chunks(out, x + start, xs + whole, block + (long)whole * (4 * group_size + 16), 1,
                             (cols - start + 15) / 16);
    }
}
#endif
