/*
 * decode.c — the Wasm 2.0 binary decoder: bytes -> `module` (module.h).
 *
 * One linear pass over a private copy of the input (kept in the module's
 * arena, so every pointer in `module` points into it). Every section of
 * Wasm 2.0 is decoded, with the format's own rules: section order, LEB128
 * length limits, UTF-8 names, sizes that must match, and a syntactic scan
 * of every function body and constant expression (opcodes, immediates,
 * block nesting), so a module that passes dec_module() is well-formed and
 * the validator only has typing left to do.
 *
 * Error texts are the spec's (the reference interpreter's) so the .wast
 * runner can compare by prefix: "<spec text>[: detail]: section N (name)
 * at <item> K", with err->byte_off the offset in the file, and for
 * function bodies err->func_idx / err->instr_off as well.
 *
 * Like the reference decoder (whose behaviour the spec tests encode),
 * reading is bounded by the end of the file, not of the section or body:
 * a section or body is parsed as far as its contents go and only then
 * compared with its declared size ("section size mismatch"). So a body
 * without its final `end` followed by more code is "END opcode expected"
 * or a size mismatch, and a truncated last item is "unexpected end of
 * section or function". A length (name, vector, section size) is "length
 * out of bounds" when it exceeds the bytes left in the file counted from
 * the length field itself.
 *
 * Everything is checked against the bytes remaining before it is read or
 * allocated: a count is never trusted beyond "one byte per item", and
 * counts within that bound but beyond module.h's MOD_MAX_* caps give
 * WM_ERR_LIMIT.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "module.h"
#include "util/leb128.h"
#include "util/utf8.h"

/* ==== Tables derived from opcodes.def ================================== */

enum imm_kind {
    IMM_ILLEGAL = 0,
    IMM_NONE, IMM_BLOCKTYPE, IMM_LABEL, IMM_BR_TABLE, IMM_FUNC,
    IMM_CALL_INDIRECT, IMM_LOCAL, IMM_GLOBAL, IMM_TABLE, IMM_MEMARG,
    IMM_MEM0, IMM_I32, IMM_I64, IMM_F32, IMM_F64, IMM_SELECT_T,
    IMM_REFTYPE, IMM_DATA, IMM_ELEM, IMM_MEMORY_INIT, IMM_MEMORY_COPY,
    IMM_TABLE_INIT, IMM_TABLE_COPY,
    IMM_PREFIX_FC, IMM_PREFIX_SIMD, IMM_ELSE,
};

/* `else` gets a kind of its own so the scanner's switch dispatches on one
 * table lookup (`end` is tested before the switch). */
#define OP_KIND(byte, kind) ((byte) == 0x05 ? IMM_ELSE : (kind))

/* Immediate kind of every one-byte opcode; IMM_ILLEGAL for unassigned. */
static const uint8_t op_imm[256] = {
#define OP(name, byte, imm, sig, align) [byte] = OP_KIND(byte, IMM_##imm),
#include "opcodes.def"
    [0xfc] = IMM_PREFIX_FC,
    [0xfd] = IMM_PREFIX_SIMD,
};

/* Immediate kind of every 0xFC sub-opcode. */
static const uint8_t fc_imm[] = {
#define OP(name, byte, imm, sig, align)
#define OPFC(name, subop, imm, sig) [subop] = IMM_##imm,
#include "opcodes.def"
};

/*
 * Fast-path class of each opcode for the body scanner: 1 + the number of
 * plain LEB128 immediates of at most 5 bytes it has (0, 1 or 2), or 0 when
 * it needs the full switch (control, prefixes, other immediates, illegal
 * opcodes: unassigned entries default to 0). i32.const counts as one
 * immediate (its rare 5-byte form goes to the signed reader).
 */
#define OP_CLASS(byte, kind)                                              \
    ((byte) == 0x0b || (byte) == 0x05 || (byte) == 0xd2 ? 0               \
     : (kind) == IMM_NONE ? 1                                             \
     : (kind) == IMM_LABEL || (kind) == IMM_LOCAL || (kind) == IMM_GLOBAL  \
       || (kind) == IMM_TABLE || (kind) == IMM_FUNC || (kind) == IMM_I32   \
       ? 2                                                                \
     : (kind) == IMM_MEMARG || (kind) == IMM_CALL_INDIRECT ? 3 : 0)

static const uint8_t op_class[256] = {
#define OP(name, byte, imm, sig, align) [byte] = OP_CLASS(byte, IMM_##imm),
#include "opcodes.def"
};

enum {
    OPC_BLOCK = 0x02, OPC_LOOP = 0x03, OPC_IF = 0x04, OPC_ELSE = 0x05,
    OPC_END = 0x0b, OPC_REF_FUNC = 0xd2,
    FC_MEMORY_INIT = 8, FC_DATA_DROP = 9,
};

/* ==== Section ids and order ============================================ */

enum {
    SEC_CUSTOM = 0, SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_TABLE,
    SEC_MEMORY, SEC_GLOBAL, SEC_EXPORT, SEC_START, SEC_ELEMENT, SEC_CODE,
    SEC_DATA, SEC_DATACOUNT, SEC_COUNT
};

static const char *const sec_name[SEC_COUNT] = {
    "custom", "type", "import", "function", "table", "memory", "global",
    "export", "start", "element", "code", "data", "data count",
};

/* Position of each section in the required order (data count sits
 * between element and code). */
static const uint8_t sec_rank[SEC_COUNT] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10,
};
enum { RANK_FUNCTION = 3, RANK_TABLE = 4, RANK_MEMORY = 5, RANK_GLOBAL = 6,
       RANK_END = 13 };

/* ==== Decoder state ===================================================== */

/* An import's type, kept until the index spaces are allocated. */
typedef union imp_desc {
    uint32_t type_idx;
    mod_tabletype table;
    mod_limits mem;
    mod_globaltype global;
} imp_desc;

