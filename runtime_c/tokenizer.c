/* tokenizer.c - llama2.c-compatible BPE encoder (with byte fallback) and decoder.
 * The compiler stores the vocabulary already sorted, so lookups are a binary
 * search and nothing is allocated. */
#include <string.h>
#include "llm.h"
#include "model.h"

static const char *piece(int id) {
    return llm_weights.vocab.piece_bytes + llm_weights.vocab.piece_offsets[id];
}

/* The id of the piece equal to `str`, or -1. With duplicate pieces, the lowest id. */
static int lookup(const char *str) {
    const int32_t *sorted = llm_weights.vocab.sorted_ids;
    int lo = 0, hi = LLM_VOCAB_SIZE;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(piece(sorted[mid]), str) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < LLM_VOCAB_SIZE && strcmp(piece(sorted[lo]), str) == 0 ? sorted[lo] : -1;
}

int llm_encode(const char *text, int bos, int eos, int *tokens, int max_tokens) {
    if (text == NULL || tokens == NULL || max_tokens < 0) return -LLM_ERR_ARG;
    const Vocab *vocab = &llm_weights.vocab;
    char *buf = llm_state.str_buffer;
    int n = 0;
#define PUSH(tok) do { if (n >= max_tokens) return -LLM_ERR_TOO_LONG; tokens[n++] = (tok); } while (0)

    if (bos) PUSH(LLM_BOS_ID);
    /* SentencePiece's add_dummy_prefix: non-empty text starts with a space. */
    if (text[0] != '\0') {
        int space = lookup(" ");
        if (space >= 0) PUSH(space);
    }

    /* One token per UTF-8 codepoint, or one per byte where the codepoint has none. */
    size_t len = 0;
    for (const char *c = text; *c != '\0'; c++) {
        if (((unsigned char)*c & 0xC0) != 0x80) len = 0; /* a codepoint starts here */
        buf[len++] = *c;
        buf[len] = '\0';
        if (((unsigned char)c[1] & 0xC0) == 0x80 && len < 4) continue;
        int id = lookup(buf);
        if (id >= 0) {
            PUSH(id);
        } else {
            for (size_t i = 0; i < len; i++) PUSH(vocab->byte_ids[(unsigned char)buf[i]]);
        }
        len = 0;
    }

    /* Merge the adjacent pair whose merged piece scores highest, until none exists. */
    for (;;) {
        int best_id = -1, best_idx = -1;
        float best_score = 0.0f;
        for (int i = 0; i + 1 < n; i++) {
            strcpy(buf, piece(tokens[i]));
            strcat(buf, piece(tokens[i + 1]));
            int id = lookup(buf);
            if (id >= 0 && (best_id < 0 || vocab->scores[id] > best_score)) {
                best_score = vocab->scores[id];
                best_id = id;
                best_idx = i;
            }
        }
        if (best_idx < 0) break;
        tokens[best_idx] = best_id;
        memmove(&tokens[best_idx + 1], &tokens[best_idx + 2], sizeof(int) * (size_t)(n - best_idx - 2));
        n--;
    }

    if (eos) PUSH(LLM_EOS_ID);
#undef PUSH
    return n;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

const char *llm_decode(int prev_token, int token) {
    static char byte_piece[2];
    if (token < 0 || token >= LLM_VOCAB_SIZE) return NULL;
    const char *p = piece(token);
    if (prev_token == LLM_BOS_ID && p[0] == ' ') p++;
    /* Byte-fallback pieces are spelled "<0xAB>". */
    if (p[0] == '<' && p[1] == '0' && p[2] == 'x' && hex_digit(p[3]) >= 0 &&
        hex_digit(p[4]) >= 0 && p[5] == '>' && p[6] == '\0') {
        byte_piece[0] = (char)(hex_digit(p[3]) * 16 + hex_digit(p[4]));
        byte_piece[1] = '\0';
        return byte_piece;
    }
    return p;
}
