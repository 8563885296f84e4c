/*
 * t_gguf.c — the GGUF reader on real files, the writer round trip, and
 * hostile files built here byte by byte: every truncation of a valid
 * file, bad magic/version, huge counts, lengths past the end, bad types,
 * nested arrays, overflowing/negative dimensions, misaligned, overlapping
 * and out-of-file tensor data, duplicates, bad alignment. Each must fail
 * with WM_ERR_FORMAT, a location and a message naming the problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "llm/gguf.h"
#include "llm/quant.h"

static const char *env_or(const char *k, const char *d) {
    const char *v = getenv(k);
    return v && *v ? v : d;
}

/* ==== A tiny GGUF builder =============================================== */

typedef struct buf {
    uint8_t p[4096];
    size_t n;
} buf;

static void b_u32(buf *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b->p[b->n++] = (uint8_t)(v >> (8 * i));
}
static void b_u64(buf *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b->p[b->n++] = (uint8_t)(v >> (8 * i));
}
static void b_strn(buf *b, const char *s, uint64_t claimed) {
    b_u64(b, claimed);
    size_t n = strlen(s);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void b_str(buf *b, const char *s) { b_strn(b, s, strlen(s)); }

/* Every field of the test file that a case may corrupt. */
typedef struct spec {
    uint32_t magic, version;
    uint64_t n_tensors, n_kv;       /* header counts */
    uint64_t key0_len;              /* claimed length of the first key */
    const char *key1;
    uint32_t kv1_type;
    uint32_t arr_type;              /* kv2 element type */
    uint64_t arr_n;                 /* kv2 length (3 elements present) */
    uint64_t strs_n;                /* kv3 length (2 strings present) */
    uint64_t str1_len;              /* claimed length of kv3's "yz" */
    int align_kind;                 /* 0 none, 1 u32, 2 string */
    uint32_t align;
    uint32_t t0_type, t0_dims;
    uint64_t t0_ne[4];
    const char *t1_name;
    uint64_t t1_off;
} spec;

static spec base_spec(void) {
    spec s = {
        .magic = GGUF_MAGIC, .version = 3, .n_tensors = 2, .n_kv = 4,
        .key0_len = 20, .key1 = "a.u32", .kv1_type = GGUF_T_UINT32,
        .arr_type = GGUF_T_INT32, .arr_n = 3, .strs_n = 2, .str1_len = 2,
        .t0_type = LLM_F32, .t0_dims = 2, .t0_ne = {4, 2, 1, 1},
        .t1_name = "t1", .t1_off = 32,
    };
    return s;
}

/*
 * kv0 "general.architecture" = "test"; kv1 a.u32 = 7; kv2 a.arr = i32
 * [1,2,3]; kv3 a.strs = ["x","yz"]; (kv4 general.alignment); tensors t0
 * F32 {4,2} @0 and t1 F32 {8} @t1_off; 64 data bytes (values 0..15).
 */
static void build(const spec *s, buf *b) {
    b->n = 0;
    b_u32(b, s->magic);
    b_u32(b, s->version);
    b_u64(b, s->n_tensors);
    b_u64(b, s->n_kv + (s->align_kind ? 1 : 0));
    b_strn(b, "general.architecture", s->key0_len);
    b_u32(b, GGUF_T_STRING);
    b_str(b, "test");
    b_str(b, s->key1);
    b_u32(b, s->kv1_type);
    b_u32(b, 7);
    b_str(b, "a.arr");
    b_u32(b, GGUF_T_ARRAY);
    b_u32(b, s->arr_type);
    b_u64(b, s->arr_n);
    for (uint32_t i = 1; i <= 3; i++) b_u32(b, i);
    b_str(b, "a.strs");
    b_u32(b, GGUF_T_ARRAY);
    b_u32(b, GGUF_T_STRING);
    b_u64(b, s->strs_n);
    b_str(b, "x");
    b_strn(b, "yz", s->str1_len);
    if (s->align_kind == 1) {
        b_str(b, "general.alignment");
        b_u32(b, GGUF_T_UINT32);
        b_u32(b, s->align);
    } else if (s->align_kind == 2) {
        b_str(b, "general.alignment");
        b_u32(b, GGUF_T_STRING);
        b_str(b, "32");
    }
    b_str(b, "t0");
    b_u32(b, s->t0_dims);
    for (uint32_t d = 0; d < s->t0_dims && d < 8; d++)
        b_u64(b, d < 4 ? s->t0_ne[d] : 1);
    b_u32(b, s->t0_type);
    b_u64(b, 0);
    b_str(b, s->t1_name);
    b_u32(b, 1);
    b_u64(b, 8);
    b_u32(b, LLM_F32);
    b_u64(b, s->t1_off);
    uint32_t al = s->align_kind == 1 && s->align ? s->align : 32;
    while (b->n % al) b->p[b->n++] = 0;
    for (int i = 0; i < 16; i++) {
        float f = (float)i;
        uint32_t u;
        memcpy(&u, &f, 4);
        b_u32(b, u);
    }
}

/* Expect a clean rejection mentioning `what`. */
static void expect_bad(const char *label, const spec *s, const char *what) {
    buf b;
    build(s, &b);
    gguf_file *f = (gguf_file *)1;
    wm_error err;
    wm_status st = gguf_open_buffer(b.p, b.n, "bad.gguf", &f, &err);
    bool ok = st == WM_ERR_FORMAT && f == NULL && strstr(err.msg, what) &&
              strcmp(err.where, "bad.gguf") == 0 && err.byte_off >= 0 &&
              (size_t)err.byte_off <= b.n;
    CHECK(ok);
    char line[512];
    wm_error_format(&err, line, sizeof line);
    if (!ok) fprintf(stderr, "  %s: status %d: %s\n", label, st, line);
    else printf("  %-22s %s\n", label, line);
    if (f) gguf_close(f);
}

static void test_hostile(void) {
    printf("hostile files:\n");
    spec s = base_spec();
    buf b;
    build(&s, &b);
    gguf_file *f = NULL;
    wm_error err;
    CHECK(gguf_open_buffer(b.p, b.n, "ok.gguf", &f, &err) == WM_OK);
    if (f) {
        CHECK_EQ_INT(f->n_tensors, 2);
        CHECK_EQ_INT(f->tensors[1].offset, 32);
        const float *d = f->tensors[1].data;
        CHECK(d[0] == 8.0f && d[7] == 15.0f);
        const gguf_kv *kv = gguf_find(f, "a.strs");
        CHECK(kv && kv->n == 2 && gguf_str_eq(kv->strs[1], "yz"));
        gguf_close(f);
    }

    /* Every truncation of the valid file fails cleanly. */
    size_t n_fail = 0;
    bool all_clean = true;
    for (size_t cut = 0; cut < b.n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);   /* exact size for ASan */
        memcpy(copy, b.p, cut);
        f = NULL;
        wm_status st = gguf_open_buffer(copy, cut, "cut.gguf", &f, &err);
        if (st == WM_ERR_FORMAT && !f && err.byte_off >= 0 &&
            (size_t)err.byte_off <= cut && err.msg[0])
            n_fail++;
        else
            all_clean = false;
        gguf_close(f);
        free(copy);
    }
    printf("  %zu/%zu truncations rejected\n", n_fail, b.n);
    CHECK(all_clean);
    CHECK_EQ_INT(n_fail, b.n);

    spec c;
#define CASE(label, field_assign, what)                                     \
    do {                                                                    \
        c = base_spec();                                                    \
        field_assign;                                                       \
        expect_bad(label, &c, what);                                        \
    } while (0)
    CASE("bad magic", c.magic = 0x58554747, "bad magic");
    CASE("version 1", c.version = 1, "unsupported version");
    CASE("version 4", c.version = 4, "unsupported version");
    CASE("huge kv count", c.n_kv = (uint64_t)1 << 40, "metadata count");
    CASE("huge tensor count", c.n_tensors = (uint64_t)1 << 40,
         "tensor count");
    CASE("more kvs than present", c.n_kv = 9, "");
    CASE("key past end", c.key0_len = (uint64_t)1 << 40, "string length");
    CASE("bad value type", c.kv1_type = 13, "bad value type 13");
    CASE("nested array", c.arr_type = GGUF_T_ARRAY, "nested arrays");
    CASE("bad element type", c.arr_type = 77, "bad array element type");
    CASE("huge array", c.arr_n = (uint64_t)1 << 61, "array length");
    CASE("long array", c.arr_n = 1000, "exceeds remaining file size");
    CASE("huge string array", c.strs_n = (uint64_t)1 << 40, "array length");
    CASE("long string array", c.strs_n = 1000, "strings exceeds remaining");
    CASE("string past end", c.str1_len = 5000, "past end of file");
    CASE("bad tensor type", c.t0_type = 99, "bad type 99");
    CASE("5 dimensions", c.t0_dims = 5, "5 dimensions");
    CASE("negative dimension", c.t0_ne[1] = (uint64_t)-2, "negative");
    CASE("overflowing dims",
         (c.t0_ne[0] = (uint64_t)1 << 32, c.t0_ne[1] = (uint64_t)1 << 32),
         "overflows");
    CASE("overflowing bytes", (c.t0_dims = 1, c.t0_ne[0] = (uint64_t)1 << 62),
         "byte size overflows");
    CASE("row not in blocks", (c.t0_type = LLM_Q8_0, c.t0_ne[0] = 33),
         "not a multiple of the block size");
    CASE("misaligned data", c.t1_off = 4, "not a multiple of the alignment");
    CASE("overlapping data", c.t1_off = 0, "overlaps");
    CASE("data past end", c.t1_off = 64, "past end of file");
    CASE("data far past end", c.t1_off = (uint64_t)-32, "past end of file");
    CASE("duplicate key", c.key1 = "general.architecture", "duplicate key");
    CASE("duplicate tensor", c.t1_name = "t0", "duplicate name");
    CASE("alignment 3", (c.align_kind = 1, c.align = 3), "power of two");
    CASE("alignment 0", (c.align_kind = 1, c.align = 0), "power of two");
    CASE("alignment string", c.align_kind = 2, "expected u32");
#undef CASE
    /* A valid non-default alignment is honoured. */
    c = base_spec();
    c.align_kind = 1;
    c.align = 64;
    c.t1_off = 64;
    build(&c, &b);
    memset(b.p + b.n, 0, 64);   /* t1 at data+64: pad the data section */
    b.n += 64;
    CHECK(gguf_open_buffer(b.p, b.n, "al.gguf", &f, &err) == WM_OK);
    if (f) {
        CHECK_EQ_INT(f->alignment, 64);
        CHECK_EQ_INT(f->data_off % 64, 0);
        gguf_close(f);
    }
    CHECK(gguf_open("/nonexistent/x.gguf", &f, &err) == WM_ERR_NOT_FOUND &&
          f == NULL && strstr(err.where, "x.gguf"));
}