typedef struct dec {
    module *m;
    wm_error *err;
    const uint8_t *base;       /* m->bytes */
    const uint8_t *file_end;
    const uint8_t *p;          /* cursor */
    const uint8_t *end;        /* reading limit: the end of the file */
    const uint8_t *sec_end;    /* declared end of the current section,
                                  clamped to the file */

    /* Location for messages. */
    int sec_id;                /* -1 outside sections */
    const char *item_kind;     /* "function", "segment", ... or NULL */
    uint32_t item;
    int64_t func_idx;          /* while scanning a body, else -1 */
    const uint8_t *body;       /* first instruction of that body */

    /* Section bookkeeping. */
    uint8_t last_rank;
    imp_desc *imp_descs;
    uint32_t n_func_decls;     /* function section count */
    uint32_t *func_decl_types;
    uint32_t n_codes;          /* code section count */
    mod_func *codes;           /* bodies when n_codes != n_func_decls */
    bool funcs_done, tables_done, mems_done, globals_done;
    const uint8_t *data_op_at; /* first memory.init/data.drop, or NULL */
    uint32_t cap_customs;
    const uint8_t *name_sec;   /* payload of the first `name` section */
    uint32_t name_sec_len;

    wm_status status;          /* of the first failure */

    /* Scratch for the block nesting of the expression being scanned:
     * 1 = an `if` still allowed to see its `else`, 0 otherwise. */
    uint8_t *ctl;
    size_t ctl_cap;
} dec;

#define TRY(x) do { if (!(x)) return false; } while (0)

/* ==== Errors ============================================================ */

/*
 * Record a failure at `at` (a pointer into the copy): the printf message
 * (spec text first, then detail) followed by the current location. Only
 * the first failure is recorded; returns false so callers can
 * `return dec_fail(...)`.
 */
WM_PRINTF(4, 5)
static bool dec_failc(dec *d, wm_status code, const uint8_t *at,
                      const char *fmt, ...) {
    wm_error *err = d->err;
    if (d->status != WM_OK) return false;
    d->status = code;
    if (!err) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(err->msg);
    if (d->sec_id >= 0 && n < sizeof err->msg) {
        int k = snprintf(err->msg + n, sizeof err->msg - n, ": section %d (%s)",
                         d->sec_id, sec_name[d->sec_id]);
        n = k > 0 ? n + (size_t)k : n;
        if (d->item_kind && n < sizeof err->msg)
            snprintf(err->msg + n, sizeof err->msg - n, " at %s %u",
                     d->item_kind, d->item);
    }
    err->code = code;
    err->byte_off = at ? (int64_t)(at - d->base) : -1;
    err->func_idx = d->func_idx;
    err->instr_off = (d->func_idx >= 0 && at && d->body && at >= d->body)
                         ? (int64_t)(at - d->body) : -1;
    return false;
}

#define dec_fail(d, at, ...) dec_failc((d), WM_ERR_MALFORMED, (at), __VA_ARGS__)

static bool fail_end(dec *d) {
    if (d->sec_id < 0) return dec_fail(d, d->p, "unexpected end");
    return dec_fail(d, d->p, "unexpected end of section or function");
}

static bool fail_leb(dec *d, leb_status st) {
    switch (st) {
    case LEB_END: return fail_end(d);
    case LEB_TOO_LONG:
        return dec_fail(d, d->p, "integer representation too long");
    case LEB_TOO_LARGE: return dec_fail(d, d->p, "integer too large");
    case LEB_OK: break;
    }
    return true;
}

static bool fail_nomem(dec *d) {
    return dec_failc(d, WM_ERR_NOMEM, d->p, "out of memory");
}

/* ==== Primitive readers ================================================= */

static bool rd_byte(dec *d, uint8_t *out) {
    *out = 0;
    if (d->p == d->end) return fail_end(d);
    *out = *d->p++;
    return true;
}

static bool rd_u32(dec *d, uint32_t *out) {
    leb_status st = leb_read_u32(&d->p, d->end, out);
    return st == LEB_OK ? true : fail_leb(d, st);
}

static bool rd_s32(dec *d) {
    int32_t v;
    leb_status st = leb_read_s32(&d->p, d->end, &v);
    return st == LEB_OK ? true : fail_leb(d, st);
}

static bool rd_s64(dec *d) {
    int64_t v;
    leb_status st = leb_read_s64(&d->p, d->end, &v);
    return st == LEB_OK ? true : fail_leb(d, st);
}

static bool rd_skip(dec *d, size_t n) {
    if (n > (size_t)(d->end - d->p)) {
        d->p = d->end;
        return fail_end(d);
    }
    d->p += n;
    return true;
}

/*
 * A length or count (u32). "length out of bounds" when it exceeds what is
 * left of the file counted from the length field (the reference's rule);
 * the caller's reads then catch overruns of the current region.
 */
static bool rd_len(dec *d, uint32_t *out) {
    const uint8_t *at = d->p;
    TRY(rd_u32(d, out));
    if (*out > (uint64_t)(d->file_end - at))
        return dec_fail(d, at, "length out of bounds");
    return true;
}

/*
 * A vector count, plus how many items may really be stored: every item
 * takes at least one byte, so at most the bytes left in the region. A
 * count within that bound but over `cap` is an implementation limit.
 */
static bool rd_count(dec *d, uint32_t cap, const char *what, uint32_t *n,
                     uint32_t *n_alloc) {
    const uint8_t *at = d->p;
    TRY(rd_len(d, n));
    size_t left = (size_t)(d->end - d->p);
    *n_alloc = *n <= left ? *n : (uint32_t)left;
    if (*n <= left && *n > cap)
        return dec_failc(d, WM_ERR_LIMIT, at, "too many %s: %u (limit %u)",
                         what, *n, cap);
    return true;
}

static void *dec_calloc(dec *d, size_t n, size_t size) {
    void *p = arena_calloc(&d->m->arena, n, size);
    if (!p) fail_nomem(d);
    return p;
}

/* A value type byte. v128 is rejected until SIMD lands. */
static bool rd_valtype(dec *d, uint8_t *out) {
    const uint8_t *at = d->p;
    uint8_t b;
    TRY(rd_byte(d, &b));
    switch (b) {
    case VT_I32: case VT_I64: case VT_F32: case VT_F64:
    case VT_FUNCREF: case VT_EXTERNREF:
        *out = b;
        return true;
    case VT_V128:
        return dec_fail(d, at, "SIMD (v128) is not supported yet");
    default:
        break;
    }
    if (b & 0x80) {
        d->p = at + 1;
        return dec_fail(d, d->p, "integer representation too long");
    }
    /* The reference reads every non-number type as a reference type. */
    return dec_fail(d, at, "malformed reference type: 0x%02x is not a "
                    "value type", b);
}

