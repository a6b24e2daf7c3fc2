/* kv_cache.c - KV cache storage: float32, IEEE half, or int8 with a scale per head.
 *
 * int8 keys lose too much for a model whose attention is sharp (stories260K's
 * q.k reach the hundreds): a few large channels set each head's scale. So for q8
 * each head of k and v is first rotated by a Walsh-Hadamard transform H, which
 * spreads those channels evenly, and quantized after: q.k = (Hq).(Hk) / d and
 * sum a v = H (sum a Hv) / d, with d = head_dim a power of two, so exactly. */
#include <string.h>
#include "kv_cache.h"
#include "model.h"
#include "kernels/kernels.h"

#define KV_ROTATE (LLM_KV_Q8 && (LLM_HEAD_DIM & (LLM_HEAD_DIM - 1)) == 0)

/* A layer's cache holds CAPACITY(l) positions, position t in slot SLOT(l, t): the whole
 * context, or in a sliding layer (LLM_KV_RING) a ring of its window and a batch less
 * one (toolchain/compile/plan.py: kv_positions), so its old positions are overwritten. */
#if LLM_KV_RING
#define CAPACITY(l) (llm_weights.layers[l].sliding ? LLM_KV_RING : LLM_CONTEXT)
#define SLOT(l, t) ((t) % CAPACITY(l))
#else
#define CAPACITY(l) LLM_CONTEXT
#define SLOT(l, t) (t)
#endif

/* Keys are stored transposed, [kv_head][head_dim][capacity], so the scores of many
 * positions accumulate side by side (vectorisable) while each score still sums
 * its elements in order. Values are [kv_head][capacity][head_dim]: a head's weighted
 * sum reads one contiguous stream. `s` is a slot; q8 scales are [capacity][kv_head]. */
#define KEY(l, h, i, s) (llm_state.key_cache[l][((long)(h) * LLM_HEAD_DIM + (i)) * CAPACITY(l) + (s)])
#define VALUES(l, h, s) (llm_state.value_cache[l] + ((long)(h) * CAPACITY(l) + (s)) * LLM_HEAD_DIM)
#define SCALE(scales, l, h, s) (llm_state.scales[l][(long)(s) * LLM_N_KV_HEADS + (h)])

void kv_reset(void) {
    for (int l = 0; l < LLM_N_LAYERS; l++) {
        memset(llm_state.key_cache[l], 0, sizeof(KVElem) * CAPACITY(l) * LLM_KV_DIM);
        memset(llm_state.value_cache[l], 0, sizeof(KVElem) * CAPACITY(l) * LLM_KV_DIM);
    }
}

/* Positions first..last of layer l as runs of consecutive slots, in time order: one,
 * or in a ring two where it wraps (the older from `first`'s slot to the ring's end,
 * the newer from slot 0). Returns how many; run r is n[r] slots from slot[r]. */
static int runs(int slot[2], int n[2], int l, int first, int last) {
    slot[0] = SLOT(l, first);
    n[0] = last - first + 1;
#if LLM_KV_RING
    if (slot[0] + n[0] > CAPACITY(l)) {
        slot[1] = 0;
        n[1] = slot[0] + n[0] - CAPACITY(l);
        n[0] -= n[1];
        return 2;
    }
#else
    (void)l; /* every slot its position */
#endif
    return 1;
}

void kv_store(int l, int pos, float *key, float *value) {
    KVElem k[LLM_KV_DIM], v[LLM_KV_DIM];
    const int slot = SLOT(l, pos);
#if LLM_KV_Q8
#if KV_ROTATE
    for (int h = 0; h < LLM_N_KV_HEADS; h++) {
        hadamard_f32(key + h * LLM_HEAD_DIM, LLM_HEAD_DIM);
        hadamard_f32(value + h * LLM_HEAD_DIM, LLM_HEAD_DIM);
    }
#endif
    quantize_q8_kernel(k, &SCALE(key_scales, l, 0, slot), key, LLM_KV_DIM, LLM_HEAD_DIM);
    quantize_q8_kernel(v, &SCALE(value_scales, l, 0, slot), value, LLM_KV_DIM, LLM_HEAD_DIM);
#else
    for (int i = 0; i < LLM_KV_DIM; i++) {
#if LLM_KV_F16
        k[i] = f32_to_f16(key[i]);
        v[i] = f32_to_f16(value[i]);
#else
        k[i] = key[i];
        v[i] = value[i];
#endif
    }
#endif
    for (int h = 0; h < LLM_N_KV_HEADS; h++) {
        for (int i = 0; i < LLM_HEAD_DIM; i++) KEY(l, h, i, slot) = k[h * LLM_HEAD_DIM + i];
        memcpy(VALUES(l, h, slot), v + h * LLM_HEAD_DIM, sizeof(KVElem) * LLM_HEAD_DIM);
    }
}

