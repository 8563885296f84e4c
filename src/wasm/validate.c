/*
 * validate.c — function-body validation and compilation to internal code.
 *
 * val_module() checks the declarations (check.c's val_module_decls), then
 * walks every function body once. The walk is the spec's validation
 * algorithm (appendix "Validation Algorithm": a value stack and a control
 * stack, unreachable code typed with a polymorphic stack) and, in the same
 * step, emits the register-style internal code described in interp.h.
 *
 * The value stack is "virtual": besides its type, each entry says where
 * the value lives right now:
 *
 *   K_STACK  in its home slot (stack position k lives in slot P+L+k)
 *   K_LOCAL  still in local x (local.get emits nothing)
 *   K_CONST  a constant not yet written anywhere
 *
 * The consuming instruction reads operands from wherever they are, and
 * immediate forms take constants directly. Entries are forced into their
 * home slots ("materialised") only when needed: before local x is
 * overwritten (every pending reference to x, found through a per-local
 * chain, so this is O(references)), at block boundaries (the K_LOCAL
 * entries, found from a low-water mark), for call arguments and block
 * parameters/results.
 *
 * Peepholes on the last emitted instruction (never across a label):
 *   - `local.set x` / `local.tee x` after a value-producing instruction
 *     rewrites that instruction's destination to x (no move);
 *   - a compare followed by br_if / if becomes one fused compare-branch;
 *     i32.eqz of a compare inverts the compare;
 *   - `return` / an unconditional `br` after an instruction retargets its
 *     destination to the result slot.
 *
 * Code after an unconditional branch is validated but not emitted (the
 * `live` flag).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "interp.h"

/* ==== Opcode tables derived from opcodes.def ============================ */

enum wasm_op {
#define OP(name, byte, imm, sig, align) WOP_##name = byte,
#include "opcodes.def"
};

/* Signature strings ("ii:i") of the fixed-type instructions, by byte. */
static const char *const op_sig[256] = {
#define OP(name, byte, imm, sig, align) [byte] = sig,
#include "opcodes.def"
};
static const uint8_t op_align[256] = {
#define OP(name, byte, imm, sig, align) [byte] = align,
#include "opcodes.def"
};
static const char *const fc_sig[18] = {
#define OP(name, byte, imm, sig, align)
#define OPFC(name, subop, imm, sig) [subop] = sig,
#include "opcodes.def"
};

/* Wasm numeric opcode -> internal op (0 = not a plain numeric op). */
static const uint16_t num_iop[256] = {
#define NUM_MAP_(name) [WOP_##name] = IOP_##name,
    INTERP_UNOPS(NUM_MAP_) INTERP_BINOPS(NUM_MAP_)
#undef NUM_MAP_
};
static const uint16_t sat_iop[8] = {
    IOP_i32_trunc_sat_f32_s, IOP_i32_trunc_sat_f32_u, IOP_i32_trunc_sat_f64_s,
    IOP_i32_trunc_sat_f64_u, IOP_i64_trunc_sat_f32_s, IOP_i64_trunc_sat_f32_u,
    IOP_i64_trunc_sat_f64_s, IOP_i64_trunc_sat_f64_u,
};

/* Immediate forms: the op, and whether a constant left operand may be
 * swapped to the right (commutative; compares swap their condition). */
static const uint16_t imm_iop[256] = {
#define IMM_MAP_(name, sfx) [WOP_##name] = IOP_##name##sfx,
    INTERP_IMMOPS(IMM_MAP_, _imm)
#undef IMM_MAP_
};
static const uint8_t commutes[256] = {
    [WOP_i32_add] = 1, [WOP_i32_mul] = 1, [WOP_i32_and] = 1, [WOP_i32_or] = 1,
    [WOP_i32_xor] = 1, [WOP_i64_add] = 1, [WOP_i64_mul] = 1, [WOP_i64_and] = 1,
    [WOP_i64_or] = 1, [WOP_i64_xor] = 1, [WOP_f32_add] = 1,
    [WOP_f32_mul] = 1, [WOP_f64_add] = 1, [WOP_f64_mul] = 1,
};

/* Forms reading an operand from the interpreter's acc (interp.h). */
static const uint16_t xa_iop[IOP_COUNT] = {
#define XA_MAP_(name, sfx) [IOP_##name] = IOP_##name##sfx,
    INTERP_ACC_BIN(XA_MAP_, _xa)
};
static const uint16_t xb_iop[IOP_COUNT] = {
    INTERP_ACC_NC(XA_MAP_, _xb)
#undef XA_MAP_
};
static const uint16_t imm_xa_iop[IOP_COUNT] = {
#define IXA_MAP_(name, sfx) [IOP_##name##_imm] = IOP_##name##sfx,
    INTERP_ACC_IMM(IXA_MAP_, _imm_xa)
#undef IXA_MAP_
};

static const uint8_t cc_swap[CC_COUNT] = {
    CC_EQ, CC_NE, CC_GT_S, CC_GT_U, CC_LT_S, CC_LT_U, CC_GE_S, CC_GE_U,
    CC_LE_S, CC_LE_U,
};
static const uint8_t cc_invert[CC_COUNT] = {
    CC_NE, CC_EQ, CC_GE_S, CC_GE_U, CC_LE_S, CC_LE_U, CC_GT_S, CC_GT_U,
    CC_LT_S, CC_LT_U,
};

/* The materialising compare op for (64-bit?, cc, immediate?). */
static enum interp_op cmp_op(bool is64, unsigned cc, bool imm) {
    return (enum interp_op)((imm ? IOP_i32_eq_imm : IOP_i32_eq) +
                            (is64 ? CC_COUNT : 0) + cc);
}

/* ==== Compiler state ==================================================== */

#define T_UNKNOWN 0            /* the polymorphic stack's "any" type */

/* Implementation limits per function (hostile input must not make the
 * compiler allocate without bound; real code stays far below: the value
 * stack default is 1 Mi slots in all). */
#define VAL_MAX_STACK   (1u << 20)
#define VAL_MAX_NESTING (1u << 20)
#define NONE UINT32_MAX

enum { K_STACK, K_LOCAL, K_CONST };

typedef struct vval {
    uint8_t type;              /* VT_* or T_UNKNOWN */
    uint8_t kind;              /* K_* */
    uint32_t pos;              /* stack position (set by pop) */
    uint32_t local;            /* K_LOCAL: the local's slot */
    int32_t link;              /* K_LOCAL: next lower entry of that local */
    uint64_t imm;              /* K_CONST: the bits */
} vval;

enum { CK_FUNC, CK_BLOCK, CK_LOOP, CK_IF, CK_ELSE };

typedef struct ctrl {
    uint8_t kind;              /* CK_* */
    bool unreachable;          /* the spec's flag: rest of block is dead */
    bool dead_entry;           /* entered from dead code: emit nothing */
    uint8_t bt1;               /* storage for a single-valtype result */
    uint32_t n_params, n_results;
    const uint8_t *tparams;    /* NULL when n_params == 0 */
    const uint8_t *tresults;   /* NULL: the result is bt1 (if any) */
    uint32_t height;           /* value stack height below the params */
    uint32_t label_pc;         /* loop: code index of the loop start */
    uint32_t end_chain;        /* forward branches to patch (index + 1) */
    uint32_t else_chain;       /* if: the jump to the else arm */
    uint32_t stub_gen, stub_pos;   /* br_table move stubs */
} ctrl;

typedef struct cmp_info {
    bool valid;                /* the last instruction is this compare */
    bool is64, imm;
    uint8_t cc;
    uint32_t a, b;             /* slots (b: immediate when imm) */
    uint32_t pos;              /* stack position of its result */
} cmp_info;

typedef struct comp {
    wm_runtime *rt;
    module *m;
    wm_error *err;
    const int32_t *optab;      /* handler words (NULL: switch build) */

    /* The function being compiled. */
    uint32_t func_idx;
    const mod_functype *ft;
    uint32_t n_locals_all;     /* params + declared locals */
    uint8_t *local_types;
    int32_t *refhead;          /* per local: highest K_LOCAL entry, -1 */
    uint32_t cap_locals;
    uint32_t stack_base;       /* P + L: slot of stack position 0 */

    /* Reader. */
    const uint8_t *body, *p, *end, *instr;

    /* Value and control stacks. */
    vval *vs;
    uint32_t n_vs, cap_vs, max_h;
    uint32_t ref_low;          /* no K_LOCAL entry below this position */
    ctrl *cs;
    uint32_t n_cs, cap_cs;
    vval *tmp;
    uint32_t cap_tmp;
    uint32_t *tmp32;
    uint32_t cap_tmp32;

    /* Emitted code. */
    uint32_t *code;
    uint32_t n_code, cap_code;
    bool live;                 /* emitting (current code is reachable) */
    bool nomem;
    uint32_t last_start;       /* start of the last instruction, or NONE */
    enum interp_op last_op;    /* its op */
    uint32_t prev_start;       /* the instruction before it, or NONE */
    enum interp_op prev_op;
    uint32_t prev_dst, prev_dst_pos;
    uint32_t last_dst;         /* its destination word, or NONE */
    uint32_t last_dst_pos;     /* the stack position it produced */
    cmp_info cmp;
    uint32_t stub_gen;
} comp;

/* ==== Errors ============================================================ */

static wm_status fail(comp *c, wm_status code, const char *fmt, ...)
    WM_PRINTF(3, 4);
