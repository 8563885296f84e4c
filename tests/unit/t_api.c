/*
 * t_api.c — the embedding API end to end: runtime, module loading and
 * introspection, the linker (host functions, registered instances,
 * replacement), instantiation per the spec (import type checks, globals
 * and constant expressions, element/data segments and their traps, the
 * start function), store objects, wm_func_call, and calls into Wasm code
 * with guard-page out-of-bounds traps.
 *
 * The test modules were written in the text format shown above each array
 * and converted once with wat2wasm.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wasm/store.h"

/*
 * (module
 *   (import "host" "add" (func $add (param i32 i32) (result i32)))
 *   (import "host" "mem" (memory 1 4))
 *   (import "host" "tab" (table 2 funcref))
 *   (import "host" "g" (global $g i32))
 *   (import "host" "gm" (global $gm (mut i64)))
 *   (func $f (param i32) (result i32) local.get 0)
 *   (func $h (result i32) i32.const 7)
 *   (table $own 3 10 funcref)
 *   (global $gf funcref (ref.func $f))
 *   (global $gi i32 (global.get $g))
 *   (global $gx (mut f64) (f64.const 2.5))
 *   (global $ge externref (ref.null extern))
 *   (elem (table $own) (i32.const 0) func $f $h $add)
 *   (elem (table 0) (global.get $g) funcref (ref.func $h))
 *   (elem declare func $h)
 *   (elem funcref (ref.func $f) (ref.null func))
 *   (data (memory 0) (i32.const 16) "hello")
 *   (data (memory 0) (global.get $g) "\01\02")
 *   (data "passive")
 *   (export "f" (func $f)) (export "h" (func $h)) (export "add" (func $add))
 *   (export "own" (table $own)) (export "tab" (table 0)) (export "mem" (memory 0))
 *   (export "gf" (global $gf)) (export "gi" (global $gi)) (export "gx" (global $gx))
 *   (export "gm" (global $gm)) (export "ge" (global $ge)))
 */
static const uint8_t w_a[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x10, 0x03, 0x60,
    0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00,
    0x01, 0x7f, 0x02, 0x3b, 0x05, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x03, 0x61,
    0x64, 0x64, 0x00, 0x00, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x03, 0x6d, 0x65,
    0x6d, 0x02, 0x01, 0x01, 0x04, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x03, 0x74,
    0x61, 0x62, 0x01, 0x70, 0x00, 0x02, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x01,
    0x67, 0x03, 0x7f, 0x00, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x02, 0x67, 0x6d,
    0x03, 0x7e, 0x01, 0x03, 0x03, 0x02, 0x01, 0x02, 0x04, 0x05, 0x01, 0x70,
    0x01, 0x03, 0x0a, 0x06, 0x1c, 0x04, 0x70, 0x00, 0xd2, 0x01, 0x0b, 0x7f,
    0x00, 0x23, 0x00, 0x0b, 0x7c, 0x01, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x04, 0x40, 0x0b, 0x6f, 0x00, 0xd0, 0x6f, 0x0b, 0x07, 0x3a, 0x0b,
    0x01, 0x66, 0x00, 0x01, 0x01, 0x68, 0x00, 0x02, 0x03, 0x61, 0x64, 0x64,
    0x00, 0x00, 0x03, 0x6f, 0x77, 0x6e, 0x01, 0x01, 0x03, 0x74, 0x61, 0x62,
    0x01, 0x00, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x02, 0x67, 0x66, 0x03,
    0x02, 0x02, 0x67, 0x69, 0x03, 0x03, 0x02, 0x67, 0x78, 0x03, 0x04, 0x02,
    0x67, 0x6d, 0x03, 0x01, 0x02, 0x67, 0x65, 0x03, 0x05, 0x09, 0x1e, 0x04,
    0x02, 0x01, 0x41, 0x00, 0x0b, 0x00, 0x03, 0x01, 0x02, 0x00, 0x00, 0x23,
    0x00, 0x0b, 0x01, 0x02, 0x03, 0x00, 0x01, 0x02, 0x05, 0x70, 0x02, 0xd2,
    0x01, 0x0b, 0xd0, 0x70, 0x0b, 0x0a, 0x0b, 0x02, 0x04, 0x00, 0x20, 0x00,
    0x0b, 0x04, 0x00, 0x41, 0x07, 0x0b, 0x0b, 0x1b, 0x03, 0x00, 0x41, 0x10,
    0x0b, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x23, 0x00, 0x0b, 0x02,
    0x01, 0x02, 0x01, 0x07, 0x70, 0x61, 0x73, 0x73, 0x69, 0x76, 0x65,
};

/*
 * (module
 *   (import "A" "f" (func (param i32) (result i32)))
 *   (import "A" "gx" (global (mut f64)))
 *   (import "A" "mem" (memory 1))
 *   (import "A" "own" (table 3 funcref))
 *   (data (i32.const 32) "\ff")
 *   (export "f2" (func 0)))
 */
static const uint8_t w_b[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60,
    0x01, 0x7f, 0x01, 0x7f, 0x02, 0x22, 0x04, 0x01, 0x41, 0x01, 0x66, 0x00,
    0x00, 0x01, 0x41, 0x02, 0x67, 0x78, 0x03, 0x7c, 0x01, 0x01, 0x41, 0x03,
    0x6d, 0x65, 0x6d, 0x02, 0x00, 0x01, 0x01, 0x41, 0x03, 0x6f, 0x77, 0x6e,
    0x01, 0x70, 0x00, 0x03, 0x07, 0x06, 0x01, 0x02, 0x66, 0x32, 0x00, 0x00,
    0x0b, 0x07, 0x01, 0x00, 0x41, 0x20, 0x0b, 0x01, 0xff,
};

/*
 * (module
 *   (memory (export "m") 2 3)
 *   (table (export "t") 1 funcref)
 *   (data (i32.const 65536) "\ff"))
 */
