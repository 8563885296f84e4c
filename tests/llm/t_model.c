/*
 * t_model.c — the engine against a scalar reference forward pass.
 *
 * The reference below is written from the architecture's definition, not
 * from model.c: plain loops in double precision over weights dequantised
 * with each type's to_float, hyper-parameters taken from the synthesiser's
 * preset table (not from the engine's loader). For every tensor type and
 * tiny synthetic models (llama with GQA 4/2; tied output and rope base
 * 5e5; 12 query heads on one KV head; head_dim 12, which takes the scalar
 * attention kernel; qwen2 with biases and NeoX rope) it checks:
 *   - last-token logits after a 12-token prompt agree within the type's
 *     budget, relative to the RMS of the reference logits (see TOL);
 *   - greedy generation: each token the engine picks is an argmax of the
 *     reference logits up to that budget;
 *   - 1 and 2 threads give bit-identical logits;
 *   - batched and token-by-token prompt processing agree (all logits);
 *   - embeddings (llm_embed): pooled, normalised final hidden states;
 * and that malformed models fail with clear WM_ERR_FORMAT messages; the
 * quantizer's type policy, the synthesiser's determinism, and linear
 * RoPE scaling + rope_freqs against the reference.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "llm/generate.h"
#include "llm/gguf.h"
#include "llm/model.h"
#include "llm/quantize.h"
#include "llm/synth.h"

static char tmpdir[512];

/*
 * Error budgets, relative to the RMS of the reference logits. The weights
 * are exact in the reference (dequantised), so what remains is the
 * engine's rounding: activations converted to the vec_dot type (F16 for
 * F16 weights, Q8_0/Q8_1 for the 32-blocks, Q8_K for the K-quants) and
 * the F16 KV cache. F32 weights with an F32 cache leave only float vs
 * double summation.
 */
typedef struct tcase {
    llm_type type;
    double tol;
} tcase;
static const tcase TYPES[] = {
    {LLM_F32, 2e-4},  {LLM_F16, 2e-2},  {LLM_Q8_0, 8e-2}, {LLM_Q4_0, 8e-2},
    {LLM_Q4_1, 8e-2}, {LLM_Q5_0, 8e-2}, {LLM_Q5_1, 8e-2}, {LLM_Q4_K, 8e-2},
    {LLM_Q5_K, 8e-2}, {LLM_Q6_K, 8e-2},
};

/* ==== Reference model =================================================== */

typedef struct rlayer {
    double *an, *fn, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *wg, *wu, *wd;
} rlayer;

typedef struct refm {
    const llm_synth_preset *ps;
    int E, L, H, HKV, HD, F, V;
    bool neox;
    double pscale;           /* position scale (linear rope scaling) */
    const float *freqs;      /* rope_freqs divisors, or NULL */
    double *embd, *out, *on;
    rlayer *ly;
} refm;

static double *deq(const gguf_file *f, const char *name, int64_t n_in,
                   int64_t n_out) {
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t || t->ne[0] != n_in || t->ne[1] != n_out) {
        fprintf(stderr, "reference: tensor %s missing or misshapen\n", name);
        return NULL;
    }
    const llm_type_traits *tr = llm_traits((llm_type)t->type);
    size_t rs = llm_row_size((llm_type)t->type, n_in);
    float *row = malloc((size_t)n_in * sizeof *row);
    double *d = malloc((size_t)(n_in * n_out) * sizeof *d);
    for (int64_t r = 0; r < n_out; r++) {
        tr->to_float((const uint8_t *)t->data + (size_t)r * rs, row, n_in);
        for (int64_t i = 0; i < n_in; i++) d[r * n_in + i] = row[i];
    }
    free(row);
    return d;
}

static bool ref_load(refm *r, const gguf_file *f, const llm_synth_preset *ps) {
    memset(r, 0, sizeof *r);
    r->ps = ps;
    r->E = ps->n_embd;
    r->L = ps->n_layer;
    r->H = ps->n_head;
    r->HKV = ps->n_head_kv;
    r->HD = ps->n_embd / ps->n_head;
    r->F = ps->n_ff;
    r->V = ps->n_vocab;
    r->neox = ps->arch == LLM_ARCH_QWEN2;
    r->pscale = 1.0;
    int qd = r->H * r->HD, kvd = r->HKV * r->HD;
    r->embd = deq(f, "token_embd.weight", r->E, r->V);
    r->out = ps->tied ? r->embd : deq(f, "output.weight", r->E, r->V);
    r->on = deq(f, "output_norm.weight", r->E, 1);
    r->ly = calloc((size_t)r->L, sizeof *r->ly);
    bool ok = r->embd && r->out && r->on;
    char n[96];
    for (int l = 0; l < r->L; l++) {
        rlayer *y = &r->ly[l];
#define D(field, s, a, b)                                               \
    do {                                                                \
        snprintf(n, sizeof n, "blk.%d." s, l);                          \
        y->field = deq(f, n, a, b);                                     \
        ok = ok && y->field;                                            \
    } while (0)
        D(an, "attn_norm.weight", r->E, 1);
        D(fn, "ffn_norm.weight", r->E, 1);
        D(wq, "attn_q.weight", r->E, qd);
        D(wk, "attn_k.weight", r->E, kvd);
        D(wv, "attn_v.weight", r->E, kvd);
        D(wo, "attn_output.weight", qd, r->E);
        D(wg, "ffn_gate.weight", r->E, r->F);
        D(wu, "ffn_up.weight", r->E, r->F);
        D(wd, "ffn_down.weight", r->F, r->E);
        if (r->neox) {
            D(bq, "attn_q.bias", qd, 1);
            D(bk, "attn_k.bias", kvd, 1);
            D(bv, "attn_v.bias", kvd, 1);
        }
#undef D
    }
    return ok;
}

