/*
 * interp.h — the internal code the validator emits and the interpreter
 * runs (validate.c writes it, interp.c executes it).
 *
 * ==== Frames =============================================================
 *
 * Every Wasm value is one 8-byte slot (runtime.h). A function's frame is a
 * window of the value stack:
 *
 *     fp[0]                fp[P]               fp[P+L]             fp[n_slots]
 *     +--------------------+-------------------+---------------------+
 *     | params (P)         | declared locals(L)| operand stack       |
 *     +--------------------+-------------------+---------------------+
 *       results end up in fp[0 .. n_results) on return
 *
 * The validator knows the operand-stack height before every instruction,
 * so operand-stack position k is always the fixed slot P+L+k ("home slot")
 * and every instruction names its operands by slot number. A call puts the
 * arguments in consecutive home slots at the caller's stack top; the
 * callee's frame starts right there (fp' = fp + frame_off), so arguments
 * are never copied, and the callee's results land in the caller's slots
 * where the caller expects them.
 *
 * ==== Instructions =======================================================
 *
 * A function's code is an array of 32-bit words. Each instruction is one
 * handler word followed by a fixed number of operand words (br_table is
 * the only variable-length one):
 *
 *      31                              0
 *     +---------------------------------+
 *     | handler                         |  word 0
 *     +---------------------------------+
 *     | operand 1 (dst slot, usually)   |  word 1
 *     +---------------------------------+
 *     | operand 2                       |  ...
 *     +---------------------------------+
 *
 *   handler  with WM_USE_JUMPTABLE: the signed byte offset of the handler's
 *            label from the interpreter's dispatch base (so dispatch is one
 *            load, one add and one indirect jump); otherwise the IOP_* number
 *            for the switch. The validator asks interp_optable() which.
 *   slot     an index into fp[] (param, local or home slot).
 *   imm      a 32-bit immediate (i64 immediates are sign-extended from
 *            32 bits; wider constants are materialised in a slot).
 *   off      a branch offset in words, relative to the offset word itself:
 *            target = &off_word + (int32_t)off_word.
 *
 * Examples ("a b" are slots, "k" immediates):
 *
 *     i32_add       dst a b          fp[dst] = (u32)fp[a] + (u32)fp[b]
 *     i32_add_imm   dst a k          fp[dst] = (u32)fp[a] + k
 *     i32_load      dst a k          fp[dst] = *(u32 *)(mem + (u32)fp[a] + k)
 *     i32_store     a v k            *(u32 *)(mem + (u32)fp[a] + k) = fp[v]
 *     br_i32_lt_s   a b off          if ((i32)fp[a] < (i32)fp[b]) jump
 *     br_table      i n off_0 .. off_n   (off_n is the default)
 *     call          code_lo code_hi frame_off   (interp_code* in two words)
 *
 * local.get and constants emit nothing: the validator keeps a virtual
 * operand stack whose entries say where each value lives (a local's slot,
 * its home slot or a constant), so `local.get x; local.get y; i32.add;
 * local.set z` becomes the single instruction `i32_add z x y`. Block
 * results are explicit moves into the label's home slots; branch targets
 * are resolved offsets; there is no block stack at run time.
 *
 * The accumulator: every instruction that writes a result slot also leaves
 * the value in a register of the interpreter loop (`acc`). When the
 * validator sees that an operand is exactly the value the previous
 * instruction wrote (no label in between), it emits the "_xa" / "_xb" /
 * "_xv" form that takes the operand from acc, so dependency chains skip
 * the store-to-load forwarding latency of the slot (7-8 cycles on Zen 2;
 * sha256 ran 27% faster with it). Example, `p[i] += k` on int16 (clang
 * unrolled it; local 8 = p + i * 2, local 0 = k):
 *
 *     i32_add_imm      8 1 4378     fp[8] = acc = fp[1] + 4378 (local.tee)
 *     i32_load16_u_xa  23 0         fp[23] = acc = mem16[acc + 0]
 *     i32_add_xa       23 0         fp[23] = acc = acc + fp[0]
 *     i32_store16_xv   8 0          mem16[fp[8] + 0] = acc
 *
 * i32 values are written as zero-extended 64-bit stores (a 32-bit store
 * followed by a 64-bit move of the same slot would stall store forwarding);
 * readers of an i32 still only rely on the low 32 bits.
 */
