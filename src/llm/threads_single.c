/*
 * threads_single.c — threads.h without threads: the pool of builds with
 * config.h WM_ENABLE_THREADS == 0 (wasm32-wasi without wasi-threads, whose
 * libc has no pthreads: the guest build apps/llm-wasm). Every build has
 * exactly one implementation of threads.h: this file compiles to nothing
 * when threads are on, and builds without them leave threads.c out (the
 * Makefile's LLM_GUEST_SRC).
 *
 * Every task runs on the caller as fn(arg, 0, 1), whatever thread count
 * was asked for, so llm_pool_size() is 1 and callers size per-thread
 * buffers for one. The engine's results do not depend on the thread
 * count, so output equals a threaded build's.
 */
#include "threads.h"

#if !WM_ENABLE_THREADS
#include <stdlib.h>

struct llm_pool {
    void *scratch;              /* 64-byte aligned, scratch_size bytes */
    size_t scratch_size;
};

llm_pool *llm_pool_new(int n_threads)
{
    (void)n_threads;
    return calloc(1, sizeof(llm_pool));
}

void llm_pool_free(llm_pool *p)
{
    if (!p) return;
    free(p->scratch);
    free(p);
}

int llm_pool_size(const llm_pool *p)
{
    (void)p;
    return 1;
}

void llm_pool_run(llm_pool *p, llm_task_fn fn, void *arg)
{
    (void)p;
    fn(arg, 0, 1);
}

/* Grow-only, as threads.c: old contents are not kept when it grows. */
void *llm_pool_scratch(llm_pool *p, size_t n)
{
    if (!p) return NULL;
    if (n <= p->scratch_size && p->scratch) return p->scratch;
    size_t sz = (n + 63) & ~(size_t)63;
    if (sz < 4096) sz = 4096;
    void *mem = aligned_alloc(64, sz);
    if (!mem) return NULL;
    free(p->scratch);
    p->scratch = mem;
    p->scratch_size = sz;
    return mem;
}

#endif /* !WM_ENABLE_THREADS */
