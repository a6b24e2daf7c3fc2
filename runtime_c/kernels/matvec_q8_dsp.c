/* Cortex-M4/M7 DSP extension: SMLAD multiplies two pairs of int16 and adds both
 * products to an int32; SXTB16 sign-extends bytes 0 and 2 (or, rotated, 1 and 3)
 * of a word into two int16. The activations are widened to int16 once per
 * matrix-vector product (matvec_q8_prepare) in the order SXTB16 gives the
 * weights: of every four, (x0, x2) then (x1, x3), one LDRD for the four.
 *
 * Layout (kernels.h): blocks of 4 rows, chunks of 4 columns, bias 0, so a chunk
 * is four consecutive words, one per row: one LDM loads it. Per chunk (16
 * multiply-accumulates): LDM, LDRD, 8 SXTB16, 8 SMLAD = 18 instructions. The
 * float epilogue of each group (its 4 scales follow it in the stream) is in the
 * same assembly, on the scalar FPU, in the reference's order:
 * sum = sum + ((float)acc * ws) * xs (VMLA.F32 rounds the product before it adds:
 * it is not fused, on FPv4 and FPv5 alike). */
#include "kernels.h"

#if defined(LLM_KERNEL_DSP)
#include <arm_acle.h>
#include "q8_m.h"
#include <string.h>

/* Bytes 1 and 3 sign-extended: SXTB16 with its rotate folded in (the intrinsic
 * would cost a separate ROR). */
static inline uint32_t sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline uint32_t load4(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one LDR */
    return v;
}

/* Each word of four int8 becomes two words of int16 pairs, (x0, x2) and (x1, x3);
 * the last quad is padded with zeros (the weights' chunks are, too). */
void matvec_q8_prepare(int8_t *prepared, const int8_t *x, int n) {
    uint32_t *p = (uint32_t *)(void *)prepared; /* 4-byte aligned: a planned buffer */
    int j = 0;
    for (; j + 4 <= n; j += 4, p += 2) {
        const uint32_t v = load4(x + j);
        p[0] = __sxtb16(v);
        p[1] = sxtb16_ror8(v);
    }
    if (j < n) { /* bytes past n may lie past the buffer: not read */
        int8_t last[4] = {0, 0, 0, 0};
        memcpy(last, x + j, (size_t)(n - j));
        const uint32_t v = load4(last);
        p[0] = __sxtb16(v);
        p[1] = sxtb16_ror8(v);
    }
}

/* Blocks of 4 rows, whole groups whose length is a multiple of 16 columns:
 *   sums[0..3] = the outputs of the block's first n_groups (>= 1) groups.
 * g64: groups of 64 columns (16 chunks), written out whole.
 * quads: groups of 16 * quads columns, a loop of 4 chunks.
 * Written in assembly because the body holds 13 or 14 live core registers (the
 * compiler spills them); sums stay in s0-s3 across the groups. */
void matvec_q8_dsp_g64(float *sums, const uint32_t *x, const float *xs, const uint8_t *block, int n_groups);
void matvec_q8_dsp_quads(float *sums, const uint32_t *x, const float *xs, const uint8_t *block, int n_groups,
                         int quads);

/* Registers in the bodies:
 *   r0 p (the weight stream), r1 xp (prepared activations)
 *   r2 xs pointer (g64) or the chunk loop counter (quads)
 *   r3-r6 the chunk's four weight words, rows 0-3 (LDM fills them in order)
 *   r7, r8 the activations (x0, x2), (x1, x3); r9 a temporary
 *   r10, r11, r12, lr the int32 sums of rows 0-3
 * and on the FPU: s0-s3 the rows' float sums, s4-s7 the group's converted sums,
 * s8-s11 its weight scales, s12 its activation scale, s13 the end of xs,
 * s14 (quads) the xs pointer, s15 (quads) the quad count: all caller-saved. */