#ifndef WM_INTERP_H
#define WM_INTERP_H

#include <stdio.h>

#include "runtime.h"

/* ==== The operation list ================================================ */

/* Comparison conditions, in Wasm's own order (i32.eq 0x46 .. i32.ge_u
 * 0x4f, i64.eq 0x51 .. i64.ge_u 0x5a), so cc = opcode - 0x46 / - 0x51. */
#define INTERP_CC(X) \
    X(eq) X(ne) X(lt_s) X(lt_u) X(gt_s) X(gt_u) X(le_s) X(le_u) X(ge_s) X(ge_u)
enum { CC_EQ, CC_NE, CC_LT_S, CC_LT_U, CC_GT_S, CC_GT_U, CC_LE_S, CC_LE_U,
       CC_GE_S, CC_GE_U, CC_COUNT };

/* Unary numeric ops `op dst a`, named as the Wasm instruction (eqz is
 * emitted as eq_imm with 0, so it fuses with branches like any compare). */
#define INTERP_UNOPS(X)                                                     \
    X(i32_clz) X(i32_ctz) X(i32_popcnt)                                     \
    X(i64_clz) X(i64_ctz) X(i64_popcnt)                                     \
    X(f32_abs) X(f32_neg) X(f32_ceil) X(f32_floor) X(f32_trunc)            \
    X(f32_nearest) X(f32_sqrt)                                              \
    X(f64_abs) X(f64_neg) X(f64_ceil) X(f64_floor) X(f64_trunc)            \
    X(f64_nearest) X(f64_sqrt)                                              \
    X(i32_wrap_i64) X(i32_trunc_f32_s) X(i32_trunc_f32_u)                  \
    X(i32_trunc_f64_s) X(i32_trunc_f64_u) X(i64_extend_i32_s)              \
    X(i64_extend_i32_u) X(i64_trunc_f32_s) X(i64_trunc_f32_u)              \
    X(i64_trunc_f64_s) X(i64_trunc_f64_u) X(f32_convert_i32_s)             \
    X(f32_convert_i32_u) X(f32_convert_i64_s) X(f32_convert_i64_u)         \
    X(f32_demote_f64) X(f64_convert_i32_s) X(f64_convert_i32_u)            \
    X(f64_convert_i64_s) X(f64_convert_i64_u) X(f64_promote_f32)           \
    X(i32_reinterpret_f32) X(i64_reinterpret_f64) X(f32_reinterpret_i32)   \
    X(f64_reinterpret_i64) X(i32_extend8_s) X(i32_extend16_s)              \
    X(i64_extend8_s) X(i64_extend16_s) X(i64_extend32_s)

/* The 0xFC-prefixed unary ops (non-trapping float-to-int), `op dst a`. */
#define INTERP_SATOPS(X)                                                    \
    X(i32_trunc_sat_f32_s) X(i32_trunc_sat_f32_u) X(i32_trunc_sat_f64_s)   \
    X(i32_trunc_sat_f64_u) X(i64_trunc_sat_f32_s) X(i64_trunc_sat_f32_u)   \
    X(i64_trunc_sat_f64_s) X(i64_trunc_sat_f64_u)