static void ref_free(refm *r) {
    if (r->out != r->embd) free(r->out);
    free(r->embd);
    free(r->on);
    for (int l = 0; r->ly && l < r->L; l++) {
        rlayer *y = &r->ly[l];
        double *ps[] = {y->an, y->fn, y->wq, y->wk, y->wv, y->wo,
                        y->bq, y->bk, y->bv, y->wg, y->wu, y->wd};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) free(ps[i]);
    }
    free(r->ly);
}

/* y[o] = sum_i W[o][i] x[i] (+ b[o]) */
static void mv(double *y, const double *W, const double *x, int n_in,
               int n_out, const double *b) {
    for (int o = 0; o < n_out; o++) {
        double s = b ? b[o] : 0;
        for (int i = 0; i < n_in; i++) s += W[(size_t)o * n_in + i] * x[i];
        y[o] = s;
    }
}

static void rms(double *y, const double *x, const double *w, int n) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double k = 1.0 / sqrt(ss / n + 1e-5);
    for (int i = 0; i < n; i++) y[i] = x[i] * k * w[i];
}

static void rope(const refm *r, double *v, int pos, int hd, double base,
                 bool neox) {
    for (int j = 0; j < hd / 2; j++) {
        double th = pos * r->pscale * pow(base, -2.0 * j / hd);
        if (r->freqs) th /= r->freqs[j];
        int a = neox ? j : 2 * j, b = neox ? j + hd / 2 : 2 * j + 1;
        double x0 = v[a], x1 = v[b];
        v[a] = x0 * cos(th) - x1 * sin(th);
        v[b] = x0 * sin(th) + x1 * cos(th);
    }
}

/* Logits of every position of toks[0..n): out[n][V]; with hid, also the
 * final normalised hidden states hid[n][E]. */
static void ref_forward_h(const refm *r, const int32_t *toks, int n,
                          double *out, double *hid) {
    int E = r->E, HD = r->HD, qd = r->H * HD, kvd = r->HKV * HD, F = r->F;
    double *kc = calloc((size_t)r->L * n * kvd, sizeof *kc);
    double *vc = calloc((size_t)r->L * n * kvd, sizeof *vc);
    double *x = malloc(E * sizeof *x), *xb = malloc(E * sizeof *xb);
    double *q = malloc(qd * sizeof *q), *o = malloc(qd * sizeof *o);
    double *t = malloc((E > F ? E : F) * sizeof *t);
    double *g = malloc(F * sizeof *g), *u = malloc(F * sizeof *u);
    double *sc = malloc(n * sizeof *sc);
    for (int p = 0; p < n; p++) {
        memcpy(x, r->embd + (size_t)toks[p] * E, E * sizeof *x);
        for (int l = 0; l < r->L; l++) {
            const rlayer *y = &r->ly[l];
            double *kp = kc + ((size_t)l * n + p) * kvd;
            double *vp = vc + ((size_t)l * n + p) * kvd;
            rms(xb, x, y->an, E);
            mv(q, y->wq, xb, E, qd, y->bq);
            mv(kp, y->wk, xb, E, kvd, y->bk);
            mv(vp, y->wv, xb, E, kvd, y->bv);
            for (int h = 0; h < r->H; h++)
                rope(r, q + h * HD, p, HD, r->ps->rope_freq_base, r->neox);
            for (int h = 0; h < r->HKV; h++)
                rope(r, kp + h * HD, p, HD, r->ps->rope_freq_base, r->neox);
            for (int h = 0; h < r->H; h++) {
                int kh = h / (r->H / r->HKV);
                double mx = -INFINITY, sum = 0;
                for (int s = 0; s <= p; s++) {
                    const double *kk = kc + ((size_t)l * n + s) * kvd + kh * HD;
                    double d = 0;
                    for (int i = 0; i < HD; i++) d += q[h * HD + i] * kk[i];
                    sc[s] = d / sqrt((double)HD);
                    if (sc[s] > mx) mx = sc[s];
                }
                for (int s = 0; s <= p; s++) {
                    sc[s] = exp(sc[s] - mx);
                    sum += sc[s];
                }
                for (int i = 0; i < HD; i++) {
                    double acc = 0;
                    for (int s = 0; s <= p; s++)
                        acc += sc[s] / sum *
                               vc[((size_t)l * n + s) * kvd + kh * HD + i];
                    o[h * HD + i] = acc;
                }
            }
            mv(t, y->wo, o, qd, E, NULL);
            for (int i = 0; i < E; i++) x[i] += t[i];
            rms(xb, x, y->fn, E);
            mv(g, y->wg, xb, E, F, NULL);
            mv(u, y->wu, xb, E, F, NULL);
            for (int i = 0; i < F; i++) g[i] = g[i] / (1 + exp(-g[i])) * u[i];
            mv(t, y->wd, g, F, E, NULL);
            for (int i = 0; i < E; i++) x[i] += t[i];
        }
        rms(xb, x, r->on, E);
        mv(out + (size_t)p * r->V, r->out, xb, E, r->V, NULL);
        if (hid) memcpy(hid + (size_t)p * E, xb, E * sizeof *xb);
    }
    free(kc); free(vc); free(x); free(xb); free(q); free(o); free(t);
    free(g); free(u); free(sc);
}

