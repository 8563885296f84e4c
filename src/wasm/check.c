/*
 * check.c — module-level validation: everything outside function bodies
 * (see val_module_decls in module.h). The body validator (validate.c)
 * calls this first.
 *
 * Checks, in the reference interpreter's order: import and function type
 * indices, global initialisers, table and memory limits, "multiple
 * memories", element segments (element expressions, table index and
 * type, offset), data segments (memory index, offset), the start
 * function's type, exports (indices, unique names).
 *
 * Constant expressions (Wasm 2.0): t.const, ref.null t, ref.func f and
 * global.get g, then `end`. Like the spec, they see only the imported
 * globals (a defined one is "unknown global"), and global.get of a
 * mutable global is not constant. The decoder has already checked their
 * syntax, so reading immediates here cannot fail.
 *
 * Failures return WM_ERR_INVALID with the spec's text first ("unknown
 * function 7", "type mismatch: ...") and err->byte_off at the offending
 * item where the module records one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "module.h"
#include "util/leb128.h"

WM_PRINTF(3, 4)
static wm_status inv(wm_error *err, int64_t off, const char *fmt, ...) {
    if (!err) return WM_ERR_INVALID;
    err->code = WM_ERR_INVALID;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->byte_off = off;
    err->func_idx = -1;
    err->instr_off = -1;
    return WM_ERR_INVALID;
}

/* ==== Constant expressions ============================================= */

/* Skip a u32/s32/s64 LEB known to be well-formed (the decoder checked). */
static const uint8_t *skip_leb(const uint8_t *p, const uint8_t *end) {
    while (p < end && (*p & 0x80)) p++;
    return p < end ? p + 1 : end;
}

static uint32_t get_u32(const uint8_t **pp, const uint8_t *end) {
    uint32_t v = 0;
    if (leb_read_u32(pp, end, &v) != LEB_OK) *pp = end;
    return v;
}

/*
 * Check that `e` is a constant expression producing exactly one value of
 * type `want`. `what` names the place for messages ("global 3").
 * First every instruction must be constant (and global.get's index known),
 * then the types are checked, as the reference does.
 */
static wm_status check_const(const module *m, const mod_expr *e,
                             uint8_t want, const char *what, wm_error *err) {
    const uint8_t *p = e->code, *end = e->code + e->len;
    /* Pass 1: constness. */
    while (p < end) {
        int64_t at = (int64_t)e->off + (p - e->code);
        uint8_t op = *p++;
        switch (op) {
        case 0x41: case 0x42: p = skip_leb(p, end); break;
        case 0x43: p += 4; break;
        case 0x44: p += 8; break;
        case 0xd0: p += 1; break;
        case 0xd2: p = skip_leb(p, end); break;
        case 0x23: {
            uint32_t g = get_u32(&p, end);
            if (g >= m->n_global_imports)
                return inv(err, at, "unknown global %u: %s initialiser may "
                           "only read imported globals", g, what);
            if (m->globals[g].type.mut)
                return inv(err, at, "constant expression required: %s "
                           "reads mutable global %u", what, g);
            break;
        }
        case 0x0b:
            if (p == end) goto typing;
            return inv(err, at, "constant expression required: %s", what);
        default:
            return inv(err, at, "constant expression required: %s has "
                       "opcode 0x%02x", what, op);
        }
    }
typing:
    /* Pass 2: typing. Constant instructions only push, so the expression
     * is well-typed iff it pushes exactly one value of type `want`. */
    p = e->code;
    uint32_t n_vals = 0;
    uint8_t got = 0;
    while (p < end) {
        int64_t at = (int64_t)e->off + (p - e->code);
        uint8_t op = *p++, t = 0;
        switch (op) {
        case 0x41: t = VT_I32; p = skip_leb(p, end); break;
        case 0x42: t = VT_I64; p = skip_leb(p, end); break;
        case 0x43: t = VT_F32; p += 4; break;
        case 0x44: t = VT_F64; p += 8; break;
        case 0xd0: t = *p++; break;
        case 0xd2: {
            uint32_t f = get_u32(&p, end);
            if (f >= m->n_funcs)
                return inv(err, at, "unknown function %u: in %s", f, what);
            t = VT_FUNCREF;
            break;
        }
        case 0x23: t = m->globals[get_u32(&p, end)].type.type; break;
        default: p = end; continue;   /* the final `end` */
        }
        if (n_vals++ == 0) got = t;
    }
    if (n_vals != 1 || got != want) {
        if (n_vals == 0)
            return inv(err, e->off, "type mismatch: %s: expected %s, got "
                       "nothing", what, wm_valtype_str((wm_valtype)want));
        if (n_vals > 1)
            return inv(err, e->off, "type mismatch: %s: expected one %s, "
                       "got %u values", what, wm_valtype_str((wm_valtype)want), n_vals);
        return inv(err, e->off, "type mismatch: %s: expected %s, got %s",
                   what, wm_valtype_str((wm_valtype)want), wm_valtype_str((wm_valtype)got));
    }
    return WM_OK;
}

