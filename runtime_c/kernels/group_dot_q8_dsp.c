/* Cortex-M4/M7 DSP extension: SMLAD multiplies two pairs of int16 and adds both
 * products to an int32. SXTB16 sign-extends bytes 0 and 2 of a word into two
 * int16 halves (and, rotated by 8, bytes 1 and 3), so four int8 products take
 * two loads, four extensions and two SMLADs; the pairing order differs from the
 * reference but integer sums do not depend on it. */
#include "kernels.h"

#if defined(LLM_KERNEL_DSP)
#include <arm_acle.h>
#include <string.h>

/* Bytes 1 and 3 sign-extended: SXTB16 with its rotate folded in (the intrinsic
 * would cost a separate ROR). */
static inline uint32_t sxtb16_ror8(uint32_t v) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline uint32_t load4(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v); /* unaligned word load: LDR on M4/M7 */
    return v;
}

void group_dot_q8_dsp(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size) {
    for (int start = 0, g = 0; start < n; start += group_size, g++) {
        int end = start + group_size < n ? start + group_size : n;
        int32_t acc = 0;
        int j = start;
        for (; j + 8 <= end; j += 8) {
            uint32_t a0 = load4(x + j), b0 = load4(w + j), a1 = load4(x + j + 4), b1 = load4(w + j + 4);
            acc = __smlad(__sxtb16(a0), __sxtb16(b0), acc);
            acc = __smlad(sxtb16_ror8(a0), sxtb16_ror8(b0), acc);
            acc = __smlad(__sxtb16(a1), __sxtb16(b1), acc);
            acc = __smlad(sxtb16_ror8(a1), sxtb16_ror8(b1), acc);
        }
        for (; j < end; j++) acc += (int32_t)x[j] * (int32_t)w[j];
        sums[g] = acc;
    }
}
#endif
