/*
 * t_tokenizer.c — tokenizers against llama.cpp's test vectors
 * (MODELS_DIR/vocab/ggml-vocab-*.gguf + .inp/.out: every line must match,
 * tokenized as llama.cpp's test-tokenizer-0 does: no BOS, no special
 * parsing), detokenisation round trips, special tokens, streaming UTF-8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "llm/gguf.h"
#include "llm/tokenizer.h"

static const char *models_dir(void) {
    const char *d = getenv("MODELS_DIR");
    return d && *d ? d : "../shared/models";
}

static char *read_all(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* Detokenize ids (as a generation loop would, streaming) into out. */
static size_t detok_all(const llm_vocab *v, const int32_t *ids, int64_t n,
                        char *out, size_t cap) {
    llm_detok d;
    llm_detok_init(&d);
    size_t o = 0;
    for (int64_t i = 0; i < n; i++)
        o += llm_detok_push(v, &d, ids[i], out + o, cap - o);
    o += llm_detok_flush(&d, out + o, cap - o);
    return o;
}

static int tokenize_vec(const llm_vocab *v, const char *s, size_t n,
                        bool bos, bool special, int32_t **ids, int64_t *nid) {
    int64_t k = llm_tokenize(v, s, n, bos, special, NULL, 0, NULL);
    if (k < 0) return -1;
    *ids = malloc((size_t)(k ? k : 1) * sizeof **ids);
    int64_t k2 = llm_tokenize(v, s, n, bos, special, *ids, k, NULL);
    if (k2 != k) return -1;
    *nid = k;
    return 0;
}

static void run_vectors(const char *name) {
    char path[1024], pin[1100], pout[1100];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", models_dir(),
             name);
    snprintf(pin, sizeof pin, "%s.inp", path);
    snprintf(pout, sizeof pout, "%s.out", path);
    gguf_file *f = NULL;
    llm_vocab *v = NULL;
    wm_error err;
    CHECK(gguf_open(path, &f, &err) == WM_OK);
    if (!f) return;
    CHECK(llm_vocab_load(f, &v, &err) == WM_OK);
    gguf_close(f);   /* the vocabulary copies what it needs */
    if (!v) return;
    size_t ninp, nout;
    char *inp = read_all(pin, &ninp), *outs = read_all(pout, &nout);
    CHECK(inp && outs);
    if (!inp || !outs) goto done;
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t seplen = strlen(sep);
    char *ip = inp, *op = outs;
    int n_tests = 0, n_ok = 0, n_rt = 0, n_rt_ok = 0;
    while (ip < inp + ninp) {
        char *e = strstr(ip, sep);
        size_t slen = e ? (size_t)(e - ip) : strlen(ip);
        char *nl = strchr(op, '\n');
        if (!nl) break;
        *nl = 0;
        /* Expected ids. */
        int32_t want[4096];
        int64_t nw = 0;
        for (char *q = op; *q;) {
            while (*q == ' ') q++;
            if (!*q) break;
            want[nw++] = (int32_t)strtol(q, &q, 10);
        }
        int32_t *got = NULL;
        int64_t ng = 0;
        bool ok = tokenize_vec(v, ip, slen, false, false, &got, &ng) == 0 &&
                  ng == nw && memcmp(got, want, (size_t)nw * 4) == 0;
        n_tests++;
        if (ok) n_ok++;
        else {
            fprintf(stderr, "%s: test %d '%.*s': expected", name, n_tests,
                    (int)slen, ip);
            for (int64_t i = 0; i < nw; i++) fprintf(stderr, " %d", want[i]);
            fprintf(stderr, "\n   got");
            for (int64_t i = 0; i < ng; i++) fprintf(stderr, " %d", got[i]);
            fprintf(stderr, "\n");
        }
        /* Round trip: detokenize(tokenize(s)) == s. */
        if (got) {
            size_t cap = slen * 4 + 64;
            char *back = malloc(cap);
            size_t bn = detok_all(v, got, ng, back, cap);
            n_rt++;
            if (bn == slen && memcmp(back, ip, slen) == 0) n_rt_ok++;
            else fprintf(stderr, "%s: round trip %d: '%.*s' -> '%.*s'\n",
                         name, n_tests, (int)slen, ip, (int)bn, back);
            free(back);
        }
        free(got);
        op = nl + 1;
        ip = e ? e + seplen : ip + slen;
    }
    printf("%s: %d/%d vectors, %d/%d round trips\n", name, n_ok, n_tests,
           n_rt_ok, n_rt);
    CHECK(n_tests == 46);
    CHECK_EQ_INT(n_ok, n_tests);
    CHECK_EQ_INT(n_rt_ok, n_rt);
done:
    free(inp);
    free(outs);
    llm_vocab_free(v);
}


static llm_vocab *load(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", models_dir(),
             name);
    gguf_file *f = NULL;
    llm_vocab *v = NULL;
    wm_error err;
    if (gguf_open(path, &f, &err) == WM_OK) llm_vocab_load(f, &v, &err);
    gguf_close(f);
    return v;
}