static void ref_forward(const refm *r, const int32_t *toks, int n,
                        double *out) {
    ref_forward_h(r, toks, n, out, NULL);
}

/* ==== Checks ============================================================ */

static double rel_err(const float *e, const double *r, int n) {
    double ss = 0, mx = 0;
    for (int i = 0; i < n; i++) ss += r[i] * r[i];
    double rms_r = sqrt(ss / n);
    for (int i = 0; i < n; i++) {
        double d = fabs((double)e[i] - r[i]);
        if (!(d <= mx)) mx = d;     /* NaN propagates */
    }
    return mx / rms_r;
}

static llm_ctx *mkctx(const llm_model *m, int threads, int batch, bool kv32,
                      bool all) {
    llm_ctx_params cp = llm_ctx_default_params();
    cp.n_ctx = 64;
    cp.n_threads = threads;
    cp.n_batch = batch;
    cp.kv_f32 = kv32;
    cp.all_logits = all;
    llm_ctx *c = NULL;
    wm_error err;
    if (llm_ctx_new(m, &cp, &c, &err))
        fprintf(stderr, "ctx_new: %s\n", err.msg);
    return c;
}

enum { NP = 12, NG = 10 };

static void check_model(const char *preset, llm_type type, double tol,
                        uint64_t seed) {
    char path[700];
    snprintf(path, sizeof path, "%s/t_model-%s-%s.gguf", tmpdir, preset,
             llm_traits(type)->name);
    llm_synth_params sp = llm_synth_default_params();
    sp.preset = preset;
    sp.type = type;
    sp.pure = true;
    sp.seed = seed;
    sp.n_threads = 2;
    wm_error err;
    if (llm_synth_write(&sp, path, &err)) {
        fprintf(stderr, "synth %s: %s\n", path, err.msg);
        CHECK(0);
        return;
    }
    llm_model *m = NULL;
    if (llm_model_load(path, &m, &err)) {
        fprintf(stderr, "load %s: %s\n", path, err.msg);
        CHECK(0);
        return;
    }
    const llm_synth_preset *ps = llm_synth_find(preset);
    refm r;
    CHECK(ref_load(&r, m->file, ps));
    int V = ps->n_vocab;
    /* every matrix really is of the type under test (pure synthesis) */
    CHECK_EQ_INT(m->layers[0].wq.type, type);
    CHECK_EQ_INT(m->layers[1].w_down.type, type);
    CHECK_EQ_INT(m->output.type, type);

    int32_t toks[NP + NG];
    uint64_t s = seed * 77 + 5;
    for (int i = 0; i < NP; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        toks[i] = (int32_t)((s >> 33) % (uint64_t)V);
    }
    toks[0] = 1;   /* BOS */

    /* 1. batched prompt vs reference; 1 vs 2 threads bit for bit */
    bool kv32 = type == LLM_F32;
    llm_ctx *c1 = mkctx(m, 1, 64, kv32, false);
    llm_ctx *c2 = mkctx(m, 2, 64, kv32, false);
    CHECK(c1 && c2);
    if (!c1 || !c2) goto out;
    CHECK_EQ_INT(llm_decode(c1, toks, NP, 0, &err), WM_OK);
    CHECK_EQ_INT(llm_decode(c2, toks, NP, 0, &err), WM_OK);
    CHECK(memcmp(llm_ctx_logits(c1), llm_ctx_logits(c2),
                 (size_t)V * sizeof(float)) == 0);

    /* 2. greedy generation with the engine (2 threads) */
    for (int i = 0; i < NG; i++) {
        const float *lg = llm_ctx_logits(c2);
        int32_t best = 0;
        for (int v = 1; v < V; v++)
            if (lg[v] > lg[best]) best = v;
        toks[NP + i] = best;
        if (i + 1 < NG)
            CHECK_EQ_INT(llm_decode(c2, &toks[NP + i], 1, NP + i, &err), WM_OK);
    }
    double *ref = malloc((size_t)(NP + NG) * V * sizeof *ref);
    ref_forward(&r, toks, NP + NG, ref);
    double e = rel_err(llm_ctx_logits(c1), ref + (size_t)(NP - 1) * V, V);
    if (!(e <= tol))
        fprintf(stderr, "%s %s: logits rel. error %.3g > %.3g\n", preset,
                llm_traits(type)->name, e, tol);
    CHECK(e <= tol);
    int agree = 0;
    for (int i = 0; i < NG; i++) {
        const double *rl = ref + (size_t)(NP - 1 + i) * V;
        double mx = rl[0], ss = 0;
        for (int v = 0; v < V; v++) {
            if (rl[v] > mx) mx = rl[v];
            ss += rl[v] * rl[v];
        }
        double budget = tol * sqrt(ss / V);
        CHECK(rl[toks[NP + i]] >= mx - budget);
        agree += rl[toks[NP + i]] == mx;
    }
    printf("%-10s %-5s logits rel. err %.2e (budget %.0e), greedy argmax "
           "agreement %d/%d\n",
           preset, llm_traits(type)->name, e, tol, agree, NG);

    /* 3. token by token with all logits vs one batch with all logits */
    llm_ctx *cb = mkctx(m, 2, 64, kv32, true);
    llm_ctx *ct = mkctx(m, 2, 1, kv32, false);
    CHECK(cb && ct);
    if (cb && ct) {
        CHECK_EQ_INT(llm_decode(cb, toks, NP, 0, &err), WM_OK);
        double worst = 0;
        for (int i = 0; i < NP; i++) {
            CHECK_EQ_INT(llm_decode(ct, &toks[i], 1, i, &err), WM_OK);
            const float *a = llm_ctx_logits_ith(cb, i);
            const float *b = llm_ctx_logits(ct);
            double d = 0, ss = 0;
            for (int v = 0; v < V; v++) {
                ss += (double)b[v] * b[v];
                if (fabs(a[v] - b[v]) > d) d = fabs(a[v] - b[v]);
            }
            d /= sqrt(ss / V);
            if (d > worst) worst = d;
        }
        CHECK(worst <= 1e-5);
        CHECK(llm_ctx_logits_ith(cb, NP) == NULL);
    }
    llm_ctx_free(cb);
    llm_ctx_free(ct);
    free(ref);
out:
    llm_ctx_free(c1);
    llm_ctx_free(c2);
    ref_free(&r);
    llm_model_free(m);
    remove(path);
}

