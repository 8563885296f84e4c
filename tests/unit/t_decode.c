/*
 * t_decode.c — unit tests for the binary decoder (decode.c), the LEB128
 * and UTF-8 readers, and module-level validation (check.c).
 *
 * The spec suite covers the decoder's error texts broadly; these tests pin
 * the contract details: fields of a decoded module, error locations,
 * the name section, declared function references, and that no truncation
 * or single-byte mutation of a module crashes the decoder.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wasm/module.h"
#include "util/leb128.h"
#include "util/utf8.h"

/* ==== Helpers =========================================================== */

#define HDR 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00
/* () -> () type, one function of it, an empty body. */
#define TYPE0 0x01, 0x04, 0x01, 0x60, 0x00, 0x00
#define FUNC0 0x03, 0x02, 0x01, 0x00
#define CODE0 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b

typedef struct result {
    wm_status st;
    wm_error err;
    module m;
} result;

/* Decode (and, when it decodes, check declarations); keeps the module
 * for inspection until res_free. */
static wm_status decode(result *r, const uint8_t *b, size_t n, bool check) {
    memset(&r->m, 0, sizeof r->m);
    wm_error_clear(&r->err);
    r->st = dec_module(&r->m, b, n, &r->err);
    if (r->st == WM_OK && check) r->st = val_module_decls(&r->m, &r->err);
    return r->st;
}

static void res_free(result *r) { module_release(&r->m); }

static bool starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Expect failure `code` whose message starts with `text`. */
#define EXPECT_ERR(bytes, check, code, text)                              \
    do {                                                                  \
        result r_;                                                        \
        decode(&r_, bytes, sizeof bytes, check);                          \
        CHECK_EQ_INT(r_.st, code);                                        \
        CHECK(starts(r_.err.msg, text));                                  \
        if (!starts(r_.err.msg, text))                                    \
            fprintf(stderr, "  got: '%s'\n", r_.err.msg);                 \
        res_free(&r_);                                                    \
    } while (0)

/* ==== LEB128 ============================================================ */

static leb_status u32_of(const uint8_t *b, size_t n, uint32_t *v,
                         size_t *used) {
    const uint8_t *p = b;
    leb_status st = leb_read_u32(&p, b + n, v);
    *used = (size_t)(p - b);
    return st;
}

