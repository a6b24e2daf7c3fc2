/* cli.c - the command-line helpers of main.c and llm_test.c (cli.h). */
#include <limits.h>
#include "cli.h"
#include "platform.h"

void cli_add(CliLine *l, const char *s) {
    while (*s && l->len < sizeof l->buf) l->buf[l->len++] = *s++;
}

void cli_add_int(CliLine *l, long long v) {
    char digits[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do digits[n++] = (char)('0' + u % 10); while ((u /= 10) > 0);
    if (v < 0) cli_add(l, "-");
    while (n > 0) {
        char d[2] = {digits[--n], '\0'};
        cli_add(l, d);
    }
}

void cli_add_hex(CliLine *l, unsigned long v) {
    char digits[11] = "0x";
    for (int i = 0; i < 8; i++) digits[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
    digits[10] = '\0';
    cli_add(l, digits);
}

void cli_error(const char *a, long long number, const char *b) {
    CliLine l = {.len = 0};
    cli_add(&l, "error: ");
    cli_add(&l, a);
    if (b != NULL) {
        cli_add_int(&l, number);
        cli_add(&l, b);
    }
    cli_add(&l, "\n");
    platform_write_err(l.buf, l.len);
}

int cli_parse_int(const char *s, long long *out) {
    int neg = *s == '-';
    s += neg;
    if (*s == '\0') return 0;
    long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (LLONG_MAX - (*s - '0')) / 10) return 0; /* up to LLONG_MAX exactly */
        v = v * 10 + (*s - '0');
    }
    *out = neg ? -v : v;
    return 1;
}

int cli_parse_float(const char *s, float *out) {
    int neg = *s == '-';
    s += neg;
    double mantissa = 0.0, scale = 1.0;
    int digits = 0, point = 0;
    for (; *s; s++) {
        if (*s == '.' && !point) {
            point = 1;
        } else if (*s >= '0' && *s <= '9' && digits < 15) {
            mantissa = mantissa * 10.0 + (*s - '0');
            if (point) scale *= 10.0;
            digits++;
        } else {
            return 0;
        }
    }
    if (digits == 0) return 0;
    *out = (float)((neg ? -mantissa : mantissa) / scale);
    return 1;
}

int cli_in_range(const char *flag, long long value, long long lo, long long hi) {
    if (value >= lo && value <= hi) return 1;
    CliLine l = {.len = 0};
    cli_add(&l, "error: ");
    cli_add(&l, flag);
    cli_add(&l, " ");
    cli_add_int(&l, value);
    cli_add(&l, " is outside ");
    cli_add_int(&l, lo);
    cli_add(&l, "..");
    cli_add_int(&l, hi);
    cli_add(&l, "\n");
    platform_write_err(l.buf, l.len);
    return 0;
}

int cli_utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++, n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
                                            : c >= 0xF0 && c <= 0xF4 ? 3 : 4;
        if (n == 4) return 0;
        unsigned cp = c & (0x3Fu >> n);
        for (unsigned i = 0; i < n; i++, p++) {
            if ((*p & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (*p & 0x3Fu);
        }
        static const unsigned least[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    }
    return 1;
}
