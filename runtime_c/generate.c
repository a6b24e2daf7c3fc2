/* generate.c - the generation loop of llama2.c's run, over llm_forward, and the
 * same loop for a chat turn. */
#include <float.h>
#include <stddef.h>
#include "llm.h"
#include "model.h"
#include "generate.h"
#include "sampler.h"

/* What llama2.c's safe_printf prints: everything but a lone byte that is neither
 * printable ASCII nor whitespace (a fragment of a UTF-8 sequence, a control byte).
 * A tiktoken vocabulary prints every byte: its byte tokens are the parts of a
 * character that the next tokens complete. */
static const char *printable(const char *piece) {
#if !LLM_TOKENIZER_TIKTOKEN
    unsigned char c = (unsigned char)piece[0];
    if (c != '\0' && piece[1] == '\0' && !(c >= 0x20 && c < 0x7F) &&
        !(c == ' ' || (c >= '\t' && c <= '\r'))) {
        return "";
    }
#endif
    return piece;
}

static int check_tokens(const int *tokens, int n) {
    for (int i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= LLM_VOCAB_SIZE) return -LLM_ERR_TOKEN;
    }
    return LLM_OK;
}

/* A temperature the sampler can divide by: 0 (greedy) or positive, and finite (no
 * NaN). A top-p that is not NaN: at or below 0, or at or above 1 (infinities
 * included), it turns nucleus sampling off. NaN would pass any `<` test and reach
 * the sampler as NaN probabilities. */
static int sampling_ok(float temperature, float topp) {
    return temperature >= 0.0f && temperature <= FLT_MAX && topp == topp;
}

int generate_run(const GenerateRun *run, llm_token_callback callback, void *user) {
    if (run->prompt == NULL || run->n_prompt < 1 || run->seed == 0 || !sampling_ok(run->temperature, run->topp) ||
        run->pos < 0 || run->end <= run->pos) {
        return -LLM_ERR_ARG;
    }
    if (run->end > LLM_CONTEXT || run->n_prompt > LLM_CONTEXT - run->pos) return -LLM_ERR_TOO_LONG;
    int rc = check_tokens(run->prompt, run->n_prompt);
    if (rc != LLM_OK) return rc;
    Sampler sampler = {run->temperature, run->topp, run->seed};
    int token = run->prompt[0];
    int pos = run->pos;
    /* the prompt (as much as the run takes) in batches: only its last token's logits
     * are read, and they are the ones token-by-token forwards leave */
    const int batched = run->n_prompt < run->end - pos ? run->n_prompt : run->end - pos;
    llm_forward_batch(run->prompt, batched, pos);
    for (int i = 1; pos < run->end; i++) {
        if (i > batched) llm_forward(token, pos); /* fills llm_state.logits, which the sampler may overwrite */
        /* Inside the prompt the next token is forced; after it, sampled. */
        const int forced = i < run->n_prompt;
        int next = forced ? run->prompt[i] : sampler_sample(&sampler, llm_state.logits);
        pos++;
        if (!forced && run->stop(next)) {
            if (run->keep_stop && pos < run->end) llm_forward(next, pos++); /* the next turn follows it */
            break;
        }
        if ((run->echo_prompt || !forced) && callback != NULL &&
            callback(next, printable(llm_decode(token, next)), user)) {
            break;
        }
        token = next;
    }
    return pos;
}

/* llama2.c stops when the model starts a new text. */
static int is_bos(int token) {
    return token == LLM_BOS_ID;
}

int llm_generate(const int *prompt, int n_prompt, int steps, float temperature,
                 float topp, uint64_t seed, llm_token_callback callback, void *user) {
    if (steps < 1) return -LLM_ERR_ARG;
    const GenerateRun run = {prompt, n_prompt, 0, steps, temperature, topp, seed, is_bos, 1, 0};
    return generate_run(&run, callback, user);
}