static void test_leb(void) {
    uint32_t v;
    size_t used;
    static const uint8_t a[] = {0x7f};
    CHECK_EQ_INT(u32_of(a, 1, &v, &used), LEB_OK);
    CHECK_EQ_INT(v, 127);
    static const uint8_t b[] = {0xe5, 0x8e, 0x26};
    CHECK_EQ_INT(u32_of(b, 3, &v, &used), LEB_OK);
    CHECK_EQ_INT(v, 624485);
    CHECK_EQ_INT(used, 3);
    static const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    CHECK_EQ_INT(u32_of(max, 5, &v, &used), LEB_OK);
    CHECK_EQ_INT(v, 0xffffffffu);
    static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    CHECK_EQ_INT(u32_of(big, 5, &v, &used), LEB_TOO_LARGE);
    CHECK_EQ_INT(used, 4);                  /* points at the bad byte */
    static const uint8_t lng[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    CHECK_EQ_INT(u32_of(lng, 6, &v, &used), LEB_TOO_LONG);
    static const uint8_t pad[] = {0x80, 0x80, 0x80, 0x80, 0x00};
    CHECK_EQ_INT(u32_of(pad, 5, &v, &used), LEB_OK);  /* padding is fine */
    CHECK_EQ_INT(v, 0);
    CHECK_EQ_INT(u32_of(b, 2, &v, &used), LEB_END);
    CHECK_EQ_INT(u32_of(b, 0, &v, &used), LEB_END);

    int32_t s;
    const uint8_t *p;
    static const uint8_t m1[] = {0x7f};
    p = m1;
    CHECK_EQ_INT(leb_read_s32(&p, m1 + 1, &s), LEB_OK);
    CHECK_EQ_INT(s, -1);
    static const uint8_t smin[] = {0x80, 0x80, 0x80, 0x80, 0x78};
    p = smin;
    CHECK_EQ_INT(leb_read_s32(&p, smin + 5, &s), LEB_OK);
    CHECK_EQ_INT(s, INT32_MIN);
    static const uint8_t sbad[] = {0x80, 0x80, 0x80, 0x80, 0x70};
    p = sbad;
    CHECK_EQ_INT(leb_read_s32(&p, sbad + 5, &s), LEB_TOO_LARGE);
    static const uint8_t sbad2[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    p = sbad2;   /* sign bit 0 but unused bits set */
    CHECK_EQ_INT(leb_read_s32(&p, sbad2 + 5, &s), LEB_TOO_LARGE);

    int64_t l;
    static const uint8_t lmin[] = {0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x80, 0x80, 0x7f};
    p = lmin;
    CHECK_EQ_INT(leb_read_s64(&p, lmin + 10, &l), LEB_OK);
    CHECK(l == INT64_MIN);
    static const uint8_t lbad[] = {0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x80, 0x80, 0x02};
    p = lbad;
    CHECK_EQ_INT(leb_read_s64(&p, lbad + 10, &l), LEB_TOO_LARGE);
    static const uint8_t llong[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                    0x80, 0x80, 0x80, 0x80, 0x00};
    p = llong;
    CHECK_EQ_INT(leb_read_s64(&p, llong + 11, &l), LEB_TOO_LONG);
}

/* ==== UTF-8 ============================================================= */

static void test_utf8(void) {
    CHECK(utf8_valid((const uint8_t *)"", 0));
    CHECK(utf8_valid((const uint8_t *)"abc", 3));
    CHECK(utf8_valid((const uint8_t *)"\xc3\xa9", 2));          /* é */
    CHECK(utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));  /* emoji */
    CHECK(utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));  /* max */
    CHECK(utf8_valid((const uint8_t *)"a\0b", 3));              /* NUL ok */
    CHECK(!utf8_valid((const uint8_t *)"\xc0\x80", 2));      /* overlong */
    CHECK(!utf8_valid((const uint8_t *)"\xe0\x80\x80", 3));  /* overlong */
    CHECK(!utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));  /* surrogate */
    CHECK(!utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* >max */
    CHECK(!utf8_valid((const uint8_t *)"\xc3", 1));          /* truncated */
    CHECK(!utf8_valid((const uint8_t *)"\x80", 1));          /* stray */
    CHECK(!utf8_valid((const uint8_t *)"\xe2\x82", 2));
    CHECK(!utf8_valid((const uint8_t *)"\xf8\x88\x80\x80\x80", 5));
}

/* ==== A module with every section ======================================= */

/* wat2wasm --debug-names of: a type, three imports (func, global, memory),
 * a table, two globals (one with ref.func), two functions (locals, if/
 * else, br_table, memory.init, data.drop), two exports, an active and a
 * declarative element segment, a data count, an active (global.get
 * offset) and a passive data segment, and a name section. */
