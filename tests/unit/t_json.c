/*
 * t_json.c — unit tests for src/util/json.c: the RFC 8259 grammar (valid
 * and invalid), escapes and UTF-8, error positions, caps, number helpers,
 * and a deterministic mutation loop (never a crash; run under ASan by
 * `make test-san`).
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/json.h"

static wm_status parse(json_doc *d, const char *s, json_error *e) {
    return json_parse(d, s, strlen(s), NULL, e);
}

/* Parses OK and is rejected, respectively (document freed). */
static int ok(const char *s) {
    json_doc d;
    wm_status st = parse(&d, s, NULL);
    json_doc_free(&d);
    return st == WM_OK;
}

static int bad(const char *s) {
    json_doc d;
    json_error e;
    wm_status st = parse(&d, s, &e);
    if (st == WM_OK) fprintf(stderr, "  accepted: %s\n", s);
    json_doc_free(&d);
    return st == WM_ERR_MALFORMED && e.msg[0];
}

static void test_tree(void) {
    json_doc d;
    json_error e;
    const char *s =
        "{\"source_filename\": \"i32.wast\",\n"
        " \"commands\": [\n"
        "  {\"type\": \"module\", \"line\": 3, \"filename\": \"i32.0.wasm\"},\n"
        "  {\"type\": \"assert_return\", \"line\": 37, \"action\": "
        "{\"type\": \"invoke\", \"field\": \"add\", \"args\": "
        "[{\"type\": \"i32\", \"value\": \"1\"}]}, \"expected\": []}],"
        " \"t\": true, \"f\": false, \"n\": null, \"x\": -1.5e+2 }";
    CHECK_EQ_INT(parse(&d, s, &e), WM_OK);
    const json_value *r = &d.root;
    CHECK_EQ_INT(r->type, JSON_OBJECT);
    CHECK_EQ_INT(r->len, 6);
    CHECK(strcmp(json_get_str(r, "source_filename"), "i32.wast") == 0);
    const json_value *cmds = json_get(r, "commands");
    CHECK(cmds && cmds->type == JSON_ARRAY && cmds->len == 2);
    const json_value *c1 = json_at(cmds, 1);
    int64_t line = 0;
    CHECK(json_as_int64(json_get(c1, "line"), &line));
    CHECK_EQ_INT(line, 37);
    const json_value *args = json_get(json_get(c1, "action"), "args");
    CHECK(args && args->len == 1);
    CHECK(strcmp(json_get_str(json_at(args, 0), "value"), "1") == 0);
    const json_value *exp = json_get(c1, "expected");
    CHECK(exp && exp->type == JSON_ARRAY && exp->len == 0);
    CHECK(json_at(exp, 0) == NULL);
    CHECK(json_at(cmds, 2) == NULL);
    CHECK(json_get(cmds, "x") == NULL);           /* not an object */
    CHECK(json_get(r, "missing") == NULL);
    CHECK(json_get_str(r, "t") == NULL);           /* not a string */
    bool b = false;
    CHECK(json_as_bool(json_get(r, "t"), &b) && b);
    CHECK(json_as_bool(json_get(r, "f"), &b) && !b);
    CHECK(!json_as_bool(json_get(r, "n"), &b));
    CHECK_EQ_INT(json_get(r, "n")->type, JSON_NULL);
    double x = 0;
    CHECK(json_as_double(json_get(r, "x"), &x));
    CHECK_EQ_F32(x, -150.0, 0);
    CHECK(strcmp(json_get(r, "x")->u.num, "-1.5e+2") == 0);
    CHECK(strcmp(json_type_name(JSON_OBJECT), "object") == 0);
    json_doc_free(&d);
    json_doc_free(&d);                             /* idempotent */
    json_doc_free(NULL);

    /* Scalars at top level; duplicate keys keep the first for json_get. */
    CHECK(ok("42") && ok("\"s\"") && ok(" null ") && ok("[]") && ok("{}"));
    CHECK_EQ_INT(parse(&d, "{\"a\":1,\"a\":2}", NULL), WM_OK);
    int64_t a = 0;
    CHECK(json_as_int64(json_get(&d.root, "a"), &a) && a == 1);
    CHECK_EQ_INT(d.root.len, 2);
    json_doc_free(&d);
}

