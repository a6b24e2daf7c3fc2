/* llm.c - initialisation and the forward pass, read top to bottom. */
#include <math.h>
#include "llm.h"
#include "model.h"
#include "image.h"
#include "kernels/kernels.h"
#include "kernels/kquant.h"
#include "kv_cache.h"
#include "parallel.h"

#define LLM_GQA_GROUP (LLM_N_HEADS / LLM_N_KV_HEADS) /* query heads per KV head */
#define LLM_WIDER (LLM_DIM > LLM_HIDDEN_DIM ? LLM_DIM : LLM_HIDDEN_DIM)
#define LLM_WIDEST (LLM_WIDER > LLM_Q_DIM ? LLM_WIDER : LLM_Q_DIM) /* the widest matrix input */

/* How the compiler laid out the q8 and f32 matrices (kernels.h: WeightLayout): the
 * image is written for the board's q8 kernel. (q4, q5 and q6 have their own: kquant.h.) */
static const WeightLayout layout = {LLM_BLOCK_ROWS, LLM_CHUNK_COLS, LLM_WEIGHT_BIAS};
#if (LLM_USES_Q8 && defined(KERNEL_ROWS) && \
     (KERNEL_ROWS != LLM_BLOCK_ROWS || KERNEL_COLS != LLM_CHUNK_COLS || KERNEL_BIAS != LLM_WEIGHT_BIAS)) || \
    (LLM_USES_F32 && defined(KERNEL_F32_ROWS) && (KERNEL_F32_ROWS != LLM_BLOCK_ROWS || KERNEL_F32_COLS != LLM_CHUNK_COLS))
#error "the weight image is not in the layout of this board's kernels: compile the project again"
#endif

/* The bits of a format's values (kquant.h's for q4, q5, q6). */
static int format_bits(int format) {
    return format == LLM_FORMAT_F32 ? 32 : format == LLM_FORMAT_Q8 ? 8 : format == LLM_FORMAT_Q4 ? 4
         : format == LLM_FORMAT_Q5 ? 5 : 6;
}

/* Runs from the checked image at `base` (the image, or a copy of it). */
static int start(const uint8_t *base) {
    llm_weights_init(base);
    kernels_init();
    llm_reset();
    return LLM_OK;
}

int llm_init(void) {
#if LLM_IMAGE_LINKED
    /* the linked size, not LLM_IMAGE_SIZE: a file of another size may have been linked */
    int rc = image_check(llm_image, (size_t)((uintptr_t)llm_image_end - (uintptr_t)llm_image));
    return rc != LLM_OK ? rc : start(image_base());
#else
    return -LLM_ERR_IMAGE; /* none linked in: llm_init_image */
#endif
}

int llm_init_image(const void *image, size_t bytes) {
    int rc = image_check(image, bytes);
    return rc != LLM_OK ? rc : start(image);
}

void llm_reset(void) {
    kv_reset();
}

/* The activation buffers hold LLM_BATCH tokens' each (the planner's batch), token j's
 * at j times one token's size: TOKEN(s->q, j, LLM_DIM). */
#define TOKEN(buf, j, size) ((buf) + (long)(j) * (size))

/* Token j's activation x[n] in the form the matrix kernels take: for quantized weights
 * it is quantized once into the token's share of xq/xs, then multiplied by several
 * matrices. X_INT8(j) is it as int8, which q4, q5 and q6 take (and q8 where its kernel
 * does); a kernel that wants another form (KERNEL_X_BYTES) gets it at the share's start,
 * the int8 values just after it. */
#if LLM_USES_Q8 && KERNEL_X_BYTES != 1
#define X_INT8_AT ((long)(LLM_WIDEST + LLM_CHUNK_COLS - 1) / LLM_CHUNK_COLS * LLM_CHUNK_COLS * KERNEL_X_BYTES)
#else
#define X_INT8_AT 0L
#endif
#define X_INT8(j) (TOKEN(llm_state.xq, j, LLM_XQ_STRIDE) + X_INT8_AT)
static void prepare_input(const float *x, int n, int j) {
#if LLM_QUANT_INT
    int8_t *xq = X_INT8(j);
    quantize_q8_kernel(xq, TOKEN(llm_state.xs, j, LLM_XS_STRIDE), x, n, LLM_GROUP_SIZE);
#if LLM_USES_Q8 && KERNEL_X_BYTES != 1
    matvec_q8_prepare(TOKEN(llm_state.xq, j, LLM_XQ_STRIDE), xq, n);
#else
    for (int i = n; i % LLM_CHUNK_COLS; i++) xq[i] = 0; /* kernels read whole chunks */
#endif
#else
    (void)x;
    (void)n;
    (void)j;
#endif
}

