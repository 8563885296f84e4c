/*
 * interp.c — the interpreter: runs the internal code validate.c emits
 * (format in interp.h).
 *
 * One function, run(), holds the dispatch loop. Its state lives in C
 * locals so the compiler keeps it in registers: pc (next instruction
 * word), fp (frame slots), mem (memory 0's base), inst/globals (current
 * instance) and rec (innermost frame record). Calls push a record and
 * switch fp/pc without leaving the loop; only host functions leave it.
 *
 * Dispatch is computed goto (WM_USE_JUMPTABLE: the handler word is the
 * label's offset from a base label, so code stays position independent and
 * 32-bit) or a switch over the same op list. Every handler is written once,
 * as `CASE(name) { ... NEXT(words); }`.
 *
 * Interrupts and fuel: a down-counter in a register is decremented on
 * every taken branch and call; when it runs out (every INTERP_POLL_EVERY)
 * the loop polls ex->interrupt and ex->fuel. That is one decrement and a
 * never-taken jump on the hot paths.
 *
 * Traps leave through one exit (`trap:`), which fills err with the code,
 * the spec's text and the backtrace. With guard pages an out-of-bounds
 * access faults instead; memory.c's handler jumps to api.c's catch point,
 * which calls interp_recover_fault() — for that the frame records (not the
 * C locals) must always describe the live call stack, so `ex->top` is
 * written on every call and return.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "interp.h"
#include "store.h"

/* ==== Value helpers ===================================================== */

