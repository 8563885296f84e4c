/*
 * t_golden.c — a real trained model against llama2.c's reference output
 * (../shared/models/README.md): greedy continuation of "Once upon a time"
 * on stories260K, 200 positions, byte for byte — from the GGUF, from the
 * llama2.c .bin pair after conversion, through the CLI, with 1 and 2
 * threads and batched or token-by-token prompt processing — and the 256
 * greedy ids generated from BOS alone.
 *
 * run.c prints the prompt's pieces then the generated ones (BOS not
 * printed, the leading space of the piece after BOS dropped) and a final
 * newline; it runs 200 positions, so it prints 201 - n_prompt generated
 * tokens after a prompt of n_prompt tokens (BOS included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "llm/generate.h"
#include "llm/llama2c.h"
#include "llm/model.h"

static char models[512], tmpdir[512];

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *nb = realloc(b, (cap *= 2) + 1);
            if (!nb) { free(b); b = NULL; break; }
            b = nb;
        }
    }
    fclose(f);
    if (b) b[n] = 0;
    *len = n;
    return b;
}

static bool stop_now(void *ud, const char *t, size_t n) {
    (void)ud, (void)t, (void)n;
    return false;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static bool collect(void *ud, const char *t, size_t n) {
    sbuf *s = ud;
    if (s->n + n + 1 > s->cap) {
        size_t nc = (s->n + n + 1) * 2;
        char *np = realloc(s->p, nc);
        if (!np) return false;
        s->p = np;
        s->cap = nc;
    }
    memcpy(s->p + s->n, t, n);
    s->n += n;
    s->p[s->n] = 0;
    return true;
}

/* Greedy "Once upon a time" on model path; compare with the reference. */
static void golden_text(const char *path, int threads, int batch,
                        const char *want, size_t want_len) {
    wm_error err;
    llm_model *m = NULL;
    llm_ctx *c = NULL;
    CHECK_EQ_INT(llm_model_load(path, &m, &err), WM_OK);
    if (!m) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return;
    }
    llm_ctx_params cp = llm_ctx_default_params();
    cp.n_ctx = 512;
    cp.n_threads = threads;
    cp.n_batch = batch;
    CHECK_EQ_INT(llm_ctx_new(m, &cp, &c, &err), WM_OK);
    const char *prompt = "Once upon a time";
    int32_t ids[64];
    int64_t n_prompt = llm_tokenize(m->vocab, prompt, strlen(prompt), true,
                                    false, ids, 64, &err);
    CHECK(n_prompt > 1 && ids[0] == llm_token_bos(m->vocab));
    llm_gen_params gp = llm_gen_default_params();
    gp.sampling.temp = 0;
    gp.echo_prompt = true;
    gp.parse_special = false;
    gp.n_predict = (int32_t)(201 - n_prompt);
    sbuf out = {0};
    llm_gen_stats st;
    CHECK_EQ_INT(llm_generate(c, prompt, strlen(prompt), &gp, collect, &out,
                              &st, &err), WM_OK);
    collect(&out, "\n", 1);          /* run.c's final newline */
    CHECK_EQ_INT(st.n_prompt + st.n_gen, 201);
    CHECK_EQ_INT(st.stop, LLM_STOP_LENGTH);
    bool same = out.p && out.n == want_len && memcmp(out.p, want, want_len) == 0;
    if (!same)
        fprintf(stderr, "%s (%d threads, batch %d) printed:\n%s\n", path,
                threads, batch, out.p ? out.p : "(null)");
    CHECK(same);
    free(out.p);
    llm_ctx_free(c);
    llm_model_free(m);
}

/* 256 greedy ids from BOS alone. */
static void golden_bos(const char *path, const char *want_path) {
    size_t len;
    char *want = slurp(want_path, &len);
    CHECK(want != NULL);
    if (!want) return;
    int32_t ref[512];
    int n_ref = 0;
    for (char *p = want, *e; n_ref < 512; p = e) {
        long v = strtol(p, &e, 10);
        if (e == p) break;
        ref[n_ref++] = (int32_t)v;
    }
    CHECK_EQ_INT(n_ref, 256);
    wm_error err;
    llm_model *m = NULL;
    llm_ctx *c = NULL;
    llm_gen *g = NULL;
    CHECK_EQ_INT(llm_model_load(path, &m, &err), WM_OK);
    llm_ctx_params cp = llm_ctx_default_params();
    cp.n_ctx = 512;
    cp.n_threads = 2;
    if (m) CHECK_EQ_INT(llm_ctx_new(m, &cp, &c, &err), WM_OK);
    llm_gen_params gp = llm_gen_default_params();
    gp.sampling.temp = 0;
    gp.ignore_eos = true;
    gp.n_predict = n_ref;
    if (c) CHECK_EQ_INT(llm_gen_new(c, &gp, &g, &err), WM_OK);
    if (g && llm_gen_prompt(g, "", 0, &err) == WM_OK) {
        bool done = false;
        while (!done) {
            int32_t tok;
            const char *t;
            size_t tn;
            if (llm_gen_next(g, &tok, &t, &tn, &done, &err)) break;
        }
        int32_t n;
        const int32_t *ids = llm_gen_tokens(g, &n);
        CHECK_EQ_INT(n, 1 + n_ref);
        CHECK_EQ_INT(ids[0], llm_token_bos(m->vocab));
        int same = 0;
        for (int i = 0; i < n_ref && i + 1 < n; i++) same += ids[i + 1] == ref[i];
        CHECK_EQ_INT(same, n_ref);
    } else {
        CHECK(0);
    }
    llm_gen_free(g);
    llm_ctx_free(c);
    llm_model_free(m);
    free(want);
}