/* Up to three matrix-vector products with the same input, run as one parallel
 * loop over their row blocks together (Q, K and V; W1 and W3, ffn_up_blocks): one
 * hand-out, not three; for `tokens` tokens at once, token j's input at x + j * cols
 * (and prepared by prepare_input(..., j)), its output at out[k] + j * rows[k]. Threads
 * split the blocks, so each row is computed as on one thread. */
typedef struct {
    float *out[3];
    const Matrix *m[3];
    int rows[3];
    int n;
    int cols;
    const float *x; /* the input last passed to prepare_input */
    int tokens;
} MatmulJob;

static int blocks(int rows) {
    return (rows + LLM_BLOCK_ROWS - 1) / LLM_BLOCK_ROWS;
}

/* Bytes of a block of LLM_BLOCK_ROWS rows of m (cols columns). */
static long block_bytes(const Matrix *m, int cols) {
    const int bits = format_bits(m->format);
    if (bits == 32 || bits == 8) return layout_block_bytes(&layout, LLM_BLOCK_ROWS, cols, LLM_GROUP_SIZE, bits);
    return LLM_BLOCK_ROWS * kquant_row_bytes(bits, cols, LLM_GROUP_SIZE);
}

/* Rows [row, row + n) of m[rows x cols] @ x for each of `tokens` tokens (token j's
 * output at out + j * rows), their weights at w. */
static void matmul_rows(float *out, const Matrix *m, const uint8_t *w, int row, int n, int rows, int cols,
                        const float *x, int tokens) {
    switch (m->format) {
#if LLM_USES_Q8
    case LLM_FORMAT_Q8: {
        const TokenBatch b = {llm_state.xq, llm_state.xs, LLM_XQ_STRIDE, LLM_XS_STRIDE, rows, tokens};
        matmul_q8_tokens(out + row, &b, w, n, cols, LLM_GROUP_SIZE, &layout);
        break;
    }
#endif
#if LLM_USES_KQUANT
    case LLM_FORMAT_Q4:
    case LLM_FORMAT_Q5:
    case LLM_FORMAT_Q6: {
        const TokenBatch b = {X_INT8(0), llm_state.xs, LLM_XQ_STRIDE, LLM_XS_STRIDE, rows, tokens};
        matmul_kquant_tokens(out + row, &b, w, n, cols, LLM_GROUP_SIZE, format_bits(m->format));
        break;
    }
#endif
    default:
        for (int j = 0; j < tokens; j++) matmul_f32(TOKEN(out, j, rows) + row, TOKEN(x, j, cols), w, n, cols, &layout);
        break;
    }
}

/* Blocks [lo, hi) of m[rows x cols] @ x for each of `tokens` tokens, each token's rows
 * as one token's alone: a tile of LLM_TILE_BYTES of weights (the planner's, a share of
 * the board's cache) at a time for all of them, read from memory once, then from the
 * cache. */
static void matmul_range(float *out, const Matrix *m, int rows, int cols, const float *x, int tokens, int lo, int hi) {
    const long bytes = block_bytes(m, cols), per_tile = LLM_TILE_BYTES / bytes;
    const int tile = tokens == 1 ? hi - lo : per_tile < 1 ? 1 : (int)per_tile;
    for (int start = lo; start < hi; start += tile) {
        const int end = hi - start < tile ? hi : start + tile;
        const int row = start * LLM_BLOCK_ROWS, n = (end * LLM_BLOCK_ROWS < rows ? end * LLM_BLOCK_ROWS : rows) - row;
        matmul_rows(out, m, m->w + start * bytes, row, n, rows, cols, x, tokens);
    }
}

static void matmul_blocks(void *ctx, int start, int end) {
    const MatmulJob *job = ctx;
    int first = 0; /* the first block of job->m[k] in the joint range */
    for (int k = 0; k < job->n; first += blocks(job->rows[k]), k++) {
        int lo = start > first ? start - first : 0;
        int hi = end - first < blocks(job->rows[k]) ? end - first : blocks(job->rows[k]);
        if (lo < hi) matmul_range(job->out[k], job->m[k], job->rows[k], job->cols, job->x, job->tokens, lo, hi);
    }
}

