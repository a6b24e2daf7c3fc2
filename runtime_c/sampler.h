/* sampler.h - picks the next token from the logits. */
#ifndef LLM_SAMPLER_H
#define LLM_SAMPLER_H

#include <stdint.h>

typedef struct {
    float temperature; /* 0 = greedy */
    float topp;        /* nucleus sampling when in (0, 1) */
    uint64_t rng;      /* xorshift state, nonzero */
} Sampler;

/* The next token; may overwrite logits. */
int sampler_sample(Sampler *sampler, float *logits);

#endif