/* Binary numeric ops `op dst a b`. */
#define INTERP_BINOPS(X)                                                    \
    X(i32_eq) X(i32_ne) X(i32_lt_s) X(i32_lt_u) X(i32_gt_s) X(i32_gt_u)    \
    X(i32_le_s) X(i32_le_u) X(i32_ge_s) X(i32_ge_u)                        \
    X(i64_eq) X(i64_ne) X(i64_lt_s) X(i64_lt_u) X(i64_gt_s) X(i64_gt_u)    \
    X(i64_le_s) X(i64_le_u) X(i64_ge_s) X(i64_ge_u)                        \
    X(f32_eq) X(f32_ne) X(f32_lt) X(f32_gt) X(f32_le) X(f32_ge)            \
    X(f64_eq) X(f64_ne) X(f64_lt) X(f64_gt) X(f64_le) X(f64_ge)            \
    X(i32_add) X(i32_sub) X(i32_mul) X(i32_div_s) X(i32_div_u)             \
    X(i32_rem_s) X(i32_rem_u) X(i32_and) X(i32_or) X(i32_xor) X(i32_shl)   \
    X(i32_shr_s) X(i32_shr_u) X(i32_rotl) X(i32_rotr)                      \
    X(i64_add) X(i64_sub) X(i64_mul) X(i64_div_s) X(i64_div_u)             \
    X(i64_rem_s) X(i64_rem_u) X(i64_and) X(i64_or) X(i64_xor) X(i64_shl)   \
    X(i64_shr_s) X(i64_shr_u) X(i64_rotl) X(i64_rotr)                      \
    X(f32_add) X(f32_sub) X(f32_mul) X(f32_div) X(f32_min) X(f32_max)      \
    X(f32_copysign)                                                         \
    X(f64_add) X(f64_sub) X(f64_mul) X(f64_div) X(f64_min) X(f64_max)      \
    X(f64_copysign)

/* Binary ops with an immediate right operand `op_imm dst a k`. The ten
 * compares come first, in CC order. i32.sub k is emitted as add -k. */
#define INTERP_IMMOPS(S, sfx)                                               \
    S(i32_eq, sfx) S(i32_ne, sfx) S(i32_lt_s, sfx)                \
    S(i32_lt_u, sfx) S(i32_gt_s, sfx) S(i32_gt_u, sfx) S(i32_le_s, sfx)     \
    S(i32_le_u, sfx) S(i32_ge_s, sfx) S(i32_ge_u, sfx) S(i64_eq, sfx)       \
    S(i64_ne, sfx) S(i64_lt_s, sfx) S(i64_lt_u, sfx) S(i64_gt_s, sfx)       \
    S(i64_gt_u, sfx) S(i64_le_s, sfx) S(i64_le_u, sfx) S(i64_ge_s, sfx)     \
    S(i64_ge_u, sfx) S(i32_add, sfx) S(i32_mul, sfx) S(i32_and, sfx)        \
    S(i32_or, sfx) S(i32_xor, sfx) S(i32_shl, sfx) S(i32_shr_s, sfx)        \
    S(i32_shr_u, sfx) S(i32_rotl, sfx) S(i32_rotr, sfx) S(i64_add, sfx)     \
    S(i64_mul, sfx) S(i64_and, sfx) S(i64_or, sfx) S(i64_xor, sfx)          \
    S(i64_shl, sfx) S(i64_shr_s, sfx) S(i64_shr_u, sfx) S(i64_rotl, sfx)    \
    S(i64_rotr, sfx)

/* Loads `op dst addr k` and stores `op addr val k` (k: the offset), each
 * also with the address computed by a fused i32.add, or constant:
 *   load_rr dst a b k    load from (u32)(fp[a] + fp[b]) + k
 *   load_ri dst a j k    load from (u32)(fp[a] + j) + k
 *   load_k dst j k       load from j + k  (i32.const address: C globals)
 *   store_rr a b v k / store_ri a j v k / store_k j v k
 *   store_vk a j k       store the constant j (sign-extended) at fp[a] + k
 * (an add of two values followed by a load is frequent in compiled code:
 * base + index; wasm's offset cannot absorb j, the add wraps at 2^32). */
#define INTERP_LOADS(S, sfx)                                                \
    S(i32_load, sfx) S(i64_load, sfx) S(f32_load, sfx)            \
    S(f64_load, sfx) S(i32_load8_s, sfx) S(i32_load8_u, sfx)                \
    S(i32_load16_s, sfx) S(i32_load16_u, sfx) S(i64_load8_s, sfx)           \
    S(i64_load8_u, sfx) S(i64_load16_s, sfx) S(i64_load16_u, sfx)           \
    S(i64_load32_s, sfx) S(i64_load32_u, sfx)
