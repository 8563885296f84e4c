/*
 * cmd_llm.c — `wasmind llm generate|embed|bench|synth`: the native engine
 * (src/llm) from the command line. Text goes to stdout, statistics,
 * progress and errors to stderr. Exit status as cli.h says.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "llm/generate.h"
#include "llm/synth.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

static const char llm_usage[] =
    "usage: wasmind llm generate -m FILE.gguf -p PROMPT [options]\n"
    "       wasmind llm embed -m FILE.gguf -p TEXT [-t N] [-c N] [-b N]\n"
    "       wasmind llm bench -m FILE.gguf [-t N] [-p 128] [-n 64] [-r 5] "
    "[--json]\n"
    "       wasmind llm synth --preset NAME --type TYPE [--vocab-from "
    "F.gguf] [--seed S] -o FILE.gguf\n"
    "\n"
    "example:\n"
    "  wasmind llm generate -m stories260K.gguf -p \"Once upon a time\" "
    "--temp 0 -n 64\n"
    "  wasmind llm synth --preset 1.1B --type q4_0 -o tinyllama-q4_0.gguf\n"
    "  wasmind llm bench -m tinyllama-q4_0.gguf -t 2 --json\n"
    "\n"
    "generate options (defaults in parentheses):\n"
    "  -m FILE            model (GGUF: llama, qwen2)\n"
    "  -p PROMPT          prompt text\n"
    "  -n N               tokens to generate; -1 until the context is full "
    "(128)\n"
    "  --temp T           temperature; 0 = greedy (0.8)\n"
    "  --top-k K          keep the K most likely; 0 = off (40)\n"
    "  --top-p P          nucleus sampling; 1 = off (0.95)\n"
    "  --min-p P          drop tokens below P x the best; 0 = off (0.05)\n"
    "  --repeat-penalty R penalise the last --repeat-last-n tokens (1.0)\n"
    "  --repeat-last-n N  penalty window (64)\n"
    "  --presence-penalty P, --frequency-penalty F   OpenAI-style (0)\n"
    "  --seed S           sampling seed (0)\n"
    "  --stop STR         stop when STR is generated (repeatable)\n"
    "  --ignore-eos       do not stop at end-of-generation tokens\n"
    "  --no-echo          do not print the prompt\n"
    "  -t N               threads (online CPUs)\n"
    "  -c N               context size (model's, at most 4096)\n"
    "  -b N               prompt batch size (64)\n"
    "  --kv-f32           F32 KV cache instead of F16\n"
    "embed: prints {\"n_embedding\": N, \"embedding\": [...]}, the text's "
    "final\n"
    "  hidden states pooled (mean unless the model says otherwise) and "
    "normalised\n"
    "bench options: -t -p (prompt tokens, 128) -n (generated tokens, 64)\n"
    "  -r (repetitions, 5) --json --no-bw (skip the memory bandwidth "
    "probe)\n"
    "synth options: --preset NAME --type TYPE (f32 f16 q8_0 q4_0 q4_1 "
    "q5_0 q5_1\n"
    "  q2_k q3_k q4_k q5_k q6_k) --vocab-from FILE.gguf --seed S (1) "
    "--pure -t N -o FILE\n";


/* ==== Progress bar (stderr, only on a terminal) ========================= */

typedef struct progress {
    const char *what;
    int last;                 /* last percentage drawn, -1 none */
    bool tty;
} progress;

static void progress_cb(void *ud, double frac) {
    progress *p = ud;
    if (!p->tty) return;
    int pct = (int)(frac * 100.0 + 0.5);
    if (pct == p->last) return;
    p->last = pct;
    char bar[41];
    int fill = pct * 40 / 100;
    for (int i = 0; i < 40; i++) bar[i] = i < fill ? '#' : ' ';
    bar[40] = 0;
    fprintf(stderr, "\r%s [%s] %3d%%", p->what, bar, pct);
    if (pct >= 100) fprintf(stderr, "\n");
    fflush(stderr);
}

static progress progress_make(const char *what) {
    progress p = {.what = what, .last = -1, .tty = isatty(2) == 1};
    return p;
}

