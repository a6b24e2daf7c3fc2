/* fuzz_encode.c - libFuzzer harness for the tokenizer encoder, through the public API.
 *
 * Input: one control byte, then the text (up to the first NUL). Control bit 0 asks
 * for BOS, bit 1 for EOS; bits 2-7 pick the token capacity: the strlen + 3 slots
 * llm.h promises are enough (3 * strlen + 3 with LLM_NFC), or a smaller one, so the
 * "does not fit" path is hit too; and bit 4 whether the encoder merges in a workspace
 * lent to it, of the llm_encode_workspace_size(strlen) bytes llm.h promises are
 * enough, or in its planned one (LLM_PROMPT_CAPACITY nodes; with LLM_NFC room for as
 * many bytes of normalized text before them). The tokens array and the lent workspace
 * are allocated at exactly their sizes, so a write past either is an ASan report,
 * and the planned buffers not live while encoding are poisoned (fuzz_arena.h).
 *
 * Checks beyond memory safety: the result is a count within the capacity or
 * -LLM_ERR_TOO_LONG (never that with the promised capacity and workspace, nor in the
 * planned workspace with a text that fits it), every id is in the vocabulary, BOS/EOS
 * sit where asked, and decoding the tokens gives the text back (after BOS exactly;
 * without it, the text is what the decoded tokens end with). With LLM_NFC decoding
 * gives the text's NFC form instead, which this harness cannot compute, so: text of
 * code points below U+0300 only (no byte from 0xCC up: Unicode composes and
 * decomposes none of them) comes back exactly, and any text's decoded tokens, encoded
 * again, are the same tokens (NFC of an NFC form is that form). */
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

#if LLM_NFC
/* The tokens of text (no BOS or EOS) in a workspace lent of the size llm.h promises
 * and the slots it promises (allocated); the count in *n. */
static int *encode_lent(const char *text, int *n) {
    const size_t len = strlen(text), workspace_bytes = llm_encode_workspace_size(len);
    const int capacity = FUZZ_TEXT_GROWTH * (int)len + 3;
    int *tokens = malloc(sizeof(int) * (size_t)capacity);
    void *workspace = malloc(workspace_bytes);
    llm_encode_workspace(workspace, workspace_bytes);
    *n = llm_encode(text, 0, 0, tokens, capacity);
    llm_encode_workspace(NULL, 0);
    free(workspace);
    check(*n >= 0, "the promised slots and workspace suffice (llm.h)");
    return tokens;
}
#endif

/* The bytes of the decoded tokens[0..n), the first after prev, in out (capacity cap,
 * NUL-terminated); their count. */
static size_t decode_all(const int *tokens, int n, int prev, char *out, size_t cap) {
    size_t out_len = 0;
    for (int i = 0; i < n; i++) {
        check(append_piece(out, &out_len, cap, i > 0 ? tokens[i - 1] : prev, tokens[i]),
              "the decoded tokens are no longer than the text as the encoder reads it and a dummy-prefix space");
    }
    out[out_len] = '\0';
    return out_len;
}

/* Whether encoding text in the planned workspace may fall short: when the text as the
 * encoder reads it (with LLM_NFC its NFC form, as its tokens decode) and the 2 tokens
 * besides (BOS, a dummy prefix) are more than LLM_PROMPT_CAPACITY (llm.h). */
static int beyond_planned(const char *text, size_t len) {
#if LLM_NFC
    int n;
    int *tokens = encode_lent(text, &n);
    char *out = malloc(FUZZ_TEXT_GROWTH * len + 2);
    len = decode_all(tokens, n, -1, out, FUZZ_TEXT_GROWTH * len + 2);
    free(out);
    free(tokens);
#else
    (void)text;
#endif
    return len + 2 > LLM_PROMPT_CAPACITY;
}

/* The text came back as out, its tokens (n, without BOS and EOS) decoded; with LLM_NFC
 * as its NFC form, which encodes to the same tokens (a byte-level BPE, the only kind
 * with NFC: no dummy prefix comes back). */
static void check_round_trip(const char *text, size_t len, int bos, const char *out, size_t out_len,
                             const int *tokens, int n) {
#if LLM_NFC
    int composes = 0; /* a byte from 0xCC up: a code point from U+0300 or not UTF-8 */
    for (size_t i = 0; i < len; i++) composes |= (unsigned char)text[i] >= 0xCC;
    (void)bos;
    if (!composes) {
        check(out_len == len && memcmp(out, text, len) == 0, "text below U+0300 is its own NFC form");
        return;
    }
    int again_n;
    int *again = encode_lent(out, &again_n);
    check(again_n == n && memcmp(again, tokens, sizeof(int) * (size_t)n) == 0,
          "the decoded tokens (the text's NFC form) encode to the same tokens");
    free(again);
#else
    (void)tokens;
    (void)n;
    check(bos ? out_len == len : out_len >= len, "decoding gives the text back (length)");
    check(memcmp(out + out_len - len, text, len) == 0, "decoding gives the text back");
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int bos = data[0] & 1, eos = (data[0] >> 1) & 1, pick = data[0] >> 2;
    char *text = malloc(size); /* the rest of the input as a C string */
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = strlen(text);
    /* the promised capacity (or a little more) for most picks, a tight one for the rest */
    int promised = FUZZ_TEXT_GROWTH * (int)len + 3;
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
        check(capacity < promised || (!lend && beyond_planned(text, len)),
              "the promised slots and a workspace of llm_encode_workspace_size(strlen) bytes suffice, and the "
              "planned workspace for a text that fits it (llm.h)");
    } else {
        check(n >= 0 && n <= capacity, "a count within the capacity, or -LLM_ERR_TOO_LONG");
        for (int i = 0; i < n; i++) check(tokens[i] >= 0 && tokens[i] < LLM_VOCAB_SIZE, "ids in the vocabulary");
        check(!bos || (n >= 1 && tokens[0] == LLM_BOS_ID), "BOS first when asked");
        check(!eos || (n >= 1 && tokens[n - 1] == LLM_EOS_ID), "EOS last when asked");
        /* the round trip: a token's text never exceeds the input (as the encoder reads
         * it) plus a dummy-prefix space */
        size_t cap = FUZZ_TEXT_GROWTH * len + 2;
        char *out = malloc(cap);
        size_t out_len = decode_all(tokens + bos, n - bos - eos, bos ? tokens[0] : -1, out, cap);
        check_round_trip(text, len, bos, out, out_len, tokens + bos, n - bos - eos);
        free(out);
    }
    free(tokens);
    free(text);
    return 0;
}
