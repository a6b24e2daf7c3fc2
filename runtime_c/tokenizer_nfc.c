/* tokenizer_nfc.c - Unicode Normalization Form C, as the `tokenizers` library applies
 * tokenizer.json's NFC normalizer (Qwen2, 2.5, 3) to each stretch of text between
 * special tokens before pre-tokenizing it (tokenizer.c: encode_stretch). Built only
 * with LLM_NFC; the tables are in the weight image (vocab.nfc_*, generated from
 * Python's unicodedata by toolchain/importers/unicode_nfc.py).
 *
 * UAX #15's algorithm, one combining sequence (a starter and the non-starters after
 * it) at a time, in one pass:
 *   1. each character is decomposed fully: its canonical mapping, applied again to
 *      the mapping's first part; Hangul syllables by arithmetic;
 *   2. the sequence's non-starters are put in canonical order (by combining class,
 *      stably) as they arrive;
 *   3. when the next starter arrives (or the text ends) the sequence is composed: each
 *      non-starter into the starter unless blocked by one kept before it of a class as
 *      high; if none is kept, the starter with that next starter too (Hangul L + V and
 *      LV + T by arithmetic), and the result goes on as the sequence's starter.
 * Memory: the output is UTF-8 at the start of the workspace, and the sequence being
 * normalized waits right past it, a word a code point (its class in the top byte).
 * Writing a sequence out (at most 4 bytes a code point) never overtakes the words it
 * reads, so nothing else is needed: thousands of combining marks in a row take 4 bytes
 * each of the workspace, and when it runs out the result is -LLM_ERR_TOO_LONG, never a
 * write past it. Bytes that are not well-formed UTF-8 go through as they are, each a
 * starter that composes with nothing (Python's strings, hence the library's, never
 * hold one). */
#include "llm.h"
#include "model.h"
#include "tokenizer.h"

#if LLM_NFC

#define CODE_MASK 0x1FFFFFu
#define CLASS_SHIFT 24
#define RAW 0x110000u      /* RAW | byte: a byte that starts no well-formed character */
#define MARK_SHIFT 21      /* nfc_mappings' first word: toolchain/importers/unicode_nfc.py */
#define EXCLUDED_BIT (1u << 28)
#define NFC_MAX_STEPS 4    /* mappings a full decomposition applies at most (unicode_nfc.py: MAX_STEPS) */
#define NFC_MAX_DECOMPOSED 4

/* Hangul syllables: S = 0xAC00 + (L * 21 + V) * 28 + T (Unicode 3.12) */
enum { S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7, L_COUNT = 19, V_COUNT = 21,
       T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT };

static unsigned combining_class(uint32_t cp) {
    /* codepoint << 8 | class, from U+0000 */
    return unicode_run(llm_weights.vocab.nfc_classes, LLM_NFC_CLASS_RUNS, 8, cp) & 0xFFu;
}