static const uint8_t w_c[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x04, 0x04, 0x01, 0x70,
    0x00, 0x01, 0x05, 0x04, 0x01, 0x01, 0x02, 0x03, 0x07, 0x09, 0x02, 0x01,
    0x6d, 0x02, 0x00, 0x01, 0x74, 0x01, 0x00, 0x0b, 0x09, 0x01, 0x00, 0x41,
    0x80, 0x80, 0x04, 0x0b, 0x01, 0xff,
};

/*
 * (module
 *   (import "host" "mem" (memory 1))
 *   (data (i32.const 0) "ok")
 *   (data (i32.const 65535) "xx"))
 */
static const uint8_t w_data_oob[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0d, 0x01, 0x04,
    0x68, 0x6f, 0x73, 0x74, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x01, 0x0b,
    0x11, 0x02, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x6f, 0x6b, 0x00, 0x41, 0xff,
    0xff, 0x03, 0x0b, 0x02, 0x78, 0x78,
};

/*
 * (module
 *   (import "host" "tab" (table 2 funcref))
 *   (func $f)
 *   (elem (i32.const 0) $f)
 *   (elem (i32.const 2) $f))
 */
static const uint8_t w_elem_oob[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
    0x00, 0x00, 0x02, 0x0e, 0x01, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x03, 0x74,
    0x61, 0x62, 0x01, 0x70, 0x00, 0x02, 0x03, 0x02, 0x01, 0x00, 0x09, 0x0d,
    0x02, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x00, 0x00, 0x41, 0x02, 0x0b, 0x01,
    0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
};

/*
 * (module
 *   (import "host" "cb" (func $cb))
 *   (start $cb))
 */
static const uint8_t w_start[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
    0x00, 0x00, 0x02, 0x0b, 0x01, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x02, 0x63,
    0x62, 0x00, 0x00, 0x08, 0x01, 0x00,
};

/*
 * (module (import "host" "add" (func (param i64))))
 */
static const uint8_t w_bad_func[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
    0x01, 0x7e, 0x00, 0x02, 0x0c, 0x01, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x03,
    0x61, 0x64, 0x64, 0x00, 0x00,
};

/*
 * (module (import "host" "mem" (memory 1 2)))
 */
static const uint8_t w_bad_memmax[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0e, 0x01, 0x04,
    0x68, 0x6f, 0x73, 0x74, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x01, 0x01, 0x02,
};

/*
 * (module (import "host" "mem" (memory 2)))
 */
static const uint8_t w_bad_memmin[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0d, 0x01, 0x04,
    0x68, 0x6f, 0x73, 0x74, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x02,
};

/*
 * (module (import "host" "gm" (global i64)))
 */
static const uint8_t w_bad_mut[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0c, 0x01, 0x04,
    0x68, 0x6f, 0x73, 0x74, 0x02, 0x67, 0x6d, 0x03, 0x7e, 0x00,
};

/*
 * (module (import "host" "nope" (func)))
 */
static const uint8_t w_bad_unknown[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
    0x00, 0x00, 0x02, 0x0d, 0x01, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x04, 0x6e,
    0x6f, 0x70, 0x65, 0x00, 0x00,
};

/*
 * (module (import "host" "tab" (table 2 externref)))
 */
static const uint8_t w_bad_tabtype[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0e, 0x01, 0x04,
    0x68, 0x6f, 0x73, 0x74, 0x03, 0x74, 0x61, 0x62, 0x01, 0x6f, 0x00, 0x02,
};

/*
 * (module (import "host" "g" (func)))
 */
static const uint8_t w_bad_kind[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
    0x00, 0x00, 0x02, 0x0a, 0x01, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x01, 0x67,
    0x00, 0x00,
};

/*
 * (module
 *   (import "host" "add" (func $add (param i32 i32) (result i32)))
 *   (memory (export "mem") 1 2)
 *   (func (export "ld") (param i32) (result i32) local.get 0 i32.load)
 *   (func (export "ld_off") (param i32) (result i32) local.get 0 i32.load offset=0xffffffff)
 *   (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
 *   (func (export "call_add") (param i32 i32) (result i32) local.get 0 local.get 1 call $add)
 *   (func $fib (export "fib") (param i32) (result i32)
 *     local.get 0 i32.const 2 i32.lt_u
 *     if (result i32) local.get 0
 *     else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add end))
 */
static const uint8_t w_run[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x02, 0x60,
    0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x02, 0x0c,
    0x01, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00,
    0x03, 0x06, 0x05, 0x01, 0x01, 0x01, 0x00, 0x01, 0x05, 0x04, 0x01, 0x01,
    0x01, 0x02, 0x07, 0x2d, 0x06, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x02,
    0x6c, 0x64, 0x00, 0x01, 0x06, 0x6c, 0x64, 0x5f, 0x6f, 0x66, 0x66, 0x00,
    0x02, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x03, 0x08, 0x63, 0x61, 0x6c,
    0x6c, 0x5f, 0x61, 0x64, 0x64, 0x00, 0x04, 0x03, 0x66, 0x69, 0x62, 0x00,
    0x05, 0x0a, 0x42, 0x05, 0x07, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0b,
    0x0b, 0x00, 0x20, 0x00, 0x28, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0b,
    0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b, 0x08, 0x00, 0x20, 0x00, 0x20,
    0x01, 0x10, 0x00, 0x0b, 0x1c, 0x00, 0x20, 0x00, 0x41, 0x02, 0x49, 0x04,
    0x7f, 0x20, 0x00, 0x05, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x05, 0x20,
    0x00, 0x41, 0x02, 0x6b, 0x10, 0x05, 0x6a, 0x0b, 0x0b,
};
/*
 * (module
 *   (import "host" "re" (func $re (param i32) (result i32)))
 *   (memory 1)
 *   (func (export "ld") (param i32) (result i32) local.get 0 i32.load)
 *   (func (export "outer") (param i32) (result i32)
 *     local.get 0 call $re i32.const 1000 i32.add))
 */