/* ==== Malformed models ================================================== */

/* Copy src to dst, dropping tensor `drop`, renaming none, optionally
 * overriding one u32 key / the architecture string, and optionally
 * replacing tensor `swap` by the data+shape of `with`. */
static wm_status rewrite(const char *src, const char *dst, const char *drop,
                         const char *key, uint32_t val, const char *arch,
                         const char *swap, const char *with, wm_error *err) {
    gguf_file *f = NULL;
    wm_status st = gguf_open(src, &f, err);
    if (st) return st;
    gguf_writer *w = gguf_writer_new(32);
    gguf_w_copy_kv(w, f, "");   /* all keys */
    if (key) gguf_w_u32(w, key, val);
    if (arch) gguf_w_str(w, "general.architecture", arch);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        if (drop && strcmp(name, drop) == 0) continue;
        if (swap && strcmp(name, swap) == 0) {
            const gguf_tensor *o = gguf_find_tensor(f, with);
            gguf_w_tensor(w, name, o->type, o->n_dims, o->ne, o->data);
            continue;
        }
        gguf_w_tensor(w, name, t->type, t->n_dims, t->ne, t->data);
    }
    st = gguf_writer_write(w, dst, err);
    gguf_writer_free(w);
    gguf_close(f);
    return st;
}

static void expect_fail(const char *path, wm_status code, const char *needle) {
    llm_model *m = NULL;
    wm_error err;
    wm_error_clear(&err);
    wm_status st = llm_model_load(path, &m, &err);
    CHECK_EQ_INT(st, code);
    CHECK(m == NULL);
    char buf[512];
    wm_error_format(&err, buf, sizeof buf);
    if (!strstr(buf, needle))
        fprintf(stderr, "error text '%s' lacks '%s'\n", buf, needle);
    CHECK(strstr(buf, needle) != NULL);
    llm_model_free(m);
}

