/* image.c - where the forward pass reads the weight image from.
 *
 * On a microcontroller, straight from flash. On Linux, from a copy in static
 * memory that the kernel may back with 2 MB pages: the image inside the
 * executable is mapped in 4 KB pages, and streaming a 100 MB image through them
 * every token loses much of the memory bandwidth to page-table walks (a plain
 * read loop on the CI machine: 12.2 GB/s over 4 KB pages, 19.8 GB/s over 2 MB).
 * The compiler asks for the copy (LLM_IMAGE_COPY) only for images of 16 MB and up. */
#include "llm_config.h"
#if LLM_IMAGE_COPY && defined(__linux__)
#define _DEFAULT_SOURCE /* madvise */
#include <string.h>
#include <sys/mman.h>
#endif
#include "image.h"
#include "model.h"

#if LLM_IMAGE_COPY && defined(__linux__)
static uint8_t image_copy[LLM_IMAGE_SIZE] __attribute__((aligned(1 << 21)));

const uint8_t *image_base(void) {
    static int copied;
    if (!copied) {
        madvise(image_copy, sizeof image_copy, MADV_HUGEPAGE); /* a hint: fine if refused */
        memcpy(image_copy, llm_image, sizeof image_copy);
        copied = 1;
    }
    return image_copy;
}
#else
const uint8_t *image_base(void) {
    return llm_image;
}
#endif