#define INTERP_STORES(S, sfx)                                               \
    S(i32_store, sfx) S(i64_store, sfx) S(f32_store, sfx)         \
    S(f64_store, sfx) S(i32_store8, sfx) S(i32_store16, sfx)                \
    S(i64_store8, sfx) S(i64_store16, sfx) S(i64_store32, sfx)

/*
 * Operand forms that take the previous instruction's result from the
 * interpreter's `acc` register instead of its slot (the validator knows
 * when an operand is exactly the value the instruction just before it
 * wrote). Dependency chains then skip the store-to-load round trip:
 *   <op>_xa dst b        fp[dst] = acc <op> fp[b]
 *   <op>_xb dst a        fp[dst] = fp[a] <op> acc   (non-commutative ops)
 *   <op>_imm_xa dst k    fp[dst] = acc <op> k
 *   <load>_xa dst k      load from (u32)acc + k
 *   <load>_rixa dst j k  load from (u32)(acc + j) + k
 *   <store>_xa v k       store fp[v] at (u32)acc + k
 *   <store>_xv a k       store acc at (u32)fp[a] + k
 *   br_<cc>[_imm]_xa b off, br_if_xa off, br_unless_xa off
 * Every instruction that writes a result slot also sets acc.
 */
#define INTERP_ACC_BIN(S, sfx)                                              \
    S(i32_add, sfx) S(i32_sub, sfx) S(i32_mul, sfx) S(i32_and, sfx)         \
    S(i32_or, sfx) S(i32_xor, sfx) S(i32_shl, sfx) S(i32_shr_s, sfx)        \
    S(i32_shr_u, sfx) S(i32_rotl, sfx) S(i32_rotr, sfx) S(i64_add, sfx)     \
    S(i64_sub, sfx) S(i64_mul, sfx) S(i64_and, sfx) S(i64_or, sfx)          \
    S(i64_xor, sfx) S(i64_shl, sfx) S(i64_shr_s, sfx) S(i64_shr_u, sfx)     \
    S(i64_rotl, sfx) S(i64_rotr, sfx) S(f32_add, sfx) S(f32_sub, sfx)       \
    S(f32_mul, sfx) S(f32_div, sfx) S(f64_add, sfx) S(f64_sub, sfx)         \
    S(f64_mul, sfx) S(f64_div, sfx)
#define INTERP_ACC_NC(S, sfx)                                               \
    S(i32_sub, sfx) S(i32_shl, sfx) S(i32_shr_s, sfx) S(i32_shr_u, sfx)     \
    S(i32_rotl, sfx) S(i32_rotr, sfx) S(i64_sub, sfx) S(i64_shl, sfx)       \
    S(i64_shr_s, sfx) S(i64_shr_u, sfx) S(i64_rotl, sfx) S(i64_rotr, sfx)   \
    S(f32_sub, sfx) S(f32_div, sfx) S(f64_sub, sfx) S(f64_div, sfx)
#define INTERP_ACC_IMM(S, sfx)                                              \
    S(i32_add, sfx) S(i32_mul, sfx) S(i32_and, sfx) S(i32_or, sfx)          \
    S(i32_xor, sfx) S(i32_shl, sfx) S(i32_shr_s, sfx) S(i32_shr_u, sfx)     \
    S(i32_rotl, sfx) S(i32_rotr, sfx) S(i64_add, sfx) S(i64_mul, sfx)       \
    S(i64_and, sfx) S(i64_or, sfx) S(i64_xor, sfx) S(i64_shl, sfx)          \
    S(i64_shr_s, sfx) S(i64_shr_u, sfx) S(i64_rotl, sfx) S(i64_rotr, sfx)

