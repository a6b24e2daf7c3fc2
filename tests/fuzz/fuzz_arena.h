/* fuzz_arena.h - the planned buffers all live in one static arena, where ASan sees
 * no boundary between neighbours. Around a call that only encodes, the harnesses
 * poison the arena except the buffers the plan says are live while encoding
 * (fuzz_plan.h, written by scripts/fuzz.sh from plan.json): code that strays outside
 * its scratch buffer is reported at once instead of silently corrupting another. */
#ifndef FUZZ_ARENA_H
#define FUZZ_ARENA_H

#include <sanitizer/asan_interface.h>
#include <stddef.h>
#include "model.h"
#include "fuzz_plan.h"

static inline void poison_all_but_encode_buffers(void) {
    ASAN_POISON_MEMORY_REGION(FUZZ_ARENA_BASE, FUZZ_ARENA_BYTES);
    for (size_t i = 0; i < sizeof fuzz_encode_live / sizeof *fuzz_encode_live; i++) {
        ASAN_UNPOISON_MEMORY_REGION(FUZZ_ARENA_BASE + fuzz_encode_live[i].offset, fuzz_encode_live[i].bytes);
    }
}

static inline void unpoison_arena(void) {
    ASAN_UNPOISON_MEMORY_REGION(FUZZ_ARENA_BASE, FUZZ_ARENA_BYTES);
}

#endif
