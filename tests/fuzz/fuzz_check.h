/* fuzz_check.h - how the harnesses report a broken property: a line naming it on
 * stderr, then abort(), which libFuzzer records as a finding with its input. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static inline void check(int ok, const char *property) {
    if (!ok) {
        fprintf(stderr, "fuzz: property violated: %s\n", property);
        abort();
    }
}

#endif
