/* merge_reference.c - the runtime's BPE merge as it was before merge.c, kept as
 * the reference the O(n log n) merge is held to (tests/test_bpe_merge.py through
 * ctypes, tests/fuzz/fuzz_merge.c under libFuzzer): after each merge every adjacent
 * pair is looked up again and the first with the highest score is merged, O(n^2)
 * lookups. Built with a project's runtime sources, whose vocabulary it reads. */
#include <string.h>
#include "llm.h"
#include "model.h"
#include "tokenizer.h"

int merge_reference(int *tokens, int first, int n);

int merge_reference(int *tokens, int first, int n) {
    const float *scores = llm_weights.vocab.scores;
    char *pair = llm_state.str_buffer; /* 2 * max_token_length + 1 bytes */
    for (;;) {
        int best_id = -1, best_idx = -1;
        float best_score = 0.0f;
        for (int i = first; i + 1 < n; i++) {
            size_t left = vocab_piece_length(tokens[i]), right = vocab_piece_length(tokens[i + 1]);
            memcpy(pair, vocab_piece(tokens[i]), left);
            memcpy(pair + left, vocab_piece(tokens[i + 1]), right);
            int id = vocab_lookup(pair, left + right);
            if (id >= 0 && (best_id < 0 || scores[id] > best_score)) {
                best_score = scores[id];
                best_id = id;
                best_idx = i;
            }
        }
        if (best_idx < 0) return n;
        tokens[best_idx] = best_id;
        memmove(&tokens[best_idx + 1], &tokens[best_idx + 2], sizeof(int) * (size_t)(n - best_idx - 2));
        n--;
    }
}
