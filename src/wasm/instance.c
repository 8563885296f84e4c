/*
 * instance.c — tables, globals, host functions, the linker and
 * instantiation (spec §4.5.4 "Instantiation", Wasm 2.0 order):
 *
 *   1. resolve every import through the linker and check its type
 *      ("unknown import", "incompatible import type");
 *   2. create this instance's functions, then its globals (constant
 *      expressions may read imported globals and take ref.func of any
 *      function), tables and memories;
 *   3. for each element segment in order: active ones run table.init then
 *      elem.drop, declarative ones are dropped;
 *   4. for each data segment in order: active ones run memory.init then
 *      data.drop;
 *   5. call the start function.
 *
 * A trap in 3-5 fails instantiation but its effects on imported tables
 * and memories stay, and those tables may now hold this instance's
 * functions; so from step 3 on a failed instance is left in the store
 * (freed with the runtime) instead of being freed at once.
 *
 * Memory layout: an instance is one store object holding, after the
 * struct, its index-space arrays, its own functions and globals and the
 * dropped flags. Defined tables and memories are separate store objects
 * (they need their own storage and fini), released by wm_instance_free.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* ==== Tables ============================================================ */

static void table_fini(void *ptr) {
    wm_table *t = ptr;
    free(t->elems);
    t->elems = NULL;
}

static bool table_elem_type_ok(int type) {
    return type == VT_FUNCREF || type == VT_EXTERNREF;
}

/* A table of min entries set to init; max UINT32_MAX when unbounded.
 * NULL on a bad type/limits, above MOD_MAX_TABLE_SIZE, or out of
 * memory. */
static wm_table *table_new(wm_runtime *rt, uint8_t elem_type, uint32_t min,
                           uint32_t max, void *init) {
    if (!rt || !table_elem_type_ok(elem_type) || min > max ||
        min > MOD_MAX_TABLE_SIZE)
        return NULL;
    wm_table *t = rt_object_new(rt, sizeof *t, table_fini);
    if (!t) return NULL;
    t->rt = rt;
    t->elem_type = elem_type;
    t->max = max;
    if (min) {
        /* calloc for null-filled tables: the pages stay untouched until
         * used, so a module declaring a huge table costs address space,
         * not memory. */
        t->elems = calloc(min, sizeof *t->elems);
        if (!t->elems) goto fail;
        if (init)
            for (uint32_t i = 0; i < min; i++) t->elems[i] = init;
    }
    t->size = min;
    return t;
fail:
    rt_object_free(t);
    return NULL;
}

/* Grow by delta entries set to init: the old size, or -1 past the
 * table's max, past MOD_MAX_TABLE_SIZE (an implementation limit the spec
 * allows), or out of memory. t->elems may move. */
int64_t table_grow(wm_table *t, uint32_t delta, void *init) {
    uint32_t old = t->size;
    if (delta == 0) return old;
    uint32_t lim = t->max < MOD_MAX_TABLE_SIZE ? t->max : MOD_MAX_TABLE_SIZE;
    if (old > lim || delta > lim - old) return -1;
    uint32_t n = old + delta;
    void **e = realloc(t->elems, (size_t)n * sizeof *e);
    if (!e) return -1;
    for (uint32_t i = old; i < n; i++) e[i] = init;
    t->elems = e;
    t->size = n;
    return old;
}

wm_table *wm_table_new(wm_runtime *rt, wm_valtype elem_type, uint32_t min,
                       uint32_t max, void *init) {
    if ((unsigned)elem_type > 0xff) return NULL;
    return table_new(rt, (uint8_t)elem_type, min, max, init);
}

uint32_t wm_table_size(const wm_table *t) { return t ? t->size : 0; }

wm_status wm_table_get(const wm_table *t, uint32_t i, void **out) {
    if (!t || !out) return WM_ERR_ARG;
    if (i >= t->size) return WM_TRAP_OOB_TABLE;
    *out = t->elems[i];
    return WM_OK;
}

/* ==== Globals =========================================================== */

static bool global_type_ok(int type) {
    return type == VT_I32 || type == VT_I64 || type == VT_F32 ||
           type == VT_F64 || type == VT_FUNCREF || type == VT_EXTERNREF;
}

wm_global *wm_global_new(wm_runtime *rt, wm_value v, int mutable_) {
    if (!rt || !global_type_ok((int)v.type)) return NULL;
    wm_global *g = rt_object_new(rt, sizeof *g, NULL);
    if (!g) return NULL;
    g->rt = rt;
    g->type = (uint8_t)v.type;
    g->mut = mutable_ != 0;
    g->val = rt_value_to_slot(&v);
    return g;
}

