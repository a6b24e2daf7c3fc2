/* llm.c - initialisation and the forward pass, read top to bottom. */
#include <math.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "image.h"
#include "crc32.h"
#include "kernels/kernels.h"
#include "kv_cache.h"
#include "parallel.h"

#define LLM_GQA_GROUP (LLM_N_HEADS / LLM_N_KV_HEADS) /* query heads per KV head */
#define LLM_WIDEST (LLM_DIM > LLM_HIDDEN_DIM ? LLM_DIM : LLM_HIDDEN_DIM)

/* Bytes per stored weight row of `cols` columns, and the matrix kernel. */
#if LLM_QUANT_Q4
#define ROW_BYTES(cols) (((long)(cols) + 1) / 2)
#define MATMUL_INT matmul_q4
#else
#define ROW_BYTES(cols) ((long)(cols))
#define MATMUL_INT matmul_q8
#endif

int llm_init(void) {
    const ImageHeader *h = (const ImageHeader *)llm_image;
    if (memcmp(h->magic, "LLMTOOL", 8) != 0 || h->version != LLM_IMAGE_VERSION ||
        h->image_size != LLM_IMAGE_SIZE) {
        return -LLM_ERR_IMAGE;
    }
    uint32_t stored;
    memcpy(&stored, llm_image + LLM_IMAGE_CRC_OFFSET, sizeof stored); /* little-endian, like every board */
    if (crc32_update(0, llm_image, LLM_IMAGE_CRC_OFFSET) != stored) {
        return -LLM_ERR_CORRUPT;
    }
    if (h->dim != LLM_DIM || h->hidden_dim != LLM_HIDDEN_DIM || h->n_layers != LLM_N_LAYERS ||
        h->n_heads != LLM_N_HEADS || h->n_kv_heads != LLM_N_KV_HEADS ||
        h->vocab_size != LLM_VOCAB_SIZE || h->context != LLM_CONTEXT ||
        h->quant != LLM_QUANT_MODE || h->group_size != LLM_GROUP_SIZE || h->kv != LLM_KV_MODE ||
        h->tokenizer != LLM_TOKENIZER_KIND) {
        return -LLM_ERR_IMAGE;
    }
    llm_weights_init(image_base());
    llm_reset();
    return LLM_OK;
}

void llm_reset(void) {
    const RunState *s = &llm_state;
    for (int l = 0; l < LLM_N_LAYERS; l++) {
        memset(s->key_cache[l], 0, sizeof(KVElem) * LLM_CONTEXT * LLM_KV_DIM);
        memset(s->value_cache[l], 0, sizeof(KVElem) * LLM_CONTEXT * LLM_KV_DIM);
    }
}

/* The activation x[n] in the form the matrix kernels take: for q8 and q4 it is
 * quantized once into the shared xq/xs buffers, then multiplied by several matrices. */
static void prepare_input(const float *x, int n) {
#if LLM_QUANT_Q4 || (LLM_QUANT_Q8 && KERNEL_X_BYTES == 1)
    quantize_q8(llm_state.xq, llm_state.xs, x, n, LLM_GROUP_SIZE);
#elif LLM_QUANT_Q8
    /* quantized just after the kernel's form of them, then turned into it */
    int8_t *staged = llm_state.xq + (long)LLM_WIDEST * KERNEL_X_BYTES;
    quantize_q8(staged, llm_state.xs, x, n, LLM_GROUP_SIZE);
    group_dot_q8_prepare(llm_state.xq, staged, n);
#else
    (void)x;
    (void)n;
#endif
}

/* Up to three matrix-vector products with the same input, run as one parallel
 * loop over their rows together (Q, K and V; W1 and W3): one hand-out, not three. */
typedef struct {
    float *out[3];
    const Matrix *m[3];
    int rows[3];
    int n;
    int cols;
    const float *x; /* the input last passed to prepare_input */
} MatmulJob;

static void matmul_rows(void *ctx, int start, int end) {
    const MatmulJob *job = ctx;
    int first = 0; /* the first row of job->m[k] in the joint row range */
    for (int k = 0; k < job->n; first += job->rows[k], k++) {
        int lo = start > first ? start - first : 0;
        int hi = end - first < job->rows[k] ? end - first : job->rows[k];
        if (lo >= hi) continue;
        const Matrix *m = job->m[k];
#if LLM_QUANT_INT
        const int n_groups = (job->cols + LLM_GROUP_SIZE - 1) / LLM_GROUP_SIZE;
        const int8_t *q = m->q + (long)lo * ROW_BYTES(job->cols);
        MATMUL_INT(job->out[k] + lo, llm_state.xq, llm_state.xs, q, m->s + (long)lo * n_groups,
                   hi - lo, job->cols, LLM_GROUP_SIZE);
#else
        matmul_f32(job->out[k] + lo, job->x, m->w + (long)lo * job->cols, hi - lo, job->cols);
#endif
    }
}

static void matmul_job(MatmulJob *job) {
    int rows = 0;
    for (int k = 0; k < job->n; k++) rows += job->rows[k];
    parallel_for(matmul_rows, job, rows, (long)rows * job->cols);
}

/* out[rows] = m[rows x cols] @ x, where x is the input last passed to prepare_input. */
static void matmul(float *out, const float *x, const Matrix *m, int rows, int cols) {
    MatmulJob job = {{out}, {m}, {rows}, 1, cols, x};
    matmul_job(&job);
}