static void matmul_job(MatmulJob *job) {
    int n = 0, rows = 0;
    for (int k = 0; k < job->n; k++) n += blocks(job->rows[k]), rows += job->rows[k];
    parallel_for(matmul_blocks, job, n, (long)rows * job->cols * job->tokens);
}

/* The SwiGLU feed-forward's first half, hb = silu(w1 x) * (w3 x), as one parallel
 * loop over hidden row blocks: each thread takes the same blocks of w1 and w3 and
 * gates its own rows, so no thread waits for the gating (0.25 ms of exp_f32 per
 * stories110M token, which ran on one thread). */
static void ffn_up_blocks(void *ctx, int start, int end) {
    const MatmulJob *job = ctx;
    matmul_range(job->out[0], job->m[0], LLM_HIDDEN_DIM, LLM_DIM, job->x, job->tokens, start, end);
    matmul_range(job->out[1], job->m[1], LLM_HIDDEN_DIM, LLM_DIM, job->x, job->tokens, start, end);
    const int lo = start * LLM_BLOCK_ROWS, hi = end * LLM_BLOCK_ROWS < LLM_HIDDEN_DIM ? end * LLM_BLOCK_ROWS
                                                                                    : LLM_HIDDEN_DIM;
    for (int j = 0; j < job->tokens; j++) {
#if LLM_FFN_GELU
        geglu_f32(TOKEN(job->out[0], j, LLM_HIDDEN_DIM) + lo, TOKEN(job->out[1], j, LLM_HIDDEN_DIM) + lo, hi - lo);
#else
        swiglu_f32_kernel(TOKEN(job->out[0], j, LLM_HIDDEN_DIM) + lo, TOKEN(job->out[1], j, LLM_HIDDEN_DIM) + lo, hi - lo);
#endif
    }
}

/* out[rows] = m[rows x cols] @ x for `tokens` tokens, where x is the input last
 * passed to prepare_input. */
static void matmul(float *out, const float *x, const Matrix *m, int rows, int cols, int tokens) {
    MatmulJob job = {{out}, {m}, {rows}, 1, cols, x, tokens};
    matmul_job(&job);
}

/* Row `token` of the embedding table, as floats. */
static void embed(float *out, const Matrix *table, int token) {
    const int bits = format_bits(table->format);
    if (bits == 32 || bits == 8) {
        layout_row_f32(out, table->w, LLM_VOCAB_SIZE, LLM_DIM, LLM_GROUP_SIZE, bits, &layout, token);
    } else {
        kquant_row_f32(out, table->w, LLM_DIM, LLM_GROUP_SIZE, bits, token);
    }
}

typedef struct {
    float *out;
    float *q;
    int l, pos;
} AttentionJob;

/* The first position layer l's query at pos attends to: 0, or in a sliding layer the
 * first of the last LLM_SLIDING_WINDOW. */
static int first_attended(int l, int pos) {
#if LLM_SLIDING_WINDOW
    return llm_weights.layers[l].sliding && pos >= LLM_SLIDING_WINDOW ? pos - LLM_SLIDING_WINDOW + 1 : 0;
#else
    (void)l, (void)pos;
    return 0;
#endif
}

/* Heads [start, end) of causal self-attention of the query q over positions
 * first_attended..pos of layer l's cache; each head's output goes to its slice of
 * out[q_dim]. */
static void attention_heads(void *ctx, int start, int end) {
    const AttentionJob *job = ctx;
    const int l = job->l, pos = job->pos;
    float *out = job->out;
    const float scale = sqrtf(LLM_SCORE_SCALAR);
    const int first = first_attended(l, pos);
    for (int h = start; h < end; h++) {
        float *q = job->q + h * LLM_HEAD_DIM;
        const int kv_head = h / LLM_GQA_GROUP;
        kv_prepare_query(q);
        float *att = llm_state.att + h * LLM_CONTEXT;
        kv_key_dots(att, q, l, first, pos, kv_head, scale);
        softmax_f32_kernel(att, pos - first + 1);
        float *o = out + h * LLM_HEAD_DIM;
        kv_value_sum(o, att, l, first, pos, kv_head);
        kv_finish_output(o);
    }
}

static void attention(float *out, float *q, int l, int pos) {
    AttentionJob job = {out, q, l, pos};
    /* an attention multiply-add (f32, from a KV cache out of cache, with the
     * softmax's exp) costs about 8 int8 weight MACs: counted so, the heads are
     * split across threads from position 16 on, not 130 (stories110M) */
    const long positions = pos - first_attended(l, pos) + 1;
    parallel_for(attention_heads, &job, LLM_N_HEADS, 8L * LLM_N_HEADS * positions * LLM_HEAD_DIM * 2);
}

