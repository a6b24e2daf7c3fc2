/* platform/linux.c - platform glue for Linux boards and the host: stdio, clock_gettime,
 * the CPU affinity, and the model started from the image linked in or mapped from a
 * file. */
#define _GNU_SOURCE /* sched_getaffinity, MADV_HUGEPAGE */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "llm.h"
#include "llm_config.h"
#include "platform.h"

/* The weight image in the file at `path`, mapped read-only and private: the pages
 * are the page cache's, so the image is in memory once however many processes map
 * it, and never copied. Huge pages are asked for (a file system with large folios
 * gives them) and the kernel told it will all be read. NULL with errno set. */
static const void *map_file(const char *path, size_t *bytes) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    void *image = NULL;
    if (fstat(fd, &st) != 0) {
        /* errno says why */
    } else if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    } else if (st.st_size == 0 || (uintmax_t)st.st_size > SIZE_MAX) {
        errno = st.st_size == 0 ? EINVAL : EFBIG;
    } else {
        image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (image == MAP_FAILED) {
            image = NULL;
        } else {
            *bytes = (size_t)st.st_size;
            madvise(image, *bytes, MADV_HUGEPAGE); /* hints: fine if refused */
            madvise(image, *bytes, MADV_WILLNEED);
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return image;
}

int platform_init_model(const char *path) {
    if (path == NULL) {
#if LLM_WEIGHTS_SEPARATE
        cli_error("this build has no weight image linked in: give one with -w FILE (build/llm_weights.img)", 0, NULL);
        return -LLM_ERR_ARG;
#else
        int rc = llm_init();
        if (rc != LLM_OK) cli_error(llm_strerror(rc), 0, NULL);
        return rc;
#endif
    }
    size_t bytes = 0;
    const void *image = map_file(path, &bytes);
    int rc = image != NULL ? llm_init_image(image, bytes) : -LLM_ERR_ARG;
    if (rc != LLM_OK) {
        CliLine l = {.len = 0};
        cli_add(&l, "error: ");
        cli_add(&l, path);
        cli_add(&l, ": ");
        cli_add(&l, image != NULL ? llm_strerror(rc) : strerror(errno));
        cli_add(&l, "\n");
        platform_write_err(l.buf, l.len);
    }
    return rc;
}

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