/* ==== Option parsing helpers ============================================ */

static bool parse_i64(const char *s, long long lo, long long hi,
                      long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_f(const char *s, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || isnan(v)) return false;
    *out = v;
    return true;
}

/* Fetch the value of option argv[*i]; NULL (usage printed) if missing. */
static const char *optval(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

#define NEED(v)                                                           \
    do {                                                                  \
        if (!((v) = optval(argc, argv, &i)))                              \
            return cli_usage_error("llm", "%s needs a value", a);       \
    } while (0)
#define INT_OPT(dst, lo, hi)                                              \
    do {                                                                  \
        const char *v_;                                                   \
        long long x_;                                                     \
        NEED(v_);                                                         \
        if (!parse_i64(v_, lo, hi, &x_))                                  \
            return cli_usage_error("llm", "bad integer for %s", a);     \
        (dst) = x_;                                                       \
    } while (0)
#define F_OPT(dst)                                                        \
    do {                                                                  \
        const char *v_;                                                   \
        NEED(v_);                                                         \
        if (!parse_f(v_, &(dst)))                                         \
            return cli_usage_error("llm", "bad number for %s", a);      \
    } while (0)

static wm_status load_model(const char *path, llm_model **m, wm_error *err) {
    wm_status st = llm_model_load(path, m, err);
    if (st) return st;
    progress pg = progress_make("loading");
    if (pg.tty && (*m)->weight_bytes > ((uint64_t)256 << 20))
        llm_model_prefault(*m, progress_cb, &pg);
    return WM_OK;
}

/* ==== generate ========================================================== */

static bool write_text(void *ud, const char *text, size_t len) {
    (void)ud;
    if (fwrite(text, 1, len, stdout) != len) return false;
    fflush(stdout);
    return true;
}

static int cmd_generate(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL;
    llm_gen_params gp = llm_gen_default_params();
    llm_ctx_params cp = llm_ctx_default_params();
    gp.echo_prompt = true;
    const char *stops[16];
    long long seed = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-m")) NEED(model);
        else if (!strcmp(a, "-p")) NEED(prompt);
        else if (!strcmp(a, "-n")) INT_OPT(gp.n_predict, -1, INT32_MAX);
        else if (!strcmp(a, "--temp")) F_OPT(gp.sampling.temp);
        else if (!strcmp(a, "--top-k")) INT_OPT(gp.sampling.top_k, 0,
                                                INT32_MAX);
        else if (!strcmp(a, "--top-p")) F_OPT(gp.sampling.top_p);
        else if (!strcmp(a, "--min-p")) F_OPT(gp.sampling.min_p);
        else if (!strcmp(a, "--repeat-penalty"))
            F_OPT(gp.sampling.repeat_penalty);
        else if (!strcmp(a, "--repeat-last-n"))
            INT_OPT(gp.sampling.repeat_last_n, 0, 65535);
        else if (!strcmp(a, "--presence-penalty"))
            F_OPT(gp.sampling.presence_penalty);
        else if (!strcmp(a, "--frequency-penalty"))
            F_OPT(gp.sampling.frequency_penalty);
        else if (!strcmp(a, "--seed")) INT_OPT(seed, 0, INT64_MAX);
        else if (!strcmp(a, "--stop")) {
            if (gp.n_stop == (int)WM_ARRAY_LEN(stops))
                return cli_usage_error("llm",
                    "too many --stop strings (at most 16)%s", "");
            NEED(stops[gp.n_stop++]);
        }
        else if (!strcmp(a, "--ignore-eos")) gp.ignore_eos = true;
        else if (!strcmp(a, "--no-echo")) gp.echo_prompt = false;
        else if (!strcmp(a, "-t")) INT_OPT(cp.n_threads, 1, 512);
        else if (!strcmp(a, "-c")) INT_OPT(cp.n_ctx, 1, 1 << 20);
        else if (!strcmp(a, "-b")) INT_OPT(cp.n_batch, 1, 4096);
        else if (!strcmp(a, "--kv-f32")) cp.kv_f32 = true;
        else return cli_usage_error("llm", "unknown option `%s`", a);
    }
    gp.sampling.seed = (uint64_t)seed;
    gp.stop = stops;
    if (!model || !prompt)
        return cli_usage_error("llm",
            "generate needs -m FILE and -p PROMPT%s", "");
    wm_error err;
    llm_model *m = NULL;
    llm_ctx *c = NULL;
    int rc = 1;
    llm_gen_stats st;
    if (load_model(model, &m, &err) || llm_ctx_new(m, &cp, &c, &err) ||
        llm_generate(c, prompt, strlen(prompt), &gp, write_text, NULL, &st,
                     &err)) {
        fflush(stdout);
        fprintf(stdout, "\n");
        cli_print_error(&err);
        goto out;
    }
    printf("\n");
    fflush(stdout);
    fprintf(stderr,
            "prompt: %d tokens in %.1f ms (%.2f t/s); generation: %d tokens "
            "in %.1f ms (%.2f t/s); stop: %s; %d threads\n",
            (int)st.n_prompt, st.prompt_ms, st.prompt_tps, (int)st.n_gen,
            st.gen_ms, st.gen_tps, llm_stop_reason_str(st.stop),
            llm_ctx_n_threads(c));
    rc = 0;
out:
    llm_ctx_free(c);
    llm_model_free(m);
    return rc;
}

