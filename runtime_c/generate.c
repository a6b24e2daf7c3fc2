/* generate.c - the generation loop of llama2.c's run, over llm_forward. */
#include <stddef.h>
#include "llm.h"
#include "model.h"
#include "sampler.h"

/* What llama2.c's safe_printf prints: everything but a lone byte that is neither
 * printable ASCII nor whitespace (a fragment of a UTF-8 sequence, a control byte). */
static const char *printable(const char *piece) {
    unsigned char c = (unsigned char)piece[0];
    if (c != '\0' && piece[1] == '\0' && !(c >= 0x20 && c < 0x7F) &&
        !(c == ' ' || (c >= '\t' && c <= '\r'))) {
        return "";
    }
    return piece;
}

int llm_generate(const int *prompt, int n_prompt, int steps, float temperature,
                 float topp, uint64_t seed, llm_token_callback callback, void *user) {
    if (prompt == NULL || n_prompt < 1 || steps < 1 || seed == 0 || temperature < 0.0f) {
        return -LLM_ERR_ARG;
    }
    if (steps > LLM_CONTEXT || n_prompt > LLM_CONTEXT) return -LLM_ERR_TOO_LONG;
    for (int i = 0; i < n_prompt; i++) {
        if (prompt[i] < 0 || prompt[i] >= LLM_VOCAB_SIZE) return -LLM_ERR_TOKEN;
    }
    Sampler sampler = {temperature, topp, seed};
    int token = prompt[0];
    int pos = 0;
    while (pos < steps) {
        llm_forward(token, pos); /* fills llm_state.logits, which the sampler may overwrite */
        /* Inside the prompt the next token is forced; after it, sampled. */
        int next = pos < n_prompt - 1 ? prompt[pos + 1] : sampler_sample(&sampler, llm_state.logits);
        pos++;
        if (next == LLM_BOS_ID) break; /* the model starts a new text: stop, as llama2.c */
        if (callback != NULL && callback(next, printable(llm_decode(token, next)), user)) break;
        token = next;
    }
    return pos;
}
