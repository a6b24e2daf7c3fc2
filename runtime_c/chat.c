/* chat.c - chat turns in the model's own template, by its layout (LLM_CHAT_FAMILY: the
 * compile recognises tokenizer_config.json's chat_template, or without one follows the
 * tokenizer's kind): Llama 2's "[INST]" text, Llama 3's header tokens (the formats of
 * Meta's reference code), ChatML's <|im_start|> turns, Gemma's <start_of_turn> turns,
 * Zephyr's <|user|> turns (TinyLlama's chat), as their Hugging Face templates render
 * them. The conversation lives in the KV cache; each turn adds its tokens after the previous reply, which ended at the
 * family's end-of-turn token. */
#include <stddef.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "generate.h"

/* LLM_CHAT_FAMILY's values (toolchain/importers/chat_template.py: CHAT_FAMILIES) */
#define CHAT_LLAMA2 0
#define CHAT_LLAMA3 1
#define CHAT_CHATML 2
#define CHAT_GEMMA 3
#define CHAT_ZEPHYR 4
#define CHAT_UNKNOWN 5
/* the families whose turns are rendered as text, then encoded; those that strip the
 * texts (ChatML's templates write them as given); those with an end-of-turn token */
#define CHAT_STRIPS (LLM_CHAT_FAMILY == CHAT_LLAMA2 || LLM_CHAT_FAMILY == CHAT_LLAMA3 || LLM_CHAT_FAMILY == CHAT_GEMMA)
#define CHAT_AS_TEXT (LLM_CHAT_FAMILY == CHAT_LLAMA2 || LLM_CHAT_FAMILY == CHAT_CHATML || LLM_CHAT_FAMILY == CHAT_GEMMA || \
                      LLM_CHAT_FAMILY == CHAT_ZEPHYR)
#define CHAT_OWN_END (LLM_CHAT_FAMILY == CHAT_LLAMA3 || LLM_CHAT_FAMILY == CHAT_CHATML || LLM_CHAT_FAMILY == CHAT_GEMMA)

#if LLM_CHAT_FAMILY != CHAT_UNKNOWN
/* Appends n bytes of text to out[*len] (capacity size, kept NUL-terminated); 0, or
 * -1 when they do not fit. */
