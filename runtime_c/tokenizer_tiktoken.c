/* tokenizer_tiktoken.c - Llama 3's encoder: the ids of tiktoken's
 * encode(text, allowed_special="all") with Meta's pattern, without a regex library.
 *   1. Special tokens (<|eot_id|>, ...) are cut out of the text whole, leftmost first.
 *   2. The text between them is split into pieces by the pre-tokenizer pattern
 *        (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *        ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *      matched by hand (piece_end), alternative by alternative, with the
 *      backtracking the regex engine would do.
 *   3. A piece that is a token is that token; otherwise its bytes are merged by
 *      rank (scores are -rank, so vocab_merge's highest score is the lowest rank).
 * Built only for a tiktoken tokenizer: SentencePiece boards carry none of it,
 * nor its Unicode table. */
#include <string.h>
#include "llm.h"
#include "model.h"
#include "tokenizer.h"

#if LLM_TOKENIZER_TIKTOKEN

/* The classes the pattern tells apart, numbered as toolchain/importers/unicode_classes.py. */
typedef enum { OTHER, LETTER, NUMBER, SPACE } CharClass;

typedef struct {
    CharClass cls;
    int len; /* bytes */
} Char;

static CharClass class_of(uint32_t codepoint) {
    const uint32_t *runs = llm_weights.vocab.char_classes; /* codepoint << 2 | class, from U+0000 */
    int lo = 0, hi = LLM_CHAR_CLASS_RUNS;                   /* the last run starting at or before it */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (runs[mid] >> 2 <= codepoint) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return (CharClass)(runs[lo] & 3u);
}

/* The UTF-8 character at p (p < end). A byte that starts no complete sequence is
 * a character of its own, of no class (Python strings never hold one). */
static Char char_at(const char *p, const char *end) {
    const unsigned char *s = (const unsigned char *)p;
    int len = s[0] < 0x80 ? 1 : s[0] < 0xC0 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF8 ? 4 : 0;
    if (len == 0 || end - p < len) return (Char){OTHER, 1};
    uint32_t codepoint = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return (Char){OTHER, 1};
        codepoint = codepoint << 6 | (s[i] & 0x3Fu);
    }
    return (Char){class_of(codepoint), len};
}

static int is_line_break(char c) {
    return c == '\r' || c == '\n';
}

/* Past the characters of class `cls` from p on. */
static const char *skip_class(const char *p, const char *end, CharClass cls) {
    while (p < end) {
        Char c = char_at(p, end);
        if (c.cls != cls) break;
        p += c.len;
    }
    return p;
}

/* How many bytes at p match ASCII letter `lower` case-insensitively, 0 if none.
 * The regex engine folds case the Unicode way: U+017F LATIN SMALL LETTER LONG S
 * is an "s" too. */
static int folded_letter(const char *p, const char *end, char lower) {
    if (p < end && (*p | 0x20) == lower) return 1;
    if (lower == 's' && end - p >= 2 && (unsigned char)p[0] == 0xC5 && (unsigned char)p[1] == 0xBF) return 2;
    return 0;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d) at p: the length of the match, 0 if none. */
static int contraction(const char *p, const char *end) {
    static const char *const suffixes[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    if (*p != '\'') return 0;
    for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
        const char *q = p + 1;
        const char *letter = suffixes[k];
        int n;
        while (*letter != '\0' && (n = folded_letter(q, end, *letter)) > 0) {
            q += n;
            letter++;
        }
        if (*letter == '\0') return (int)(q - p);
    }
    return 0;
}

/* The end of the piece the pattern matches at p (p < end), trying its
 * alternatives in order as the regex engine does. One always matches. */
static const char *piece_end(const char *p, const char *end) {
    Char c = char_at(p, end);
    int n = contraction(p, end);
    if (n > 0) return p + n;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ : letters, or one other character then letters */
    if (c.cls == LETTER) return skip_class(p, end, LETTER);
    if (c.cls != NUMBER && !is_line_break(*p) && p + c.len < end && char_at(p + c.len, end).cls == LETTER) {
        return skip_class(p + c.len, end, LETTER);
    }
    /* \p{N}{1,3} */
    if (c.cls == NUMBER) {
        const char *q = p;
        for (int i = 0; i < 3 && q < end; i++) {
            Char d = char_at(q, end);
            if (d.cls != NUMBER) break;
            q += d.len;
        }
        return q;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* : symbols, after one space if there is one, and line breaks */
    const char *q = *p == ' ' ? p + 1 : p;
    if (q < end && char_at(q, end).cls == OTHER) {
        q = skip_class(q, end, OTHER);
        while (q < end && is_line_break(*q)) q++;
        return q;
    }
    /* Whitespace is all that is left. \s*[\r\n]+ : the run up to its last line break. */
    const char *run_end = skip_class(p, end, SPACE);
    const char *last = p, *after_break = NULL;
    for (const char *r = p; r < run_end; r += char_at(r, end).len) {
        last = r;
        if (is_line_break(*r)) after_break = r + 1;
    }
    if (after_break != NULL) return after_break;
    /* \s+(?!\S) : the run where the text ends; before something else, all but the
     * run's last character (which starts the next piece, as in " word"), if that
     * leaves any. Then \s+ : the run. */
    if (run_end == end) return end;
    return last > p ? last : run_end;
}

/* The special token whose text starts at p, the longest if several; -1 if none. */
static int special_at(const char *p, const char *end) {
    int best = -1;
    size_t best_len = 0;
    for (int id = LLM_FIRST_SPECIAL_ID; id < LLM_VOCAB_SIZE; id++) {
        size_t len = vocab_piece_length(id);
        if (len > best_len && len <= (size_t)(end - p) && memcmp(vocab_piece(id), p, len) == 0) {
            best = id;
            best_len = len;
        }
    }
    return best;
}

/* Appends one piece's tokens: the piece itself if it is a token, else its bytes merged. */
static int encode_piece(const char *piece, size_t len, int *tokens, int n, int max_tokens) {
    int id = vocab_lookup(piece, len);
    if (id >= 0) {
        PUSH_TOKEN(id);
        return n;
    }
    int first = n;
    for (size_t i = 0; i < len; i++) PUSH_TOKEN(llm_weights.vocab.byte_ids[(unsigned char)piece[i]]);
    return vocab_merge(tokens, first, n);
}

int tiktoken_encode(const char *text, int *tokens, int n, int max_tokens) {
    const char *p = text, *end = text + strlen(text);
    while (p < end) {
        /* The text up to the next special token is pre-tokenized on its own, as
         * tiktoken does: the pattern sees it end there. */
        const char *stop = p;
        int special = -1;
        while (stop < end && (special = special_at(stop, end)) < 0) stop++;
        while (p < stop) {
            const char *next = piece_end(p, stop);
            n = encode_piece(p, (size_t)(next - p), tokens, n, max_tokens);
            if (n < 0) return n;
            p = next;
        }
        if (special >= 0) {
            PUSH_TOKEN(special);
            p += vocab_piece_length(special);
        }
    }
    return n;
}

#endif