static bool rd_reftype(dec *d, uint8_t *out) {
    const uint8_t *at = d->p;
    uint8_t b;
    TRY(rd_byte(d, &b));
    if (b == VT_FUNCREF || b == VT_EXTERNREF) {
        *out = b;
        return true;
    }
    if (b & 0x80) return dec_fail(d, d->p, "integer representation too long");
    return dec_fail(d, at, "malformed reference type: 0x%02x", b);
}

/* A name: length, UTF-8 bytes; returns a NUL-terminated arena copy. */
static bool rd_name(dec *d, const char **out, uint32_t *out_len) {
    uint32_t n;
    const uint8_t *at = d->p;
    TRY(rd_len(d, &n));
    const uint8_t *s = d->p;
    TRY(rd_skip(d, n));
    if (!utf8_valid(s, n))
        return dec_fail(d, at, "malformed UTF-8 encoding");
    char *c = arena_alloc(&d->m->arena, (size_t)n + 1);
    if (!c) return fail_nomem(d);
    memcpy(c, s, n);
    c[n] = 0;
    *out = c;
    *out_len = n;
    return true;
}

static bool rd_limits(dec *d, mod_limits *lim) {
    uint64_t flag;
    leb_status st = leb_read_u(&d->p, d->end, 1, &flag);
    if (st != LEB_OK) return fail_leb(d, st);
    TRY(rd_u32(d, &lim->min));
    lim->has_max = flag == 1;
    lim->max = UINT32_MAX;
    if (lim->has_max) TRY(rd_u32(d, &lim->max));
    return true;
}

static bool rd_tabletype(dec *d, mod_tabletype *tt) {
    TRY(rd_reftype(d, &tt->elem_type));
    return rd_limits(d, &tt->lim);
}

static bool rd_globaltype(dec *d, mod_globaltype *gt) {
    TRY(rd_valtype(d, &gt->type));
    const uint8_t *at = d->p;
    uint8_t mut;
    TRY(rd_byte(d, &mut));
    if (mut > 1) return dec_fail(d, at, "malformed mutability");
    gt->mut = mut == 1;
    return true;
}

/* ==== Instructions ====================================================== */

static bool ctl_push(dec *d, size_t depth, uint8_t v) {
    if (depth >= d->ctl_cap) {
        size_t cap = d->ctl_cap ? d->ctl_cap * 2 : 256;
        uint8_t *c = realloc(d->ctl, cap);
        if (!c) return fail_nomem(d);
        d->ctl = c;
        d->ctl_cap = cap;
    }
    d->ctl[depth] = v;
    return true;
}

static bool rd_zero(dec *d) {
    const uint8_t *at = d->p;
    uint8_t b;
    TRY(rd_byte(d, &b));
    if (b != 0) return dec_fail(d, at, "zero byte expected");
    return true;
}

static bool rd_blocktype(dec *d) {
    if (d->p == d->end) return fail_end(d);
    uint8_t b = *d->p;
    if (b == 0x40) { d->p++; return true; }
    if ((b & 0xc0) == 0x40) {
        uint8_t t;
        return rd_valtype(d, &t);
    }
    int64_t v;
    leb_status st = leb_read_s(&d->p, d->end, 33, &v);
    return st == LEB_OK ? true : fail_leb(d, st);
}

/* Mark function `idx` as referenced outside function bodies. */
static void mark_ref(dec *d, uint32_t idx) {
    module *m = d->m;
    if (m->declared_refs && idx < m->n_funcs)
        m->declared_refs[idx >> 3] |= (uint8_t)(1u << (idx & 7));
}

/*
 * Skip a LEB128 of at most `max_bytes` bytes whose syntax is checked by
 * `slow` (the exact reader). Fast path: the number ends before its last
 * permitted byte, where no too-large/too-long condition can arise.
 */
#define SKIP_LEB(max_bytes, slow)                                         \
    do {                                                                  \
        const uint8_t *q_ = p;                                            \
        const uint8_t *lim_ = (size_t)(end - p) > (max_bytes) - 1         \
                                  ? p + (max_bytes) - 1 : end;            \
        while (q_ < lim_ && (*q_ & 0x80)) q_++;                           \
        if (wm_likely(q_ < lim_)) {                                       \
            p = q_ + 1;                                                   \
        } else {                                                          \
            d->p = p;                                                     \
            TRY(slow);                                                    \
            p = d->p;                                                     \
        }                                                                 \
    } while (0)

static bool rd_u32_skip(dec *d) {
    uint32_t u;
    return rd_u32(d, &u);
}

#define SKIP_U32() SKIP_LEB(5, rd_u32_skip(d))
/* A u32 whose value is needed (fast path for one byte). */
#define GET_U32(v)                                                        \
    do {                                                                  \
        if (wm_likely(p < end && *p < 0x80)) {                            \
            (v) = *p++;                                                   \
        } else {                                                          \
            d->p = p;                                                     \
            TRY(rd_u32(d, &(v)));                                         \
            p = d->p;                                                     \
        }                                                                 \
    } while (0)
/* Call a reader that works on d->p. */
#define CALL(x) do { d->p = p; TRY(x); p = d->p; } while (0)

/*
 * Scan one instruction sequence up to and including the `end` that closes
 * it, checking opcodes and the syntax of every immediate. Used for
 * function bodies and constant expressions alike; for the latter
 * (!is_body) ref.func operands are recorded in declared_refs.
 *
 * This is the decoder's hot loop (most of a module is code). The cursor
 * lives in a local, opcodes with no or one-byte LEB immediates are
 * handled by a class table before the switch, and the exact readers run
 * only for longer numbers. Byte-serial scanning is latency-bound (each
 * step loads the opcode, then its class), so the common cases are
 * branches the predictor can run ahead on: a branch-free variant that
 * computed LEB lengths with one 8-byte load was 2x slower. Measured on
 * clang -O2 wasm32-wasi code (libc + 14 programs, 375 KB of code, 168k
 * instructions): ~4 ns per instruction, the whole 600 KB module in 0.9 ms.
 */
