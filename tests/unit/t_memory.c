/*
 * t_memory.c — linear memory: reservation, growth, limits, host spans and
 * the guard-page trap handler (a fault inside a reservation is caught at
 * the catch point; a fault anywhere else stays a crash).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wasm/store.h"

#define PAGE WASM_PAGE_SIZE

static void test_grow_and_limits(void) {
    wm_runtime *rt = wm_runtime_new(NULL);
    CHECK(rt != NULL);
    wm_memory *m = wm_memory_new(rt, 1, 3);
    CHECK(m != NULL);
    if (!m) return;
    uint8_t *base = wm_memory_data(m);
    CHECK(base != NULL);
    CHECK_EQ_INT(wm_memory_size(m), PAGE);
    CHECK_EQ_INT(m->n_pages, 1);
    CHECK_EQ_INT(m->max_pages, 3);
    CHECK_EQ_INT(m->decl_max_pages, 3);
    /* Fresh memory is zero and writable. */
    int zero = 1;
    for (uint32_t i = 0; i < PAGE; i += 997) zero &= base[i] == 0;
    CHECK(zero);
    base[0] = 1;
    base[PAGE - 1] = 2;
    CHECK_EQ_INT(wm_memory_grow(m, 0), 1);
    CHECK_EQ_INT(wm_memory_grow(m, 1), 1);
    CHECK(wm_memory_data(m) == base);           /* never moves */
    CHECK_EQ_INT(wm_memory_size(m), 2 * PAGE);
    CHECK_EQ_INT(base[PAGE], 0);
    base[2 * PAGE - 1] = 3;
    CHECK_EQ_INT(base[PAGE - 1], 2);
    CHECK_EQ_INT(wm_memory_grow(m, 2), -1);     /* past max */
    CHECK_EQ_INT(wm_memory_grow(m, UINT32_MAX), -1);
    CHECK_EQ_INT(wm_memory_grow(m, 1), 2);
    CHECK_EQ_INT(wm_memory_grow(m, 1), -1);
    CHECK_EQ_INT(m->n_pages, 3);

    /* Spans: every host access is checked, overflow-safe. */
    CHECK(wm_memory_span(m, 0, 3 * PAGE) == base);
    CHECK(wm_memory_span(m, 3 * PAGE, 0) == base + 3 * PAGE);
    CHECK(wm_memory_span(m, 3 * PAGE, 1) == NULL);
    CHECK(wm_memory_span(m, 3 * PAGE + 1, 0) == NULL);
    CHECK(wm_memory_span(m, 1, 3 * PAGE) == NULL);
    CHECK(wm_memory_span(m, 8, UINT64_MAX - 4) == NULL);
    CHECK(wm_memory_span(m, UINT64_MAX, 2) == NULL);
    CHECK(wm_memory_span(NULL, 0, 0) == NULL);

    /* Bad limits. */
    CHECK(wm_memory_new(rt, 2, 1) == NULL);
    CHECK(wm_memory_new(rt, 65537, UINT32_MAX) == NULL);
    /* No max: effective max is 65536 pages, declared max "none". */
    wm_memory *u = wm_memory_new(rt, 0, UINT32_MAX);
    CHECK(u != NULL);
    if (u) {
        CHECK_EQ_INT(u->max_pages, 65536);
        CHECK_EQ_INT(u->decl_max_pages, UINT32_MAX);
        CHECK_EQ_INT(wm_memory_size(u), 0);
        CHECK(wm_memory_data(u) != NULL);
        CHECK_EQ_INT(wm_memory_grow(u, 65537), -1);
        CHECK_EQ_INT(wm_memory_grow(u, 16), 0);
        mem_free(u);                              /* early free */
    }
    wm_runtime_free(rt);
}

static void test_config_cap(void) {
    wm_config cfg = {.max_memory_bytes = 16 * PAGE};
    wm_runtime *rt = wm_runtime_new(&cfg);
    CHECK(rt != NULL);
    CHECK(wm_memory_new(rt, 17, UINT32_MAX) == NULL);
    wm_memory *m = wm_memory_new(rt, 1, UINT32_MAX);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(m->max_pages, 16);
        CHECK_EQ_INT(m->decl_max_pages, UINT32_MAX);
        CHECK_EQ_INT(wm_memory_grow(m, 15), 1);
        CHECK_EQ_INT(wm_memory_grow(m, 1), -1);   /* the cap, not the spec */
    }
    wm_runtime_free(rt);
}

