/* STUB (to be replaced by the ISA kernel): the reference in this kernel's layout. */
#include "kernels.h"

#if defined(LLM_KERNEL_DSP)
void matvec_q8_dsp(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                     int group_size) {
    static const WeightLayout layout = {KERNEL_ROWS, KERNEL_COLS, KERNEL_BIAS};
    matvec_q8_reference(out, x, xs, block, rows, cols, group_size, &layout);
}
#endif
