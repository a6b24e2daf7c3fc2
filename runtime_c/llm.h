/* llm.h - the public API of an llmtool-generated model.
 *
 * One model per build: its dimensions are compile-time constants (llm_config.h),
 * its weights live in a read-only image linked into the binary, and every buffer
 * is a static global planned by the compiler (llm_plan.c). Nothing here allocates.
 * The state is global, so the API is not re-entrant: one generation at a time.
 *
 * Several models in one program: a library compiled with --name NAME names these
 * functions NAME_llm_init, NAME_llm_forward, ..., and its header NAME.h declares
 * them so, from this file: the types are inside the include guard, the functions
 * outside it, so that each model's header declares them under its own names.
 */
#ifndef LLM_H
#define LLM_H

#include <stddef.h>
#include <stdint.h>

/* Error codes returned (negated) by the functions below. */
enum {
    LLM_OK = 0,
    LLM_ERR_IMAGE = 1,     /* the weight image does not match this build */
    LLM_ERR_TOKEN = 2,     /* a token id outside [0, vocab) */
    LLM_ERR_POS = 3,       /* a position outside [0, context) */
    LLM_ERR_TOO_LONG = 4,  /* text or prompt does not fit the buffer or context */
    LLM_ERR_ARG = 5,       /* any other invalid argument */
    LLM_ERR_CORRUPT = 6    /* the weight image fails its CRC-32: corrupted since compiled */
};

/* Called for each token generated (prompt tokens included, as llama2.c prints them).
 * `text` is what llama2.c's run would print for it: the decoded piece, or "" for a
 * lone non-printable byte. Return nonzero to stop generating. */
typedef int (*llm_token_callback)(int token, const char *text, void *user);

#endif

/* Checks the weight image linked in (or, on bare metal with --weights separate,
 * flashed at its address) against this build (its size as linked, its header, its
 * CRC-32: every byte is read once; its tokenizer tables), picks the kernels in a
 * portable build (kernels.h: kernels_init), then clears the state. 0 or -LLM_ERR_*
 * (-LLM_ERR_CORRUPT for a CRC mismatch, -LLM_ERR_IMAGE for an image of another size,
 * version or shape, or inconsistent tables; always, in a Linux build compiled with
 * --weights separate, which has none: llm_init_image). */
int llm_init(void);

/* As llm_init, for a weight image the caller has in memory (a build compiled with
 * --weights separate: a file mapped, an image flashed elsewhere): checks the `bytes`
 * bytes at `image` (4-byte aligned) the same way, then runs from them. They must
 * stay valid and unchanged while the model is in use. */
int llm_init_image(const void *image, size_t bytes);

/* Forgets the conversation: clears the KV cache. */
void llm_reset(void);

/* This build's vocabulary (the logits llm_forward returns) and context (its
 * positions): llm_config.h's, for a program that links several models. */
int llm_vocab_size(void);
int llm_context_size(void);

/* Runs the model on `token` at position `pos` (positions 0..pos-1 must have been run
 * before, in this order). Returns the vocab_size logits, valid until the next call
 * into this API (buffers not live at the same time share memory), or NULL when
 * token or pos is out of range. */
const float *llm_forward(int token, int pos);

/* Runs tokens[0..n) at positions pos..pos + n - 1 (positions 0..pos-1 run before),
 * up to the build's batch of tokens at once (LLM_BATCH, which the compiler plans):
 * each weight is read once per batch, not once per token, and only the last token
 * goes through the classifier. Returns its logits, bit for bit those llm_forward
 * gives running the tokens one by one, or NULL when a token or position is out of
 * range. For a prompt, whose other tokens' logits nobody reads. */
const float *llm_forward_batch(const int *tokens, int n, int pos);

/* As llm_forward_batch, calling each(i, logits, user) with every token's logits in
 * turn (valid during the call; teacher forcing), until it returns nonzero. Returns
 * how many tokens' logits it gave, or -LLM_ERR_ARG. */
typedef int (*llm_logits_callback)(int i, const float *logits, void *user);
int llm_forward_each(const int *tokens, int n, int pos, llm_logits_callback each, void *user);