/*
 * Every other operation, with its operand words:
 *
 *   unreachable                         trap "unreachable"
 *   br off                              jump
 *   br_if c off / br_unless c off       jump if (u32)fp[c] != 0 / == 0
 *   br_i32_<cc> a b off                 jump if fp[a] <cc> fp[b]   (fused)
 *   br_i32_<cc>_imm a k off             jump if fp[a] <cc> k
 *   br_i64_<cc>, br_i64_<cc>_imm        the same on i64
 *   br_addi_<cc>[_imm] d a j b off      fp[d] = (u32)fp[a] + j, then
 *                                       jump if fp[d] <cc> fp[b] (or b):
 *                                       a loop counter's step and test
 *   i32_bfx dst a s m                   fp[dst] = ((u32)fp[a] >> s) & m
 *   i32_bfx_xa dst s m                  the same on acc
 *   br_table i n off_0 .. off_n         jump to off_min(i, n)
 *   ret                                 return (results already in fp[0..])
 *   ret1 s                              fp[0] = fp[s]; return
 *   call code_lo code_hi frame_off      call a function of this instance
 *   call_import func_idx frame_off      call inst->funcs[func_idx] (host or
 *                                       another instance's function)
 *   call_indirect table type_id i frame_off
 *   mov dst src                         fp[dst] = fp[src]
 *   mov2 d1 s1 d2 s2                    two movs, in order
 *   movn n d1 s1 .. dn sn               n >= 3 movs, in order
 *   const32 dst k / const64 dst lo hi   fp[dst] = constant
 *   select dst a b c                    fp[dst] = (u32)fp[c] ? fp[a] : fp[b]
 *   global_get dst g / global_set g src
 *   ref_func dst f / ref_is_null dst a
 *   memory_size dst / memory_grow dst n
 *   memory_init seg d s n / data_drop seg / memory_copy d s n
 *   memory_fill d v n
 *   table_get dst t i / table_set t i v / table_size dst t
 *   table_grow dst t init n / table_fill t i v n
 *   table_copy dt st d s n / table_init seg t d s n / elem_drop seg
 */
