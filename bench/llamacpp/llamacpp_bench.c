/*
 * llamacpp_bench.c — llama.cpp's own pp/tg measurement, run here, for the
 * `make bench-llamacpp` comparison with `wasmind llm bench`.
 *
 * Built against the llama.h / ggml*.h of the exact llama.cpp the npm
 * package @node-llama-cpp/linux-x64 was compiled from (extracted from the
 * source bundle of node-llama-cpp at the same version, by setup.sh), and
 * linked to that package's prebuilt libllama / libggml (rpath), so no
 * struct layout is guessed. The CPU backend is one of the package's
 * per-ISA variants (libggml-cpu-haswell.so, ...-zen4.so, ...): ggml loads
 * the best one this CPU supports, and its name and features are printed.
 *
 * The measurement mirrors tools/llama-bench/llama-bench.cpp of that
 * release: a context per test (n_ctx = tokens of the test), a ggml
 * threadpool attached (poll 50), one warm-up (the whole prompt for pp, one
 * token for tg), then per repetition the KV cache is cleared and
 *   pp: the prompt (BOS + random ids) decoded in one llama_decode call,
 *   tg: n single-token decodes from an empty cache (BOS, then random ids),
 * timed around the calls (llama_synchronize included); t/s mean and
 * sample stddev over the repetitions. Defaults as llama-bench's, except
 * flash attention (off unless --fa) and mmap (explicitly on).
 *
 *   llamacpp_bench -m FILE [-t N] [-p 128] [-n 64] [-r 5] [--fa on|off|auto]
 *                  [--json]
 *   llamacpp_bench -m FILE --gen PROMPT [-n N] [-t N]   greedy, text out
 *   llamacpp_bench --info                               loaded CPU variant
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <link.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama.h"

typedef struct ggml_threadpool *(*threadpool_new_fn)(
    struct ggml_threadpool_params *params);
typedef void (*threadpool_free_fn)(struct ggml_threadpool *tp);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void quiet_log(enum ggml_log_level level, const char *text,
                      void *ud) {
    (void)ud;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

/* ==== Which CPU variant ggml loaded ===================================== */

static int find_cpu_variant(struct dl_phdr_info *info, size_t size,
                            void *ud) {
    (void)size;
    const char *base = strrchr(info->dlpi_name, '/');
    base = base ? base + 1 : info->dlpi_name;
    if (strncmp(base, "libggml-cpu-", 12) == 0) {
        char *out = ud;
        size_t n = strcspn(base + 12, ".");
        if (n > 63) n = 63;
        memcpy(out, base + 12, n);
        out[n] = 0;
        return 1;
    }
    return 0;
}

/* variant: e.g. "haswell"; features: the CPU backend's feature list. */
static void cpu_backend_info(char variant[64], char *features, size_t cap) {
    strcpy(variant, "?");
    dl_iterate_phdr(find_cpu_variant, variant);
    features[0] = 0;
    ggml_backend_dev_t dev =
        ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!dev) return;
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    ggml_backend_get_features_t get = (ggml_backend_get_features_t)
        ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
    if (!get) return;
    size_t len = 0;
    for (struct ggml_backend_feature *f = get(reg); f && f->name; f++) {
        /* Flags are "1"; others (e.g. "OPENMP") carry a value. */
        int n = strcmp(f->value, "1") == 0
                    ? snprintf(features + len, cap - len, "%s%s",
                               len ? " " : "", f->name)
                    : snprintf(features + len, cap - len, "%s%s=%s",
                               len ? " " : "", f->name, f->value);
        if (n < 0 || (size_t)n >= cap - len) break;
        len += (size_t)n;
    }
}

/* ==== Bench ============================================================= */

typedef struct bench_opts {
    const char *model;
    int n_threads, n_prompt, n_gen, reps;
    enum llama_flash_attn_type fa;
} bench_opts;

typedef struct pool_fns {
    threadpool_new_fn make;
    threadpool_free_fn drop;
} pool_fns;

