/*
 * threads.h — one persistent pthread pool for the engine.
 *
 * llm_pool_run(pool, fn, arg) calls fn(arg, ith, nth) for ith = 0..nth-1,
 * ith 0 on the calling thread, the others on the pool's workers (or on
 * the caller, when it is done with ith 0 before a worker has started
 * one: so fn must depend on ith, not on which thread runs it), and
 * returns when all are done. Workers spin briefly, then sleep on a
 * condition variable, so back-to-back runs (one per layer per token) cost
 * microseconds and an idle pool costs no CPU. The pool also owns one
 * growable scratch buffer (for quantised activations) that is valid
 * between runs on the calling thread.
 */
#ifndef WM_THREADS_H
#define WM_THREADS_H

#include "../util/common.h"

typedef struct llm_pool llm_pool;
typedef void (*llm_task_fn)(void *arg, int ith, int nth);

/* n_threads <= 0: the number of online CPUs. NULL on failure. */
WM_INTERNAL llm_pool *llm_pool_new(int n_threads);
WM_INTERNAL void llm_pool_free(llm_pool *p);
WM_INTERNAL int llm_pool_size(const llm_pool *p);
WM_INTERNAL void llm_pool_run(llm_pool *p, llm_task_fn fn, void *arg);
/* Scratch of at least n bytes (64-byte aligned); NULL when out of memory. */
WM_INTERNAL void *llm_pool_scratch(llm_pool *p, size_t n);

#endif
