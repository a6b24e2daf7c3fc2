/* model.h - what the generated files define and the runtime reads.
 *
 * The compiler lays out the weight image and plans the buffers; it emits two
 * tables with the types below: `llm_weights` (pointers into the image, filled
 * by llm_weights_init in llm_weights.c) and `llm_state` (pointers into static
 * RAM, in llm_plan.c).
 * The runtime only ever reaches memory through them.
 */
#ifndef LLM_MODEL_H
#define LLM_MODEL_H

#include <stdint.h>
#include "llm_config.h"

#if !LLM_FAMILY_OPTIONS /* a Llama: llm_config.h names none of the other families' options */
#define LLM_Q_DIM LLM_DIM
#define LLM_QKV_BIAS 0
#define LLM_QK_NORM 0
#define LLM_POST_NORMS 0
#define LLM_FFN_GELU 0
#define LLM_SCALED_EMBEDDINGS 0
#define LLM_SLIDING_WINDOW 0
#define LLM_ROPE_LOCAL 0
#define LLM_SCORE_SCALAR ((float)LLM_HEAD_DIM)
#define LLM_FINAL_SOFTCAP 0
#endif

/* Weight formats, in toolchain/choices.py's QUANT_MODES order. */
enum { LLM_FORMAT_F32, LLM_FORMAT_Q8, LLM_FORMAT_Q4, LLM_FORMAT_Q5, LLM_FORMAT_Q6 };

/* A [rows x cols] weight matrix, rows in PyTorch's [out, in] order, in its format
 * (LLM_FORMAT_*: each matrix its own with compile --quant auto). f32 and q8 are in the
 * layout the compiler chose for the board's kernels (LLM_BLOCK_ROWS, LLM_CHUNK_COLS,
 * LLM_WEIGHT_BIAS; kernels.h: WeightLayout): blocks of rows interleaved in chunks of
 * columns, for q8 each group of LLM_GROUP_SIZE columns (the last may be shorter)
 * followed by its scales, one per row of the block. q4, q5 and q6 are stored row by
 * row in groups of LLM_GROUP_SIZE columns (kernels/kquant.h). */
typedef struct {
    const uint8_t *w;
    int format;
} Matrix;

typedef struct {
    const float *attention_norm; /* [dim] */
    Matrix wq;                   /* [q_dim, dim] */
    Matrix wk;                   /* [kv_dim, dim] */
    Matrix wv;                   /* [kv_dim, dim] */
    Matrix wo;                   /* [dim, q_dim] */
    const float *ffn_norm;       /* [dim] */
    Matrix w1;                   /* [hidden_dim, dim] */
    Matrix w2;                   /* [dim, hidden_dim] */
    Matrix w3;                   /* [hidden_dim, dim] */
#if LLM_QKV_BIAS
    const float *bq, *bk, *bv;   /* [q_dim], [kv_dim], [kv_dim] */
#endif
#if LLM_QK_NORM
    const float *q_norm, *k_norm; /* [head_dim], each head's */
#endif
#if LLM_POST_NORMS
    const float *post_attention_norm, *post_ffn_norm; /* [dim] */
#endif
#if LLM_SLIDING_WINDOW
    int sliding;                 /* attends to the last LLM_SLIDING_WINDOW positions only */
#endif
} LayerWeights;

/* The tokenizer, sorted by the compiler so the runtime needs no allocation. */
typedef struct {
    const uint32_t *piece_offsets; /* [vocab + 1] where each piece starts; piece i is
                                      piece_offsets[i + 1] - piece_offsets[i] - 1 bytes
                                      (it may hold a NUL byte), then a NUL */
    const char *piece_bytes;
    const float *scores;           /* [vocab] merge priority, higher first (tiktoken: -rank) */
    const int32_t *sorted_ids;     /* [vocab] ids ordered by their piece's bytes (memcmp, shorter first) */
    const int32_t *byte_ids;       /* [256] token of each raw byte (byte fallback) */
#if LLM_N_SPECIAL > 0
    const int32_t *special_ids;    /* [LLM_N_SPECIAL] tokens recognised in text whole */
    const uint8_t *special_starts; /* [32] bit b: some special token starts with byte b */
#endif
#if LLM_MERGE_PAIRS
    const uint16_t *merge_splits;  /* [vocab] the left part's length of the one merge that
                                      makes each token, 0 if none (tokenizer.json's merges) */
#endif
#if LLM_EXTRA_MERGES > 0
    const int32_t *extra_merges;   /* [LLM_EXTRA_MERGES][2] token, left part's length of the
                                      merges making a token another merge makes first, sorted */
    const float *extra_scores;     /* [LLM_EXTRA_MERGES] their scores (-rank) */
#endif
#if LLM_TOKENIZER_TIKTOKEN
    const uint32_t *char_classes;  /* [LLM_CHAR_CLASS_RUNS] codepoint << 2 | class where the
                                      Unicode class changes (toolchain/importers/unicode_classes.py) */
#endif
#if LLM_NFC
    /* Unicode NFC (toolchain/importers/unicode_nfc.py; runtime_c/tokenizer_nfc.c) */
    const uint32_t *nfc_classes;   /* [LLM_NFC_CLASS_RUNS] codepoint << 8 | canonical combining
                                      class where the class changes */
    const uint32_t *nfc_mappings;  /* [LLM_NFC_MAPPINGS][2] canonical decomposition mappings by
                                      code point: codepoint | second part's index in nfc_marks + 1
                                      (0: none) << 21 | excluded from composition << 28, first part */
    const uint32_t *nfc_marks;     /* [LLM_NFC_MARKS] the mappings' second parts, sorted */
    const uint16_t *nfc_composites; /* [LLM_NFC_COMPOSITES] the mappings that compose, by first
                                      part and second part's index */
#endif
} Vocab;