/* ==== Real files ======================================================== */

static void test_real(const char *md) {
    char path[512];
    snprintf(path, sizeof path, "%s/stories260K.gguf", md);
    gguf_file *f = NULL;
    wm_error err;
    CHECK(gguf_open(path, &f, &err) == WM_OK);
    if (!f) return;
    CHECK_EQ_INT(f->version, 3);
    CHECK_EQ_INT(f->n_tensors, 48);
    CHECK_EQ_INT(f->n_kv, 19);
    CHECK_EQ_INT(f->alignment, 32);
    CHECK(f->mapped);
    gguf_str s;
    CHECK(gguf_get_str(f, "general.architecture", &s) &&
          gguf_str_eq(s, "llama"));
    uint32_t u = 0;
    int64_t i64 = 0;
    float x = 0;
    bool bo;
    CHECK(gguf_get_u32(f, "llama.embedding_length", &u) && u == 64);
    CHECK(gguf_get_i64(f, "llama.block_count", &i64) && i64 == 5);
    CHECK(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &x) &&
          x == 1e-5f);
    CHECK(gguf_get_i64(f, "tokenizer.ggml.padding_token_id", &i64) &&
          i64 == 4294967295LL);
    CHECK(!gguf_get_u32(f, "general.architecture", &u));   /* a string */
    CHECK(!gguf_get_f32(f, "llama.block_count", &x));     /* an integer */
    CHECK(!gguf_get_bool(f, "llama.block_count", &bo));
    CHECK(!gguf_get_str(f, "no.such.key", &s));
    const gguf_kv *kv = gguf_find(f, "tokenizer.ggml.tokens");
    CHECK(kv && kv->type == GGUF_T_ARRAY && kv->arr_type == GGUF_T_STRING &&
          kv->n == 512 && gguf_str_eq(kv->strs[1], "<s>"));
    const gguf_kv *sc = gguf_find(f, "tokenizer.ggml.scores");
    CHECK(sc && gguf_arr_f32(sc, 300, &x) && !gguf_arr_f32(sc, 512, &x));
    CHECK(!gguf_arr_i64(sc, 0, &i64));                   /* floats */
    const gguf_tensor *t = gguf_find_tensor(f, "blk.4.ffn_down.weight");
    CHECK(t && t->type == LLM_F32 && t->n_dims == 2 && t->ne[0] == 172 &&
          t->ne[1] == 64 && t->nbytes == 172 * 64 * 4);
    CHECK(t && (const uint8_t *)t->data + t->nbytes <= f->base + f->size &&
          ((uintptr_t)t->data % 32) == 0);
    CHECK(gguf_find_tensor(f, "blk.5.ffn_down.weight") == NULL);
    gguf_close(f);

    static const char *const vocabs[] = {"llama-spm", "llama-bpe", "qwen2",
                                         "gpt-2", "phi-3"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", md,
                 vocabs[i]);
        f = NULL;
        CHECK(gguf_open(path, &f, &err) == WM_OK);
        if (f) CHECK(gguf_find(f, "tokenizer.ggml.tokens") != NULL);
        gguf_close(f);
    }
}