/* ==== embed ============================================================= */

static int cmd_embed(int argc, char **argv) {
    const char *model = NULL, *text = NULL;
    llm_ctx_params cp = llm_ctx_default_params();
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-m")) NEED(model);
        else if (!strcmp(a, "-p")) NEED(text);
        else if (!strcmp(a, "-t")) INT_OPT(cp.n_threads, 1, 512);
        else if (!strcmp(a, "-c")) INT_OPT(cp.n_ctx, 1, 1 << 20);
        else if (!strcmp(a, "-b")) INT_OPT(cp.n_batch, 1, 4096);
        else return cli_usage_error("llm", "unknown option `%s`", a);
    }
    if (!model || !text)
        return cli_usage_error("llm", "embed needs -m FILE and -p TEXT%s",
                               "");
    wm_error err;
    llm_model *m = NULL;
    llm_ctx *c = NULL;
    int32_t *toks = NULL;
    float *vec = NULL;
    int rc = 1;
    if (load_model(model, &m, &err) || llm_ctx_new(m, &cp, &c, &err)) {
        cli_print_error(&err);
        goto out;
    }
    const llm_vocab *v = m->vocab;
    int32_t cap = llm_ctx_n_ctx(c);
    int64_t n;
    if (!(toks = malloc((size_t)cap * sizeof *toks)) ||
        !(vec = malloc((size_t)m->hp.n_embd * sizeof *vec))) {
        wm_errf(&err, WM_ERR_NOMEM, "out of memory");
        cli_print_error(&err);
        goto out;
    }
    n = llm_tokenize(v, text, strlen(text), llm_vocab_add_bos(v), true, toks,
                     (size_t)cap, &err);
    if (n > cap)
        wm_errf(&err, WM_ERR_LIMIT, "text of %lld tokens is longer than the "
                "context of %d (-c)", (long long)n, (int)cap);
    if (n < 0 || n > cap ||
        llm_embed(c, toks, (int32_t)n, vec, &err)) {
        cli_print_error(&err);
        goto out;
    }
    printf("{\"n_embedding\": %d, \"embedding\": [", (int)m->hp.n_embd);
    for (int i = 0; i < m->hp.n_embd; i++)
        printf("%s%.9g", i ? "," : "", (double)vec[i]);
    printf("]}\n");
    rc = 0;
out:
    free(toks);
    free(vec);
    llm_ctx_free(c);
    llm_model_free(m);
    return rc;
}

/* ==== bench ============================================================= */