static const uint8_t t1_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0b, 0x02, 0x60,
    0x02, 0x7f, 0x7e, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f, 0x02, 0x1c, 0x03,
    0x03, 0x65, 0x6e, 0x76, 0x01, 0x66, 0x00, 0x00, 0x03, 0x65, 0x6e, 0x76,
    0x01, 0x67, 0x03, 0x7f, 0x00, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x6d, 0x02,
    0x01, 0x01, 0x02, 0x03, 0x03, 0x02, 0x00, 0x01, 0x04, 0x04, 0x01, 0x70,
    0x00, 0x02, 0x06, 0x0b, 0x02, 0x7e, 0x01, 0x42, 0x7b, 0x0b, 0x70, 0x00,
    0xd2, 0x01, 0x0b, 0x07, 0x0d, 0x02, 0x03, 0x61, 0x64, 0x64, 0x00, 0x01,
    0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x09, 0x0b, 0x02, 0x00, 0x41, 0x00,
    0x0b, 0x01, 0x02, 0x03, 0x00, 0x01, 0x00, 0x0c, 0x01, 0x02, 0x0a, 0x30,
    0x02, 0x29, 0x02, 0x02, 0x7d, 0x01, 0x7e, 0x02, 0x7f, 0x20, 0x00, 0x04,
    0x7f, 0x41, 0x01, 0x05, 0x41, 0x02, 0x41, 0x00, 0x0e, 0x01, 0x00, 0x00,
    0x0b, 0x0b, 0x3f, 0x00, 0x1a, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc,
    0x08, 0x00, 0x00, 0xfc, 0x09, 0x00, 0x0b, 0x04, 0x00, 0x23, 0x00, 0x0b,
    0x0b, 0x11, 0x02, 0x00, 0x23, 0x00, 0x0b, 0x02, 0x68, 0x69, 0x01, 0x07,
    0x70, 0x61, 0x73, 0x73, 0x69, 0x76, 0x65, 0x00, 0x3a, 0x04, 0x6e, 0x61,
    0x6d, 0x65, 0x01, 0x10, 0x03, 0x00, 0x03, 0x69, 0x6d, 0x70, 0x01, 0x03,
    0x61, 0x64, 0x64, 0x02, 0x03, 0x74, 0x77, 0x6f, 0x02, 0x07, 0x03, 0x00,
    0x00, 0x01, 0x00, 0x02, 0x00, 0x04, 0x04, 0x01, 0x00, 0x01, 0x74, 0x05,
    0x06, 0x01, 0x00, 0x03, 0x74, 0x61, 0x62, 0x07, 0x0a, 0x03, 0x00, 0x01,
    0x67, 0x01, 0x01, 0x68, 0x02, 0x01, 0x72,
};

static bool bit(const uint8_t *set, uint32_t i) {
    return (set[i >> 3] >> (i & 7)) & 1;
}

static void test_full_module(void) {
    result r;
    CHECK_EQ_INT(decode(&r, t1_wasm, sizeof t1_wasm, true), WM_OK);
    module *m = &r.m;
    CHECK(m->bytes != t1_wasm && m->size == sizeof t1_wasm);
    CHECK_EQ_INT(m->n_types, 2);
    CHECK_EQ_INT(m->types[0].n_params, 2);
    CHECK_EQ_INT(m->types[0].params[1], VT_I64);
    CHECK_EQ_INT(m->types[0].n_results, 1);
    CHECK_EQ_INT(m->types[0].results[0], VT_I32);
    CHECK_EQ_INT(m->n_imports, 3);
    CHECK(m->imports[0].module_len == 3 &&
          strcmp(m->imports[0].module, "env") == 0);
    CHECK(strcmp(m->imports[2].name, "m") == 0);
    CHECK_EQ_INT(m->imports[2].kind, WM_EXTERN_MEMORY);
    CHECK_EQ_INT(m->n_funcs, 3);
    CHECK_EQ_INT(m->n_func_imports, 1);
    CHECK_EQ_INT(m->funcs[0].type_idx, 0);
    CHECK(m->funcs[0].body == NULL);
    CHECK_EQ_INT(m->funcs[2].type_idx, 1);
    CHECK_EQ_INT(m->funcs[1].n_locals, 3);
    CHECK_EQ_INT(m->funcs[1].n_local_groups, 2);
    CHECK_EQ_INT(m->funcs[1].local_groups[0].type, VT_F32);
    CHECK_EQ_INT(m->funcs[1].local_groups[1].count, 1);
    CHECK_EQ_INT(m->funcs[1].body[0], 0x02);                  /* block */
    CHECK_EQ_INT(m->funcs[1].body[m->funcs[1].body_len - 1], 0x0b);
    CHECK_EQ_INT(m->funcs[2].body_len, 3);         /* global.get 0, end */
    CHECK_EQ_INT(m->n_tables, 1);
    CHECK_EQ_INT(m->tables[0].type.elem_type, VT_FUNCREF);
    CHECK_EQ_INT(m->tables[0].type.lim.min, 2);
    CHECK(!m->tables[0].type.lim.has_max);
    CHECK_EQ_INT(m->n_mems, 1);
    CHECK_EQ_INT(m->n_mem_imports, 1);
    CHECK(m->mems[0].lim.has_max && m->mems[0].lim.max == 2);
    CHECK_EQ_INT(m->n_globals, 3);
    CHECK_EQ_INT(m->n_global_imports, 1);
    CHECK(m->globals[1].type.mut && m->globals[1].type.type == VT_I64);
    CHECK_EQ_INT(m->globals[1].init.len, 3);        /* i64.const -5, end */
    CHECK_EQ_INT(m->globals[2].type.type, VT_FUNCREF);
    CHECK_EQ_INT(m->n_exports, 2);
    CHECK(strcmp(m->exports[0].name, "add") == 0);
    CHECK_EQ_INT(m->exports[1].kind, WM_EXTERN_MEMORY);
    CHECK_EQ_INT(m->n_elems, 2);
    CHECK_EQ_INT(m->elems[0].mode, SEG_ACTIVE);
    CHECK_EQ_INT(m->elems[0].n_elems, 1);
    CHECK_EQ_INT(m->elems[0].func_idxs[0], 2);
    CHECK_EQ_INT(m->elems[1].mode, SEG_DECLARATIVE);
    CHECK(m->has_data_count && m->data_count == 2);
    CHECK_EQ_INT(m->n_datas, 2);
    CHECK_EQ_INT(m->datas[0].mode, SEG_ACTIVE);
    CHECK(m->datas[0].len == 2 && memcmp(m->datas[0].bytes, "hi", 2) == 0);
    CHECK_EQ_INT(m->datas[1].mode, SEG_PASSIVE);
    CHECK_EQ_INT(m->datas[1].len, 7);
    CHECK_EQ_INT(m->n_customs, 1);
    CHECK(m->func_names != NULL);
    CHECK(mod_func_name(m, 0) && strcmp(mod_func_name(m, 0), "imp") == 0);
    CHECK(mod_func_name(m, 1) && strcmp(mod_func_name(m, 1), "add") == 0);
    CHECK(mod_func_name(m, 2) && strcmp(mod_func_name(m, 2), "two") == 0);
    CHECK(mod_func_name(m, 3) == NULL);
    /* C.refs: export + ref.func (1), active elem (2), declare elem (0). */
    CHECK(bit(m->declared_refs, 0) && bit(m->declared_refs, 1) &&
          bit(m->declared_refs, 2));
    res_free(&r);
}