/* ==== Writer round trip ================================================= */

static void test_writer(const char *md, const char *tmp) {
    char src_path[512], path[512];
    snprintf(src_path, sizeof src_path, "%s/stories260K.gguf", md);
    snprintf(path, sizeof path, "%s/t_gguf-rt.gguf", tmp);
    gguf_file *src = NULL;
    wm_error err;
    CHECK(gguf_open(src_path, &src, &err) == WM_OK);
    if (!src) return;

    float m[6] = {1, 2, 3, 4, 5, 6};
    float vec[3] = {-1, 0.5f, 1e30f};
    uint8_t q8[2 * 2 * 34];   /* Q8_0 {64, 2}: 2 blocks per row */
    for (size_t i = 0; i < sizeof q8; i++) q8[i] = (uint8_t)(i * 7);
    gguf_str strs[3] = {{"alpha", 5}, {"", 0}, {"\xe2\x96\x81x", 4}};
    int32_t ints[4] = {-5, 0, 7, INT32_MAX};

    gguf_writer *w = gguf_writer_new(64);
    gguf_w_str(w, "general.architecture", "test");
    gguf_w_u32(w, "t.u32", 1);
    gguf_w_u32(w, "t.u32", 4000000000u);   /* replaces, keeps position */
    gguf_w_i32(w, "t.i32", -123);
    gguf_w_f32(w, "t.f32", 0.25f);
    gguf_w_bool(w, "t.bool", true);
    gguf_w_arr_str(w, "t.strs", strs, 3);
    gguf_w_arr_str(w, "t.empty", strs, 0);
    gguf_w_arr_f32(w, "t.f32s", vec, 3);
    gguf_w_arr_i32(w, "t.i32s", ints, 4);
    gguf_w_copy_kv(w, src, "tokenizer.");
    int64_t ne2[2] = {3, 2}, ne1[1] = {3}, neq[2] = {64, 2};
    gguf_w_tensor(w, "m", LLM_F32, 2, ne2, m);
    gguf_w_tensor(w, "v", LLM_F32, 1, ne1, vec);
    gguf_w_tensor(w, "q", LLM_Q8_0, 2, neq, q8);
    CHECK(gguf_writer_write(w, path, &err) == WM_OK);
    gguf_writer_free(w);

    gguf_file *f = NULL;
    CHECK(gguf_open(path, &f, &err) == WM_OK);
    if (f) {
        CHECK_EQ_INT(f->alignment, 64);
        CHECK_EQ_INT(f->data_off % 64, 0);
        uint32_t u = 0;
        int64_t i = 0;
        float x = 0;
        bool b = false;
        gguf_str s;
        /* 9 own + general.alignment + 9 tokenizer.* keys */
        CHECK_EQ_INT(f->n_kv, 9 + 1 + 9);
        CHECK(gguf_str_eq(f->kv[1].key, "general.alignment") ||
              gguf_str_eq(f->kv[0].key, "general.alignment"));
        CHECK(gguf_get_u32(f, "t.u32", &u) && u == 4000000000u);
        CHECK(gguf_get_i64(f, "t.i32", &i) && i == -123);
        CHECK(!gguf_get_u32(f, "t.i32", &u));            /* negative */
        CHECK(gguf_get_f32(f, "t.f32", &x) && x == 0.25f);
        CHECK(gguf_get_bool(f, "t.bool", &b) && b);
        CHECK(gguf_get_str(f, "general.architecture", &s) &&
              gguf_str_eq(s, "test"));
        const gguf_kv *kv = gguf_find(f, "t.strs");
        CHECK(kv && kv->n == 3 && gguf_str_eq(kv->strs[0], "alpha") &&
              kv->strs[1].len == 0 && gguf_str_eq(kv->strs[2], "\xe2\x96\x81x"));
        kv = gguf_find(f, "t.empty");
        CHECK(kv && kv->n == 0 && kv->arr_type == GGUF_T_STRING);
        kv = gguf_find(f, "t.f32s");
        CHECK(kv && gguf_arr_f32(kv, 2, &x) && x == 1e30f);
        kv = gguf_find(f, "t.i32s");
        CHECK(kv && gguf_arr_i64(kv, 0, &i) && i == -5 &&
              gguf_arr_i64(kv, 3, &i) && i == INT32_MAX &&
              gguf_arr_f32(kv, 2, &x) && x == 7.0f);
        /* Copied metadata equals the source, string arrays included. */
        const gguf_kv *a = gguf_find(f, "tokenizer.ggml.tokens");
        const gguf_kv *o = gguf_find(src, "tokenizer.ggml.tokens");
        bool same = a && o && a->n == o->n;
        for (uint64_t k = 0; same && k < a->n; k++)
            same = a->strs[k].len == o->strs[k].len &&
                   memcmp(a->strs[k].ptr, o->strs[k].ptr,
                          (size_t)a->strs[k].len) == 0;
        CHECK(same);
        CHECK(gguf_get_u32(f, "tokenizer.ggml.bos_token_id", &u) && u == 1);
        CHECK(gguf_find(f, "llama.block_count") == NULL);
        const gguf_tensor *t = gguf_find_tensor(f, "m");
        CHECK(t && t->ne[0] == 3 && t->ne[1] == 2 && t->nbytes == 24 &&
              memcmp(t->data, m, 24) == 0 && t->offset % 64 == 0);
        t = gguf_find_tensor(f, "v");
        CHECK(t && t->n_dims == 1 && memcmp(t->data, vec, 12) == 0 &&
              t->offset % 64 == 0);
        t = gguf_find_tensor(f, "q");
        CHECK(t && t->type == LLM_Q8_0 && t->nbytes == sizeof q8 &&
              memcmp(t->data, q8, sizeof q8) == 0);
        gguf_close(f);
    }
    /* Invalid tensors are reported by write, nothing is created. */
    snprintf(path, sizeof path, "%s/t_gguf-bad.gguf", tmp);
    remove(path);
    w = gguf_writer_new(32);
    int64_t bad[2] = {33, 1};
    gguf_w_tensor(w, "q", LLM_Q8_0, 2, bad, q8);
    CHECK(gguf_writer_write(w, path, &err) == WM_ERR_ARG &&
          strstr(err.msg, "'q'"));
    gguf_writer_free(w);
    w = gguf_writer_new(32);
    gguf_w_tensor(w, "a", LLM_F32, 1, ne1, vec);
    gguf_w_tensor(w, "a", LLM_F32, 1, ne1, vec);
    CHECK(gguf_writer_write(w, path, &err) == WM_ERR_ARG &&
          strstr(err.msg, "duplicate"));
    gguf_writer_free(w);
    FILE *fp = fopen(path, "rb");
    CHECK(fp == NULL);
    if (fp) fclose(fp);
    /* copy_kv with a NULL prefix copies every key (but the alignment). */
    snprintf(path, sizeof path, "%s/t_gguf-all.gguf", tmp);
    w = gguf_writer_new(32);
    gguf_w_copy_kv(w, src, NULL);
    CHECK(gguf_writer_write(w, path, &err) == WM_OK);
    gguf_writer_free(w);
    gguf_file *all = NULL;
    CHECK(gguf_open(path, &all, &err) == WM_OK);
    if (all) {
        uint64_t n_src = src->n_kv -
                         (gguf_find(src, "general.alignment") != NULL);
        CHECK_EQ_INT(all->n_kv, n_src);
        gguf_close(all);
    }
    remove(path);
    /* Unwritable destination: an i/o error naming the path. */
    w = gguf_writer_new(32);
    CHECK(gguf_writer_write(w, "/nonexistent/dir/x.gguf", &err) == WM_ERR_IO);
    gguf_writer_free(w);
    gguf_close(src);
}

int main(void) {
    const char *md = env_or("MODELS_DIR", "../shared/models");
    const char *tmp = env_or("WM_TMPDIR", "/tmp");
    test_real(md);
    test_writer(md, tmp);
    test_hostile();
    return TEST_REPORT();
}
