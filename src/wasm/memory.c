/*
 * memory.c — linear memory and the guard-page trap handler.
 *
 * Layout. Every linear memory is one anonymous PROT_NONE reservation made
 * when the memory is created; growing it only mprotects more of that
 * reservation read/write, so `base` never moves and the interpreter can
 * keep it in a register across calls. Fresh pages come from the kernel
 * zeroed, which is what Wasm requires.
 *
 *   guard-page mode (WM_ENABLE_GUARD_PAGES, 64-bit Linux):
 *
 *     base                      base+size_bytes              base+8 GiB+64 KiB
 *     |<-- read/write (n_pages) -->|<--------- PROT_NONE ---------------->|
 *
 *     Any Wasm address is base + (u32 index) + (u32 offset) + width, i.e.
 *     below base + 8 GiB + 16, so an out-of-bounds access always lands in
 *     the PROT_NONE part (the 64 KiB tail covers the access width): the
 *     interpreter needs no bounds check, and the fault is turned into
 *     WM_TRAP_OOB_MEMORY by mem_on_fault below.
 *
 *   explicit-check mode (WM_ENABLE_GUARD_PAGES == 0):
 *
 *     The reservation is max_pages * 64 KiB (at least one OS page), so the
 *     base still never moves and growth is still an mprotect. Every access
 *     is bounds-checked by the interpreter against size_bytes. Where the
 *     address space cannot hold the full maximum (32-bit hosts) the
 *     reservation is halved until it fits the minimum, and max_pages is
 *     lowered to match: memory.grow past it then returns -1, which the
 *     spec allows. No realloc, no copying, no moving base in either mode.
 *
 * Trap handling. The handler runs on an alternate signal stack (each
 * runtime owns one, see "Alternate signal stacks" below) so it works even
 * when the C stack is exhausted. It siglongjmps to the running runtime's
 * innermost catch point only when the faulting address lies inside one of
 * that runtime's memory reservations; anything else is a real crash, so it
 * hands the fault to the handler installed before it (the default action,
 * or ASan's/libFuzzer's reporter).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store.h"

#define MEM_GUARD_TAIL ((size_t)64 << 10)

/*
 * The runtime running Wasm code on this thread (NULL when none). This is
 * the one piece of mutable static state in the project, and it cannot be
 * avoided: a signal handler receives no context argument, so the only way
 * from a SIGSEGV to the right catch point is a per-thread pointer. It is
 * thread-local (runtimes on different threads do not see each other) and
 * set/restored strictly in pairs by mem_catch_enter/mem_catch_leave, so
 * nested calls across runtimes on one thread unwind correctly.
 */
static _Thread_local wm_runtime *mem_running_rt;

/* A memory as stored: the wm_memory first (so a wm_memory* is a
 * mem_node*), then its links in the runtime's list of live memories, which
 * the trap handler walks instead of every store object. */
typedef struct mem_node {
    wm_memory mem;
    struct mem_node *next, *prev;
} mem_node;

static void mem_fini(void *ptr) {
    mem_node *n = ptr;
    wm_memory *mem = &n->mem;
    rt_priv *pv = rt_priv_of(mem->rt);
    if (n->prev) n->prev->next = n->next;
    else if (pv->mems == n) pv->mems = n->next;
    if (n->next) n->next->prev = n->prev;
    if (mem->base) munmap(mem->base, mem->reserved_bytes);
    mem->base = NULL;
}

#if !WM_ENABLE_GUARD_PAGES
static size_t mem_os_page(void) {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}
#endif