wm_value wm_global_get(const wm_global *g) {
    if (!g) return rt_slot_to_value(0, 0);
    return rt_slot_to_value(g->type, g->val);
}

wm_status wm_global_set(wm_global *g, wm_value v) {
    if (!g || !g->mut || (int)v.type != g->type) return WM_ERR_ARG;
    g->val = rt_value_to_slot(&v);
    return WM_OK;
}

/* ==== Functions ========================================================= */

static int func_sig_type(char c) {
    switch (c) {
    case 'i': return VT_I32;
    case 'I': return VT_I64;
    case 'f': return VT_F32;
    case 'F': return VT_F64;
    case 'r': return VT_FUNCREF;
    case 'e': return VT_EXTERNREF;
    default: return -1;
    }
}

/* Parse "(params)results"; counts into n_params/n_results and, when
 * types is non-NULL, the type bytes (params then results). */
static bool func_parse_sig(const char *sig, uint32_t *n_params,
                           uint32_t *n_results, uint8_t *types) {
    if (!sig || *sig != '(') return false;
    const char *p = sig + 1;
    uint32_t np = 0, nr = 0;
    for (; *p && *p != ')'; p++, np++) {
        int t = func_sig_type(*p);
        if (t < 0 || np >= MOD_MAX_PARAMS) return false;
        if (types) types[np] = (uint8_t)t;
    }
    if (*p != ')') return false;
    for (p++; *p; p++, nr++) {
        int t = func_sig_type(*p);
        if (t < 0 || nr >= MOD_MAX_RESULTS) return false;
        if (types) types[np + nr] = (uint8_t)t;
    }
    *n_params = np;
    *n_results = nr;
    return true;
}

/*
 * A host function with signature sig ("(ii)i", see wasmind.h). The type
 * bytes live in the same store object, after the wm_func. NULL on a bad
 * signature or out of memory.
 */
wm_func *wm_func_new_host(wm_runtime *rt, const char *sig, wm_host_fn fn,
                          void *userdata) {
    uint32_t np, nr;
    if (!rt || !fn || !func_parse_sig(sig, &np, &nr, NULL)) return NULL;
    wm_func *f = rt_object_new(rt, sizeof *f + np + nr + 1, NULL);
    if (!f) return NULL;
    uint8_t *types = (uint8_t *)(f + 1);
    func_parse_sig(sig, &np, &nr, types);
    f->host_type.n_params = np;
    f->host_type.n_results = nr;
    f->host_type.params = types;
    f->host_type.results = types + np;
    f->host_type.type_id = rt_intern_type(rt, types, np, types + np, nr);
    if (f->host_type.type_id == UINT32_MAX) goto fail;
    f->type = &f->host_type;
    f->type_id = f->host_type.type_id;
    f->host = fn;
    f->host_ud = userdata;
    return f;
fail:
    rt_object_free(f);
    return NULL;
}

wm_runtime *rt_func_runtime(const wm_func *f) {
    if (f->inst) return f->inst->rt;
    return rt_object_of(f)->rt;      /* host functions are store objects */
}

uint32_t wm_func_n_params(const wm_func *f) {
    return f ? f->type->n_params : 0;
}

uint32_t wm_func_n_results(const wm_func *f) {
    return f ? f->type->n_results : 0;
}

wm_valtype wm_func_param(const wm_func *f, uint32_t i) {
    if (!f || i >= f->type->n_params) return (wm_valtype)0;
    return (wm_valtype)f->type->params[i];
}

wm_valtype wm_func_result(const wm_func *f, uint32_t i) {
    if (!f || i >= f->type->n_results) return (wm_valtype)0;
    return (wm_valtype)f->type->results[i];
}

/* ==== Linker ============================================================ */

/*
 * An open-addressing hash table (linear probing, power-of-two capacity,
 * at most half full) from (module, name) byte strings to externs. Each
 * entry owns one buffer holding both names. Replacing a definition keeps
 * the slot (and its fallback name).
 */
typedef struct lk_entry {
    char *names;               /* module bytes then name bytes; NULL: empty */
    uint32_t module_len, name_len;
    uint64_t hash;
    wm_extern ext;
    char *alt;                 /* lk_define_fallback's name, or NULL */
    uint32_t alt_len;
} lk_entry;