/* ==== Malformed modules ================================================= */

static void test_malformed(void) {
    static const uint8_t empty[] = {0};
    result r;
    decode(&r, empty, 0, false);
    CHECK_EQ_INT(r.st, WM_ERR_MALFORMED);
    CHECK(starts(r.err.msg, "unexpected end"));
    res_free(&r);

    static const uint8_t magic[] = {0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0};
    EXPECT_ERR(magic, false, WM_ERR_MALFORMED, "magic header not detected");
    static const uint8_t version[] = {0x00, 0x61, 0x73, 0x6d, 2, 0, 0, 0};
    EXPECT_ERR(version, false, WM_ERR_MALFORMED, "unknown binary version");
    static const uint8_t sec_id[] = {HDR, 0x0d, 0x00};
    EXPECT_ERR(sec_id, false, WM_ERR_MALFORMED, "malformed section id");
    static const uint8_t order[] = {HDR, TYPE0, TYPE0};
    EXPECT_ERR(order, false, WM_ERR_MALFORMED,
               "unexpected content after last section");
    static const uint8_t size_mm[] = {HDR, 0x01, 0x05, 0x01, 0x60, 0x00,
                                      0x00, 0x00};
    EXPECT_ERR(size_mm, false, WM_ERR_MALFORMED, "section size mismatch");
    static const uint8_t len_oob[] = {HDR, 0x01, 0x09, 0x01, 0x60};
    EXPECT_ERR(len_oob, false, WM_ERR_MALFORMED, "length out of bounds");
    static const uint8_t v128[] = {HDR, 0x01, 0x05, 0x01, 0x60, 0x01, 0x7b,
                                   0x00};
    EXPECT_ERR(v128, false, WM_ERR_MALFORMED,
               "SIMD (v128) is not supported yet");
    static const uint8_t simd_op[] = {HDR, TYPE0, FUNC0, 0x0a, 0x06, 0x01,
                                      0x04, 0x00, 0xfd, 0x00, 0x0b};
    EXPECT_ERR(simd_op, false, WM_ERR_MALFORMED,
               "SIMD (v128) is not supported yet");
    static const uint8_t no_code[] = {HDR, TYPE0, FUNC0};
    EXPECT_ERR(no_code, false, WM_ERR_MALFORMED,
               "function and code section have inconsistent lengths");
    static const uint8_t bad_kind[] = {HDR, 0x02, 0x05, 0x01, 0x00, 0x00,
                                       0x04, 0x00};
    EXPECT_ERR(bad_kind, false, WM_ERR_MALFORMED, "malformed import kind");
    static const uint8_t bad_utf8[] = {HDR, 0x02, 0x06, 0x01, 0x01, 0xc0,
                                       0x00, 0x02, 0x00, 0x00};
    EXPECT_ERR(bad_utf8, false, WM_ERR_MALFORMED,
               "malformed UTF-8 encoding");
    static const uint8_t no_end[] = {HDR, TYPE0, FUNC0, 0x0a, 0x04, 0x01,
                                     0x02, 0x00, 0x01};
    EXPECT_ERR(no_end, false, WM_ERR_MALFORMED, "unexpected end");
    static const uint8_t zero[] = {HDR, TYPE0, FUNC0, 0x0a, 0x07, 0x01, 0x05,
                                   0x00, 0x3f, 0x01, 0x1a, 0x0b};
    EXPECT_ERR(zero, false, WM_ERR_MALFORMED, "zero byte expected");
    static const uint8_t too_many_locals[] = {
        HDR, TYPE0, FUNC0, 0x0a, 0x0a, 0x01, 0x08, 0x01,
        0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b};
    EXPECT_ERR(too_many_locals, false, WM_ERR_MALFORMED, "too many locals");
    decode(&r, too_many_locals, sizeof too_many_locals, false);
    CHECK_EQ_INT(r.err.func_idx, 0);       /* in function 0, but before */
    CHECK_EQ_INT(r.err.instr_off, -1);     /* its first instruction */
    res_free(&r);
    static const uint8_t fc_bad[] = {HDR, TYPE0, FUNC0, 0x0a, 0x06, 0x01,
                                     0x04, 0x00, 0xfc, 0x12, 0x0b};
    EXPECT_ERR(fc_bad, false, WM_ERR_MALFORMED, "illegal opcode");
    static const uint8_t else_top[] = {HDR, TYPE0, FUNC0, 0x0a, 0x05, 0x01,
                                       0x03, 0x00, 0x05, 0x0b};
    EXPECT_ERR(else_top, false, WM_ERR_MALFORMED, "END opcode expected");

    /* The error location of a bad body: offset, function, instruction. */
    static const uint8_t illegal[] = {HDR, TYPE0, FUNC0, 0x0a, 0x06, 0x01,
                                      0x04, 0x00, 0x01, 0x06, 0x0b};
    decode(&r, illegal, sizeof illegal, false);
    CHECK_EQ_INT(r.st, WM_ERR_MALFORMED);
    CHECK(starts(r.err.msg, "illegal opcode"));
    CHECK(strstr(r.err.msg, "section 10 (code)") != NULL);
    CHECK_EQ_INT(r.err.byte_off, 8 + 6 + 4 + 5 + 1);
    CHECK_EQ_INT(r.err.func_idx, 0);
    CHECK_EQ_INT(r.err.instr_off, 1);
    res_free(&r);

    /* memory.init/data.drop need a data count section when there are
     * data segments; without any, the validator reports the bad index. */
    static const uint8_t dc_req[] = {HDR, TYPE0, FUNC0, 0x0a, 0x07, 0x01,
                                     0x05, 0x00, 0xfc, 0x09, 0x00, 0x0b,
                                     0x0b, 0x03, 0x01, 0x01, 0x00};
    EXPECT_ERR(dc_req, false, WM_ERR_MALFORMED, "data count section required");
    static const uint8_t dc_nodata[] = {HDR, TYPE0, FUNC0, 0x0a, 0x07, 0x01,
                                        0x05, 0x00, 0xfc, 0x09, 0x00, 0x0b};
    CHECK_EQ_INT(decode(&r, dc_nodata, sizeof dc_nodata, false), WM_OK);
    res_free(&r);
    static const uint8_t dc_mm[] = {HDR, 0x0c, 0x01, 0x02, 0x0b, 0x03, 0x01,
                                    0x01, 0x00};
    EXPECT_ERR(dc_mm, false, WM_ERR_MALFORMED,
               "data count and data section have inconsistent lengths");
}

