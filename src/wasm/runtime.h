/*
 * runtime.h — store objects (functions, memories, tables, globals,
 * instances) and the runtime that owns them: the internal contract between
 * the interpreter (interp.c), instantiation/linking (instance.c), linear
 * memory (memory.c), the public API (api.c) and host modules (src/wasi).
 *
 * Value representation everywhere at run time: one 8-byte slot per value
 * (uint64_t). i32 lives in the low 32 bits (upper bits unspecified), f32/f64
 * as their bits, funcref as a wm_func* (NULL = null), externref as the host
 * pointer (NULL = null).
 */
#ifndef WM_RUNTIME_H
#define WM_RUNTIME_H

#include <setjmp.h>

#include "module.h"

#define WASM_PAGE_SIZE 65536u

/* A function in the store: a defined Wasm function of some instance, or a
 * host function. funcref values point to these. */
struct wm_func {
    const mod_functype *type;  /* owning module's type, or host_type */
    uint32_t type_id;          /* == type->type_id; copied for call_indirect */
    wm_instance *inst;         /* Wasm: owning instance; host: NULL */
    uint32_t func_idx;         /* Wasm: index in inst->mod->funcs */
    const struct interp_code *code;  /* Wasm: compiled body; host: NULL */
    wm_host_fn host;           /* host only */
    void *host_ud;             /* host only: wm_call_userdata() */
    mod_functype host_type;    /* host only: storage for `type` */
};

/*
 * Linear memory. With WM_ENABLE_GUARD_PAGES the memory is one reservation
 * of MEM_RESERVE bytes (8 GiB: any i32 address + any u32 offset lands in
 * it) of which the first size_bytes are read/write and the rest PROT_NONE;
 * growth only changes protection, so `base` never moves. A fault inside a
 * reservation is turned into WM_TRAP_OOB_MEMORY by memory.c's signal
 * handler. Without guard pages, base is a plain allocation and every access
 * is bounds-checked against size_bytes.
 */
struct wm_memory {
    uint8_t *base;
    uint64_t size_bytes;       /* current size = n_pages * 64 KiB */
    uint32_t n_pages;
    uint32_t max_pages;        /* declared max (or 65536), also capped by
                                  wm_config.max_memory_bytes */
    size_t reserved_bytes;     /* length of the mapping at base */
    wm_runtime *rt;
    uint32_t decl_max_pages;   /* max as declared (UINT32_MAX: none), for
                                  import matching (limits subtyping) */
};
#define MEM_RESERVE ((size_t)8 << 30)

struct wm_table {
    void **elems;              /* size entries: wm_func* or externref */
    uint32_t size;
    uint32_t max;              /* UINT32_MAX when unbounded */
    uint8_t elem_type;         /* VT_FUNCREF / VT_EXTERNREF */
    wm_runtime *rt;
};

struct wm_global {
    uint64_t val;              /* the slot */
    uint8_t type;              /* value-type byte */
    bool mut;
    wm_runtime *rt;
};

/* A module as the public API sees it: decoded + validated + compiled. */
struct wm_module {
    module m;
    wm_runtime *rt;
};

struct wm_instance {
    wm_runtime *rt;
    const struct wm_module *wmod;
    const module *mod;         /* == &wmod->m */
    /* Hot fields for the interpreter: memory 0. */
    uint8_t *mem_base;         /* memory 0's base (never moves) or NULL */
    wm_memory *mem0;           /* memory 0 or NULL */
    /* Index spaces (imports first), pointers into the store. */
    wm_func **funcs;           /* mod->n_funcs */
    wm_table **tables;         /* mod->n_tables */
    wm_memory **mems;          /* mod->n_mems */
    wm_global **globals;       /* mod->n_globals */
    uint8_t *elem_dropped;     /* per element segment: elem.drop done */
    uint8_t *data_dropped;     /* per data segment: data.drop done */
    wm_func *defined_funcs;    /* storage for this instance's own funcs */
};

