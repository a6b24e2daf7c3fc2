/* story: a program of your own with the model in it as a library (llm.h). It
 * encodes a prompt, streams the generated text token by token through the
 * callback, and stops early when the callback says so: after LIMIT tokens. */
#include <stdio.h>
#include <stdlib.h>
#include "llm.h"

enum { STEPS = 200, MAX_PROMPT = 256 };

static int print_token(int token, const char *text, void *user) {
    int *left = user;
    (void)token;
    fputs(text, stdout);
    fflush(stdout);
    return --*left == 0; /* nonzero: stop generating */
}

int main(int argc, char **argv) {
    const char *prompt = argc > 1 ? argv[1] : "";
    int left = argc > 2 ? atoi(argv[2]) : -1; /* tokens to print, prompt included; -1: all */
    int tokens[MAX_PROMPT];
    int rc = llm_init();
    int n = rc == LLM_OK ? llm_encode(prompt, 1, 0, tokens, MAX_PROMPT) : rc;
    if (n >= 0) rc = llm_generate(tokens, n, STEPS, 0.0f, 1.0f, 1, print_token, &left);
    if (n < 0 || rc < 0) {
        fprintf(stderr, "error: %s\n", llm_strerror(n < 0 ? n : rc));
        return 1;
    }
    putchar('\n');
    return 0;
}