static bool find_pool(pool_fns *p) {
    ggml_backend_dev_t dev =
        ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!dev) return false;
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    p->make = (threadpool_new_fn)ggml_backend_reg_get_proc_address(
        reg, "ggml_threadpool_new");
    p->drop = (threadpool_free_fn)ggml_backend_reg_get_proc_address(
        reg, "ggml_threadpool_free");
    return p->make && p->drop;
}

static llama_token first_token(const struct llama_vocab *v) {
    return llama_vocab_get_add_bos(v) ? llama_vocab_bos(v)
                                      : rand() % llama_vocab_n_tokens(v);
}

/* llama-bench's test_prompt with n_batch >= n_prompt: one decode. */
static bool run_prompt(struct llama_context *ctx, llama_token *toks, int n) {
    const struct llama_vocab *v =
        llama_model_get_vocab(llama_get_model(ctx));
    toks[0] = first_token(v);
    for (int i = 1; i < n; i++) toks[i] = rand() % llama_vocab_n_tokens(v);
    if (llama_decode(ctx, llama_batch_get_one(toks, n)) != 0) {
        fprintf(stderr, "llamacpp_bench: prompt decode failed\n");
        return false;
    }
    llama_synchronize(ctx);
    return true;
}

/* llama-bench's test_gen. */
static bool run_gen(struct llama_context *ctx, int n) {
    const struct llama_vocab *v =
        llama_model_get_vocab(llama_get_model(ctx));
    llama_token tok = first_token(v);
    for (int i = 0; i < n; i++) {
        if (llama_decode(ctx, llama_batch_get_one(&tok, 1)) != 0) {
            fprintf(stderr, "llamacpp_bench: token decode failed\n");
            return false;
        }
        llama_synchronize(ctx);
        tok = rand() % llama_vocab_n_tokens(v);
    }
    return true;
}

static void mean_sd(const double *x, int n, double *mean, double *sd) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

/* One llama-bench test (pp: n_prompt > 0, or tg: n_gen > 0); t/s of each
 * repetition into tps[reps]. */
static bool run_test(struct llama_model *model, const bench_opts *o,
                     const pool_fns *tp, int n_prompt, int n_gen,
                     double *tps) {
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(n_prompt + n_gen);
    cp.n_batch = 2048;                   /* llama-bench's defaults */
    cp.n_ubatch = 512;
    cp.type_k = GGML_TYPE_F16;
    cp.type_v = GGML_TYPE_F16;
    cp.flash_attn_type = o->fa;
    cp.n_threads = o->n_threads;
    cp.n_threads_batch = o->n_threads;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "llamacpp_bench: cannot create a context\n");
        return false;
    }
    struct ggml_threadpool_params tpp =
        ggml_threadpool_params_default(o->n_threads);
    tpp.poll = 50;
    struct ggml_threadpool *pool = tp->make(&tpp);
    llama_token *toks = malloc((size_t)(n_prompt + 1) * sizeof *toks);
    bool ok = pool && toks;
    if (ok) llama_attach_threadpool(ctx, pool, NULL);
    llama_set_n_threads(ctx, o->n_threads, o->n_threads);
    if (ok) {
        llama_memory_clear(llama_get_memory(ctx), false);
        ok = n_prompt > 0 ? run_prompt(ctx, toks, n_prompt)
                          : run_gen(ctx, 1);            /* warm-up */
    }
    for (int r = 0; ok && r < o->reps; r++) {
        llama_memory_clear(llama_get_memory(ctx), false);
        double t0 = now_s();
        ok = n_prompt > 0 ? run_prompt(ctx, toks, n_prompt)
                          : run_gen(ctx, n_gen);
        tps[r] = (n_prompt + n_gen) / (now_s() - t0);
    }
    llama_detach_threadpool(ctx);
    llama_free(ctx);
    if (pool) tp->drop(pool);
    free(toks);
    return ok;
}

