/*
 * module.h — the decoded form of a Wasm module, and the internal contract
 * between decode.c (fills it), validate.c (checks it and compiles each body
 * to internal code) and instance.c (instantiates it).
 *
 * Everything a module owns lives in one arena (mod->arena), freed with the
 * module. The input bytes are copied into the arena first, so every `code`
 * pointer below points into that copy and `off` fields are offsets in the
 * original file (for error messages).
 *
 * Index spaces put imports first, as the spec does: funcs[0 ..
 * n_func_imports) are imported functions, the rest are defined; likewise
 * tables, mems and globals.
 */
#ifndef WM_MODULE_H
#define WM_MODULE_H

#include "../util/common.h"
#include "../util/arena.h"

/* Binary value-type bytes (same numbers as wm_valtype). */
enum {
    VT_I32 = 0x7f, VT_I64 = 0x7e, VT_F32 = 0x7d, VT_F64 = 0x7c,
    VT_V128 = 0x7b, VT_FUNCREF = 0x70, VT_EXTERNREF = 0x6f,
};

/* Hard caps on counts in a module (untrusted input: checked by decode.c
 * before allocating). Chosen like wasmtime/V8's implementation limits. */
#define MOD_MAX_TYPES      1000000u
#define MOD_MAX_FUNCS      1000000u
#define MOD_MAX_IMPORTS    100000u
#define MOD_MAX_EXPORTS    100000u
#define MOD_MAX_GLOBALS    1000000u
#define MOD_MAX_TABLES     100000u
#define MOD_MAX_MEMS       1u          /* Wasm 2.0: at most one memory */
#define MOD_MAX_SEGMENTS   100000u
#define MOD_MAX_PARAMS     1000u
#define MOD_MAX_RESULTS    1000u
#define MOD_MAX_LOCALS     50000u
#define MOD_MAX_TABLE_SIZE 10000000u
#define MOD_MAX_PAGES      65536u       /* 4 GiB of 64 KiB pages */

typedef struct mod_functype {
    uint32_t n_params, n_results;
    const uint8_t *params;     /* n_params value-type bytes */
    const uint8_t *results;    /* n_results value-type bytes */
    uint32_t type_id;          /* canonical id from rt_intern_type(): two
                                  types are equal iff their ids are */
} mod_functype;

typedef struct mod_limits {
    uint32_t min;
    uint32_t max;              /* UINT32_MAX when absent */
    bool has_max;
} mod_limits;

typedef struct mod_tabletype {
    uint8_t elem_type;         /* VT_FUNCREF or VT_EXTERNREF */
    mod_limits lim;
} mod_tabletype;

typedef struct mod_globaltype {
    uint8_t type;              /* value-type byte */
    bool mut;
} mod_globaltype;

/* A constant expression: the raw instruction bytes, `end` included. It is
 * validated by validate.c and evaluated by instance.c (i32/i64/f32/f64
 * .const, ref.null, ref.func, global.get, end). */
typedef struct mod_expr {
    const uint8_t *code;
    uint32_t len;
    uint32_t off;              /* file offset of code[0] */
} mod_expr;

typedef struct mod_func {
    uint32_t type_idx;
    /* Defined functions only (NULL/0 for imports): */
    uint32_t n_locals;         /* declared locals, params excluded */
    uint32_t n_local_groups;
    struct { uint32_t count; uint8_t type; } *local_groups;
    const uint8_t *body;       /* first instruction (after local decls) */
    uint32_t body_len;         /* up to and including the final `end` */
    uint32_t body_off;         /* file offset of the function's size
                                  field's entry, i.e. where the code entry
                                  begins; instr_off in errors is relative
                                  to `body` */
    struct interp_code *code;  /* compiled by validate.c; NULL for imports */
} mod_func;

typedef struct mod_table { mod_tabletype type; } mod_table;
typedef struct mod_mem { mod_limits lim; } mod_mem;

typedef struct mod_global {
    mod_globaltype type;
    mod_expr init;             /* defined globals only */
} mod_global;

typedef struct mod_import {
    const char *module;  uint32_t module_len;   /* NUL-terminated copies; */
    const char *name;    uint32_t name_len;     /* may contain U+0000 */
    uint8_t kind;              /* WM_EXTERN_* */
    uint32_t idx;              /* index in funcs/tables/mems/globals */
    uint32_t off;              /* file offset, for errors */
} mod_import;

