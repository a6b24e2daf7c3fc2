/* cli.h - what main.c and llm_test.c share to read their command line and write
 * their messages: numbers parsed the same on every board (unlike each C library's
 * strtoll and strtof), and lines built without stdio formatting, so that nothing
 * pulls in a C library's heap or locale. */
#ifndef LLM_CLI_H
#define LLM_CLI_H

#include <stddef.h>

/* A line of text built without printf (what does not fit is dropped). */
typedef struct {
    char buf[256];
    size_t len;
} CliLine;

void cli_add(CliLine *l, const char *s);
void cli_add_int(CliLine *l, long long v);
void cli_add_hex(CliLine *l, unsigned long v); /* "0x" and 8 digits */

/* "error: a\n" on stderr; with b, "error: a<number>b\n". */
void cli_error(const char *a, long long number, const char *b);

/* [-]digits, up to LLONG_MAX exactly: 1 and *out, or 0 for anything else. */
int cli_parse_int(const char *s, long long *out);

/* [-]digits[.digits], at most 15 digits: exactly the same float on every board. */
int cli_parse_float(const char *s, float *out);

/* Whether flag's value is in lo..hi; if not, says so ("error: -T 0 is outside
 * 1..2147483647"). The numbers are parsed as long long and then narrowed (to an
 * int, a uint32_t): out of range, they would wrap. */
int cli_in_range(const char *flag, long long value, long long lo, long long hi);

/* Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF): what a prompt typed on a serial console must be. */
int cli_utf8_valid(const char *s);

#endif
