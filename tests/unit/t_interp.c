/*
 * t_interp.c — the validator's code generation and the interpreter, on
 * cases the spec suite reaches only by accident: every peephole of
 * validate.c (operands left in locals, local.set retargeting, move
 * merging, fused compare-branch / add-branch / bit-field / add-address
 * forms, accumulator forms), parallel moves into result slots, br_table
 * with values, deep recursion, fuel, and trap backtraces with names.
 *
 * The module (converted once with `wat2wasm --debug-names`):
 *
 * (module
 *   (memory (export "mem") 1)
 *   (type $ii_i (func (param i32 i32) (result i32)))
 *   (table 4 funcref)
 *   (elem (i32.const 0) $sub $add)
 *   (func $f (result i32) (i32.const 100))
 *   (func $g (result i32) (i32.const 28))
 *   (func $sub (type $ii_i) (i32.sub (local.get 0) (local.get 1)))
 *   (func $add (type $ii_i) (i32.add (local.get 0) (local.get 1)))
 *   ;; store fused with an add whose operand is the constant's home slot
 *   (func (export "store_conflict") (result i32)
 *     (i32.store (i32.add (call $f) (call $g)) (i32.const 7))
 *     (i32.load (i32.const 128)))
 *   ;; pending reference to a local that is then overwritten
 *   (func (export "pending_ref") (param i32) (result i32)
 *     local.get 0
 *     local.get 0
 *     i32.const 1
 *     i32.add
 *     local.set 0
 *     local.get 0
 *     i32.add)
 *   ;; iterative fib: values rotate through locals (mov merging)
 *   (func (export "fib") (param i32) (result i32) (local i32 i32 i32)
 *     (local.set 1 (i32.const 0))
 *     (local.set 2 (i32.const 1))
 *     (block $done
 *       (loop $l
 *         (br_if $done (i32.eqz (local.get 0)))
 *         (local.set 3 (i32.add (local.get 1) (local.get 2)))
 *         (local.set 1 (local.get 2))
 *         (local.set 2 (local.get 3))
 *         (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
 *         (br $l)))
 *     (local.get 1))
 *   ;; counted loop (add + compare + branch fusion)
 *   (func (export "sum") (param i32) (result i32) (local i32 i32)
 *     (loop $l
 *       (local.set 2 (i32.add (local.get 2) (local.get 1)))
 *       (br_if $l (i32.lt_s (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (local.get 0))))
 *     (local.get 2))
 *   ;; results that swap the params (parallel move into slots 0, 1)
 *   (func (export "swap") (param i32 i32) (result i32 i32)
 *     (local.get 1) (local.get 0))
 *   (func (export "swap_sub") (param i32 i32) (result i32)
 *     (call $swap2 (local.get 0) (local.get 1))
 *     i32.sub)
 *   (func $swap2 (param i32 i32) (result i32 i32)
 *     (return (local.get 1) (local.get 0)))
 *   ;; br_table carrying a value to different depths
 *   (func (export "table") (param i32) (result i32)
 *     (block $a (result i32)
 *       (block $b (result i32)
 *         (block $c (result i32)
 *           (i32.const 10)
 *           (local.get 0)
 *           (br_table $c $b $a))
 *         (i32.const 1) (i32.add))
 *       (i32.const 100) (i32.add)))
 *   ;; eqz of a compare feeding if
 *   (func (export "not_lt") (param i32 i32) (result i32)
 *     (if (result i32) (i32.eqz (i32.lt_s (local.get 0) (local.get 1)))
 *       (then (i32.const 1)) (else (i32.const 0))))
 *   ;; accumulator forms: x - y*y, (x*3) >> y, chained
 *   (func (export "acc") (param i32 i32) (result i32)
 *     (i32.shr_u
 *       (i32.sub (local.get 0) (i32.mul (local.get 1) (local.get 1)))
 *       (i32.and (local.get 1) (i32.const 7))))
 *   (func (export "acc64") (param i64 i64) (result i64)
 *     (i64.rotl (i64.xor (i64.mul (local.get 0) (i64.const 0x9e3779b97f4a7c15))
 *                        (local.get 1))
 *               (i64.add (local.get 1) (i64.const 3))))
 *   ;; bit-field extract
 *   (func (export "bfx") (param i32) (result i32)
 *     (i32.and (i32.shr_u (local.get 0) (i32.const 4)) (i32.const 255)))
 *   ;; loads/stores with an add address and a wrapping add
 *   (func (export "addr") (param i32) (result i32)
 *     (i32.store8 (i32.add (local.get 0) (i32.const 16)) (i32.const 0xab))
 *     (i32.load8_u (i32.add (local.get 0) (i32.const 16))))
 *   (func (export "wrap") (result i32)
 *     (i32.store (i32.const 12) (i32.const 0x11223344))
 *     (i32.load (i32.add (i32.const 0xfffffff0) (i32.const 28))))
 *   (func (export "indirect") (param i32 i32 i32) (result i32)
 *     (call_indirect (type $ii_i) (local.get 1) (local.get 2) (local.get 0)))
 *   (func $rec (export "rec") (param i32) (result i32)
 *     (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
 *   (func (export "spin") (loop $l (br $l)))
 *   (func $inner (unreachable))
 *   (func (export "outer") (call $inner))
 * )
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wasm/interp.h"

static const uint8_t w_t[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x27, 0x07, 0x60,
    0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f,
    0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x02, 0x7f, 0x7f, 0x60, 0x02, 0x7e,
    0x7e, 0x01, 0x7e, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00,
    0x00, 0x03, 0x18, 0x17, 0x01, 0x01, 0x00, 0x00, 0x01, 0x02, 0x02, 0x02,
    0x03, 0x00, 0x03, 0x02, 0x00, 0x00, 0x04, 0x02, 0x02, 0x01, 0x05, 0x02,
    0x06, 0x06, 0x06, 0x04, 0x04, 0x01, 0x70, 0x00, 0x04, 0x05, 0x03, 0x01,
    0x00, 0x01, 0x07, 0x97, 0x01, 0x12, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00,
    0x0e, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x5f, 0x63, 0x6f, 0x6e, 0x66, 0x6c,
    0x69, 0x63, 0x74, 0x00, 0x04, 0x0b, 0x70, 0x65, 0x6e, 0x64, 0x69, 0x6e,
    0x67, 0x5f, 0x72, 0x65, 0x66, 0x00, 0x05, 0x03, 0x66, 0x69, 0x62, 0x00,
    0x06, 0x03, 0x73, 0x75, 0x6d, 0x00, 0x07, 0x04, 0x73, 0x77, 0x61, 0x70,
    0x00, 0x08, 0x08, 0x73, 0x77, 0x61, 0x70, 0x5f, 0x73, 0x75, 0x62, 0x00,
    0x09, 0x05, 0x74, 0x61, 0x62, 0x6c, 0x65, 0x00, 0x0b, 0x06, 0x6e, 0x6f,
    0x74, 0x5f, 0x6c, 0x74, 0x00, 0x0c, 0x03, 0x61, 0x63, 0x63, 0x00, 0x0d,
    0x05, 0x61, 0x63, 0x63, 0x36, 0x34, 0x00, 0x0e, 0x03, 0x62, 0x66, 0x78,
    0x00, 0x0f, 0x04, 0x61, 0x64, 0x64, 0x72, 0x00, 0x10, 0x04, 0x77, 0x72,
    0x61, 0x70, 0x00, 0x11, 0x08, 0x69, 0x6e, 0x64, 0x69, 0x72, 0x65, 0x63,
    0x74, 0x00, 0x12, 0x03, 0x72, 0x65, 0x63, 0x00, 0x13, 0x04, 0x73, 0x70,
    0x69, 0x6e, 0x00, 0x14, 0x05, 0x6f, 0x75, 0x74, 0x65, 0x72, 0x00, 0x16,
    0x09, 0x08, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x02, 0x03, 0x0a, 0xe0,
    0x02, 0x17, 0x05, 0x00, 0x41, 0xe4, 0x00, 0x0b, 0x04, 0x00, 0x41, 0x1c,
    0x0b, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6b, 0x0b, 0x07, 0x00, 0x20,
    0x00, 0x20, 0x01, 0x6a, 0x0b, 0x12, 0x00, 0x10, 0x00, 0x10, 0x01, 0x6a,
    0x41, 0x07, 0x36, 0x02, 0x00, 0x41, 0x80, 0x01, 0x28, 0x02, 0x00, 0x0b,
    0x0e, 0x00, 0x20, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x21, 0x00, 0x20,
    0x00, 0x6a, 0x0b, 0x31, 0x01, 0x03, 0x7f, 0x41, 0x00, 0x21, 0x01, 0x41,
    0x01, 0x21, 0x02, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x45, 0x0d, 0x01,
    0x20, 0x01, 0x20, 0x02, 0x6a, 0x21, 0x03, 0x20, 0x02, 0x21, 0x01, 0x20,
    0x03, 0x21, 0x02, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, 0x0c, 0x00,
    0x0b, 0x0b, 0x20, 0x01, 0x0b, 0x1c, 0x01, 0x02, 0x7f, 0x03, 0x40, 0x20,
    0x02, 0x20, 0x01, 0x6a, 0x21, 0x02, 0x20, 0x01, 0x41, 0x01, 0x6a, 0x22,
    0x01, 0x20, 0x00, 0x48, 0x0d, 0x00, 0x0b, 0x20, 0x02, 0x0b, 0x06, 0x00,
    0x20, 0x01, 0x20, 0x00, 0x0b, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x10,
    0x0a, 0x6b, 0x0b, 0x07, 0x00, 0x20, 0x01, 0x20, 0x00, 0x0f, 0x0b, 0x1b,
    0x00, 0x02, 0x7f, 0x02, 0x7f, 0x02, 0x7f, 0x41, 0x0a, 0x20, 0x00, 0x0e,
    0x02, 0x00, 0x01, 0x02, 0x0b, 0x41, 0x01, 0x6a, 0x0b, 0x41, 0xe4, 0x00,
    0x6a, 0x0b, 0x0b, 0x10, 0x00, 0x20, 0x00, 0x20, 0x01, 0x48, 0x45, 0x04,
    0x7f, 0x41, 0x01, 0x05, 0x41, 0x00, 0x0b, 0x0b, 0x10, 0x00, 0x20, 0x00,
    0x20, 0x01, 0x20, 0x01, 0x6c, 0x6b, 0x20, 0x01, 0x41, 0x07, 0x71, 0x76,
    0x0b, 0x19, 0x00, 0x20, 0x00, 0x42, 0x95, 0xf8, 0xa9, 0xfa, 0x97, 0xb7,
    0xde, 0x9b, 0x9e, 0x7f, 0x7e, 0x20, 0x01, 0x85, 0x20, 0x01, 0x42, 0x03,
    0x7c, 0x89, 0x0b, 0x0b, 0x00, 0x20, 0x00, 0x41, 0x04, 0x76, 0x41, 0xff,
    0x01, 0x71, 0x0b, 0x15, 0x00, 0x20, 0x00, 0x41, 0x10, 0x6a, 0x41, 0xab,
    0x01, 0x3a, 0x00, 0x00, 0x20, 0x00, 0x41, 0x10, 0x6a, 0x2d, 0x00, 0x00,
    0x0b, 0x15, 0x00, 0x41, 0x0c, 0x41, 0xc4, 0xe6, 0x88, 0x89, 0x01, 0x36,
    0x02, 0x00, 0x41, 0x70, 0x41, 0x1c, 0x6a, 0x28, 0x02, 0x00, 0x0b, 0x0b,
    0x00, 0x20, 0x01, 0x20, 0x02, 0x20, 0x00, 0x11, 0x00, 0x00, 0x0b, 0x0c,
    0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x10, 0x13, 0x41, 0x01, 0x6a, 0x0b,
    0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, 0x03, 0x00, 0x00, 0x0b,
    0x04, 0x00, 0x10, 0x15, 0x0b, 0x00, 0x65, 0x04, 0x6e, 0x61, 0x6d, 0x65,
    0x01, 0x24, 0x07, 0x00, 0x01, 0x66, 0x01, 0x01, 0x67, 0x02, 0x03, 0x73,
    0x75, 0x62, 0x03, 0x03, 0x61, 0x64, 0x64, 0x0a, 0x05, 0x73, 0x77, 0x61,
    0x70, 0x32, 0x13, 0x03, 0x72, 0x65, 0x63, 0x15, 0x05, 0x69, 0x6e, 0x6e,
    0x65, 0x72, 0x02, 0x2f, 0x17, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03,
    0x00, 0x04, 0x00, 0x05, 0x00, 0x06, 0x00, 0x07, 0x00, 0x08, 0x00, 0x09,
    0x00, 0x0a, 0x00, 0x0b, 0x00, 0x0c, 0x00, 0x0d, 0x00, 0x0e, 0x00, 0x0f,
    0x00, 0x10, 0x00, 0x11, 0x00, 0x12, 0x00, 0x13, 0x00, 0x14, 0x00, 0x15,
    0x00, 0x16, 0x00, 0x04, 0x07, 0x01, 0x00, 0x04, 0x69, 0x69, 0x5f, 0x69,
};

static wm_instance *inst;

/* Call export `name` with i32/i64 args; returns the status, results in r. */
static wm_status call(const char *name, const wm_value *args, size_t n_args,
                      wm_value *r, size_t n_r, wm_error *err) {
    wm_func *f = wm_instance_func(inst, name);
    if (!f) return WM_ERR_NOT_FOUND;
    return wm_func_call(f, args, n_args, r, n_r, err);
}