typedef struct mod_export {
    const char *name;    uint32_t name_len;
    uint8_t kind;              /* WM_EXTERN_* */
    uint32_t idx;
} mod_export;

enum { SEG_ACTIVE = 0, SEG_PASSIVE = 1, SEG_DECLARATIVE = 2 };

typedef struct mod_elem {
    uint8_t mode;              /* SEG_* */
    uint8_t elem_type;         /* VT_FUNCREF / VT_EXTERNREF */
    uint32_t table_idx;        /* active only */
    mod_expr offset;           /* active only */
    uint32_t n_elems;
    /* Exactly one of these is set: function indices (the flag forms
     * 0..3) or one constant expression per element (forms 4..7). */
    uint32_t *func_idxs;
    mod_expr *exprs;
    uint32_t off;              /* file offset of the segment */
} mod_elem;

typedef struct mod_data {
    uint8_t mode;              /* SEG_ACTIVE or SEG_PASSIVE */
    uint32_t mem_idx;
    mod_expr offset;           /* active only */
    const uint8_t *bytes;
    uint32_t len;
    uint32_t off;
} mod_data;

typedef struct mod_custom {
    const char *name; uint32_t name_len;
    const uint8_t *bytes; uint32_t len;
} mod_custom;

typedef struct module {
    arena arena;               /* owns everything below */
    const uint8_t *bytes;      /* copy of the input */
    size_t size;
    char name[128];            /* for messages ("fib.wasm"), may be "" */

    uint32_t n_types;          mod_functype *types;
    uint32_t n_imports;        mod_import *imports;
    uint32_t n_funcs, n_func_imports;       mod_func *funcs;
    uint32_t n_tables, n_table_imports;     mod_table *tables;
    uint32_t n_mems, n_mem_imports;         mod_mem *mems;
    uint32_t n_globals, n_global_imports;   mod_global *globals;
    uint32_t n_exports;        mod_export *exports;
    bool has_start;            uint32_t start_idx;
    uint32_t n_elems;          mod_elem *elems;
    bool has_data_count;       uint32_t data_count;
    uint32_t n_datas;          mod_data *datas;
    uint32_t n_customs;        mod_custom *customs;

    /* From the `name` custom section (best effort: a malformed name
     * section is ignored, as the spec requires). func_names[i] is NULL
     * when function i has no name. */
    const char **func_names;

    /* Functions referenced by ref.func outside function bodies (in
     * globals, exports and element segments): C.refs in the spec. Set by
     * decode.c as a bitset over funcs, used by validate.c. */
    uint8_t *declared_refs;
} module;

/* Decode `len` bytes into *m (zeroed by the caller). On failure returns
 * WM_ERR_MALFORMED with the spec's reason in err->msg and err->byte_off
 * set (WM_ERR_LIMIT when a count exceeds a MOD_MAX_* cap, WM_ERR_NOMEM
 * when the arena is exhausted); *m must still be released with
 * module_release(). */
WM_INTERNAL wm_status dec_module(module *m, const uint8_t *bytes, size_t len,
                                 wm_error *err);

/* Validate everything outside function bodies (check.c): type indices of
 * imports/functions, limits, "multiple memories", export names unique and
 * indices valid, the start function's type, globals/element/data segments
 * and their constant expressions (types, "constant expression required",
 * global.get of imported immutable globals only), element types against
 * tables, data count. WM_ERR_INVALID with byte_off on failure. Called by
 * val_module() before the function bodies. */
WM_INTERNAL wm_status val_module_decls(module *m, wm_error *err);

/* Validate every part of the module and compile each function body to
 * internal code (mod_func.code). WM_ERR_INVALID with func_idx/instr_off on
 * failure. `rt` interns the function types. */
WM_INTERNAL wm_status val_module(struct wm_runtime *rt, module *m,
                                 wm_error *err);

WM_INTERNAL void module_release(module *m);

/* A readable name for function idx: the name section's, else NULL. */
WM_INTERNAL const char *mod_func_name(const module *m, uint32_t idx);

#endif
