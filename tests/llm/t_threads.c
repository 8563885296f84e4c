/*
 * t_threads.c — the persistent pool (src/llm/threads.c): every ith runs
 * exactly once per llm_pool_run, results are visible to the caller on
 * return, back-to-back short runs, runs after the workers went to sleep,
 * scratch growth/alignment, and create/free churn. Meant to run under
 * ASan and TSan as well (make SAN=thread llm-test).
 */
#include "harness.h"
#include "llm/threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

typedef struct count_ctx {
    int nth_seen[64];
    _Atomic int calls;
    long *slots;            /* one per ith, plain writes */
    long round;
    pthread_t caller;
    _Atomic int not_caller0;  /* runs whose ith 0 was not on the caller */
    _Atomic int by_caller;    /* ith >= 1 run by the caller (stolen) */
} count_ctx;

static void count_task(void *arg, int ith, int nth)
{
    count_ctx *c = arg;
    c->nth_seen[ith] = nth;
    c->slots[ith] += c->round;      /* caller reads after run: no atomics */
    atomic_fetch_add(&c->calls, 1);
    bool on_caller = pthread_equal(pthread_self(), c->caller);
    if (ith == 0 && !on_caller) atomic_fetch_add(&c->not_caller0, 1);
    if (ith > 0 && on_caller) atomic_fetch_add(&c->by_caller, 1);
}

static void test_basic(int n)
{
    llm_pool *p = llm_pool_new(n);
    CHECK(p != NULL);
    if (!p) return;
    CHECK_EQ_INT(llm_pool_size(p), n);
    long slots[64] = {0};
    count_ctx c = { .slots = slots, .caller = pthread_self() };
    const int rounds = 2000;
    long expect = 0;
    for (int r = 1; r <= rounds; r++) {
        c.round = r;
        expect += r;
        llm_pool_run(p, count_task, &c);
    }
    CHECK_EQ_INT(atomic_load(&c.calls), rounds * n);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (slots[i] != expect) bad++;
        if (c.nth_seen[i] != n) bad++;
    }
    CHECK_EQ_INT(bad, 0);

    /* Let the workers fall asleep, then run again (condvar path). */
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    c.round = 1;
    llm_pool_run(p, count_task, &c);
    nanosleep(&ts, NULL);
    llm_pool_run(p, count_task, &c);
    for (int i = 0; i < n; i++) bad += slots[i] != expect + 2;
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(atomic_load(&c.calls), (rounds + 2) * n);
    /* ith 0 always runs on the caller; other slots may be taken over by
     * the caller when their worker has not started (not counted here:
     * it depends on scheduling) */
    CHECK_EQ_INT(atomic_load(&c.not_caller0), 0);
    if (n > 1)
        printf("pool %d: %d of %d worker slots run by the caller\n", n,
               atomic_load(&c.by_caller), (rounds + 2) * (n - 1));
    llm_pool_free(p);
}

/* A parallel sum split by ith: the shape every kernel uses. */
typedef struct sum_ctx {
    const int *v;
    int n;
    long partial[64];
} sum_ctx;

static void sum_task(void *arg, int ith, int nth)
{
    sum_ctx *c = arg;
    long s = 0;
    for (int i = c->n * ith / nth; i < c->n * (ith + 1) / nth; i++)
        s += c->v[i];
    c->partial[ith] = s;
}

static void test_sum(void)
{
    enum { N = 100003 };
    int *v = malloc(N * sizeof *v);
    CHECK(v != NULL);
    if (!v) return;
    long want = 0;
    for (int i = 0; i < N; i++) { v[i] = (i * 7919) % 1000 - 500; want += v[i]; }
    for (int n = 1; n <= 4; n++) {
        llm_pool *p = llm_pool_new(n);
        if (!p) { CHECK(0); continue; }
        sum_ctx c = { .v = v, .n = N };
        int bad = 0;
        for (int r = 0; r < 300; r++) {
            memset(c.partial, 0, sizeof c.partial);
            llm_pool_run(p, sum_task, &c);
            long s = 0;
            for (int i = 0; i < n; i++) s += c.partial[i];
            bad += s != want;
        }
        CHECK_EQ_INT(bad, 0);
        llm_pool_free(p);
    }
    free(v);
}

static void test_scratch(void)
{
    llm_pool *p = llm_pool_new(2);
    CHECK(p != NULL);
    if (!p) return;
    size_t sizes[] = {1, 100, 5000, 64, 1 << 20, 3};
    for (size_t i = 0; i < WM_ARRAY_LEN(sizes); i++) {
        unsigned char *s = llm_pool_scratch(p, sizes[i]);
        CHECK(s != NULL);
        if (!s) continue;
        CHECK(((uintptr_t)s & 63) == 0);
        memset(s, 0x5A, sizes[i]);    /* ASan: really n bytes */
    }
    /* Shrinking requests keep the buffer. */
    void *a = llm_pool_scratch(p, 1 << 20);
    void *b = llm_pool_scratch(p, 10);
    CHECK(a == b);
    llm_pool_free(p);
    llm_pool_free(NULL);
}

static void test_churn(void)
{
    int bad = 0;
    for (int i = 0; i < 50; i++) {
        llm_pool *p = llm_pool_new(1 + i % 4);
        if (!p) { bad++; continue; }
        long slots[64] = {0};
        count_ctx c = { .slots = slots, .round = 1 };
        if (i % 3) llm_pool_run(p, count_task, &c);
        llm_pool_free(p);
        if (i % 3 && atomic_load(&c.calls) != 1 + i % 4) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* default size: online CPUs */
    llm_pool *p = llm_pool_new(0);
    CHECK(p && llm_pool_size(p) >= 1);
    llm_pool_free(p);
}

int main(void)
{
    for (int n = 1; n <= 4; n++) test_basic(n);
    test_basic(7);   /* more threads than cores */
    test_sum();
    test_scratch();
    test_churn();
    return TEST_REPORT();
}
