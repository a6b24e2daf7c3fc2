/* fuzz_chat.c - libFuzzer harness for llm_chat_encode, a chat turn rendered in the
 * model's template and encoded, through the public API.
 *
 * Input: one control byte, then the system prompt, a NUL and the user's text (no
 * NUL: no system prompt, all of it the user's). Control bit 0 marks the first turn;
 * bits 1-3 pick the scratch size: the strlen(system) + strlen(user) +
 * LLM_CHAT_TEMPLATE_BYTES bytes llm.h asks for, more, or less; bits 4-7 the token
 * capacity: plenty, or tight. Scratch and tokens are allocated at exactly those sizes
 * (ASan sees a write past either), and the planned buffers not live while encoding
 * are poisoned (fuzz_arena.h). Odd token picks merge in a workspace lent for the
 * scratch's length (its exact size too), even ones in the planned workspace
 * (LLM_PROMPT_CAPACITY nodes). With LLM_NFC the text may encode as if 3 times as
 * long (its NFC form), and what is plenty and short enough scales with it.
 *
 * Checks beyond memory safety: a count within the capacity or -LLM_ERR_TOO_LONG, ids
 * in the vocabulary, BOS first on a first turn (if the template writes one), and
 * success whenever the scratch is the size llm.h asks for, the capacity is plenty and
 * the workspace is lent or the text short enough for the planned one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "fuzz_arena.h"
#include "fuzz_check.h"

/* whether a first turn opens with BOS: in every layout (llm_config.h's LLM_CHAT_FAMILY)
 * but ChatML (2) and Zephyr (4), whose templates write none (runtime_c/chat.c) */
#define FIRST_TURN_BOS (LLM_CHAT_FAMILY != 2 && LLM_CHAT_FAMILY != 4)

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    check(llm_init() == LLM_OK, "llm_init succeeds");
    return 0;
}

static char *copy(const uint8_t *data, size_t len) {
    char *s = malloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int first = data[0] & 1, scratch_pick = (data[0] >> 1) & 7, tokens_pick = data[0] >> 4;
    const uint8_t *rest = data + 1, *nul = memchr(rest, 0, size - 1);
    char *system = nul != NULL ? copy(rest, (size_t)(nul - rest)) : NULL;
    char *user = nul != NULL ? copy(nul + 1, size - 1 - (size_t)(nul + 1 - rest)) : copy(rest, size - 1);
    int asked = (int)(strlen(system != NULL ? system : "") + strlen(user)) + LLM_CHAT_TEMPLATE_BYTES;
    int scratch_size = scratch_pick < 5 ? asked + scratch_pick : scratch_pick == 5 ? 1 : scratch_pick == 6 ? asked / 2 : asked - 1;
    int plenty = 2 * FUZZ_TEXT_GROWTH * asked;
    int max_tokens = tokens_pick < 12 ? plenty : tokens_pick == 12 ? 0 : tokens_pick == 13 ? 1 : asked / (tokens_pick - 11);
    char *scratch = malloc((size_t)scratch_size);
    int *tokens = malloc(sizeof(int) * (size_t)(max_tokens > 0 ? max_tokens : 1));
    const int lend = tokens_pick & 1;
    const size_t workspace_bytes = llm_encode_workspace_size((size_t)scratch_size);
    void *workspace = lend ? malloc(workspace_bytes) : NULL;
    if (lend) llm_encode_workspace(workspace, workspace_bytes);

    poison_all_but_encode_buffers();
    int n = llm_chat_encode(system, user, first, scratch, scratch_size, tokens, max_tokens);
    unpoison_arena();
    llm_encode_workspace(NULL, 0);
    free(workspace);

    if (n < 0) {
        check(n == -LLM_ERR_TOO_LONG, "a count or -LLM_ERR_TOO_LONG");
        check(scratch_size < asked || max_tokens < plenty || (!lend && FUZZ_TEXT_GROWTH * asked + 2 > LLM_PROMPT_CAPACITY),
              "the scratch llm.h asks for, plenty of slots and a big enough workspace suffice");
    } else {
        check(n <= max_tokens, "a count within the capacity");
        for (int i = 0; i < n; i++) check(tokens[i] >= 0 && tokens[i] < LLM_VOCAB_SIZE, "ids in the vocabulary");
        check(!first || !FIRST_TURN_BOS || (n >= 1 && tokens[0] == LLM_BOS_ID), "BOS first on a first turn");
    }
    free(tokens);
    free(scratch);
    free(user);
    free(system);
    return 0;
}