struct wm_linker {
    wm_runtime *rt;
    lk_entry *slots;
    uint32_t n, cap;
};

static void lk_fini(void *ptr) {
    wm_linker *lk = ptr;
    for (uint32_t i = 0; i < lk->cap; i++) {
        free(lk->slots[i].names);
        free(lk->slots[i].alt);
    }
    free(lk->slots);
    lk->slots = NULL;
}

static uint64_t lk_hash(const char *mod, uint32_t mlen, const char *name,
                        uint32_t nlen) {
    uint64_t h = 14695981039346656037ull;             /* FNV-1a 64 */
    for (uint32_t i = 0; i < mlen; i++)
        h = (h ^ (uint8_t)mod[i]) * 1099511628211ull;
    h = (h ^ 0x100u ^ mlen) * 1099511628211ull;       /* separator */
    for (uint32_t i = 0; i < nlen; i++)
        h = (h ^ (uint8_t)name[i]) * 1099511628211ull;
    return h;
}

static lk_entry *lk_find(const wm_linker *lk, const char *mod, uint32_t mlen,
                         const char *name, uint32_t nlen, uint64_t h) {
    if (!lk->cap) return NULL;
    for (uint32_t j = (uint32_t)h & (lk->cap - 1);;
         j = (j + 1) & (lk->cap - 1)) {
        lk_entry *e = &lk->slots[j];
        if (!e->names) return e;
        if (e->hash == h && e->module_len == mlen && e->name_len == nlen &&
            !memcmp(e->names, mod, mlen) &&
            !memcmp(e->names + mlen, name, nlen))
            return e;
    }
}

static bool lk_grow(wm_linker *lk) {
    uint32_t cap = lk->cap ? lk->cap * 2 : 64;
    if (cap < lk->cap) return false;
    lk_entry *s = calloc(cap, sizeof *s);
    if (!s) return false;
    for (uint32_t i = 0; i < lk->cap; i++) {
        lk_entry *e = &lk->slots[i];
        if (!e->names) continue;
        uint32_t j = (uint32_t)e->hash & (cap - 1);
        while (s[j].names) j = (j + 1) & (cap - 1);
        s[j] = *e;
    }
    free(lk->slots);
    lk->slots = s;
    lk->cap = cap;
    return true;
}

static bool lk_extern_ok(const wm_extern *ext) {
    switch (ext->kind) {
    case WM_EXTERN_FUNC: return ext->of.func != NULL;
    case WM_EXTERN_TABLE: return ext->of.table != NULL;
    case WM_EXTERN_MEMORY: return ext->of.memory != NULL;
    case WM_EXTERN_GLOBAL: return ext->of.global != NULL;
    default: return false;
    }
}

/* Define (mod, name) as ext, replacing an earlier definition. */
static wm_status lk_define(wm_linker *lk, const char *mod, size_t mlen,
                           const char *name, size_t nlen, wm_extern ext,
                           wm_error *err) {
    if (!lk_extern_ok(&ext))
        return wm_errf(err, WM_ERR_ARG, "invalid argument: bad extern");
    if (mlen > UINT32_MAX / 2 || nlen > UINT32_MAX / 2)
        return wm_errf(err, WM_ERR_LIMIT, "resource limit exceeded: name");
    uint32_t ml = (uint32_t)mlen, nl = (uint32_t)nlen;
    uint64_t h = lk_hash(mod, ml, name, nl);
    lk_entry *e = lk_find(lk, mod, ml, name, nl, h);
    if (e && e->names) {
        e->ext = ext;
        return WM_OK;
    }
    if ((uint64_t)(lk->n + 1) * 2 > lk->cap) {
        if (!lk_grow(lk)) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
        e = lk_find(lk, mod, ml, name, nl, h);
    }
    char *names = malloc((size_t)ml + nl + 1);
    if (!names) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    if (ml) memcpy(names, mod, ml);
    if (nl) memcpy(names + ml, name, nl);
    *e = (lk_entry){.names = names, .module_len = ml, .name_len = nl,
                    .hash = h, .ext = ext};
    lk->n++;
    return WM_OK;
}

wm_linker *wm_linker_new(wm_runtime *rt) {
    if (!rt) return NULL;
    wm_linker *lk = rt_object_new(rt, sizeof *lk, lk_fini);
    if (lk) lk->rt = rt;
    return lk;
}

void wm_linker_free(wm_linker *lk) { rt_object_free(lk); }