static const uint8_t w_reenter[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60,
    0x01, 0x7f, 0x01, 0x7f, 0x02, 0x0b, 0x01, 0x04, 0x68, 0x6f, 0x73, 0x74,
    0x02, 0x72, 0x65, 0x00, 0x00, 0x03, 0x03, 0x02, 0x00, 0x00, 0x05, 0x03,
    0x01, 0x00, 0x01, 0x07, 0x0e, 0x02, 0x02, 0x6c, 0x64, 0x00, 0x01, 0x05,
    0x6f, 0x75, 0x74, 0x65, 0x72, 0x00, 0x02, 0x0a, 0x14, 0x02, 0x07, 0x00,
    0x20, 0x00, 0x28, 0x02, 0x00, 0x0b, 0x0a, 0x00, 0x20, 0x00, 0x10, 0x00,
    0x41, 0xe8, 0x07, 0x6a, 0x0b,
};


/* ==== Host functions ==================================================== */

static wm_status h_add(wm_call *call, uint64_t *s) {
    (void)call;
    s[0] = (uint32_t)((uint32_t)s[0] + (uint32_t)s[1]);
    return WM_OK;
}

static wm_status h_cb(wm_call *call, uint64_t *s) {
    (void)s;
    int *count = wm_call_userdata(call);
    (*count)++;
    return WM_OK;
}

static wm_status h_trap(wm_call *call, uint64_t *s) {
    (void)s;
    return wm_call_trap(call, "boom");
}

static wm_status h_exit(wm_call *call, uint64_t *s) {
    (void)s;
    return wm_call_exit(call, 3);
}

static wm_status h_mix(wm_call *call, uint64_t *s) {
    (void)call;
    /* (iIfF)F: returns i + I + f + F as f64 */
    float f;
    double d;
    uint32_t fb = (uint32_t)s[2];
    memcpy(&f, &fb, 4);
    memcpy(&d, &s[3], 8);
    double r = (double)(int32_t)s[0] + (double)(int64_t)s[1] + f + d;
    memcpy(&s[0], &r, 8);
    return WM_OK;
}

static int n_fini;
static void count_fini(void *p) { (void)p; n_fini++; }

static wm_value vi32(int32_t x) {
    wm_value v = {.type = WM_I32};
    v.of.i32 = x;
    return v;
}

static wm_module *load(wm_runtime *rt, const uint8_t *b, size_t n,
                       const char *name) {
    wm_module *m = NULL;
    wm_error err;
    wm_status st = wm_module_load(rt, b, n, name, &m, &err);
    if (st) {
        char buf[512];
        fprintf(stderr, "load %s: %s\n", name,
                wm_error_format(&err, buf, sizeof buf));
    }
    CHECK_EQ_INT(st, WM_OK);
    return m;
}
#define LOAD(rt, arr) load(rt, arr, sizeof arr, #arr)

static int starts_with(const char *s, const char *p) {
    return strncmp(s, p, strlen(p)) == 0;
}

/* ==== Tests ============================================================= */

static void test_runtime(void) {
    wm_runtime *rt = wm_runtime_new(NULL);
    CHECK(rt != NULL);
    CHECK_EQ_INT(rt->cfg.stack_slots, 1u << 20);
    CHECK_EQ_INT(rt->cfg.max_call_depth, 100000);
    CHECK_EQ_INT(rt->cfg.max_memory_bytes, (uint64_t)1 << 32);
    /* rt_object_new: zeroed, fini called once by wm_runtime_free. */
    n_fini = 0;
    int *a = rt_object_new(rt, 64, count_fini);
    CHECK(a != NULL && a[0] == 0 && a[15] == 0);
    int *b = rt_object_new(rt, 8, count_fini);
    rt_object_free(b);
    CHECK_EQ_INT(n_fini, 1);
    /* Type interning. */
    uint8_t ii[] = {VT_I32, VT_I32}, i[] = {VT_I32}, I[] = {VT_I64};
    uint32_t t1 = rt_intern_type(rt, ii, 2, i, 1);
    uint32_t t2 = rt_intern_type(rt, ii, 1, ii, 2);
    uint32_t t3 = rt_intern_type(rt, ii, 2, i, 1);
    uint32_t t4 = rt_intern_type(rt, NULL, 0, NULL, 0);
    uint32_t t5 = rt_intern_type(rt, I, 1, NULL, 0);
    CHECK(t1 == t3 && t1 != t2 && t4 != t1 && t4 != t2 && t5 != t4);
    CHECK_EQ_INT(rt_intern_type(rt, NULL, 0, NULL, 0), t4);
    /* Many types: the table grows and ids stay stable. */
    uint8_t many[8];
    uint32_t first = 0, ok = 1;
    for (uint32_t k = 0; k < 3000; k++) {
        for (int j = 0; j < 8; j++)
            many[j] = (k >> j & 1) ? VT_I64 : VT_F32;
        uint32_t id = rt_intern_type(rt, many, 8, many, k % 3);
        if (k == 0) first = id;
        ok &= id != UINT32_MAX;
    }
    many[0] = VT_F32;
    for (int j = 1; j < 8; j++) many[j] = VT_F32;
    CHECK(ok);
    CHECK_EQ_INT(rt_intern_type(rt, many, 8, many, 0), first);
    CHECK_EQ_INT(rt_intern_type(rt, ii, 2, i, 1), t1);
    wm_runtime_free(rt);
    CHECK_EQ_INT(n_fini, 2);
    wm_runtime_free(NULL);

    wm_config cfg = {.stack_slots = 4096, .max_call_depth = 50,
                     .max_memory_bytes = (uint64_t)1 << 40};
    rt = wm_runtime_new(&cfg);
    CHECK(rt != NULL);
    CHECK_EQ_INT(rt->cfg.stack_slots, 4096);
    CHECK_EQ_INT(rt->cfg.max_call_depth, 50);
    CHECK_EQ_INT(rt->cfg.max_memory_bytes, (uint64_t)1 << 32);
    wm_runtime_free(rt);
}