/* ==== Types and limits ================================================== */

static wm_status check_limits(const mod_limits *lim, uint64_t range,
                              const char *range_msg, int64_t off,
                              wm_error *err) {
    if (lim->min > range)
        return inv(err, off, "%s: minimum %u", range_msg, lim->min);
    if (lim->has_max) {
        if (lim->max > range)
            return inv(err, off, "%s: maximum %u", range_msg, lim->max);
        if (lim->min > lim->max)
            return inv(err, off, "size minimum must not be greater than "
                       "maximum: %u > %u", lim->min, lim->max);
    }
    return WM_OK;
}

#define MEM_RANGE_MSG "memory size must be at most 65536 pages (4GiB)"
#define TABLE_RANGE_MSG "table size must be at most 2^32-1"

/* ==== Exports =========================================================== */

static uint32_t name_hash(const char *s, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Export indices in range and names unique (open-addressing hash set of
 * export indices; scratch freed before returning). */
static wm_status check_exports(const module *m, wm_error *err) {
    wm_status st = WM_OK;
    size_t cap = 16;
    while (cap < (size_t)m->n_exports * 2) cap *= 2;
    uint32_t *slots = malloc(cap * sizeof *slots);
    if (!slots) {
        if (err) {
            wm_errf(err, WM_ERR_NOMEM, "out of memory");
            err->byte_off = -1;
        }
        return WM_ERR_NOMEM;
    }
    memset(slots, 0xff, cap * sizeof *slots);
    for (uint32_t i = 0; i < m->n_exports; i++) {
        const mod_export *ex = &m->exports[i];
        static const char *const kind_name[] = {"function", "table",
                                                "memory", "global"};
        uint32_t limit = ex->kind == WM_EXTERN_FUNC ? m->n_funcs
                       : ex->kind == WM_EXTERN_TABLE ? m->n_tables
                       : ex->kind == WM_EXTERN_MEMORY ? m->n_mems
                       : m->n_globals;
        if (ex->idx >= limit) {
            st = inv(err, -1, "unknown %s %u: export \"%.*s\"",
                     kind_name[ex->kind & 3], ex->idx,
                     (int)(ex->name_len > 64 ? 64 : ex->name_len), ex->name);
            goto fail;
        }
        size_t h = name_hash(ex->name, ex->name_len) & (cap - 1);
        for (;;) {
            uint32_t j = slots[h];
            if (j == UINT32_MAX) { slots[h] = i; break; }
            const mod_export *o = &m->exports[j];
            if (o->name_len == ex->name_len &&
                memcmp(o->name, ex->name, ex->name_len) == 0) {
                st = inv(err, -1, "duplicate export name \"%.*s\"",
                         (int)(ex->name_len > 64 ? 64 : ex->name_len),
                         ex->name);
                goto fail;
            }
            h = (h + 1) & (cap - 1);
        }
    }
fail:
    free(slots);
    return st;
}

/* ==== Module ============================================================ */

wm_status val_module_decls(module *m, wm_error *err) {
    wm_status st;
    char what[64];

    /* Type indices of imported and defined functions. */
    for (uint32_t i = 0; i < m->n_imports; i++) {
        const mod_import *im = &m->imports[i];
        if (im->kind == WM_EXTERN_FUNC) {
            uint32_t t = m->funcs[im->idx].type_idx;
            if (t >= m->n_types)
                return inv(err, im->off, "unknown type %u: import %u", t, i);
        } else if (im->kind == WM_EXTERN_TABLE) {
            st = check_limits(&m->tables[im->idx].type.lim, UINT32_MAX,
                              TABLE_RANGE_MSG, im->off, err);
            if (st) return st;
        } else if (im->kind == WM_EXTERN_MEMORY) {
            st = check_limits(&m->mems[im->idx].lim, MOD_MAX_PAGES,
                              MEM_RANGE_MSG, im->off, err);
            if (st) return st;
        }
    }
    for (uint32_t i = m->n_func_imports; i < m->n_funcs; i++) {
        uint32_t t = m->funcs[i].type_idx;
        if (t >= m->n_types)
            return inv(err, m->funcs[i].body ? (int64_t)m->funcs[i].body_off : -1,
                       "unknown type %u: function %u", t, i);
    }

    /* Globals. */
    for (uint32_t i = m->n_global_imports; i < m->n_globals; i++) {
        snprintf(what, sizeof what, "global %u", i);
        st = check_const(m, &m->globals[i].init, m->globals[i].type.type,
                         what, err);
        if (st) return st;
    }

    /* Tables and memories. */
    for (uint32_t i = m->n_table_imports; i < m->n_tables; i++) {
        st = check_limits(&m->tables[i].type.lim, UINT32_MAX,
                          TABLE_RANGE_MSG, -1, err);
        if (st) return st;
    }
    for (uint32_t i = m->n_mem_imports; i < m->n_mems; i++) {
        st = check_limits(&m->mems[i].lim, MOD_MAX_PAGES, MEM_RANGE_MSG, -1,
                          err);
        if (st) return st;
    }
    if (m->n_mems > 1)
        return inv(err, -1, "multiple memories: %u (Wasm 2.0 allows one)",
                   m->n_mems);

    /* Element segments. */
    for (uint32_t i = 0; i < m->n_elems; i++) {
        const mod_elem *e = &m->elems[i];
        snprintf(what, sizeof what, "element segment %u", i);
        if (e->exprs) {
            for (uint32_t j = 0; j < e->n_elems; j++) {
                st = check_const(m, &e->exprs[j], e->elem_type, what, err);
                if (st) return st;
            }
        } else {
            for (uint32_t j = 0; j < e->n_elems; j++)
                if (e->func_idxs[j] >= m->n_funcs)
                    return inv(err, e->off, "unknown function %u: in %s",
                               e->func_idxs[j], what);
        }
        if (e->mode == SEG_ACTIVE) {
            if (e->table_idx >= m->n_tables)
                return inv(err, e->off, "unknown table %u: in %s",
                           e->table_idx, what);
            uint8_t tt = m->tables[e->table_idx].type.elem_type;
            if (tt != e->elem_type)
                return inv(err, e->off, "type mismatch: %s has %s elements, "
                           "table %u holds %s", what, wm_valtype_str((wm_valtype)e->elem_type),
                           e->table_idx, wm_valtype_str((wm_valtype)tt));
            st = check_const(m, &e->offset, VT_I32, what, err);
            if (st) return st;
        }
    }

    /* Data segments. */
    for (uint32_t i = 0; i < m->n_datas; i++) {
        const mod_data *ds = &m->datas[i];
        if (ds->mode != SEG_ACTIVE) continue;
        snprintf(what, sizeof what, "data segment %u", i);
        if (ds->mem_idx >= m->n_mems)
            return inv(err, ds->off, "unknown memory %u: in %s", ds->mem_idx,
                       what);
        st = check_const(m, &ds->offset, VT_I32, what, err);
        if (st) return st;
    }

    /* Start function. */
    if (m->has_start) {
        if (m->start_idx >= m->n_funcs)
            return inv(err, -1, "unknown function %u: start function",
                       m->start_idx);
        const mod_functype *ft = &m->types[m->funcs[m->start_idx].type_idx];
        if (ft->n_params || ft->n_results)
            return inv(err, -1, "start function %u must have type [] -> []",
                       m->start_idx);
    }

    return check_exports(m, err);
}