static struct llama_model *load(const char *path) {
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;                 /* CPU build: nothing to offload */
    mp.load_mode = LLAMA_LOAD_MODE_MMAP;
    struct llama_model *m = llama_model_load_from_file(path, mp);
    if (!m) fprintf(stderr, "llamacpp_bench: cannot load %s\n", path);
    return m;
}

static const char *fa_name(enum llama_flash_attn_type fa) {
    return fa == LLAMA_FLASH_ATTN_TYPE_ENABLED    ? "on"
           : fa == LLAMA_FLASH_ATTN_TYPE_DISABLED ? "off"
                                                  : "auto";
}

static int bench(const bench_opts *o, bool json) {
    pool_fns tp;
    if (!find_pool(&tp)) {
        fprintf(stderr, "llamacpp_bench: no CPU backend threadpool\n");
        return 1;
    }
    struct llama_model *m = load(o->model);
    if (!m) return 1;
    double *pp = calloc((size_t)o->reps, sizeof *pp);
    double *tg = calloc((size_t)o->reps, sizeof *tg);
    int rc = 1;
    if (!pp || !tg) goto out;
    srand(1);
    if (o->n_prompt > 0 && !run_test(m, o, &tp, o->n_prompt, 0, pp))
        goto out;
    if (o->n_gen > 0 && !run_test(m, o, &tp, 0, o->n_gen, tg)) goto out;
    double pp_m = 0, pp_sd = 0, tg_m = 0, tg_sd = 0;
    if (o->n_prompt > 0) mean_sd(pp, o->reps, &pp_m, &pp_sd);
    if (o->n_gen > 0) mean_sd(tg, o->reps, &tg_m, &tg_sd);
    char variant[64], feats[512], desc[128];
    cpu_backend_info(variant, feats, sizeof feats);
    llama_model_desc(m, desc, sizeof desc);
    if (json) {
        printf("{\"engine\": \"llama.cpp\", \"model\": \"%s\", "
               "\"desc\": \"%s\", \"model_bytes\": %llu, "
               "\"threads\": %d, \"cpu_variant\": \"%s\", "
               "\"features\": \"%s\", \"flash_attn\": \"%s\", "
               "\"n_prompt\": %d, \"n_gen\": %d, \"reps\": %d, "
               "\"pp_tps\": %.3f, \"pp_tps_sd\": %.3f, "
               "\"tg_tps\": %.3f, \"tg_tps_sd\": %.3f}\n",
               o->model, desc, (unsigned long long)llama_model_size(m),
               o->n_threads, variant, feats, fa_name(o->fa), o->n_prompt,
               o->n_gen, o->reps, pp_m, pp_sd, tg_m, tg_sd);
    } else {
        printf("model: %s (%s, %.1f MiB), %d threads, llama.cpp CPU "
               "backend %s [%s], flash-attn %s\n",
               o->model, desc, llama_model_size(m) / 1048576.0,
               o->n_threads, variant, feats, fa_name(o->fa));
        if (o->n_prompt > 0)
            printf("pp%d: %10.2f ± %.2f t/s\n", o->n_prompt, pp_m, pp_sd);
        if (o->n_gen > 0)
            printf("tg%d: %10.2f ± %.2f t/s\n", o->n_gen, tg_m, tg_sd);
    }
    rc = 0;
out:
    free(pp);
    free(tg);
    llama_model_free(m);
    return rc;
}

/* ==== Greedy generation (sanity check against wasmind) ================= */

