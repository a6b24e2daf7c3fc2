/* image_guard.c - llm_init on whatever image the test linked in its own .S,
 * bypassing the project's llm_image.S and its size check (tests/test_image_check.py).
 * The .S puts the image at the start of a page, and `guard_page` at the first page
 * boundary after its end; made inaccessible here, a read past the image's end is
 * a SIGSEGV at once instead of a silent read of whatever the linker put there.
 * Prints llm_init's return value. */
#define _DEFAULT_SOURCE /* mprotect */
#include <stdio.h>
#include <sys/mman.h>
#include "llm.h"

extern const unsigned char guard_page[];

int main(void) {
    if (mprotect((void *)guard_page, 4096, PROT_NONE) != 0) {
        perror("mprotect");
        return 2;
    }
    printf("%d\n", llm_init());
    return 0;
}