static void test_load_errors(void) {
    wm_runtime *rt = wm_runtime_new(NULL);
    wm_module *m = (wm_module *)1;
    wm_error err;
    static const uint8_t bad_magic[] = {0, 'a', 's', 'n', 1, 0, 0, 0};
    wm_status st = wm_module_load(rt, bad_magic, sizeof bad_magic,
                                  "bad.wasm", &m, &err);
    CHECK_EQ_INT(st, WM_ERR_MALFORMED);
    CHECK(m == NULL);
    CHECK(strcmp(err.where, "bad.wasm") == 0);
    CHECK(starts_with(err.msg, "magic header not detected"));
    m = (wm_module *)1;
    st = wm_module_load(rt, w_a, 20, "cut.wasm", &m, &err);
    CHECK_EQ_INT(st, WM_ERR_MALFORMED);
    CHECK(m == NULL);
    CHECK(strcmp(err.where, "cut.wasm") == 0);
    /* Empty input, NULL name, NULL err: still no crash. */
    st = wm_module_load(rt, NULL, 0, NULL, &m, NULL);
    CHECK_EQ_INT(st, WM_ERR_MALFORMED);
    CHECK_EQ_INT(wm_module_load(NULL, w_a, sizeof w_a, "x", &m, &err),
                 WM_ERR_ARG);
    CHECK_EQ_INT(wm_module_load(rt, w_a, sizeof w_a, "x", NULL, &err),
                 WM_ERR_ARG);
    CHECK(rt->objects == NULL);                 /* nothing left behind */
    wm_runtime_free(rt);
}

static void test_store_objects(wm_runtime *rt) {
    /* Tables. */
    CHECK(wm_table_new(rt, WM_I32, 1, 2, NULL) == NULL);
    CHECK(wm_table_new(rt, WM_FUNCREF, 3, 2, NULL) == NULL);
    int host_obj;
    wm_table *t = wm_table_new(rt, WM_EXTERNREF, 2, 5, &host_obj);
    CHECK(t != NULL);
    void *p = NULL;
    CHECK_EQ_INT(wm_table_size(t), 2);
    CHECK_EQ_INT(wm_table_get(t, 1, &p), WM_OK);
    CHECK(p == &host_obj);
    CHECK_EQ_INT(wm_table_get(t, 2, &p), WM_TRAP_OOB_TABLE);
    CHECK_EQ_INT(table_grow(t, 0, NULL), 2);
    CHECK_EQ_INT(table_grow(t, 4, NULL), -1);
    CHECK_EQ_INT(table_grow(t, 3, NULL), 2);
    CHECK_EQ_INT(wm_table_size(t), 5);
    CHECK_EQ_INT(wm_table_get(t, 4, &p), WM_OK);
    CHECK(p == NULL);
    CHECK_EQ_INT(table_grow(t, UINT32_MAX, NULL), -1);
    wm_table *u = wm_table_new(rt, WM_FUNCREF, 0, UINT32_MAX, NULL);
    CHECK_EQ_INT(table_grow(u, 0xfffffff0u, NULL), -1);   /* too big */
    CHECK_EQ_INT(table_grow(u, 800, NULL), 0);
    CHECK_EQ_INT(wm_table_size(u), 800);

    /* Globals. */
    wm_value v = {.type = WM_F32};
    v.of.f32_bits = 0x7fc00001u;                 /* NaN payload survives */
    wm_global *g = wm_global_new(rt, v, 1);
    CHECK(g != NULL);
    CHECK_EQ_INT(wm_global_get(g).type, WM_F32);
    CHECK_EQ_INT(wm_global_get(g).of.f32_bits, 0x7fc00001u);
    CHECK_EQ_INT(wm_global_set(g, vi32(1)), WM_ERR_ARG);   /* type */
    v.of.f32_bits = 0x3f800000u;
    CHECK_EQ_INT(wm_global_set(g, v), WM_OK);
    CHECK_EQ_INT(wm_global_get(g).of.f32_bits, 0x3f800000u);
    wm_global *c = wm_global_new(rt, vi32(-7), 0);
    CHECK_EQ_INT(wm_global_get(c).of.i32, -7);
    CHECK_EQ_INT(wm_global_set(c, vi32(1)), WM_ERR_ARG);   /* immutable */
    wm_value bad = {.type = (wm_valtype)0x42};
    CHECK(wm_global_new(rt, bad, 0) == NULL);

    /* Host functions and signatures. */
    CHECK(wm_func_new_host(rt, "ii)i", h_add, NULL) == NULL);
    CHECK(wm_func_new_host(rt, "(x)", h_add, NULL) == NULL);
    CHECK(wm_func_new_host(rt, "(i", h_add, NULL) == NULL);
    CHECK(wm_func_new_host(rt, "(i)q", h_add, NULL) == NULL);
    CHECK(wm_func_new_host(rt, NULL, h_add, NULL) == NULL);
    CHECK(wm_func_new_host(rt, "()", NULL, NULL) == NULL);
    wm_func *f = wm_func_new_host(rt, "(iIfFre)iF", h_add, NULL);
    CHECK(f != NULL);
    CHECK_EQ_INT(wm_func_n_params(f), 6);
    CHECK_EQ_INT(wm_func_n_results(f), 2);
    CHECK_EQ_INT(wm_func_param(f, 0), WM_I32);
    CHECK_EQ_INT(wm_func_param(f, 1), WM_I64);
    CHECK_EQ_INT(wm_func_param(f, 2), WM_F32);
    CHECK_EQ_INT(wm_func_param(f, 3), WM_F64);
    CHECK_EQ_INT(wm_func_param(f, 4), WM_FUNCREF);
    CHECK_EQ_INT(wm_func_param(f, 5), WM_EXTERNREF);
    CHECK_EQ_INT(wm_func_param(f, 6), 0);
    CHECK_EQ_INT(wm_func_result(f, 1), WM_F64);
    wm_func *f2 = wm_func_new_host(rt, "(iIfFre)iF", h_trap, NULL);
    CHECK_EQ_INT(f->type_id, f2->type_id);
    wm_func *e = wm_func_new_host(rt, "()", h_exit, NULL);
    CHECK_EQ_INT(wm_func_n_params(e), 0);
    CHECK_EQ_INT(wm_func_n_results(e), 0);
}