typedef struct bw_job {
    const uint8_t *buf;
    size_t n;
    double *sums;            /* [nth] to keep the loads alive */
} bw_job;

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static double bw_sum_avx2(const uint8_t *p,
                                                          size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_load_si256((const void *)(p + i)));
        a1 = _mm256_xor_si256(a1,
                              _mm256_load_si256((const void *)(p + i + 32)));
        a2 = _mm256_xor_si256(a2,
                              _mm256_load_si256((const void *)(p + i + 64)));
        a3 = _mm256_xor_si256(a3,
                              _mm256_load_si256((const void *)(p + i + 96)));
    }
    a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    return (double)_mm256_extract_epi64(a0, 0);
}
#endif

static void bw_worker(void *arg, int ith, int nth) {
    const bw_job *j = arg;
    size_t lo = j->n * (size_t)ith / (size_t)nth & ~(size_t)127;
    size_t hi = j->n * (size_t)(ith + 1) / (size_t)nth & ~(size_t)127;
    double s = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        j->sums[ith] = bw_sum_avx2(j->buf + lo, hi - lo);
        return;
    }
#endif
    const uint64_t *p = (const uint64_t *)(j->buf + lo);
    uint64_t x = 0;
    for (size_t i = 0; i < (hi - lo) / 8; i++) x ^= p[i];
    s = (double)x;
    j->sums[ith] = s;
}

/* Read bandwidth in bytes/s over a 512 MiB buffer with the pool's
 * threads: the best of 3 passes (after one to fault the pages in). */
static double measure_read_bw(int n_threads) {
    size_t n = (size_t)512 << 20;
    uint8_t *buf = NULL;
    if (posix_memalign((void **)&buf, 64, n) != 0) return 0;
    memset(buf, 1, n);
    llm_pool *pool = llm_pool_new(n_threads);
    double best = 0, sums[512];
    if (pool) {
        bw_job j = {.buf = buf, .n = n, .sums = sums};
        for (int r = 0; r < 4; r++) {
            double t0 = llm_time_ms();
            llm_pool_run(pool, bw_worker, &j);
            double dt = (llm_time_ms() - t0) / 1e3;
            if (r > 0 && dt > 0 && (double)n / dt > best)
                best = (double)n / dt;
        }
    }
    llm_pool_free(pool);
    free(buf);
    return best;
}

static void mean_sd(const double *x, int n, double *mean, double *sd) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

/* A "VmXXX:  N kB" line of /proc/self/status, in bytes (0 if absent). */
static uint64_t proc_status_bytes(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t kl = strlen(key);
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            sscanf(line + kl + 1, "%llu", &kb);
            break;
        }
    fclose(f);
    return (uint64_t)kb * 1024;
}

