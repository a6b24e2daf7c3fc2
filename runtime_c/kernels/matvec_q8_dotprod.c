/* matvec_q8_dotprod - one block of up to 4 rows (layout R=4, C=16, bias 0) with
 * the AArch64 dot-product extension (Cortex-A76 and later): the tile of one token of
 * q8_tile_neon.h (which says how), one SDOT per row summing its 16 products four at
 * a time. Four rows, four independent accumulators: SDOT's latency is hidden.
 */
#include "kernels.h"

#if defined(LLM_KERNEL_DOTPROD) || defined(LLM_KERNEL_DISPATCH_A64)
#if defined(LLM_KERNEL_DISPATCH_A64) /* this file's functions alone: the rest stays Armv8.0-A */
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
#include "q8_tile_neon.h"

void matvec_q8_dotprod(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                       int group_size) {
    matvec_q8_tile(out, x, xs, block, rows, cols, group_size, 1);
}
#endif