static void test_calls_host(wm_runtime *rt) {
    wm_error err;
    wm_func *add = wm_func_new_host(rt, "(ii)i", h_add, NULL);
    wm_value args[2] = {vi32(40), vi32(2)}, res[1];
    CHECK_EQ_INT(wm_func_call(add, args, 2, res, 1, &err), WM_OK);
    CHECK_EQ_INT(res[0].type, WM_I32);
    CHECK_EQ_INT(res[0].of.i32, 42);
    args[0] = vi32(-1);
    args[1] = vi32(1);
    CHECK_EQ_INT(wm_func_call(add, args, 2, res, 1, NULL), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, 0);
    /* Arity and types are checked before anything runs. */
    CHECK_EQ_INT(wm_func_call(add, args, 1, res, 1, &err), WM_ERR_ARG);
    CHECK_EQ_INT(wm_func_call(add, args, 2, res, 0, &err), WM_ERR_ARG);
    CHECK_EQ_INT(wm_func_call(add, NULL, 2, res, 1, &err), WM_ERR_ARG);
    CHECK_EQ_INT(wm_func_call(NULL, args, 2, res, 1, &err), WM_ERR_ARG);
    args[1].type = WM_I64;
    CHECK_EQ_INT(wm_func_call(add, args, 2, res, 1, &err), WM_ERR_ARG);
    CHECK(starts_with(err.msg, "invalid argument"));

    wm_func *mix = wm_func_new_host(rt, "(iIfF)F", h_mix, NULL);
    wm_value ma[4] = {{.type = WM_I32}, {.type = WM_I64}, {.type = WM_F32},
                      {.type = WM_F64}};
    ma[0].of.i32 = -3;
    ma[1].of.i64 = (int64_t)1 << 40;
    ma[2].of.f32 = 0.5f;
    ma[3].of.f64 = 0.25;
    CHECK_EQ_INT(wm_func_call(mix, ma, 4, res, 1, &err), WM_OK);
    CHECK_EQ_INT(res[0].type, WM_F64);
    CHECK(res[0].of.f64 == -3.0 + 1099511627776.0 + 0.75);

    wm_func *tr = wm_func_new_host(rt, "()", h_trap, NULL);
    wm_status st = wm_func_call(tr, NULL, 0, NULL, 0, &err);
    CHECK_EQ_INT(st, WM_TRAP_HOST);
    CHECK_EQ_INT(err.code, WM_TRAP_HOST);
    CHECK(strstr(err.msg, "boom") != NULL);
    wm_func *ex = wm_func_new_host(rt, "()", h_exit, NULL);
    st = wm_func_call(ex, NULL, 0, NULL, 0, &err);
    CHECK_EQ_INT(st, WM_EXIT);
    CHECK_EQ_INT(err.exit_code, 3);
    CHECK(rt->trap_jmp == NULL);

    /* Many arguments: slots beyond the inline buffer. */
    char sig[64] = "(";
    for (int k = 0; k < 40; k++) strcat(sig, "i");
    strcat(sig, ")i");
    wm_func *wide = wm_func_new_host(rt, sig, h_add, NULL);
    wm_value wa[40];
    for (int k = 0; k < 40; k++) wa[k] = vi32(k + 1);
    CHECK_EQ_INT(wm_func_call(wide, wa, 40, res, 1, &err), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, 3);
}

/* The linker used by the instantiation tests and the objects behind it. */
typedef struct host_env {
    wm_linker *lk;
    wm_memory *mem;
    wm_table *tab;
    wm_global *g, *gm;
    int starts;
} host_env;

static void env_init(wm_runtime *rt, host_env *env) {
    wm_error err;
    memset(env, 0, sizeof *env);
    env->lk = wm_linker_new(rt);
    CHECK(env->lk != NULL);
    const wm_host_func_def defs[] = {
        {"add", "(ii)i", h_add},
        {"cb", "()", h_cb},
        {"trap", "()", h_trap},
        {"exit", "()", h_exit},
    };
    CHECK_EQ_INT(wm_linker_define_host(env->lk, "host", defs, 4,
                                       &env->starts, &err), WM_OK);
    const wm_host_func_def bad[] = {{"bad", "(z)", h_add}};
    CHECK_EQ_INT(wm_linker_define_host(env->lk, "host", bad, 1, NULL, &err),
                 WM_ERR_ARG);
    /* Filler definitions: the linker's table grows past many rehashes
     * and the real definitions below must still be found. */
    wm_func *filler = wm_func_new_host(rt, "()", h_cb, NULL);
    for (int k = 0; k < 3000; k++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", k);
        wm_extern fe = {.kind = WM_EXTERN_FUNC, .of.func = filler};
        if (wm_linker_define(env->lk, k % 2 ? "host" : "other", name, fe,
                             &err))
            CHECK(0);
    }
    env->mem = wm_memory_new(rt, 1, 4);
    env->tab = wm_table_new(rt, WM_FUNCREF, 2, UINT32_MAX, NULL);
    env->g = wm_global_new(rt, vi32(99), 0);
    wm_value v = {.type = WM_I64};
    v.of.i64 = -5;
    env->gm = wm_global_new(rt, v, 1);
    wm_extern e = {.kind = WM_EXTERN_MEMORY, .of.memory = env->mem};
    CHECK_EQ_INT(wm_linker_define(env->lk, "host", "mem", e, &err), WM_OK);
    e = (wm_extern){.kind = WM_EXTERN_TABLE, .of.table = env->tab};
    CHECK_EQ_INT(wm_linker_define(env->lk, "host", "tab", e, &err), WM_OK);
    e = (wm_extern){.kind = WM_EXTERN_GLOBAL, .of.global = env->g};
    CHECK_EQ_INT(wm_linker_define(env->lk, "host", "g", e, &err), WM_OK);
    /* A later definition replaces an earlier one: g becomes 1. */
    e.of.global = wm_global_new(rt, vi32(1), 0);
    env->g = e.of.global;
    CHECK_EQ_INT(wm_linker_define(env->lk, "host", "g", e, &err), WM_OK);
    e = (wm_extern){.kind = WM_EXTERN_GLOBAL, .of.global = env->gm};
    CHECK_EQ_INT(wm_linker_define(env->lk, "host", "gm", e, &err), WM_OK);
    e = (wm_extern){.kind = WM_EXTERN_GLOBAL, .of.global = NULL};
    CHECK_EQ_INT(wm_linker_define(env->lk, "host", "x", e, &err),
                 WM_ERR_ARG);
}