static void test_malformed(void) {
    char base[700], bad[700];
    snprintf(base, sizeof base, "%s/t_model-base.gguf", tmpdir);
    snprintf(bad, sizeof bad, "%s/t_model-bad.gguf", tmpdir);
    llm_synth_params sp = llm_synth_default_params();
    sp.preset = "tiny";
    sp.type = LLM_Q8_0;
    wm_error err;
    CHECK_EQ_INT(llm_synth_write(&sp, base, &err), WM_OK);

    CHECK_EQ_INT(rewrite(base, bad, "blk.1.ffn_up.weight", NULL, 0, NULL,
                         NULL, NULL, &err), WM_OK);
    expect_fail(bad, WM_ERR_FORMAT, "missing tensor 'blk.1.ffn_up.weight'");
    CHECK_EQ_INT(rewrite(base, bad, NULL, NULL, 0, NULL, "blk.0.attn_k.weight",
                         "blk.0.attn_q.weight", &err), WM_OK);
    expect_fail(bad, WM_ERR_FORMAT,
                "tensor 'blk.0.attn_k.weight': shape [256, 256], expected "
                "[256, 128]");
    CHECK_EQ_INT(rewrite(base, bad, NULL, "llama.attention.head_count_kv", 3,
                         NULL, NULL, NULL, &err), WM_OK);
    expect_fail(bad, WM_ERR_FORMAT, "head dims inconsistent");
    CHECK_EQ_INT(rewrite(base, bad, NULL, "llama.attention.head_count", 3,
                         NULL, NULL, NULL, &err), WM_OK);
    expect_fail(bad, WM_ERR_FORMAT, "head dims inconsistent");
    CHECK_EQ_INT(rewrite(base, bad, NULL, "llama.block_count", 0, NULL, NULL,
                         NULL, &err), WM_OK);
    expect_fail(bad, WM_ERR_FORMAT, "'llama.block_count' = 0 out of range");
    CHECK_EQ_INT(rewrite(base, bad, NULL, "llama.block_count", 3, NULL, NULL,
                         NULL, &err), WM_OK);
    expect_fail(bad, WM_ERR_FORMAT, "missing tensor 'blk.2.attn_norm.weight'");
    CHECK_EQ_INT(rewrite(base, bad, NULL, NULL, 0, "gptj", NULL, NULL, &err),
                 WM_OK);
    expect_fail(bad, WM_ERR_UNSUPPORTED, "architecture 'gptj' not supported");
    CHECK_EQ_INT(rewrite(base, bad, "output_norm.weight", NULL, 0, NULL, NULL,
                         NULL, &err), WM_OK);
    expect_fail(bad, WM_ERR_FORMAT, "t_model-bad.gguf");  /* where */
    /* qwen2 without its biases */
    CHECK_EQ_INT(rewrite(base, bad, NULL, NULL, 0, "qwen2", NULL, NULL, &err),
                 WM_OK);
    expect_fail(bad, WM_ERR_FORMAT, "missing hyper-parameter "
                "'qwen2.embedding_length'");

    /* decode arguments are checked */
    llm_model *m = NULL;
    CHECK_EQ_INT(llm_model_load(base, &m, &err), WM_OK);
    if (m) {
        llm_ctx *c = mkctx(m, 1, 8, false, false);
        int32_t t[3] = {1, 512, 5};
        CHECK_EQ_INT(llm_decode(c, t, 3, 0, &err), WM_ERR_ARG);
        t[1] = -1;
        CHECK_EQ_INT(llm_decode(c, t, 3, 0, &err), WM_ERR_ARG);
        t[1] = 7;
        CHECK_EQ_INT(llm_decode(c, t, 3, 62, &err), WM_ERR_ARG);
        CHECK_EQ_INT(llm_decode(c, t, 0, 0, &err), WM_ERR_ARG);
        CHECK_EQ_INT(llm_decode(c, t, 3, 61, &err), WM_OK);
        /* rewinding and re-decoding gives the same logits */
        float a[512];
        CHECK_EQ_INT(llm_decode(c, t, 3, 0, &err), WM_OK);
        memcpy(a, llm_ctx_logits(c), sizeof a);
        CHECK_EQ_INT(llm_decode(c, t, 2, 10, &err), WM_OK);
        CHECK_EQ_INT(llm_decode(c, t, 3, 0, &err), WM_OK);
        CHECK(memcmp(a, llm_ctx_logits(c), sizeof a) == 0);
        llm_ctx_params cp = llm_ctx_default_params();
        llm_ctx *c2 = NULL;
        cp.n_ctx = -5;
        CHECK_EQ_INT(llm_ctx_new(m, &cp, &c2, &err), WM_ERR_ARG);
        CHECK(c2 == NULL);
        llm_ctx_free(c);
        llm_model_free(m);
    }
    remove(base);
    remove(bad);
}


/* ==== Quantizer, type policy, synthesiser ============================== */