static bool scan_instrs(dec *d, bool is_body) {
    const uint8_t *p = d->p;
    const uint8_t *const end = d->end;
    size_t depth = 0;
    for (;;) {
        if (wm_unlikely(p == end)) {
            d->p = p;
            return fail_end(d);
        }
        const uint8_t *at = p;
        uint8_t op = *p++;
        unsigned cls = op_class[op];
        if (wm_likely(cls == 1)) continue;            /* no immediates */
        if (cls) {
            /* Branchy on purpose: the predictor then runs ahead on the
             * common one-byte immediates instead of waiting for loads. */
            if (wm_likely(p < end && *p < 0x80)) {
                p++;
                if (cls == 2) continue;
                if (wm_likely(p < end && *p < 0x80)) {
                    p++;
                    continue;
                }
                SKIP_U32();
                continue;
            }
            for (unsigned n_imm = cls - 1; n_imm; n_imm--) {
                if (op == 0x41) SKIP_LEB(5, rd_s32(d));
                else SKIP_U32();
            }
            continue;
        }
        if (op == OPC_END) {
            if (depth == 0) {
                d->p = p;
                return true;
            }
            depth--;
            continue;
        }
        uint32_t u, n;
        switch (op_imm[op]) {
        case IMM_NONE:
            break;
        case IMM_ELSE:
            if (depth == 0 || d->ctl[depth - 1] != 1) {
                d->p = p;
                return dec_fail(d, at, "END opcode expected");
            }
            d->ctl[depth - 1] = 0;
            break;
        case IMM_BLOCKTYPE:
            if (wm_likely(p < end && (*p == 0x40 || *p == VT_I32 ||
                                      *p == VT_I64 || *p == VT_F32 ||
                                      *p == VT_F64)))
                p++;
            else
                CALL(rd_blocktype(d));
            if (wm_unlikely(depth >= d->ctl_cap)) CALL(ctl_push(d, depth, 0));
            d->ctl[depth++] = op == OPC_IF;
            break;
        case IMM_LABEL: case IMM_LOCAL: case IMM_GLOBAL: case IMM_TABLE:
        case IMM_DATA: case IMM_ELEM:
            SKIP_U32();
            break;
        case IMM_FUNC:
            GET_U32(u);
            if (op == OPC_REF_FUNC && !is_body) mark_ref(d, u);
            break;
        case IMM_BR_TABLE:
            CALL(rd_len(d, &n));
            for (uint64_t i = 0; i <= n; i++) SKIP_U32();
            break;
        case IMM_CALL_INDIRECT: case IMM_MEMARG:
        case IMM_TABLE_INIT: case IMM_TABLE_COPY:
            SKIP_U32();
            SKIP_U32();
            break;
        case IMM_MEM0:
            CALL(rd_zero(d));
            break;
        case IMM_I32: SKIP_LEB(5, rd_s32(d)); break;
        case IMM_I64: SKIP_LEB(10, rd_s64(d)); break;
        case IMM_F32:
            if (wm_unlikely(end - p < 4)) CALL(rd_skip(d, 4));
            else p += 4;
            break;
        case IMM_F64:
            if (wm_unlikely(end - p < 8)) CALL(rd_skip(d, 8));
            else p += 8;
            break;
        case IMM_SELECT_T: {
            uint8_t t;
            CALL(rd_len(d, &n));
            for (uint32_t i = 0; i < n; i++) CALL(rd_valtype(d, &t));
            break;
        }
        case IMM_REFTYPE: {
            uint8_t t;
            CALL(rd_reftype(d, &t));
            break;
        }
        case IMM_PREFIX_FC: {
            uint32_t sub;
            GET_U32(sub);
            uint8_t k = sub < WM_ARRAY_LEN(fc_imm) ? fc_imm[sub] : IMM_ILLEGAL;
            if (sub == FC_MEMORY_INIT || sub == FC_DATA_DROP) {
                if (!d->m->has_data_count && !d->data_op_at) d->data_op_at = at;
            }
            switch (k) {
            case IMM_NONE: break;
            case IMM_DATA: case IMM_ELEM: case IMM_TABLE:
                SKIP_U32();
                break;
            case IMM_MEMORY_INIT:
                SKIP_U32();
                CALL(rd_zero(d));
                break;
            case IMM_MEMORY_COPY:
                CALL(rd_zero(d));
                CALL(rd_zero(d));
                break;
            case IMM_MEM0:
                CALL(rd_zero(d));
                break;
            case IMM_TABLE_INIT: case IMM_TABLE_COPY:
                SKIP_U32();
                SKIP_U32();
                break;
            default:
                d->p = p;
                return dec_fail(d, at, "illegal opcode 0xfc %u", sub);
            }
            break;
        }
        case IMM_PREFIX_SIMD:
            d->p = p;
            return dec_fail(d, at, "SIMD (v128) is not supported yet");
        default:
            d->p = p;
            return dec_fail(d, at, "illegal opcode 0x%02x", op);
        }
    }
}

#undef SKIP_LEB
#undef SKIP_U32
#undef GET_U32
#undef CALL

/* A constant expression (instructions up to `end`), scanned for syntax;
 * its typing is check.c's. */
static bool rd_expr(dec *d, mod_expr *e) {
    const uint8_t *start = d->p;
    TRY(scan_instrs(d, false));
    e->code = start;
    e->len = (uint32_t)(d->p - start);
    e->off = (uint32_t)(start - d->base);
    return true;
}

/* ==== Index spaces ====================================================== */

/* Allocate the function index space (imports + function section). */
static bool alloc_funcs(dec *d) {
    module *m = d->m;
    if (d->funcs_done) return true;
    d->funcs_done = true;
    m->n_funcs = m->n_func_imports + d->n_func_decls;
    m->funcs = dec_calloc(d, m->n_funcs, sizeof *m->funcs);
    m->declared_refs = dec_calloc(d, ((size_t)m->n_funcs + 7) / 8, 1);
    if (!m->funcs || !m->declared_refs) return false;
    for (uint32_t i = 0; i < m->n_imports; i++)
        if (m->imports[i].kind == WM_EXTERN_FUNC)
            m->funcs[m->imports[i].idx].type_idx = d->imp_descs[i].type_idx;
    for (uint32_t i = 0; i < d->n_func_decls; i++)
        m->funcs[m->n_func_imports + i].type_idx = d->func_decl_types[i];
    return true;
}

