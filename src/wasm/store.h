/*
 * store.h — private contract between the store files: runtime.c (object
 * registry, type interning), memory.c (linear memory, trap handler),
 * instance.c (linking, instantiation, tables, globals, functions) and
 * api.c (calls and the trap catch point). Nothing outside these four
 * files includes it; the shared contract is runtime.h.
 */
#ifndef WM_STORE_H
#define WM_STORE_H

#include <pthread.h>

#include "runtime.h"

/*
 * Every store object is one calloc'd block: this header, then the object.
 * The header links the object into its runtime's list (newest first) so
 * wm_runtime_free can release everything, and lets an early _free unlink
 * in O(1). `fini` (may be NULL) releases what the object owns besides its
 * own block; it also tags the object's kind (memory.c finds the live
 * memories of a runtime by their fini).
 */
typedef struct rt_object {
    struct rt_object *next, *prev;
    wm_runtime *rt;
    void (*fini)(void *ptr);
    max_align_t data[];        /* the object */
} rt_object;

WM_INLINE rt_object *rt_object_of(const void *ptr) {
    return (rt_object *)(void *)((char *)(uintptr_t)ptr -
                                 offsetof(rt_object, data));
}

/* Release one store object early: fini, unlink, free. NULL is a no-op. */
WM_INTERNAL void rt_object_free(void *ptr);

/* Copy a module name into err->where (NULL or "" leaves it empty). */
WM_INTERNAL void rt_set_where(wm_error *err, const char *name);

/*
 * Runtime state private to the store files, kept in the same allocation
 * right after struct wm_runtime (so runtime.h need not change).
 *
 * The alternate signal stack: the guard-page handler must run even when
 * the C stack is exhausted, so every runtime owns one (an mmap of
 * RT_SIGSTACK_BYTES; 64 KiB is many times the kernel's largest signal
 * frame on x86-64 with AVX-512 and on arm64 with SVE). It is installed
 * on a thread by the first outermost call and left there; see memory.c
 * for why that is safe and how wm_runtime_free removes it.
 */
#define RT_SIGSTACK_BYTES ((size_t)64 << 10)

typedef struct rt_priv {
    struct mem_node *mems;     /* the runtime's live memories (memory.c):
                                  what the trap handler searches */
    void *sig_stack;           /* the mapping, or NULL */
    pthread_t stack_thread;    /* first thread it was installed on */
    bool stack_used;           /* installed on some thread */
    bool stack_shared;         /* installed on more than one thread */
} rt_priv;

WM_INTERNAL rt_priv *rt_priv_of(wm_runtime *rt);

/* Set up / tear down a runtime's signal stack (memory.c). */
WM_INTERNAL bool mem_runtime_init(wm_runtime *rt);
WM_INTERNAL void mem_runtime_fini(wm_runtime *rt);

/*
 * The catch point (memory.c). mem_catch_enter makes `jb` the runtime's
 * innermost trap target, marks rt as this thread's running runtime and,
 * on the outermost entry, makes sure the thread has an alternate signal
 * stack (its own if it has one, else the runtime's); mem_catch_leave
 * restores the previous target and running runtime. Both must bracket
 * every entry into Wasm code (api.c rt_call).
 */
typedef struct mem_catch {
    sigjmp_buf *prev_jmp;
    wm_runtime *prev_rt;
} mem_catch;
WM_INTERNAL void mem_catch_enter(wm_runtime *rt, sigjmp_buf *jb,
                                 mem_catch *c);
WM_INTERNAL void mem_catch_leave(wm_runtime *rt, mem_catch *c);

/*
 * Call f inside a catch point (api.c): the single entry into Wasm code
 * for wm_func_call and for start functions. Slots as for interp_call.
 * A guard-page fault comes back as WM_TRAP_OOB_MEMORY with the backtrace.
 */
WM_INTERNAL wm_status rt_call(wm_runtime *rt, wm_func *f, uint64_t *slots,
                              wm_error *err);

/* The runtime a function belongs to (host functions are store objects;
 * Wasm functions reach it through their instance). */
WM_INTERNAL wm_runtime *rt_func_runtime(const wm_func *f);

/* Segment initialisers (instance.c): table.init / memory.init, as
 * instantiation and the interpreter's instructions run them. Bounds-check
 * [src, src+n) against the segment (length 0 once dropped, see
 * elem_dropped/data_dropped) and [dst, dst+n) against the table / memory
 * 0, then copy. Return WM_OK, or
 * WM_TRAP_OOB_TABLE / WM_TRAP_OOB_MEMORY with the spec text in err (may be
 * NULL). Indices must be valid (the validator checked them). */
WM_INTERNAL wm_status inst_table_init(wm_instance *inst, uint32_t table_idx,
                                      uint32_t elem_idx, uint32_t dst,
                                      uint32_t src, uint32_t n,
                                      wm_error *err);
WM_INTERNAL wm_status inst_memory_init(wm_instance *inst, uint32_t data_idx,
                                       uint32_t dst, uint32_t src,
                                       uint32_t n, wm_error *err);

/* Value <-> slot conversions shared by globals and calls. */
WM_INLINE uint64_t rt_value_to_slot(const wm_value *v) {
    switch (v->type) {
    case WM_I32: return (uint64_t)(uint32_t)v->of.i32;
    case WM_I64: return (uint64_t)v->of.i64;
    case WM_F32: return (uint64_t)v->of.f32_bits;
    case WM_F64: return v->of.f64_bits;
    case WM_FUNCREF:
    case WM_EXTERNREF: return (uint64_t)(uintptr_t)v->of.ref;
    default: return 0;
    }
}

WM_INLINE wm_value rt_slot_to_value(uint8_t type, uint64_t slot) {
    wm_value v;
    memset(&v, 0, sizeof v);
    v.type = (wm_valtype)type;
    switch (type) {
    case VT_I32: v.of.i32 = (int32_t)(uint32_t)slot; break;
    case VT_I64: v.of.i64 = (int64_t)slot; break;
    case VT_F32: v.of.f32_bits = (uint32_t)slot; break;
    case VT_F64: v.of.f64_bits = slot; break;
    default: v.of.ref = (void *)(uintptr_t)slot; break;
    }
    return v;
}

#endif