#define INTERP_BR_CC(X, cc)                                                 \
    X(br_i32_##cc) X(br_i32_##cc##_imm) X(br_i64_##cc) X(br_i64_##cc##_imm) \
    X(br_addi_##cc) X(br_addi_##cc##_imm) X(br_i32_##cc##_xa)               \
    X(br_i32_##cc##_imm_xa) X(br_i64_##cc##_xa) X(br_i64_##cc##_imm_xa)
#define INTERP_CTLOPS(X)                                                    \
    X(unreachable) X(br) X(br_if) X(br_unless) X(br_if_xa) X(br_unless_xa) \
    X(br_table) X(ret) X(ret1)                                              \
    X(call) X(call_import) X(call_indirect)                                 \
    X(mov) X(mov2) X(movn) X(i32_bfx) X(i32_bfx_xa) X(const32) X(const64)  \
    X(select)                                                               \
    X(global_get) X(global_set)                                             \
    X(ref_func) X(ref_is_null) X(memory_size) X(memory_grow)               \
    X(memory_init) X(data_drop) X(memory_copy) X(memory_fill)              \
    X(table_get) X(table_set) X(table_size) X(table_grow) X(table_fill)    \
    X(table_copy) X(table_init) X(elem_drop)                               \
    INTERP_BR_CC(X, eq) INTERP_BR_CC(X, ne) INTERP_BR_CC(X, lt_s)          \
    INTERP_BR_CC(X, lt_u) INTERP_BR_CC(X, gt_s) INTERP_BR_CC(X, gt_u)      \
    INTERP_BR_CC(X, le_s) INTERP_BR_CC(X, le_u) INTERP_BR_CC(X, ge_s)      \
    INTERP_BR_CC(X, ge_u)

/* The whole list. S(name, suffix) names IOP_<name><suffix>. */
#define INTERP_OPS(X, S)                                                    \
    INTERP_CTLOPS(X) INTERP_UNOPS(X) INTERP_SATOPS(X) INTERP_BINOPS(X)      \
    INTERP_IMMOPS(S, _imm) INTERP_LOADS(S, ) INTERP_STORES(S, )            \
    INTERP_LOADS(S, _rr) INTERP_LOADS(S, _ri) INTERP_STORES(S, _rr)        \
    INTERP_STORES(S, _ri) INTERP_ACC_BIN(S, _xa) INTERP_ACC_NC(S, _xb)     \
    INTERP_ACC_IMM(S, _imm_xa) INTERP_LOADS(S, _xa) INTERP_STORES(S, _xa)  \
    INTERP_STORES(S, _xv) INTERP_LOADS(S, _k) INTERP_STORES(S, _k)         \
    INTERP_STORES(S, _vk) INTERP_LOADS(S, _rixa)

enum interp_op {
#define INTERP_ENUM_(name) IOP_##name,
#define INTERP_ENUMS_(name, sfx) IOP_##name##sfx,
    INTERP_OPS(INTERP_ENUM_, INTERP_ENUMS_)
#undef INTERP_ENUM_
#undef INTERP_ENUMS_
    IOP_COUNT
};

/* Fused compare-branch op for (64-bit?, cc, immediate?). Relies on the
 * order INTERP_BR_CC lays them out in. */
#define IOP_BR_CC(is64, cc, imm) \
    ((enum interp_op)(IOP_br_i32_eq + (cc) * 10 + (is64) * 2 + (imm)))
#define IOP_BR_ADDI_CC(cc, imm) \
    ((enum interp_op)(IOP_br_addi_eq + (cc) * 10 + (imm)))
#define IOP_BR_CC_XA(is64, cc, imm) \
    ((enum interp_op)(IOP_br_i32_eq_xa + (cc) * 10 + (is64) * 2 + (imm)))

/* ==== Compiled functions ================================================ */

typedef struct interp_code {
    const uint32_t *code;      /* n_words words, in the module's arena */
    uint32_t n_words;
    uint32_t n_params;         /* P */
    uint32_t n_results;
    uint32_t n_locals;         /* L: zeroed on entry */
    uint32_t n_slots;          /* P + L + max operand-stack height */
    uint32_t func_idx;         /* in mod->funcs */
    const module *mod;         /* for names in traces */
} interp_code;

/* ==== Execution context ================================================= */

/*
 * One record per active Wasm call. frames[k] describes the function
 * running at depth k; the entry record pushed by interp_call has ret_pc
 * NULL ("return leaves the interpreter").
 */
typedef struct interp_frame {
    const uint32_t *ret_pc;    /* caller's continuation, NULL: entry */
    uint64_t *fp;              /* this frame's slots */
    const interp_code *code;   /* the function running here */
    wm_instance *inst;         /* its instance */
} interp_frame;

typedef struct interp_exec interp_exec;
struct interp_exec {
    uint64_t *stack, *stack_end;     /* the value stack (cfg.stack_slots) */
    uint64_t *stack_top;             /* where a new interp_call starts */
    interp_frame *frames, *frames_end;
    interp_frame *top;               /* innermost record, frames-1: none */
    /* Polled every INTERP_POLL_EVERY taken branches and calls (a
     * register count-down in the loop): set `interrupt` (from any thread
     * or signal handler) to stop execution with WM_TRAP_INTERRUPTED; the
     * flag is cleared when it is reported. `fuel` >= 0 is the number of
     * taken branches + calls still allowed (then WM_TRAP_INTERRUPTED);
     * -1 is unlimited. */
    volatile int interrupt;
    int64_t fuel;
};
#define INTERP_POLL_EVERY 4096

/* The handler words for each op (see the diagram): NULL when the switch
 * interpreter is built (the word is then the IOP_* number). */
WM_INTERNAL const int32_t *interp_optable(void);

/* Name of an op ("i32_add"), for dumps and tests. */
WM_INTERNAL const char *interp_op_name(enum interp_op op);
/* Print a function's internal code. */
WM_INTERNAL void interp_dump(const interp_code *c, FILE *out);

#endif
