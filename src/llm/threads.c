/*
 * threads.c — the engine's persistent thread pool (see threads.h).
 *
 * Protocol. A run has n_threads slots (the ith passed to fn). Slot 0 is
 * the caller's; slots 1..n-1 are handed out by one atomic word `claim`
 * = generation << 32 | next free slot. The caller stores fn/arg, resets
 * `n_done`, then publishes (gen, 1) into `claim` (release). A worker that
 * sees a new generation claims slots by CAS on `claim` (acq_rel: it reads
 * fn/arg of that generation) and runs them; a CAS from a stale generation
 * fails, so a late worker never runs a slot of the wrong run. When the
 * caller has finished slot 0 it claims the slots nobody has taken yet and
 * runs them itself: on a loaded machine a worker that is not scheduled
 * costs at most its own slot, never a wait for the scheduler. Which
 * thread runs a slot does not change what fn(arg, ith, nth) computes, so
 * results stay bitwise the same.
 *
 * Workers spin on `claim` for a while (a forward pass issues runs back to
 * back, microseconds apart), then sleep on cv_work. The publisher stores
 * `claim` under the mutex, so a worker that checked it under the mutex
 * and went to sleep cannot miss the wake-up; it broadcasts only when
 * somebody sleeps. Completion is the count `n_done` of slots 1..n-1 run
 * (acq_rel); the caller spins on it, then sleeps on cv_done, and the
 * thread finishing the last slot signals under the mutex when the caller
 * sleeps.
 *
 * Spinning costs CPU on a shared machine, so the spin is bounded
 * (POOL_SPIN iterations of a pause, ~50-100 us) before sleeping.
 */
#include "threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define POOL_MAX_THREADS 256
#define POOL_SPIN 2000

typedef struct pool_worker {
    struct llm_pool *pool;
    pthread_t tid;
} pool_worker;

struct llm_pool {
    int n_threads;              /* including the caller (slot 0) */
    pool_worker *workers;       /* n_threads - 1 of them */
    int n_started;

    pthread_mutex_t mu;
    pthread_cond_t cv_work;     /* workers wait for a new generation */
    pthread_cond_t cv_done;     /* the caller waits for n_done */
    int n_sleeping;             /* workers in cv_work (under mu) */
    bool caller_sleeping;       /* caller in cv_done (under mu) */

    _Atomic uint64_t claim;     /* gen << 32 | next unclaimed slot */
    _Atomic int n_done;         /* slots >= 1 finished in this run */
    _Atomic bool stop;
    llm_task_fn fn;             /* published before claim (release) */
    void *arg;
    uint32_t gen;               /* last published generation (caller) */
    bool running;               /* a run is in progress (caller only) */

    void *scratch;              /* 64-byte aligned, scratch_size bytes */
    size_t scratch_size;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline uint32_t claim_gen(uint64_t v) { return (uint32_t)(v >> 32); }

/* Next unclaimed slot of generation g, or -1 when none is left (or the
 * run of g is over). */
static int claim_slot(llm_pool *p, uint32_t g)
{
    uint64_t v = atomic_load_explicit(&p->claim, memory_order_acquire);
    for (;;) {
        if (claim_gen(v) != g || (uint32_t)v >= (uint32_t)p->n_threads)
            return -1;
        if (atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            return (int)(uint32_t)v;
    }
}

/* Runs slot ith of the current run and counts it done. */
static void run_slot(llm_pool *p, int ith)
{
    p->fn(p->arg, ith, p->n_threads);
    if (atomic_fetch_add_explicit(&p->n_done, 1, memory_order_acq_rel) ==
        p->n_threads - 2) {
        pthread_mutex_lock(&p->mu);
        if (p->caller_sleeping) pthread_cond_signal(&p->cv_done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *worker_main(void *v)
{
    pool_worker *w = v;
    llm_pool *p = w->pool;
    uint32_t seen = 0;
    for (;;) {
        uint32_t g = claim_gen(atomic_load_explicit(&p->claim,
                                                    memory_order_acquire));
        for (int i = 0; g == seen && i < POOL_SPIN; i++) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
            cpu_relax();
            g = claim_gen(atomic_load_explicit(&p->claim,
                                               memory_order_acquire));
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = claim_gen(atomic_load_explicit(
                        &p->claim, memory_order_acquire))) == seen &&
                   !atomic_load_explicit(&p->stop, memory_order_relaxed)) {
                p->n_sleeping++;
                pthread_cond_wait(&p->cv_work, &p->mu);
                p->n_sleeping--;
            }
            pthread_mutex_unlock(&p->mu);
        }
        if (g == seen) break;  /* stop requested, no new work */
        seen = g;
        for (int ith; (ith = claim_slot(p, g)) >= 0;) run_slot(p, ith);
    }
    return NULL;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int)n;
}

llm_pool *llm_pool_new(int n_threads)
{
    if (n_threads <= 0) n_threads = online_cpus();
    if (n_threads > POOL_MAX_THREADS) n_threads = POOL_MAX_THREADS;
    llm_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    if (n_threads > 1) {
        p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers) goto fail;
        for (int i = 0; i < n_threads - 1; i++) {
            pool_worker *w = &p->workers[i];
            w->pool = p;
            if (pthread_create(&w->tid, NULL, worker_main, w) != 0)
                goto fail;
            p->n_started++;
        }
    }
    return p;
fail:
    llm_pool_free(p);
    return NULL;
}

void llm_pool_free(llm_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->workers[i].tid, NULL);
    free(p->workers);
    pthread_cond_destroy(&p->cv_done);
    pthread_cond_destroy(&p->cv_work);
    pthread_mutex_destroy(&p->mu);
    free(p->scratch);
    free(p);
}

int llm_pool_size(const llm_pool *p)
{
    return p ? p->n_threads : 1;
}

/*
 * Run fn(arg, ith, nth) for every ith < nth and wait for all of them.
 * Not reentrant: fn must not call llm_pool_run on the same pool
 * (asserted). Memory written by any fn call is visible to the caller on
 * return.
 */
void llm_pool_run(llm_pool *p, llm_task_fn fn, void *arg)
{
    if (!p || p->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    WM_ASSERT(!p->running);
    p->running = true;
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->n_done, 0, memory_order_relaxed);
    if (++p->gen == 0) p->gen = 1;  /* 0 is "no run yet" for workers */
    const uint32_t g = p->gen;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->claim, (uint64_t)g << 32 | 1u,
                          memory_order_release);
    if (p->n_sleeping) pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);

    fn(arg, 0, p->n_threads);
    /* Slots no worker has started yet: cheaper to run than to wait for. */
    for (int ith; (ith = claim_slot(p, g)) >= 0;) run_slot(p, ith);

    const int want = p->n_threads - 1;
    for (int i = 0; i < POOL_SPIN; i++) {
        if (atomic_load_explicit(&p->n_done, memory_order_acquire) == want)
            break;
        cpu_relax();
    }
    if (atomic_load_explicit(&p->n_done, memory_order_acquire) != want) {
        pthread_mutex_lock(&p->mu);
        p->caller_sleeping = true;
        while (atomic_load_explicit(&p->n_done, memory_order_acquire) !=
               want)
            pthread_cond_wait(&p->cv_done, &p->mu);
        p->caller_sleeping = false;
        pthread_mutex_unlock(&p->mu);
    }
    p->running = false;
}

/*
 * Grow-only scratch: the old contents are not kept when it grows. Valid
 * until the next llm_pool_scratch call or llm_pool_free.
 */
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