/* A whole 4 GiB memory: the largest Wasm 2.0 allows. */
static void test_max_size(void) {
    wm_runtime *rt = wm_runtime_new(NULL);
    wm_memory *m = wm_memory_new(rt, 0, 65536);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(wm_memory_grow(m, 65536), 0);
        CHECK_EQ_INT(wm_memory_size(m), (uint64_t)1 << 32);
        uint8_t *b = wm_memory_data(m);
        b[((uint64_t)1 << 32) - 1] = 9;             /* last byte */
        CHECK_EQ_INT(b[((uint64_t)1 << 32) - 1], 9);
        CHECK_EQ_INT(wm_memory_grow(m, 1), -1);
    }
    wm_runtime_free(rt);
}

#if WM_ENABLE_GUARD_PAGES
/* Touch base+off inside a catch point; 1 when the handler caught it. */
static int touch_caught(wm_runtime *rt, volatile uint8_t *p) {
    sigjmp_buf jb;
    mem_catch c;
    volatile int caught = 0;
    mem_catch_enter(rt, &jb, &c);
    if (sigsetjmp(jb, 0) == 0) {
        (void)*p;
        *p = 1;
    } else {
        caught = 1;
    }
    mem_catch_leave(rt, &c);
    return caught;
}

static void test_guard_pages(void) {
    wm_runtime *rt = wm_runtime_new(NULL);
    wm_memory *m = wm_memory_new(rt, 1, 2);
    CHECK(m != NULL);
    if (!m) return;
    uint8_t *b = wm_memory_data(m);
    CHECK(m->reserved_bytes >= MEM_RESERVE + 16);
    CHECK_EQ_INT(touch_caught(rt, b + 100), 0);
    CHECK_EQ_INT(touch_caught(rt, b + PAGE), 1);       /* first past end */
    CHECK_EQ_INT(touch_caught(rt, b + ((uint64_t)1 << 32)), 1);
    /* The largest Wasm effective address + access width. */
    CHECK_EQ_INT(touch_caught(rt, b + 0x1fffffffeull + 7), 1);
    /* The handler leaves the signal usable: catch many in a row. */
    int all = 1;
    for (int i = 0; i < 100; i++) all &= touch_caught(rt, b + PAGE + i);
    CHECK(all);
    CHECK(rt->trap_jmp == NULL);                       /* restored */
    CHECK_EQ_INT(wm_memory_grow(m, 1), 1);
    CHECK_EQ_INT(touch_caught(rt, b + PAGE), 0);       /* committed now */
    CHECK_EQ_INT(touch_caught(rt, b + 2 * PAGE), 1);

    /* Nested catch points: the inner one catches, the outer is restored. */
    sigjmp_buf jb;
    mem_catch c;
    volatile int outer = 0;
    mem_catch_enter(rt, &jb, &c);
    if (sigsetjmp(jb, 0) == 0) {
        CHECK_EQ_INT(touch_caught(rt, b + 3 * PAGE), 1);
        CHECK(rt->trap_jmp == &jb);
        *(volatile uint8_t *)(b + 5 * PAGE) = 1;
    } else {
        outer = 1;
    }
    mem_catch_leave(rt, &c);
    CHECK_EQ_INT(outer, 1);

    /* A second runtime's memory is not the first runtime's business,
     * but its own catch point catches its own faults. */
    wm_runtime *rt2 = wm_runtime_new(NULL);
    wm_memory *m2 = wm_memory_new(rt2, 0, 1);
    CHECK_EQ_INT(touch_caught(rt2, wm_memory_data(m2)), 1);
    wm_runtime_free(rt2);
    wm_runtime_free(rt);
}

/* A thread without an alternate stack gets the runtime's for its calls;
 * one with its own keeps it. wm_runtime_free on that thread removes the
 * runtime's again. */
