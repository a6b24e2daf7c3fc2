/* matvec_q8_neon - one block of up to 4 rows (layout R=4, C=16, bias 0) with Arm
 * NEON, AArch64 and Armv7: the tile of one token of q8_tile_neon.h (which says how),
 * NEON's widening multiplies making each row's products.
 */
#include "kernels.h"

#if defined(LLM_KERNEL_NEON) || defined(LLM_KERNEL_DISPATCH_A64)
#include "q8_tile_neon.h"

void matvec_q8_neon(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                    int group_size) {
    matvec_q8_tile(out, x, xs, block, rows, cols, group_size, 0);
}
#endif
