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

/* Keys are stored transposed, [kv_head][head_dim][context], so the scores of many
 * positions accumulate side by side (vectorisable) while each score still sums
 * its elements in order. Values are [kv_head][context][head_dim]: a head's weighted
 * sum reads one contiguous stream. */
#define KEY(l, h, i, t) (llm_state.key_cache[l][((long)(h) * LLM_HEAD_DIM + (i)) * LLM_CONTEXT + (t)])
#define VALUES(l, h, t) (llm_state.value_cache[l] + ((long)(h) * LLM_CONTEXT + (t)) * LLM_HEAD_DIM)

void kv_store(int l, int pos, float *key, float *value) {
    KVElem k[LLM_KV_DIM], v[LLM_KV_DIM];
#if LLM_KV_Q8
    const RunState *s = &llm_state;
#if KV_ROTATE
    for (int h = 0; h < LLM_N_KV_HEADS; h++) {
        hadamard_f32(key + h * LLM_HEAD_DIM, LLM_HEAD_DIM);
        hadamard_f32(value + h * LLM_HEAD_DIM, LLM_HEAD_DIM);
    }
#endif
    quantize_q8_kernel(k, s->key_scales[l] + pos * LLM_N_KV_HEADS, key, LLM_KV_DIM, LLM_HEAD_DIM);
    quantize_q8_kernel(v, s->value_scales[l] + pos * LLM_N_KV_HEADS, value, LLM_KV_DIM, LLM_HEAD_DIM);
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
        for (int i = 0; i < LLM_HEAD_DIM; i++) KEY(l, h, i, pos) = k[h * LLM_HEAD_DIM + i];
        memcpy(VALUES(l, h, pos), v + h * LLM_HEAD_DIM, sizeof(KVElem) * LLM_HEAD_DIM);
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

void kv_key_dots(float *att, const float *q, int l, int first, int last, int h, float scale) {
    const int n = last - first + 1;
#if !LLM_KV_Q8 && !LLM_KV_F16 /* floats as they are: scores_f32 (the board's) divides by the scale */
    scores_f32_kernel(att, q, &KEY(l, h, 0, first), LLM_CONTEXT, n, LLM_HEAD_DIM, scale);
#else
    key_dots_kernel(att, q, &KEY(l, h, 0, first), LLM_CONTEXT, n, LLM_HEAD_DIM);
    for (int t = 0; t < n; t++) {
        float sum = att[t];
#if LLM_KV_Q8
        sum *= llm_state.key_scales[l][(first + t) * LLM_N_KV_HEADS + h];
#endif
#if KV_ROTATE
        sum *= 1.0f / (float)LLM_HEAD_DIM;
#endif
        att[t] = sum / scale;
    }
#endif
}

void kv_value_sum(float *restrict out, float *restrict att, int l, int first, int last, int h) {
    const KVElem *restrict values = VALUES(l, h, first);
    const int n = last - first + 1;
#if LLM_KV_Q8 /* each row's scale goes into its weight */
    for (int t = 0; t < n; t++) att[t] *= llm_state.value_scales[l][(first + t) * LLM_N_KV_HEADS + h];
#endif
    value_sums_kernel(out, att, values, LLM_HEAD_DIM, n, LLM_HEAD_DIM);
}

void kv_finish_output(float *out) {
#if KV_ROTATE
    hadamard_f32(out, LLM_HEAD_DIM);
    for (int i = 0; i < LLM_HEAD_DIM; i++) out[i] *= 1.0f / (float)LLM_HEAD_DIM;
#else
    (void)out;
#endif
}