static wm_status fail(comp *c, wm_status code, const char *fmt, ...) {
    wm_error *err = c->err;
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

#define TRY(x)                                                              \
    do {                                                                    \
        wm_status st_ = (x);                                                \
        if (st_ != WM_OK) return st_;                                       \
    } while (0)
#define MALFORMED(...) fail(c, WM_ERR_MALFORMED, __VA_ARGS__)
#define INVALID(...) fail(c, WM_ERR_INVALID, __VA_ARGS__)
#define NO_SIMD() fail(c, WM_ERR_UNSUPPORTED, "SIMD (v128) is not supported")

static const char *type_name(uint8_t t) {
    switch (t) {
    case VT_I32: return "i32";
    case VT_I64: return "i64";
    case VT_F32: return "f32";
    case VT_F64: return "f64";
    case VT_V128: return "v128";
    case VT_FUNCREF: return "funcref";
    case VT_EXTERNREF: return "externref";
    default: return "nothing";
    }
}

static bool is_ref(uint8_t t) {
    return t == VT_FUNCREF || t == VT_EXTERNREF;
}

/* ==== Reading immediates ================================================ */

static wm_status rd_byte(comp *c, uint8_t *out) {
    *out = 0;
    if (c->p >= c->end) return MALFORMED("unexpected end");
    *out = *c->p++;
    return WM_OK;
}

/* Unsigned LEB128 of at most `bits` bits (32 or 64). */
static wm_status rd_uleb(comp *c, unsigned bits, uint64_t *out) {
    uint64_t r = 0;
    *out = 0;
    unsigned shift = 0, max_bytes = (bits + 6) / 7;
    for (unsigned i = 0;; i++) {
        if (c->p >= c->end) return MALFORMED("unexpected end");
        uint8_t b = *c->p++;
        if (i == max_bytes - 1) {
            if (b & 0x80) return MALFORMED("integer representation too long");
            if ((b & 0x7f) >> (bits - shift))
                return MALFORMED("integer too large");
            r |= (uint64_t)(b & 0x7f) << shift;
            break;
        }
        r |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
    }
    *out = r;
    return WM_OK;
}

static wm_status rd_u32(comp *c, uint32_t *out) {
    uint64_t v = 0;
    TRY(rd_uleb(c, 32, &v));
    *out = (uint32_t)v;
    return WM_OK;
}

/* Signed LEB128 of at most `bits` bits (32, 33 or 64), sign-extended. */
static wm_status rd_sleb(comp *c, unsigned bits, int64_t *out) {
    uint64_t r = 0;
    *out = 0;
    unsigned shift = 0, max_bytes = (bits + 6) / 7;
    uint8_t b;
    for (unsigned i = 0;; i++) {
        if (c->p >= c->end) return MALFORMED("unexpected end");
        b = *c->p++;
        if (i == max_bytes - 1) {
            if (b & 0x80) return MALFORMED("integer representation too long");
            unsigned used = bits - shift;          /* value bits here */
            uint8_t mask = (uint8_t)(0x7f & ~((1u << (used - 1)) - 1));
            uint8_t top = b & mask;
            if (top != 0 && top != mask) return MALFORMED("integer too large");
            r |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            break;
        }
        r |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
    }
    if (shift < 64 && (b & 0x40)) r |= ~(uint64_t)0 << shift;
    *out = (int64_t)r;
    return WM_OK;
}

static wm_status rd_zero(comp *c) {
    uint8_t b = 0;
    TRY(rd_byte(c, &b));
    if (b != 0) return MALFORMED("zero byte expected");
    return WM_OK;
}

/* ==== Growable buffers ================================================== */

static bool grow(void **buf, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap) return true;
    uint64_t n = *cap ? (uint64_t)*cap * 2 : 64;
    while (n < need) n *= 2;
    if (n > UINT32_MAX / 2 || n * elem > ((size_t)1 << 34)) return false;
    void *p = realloc(*buf, (size_t)n * elem);
    if (!p) return false;
    *buf = p;
    *cap = (uint32_t)n;
    return true;
}

static wm_status need_tmp(comp *c, uint32_t n) {
    if (!grow((void **)&c->tmp, &c->cap_tmp, n, sizeof(vval)))
        return fail(c, WM_ERR_NOMEM, "out of memory");
    return WM_OK;
}

/* ==== Emission ========================================================== */

static inline uint32_t home(const comp *c, uint32_t pos) {
    return c->stack_base + pos;
}

static uint32_t opword(const comp *c, enum interp_op op) {
    return c->optab ? (uint32_t)c->optab[op] : (uint32_t)op;
}

static void emit_w(comp *c, uint32_t w) {
    if (!c->live) return;
    if (c->n_code >= c->cap_code &&
        !grow((void **)&c->code, &c->cap_code, c->n_code + 1, 4)) {
        c->nomem = true;
        c->live = false;
        return;
    }
    c->code[c->n_code++] = w;
}

/* Start an instruction; forgets the peephole state of the previous one. */
static void emit_op(comp *c, enum interp_op op) {
    if (!c->live) return;
    c->prev_start = c->last_start;
    c->prev_op = c->last_op;
    c->prev_dst = c->last_dst;
    c->prev_dst_pos = c->last_dst_pos;
    c->last_start = c->n_code;
    c->last_op = op;
    c->last_dst = NONE;
    c->cmp.valid = false;
    emit_w(c, opword(c, op));
}

/* The destination word of a value-producing instruction (peephole-able). */
static void emit_dst(comp *c, uint32_t pos) {
    if (!c->live) return;
    c->last_dst = c->n_code;
    c->last_dst_pos = pos;
    emit_w(c, home(c, pos));
}

/* Does the instruction just emitted leave slot s's value in acc (it wrote
 * s last, and execution always comes straight from it)? */
static bool acc_ok(const comp *c, uint32_t s) {
    return c->live && c->last_dst != NONE && c->code[c->last_dst] == s;
}

/* A label is bound here: no peephole may look across it. */
static void barrier(comp *c) {
    c->last_start = NONE;
    c->prev_start = NONE;
    c->last_dst = NONE;
    c->cmp.valid = false;
}

static void emit_const(comp *c, uint32_t dst, uint64_t v) {
    if (v <= UINT32_MAX) {
        emit_op(c, IOP_const32);
        emit_w(c, dst);
        emit_w(c, (uint32_t)v);
    } else {
        emit_op(c, IOP_const64);
        emit_w(c, dst);
        emit_w(c, (uint32_t)v);
        emit_w(c, (uint32_t)(v >> 32));
    }
}

/* A move; consecutive moves merge into mov2 / movn (one dispatch; loops
 * that rotate values through locals, e.g. hash rounds, are full of them). */
static void emit_mov(comp *c, uint32_t dst, uint32_t src) {
    if (dst == src || !c->live) return;
    uint32_t st = c->last_start;
    if (st != NONE && c->last_op == IOP_mov) {
        c->code[st] = opword(c, IOP_mov2);
        c->last_op = IOP_mov2;
    } else if (st != NONE && c->last_op == IOP_mov2) {
        emit_w(c, 0);                          /* room for the count */
        if (!c->live) return;
        memmove(&c->code[st + 2], &c->code[st + 1], 4 * sizeof(uint32_t));
        c->code[st] = opword(c, IOP_movn);
        c->code[st + 1] = 3;
        c->last_op = IOP_movn;
    } else if (st != NONE && c->last_op == IOP_movn) {
        c->code[st + 1]++;
    } else {
        emit_op(c, IOP_mov);
    }
    emit_w(c, dst);
    emit_w(c, src);
}

/* Is v the result of the last instruction, an i32.add (or add_imm) whose
 * operands a memory access can take over? */
static bool fusable_add(const comp *c, const vval *v) {
    return c->live && v->kind == K_STACK && c->last_dst != NONE &&
           c->last_dst_pos == v->pos &&
           (c->last_op == IOP_i32_add || c->last_op == IOP_i32_add_imm);
}

/* Write v into slot dst (whatever kind it is; v->pos must be valid). */
static void emit_copy(comp *c, uint32_t dst, const vval *v) {
    if (!c->live) return;
    switch (v->kind) {
    case K_CONST: emit_const(c, dst, v->imm); break;
    case K_LOCAL: emit_mov(c, dst, v->local); break;
    default: emit_mov(c, dst, home(c, v->pos)); break;
    }
}

/* The slot an operand can be read from; constants are written to their
 * home slot first. */
static uint32_t slot_of(comp *c, const vval *v) {
    if (!c->live) return 0;
    switch (v->kind) {
    case K_LOCAL: return v->local;
    case K_CONST:
        emit_const(c, home(c, v->pos), v->imm);
        return home(c, v->pos);
    default: return home(c, v->pos);
    }
}

/* Branch offsets: relative to the offset word itself. */
static uint32_t rel(uint32_t target, uint32_t word) {
    return (uint32_t)((int32_t)target - (int32_t)word);
}

/* Bind every word of a patch chain to `target`. */
static void bind_chain(comp *c, uint32_t chain, uint32_t target) {
    while (chain) {
        uint32_t w = chain - 1;
        uint32_t next = c->code[w];
        c->code[w] = rel(target, w);
        chain = next;
    }
}

/* Emit the offset word of a branch to label f. */
static void emit_target(comp *c, ctrl *f) {
    if (!c->live) return;
    if (f->kind == CK_LOOP) {
        emit_w(c, rel(f->label_pc, c->n_code));
    } else {
        uint32_t w = c->n_code;
        emit_w(c, f->end_chain);
        if (c->live) f->end_chain = w + 1;
    }
}

