/* platform/linux.c - platform glue for Linux boards and the host: stdio and clock_gettime. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "platform.h"

void platform_write_out(const char *text, size_t len) {
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

void platform_write_err(const char *text, size_t len) {
    fwrite(text, 1, len, stderr);
}

int platform_read_line(char *line, int size) {
    if (fgets(line, size, stdin) == NULL) return -1;
    int len = (int)strlen(line);
    if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
    else { /* a longer line: the rest is dropped */
        int c;
        while ((c = getchar()) != EOF && c != '\n') {}
    }
    return len;
}

long long platform_now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

long long platform_ticks(void) {
    return 0; /* no instruction-exact clock here: see llmtool bench */
}