static void *mem_reserve(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The effective maximum: declared max (UINT32_MAX: none), the Wasm limit
 * of 65536 pages, and the runtime's max_memory_bytes. */
static uint32_t mem_effective_max(const wm_runtime *rt, uint32_t decl_max) {
    uint64_t max = decl_max;
    if (max > MOD_MAX_PAGES) max = MOD_MAX_PAGES;
    uint64_t cap = rt->cfg.max_memory_bytes / WASM_PAGE_SIZE;
    if (max > cap) max = cap;
    return (uint32_t)max;
}

/*
 * Reserve and commit a memory of min_pages (max_pages: declared maximum,
 * UINT32_MAX when none). NULL when min_pages exceeds the effective maximum
 * or when the address space / commit charge is exhausted. The memory is a
 * store object of rt.
 */
wm_memory *mem_new(wm_runtime *rt, uint32_t min_pages, uint32_t max_pages) {
    if (!rt || min_pages > max_pages) return NULL;
    uint32_t eff_max = mem_effective_max(rt, max_pages);
    if (min_pages > eff_max) return NULL;
    mem_node *node = rt_object_new(rt, sizeof *node, mem_fini);
    if (!node) return NULL;
    wm_memory *mem = &node->mem;
    mem->rt = rt;
    rt_priv *pv = rt_priv_of(rt);
    node->next = pv->mems;
    if (node->next) node->next->prev = node;
    pv->mems = node;
    mem->decl_max_pages = max_pages;
    mem->max_pages = eff_max;
#if WM_ENABLE_GUARD_PAGES
    mem->reserved_bytes = MEM_RESERVE + MEM_GUARD_TAIL;
    mem->base = mem_reserve(mem->reserved_bytes);
#else
    size_t page = mem_os_page();
    uint64_t want = (uint64_t)eff_max * WASM_PAGE_SIZE;
    if (want > SIZE_MAX - page) want = (SIZE_MAX - page) & ~(uint64_t)0xffff;
    for (;;) {
        size_t bytes = want ? (size_t)want : page;
        mem->base = mem_reserve(bytes);
        if (mem->base) { mem->reserved_bytes = bytes; break; }
        if (want / 2 < (uint64_t)min_pages * WASM_PAGE_SIZE) break;
        want = (want / 2) & ~(uint64_t)(WASM_PAGE_SIZE - 1);
    }
    if (mem->base && want / WASM_PAGE_SIZE < mem->max_pages)
        mem->max_pages = (uint32_t)(want / WASM_PAGE_SIZE);
#endif
    if (!mem->base) goto fail;
    if (min_pages) {
        size_t bytes = (size_t)min_pages * WASM_PAGE_SIZE;
        if (mprotect(mem->base, bytes, PROT_READ | PROT_WRITE)) goto fail;
    }
    mem->n_pages = min_pages;
    mem->size_bytes = (uint64_t)min_pages * WASM_PAGE_SIZE;
    return mem;
fail:
    rt_object_free(mem);
    return NULL;
}

/* Grow by delta pages: the old size in pages, or -1 past the maximum or
 * when the kernel refuses the commit. The base does not move. */
int64_t mem_grow(wm_memory *mem, uint32_t delta_pages) {
    uint32_t old = mem->n_pages;
    if (delta_pages == 0) return old;
    if (delta_pages > mem->max_pages - old) return -1;
    size_t bytes = (size_t)delta_pages * WASM_PAGE_SIZE;
    if (mprotect(mem->base + mem->size_bytes, bytes, PROT_READ | PROT_WRITE))
        return -1;
    mem->n_pages = old + delta_pages;
    mem->size_bytes = (uint64_t)mem->n_pages * WASM_PAGE_SIZE;
    return old;
}

void mem_free(wm_memory *mem) { rt_object_free(mem); }

/* ==== Public API ======================================================== */

wm_memory *wm_memory_new(wm_runtime *rt, uint32_t min_pages,
                         uint32_t max_pages) {
    return mem_new(rt, min_pages, max_pages);
}

uint8_t *wm_memory_data(wm_memory *mem) { return mem ? mem->base : NULL; }

uint64_t wm_memory_size(const wm_memory *mem) {
    return mem ? mem->size_bytes : 0;
}

void *wm_memory_span(wm_memory *mem, uint64_t off, uint64_t len) {
    if (!mem || off > mem->size_bytes || len > mem->size_bytes - off)
        return NULL;
    return mem->base + off;
}

int64_t wm_memory_grow(wm_memory *mem, uint32_t delta_pages) {
    return mem ? mem_grow(mem, delta_pages) : -1;
}

/* ==== Guard-page traps ================================================== */

#if WM_ENABLE_GUARD_PAGES
/* Is addr inside a reservation of one of rt's live memories? It only
 * reads the list. The list changes only in mem_new/mem_fini, which touch
 * no reservation, so a fault that is ours never interrupts an update;
 * that makes the walk safe in the handler. */
static bool mem_fault_in_rt(wm_runtime *rt, uintptr_t addr) {
    for (const mem_node *n = rt_priv_of(rt)->mems; n; n = n->next) {
        uintptr_t b = (uintptr_t)n->mem.base;
        if (b && addr >= b && addr - b < n->mem.reserved_bytes) return true;
    }
    return false;
}

/* The SIGSEGV and SIGBUS actions that were installed before ours, for
 * chaining. Signal dispositions are process-wide, so this is the one
 * piece of process-global state here; it is written only while
 * installing, before any Wasm code runs. */
static struct sigaction mem_prev_sa[2];

static void mem_on_fault(int sig, siginfo_t *si, void *uctx) {
    (void)uctx;
    wm_runtime *rt = mem_running_rt;
    if (rt && rt->trap_jmp && si &&
        mem_fault_in_rt(rt, (uintptr_t)si->si_addr))
        siglongjmp(*rt->trap_jmp, 1);
    /* Not a Wasm out-of-bounds access: a real crash stays a crash. Put
     * back the handler that was there before ours (the default action, or
     * a sanitizer's/fuzzer's reporter) and return: the faulting
     * instruction runs again and faults into that handler with its full
     * context. A signal sent by kill/raise is not re-triggered by
     * returning, so send it again. */
    int i = sig == SIGBUS;
    sigaction(sig, &mem_prev_sa[i], NULL);
    if (!si || si->si_code <= 0) raise(sig);
}
#endif

/*
 * Install mem_on_fault for SIGSEGV and SIGBUS. Idempotent without any
 * global flag: it asks the kernel for the current handler first. SA_NODEFER
 * keeps the signal unblocked after the siglongjmp (the catch point uses
 * sigsetjmp(jb, 0), which does not save the mask, to keep calls free of a
 * sigprocmask syscall). Only guard-page builds need the handler.
 */
void mem_install_trap_handler(void) {
#if WM_ENABLE_GUARD_PAGES
    static const int sigs[] = {SIGSEGV, SIGBUS};
    for (size_t i = 0; i < WM_ARRAY_LEN(sigs); i++) {
        struct sigaction cur;
        if (sigaction(sigs[i], NULL, &cur) == 0 &&
            (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == mem_on_fault)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = mem_on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, &mem_prev_sa[i]);
    }
#endif
}

/* ==== Alternate signal stacks ========================================== */

/*
 * Each runtime owns one alternate signal stack (mapped at wm_runtime_new).
 * The first outermost call on a thread that has no alternate stack
 * installs it and leaves it there; the runtime remembers that thread, so
 * later calls from it cost no syscall at all (one sigaltstack() per call
 * measured 324 ns against 46 ns for a whole call of a trivial export).
 * A thread that already has a stack (the application's, a sanitizer's,
 * another runtime's) keeps it: one query per outermost call.
 *
 * Leaving the stack installed is safe because it lives as long as the
 * runtime, and wm_runtime_free removes it from the calling thread. If the
 * runtime was used from another thread (runtimes may move between
 * threads, used by one at a time), that thread may still point at the
 * stack, so the mapping is then deliberately not unmapped (64 KiB of
 * address space, untouched unless a signal arrives there) rather than
 * leaving a thread with a dangling signal stack. The worst a stale belief
 * ("installed on this thread" when the application replaced it, or a
 * recycled pthread_t) can do is run the handler on the ordinary stack.
 */
bool mem_runtime_init(wm_runtime *rt) {
#if WM_ENABLE_GUARD_PAGES
    rt_priv *pv = rt_priv_of(rt);
    void *p = mmap(NULL, RT_SIGSTACK_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    pv->sig_stack = p;
#else
    (void)rt;
#endif
    return true;
}

void mem_runtime_fini(wm_runtime *rt) {
    rt_priv *pv = rt_priv_of(rt);
    if (!pv->sig_stack) return;
    if (pv->stack_used) {
        if (pv->stack_shared || !pthread_equal(pv->stack_thread,
                                               pthread_self()))
            return;                              /* see above: keep it */
        stack_t cur;
        if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) &&
            cur.ss_sp == pv->sig_stack) {
            stack_t off;
            memset(&off, 0, sizeof off);
            off.ss_flags = SS_DISABLE;
            if (sigaltstack(&off, NULL)) return;  /* on it: keep it */
        }
    }
    munmap(pv->sig_stack, RT_SIGSTACK_BYTES);
    pv->sig_stack = NULL;
}

