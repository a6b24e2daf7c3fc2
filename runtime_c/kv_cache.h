/* kv_cache.h - the KV cache in the storage chosen at compile time (f32, f16 or q8),
 * behind a few operations, so the attention code reads the same for all three. */
#ifndef LLM_KV_CACHE_H
#define LLM_KV_CACHE_H

/* Clears every layer's cache. */
void kv_reset(void);

/* Stores key[kv_dim] and value[kv_dim] as layer l's at position pos (may overwrite
 * them). */
void kv_store(int l, int pos, float *key, float *value);

/* Turns one query head into the form kv_key_dot takes (in place). */
void kv_prepare_query(float *q);

/* att[t - first] = q[head_dim] . key of layer l, position t, KV head h, divided by
 * `scale`, for t in first..last (first > 0 in a sliding-window layer; a ring's
 * positions are in one or two runs of slots, att in time order all the same). */
void kv_key_dots(float *att, const float *q, int l, int first, int last, int h, float scale);

/* out[head_dim] = sum over t in first..last of att[t - first] * value of layer l,
 * position t, KV head h (in the rotated space for q8; see kv_finish_output), in time
 * order (where a ring wraps, the older run's sum plus the newer's). A q8 cache's
 * scales are multiplied into att. */
void kv_value_sum(float *restrict out, float *restrict att, int l, int first, int last, int h);

/* Turns the sum of kv_value_sum into the attention output (in place). */
void kv_finish_output(float *out);

#endif
