/* parallel.h - splitting a loop over rows (or heads) across a pool of threads.
 * On boards with one core, or builds without threads, the loop runs inline. */
#ifndef LLM_PARALLEL_H
#define LLM_PARALLEL_H

/* Handles items [start, end) of a loop. */
typedef void (*parallel_task)(void *ctx, int start, int end);

/* Runs task over [0, n) split in contiguous shares, one per thread; `work`
 * (multiply-accumulates) decides whether waking the threads pays off. Every
 * item is computed exactly as it would be on one thread. */
void parallel_for(parallel_task task, void *ctx, int n, long work);

#endif