/* x[i] += add[i] for i < count (n tokens' rows: n * LLM_DIM). */
static void add_to(float *x, const float *add, long count) {
    for (long i = 0; i < count; i++) {
        x[i] += add[i];
    }
}

#if LLM_QK_NORM || LLM_POST_NORMS
/* Each of `rows` rows of x[n] RMS-normed in place by weight[n]. */
static void norm_rows(float *x, int rows, int n, const float *weight) {
    for (int r = 0; r < rows; r++) rmsnorm_f32(x + (long)r * n, x + (long)r * n, weight, n, LLM_NORM_EPS);
}
#endif

/* The classifier for the residual stream x[dim]: llm_state.logits. */
static const float *classify(float *x) {
    const Weights *w = &llm_weights;
    rmsnorm_f32(x, x, w->norm, LLM_DIM, LLM_NORM_EPS);
    prepare_input(x, LLM_DIM, 0);
    matmul(llm_state.logits, x, &w->output, LLM_VOCAB_SIZE, LLM_DIM, 1);
#if LLM_FINAL_SOFTCAP
    for (int i = 0; i < LLM_VOCAB_SIZE; i++) {
        llm_state.logits[i] = tanh_f32(llm_state.logits[i] / LLM_FINAL_SOFTCAP_VALUE) * LLM_FINAL_SOFTCAP_VALUE;
    }
#endif
    return llm_state.logits;
}

/* tokens[0..n) (n <= LLM_BATCH) at positions pos..pos + n - 1 through every layer,
 * each token's arithmetic exactly as if it ran alone: the matrices read once for
 * all of them, the KV cache written for all before any attends (token j reads
 * positions up to its own). The residual streams are left in llm_state.x. */
static void forward_layers(const int *tokens, int n, int pos) {
    const Weights *w = &llm_weights;
    const RunState *s = &llm_state;

    for (int j = 0; j < n; j++) {
        embed(TOKEN(s->x, j, LLM_DIM), &w->tok_embeddings, tokens[j]);
#if LLM_SCALED_EMBEDDINGS
        for (int i = 0; i < LLM_DIM; i++) TOKEN(s->x, j, LLM_DIM)[i] *= LLM_EMBED_SCALE;
#endif
    }

    for (int l = 0; l < LLM_N_LAYERS; l++) {
        const LayerWeights *lw = &w->layers[l];
        const float *rope_cos = w->rope_cos, *rope_sin = w->rope_sin;
#if LLM_ROPE_LOCAL
        if (lw->sliding) rope_cos = w->rope_local_cos, rope_sin = w->rope_local_sin;
#endif

        /* Attention block: x += wo @ attention(rope(wq x), rope(wk x), wv x). */
        for (int j = 0; j < n; j++) {
            rmsnorm_f32(TOKEN(s->xb, j, LLM_DIM), TOKEN(s->x, j, LLM_DIM), lw->attention_norm, LLM_DIM, LLM_NORM_EPS);
            prepare_input(TOKEN(s->xb, j, LLM_DIM), LLM_DIM, j);
        }
        MatmulJob qkv = {{s->q, s->k, s->v}, {&lw->wq, &lw->wk, &lw->wv},
                         {LLM_Q_DIM, LLM_KV_DIM, LLM_KV_DIM}, 3, LLM_DIM, s->xb, n};
        matmul_job(&qkv);
        for (int j = 0; j < n; j++) {
            float *q = TOKEN(s->q, j, LLM_Q_DIM), *k = TOKEN(s->k, j, LLM_KV_DIM), *v = TOKEN(s->v, j, LLM_KV_DIM);
#if LLM_QKV_BIAS
            add_to(q, lw->bq, LLM_Q_DIM);
            add_to(k, lw->bk, LLM_KV_DIM);
            add_to(v, lw->bv, LLM_KV_DIM);
#endif
#if LLM_QK_NORM
            norm_rows(q, LLM_N_HEADS, LLM_HEAD_DIM, lw->q_norm);
            norm_rows(k, LLM_N_KV_HEADS, LLM_HEAD_DIM, lw->k_norm);
#endif
            const long at = (long)(pos + j) * (LLM_HEAD_DIM / 2);
            rope_f32(q, LLM_N_HEADS, LLM_HEAD_DIM, rope_cos + at, rope_sin + at);
            rope_f32(k, LLM_N_KV_HEADS, LLM_HEAD_DIM, rope_cos + at, rope_sin + at);
            kv_store(l, pos + j, k, v);
        }
        for (int j = 0; j < n; j++) attention(TOKEN(s->xb, j, LLM_Q_DIM), TOKEN(s->q, j, LLM_Q_DIM), l, pos + j);
        /* after every token's attention: the planner lets xq share memory with att */
        for (int j = 0; j < n; j++) prepare_input(TOKEN(s->xb, j, LLM_Q_DIM), LLM_Q_DIM, j);
        matmul(s->xb2, s->xb, &lw->wo, LLM_DIM, LLM_Q_DIM, n);
#if LLM_POST_NORMS
        norm_rows(s->xb2, n, LLM_DIM, lw->post_attention_norm);
#endif
        add_to(s->x, s->xb2, (long)n * LLM_DIM);

        /* Gated feed-forward block: x += w2 @ (act(w1 x) * w3 x), act SiLU (SwiGLU) or GELU. */
        for (int j = 0; j < n; j++) {
            rmsnorm_f32(TOKEN(s->xb, j, LLM_DIM), TOKEN(s->x, j, LLM_DIM), lw->ffn_norm, LLM_DIM, LLM_NORM_EPS);
            prepare_input(TOKEN(s->xb, j, LLM_DIM), LLM_DIM, j);
        }
        MatmulJob up = {{s->hb, s->hb2}, {&lw->w1, &lw->w3}, {LLM_HIDDEN_DIM, LLM_HIDDEN_DIM}, 2, LLM_DIM, s->xb, n};
        parallel_for(ffn_up_blocks, &up, blocks(LLM_HIDDEN_DIM), 2L * LLM_HIDDEN_DIM * LLM_DIM * n);
        for (int j = 0; j < n; j++) prepare_input(TOKEN(s->hb, j, LLM_HIDDEN_DIM), LLM_HIDDEN_DIM, j);
        matmul(s->xb, s->hb, &lw->w2, LLM_DIM, LLM_HIDDEN_DIM, n);
#if LLM_POST_NORMS
        norm_rows(s->xb, n, LLM_DIM, lw->post_ffn_norm);
#endif
        add_to(s->x, s->xb, (long)n * LLM_DIM);
    }
}