static int cmd_bench(int argc, char **argv) {
    const char *model = NULL;
    long long n_threads = 0, n_pp = 128, n_tg = 64, reps = 5;
    bool json = false, bw = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-m")) NEED(model);
        else if (!strcmp(a, "-t")) INT_OPT(n_threads, 1, 512);
        else if (!strcmp(a, "-p")) INT_OPT(n_pp, 0, 4096);
        else if (!strcmp(a, "-n")) INT_OPT(n_tg, 0, 4096);
        else if (!strcmp(a, "-r")) INT_OPT(reps, 1, 1000);
        else if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--no-bw")) bw = false;
        else return cli_usage_error("llm", "unknown option `%s`", a);
    }
    if (!model) return cli_usage_error("llm", "bench needs -m FILE%s", "");
    if (n_pp + n_tg == 0) return cli_usage_error("llm",
        "nothing to run (-p 0 -n 0)%s", "");
    wm_error err;
    llm_model *m = NULL;
    llm_ctx *c = NULL;
    int rc = 1;
    int32_t *toks = NULL;
    double *pp = calloc((size_t)reps, sizeof *pp);
    double *tg = calloc((size_t)reps, sizeof *tg);
    if (!pp || !tg) goto out;
    if (load_model(model, &m, &err)) {
        cli_print_error(&err);
        goto out;
    }
    if (!isatty(2) || m->weight_bytes <= ((uint64_t)256 << 20))
        llm_model_prefault(m, NULL, NULL);
    llm_ctx_params cp = llm_ctx_default_params();
    cp.n_threads = (int32_t)n_threads;
    cp.n_ctx = (int32_t)(n_pp > n_tg ? n_pp : n_tg) + 1;
    cp.n_batch = n_pp > 0 ? (int32_t)n_pp : 1;
    if (llm_ctx_new(m, &cp, &c, &err)) {
        cli_print_error(&err);
        goto out;
    }
    int32_t n_tok = (int32_t)(n_pp > n_tg ? n_pp : n_tg);
    toks = malloc((size_t)n_tok * sizeof *toks);
    if (!toks) goto out;
    uint64_t s = 0x12345678;
    for (int32_t i = 0; i < n_tok; i++) {   /* fixed pseudo-random ids */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        toks[i] = (int32_t)((s >> 33) % (uint64_t)m->hp.n_vocab);
    }
    /* Warm-up (not counted): one short prompt and a few tokens. */
    if (llm_decode(c, toks, n_tok < 8 ? n_tok : 8, 0, &err)) {
        cli_print_error(&err);
        goto out;
    }
    for (int r = 0; r < reps; r++) {
        if (n_pp > 0) {
            double t0 = llm_time_ms();
            if (llm_decode(c, toks, (int32_t)n_pp, 0, &err)) {
                cli_print_error(&err);
                goto out;
            }
            pp[r] = (double)n_pp / ((llm_time_ms() - t0) / 1e3);
        }
        if (n_tg > 0) {
            double t0 = llm_time_ms();
            for (int32_t i = 0; i < n_tg; i++)
                if (llm_decode(c, &toks[i], 1, i, &err)) {
                    cli_print_error(&err);
                    goto out;
                }
            tg[r] = (double)n_tg / ((llm_time_ms() - t0) / 1e3);
        }
    }
    /* Peak resident memory of the runs (before the bandwidth probe's
     * buffer): the weights (mapped, prefaulted), the KV cache, and what
     * the engine adds on top (activations, logits, pool, the binary). */
    uint64_t peak = proc_status_bytes("VmHWM");
    uint64_t kv = llm_ctx_kv_bytes(c);
    int64_t extra = (int64_t)peak - (int64_t)m->weight_bytes - (int64_t)kv;
    double pp_m, pp_sd, tg_m, tg_sd;
    mean_sd(pp, (int)reps, &pp_m, &pp_sd);
    mean_sd(tg, (int)reps, &tg_m, &tg_sd);
    int nth = llm_ctx_n_threads(c);
    double read_bw = bw ? measure_read_bw(nth) : 0;
    double frac = read_bw > 0 ? (double)m->weight_bytes * tg_m / read_bw : 0;
    const char *ty = llm_traits(m->main_type)->name;
    const char *isa = llm_kernels_init();
    if (json) {
        printf("{\"model\": \"%s\", \"arch\": \"%s\", \"type\": \"%s\", "
               "\"n_params\": %" PRIu64 ", \"model_bytes\": %" PRIu64 ", "
               "\"n_embd\": %d, \"n_layer\": %d, \"n_head\": %d, "
               "\"n_head_kv\": %d, \"n_ff\": %d, \"n_vocab\": %d, "
               "\"threads\": %d, \"isa\": \"%s\", \"n_prompt\": %lld, "
               "\"n_gen\": %lld, \"reps\": %lld, "
               "\"pp_tps\": %.3f, \"pp_tps_sd\": %.3f, "
               "\"tg_tps\": %.3f, \"tg_tps_sd\": %.3f, "
               "\"read_bw_gbs\": %.3f, \"tg_bw_frac\": %.4f, "
               "\"peak_rss_bytes\": %" PRIu64 ", \"kv_bytes\": %" PRIu64
               ", \"rss_extra_bytes\": %" PRId64 "}\n",
               model, llm_arch_name(m->hp.arch), ty, m->n_params,
               m->weight_bytes, (int)m->hp.n_embd, (int)m->hp.n_layer,
               (int)m->hp.n_head, (int)m->hp.n_head_kv, (int)m->hp.n_ff,
               (int)m->hp.n_vocab, nth, isa, n_pp, n_tg, reps, pp_m, pp_sd,
               tg_m, tg_sd, read_bw / 1e9, frac, peak, kv, extra);
    } else {
        printf("model: %s (%s, %s, %.1fM params, %.1f MiB), %d threads, "
               "%s kernels\n",
               model, llm_arch_name(m->hp.arch), ty, m->n_params / 1e6,
               m->weight_bytes / 1048576.0, nth, isa);
        if (n_pp > 0)
            printf("pp%lld: %10.2f ± %.2f t/s\n", n_pp, pp_m, pp_sd);
        if (n_tg > 0)
            printf("tg%lld: %10.2f ± %.2f t/s\n", n_tg, tg_m, tg_sd);
        if (read_bw > 0 && n_tg > 0)
            printf("read bandwidth %.2f GB/s; tg moves %.2f GB/s = %.0f%% "
                   "of it\n",
                   read_bw / 1e9, (double)m->weight_bytes * tg_m / 1e9,
                   frac * 100);
        if (peak > 0)
            printf("peak resident %.1f MiB = weights %.1f + KV cache %.1f "
                   "+ %.1f MiB other\n",
                   peak / 1048576.0, m->weight_bytes / 1048576.0,
                   kv / 1048576.0, extra / 1048576.0);
    }
    rc = 0;