static void test_instantiate(wm_runtime *rt) {
    host_env env;
    env_init(rt, &env);
    wm_error err;
    wm_module *ma = LOAD(rt, w_a);
    if (!ma) return;

    /* Introspection. */
    CHECK_EQ_INT(wm_module_n_imports(ma), 5);
    CHECK_EQ_INT(wm_module_n_exports(ma), 11);
    wm_port p = wm_module_import(ma, 1);
    CHECK(p.module_len == 4 && !memcmp(p.module, "host", 4));
    CHECK(p.name_len == 3 && !memcmp(p.name, "mem", 3));
    CHECK_EQ_INT(p.kind, WM_EXTERN_MEMORY);
    p = wm_module_export(ma, 3);
    CHECK(p.name_len == 3 && !memcmp(p.name, "own", 3));
    CHECK_EQ_INT(p.kind, WM_EXTERN_TABLE);
    CHECK(p.module == NULL);
    p = wm_module_export(ma, 11);
    CHECK(p.name == NULL);

    wm_instance *ia = NULL;
    wm_status st = wm_instantiate(env.lk, ma, &ia, &err);
    if (st) {
        char buf[512];
        fprintf(stderr, "%s\n", wm_error_format(&err, buf, sizeof buf));
    }
    CHECK_EQ_INT(st, WM_OK);
    if (!ia) return;
    uint8_t *mem = wm_memory_data(env.mem);
    CHECK(memcmp(mem + 16, "hello", 5) == 0);
    CHECK(mem[1] == 1 && mem[2] == 2 && mem[0] == 0 && mem[3] == 0);
    CHECK(wm_instance_memory(ia) == env.mem);

    wm_func *f = wm_instance_func(ia, "f"), *h = wm_instance_func(ia, "h");
    wm_func *add = wm_instance_func(ia, "add");
    CHECK(f && h && add && f != h);
    CHECK(wm_instance_func(ia, "own") == NULL);     /* not a function */
    CHECK(wm_instance_func(ia, "nope") == NULL);
    CHECK_EQ_INT(wm_func_n_params(f), 1);
    CHECK_EQ_INT(wm_func_n_results(h), 1);
    CHECK(add->host == h_add);                      /* re-exported import */

    wm_extern e;
    CHECK(wm_instance_export(ia, "own", 3, &e));
    CHECK_EQ_INT(e.kind, WM_EXTERN_TABLE);
    wm_table *own = e.of.table;
    void *r = NULL;
    CHECK_EQ_INT(wm_table_size(own), 3);
    wm_table_get(own, 0, &r);
    CHECK(r == f);
    wm_table_get(own, 1, &r);
    CHECK(r == h);
    wm_table_get(own, 2, &r);
    CHECK(r == add);
    CHECK(wm_instance_export(ia, "tab", 3, &e) && e.of.table == env.tab);
    wm_table_get(env.tab, 1, &r);
    CHECK(r == h);                                  /* offset global.get */
    wm_table_get(env.tab, 0, &r);
    CHECK(r == NULL);

    CHECK(wm_instance_export(ia, "gf", 2, &e));
    CHECK_EQ_INT(e.kind, WM_EXTERN_GLOBAL);
    CHECK_EQ_INT(wm_global_get(e.of.global).type, WM_FUNCREF);
    CHECK(wm_global_get(e.of.global).of.ref == f);
    CHECK(wm_instance_export(ia, "gi", 2, &e));
    CHECK_EQ_INT(wm_global_get(e.of.global).of.i32, 1);
    CHECK_EQ_INT(wm_global_set(e.of.global, vi32(5)), WM_ERR_ARG);
    CHECK(wm_instance_export(ia, "gx", 2, &e));
    CHECK(wm_global_get(e.of.global).of.f64 == 2.5);
    wm_global *gx = e.of.global;
    CHECK(wm_instance_export(ia, "gm", 2, &e) && e.of.global == env.gm);
    CHECK(wm_instance_export(ia, "ge", 2, &e));
    CHECK_EQ_INT(wm_global_get(e.of.global).type, WM_EXTERNREF);
    CHECK(wm_global_get(e.of.global).of.ref == NULL);
    CHECK(!wm_instance_export(ia, "g", 1, &e));
    CHECK(!wm_instance_export(ia, "gxx", 3, &e));

    /* Dropped segments: active and declarative yes, passive no. */
    CHECK(ia->elem_dropped[0] && ia->elem_dropped[1] && ia->elem_dropped[2]);
    CHECK(!ia->elem_dropped[3]);
    CHECK(ia->data_dropped[0] && ia->data_dropped[1] && !ia->data_dropped[2]);
    /* table.init from the passive segment (as the interpreter does it). */
    wm_table_get(own, 1, &r);
    CHECK_EQ_INT(inst_table_init(ia, 1, 3, 1, 0, 2, &err), WM_OK);
    wm_table_get(own, 1, &r);
    CHECK(r == f);
    wm_table_get(own, 2, &r);
    CHECK(r == NULL);
    CHECK_EQ_INT(inst_table_init(ia, 1, 3, 2, 1, 2, &err),
                 WM_TRAP_OOB_TABLE);
    CHECK_EQ_INT(inst_table_init(ia, 1, 0, 0, 0, 1, &err),
                 WM_TRAP_OOB_TABLE);              /* dropped: length 0 */
    CHECK_EQ_INT(inst_table_init(ia, 1, 0, 3, 0, 0, &err), WM_OK);
    CHECK_EQ_INT(inst_memory_init(ia, 2, 100, 1, 6, &err), WM_OK);
    CHECK(memcmp(mem + 100, "assive", 6) == 0);
    CHECK_EQ_INT(inst_memory_init(ia, 2, 65530, 0, 7, &err),
                 WM_TRAP_OOB_MEMORY);
    CHECK(starts_with(err.msg, "out of bounds memory access"));
    CHECK_EQ_INT(inst_memory_init(ia, 0, 0, 0, 1, &err),
                 WM_TRAP_OOB_MEMORY);

    /* Register A and link B against it. */
    CHECK_EQ_INT(wm_linker_define_instance(env.lk, "A", ia, &err), WM_OK);
    wm_module *mb = LOAD(rt, w_b);
    wm_instance *ib = NULL;
    CHECK_EQ_INT(wm_instantiate(env.lk, mb, &ib, &err), WM_OK);
    CHECK(ib != NULL);
    CHECK(wm_instance_func(ib, "f2") == f);
    CHECK(ib && ib->globals[0] == gx);
    CHECK_EQ_INT(mem[32], 0xff);

    /* A module with its own memory and table; freed early. */
    wm_module *mc = LOAD(rt, w_c);
    wm_instance *ic = NULL;
    CHECK_EQ_INT(wm_instantiate(env.lk, mc, &ic, &err), WM_OK);
    wm_memory *cm = wm_instance_memory(ic);
    CHECK(cm != NULL && cm != env.mem);
    CHECK_EQ_INT(wm_memory_size(cm), 2 * WASM_PAGE_SIZE);
    CHECK_EQ_INT(wm_memory_data(cm)[65536], 0xff);
    CHECK_EQ_INT(cm->max_pages, 3);
    CHECK(wm_instance_export(ic, "m", 1, &e) && e.of.memory == cm);
    /* Two instances of one module are independent. */
    wm_instance *ic2 = NULL;
    CHECK_EQ_INT(wm_instantiate(env.lk, mc, &ic2, &err), WM_OK);
    CHECK(wm_instance_memory(ic2) != cm);
    wm_instance_free(ic);
    wm_instance_free(ic2);
    wm_module_free(mc);
    wm_instance_free(NULL);
    wm_module_free(NULL);
}

