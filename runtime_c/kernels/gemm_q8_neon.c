/* gemm_q8_neon - one q8 block (layout R=4, C=16, bias 0) for a batch of tokens with
 * Arm NEON, AArch64 and Armv7: q8_tile_neon.h's tiles of 4 rows x 4 tokens (Armv7:
 * x 2), each load of a row's weights serving the tile's tokens; per token bit for bit
 * matvec_q8_neon, the same body's tile of one.
 */
#include "kernels.h"

#if defined(LLM_KERNEL_NEON) || defined(LLM_KERNEL_DISPATCH_A64)
#include "q8_tile_neon.h"

void gemm_q8_neon(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols, int group_size) {
    gemm_q8_tiles(out, b, block, rows, cols, group_size, 0);
}
#endif