WM_INLINE float f32_of(uint64_t s) {
    uint32_t b = (uint32_t)s;
    float f;
    memcpy(&f, &b, 4);
    return f;
}
WM_INLINE double f64_of(uint64_t s) {
    double d;
    memcpy(&d, &s, 8);
    return d;
}
WM_INLINE uint64_t bits_f32(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}
WM_INLINE uint64_t bits_f64(double d) {
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

WM_INLINE uint32_t clz32(uint32_t x) {
#if defined(__GNUC__)
    return x ? (uint32_t)__builtin_clz(x) : 32;
#else
    uint32_t n = 0;
    if (!x) return 32;
    while (!(x & 0x80000000u)) x <<= 1, n++;
    return n;
#endif
}
WM_INLINE uint64_t clz64(uint64_t x) {
#if defined(__GNUC__)
    return x ? (uint64_t)__builtin_clzll(x) : 64;
#else
    uint64_t n = 0;
    if (!x) return 64;
    while (!(x & 0x8000000000000000ull)) x <<= 1, n++;
    return n;
#endif
}
WM_INLINE uint32_t ctz32(uint32_t x) {
#if defined(__GNUC__)
    return x ? (uint32_t)__builtin_ctz(x) : 32;
#else
    uint32_t n = 0;
    if (!x) return 32;
    while (!(x & 1)) x >>= 1, n++;
    return n;
#endif
}
WM_INLINE uint64_t ctz64(uint64_t x) {
#if defined(__GNUC__)
    return x ? (uint64_t)__builtin_ctzll(x) : 64;
#else
    uint64_t n = 0;
    if (!x) return 64;
    while (!(x & 1)) x >>= 1, n++;
    return n;
#endif
}
WM_INLINE uint32_t popcnt32(uint32_t x) {
#if defined(__GNUC__)
    return (uint32_t)__builtin_popcount(x);
#else
    uint32_t n = 0;
    for (; x; x &= x - 1) n++;
    return n;
#endif
}
WM_INLINE uint64_t popcnt64(uint64_t x) {
#if defined(__GNUC__)
    return (uint64_t)__builtin_popcountll(x);
#else
    uint64_t n = 0;
    for (; x; x &= x - 1) n++;
    return n;
#endif
}
WM_INLINE uint32_t rotl32(uint32_t a, uint32_t b) {
    return (a << (b & 31)) | (a >> ((32 - b) & 31));
}
WM_INLINE uint32_t rotr32(uint32_t a, uint32_t b) {
    return (a >> (b & 31)) | (a << ((32 - b) & 31));
}
WM_INLINE uint64_t rotl64(uint64_t a, uint64_t b) {
    return (a << (b & 63)) | (a >> ((64 - b) & 63));
}
WM_INLINE uint64_t rotr64(uint64_t a, uint64_t b) {
    return (a >> (b & 63)) | (a << ((64 - b) & 63));
}

/*
 * min/max per spec: any NaN operand gives a NaN (a + b propagates a
 * quieted input NaN, so canonical stays canonical), and -0 < +0. Equal
 * operands: OR the bits for min (-0 wins), AND them for max.
 */
WM_INLINE uint64_t f32_min(uint64_t x, uint64_t y) {
    float a = f32_of(x), b = f32_of(y);
    if (a != a || b != b) return bits_f32(a + b);
    if (a == b) return (uint32_t)(x | y);
    return a < b ? (uint32_t)x : (uint32_t)y;
}
WM_INLINE uint64_t f32_max(uint64_t x, uint64_t y) {
    float a = f32_of(x), b = f32_of(y);
    if (a != a || b != b) return bits_f32(a + b);
    if (a == b) return (uint32_t)(x & y);
    return a > b ? (uint32_t)x : (uint32_t)y;
}
WM_INLINE uint64_t f64_min(uint64_t x, uint64_t y) {
    double a = f64_of(x), b = f64_of(y);
    if (a != a || b != b) return bits_f64(a + b);
    if (a == b) return x | y;
    return a < b ? x : y;
}
WM_INLINE uint64_t f64_max(uint64_t x, uint64_t y) {
    double a = f64_of(x), b = f64_of(y);
    if (a != a || b != b) return bits_f64(a + b);
    if (a == b) return x & y;
    return a > b ? x : y;
}

/* Rounding functions: a NaN input must come out quieted (an arithmetic
 * NaN), which libm's versions do not guarantee for signalling NaNs. */
#define f32_round(fn, v) ((v) != (v) ? (v) + (v) : fn(v))
#define f64_round(fn, v) ((v) != (v) ? (v) + (v) : fn(v))

/* Saturating float -> int (trunc_sat): NaN -> 0, out of range clamps. */
WM_INLINE uint64_t sat_i32(double x) {
    if (x != x) return 0;
    if (x <= -2147483649.0) return (uint32_t)INT32_MIN;
    if (x >= 2147483648.0) return (uint32_t)INT32_MAX;
    return (uint32_t)(int32_t)x;
}
WM_INLINE uint64_t sat_u32(double x) {
    if (x != x || x <= -1.0) return 0;
    if (x >= 4294967296.0) return UINT32_MAX;
    return (uint32_t)x;
}
WM_INLINE uint64_t sat_i64(double x) {
    if (x != x) return 0;
    if (x < -9223372036854775808.0) return (uint64_t)INT64_MIN;
    if (x >= 9223372036854775808.0) return (uint64_t)INT64_MAX;
    return (uint64_t)(int64_t)x;
}
WM_INLINE uint64_t sat_u64(double x) {
    if (x != x || x <= -1.0) return 0;
    if (x >= 18446744073709551616.0) return UINT64_MAX;
    return (uint64_t)x;
}

/* ==== Off the hot path ================================================== */

/* A readable name for a frame's function: name section, else an export
 * name, else empty. */
static void frame_name(const interp_code *c, char *out, size_t size) {
    out[0] = 0;
    const module *m = c->mod;
    const char *n = mod_func_name(m, c->func_idx);
    size_t len = n ? strlen(n) : 0;
    if (!n) {
        for (uint32_t i = 0; i < m->n_exports; i++) {
            const mod_export *e = &m->exports[i];
            if (e->kind == WM_EXTERN_FUNC && e->idx == c->func_idx) {
                n = e->name;
                len = e->name_len;
                break;
            }
        }
    }
    if (!n) return;
    if (len >= size) len = size - 1;
    memcpy(out, n, len);
    out[len] = 0;
}

/* err->trace from the records top .. bottom, innermost first. */
static void fill_trace(const interp_frame *top, const interp_frame *bottom,
                       wm_error *err) {
    err->n_trace = 0;
    for (const interp_frame *r = top; r >= bottom && err->n_trace <
         WM_TRACE_MAX; r--) {
        uint32_t k = err->n_trace++;
        err->trace[k].func_idx = r->code->func_idx;
        frame_name(r->code, err->trace[k].name, sizeof err->trace[k].name);
    }
}

/* Call a host function with its arguments in slots[]. When slots[] is on
 * the value stack (a call from Wasm code), calls back into Wasm start
 * above it. */
static wm_status call_host(interp_exec *ex, wm_func *f, wm_instance *caller,
                           uint64_t *slots, bool on_stack, wm_error *err) {
    wm_call call;
    call.inst = caller;
    call.func = f;
    call.exit_code = 0;
    call.trap_msg[0] = 0;
    uint32_t np = f->type->n_params, nr = f->type->n_results;
    uint64_t *saved = ex->stack_top;
    if (on_stack) ex->stack_top = slots + (np > nr ? np : nr);
    wm_status st = f->host(&call, slots);
    ex->stack_top = saved;
    if (st == WM_OK) return WM_OK;
    if (st == WM_EXIT) {
        err->code = WM_EXIT;
        err->exit_code = call.exit_code;
        snprintf(err->msg, sizeof err->msg, "exit");
        return WM_EXIT;
    }
    if (st < WM_TRAP_UNREACHABLE || st > WM_TRAP_HOST) st = WM_TRAP_HOST;
    err->code = st;
    snprintf(err->msg, sizeof err->msg, "%s",
             call.trap_msg[0] ? call.trap_msg : wm_status_str(st));
    return st;
}

/* ==== The dispatch loop ================================================= */

/* Slot access. i32 results are stored zero-extended (see interp.h). */
#define U32(k) ((uint32_t)fp[pc[k]])
#define I32(k) ((int32_t)fp[pc[k]])
#define U64(k) (fp[pc[k]])
#define I64(k) ((int64_t)fp[pc[k]])
#define F32(k) f32_of(fp[pc[k]])
#define F64(k) f64_of(fp[pc[k]])
/* Write the result slot (word 1) and keep the value in `acc` too: the
 * next instruction, when the validator saw that it consumes exactly this
 * value, reads it from there (its "_xa"/"_xb"/"_xv" form) instead of
 * reloading the slot, which takes the store-to-load forwarding latency
 * (7-8 cycles on Zen 2) off every dependency chain. */
#define SET(v) (fp[pc[1]] = acc = (uint64_t)(v))
#define ACC32 ((uint32_t)acc)
#define IMM32 (pc[3])
#define IMM64 ((uint64_t)(int64_t)(int32_t)pc[3])

#if WM_USE_JUMPTABLE
#define CASE(name) L_##name:
#define DISPATCH() goto *(const void *)(lbase + (int32_t)*pc)
#else
#define CASE(name) case IOP_##name:
#define DISPATCH() goto dispatch
#endif
#define NEXT(n)                                                             \
    do {                                                                    \
        pc += (n);                                                          \
        DISPATCH();                                                         \
    } while (0)
/* Taken branch through the offset word pc[k]. The sum is done in
 * ptrdiff_t: k may be unsigned (br_table's 3 + index), and an unsigned
 * k + negative offset would wrap to a huge forward jump. */
#define JUMP(k)                                                             \
    do {                                                                    \
        pc += (ptrdiff_t)(k) + (int32_t)pc[k];                              \
        if (wm_unlikely(--budget < 0)) goto poll;                           \
        DISPATCH();                                                         \
    } while (0)
#define TRAP(code_)                                                         \
    do {                                                                    \
        tcode = (code_);                                                    \
        goto trap;                                                          \
    } while (0)

/* Host address of an access of n bytes at guest address ea (a uint64_t:
 * a u32 address plus a u32 offset). With guard pages no check is needed:
 * everything up to 8 GiB past mem is reserved and faults. */
#if WM_ENABLE_GUARD_PAGES
#define MEMPTR(ea, n) (mem + (ea))
#define CHECK_EA(a) ((void)0)
#else
#define MEMPTR(ea, n)                                                       \
    (t_addr = (ea), t_size = (n),                                           \
     wm_unlikely(t_addr + (n) > inst->mem0->size_bytes) ? (uint8_t *)0      \
                                                        : mem + t_addr)
#define CHECK_EA(a)                                                         \
    do {                                                                    \
        if (!(a)) goto trap_oob;                                            \
    } while (0)
#endif

#define LOADX(name, sfx, ctype, conv, ea, words)                         \
    CASE(name##sfx) {                                                       \
        ctype v_;                                                           \
        const uint8_t *a_ = MEMPTR(ea, sizeof(ctype));                      \
        CHECK_EA(a_);                                                       \
        memcpy(&v_, a_, sizeof v_);                                         \
        SET(conv);                                                         \
        NEXT(words);                                                        \
    }
/* A load in its three address forms (see INTERP_LOADS). */
#define LOAD(name, ctype, conv)                                             \
    LOADX(name, , ctype, conv, (uint64_t)U32(2) + pc[3], 4)                 \
    LOADX(name, _rr, ctype, conv,                                           \
          (uint64_t)(uint32_t)(fp[pc[2]] + fp[pc[3]]) + pc[4], 5)           \
    LOADX(name, _ri, ctype, conv,                                           \
          (uint64_t)(uint32_t)(fp[pc[2]] + pc[3]) + pc[4], 5)              \
    LOADX(name, _xa, ctype, conv, (uint64_t)ACC32 + pc[2], 3)               \
    LOADX(name, _k, ctype, conv, (uint64_t)pc[2] + pc[3], 4)                \
    LOADX(name, _rixa, ctype, conv,                                         \
          (uint64_t)(uint32_t)(ACC32 + pc[2]) + pc[3], 4)
#define STOREX(name, sfx, ctype, ea, val, words)                            \
    CASE(name##sfx) {                                                       \
        ctype v_ = (ctype)(val);                                            \
        uint8_t *a_ = MEMPTR(ea, sizeof(ctype));                            \
        CHECK_EA(a_);                                                       \
        memcpy(a_, &v_, sizeof v_);                                         \
        NEXT(words);                                                        \
    }
/* A store in its five forms (see INTERP_STORES). */
#define STORE(name, ctype)                                                  \
    STOREX(name, , ctype, (uint64_t)U32(1) + pc[3], U64(2), 4)              \
    STOREX(name, _rr, ctype,                                                \
           (uint64_t)(uint32_t)(fp[pc[1]] + fp[pc[2]]) + pc[4], U64(3), 5)  \
    STOREX(name, _ri, ctype, (uint64_t)(uint32_t)(fp[pc[1]] + pc[2]) + pc[4], \
           U64(3), 5)                                                       \
    STOREX(name, _xa, ctype, (uint64_t)ACC32 + pc[2], U64(1), 3)            \
    STOREX(name, _xv, ctype, (uint64_t)U32(1) + pc[2], acc, 3)             \
    STOREX(name, _k, ctype, (uint64_t)pc[1] + pc[3], U64(2), 4)            \
    STOREX(name, _vk, ctype, (uint64_t)U32(1) + pc[3],                      \
           (uint64_t)(int64_t)(int32_t)pc[2], 4)

#define BIN32(name, expr)                                                   \
    CASE(name) {                                                            \
        uint32_t a = U32(2), b = U32(3);                                    \
        SET((uint32_t)(expr));                                             \
        NEXT(4);                                                            \
    }
#define BIN32I(name, expr)                                                  \
    CASE(name##_imm) {                                                      \
        uint32_t a = U32(2), b = IMM32;                                     \
        SET((uint32_t)(expr));                                             \
        NEXT(4);                                                            \
    }
#define BIN64(name, expr)                                                   \
    CASE(name) {                                                            \
        uint64_t a = U64(2), b = U64(3);                                    \
        SET((uint64_t)(expr));                                             \
        NEXT(4);                                                            \
    }
#define BIN64I(name, expr)                                                  \
    CASE(name##_imm) {                                                      \
        uint64_t a = U64(2), b = IMM64;                                     \
        SET((uint64_t)(expr));                                             \
        NEXT(4);                                                            \
    }
#define BIN32XA(name, expr)                                                 \
    CASE(name##_xa) {                                                       \
        uint32_t a = ACC32, b = U32(2);                                     \
        SET((uint32_t)(expr));                                              \
        NEXT(3);                                                            \
    }
#define BIN32XB(name, expr)                                                 \
    CASE(name##_xb) {                                                       \
        uint32_t a = U32(2), b = ACC32;                                     \
        SET((uint32_t)(expr));                                              \
        NEXT(3);                                                            \
    }
#define BIN32IXA(name, expr)                                                \
    CASE(name##_imm_xa) {                                                   \
        uint32_t a = ACC32, b = pc[2];                                      \
        SET((uint32_t)(expr));                                              \
        NEXT(3);                                                            \
    }
#define ARITH32(name, expr)                                                 \
    BIN32(name, expr) BIN32I(name, expr) BIN32XA(name, expr)                \
    BIN32IXA(name, expr)
#define ARITH32NC(name, expr) ARITH32(name, expr) BIN32XB(name, expr)
#define BIN64XA(name, expr)                                                 \
    CASE(name##_xa) {                                                       \
        uint64_t a = acc, b = U64(2);                                       \
        SET(expr);                                                          \
        NEXT(3);                                                            \
    }
#define BIN64XB(name, expr)                                                 \
    CASE(name##_xb) {                                                       \
        uint64_t a = U64(2), b = acc;                                       \
        SET(expr);                                                          \
        NEXT(3);                                                            \
    }
#define BIN64IXA(name, expr)                                                \
    CASE(name##_imm_xa) {                                                   \
        uint64_t a = acc, b = (uint64_t)(int64_t)(int32_t)pc[2];            \
        SET(expr);                                                          \
        NEXT(3);                                                            \
    }
#define ARITH64(name, expr)                                                 \
    BIN64(name, expr) BIN64I(name, expr) BIN64XA(name, expr)                \
    BIN64IXA(name, expr)
#define ARITH64NC(name, expr) ARITH64(name, expr) BIN64XB(name, expr)
/* i64 compares produce an i32. */
#define CMP64(name, expr)                                                   \
    CASE(name) {                                                            \
        uint64_t a = U64(2), b = U64(3);                                    \
        SET((uint32_t)(expr));                                             \
        NEXT(4);                                                            \
    }
#define CMP64I(name, expr)                                                  \
    CASE(name##_imm) {                                                      \
        uint64_t a = U64(2), b = IMM64;                                     \
        SET((uint32_t)(expr));                                             \
        NEXT(4);                                                            \
    }
#define UN(name, expr)                                                      \
    CASE(name) {                                                            \
        uint64_t x = U64(2);                                                \
        SET((expr));                                                       \
        NEXT(3);                                                            \
    }
#define BINF32(name, expr)                                                  \
    CASE(name) {                                                            \
        float a = F32(2), b = F32(3);                                       \
        SET((expr));                                                       \
        NEXT(4);                                                            \
    }
#define BINF32XA(name, expr)                                                \
    CASE(name##_xa) {                                                       \
        float a = f32_of(acc), b = F32(2);                                  \
        SET(expr);                                                          \
        NEXT(3);                                                            \
    }
#define BINF32XB(name, expr)                                                \
    CASE(name##_xb) {                                                       \
        float a = F32(2), b = f32_of(acc);                                  \
        SET(expr);                                                          \
        NEXT(3);                                                            \
    }
#define BINF64XA(name, expr)                                                \
    CASE(name##_xa) {                                                       \
        double a = f64_of(acc), b = F64(2);                                 \
        SET(expr);                                                          \
        NEXT(3);                                                            \
    }
#define BINF64XB(name, expr)                                                \
    CASE(name##_xb) {                                                       \
        double a = F64(2), b = f64_of(acc);                                 \
        SET(expr);                                                          \
        NEXT(3);                                                            \
    }
#define BINF64(name, expr)                                                  \
    CASE(name) {                                                            \
        double a = F64(2), b = F64(3);                                      \
        SET((expr));                                                       \
        NEXT(4);                                                            \
    }

/* Fused compare-and-branch, register and immediate forms. */
#define BRCC(cc, e32, e64)                                                  \
    CASE(br_i32_##cc) {                                                     \
        uint32_t a = U32(1), b = U32(2);                                    \
        if (e32) JUMP(3);                                                   \
        NEXT(4);                                                            \
    }                                                                       \
    CASE(br_i32_##cc##_imm) {                                               \
        uint32_t a = U32(1), b = pc[2];                                     \
        if (e32) JUMP(3);                                                   \
        NEXT(4);                                                            \
    }                                                                       \
    CASE(br_i64_##cc) {                                                     \
        uint64_t a = U64(1), b = U64(2);                                    \
        if (e64) JUMP(3);                                                   \
        NEXT(4);                                                            \
    }                                                                       \
    CASE(br_i64_##cc##_imm) {                                               \
        uint64_t a = U64(1), b = (uint64_t)(int64_t)(int32_t)pc[2];         \
        if (e64) JUMP(3);                                                   \
        NEXT(4);                                                            \
    }                                                                       \
    CASE(br_i32_##cc##_xa) {                                                \
        uint32_t a = ACC32, b = U32(1);                                     \
        if (e32) JUMP(2);                                                   \
        NEXT(3);                                                            \
    }                                                                       \
    CASE(br_i32_##cc##_imm_xa) {                                            \
        uint32_t a = ACC32, b = pc[1];                                      \
        if (e32) JUMP(2);                                                   \
        NEXT(3);                                                            \
    }                                                                       \
    CASE(br_i64_##cc##_xa) {                                                \
        uint64_t a = acc, b = U64(1);                                       \
        if (e64) JUMP(2);                                                   \
        NEXT(3);                                                            \
    }                                                                       \
    CASE(br_i64_##cc##_imm_xa) {                                            \
        uint64_t a = acc, b = (uint64_t)(int64_t)(int32_t)pc[1];            \
        if (e64) JUMP(2);                                                   \
        NEXT(3);                                                            \
    }                                                                       \
    CASE(br_addi_##cc) {                                                    \
        uint32_t a = U32(2) + pc[3];                                        \
        SET(a);                                                            \
        uint32_t b = U32(4);                                                \
        if (e32) JUMP(5);                                                   \
        NEXT(6);                                                            \
    }                                                                       \
    CASE(br_addi_##cc##_imm) {                                              \
        uint32_t a = U32(2) + pc[3];                                        \
        SET(a);                                                            \
        uint32_t b = pc[4];                                                 \
        if (e32) JUMP(5);                                                   \
        NEXT(6);                                                            \
    }

/* Hide a pointer's value from the optimiser: keeps GCC and clang from
 * turning the few-iteration locals-zeroing loop into a memset call (which
 * costs a call plus spills of the loop's registers on every Wasm call). */
#if defined(__GNUC__)
#define OPAQUE(p) __asm__("" : "+r"(p))
#else
#define OPAQUE(p) ((void)0)
#endif

/* Enter a Wasm function: check limits, push a record, zero the locals. */
#define ENTER(code_, nfp_, ret_)                                            \
    do {                                                                    \
        const interp_code *c_ = (code_);                                    \
        uint64_t *n_ = (nfp_);                                              \
        if (wm_unlikely(n_ + c_->n_slots > stack_end ||                     \
                        rec + 1 >= frames_end))                             \
            TRAP(WM_TRAP_STACK_EXHAUSTED);                                  \
        rec++;                                                              \
        rec->ret_pc = (ret_);                                               \
        rec->fp = n_;                                                       \
        rec->code = c_;                                                     \
        rec->inst = inst;                                                   \
        ex->top = rec;                                                      \
        uint64_t *l_ = n_ + c_->n_params;                                   \
        for (uint32_t i_ = c_->n_locals; i_; i_--) {                        \
            *l_++ = 0;                                                      \
            OPAQUE(l_);                                                     \
        }                                                                   \
        fp = n_;                                                            \
        pc = c_->code;                                                      \
        if (wm_unlikely(--budget < 0)) goto poll;                           \
        DISPATCH();                                                         \
    } while (0)

/*
 * Run from the innermost record (pushed by interp_call) until it returns.
 * With table != NULL, only report the handler table (jumptable build).
 *
 * UBSan's pointer-overflow check is off here: it instruments every fp[k]
 * and mem + ea of ~750 handlers and made clang take 5 minutes for this
 * one function (43 s without it). Slot indices are bounded by the
 * validator (n_slots) and memory addresses by the guard region or the
 * explicit check; ASan still checks the accesses themselves.
 */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
__attribute__((no_sanitize("pointer-overflow")))
#endif
static wm_status run(interp_exec *ex, const int32_t **table, wm_error *err) {
#if WM_USE_JUMPTABLE
#define LBL_(name) [IOP_##name] = &&L_##name - &&L_unreachable,
#define LBLS_(name, sfx) [IOP_##name##sfx] = &&L_##name##sfx - &&L_unreachable,
    static const int32_t optab[IOP_COUNT] = {INTERP_OPS(LBL_, LBLS_)};
#undef LBL_
#undef LBLS_
    if (table) {
        *table = optab;
        return WM_OK;
    }
    const char *const lbase = (const char *)&&L_unreachable;
#else
    if (table) {
        *table = NULL;
        return WM_OK;
    }
#endif
    interp_frame *rec = ex->top;
    interp_frame *const entry = rec;
    interp_frame *const frames_end = ex->frames_end;
    uint64_t *const stack_end = ex->stack_end;
    uint64_t *fp = rec->fp;
    const uint32_t *pc = rec->code->code;
    wm_instance *inst = rec->inst;
    uint8_t *mem = inst->mem_base;
    wm_global **globals = inst->globals;
    int64_t budget = 0;
    uint64_t acc = 0;            /* the last result (see SET) */
    wm_status tcode = WM_OK;
    int64_t tdetail = -1;        /* trap: element index for the message */
    wm_func *gf = NULL;          /* generic call: the callee */
    uint64_t *gfp = NULL;        /*               its frame */
    const uint32_t *gret = NULL; /*               return pc */
#if !WM_ENABLE_GUARD_PAGES
    uint64_t t_addr = 0;
    uint32_t t_size = 0;
#endif

#if WM_USE_JUMPTABLE
    DISPATCH();
#else
dispatch:
    switch ((enum interp_op)*pc) {
#endif

    /* ---- control ------------------------------------------------------ */
    CASE(unreachable) TRAP(WM_TRAP_UNREACHABLE);
    CASE(br) JUMP(1);
    CASE(br_if) {
        if (U32(1)) JUMP(2);
        NEXT(3);
    }
    CASE(br_unless) {
        if (!U32(1)) JUMP(2);
        NEXT(3);
    }
    CASE(br_if_xa) {
        if (ACC32) JUMP(1);
        NEXT(2);
    }
    CASE(br_unless_xa) {
        if (!ACC32) JUMP(1);
        NEXT(2);
    }
    BRCC(eq, a == b, a == b)
    BRCC(ne, a != b, a != b)
    BRCC(lt_s, (int32_t)a < (int32_t)b, (int64_t)a < (int64_t)b)
    BRCC(lt_u, a < b, a < b)
    BRCC(gt_s, (int32_t)a > (int32_t)b, (int64_t)a > (int64_t)b)
    BRCC(gt_u, a > b, a > b)
    BRCC(le_s, (int32_t)a <= (int32_t)b, (int64_t)a <= (int64_t)b)
    BRCC(le_u, a <= b, a <= b)
    BRCC(ge_s, (int32_t)a >= (int32_t)b, (int64_t)a >= (int64_t)b)
    BRCC(ge_u, a >= b, a >= b)
    CASE(br_table) {
        uint32_t i = U32(1), n = pc[2];
        if (i > n) i = n;
        JUMP(3 + i);
    }
    CASE(ret1) {
        fp[0] = U64(1);
        goto do_ret;
    }
    CASE(ret) {
    do_ret:;
        const uint32_t *r = rec->ret_pc;
        rec--;
        ex->top = rec;
        if (wm_unlikely(!r)) return WM_OK;
        fp = rec->fp;
        pc = r;
        if (wm_unlikely(rec->inst != inst)) {
            inst = rec->inst;
            mem = inst->mem_base;
            globals = inst->globals;
        }
        DISPATCH();
    }
    CASE(call) {
        const interp_code *c = (const interp_code *)(uintptr_t)(
            (uint64_t)pc[1] | (uint64_t)pc[2] << 32);
        ENTER(c, fp + pc[3], pc + 4);
    }
    CASE(call_import) {
        gf = inst->funcs[pc[1]];
        gfp = fp + pc[2];
        gret = pc + 3;
        goto call_generic;
    }
    CASE(call_indirect) {
        const wm_table *t = inst->tables[pc[1]];
        uint32_t i = U32(3);
        if (wm_unlikely(i >= t->size)) {
            tdetail = i;
            TRAP(WM_TRAP_UNDEF_ELEM);
        }
        wm_func *f = t->elems[i];
        if (wm_unlikely(!f)) {
            tdetail = i;
            TRAP(WM_TRAP_UNINIT_ELEM);
        }
        if (wm_unlikely(f->type_id != pc[2])) TRAP(WM_TRAP_INDIRECT_TYPE);
        if (wm_likely(f->inst == inst && f->code))
            ENTER(f->code, fp + pc[4], pc + 5);
        gf = f;
        gfp = fp + pc[4];
        gret = pc + 5;
        goto call_generic;
    }

    /* ---- moves, constants, globals, references ------------------------ */
    CASE(mov) {
        SET(U64(2));
        NEXT(3);
    }
    CASE(i32_bfx_xa) {
        SET((ACC32 >> (pc[2] & 31)) & pc[3]);
        NEXT(4);
    }
    CASE(i32_bfx) {
        SET((U32(2) >> (pc[3] & 31)) & pc[4]);
        NEXT(5);
    }
    CASE(mov2) {
        fp[pc[1]] = fp[pc[2]];
        fp[pc[3]] = fp[pc[4]];
        NEXT(5);
    }
    CASE(movn) {
        uint32_t n = pc[1];
        const uint32_t *p = pc + 2;
        do {
            fp[p[0]] = fp[p[1]];
            p += 2;
        } while (--n);
        pc = p;
        DISPATCH();
    }
    CASE(const32) {
        SET(pc[2]);
        NEXT(3);
    }
    CASE(const64) {
        SET((uint64_t)pc[2] | (uint64_t)pc[3] << 32);
        NEXT(4);
    }
    CASE(select) {
        SET(U32(4) ? U64(2) : U64(3));
        NEXT(5);
    }
    CASE(global_get) {
        SET(globals[pc[2]]->val);
        NEXT(3);
    }
    CASE(global_set) {
        globals[pc[1]]->val = U64(2);
        NEXT(3);
    }
    CASE(ref_func) {
        SET((uint64_t)(uintptr_t)inst->funcs[pc[2]]);
        NEXT(3);
    }
    CASE(ref_is_null) {
        SET(U64(2) == 0);
        NEXT(3);
    }

    /* ---- memory ------------------------------------------------------- */
    LOAD(i32_load, uint32_t, v_)
    LOAD(i64_load, uint64_t, v_)
    LOAD(f32_load, uint32_t, v_)
    LOAD(f64_load, uint64_t, v_)
    LOAD(i32_load8_s, int8_t, (uint32_t)(int32_t)v_)
    LOAD(i32_load8_u, uint8_t, (uint32_t)v_)
    LOAD(i32_load16_s, int16_t, (uint32_t)(int32_t)v_)
    LOAD(i32_load16_u, uint16_t, (uint32_t)v_)
    LOAD(i64_load8_s, int8_t, (uint64_t)(int64_t)v_)
    LOAD(i64_load8_u, uint8_t, (uint64_t)v_)
    LOAD(i64_load16_s, int16_t, (uint64_t)(int64_t)v_)
    LOAD(i64_load16_u, uint16_t, (uint64_t)v_)
    LOAD(i64_load32_s, int32_t, (uint64_t)(int64_t)v_)
    LOAD(i64_load32_u, uint32_t, (uint64_t)v_)
    STORE(i32_store, uint32_t)
    STORE(i64_store, uint64_t)
    STORE(f32_store, uint32_t)
    STORE(f64_store, uint64_t)
    STORE(i32_store8, uint8_t)
    STORE(i32_store16, uint16_t)
    STORE(i64_store8, uint8_t)
    STORE(i64_store16, uint16_t)
    STORE(i64_store32, uint32_t)
    CASE(memory_size) {
        SET(inst->mem0->n_pages);
        NEXT(2);
    }
    CASE(memory_grow) {
        int64_t r = mem_grow(inst->mem0, U32(2));
        SET((uint32_t)r);
        mem = inst->mem_base;
        NEXT(3);
    }
    CASE(memory_init) {
        /* the segment-initialiser instantiation uses (instance.c) */
        if (inst_memory_init(inst, pc[1], U32(2), U32(3), U32(4), NULL))
            goto trap_oob_bulk;
        NEXT(5);
    }
    CASE(data_drop) {
        inst->data_dropped[pc[1]] = 1;
        NEXT(2);
    }
    CASE(memory_copy) {
        uint64_t dst = U32(1), src = U32(2), n = U32(3);
        uint64_t size = inst->mem0->size_bytes;
        if (src + n > size || dst + n > size) goto trap_oob_bulk;
        if (n) memmove(mem + dst, mem + src, n);
        NEXT(4);
    }
    CASE(memory_fill) {
        uint64_t dst = U32(1), n = U32(3);
        if (dst + n > inst->mem0->size_bytes) goto trap_oob_bulk;
        if (n) memset(mem + dst, (int)(uint8_t)U32(2), n);
        NEXT(4);
    }

    /* ---- tables ------------------------------------------------------- */
    CASE(table_get) {
        const wm_table *t = inst->tables[pc[2]];
        uint32_t i = U32(3);
        if (wm_unlikely(i >= t->size)) TRAP(WM_TRAP_OOB_TABLE);
        SET((uint64_t)(uintptr_t)t->elems[i]);
        NEXT(4);
    }
    CASE(table_set) {
        wm_table *t = inst->tables[pc[1]];
        uint32_t i = U32(2);
        if (wm_unlikely(i >= t->size)) TRAP(WM_TRAP_OOB_TABLE);
        t->elems[i] = (void *)(uintptr_t)U64(3);
        NEXT(4);
    }
    CASE(table_size) {
        SET(inst->tables[pc[2]]->size);
        NEXT(3);
    }
    CASE(table_grow) {
        int64_t r = table_grow(inst->tables[pc[2]], U32(4),
                               (void *)(uintptr_t)U64(3));
        SET((uint32_t)r);
        NEXT(5);
    }
    CASE(table_fill) {
        wm_table *t = inst->tables[pc[1]];
        uint64_t i = U32(2), n = U32(4);
        void *v = (void *)(uintptr_t)U64(3);
        if (i + n > t->size) TRAP(WM_TRAP_OOB_TABLE);
        for (uint64_t k = 0; k < n; k++) t->elems[i + k] = v;
        NEXT(5);
    }
    CASE(table_copy) {
        wm_table *td = inst->tables[pc[1]], *ts = inst->tables[pc[2]];
        uint64_t d = U32(3), s = U32(4), n = U32(5);
        if (s + n > ts->size || d + n > td->size) TRAP(WM_TRAP_OOB_TABLE);
        if (n) memmove(td->elems + d, ts->elems + s, n * sizeof(void *));
        NEXT(6);
    }
    CASE(table_init) {
        if (inst_table_init(inst, pc[2], pc[1], U32(3), U32(4), U32(5), NULL))
            TRAP(WM_TRAP_OOB_TABLE);
        NEXT(6);
    }
    CASE(elem_drop) {
        inst->elem_dropped[pc[1]] = 1;
        NEXT(2);
    }

    /* ---- i32 / i64 arithmetic ----------------------------------------- */
    BIN32(i32_eq, a == b)
    BIN32(i32_ne, a != b)
    BIN32(i32_lt_s, (int32_t)a < (int32_t)b)
    BIN32(i32_lt_u, a < b)
    BIN32(i32_gt_s, (int32_t)a > (int32_t)b)
    BIN32(i32_gt_u, a > b)
    BIN32(i32_le_s, (int32_t)a <= (int32_t)b)
    BIN32(i32_le_u, a <= b)
    BIN32(i32_ge_s, (int32_t)a >= (int32_t)b)
    BIN32(i32_ge_u, a >= b)
    BIN32I(i32_eq, a == b)
    BIN32I(i32_ne, a != b)
    BIN32I(i32_lt_s, (int32_t)a < (int32_t)b)
    BIN32I(i32_lt_u, a < b)
    BIN32I(i32_gt_s, (int32_t)a > (int32_t)b)
    BIN32I(i32_gt_u, a > b)
    BIN32I(i32_le_s, (int32_t)a <= (int32_t)b)
    BIN32I(i32_le_u, a <= b)
    BIN32I(i32_ge_s, (int32_t)a >= (int32_t)b)
    BIN32I(i32_ge_u, a >= b)
    CMP64(i64_eq, a == b)
    CMP64(i64_ne, a != b)
    CMP64(i64_lt_s, (int64_t)a < (int64_t)b)
    CMP64(i64_lt_u, a < b)
    CMP64(i64_gt_s, (int64_t)a > (int64_t)b)
    CMP64(i64_gt_u, a > b)
    CMP64(i64_le_s, (int64_t)a <= (int64_t)b)
    CMP64(i64_le_u, a <= b)
    CMP64(i64_ge_s, (int64_t)a >= (int64_t)b)
    CMP64(i64_ge_u, a >= b)
    CMP64I(i64_eq, a == b)
    CMP64I(i64_ne, a != b)
    CMP64I(i64_lt_s, (int64_t)a < (int64_t)b)
    CMP64I(i64_lt_u, a < b)
    CMP64I(i64_gt_s, (int64_t)a > (int64_t)b)
    CMP64I(i64_gt_u, a > b)
    CMP64I(i64_le_s, (int64_t)a <= (int64_t)b)
    CMP64I(i64_le_u, a <= b)
    CMP64I(i64_ge_s, (int64_t)a >= (int64_t)b)
    CMP64I(i64_ge_u, a >= b)

    /* plain, _imm, _xa, _imm_xa and (non-commutative) _xb forms */
    ARITH32(i32_add, a + b)
    BIN32(i32_sub, a - b)
    BIN32XA(i32_sub, a - b)
    BIN32XB(i32_sub, a - b)
    ARITH32(i32_mul, a * b)
    ARITH32(i32_and, a & b)
    ARITH32(i32_or, a | b)
    ARITH32(i32_xor, a ^ b)
    ARITH32NC(i32_shl, a << (b & 31))
    ARITH32NC(i32_shr_s, (uint32_t)((int32_t)a >> (b & 31)))
    ARITH32NC(i32_shr_u, a >> (b & 31))
    ARITH32NC(i32_rotl, rotl32(a, b))
    ARITH32NC(i32_rotr, rotr32(a, b))
    CASE(i32_div_s) {
        int32_t a = I32(2), b = I32(3);
        if (wm_unlikely(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        if (wm_unlikely(a == INT32_MIN && b == -1)) TRAP(WM_TRAP_INT_OVERFLOW);
        SET((uint32_t)(a / b));
        NEXT(4);
    }
    CASE(i32_div_u) {
        uint32_t a = U32(2), b = U32(3);
        if (wm_unlikely(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        SET(a / b);
        NEXT(4);
    }
    CASE(i32_rem_s) {
        int32_t a = I32(2), b = I32(3);
        if (wm_unlikely(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        SET(b == -1 ? 0 : (uint32_t)(a % b));
        NEXT(4);
    }
    CASE(i32_rem_u) {
        uint32_t a = U32(2), b = U32(3);
        if (wm_unlikely(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        SET(a % b);
        NEXT(4);
    }

    ARITH64(i64_add, a + b)
    BIN64(i64_sub, a - b)
    BIN64XA(i64_sub, a - b)
    BIN64XB(i64_sub, a - b)
    ARITH64(i64_mul, a * b)
    ARITH64(i64_and, a & b)
    ARITH64(i64_or, a | b)
    ARITH64(i64_xor, a ^ b)
    ARITH64NC(i64_shl, a << (b & 63))
    ARITH64NC(i64_shr_s, (uint64_t)((int64_t)a >> (b & 63)))
    ARITH64NC(i64_shr_u, a >> (b & 63))
    ARITH64NC(i64_rotl, rotl64(a, b))
    ARITH64NC(i64_rotr, rotr64(a, b))
    CASE(i64_div_s) {
        int64_t a = I64(2), b = I64(3);
        if (wm_unlikely(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        if (wm_unlikely(a == INT64_MIN && b == -1)) TRAP(WM_TRAP_INT_OVERFLOW);
        SET((uint64_t)(a / b));
        NEXT(4);
    }
    CASE(i64_div_u) {
        uint64_t a = U64(2), b = U64(3);
        if (wm_unlikely(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        SET(a / b);
        NEXT(4);
    }
    CASE(i64_rem_s) {
        int64_t a = I64(2), b = I64(3);
        if (wm_unlikely(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        SET(b == -1 ? 0 : (uint64_t)(a % b));
        NEXT(4);
    }
    CASE(i64_rem_u) {
        uint64_t a = U64(2), b = U64(3);
        if (wm_unlikely(b == 0)) TRAP(WM_TRAP_DIV_ZERO);
        SET(a % b);
        NEXT(4);
    }

    UN(i32_clz, clz32((uint32_t)x))
    UN(i32_ctz, ctz32((uint32_t)x))
    UN(i32_popcnt, popcnt32((uint32_t)x))
    UN(i64_clz, clz64(x))
    UN(i64_ctz, ctz64(x))
    UN(i64_popcnt, popcnt64(x))
    UN(i32_wrap_i64, (uint32_t)x)
    UN(i64_extend_i32_s, (uint64_t)(int64_t)(int32_t)x)
    UN(i64_extend_i32_u, (uint32_t)x)
    UN(i32_extend8_s, (uint32_t)(int32_t)(int8_t)x)
    UN(i32_extend16_s, (uint32_t)(int32_t)(int16_t)x)
    UN(i64_extend8_s, (uint64_t)(int64_t)(int8_t)x)
    UN(i64_extend16_s, (uint64_t)(int64_t)(int16_t)x)
    UN(i64_extend32_s, (uint64_t)(int64_t)(int32_t)x)

    /* ---- floats ------------------------------------------------------- */
    BINF32(f32_eq, (uint64_t)(a == b))
    BINF32(f32_ne, (uint64_t)(a != b))
    BINF32(f32_lt, (uint64_t)(a < b))
    BINF32(f32_gt, (uint64_t)(a > b))
    BINF32(f32_le, (uint64_t)(a <= b))
    BINF32(f32_ge, (uint64_t)(a >= b))
    BINF64(f64_eq, (uint64_t)(a == b))
    BINF64(f64_ne, (uint64_t)(a != b))
    BINF64(f64_lt, (uint64_t)(a < b))
    BINF64(f64_gt, (uint64_t)(a > b))
    BINF64(f64_le, (uint64_t)(a <= b))
    BINF64(f64_ge, (uint64_t)(a >= b))
    BINF32(f32_add, bits_f32(a + b))
    BINF32(f32_sub, bits_f32(a - b))
    BINF32(f32_mul, bits_f32(a * b))
    BINF32(f32_div, bits_f32(a / b))
    BINF64(f64_add, bits_f64(a + b))
    BINF64(f64_sub, bits_f64(a - b))
    BINF64(f64_mul, bits_f64(a * b))
    BINF64(f64_div, bits_f64(a / b))
    BINF32XA(f32_add, bits_f32(a + b))
    BINF32XA(f32_sub, bits_f32(a - b))
    BINF32XA(f32_mul, bits_f32(a * b))
    BINF32XA(f32_div, bits_f32(a / b))
    BINF32XB(f32_sub, bits_f32(a - b))
    BINF32XB(f32_div, bits_f32(a / b))
    BINF64XA(f64_add, bits_f64(a + b))
    BINF64XA(f64_sub, bits_f64(a - b))
    BINF64XA(f64_mul, bits_f64(a * b))
    BINF64XA(f64_div, bits_f64(a / b))
    BINF64XB(f64_sub, bits_f64(a - b))
    BINF64XB(f64_div, bits_f64(a / b))
    CASE(f32_min) {
        SET(f32_min(U64(2), U64(3)));
        NEXT(4);
    }
    CASE(f32_max) {
        SET(f32_max(U64(2), U64(3)));
        NEXT(4);
    }
    CASE(f64_min) {
        SET(f64_min(U64(2), U64(3)));
        NEXT(4);
    }
    CASE(f64_max) {
        SET(f64_max(U64(2), U64(3)));
        NEXT(4);
    }
    CASE(f32_copysign) {
        SET((uint32_t)((U64(2) & 0x7fffffffu) | (U64(3) & 0x80000000u)));
        NEXT(4);
    }
    CASE(f64_copysign) {
        SET((U64(2) & 0x7fffffffffffffffull) |
            (U64(3) & 0x8000000000000000ull));
        NEXT(4);
    }
    UN(f32_abs, (uint32_t)x & 0x7fffffffu)
    UN(f32_neg, (uint32_t)x ^ 0x80000000u)
    UN(f64_abs, x & 0x7fffffffffffffffull)
    UN(f64_neg, x ^ 0x8000000000000000ull)
    UN(f32_ceil, bits_f32(f32_round(ceilf, f32_of(x))))
    UN(f32_floor, bits_f32(f32_round(floorf, f32_of(x))))
    UN(f32_trunc, bits_f32(f32_round(truncf, f32_of(x))))
    UN(f32_nearest, bits_f32(f32_round(nearbyintf, f32_of(x))))
    UN(f32_sqrt, bits_f32(sqrtf(f32_of(x))))
    UN(f64_ceil, bits_f64(f64_round(ceil, f64_of(x))))
    UN(f64_floor, bits_f64(f64_round(floor, f64_of(x))))
    UN(f64_trunc, bits_f64(f64_round(trunc, f64_of(x))))
    UN(f64_nearest, bits_f64(f64_round(nearbyint, f64_of(x))))
    UN(f64_sqrt, bits_f64(sqrt(f64_of(x))))

    /* float -> int, trapping: NaN is an invalid conversion, out of range
     * an overflow (bounds are the first values that do not fit). */
#define TRUNC(name, ftype, get, lo, hi, itype, utype)                       \
    CASE(name) {                                                            \
        ftype x = get(2);                                                   \
        if (wm_unlikely(x != x)) TRAP(WM_TRAP_INVALID_CONV);                \
        if (wm_unlikely(!(x > (lo) && x < (hi))))                           \
            TRAP(WM_TRAP_INT_OVERFLOW);                                     \
        SET((utype)(itype)x);                                              \
        NEXT(3);                                                            \
    }
    TRUNC(i32_trunc_f32_s, float, F32, -2147483904.0f, 2147483648.0f,
          int32_t, uint32_t)
    TRUNC(i32_trunc_f32_u, float, F32, -1.0f, 4294967296.0f, uint32_t,
          uint32_t)
    TRUNC(i32_trunc_f64_s, double, F64, -2147483649.0, 2147483648.0,
          int32_t, uint32_t)
    TRUNC(i32_trunc_f64_u, double, F64, -1.0, 4294967296.0, uint32_t,
          uint32_t)
    TRUNC(i64_trunc_f32_s, float, F32, -9223373136366403584.0f,
          9223372036854775808.0f, int64_t, uint64_t)
    TRUNC(i64_trunc_f32_u, float, F32, -1.0f, 18446744073709551616.0f,
          uint64_t, uint64_t)
    TRUNC(i64_trunc_f64_s, double, F64, -9223372036854777856.0,
          9223372036854775808.0, int64_t, uint64_t)
    TRUNC(i64_trunc_f64_u, double, F64, -1.0, 18446744073709551616.0,
          uint64_t, uint64_t)
#undef TRUNC
    UN(i32_trunc_sat_f32_s, sat_i32(f32_of(x)))
    UN(i32_trunc_sat_f32_u, sat_u32(f32_of(x)))
    UN(i32_trunc_sat_f64_s, sat_i32(f64_of(x)))
    UN(i32_trunc_sat_f64_u, sat_u32(f64_of(x)))
    UN(i64_trunc_sat_f32_s, sat_i64(f32_of(x)))
    UN(i64_trunc_sat_f32_u, sat_u64(f32_of(x)))
    UN(i64_trunc_sat_f64_s, sat_i64(f64_of(x)))
    UN(i64_trunc_sat_f64_u, sat_u64(f64_of(x)))
    UN(f32_convert_i32_s, bits_f32((float)(int32_t)x))
    UN(f32_convert_i32_u, bits_f32((float)(uint32_t)x))
    UN(f32_convert_i64_s, bits_f32((float)(int64_t)x))
    UN(f32_convert_i64_u, bits_f32((float)x))
    UN(f32_demote_f64, bits_f32((float)f64_of(x)))
    UN(f64_convert_i32_s, bits_f64((double)(int32_t)x))
    UN(f64_convert_i32_u, bits_f64((double)(uint32_t)x))
    UN(f64_convert_i64_s, bits_f64((double)(int64_t)x))
    UN(f64_convert_i64_u, bits_f64((double)x))
    UN(f64_promote_f32, bits_f64((double)f32_of(x)))
    UN(i32_reinterpret_f32, (uint32_t)x)
    UN(i64_reinterpret_f64, x)
    UN(f32_reinterpret_i32, (uint32_t)x)
    UN(f64_reinterpret_i64, x)

#if !WM_USE_JUMPTABLE
    default:
        WM_ASSERT(!"bad internal opcode");
    }
#endif

    /* ---- slow paths ---------------------------------------------------- */
call_generic:
    /* gf: host function or another instance's function. */
    if (gf->host) {
        wm_status st = call_host(ex, gf, inst, gfp, true, err);
        if (st != WM_OK) {
            /* err is filled; add the backtrace */
            fill_trace(rec, entry, err);
            ex->top = entry - 1;
            return st;
        }
        mem = inst->mem_base;
        pc = gret;
        DISPATCH();
    }
    inst = gf->inst;
    mem = inst->mem_base;
    globals = inst->globals;
    ENTER(gf->code, gfp, gret);

poll:
    if (ex->interrupt) {
        ex->interrupt = 0;
        TRAP(WM_TRAP_INTERRUPTED);
    }
    if (ex->fuel >= 0) {
        if (ex->fuel == 0) TRAP(WM_TRAP_INTERRUPTED);
        budget = ex->fuel < INTERP_POLL_EVERY ? ex->fuel : INTERP_POLL_EVERY;
        ex->fuel -= budget;
    } else {
        budget = INTERP_POLL_EVERY;
    }
    DISPATCH();

#if !WM_ENABLE_GUARD_PAGES
trap_oob:
    err->code = WM_TRAP_OOB_MEMORY;
    snprintf(err->msg, sizeof err->msg,
             "out of bounds memory access: address 0x%llx, size %u, "
             "memory size %llu", (unsigned long long)t_addr, t_size,
             (unsigned long long)inst->mem0->size_bytes);
    fill_trace(rec, entry, err);
    ex->top = entry - 1;
    return WM_TRAP_OOB_MEMORY;
#endif
trap_oob_bulk:
    tcode = WM_TRAP_OOB_MEMORY;
trap:
    err->code = tcode;
    if (tdetail >= 0)
        snprintf(err->msg, sizeof err->msg, "%s %lld", wm_status_str(tcode),
                 (long long)tdetail);
    else
        snprintf(err->msg, sizeof err->msg, "%s", wm_status_str(tcode));
    fill_trace(rec, entry, err);
    ex->top = entry - 1;
    return tcode;
}

/* ==== Entry points ====================================================== */

const int32_t *interp_optable(void) {
    const int32_t *t = NULL;
    (void)run(NULL, &t, NULL);
    return t;
}

const char *interp_op_name(enum interp_op op) {
    static const char *const names[IOP_COUNT] = {
#define NAME_(name) [IOP_##name] = #name,
#define NAMES_(name, sfx) [IOP_##name##sfx] = #name #sfx,
        INTERP_OPS(NAME_, NAMES_)
#undef NAME_
#undef NAMES_
    };
    return (unsigned)op < IOP_COUNT ? names[op] : "?";
}

interp_exec *interp_exec_new(const wm_config *cfg) {
    interp_exec *ex = calloc(1, sizeof *ex);
    if (!ex) return NULL;
    size_t n_slots = cfg && cfg->stack_slots ? cfg->stack_slots : (1u << 20);
    size_t n_frames = (cfg && cfg->max_call_depth ? cfg->max_call_depth
                                                  : 100000u) + 1;
    ex->stack = malloc(n_slots * sizeof(uint64_t));
    ex->frames = malloc(n_frames * sizeof(interp_frame));
    if (!ex->stack || !ex->frames) {
        interp_exec_free(ex);
        return NULL;
    }
    ex->stack_end = ex->stack + n_slots;
    ex->stack_top = ex->stack;
    ex->frames_end = ex->frames + n_frames;
    ex->top = ex->frames - 1;
    ex->fuel = -1;
    return ex;
}

void interp_exec_free(interp_exec *ex) {
    if (!ex) return;
    free(ex->stack);
    free(ex->frames);
    free(ex);
}

uint32_t interp_depth(const wm_runtime *rt) {
    const interp_exec *ex = rt->exec;
    return (uint32_t)(ex->top + 1 - ex->frames);
}

/*
 * Call f with args in slots[] (results replace them). A Wasm function runs
 * in a fresh entry record on top of whatever is live (host functions may
 * call back in), starting at ex->stack_top.
 */
wm_status interp_call(wm_runtime *rt, wm_func *f, uint64_t *slots,
                      wm_error *err) {
    interp_exec *ex = rt->exec;
    if (f->host) return call_host(ex, f, NULL, slots, false, err);
    const interp_code *c = f->code;
    uint64_t *base = ex->stack_top;
    uint64_t *saved_top = ex->stack_top;
    if ((size_t)(ex->stack_end - base) < c->n_slots ||
        ex->top + 1 >= ex->frames_end) {
        err->code = WM_TRAP_STACK_EXHAUSTED;
        snprintf(err->msg, sizeof err->msg, "%s",
                 wm_status_str(WM_TRAP_STACK_EXHAUSTED));
        err->n_trace = 0;
        return WM_TRAP_STACK_EXHAUSTED;
    }
    if (c->n_params) memcpy(base, slots, c->n_params * sizeof(uint64_t));
    memset(base + c->n_params, 0, c->n_locals * sizeof(uint64_t));
    interp_frame *rec = ex->top + 1;
    rec->ret_pc = NULL;
    rec->fp = base;
    rec->code = c;
    rec->inst = f->inst;
    ex->top = rec;
    wm_status st = run(ex, NULL, err);
    if (st == WM_OK && c->n_results)
        memcpy(slots, base, c->n_results * sizeof(uint64_t));
    ex->stack_top = saved_top;
    return st;
}

void interp_recover_fault(wm_runtime *rt, uint32_t depth, wm_error *err) {
    interp_exec *ex = rt->exec;
    interp_frame *bottom = ex->frames + depth;
    err->code = WM_TRAP_OOB_MEMORY;
    snprintf(err->msg, sizeof err->msg, "%s",
             wm_status_str(WM_TRAP_OOB_MEMORY));
    if (ex->top >= bottom) {
        fill_trace(ex->top, bottom, err);
        ex->stack_top = bottom->fp;
    } else {
        err->n_trace = 0;
    }
    ex->top = bottom - 1;
}

/* ==== Debugging ========================================================= */

/* Words taken by the instruction at code[0] (whose op is `op`). */
static uint32_t op_words(enum interp_op op, const uint32_t *code) {
    switch (op) {
    case IOP_unreachable: case IOP_ret: return 1;
    case IOP_br: case IOP_memory_size: case IOP_data_drop:
    case IOP_elem_drop: return 2;
    case IOP_br_table: return 4 + code[2];
    case IOP_call: case IOP_const64: case IOP_memory_copy:
    case IOP_memory_fill: case IOP_table_get: case IOP_table_set: return 4;
    case IOP_call_indirect: case IOP_select: case IOP_memory_init:
    case IOP_table_grow: case IOP_table_fill: return 5;
    case IOP_table_copy: case IOP_table_init: return 6;
    case IOP_mov2: case IOP_i32_bfx: return 5;
    case IOP_br_if_xa: case IOP_br_unless_xa: case IOP_ret1: return 2;
    case IOP_movn: return 2 + 2 * code[1];
    case IOP_br_if: case IOP_br_unless: case IOP_call_import: case IOP_mov:
    case IOP_const32: case IOP_global_get: case IOP_global_set:
    case IOP_ref_func: case IOP_ref_is_null: case IOP_memory_grow:
    case IOP_table_size: return 3;
    default: break;
    }
#define UN_(name) case IOP_##name:
#define ADDR_(name, sfx) case IOP_##name##sfx:
#define BRADD_(cc) case IOP_br_addi_##cc: case IOP_br_addi_##cc##_imm:
#define BRXA_(cc) case IOP_br_i32_##cc##_xa: case IOP_br_i32_##cc##_imm_xa: \
    case IOP_br_i64_##cc##_xa: case IOP_br_i64_##cc##_imm_xa:
    switch (op) {
    INTERP_CC(BRADD_) return 6;
    INTERP_CC(BRXA_)
    INTERP_ACC_BIN(ADDR_, _xa) INTERP_ACC_NC(ADDR_, _xb)
    INTERP_ACC_IMM(ADDR_, _imm_xa) INTERP_LOADS(ADDR_, _xa)
    INTERP_STORES(ADDR_, _xa) INTERP_STORES(ADDR_, _xv) return 3;
    INTERP_UNOPS(UN_) INTERP_SATOPS(UN_) return 3;
    INTERP_LOADS(ADDR_, _rr) INTERP_LOADS(ADDR_, _ri)
    INTERP_STORES(ADDR_, _rr) INTERP_STORES(ADDR_, _ri) return 5;
    default: return 4;   /* binary, immediate, fused branch, load, store */
    }
#undef UN_
#undef ADDR_
#undef BRADD_
#undef BRXA_
}

/*
 * Print a function's internal code, one instruction per line:
 * "  12: i32_add_imm 5 3 1". For tests and performance work.
 */
void interp_dump(const interp_code *c, FILE *out) {
    const int32_t *tab = interp_optable();
    fprintf(out, "func %u: params %u locals %u slots %u words %u\n",
            c->func_idx, c->n_params, c->n_locals, c->n_slots, c->n_words);
    for (uint32_t pc = 0; pc < c->n_words;) {
        enum interp_op op = IOP_COUNT;
        uint32_t w = c->code[pc];
        if (!tab) {
            op = (enum interp_op)w;
        } else {
            for (uint32_t k = 0; k < IOP_COUNT; k++)
                if ((uint32_t)tab[k] == w) { op = (enum interp_op)k; break; }
        }
        if (op >= IOP_COUNT) {
            fprintf(out, "  %4u: ??? %08x\n", pc, w);
            return;
        }
        uint32_t n = op_words(op, c->code + pc);
        fprintf(out, "  %4u: %s", pc, interp_op_name(op));
        for (uint32_t k = 1; k < n && pc + k < c->n_words; k++)
            fprintf(out, " %d", (int32_t)c->code[pc + k]);
        fputc('\n', out);
        pc += n;
    }
}