/* ==== The name section ================================================== */

static void test_names(void) {
    result r;
    static const uint8_t good[] = {HDR, TYPE0, FUNC0, CODE0, 0x00, 0x0c, 0x04,
                                   'n', 'a', 'm', 'e', 0x01, 0x05, 0x01, 0x00,
                                   0x02, 'f', '0'};
    CHECK_EQ_INT(decode(&r, good, sizeof good, true), WM_OK);
    CHECK(mod_func_name(&r.m, 0) && strcmp(mod_func_name(&r.m, 0), "f0") == 0);
    res_free(&r);
    /* A malformed name section is ignored, never an error. */
    static const uint8_t bad[] = {HDR, TYPE0, FUNC0, CODE0, 0x00, 0x07, 0x04,
                                  'n', 'a', 'm', 'e', 0x01, 0xff};
    CHECK_EQ_INT(decode(&r, bad, sizeof bad, true), WM_OK);
    CHECK(r.m.func_names == NULL && mod_func_name(&r.m, 0) == NULL);
    res_free(&r);
    static const uint8_t bad_utf8[] = {HDR, TYPE0, FUNC0, CODE0, 0x00, 0x0c,
                                       0x04, 'n', 'a', 'm', 'e', 0x01, 0x05,
                                       0x01, 0x00, 0x02, 0xc0, 0x80};
    CHECK_EQ_INT(decode(&r, bad_utf8, sizeof bad_utf8, true), WM_OK);
    CHECK(mod_func_name(&r.m, 0) == NULL);
    res_free(&r);
}

