/* parallel.c - a small persistent thread pool (Linux boards) behind parallel_for.
 *
 * The workers are started once and wait by spinning on a generation counter, so
 * a matrix-vector product costs no system call to hand out; after a few
 * milliseconds without work they back off to short sleeps. The loop is cut into a
 * few chunks per thread that the threads, the caller included, claim one at a time:
 * a worker that wakes late (its core busy with another process) then leaves its
 * share to the others instead of stalling them. Which thread computes an item
 * changes nothing in it, so the results are the same for any thread count. */
#define _POSIX_C_SOURCE 199309L /* nanosleep */
#include "parallel.h"
#include "llm.h"
#include "llm_config.h"

/* Below this many multiply-accumulates one thread is faster than waking others. */
#define PARALLEL_MIN_WORK 200000L
/* Chunks per thread: two lets a thread that is ahead take over half of a late
 * one's share. More cost more than they even out: stories110M at 2 threads, median
 * decode tok/s of alternating runs, 1 chunk 223, 2 chunks 222, 4 198, 8 199 (each
 * thread's stream broken into more pieces, and more contended claims). */
#define CHUNKS_PER_THREAD 2

#if LLM_MAX_THREADS > 1 && !defined(LLM_SINGLE_THREAD)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static pthread_t workers[LLM_MAX_THREADS - 1];
static int n_workers;           /* started */
static int n_threads = 1;       /* used, the caller included */
/* generation << 32 | chunks << 16 | the next chunk to claim, in one word: a chunk
 * is claimed by a compare-and-swap of the whole, so a worker that slept through a
 * loop can never claim a chunk of a later one by mistake */
static _Atomic uint64_t next;
static atomic_int done;         /* chunks finished in this generation */
static parallel_task job_task;
static void *job_ctx;
static int job_n, job_chunk;

/* Claims and runs chunks of generation `gen` until none is left. A successful
 * claim proves the generation is still running (the caller waits for every chunk
 * to finish), so the job's fields read after it are that generation's. */
static void run_chunks(uint32_t gen) {
    uint64_t v = atomic_load_explicit(&next, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(v >> 32) != gen || (v & 0xffff) >= ((v >> 16) & 0xffff)) return;
        if (!atomic_compare_exchange_weak_explicit(&next, &v, v + 1, memory_order_acquire, memory_order_acquire)) {
            continue; /* v now holds the current value */
        }
        const int start = (int)(v & 0xffff) * job_chunk;
        const int end = start + job_chunk < job_n ? start + job_chunk : job_n;
        job_task(job_ctx, start, end);
        atomic_fetch_add_explicit(&done, 1, memory_order_release);
        v = atomic_load_explicit(&next, memory_order_acquire);
    }
}

static void *worker(void *arg) {
    const int index = (int)(intptr_t)arg;
    uint32_t seen = 0;
    for (;;) {
        long spins = 0;
        uint32_t g;
        while ((g = (uint32_t)(atomic_load_explicit(&next, memory_order_acquire) >> 32)) == seen) {
            if (++spins > 2000000) { /* idle: sleep a little between looks */
                struct timespec nap = {0, 200000};
                nanosleep(&nap, NULL);
            } else if (spins % 1024 == 0) {
                sched_yield();
            }
        }
        seen = g;
        if (index < n_threads) run_chunks(g);
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
    static uint32_t generation;
    const int wanted = n_threads * CHUNKS_PER_THREAD < n ? n_threads * CHUNKS_PER_THREAD : n;
    job_task = task;
    job_ctx = ctx;
    job_n = n;
    job_chunk = (n + wanted - 1) / wanted;
    const int chunks = (n + job_chunk - 1) / job_chunk; /* at most LLM_MAX_THREADS * CHUNKS_PER_THREAD */
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    generation = generation + 1 ? generation + 1 : 1; /* never 0, the workers' start */
    atomic_store_explicit(&next, (uint64_t)generation << 32 | (uint64_t)chunks << 16, memory_order_release);
    run_chunks(generation);
    while (atomic_load_explicit(&done, memory_order_acquire) < chunks) {
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
