/*
 * fuzz_decode.c — libFuzzer target over the whole load path:
 * wm_module_load (decode + validate + compile), wm_instantiate against a
 * spectest-like host module, then a call of every exported function with
 * zero-valued arguments. Build and run with `make fuzz FUZZ_SECONDS=600`
 * (clang -fsanitize=fuzzer,address,undefined).
 *
 * What it checks beyond "no crash, no sanitizer report":
 *  - the API's failure contract: a failed load leaves *out NULL and reports
 *    one of the load-time codes; a failed instantiation leaves *out NULL;
 *  - every status returned is a known one.
 * Contract violations abort (__builtin_trap) so libFuzzer records them.
 *
 * Bounded work per input: inputs < 8 bytes or > 256 KiB are rejected (as
 * wasm3's fuzzer does), the runtime gets a small stack (64 Ki slots, depth
 * 1000) and a 64 MiB memory cap, each call (and the start function) runs
 * with a fuel budget, and at most 16 exports are called.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasmind.h"
#include "wasm/interp.h"    /* interp_exec.fuel: the fuel budget */

#define FUZZ_MAX_INPUT   (256u << 10)
#define FUZZ_MAX_CALLS   16
#define FUZZ_FUEL        200000      /* ~branches + calls per call */

static wm_status host_nop(wm_call *c, uint64_t *s) {
    (void)c;
    (void)s;
    return WM_OK;
}

/* A host function that traps, to exercise trap unwinding through calls. */
static wm_status host_trap(wm_call *c, uint64_t *s) {
    (void)s;
    return wm_call_trap(c, "fuzz host trap");
}

/* The spectest module as the spec interpreter defines it, plus a trap. */
static wm_status define_host(wm_runtime *rt, wm_linker *lk, wm_error *err) {
    static const wm_host_func_def fns[] = {
        {"print", "()", host_nop},
        {"print_i32", "(i)", host_nop},
        {"print_i64", "(I)", host_nop},
        {"print_f32", "(f)", host_nop},
        {"print_f64", "(F)", host_nop},
        {"print_i32_f32", "(if)", host_nop},
        {"print_f64_f64", "(FF)", host_nop},
        {"trap", "()", host_trap},
    };
    wm_status st = wm_linker_define_host(lk, "spectest", fns,
                                         sizeof fns / sizeof fns[0], NULL,
                                         err);
    if (st) return st;
    wm_value gv[4] = {
        {.type = WM_I32, .of.i32 = 666},
        {.type = WM_I64, .of.i64 = 666},
        {.type = WM_F32, .of.f32 = 666.6f},
        {.type = WM_F64, .of.f64 = 666.6},
    };
    static const char *const gnames[4] = {"global_i32", "global_i64",
                                          "global_f32", "global_f64"};
    for (int i = 0; i < 4; i++) {
        wm_extern e = {.kind = WM_EXTERN_GLOBAL};
        e.of.global = wm_global_new(rt, gv[i], 0);
        if (!e.of.global) return WM_ERR_NOMEM;
        if ((st = wm_linker_define(lk, "spectest", gnames[i], e, err)))
            return st;
    }
    wm_extern t = {.kind = WM_EXTERN_TABLE};
    t.of.table = wm_table_new(rt, WM_FUNCREF, 10, 20, NULL);
    if (!t.of.table) return WM_ERR_NOMEM;
    if ((st = wm_linker_define(lk, "spectest", "table", t, err))) return st;
    wm_extern m = {.kind = WM_EXTERN_MEMORY};
    m.of.memory = wm_memory_new(rt, 1, 2);
    if (!m.of.memory) return WM_ERR_NOMEM;
    return wm_linker_define(lk, "spectest", "memory", m, err);
}

static void check_status(wm_status st) {
    if ((unsigned)st >= WM_STATUS_COUNT) __builtin_trap();
}

static void call_exports(wm_runtime *rt, const wm_module *mod,
                         wm_instance *inst) {
    uint32_t n_calls = 0;
    for (uint32_t i = 0; i < wm_module_n_exports(mod); i++) {
        wm_port p = wm_module_export(mod, i);
        if (p.kind != WM_EXTERN_FUNC) continue;
        if (n_calls++ >= FUZZ_MAX_CALLS) break;
        wm_extern ext;
        if (!wm_instance_export(inst, p.name, p.name_len, &ext) ||
            ext.kind != WM_EXTERN_FUNC)
            __builtin_trap();              /* a declared export is missing */
        wm_func *f = ext.of.func;
        uint32_t np = wm_func_n_params(f), nr = wm_func_n_results(f);
        wm_value *args = calloc(np ? np : 1, sizeof *args);
        wm_value *res = calloc(nr ? nr : 1, sizeof *res);
        if (!args || !res) {
            free(args);
            free(res);
            return;
        }
        for (uint32_t k = 0; k < np; k++) args[k].type = wm_func_param(f, k);
        wm_error err;
        rt->exec->fuel = FUZZ_FUEL;
        wm_status st = wm_func_call(f, args, np, res, nr, &err);
        check_status(st);
        if (st == WM_OK)
            for (uint32_t k = 0; k < nr; k++)
                if (res[k].type != wm_func_result(f, k)) __builtin_trap();
        free(args);
        free(res);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8 || size > FUZZ_MAX_INPUT) return -1;
    wm_config cfg = {
        .stack_slots = 1u << 16,
        .max_call_depth = 1000,
        .max_memory_bytes = (uint64_t)64 << 20,
    };
    wm_runtime *rt = wm_runtime_new(&cfg);
    if (!rt) return 0;
    wm_error err;
    wm_module *mod = (wm_module *)(uintptr_t)1;     /* must become NULL */
    wm_status st = wm_module_load(rt, data, size, "fuzz.wasm", &mod, &err);
    check_status(st);
    if (st != WM_OK) {
        if (mod != NULL) __builtin_trap();
        if (st != WM_ERR_MALFORMED && st != WM_ERR_INVALID &&
            st != WM_ERR_LIMIT && st != WM_ERR_NOMEM)
            __builtin_trap();
        if (err.code != st || !err.msg[0]) __builtin_trap();
        goto done;
    }
    wm_linker *lk = wm_linker_new(rt);
    if (!lk || define_host(rt, lk, &err) != WM_OK) goto done;
    wm_instance *inst = (wm_instance *)(uintptr_t)1;
    rt->exec->fuel = FUZZ_FUEL;
    st = wm_instantiate(lk, mod, &inst, &err);
    check_status(st);
    if (st != WM_OK) {
        if (inst != NULL) __builtin_trap();
        goto done;
    }
    call_exports(rt, mod, inst);
done:
    wm_runtime_free(rt);
    return 0;
}
