/* parallel.c - a small persistent thread pool (Linux boards) behind parallel_for.
 *
 * The workers are started once and wait by spinning on a generation counter, so
 * a matrix-vector product costs no system call to hand out; after a few
 * milliseconds without work they back off to short sleeps. The calling thread
 * takes the first share itself. */
#define _POSIX_C_SOURCE 199309L /* nanosleep */
#include "parallel.h"
#include "llm.h"
#include "llm_config.h"

/* Below this many multiply-accumulates one thread is faster than waking others. */
#define PARALLEL_MIN_WORK 200000L

#if LLM_MAX_THREADS > 1 && !defined(LLM_SINGLE_THREAD)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static pthread_t workers[LLM_MAX_THREADS - 1];
static int n_workers;           /* started */
static int n_threads = 1;       /* used, the caller included */
static atomic_int generation;
static atomic_int pending;      /* workers still busy with this generation */
static parallel_task job_task;
static void *job_ctx;
static int job_n;

static void run_share(int index) {
    int per = (job_n + n_threads - 1) / n_threads;
    int start = index * per, end = start + per < job_n ? start + per : job_n;
    if (start < end) job_task(job_ctx, start, end);
}

static void *worker(void *arg) {
    int index = (int)(intptr_t)arg, seen = 0;
    for (;;) {
        long spins = 0;
        int g;
        while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            if (++spins > 2000000) { /* idle: sleep a little between looks */
                struct timespec nap = {0, 200000};
                nanosleep(&nap, NULL);
            } else if (spins % 1024 == 0) {
                sched_yield();
            }
        }
        seen = g;
        if (index < n_threads) run_share(index);
        atomic_fetch_sub_explicit(&pending, 1, memory_order_release);
    }
    return NULL;
}

int llm_set_threads(int n) {
    if (n < 1) n = 1;
    if (n > LLM_MAX_THREADS) n = LLM_MAX_THREADS;
    while (n_workers < n - 1) {
        if (pthread_create(&workers[n_workers], NULL, worker, (void *)(intptr_t)(n_workers + 1)) != 0) break;
        n_workers++;
    }
    n_threads = n_workers + 1 < n ? n_workers + 1 : n;
    return n_threads;
}

void parallel_for(parallel_task task, void *ctx, int n, long work) {
    if (n_threads == 1 || work < PARALLEL_MIN_WORK || n < n_threads) {
        task(ctx, 0, n);
        return;
    }
    job_task = task;
    job_ctx = ctx;
    job_n = n;
    atomic_store_explicit(&pending, n_workers, memory_order_relaxed);
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
    run_share(0);
    while (atomic_load_explicit(&pending, memory_order_acquire) > 0) {
    }
}

#else

int llm_set_threads(int n) {
    (void)n;
    return 1;
}

void parallel_for(parallel_task task, void *ctx, int n, long work) {
    (void)work;
    task(ctx, 0, n);
}

#endif
