/* image.c - where the forward pass reads the weight image from.
 *
 * On a microcontroller, straight from flash. On Linux, from a copy in static
 * memory that the kernel may back with 2 MB pages: the image inside the
 * executable is mapped in 4 KB pages, and streaming a 100 MB image through them
 * every token loses much of the memory bandwidth to page-table walks (a plain
 * read loop on the CI machine: 12.2 GB/s over 4 KB pages, 19.8 GB/s over 2 MB).
 * The compiler asks for the copy (LLM_IMAGE_COPY) only for images of 16 MB and up.
 * An image mapped from a file (llm -w) is read where it is mapped. */
#include "llm_config.h"
#if LLM_IMAGE_COPY && defined(__linux__)
#define _DEFAULT_SOURCE /* madvise */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#endif
#include "image.h"
#include "model.h"

#if LLM_IMAGE_LINKED && LLM_IMAGE_COPY && defined(__linux__)
static uint8_t image_copy[LLM_IMAGE_SIZE] __attribute__((aligned(1 << 21)));

/* The copy is made 1 MB at a time, and the executable's pages just copied are
 * given back (its image is a private file mapping: they would be read from the file
 * again if touched, and never are), so the image is in memory once, not twice. */
const uint8_t *image_base(void) {
    enum { CHUNK = 1 << 20 };
    static int copied;
    if (!copied) {
        madvise(image_copy, sizeof image_copy, MADV_HUGEPAGE); /* a hint: fine if refused */
        const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t released = ((uintptr_t)llm_image + page - 1) / page * page;
        for (size_t at = 0; at < sizeof image_copy; at += CHUNK) {
            size_t n = sizeof image_copy - at < CHUNK ? sizeof image_copy - at : CHUNK;
            memcpy(image_copy + at, llm_image + at, n);
            uintptr_t done = ((uintptr_t)llm_image + at + n) / page * page;
            if (done > released) {
                madvise((void *)released, done - released, MADV_DONTNEED);
                released = done;
            }
        }
        copied = 1;
    }
    return image_copy;
}
#elif LLM_IMAGE_LINKED
const uint8_t *image_base(void) {
    return llm_image;
}
#endif