static int generate(const char *path, const char *prompt, int n_gen,
                    int n_threads) {
    struct llama_model *m = load(path);
    if (!m) return 1;
    const struct llama_vocab *v = llama_model_get_vocab(m);
    int n_vocab = llama_vocab_n_tokens(v);
    int cap = (int)strlen(prompt) + 8;
    llama_token *toks = malloc((size_t)cap * sizeof *toks);
    int rc = 1;
    struct llama_context *ctx = NULL;
    int n = toks ? llama_tokenize(v, prompt, (int32_t)strlen(prompt), toks,
                                  cap, true, false)
                 : -1;
    if (n < 0) {
        fprintf(stderr, "llamacpp_bench: tokenize failed\n");
        goto out;
    }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(n + n_gen);
    cp.n_batch = cp.n_ubatch = (uint32_t)(n > 0 ? n : 1);
    cp.n_threads = cp.n_threads_batch = n_threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    ctx = llama_init_from_model(m, cp);
    if (!ctx) goto out;
    struct llama_batch b = llama_batch_get_one(toks, n);
    for (int i = 0; i < n_gen; i++) {
        if (llama_decode(ctx, b) != 0) goto out;
        const float *logits = llama_get_logits_ith(ctx, -1);
        llama_token best = 0;
        for (llama_token t = 1; t < n_vocab; t++)
            if (logits[t] > logits[best]) best = t;
        if (llama_vocab_is_eog(v, best)) break;
        char piece[256];
        int len = llama_token_to_piece(v, best, piece, sizeof piece, 0,
                                       false);
        if (len > 0) fwrite(piece, 1, (size_t)len, stdout);
        toks[0] = best;
        b = llama_batch_get_one(toks, 1);
    }
    fputc('\n', stdout);
    rc = 0;
out:
    llama_free(ctx);
    free(toks);
    llama_model_free(m);
    return rc;
}

/* ==== main ============================================================== */

static int usage(void) {
    fprintf(stderr,
            "usage: llamacpp_bench -m FILE [-t N] [-p 128] [-n 64] [-r 5] "
            "[--fa on|off|auto] [--json]\n"
            "       llamacpp_bench -m FILE --gen PROMPT [-n N] [-t N]\n"
            "       llamacpp_bench --info\n");
    return 2;
}

int main(int argc, char **argv) {
    bench_opts o = {.n_threads = 2, .n_prompt = 128, .n_gen = 64,
                    .reps = 5, .fa = LLAMA_FLASH_ATTN_TYPE_DISABLED};
    const char *gen = NULL;
    bool json = false, info = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--info")) info = true;
        else if (!val) return usage();
        else if (!strcmp(a, "-m")) o.model = val, i++;
        else if (!strcmp(a, "--gen")) gen = val, i++;
        else if (!strcmp(a, "-t")) o.n_threads = atoi(val), i++;
        else if (!strcmp(a, "-p")) o.n_prompt = atoi(val), i++;
        else if (!strcmp(a, "-n")) o.n_gen = atoi(val), i++;
        else if (!strcmp(a, "-r")) o.reps = atoi(val), i++;
        else if (!strcmp(a, "--fa")) {
            i++;
            if (!strcmp(val, "on")) o.fa = LLAMA_FLASH_ATTN_TYPE_ENABLED;
            else if (!strcmp(val, "off"))
                o.fa = LLAMA_FLASH_ATTN_TYPE_DISABLED;
            else if (!strcmp(val, "auto")) o.fa = LLAMA_FLASH_ATTN_TYPE_AUTO;
            else return usage();
        } else return usage();
    }
    if (o.n_threads < 1 || o.reps < 1 || o.n_prompt < 0 || o.n_gen < 0 ||
        (!info && !o.model))
        return usage();
    llama_log_set(quiet_log, NULL);
    /* The package's per-ISA CPU backends sit next to libllama: ggml
     * scores each against this CPU and loads the best. */
    ggml_backend_load_all_from_path(LLAMACPP_LIB_DIR);
    llama_backend_init();
    int rc;
    if (info) {
        char variant[64], feats[512];
        cpu_backend_info(variant, feats, sizeof feats);
        printf("cpu_variant: %s\nfeatures: %s\nsystem_info: %s\n", variant,
               feats, llama_print_system_info());
        rc = strcmp(variant, "?") ? 0 : 1;
    } else if (gen) {
        rc = generate(o.model, gen, o.n_gen, o.n_threads);
    } else {
        rc = bench(&o, json);
    }
    llama_backend_free();
    return rc;
}