/* Allocate tables/mems/globals with `n_defined` entries after imports. */
static bool alloc_tables(dec *d, uint32_t n_defined) {
    module *m = d->m;
    d->tables_done = true;
    m->n_tables = m->n_table_imports + n_defined;
    m->tables = dec_calloc(d, m->n_tables, sizeof *m->tables);
    if (!m->tables) return false;
    for (uint32_t i = 0; i < m->n_imports; i++)
        if (m->imports[i].kind == WM_EXTERN_TABLE)
            m->tables[m->imports[i].idx].type = d->imp_descs[i].table;
    return true;
}

static bool alloc_mems(dec *d, uint32_t n_defined) {
    module *m = d->m;
    d->mems_done = true;
    m->n_mems = m->n_mem_imports + n_defined;
    m->mems = dec_calloc(d, m->n_mems, sizeof *m->mems);
    if (!m->mems) return false;
    for (uint32_t i = 0; i < m->n_imports; i++)
        if (m->imports[i].kind == WM_EXTERN_MEMORY)
            m->mems[m->imports[i].idx].lim = d->imp_descs[i].mem;
    return true;
}

static bool alloc_globals(dec *d, uint32_t n_defined) {
    module *m = d->m;
    d->globals_done = true;
    m->n_globals = m->n_global_imports + n_defined;
    m->globals = dec_calloc(d, m->n_globals, sizeof *m->globals);
    if (!m->globals) return false;
    for (uint32_t i = 0; i < m->n_imports; i++)
        if (m->imports[i].kind == WM_EXTERN_GLOBAL)
            m->globals[m->imports[i].idx].type = d->imp_descs[i].global;
    return true;
}

/* Before a section of rank `rank`: allocate the index spaces of absent
 * earlier sections (imports only). */
static bool alloc_spaces_before(dec *d, unsigned rank) {
    if (rank > RANK_FUNCTION && !d->funcs_done) TRY(alloc_funcs(d));
    if (rank > RANK_TABLE && !d->tables_done) TRY(alloc_tables(d, 0));
    if (rank > RANK_MEMORY && !d->mems_done) TRY(alloc_mems(d, 0));
    if (rank > RANK_GLOBAL && !d->globals_done) TRY(alloc_globals(d, 0));
    return true;
}

/* ==== Sections ========================================================== */

static bool sec_type(dec *d) {
    module *m = d->m;
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_TYPES, "types", &n, &n_alloc));
    m->types = dec_calloc(d, n_alloc, sizeof *m->types);
    if (!m->types) return false;
    d->item_kind = "type";
    for (uint32_t i = 0; i < n; i++) {
        d->item = i;
        const uint8_t *at = d->p;
        uint8_t form;
        TRY(rd_byte(d, &form));
        if (form & 0x80)
            return dec_fail(d, d->p, "integer representation too long");
        if (form != 0x60)
            return dec_fail(d, at, "malformed function type: form 0x%02x",
                            form);
        mod_functype ft = {0};
        uint8_t t;
        at = d->p;
        TRY(rd_len(d, &ft.n_params));
        ft.params = d->p;
        for (uint32_t j = 0; j < ft.n_params; j++) TRY(rd_valtype(d, &t));
        if (ft.n_params > MOD_MAX_PARAMS)
            return dec_failc(d, WM_ERR_LIMIT, at, "too many parameters: %u "
                             "(limit %u)", ft.n_params, MOD_MAX_PARAMS);
        at = d->p;
        TRY(rd_len(d, &ft.n_results));
        ft.results = d->p;
        for (uint32_t j = 0; j < ft.n_results; j++) TRY(rd_valtype(d, &t));
        if (ft.n_results > MOD_MAX_RESULTS)
            return dec_failc(d, WM_ERR_LIMIT, at, "too many results: %u "
                             "(limit %u)", ft.n_results, MOD_MAX_RESULTS);
        if (i >= n_alloc) return fail_end(d);   /* unreachable: 1 byte/item */
        m->types[i] = ft;
    }
    m->n_types = n;
    return true;
}

static bool sec_import(dec *d) {
    module *m = d->m;
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_IMPORTS, "imports", &n, &n_alloc));
    m->imports = dec_calloc(d, n_alloc, sizeof *m->imports);
    d->imp_descs = dec_calloc(d, n_alloc, sizeof *d->imp_descs);
    if (!m->imports || !d->imp_descs) return false;
    d->item_kind = "import";
    for (uint32_t i = 0; i < n; i++) {
        d->item = i;
        mod_import im = {0};
        imp_desc desc;
        memset(&desc, 0, sizeof desc);
        im.off = (uint32_t)(d->p - d->base);
        TRY(rd_name(d, &im.module, &im.module_len));
        TRY(rd_name(d, &im.name, &im.name_len));
        const uint8_t *at = d->p;
        uint8_t kind;
        TRY(rd_byte(d, &kind));
        switch (kind) {
        case WM_EXTERN_FUNC:
            TRY(rd_u32(d, &desc.type_idx));
            im.idx = m->n_func_imports++;
            break;
        case WM_EXTERN_TABLE:
            TRY(rd_tabletype(d, &desc.table));
            im.idx = m->n_table_imports++;
            break;
        case WM_EXTERN_MEMORY:
            TRY(rd_limits(d, &desc.mem));
            im.idx = m->n_mem_imports++;
            break;
        case WM_EXTERN_GLOBAL:
            TRY(rd_globaltype(d, &desc.global));
            im.idx = m->n_global_imports++;
            break;
        default:
            return dec_fail(d, at, "malformed import kind 0x%02x", kind);
        }
        im.kind = kind;
        if (i >= n_alloc) return fail_end(d);
        m->imports[i] = im;
        d->imp_descs[i] = desc;
    }
    m->n_imports = n;
    return true;
}