/* Stop strings and the step-wise API on the real model. */
static void golden_stop(const char *path) {
    wm_error err;
    llm_model *m = NULL;
    llm_ctx *c = NULL;
    CHECK_EQ_INT(llm_model_load(path, &m, &err), WM_OK);
    if (!m) return;
    llm_ctx_params cp = llm_ctx_default_params();
    cp.n_ctx = 256;
    CHECK_EQ_INT(llm_ctx_new(m, &cp, &c, &err), WM_OK);
    const char *stops[] = {"named Lily", "zzz"};
    llm_gen_params gp = llm_gen_default_params();
    gp.sampling.temp = 0;
    gp.echo_prompt = true;
    gp.stop = stops;
    gp.n_stop = 2;
    gp.n_predict = 100;
    sbuf out = {0};
    llm_gen_stats st;
    const char *prompt = "Once upon a time";
    CHECK_EQ_INT(llm_generate(c, prompt, strlen(prompt), &gp, collect, &out,
                              &st, &err), WM_OK);
    CHECK_EQ_INT(st.stop, LLM_STOP_STRING);
    CHECK(out.p && strcmp(out.p, "Once upon a time, there was a little girl ")
                   == 0);
    free(out.p);
    /* without echo: only the continuation, its leading space kept */
    gp.echo_prompt = false;
    gp.n_stop = 0;
    gp.n_predict = 4;
    memset(&out, 0, sizeof out);
    CHECK_EQ_INT(llm_generate(c, prompt, strlen(prompt), &gp, collect, &out,
                              &st, &err), WM_OK);
    CHECK(out.p && strcmp(out.p, ", there was a") == 0);
    CHECK_EQ_INT(st.n_gen, 4);
    free(out.p);
    /* the callback can stop the loop */
    gp.n_predict = 50;
    CHECK_EQ_INT(llm_generate(c, prompt, strlen(prompt), &gp, stop_now, NULL,
                              &st, &err), WM_OK);
    CHECK_EQ_INT(st.stop, LLM_STOP_CALLBACK);
    CHECK_EQ_INT(st.n_gen, 1);
    /* the context running out ends generation */
    llm_ctx_free(c);
    cp.n_ctx = 12;
    c = NULL;
    CHECK_EQ_INT(llm_ctx_new(m, &cp, &c, &err), WM_OK);
    gp.n_predict = -1;
    CHECK_EQ_INT(llm_generate(c, prompt, strlen(prompt), &gp, NULL, NULL,
                              &st, &err), WM_OK);
    CHECK_EQ_INT(st.stop, LLM_STOP_CONTEXT);
    CHECK_EQ_INT(st.n_prompt + st.n_gen, 13);
    llm_ctx_free(c);
    llm_model_free(m);
}

/* Generate n greedy tokens after prompt with session g; text to out. */
static void run_session(llm_gen *g, const char *prompt, sbuf *out) {
    wm_error err;
    out->n = 0;
    CHECK_EQ_INT(llm_gen_prompt(g, prompt, strlen(prompt), &err), WM_OK);
    bool done = false;
    while (!done) {
        int32_t tok;
        const char *t;
        size_t n;
        if (llm_gen_next(g, &tok, &t, &n, &done, &err)) {
            CHECK(0);
            break;
        }
        collect(out, t, n);
    }
}

/* A follow-up prompt that extends the previous conversation decodes only
 * the new tokens and continues exactly as a fresh context would. */
