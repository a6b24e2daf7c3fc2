/* tokenizer_tiktoken.c - the byte-level BPE encoder: the ids of tiktoken's
 * encode(text, allowed_special="all") for Llama 3, and of the `tokenizers` library
 * for GPT-2, SmolLM2 and Qwen2, without a regex library. tokenizer.c cuts the
 * special tokens out of the text; each stretch between them comes here.
 *   1. The stretch is split into pieces by the pre-tokenizer pattern (LLM_PRETOKENIZER):
 *        Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *                  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *        Qwen2:   the same with \p{N} for \p{N}{1,3}
 *        GPT-2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *        SmolLM2: GPT-2's within the stretches left after cutting off every digit
 *      matched by hand (piece_end), alternative by alternative, with the
 *      backtracking the regex engine would do.
 *   2. A piece that is a token is that token (LLM_WHOLE_PIECES: tiktoken and
 *      tokenizer.json's ignore_merges); otherwise its bytes are merged by rank
 *      (scores are -rank, so vocab_merge's highest score is the lowest rank).
 * Built only for a byte-level tokenizer: SentencePiece boards carry none of it,
 * nor its Unicode table. */
#include "llm.h"
#include "model.h"
#include "tokenizer.h"

#if LLM_TOKENIZER_TIKTOKEN

#define GPT2_PATTERN (LLM_PRETOKENIZER >= 2)
#define MAX_DIGITS (LLM_PRETOKENIZER == 0 ? 3 : 1) /* Llama 3's \p{N}{1,3}, Qwen2's \p{N} */

/* The classes the pattern tells apart, numbered as toolchain/importers/unicode_classes.py. */
typedef enum { OTHER, LETTER, NUMBER, SPACE } CharClass;

typedef struct {
    CharClass cls;
    int len; /* bytes */
} Char;

static CharClass class_of(uint32_t codepoint) {
    /* codepoint << 2 | class, from U+0000 */
    return (CharClass)(unicode_run(llm_weights.vocab.char_classes, LLM_CHAR_CLASS_RUNS, 2, codepoint) & 3u);
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

/* Past the characters of class `cls` from p on. */
static const char *skip_class(const char *p, const char *end, CharClass cls) {
    while (p < end) {
        Char c = char_at(p, end);
        if (c.cls != cls) break;
        p += c.len;
    }
    return p;
}

/* How many bytes at p match ASCII letter `lower`, 0 if none: case-insensitively
 * but for GPT-2's pattern. The regex engine folds case the Unicode way: U+017F LATIN
 * SMALL LETTER LONG S is an "s" too. */
static int folded_letter(const char *p, const char *end, char lower) {
    if (GPT2_PATTERN) return p < end && *p == lower;
    if (p < end && (*p | 0x20) == lower) return 1;
    if (lower == 's' && end - p >= 2 && (unsigned char)p[0] == 0xC5 && (unsigned char)p[1] == 0xBF) return 2;
    return 0;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d) at p (GPT-2: without (?i:)): the length of the match, 0 if none. */
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

/* Whitespace at p: \s+(?!\S) then \s+, which all the patterns end with. The run where
 * the text ends; before something else, all but the run's last character (which
 * starts the next piece, as in " word"), if that leaves any; else the run. */
static const char *space_run_end(const char *p, const char *end) {
    const char *run_end = skip_class(p, end, SPACE), *last = p;
    for (const char *r = p; r < run_end; r += char_at(r, end).len) last = r;
    if (run_end == end) return end;
    return last > p ? last : run_end;
}

#if GPT2_PATTERN
/* The end of the piece GPT-2's pattern matches at p (p < end). One always matches. */
static const char *piece_end(const char *p, const char *end) {
    int n = contraction(p, end);
    if (n > 0) return p + n;
    /*  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+ : a run of one class, after one space if there is one */
    const char *q = *p == ' ' && p + 1 < end ? p + 1 : p;
    CharClass cls = char_at(q, end).cls;
    if (cls != SPACE) return skip_class(q, end, cls);
    return space_run_end(p, end);
}
#else
static int is_line_break(char c) {
    return c == '\r' || c == '\n';
}

/* The end of the piece Llama 3's or Qwen2's pattern matches at p (p < end), trying
 * its alternatives in order as the regex engine does. One always matches. */
static const char *piece_end(const char *p, const char *end) {
    Char c = char_at(p, end);
    int n = contraction(p, end);
    if (n > 0) return p + n;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ : letters, or one other character then letters */
    if (c.cls == LETTER) return skip_class(p, end, LETTER);
    if (c.cls != NUMBER && !is_line_break(*p) && p + c.len < end && char_at(p + c.len, end).cls == LETTER) {
        return skip_class(p + c.len, end, LETTER);
    }
    /* \p{N}{1,3} (Qwen2: \p{N}) */
    if (c.cls == NUMBER) {
        const char *q = p;
        for (int i = 0; i < MAX_DIGITS && q < end; i++) {
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
    const char *run_end = skip_class(p, end, SPACE), *after_break = NULL;
    for (const char *r = p; r < run_end; r += char_at(r, end).len) {
        if (is_line_break(*r)) after_break = r + 1;
    }
    return after_break != NULL ? after_break : space_run_end(p, end);
}
#endif

/* Appends one piece's tokens: the piece itself if it is a token (LLM_WHOLE_PIECES),
 * else its bytes merged in `w`. */
static int encode_piece(const char *piece, size_t len, int *tokens, int n, int max_tokens, Workspace w) {
    int id = LLM_WHOLE_PIECES ? vocab_lookup(piece, len) : -1;
    if (id >= 0) {
        PUSH_TOKEN(id);
        return n;
    }
    int first = n;
    for (size_t i = 0; i < len; i++) PUSH_TOKEN(llm_weights.vocab.byte_ids[(unsigned char)piece[i]]);
    return vocab_merge(tokens, first, n, w);
}

#if LLM_PRETOKENIZER == 3
/* Where the stretch at p ends once every digit stands alone (tokenizers' Digits with
 * individual_digits, which SmolLM2 runs before GPT-2's pattern): after p's digit, or
 * at the next digit. */
static const char *digit_split_end(const char *p, const char *end) {
    Char c = char_at(p, end);
    if (c.cls == NUMBER) return p + c.len;
    for (p += c.len; p < end && (c = char_at(p, end)).cls != NUMBER;) p += c.len;
    return p;
}
#endif

int tiktoken_encode(const char *p, const char *end, int *tokens, int n, int max_tokens, Workspace w) {
    while (p < end) {
#if LLM_PRETOKENIZER == 3
        const char *stop = digit_split_end(p, end);
#else
        const char *stop = end;
#endif
        while (p < stop) {
            const char *next = piece_end(p, stop);
            n = encode_piece(p, (size_t)(next - p), tokens, n, max_tokens, w);
            if (n < 0) return n;
            p = next;
        }
    }
    return n;
}

#endif