/* Special tokens, BOS, EOG, count-then-fill, invalid UTF-8, streaming. */
static void test_details(void) {
    llm_vocab *v = load("llama-bpe");
    CHECK(v != NULL);
    if (v) {
        const char *s = "<|begin_of_text|>Hello<|eot_id|>";
        int32_t ids[16];
        int64_t n = llm_tokenize(v, s, strlen(s), false, true, ids, 16, NULL);
        CHECK(n == 3 && ids[0] == 128000 && ids[2] == 128009);
        CHECK(ids[1] == llm_token_find(v, "Hello", 5));
        /* Without parse_special the markers are plain text. */
        n = llm_tokenize(v, s, strlen(s), false, false, ids, 16, NULL);
        CHECK(n > 3 && ids[0] != 128000);
        CHECK(llm_vocab_kind(v) == LLM_VOCAB_BPE && llm_vocab_add_bos(v));
        CHECK(llm_token_is_eog(v, 128009) && llm_token_is_eog(v, 128001) &&
              !llm_token_is_eog(v, 128000));
        n = llm_tokenize(v, "Hi", 2, true, false, ids, 16, NULL);
        CHECK(n == 2 && ids[0] == llm_token_bos(v));
        /* Count first (cap 0), then a too-small buffer is not overrun. */
        const char *t = "one two three four";
        int64_t total = llm_tokenize(v, t, strlen(t), false, false, NULL, 0,
                                     NULL);
        int32_t small[2] = {-7, -7}, guard = -7;
        CHECK(total == 4 &&
              llm_tokenize(v, t, strlen(t), false, false, small, 1, NULL) ==
                  total && small[1] == -7 && guard == -7);
        /* Invalid UTF-8 survives as bytes. */
        const char bad[] = "a\xff\xc3(b\xe2\x82";
        int32_t *got = NULL;
        int64_t ng = 0;
        CHECK(tokenize_vec(v, bad, sizeof bad - 1, false, false, &got,
                           &ng) == 0);
        char out[64];
        size_t on = 0;
        for (int64_t i = 0; i < ng; i++) {
            size_t k;
            const char *p = llm_token_text(v, got[i], false, &k);
            memcpy(out + on, p, k);
            on += k;
        }
        CHECK(on == sizeof bad - 1 && memcmp(out, bad, on) == 0);
        free(got);
        size_t k;
        llm_token_text(v, 128000, false, &k);
        CHECK(k == 0);
        CHECK(strncmp(llm_token_text(v, 128000, true, &k),
                      "<|begin_of_text|>", 17) == 0);
        llm_vocab_free(v);
    }
    v = load("llama-spm");
    CHECK(v != NULL);
    if (v) {
        CHECK(llm_vocab_kind(v) == LLM_VOCAB_SPM && llm_vocab_add_bos(v));
        CHECK(llm_token_bos(v) == 1 && llm_token_eos(v) == 2);
        CHECK(llm_vocab_size(v) == 32000);
        /* A llama emoji is byte-fallback tokens: the detokenizer prints
         * nothing until its 4 bytes are complete. */
        const char *s = " \xf0\x9f\xa6\x99!";
        int32_t ids[16];
        int64_t n = llm_tokenize(v, s, strlen(s), true, false, ids, 16, NULL);
        CHECK(n >= 6 && ids[0] == 1);
        llm_detok d;
        llm_detok_init(&d);
        char out[64];
        size_t o = 0, after[16];
        for (int64_t i = 0; i < n; i++) {
            o += llm_detok_push(v, &d, ids[i], out + o, sizeof out - o);
            after[i] = o;
        }
        o += llm_detok_flush(&d, out + o, sizeof out - o);
        CHECK(o == strlen(s) && memcmp(out, s, o) == 0);
        /* BOS, then "▁" + 3 partial bytes print nothing but the space. */
        size_t pc;
        const char *pp = llm_token_piece(v, ids[2], &pc);
        CHECK(pc == 6 && memcmp(pp, "<0xF0>", 6) == 0);
        CHECK(after[2] == after[1] && after[3] == after[1] &&
              after[4] == after[1] && after[5] == after[1] + 4);
        /* A dangling lead byte is flushed as U+FFFD. */
        llm_detok_init(&d);
        o = llm_detok_push(v, &d, ids[2], out, sizeof out);
        CHECK(o == 0);
        o = llm_detok_flush(&d, out, sizeof out);
        CHECK(o == 3 && memcmp(out, "\xef\xbf\xbd", 3) == 0);
        llm_vocab_free(v);
    }
}

int main(void) {
    test_details();
    run_vectors("llama-spm");
    run_vectors("phi-3");
    run_vectors("gpt-2");
    run_vectors("llama-bpe");
    run_vectors("qwen2");
    return TEST_REPORT();
}