/* The mapping of `cp` in nfc_mappings, -1 if it has none. */
static int mapping_of(uint32_t cp) {
    const uint32_t *m = llm_weights.vocab.nfc_mappings;
    int lo = 0, hi = LLM_NFC_MAPPINGS;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if ((m[2 * mid] & CODE_MASK) < cp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < LLM_NFC_MAPPINGS && (m[2 * lo] & CODE_MASK) == cp ? lo : -1;
}

/* `cp` fully decomposed into out[]; the count (1 to NFC_MAX_DECOMPOSED). */
static int decompose(uint32_t cp, uint32_t out[NFC_MAX_DECOMPOSED]) {
    if (cp - S_BASE < S_COUNT) {
        uint32_t s = cp - S_BASE, t = s % T_COUNT;
        out[0] = L_BASE + s / N_COUNT;
        out[1] = V_BASE + s % N_COUNT / T_COUNT;
        out[2] = T_BASE + t;
        return t ? 3 : 2;
    }
    /* the second parts, which never decompose, come after the first part's decomposition */
    uint32_t seconds[NFC_MAX_DECOMPOSED - 1];
    int n_seconds = 0, i;
    for (int step = 0; step < NFC_MAX_STEPS && (i = mapping_of(cp)) >= 0; step++) {
        const uint32_t *m = llm_weights.vocab.nfc_mappings + 2 * i;
        uint32_t mark = m[0] >> MARK_SHIFT & 0x7Fu;
        if (mark > 0 && n_seconds < NFC_MAX_DECOMPOSED - 1) {
            seconds[n_seconds++] = llm_weights.vocab.nfc_marks[mark - 1] & CODE_MASK;
        }
        cp = m[1] & CODE_MASK;
    }
    out[0] = cp;
    for (int k = 0; k < n_seconds; k++) out[1 + k] = seconds[n_seconds - 1 - k];
    return 1 + n_seconds;
}

/* The primary composite of a and b, 0 if none. */
static uint32_t compose(uint32_t a, uint32_t b) {
    if (a - L_BASE < L_COUNT && b - V_BASE < V_COUNT) return S_BASE + ((a - L_BASE) * V_COUNT + b - V_BASE) * T_COUNT;
    if (a - S_BASE < S_COUNT && (a - S_BASE) % T_COUNT == 0 && b - T_BASE - 1 < T_COUNT - 1) return a + b - T_BASE;
    const uint32_t *marks = llm_weights.vocab.nfc_marks;
    int lo = 0, hi = LLM_NFC_MARKS;
    while (lo < hi) { /* b's index among the second parts */
        int mid = lo + (hi - lo) / 2;
        if (marks[mid] < b) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == LLM_NFC_MARKS || marks[lo] != b) return 0;
    const uint32_t mark = (uint32_t)lo + 1;
    const uint32_t *m = llm_weights.vocab.nfc_mappings;
    const uint16_t *composites = llm_weights.vocab.nfc_composites; /* by first part, then mark */
    lo = 0;
    hi = LLM_NFC_COMPOSITES;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const uint32_t *c = m + 2 * composites[mid];
        uint32_t first = c[1] & CODE_MASK, c_mark = c[0] >> MARK_SHIFT & 0x7Fu;
        if (first < a || (first == a && c_mark < mark)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == LLM_NFC_COMPOSITES) return 0;
    const uint32_t *c = m + 2 * composites[lo];
    int found = (c[1] & CODE_MASK) == a && (c[0] >> MARK_SHIFT & 0x7Fu) == mark && !(c[0] & EXCLUDED_BIT);
    return found ? c[0] & CODE_MASK : 0;
}

/* The well-formed UTF-8 character at s (s < end) and its length; a byte that starts
 * none (overlong, a surrogate, past U+10FFFF, cut short) is RAW | the byte, alone. */
static uint32_t decode(const unsigned char *s, const unsigned char *end, int *len) {
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    int n = s[0] < 0x80 ? 1 : s[0] < 0xC0 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF8 ? 4 : 0;
    *len = 1;
    if (n == 0 || end - s < n) return RAW | s[0];
    uint32_t cp = n == 1 ? s[0] : s[0] & (0x7Fu >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return RAW | s[0];
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return RAW | s[0];
    *len = n;
    return cp;
}

/* Writes code point (or RAW byte) cp as UTF-8 at out; the bytes written. */
static size_t encode_utf8(uint32_t cp, unsigned char *out) {
    if (cp >= RAW || cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    int n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (int i = n - 1; i > 0; i--, cp >>= 6) out[i] = (unsigned char)(0x80 | (cp & 0x3F));
    out[0] = (unsigned char)((0xF00u >> n) | cp); /* 110xxxxx, 1110xxxx, 11110xxx */
    return (size_t)n;
}

/* The output so far (w.base[0, len)) and the combining sequence after it. */
typedef struct {
    Workspace w;
    size_t len;
    uint32_t *seq; /* code point | combining class << CLASS_SHIFT, word-aligned past the output */
    size_t n, capacity;
} Normalizer;

static unsigned class_in(uint32_t word) {
    return word >> CLASS_SHIFT;
}

/* Composes the sequence in place (step 3 within it); its new length. */
static size_t compose_sequence(uint32_t *seq, size_t n) {
    if (n == 0 || class_in(seq[0]) != 0) return n; /* no starter: nothing composes */
    uint32_t starter = seq[0] & CODE_MASK;
    size_t kept = 1;
    unsigned last_class = 0;
    for (size_t i = 1; i < n; i++) {
        unsigned cls = class_in(seq[i]);
        uint32_t composite = kept == 1 || last_class < cls ? compose(starter, seq[i] & CODE_MASK) : 0;
        if (composite) {
            starter = composite;
        } else {
            seq[kept++] = seq[i];
            last_class = cls;
        }
    }
    seq[0] = starter; /* a composite's class is 0, like its starter's */
    return kept;
}

/* Writes the sequence's n code points after the output; the sequence is then empty,
 * word-aligned past it. */
static void flush(Normalizer *z) {
    for (size_t i = 0; i < z->n; i++) z->len += encode_utf8(z->seq[i] & CODE_MASK, z->w.base + z->len);
    Workspace rest = workspace_after(z->w, z->len);
    z->seq = (uint32_t *)(void *)rest.base;
    z->capacity = rest.bytes / sizeof(uint32_t);
    z->n = 0;
}

/* Adds one code point of a decomposition (steps 2 and 3); 0 or -LLM_ERR_TOO_LONG. */
static int add(Normalizer *z, uint32_t cp) {
    const unsigned cls = cp >= RAW ? 0 : combining_class(cp);
    if (cls == 0 && z->n > 0) {
        z->n = compose_sequence(z->seq, z->n);
        uint32_t composite = z->n == 1 && class_in(z->seq[0]) == 0 ? compose(z->seq[0] & CODE_MASK, cp) : 0;
        if (composite) {
            z->seq[0] = composite;
            return LLM_OK;
        }
        flush(z);
    }
    if (z->n >= z->capacity) return -LLM_ERR_TOO_LONG;
    size_t at = z->n++;
    for (; cls != 0 && at > 0 && class_in(z->seq[at - 1]) > cls; at--) z->seq[at] = z->seq[at - 1];
    z->seq[at] = cp | (uint32_t)cls << CLASS_SHIFT;
    return LLM_OK;
}

long nfc_normalize(const char *p, const char *end, Workspace w) {
    Normalizer z = {w, 0, NULL, 0, 0};
    flush(&z); /* an empty sequence at the workspace's start */
    const unsigned char *s = (const unsigned char *)p, *stop = (const unsigned char *)end;
    while (s < stop) {
        int len;
        uint32_t decomposed[NFC_MAX_DECOMPOSED] = {decode(s, stop, &len)};
        int count = decomposed[0] >= RAW ? 1 : decompose(decomposed[0], decomposed);
        for (int i = 0; i < count; i++) {
            int rc = add(&z, decomposed[i]);
            if (rc < 0) return rc;
        }
        s += len;
    }
    z.n = compose_sequence(z.seq, z.n);
    flush(&z);
    return (long)z.len;
}

#endif