static bool same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        if (x != y) same = false;
        if (x == EOF || y == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void test_quantize(void) {
    /* the policy */
    CHECK_EQ_INT(llm_quant_tensor_type("blk.0.attn_q.weight", 2, 2048,
                                       LLM_Q4_0, false, false), LLM_Q4_0);
    CHECK_EQ_INT(llm_quant_tensor_type("output.weight", 2, 2048, LLM_Q4_0,
                                       false, false), LLM_Q6_K);
    CHECK_EQ_INT(llm_quant_tensor_type("output.weight", 2, 2048, LLM_Q8_0,
                                       false, false), LLM_Q8_0);
    CHECK_EQ_INT(llm_quant_tensor_type("output.weight", 2, 2048, LLM_Q4_0,
                                       false, true), LLM_Q4_0);
    CHECK_EQ_INT(llm_quant_tensor_type("token_embd.weight", 2, 2048,
                                       LLM_Q4_0, false, false), LLM_Q4_0);
    CHECK_EQ_INT(llm_quant_tensor_type("token_embd.weight", 2, 2048,
                                       LLM_Q4_0, true, false), LLM_Q6_K);
    CHECK_EQ_INT(llm_quant_tensor_type("token_embd.weight", 2, 288,
                                       LLM_Q4_0, true, false), LLM_Q8_0);
    CHECK_EQ_INT(llm_quant_tensor_type("blk.0.attn_q.weight", 2, 288,
                                       LLM_Q4_K, false, false), LLM_Q5_0);
    CHECK_EQ_INT(llm_quant_tensor_type("blk.0.attn_q.weight", 2, 288,
                                       LLM_Q5_K, false, false), LLM_Q5_1);
    CHECK_EQ_INT(llm_quant_tensor_type("blk.0.ffn_down.weight", 2, 172,
                                       LLM_Q4_0, false, false), LLM_F16);
    CHECK_EQ_INT(llm_quant_tensor_type("blk.0.attn_norm.weight", 1, 2048,
                                       LLM_Q4_0, false, false), LLM_F32);

    /* F32 model -> Q4_K file: types as the policy says, and the result
     * runs and matches the reference on its own (quantised) weights */
    char f32[700], q[700], q2[700], s1[700], s2[700];
    snprintf(f32, sizeof f32, "%s/t_model-q-f32.gguf", tmpdir);
    snprintf(q, sizeof q, "%s/t_model-q-q4k.gguf", tmpdir);
    snprintf(q2, sizeof q2, "%s/t_model-q-q8.gguf", tmpdir);
    snprintf(s1, sizeof s1, "%s/t_model-s1.gguf", tmpdir);
    snprintf(s2, sizeof s2, "%s/t_model-s2.gguf", tmpdir);
    llm_synth_params sp = llm_synth_default_params();
    sp.preset = "tiny-tied";
    sp.type = LLM_F32;
    sp.seed = 99;
    wm_error err;
    CHECK_EQ_INT(llm_synth_write(&sp, f32, &err), WM_OK);
    CHECK_EQ_INT(llm_quantize_file(f32, q, LLM_Q4_K, false, 2, NULL, NULL,
                                   &err), WM_OK);
    llm_model *m = NULL;
    CHECK_EQ_INT(llm_model_load(q, &m, &err), WM_OK);
    if (m) {
        CHECK_EQ_INT(m->layers[1].wk.type, LLM_Q4_K);
        CHECK_EQ_INT(m->tok_embd.type, LLM_Q6_K);   /* tied output */
        CHECK(m->tied_output);
        CHECK_EQ_INT(gguf_find_tensor(m->file, "output_norm.weight")->type,
                     LLM_F32);
        uint32_t ft = 0;
        CHECK(gguf_get_u32(m->file, "general.file_type", &ft) && ft == 14);
        refm r;
        CHECK(ref_load(&r, m->file, llm_synth_find("tiny-tied")));
        int32_t toks[6] = {1, 17, 300, 42, 42, 9};
        double *ref = malloc(6 * 512 * sizeof *ref);
        ref_forward(&r, toks, 6, ref);
        llm_ctx *c = mkctx(m, 2, 64, false, false);
        CHECK_EQ_INT(llm_decode(c, toks, 6, 0, &err), WM_OK);
        CHECK(rel_err(llm_ctx_logits(c), ref + 5 * 512, 512) <= 8e-2);
        llm_ctx_free(c);
        free(ref);
        ref_free(&r);
        llm_model_free(m);
    }
    /* already-quantised tensors are not requantised to another type */
    CHECK_EQ_INT(llm_quantize_file(q, q2, LLM_Q8_0, false, 1, NULL, NULL,
                                   &err), WM_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "only F32/F16/BF16") != NULL);
    CHECK_EQ_INT(llm_quantize_file(f32, q2, LLM_Q8_1, false, 1, NULL, NULL,
                                   &err), WM_ERR_ARG);
    CHECK(llm_quantize_file("/nonexistent/x.gguf", q2, LLM_Q8_0, false, 1,
                            NULL, NULL, &err) != WM_OK);

    /* the synthesiser: same bytes for any thread count; distinct seeds
     * differ; the synthetic vocabulary tokenizes and round-trips */
    sp.preset = "tiny";
    sp.type = LLM_Q4_K;
    sp.n_threads = 1;
    CHECK_EQ_INT(llm_synth_write(&sp, s1, &err), WM_OK);
    sp.n_threads = 2;
    CHECK_EQ_INT(llm_synth_write(&sp, s2, &err), WM_OK);
    CHECK(same_file(s1, s2));
    sp.seed = 100;
    CHECK_EQ_INT(llm_synth_write(&sp, s2, &err), WM_OK);
    CHECK(!same_file(s1, s2));
    sp.preset = "nope";
    CHECK_EQ_INT(llm_synth_write(&sp, s2, &err), WM_ERR_ARG);
    m = NULL;
    CHECK_EQ_INT(llm_model_load(s1, &m, &err), WM_OK);
    if (m) {
        const char *text = "hello world, ok";
        int32_t ids[64];
        int64_t n = llm_tokenize(m->vocab, text, strlen(text), true, false,
                                 ids, 64, &err);
        CHECK(n > 1 && n < 16 && ids[0] == 1);
        llm_detok d;
        llm_detok_init(&d);
        char out[128];
        size_t o = 0;
        for (int64_t i = 0; i < n && i < 64; i++)
            o += llm_detok_push(m->vocab, &d, ids[i], out + o,
                                sizeof out - 1 - o);
        o += llm_detok_flush(&d, out + o, sizeof out - 1 - o);
        out[o] = 0;
        CHECK(strcmp(out, text) == 0);
        /* generation through the loop: stops at n_predict */
        llm_ctx *c = mkctx(m, 2, 64, false, false);
        llm_gen_params gp = llm_gen_default_params();
        gp.n_predict = 7;
        gp.sampling.seed = 5;
        llm_gen_stats st;
        CHECK_EQ_INT(llm_generate(c, text, strlen(text), &gp, NULL, NULL, &st,
                                  &err), WM_OK);
        CHECK_EQ_INT(st.n_gen, 7);
        CHECK_EQ_INT(st.stop, LLM_STOP_LENGTH);
        /* a prompt longer than the context is refused */
        char big[400];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = 0;
        for (size_t i = 1; i < sizeof big - 1; i += 2) big[i] = ' ';
        CHECK_EQ_INT(llm_generate(c, big, strlen(big), &gp, NULL, NULL, &st,
                                  &err), WM_ERR_LIMIT);
        llm_ctx_free(c);
        llm_model_free(m);
    }
    remove(f32);
    remove(q);
    remove(q2);
    remove(s1);
    remove(s2);
}

/* Linear RoPE scaling and Llama 3.1's rope_freqs factors; other scaling
 * kinds are refused. */