static bool sec_function(dec *d) {
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_FUNCS, "functions", &n, &n_alloc));
    if ((uint64_t)n + d->m->n_func_imports > MOD_MAX_FUNCS && n == n_alloc)
        return dec_failc(d, WM_ERR_LIMIT, d->p, "too many functions: %u "
                         "imported + %u defined (limit %u)",
                         d->m->n_func_imports, n, MOD_MAX_FUNCS);
    d->func_decl_types = dec_calloc(d, n_alloc, sizeof(uint32_t));
    if (!d->func_decl_types) return false;
    d->item_kind = "function";
    for (uint32_t i = 0; i < n; i++) {
        d->item = d->m->n_func_imports + i;
        uint32_t t;
        TRY(rd_u32(d, &t));
        if (i >= n_alloc) return fail_end(d);
        d->func_decl_types[i] = t;
    }
    d->n_func_decls = n;
    return alloc_funcs(d);
}

static bool sec_table(dec *d) {
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_TABLES, "tables", &n, &n_alloc));
    mod_table *t = dec_calloc(d, n_alloc, sizeof *t);
    if (!t) return false;
    d->item_kind = "table";
    for (uint32_t i = 0; i < n; i++) {
        d->item = d->m->n_table_imports + i;
        mod_tabletype tt;
        TRY(rd_tabletype(d, &tt));
        if (i >= n_alloc) return fail_end(d);
        t[i].type = tt;
    }
    TRY(alloc_tables(d, n));
    memcpy(d->m->tables + d->m->n_table_imports, t, (size_t)n * sizeof *t);
    return true;
}

static bool sec_memory(dec *d) {
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_TABLES, "memories", &n, &n_alloc));
    mod_mem *mm = dec_calloc(d, n_alloc, sizeof *mm);
    if (!mm) return false;
    d->item_kind = "memory";
    for (uint32_t i = 0; i < n; i++) {
        d->item = d->m->n_mem_imports + i;
        mod_limits lim;
        TRY(rd_limits(d, &lim));
        if (i >= n_alloc) return fail_end(d);
        mm[i].lim = lim;
    }
    TRY(alloc_mems(d, n));
    memcpy(d->m->mems + d->m->n_mem_imports, mm, (size_t)n * sizeof *mm);
    return true;
}

static bool sec_global(dec *d) {
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_GLOBALS, "globals", &n, &n_alloc));
    mod_global *g = dec_calloc(d, n_alloc, sizeof *g);
    if (!g) return false;
    d->item_kind = "global";
    for (uint32_t i = 0; i < n; i++) {
        d->item = d->m->n_global_imports + i;
        mod_global gl;
        memset(&gl, 0, sizeof gl);
        TRY(rd_globaltype(d, &gl.type));
        TRY(rd_expr(d, &gl.init));
        if (i >= n_alloc) return fail_end(d);
        g[i] = gl;
    }
    TRY(alloc_globals(d, n));
    memcpy(d->m->globals + d->m->n_global_imports, g, (size_t)n * sizeof *g);
    return true;
}

static bool sec_export(dec *d) {
    module *m = d->m;
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_EXPORTS, "exports", &n, &n_alloc));
    m->exports = dec_calloc(d, n_alloc, sizeof *m->exports);
    if (!m->exports) return false;
    d->item_kind = "export";
    for (uint32_t i = 0; i < n; i++) {
        d->item = i;
        mod_export ex = {0};
        TRY(rd_name(d, &ex.name, &ex.name_len));
        const uint8_t *at = d->p;
        uint8_t kind;
        TRY(rd_byte(d, &kind));
        if (kind > WM_EXTERN_GLOBAL)
            return dec_fail(d, at, "malformed export kind 0x%02x", kind);
        ex.kind = kind;
        TRY(rd_u32(d, &ex.idx));
        if (kind == WM_EXTERN_FUNC) mark_ref(d, ex.idx);
        if (i >= n_alloc) return fail_end(d);
        m->exports[i] = ex;
    }
    m->n_exports = n;
    return true;
}

static bool sec_start(dec *d) {
    TRY(rd_u32(d, &d->m->start_idx));
    d->m->has_start = true;
    return true;
}

static bool rd_elemkind(dec *d) {
    const uint8_t *at = d->p;
    uint8_t b;
    TRY(rd_byte(d, &b));
    if (b != 0x00) return dec_fail(d, at, "malformed element kind 0x%02x", b);
    return true;
}

/*
 * One element segment. The flags' three bits: bit 0 = passive or
 * declarative, bit 1 = explicit table index (active) / declarative
 * (with bit 0), bit 2 = element expressions instead of function indices.
 */
static bool rd_elem(dec *d, mod_elem *e) {
    const uint8_t *at = d->p;
    uint32_t flags;
    e->off = (uint32_t)(at - d->base);
    TRY(rd_u32(d, &flags));
    if (flags > 7)
        return dec_fail(d, at, "malformed elements segment kind %u", flags);
    e->elem_type = VT_FUNCREF;
    if (flags & 1) {
        e->mode = (flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE;
    } else {
        e->mode = SEG_ACTIVE;
        if (flags & 2) TRY(rd_u32(d, &e->table_idx));
        TRY(rd_expr(d, &e->offset));
    }
    bool exprs = flags & 4;
    if (flags & 3) {
        if (exprs) TRY(rd_reftype(d, &e->elem_type));
        else TRY(rd_elemkind(d));
    }
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_TABLE_SIZE, "elements", &n, &n_alloc));
    if (exprs) {
        e->exprs = dec_calloc(d, n_alloc, sizeof *e->exprs);
        if (!e->exprs) return false;
    } else {
        e->func_idxs = dec_calloc(d, n_alloc, sizeof *e->func_idxs);
        if (!e->func_idxs) return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (exprs) {
            mod_expr x;
            TRY(rd_expr(d, &x));
            if (i >= n_alloc) return fail_end(d);
            e->exprs[i] = x;
        } else {
            uint32_t f;
            TRY(rd_u32(d, &f));
            mark_ref(d, f);
            if (i >= n_alloc) return fail_end(d);
            e->func_idxs[i] = f;
        }
    }
    e->n_elems = n;
    return true;
}