void kv_prepare_query(float *q) {
#if KV_ROTATE
    hadamard_f32(q, LLM_HEAD_DIM);
#else
    (void)q;
#endif
}

#if LLM_KV_Q8
#define key_dots_kernel key_dots_i8_kernel
#define value_sums_kernel value_sums_i8_kernel
#elif LLM_KV_F16
#define key_dots_kernel key_dots_f16_kernel
#define value_sums_kernel value_sums_f16_kernel
#else
#define value_sums_kernel weighted_sum_f32_kernel
#endif

/* att[0..n) = q . the keys of layer l, KV head h, in slots slot..slot + n - 1, divided by `scale`. */
static void key_dots_run(float *att, const float *q, int l, int slot, int n, int h, float scale) {
#if !LLM_KV_Q8 && !LLM_KV_F16 /* floats as they are: scores_f32 (the board's) divides by the scale */
    scores_f32_kernel(att, q, &KEY(l, h, 0, slot), CAPACITY(l), n, LLM_HEAD_DIM, scale);
#else
    key_dots_kernel(att, q, &KEY(l, h, 0, slot), CAPACITY(l), n, LLM_HEAD_DIM);
    for (int t = 0; t < n; t++) {
        float sum = att[t];
#if LLM_KV_Q8
        sum *= SCALE(key_scales, l, h, slot + t);
#endif
#if KV_ROTATE
        sum *= 1.0f / (float)LLM_HEAD_DIM;
#endif
        att[t] = sum / scale;
    }
#endif
}

void kv_key_dots(float *att, const float *q, int l, int first, int last, int h, float scale) {
    int slot[2], n[2];
    const int count = runs(slot, n, l, first, last);
    /* each score on its own: att in time order whichever slots the positions are in */
    for (int r = 0, at = 0; r < count; at += n[r], r++) key_dots_run(att + at, q, l, slot[r], n[r], h, scale);
}

/* out[head_dim] = sum of att[t] * the values of layer l, KV head h, in slot slot + t
 * for t < n (a q8 cache's scales multiplied into att first). */
static void value_sum_run(float *restrict out, float *restrict att, int l, int slot, int n, int h) {
#if LLM_KV_Q8 /* each row's scale goes into its weight */
    for (int t = 0; t < n; t++) att[t] *= SCALE(value_scales, l, h, slot + t);
#endif
    value_sums_kernel(out, att, VALUES(l, h, slot), LLM_HEAD_DIM, n, LLM_HEAD_DIM);
}

void kv_value_sum(float *restrict out, float *restrict att, int l, int first, int last, int h) {
    int slot[2], n[2];
    const int count = runs(slot, n, l, first, last);
    value_sum_run(out, att, l, slot[0], n[0], h);
#if LLM_KV_RING
    /* a ring that wraps: the kernels write their sum (they do not add to out), so the
     * newer run's is summed on its own and added to the older's, element by element:
     * a fixed order, each run's in time order, then the two */
    if (count == 2) {
        float newer[LLM_HEAD_DIM];
        value_sum_run(newer, att + n[0], l, slot[1], n[1], h);
        for (int i = 0; i < LLM_HEAD_DIM; i++) out[i] += newer[i];
    }
#else
    (void)count;
#endif
}

void kv_finish_output(float *out) {
#if KV_ROTATE
    hadamard_f32(out, LLM_HEAD_DIM);
    for (int i = 0; i < LLM_HEAD_DIM; i++) out[i] *= 1.0f / (float)LLM_HEAD_DIM;
#else
    (void)out;
#endif
}