wm_runtime *wm_linker_runtime(const wm_linker *lk) {
    return lk ? lk->rt : NULL;
}

wm_status wm_linker_define(wm_linker *lk, const char *mod_name,
                           const char *name, wm_extern ext, wm_error *err) {
    wm_error_clear(err);
    if (!lk || !mod_name || !name)
        return wm_errf(err, WM_ERR_ARG, "invalid argument");
    return lk_define(lk, mod_name, strlen(mod_name), name, strlen(name), ext,
                     err);
}

wm_status wm_linker_define_host(wm_linker *lk, const char *mod_name,
                                const wm_host_func_def *defs, size_t n,
                                void *userdata, wm_error *err) {
    wm_error_clear(err);
    if (!lk || !mod_name || (!defs && n))
        return wm_errf(err, WM_ERR_ARG, "invalid argument");
    size_t mlen = strlen(mod_name);
    for (size_t i = 0; i < n; i++) {
        if (!defs[i].name)
            return wm_errf(err, WM_ERR_ARG, "invalid argument: unnamed "
                           "host function");
        wm_func *f = wm_func_new_host(lk->rt, defs[i].sig, defs[i].fn,
                                      userdata);
        if (!f)
            return wm_errf(err, WM_ERR_ARG, "invalid argument: host function "
                           "%s.%s: bad signature \"%s\"", mod_name,
                           defs[i].name, defs[i].sig ? defs[i].sig : "");
        wm_extern ext = {.kind = WM_EXTERN_FUNC, .of.func = f};
        wm_status st = lk_define(lk, mod_name, mlen, defs[i].name,
                                 strlen(defs[i].name), ext, err);
        if (st) return st;
    }
    return WM_OK;
}

wm_status lk_define_fallback(wm_linker *lk, const char *mod_name,
                             const char *name, const char *alt,
                             wm_error *err) {
    if (!lk || !mod_name || !name || !alt)
        return wm_errf(err, WM_ERR_ARG, "invalid argument");
    size_t ml = strlen(mod_name), nl = strlen(name), al = strlen(alt);
    if (ml > UINT32_MAX / 2 || nl > UINT32_MAX / 2 || al > UINT32_MAX / 2)
        return wm_errf(err, WM_ERR_LIMIT, "resource limit exceeded: name");
    uint64_t h = lk_hash(mod_name, (uint32_t)ml, name, (uint32_t)nl);
    lk_entry *e = lk_find(lk, mod_name, (uint32_t)ml, name, (uint32_t)nl, h);
    if (!e || !e->names)
        return wm_errf(err, WM_ERR_ARG, "invalid argument: fallback for "
                       "undefined %s.%s", mod_name, name);
    char *copy = malloc(al + 1);
    if (!copy) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    memcpy(copy, alt, al + 1);
    free(e->alt);
    e->alt = copy;
    e->alt_len = (uint32_t)al;
    return WM_OK;
}

/* The extern for export ex of inst. */
static wm_extern inst_export_extern(const wm_instance *inst,
                                    const mod_export *ex) {
    wm_extern e;
    memset(&e, 0, sizeof e);
    e.kind = (wm_extern_kind)ex->kind;
    switch (ex->kind) {
    case WM_EXTERN_FUNC: e.of.func = inst->funcs[ex->idx]; break;
    case WM_EXTERN_TABLE: e.of.table = inst->tables[ex->idx]; break;
    case WM_EXTERN_MEMORY: e.of.memory = inst->mems[ex->idx]; break;
    default: e.of.global = inst->globals[ex->idx]; break;
    }
    return e;
}

wm_status wm_linker_define_instance(wm_linker *lk, const char *name,
                                    wm_instance *inst, wm_error *err) {
    wm_error_clear(err);
    if (!lk || !name || !inst)
        return wm_errf(err, WM_ERR_ARG, "invalid argument");
    size_t mlen = strlen(name);
    for (uint32_t i = 0; i < inst->mod->n_exports; i++) {
        const mod_export *ex = &inst->mod->exports[i];
        wm_status st = lk_define(lk, name, mlen, ex->name, ex->name_len,
                                 inst_export_extern(inst, ex), err);
        if (st) return st;
    }
    return WM_OK;
}

/* ==== Constant expressions ============================================= */

static bool ce_uleb(const uint8_t **p, const uint8_t *end, uint32_t *out) {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (*p >= end) return false;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (v > UINT32_MAX) return false;
            *out = (uint32_t)v;
            return true;
        }
    }
    return false;
}

