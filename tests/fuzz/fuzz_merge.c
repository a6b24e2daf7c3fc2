/* fuzz_merge.c - libFuzzer harness for BPE merging (runtime_c/merge.c) against the
 * quadratic merge it replaced (tests/c/merge_reference.c): the same tokens for any
 * sequence, in any workspace.
 *
 * Input: one control byte, then the sequence. Control bit 0: the sequence is bytes,
 * each the token an encoder would start from (its single-byte piece, or the byte's
 * fallback token), so pairs join as in real text, repeats and ties included; else
 * it is little-endian uint16 ids modulo the vocabulary. Bits 1-2: how many leading
 * tokens stay unmerged (`first`: 0, 1, 2 or half). Bit 3: merge in a lent workspace
 * of exactly llm_encode_workspace_size bytes (ASan sees a node past its end), else
 * in the planned one, the planned buffers not live while encoding poisoned
 * (fuzz_arena.h), which must then say -LLM_ERR_TOO_LONG exactly when the tokens
 * are more than its LLM_PROMPT_CAPACITY nodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "tokenizer.h"
#include "fuzz_arena.h"
#include "fuzz_check.h"

int merge_reference(int *tokens, int first, int n);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    check(llm_init() == LLM_OK, "llm_init succeeds");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int bytes_mode = data[0] & 1, first_pick = (data[0] >> 1) & 3, lend = (data[0] >> 3) & 1;
    const uint8_t *rest = data + 1;
    const size_t rest_len = size - 1;
    const int n = (int)(bytes_mode ? rest_len : rest_len / 2);
    int *tokens = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1)), *want = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) {
        if (bytes_mode) {
            const char byte = (char)rest[i];
            int id = vocab_lookup(&byte, 1);
            tokens[i] = id >= 0 ? id : llm_weights.vocab.byte_ids[rest[i]];
        } else {
            uint16_t id;
            memcpy(&id, rest + 2 * i, 2);
            tokens[i] = id % LLM_VOCAB_SIZE;
        }
    }
    const int first = first_pick < 3 ? (first_pick < n ? first_pick : n) : n / 2;
    memcpy(want, tokens, sizeof(int) * (size_t)n);

    void *workspace = NULL;
    int got;
    if (lend) {
        const size_t workspace_bytes = llm_encode_workspace_size((size_t)n);
        workspace = malloc(workspace_bytes);
        llm_encode_workspace(workspace, workspace_bytes);
        got = vocab_merge(tokens, first, n, encode_workspace());
        llm_encode_workspace(NULL, 0);
    } else {
        poison_all_but_encode_buffers();
        got = vocab_merge(tokens, first, n, encode_workspace());
        unpoison_arena();
        if (n - first > LLM_PROMPT_CAPACITY) {
            check(got == -LLM_ERR_TOO_LONG, "more tokens than the planned workspace holds: -LLM_ERR_TOO_LONG");
            got = -1;
        } else {
            check(got >= 0, "the planned workspace holds LLM_PROMPT_CAPACITY tokens");
        }
    }
    if (got >= 0) {
        const int expected = merge_reference(want, first, n);
        check(got == expected, "as many tokens as the quadratic merge");
        check(memcmp(tokens, want, sizeof(int) * (size_t)got) == 0, "the same tokens as the quadratic merge");
    }
    free(workspace);
    free(want);
    free(tokens);
    return 0;
}
