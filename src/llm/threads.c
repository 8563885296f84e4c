/*
 * threads.c — the engine's persistent thread pool (see threads.h).
 *
 * Protocol. A run is published by storing fn/arg and then bumping the
 * generation counter `gen` (release). Each worker remembers the last
 * generation it served; it spins on `gen` for a while (a forward pass
 * issues runs back to back, microseconds apart), then sleeps on cv_work.
 * The publisher bumps `gen` under the mutex, so a worker that checked
 * `gen` under the mutex and went to sleep cannot miss the wake-up; it
 * broadcasts only when somebody sleeps. Completion is a countdown
 * `n_pending` (acq_rel); the caller spins on it, then sleeps on cv_done,
 * and the last worker signals under the mutex when the caller sleeps.
 *
 * Spinning costs CPU on a shared machine, so the spin is bounded
 * (KQ_SPIN iterations of a pause, ~50-100 us) before sleeping.
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
    int ith;
    pthread_t tid;
} pool_worker;

struct llm_pool {
    int n_threads;              /* including the caller (ith 0) */
    pool_worker *workers;       /* n_threads - 1 of them */
    int n_started;

    pthread_mutex_t mu;
    pthread_cond_t cv_work;     /* workers wait for a new generation */
    pthread_cond_t cv_done;     /* the caller waits for n_pending == 0 */
    int n_sleeping;             /* workers in cv_work (under mu) */
    bool caller_sleeping;       /* caller in cv_done (under mu) */

    _Atomic unsigned gen;       /* bumped once per run */
    _Atomic int n_pending;      /* workers still running this generation */
    _Atomic bool stop;
    llm_task_fn fn;             /* published before gen (release) */
    void *arg;
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

static void *worker_main(void *v)
{
    pool_worker *w = v;
    llm_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int i = 0; g == seen && i < POOL_SPIN; i++) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
            cpu_relax();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire))
                       == seen &&
                   !atomic_load_explicit(&p->stop, memory_order_relaxed)) {
                p->n_sleeping++;
                pthread_cond_wait(&p->cv_work, &p->mu);
                p->n_sleeping--;
            }
            pthread_mutex_unlock(&p->mu);
        }
        if (g == seen) break;  /* stop requested, no new work */
        seen = g;
        p->fn(p->arg, w->ith, p->n_threads);
        if (atomic_fetch_sub_explicit(&p->n_pending, 1,
                                      memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            if (p->caller_sleeping) pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
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
            w->ith = i + 1;
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
 * Run fn(arg, ith, nth) on every thread and wait for all of them. Not
 * reentrant: fn must not call llm_pool_run on the same pool (asserted).
 * Memory written by any fn call is visible to the caller on return.
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
    atomic_store_explicit(&p->n_pending, p->n_threads - 1,
                          memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    if (p->n_sleeping) pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);

    fn(arg, 0, p->n_threads);

    for (int i = 0; i < POOL_SPIN; i++) {
        if (!atomic_load_explicit(&p->n_pending, memory_order_acquire))
            break;
        cpu_relax();
    }
    if (atomic_load_explicit(&p->n_pending, memory_order_acquire)) {
        pthread_mutex_lock(&p->mu);
        p->caller_sleeping = true;
        while (atomic_load_explicit(&p->n_pending, memory_order_acquire))
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