/* The calling context of a host function (wm_call in the public API). */
struct wm_call {
    wm_instance *inst;         /* caller's instance (NULL from the API) */
    wm_func *func;             /* the host function being called */
    int exit_code;             /* set by wm_call_exit */
    char trap_msg[128];        /* set by wm_call_trap */
};

/* The runtime: store + one execution context (one thread at a time). */
struct wm_runtime {
    wm_config cfg;             /* defaults filled in */
    struct interp_exec *exec;  /* value stack and call frames (interp.c) */

    /* Canonical function types: rt_intern_type() returns the same id for
     * structurally equal types, so call_indirect checks one integer. */
    struct rt_type_entry *types;
    uint32_t n_types, cap_types;

    /* Every store object, freed by wm_runtime_free. */
    struct rt_object *objects;

    /* Trap recovery for guard-page faults: the innermost wm_func_call's
     * jump buffer (NULL outside Wasm code). See memory.c. */
    sigjmp_buf *trap_jmp;
};

/* A zeroed allocation owned by the runtime's store: freed (after calling
 * fini(ptr), if non-NULL) by wm_runtime_free. Host modules keep their state
 * here (e.g. the WASI fd table). NULL when out of memory. */
WM_INTERNAL void *rt_object_new(wm_runtime *rt, size_t size,
                                void (*fini)(void *ptr));

/* Intern a function type; returns its canonical id (never fails except
 * WM_ERR_NOMEM, reported as UINT32_MAX). */
WM_INTERNAL uint32_t rt_intern_type(wm_runtime *rt, const uint8_t *params,
                                    uint32_t n_params, const uint8_t *results,
                                    uint32_t n_results);

/* Linear memory (memory.c). mem_new reserves and commits min pages;
 * mem_grow returns the old page count or -1. */
WM_INTERNAL wm_memory *mem_new(wm_runtime *rt, uint32_t min_pages,
                               uint32_t max_pages);
WM_INTERNAL int64_t mem_grow(wm_memory *mem, uint32_t delta_pages);
WM_INTERNAL void mem_free(wm_memory *mem);
/* Install the SIGSEGV/SIGBUS handler once per process (idempotent). */
WM_INTERNAL void mem_install_trap_handler(void);

/*
 * Overloading by type (instance.c), WasmEdge's import rule: when a module
 * imports (module, name) as a function whose type differs from the
 * definition's, the import is bound to (module, alt) instead, if that is
 * defined with the import's type; otherwise it stays "incompatible import
 * type". (module, name) must already be defined; redefining it keeps the
 * fallback. WASI uses it for sock_X -> sock_X_v2.
 */
WM_INTERNAL wm_status lk_define_fallback(wm_linker *lk, const char *module,
                                         const char *name, const char *alt,
                                         wm_error *err);

/* Table growth (instance.c): returns old size or -1. t->elems may move. */
WM_INTERNAL int64_t table_grow(wm_table *t, uint32_t delta, void *init);

/*
 * Interpreter entry (interp.c). Calls f (Wasm or host) with args in
 * slots[0..n_params) and leaves results in slots[0..n_results) (the array
 * holds max(n_params, n_results) slots). On a trap returns its code with
 * err->msg and err->trace filled. Must run inside the trap catch point set
 * up by api.c (wm_func_call / instantiation's start call).
 */
WM_INTERNAL wm_status interp_call(wm_runtime *rt, wm_func *f, uint64_t *slots,
                                  wm_error *err);
WM_INTERNAL struct interp_exec *interp_exec_new(const wm_config *cfg);
WM_INTERNAL void interp_exec_free(struct interp_exec *ex);
/* After a guard-page fault was caught by siglongjmp: fill err with
 * WM_TRAP_OOB_MEMORY and the backtrace from the live frames, then reset
 * the execution context to `depth` frames (the depth saved when the catch
 * point was set up). */
WM_INTERNAL void interp_recover_fault(wm_runtime *rt, uint32_t depth,
                                      wm_error *err);
WM_INTERNAL uint32_t interp_depth(const wm_runtime *rt);

#endif
