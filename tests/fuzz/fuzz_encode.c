/* fuzz_encode.c - libFuzzer harness for the tokenizer encoder, through the public API.
 *
 * Input: one control byte, then the text (up to the first NUL). Control bit 0 asks
 * for BOS, bit 1 for EOS; bits 2-7 pick the token capacity: the strlen + 3 slots
 * llm.h promises are enough, or a smaller one, so the "does not fit" path is hit too;
 * and bit 4 whether the encoder merges in a workspace lent to it, of the
 * llm_encode_workspace_size(strlen) bytes llm.h promises are enough, or in its
 * planned one (LLM_PROMPT_CAPACITY nodes). The tokens array and the lent workspace
 * are allocated at exactly their sizes, so a write past either is an ASan report,
 * and the planned buffers not live while encoding are poisoned (fuzz_arena.h).
 *
 * Checks beyond memory safety: the result is a count within the capacity or
 * -LLM_ERR_TOO_LONG (never that with the promised capacity and workspace), every id
 * is in the vocabulary, BOS/EOS sit where asked, and decoding the tokens gives the
 * text back (after BOS exactly; without it, the text is what the decoded tokens end
 * with). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "fuzz_arena.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    check(llm_init() == LLM_OK, "llm_init succeeds");
    return 0;
}

/* Appends decode(prev, token) to out (capacity cap); 0 when it does not fit. */
static int append_piece(char *out, size_t *len, size_t cap, int prev, int token) {
    const char *piece = llm_decode(prev, token);
    check(piece != NULL, "every id the encoder gives decodes");
    size_t n = strlen(piece);
    if (*len + n >= cap) return 0;
    memcpy(out + *len, piece, n);
    *len += n;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int bos = data[0] & 1, eos = (data[0] >> 1) & 1, pick = data[0] >> 2;
    char *text = malloc(size); /* the rest of the input as a C string */
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = strlen(text);
    /* the promised capacity (or a little more) for most picks, a tight one for the rest */
    int promised = (int)len + 3;
    int capacity = pick < 48 ? promised + pick % 4 : pick - 48;
    int *tokens = malloc(sizeof(int) * (size_t)(capacity > 0 ? capacity : 1));
    const int lend = (pick >> 2) & 1;
    const size_t workspace_bytes = llm_encode_workspace_size(len);
    void *workspace = lend ? malloc(workspace_bytes) : NULL;
    if (lend) llm_encode_workspace(workspace, workspace_bytes);

    poison_all_but_encode_buffers();
    int n = llm_encode(text, bos, eos, tokens, capacity);
    unpoison_arena();
    llm_encode_workspace(NULL, 0);
    free(workspace);

    if (n == -LLM_ERR_TOO_LONG) {
        check(capacity < promised || (!lend && len + 2 > LLM_PROMPT_CAPACITY),
              "strlen + 3 slots and a workspace of llm_encode_workspace_size(strlen) bytes suffice (llm.h)");
    } else {
        check(n >= 0 && n <= capacity, "a count within the capacity, or -LLM_ERR_TOO_LONG");
        for (int i = 0; i < n; i++) check(tokens[i] >= 0 && tokens[i] < LLM_VOCAB_SIZE, "ids in the vocabulary");
        check(!bos || (n >= 1 && tokens[0] == LLM_BOS_ID), "BOS first when asked");
        check(!eos || (n >= 1 && tokens[n - 1] == LLM_EOS_ID), "EOS last when asked");
        /* the round trip: a token's text never exceeds the input plus a dummy-prefix space */
        size_t cap = len + 2, out_len = 0;
        char *out = malloc(cap);
        int first = bos, last = n - eos;
        for (int i = first; i < last; i++) {
            check(append_piece(out, &out_len, cap, i > 0 ? tokens[i - 1] : -1, tokens[i]),
                  "the decoded tokens are no longer than the text and a dummy-prefix space");
        }
        check(bos ? out_len == len : out_len >= len, "decoding gives the text back (length)");
        check(memcmp(out + out_len - len, text, len) == 0, "decoding gives the text back");
        free(out);
    }
    free(tokens);
    free(text);
    return 0;
}
