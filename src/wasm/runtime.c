/*
 * runtime.c — the runtime (the spec's store): its configuration, the
 * registry of store objects that wm_runtime_free releases, the canonical
 * function-type table, and module loading (decode, then validate, which
 * interns the function types first).
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

/*
 * An open-addressing hash table (linear probing, power-of-two capacity,
 * at most half full) of the distinct function types seen by this
 * runtime. An entry owns its signature bytes: params then results. The
 * id is the insertion order, so ids are dense and stable.
 */
struct rt_type_entry {
    uint8_t *sig;              /* NULL: empty slot */
    uint32_t n_params, n_results;
    uint32_t hash;
    uint32_t id;
};

/* ==== Runtime ========================================================== */

#define RT_DEFAULT_STACK_SLOTS   ((uint32_t)1 << 20)
#define RT_DEFAULT_CALL_DEPTH    100000u
#define RT_MAX_MEMORY_BYTES      ((uint64_t)MOD_MAX_PAGES * WASM_PAGE_SIZE)

/* The runtime struct is followed, in the same allocation, by the store's
 * private state (store.h rt_priv). */
static size_t rt_struct_bytes(void) {
    return (sizeof(wm_runtime) + 15) & ~(size_t)15;
}

rt_priv *rt_priv_of(wm_runtime *rt) {
    return (rt_priv *)(void *)((char *)rt + rt_struct_bytes());
}

/*
 * Create a runtime with cfg's limits (zero fields take the defaults:
 * 1 Mi stack slots, 100000 nested calls, 4 GiB per memory). Installs the
 * process-wide guard-page trap handler (idempotent). NULL when out of
 * memory.
 */
wm_runtime *wm_runtime_new(const wm_config *cfg) {
    wm_runtime *rt = calloc(1, rt_struct_bytes() + sizeof(rt_priv));
    if (!rt) return NULL;
    if (cfg) rt->cfg = *cfg;
    if (!rt->cfg.stack_slots) rt->cfg.stack_slots = RT_DEFAULT_STACK_SLOTS;
    if (!rt->cfg.max_call_depth)
        rt->cfg.max_call_depth = RT_DEFAULT_CALL_DEPTH;
    if (!rt->cfg.max_memory_bytes ||
        rt->cfg.max_memory_bytes > RT_MAX_MEMORY_BYTES)
        rt->cfg.max_memory_bytes = RT_MAX_MEMORY_BYTES;
    rt->exec = interp_exec_new(&rt->cfg);
    if (!rt->exec || !mem_runtime_init(rt)) goto fail;
    mem_install_trap_handler();
    return rt;
fail:
    wm_runtime_free(rt);
    return NULL;
}

/* Free every store object (newest first, each fini once), the execution
 * context and the type table. NULL is a no-op. */
void wm_runtime_free(wm_runtime *rt) {
    if (!rt) return;
    rt_object *o = rt->objects;
    while (o) {
        rt_object *next = o->next;
        if (o->fini) o->fini(o->data);
        free(o);
        o = next;
    }
    rt->objects = NULL;
    if (rt->exec) interp_exec_free(rt->exec);
    mem_runtime_fini(rt);
    for (uint32_t i = 0; i < rt->cap_types; i++) free(rt->types[i].sig);
    free(rt->types);
    free(rt);
}

/* ==== Store objects ===================================================== */

void *rt_object_new(wm_runtime *rt, size_t size, void (*fini)(void *ptr)) {
    if (!rt || size > SIZE_MAX - sizeof(rt_object)) return NULL;
    rt_object *o = calloc(1, sizeof(rt_object) + size);
    if (!o) return NULL;
    o->rt = rt;
    o->fini = fini;
    o->next = rt->objects;
    if (o->next) o->next->prev = o;
    rt->objects = o;
    return o->data;
}

void rt_object_free(void *ptr) {
    if (!ptr) return;
    rt_object *o = rt_object_of(ptr);
    if (o->fini) o->fini(o->data);
    if (o->prev) o->prev->next = o->next;
    else o->rt->objects = o->next;
    if (o->next) o->next->prev = o->prev;
    free(o);
}

void rt_set_where(wm_error *err, const char *name) {
    if (!err) return;
    err->where[0] = 0;
    if (name) {
        size_t n = strlen(name);
        if (n >= sizeof err->where) n = sizeof err->where - 1;
        memcpy(err->where, name, n);
        err->where[n] = 0;
    }
}

/* ==== Canonical function types ========================================= */

static uint32_t rt_type_hash(const uint8_t *params, uint32_t n_params,
                             const uint8_t *results, uint32_t n_results) {
    uint32_t h = 2166136261u;                        /* FNV-1a */
    h = (h ^ n_params) * 16777619u;
    for (uint32_t i = 0; i < n_params; i++) h = (h ^ params[i]) * 16777619u;
    h = (h ^ (n_results + 0x100u)) * 16777619u;
    for (uint32_t i = 0; i < n_results; i++)
        h = (h ^ results[i]) * 16777619u;
    return h;
}

static bool rt_type_grow(wm_runtime *rt) {
    uint32_t cap = rt->cap_types ? rt->cap_types * 2 : 64;
    if (cap < rt->cap_types) return false;
    struct rt_type_entry *t = calloc(cap, sizeof *t);
    if (!t) return false;
    for (uint32_t i = 0; i < rt->cap_types; i++) {
        struct rt_type_entry *e = &rt->types[i];
        if (!e->sig) continue;
        uint32_t j = e->hash & (cap - 1);
        while (t[j].sig) j = (j + 1) & (cap - 1);
        t[j] = *e;
    }
    free(rt->types);
    rt->types = t;
    rt->cap_types = cap;
    return true;
}

