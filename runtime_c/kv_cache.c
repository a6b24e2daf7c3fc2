/* kv_cache.c - KV cache storage: float32, IEEE half, or int8 with a scale per head.
 *
 * int8 keys lose too much for a model whose attention is sharp (stories260K's
 * q.k reach the hundreds): a few large channels set each head's scale. So for q8
 * each head of k and v is first rotated by a Walsh-Hadamard transform H, which
 * spreads those channels evenly, and quantized after: q.k = (Hq).(Hk) / d and
 * sum a v = H (sum a Hv) / d, with d = head_dim a power of two, so exactly. */
#include "kv_cache.h"
#include "model.h"
#include "kernels/kernels.h"

#define KV_ROTATE (LLM_KV_Q8 && (LLM_HEAD_DIM & (LLM_HEAD_DIM - 1)) == 0)

void kv_store(int l, int pos) {
    const RunState *s = &llm_state;
    KVElem *k = s->key_cache[l] + (long)pos * LLM_KV_DIM;
    KVElem *v = s->value_cache[l] + (long)pos * LLM_KV_DIM;
#if LLM_KV_Q8
#if KV_ROTATE
    for (int h = 0; h < LLM_N_KV_HEADS; h++) {
        hadamard_f32(s->k + h * LLM_HEAD_DIM, LLM_HEAD_DIM);
        hadamard_f32(s->v + h * LLM_HEAD_DIM, LLM_HEAD_DIM);
    }
#endif
    quantize_q8(k, s->key_scales[l] + pos * LLM_N_KV_HEADS, s->k, LLM_KV_DIM, LLM_HEAD_DIM);
    quantize_q8(v, s->value_scales[l] + pos * LLM_N_KV_HEADS, s->v, LLM_KV_DIM, LLM_HEAD_DIM);
#else
    for (int i = 0; i < LLM_KV_DIM; i++) {
#if LLM_KV_F16
        k[i] = f32_to_f16(s->k[i]);
        v[i] = f32_to_f16(s->v[i]);
#else
        k[i] = s->k[i];
        v[i] = s->v[i];
#endif
    }
#endif
}

void kv_prepare_query(float *q) {
#if KV_ROTATE
    hadamard_f32(q, LLM_HEAD_DIM);
#else
    (void)q;
#endif
}

float kv_key_dot(const float *q, int l, int t, int h) {
    const KVElem *k = llm_state.key_cache[l] + (long)t * LLM_KV_DIM + h * LLM_HEAD_DIM;
    float sum = 0.0f;
    for (int i = 0; i < LLM_HEAD_DIM; i++) {
#if LLM_KV_Q8
        sum += q[i] * (float)k[i];
#elif LLM_KV_F16
        sum += q[i] * f16_to_f32(k[i]);
#else
        sum += q[i] * k[i];
#endif
    }
#if LLM_KV_Q8
    sum *= llm_state.key_scales[l][t * LLM_N_KV_HEADS + h];
#endif
#if KV_ROTATE
    sum *= 1.0f / (float)LLM_HEAD_DIM;
#endif
    return sum;
}

void kv_value_add(float *out, float weight, int l, int t, int h) {
    const KVElem *v = llm_state.value_cache[l] + (long)t * LLM_KV_DIM + h * LLM_HEAD_DIM;
#if LLM_KV_Q8
    weight *= llm_state.value_scales[l][t * LLM_N_KV_HEADS + h];
#endif
    for (int i = 0; i < LLM_HEAD_DIM; i++) {
#if LLM_KV_Q8
        out[i] += weight * (float)v[i];
#elif LLM_KV_F16
        out[i] += weight * f16_to_f32(v[i]);
#else
        out[i] += weight * v[i];
#endif
    }
}

void kv_finish_output(float *out) {
#if KV_ROTATE
    hadamard_f32(out, LLM_HEAD_DIM);
    for (int i = 0; i < LLM_HEAD_DIM; i++) out[i] *= 1.0f / (float)LLM_HEAD_DIM;
#else
    (void)out;
#endif
}
