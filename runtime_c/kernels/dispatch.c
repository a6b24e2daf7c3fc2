/* dispatch.c - a portable build's kernels, picked once at run time from the CPU
 * (kernels.h: kernels_init). Every set reads the one layout the image was written
 * in (KERNEL_ROWS x KERNEL_COLS, KERNEL_F32_ROWS x 1), the portable C through its
 * WeightLayout, and all give the same floats bit for bit, so the text does not
 * depend on the set a machine gets.
 * - x86-64: the AVX2 set where the CPU and the OS have AVX2 and F16C (the half KV
 *   cache's loads); libgcc's CPUID check includes the OS's saving of ymm state.
 * - AArch64: NEON is baseline; the dot-product matvecs (q8, q4, q5, q6) and q8 GEMM where
 *   the kernel reports it (HWCAP_ASIMDDP). */
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

#if defined(LLM_KERNEL_DISPATCH)
#if defined(LLM_KERNEL_DISPATCH_A64)
#include <sys/auxv.h>
#endif

static const WeightLayout q8_layout = {KERNEL_ROWS, KERNEL_COLS, KERNEL_BIAS};
static const WeightLayout f32_layout = {KERNEL_F32_ROWS, KERNEL_F32_COLS, 0};

static void matvec_q8_portable(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows,
                               int cols, int group_size) {
    matvec_q8_reference(out, x, xs, block, rows, cols, group_size, &q8_layout);
}

/* The sets without a GEMM twin run their matvec token after token. */
static void gemm_q8_portable(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols,
                             int group_size) {
    gemm_each(matvec_q8_portable, out, b, block, rows, cols, group_size);
}

static void matvec_f32_portable(float *out, const float *x, const uint8_t *block, int rows, int cols) {
    matvec_f32_reference(out, x, block, rows, cols, &f32_layout);
}

#if defined(LLM_KERNEL_DISPATCH_X86)
static const KernelSet avx2 = {"avx2", matvec_q8_avx2, gemm_q8_avx2, matvec_f32_avx2, matvec_q4_avx2,
                               matvec_q5_avx2, matvec_q6_avx2, quantize_q8_avx2,
                               softmax_f32_simd, swiglu_f32_simd, scores_f32_avx2, weighted_sum_f32_avx2,
                               key_dots_f16_avx2, key_dots_i8_avx2, value_sums_f16_avx2, value_sums_i8_avx2};
#else
static const KernelSet neon = {"neon", matvec_q8_neon, gemm_q8_neon, matvec_f32_neon, matvec_q4_neon,
                               matvec_q5_neon, matvec_q6_neon, quantize_q8,
                               softmax_f32_simd, swiglu_f32_simd, scores_f32_neon, weighted_sum_f32_neon,
                               key_dots_f16_neon, key_dots_i8_neon, value_sums_f16_neon, value_sums_i8_neon};
#endif
static const KernelSet portable = {"reference", matvec_q8_portable, gemm_q8_portable, matvec_f32_portable,
                                   matvec_q4_reference, matvec_q5_reference, matvec_q6_reference, quantize_q8,
                                   softmax_f32, swiglu_f32, scores_f32, weighted_sum_f32, key_dots_f16,
                                   key_dots_i8, value_sums_f16, value_sums_i8};

KernelSet kernel_set;

const char *kernels_init(void) {
    if (kernel_set.name != NULL) return kernel_set.name;
    /* the sets this CPU can run, best first; the portable C always */
    KernelSet sets[3];
    int n = 0;
#if defined(LLM_KERNEL_DISPATCH_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")) sets[n++] = avx2;
#else
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) {
        sets[n] = neon;
        sets[n].name = "neon-dotprod";
        sets[n].matvec_q8 = matvec_q8_dotprod;
        sets[n].gemm_q8 = gemm_q8_dotprod;
        sets[n].matvec_q4 = matvec_q4_dotprod;
        sets[n].matvec_q5 = matvec_q5_dotprod;
        sets[n++].matvec_q6 = matvec_q6_dotprod;
    }
    sets[n++] = neon;
#endif
    sets[n++] = portable;
    const char *wanted = getenv("LLM_KERNELS");
    int pick = 0;
    for (int i = 0; wanted != NULL && i < n; i++) {
        if (strcmp(sets[i].name, wanted) == 0) pick = i;
    }
    kernel_set = sets[pick];
    return kernel_set.name;
}
#endif