/* Row `token` of the embedding table, as floats. */
static void embed(float *out, const Matrix *table, int token) {
#if LLM_QUANT_INT
    const int n_groups = (LLM_DIM + LLM_GROUP_SIZE - 1) / LLM_GROUP_SIZE;
    const int8_t *q = table->q + (long)token * ROW_BYTES(LLM_DIM);
    const float *s = table->s + (long)token * n_groups;
    for (int j = 0; j < LLM_DIM; j++) {
#if LLM_QUANT_Q4
        const uint8_t byte = (uint8_t)q[j >> 1];
        const int value = (j & 1 ? byte >> 4 : byte & 15) - 8;
#else
        const int value = q[j];
#endif
        out[j] = (float)value * s[j / LLM_GROUP_SIZE];
    }
#else
    memcpy(out, table->w + (long)token * LLM_DIM, sizeof(float) * LLM_DIM);
#endif
}

typedef struct {
    float *out;
    int l, pos;
} AttentionJob;

/* Heads [start, end) of causal self-attention of the query in s->q over positions
 * 0..pos of layer l's cache; each head's output goes to its slice of out[dim]. */
static void attention_heads(void *ctx, int start, int end) {
    const AttentionJob *job = ctx;
    const RunState *s = &llm_state;
    const int l = job->l, pos = job->pos;
    float *out = job->out;
    const float scale = sqrtf((float)LLM_HEAD_DIM);
    for (int h = start; h < end; h++) {
        float *q = s->q + h * LLM_HEAD_DIM;
        const int kv_head = h / LLM_GQA_GROUP;
        kv_prepare_query(q);
        float *att = s->att + h * LLM_CONTEXT;
        kv_key_dots(att, q, l, pos, kv_head, scale);
        softmax_f32(att, pos + 1);
        float *o = out + h * LLM_HEAD_DIM;
        kv_value_sum(o, att, l, pos, kv_head);
        kv_finish_output(o);
    }
}

static void attention(float *out, int l, int pos) {
    AttentionJob job = {out, l, pos};
    parallel_for(attention_heads, &job, LLM_N_HEADS, (long)LLM_N_HEADS * (pos + 1) * LLM_HEAD_DIM * 2);
}

const float *llm_forward(int token, int pos) {
    if (token < 0 || token >= LLM_VOCAB_SIZE || pos < 0 || pos >= LLM_CONTEXT) {
        return NULL;
    }
    const Weights *w = &llm_weights;
    const RunState *s = &llm_state;
    const float *rope_cos = w->rope_cos + pos * (LLM_HEAD_DIM / 2);
    const float *rope_sin = w->rope_sin + pos * (LLM_HEAD_DIM / 2);

    embed(s->x, &w->tok_embeddings, token);

    for (int l = 0; l < LLM_N_LAYERS; l++) {
        const LayerWeights *lw = &w->layers[l];

        /* Attention block: x += wo @ attention(rope(wq x), rope(wk x), wv x). */
        rmsnorm_f32(s->xb, s->x, lw->attention_norm, LLM_DIM, LLM_NORM_EPS);
        prepare_input(s->xb, LLM_DIM);
        MatmulJob qkv = {{s->q, s->k, s->v}, {&lw->wq, &lw->wk, &lw->wv},
                         {LLM_DIM, LLM_KV_DIM, LLM_KV_DIM}, 3, LLM_DIM, s->xb};
        matmul_job(&qkv);
        rope_f32(s->q, LLM_N_HEADS, LLM_HEAD_DIM, rope_cos, rope_sin);
        rope_f32(s->k, LLM_N_KV_HEADS, LLM_HEAD_DIM, rope_cos, rope_sin);
        kv_store(l, pos);
        attention(s->xb, l, pos);
        prepare_input(s->xb, LLM_DIM);
        matmul(s->xb2, s->xb, &lw->wo, LLM_DIM, LLM_DIM);
        for (int i = 0; i < LLM_DIM; i++) {
            s->x[i] += s->xb2[i];
        }

        /* SwiGLU feed-forward block: x += w2 @ (silu(w1 x) * w3 x). */
        rmsnorm_f32(s->xb, s->x, lw->ffn_norm, LLM_DIM, LLM_NORM_EPS);
        prepare_input(s->xb, LLM_DIM);
        MatmulJob up = {{s->hb, s->hb2}, {&lw->w1, &lw->w3}, {LLM_HIDDEN_DIM, LLM_HIDDEN_DIM}, 2, LLM_DIM, s->xb};
        matmul_job(&up);
        for (int i = 0; i < LLM_HIDDEN_DIM; i++) {
            float g = s->hb[i];
            s->hb[i] = g / (1.0f + exp_f32(-g)) * s->hb2[i];
        }
        prepare_input(s->hb, LLM_HIDDEN_DIM);
        matmul(s->xb, s->hb, &lw->w2, LLM_DIM, LLM_HIDDEN_DIM);
        for (int i = 0; i < LLM_DIM; i++) {
            s->x[i] += s->xb[i];
        }
    }

    rmsnorm_f32(s->x, s->x, w->norm, LLM_DIM, LLM_NORM_EPS);
    prepare_input(s->x, LLM_DIM);
    matmul(s->logits, s->x, &w->output, LLM_VOCAB_SIZE, LLM_DIM);
    return s->logits;
}

const char *llm_strerror(int code) {
    switch (code < 0 ? -code : code) {
    case LLM_OK: return "ok";
    case LLM_ERR_IMAGE: return "the weight image does not match this build";
    case LLM_ERR_TOKEN: return "token id out of range";
    case LLM_ERR_POS: return "position out of range";
    case LLM_ERR_TOO_LONG: return "text does not fit the context";
    case LLM_ERR_ARG: return "invalid argument";
    case LLM_ERR_CORRUPT: return "the weight image is corrupt (CRC-32 mismatch): compile and flash it again";
    default: return "unknown error";
    }
}