/* ==== The value stack =================================================== */

static inline ctrl *top_ctrl(comp *c) { return &c->cs[c->n_cs - 1]; }

static void update_live(comp *c) {
    if (c->nomem || c->n_cs == 0) { c->live = false; return; }
    ctrl *f = top_ctrl(c);
    c->live = !f->unreachable && !f->dead_entry;
}

static wm_status push_v(comp *c, const vval *v) {
    if (c->n_vs >= VAL_MAX_STACK)
        return fail(c, WM_ERR_LIMIT, "function too complex: operand stack "
                    "deeper than %u values", VAL_MAX_STACK);
    if (c->n_vs >= c->cap_vs &&
        !grow((void **)&c->vs, &c->cap_vs, c->n_vs + 1, sizeof(vval)))
        return fail(c, WM_ERR_NOMEM, "out of memory");
    uint32_t pos = c->n_vs++;
    vval *e = &c->vs[pos];
    *e = *v;
    e->pos = pos;
    if (e->kind == K_LOCAL) {
        if (!c->live) {
            e->kind = K_STACK;
        } else {
            e->link = c->refhead[e->local];
            c->refhead[e->local] = (int32_t)pos;
            if (pos < c->ref_low) c->ref_low = pos;
        }
    } else if (e->kind == K_CONST && !c->live) {
        e->kind = K_STACK;
    }
    if (c->n_vs > c->max_h) c->max_h = c->n_vs;
    return WM_OK;
}

static wm_status push_stack(comp *c, uint8_t type) {
    vval v = {.type = type, .kind = K_STACK};
    return push_v(c, &v);
}

static wm_status push_const(comp *c, uint8_t type, uint64_t imm) {
    vval v = {.type = type, .kind = K_CONST, .imm = imm};
    return push_v(c, &v);
}

/* Pop one entry (the spec's pop_val) into *out. */
static wm_status pop_any(comp *c, vval *out) {
    ctrl *f = top_ctrl(c);
    if (c->n_vs == f->height) {
        if (f->unreachable) {
            *out = (vval){.type = T_UNKNOWN, .kind = K_STACK, .pos = c->n_vs};
            return WM_OK;
        }
        return INVALID("type mismatch: expected a value, got nothing");
    }
    *out = c->vs[--c->n_vs];
    if (out->kind == K_LOCAL) c->refhead[out->local] = out->link;
    return WM_OK;
}

static wm_status pop_t(comp *c, uint8_t expect, vval *out) {
    ctrl *f = top_ctrl(c);
    if (c->n_vs == f->height && !f->unreachable)
        return INVALID("type mismatch: expected %s, got nothing",
                       type_name(expect));
    TRY(pop_any(c, out));
    if (out->type != expect && out->type != T_UNKNOWN && expect != T_UNKNOWN)
        return INVALID("type mismatch: expected %s, got %s", type_name(expect),
                       type_name(out->type));
    return WM_OK;
}

/* Pop n values of the given types into c->tmp[0..n) (bottom first). */
static wm_status pop_vals(comp *c, const uint8_t *types, uint32_t n) {
    TRY(need_tmp(c, n));
    for (uint32_t i = n; i-- > 0;) TRY(pop_t(c, types[i], &c->tmp[i]));
    return WM_OK;
}

/* Push c->tmp[0..n) back, with the given (label) types, or as they were
 * when types is NULL (br_table keeps the polymorphic stack's unknowns). */
static wm_status repush_vals(comp *c, const uint8_t *types, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        vval v = c->tmp[i];
        if (types) v.type = types[i];
        TRY(push_v(c, &v));
    }
    return WM_OK;
}

/* Drop everything above the current frame's height (spec: unreachable). */
static void set_unreachable(comp *c) {
    ctrl *f = top_ctrl(c);
    vval dummy;
    while (c->n_vs > f->height) (void)pop_any(c, &dummy);
    f->unreachable = true;
    c->live = false;
}

/* Force every K_LOCAL entry referring to `local` into its home slot
 * (called before the local is written). Returns whether it emitted. */
static bool spill_local(comp *c, uint32_t local) {
    bool any = false;
    int32_t pos = c->refhead[local];
    while (pos >= 0) {
        vval *e = &c->vs[pos];
        emit_mov(c, home(c, (uint32_t)pos), local);
        e->kind = K_STACK;
        pos = e->link;
        any = true;
    }
    c->refhead[local] = -1;
    return any;
}

/* Force every K_LOCAL entry into its home slot (block boundaries). */
static void spill_all_locals(comp *c) {
    for (uint32_t pos = c->ref_low; pos < c->n_vs; pos++) {
        vval *e = &c->vs[pos];
        if (e->kind != K_LOCAL) continue;
        emit_mov(c, home(c, pos), e->local);
        e->kind = K_STACK;
        c->refhead[e->local] = -1;
    }
    c->ref_low = NONE;
}

/* ==== Control frames and labels ========================================= */

static const uint8_t *ctrl_results(const ctrl *f) {
    return f->tresults ? f->tresults : &f->bt1;
}
static uint32_t label_arity(const ctrl *f) {
    return f->kind == CK_LOOP ? f->n_params : f->n_results;
}
static const uint8_t *label_types(const ctrl *f) {
    return f->kind == CK_LOOP ? f->tparams : ctrl_results(f);
}
/* First slot of label f's values: the function label's are the result
 * slots 0.., a block's are its home slots. */
static uint32_t label_slot(const comp *c, const ctrl *f) {
    return f->kind == CK_FUNC ? 0 : home(c, f->height);
}

/* Do the n values vals[] (on top of the stack) need moving to reach label
 * f's slots? */
static bool needs_moves(const comp *c, const ctrl *f, const vval *vals,
                        uint32_t n) {
    uint32_t dst = label_slot(c, f);
    for (uint32_t i = 0; i < n; i++) {
        const vval *v = &vals[i];
        if (v->kind == K_CONST) return true;
        uint32_t src = v->kind == K_LOCAL ? v->local : home(c, v->pos);
        if (src != dst + i) return true;
    }
    return false;
}

/*
 * Move vals[0..n) into label f's slots. Destinations never lie above
 * their sources' home slots, so ascending order is safe for stack
 * values; only the function label's result slots can overlap locals,
 * and such locals are first copied to their home slots.
 */