static int put_n(char *out, int size, int *len, const char *text, int n) {
    if (*len + n >= size) return -1;
    memcpy(out + *len, text, (size_t)n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

static int has_text(const char *s) {
    return s != NULL && s[0] != '\0';
}
#endif

#if CHAT_STRIPS
/* The same for text without its leading and trailing whitespace. */
static int put_stripped(char *out, int size, int *len, const char *text) {
    const char *end = text + strlen(text);
    while (*text == ' ' || (*text >= '\t' && *text <= '\r')) text++;
    while (end > text && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r'))) end--;
    return put_n(out, size, len, text, (int)(end - text));
}
#endif

#if CHAT_AS_TEXT
static int put(char *out, int size, int *len, const char *s) {
    return put_n(out, size, len, s, (int)strlen(s));
}
#endif

#if CHAT_OWN_END
/* The id of a special token such as "<|eot_id|>" (the encoder knows them whole), or -1. */
static int special(const char *name) {
    int id[2];
    return llm_encode(name, 0, 0, id, 2) == 1 ? id[0] : -1;
}
#endif

#if LLM_CHAT_FAMILY == CHAT_LLAMA3
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
        if (rc == LLM_OK && has_text(system)) {
            rc = append_message("system", system, scratch, scratch_size, tokens, &n, max_tokens);
        }
    }
    if (rc == LLM_OK) rc = append_message("user", user, scratch, scratch_size, tokens, &n, max_tokens);
    if (rc == LLM_OK) rc = append_message("assistant", NULL, scratch, scratch_size, tokens, &n, max_tokens);
    return rc == LLM_OK ? n : rc;
}

#define END_OF_TURN "<|eot_id|>"
#elif LLM_CHAT_FAMILY == CHAT_CHATML || LLM_CHAT_FAMILY == CHAT_ZEPHYR
/* Role headers, each message closed by TURN_END and "\n": ChatML's <|im_start|> lines,
 * or Zephyr's <|role|> lines closed by the EOS text (TinyLlama's "</s>", which the
 * encoder finds whole). */
#if LLM_CHAT_FAMILY == CHAT_CHATML
#define TURN_SYSTEM "<|im_start|>system\n"
#define TURN_USER "<|im_start|>user\n"
#define TURN_ASSISTANT "<|im_start|>assistant\n"
#define TURN_END "<|im_end|>"
#else
#define TURN_SYSTEM "<|system|>\n"
#define TURN_USER "<|user|>\n"
#define TURN_ASSISTANT "<|assistant|>\n"
#define TURN_END LLM_CHAT_TURN_END
#endif
/* TURN_SYSTEM "{system}" TURN_END "\n" on the first turn (the template's own system
 * prompt when none is given, if it has one), else "\n" after the previous reply's
 * end; then TURN_USER "{user}" TURN_END "\n" TURN_ASSISTANT and what the template
 * writes after that header (Qwen3's empty think block). Texts as given, as the
 * templates write them. */
int llm_chat_encode(const char *system, const char *user, int first, char *scratch, int scratch_size,
                    int *tokens, int max_tokens) {
    if (user == NULL || scratch == NULL || tokens == NULL || scratch_size < 1) return -LLM_ERR_ARG;
    const char *system_text = has_text(system) ? system : LLM_CHAT_DEFAULT_SYSTEM;
    int len = 0, fits = 1;
    scratch[0] = '\0';
    if (!first) {
        fits = put(scratch, scratch_size, &len, "\n") == 0;
    } else if (has_text(system_text)) {
        fits = put(scratch, scratch_size, &len, TURN_SYSTEM) == 0 &&
               put(scratch, scratch_size, &len, system_text) == 0 &&
               put(scratch, scratch_size, &len, TURN_END "\n") == 0;
    }
    fits = fits && put(scratch, scratch_size, &len, TURN_USER) == 0 &&
           put(scratch, scratch_size, &len, user) == 0 &&
           put(scratch, scratch_size, &len, TURN_END "\n" TURN_ASSISTANT LLM_CHAT_REPLY_PREFIX) == 0;
    if (!fits) return -LLM_ERR_TOO_LONG;
    return llm_encode(scratch, 0, 0, tokens, max_tokens);
}
#define END_OF_TURN TURN_END
#elif LLM_CHAT_FAMILY == CHAT_GEMMA
/* BOS and "<start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n"
 * on the first turn (Gemma has no system role: the prompt opens the first user turn),
 * then "\n" after the previous reply's <end_of_turn> and the same without the system
 * prompt; the user's text stripped, as Gemma's template trims it. */
int llm_chat_encode(const char *system, const char *user, int first, char *scratch, int scratch_size,
                    int *tokens, int max_tokens) {
    if (user == NULL || scratch == NULL || tokens == NULL || scratch_size < 1) return -LLM_ERR_ARG;
    int len = 0;
    scratch[0] = '\0';
    int fits = put(scratch, scratch_size, &len, first ? "<start_of_turn>user\n" : "\n<start_of_turn>user\n") == 0;
    if (fits && first && has_text(system)) {
        fits = put(scratch, scratch_size, &len, system) == 0 && put(scratch, scratch_size, &len, "\n\n") == 0;
    }
    fits = fits && put_stripped(scratch, scratch_size, &len, user) == 0 &&
           put(scratch, scratch_size, &len, "<end_of_turn>\n<start_of_turn>model\n" LLM_CHAT_REPLY_PREFIX) == 0;
    if (!fits) return -LLM_ERR_TOO_LONG;
    return llm_encode(scratch, first, 0, tokens, max_tokens);
}
#define END_OF_TURN "<end_of_turn>"
#elif LLM_CHAT_FAMILY == CHAT_LLAMA2
/* "[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]" after BOS, with the system
 * part on the first turn only and both texts stripped, as Meta's chat_completion. */
int llm_chat_encode(const char *system, const char *user, int first, char *scratch, int scratch_size,
                    int *tokens, int max_tokens) {
    if (user == NULL || scratch == NULL || tokens == NULL || scratch_size < 1) return -LLM_ERR_ARG;
    int len = 0;
    int fits = put(scratch, scratch_size, &len, "[INST] ") == 0;
    if (fits && first && has_text(system)) {
        fits = put(scratch, scratch_size, &len, "<<SYS>>\n") == 0 &&
               put_stripped(scratch, scratch_size, &len, system) == 0 &&
               put(scratch, scratch_size, &len, "\n<</SYS>>\n\n") == 0;
    }
    fits = fits && put_stripped(scratch, scratch_size, &len, user) == 0 &&
           put(scratch, scratch_size, &len, " [/INST]") == 0;
    if (!fits) return -LLM_ERR_TOO_LONG;
    return llm_encode(scratch, 1, 0, tokens, max_tokens);
}
#else
/* a template llmtool does not know: llm_chat_refusal says why */
int llm_chat_encode(const char *system, const char *user, int first, char *scratch, int scratch_size,
                    int *tokens, int max_tokens) {
    (void)system, (void)user, (void)first, (void)scratch, (void)scratch_size, (void)tokens, (void)max_tokens;
    return -LLM_ERR_ARG;
}
#endif

const char *llm_chat_refusal(void) {
#ifdef LLM_CHAT_REFUSAL
    return LLM_CHAT_REFUSAL;
#else
    return NULL;
#endif
}

/* The reply's end: the family's end-of-turn token (looked up once) or EOS; Llama 2's
 * EOS or BOS. */
static int end_of_turn(int token) {
#if CHAT_OWN_END
    static int eot = -2;
    if (eot == -2) eot = special(END_OF_TURN);
    return token == eot || token == LLM_EOS_ID;
#else
    return token == LLM_EOS_ID || token == LLM_BOS_ID;
#endif
}

int llm_chat_reply(const int *tokens, int n_tokens, int pos, float temperature, float topp,
                   uint64_t seed, llm_token_callback callback, void *user) {
    const GenerateRun run = {tokens, n_tokens, pos, LLM_CONTEXT, temperature, topp, seed, end_of_turn, 0, 1};
    return generate_run(&run, callback, user);
}
