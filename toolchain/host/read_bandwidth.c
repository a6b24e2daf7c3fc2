/* read_bandwidth.c - the memory read bandwidth of this machine's cores, the
 * roofline `llmtool bench` sets decode speed against (built with the host's cc).
 *
 *     read_bandwidth MEGABYTES THREADS REPEATS   prints GB/s, the best of REPEATS
 *
 * A buffer far larger than any cache is cut into one contiguous part per thread;
 * the threads start together and each sums its part with independent vector adds,
 * prefetching ahead as the matrix kernels do, so the loop waits only for memory.
 * A pass is timed from the first thread's start to the last thread's end, as each
 * thread saw them: the main thread is reader 0, so THREADS threads run on THREADS
 * cores (with one more waiting thread, which the kernel may wake late, a pass on
 * two cores once seemed to read 116 MB in 0.1 ms). */
#define _DEFAULT_SOURCE /* madvise */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "prefetch.h" /* runtime_c/kernels/: as far ahead as the x86 kernels */

typedef uint64_t Lanes __attribute__((vector_size(32))); /* whatever SIMD the target has */

static size_t part_bytes;
static unsigned char *buffer;
static int threads, repeats;
static pthread_barrier_t start, finish;
static double began[256], ended[256]; /* this pass's, per thread */
static double best = 1e30;            /* the shortest pass, seconds */
static volatile uint64_t sink;        /* keeps the sums, so the loads stay */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *reader(void *arg) {
    const int index = (int)(intptr_t)arg;
    const Lanes *p = (const Lanes *)(const void *)(buffer + (size_t)index * part_bytes);
    const size_t n = part_bytes / sizeof(Lanes);
    for (int r = 0; r < repeats; r++) {
        pthread_barrier_wait(&start);
        began[index] = now();
        Lanes a = {0}, b = {0}, c = {0}, d = {0};
        for (size_t i = 0; i < n; i += 4) {
            __builtin_prefetch((const char *)(p + i) + LLM_PREFETCH_BYTES);
            __builtin_prefetch((const char *)(p + i) + LLM_PREFETCH_BYTES + 64);
            a += p[i];
            b += p[i + 1];
            c += p[i + 2];
            d += p[i + 3];
        }
        const Lanes s = a + b + c + d;
        sink += s[0] + s[1] + s[2] + s[3];
        ended[index] = now();
        pthread_barrier_wait(&finish);
        if (index == 0) { /* before any thread can start the next pass */
            double first = began[0], last = ended[0];
            for (int t = 1; t < threads; t++) {
                if (began[t] < first) first = began[t];
                if (ended[t] > last) last = ended[t];
            }
            if (last - first < best) best = last - first;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MEGABYTES THREADS REPEATS\n", argv[0]);
        return 2;
    }
    const size_t megabytes = strtoul(argv[1], NULL, 10);
    threads = atoi(argv[2]);
    repeats = atoi(argv[3]);
    if (megabytes == 0 || threads < 1 || threads > 256 || repeats < 1) {
        fprintf(stderr, "read_bandwidth: bad arguments\n");
        return 2;
    }
    /* each part a whole number of 4-vector steps */
    part_bytes = (megabytes << 20) / (size_t)threads / (4 * sizeof(Lanes)) * (4 * sizeof(Lanes));
    /* in 2 MB pages where the kernel gives them, as the runtime's copy of a large
     * image is (runtime_c/image.c); then every page really mapped */
    const size_t huge = (size_t)1 << 21, bytes = (part_bytes * (size_t)threads + LLM_PREFETCH_BYTES + huge) / huge * huge;
    buffer = aligned_alloc(huge, bytes);
    if (buffer == NULL) {
        fprintf(stderr, "read_bandwidth: out of memory\n");
        return 1;
    }
    madvise(buffer, bytes, MADV_HUGEPAGE); /* a hint: fine if refused */
    memset(buffer, 1, bytes);
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    pthread_barrier_init(&finish, NULL, (unsigned)threads);
    pthread_t ids[256];
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&ids[t], NULL, reader, (void *)(intptr_t)t) != 0) {
            fprintf(stderr, "read_bandwidth: cannot start a thread\n");
            return 1;
        }
    }
    (void)reader((void *)(intptr_t)0); /* reader 0, and the clock */
    for (int t = 1; t < threads; t++) pthread_join(ids[t], NULL);
    printf("%.3f\n", (double)part_bytes * threads / best / 1e9);
    return 0;
}