out:
    free(pp);
    free(tg);
    free(toks);
    llm_ctx_free(c);
    llm_model_free(m);
    return rc;
}

/* ==== synth ============================================================= */

static int cmd_synth(int argc, char **argv) {
    llm_synth_params sp = llm_synth_default_params();
    const char *type = "f32", *vocab = NULL, *out = NULL;
    long long seed = 1, n_threads = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--preset")) NEED(sp.preset);
        else if (!strcmp(a, "--type")) NEED(type);
        else if (!strcmp(a, "--vocab-from")) NEED(vocab);
        else if (!strcmp(a, "--seed")) INT_OPT(seed, 0, INT64_MAX);
        else if (!strcmp(a, "--pure")) sp.pure = true;
        else if (!strcmp(a, "-t")) INT_OPT(n_threads, 1, 512);
        else if (!strcmp(a, "-o")) NEED(out);
        else return cli_usage_error("llm", "unknown option `%s`", a);
    }
    if (!out) return cli_usage_error("llm", "synth needs -o FILE%s", "");
    if (!llm_synth_find(sp.preset)) {
        int n;
        const llm_synth_preset *ps = llm_synth_presets(&n);
        fprintf(stderr, "wasmind: error: unknown preset `%s`; presets:\n",
                sp.preset);
        for (int i = 0; i < n; i++)
            fprintf(stderr, "  %-11s %s\n", ps[i].name, ps[i].what);
        return 2;
    }
    llm_kernels_init();
    sp.type = llm_type_from_name(type);
    if (sp.type == LLM_TYPE_COUNT) return cli_usage_error("llm",
        "unknown type `%s`", type);
    sp.seed = (uint64_t)seed;
    sp.n_threads = (int)n_threads;
    wm_error err;
    gguf_file *vf = NULL;
    if (vocab && gguf_open(vocab, &vf, &err)) {
        cli_print_error(&err);
        return 1;
    }
    sp.vocab_from = vf;
    progress pg = progress_make("synthesising");
    sp.progress = progress_cb;
    sp.ud = &pg;
    wm_status st = llm_synth_write(&sp, out, &err);
    gguf_close(vf);
    if (st) {
        cli_print_error(&err);
        return 1;
    }
    return 0;
}

int cli_llm(int argc, char **argv) {
    if (argc < 1) {
        fputs(llm_usage, stderr);
        return 2;
    }
    const char *sub = argv[0];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        fputs(llm_usage, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(llm_usage, stdout);
            return 0;
        }
    if (!strcmp(sub, "generate")) return cmd_generate(argc - 1, argv + 1);
    if (!strcmp(sub, "embed")) return cmd_embed(argc - 1, argv + 1);
    if (!strcmp(sub, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(sub, "synth")) return cmd_synth(argc - 1, argv + 1);
    return cli_usage_error("llm", "unknown llm command `%s`", sub);
}