/* ==== Module-level validation (check.c) ================================= */

static void test_check(void) {
    static const uint8_t dup_export[] = {HDR, TYPE0, FUNC0, 0x07, 0x09, 0x02,
                                         0x01, 'a', 0x00, 0x00, 0x01, 'a',
                                         0x00, 0x00, CODE0};
    EXPECT_ERR(dup_export, true, WM_ERR_INVALID, "duplicate export name");
    static const uint8_t bad_export[] = {HDR, TYPE0, FUNC0, 0x07, 0x05, 0x01,
                                         0x01, 'a', 0x00, 0x07, CODE0};
    EXPECT_ERR(bad_export, true, WM_ERR_INVALID, "unknown function 7");
    static const uint8_t two_mems[] = {HDR, 0x05, 0x05, 0x02, 0x00, 0x01,
                                       0x00, 0x01};
    EXPECT_ERR(two_mems, true, WM_ERR_INVALID, "multiple memories");
    static const uint8_t big_mem[] = {HDR, 0x05, 0x05, 0x01, 0x00, 0x81,
                                      0x80, 0x04};
    EXPECT_ERR(big_mem, true, WM_ERR_INVALID,
               "memory size must be at most 65536 pages (4GiB)");
    static const uint8_t min_max[] = {HDR, 0x05, 0x04, 0x01, 0x01, 0x02,
                                      0x01};
    EXPECT_ERR(min_max, true, WM_ERR_INVALID,
               "size minimum must not be greater than maximum");
    static const uint8_t bad_type[] = {HDR, TYPE0, 0x03, 0x02, 0x01, 0x05,
                                       CODE0};
    EXPECT_ERR(bad_type, true, WM_ERR_INVALID, "unknown type");
    static const uint8_t start_sig[] = {HDR, 0x01, 0x05, 0x01, 0x60, 0x01,
                                        0x7f, 0x00, FUNC0, 0x08, 0x01, 0x00,
                                        CODE0};
    EXPECT_ERR(start_sig, true, WM_ERR_INVALID, "start function");
    static const uint8_t g_type[] = {HDR, 0x06, 0x06, 0x01, 0x7f, 0x00, 0x42,
                                     0x00, 0x0b};
    EXPECT_ERR(g_type, true, WM_ERR_INVALID, "type mismatch");
    static const uint8_t g_empty[] = {HDR, 0x06, 0x04, 0x01, 0x7f, 0x00,
                                      0x0b};
    EXPECT_ERR(g_empty, true, WM_ERR_INVALID, "type mismatch");
    static const uint8_t g_two[] = {HDR, 0x06, 0x08, 0x01, 0x7f, 0x00, 0x41,
                                    0x00, 0x41, 0x00, 0x0b};
    EXPECT_ERR(g_two, true, WM_ERR_INVALID, "type mismatch");
    static const uint8_t g_nop[] = {HDR, 0x06, 0x07, 0x01, 0x7f, 0x00, 0x01,
                                    0x41, 0x00, 0x0b};
    EXPECT_ERR(g_nop, true, WM_ERR_INVALID, "constant expression required");
    static const uint8_t g_defined[] = {HDR, 0x06, 0x0b, 0x02, 0x7f, 0x00,
                                        0x41, 0x00, 0x0b, 0x7f, 0x00, 0x23,
                                        0x00, 0x0b};
    EXPECT_ERR(g_defined, true, WM_ERR_INVALID, "unknown global 0");
    static const uint8_t g_mut[] = {HDR, 0x02, 0x08, 0x01, 0x01, 'e', 0x01,
                                    'g', 0x03, 0x7f, 0x01, 0x06, 0x06, 0x01,
                                    0x7f, 0x00, 0x23, 0x00, 0x0b};
    EXPECT_ERR(g_mut, true, WM_ERR_INVALID, "constant expression required");
    static const uint8_t g_imm[] = {HDR, 0x02, 0x08, 0x01, 0x01, 'e', 0x01,
                                    'g', 0x03, 0x7f, 0x00, 0x06, 0x06, 0x01,
                                    0x7f, 0x00, 0x23, 0x00, 0x0b};
    result r;
    CHECK_EQ_INT(decode(&r, g_imm, sizeof g_imm, true), WM_OK);
    res_free(&r);
    /* externref table, funcref segment. */
    static const uint8_t elem_type[] = {HDR, TYPE0, FUNC0, 0x04, 0x04, 0x01,
                                        0x6f, 0x00, 0x01, 0x09, 0x07, 0x01,
                                        0x00, 0x41, 0x00, 0x0b, 0x01, 0x00,
                                        CODE0};
    EXPECT_ERR(elem_type, true, WM_ERR_INVALID, "type mismatch");
    static const uint8_t data_nomem[] = {HDR, 0x0b, 0x06, 0x01, 0x00, 0x41,
                                         0x00, 0x0b, 0x00};
    EXPECT_ERR(data_nomem, true, WM_ERR_INVALID, "unknown memory 0");
}

