/* generate.h - the loop behind llm_generate and llm_chat_reply. */
#ifndef LLM_GENERATE_H
#define LLM_GENERATE_H

#include <stdint.h>
#include "llm.h"

typedef struct {
    const int *prompt;   /* forced tokens, the first run at `pos` */
    int n_prompt;
    int pos;             /* where prompt[0] goes; positions before it are in the KV cache */
    int end;             /* run no position at or past this (<= the context) */
    float temperature, topp;
    uint64_t seed;
    int (*stop)(int token); /* a sampled token that ends the run */
    int echo_prompt;     /* call back for the forced tokens too (llama2.c prints the prompt) */
    int keep_stop;       /* run the stop token too, so a next turn can follow it */
} GenerateRun;

/* Runs the prompt, then samples until a stop token or `end`. Returns the
 * position after the last one run, or -LLM_ERR_*. */
int generate_run(const GenerateRun *run, llm_token_callback callback, void *user);

#endif
