/* fuzz_decode.c - libFuzzer harness for the token decoder, llm_decode, on arbitrary
 * (previous token, token) pairs: the input is read as a sequence of int32 pairs,
 * so ids far outside the vocabulary, negative ones and BOS all come up.
 *
 * Checks beyond memory safety: NULL exactly for a token outside [0, vocab); the
 * piece is a readable C string; and the previous token only matters through the
 * leading-space rule: after BOS the text is the same as after any other token, or
 * that text without its leading space. The decoder returns byte tokens in one static
 * buffer, so the first answer is copied before the second call. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm.h"
#include "fuzz_check.h"
#include "model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    check(llm_init() == LLM_OK, "llm_init succeeds");
    return 0;
}

static void check_pair(int prev, int token) {
    const char *piece = llm_decode(prev, token);
    int valid = token >= 0 && token < LLM_VOCAB_SIZE;
    check((piece != NULL) == valid, "NULL exactly for a token outside the vocabulary");
    if (!valid) return;
    char *first = strdup(piece); /* also reads the whole string, for ASan */
    /* the same token after a token that is not BOS, and after BOS */
    const char *plain = llm_decode(LLM_BOS_ID == 0 ? 1 : 0, token);
    check(plain != NULL, "a valid token decodes after any token");
    char *other = strdup(plain);
    const char *after_bos = llm_decode(LLM_BOS_ID, token);
    check(after_bos != NULL, "a valid token decodes after BOS");
    check(strcmp(after_bos, other) == 0 || (other[0] == ' ' && strcmp(after_bos, other + 1) == 0),
          "after BOS the text is the same, or without its leading space");
    check(strcmp(first, prev == LLM_BOS_ID ? after_bos : other) == 0,
          "the text depends on the previous token only through BOS");
    free(other);
    free(first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (size_t i = 0; i + 8 <= size; i += 8) {
        int32_t pair[2];
        memcpy(pair, data + i, sizeof pair);
        check_pair(pair[0], pair[1]);
    }
    return 0;
}