static void test_instantiate_failures(wm_runtime *rt) {
    host_env env;
    env_init(rt, &env);
    wm_error err;
    wm_instance *inst = (wm_instance *)1;
    uint8_t *mem = wm_memory_data(env.mem);

    /* A data segment out of bounds traps; the earlier one stays. */
    wm_module *m = LOAD(rt, w_data_oob);
    CHECK_EQ_INT(wm_instantiate(env.lk, m, &inst, &err), WM_TRAP_OOB_MEMORY);
    CHECK(inst == NULL);
    CHECK(starts_with(err.msg, "out of bounds memory access"));
    CHECK(strcmp(err.where, "w_data_oob") == 0);
    CHECK(memcmp(mem, "ok", 2) == 0);
    CHECK(mem[65535] == 0);

    /* The same for tables: the element written before the trap refers
     * to the failed instance's function, which stays alive. */
    m = LOAD(rt, w_elem_oob);
    inst = (wm_instance *)1;
    CHECK_EQ_INT(wm_instantiate(env.lk, m, &inst, &err), WM_TRAP_OOB_TABLE);
    CHECK(inst == NULL);
    CHECK(starts_with(err.msg, "out of bounds table access"));
    void *r = NULL;
    wm_table_get(env.tab, 0, &r);
    CHECK(r != NULL);
    CHECK(r && ((wm_func *)r)->inst != NULL &&
          ((wm_func *)r)->inst->mod == &m->m);

    /* Start function (here a host import) runs once, after segments. */
    m = LOAD(rt, w_start);
    CHECK_EQ_INT(wm_instantiate(env.lk, m, &inst, &err), WM_OK);
    CHECK_EQ_INT(env.starts, 1);
    CHECK_EQ_INT(wm_instantiate(env.lk, m, &inst, &err), WM_OK);
    CHECK_EQ_INT(env.starts, 2);

    /* Import resolution and type checks. */
    struct { const uint8_t *b; size_t n; const char *msg; } cases[] = {
        {w_bad_unknown, sizeof w_bad_unknown, "unknown import"},
        {w_bad_func, sizeof w_bad_func, "incompatible import type"},
        {w_bad_memmax, sizeof w_bad_memmax, "incompatible import type"},
        {w_bad_memmin, sizeof w_bad_memmin, "incompatible import type"},
        {w_bad_mut, sizeof w_bad_mut, "incompatible import type"},
        {w_bad_tabtype, sizeof w_bad_tabtype, "incompatible import type"},
        {w_bad_kind, sizeof w_bad_kind, "incompatible import type"},
    };
    for (size_t k = 0; k < WM_ARRAY_LEN(cases); k++) {
        m = load(rt, cases[k].b, cases[k].n, "bad.wasm");
        if (!m) continue;
        inst = (wm_instance *)1;
        wm_status st = wm_instantiate(env.lk, m, &inst, &err);
        CHECK_EQ_INT(st, WM_ERR_UNLINKABLE);
        CHECK(inst == NULL);
        if (!starts_with(err.msg, cases[k].msg))
            fprintf(stderr, "case %zu: %s\n", k, err.msg);
        CHECK(starts_with(err.msg, cases[k].msg));
        CHECK(strcmp(err.where, "bad.wasm") == 0);
        CHECK(err.byte_off > 0);
        wm_module_free(m);
    }
    /* Limits subtyping: a memory with max 4 does not satisfy max 2, but
     * an unbounded table satisfies an import without max. */
    wm_linker *lk2 = wm_linker_new(rt);
    wm_extern e = {.kind = WM_EXTERN_MEMORY,
                   .of.memory = wm_memory_new(rt, 1, 2)};
    CHECK_EQ_INT(wm_linker_define(lk2, "host", "mem", e, &err), WM_OK);
    m = LOAD(rt, w_bad_memmax);
    CHECK_EQ_INT(wm_instantiate(lk2, m, &inst, &err), WM_OK);
    wm_linker_free(lk2);

    /* Resource limit: a module memory above the runtime's cap. */
    wm_config cfg = {.max_memory_bytes = WASM_PAGE_SIZE};
    wm_runtime *small = wm_runtime_new(&cfg);
    m = LOAD(small, w_c);
    wm_linker *lk3 = wm_linker_new(small);
    CHECK_EQ_INT(wm_instantiate(lk3, m, &inst, &err), WM_ERR_LIMIT);
    CHECK(inst == NULL);
    /* Mixing runtimes is refused. */
    CHECK_EQ_INT(wm_instantiate(env.lk, m, &inst, &err), WM_ERR_ARG);
    wm_runtime_free(small);
}