static void golden_cache(const char *path) {
    wm_error err;
    llm_model *m = NULL;
    llm_ctx *c = NULL, *fresh_c = NULL;
    llm_gen *g = NULL, *fresh = NULL;
    CHECK_EQ_INT(llm_model_load(path, &m, &err), WM_OK);
    if (!m) return;
    llm_ctx_params cp = llm_ctx_default_params();
    cp.n_ctx = 256;
    CHECK_EQ_INT(llm_ctx_new(m, &cp, &c, &err), WM_OK);
    CHECK_EQ_INT(llm_ctx_new(m, &cp, &fresh_c, &err), WM_OK);
    llm_gen_params gp = llm_gen_default_params();
    gp.sampling.temp = 0;
    gp.n_predict = 20;
    CHECK_EQ_INT(llm_gen_new(c, &gp, &g, &err), WM_OK);
    gp.reuse_cache = false;
    CHECK_EQ_INT(llm_gen_new(fresh_c, &gp, &fresh, &err), WM_OK);
    if (!g || !fresh) goto out;
    sbuf a = {0}, b = {0};
    char prompt[2048];
    run_session(g, "Once upon a time", &a);
    CHECK_EQ_INT(llm_gen_get_stats(g)->n_cached, 0);
    snprintf(prompt, sizeof prompt, "Once upon a time%s She said", a.p);
    run_session(g, prompt, &a);
    const llm_gen_stats *st = llm_gen_get_stats(g);
    CHECK(st->n_cached >= 20 && st->n_cached < st->n_prompt);
    run_session(fresh, prompt, &b);
    CHECK_EQ_INT(llm_gen_get_stats(fresh)->n_cached, 0);
    CHECK(a.p && b.p && a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    /* the same prompt again: all but its last token reused */
    run_session(g, prompt, &a);
    CHECK_EQ_INT(llm_gen_get_stats(g)->n_cached,
                 llm_gen_get_stats(g)->n_prompt - 1);
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    /* a different prompt shares only BOS */
    run_session(g, "The cat", &a);
    CHECK_EQ_INT(llm_gen_get_stats(g)->n_cached, 1);
    run_session(fresh, "The cat", &b);
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    free(a.p);
    free(b.p);
out:
    llm_gen_free(g);
    llm_gen_free(fresh);
    llm_ctx_free(c);
    llm_ctx_free(fresh_c);
    llm_model_free(m);
}

/* The CLI prints exactly run.c's output on stdout. */
static void golden_cli(const char *path, const char *want, size_t want_len) {
    const char *cli = getenv("WASMIND");
    if (!cli || !*cli) {
        printf("WASMIND not set: CLI check skipped\n");
        return;
    }
    char cmd[2048];
    /* 5 prompt tokens (BOS, Once, upon, a, time): 196 generated */
    snprintf(cmd, sizeof cmd,
             "%s llm generate -m %s -p 'Once upon a time' --temp 0 -n 196 "
             "-t 2 2>/dev/null",
             cli, path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p) return;
    sbuf out = {0};
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, p)) > 0) collect(&out, buf, k);
    CHECK_EQ_INT(pclose(p), 0);
    CHECK(out.p && out.n == want_len && memcmp(out.p, want, want_len) == 0);
    free(out.p);
    /* errors: a missing model is exit 1, a bad option exit 2 */
    snprintf(cmd, sizeof cmd, "%s llm generate -m /nonexistent.gguf -p x "
             "2>/dev/null", cli);
    CHECK_EQ_INT(WEXITSTATUS(system(cmd)), 1);
    snprintf(cmd, sizeof cmd, "%s llm generate -m %s -p x --temp abc "
             "2>/dev/null", cli, path);
    CHECK_EQ_INT(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof cmd, "%s quantize %s /nonexistent/o.gguf q9_9 "
             "2>/dev/null", cli, path);
    CHECK_EQ_INT(WEXITSTATUS(system(cmd)), 2);
}

int main(void) {
    const char *md = getenv("MODELS_DIR"), *td = getenv("WM_TMPDIR");
    snprintf(models, sizeof models, "%s", md && *md ? md : "../shared/models");
    snprintf(tmpdir, sizeof tmpdir, "%s", td && *td ? td : "/tmp");
    char gguf[700], txt[700], ids[700], bin[700], tok[700], conv[700];
    snprintf(gguf, sizeof gguf, "%s/stories260K.gguf", models);
    snprintf(txt, sizeof txt, "%s/stories260K-greedy.txt", models);
    snprintf(ids, sizeof ids, "%s/stories260K-greedy-bos-ids.txt", models);
    snprintf(bin, sizeof bin, "%s/stories260K.bin", models);
    snprintf(tok, sizeof tok, "%s/tok512.bin", models);
    snprintf(conv, sizeof conv, "%s/t_golden-stories260K.gguf", tmpdir);
    size_t want_len;
    char *want = slurp(txt, &want_len);
    CHECK(want != NULL);
    if (!want) return TEST_REPORT();

    golden_text(gguf, 2, 64, want, want_len);
    golden_text(gguf, 1, 1, want, want_len);
    golden_text(gguf, 2, 3, want, want_len);
    golden_bos(gguf, ids);
    golden_cli(gguf, want, want_len);
    golden_stop(gguf);
    golden_cache(gguf);

    /* The llama2.c pair, converted to GGUF. */
    wm_error err;
    l2c_model *lm = NULL;
    l2c_tokenizer *lt = NULL;
    CHECK_EQ_INT(l2c_model_load(bin, &lm, &err), WM_OK);
    if (lm)
        CHECK_EQ_INT(l2c_tokenizer_load(tok, lm->cfg.vocab_size, &lt, &err),
                     WM_OK);
    if (lm && lt) {
        CHECK_EQ_INT(l2c_write_gguf(lm, lt, "stories260K", conv, &err), WM_OK);
        golden_text(conv, 2, 64, want, want_len);
        golden_bos(conv, ids);
        remove(conv);
    }
    l2c_tokenizer_free(lt);
    l2c_model_free(lm);
    free(want);
    return TEST_REPORT();
}