static void *thread_body(void *arg) {
    (void)arg;
    stack_t before, during, after;
    sigaltstack(NULL, &before);        /* none, unless a sanitizer's */
    wm_runtime *rt = wm_runtime_new(NULL);
    wm_memory *m = wm_memory_new(rt, 0, 1);
    intptr_t ok = touch_caught(rt, wm_memory_data(m) + 12345);
    ok &= touch_caught(rt, wm_memory_data(m) + 1);
    sigaltstack(NULL, &during);
    if (before.ss_flags & SS_DISABLE)
        ok &= during.ss_sp == rt_priv_of(rt)->sig_stack &&
              !(during.ss_flags & SS_DISABLE);
    else
        ok &= during.ss_sp == before.ss_sp;
    wm_runtime_free(rt);
    sigaltstack(NULL, &after);
    ok &= after.ss_flags == before.ss_flags && after.ss_sp == before.ss_sp;
    return (void *)ok;
}

static void test_thread(void) {
    pthread_t th;
    void *ret = NULL;
    CHECK(pthread_create(&th, NULL, thread_body, NULL) == 0);
    pthread_join(th, &ret);
    CHECK(ret == (void *)1);
}

#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifndef T_ASAN
#define T_ASAN 0
#endif

/* Faults outside any reservation are real crashes, with or without a
 * catch point: the fault goes to the handler that was there before ours.
 * That is the default action (the child dies of SIGSEGV), or in a
 * sanitizer build ASan's reporter, which exits with status 1 — never the
 * child's own _exit(0), which would mean the fault was swallowed. */
static void test_real_crash(int with_catch) {
    pid_t pid = fork();
    if (pid == 0) {
        wm_runtime *rt = wm_runtime_new(NULL);
        wm_memory *m = wm_memory_new(rt, 1, 1);
        (void)m;
        /* An address that was mapped a moment ago and no longer is. */
        void *gone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        munmap(gone, 4096);
        volatile uint8_t *bad = gone;
        if (with_catch) touch_caught(rt, bad);
        else *bad = 1;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
#if T_ASAN
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
#else
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
#endif
}

/* The handler runs even when the C stack is exhausted: recurse on a
 * small thread stack until a few KiB are left, then fault. */
static wm_memory *deep_mem;
static wm_runtime *deep_rt;
static uintptr_t deep_limit;

static int deep(int n) {
    volatile char pad[1024];
    pad[0] = (char)n;
    if ((uintptr_t)&pad[0] > deep_limit) {
        int r = deep(n + 1);
        return r + (pad[0] - (char)n);             /* not a tail call */
    }
    return touch_caught(deep_rt, wm_memory_data(deep_mem) + PAGE);
}

static void *deep_body(void *arg) {
    uintptr_t lo = (uintptr_t)arg;
    deep_limit = lo;
    deep_rt = wm_runtime_new(NULL);
    deep_mem = wm_memory_new(deep_rt, 1, 1);
    intptr_t ok = deep(0) > 0;
    wm_runtime_free(deep_rt);
    return (void *)ok;
}

static void test_exhausted_stack(void) {
    size_t sz = 256 << 10;
    void *stk = NULL;
    CHECK(posix_memalign(&stk, 4096, sz) == 0);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstack(&at, stk, sz);
    pthread_t th;
    void *ret = NULL;
    /* Leave ~3 KiB: less than a signal frame with AVX-512 state plus
     * the handler, so without the alternate stack this would crash. */
    CHECK(pthread_create(&th, &at, deep_body,
                         (void *)((uintptr_t)stk + 3 * 1024)) == 0);
    pthread_join(th, &ret);
    CHECK(ret != NULL);
    pthread_attr_destroy(&at);
    free(stk);
}
#endif

int main(void) {
    test_grow_and_limits();
    test_config_cap();
    test_max_size();
#if WM_ENABLE_GUARD_PAGES
    test_guard_pages();
    test_thread();
    test_real_crash(0);
    test_real_crash(1);
    test_exhausted_stack();
#endif
    return TEST_REPORT();
}