/* Calls into Wasm code (needs the interpreter): results, host calls from
 * Wasm, guard-page out-of-bounds traps and recovery after them. */
static void test_wasm_calls(wm_runtime *rt) {
    host_env env;
    env_init(rt, &env);
    wm_error err;
    wm_module *m = LOAD(rt, w_run);
    wm_instance *inst = NULL;
    CHECK_EQ_INT(wm_instantiate(env.lk, m, &inst, &err), WM_OK);
    if (!inst) return;
    wm_value a[2], res[1];
    a[0] = vi32(20);
    wm_func *fib = wm_instance_func(inst, "fib");
    CHECK_EQ_INT(wm_func_call(fib, a, 1, res, 1, &err), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, 6765);
    a[0] = vi32(2);
    a[1] = vi32(3);
    CHECK_EQ_INT(wm_func_call(wm_instance_func(inst, "call_add"), a, 2, res,
                              1, &err), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, 5);

    wm_func *ld = wm_instance_func(inst, "ld");
    wm_memory *mem = wm_instance_memory(inst);
    memcpy(wm_memory_data(mem) + 65532, "\x01\x02\x03\x04", 4);
    a[0] = vi32(65532);
    CHECK_EQ_INT(wm_func_call(ld, a, 1, res, 1, &err), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, 0x04030201);
    static const int32_t oob[] = {65533, 65536, -1, INT32_MIN};
    for (size_t k = 0; k < WM_ARRAY_LEN(oob); k++) {
        a[0] = vi32(oob[k]);
        CHECK_EQ_INT(wm_func_call(ld, a, 1, res, 1, &err),
                     WM_TRAP_OOB_MEMORY);
        CHECK(starts_with(err.msg, "out of bounds memory access"));
        CHECK(err.n_trace >= 1);
        CHECK(rt->trap_jmp == NULL);
    }
    a[0] = vi32(1);
    CHECK_EQ_INT(wm_func_call(wm_instance_func(inst, "ld_off"), a, 1, res, 1,
                              &err), WM_TRAP_OOB_MEMORY);
    /* After traps everything still works; growth moves the boundary. */
    a[0] = vi32(1);
    CHECK_EQ_INT(wm_func_call(wm_instance_func(inst, "grow"), a, 1, res, 1,
                              &err), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, 1);
    a[0] = vi32(65536);
    CHECK_EQ_INT(wm_func_call(ld, a, 1, res, 1, &err), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, 0);
    a[0] = vi32(131072);
    CHECK_EQ_INT(wm_func_call(ld, a, 1, res, 1, &err), WM_TRAP_OOB_MEMORY);
    a[0] = vi32(1);
    CHECK_EQ_INT(wm_func_call(wm_instance_func(inst, "grow"), a, 1, res, 1,
                              &err), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, -1);
    a[0] = vi32(10);
    CHECK_EQ_INT(wm_func_call(fib, a, 1, res, 1, &err), WM_OK);
    CHECK_EQ_INT(res[0].of.i32, 55);
}

/* Host -> Wasm re-entry: a host function called from Wasm calls back into
 * Wasm, which traps at its own (inner) catch point; the outer call goes
 * on and returns normally. */
typedef struct reenter_ctx {
    wm_func *ld;
    wm_status inner;
} reenter_ctx;

static wm_status h_re(wm_call *call, uint64_t *s) {
    reenter_ctx *rc = wm_call_userdata(call);
    wm_value a = vi32((int32_t)s[0]), r;
    wm_error err;
    rc->inner = wm_func_call(rc->ld, &a, 1, &r, 1, &err);
    s[0] = rc->inner ? (uint32_t)rc->inner : (uint32_t)r.of.i32;
    return WM_OK;
}

static void test_reentry(wm_runtime *rt) {
    reenter_ctx rc = {0};
    wm_error err;
    wm_linker *lk = wm_linker_new(rt);
    const wm_host_func_def defs[] = {{"re", "(i)i", h_re}};
    CHECK_EQ_INT(wm_linker_define_host(lk, "host", defs, 1, &rc, &err),
                 WM_OK);
    wm_module *m = LOAD(rt, w_reenter);
    wm_instance *inst = NULL;
    CHECK_EQ_INT(wm_instantiate(lk, m, &inst, &err), WM_OK);
    if (!inst) return;
    rc.ld = wm_instance_func(inst, "ld");
    wm_func *outer = wm_instance_func(inst, "outer");
    wm_memory_data(wm_instance_memory(inst))[8] = 5;
    wm_value a = vi32(8), r;
    CHECK_EQ_INT(wm_func_call(outer, &a, 1, &r, 1, &err), WM_OK);
    CHECK_EQ_INT(rc.inner, WM_OK);
    CHECK_EQ_INT(r.of.i32, 1005);
    for (int k = 0; k < 3; k++) {
        a = vi32(65536 - k);
        CHECK_EQ_INT(wm_func_call(outer, &a, 1, &r, 1, &err), WM_OK);
        CHECK_EQ_INT(rc.inner, WM_TRAP_OOB_MEMORY);
        CHECK_EQ_INT(r.of.i32, 1000 + WM_TRAP_OOB_MEMORY);
        CHECK(rt->trap_jmp == NULL);
    }
    a = vi32(8);
    CHECK_EQ_INT(wm_func_call(outer, &a, 1, &r, 1, &err), WM_OK);
    CHECK_EQ_INT(r.of.i32, 1005);
}

int main(void) {
    test_runtime();
    test_load_errors();
    wm_runtime *rt = wm_runtime_new(NULL);
    test_store_objects(rt);
    test_calls_host(rt);
    test_instantiate(rt);
    test_instantiate_failures(rt);
    test_wasm_calls(rt);
    test_reentry(rt);
    wm_runtime_free(rt);
    return TEST_REPORT();
}