static void emit_label_moves(comp *c, const ctrl *f, const vval *vals,
                             uint32_t n) {
    if (!c->live) return;
    uint32_t dst = label_slot(c, f);
    if (f->kind == CK_FUNC) {
        for (uint32_t j = 0; j < n; j++) {
            const vval *v = &vals[j];
            if (v->kind == K_LOCAL && v->local < n && v->local < j)
                emit_mov(c, home(c, v->pos), v->local);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        const vval *v = &vals[i];
        if (f->kind == CK_FUNC && v->kind == K_LOCAL && v->local < n &&
            v->local < i)
            emit_mov(c, dst + i, home(c, v->pos));
        else
            emit_copy(c, dst + i, v);
    }
}

/* Unconditional branch to label f with vals[0..n) on top (br, return,
 * the end of the function). Retargets the last instruction's destination
 * when it produced the single value. */
static void emit_br(comp *c, ctrl *f, const vval *vals, uint32_t n) {
    if (!c->live) return;
    if (n == 1 && vals[0].kind == K_STACK && c->last_dst != NONE &&
        c->last_dst_pos == vals[0].pos) {
        c->code[c->last_dst] = label_slot(c, f);
    } else {
        emit_label_moves(c, f, vals, n);
    }
    if (f->kind == CK_FUNC) {
        emit_op(c, IOP_ret);
    } else {
        emit_op(c, IOP_br);
        emit_target(c, f);
    }
}

/* return / end of function with one result: `ret1 s` when the value sits
 * in some slot (a local, usually), else emit_br. */
static void emit_return(comp *c, ctrl *f, const vval *vals, uint32_t n) {
    if (!c->live) return;
    if (n == 1 && vals[0].kind != K_CONST &&
        !(vals[0].kind == K_STACK && c->last_dst != NONE &&
          c->last_dst_pos == vals[0].pos)) {
        uint32_t s = vals[0].kind == K_LOCAL ? vals[0].local
                                             : home(c, vals[0].pos);
        if (s != 0) {
            emit_op(c, IOP_ret1);
            emit_w(c, s);
            return;
        }
    }
    emit_br(c, f, vals, n);
}

/* A branch condition: a plain i32 slot, or a compare still to be done. */
typedef struct cond {
    bool is_cmp;
    cmp_info cmp;
    uint32_t slot;
} cond;

/* Pop the i32 condition of br_if/if/select, taking over a compare the
 * previous instruction computed (it is removed and fused). */
static wm_status pop_cond(comp *c, cond *out) {
    vval v;
    TRY(pop_t(c, VT_I32, &v));
    memset(out, 0, sizeof *out);
    if (!c->live) return WM_OK;
    if (c->cmp.valid && v.kind == K_STACK && v.pos == c->cmp.pos) {
        out->is_cmp = true;
        out->cmp = c->cmp;
        /* drop the compare; the instruction before it is last again */
        c->n_code = c->last_start;
        c->last_start = c->prev_start;
        c->last_op = c->prev_op;
        c->last_dst = c->prev_start != NONE ? c->prev_dst : NONE;
        c->last_dst_pos = c->prev_dst_pos;
        c->prev_start = NONE;
        c->cmp.valid = false;
        return WM_OK;
    }
    out->slot = slot_of(c, &v);
    return WM_OK;
}

/* Emit "if (cond != negate) goto <offset word follows>" (no offset). */
static void emit_cond_jump(comp *c, const cond *k, bool negate) {
    if (!k->is_cmp) {
        if (acc_ok(c, k->slot)) {
            emit_op(c, negate ? IOP_br_unless_xa : IOP_br_if_xa);
            return;
        }
        emit_op(c, negate ? IOP_br_unless : IOP_br_if);
        emit_w(c, k->slot);
        return;
    }
    unsigned cc = negate ? cc_invert[k->cmp.cc] : k->cmp.cc;
    uint32_t st = c->last_start;
    if (!k->cmp.is64 && st != NONE && c->last_op == IOP_i32_add_imm &&
        c->code[st + 1] == k->cmp.a) {
        /* i += k; compare i: the loop-counter step, one instruction */
        uint32_t src = c->code[st + 2], imm = c->code[st + 3];
        c->n_code = st;
        emit_op(c, IOP_BR_ADDI_CC(cc, k->cmp.imm));
        emit_w(c, k->cmp.a);
        emit_w(c, src);
        emit_w(c, imm);
        emit_w(c, k->cmp.b);
        return;
    }
    if (!k->cmp.is64 && k->cmp.imm && k->cmp.b == 0 &&
        (cc == CC_EQ || cc == CC_NE)) {
        if (acc_ok(c, k->cmp.a)) {
            emit_op(c, cc == CC_NE ? IOP_br_if_xa : IOP_br_unless_xa);
            return;
        }
        emit_op(c, cc == CC_NE ? IOP_br_if : IOP_br_unless);
        emit_w(c, k->cmp.a);
        return;
    }
    if (acc_ok(c, k->cmp.a)) {
        emit_op(c, IOP_BR_CC_XA(k->cmp.is64, cc, k->cmp.imm));
        emit_w(c, k->cmp.b);
        return;
    }
    if (!k->cmp.imm && acc_ok(c, k->cmp.b)) {
        emit_op(c, IOP_BR_CC_XA(k->cmp.is64, cc_swap[cc], false));
        emit_w(c, k->cmp.a);
        return;
    }
    emit_op(c, IOP_BR_CC(k->cmp.is64, cc, k->cmp.imm));
    emit_w(c, k->cmp.a);
    emit_w(c, k->cmp.b);
}

/* Conditional branch to label f with vals[0..n) on top (kept there). */
static void emit_br_if(comp *c, ctrl *f, const cond *k, const vval *vals,
                       uint32_t n) {
    if (!c->live) return;
    if (f->kind != CK_FUNC && !needs_moves(c, f, vals, n)) {
        emit_cond_jump(c, k, false);
        emit_target(c, f);
        return;
    }
    emit_cond_jump(c, k, true);
    uint32_t skip = c->n_code;
    emit_w(c, 0);
    emit_label_moves(c, f, vals, n);
    if (f->kind == CK_FUNC) {
        emit_op(c, IOP_ret);
    } else {
        emit_op(c, IOP_br);
        emit_target(c, f);
    }
    if (c->live) c->code[skip] = rel(c->n_code, skip);
    barrier(c);
}

/* Read a block type: empty, one value type or a type index. */
static wm_status rd_blocktype(comp *c, ctrl *f) {
    if (c->p >= c->end) return MALFORMED("unexpected end");
    uint8_t b = *c->p;
    f->n_params = 0;
    f->tparams = NULL;
    f->tresults = NULL;
    if (b == 0x40) {
        c->p++;
        f->n_results = 0;
        return WM_OK;
    }
    if (b == VT_I32 || b == VT_I64 || b == VT_F32 || b == VT_F64 ||
        b == VT_FUNCREF || b == VT_EXTERNREF) {
        c->p++;
        f->n_results = 1;
        f->bt1 = b;
        return WM_OK;
    }
    if (b == VT_V128) return NO_SIMD();
    int64_t idx;
    TRY(rd_sleb(c, 33, &idx));
    if (idx < 0) return MALFORMED("malformed value type");
    if ((uint64_t)idx >= c->m->n_types) return INVALID("unknown type");
    const mod_functype *t = &c->m->types[idx];
    f->n_params = t->n_params;
    f->tparams = t->n_params ? t->params : NULL;
    f->n_results = t->n_results;
    f->tresults = t->results;
    return WM_OK;
}

/* block / loop / if: pop the params, push the frame, re-push the params
 * in their home slots. The condition of `if` has been popped already. */
static wm_status push_ctrl(comp *c, uint8_t kind, ctrl *bt, const cond *k) {
    TRY(pop_vals(c, bt->tparams, bt->n_params));
    spill_all_locals(c);
    if (c->n_cs >= VAL_MAX_NESTING)
        return fail(c, WM_ERR_LIMIT, "function too complex: blocks nested "
                    "deeper than %u", VAL_MAX_NESTING);
    if (c->n_cs >= c->cap_cs &&
        !grow((void **)&c->cs, &c->cap_cs, c->n_cs + 1, sizeof(ctrl)))
        return fail(c, WM_ERR_NOMEM, "out of memory");
    bool dead = !c->live;
    for (uint32_t i = 0; i < bt->n_params; i++)
        emit_copy(c, home(c, c->n_vs + i), &c->tmp[i]);
    ctrl *f = &c->cs[c->n_cs++];
    *f = *bt;
    f->kind = kind;
    f->unreachable = false;
    f->dead_entry = dead;
    f->height = c->n_vs;
    f->end_chain = 0;
    f->else_chain = 0;
    f->stub_gen = 0;
    if (kind == CK_IF && !dead) {
        emit_cond_jump(c, k, true);
        f->else_chain = c->n_code + 1;
        emit_w(c, 0);
    }
    barrier(c);
    f->label_pc = c->n_code;
    update_live(c);
    for (uint32_t i = 0; i < bt->n_params; i++)
        TRY(push_stack(c, bt->tparams[i]));
    return WM_OK;
}

/* ==== Instruction groups ================================================ */

static wm_status check_local(comp *c, uint32_t *idx) {
    TRY(rd_u32(c, idx));
    if (*idx >= c->n_locals_all) return INVALID("unknown local %u", *idx);
    return WM_OK;
}

/* local.set / local.tee */
static wm_status do_local_set(comp *c, bool tee) {
    uint32_t x;
    TRY(check_local(c, &x));
    uint8_t t = c->local_types[x];
    vval v;
    TRY(pop_t(c, t, &v));
    if (c->live) {
        if (v.kind == K_LOCAL && v.local == x) {
            /* local.get x; local.set x: nothing to do */
        } else {
            bool spilled = spill_local(c, x);
            if (v.kind == K_STACK && !spilled && c->last_dst != NONE &&
                c->last_dst_pos == v.pos) {
                c->code[c->last_dst] = x;      /* retarget, no move */
                c->last_dst_pos = NONE;        /* acc still holds x */
                c->cmp.valid = false;
            } else {
                emit_copy(c, x, &v);
            }
        }
    }
    if (!tee) return WM_OK;
    if (v.kind == K_CONST) return push_const(c, t, v.imm);
    vval l = {.type = t, .kind = K_LOCAL, .local = x};
    return push_v(c, &l);
}

/* Numeric instruction with a fixed signature (op_sig). */
static wm_status do_numeric(comp *c, uint8_t opc, enum interp_op iop,
                            const char *sig) {
    static const uint8_t letter_type[128] = {
        ['i'] = VT_I32, ['I'] = VT_I64, ['f'] = VT_F32, ['F'] = VT_F64};
    uint8_t t_a = letter_type[(unsigned char)sig[0]];
    bool binary = sig[1] != ':';
    uint8_t t_b = binary ? letter_type[(unsigned char)sig[1]] : 0;
    uint8_t t_r = letter_type[(unsigned char)sig[binary ? 3 : 2]];
    vval a, b;
    if (binary) TRY(pop_t(c, t_b, &b));
    TRY(pop_t(c, t_a, &a));
    uint32_t dpos = c->n_vs;
    if (c->live) {
        bool is_icmp = (opc >= WOP_i32_eq && opc <= WOP_i32_ge_u) ||
                       (opc >= WOP_i64_eq && opc <= WOP_i64_ge_u);
        bool is64 = opc >= WOP_i64_eq && opc <= WOP_i64_ge_u;
        unsigned cc = is64 ? opc - WOP_i64_eq : opc - WOP_i32_eq;
        if (!binary) {
            bool eqz = opc == WOP_i32_eqz || opc == WOP_i64_eqz;
            if (opc == WOP_i32_eqz && c->cmp.valid &&
                a.kind == K_STACK && a.pos == c->cmp.pos) {
                /* eqz of a fresh compare: invert the compare in place */
                c->cmp.cc = cc_invert[c->cmp.cc];
                c->code[c->last_start] =
                    opword(c, cmp_op(c->cmp.is64, c->cmp.cc, c->cmp.imm));
                return push_stack(c, t_r);
            }
            uint32_t sa = slot_of(c, &a);
            emit_op(c, eqz ? cmp_op(opc == WOP_i64_eqz, CC_EQ, true) : iop);
            emit_dst(c, dpos);
            emit_w(c, sa);
            if (eqz) {
                emit_w(c, 0);
                c->cmp = (cmp_info){.valid = true, .is64 = opc == WOP_i64_eqz,
                                    .imm = true, .cc = CC_EQ, .a = sa,
                                    .b = 0, .pos = dpos};
            }
            return push_stack(c, t_r);
        }
        /* Immediate form: constant on the right, or (commuting) left. */
        uint16_t iimm = imm_iop[opc];
        bool is_64op = t_a == VT_I64;
        const vval *va = &a;
        bool use_imm = false;
        uint64_t k = 0;
        unsigned ccx = cc;
        enum interp_op op = iop;
        if (b.kind == K_CONST &&
            (iimm || opc == WOP_i32_sub || opc == WOP_i64_sub)) {
            k = b.imm;
            op = iimm ? (enum interp_op)iimm
                      : is_64op ? IOP_i64_add_imm : IOP_i32_add_imm;
            if (opc == WOP_i32_sub || opc == WOP_i64_sub) k = (uint64_t)0 - k;
            use_imm = true;
        } else if (a.kind == K_CONST && iimm && (commutes[opc] || is_icmp)) {
            k = a.imm;
            va = &b;
            op = (enum interp_op)iimm;
            if (is_icmp) {
                ccx = cc_swap[cc];
                op = cmp_op(is64, ccx, true);
            }
            use_imm = true;
        }
        if (use_imm && is_64op && (int64_t)(int32_t)k != (int64_t)k)
            use_imm = false, va = &a, op = iop, ccx = cc;
        if (use_imm && op == IOP_i32_and_imm && va->kind == K_STACK &&
            c->last_dst != NONE && c->last_dst_pos == va->pos &&
            (c->last_op == IOP_i32_shr_u_imm ||
             c->last_op == IOP_i32_shr_u_imm_xa)) {
            /* (x >> s) & m: a bit-field extract, one instruction; the
             * _xa shift took x from acc, which is still there */
            uint32_t st = c->last_start;
            bool xa = c->last_op == IOP_i32_shr_u_imm_xa;
            uint32_t x = c->code[st + 2], sh = xa ? x : c->code[st + 3];
            c->n_code = st;
            emit_op(c, xa ? IOP_i32_bfx_xa : IOP_i32_bfx);
            emit_dst(c, dpos);
            if (!xa) emit_w(c, x);
            emit_w(c, sh);
            emit_w(c, (uint32_t)k);
            return push_stack(c, t_r);
        }
        if (use_imm) {
            if (!is_64op) k = (uint32_t)k;
            uint32_t sa = slot_of(c, va);
            if (imm_xa_iop[op] && acc_ok(c, sa)) {
                emit_op(c, (enum interp_op)imm_xa_iop[op]);
                emit_dst(c, dpos);
                emit_w(c, (uint32_t)k);
                return push_stack(c, t_r);
            }
            emit_op(c, op);
            emit_dst(c, dpos);
            emit_w(c, sa);
            emit_w(c, (uint32_t)k);
            if (is_icmp)
                c->cmp = (cmp_info){.valid = true, .is64 = is64, .imm = true,
                                    .cc = (uint8_t)ccx, .a = sa,
                                    .b = (uint32_t)k, .pos = dpos};
        } else {
            uint32_t sa = slot_of(c, &a);
            uint32_t sb = slot_of(c, &b);
            enum interp_op xop = (enum interp_op)0;
            uint32_t other = 0;
            if (xa_iop[iop] && acc_ok(c, sa))
                xop = (enum interp_op)xa_iop[iop], other = sb;
            else if (xa_iop[iop] && commutes[opc] && acc_ok(c, sb))
                xop = (enum interp_op)xa_iop[iop], other = sa;
            else if (xb_iop[iop] && acc_ok(c, sb))
                xop = (enum interp_op)xb_iop[iop], other = sa;
            if (xop) {
                emit_op(c, xop);
                emit_dst(c, dpos);
                emit_w(c, other);
                return push_stack(c, t_r);
            }
            emit_op(c, iop);
            emit_dst(c, dpos);
            emit_w(c, sa);
            emit_w(c, sb);
            if (is_icmp)
                c->cmp = (cmp_info){.valid = true, .is64 = is64, .imm = false,
                                    .cc = (uint8_t)cc, .a = sa, .b = sb,
                                    .pos = dpos};
        }
    }
    return push_stack(c, t_r);
}

/* Loads and stores: memarg, alignment, memory 0. */
static wm_status rd_memarg(comp *c, uint8_t opc, uint32_t *offset) {
    uint32_t align;
    TRY(rd_u32(c, &align));
    TRY(rd_u32(c, offset));
    if (c->m->n_mems == 0) return INVALID("unknown memory 0");
    if (align > op_align[opc])
        return INVALID("alignment must not be larger than natural");
    return WM_OK;
}

static wm_status need_mem(comp *c) {
    if (c->m->n_mems == 0) return INVALID("unknown memory 0");
    return WM_OK;
}

static wm_status check_table(comp *c, uint32_t *idx) {
    TRY(rd_u32(c, idx));
    if (*idx >= c->m->n_tables) return INVALID("unknown table %u", *idx);
    return WM_OK;
}

/* A data segment index of memory.init / data.drop. The binary format
 * requires the data count section for these; a module without one and
 * without data segments (as wabt writes them) simply has none. */
static wm_status check_data(comp *c, uint32_t idx) {
    if (!c->m->has_data_count && c->m->n_datas)
        return MALFORMED("data count section required");
    uint32_t n = c->m->has_data_count ? c->m->data_count : 0;
    if (idx >= n) return INVALID("unknown data segment %u", idx);
    return WM_OK;
}

static wm_status check_elem(comp *c, uint32_t idx) {
    if (idx >= c->m->n_elems) return INVALID("unknown elem segment %u", idx);
    return WM_OK;
}

/* Pop n i32 operands (bottom first) and return their slots. */
static wm_status pop_i32s(comp *c, uint32_t n, uint32_t *slots) {
    vval v[3];
    for (uint32_t i = n; i-- > 0;) TRY(pop_t(c, VT_I32, &v[i]));
    for (uint32_t i = 0; i < n; i++) slots[i] = slot_of(c, &v[i]);
    return WM_OK;
}

/* call / call_indirect: arguments into consecutive home slots. */
static wm_status do_call(comp *c, const mod_functype *t, uint32_t func_idx,
                         bool indirect, uint32_t table_idx) {
    uint32_t idx_slot = 0;
    if (indirect) {
        vval iv;
        TRY(pop_t(c, VT_I32, &iv));
        TRY(pop_vals(c, t->params, t->n_params));
        idx_slot = slot_of(c, &iv);
    } else {
        TRY(pop_vals(c, t->params, t->n_params));
    }
    uint32_t base = c->n_vs;
    for (uint32_t i = 0; i < t->n_params; i++)
        if (c->tmp[i].kind != K_STACK)
            emit_copy(c, home(c, base + i), &c->tmp[i]);
    if (indirect) {
        emit_op(c, IOP_call_indirect);
        emit_w(c, table_idx);
        emit_w(c, t->type_id);
        emit_w(c, idx_slot);
        emit_w(c, home(c, base));
    } else if (func_idx < c->m->n_func_imports) {
        emit_op(c, IOP_call_import);
        emit_w(c, func_idx);
        emit_w(c, home(c, base));
    } else {
        const interp_code *code = c->m->funcs[func_idx].code;
        uint64_t bits = (uint64_t)(uintptr_t)code;
        emit_op(c, IOP_call);
        emit_w(c, (uint32_t)bits);
        emit_w(c, (uint32_t)(bits >> 32));
        emit_w(c, home(c, base));
    }
    /* Arguments beyond the results still count for the frame size. */
    if (base + t->n_params > c->max_h) c->max_h = base + t->n_params;
    for (uint32_t i = 0; i < t->n_results; i++)
        TRY(push_stack(c, t->results[i]));
    return WM_OK;
}

/* br_table: a jump table; labels whose values need moving get a stub. */
static wm_status do_br_table(comp *c) {
    uint32_t n;
    TRY(rd_u32(c, &n));
    if (n > (uint32_t)(c->end - c->p))
        return MALFORMED("unexpected end");
    if (!grow((void **)&c->tmp32, &c->cap_tmp32, n + 1, 4))
        return fail(c, WM_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i <= n; i++) {
        TRY(rd_u32(c, &c->tmp32[i]));
        if (c->tmp32[i] >= c->n_cs) return INVALID("unknown label");
    }
    vval iv;
    TRY(pop_t(c, VT_I32, &iv));
    ctrl *fm = &c->cs[c->n_cs - 1 - c->tmp32[n]];
    uint32_t arity = label_arity(fm);
    for (uint32_t i = 0; i < n; i++) {
        ctrl *fl = &c->cs[c->n_cs - 1 - c->tmp32[i]];
        if (label_arity(fl) != arity)
            return INVALID("type mismatch: br_table labels differ in arity");
        TRY(pop_vals(c, label_types(fl), arity));
        TRY(repush_vals(c, NULL, arity));
    }
    TRY(pop_vals(c, label_types(fm), arity));
    if (c->live) {
        uint32_t is = slot_of(c, &iv);
        emit_op(c, IOP_br_table);
        emit_w(c, is);
        emit_w(c, n);
        uint32_t tbl = c->n_code;
        for (uint32_t i = 0; i <= n; i++) emit_w(c, 0);
        uint32_t gen = ++c->stub_gen;
        for (uint32_t i = 0; i <= n && c->live; i++) {
            ctrl *f = &c->cs[c->n_cs - 1 - c->tmp32[i]];
            uint32_t w = tbl + i;
            if (f->kind != CK_FUNC && !needs_moves(c, f, c->tmp, arity)) {
                if (f->kind == CK_LOOP) {
                    c->code[w] = rel(f->label_pc, w);
                } else {
                    c->code[w] = f->end_chain;
                    f->end_chain = w + 1;
                }
                continue;
            }
            if (f->stub_gen != gen) {
                f->stub_gen = gen;
                f->stub_pos = c->n_code;
                barrier(c);
                emit_label_moves(c, f, c->tmp, arity);
                if (f->kind == CK_FUNC) {
                    emit_op(c, IOP_ret);
                } else {
                    emit_op(c, IOP_br);
                    emit_target(c, f);
                }
            }
            if (c->live) c->code[w] = rel(f->stub_pos, w);
        }
    }
    set_unreachable(c);
    return WM_OK;
}

/* ==== The body walk ===================================================== */

static wm_status compile_body(comp *c) {
    module *m = c->m;
    for (;;) {
        if (c->p >= c->end) {
            bool last = c->func_idx + 1 == m->n_funcs;
            return MALFORMED(last ? "unexpected end of section or function"
                                  : "END opcode expected");
        }
        c->instr = c->p;
        uint8_t opc = *c->p++;
        switch (opc) {
        case WOP_unreachable:
            emit_op(c, IOP_unreachable);
            set_unreachable(c);
            break;
        case WOP_nop:
            break;
        case WOP_block:
        case WOP_loop: {
            ctrl bt;
            TRY(rd_blocktype(c, &bt));
            TRY(push_ctrl(c, opc == WOP_loop ? CK_LOOP : CK_BLOCK, &bt, NULL));
            break;
        }
        case WOP_if: {
            ctrl bt;
            cond k;
            TRY(rd_blocktype(c, &bt));
            TRY(pop_cond(c, &k));
            TRY(push_ctrl(c, CK_IF, &bt, &k));
            break;
        }
        case WOP_else: {
            ctrl *f = top_ctrl(c);
            if (f->kind != CK_IF) return MALFORMED("END opcode expected");
            TRY(pop_vals(c, ctrl_results(f), f->n_results));
            if (c->n_vs != f->height)
                return INVALID("type mismatch: values remain at end of block");
            if (c->live) {
                for (uint32_t i = 0; i < f->n_results; i++)
                    if (c->tmp[i].kind != K_STACK)
                        emit_copy(c, home(c, f->height + i), &c->tmp[i]);
                emit_op(c, IOP_br);
                emit_target(c, f);
            }
            bind_chain(c, f->else_chain, c->n_code);
            f->else_chain = 0;
            f->kind = CK_ELSE;
            f->unreachable = false;
            barrier(c);
            update_live(c);
            for (uint32_t i = 0; i < f->n_params; i++)
                TRY(push_stack(c, f->tparams[i]));
            break;
        }
        case WOP_end: {
            ctrl *f = top_ctrl(c);
            TRY(pop_vals(c, ctrl_results(f), f->n_results));
            if (c->n_vs != f->height)
                return INVALID("type mismatch: values remain at end of block");
            if (f->kind == CK_IF) {
                /* no else: the params pass through as the results */
                if (f->n_params != f->n_results ||
                    (f->n_params &&
                     memcmp(f->tparams, ctrl_results(f), f->n_params)))
                    return INVALID("type mismatch: if without else");
            }
            if (f->kind == CK_FUNC) {
                emit_return(c, f, c->tmp, f->n_results);
                c->n_cs = 0;
                if (c->p != c->end) return MALFORMED("section size mismatch");
                return WM_OK;
            }
            if (c->live)
                for (uint32_t i = 0; i < f->n_results; i++)
                    if (c->tmp[i].kind != K_STACK ||
                        c->tmp[i].pos != f->height + i)
                        emit_copy(c, home(c, f->height + i), &c->tmp[i]);
            if (f->kind == CK_IF || f->kind == CK_ELSE)
                bind_chain(c, f->else_chain, c->n_code);
            if (f->kind != CK_LOOP) bind_chain(c, f->end_chain, c->n_code);
            uint32_t nr = f->n_results;
            const uint8_t *rt = f->tresults;
            uint8_t rt1 = f->bt1;
            c->n_cs--;
            barrier(c);
            update_live(c);
            for (uint32_t i = 0; i < nr; i++)
                TRY(push_stack(c, rt ? rt[i] : rt1));
            break;
        }
        case WOP_br: {
            uint32_t l;
            TRY(rd_u32(c, &l));
            if (l >= c->n_cs) return INVALID("unknown label");
            ctrl *f = &c->cs[c->n_cs - 1 - l];
            uint32_t n = label_arity(f);
            TRY(pop_vals(c, label_types(f), n));
            emit_br(c, f, c->tmp, n);
            set_unreachable(c);
            break;
        }
        case WOP_br_if: {
            uint32_t l;
            cond k;
            TRY(rd_u32(c, &l));
            if (l >= c->n_cs) return INVALID("unknown label");
            TRY(pop_cond(c, &k));
            ctrl *f = &c->cs[c->n_cs - 1 - l];
            uint32_t n = label_arity(f);
            TRY(pop_vals(c, label_types(f), n));
            emit_br_if(c, f, &k, c->tmp, n);
            TRY(repush_vals(c, label_types(f), n));
            break;
        }
        case WOP_br_table:
            TRY(do_br_table(c));
            break;
        case WOP_return: {
            ctrl *f = &c->cs[0];
            TRY(pop_vals(c, ctrl_results(f), f->n_results));
            emit_return(c, f, c->tmp, f->n_results);
            set_unreachable(c);
            break;
        }
        case WOP_call: {
            uint32_t fi;
            TRY(rd_u32(c, &fi));
            if (fi >= m->n_funcs) return INVALID("unknown function %u", fi);
            TRY(do_call(c, &m->types[m->funcs[fi].type_idx], fi, false, 0));
            break;
        }
        case WOP_call_indirect: {
            uint32_t ti, tab;
            TRY(rd_u32(c, &ti));
            TRY(rd_u32(c, &tab));
            if (tab >= m->n_tables) return INVALID("unknown table %u", tab);
            if (ti >= m->n_types) return INVALID("unknown type");
            if (m->tables[tab].type.elem_type != VT_FUNCREF)
                return INVALID("type mismatch: call_indirect on a table of "
                               "externref");
            TRY(do_call(c, &m->types[ti], 0, true, tab));
            break;
        }
        case WOP_drop: {
            vval v;
            TRY(pop_any(c, &v));
            break;
        }
        case WOP_select:
        case WOP_select_t: {
            uint8_t t = T_UNKNOWN;
            if (opc == WOP_select_t) {
                uint32_t n;
                TRY(rd_u32(c, &n));
                if (n != 1) return INVALID("invalid result arity");
                TRY(rd_byte(c, &t));
                if (t == VT_V128)
                    return NO_SIMD();
                if (t != VT_I32 && t != VT_I64 && t != VT_F32 && t != VT_F64 &&
                    !is_ref(t))
                    return MALFORMED("malformed value type");
            }
            vval vc, a, b;
            TRY(pop_t(c, VT_I32, &vc));
            if (opc == WOP_select_t) {
                TRY(pop_t(c, t, &b));
                TRY(pop_t(c, t, &a));
            } else {
                TRY(pop_any(c, &b));
                TRY(pop_any(c, &a));
                if (is_ref(a.type) || is_ref(b.type) || a.type == VT_V128 ||
                    b.type == VT_V128)
                    return INVALID("type mismatch: select needs numeric "
                                   "operands");
                if (a.type != b.type && a.type != T_UNKNOWN &&
                    b.type != T_UNKNOWN)
                    return INVALID("type mismatch: select operands %s and %s",
                                   type_name(a.type), type_name(b.type));
                t = a.type == T_UNKNOWN ? b.type : a.type;
            }
            uint32_t dpos = c->n_vs;
            if (c->live) {
                uint32_t sa = slot_of(c, &a), sb = slot_of(c, &b);
                uint32_t sc = slot_of(c, &vc);
                emit_op(c, IOP_select);
                emit_dst(c, dpos);
                emit_w(c, sa);
                emit_w(c, sb);
                emit_w(c, sc);
            }
            TRY(push_stack(c, t));
            break;
        }
        case WOP_local_get: {
            uint32_t x;
            TRY(check_local(c, &x));
            vval v = {.type = c->local_types[x], .kind = K_LOCAL, .local = x};
            TRY(push_v(c, &v));
            break;
        }
        case WOP_local_set:
            TRY(do_local_set(c, false));
            break;
        case WOP_local_tee:
            TRY(do_local_set(c, true));
            break;
        case WOP_global_get: {
            uint32_t g;
            TRY(rd_u32(c, &g));
            if (g >= m->n_globals) return INVALID("unknown global %u", g);
            uint32_t dpos = c->n_vs;
            emit_op(c, IOP_global_get);
            emit_dst(c, dpos);
            emit_w(c, g);
            TRY(push_stack(c, m->globals[g].type.type));
            break;
        }
        case WOP_global_set: {
            uint32_t g;
            TRY(rd_u32(c, &g));
            if (g >= m->n_globals) return INVALID("unknown global %u", g);
            if (!m->globals[g].type.mut) return INVALID("global is immutable");
            vval v;
            TRY(pop_t(c, m->globals[g].type.type, &v));
            uint32_t s = slot_of(c, &v);
            emit_op(c, IOP_global_set);
            emit_w(c, g);
            emit_w(c, s);
            break;
        }
        case WOP_table_get:
        case WOP_table_set: {
            uint32_t t;
            TRY(check_table(c, &t));
            uint8_t et = m->tables[t].type.elem_type;
            if (opc == WOP_table_get) {
                uint32_t s;
                TRY(pop_i32s(c, 1, &s));
                uint32_t dpos = c->n_vs;
                emit_op(c, IOP_table_get);
                emit_dst(c, dpos);
                emit_w(c, t);
                emit_w(c, s);
                TRY(push_stack(c, et));
            } else {
                vval v, i;
                TRY(pop_t(c, et, &v));
                TRY(pop_t(c, VT_I32, &i));
                uint32_t si = slot_of(c, &i), sv = slot_of(c, &v);
                emit_op(c, IOP_table_set);
                emit_w(c, t);
                emit_w(c, si);
                emit_w(c, sv);
            }
            break;
        }
        case WOP_i32_load: case WOP_i64_load: case WOP_f32_load:
        case WOP_f64_load: case WOP_i32_load8_s: case WOP_i32_load8_u:
        case WOP_i32_load16_s: case WOP_i32_load16_u: case WOP_i64_load8_s:
        case WOP_i64_load8_u: case WOP_i64_load16_s: case WOP_i64_load16_u:
        case WOP_i64_load32_s: case WOP_i64_load32_u: {
            uint32_t off;
            TRY(rd_memarg(c, opc, &off));
            vval a;
            TRY(pop_t(c, VT_I32, &a));
            uint32_t dpos = c->n_vs, k = (uint32_t)(opc - WOP_i32_load);
            if (c->live && a.kind == K_CONST) {
                emit_op(c, (enum interp_op)(IOP_i32_load_k + k));
                emit_dst(c, dpos);
                emit_w(c, (uint32_t)a.imm);
            } else if (c->live && a.kind == K_STACK &&
                       c->last_dst != NONE && c->last_dst_pos == a.pos &&
                       c->last_op == IOP_i32_add_imm_xa) {
                /* (acc + j) + offset: acc is still the add's input */
                uint32_t st = c->last_start, j = c->code[st + 2];
                c->n_code = st;
                emit_op(c, (enum interp_op)(IOP_i32_load_rixa + k));
                emit_dst(c, dpos);
                emit_w(c, j);
            } else if (fusable_add(c, &a)) {
                uint32_t st = c->last_start;
                bool imm = c->last_op == IOP_i32_add_imm;
                uint32_t x = c->code[st + 2], y = c->code[st + 3];
                c->n_code = st;
                emit_op(c, (enum interp_op)((imm ? IOP_i32_load_ri
                                                 : IOP_i32_load_rr) + k));
                emit_dst(c, dpos);
                emit_w(c, x);
                emit_w(c, y);
            } else {
                uint32_t s = slot_of(c, &a);
                if (acc_ok(c, s)) {
                    emit_op(c, (enum interp_op)(IOP_i32_load_xa + k));
                    emit_dst(c, dpos);
                } else {
                    emit_op(c, (enum interp_op)(IOP_i32_load + k));
                    emit_dst(c, dpos);
                    emit_w(c, s);
                }
            }
            emit_w(c, off);
            const char *sig = op_sig[opc];
            TRY(push_stack(c, sig[2] == 'i' ? VT_I32 : sig[2] == 'I' ? VT_I64
                            : sig[2] == 'f' ? VT_F32 : VT_F64));
            break;
        }
        case WOP_i32_store: case WOP_i64_store: case WOP_f32_store:
        case WOP_f64_store: case WOP_i32_store8: case WOP_i32_store16:
        case WOP_i64_store8: case WOP_i64_store16: case WOP_i64_store32: {
            uint32_t off;
            TRY(rd_memarg(c, opc, &off));
            const char *sig = op_sig[opc];
            uint8_t vt = sig[1] == 'i' ? VT_I32 : sig[1] == 'I' ? VT_I64
                       : sig[1] == 'f' ? VT_F32 : VT_F64;
            vval a, v;
            TRY(pop_t(c, vt, &v));
            TRY(pop_t(c, VT_I32, &a));
            uint32_t k = (uint32_t)(opc - WOP_i32_store);
            uint32_t st = c->last_start;
            /* A constant value is written to its home slot first, which
             * must not be one the add reads. */
            if (fusable_add(c, &a) &&
                (v.kind != K_CONST ||
                 (c->code[st + 2] != home(c, v.pos) &&
                  (c->last_op == IOP_i32_add_imm ||
                   c->code[st + 3] != home(c, v.pos))))) {
                bool imm = c->last_op == IOP_i32_add_imm;
                uint32_t x = c->code[st + 2], y = c->code[st + 3];
                c->n_code = st;
                barrier(c);
                uint32_t sv = slot_of(c, &v);
                emit_op(c, (enum interp_op)((imm ? IOP_i32_store_ri
                                                 : IOP_i32_store_rr) + k));
                emit_w(c, x);
                emit_w(c, y);
                emit_w(c, sv);
            } else if (c->live && a.kind == K_CONST) {
                uint32_t sv = slot_of(c, &v);
                emit_op(c, (enum interp_op)(IOP_i32_store_k + k));
                emit_w(c, (uint32_t)a.imm);
                emit_w(c, sv);
            } else if (c->live && v.kind == K_CONST &&
                       (vt == VT_I32 || vt == VT_F32 ||
                        (int64_t)(int32_t)v.imm == (int64_t)v.imm)) {
                uint32_t sa = slot_of(c, &a);
                emit_op(c, (enum interp_op)(IOP_i32_store_vk + k));
                emit_w(c, sa);
                emit_w(c, (uint32_t)v.imm);
            } else {
                uint32_t sa = slot_of(c, &a), sv = slot_of(c, &v);
                if (acc_ok(c, sv)) {
                    emit_op(c, (enum interp_op)(IOP_i32_store_xv + k));
                    emit_w(c, sa);
                } else if (acc_ok(c, sa)) {
                    emit_op(c, (enum interp_op)(IOP_i32_store_xa + k));
                    emit_w(c, sv);
                } else {
                    emit_op(c, (enum interp_op)(IOP_i32_store + k));
                    emit_w(c, sa);
                    emit_w(c, sv);
                }
            }
            emit_w(c, off);
            break;
        }
        case WOP_memory_size: {
            TRY(rd_zero(c));
            TRY(need_mem(c));
            uint32_t dpos = c->n_vs;
            emit_op(c, IOP_memory_size);
            emit_dst(c, dpos);
            TRY(push_stack(c, VT_I32));
            break;
        }
        case WOP_memory_grow: {
            TRY(rd_zero(c));
            TRY(need_mem(c));
            uint32_t s;
            TRY(pop_i32s(c, 1, &s));
            uint32_t dpos = c->n_vs;
            emit_op(c, IOP_memory_grow);
            emit_dst(c, dpos);
            emit_w(c, s);
            TRY(push_stack(c, VT_I32));
            break;
        }
        case WOP_i32_const: {
            int64_t v;
            TRY(rd_sleb(c, 32, &v));
            TRY(push_const(c, VT_I32, (uint32_t)v));
            break;
        }
        case WOP_i64_const: {
            int64_t v;
            TRY(rd_sleb(c, 64, &v));
            TRY(push_const(c, VT_I64, (uint64_t)v));
            break;
        }
        case WOP_f32_const: {
            if (c->end - c->p < 4) return MALFORMED("unexpected end");
            uint32_t v = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 |
                         (uint32_t)c->p[2] << 16 | (uint32_t)c->p[3] << 24;
            c->p += 4;
            TRY(push_const(c, VT_F32, v));
            break;
        }
        case WOP_f64_const: {
            if (c->end - c->p < 8) return MALFORMED("unexpected end");
            uint64_t v = 0;
            for (int i = 7; i >= 0; i--) v = v << 8 | c->p[i];
            c->p += 8;
            TRY(push_const(c, VT_F64, v));
            break;
        }
        case WOP_ref_null: {
            uint8_t t = 0;
            TRY(rd_byte(c, &t));
            if (!is_ref(t)) return MALFORMED("malformed reference type");
            TRY(push_const(c, t, 0));
            break;
        }
        case WOP_ref_is_null: {
            vval v;
            TRY(pop_any(c, &v));
            if (v.type != T_UNKNOWN && !is_ref(v.type))
                return INVALID("type mismatch: expected a reference, got %s",
                               type_name(v.type));
            uint32_t s = slot_of(c, &v);
            uint32_t dpos = c->n_vs;
            emit_op(c, IOP_ref_is_null);
            emit_dst(c, dpos);
            emit_w(c, s);
            TRY(push_stack(c, VT_I32));
            break;
        }
        case WOP_ref_func: {
            uint32_t fi;
            TRY(rd_u32(c, &fi));
            if (fi >= m->n_funcs) return INVALID("unknown function %u", fi);
            if (!m->declared_refs ||
                !(m->declared_refs[fi >> 3] & (1u << (fi & 7))))
                return INVALID("undeclared function reference");
            uint32_t dpos = c->n_vs;
            emit_op(c, IOP_ref_func);
            emit_dst(c, dpos);
            emit_w(c, fi);
            TRY(push_stack(c, VT_FUNCREF));
            break;
        }
        case 0xfc: {
            uint32_t sub;
            TRY(rd_u32(c, &sub));
            if (sub < 8) {
                TRY(do_numeric(c, 0, (enum interp_op)sat_iop[sub],
                               fc_sig[sub]));
                break;
            }
            switch (sub) {
            case 8: {   /* memory.init */
                uint32_t seg, s[3];
                TRY(rd_u32(c, &seg));
                TRY(rd_zero(c));
                TRY(need_mem(c));
                TRY(check_data(c, seg));
                TRY(pop_i32s(c, 3, s));
                emit_op(c, IOP_memory_init);
                emit_w(c, seg);
                emit_w(c, s[0]);
                emit_w(c, s[1]);
                emit_w(c, s[2]);
                break;
            }
            case 9: {   /* data.drop */
                uint32_t seg;
                TRY(rd_u32(c, &seg));
                TRY(check_data(c, seg));
                emit_op(c, IOP_data_drop);
                emit_w(c, seg);
                break;
            }
            case 10:    /* memory.copy */
            case 11: {  /* memory.fill */
                uint32_t s[3];
                TRY(rd_zero(c));
                if (sub == 10) TRY(rd_zero(c));
                TRY(need_mem(c));
                TRY(pop_i32s(c, 3, s));
                emit_op(c, sub == 10 ? IOP_memory_copy : IOP_memory_fill);
                emit_w(c, s[0]);
                emit_w(c, s[1]);
                emit_w(c, s[2]);
                break;
            }
            case 12: {  /* table.init */
                uint32_t seg, t, s[3];
                TRY(rd_u32(c, &seg));
                TRY(check_table(c, &t));
                TRY(check_elem(c, seg));
                if (m->elems[seg].elem_type != m->tables[t].type.elem_type)
                    return INVALID("type mismatch: element segment type");
                TRY(pop_i32s(c, 3, s));
                emit_op(c, IOP_table_init);
                emit_w(c, seg);
                emit_w(c, t);
                emit_w(c, s[0]);
                emit_w(c, s[1]);
                emit_w(c, s[2]);
                break;
            }
            case 13: {  /* elem.drop */
                uint32_t seg;
                TRY(rd_u32(c, &seg));
                TRY(check_elem(c, seg));
                emit_op(c, IOP_elem_drop);
                emit_w(c, seg);
                break;
            }
            case 14: {  /* table.copy */
                uint32_t td, ts, s[3];
                TRY(check_table(c, &td));
                TRY(check_table(c, &ts));
                if (m->tables[td].type.elem_type !=
                    m->tables[ts].type.elem_type)
                    return INVALID("type mismatch: table.copy element types");
                TRY(pop_i32s(c, 3, s));
                emit_op(c, IOP_table_copy);
                emit_w(c, td);
                emit_w(c, ts);
                emit_w(c, s[0]);
                emit_w(c, s[1]);
                emit_w(c, s[2]);
                break;
            }
            case 15: {  /* table.grow */
                uint32_t t;
                TRY(check_table(c, &t));
                vval n, init;
                TRY(pop_t(c, VT_I32, &n));
                TRY(pop_t(c, m->tables[t].type.elem_type, &init));
                uint32_t si = slot_of(c, &init), sn = slot_of(c, &n);
                uint32_t dpos = c->n_vs;
                emit_op(c, IOP_table_grow);
                emit_dst(c, dpos);
                emit_w(c, t);
                emit_w(c, si);
                emit_w(c, sn);
                TRY(push_stack(c, VT_I32));
                break;
            }
            case 16: {  /* table.size */
                uint32_t t;
                TRY(check_table(c, &t));
                uint32_t dpos = c->n_vs;
                emit_op(c, IOP_table_size);
                emit_dst(c, dpos);
                emit_w(c, t);
                TRY(push_stack(c, VT_I32));
                break;
            }
            case 17: {  /* table.fill */
                uint32_t t;
                TRY(check_table(c, &t));
                vval i, v, n;
                TRY(pop_t(c, VT_I32, &n));
                TRY(pop_t(c, m->tables[t].type.elem_type, &v));
                TRY(pop_t(c, VT_I32, &i));
                uint32_t si = slot_of(c, &i), sv = slot_of(c, &v);
                uint32_t sn = slot_of(c, &n);
                emit_op(c, IOP_table_fill);
                emit_w(c, t);
                emit_w(c, si);
                emit_w(c, sv);
                emit_w(c, sn);
                break;
            }
            default:
                return MALFORMED("illegal opcode");
            }
            break;
        }
        case 0xfd:
            return NO_SIMD();
        default: {
            const char *sig = op_sig[opc];
            if (opc < WOP_i32_eqz || opc > WOP_i64_extend32_s || !sig ||
                (!num_iop[opc] && opc != WOP_i32_eqz && opc != WOP_i64_eqz))
                return MALFORMED("illegal opcode");
            TRY(do_numeric(c, opc, (enum interp_op)num_iop[opc], sig));
            break;
        }
        }
    }
}

/* ==== Per function ====================================================== */

static wm_status compile_func(comp *c, uint32_t func_idx) {
    module *m = c->m;
    mod_func *fn = &m->funcs[func_idx];
    const mod_functype *ft = &m->types[fn->type_idx];
    c->func_idx = func_idx;
    c->ft = ft;

    uint64_t n_all = (uint64_t)ft->n_params + fn->n_locals;
    if (n_all > UINT32_MAX / 4) return MALFORMED("too many locals");
    c->n_locals_all = (uint32_t)n_all;
    if (n_all > c->cap_locals) {
        uint8_t *lt = realloc(c->local_types, n_all ? n_all : 1);
        if (!lt) return fail(c, WM_ERR_NOMEM, "out of memory");
        c->local_types = lt;
        int32_t *rh = realloc(c->refhead,
                              (n_all ? n_all : 1) * sizeof(int32_t));
        if (!rh) return fail(c, WM_ERR_NOMEM, "out of memory");
        c->refhead = rh;
        c->cap_locals = (uint32_t)n_all;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < ft->n_params; i++)
        c->local_types[k++] = ft->params[i];
    for (uint32_t g = 0; g < fn->n_local_groups; g++) {
        uint8_t t = fn->local_groups[g].type;
        if (t == VT_V128)
            return NO_SIMD();
        for (uint32_t i = 0; i < fn->local_groups[g].count && k < n_all; i++)
            c->local_types[k++] = t;
    }
    for (uint32_t i = 0; i < n_all; i++) c->refhead[i] = -1;
    c->stack_base = (uint32_t)n_all;

    c->body = c->p = fn->body;
    c->end = fn->body + fn->body_len;
    c->instr = c->p;
    c->n_vs = 0;
    c->max_h = 0;
    c->ref_low = NONE;
    c->n_code = 0;
    c->nomem = false;
    c->live = true;
    barrier(c);

    if (!grow((void **)&c->cs, &c->cap_cs, 1, sizeof(ctrl)))
        return fail(c, WM_ERR_NOMEM, "out of memory");
    c->n_cs = 1;
    ctrl *f = &c->cs[0];
    memset(f, 0, sizeof *f);
    f->kind = CK_FUNC;
    f->n_results = ft->n_results;
    f->tresults = ft->results;

    TRY(compile_body(c));
    if (c->nomem) return fail(c, WM_ERR_NOMEM, "out of memory");

    interp_code *ic = (interp_code *)fn->code;
    uint32_t *words = arena_calloc(&m->arena, c->n_code ? c->n_code : 1, 4);
    if (!words) return fail(c, WM_ERR_NOMEM, "out of memory");
    memcpy(words, c->code, (size_t)c->n_code * 4);
    uint64_t n_slots = (uint64_t)c->stack_base + c->max_h;
    if (n_slots < ft->n_results) n_slots = ft->n_results;
    if (n_slots > UINT32_MAX / 2)
        return fail(c, WM_ERR_LIMIT, "frame too large");
    ic->code = words;
    ic->n_words = c->n_code;
    ic->n_params = ft->n_params;
    ic->n_results = ft->n_results;
    ic->n_locals = fn->n_locals;
    ic->n_slots = (uint32_t)n_slots;
    ic->func_idx = func_idx;
    ic->mod = m;
    return WM_OK;
}

wm_status val_module(wm_runtime *rt, module *m, wm_error *err) {
    wm_status st = val_module_decls(m, err);
    if (st != WM_OK) return st;

    for (uint32_t i = 0; i < m->n_types; i++) {
        mod_functype *t = &m->types[i];
        t->type_id = rt_intern_type(rt, t->params, t->n_params, t->results,
                                    t->n_results);
        if (t->type_id == UINT32_MAX)
            return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }

    uint32_t n_def = m->n_funcs - m->n_func_imports;
    interp_code *codes = NULL;
    if (n_def) {
        codes = arena_calloc(&m->arena, n_def, sizeof *codes);
        if (!codes) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < n_def; i++)
        m->funcs[m->n_func_imports + i].code = &codes[i];

    comp c;
    memset(&c, 0, sizeof c);
    c.rt = rt;
    c.m = m;
    c.err = err;
    c.optab = interp_optable();
    for (uint32_t i = m->n_func_imports; i < m->n_funcs; i++) {
        st = compile_func(&c, i);
        if (st != WM_OK) {
            if (err) {
                err->func_idx = i;
                err->instr_off = c.instr - c.body;
                err->byte_off = c.instr - m->bytes;
            }
            break;
        }
    }
    if (st != WM_OK)
        for (uint32_t i = 0; i < n_def; i++)
            m->funcs[m->n_func_imports + i].code = NULL;
    free(c.local_types);
    free(c.refhead);
    free(c.vs);
    free(c.cs);
    free(c.tmp);
    free(c.tmp32);
    free(c.code);
    return st;
}
