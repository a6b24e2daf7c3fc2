/* fuzz_check.h - how the harnesses report a broken property: a line naming it on
 * stderr, then abort(), which libFuzzer records as a finding with its input; and
 * how much longer than its bytes a text may get as the encoder reads it, which scales
 * what llm.h promises. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include "llm_config.h"

/* LLM_NFC: the text's NFC form counts, up to 3 times as long (llm.h, llm_encode) */
#define FUZZ_TEXT_GROWTH (LLM_NFC ? 3 : 1)

static inline void check(int ok, const char *property) {
    if (!ok) {
        fprintf(stderr, "fuzz: property violated: %s\n", property);
        abort();
    }
}

#endif
