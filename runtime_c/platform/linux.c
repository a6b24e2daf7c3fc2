/* platform/linux.c - platform glue for Linux boards and the host: stdio, clock_gettime
 * and the CPU affinity. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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

int platform_cpus(void) {
    cpu_set_t set; /* room for 1,024 CPUs; with more the call fails: count those online */
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}