static bool sec_element(dec *d) {
    module *m = d->m;
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_SEGMENTS, "element segments", &n, &n_alloc));
    m->elems = dec_calloc(d, n_alloc, sizeof *m->elems);
    if (!m->elems) return false;
    d->item_kind = "segment";
    for (uint32_t i = 0; i < n; i++) {
        d->item = i;
        mod_elem e;
        memset(&e, 0, sizeof e);
        TRY(rd_elem(d, &e));
        if (i >= n_alloc) return fail_end(d);
        m->elems[i] = e;
    }
    m->n_elems = n;
    return true;
}

static bool sec_datacount(dec *d) {
    TRY(rd_u32(d, &d->m->data_count));
    d->m->has_data_count = true;
    return true;
}

/* One code entry: size, local declarations, body. */
static bool rd_code(dec *d, mod_func *f) {
    const uint8_t *entry = d->p;
    uint32_t size;
    TRY(rd_len(d, &size));
    const uint8_t *start = d->p;

    uint32_t n_groups, n_alloc;
    const uint8_t *at = d->p;
    TRY(rd_count(d, MOD_MAX_LOCALS, "local declarations", &n_groups,
                 &n_alloc));
    if (n_alloc) {
        f->local_groups = dec_calloc(d, n_alloc, sizeof *f->local_groups);
        if (!f->local_groups) return false;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < n_groups; i++) {
        uint32_t cnt;
        uint8_t t;
        TRY(rd_u32(d, &cnt));
        TRY(rd_valtype(d, &t));
        total += cnt;
        if (i >= n_alloc) return fail_end(d);
        f->local_groups[i].count = cnt;
        f->local_groups[i].type = t;
    }
    if (total > MOD_MAX_LOCALS)
        return dec_fail(d, at, "too many locals: %llu (limit %u)",
                        (unsigned long long)total, MOD_MAX_LOCALS);
    f->n_local_groups = n_groups;
    f->n_locals = (uint32_t)total;

    d->body = d->p;
    TRY(scan_instrs(d, true));
    f->body = d->body;
    f->body_len = (uint32_t)(d->p - d->body);
    f->body_off = (uint32_t)(entry - d->base);
    if (d->p != start + size)
        return dec_fail(d, d->p, "section size mismatch: function body "
                        "ends %lld bytes before its size says",
                        (long long)(start + size - d->p));
    return true;
}

static bool sec_code(dec *d) {
    module *m = d->m;
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_FUNCS, "function bodies", &n, &n_alloc));
    mod_func *dst;
    if (n == d->n_func_decls) {
        dst = m->funcs + m->n_func_imports;
    } else {
        dst = d->codes = dec_calloc(d, n_alloc, sizeof *dst);
        if (!dst) return false;
    }
    d->item_kind = "function";
    for (uint32_t i = 0; i < n; i++) {
        d->item = m->n_func_imports + i;
        d->func_idx = (int64_t)m->n_func_imports + i;
        d->body = NULL;                  /* set after the local decls */
        mod_func f;
        memset(&f, 0, sizeof f);
        TRY(rd_code(d, &f));
        if (i >= n_alloc) return fail_end(d);
        f.type_idx = dst[i].type_idx;
        dst[i] = f;
    }
    d->func_idx = -1;
    d->body = NULL;
    d->n_codes = n;
    return true;
}

static bool sec_data(dec *d) {
    module *m = d->m;
    uint32_t n, n_alloc;
    TRY(rd_count(d, MOD_MAX_SEGMENTS, "data segments", &n, &n_alloc));
    m->datas = dec_calloc(d, n_alloc, sizeof *m->datas);
    if (!m->datas) return false;
    d->item_kind = "segment";
    for (uint32_t i = 0; i < n; i++) {
        d->item = i;
        mod_data ds;
        memset(&ds, 0, sizeof ds);
        const uint8_t *at = d->p;
        ds.off = (uint32_t)(at - d->base);
        uint32_t flags;
        TRY(rd_u32(d, &flags));
        if (flags > 2)
            return dec_fail(d, at, "malformed data segment kind %u", flags);
        ds.mode = flags == 1 ? SEG_PASSIVE : SEG_ACTIVE;
        if (flags == 2) TRY(rd_u32(d, &ds.mem_idx));
        if (flags != 1) TRY(rd_expr(d, &ds.offset));
        TRY(rd_len(d, &ds.len));
        ds.bytes = d->p;
        TRY(rd_skip(d, ds.len));
        if (i >= n_alloc) return fail_end(d);
        m->datas[i] = ds;
    }
    m->n_datas = n;
    return true;
}

static bool sec_custom(dec *d) {
    module *m = d->m;
    mod_custom c;
    TRY(rd_name(d, &c.name, &c.name_len));
    if (d->p > d->sec_end) return fail_end(d);
    c.bytes = d->p;
    c.len = (uint32_t)(d->sec_end - d->p);
    d->p = d->sec_end;
    if (m->n_customs == d->cap_customs) {
        uint32_t cap = d->cap_customs ? d->cap_customs * 2 : 8;
        mod_custom *nc = dec_calloc(d, cap, sizeof *nc);
        if (!nc) return false;
        if (m->n_customs)
            memcpy(nc, m->customs, m->n_customs * sizeof *nc);
        m->customs = nc;
        d->cap_customs = cap;
    }
    m->customs[m->n_customs++] = c;
    if (!d->name_sec && c.name_len == 4 && memcmp(c.name, "name", 4) == 0) {
        d->name_sec = c.bytes;
        d->name_sec_len = c.len;
    }
    return true;
}

/* ==== The `name` section (best effort) ================================== */

/*
 * Function names (subsection 1: a name map). Any malformation makes the
 * whole section be ignored, as the spec requires of custom sections; the
 * names found so far are dropped. Never fails the decode.
 */
