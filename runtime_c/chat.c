/* chat.c - chat turns in the model's own template: Llama 2's "[INST]" text for a
 * SentencePiece vocabulary, Llama 3's header tokens for a tiktoken one (the
 * formats of Meta's reference code). The conversation lives in the KV cache;
 * each turn adds its tokens after the previous reply. */
#include <string.h>
#include "llm.h"
#include "model.h"
#include "generate.h"

/* Appends n bytes of text to out[*len] (capacity size, kept NUL-terminated); 0, or
 * -1 when they do not fit. */
static int put_n(char *out, int size, int *len, const char *text, int n) {
    if (*len + n >= size) return -1;
    memcpy(out + *len, text, (size_t)n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

/* The same for text without its leading and trailing whitespace. */
static int put_stripped(char *out, int size, int *len, const char *text) {
    const char *end = text + strlen(text);
    while (*text == ' ' || (*text >= '\t' && *text <= '\r')) text++;
    while (end > text && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r'))) end--;
    return put_n(out, size, len, text, (int)(end - text));
}

#if LLM_TOKENIZER_TIKTOKEN
/* The id of a special token such as "<|eot_id|>" (the encoder knows them whole). */
static int special(const char *name) {
    int id[2];
    return llm_encode(name, 0, 0, id, 2) == 1 ? id[0] : -1;
}

/* Appends the encoding of text (no BOS/EOS) at tokens[*n]. */
static int append(const char *text, int *tokens, int *n, int max_tokens) {
    int got = llm_encode(text, 0, 0, tokens + *n, max_tokens - *n);
    if (got < 0) return got;
    *n += got;
    return LLM_OK;
}

static int append_id(int id, int *tokens, int *n, int max_tokens) {
    if (id < 0) return -LLM_ERR_ARG; /* a tokenizer without Llama 3's special tokens */
    if (*n >= max_tokens) return -LLM_ERR_TOO_LONG;
    tokens[(*n)++] = id;
    return LLM_OK;
}

/* <|start_header_id|>role<|end_header_id|>\n\n, then the content and <|eot_id|> */
static int append_message(const char *role, const char *content, char *scratch, int scratch_size,
                          int *tokens, int *n, int max_tokens) {
    int rc = append_id(special("<|start_header_id|>"), tokens, n, max_tokens);
    if (rc == LLM_OK) rc = append(role, tokens, n, max_tokens);
    if (rc == LLM_OK) rc = append_id(special("<|end_header_id|>"), tokens, n, max_tokens);
    if (rc == LLM_OK) rc = append("\n\n", tokens, n, max_tokens);
    if (rc != LLM_OK || content == NULL) return rc;
    int len = 0;
    if (put_stripped(scratch, scratch_size, &len, content) != 0) return -LLM_ERR_TOO_LONG;
    rc = append(scratch, tokens, n, max_tokens);
    if (rc == LLM_OK) rc = append_id(special("<|eot_id|>"), tokens, n, max_tokens);
    return rc;
}

int llm_chat_encode(const char *system, const char *user, int first, char *scratch, int scratch_size,
                    int *tokens, int max_tokens) {
    if (user == NULL || scratch == NULL || tokens == NULL || scratch_size < 1) return -LLM_ERR_ARG;
    int n = 0, rc = LLM_OK;
    if (first) {
        rc = append_id(LLM_BOS_ID, tokens, &n, max_tokens);
        if (rc == LLM_OK && system != NULL && system[0] != '\0') {
            rc = append_message("system", system, scratch, scratch_size, tokens, &n, max_tokens);
        }
    }
    if (rc == LLM_OK) rc = append_message("user", user, scratch, scratch_size, tokens, &n, max_tokens);
    if (rc == LLM_OK) rc = append_message("assistant", NULL, scratch, scratch_size, tokens, &n, max_tokens);
    return rc == LLM_OK ? n : rc;
}

static int end_of_turn(int token) {
    static int eot = -2; /* looked up once */
    if (eot == -2) eot = special("<|eot_id|>");
    return token == eot || token == LLM_EOS_ID;
}
#else
static int put(char *out, int size, int *len, const char *s) {
    return put_n(out, size, len, s, (int)strlen(s));
}

/* "[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]" after BOS, with the system
 * part on the first turn only and both texts stripped, as Meta's chat_completion. */
int llm_chat_encode(const char *system, const char *user, int first, char *scratch, int scratch_size,
                    int *tokens, int max_tokens) {
    if (user == NULL || scratch == NULL || tokens == NULL || scratch_size < 1) return -LLM_ERR_ARG;
    int len = 0;
    int fits = put(scratch, scratch_size, &len, "[INST] ") == 0;
    if (fits && first && system != NULL && system[0] != '\0') {
        fits = put(scratch, scratch_size, &len, "<<SYS>>\n") == 0 &&
               put_stripped(scratch, scratch_size, &len, system) == 0 &&
               put(scratch, scratch_size, &len, "\n<</SYS>>\n\n") == 0;
    }
    fits = fits && put_stripped(scratch, scratch_size, &len, user) == 0 &&
           put(scratch, scratch_size, &len, " [/INST]") == 0;
    if (!fits) return -LLM_ERR_TOO_LONG;
    return llm_encode(scratch, 1, 0, tokens, max_tokens);
}

static int end_of_turn(int token) {
    return token == LLM_EOS_ID || token == LLM_BOS_ID;
}
#endif

int llm_chat_reply(const int *tokens, int n_tokens, int pos, float temperature, float topp,
                   uint64_t seed, llm_token_callback callback, void *user) {
    const GenerateRun run = {tokens, n_tokens, pos, LLM_CONTEXT, temperature, topp, seed, end_of_turn, 0, 1};
    return generate_run(&run, callback, user);
}