static int32_t call_i32(const char *name, int n, int32_t a, int32_t b,
                        int32_t c) {
    wm_value args[3] = {{.type = WM_I32, .of.i32 = a},
                        {.type = WM_I32, .of.i32 = b},
                        {.type = WM_I32, .of.i32 = c}};
    wm_value r = {0};
    wm_error err;
    wm_status st = call(name, args, (size_t)n, &r, 1, &err);
    if (st) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return INT32_MIN;
    }
    return r.of.i32;
}

static uint32_t fib_ref(uint32_t n) {
    uint32_t a = 0, b = 1;
    while (n--) {
        uint32_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

static uint64_t rotl64_ref(uint64_t x, uint64_t k) {
    k &= 63;
    return k ? (x << k) | (x >> (64 - k)) : x;
}

int main(void) {
    wm_config cfg = {.max_call_depth = 5000};
    wm_runtime *rt = wm_runtime_new(&cfg);
    wm_module *mod = NULL;
    wm_error err;
    CHECK(rt != NULL);
    CHECK(wm_module_load(rt, w_t, sizeof w_t, "t.wasm", &mod, &err) == WM_OK);
    wm_linker *lk = wm_linker_new(rt);
    CHECK(wm_instantiate(lk, mod, &inst, &err) == WM_OK);
    if (!inst) return TEST_REPORT();

    /* The internal code dumps without unknown words. */
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        for (uint32_t i = mod->m.n_func_imports; i < mod->m.n_funcs; i++)
            interp_dump(mod->m.funcs[i].code, devnull);
        fclose(devnull);
    }

    CHECK_EQ_INT(call_i32("store_conflict", 0, 0, 0, 0), 7);
    CHECK_EQ_INT(call_i32("pending_ref", 1, 5, 0, 0), 11);
    for (int n = 0; n < 40; n += 7)
        CHECK_EQ_INT((uint32_t)call_i32("fib", 1, n, 0, 0), fib_ref((uint32_t)n));
    CHECK_EQ_INT(call_i32("sum", 1, 100, 0, 0), 4950);
    CHECK_EQ_INT(call_i32("sum", 1, 0, 0, 0), 0);   /* runs the body once */

    wm_value args[3] = {{.type = WM_I32, .of.i32 = 3},
                        {.type = WM_I32, .of.i32 = 9}};
    wm_value r2[2];
    CHECK(call("swap", args, 2, r2, 2, &err) == WM_OK);
    CHECK_EQ_INT(r2[0].of.i32, 9);
    CHECK_EQ_INT(r2[1].of.i32, 3);
    CHECK_EQ_INT(call_i32("swap_sub", 2, 3, 9, 0), 6);

    CHECK_EQ_INT(call_i32("table", 1, 0, 0, 0), 111);
    CHECK_EQ_INT(call_i32("table", 1, 1, 0, 0), 110);
    CHECK_EQ_INT(call_i32("table", 1, 2, 0, 0), 10);
    CHECK_EQ_INT(call_i32("table", 1, 99, 0, 0), 10);

    CHECK_EQ_INT(call_i32("not_lt", 2, 1, 2, 0), 0);
    CHECK_EQ_INT(call_i32("not_lt", 2, 2, 2, 0), 1);
    CHECK_EQ_INT(call_i32("not_lt", 2, -5, 2, 0), 0);

    for (int32_t x = -3; x < 40; x += 5)
        for (int32_t y = 0; y < 12; y += 3)
            CHECK_EQ_INT((uint32_t)call_i32("acc", 2, x, y, 0),
                         ((uint32_t)x - (uint32_t)(y * y)) >> (y & 7));
    wm_value a64[2] = {{.type = WM_I64, .of.i64 = 123456789},
                       {.type = WM_I64, .of.i64 = 61}};
    wm_value r64 = {0};
    CHECK(call("acc64", a64, 2, &r64, 1, &err) == WM_OK);
    CHECK(r64.of.i64 == (int64_t)rotl64_ref(
              (123456789ull * 0x9e3779b97f4a7c15ull) ^ 61ull, 64));
    CHECK_EQ_INT(call_i32("bfx", 1, 0x12345, 0, 0), 0x34);
    CHECK_EQ_INT(call_i32("addr", 1, 1000, 0, 0), 0xab);
    CHECK_EQ_INT(call_i32("wrap", 0, 0, 0, 0), 0x11223344);

    CHECK_EQ_INT(call_i32("indirect", 3, 0, 10, 4), 6);
    CHECK_EQ_INT(call_i32("indirect", 3, 1, 10, 4), 14);
    wm_value ia[3] = {{.type = WM_I32, .of.i32 = 2},
                      {.type = WM_I32}, {.type = WM_I32}};
    wm_value r1;
    CHECK(call("indirect", ia, 3, &r1, 1, &err) == WM_TRAP_UNINIT_ELEM);
    CHECK(strcmp(err.msg, "uninitialized element 2") == 0);
    ia[0].of.i32 = 4;
    CHECK(call("indirect", ia, 3, &r1, 1, &err) == WM_TRAP_UNDEF_ELEM);

    /* Unbounded recursion traps at the depth limit, and the runtime
     * stays usable afterwards. */
    ia[0].of.i32 = 0;
    CHECK(call("rec", ia, 1, &r1, 1, &err) == WM_TRAP_STACK_EXHAUSTED);
    CHECK(err.n_trace == WM_TRACE_MAX);
    CHECK(strcmp(err.trace[0].name, "rec") == 0);
    CHECK_EQ_INT(interp_depth(rt), 0);
    CHECK_EQ_INT(call_i32("sum", 1, 10, 0, 0), 45);

    /* Backtrace: innermost first, names from the name section. */
    CHECK(call("outer", NULL, 0, NULL, 0, &err) == WM_TRAP_UNREACHABLE);
    CHECK_EQ_INT(err.n_trace, 2);
    CHECK(strcmp(err.trace[0].name, "inner") == 0);
    CHECK(strcmp(err.trace[1].name, "outer") == 0);

    /* Fuel stops an endless loop. */
    rt->exec->fuel = 100000;
    CHECK(call("spin", NULL, 0, NULL, 0, &err) == WM_TRAP_INTERRUPTED);
    rt->exec->fuel = -1;
    rt->exec->interrupt = 1;
    CHECK(call("spin", NULL, 0, NULL, 0, &err) == WM_TRAP_INTERRUPTED);
    CHECK_EQ_INT(call_i32("sum", 1, 10, 0, 0), 45);

    wm_runtime_free(rt);
    return TEST_REPORT();
}