static void parse_name_section(module *m, const uint8_t *p, uint32_t len) {
    const uint8_t *end = p + len;
    while (p < end) {
        uint8_t id = *p++;
        uint32_t size;
        if (leb_read_u32(&p, end, &size) != LEB_OK ||
            size > (size_t)(end - p))
            return;
        const uint8_t *sub_end = p + size;
        if (id != 1) { p = sub_end; continue; }
        uint32_t n;
        if (leb_read_u32(&p, sub_end, &n) != LEB_OK ||
            n > (size_t)(sub_end - p))
            return;
        const char **names = arena_calloc(&m->arena, m->n_funcs ? m->n_funcs
                                                                 : 1,
                                          sizeof *names);
        if (!names) return;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t idx, nlen;
            if (leb_read_u32(&p, sub_end, &idx) != LEB_OK ||
                leb_read_u32(&p, sub_end, &nlen) != LEB_OK ||
                nlen > (size_t)(sub_end - p) || !utf8_valid(p, nlen))
                return;
            if (idx < m->n_funcs) {
                char *s = arena_alloc(&m->arena, (size_t)nlen + 1);
                if (!s) return;
                memcpy(s, p, nlen);
                s[nlen] = 0;
                names[idx] = s;
            }
            p += nlen;
        }
        if (p != sub_end) return;
        m->func_names = names;
        return;
    }
}

/* ==== Module ============================================================ */

static bool dec_sections(dec *d) {
    module *m = d->m;
    if (d->file_end - d->p < 4) {
        d->p = d->file_end;
        return dec_fail(d, d->p, "unexpected end");
    }
    if (memcmp(d->p, "\0asm", 4) != 0)
        return dec_fail(d, d->p, "magic header not detected");
    d->p += 4;
    if (d->file_end - d->p < 4) {
        d->p = d->file_end;
        return dec_fail(d, d->p, "unexpected end");
    }
    if (memcmp(d->p, "\1\0\0\0", 4) != 0)
        return dec_fail(d, d->p, "unknown binary version");
    d->p += 4;

    while (d->p < d->file_end) {
        const uint8_t *sec_at = d->p;
        uint8_t id = *d->p++;
        if (id >= SEC_COUNT) {
            d->p = sec_at;
            return dec_fail(d, sec_at, "malformed section id %u", id);
        }
        unsigned rank = sec_rank[id];
        if (id != SEC_CUSTOM) {
            if (rank <= d->last_rank)
                return dec_fail(d, sec_at, "unexpected content after last "
                                "section: section %d (%s) out of order or "
                                "repeated", id, sec_name[id]);
            d->last_rank = (uint8_t)rank;
        }
        uint32_t size;
        TRY(rd_len(d, &size));
        const uint8_t *start = d->p;
        size_t left = (size_t)(d->file_end - d->p);
        d->sec_end = start + (size < left ? size : left);
        d->sec_id = id;
        d->item_kind = NULL;
        if (id != SEC_CUSTOM) TRY(alloc_spaces_before(d, rank));
        bool ok = true;
        switch (id) {
        case SEC_CUSTOM: ok = sec_custom(d); break;
        case SEC_TYPE: ok = sec_type(d); break;
        case SEC_IMPORT: ok = sec_import(d); break;
        case SEC_FUNCTION: ok = sec_function(d); break;
        case SEC_TABLE: ok = sec_table(d); break;
        case SEC_MEMORY: ok = sec_memory(d); break;
        case SEC_GLOBAL: ok = sec_global(d); break;
        case SEC_EXPORT: ok = sec_export(d); break;
        case SEC_START: ok = sec_start(d); break;
        case SEC_ELEMENT: ok = sec_element(d); break;
        case SEC_CODE: ok = sec_code(d); break;
        case SEC_DATA: ok = sec_data(d); break;
        case SEC_DATACOUNT: ok = sec_datacount(d); break;
        }
        TRY(ok);
        d->item_kind = NULL;
        if (d->p != start + size)
            return dec_fail(d, start, "section size mismatch: %lld bytes "
                            "declared, %lld used", (long long)size,
                            (long long)(d->p - start));
        d->sec_id = -1;
        d->sec_end = d->file_end;
    }
    TRY(alloc_spaces_before(d, RANK_END));

    /* Whole-module consistency, in the reference decoder's order. */
    if (d->n_codes != d->n_func_decls)
        return dec_fail(d, d->p, "function and code section have "
                        "inconsistent lengths: %u functions, %u bodies",
                        d->n_func_decls, d->n_codes);
    if (m->has_data_count && m->data_count != m->n_datas)
        return dec_fail(d, d->p, "data count and data section have "
                        "inconsistent lengths: data count %u, %u segments",
                        m->data_count, m->n_datas);
    /* Relaxed on purpose: without data segments every data index is
     * invalid anyway, and the spec tests expect the validator's "unknown
     * data segment" for such modules. */
    if (d->data_op_at && m->n_datas > 0) {
        d->p = d->data_op_at;
        return dec_fail(d, d->data_op_at, "data count section required "
                        "(memory.init or data.drop used)");
    }
    if (d->name_sec) parse_name_section(m, d->name_sec, d->name_sec_len);
    return true;
}

wm_status dec_module(module *m, const uint8_t *bytes, size_t len,
                     wm_error *err) {
    dec d;
    memset(&d, 0, sizeof d);
    d.m = m;
    d.err = err;
    d.sec_id = -1;
    d.func_idx = -1;
    if (len > UINT32_MAX) {
        if (err) {
            wm_errf(err, WM_ERR_LIMIT, "module too large: %zu bytes", len);
            err->byte_off = -1;
        }
        return WM_ERR_LIMIT;
    }
    uint8_t *copy = arena_alloc(&m->arena, len ? len : 1);
    if (!copy) {
        if (err) {
            wm_errf(err, WM_ERR_NOMEM, "out of memory");
            err->byte_off = -1;
        }
        return WM_ERR_NOMEM;
    }
    if (len) memcpy(copy, bytes, len);
    m->bytes = copy;
    m->size = len;
    d.base = d.p = copy;
    d.file_end = d.end = d.sec_end = copy + len;

    bool ok = dec_sections(&d);
    free(d.ctl);
    if (ok) return WM_OK;
    return d.status != WM_OK ? d.status : WM_ERR_MALFORMED;
}

void module_release(module *m) {
    if (!m) return;
    arena_free(&m->arena);
    memset(m, 0, sizeof *m);
}

const char *mod_func_name(const module *m, uint32_t idx) {
    if (!m || !m->func_names || idx >= m->n_funcs) return NULL;
    return m->func_names[idx];
}