static void test_rope_scaling(void) {
    char base[700], scaled[700];
    snprintf(base, sizeof base, "%s/t_model-rope.gguf", tmpdir);
    snprintf(scaled, sizeof scaled, "%s/t_model-rope2.gguf", tmpdir);
    llm_synth_params sp = llm_synth_default_params();
    sp.preset = "tiny";
    sp.seed = 21;
    wm_error err;
    CHECK_EQ_INT(llm_synth_write(&sp, base, &err), WM_OK);
    float freqs[32];
    for (int j = 0; j < 32; j++) freqs[j] = 1.0f + 0.25f * (float)j;
    for (int kind = 0; kind < 2; kind++) {
        gguf_file *f = NULL;
        CHECK_EQ_INT(gguf_open(base, &f, &err), WM_OK);
        if (!f) return;
        gguf_writer *w = gguf_writer_new(32);
        gguf_w_copy_kv(w, f, "");
        gguf_w_str(w, "llama.rope.scaling.type", kind ? "yarn" : "linear");
        gguf_w_f32(w, "llama.rope.scaling.factor", 4.0f);
        for (uint64_t i = 0; i < f->n_tensors; i++) {
            const gguf_tensor *t = &f->tensors[i];
            char name[80];
            snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
            gguf_w_tensor(w, name, t->type, t->n_dims, t->ne, t->data);
        }
        int64_t ne = 32;
        gguf_w_tensor(w, "rope_freqs.weight", LLM_F32, 1, &ne, freqs);
        CHECK_EQ_INT(gguf_writer_write(w, scaled, &err), WM_OK);
        gguf_writer_free(w);
        gguf_close(f);
        llm_model *m = NULL;
        wm_status st = llm_model_load(scaled, &m, &err);
        if (kind == 1) {
            CHECK_EQ_INT(st, WM_ERR_UNSUPPORTED);
            CHECK(strstr(err.msg, "rope scaling 'yarn'") != NULL);
            llm_model_free(m);
            continue;
        }
        CHECK_EQ_INT(st, WM_OK);
        if (!m) continue;
        refm r;
        CHECK(ref_load(&r, m->file, llm_synth_find("tiny")));
        r.pscale = 0.25;
        r.freqs = freqs;
        int32_t toks[NP];
        for (int i = 0; i < NP; i++) toks[i] = (int32_t)(1 + 37 * i % 500);
        double *ref = malloc((size_t)NP * 512 * sizeof *ref);
        ref_forward(&r, toks, NP, ref);
        llm_ctx *c = mkctx(m, 2, 64, true, false);
        CHECK_EQ_INT(llm_decode(c, toks, NP, 0, &err), WM_OK);
        double e = rel_err(llm_ctx_logits(c), ref + (size_t)(NP - 1) * 512,
                           512);
        CHECK(e <= 2e-4);
        /* and it matters: without the scaling the logits differ */
        r.pscale = 1.0;
        r.freqs = NULL;
        ref_forward(&r, toks, NP, ref);
        CHECK(rel_err(llm_ctx_logits(c), ref + (size_t)(NP - 1) * 512, 512)
              > 1e-2);
        llm_ctx_free(c);
        free(ref);
        ref_free(&r);
        llm_model_free(m);
    }
    remove(base);
    remove(scaled);
}

/* A 48-token prompt: big enough that attention runs on the pool (small
 * steps run inline); 1 vs 2 threads bit for bit, against the reference,
 * and against token-by-token decoding (which runs attention inline). */