static int tokens_ok(const int *tokens, int n, int pos) {
    if (tokens == NULL || n < 1 || pos < 0 || pos > LLM_CONTEXT - n) return 0;
    for (int j = 0; j < n; j++) {
        if (tokens[j] < 0 || tokens[j] >= LLM_VOCAB_SIZE) return 0;
    }
    return 1;
}

const float *llm_forward_batch(const int *tokens, int n, int pos) {
    if (!tokens_ok(tokens, n, pos)) return NULL;
    for (int done = 0; done < n; done += LLM_BATCH) {
        forward_layers(tokens + done, n - done < LLM_BATCH ? n - done : LLM_BATCH, pos + done);
    }
    const int last = (n - 1) % LLM_BATCH;
    return classify(TOKEN(llm_state.x, last, LLM_DIM));
}

int llm_forward_each(const int *tokens, int n, int pos, llm_logits_callback each, void *user) {
    if (!tokens_ok(tokens, n, pos) || each == NULL) return -LLM_ERR_ARG;
    for (int done = 0; done < n; done += LLM_BATCH) {
        const int m = n - done < LLM_BATCH ? n - done : LLM_BATCH;
        forward_layers(tokens + done, m, pos + done);
        for (int j = 0; j < m; j++) {
            if (each(done + j, classify(TOKEN(llm_state.x, j, LLM_DIM)), user)) return done + j + 1;
        }
    }
    return n;
}

const float *llm_forward(int token, int pos) {
    return llm_forward_batch(&token, 1, pos);
}

int llm_vocab_size(void) {
    return LLM_VOCAB_SIZE;
}

int llm_context_size(void) {
    return LLM_CONTEXT;
}

const char *llm_strerror(int code) {
    switch (code < 0 ? -code : code) {
    case LLM_OK: return "ok";
    case LLM_ERR_IMAGE:
        return "the weight image does not match this build (another shape, quantization, context or tokenizer)";
    case LLM_ERR_TOKEN: return "token id out of range";
    case LLM_ERR_POS: return "position out of range";
    case LLM_ERR_TOO_LONG: return "text does not fit the context";
    case LLM_ERR_ARG: return "invalid argument";
    case LLM_ERR_CORRUPT: return "the weight image is corrupt (CRC-32 mismatch): compile and flash it again";
    default: return "unknown error";
    }
}