__asm__(
    ".pushsection .text.matvec_q8_dsp_asm,\"ax\",%progbits\n"
    ".syntax unified\n"
    ".thumb\n"
    /* one row of a chunk: acc += sxtb16(w) . (x0, x2) + sxtb16(w ror 8) . (x1, x3);
     * tmp is a register free at this point (the previous row's word), first starts acc */
    ".macro DSP_ROW acc, w, tmp, first\n"
    "  sxtb16 \\tmp, \\w\n"
    "  .if \\first\n"
    "  smuad \\acc, \\tmp, r7\n"
    "  .else\n"
    "  smlad \\acc, \\tmp, r7, \\acc\n"
    "  .endif\n"
    "  sxtb16 \\w, \\w, ror #8\n"
    "  smlad \\acc, \\w, r8, \\acc\n"
    ".endm\n"
    /* one chunk: 16 multiply-accumulates in 18 instructions */
    ".macro DSP_CHUNK first\n"
    "  ldmia r0!, {r3-r6}\n"
    "  ldrd r7, r8, [r1], #8\n"
    "  DSP_ROW r10, r3, r9, \\first\n"
    "  DSP_ROW r11, r4, r3, \\first\n"
    "  DSP_ROW r12, r5, r4, \\first\n"
    "  DSP_ROW lr, r6, r5, \\first\n"
    ".endm\n"
    /* the group's float epilogue, its activation scale in s12; p then points past its scales */
    ".macro DSP_EPILOGUE\n"
    "  vmov s4, s5, r10, r11\n"
    "  vmov s6, s7, r12, lr\n"
    "  vcvt.f32.s32 s4, s4\n"
    "  vcvt.f32.s32 s5, s5\n"
    "  vcvt.f32.s32 s6, s6\n"
    "  vcvt.f32.s32 s7, s7\n"
    "  vldmia r0!, {s8-s11}\n"
    "  vmul.f32 s4, s4, s8\n"
    "  vmul.f32 s5, s5, s9\n"
    "  vmul.f32 s6, s6, s10\n"
    "  vmul.f32 s7, s7, s11\n"
    "  vmla.f32 s0, s4, s12\n"
    "  vmla.f32 s1, s5, s12\n"
    "  vmla.f32 s2, s6, s12\n"
    "  vmla.f32 s3, s7, s12\n"
    ".endm\n"

    /* the float sums start at +0.0f, as the reference's; p = block */
    ".macro DSP_START\n"
    "  movs r0, #0\n"
    "  vmov s0, s1, r0, r0\n"
    "  vmov s2, s3, r0, r0\n"
    "  mov r0, r3\n"
    ".endm\n"
    /* after a group's epilogue: back to 1: while xs (r2) has not reached its end,
     * else store the four sums where the pushed r0 points and return */
    ".macro DSP_GROUP_END\n"
    "  DSP_EPILOGUE\n"
    "  vmov r3, s13\n"
    "  cmp r2, r3\n"
    "  bne 1b\n"
    "  pop {r3}\n"
    "  vstmia r3, {s0-s3}\n"
    "  pop {r4-r11, pc}\n"
    ".endm\n"

    /* matvec_q8_dsp_g64(sums r0, x r1, xs r2, block r3, n_groups [sp]) */
    ".global matvec_q8_dsp_g64\n"
    ".type matvec_q8_dsp_g64, %function\n"
    ".thumb_func\n"
    "matvec_q8_dsp_g64:\n"
    "  push {r0, r4-r11, lr}\n"
    "  ldr r4, [sp, #40]\n"           /* n_groups */
    "  add r4, r2, r4, lsl #2\n"
    "  vmov s13, r4\n"                /* the end of xs */
    "  DSP_START\n"
    "1:\n"
    "  DSP_CHUNK 1\n"
    "  .rept 15\n"
    "  DSP_CHUNK 0\n"
    "  .endr\n"
    "  vldmia r2!, {s12}\n"
    "  DSP_GROUP_END\n"
    ".size matvec_q8_dsp_g64, .-matvec_q8_dsp_g64\n"

    /* matvec_q8_dsp_quads(sums r0, x r1, xs r2, block r3, n_groups [sp], quads [sp, #4]) */
    ".global matvec_q8_dsp_quads\n"
    ".type matvec_q8_dsp_quads, %function\n"
    ".thumb_func\n"
    "matvec_q8_dsp_quads:\n"
    "  push {r0, r4-r11, lr}\n"
    "  ldrd r4, r5, [sp, #40]\n"      /* n_groups, quads */
    "  vmov s14, r2\n"
    "  add r4, r2, r4, lsl #2\n"
    "  vmov s13, r4\n"
    "  vmov s15, r5\n"
    "  DSP_START\n"
    "1:\n"
    "  vmov r2, s15\n"
    "  mov r10, #0\n"
    "  mov r11, #0\n"
    "  mov r12, #0\n"
    "  mov lr, #0\n"
    "2:\n"
    "  DSP_CHUNK 0\n"
    "  DSP_CHUNK 0\n"
    "  DSP_CHUNK 0\n"
    "  DSP_CHUNK 0\n"
    "  subs r2, r2, #1\n"
    "  bne 2b\n"
    "  vmov r2, s14\n"
    "  vldmia r2!, {s12}\n"
    "  vmov s14, r2\n"
    "  DSP_GROUP_END\n"
    ".size matvec_q8_dsp_quads, .-matvec_q8_dsp_quads\n"
    ".purgem DSP_ROW\n"
    ".purgem DSP_CHUNK\n"
    ".purgem DSP_EPILOGUE\n"
    ".purgem DSP_START\n"
    ".purgem DSP_GROUP_END\n"
    ".popsection\n");

