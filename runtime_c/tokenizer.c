/* tokenizer.c - the vocabulary both encoders share, the special tokens cut out
 * of the text, llama2.c's encoder (SentencePiece vocabularies, with byte fallback)
 * and the decoder. BPE merging is in merge.c, the byte-level (tiktoken) encoder in
 * tokenizer_tiktoken.c; LLM_TOKENIZER_TIKTOKEN picks one. The compiler stores the
 * vocabulary already sorted, so lookups are a binary search and nothing is allocated. */
#include <string.h>
#include "llm.h"
#include "model.h"
#include "tokenizer.h"

const char *vocab_piece(int id) {
    return llm_weights.vocab.piece_bytes + llm_weights.vocab.piece_offsets[id];
}

size_t vocab_piece_length(int id) {
    const uint32_t *offsets = llm_weights.vocab.piece_offsets;
    return offsets[id + 1] - offsets[id] - 1; /* less the NUL after each piece */
}

/* <0, 0 or >0 as the piece of `id` sorts before, equal to or after bytes[0..len):
 * memcmp's order with a prefix first, as Python sorts bytes (the compiler's sort). */
static int compare_piece(int id, const char *bytes, size_t len) {
    size_t n = vocab_piece_length(id);
    int c = memcmp(vocab_piece(id), bytes, n < len ? n : len);
    return c != 0 ? c : (n > len) - (n < len);
}

int vocab_lookup(const char *bytes, size_t len) {
    const int32_t *sorted = llm_weights.vocab.sorted_ids;
    int lo = 0, hi = LLM_VOCAB_SIZE;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (compare_piece(sorted[mid], bytes, len) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < LLM_VOCAB_SIZE && compare_piece(sorted[lo], bytes, len) == 0 ? sorted[lo] : -1;
}

#if !LLM_TOKENIZER_TIKTOKEN
/* llama2.c's encoder over text[p, end): SentencePiece's dummy prefix (where
 * LLM_DUMMY_PREFIX and LLM_DUMMY_PREFIX_ON_SPACE put one), one token per codepoint
 * (or per byte where the codepoint has none), then merges by score. The text's
 * first stretch merges from token 0, BOS included, as llama2.c. */
static int sentencepiece_encode(const char *p, const char *end, int at_start, int *tokens, int n, int max_tokens,
                                Workspace w) {
    char *buf = llm_state.str_buffer;
    const int first = at_start ? 0 : n;
    if (p < end && (LLM_DUMMY_PREFIX == 2 || (LLM_DUMMY_PREFIX == 1 && at_start)) &&
        (LLM_DUMMY_PREFIX_ON_SPACE || *p != ' ')) {
        int space = vocab_lookup(" ", 1);
        if (space >= 0) PUSH_TOKEN(space);
    }
    size_t len = 0;
    for (const char *c = p; c < end; c++) {
        if (((unsigned char)*c & 0xC0) != 0x80) len = 0; /* a codepoint starts here */
        buf[len++] = *c;
        if (c + 1 < end && ((unsigned char)c[1] & 0xC0) == 0x80 && len < 4) continue;
        int id = vocab_lookup(buf, len);
        if (id >= 0) {
            PUSH_TOKEN(id);
        } else {
            for (size_t i = 0; i < len; i++) PUSH_TOKEN(llm_weights.vocab.byte_ids[(unsigned char)buf[i]]);
        }
        len = 0;
    }
    return vocab_merge(tokens, first, n, w);
}
#endif

/* The text from p to end, which holds no special token, appended to tokens[n..). */
static int encode_stretch(const char *p, const char *end, int at_start, int *tokens, int n, int max_tokens) {
    Workspace w = encode_workspace();
#if LLM_NFC
    /* Normalized first, as the tokenizers normalize each stretch between special tokens
     * (cut out of the text as it is: theirs are not normalized): the encoder reads the
     * normalized text at the workspace's start, and merges in what is left of it. */
    long len = nfc_normalize(p, end, w);
    if (len < 0) return (int)len;
    p = (const char *)w.base;
    end = p + len;
    w = workspace_after(w, (size_t)len);
#endif
#if LLM_TOKENIZER_TIKTOKEN
    (void)at_start;
    return tiktoken_encode(p, end, tokens, n, max_tokens, w);
#else
    return sentencepiece_encode(p, end, at_start, tokens, n, max_tokens, w);
#endif
}

#if LLM_N_SPECIAL > 0
/* The special token whose text starts at p, the longest if several; -1 if none.
 * Most bytes start none (a bitmap says which do): those are passed at once. */
static int special_at(const char *p, const char *end) {
    const unsigned char c = (unsigned char)*p;
    if (!(llm_weights.vocab.special_starts[c >> 3] >> (c & 7) & 1)) return -1;
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < LLM_N_SPECIAL; i++) {
        int id = llm_weights.vocab.special_ids[i];
        size_t len = vocab_piece_length(id);
        if (len > best_len && len <= (size_t)(end - p) && memcmp(vocab_piece(id), p, len) == 0) {
            best = id;
            best_len = len;
        }
    }
    return best;
}
#endif

int llm_encode(const char *text, int bos, int eos, int *tokens, int max_tokens) {
    if (text == NULL || tokens == NULL || max_tokens < 0) return -LLM_ERR_ARG;
    int n = 0;
    if (bos) PUSH_TOKEN(LLM_BOS_ID);
    const char *p = text, *end = text + strlen(text);
    do {
        /* Special tokens are cut out of the text whole, leftmost first; the text
         * between them is encoded on its own, as the tokenizers do (the pattern sees
         * it end there, a Prepend normalizer starts it with '▁'). */
        const char *stop = end;
        int special = -1;
#if LLM_N_SPECIAL > 0
        for (stop = p; stop < end && (special = special_at(stop, end)) < 0;) stop++;
#endif
        n = encode_stretch(p, stop, p == text, tokens, n, max_tokens);
        if (n < 0) return n;
        p = stop;
        if (special >= 0) {
            PUSH_TOKEN(special);
            p += vocab_piece_length(special);
        }
    } while (p < end);
    if (eos) PUSH_TOKEN(LLM_EOS_ID);
    return n;
}

#if !LLM_TOKENIZER_TIKTOKEN
static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
#endif

const char *llm_decode(int prev_token, int token) {
    if (token < 0 || token >= LLM_VOCAB_SIZE) return NULL;
    const char *p = vocab_piece(token);
#if LLM_TOKENIZER_TIKTOKEN
    (void)prev_token; /* byte-level BPE: the text is the tokens' bytes, one after another */
    return p;
#else
    static char byte_piece[2];
    /* the dummy prefix is not the text's (a tokenizer without one, Gemma's, keeps the space) */
    if (LLM_DUMMY_PREFIX != 0 && prev_token == LLM_BOS_ID && p[0] == ' ') p++;
    /* Byte-fallback pieces are spelled "<0xAB>". */
    if (p[0] == '<' && p[1] == '0' && p[2] == 'x' && hex_digit(p[3]) >= 0 &&
        hex_digit(p[4]) >= 0 && p[5] == '>' && p[6] == '\0') {
        byte_piece[0] = (char)(hex_digit(p[3]) * 16 + hex_digit(p[4]));
        byte_piece[1] = '\0';
        return byte_piece;
    }
    return p;
#endif
}