static void test_strings(void) {
    json_doc d;
    CHECK_EQ_INT(parse(&d, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", NULL), WM_OK);
    CHECK_EQ_INT(d.root.len, 8);
    CHECK(memcmp(d.root.u.str, "\"\\/\b\f\n\r\t", 9) == 0);
    json_doc_free(&d);

    /* \u escapes to UTF-8, including a surrogate pair and U+0000. */
    CHECK_EQ_INT(parse(&d, "\"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\\u0000z\"",
                       NULL), WM_OK);
    static const char want[] = "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\0z";
    CHECK_EQ_INT(d.root.len, sizeof want - 1);
    CHECK(memcmp(d.root.u.str, want, sizeof want) == 0);
    json_doc_free(&d);

    /* Raw UTF-8 passes through; keys are decoded the same way. */
    CHECK_EQ_INT(parse(&d, "{\"\\u0000k\xC3\xA9\": \"\xF0\x9F\x98\x80\"}",
                       NULL), WM_OK);
    CHECK(json_getn(&d.root, "\0k\xC3\xA9", 4) != NULL);
    CHECK(json_get(&d.root, "k") == NULL);
    json_doc_free(&d);

    CHECK(bad("\"abc"));                 /* unterminated */
    CHECK(bad("\"abc\\"));
    CHECK(bad("\"a\tb\""));              /* raw control character */
    CHECK(bad("\"a\nb\""));
    CHECK(bad("\"\\x\""));               /* unknown escape */
    CHECK(bad("\"\\u12\""));             /* short \u */
    CHECK(bad("\"\\u12G4\""));
    CHECK(bad("\"\\uD800\""));           /* lone high surrogate */
    CHECK(bad("\"\\uD800\\u0041\""));
    CHECK(bad("\"\\uDC00\""));           /* lone low surrogate */
    CHECK(bad("\"\xC0\x80\""));          /* overlong NUL */
    CHECK(bad("\"\xE0\x80\xAF\""));      /* overlong '/' */
    CHECK(bad("\"\xED\xA0\x80\""));      /* encoded surrogate */
    CHECK(bad("\"\xF4\x90\x80\x80\""));  /* > U+10FFFF */
    CHECK(bad("\"\xC3\""));              /* truncated sequence */
    CHECK(bad("\"\x80\""));              /* stray continuation */
    CHECK(bad("\"\xFF\""));
    CHECK(bad("'single'"));
}

static void test_numbers(void) {
    CHECK(ok("0") && ok("-0") && ok("1.5") && ok("-0.0e-0") && ok("1E10"));
    CHECK(ok("123456789012345678901234567890"));
    CHECK(bad("01") && bad("-01") && bad("1.") && bad(".5") && bad("-"));
    CHECK(bad("+1") && bad("1e") && bad("1e+") && bad("0x10"));
    CHECK(bad("NaN") && bad("Infinity") && bad("-Infinity"));

    json_doc d;
    int64_t i;
    uint64_t u;
    double x;
    CHECK_EQ_INT(parse(&d, "[9223372036854775807, -9223372036854775808,"
                           " 9223372036854775808, 18446744073709551615,"
                           " 18446744073709551616, -0, 2.5, 1e2, -1,"
                           " 1e400, \"7\"]", NULL), WM_OK);
    const json_value *r = &d.root;
    CHECK(json_as_int64(json_at(r, 0), &i) && i == INT64_MAX);
    CHECK(json_as_int64(json_at(r, 1), &i) && i == INT64_MIN);
    CHECK(!json_as_int64(json_at(r, 2), &i));
    CHECK(json_as_uint64(json_at(r, 2), &u) && u == (uint64_t)INT64_MAX + 1);
    CHECK(json_as_uint64(json_at(r, 3), &u) && u == UINT64_MAX);
    CHECK(!json_as_uint64(json_at(r, 4), &u));
    CHECK(json_as_int64(json_at(r, 5), &i) && i == 0);
    CHECK(json_as_uint64(json_at(r, 5), &u) && u == 0);
    CHECK(!json_as_int64(json_at(r, 6), &i));      /* fraction */
    CHECK(!json_as_int64(json_at(r, 7), &i));      /* exponent */
    CHECK(!json_as_uint64(json_at(r, 8), &u));     /* negative */
    CHECK(json_as_double(json_at(r, 6), &x) && x == 2.5);
    CHECK(json_as_double(json_at(r, 7), &x) && x == 100.0);
    CHECK(json_as_double(json_at(r, 3), &x) && x == 18446744073709551616.0);
    CHECK(json_as_double(json_at(r, 9), &x) && x > 1e308);   /* +inf */
    CHECK(!json_as_double(json_at(r, 10), &x));    /* a string */
    CHECK(!json_as_int64(NULL, &i) && !json_as_double(NULL, &x));
    json_doc_free(&d);

    /* Correct rounding: 0.1 and a long literal (heap path if relocated). */
    CHECK_EQ_INT(parse(&d, "[0.1, 3.141592653589793238462643383279502884197"
                           "16939937510582097494459230781640628620899862803"
                           "48253421170679821480865132823066470938446095505"
                           "8223172535940812848111745028410270193852110555]",
                       NULL), WM_OK);
    CHECK(json_as_double(json_at(&d.root, 0), &x) && x == 0.1);
    CHECK(json_as_double(json_at(&d.root, 1), &x) &&
          x == 3.141592653589793);
    /* A locale with a decimal comma must not change the result. */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") ||
        setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        CHECK(json_as_double(json_at(&d.root, 0), &x) && x == 0.1);
        CHECK(json_as_double(json_at(&d.root, 1), &x) &&
              x == 3.141592653589793);
        setlocale(LC_NUMERIC, "C");
    }
    json_doc_free(&d);
}

static void test_syntax_errors(void) {
    CHECK(bad("") && bad("   ") && bad("[1,]") && bad("{\"a\":1,}"));
    CHECK(bad("[1 2]") && bad("{\"a\" 1}") && bad("{a:1}") && bad("{1:1}"));
    CHECK(bad("[") && bad("{") && bad("]") && bad("{\"a\":}"));
    CHECK(bad("tru") && bad("nul") && bad("True") && bad("truex"));
    CHECK(bad("1 2") && bad("{} x") && bad("[] []"));
    CHECK(bad("// c\n1") && bad("/* c */ 1") && bad("[1] // c"));
    CHECK(bad("\xEF\xBB\xBF{}"));        /* BOM */
    CHECK(bad("[\x01]") && bad("\f1"));  /* not JSON whitespace */
    CHECK(bad("[,1]") && bad("[1,,2]") && bad("{,}"));

    /* Embedded NUL in the input is not the end of the input. */
    json_doc d;
    json_error e;
    CHECK_EQ_INT(json_parse(&d, "[1]\0", 4, NULL, &e), WM_ERR_MALFORMED);
    CHECK_EQ_INT(e.off, 3);
    CHECK_EQ_INT(json_parse(&d, NULL, 0, NULL, &e), WM_ERR_MALFORMED);

    /* Line and column (1-based, bytes) of the offending byte. */
    CHECK_EQ_INT(parse(&d, "{\n  \"a\": tru\n}", &e), WM_ERR_MALFORMED);
    CHECK_EQ_INT(e.line, 2);
    CHECK_EQ_INT(e.col, 8);
    CHECK_EQ_INT(e.off, 9);
    CHECK(strstr(e.msg, "literal") != NULL);
    CHECK_EQ_INT(parse(&d, "[1,\n2,\n\n  3,]", &e), WM_ERR_MALFORMED);
    CHECK_EQ_INT(e.line, 4);
    CHECK_EQ_INT(e.col, 5);
    CHECK(strstr(e.msg, "trailing comma") != NULL);
    CHECK_EQ_INT(parse(&d, "\"ab\\q\"", &e), WM_ERR_MALFORMED);
    CHECK_EQ_INT(e.col, 4);
    CHECK_EQ_INT(parse(&d, "[\"x\",\n \"unterminated]", &e),
                 WM_ERR_MALFORMED);
    CHECK_EQ_INT(e.line, 2);
    CHECK_EQ_INT(e.col, 2);
    CHECK(strstr(e.msg, "unterminated string") != NULL);
    CHECK_EQ_INT(d.root.type, JSON_NULL);     /* failed doc is empty */
    json_doc_free(&d);
}

static void test_limits(void) {
    enum { N = 300 };
    char s[2 * N + 1];
    json_doc d;
    json_error e;
    /* Default depth cap 256: 256 levels parse, 257 do not. */
    for (int depth = 255; depth <= 258; depth++) {
        memset(s, '[', (size_t)depth);
        memset(s + depth, ']', (size_t)depth);
        wm_status st = json_parse(&d, s, 2 * (size_t)depth, NULL, &e);
        CHECK_EQ_INT(st, depth <= 256 ? WM_OK : WM_ERR_LIMIT);
        json_doc_free(&d);
    }
    json_limits lim = {.max_depth = 2};
    CHECK_EQ_INT(json_parse(&d, "[[1]]", 5, &lim, &e), WM_OK);
    json_doc_free(&d);
    CHECK_EQ_INT(json_parse(&d, "[{\"a\":[]}]", 10, &lim, &e), WM_ERR_LIMIT);
    CHECK(strstr(e.msg, "nesting") != NULL);
    CHECK_EQ_INT(e.col, 7);

    /* Deep nesting far past any cap fails cleanly (no stack overflow). */
    size_t big = 1u << 20;
    char *deep = malloc(big);
    if (deep) {
        memset(deep, '[', big);
        lim.max_depth = 1000000;                 /* clamped */
        CHECK_EQ_INT(json_parse(&d, deep, big, &lim, &e), WM_ERR_LIMIT);
        free(deep);
    }

    /* Memory cap. */
    lim = (json_limits){.max_bytes = 4096};
    char arr[8192];
    size_t n = 0;
    arr[n++] = '[';
    for (int i = 0; i < 1000; i++) { arr[n++] = '1'; arr[n++] = ','; }
    arr[n - 1] = ']';
    CHECK_EQ_INT(json_parse(&d, arr, n, &lim, &e), WM_ERR_LIMIT);
    CHECK_EQ_INT(json_parse(&d, arr, n, NULL, &e), WM_OK);
    CHECK_EQ_INT(d.root.len, 1000);
    json_doc_free(&d);

    /* A large flat document. */
    size_t cap = 200000 * 8 + 16;
    char *flat = malloc(cap);
    if (flat) {
        n = 0;
        flat[n++] = '[';
        for (int i = 0; i < 200000; i++)
            n += (size_t)snprintf(flat + n, cap - n, "%d,", i);
        flat[n - 1] = ']';
        CHECK_EQ_INT(json_parse(&d, flat, n, NULL, &e), WM_OK);
        int64_t v = 0;
        CHECK(d.root.len == 200000 &&
              json_as_int64(json_at(&d.root, 199999), &v) && v == 199999);
        json_doc_free(&d);
        free(flat);
    }
}

/* Mutate valid documents byte by byte (deterministic LCG) and parse each
 * mutant: any status is fine, a crash or sanitizer report is not. Also
 * checks that every accepted mutant yields a consistent tree. */
static uint32_t rng_next(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static int tree_ok(const json_value *v) {
    switch (v->type) {
    case JSON_ARRAY:
        for (uint32_t i = 0; i < v->len; i++)
            if (!tree_ok(&v->u.elems[i])) return 0;
        return 1;
    case JSON_OBJECT:
        for (uint32_t i = 0; i < v->len; i++)
            if (v->u.members[i].key[v->u.members[i].key_len] != 0 ||
                !tree_ok(&v->u.members[i].val))
                return 0;
        return 1;
    case JSON_STRING: return v->u.str[v->len] == 0;
    case JSON_NUMBER: return strlen(v->u.num) == v->len;
    default: return 1;
    }
}

static void test_mutations(void) {
    static const char *seeds[] = {
        "{\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\uD83D\\uDE00\"]}",
        "[{\"type\": \"f32\", \"value\": \"2143289344\"}, {}, [], [[[]]]]",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\xC3\xA9\xE2\x82\xAC\"",
        "{\"k\":{\"k\":{\"k\":[0,1e-5,\"\"]}}}",
    };
    static const char alphabet[] = "{}[]\",:\\u0123456789.eE+-tfnrl \x80\xC3"
                                   "\xED\xF0\xFF\x00";
    uint32_t seed = 12345;
    int crashes_would_show = 0, accepted = 0, consistent = 0;
    char buf[256];
    for (int it = 0; it < 40000; it++) {
        const char *src = seeds[it % 4];
        size_t n = strlen(src);
        memcpy(buf, src, n);
        int k = 1 + (int)(rng_next(&seed) % 4);
        for (int m = 0; m < k; m++) {
            uint32_t op = rng_next(&seed) % 3, pos = rng_next(&seed);
            char c = alphabet[rng_next(&seed) % (sizeof alphabet - 1)];
            if (op == 0 && n) buf[pos % n] = c;                 /* replace */
            else if (op == 1 && n < sizeof buf - 1) {          /* insert */
                size_t p = pos % (n + 1);
                memmove(buf + p + 1, buf + p, n - p);
                buf[p] = c;
                n++;
            } else if (n) {                                     /* delete */
                size_t p = pos % n;
                memmove(buf + p, buf + p + 1, n - p - 1);
                n--;
            }
        }
        /* Parse from a heap copy of exactly n bytes, so ASan catches any
         * read past the end. */
        char *exact = malloc(n ? n : 1);
        if (!exact) continue;
        memcpy(exact, buf, n);
        json_doc d;
        json_error e;
        wm_status st = json_parse(&d, exact, n, NULL, &e);
        if (st == WM_OK) {
            accepted++;
            consistent += tree_ok(&d.root);
        } else if (!e.msg[0] || e.off > n || e.line < 1 || e.col < 1) {
            crashes_would_show++;
        }
        json_doc_free(&d);
        free(exact);
    }
    CHECK_EQ_INT(crashes_would_show, 0);
    CHECK_EQ_INT(consistent, accepted);
    CHECK(accepted > 0);
}

int main(void) {
    test_tree();
    test_strings();
    test_numbers();
    test_syntax_errors();
    test_limits();
    test_mutations();
    return TEST_REPORT();
}
