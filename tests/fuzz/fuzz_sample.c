/* fuzz_sample.c - libFuzzer harness for the sampling parameters and the sampler:
 * temperature and top-p as any float bit pattern (NaN, infinities, subnormals,
 * negatives, huge), any seed, prompts of any ids, and logits of any bits.
 *
 * Input: temperature (4 bytes, the float's bits), top-p (4), seed (8), one byte for
 * the steps and prompt length, then int16 prompt ids and the logits' float bits,
 * the rest of the input repeated to fill the vocabulary.
 *
 * Checks: llm_generate and llm_chat_reply return -LLM_ERR_ARG exactly for what llm.h
 * calls invalid (a negative, infinite or NaN temperature, a NaN top-p, seed 0), else
 * run, and every token they call back with is in [0, vocab); sampler_sample, given
 * parameters llm_generate accepts and the fuzzed logits, returns an id in [0, vocab). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "sampler.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    check(llm_init() == LLM_OK, "llm_init succeeds");
    return 0;
}

static int check_token(int token, const char *text, void *user) {
    (void)user;
    check(token >= 0 && token < LLM_VOCAB_SIZE, "every token called back is in the vocabulary");
    check(text != NULL, "a token's text");
    (void)strlen(text);
    return 0;
}

enum { HEAD = 4 + 4 + 8 + 1 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < HEAD) return 0;
    float temperature, topp;
    uint64_t seed;
    memcpy(&temperature, data, 4);
    memcpy(&topp, data + 4, 4);
    memcpy(&seed, data + 8, 8);
    const int steps = 1 + data[16] % LLM_CONTEXT, n_prompt = 1 + (data[16] >> 4) % 3;
    const uint8_t *rest = data + HEAD;
    const size_t rest_len = size - HEAD;

    int prompt[3] = {LLM_BOS_ID, 0, 0};
    for (int i = 1; i < n_prompt; i++) {
        uint16_t id = 0;
        if (rest_len >= 2 * (size_t)i) memcpy(&id, rest + 2 * (i - 1), 2);
        prompt[i] = id % LLM_VOCAB_SIZE;
    }
    const int valid = temperature >= 0.0f && isfinite(temperature) && !isnan(topp) && seed != 0;
    llm_reset();
    int rc = llm_generate(prompt, n_prompt, steps, temperature, topp, seed, check_token, NULL);
    check(valid ? rc >= 1 && rc <= steps : rc == -LLM_ERR_ARG, "-LLM_ERR_ARG exactly for invalid parameters");
    /* a turn near the context's end, so the reply is short (positions before it: zeros) */
    const int pos = LLM_CONTEXT > n_prompt + 1 ? LLM_CONTEXT - n_prompt - 1 : 0;
    llm_reset();
    rc = llm_chat_reply(prompt, n_prompt, pos, temperature, topp, seed, check_token, NULL);
    check(valid ? rc > pos && rc <= LLM_CONTEXT : rc == -LLM_ERR_ARG,
          "llm_chat_reply: -LLM_ERR_ARG exactly for invalid parameters");

    if (valid) { /* the sampler on logits of any bits, with parameters llm_generate takes */
        float *logits = malloc(sizeof(float) * LLM_VOCAB_SIZE);
        for (size_t i = 0; i < LLM_VOCAB_SIZE; i++) {
            uint8_t bits[4] = {0, 0, 0, 0};
            for (size_t b = 0; b < 4 && rest_len > 0; b++) bits[b] = rest[(4 * i + b) % rest_len];
            memcpy(&logits[i], bits, 4);
        }
        Sampler sampler = {temperature, topp, seed};
        for (int draw = 0; draw < 3; draw++) {
            float *copy = malloc(sizeof(float) * LLM_VOCAB_SIZE); /* sampler_sample overwrites its logits */
            memcpy(copy, logits, sizeof(float) * LLM_VOCAB_SIZE);
            int token = sampler_sample(&sampler, copy);
            check(token >= 0 && token < LLM_VOCAB_SIZE, "sampler_sample returns an id in the vocabulary");
            free(copy);
        }
        free(logits);
    }
    return 0;
}
