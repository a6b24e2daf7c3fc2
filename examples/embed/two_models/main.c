/* two_models: two models in one program, compiled with --name a and --name b, each
 * generating greedily from BOS in turn, a token each (a, b, a, b, ...) or, with an
 * argument N, N tokens each. Each piece is printed after its model's tag, "[a]" or
 * "[b]", so the turns show; each model's pieces make the text it writes alone
 * (llm_generate's). Their states share nothing, unless both were compiled with
 * --share-arena: then one model's turn overwrites the other's KV cache, and only
 * whole generations in turn (N >= STEPS) make sense. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "a.h"
#include "b.h"

enum { STEPS = 200 };

typedef struct {        /* one model: its API, and how far its generation is */
    const char *tag;
    int (*init)(void);
    void (*reset)(void);
    int (*encode)(const char *text, int bos, int eos, int *tokens, int max_tokens);
    const float *(*forward)(int token, int pos);
    const char *(*decode)(int prev_token, int token);
    int (*vocab_size)(void);
    int bos, token, pos, done;
} Model;

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) best = x[i] > x[best] ? i : best;
    return best;
}

/* Runs the model's token, prints the next (as llama2.c does: not a lone byte that is
 * neither printable nor whitespace); done at BOS or after STEPS positions. */
static void step(Model *m) {
    if (m->pos == 0) m->reset(); /* a conversation of its own, from BOS */
    int next = argmax(m->forward(m->token, m->pos++), m->vocab_size());
    const char *piece = next == m->bos ? NULL : m->decode(m->token, next);
    int lone = piece && piece[0] && !piece[1] && !(piece[0] >= 32 && piece[0] < 127) && !strchr(" \t\n\v\f\r", piece[0]);
    if (piece) printf("[%s]%s", m->tag, lone ? "" : piece);
    m->token = next;
    m->done = !piece || m->pos == STEPS;
}

int main(int argc, char **argv) {
    int turn = argc > 1 ? atoi(argv[1]) : 1; /* tokens per turn */
    Model models[2] = {
        {"a", a_llm_init, a_llm_reset, a_llm_encode, a_llm_forward, a_llm_decode, a_llm_vocab_size, 0, 0, 0, 0},
        {"b", b_llm_init, b_llm_reset, b_llm_encode, b_llm_forward, b_llm_decode, b_llm_vocab_size, 0, 0, 0, 0}};
    for (int i = 0; i < 2; i++) {
        Model *m = &models[i];
        int rc = m->init();
        if (rc == 0) rc = m->encode("", 1, 0, &m->bos, 1); /* BOS alone */
        if (rc < 0) {
            fprintf(stderr, "error: model %s: %s\n", m->tag, a_llm_strerror(rc));
            return 1;
        }
        m->token = m->bos;
    }
    while (!models[0].done || !models[1].done) {
        for (int i = 0; i < 2; i++) {
            for (int n = 0; n < turn && !models[i].done; n++) step(&models[i]);
        }
    }
    putchar('\n');
    return 0;
}