typedef struct {
    Matrix tok_embeddings;         /* [vocab, dim] */
    LayerWeights layers[LLM_N_LAYERS];
    const float *norm;             /* [dim] */
    Matrix output;                 /* [vocab, dim]; the embeddings when shared */
    const float *rope_cos;         /* [context, head_dim / 2] */
    const float *rope_sin;         /* [context, head_dim / 2] */
#if LLM_ROPE_LOCAL
    const float *rope_local_cos;   /* the sliding layers' own, [context, head_dim / 2] */
    const float *rope_local_sin;
#endif
    Vocab vocab;
} Weights;

typedef struct {
    float prob;
    int index;
} ProbIndex;

/* One token of BPE merging (merge.c): the tokens being merged are a doubly
 * linked list of these, and each pair of neighbours that joins into a token waits
 * in a binary heap by score. `heap` is not this node's: it is entry i of the heap
 * array, kept in node i so that one planned buffer of n entries holds both. */
typedef struct {
    int32_t token;  /* the token, updated as its right neighbours merge into it */
    int32_t prev;   /* neighbours in the list, -1 at either end */
    int32_t next;
    int32_t merged; /* the merge of this node and `next`, -1 if none: the token they join
                       into, or LLM_VOCAB_SIZE + i for vocab.extra_merges[i] */
    int32_t slot;   /* where this node's pair sits in the heap, -1 if not there */
    int32_t heap;   /* heap entry i: the node whose pair is there */
} MergeNode;

/* What one element of the KV cache is stored as (llmtool compile --kv). */
#if LLM_KV_Q8
typedef int8_t KVElem;   /* with a float scale per head of each row */
#elif LLM_KV_F16
typedef uint16_t KVElem; /* IEEE half */
#else
typedef float KVElem;
#endif

/* Every buffer the runtime uses, sized by the planner. */
typedef struct {
    float *x;           /* [dim] residual stream */
    float *xb;          /* [max(dim, q_dim)] normed input / attention output */
    float *xb2;         /* [dim] projection output */
    float *hb;          /* [hidden_dim] FFN gate */
    float *hb2;         /* [hidden_dim] FFN up */
    float *q;           /* [q_dim] query */
    float *k;           /* [kv_dim] this position's key, before it is cached */
    float *v;           /* [kv_dim] this position's value */
    float *att;         /* [n_heads, context] attention scores */
    float *logits;      /* [vocab] */
    /* One buffer per layer, so the planner may place each in any RAM region. */
    /* A layer's positions, its capacity: the context, or a sliding layer's ring (LLM_KV_RING). */
    KVElem *key_cache[LLM_N_LAYERS];   /* [n_kv_heads, head_dim, capacity]: transposed (kv_cache.c) */
    KVElem *value_cache[LLM_N_LAYERS]; /* [n_kv_heads, capacity, head_dim] (kv_cache.c) */
#if LLM_KV_Q8
    float *key_scales[LLM_N_LAYERS];   /* [capacity, n_kv_heads] */
    float *value_scales[LLM_N_LAYERS]; /* [capacity, n_kv_heads] */
#endif
#if LLM_QUANT_INT
    int8_t *xq;         /* [max(dim, hidden_dim), padded to whole chunks, * KERNEL_X_BYTES] */
    float *xs;          /* [groups of max(dim, hidden_dim)]  quantized activations in the kernel's
                           form, and their scales */
#endif
    ProbIndex *probindex; /* [vocab] top-p candidates */
    char *str_buffer;   /* [2 * max_token_length + 1] encoder scratch */
    MergeNode *merge_nodes; /* [LLM_PROMPT_CAPACITY] BPE merge workspace (llm_encode_workspace lends a bigger one) */
    int *prompt_tokens; /* [LLM_PROMPT_CAPACITY] the prompt main() encodes */
    char *cmdline;      /* [LLM_CMDLINE_BYTES] bare metal: the semihosting command line, or a serial console's line */
    char *system_prompt; /* [LLM_SYSTEM_PROMPT_BYTES] a serial console's /system */
    char *chat_text;    /* [LLM_CHAT_TEXT_BYTES] a serial console's chat turn, rendered in the template */
} RunState;

/* The image begins with this header; llm_init() checks it against llm_config.h. */
typedef struct {
    char magic[8];      /* "LLMTOOL\0" */
    uint32_t version;
    uint32_t image_size;
    uint32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, context;
    uint32_t quant;     /* LLM_QUANT_MODE */
    uint32_t group_size;
    uint32_t kv;        /* 0 = f32, 1 = f16, 2 = q8 */
    uint32_t tokenizer; /* 0 = sentencepiece, 1 = tiktoken */
    uint32_t arch;      /* LLM_ARCH_DIGEST: the options beyond Llama's, 0 for a Llama */
} ImageHeader;

/* The weight image linked in (llm_image.S), and its end: llm_init checks the
 * bytes between them, whatever file was linked. */
extern const uint8_t llm_image[];
extern const uint8_t llm_image_end[];
extern Weights llm_weights;          /* set by llm_init() */
extern const RunState llm_state;

/* Points llm_weights into a weight image at `image` (generated, llm_weights.c). */
void llm_weights_init(const uint8_t *image);
/* The tokenizer tables of the image at `image`, without touching llm_weights. */
Vocab llm_vocab_at(const uint8_t *image);

#endif
