/* gemm_q8_dotprod - one q8 block (layout R=4, C=16, bias 0) for a batch of tokens
 * with the AArch64 dot-product extension: q8_tile_neon.h's tiles of 4 rows x 4
 * tokens, each load of a row's weights serving four SDOTs, one per token; per token
 * bit for bit matvec_q8_dotprod, the same body's tile of one.
 */
#include "kernels.h"

#if defined(LLM_KERNEL_DOTPROD) || defined(LLM_KERNEL_DISPATCH_A64)
#if defined(LLM_KERNEL_DISPATCH_A64) /* this file's functions alone: the rest stays Armv8.0-A */
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
#include "q8_tile_neon.h"

void gemm_q8_dotprod(float *out, const TokenBatch *b, const uint8_t *block, int rows, int cols, int group_size) {
    gemm_q8_tiles(out, b, block, rows, cols, group_size, 1);
}
#endif