static void test_long_prompt(void) {
    enum { N = 48 };
    char path[700];
    snprintf(path, sizeof path, "%s/t_model-long.gguf", tmpdir);
    llm_synth_params sp = llm_synth_default_params();
    sp.preset = "tiny";
    sp.seed = 31;
    wm_error err;
    CHECK_EQ_INT(llm_synth_write(&sp, path, &err), WM_OK);
    llm_model *m = NULL;
    CHECK_EQ_INT(llm_model_load(path, &m, &err), WM_OK);
    if (!m) return;
    int32_t toks[N];
    for (int i = 0; i < N; i++) toks[i] = (int32_t)((7 + 131 * i) % 512);
    llm_ctx *c1 = mkctx(m, 1, 64, true, false);
    llm_ctx *c2 = mkctx(m, 2, 64, true, false);
    llm_ctx *ct = mkctx(m, 2, 64, true, false);
    CHECK_EQ_INT(llm_decode(c1, toks, N, 0, &err), WM_OK);
    CHECK_EQ_INT(llm_decode(c2, toks, N, 0, &err), WM_OK);
    CHECK(memcmp(llm_ctx_logits(c1), llm_ctx_logits(c2), 512 * 4) == 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(llm_decode(ct, &toks[i], 1, i, &err), WM_OK);
    double d = 0;
    for (int v = 0; v < 512; v++) {
        double x = fabs(llm_ctx_logits(ct)[v] - llm_ctx_logits(c2)[v]);
        if (x > d) d = x;
    }
    CHECK(d < 1e-4);
    refm r;
    CHECK(ref_load(&r, m->file, llm_synth_find("tiny")));
    double *ref = malloc((size_t)N * 512 * sizeof *ref);
    ref_forward(&r, toks, N, ref);
    CHECK(rel_err(llm_ctx_logits(c2), ref + (size_t)(N - 1) * 512, 512)
          <= 2e-4);
    free(ref);
    ref_free(&r);
    llm_ctx_free(c1);
    llm_ctx_free(c2);
    llm_ctx_free(ct);
    llm_model_free(m);
    remove(path);
}

/* llm_embed against the reference: the normalised final hidden states
 * pooled (mean over 40 tokens decoded in steps of 16, first, last) and
 * scaled to unit length; 1 vs 2 threads bit for bit; decoding afterwards
 * is unaffected. */
static void test_embed(void) {
    enum { N = 40 };
    char path[700];
    snprintf(path, sizeof path, "%s/t_model-embed.gguf", tmpdir);
    llm_synth_params sp = llm_synth_default_params();
    sp.preset = "tiny-gqa";
    sp.seed = 41;
    wm_error err;
    CHECK_EQ_INT(llm_synth_write(&sp, path, &err), WM_OK);
    llm_model *m = NULL;
    CHECK_EQ_INT(llm_model_load(path, &m, &err), WM_OK);
    if (!m) return;
    CHECK_EQ_INT(m->hp.pooling, LLM_POOL_MEAN);
    int E = m->hp.n_embd, V = m->hp.n_vocab;
    int32_t toks[N];
    for (int i = 0; i < N; i++) toks[i] = (int32_t)((3 + 97 * i) % V);
    refm r;
    CHECK(ref_load(&r, m->file, llm_synth_find("tiny-gqa")));
    double *ref = malloc((size_t)N * V * sizeof *ref);
    double *hid = malloc((size_t)N * E * sizeof *hid);
    ref_forward_h(&r, toks, N, ref, hid);
    float *e1 = malloc((size_t)E * sizeof *e1), *e2 = malloc(E * sizeof *e2);
    double *want = malloc((size_t)E * sizeof *want);
    llm_ctx *c1 = mkctx(m, 1, 16, true, false);
    llm_ctx *c2 = mkctx(m, 2, 16, true, false);
    static const enum llm_pooling pools[] = {LLM_POOL_MEAN, LLM_POOL_CLS,
                                             LLM_POOL_LAST};
    for (int k = 0; k < 3; k++) {
        m->hp.pooling = pools[k];
        double ss = 0;
        for (int i = 0; i < E; i++) {
            double a = 0;
            for (int p = 0; p < N; p++)
                if (pools[k] == LLM_POOL_MEAN ||
                    (pools[k] == LLM_POOL_CLS && p == 0) ||
                    (pools[k] == LLM_POOL_LAST && p == N - 1))
                    a += hid[(size_t)p * E + i];
            want[i] = a;
            ss += a * a;
        }
        CHECK_EQ_INT(llm_embed(c1, toks, N, e1, &err), WM_OK);
        CHECK_EQ_INT(llm_embed(c2, toks, N, e2, &err), WM_OK);
        CHECK(memcmp(e1, e2, (size_t)E * sizeof *e1) == 0);
        double d = 0, n2 = 0;
        for (int i = 0; i < E; i++) {
            double x = fabs(e2[i] - want[i] / sqrt(ss));
            if (!(x <= d)) d = x;
            n2 += (double)e2[i] * e2[i];
        }
        CHECK(d < 1e-5);
        CHECK(fabs(n2 - 1) < 1e-5);
    }
    m->hp.pooling = LLM_POOL_MEAN;
    /* A different text gives a different vector. */
    int32_t other[N];
    for (int i = 0; i < N; i++) other[i] = (int32_t)((5 + 31 * i) % V);
    CHECK_EQ_INT(llm_embed(c1, other, N, e1, &err), WM_OK);
    CHECK(memcmp(e1, e2, (size_t)E * sizeof *e1) != 0);
    /* Decoding after embedding: logits as the reference's. */
    CHECK_EQ_INT(llm_decode(c2, toks, N, 0, &err), WM_OK);
    CHECK(rel_err(llm_ctx_logits(c2), ref + (size_t)(N - 1) * V, V) <= 2e-4);
    /* Errors as llm_decode's: too long, bad id, empty. */
    int32_t *big = calloc(65, sizeof *big);
    CHECK_EQ_INT(llm_embed(c1, big, 65, e1, &err), WM_ERR_ARG);
    CHECK(strstr(err.msg, "embed: positions") != NULL);
    toks[3] = V;
    CHECK_EQ_INT(llm_embed(c1, toks, N, e1, &err), WM_ERR_ARG);
    CHECK_EQ_INT(llm_embed(c1, toks, 0, e1, &err), WM_ERR_ARG);
    free(big);
    free(e1); free(e2); free(want); free(ref); free(hid);
    ref_free(&r);
    llm_ctx_free(c1);
    llm_ctx_free(c2);
    llm_model_free(m);
    remove(path);
}

int main(void) {
    const char *t = getenv("WM_TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s", t && *t ? t : "/tmp");
    llm_kernels_init();
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        check_model("tiny", TYPES[i].type, TYPES[i].tol, 11 + i);
    check_model("tiny-tied", LLM_F32, 2e-4, 3);
    check_model("tiny-tied", LLM_Q4_K, 8e-2, 4);
    check_model("tiny-gqa", LLM_F32, 2e-4, 8);
    check_model("tiny-gqa", LLM_Q8_0, 8e-2, 9);
    check_model("tiny-hd12", LLM_F32, 2e-4, 10);
    check_model("tiny-hd12", LLM_F16, 2e-2, 12);
    check_model("tiny-qwen2", LLM_F32, 2e-4, 5);
    check_model("tiny-qwen2", LLM_Q8_0, 8e-2, 6);
    check_model("tiny-qwen2", LLM_Q5_1, 8e-2, 7);
    test_malformed();
    test_quantize();
    test_rope_scaling();
    test_long_prompt();
    test_embed();
    return TEST_REPORT();
}