/* ==== Robustness: truncations and mutations never crash ================ */

static void test_robust(void) {
    uint8_t buf[sizeof t1_wasm];
    int bad_status = 0, decoded = 0;
    result r;
    /* A cut is malformed unless it falls on a section boundary with
     * nothing missing: after the header, the type section, the import
     * section, or just before the name section. */
    for (size_t n = 0; n < sizeof t1_wasm; n++) {
        wm_status st = decode(&r, t1_wasm, n, true);
        bool boundary = n == 8 || n == 21 || n == 51 || n == 175;
        if (st != (boundary ? WM_OK : WM_ERR_MALFORMED)) {
            bad_status++;
            fprintf(stderr, "  cut at %zu: %d %s\n", n, st, r.err.msg);
        }
        res_free(&r);
    }
    CHECK_EQ_INT(bad_status, 0);
    bad_status = 0;
    for (size_t i = 0; i < sizeof t1_wasm; i++) {
        for (unsigned v = 0; v < 256; v++) {
            memcpy(buf, t1_wasm, sizeof buf);
            buf[i] = (uint8_t)v;
            wm_status st = decode(&r, buf, sizeof buf, true);
            if (st == WM_OK) decoded++;
            else if (st != WM_ERR_MALFORMED && st != WM_ERR_INVALID &&
                     st != WM_ERR_LIMIT)
                bad_status++;
            res_free(&r);
        }
    }
    CHECK_EQ_INT(bad_status, 0);
    CHECK(decoded > 0);
}

int main(void) {
    test_leb();
    test_utf8();
    test_full_module();
    test_malformed();
    test_names();
    test_check();
    test_robust();
    return TEST_REPORT();
}
