/* fuzz_cmdline.c - libFuzzer harness for the Linux command lines: of the generated
 * main.c (harness cmdline) or of llm_test.c (cmdline-test), built with
 * -Dmain=llm_main. Everything the Linux runtime reads comes in through argv (flags,
 * the prompt, numbers, -x token lists) and, in chat mode, stdin; the weights are
 * linked in. The input is: one byte L, L bytes of stdin, then the
 * arguments separated by NUL bytes, each in a buffer of exactly its size so a read
 * past its end is an ASan report.
 *
 * The project is compiled with a small context (scripts/fuzz.sh), which bounds the
 * work any accepted command line can ask for. This file also stands in for
 * platform/linux.c: output is read (for ASan) and dropped, stdin is the input's,
 * and the clock counts calls from zero for each input, so a seed from "the clock"
 * and the speed lines are the same on every run of an input; the model starts from
 * the image linked in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_check.h"
#include "llm.h"
#include "platform/platform.h"

enum { MAX_ARGS = 16 };

int llm_main(int argc, char **argv);

static long long clock_us;
static volatile unsigned char output_sink;
static const uint8_t *stdin_data;
static size_t stdin_left;

static void consume(const char *text, size_t len) {
    unsigned char sum = 0;
    for (size_t i = 0; i < len; i++) sum ^= (unsigned char)text[i];
    output_sink = sum;
}

void platform_write_out(const char *text, size_t len) { consume(text, len); }
void platform_write_err(const char *text, size_t len) { consume(text, len); }
long long platform_now_us(void) { return ++clock_us; }
long long platform_ticks(void) { return 0; }
int platform_cpus(void) { return 1; }

/* The weights linked in; -w FILE opens no file here (the input would name one). */
int platform_init_model(const char *path) {
    int rc = path == NULL ? llm_init() : -LLM_ERR_ARG;
    if (rc != LLM_OK) platform_write_err("error\n", 6);
    return rc;
}

/* As fgets on stdin: at most size - 1 bytes of the line, the rest of a longer line
 * dropped; the length up to a NUL byte, as strlen sees it. */
int platform_read_line(char *line, int size) {
    if (stdin_left == 0) return -1;
    const uint8_t *newline = memchr(stdin_data, '\n', stdin_left);
    size_t line_len = newline != NULL ? (size_t)(newline - stdin_data) : stdin_left;
    size_t kept = line_len < (size_t)size - 1 ? line_len : (size_t)size - 1;
    memcpy(line, stdin_data, kept);
    line[kept] = '\0';
    size_t used = line_len + (newline != NULL);
    stdin_data += used;
    stdin_left -= used;
    return (int)strlen(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t stdin_len = data[0] < size - 1 ? data[0] : size - 1;
    stdin_data = data + 1;
    stdin_left = stdin_len;
    size_t start = 1 + stdin_len;
    char *argv[MAX_ARGS + 2] = {"llm"};
    int argc = 1;
    /* the rest split at NUL bytes: "a" is one argument, "a\0" two, nothing none */
    while (start <= size && argc <= MAX_ARGS && size > 1 + stdin_len) {
        const uint8_t *nul = memchr(data + start, 0, size - start);
        size_t end = nul != NULL ? (size_t)(nul - data) : size;
        argv[argc] = malloc(end - start + 1);
        memcpy(argv[argc], data + start, end - start);
        argv[argc][end - start] = '\0';
        argc++;
        start = end + 1;
    }
    argv[argc] = NULL;
    clock_us = 0;
    int rc = llm_main(argc, argv);
    check(rc == 0 || rc == 1 || rc == 2, "exit status 0, 1 (an error) or 2 (usage)");
    for (int i = 1; i < argc; i++) free(argv[i]);
    return 0;
}