/* Row r's word of a chunk times the chunk's activations (xa, xb), added to acc. */
#define DSP_ROW_C(acc, p, r, xa, xb)                                  \
    do {                                                              \
        const uint32_t w_ = load4((p) + 4 * (r));                     \
        acc = __smlad(__sxtb16(w_), xa, acc);                         \
        acc = __smlad(sxtb16_ror8(w_), xb, acc);                      \
    } while (0)

/* One group of `chunks` chunks of a whole block (4 rows), added to sums[0..3]:
 * the shorter last group of a row, or groups of 4 or 8 columns. The four sums
 * are named so that they stay in registers. Returns the next group. */
static const uint8_t *group4_c(float *sums, const uint32_t *x, float xs, const uint8_t *p, int chunks) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (; chunks > 0; chunks--, x += 2, p += 16) {
        const uint32_t xa = x[0], xb = x[1];
        DSP_ROW_C(a0, p, 0, xa, xb);
        DSP_ROW_C(a1, p, 1, xa, xb);
        DSP_ROW_C(a2, p, 2, xa, xb);
        DSP_ROW_C(a3, p, 3, xa, xb);
    }
    const float *scales = (const float *)(const void *)p;
    sums[0] += (float)a0 * scales[0] * xs;
    sums[1] += (float)a1 * scales[1] * xs;
    sums[2] += (float)a2 * scales[2] * xs;
    sums[3] += (float)a3 * scales[3] * xs;
    return p + 16;
}

void matvec_q8_dsp_group(float *out, const int8_t *x, const float *xs, const uint8_t *block, int len) {
    group4_c(out, (const uint32_t *)(const void *)x, *xs, block, (len + 3) / 4);
}

/* The same for a block of 1 to 3 rows (the last block of a matrix whose rows are
 * not a multiple of 4), group after group. */
static void groups_short(float *out, const uint32_t *x, const float *xs, const uint8_t *p, int rows, int cols,
                         int group_size) {
    for (int r = 0; r < rows; r++) out[r] = 0.0f;
    for (int start = 0; start < cols; start += group_size, xs++) {
        const int len = cols - start < group_size ? cols - start : group_size;
        int32_t acc[3] = {0, 0, 0};
        for (int k = (len + 3) / 4; k > 0; k--, x += 2, p += 4 * rows) {
            for (int r = 0; r < rows; r++) DSP_ROW_C(acc[r], p, r, x[0], x[1]);
        }
        const float *scales = (const float *)(const void *)p;
        for (int r = 0; r < rows; r++) out[r] += (float)acc[r] * scales[r] * *xs;
        p += 4 * rows;
    }
}

/* Every other block: any rows, group size or shorter last group. */
static __attribute__((noinline)) void matvec_q8_dsp_any(float *out, const uint32_t *xw, const float *xs,
                                                        const uint8_t *block, int rows, int cols, int group_size) {
    if (rows < 4) {
        groups_short(out, xw, xs, block, rows, cols, group_size);
        return;
    }
    int start = 0;
    if (group_size % 16 == 0 && cols >= group_size) { /* whole groups in assembly */
        const int whole = cols / group_size;
        if (group_size == 64) {
            matvec_q8_dsp_g64(out, xw, xs, block, whole);
        } else {
            matvec_q8_dsp_quads(out, xw, xs, block, whole, group_size / 16);
        }
        start = whole * group_size;
        block += (long)whole * (4 * group_size + 16);
    } else {
        for (int r = 0; r < 4; r++) out[r] = 0.0f;
    }
    for (; start < cols; start += group_size) { /* then the rest, added on */
        const int len = cols - start < group_size ? cols - start : group_size;
        block = group4_c(out, xw + start / 2, xs[start / group_size], block, (len + 3) / 4);
    }
}
void matvec_q8_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                   int group_size) {
    const uint32_t *xw = (const uint32_t *)(const void *)x; /* 8-byte aligned: a planned buffer */
    if (rows == 4 && group_size == 64 && cols > 0 && cols % 64 == 0) { /* the usual block: straight in */
        matvec_q8_dsp_g64(out, xw, xs, block, cols / 64);
    } else {
        matvec_q8_dsp_any(out, xw, xs, block, rows, cols, group_size);
    }
}
#endif
