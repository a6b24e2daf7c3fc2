/* image.h - the weight image: whether a block of memory is one this build can run
 * (image_check.c), and its address for reading (image.c). */
#ifndef LLM_IMAGE_H
#define LLM_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "llm_config.h"

/* Checks the `bytes` bytes at `image` (at least 4-byte aligned) as a weight image
 * for this build, reading only those bytes: its header against llm_config.h, its
 * size, its CRC-32 and its tokenizer tables. 0, -LLM_ERR_CORRUPT for a CRC
 * mismatch, -LLM_ERR_IMAGE for anything else that does not fit, -LLM_ERR_ARG for a
 * NULL or misaligned pointer. */
int image_check(const uint8_t *image, size_t bytes);

/* Whether this build has a weight image at an address the linker knows: linked in,
 * or (bare metal) flashed at its own address. A Linux build of a separate image
 * has none: platform/linux.c maps one from a file (llm_init_image). */
#if LLM_WEIGHTS_SEPARATE && defined(__linux__)
#define LLM_IMAGE_LINKED 0
#else
#define LLM_IMAGE_LINKED 1
/* Where the forward pass reads that image: itself, or a copy (image.c). */
const uint8_t *image_base(void);
#endif

#endif