#if WM_ENABLE_GUARD_PAGES
static void mem_use_sig_stack(wm_runtime *rt) {
    rt_priv *pv = rt_priv_of(rt);
    pthread_t self = pthread_self();
    if (pv->stack_used && !pv->stack_shared &&
        pthread_equal(pv->stack_thread, self))
        return;                                  /* installed earlier */
    stack_t cur, ss;
    if (sigaltstack(NULL, &cur) || !(cur.ss_flags & SS_DISABLE))
        return;                                  /* the thread has one */
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = pv->sig_stack;
    ss.ss_size = RT_SIGSTACK_BYTES;
    if (sigaltstack(&ss, NULL)) return;
    if (!pv->stack_used) {
        pv->stack_used = true;
        pv->stack_thread = self;
    } else if (!pthread_equal(pv->stack_thread, self)) {
        pv->stack_shared = true;
    }
}
#endif

/* ==== Catch points ====================================================== */

void mem_catch_enter(wm_runtime *rt, sigjmp_buf *jb, mem_catch *c) {
    c->prev_jmp = rt->trap_jmp;
    c->prev_rt = mem_running_rt;
#if WM_ENABLE_GUARD_PAGES
    if (!c->prev_jmp) mem_use_sig_stack(rt);
#endif
    rt->trap_jmp = jb;
    mem_running_rt = rt;
}

void mem_catch_leave(wm_runtime *rt, mem_catch *c) {
    rt->trap_jmp = c->prev_jmp;
    mem_running_rt = c->prev_rt;
}