/* BPE-encodes NUL-terminated UTF-8 `text` into `tokens` (capacity `max_tokens`),
 * with BOS/EOS when asked, exactly as llama2.c's encoder (SentencePiece vocabularies),
 * tiktoken's encode(text, allowed_special="all") (Llama 3), or the `tokenizers`
 * library's encode(text) for a tokenizer.json (Qwen2's NFC normalizer included:
 * LLM_NFC). Needs up to strlen(text) + 3 slots before merging, and a merge workspace
 * node for each token merged at once: up to strlen(text) + 2. The planned workspace
 * has LLM_PROMPT_CAPACITY nodes, what a prompt of this build can need; for longer
 * text lend a bigger one (llm_encode_workspace). With LLM_NFC the text's NFC form
 * counts instead of strlen(text) (at most 3 times as long), and the workspace holds
 * it before the nodes (the planned one has room for LLM_PROMPT_CAPACITY bytes of it).
 * Returns the token count, or -LLM_ERR_* (-LLM_ERR_TOO_LONG when the tokens or the
 * workspace fall short). */
int llm_encode(const char *text, int bos, int eos, int *tokens, int max_tokens);

/* Lends the encoder `bytes` of the caller's memory (any alignment) as its merge
 * workspace, used instead of the planned one by every llm_encode and
 * llm_chat_encode until it is called again; memory NULL returns to the planned
 * workspace. The memory must stay valid while lent, and is scratch: nothing in it
 * is kept between calls. llm_encode_workspace_size(n) bytes hold enough for any
 * text of n bytes (LLM_NFC: and its NFC form). No allocation either way: the memory
 * is the caller's. */
void llm_encode_workspace(void *memory, size_t bytes);
size_t llm_encode_workspace_size(size_t text_bytes);

/* The text of `token` following `prev_token`. SentencePiece: the leading space is
 * dropped after BOS (where the tokenizer puts a dummy prefix), and byte tokens such as "<0x0A>" become that byte; tiktoken:
 * the token's bytes. NULL for an invalid token. */
const char *llm_decode(int prev_token, int token);

/* Generates from `prompt` (n_prompt tokens, starting with BOS) for `steps` positions
 * counting the prompt, 1 <= steps <= context. temperature 0 is greedy, else finite
 * and positive; top-p in (0,1) enables nucleus sampling, any other value but NaN
 * disables it; `seed` seeds the RNG (must be nonzero). Stops early when BOS is
 * produced. Returns the number of positions run, or -LLM_ERR_* (-LLM_ERR_ARG for a
 * negative, infinite or NaN temperature, or a NaN top-p). */
int llm_generate(const int *prompt, int n_prompt, int steps, float temperature,
                 float topp, uint64_t seed, llm_token_callback callback, void *user);

/* Chat, in the model's template, the layout the compile recognised in its
 * chat_template (docs/chat.md): Llama 2's "[INST] ... [/INST]" (with "<<SYS>>" on the
 * first turn), Llama 3's header tokens, ChatML's <|im_start|> turns or Gemma's
 * <start_of_turn> turns; without a chat_template Llama 2's for a SentencePiece
 * vocabulary, Llama 3's for a tiktoken one. llm_chat_encode writes one user turn's tokens
 * (`first`: the conversation's first turn, which carries the BOS the template has and
 * the system prompt, if any: NULL or "" for the template's own); `scratch` is the
 * caller's buffer for the rendered text, at least strlen(system) + strlen(user) +
 * LLM_CHAT_TEMPLATE_BYTES (llm_config.h) bytes. The rendered text is encoded as
 * llm_encode encodes (in its merge workspace). Returns the token count or -LLM_ERR_*
 * (-LLM_ERR_ARG for a template llmtool does not know: llm_chat_refusal). */
int llm_chat_encode(const char *system, const char *user, int first, char *scratch, int scratch_size,
                    int *tokens, int max_tokens);

/* NULL when chat works in this build; else one line saying why not (a chat_template
 * the compile did not recognise). */
const char *llm_chat_refusal(void);

/* Runs a turn's tokens from position `pos` (the conversation so far fills 0..pos-1),
 * then samples the reply until the end-of-turn token (run too, so the next turn
 * follows it) or the context's end, calling back for each reply token; temperature
 * and top-p as llm_generate's. Returns the position after the turn: the next turn's
 * `pos`; or -LLM_ERR_*. */
int llm_chat_reply(const int *tokens, int n_tokens, int pos, float temperature, float topp,
                   uint64_t seed, llm_token_callback callback, void *user);

/* Uses up to n threads for the forward pass (Linux boards; at most the board's
 * cores). Returns the number in use; always 1 where threads are not built in. */
int llm_set_threads(int n);

/* A short English description of an error code (positive or negated). */
const char *llm_strerror(int code);