static bool ce_sleb(const uint8_t **p, const uint8_t *end, unsigned bits,
                    int64_t *out) {
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        if (*p >= end || shift >= bits + 7) return false;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
            *out = (int64_t)v;
            return true;
        }
    }
}

/*
 * Evaluate a (validated) constant expression into a slot. Besides the
 * Wasm 2.0 forms it accepts the extended-const i32/i64 add/sub/mul, which
 * cost nothing here. WM_ERR_INVALID on anything else (the validator
 * rejects it first; this is the defensive backstop).
 */
static wm_status ce_eval(const wm_instance *inst, const mod_expr *e,
                         uint64_t *out, wm_error *err) {
    uint64_t stack[16];
    unsigned sp = 0;
    const uint8_t *p = e->code, *end = e->code + e->len;
    while (p < end) {
        uint8_t op = *p++;
        uint32_t idx;
        int64_t v;
        if (op == 0x0b) {
            if (sp != 1) break;
            *out = stack[0];
            return WM_OK;
        }
        if (op >= 0x6a && op <= 0x6c) {             /* i32.add/sub/mul */
            if (sp < 2) break;
            uint32_t a = (uint32_t)stack[sp - 2], b = (uint32_t)stack[sp - 1];
            sp--;
            stack[sp - 1] = op == 0x6a ? a + b : op == 0x6b ? a - b : a * b;
            continue;
        }
        if (op >= 0x7c && op <= 0x7e) {             /* i64.add/sub/mul */
            if (sp < 2) break;
            uint64_t a = stack[sp - 2], b = stack[sp - 1];
            sp--;
            stack[sp - 1] = op == 0x7c ? a + b : op == 0x7d ? a - b : a * b;
            continue;
        }
        if (sp == WM_ARRAY_LEN(stack)) break;
        switch (op) {
        case 0x41:                                  /* i32.const */
            if (!ce_sleb(&p, end, 32, &v)) goto bad;
            stack[sp++] = (uint32_t)v;
            continue;
        case 0x42:                                  /* i64.const */
            if (!ce_sleb(&p, end, 64, &v)) goto bad;
            stack[sp++] = (uint64_t)v;
            continue;
        case 0x43:                                  /* f32.const */
            if (end - p < 4) goto bad;
            stack[sp++] = (uint64_t)p[0] | (uint64_t)p[1] << 8 |
                          (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
            p += 4;
            continue;
        case 0x44: {                                /* f64.const */
            if (end - p < 8) goto bad;
            uint64_t bits = 0;
            for (int i = 7; i >= 0; i--) bits = bits << 8 | p[i];
            stack[sp++] = bits;
            p += 8;
            continue;
        }
        case 0xd0:                                  /* ref.null t */
            if (p >= end) goto bad;
            p++;
            stack[sp++] = 0;
            continue;
        case 0xd2:                                  /* ref.func x */
            if (!ce_uleb(&p, end, &idx) || idx >= inst->mod->n_funcs)
                goto bad;
            stack[sp++] = (uint64_t)(uintptr_t)inst->funcs[idx];
            continue;
        case 0x23:                                  /* global.get x */
            if (!ce_uleb(&p, end, &idx) || idx >= inst->mod->n_globals ||
                !inst->globals[idx])
                goto bad;
            stack[sp++] = inst->globals[idx]->val;
            continue;
        default:
            goto bad;
        }
    }
bad:
    if (err) err->byte_off = e->off;
    return wm_errf(err, WM_ERR_INVALID, "constant expression required");
}

/* ==== Segment initialisation ============================================ */

/* Element i of segment seg as a reference (wm_func* or externref). */
static void *inst_elem_ref(const wm_instance *inst, const mod_elem *seg,
                           uint32_t i, wm_error *err, wm_status *st) {
    if (seg->func_idxs) return inst->funcs[seg->func_idxs[i]];
    uint64_t v = 0;
    *st = ce_eval(inst, &seg->exprs[i], &v, err);
    return (void *)(uintptr_t)v;
}

wm_status inst_table_init(wm_instance *inst, uint32_t table_idx,
                          uint32_t elem_idx, uint32_t dst, uint32_t src,
                          uint32_t n, wm_error *err) {
    const mod_elem *seg = &inst->mod->elems[elem_idx];
    wm_table *t = inst->tables[table_idx];
    uint32_t len = inst->elem_dropped[elem_idx] ? 0 : seg->n_elems;
    if (src > len || n > len - src || dst > t->size || n > t->size - dst)
        return wm_errf(err, WM_TRAP_OOB_TABLE, "out of bounds table access");
    wm_status st = WM_OK;
    for (uint32_t k = 0; k < n && !st; k++)
        t->elems[dst + k] = inst_elem_ref(inst, seg, src + k, err, &st);
    return st;
}

wm_status inst_memory_init(wm_instance *inst, uint32_t data_idx,
                           uint32_t dst, uint32_t src, uint32_t n,
                           wm_error *err) {
    const mod_data *d = &inst->mod->datas[data_idx];
    wm_memory *mem = inst->mem0;
    uint32_t len = inst->data_dropped[data_idx] ? 0 : d->len;
    uint64_t size = mem ? mem->size_bytes : 0;
    if (src > len || n > len - src || dst > size || n > size - dst)
        return wm_errf(err, WM_TRAP_OOB_MEMORY,
                       "out of bounds memory access");
    if (n) memcpy(mem->base + dst, d->bytes + src, n);
    return WM_OK;
}

/* ==== Instances ========================================================= */

static size_t inst_align(size_t n) { return (n + 15) & ~(size_t)15; }

/* Allocate the instance and its arrays in one store object; the index
 * space pointers are still NULL. */
static wm_instance *inst_alloc(wm_runtime *rt, const wm_module *wmod) {
    const module *m = &wmod->m;
    uint32_t n_def_funcs = m->n_funcs - m->n_func_imports;
    uint32_t n_def_globals = m->n_globals - m->n_global_imports;
    size_t off = inst_align(sizeof(wm_instance));
    size_t o_funcs = off;   off = inst_align(off + m->n_funcs * sizeof(void *));
    size_t o_tables = off;  off = inst_align(off + m->n_tables * sizeof(void *));
    size_t o_mems = off;    off = inst_align(off + m->n_mems * sizeof(void *));
    size_t o_globals = off; off = inst_align(off + m->n_globals * sizeof(void *));
    size_t o_dfuncs = off;  off = inst_align(off + n_def_funcs * sizeof(wm_func));
    size_t o_dglobals = off;
    off = inst_align(off + n_def_globals * sizeof(wm_global));
    size_t o_edrop = off;   off = inst_align(off + m->n_elems);
    size_t o_ddrop = off;   off = inst_align(off + m->n_datas);
    char *b = rt_object_new(rt, off, NULL);
    if (!b) return NULL;
    wm_instance *inst = (wm_instance *)(void *)b;
    inst->rt = rt;
    inst->wmod = wmod;
    inst->mod = m;
    inst->funcs = (wm_func **)(void *)(b + o_funcs);
    inst->tables = (wm_table **)(void *)(b + o_tables);
    inst->mems = (wm_memory **)(void *)(b + o_mems);
    inst->globals = (wm_global **)(void *)(b + o_globals);
    inst->defined_funcs = (wm_func *)(void *)(b + o_dfuncs);
    wm_global *dglobals = (wm_global *)(void *)(b + o_dglobals);
    for (uint32_t i = 0; i < n_def_globals; i++)
        inst->globals[m->n_global_imports + i] = &dglobals[i];
    inst->elem_dropped = (uint8_t *)(b + o_edrop);
    inst->data_dropped = (uint8_t *)(b + o_ddrop);
    return inst;
}

/* Free the instance and the tables and memories it defined. The caller
 * promises nothing refers to them any more. */
void wm_instance_free(wm_instance *inst) {
    if (!inst) return;
    const module *m = inst->mod;
    for (uint32_t i = m->n_table_imports; i < m->n_tables; i++)
        rt_object_free(inst->tables[i]);
    for (uint32_t i = m->n_mem_imports; i < m->n_mems; i++)
        mem_free(inst->mems[i]);
    rt_object_free(inst);
}

static const char *const kind_name[] = {"func", "table", "memory", "global"};

/* Does the provided extern match import im's declared type? */
static bool inst_import_matches(const module *m, const mod_import *im,
                                const wm_extern *ext) {
    if ((unsigned)ext->kind != im->kind) return false;
    switch (im->kind) {
    case WM_EXTERN_FUNC: {
        const mod_functype *ft = &m->types[m->funcs[im->idx].type_idx];
        return ext->of.func->type_id == ft->type_id;
    }
    case WM_EXTERN_TABLE: {
        const mod_tabletype *tt = &m->tables[im->idx].type;
        const wm_table *t = ext->of.table;
        if (t->elem_type != tt->elem_type || t->size < tt->lim.min)
            return false;
        return !tt->lim.has_max || (t->max != UINT32_MAX &&
                                    t->max <= tt->lim.max);
    }
    case WM_EXTERN_MEMORY: {
        const mod_limits *lim = &m->mems[im->idx].lim;
        const wm_memory *mem = ext->of.memory;
        if (mem->n_pages < lim->min) return false;
        return !lim->has_max || (mem->decl_max_pages != UINT32_MAX &&
                                 mem->decl_max_pages <= lim->max);
    }
    case WM_EXTERN_GLOBAL: {
        const mod_globaltype *gt = &m->globals[im->idx].type;
        return ext->of.global->type == gt->type &&
               ext->of.global->mut == gt->mut;
    }
    default:
        return false;
    }
}

/* Step 1: resolve and type-check every import into inst's index spaces. */
static wm_status inst_link(wm_linker *lk, wm_instance *inst, wm_error *err) {
    const module *m = inst->mod;
    for (uint32_t i = 0; i < m->n_imports; i++) {
        const mod_import *im = &m->imports[i];
        uint64_t h = lk_hash(im->module, im->module_len, im->name,
                             im->name_len);
        const lk_entry *e = lk_find(lk, im->module, im->module_len, im->name,
                                    im->name_len, h);
        const char *what = NULL;
        if (!e || !e->names) {
            what = "unknown import";
        } else if (!inst_import_matches(m, im, &e->ext)) {
            /* A function of another type: the definition's fallback name,
             * if it has one whose type matches (lk_define_fallback). */
            const lk_entry *a = NULL;
            if (e->alt && im->kind == WM_EXTERN_FUNC)
                a = lk_find(lk, im->module, im->module_len, e->alt,
                            e->alt_len, lk_hash(im->module, im->module_len,
                                                e->alt, e->alt_len));
            if (a && a->names && inst_import_matches(m, im, &a->ext))
                e = a;
            else
                what = "incompatible import type";
        }
        if (what) {
            err->byte_off = im->off;
            return wm_errf(err, WM_ERR_UNLINKABLE, "%s: \"%.*s\" \"%.*s\" "
                           "(%s)", what, (int)(im->module_len > 60 ? 60 :
                                               im->module_len), im->module,
                           (int)(im->name_len > 60 ? 60 : im->name_len),
                           im->name, kind_name[im->kind & 3]);
        }
        switch (im->kind) {
        case WM_EXTERN_FUNC: inst->funcs[im->idx] = e->ext.of.func; break;
        case WM_EXTERN_TABLE: inst->tables[im->idx] = e->ext.of.table; break;
        case WM_EXTERN_MEMORY: inst->mems[im->idx] = e->ext.of.memory; break;
        default: inst->globals[im->idx] = e->ext.of.global; break;
        }
    }
    return WM_OK;
}

/* Step 2: functions, globals, tables, memories. */
static wm_status inst_alloc_defs(wm_instance *inst, wm_error *err) {
    const module *m = inst->mod;
    wm_runtime *rt = inst->rt;
    for (uint32_t i = m->n_func_imports; i < m->n_funcs; i++) {
        wm_func *f = &inst->defined_funcs[i - m->n_func_imports];
        f->type = &m->types[m->funcs[i].type_idx];
        f->type_id = f->type->type_id;
        f->inst = inst;
        f->func_idx = i;
        f->code = m->funcs[i].code;
        inst->funcs[i] = f;
    }
    for (uint32_t i = m->n_global_imports; i < m->n_globals; i++) {
        wm_global *g = inst->globals[i];
        g->rt = rt;
        g->type = m->globals[i].type.type;
        g->mut = m->globals[i].type.mut;
        wm_status st = ce_eval(inst, &m->globals[i].init, &g->val, err);
        if (st) return st;
    }
    for (uint32_t i = m->n_table_imports; i < m->n_tables; i++) {
        const mod_tabletype *tt = &m->tables[i].type;
        if (tt->lim.min > MOD_MAX_TABLE_SIZE)
            return wm_errf(err, WM_ERR_LIMIT, "resource limit exceeded: "
                           "table of %u elements (limit %u)", tt->lim.min,
                           MOD_MAX_TABLE_SIZE);
        inst->tables[i] = table_new(rt, tt->elem_type, tt->lim.min,
                                    tt->lim.has_max ? tt->lim.max
                                                    : UINT32_MAX, NULL);
        if (!inst->tables[i])
            return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = m->n_mem_imports; i < m->n_mems; i++) {
        const mod_limits *lim = &m->mems[i].lim;
        uint64_t cap = rt->cfg.max_memory_bytes / WASM_PAGE_SIZE;
        if (lim->min > cap)
            return wm_errf(err, WM_ERR_LIMIT, "resource limit exceeded: "
                           "memory of %u pages (limit %llu)", lim->min,
                           (unsigned long long)cap);
        inst->mems[i] = mem_new(rt, lim->min,
                                lim->has_max ? lim->max : UINT32_MAX);
        if (!inst->mems[i])
            return wm_errf(err, WM_ERR_NOMEM, "out of memory: memory of %u "
                           "pages", lim->min);
    }
    if (m->n_mems) {
        inst->mem0 = inst->mems[0];
        inst->mem_base = inst->mem0->base;
    }
    return WM_OK;
}

/* Steps 3 and 4: element then data segments, in order. */
static wm_status inst_init_segments(wm_instance *inst, wm_error *err) {
    const module *m = inst->mod;
    for (uint32_t i = 0; i < m->n_elems; i++) {
        const mod_elem *seg = &m->elems[i];
        if (seg->mode == SEG_ACTIVE) {
            uint64_t off;
            wm_status st = ce_eval(inst, &seg->offset, &off, err);
            if (!st)
                st = inst_table_init(inst, seg->table_idx, i, (uint32_t)off,
                                     0, seg->n_elems, err);
            if (st) return st;
        }
        if (seg->mode != SEG_PASSIVE) inst->elem_dropped[i] = 1;
    }
    for (uint32_t i = 0; i < m->n_datas; i++) {
        const mod_data *d = &m->datas[i];
        if (d->mode != SEG_ACTIVE) continue;
        uint64_t off;
        wm_status st = ce_eval(inst, &d->offset, &off, err);
        if (!st)
            st = inst_memory_init(inst, i, (uint32_t)off, 0, d->len, err);
        if (st) return st;
        inst->data_dropped[i] = 1;
    }
    return WM_OK;
}

wm_status wm_instantiate(wm_linker *lk, const wm_module *wmod,
                         wm_instance **out, wm_error *err) {
    wm_error local;
    if (!err) err = &local;
    wm_error_clear(err);
    if (out) *out = NULL;
    if (!lk || !wmod || !out || wmod->rt != lk->rt)
        return wm_errf(err, WM_ERR_ARG, "invalid argument");
    const module *m = &wmod->m;
    rt_set_where(err, m->name);
    bool keep = false;          /* reachable from the store: do not free */
    wm_status st;
    wm_instance *inst = inst_alloc(lk->rt, wmod);
    if (!inst) {
        st = wm_errf(err, WM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = inst_link(lk, inst, err))) goto fail;
    if ((st = inst_alloc_defs(inst, err))) goto fail;
    keep = true;
    if ((st = inst_init_segments(inst, err))) goto fail;
    if (m->has_start) {
        uint64_t slot[1] = {0};
        st = rt_call(inst->rt, inst->funcs[m->start_idx], slot, err);
        if (st) goto fail;
    }
    *out = inst;
    return WM_OK;
fail:
    if (!keep) wm_instance_free(inst);
    if (!err->where[0]) rt_set_where(err, m->name);
    return st;
}

/* ==== Exports =========================================================== */

int wm_instance_export(wm_instance *inst, const char *name, size_t name_len,
                       wm_extern *out) {
    if (!inst || (!name && name_len)) return 0;
    const module *m = inst->mod;
    for (uint32_t i = 0; i < m->n_exports; i++) {
        const mod_export *ex = &m->exports[i];
        if (ex->name_len == name_len &&
            (!name_len || !memcmp(ex->name, name, name_len))) {
            if (out) *out = inst_export_extern(inst, ex);
            return 1;
        }
    }
    return 0;
}

wm_func *wm_instance_func(wm_instance *inst, const char *name) {
    wm_extern e;
    if (!name || !wm_instance_export(inst, name, strlen(name), &e) ||
        e.kind != WM_EXTERN_FUNC)
        return NULL;
    return e.of.func;
}

wm_memory *wm_instance_memory(wm_instance *inst) {
    return inst ? inst->mem0 : NULL;
}
