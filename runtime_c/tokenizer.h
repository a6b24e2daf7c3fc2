/* tokenizer.h - what the encoders share: the vocabulary (tokenizer.c) and BPE
 * merging (merge.c), used by llama2.c's SentencePiece-style encoder there and by
 * the byte-level (tiktoken) encoder (tokenizer_tiktoken.c). Internal to the runtime. */
#ifndef LLM_TOKENIZER_H
#define LLM_TOKENIZER_H

#include <stddef.h>
#include "llm.h"

/* Appends `tok` to tokens[n++] (names as in llm_encode), or returns
 * -LLM_ERR_TOO_LONG from the calling function when the array is full. */
#define PUSH_TOKEN(tok) do { if (n >= max_tokens) return -LLM_ERR_TOO_LONG; tokens[n++] = (tok); } while (0)

/* The bytes of token `id`, NUL-terminated, and their count (a tiktoken piece
 * may hold a NUL byte, so the count is not always strlen). */
const char *vocab_piece(int id);
size_t vocab_piece_length(int id);

/* The token whose piece is exactly bytes[0..len), the lowest id if several; -1 if none. */
int vocab_lookup(const char *bytes, size_t len);

/* Scratch memory of the encoder's: `bytes` bytes from `base`, word-aligned. */
typedef struct {
    unsigned char *base;
    size_t bytes;
} Workspace;

/* The encoder's workspace: the caller's (llm_encode_workspace) or the planned one. */
Workspace encode_workspace(void);

/* What is left of `w` past its first `used` bytes, word-aligned (empty if nothing). */
Workspace workspace_after(Workspace w, size_t used);

/* BPE over tokens[first..n): merges the adjacent pair whose joined piece is a token
 * with the highest score (the leftmost on ties) until no pair joins into a token, its
 * nodes in `w`. Returns the new count, or -LLM_ERR_TOO_LONG when the n - first tokens
 * need more nodes than `w` holds (llm_encode_workspace). */
int vocab_merge(int *tokens, int first, int n, Workspace w);

#if LLM_TOKENIZER_TIKTOKEN || LLM_NFC
/* The run of runs[0..count) (each `codepoint << shift | value`, sorted, the first at
 * U+0000) that holds `codepoint`: the last one starting at or before it. The Unicode
 * tables (character classes, combining classes) are such runs, binary-searched. */
static inline uint32_t unicode_run(const uint32_t *runs, int count, int shift, uint32_t codepoint) {
    int lo = 0, hi = count;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (runs[mid] >> shift <= codepoint) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return runs[lo];
}
#endif

#if LLM_TOKENIZER_TIKTOKEN
/* Appends the tokens of text[p, end) (no special token in it) to tokens[n..max_tokens):
 * split by the pre-tokenizer pattern (LLM_PRETOKENIZER), each piece byte-level BPE
 * merged in `w`; the new count or -LLM_ERR_*. */
int tiktoken_encode(const char *p, const char *end, int *tokens, int n, int max_tokens, Workspace w);
#endif

#if LLM_NFC
/* Writes text[p, end) in Unicode NFC to the start of `w` (tokenizer_nfc.c): the
 * normalized length, or -LLM_ERR_TOO_LONG when `w` cannot hold it and the combining
 * sequence being normalized. */
long nfc_normalize(const char *p, const char *end, Workspace w);
#endif

#endif