uint32_t rt_intern_type(wm_runtime *rt, const uint8_t *params,
                        uint32_t n_params, const uint8_t *results,
                        uint32_t n_results) {
    uint32_t h = rt_type_hash(params, n_params, results, n_results);
    if (rt->cap_types) {
        for (uint32_t j = h & (rt->cap_types - 1);;
             j = (j + 1) & (rt->cap_types - 1)) {
            struct rt_type_entry *e = &rt->types[j];
            if (!e->sig) break;
            if (e->hash == h && e->n_params == n_params &&
                e->n_results == n_results &&
                (!n_params || !memcmp(e->sig, params, n_params)) &&
                (!n_results || !memcmp(e->sig + n_params, results,
                                       n_results)))
                return e->id;
        }
    }
    if ((uint64_t)(rt->n_types + 1) * 2 > rt->cap_types && !rt_type_grow(rt))
        return UINT32_MAX;
    if (rt->n_types == UINT32_MAX - 1) return UINT32_MAX;
    /* +1: a type with no params and no results still gets a non-NULL
     * signature buffer, which marks the slot as used. */
    uint8_t *sig = malloc((size_t)n_params + n_results + 1);
    if (!sig) return UINT32_MAX;
    if (n_params) memcpy(sig, params, n_params);
    if (n_results) memcpy(sig + n_params, results, n_results);
    uint32_t j = h & (rt->cap_types - 1);
    while (rt->types[j].sig) j = (j + 1) & (rt->cap_types - 1);
    rt->types[j] = (struct rt_type_entry){
        .sig = sig, .n_params = n_params, .n_results = n_results,
        .hash = h, .id = rt->n_types};
    return rt->n_types++;
}

/* ==== Modules =========================================================== */

/* The module arena may hold at most this much: decoded structures and
 * compiled code are a bounded multiple of the input, so a hostile module
 * cannot make the decoder allocate without limit. */
#define RT_ARENA_FACTOR 16u
#define RT_ARENA_SLACK  ((size_t)64 << 20)

static void rt_module_fini(void *ptr) {
    wm_module *wmod = ptr;
    module_release(&wmod->m);
}

/*
 * Decode, intern types, validate and compile. On failure *out is NULL,
 * everything is released and err holds the reason with err->where set to
 * the module name (byte_off / func_idx / instr_off as the decoder and
 * validator set them).
 */
wm_status wm_module_load(wm_runtime *rt, const uint8_t *bytes, size_t len,
                         const char *name, wm_module **out, wm_error *err) {
    wm_error local;
    if (!err) err = &local;
    wm_error_clear(err);
    rt_set_where(err, name);
    wm_module *wmod = NULL;
    wm_status st;
    if (out) *out = NULL;
    if (!rt || !out || (!bytes && len)) {
        st = wm_errf(err, WM_ERR_ARG, "invalid argument: %s",
                     !rt ? "no runtime" : !out ? "no result pointer"
                                              : "null bytes");
        goto fail;
    }
    if (len > (SIZE_MAX - RT_ARENA_SLACK) / RT_ARENA_FACTOR) {
        st = wm_errf(err, WM_ERR_LIMIT, "resource limit exceeded: module "
                     "of %zu bytes", len);
        goto fail;
    }
    wmod = rt_object_new(rt, sizeof *wmod, rt_module_fini);
    if (!wmod) {
        st = wm_errf(err, WM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    wmod->rt = rt;
    module *m = &wmod->m;
    m->arena.cap_bytes = len * RT_ARENA_FACTOR + RT_ARENA_SLACK;
    if (name) {
        size_t n = strlen(name);
        if (n >= sizeof m->name) n = sizeof m->name - 1;
        memcpy(m->name, name, n);
        m->name[n] = 0;
    }
    st = dec_module(m, bytes ? bytes : (const uint8_t *)"", len, err);
    if (st) goto fail;
    st = val_module(rt, m, err);   /* interns the types, then validates */
    if (st) goto fail;
    *out = wmod;
    return WM_OK;
fail:
    rt_object_free(wmod);
    if (err->code == WM_OK) err->code = st;
    rt_set_where(err, name);
    return st;
}

void wm_module_free(wm_module *mod) { rt_object_free(mod); }

uint32_t wm_module_n_imports(const wm_module *mod) {
    return mod ? mod->m.n_imports : 0;
}

uint32_t wm_module_n_exports(const wm_module *mod) {
    return mod ? mod->m.n_exports : 0;
}

/* The i-th import; a zeroed port when i is out of range. */
wm_port wm_module_import(const wm_module *mod, uint32_t i) {
    wm_port p;
    memset(&p, 0, sizeof p);
    if (!mod || i >= mod->m.n_imports) return p;
    const mod_import *im = &mod->m.imports[i];
    p.module = im->module;
    p.module_len = im->module_len;
    p.name = im->name;
    p.name_len = im->name_len;
    p.kind = (wm_extern_kind)im->kind;
    return p;
}

wm_port wm_module_export(const wm_module *mod, uint32_t i) {
    wm_port p;
    memset(&p, 0, sizeof p);
    if (!mod || i >= mod->m.n_exports) return p;
    const mod_export *ex = &mod->m.exports[i];
    p.name = ex->name;
    p.name_len = ex->name_len;
    p.kind = (wm_extern_kind)ex->kind;
    return p;
}
