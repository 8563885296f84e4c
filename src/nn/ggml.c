/*
 * ggml.c — the WASI-NN "GGML" backend (encoding 6) on wasmind's engine:
 * WasmEdge's llama.cpp plugin semantics (spec §6) over src/llm.
 *
 *   graph     one llm_model (from a host file, or GGUF bytes the guest
 *             sent, kept in a graph-owned copy) + the load-time config.
 *             Reference-counted: the graph handle holds one reference and
 *             every context one more, so `unload` leaves existing contexts
 *             working (spec §5.4).
 *   context   its own copy of the config, an llm_ctx (KV cache of ctx-size
 *             positions) and one llm_gen session, the prompt bytes, and
 *             the outputs: the whole text of the last compute, the last
 *             token's text (compute_single), the metadata JSON.
 *
 * Config: the load-time JSON becomes the graph's config; a context copies
 * it when created and `set_input(ctx, 1, json)` updates that copy only.
 * (WasmEdge applies model/sampler keys graph-wide because all its contexts
 * share one llama context; here each context owns its engine context, so
 * per-context is the natural reading, and a guest with one context per
 * graph — LlamaEdge — sees no difference.) A change of ctx-size,
 * batch-size or threads rebuilds the engine context at the next compute;
 * sampler keys take effect at the next compute too.
 *
 * KV cache reuse: the session keeps the tokens in the cache; a prompt that
 * starts with them (a chat guest resending the whole conversation each
 * turn) decodes only the new tail (llm_gen reuse_cache). The result is the
 * same as starting from an empty cache up to float rounding.
 *
 * Defaults when a key is absent are the engine's, i.e. those of
 * `wasmind llm generate` (the spec marks llama.cpp's as version-dependent):
 * ctx-size = the model's training context capped at 4096, batch-size 64,
 * threads = online CPUs, n-predict -1 (until the context is full), temp
 * 0.8, top-k 40, top-p 0.95, min-p 0.05, repeat-penalty 1.0 over 64
 * tokens, seed 0.
 *
 * Embedding mode (`embedding: true`): `compute` tokenizes the prompt as
 * for generation and writes output 0 as {"n_embedding": N, "embedding":
 * [...]}: the engine's llm_embed (final hidden states after the output
 * norm, pooled as the model's pooling_type says — mean when it says
 * nothing — and scaled to unit Euclidean length, as WasmEdge's default
 * normalisation). A prompt longer than ctx-size is prompt_too_long (the
 * engine splits it into batches itself, so batch-size does not bound it
 * as in WasmEdge); compute_single is unsupported_operation in this mode.
 *
 * Differences from WasmEdge, all deliberate: `grammar`, `json-schema`,
 * `image` and `mmproj` (features this engine lacks) are refused with
 * unsupported_operation instead of being half-honoured;
 * n-gpu-layers and the other GPU/placement keys are accepted and ignored
 * (CPU only); the reverse prompt ends a `compute` with the text *before*
 * it (llm_stop semantics). Text outputs are whole UTF-8 sequences: a
 * character split over byte tokens comes out with its last token.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "nn.h"
#include "../llm/generate.h"
#include "../util/json.h"

/* Config JSON larger than this is refused (invalid_encoding). */
#define GGML_CFG_MAX_BYTES ((size_t)16 << 20)
#define GGML_MAX_CTX (1 << 20)
#define GGML_MAX_BATCH 65536
#define GGML_MAX_THREADS 512

/* The metadata output's build fields (LlamaEdge requires an integer
 * build number): wasmind's version, major*10000 + minor*100 + patch. */
#define GGML_BUILD_NUMBER 100
#define GGML_COMMIT "wasmind-" WM_VERSION

typedef struct ggml_cfg {
    bool enable_log, enable_debug_log, stream_stdout, ignore_eos;
    bool embedding;              /* compute returns an embedding */
    int32_t n_predict;           /* < 0: until the context is full */
    char *reverse_prompt;        /* owned; NULL: none */
    int32_t ctx_size;            /* 0: model's, at most 4096 */
    int32_t batch_size, threads; /* threads 0: online CPUs */
    llm_sampler_params sp;
} ggml_cfg;

struct ggml_graph {
    int refs;
    const nn_host *host;
    llm_model *model;
    uint8_t *bytes;              /* the guest's GGUF copy, or NULL */
    ggml_cfg cfg;
};

typedef struct textbuf {
    char *p;
    size_t len, cap;
} textbuf;

struct ggml_exec {
    ggml_graph *g;
    ggml_cfg cfg;
    llm_ctx *lctx;
    llm_gen *gen;
    int32_t built_ctx, built_batch, built_threads;  /* lctx's sizes */
    char *prompt;
    size_t prompt_len;
    bool has_prompt;
    bool single_active;          /* compute_single mid-stream */
    textbuf out;                 /* text of the current/last generation */
    textbuf last;                /* text of the last compute_single token */
    int64_t in_tokens, out_tokens;
    char meta[192];
};

/* ==== Logging ============================================================ */

void nn_log(const nn_host *h, const char *fmt, ...) {
    if (!h || !h->output) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    h->output(h->ud, WM_NN_LOG, buf, len);
}

static void log_err(const nn_host *h, const char *what, const wm_error *err) {
    char buf[400];
    wm_error_format(err, buf, sizeof buf);
    nn_log(h, "%s: %s", what, buf);
}

/* ==== Text buffers ======================================================= */

static bool tb_put(textbuf *b, const char *s, size_t n) {
    if (n == 0) return true;
    if (n > b->cap - b->len) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc - b->len < n) {
            if (nc > SIZE_MAX / 2) return false;
            nc *= 2;
        }
        char *np = realloc(b->p, nc);
        if (!np) return false;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return true;
}

static void tb_free(textbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ==== Config JSON ======================================================== */

static ggml_cfg cfg_default(void) {
    ggml_cfg c = {
        .n_predict = -1, .ctx_size = 0, .batch_size = 64, .threads = 0,
        .sp = llm_sampler_default_params(),
    };
    return c;
}

static void cfg_free(ggml_cfg *c) {
    free(c->reverse_prompt);
    c->reverse_prompt = NULL;
}

/* Deep copy (false: out of memory, dst untouched). */
static bool cfg_copy(ggml_cfg *dst, const ggml_cfg *src) {
    char *rp = NULL;
    if (src->reverse_prompt) {
        size_t n = strlen(src->reverse_prompt);
        if (!(rp = malloc(n + 1))) return false;
        memcpy(rp, src->reverse_prompt, n + 1);
    }
    *dst = *src;
    dst->reverse_prompt = rp;
    return true;
}

enum key_type { KT_BOOL, KT_INT, KT_FLOAT, KT_STR };
enum key_field {
    F_IGNORED, F_ENABLE_LOG, F_ENABLE_DEBUG_LOG, F_STREAM_STDOUT,
    F_EMBEDDING, F_N_PREDICT, F_REVERSE_PROMPT, F_UNSUPPORTED_STR,
    F_N_GPU_LAYERS, F_CTX_SIZE, F_BATCH_SIZE, F_THREADS, F_TEMP, F_TOP_P,
    F_TOP_K, F_MIN_P, F_REPEAT_PENALTY, F_REPEAT_LAST_N, F_PRESENCE,
    F_FREQUENCY, F_SEED, F_IGNORE_EOS,
};

/*
 * The keys WasmEdge's GGML backend reads, with their JSON types (a value
 * of another type is invalid_argument, as there). F_IGNORED keys are
 * type-checked and have no effect here (GPU placement, llama.cpp
 * internals this engine has no counterpart for). Keys not listed
 * (json_schema with an underscore, include_usage, anything unknown) are
 * ignored without a check, as WasmEdge does.
 */
static const struct cfg_key {
    const char *name;
    enum key_type type;
    enum key_field field;
} cfg_keys[] = {
    {"enable-log", KT_BOOL, F_ENABLE_LOG},
    {"enable-debug-log", KT_BOOL, F_ENABLE_DEBUG_LOG},
    {"stream-stdout", KT_BOOL, F_STREAM_STDOUT},
    {"embedding", KT_BOOL, F_EMBEDDING},
    {"n-predict", KT_INT, F_N_PREDICT},
    {"reverse-prompt", KT_STR, F_REVERSE_PROMPT},
    {"mmproj", KT_STR, F_UNSUPPORTED_STR},
    {"image", KT_STR, F_UNSUPPORTED_STR},
    {"grammar", KT_STR, F_UNSUPPORTED_STR},
    {"json-schema", KT_STR, F_UNSUPPORTED_STR},
    {"n-gpu-layers", KT_INT, F_N_GPU_LAYERS},
    {"main-gpu", KT_INT, F_IGNORED},
    {"tensor-split", KT_STR, F_IGNORED},
    {"use-mmap", KT_BOOL, F_IGNORED},
    {"split-mode", KT_STR, F_IGNORED},
    {"ctx-size", KT_INT, F_CTX_SIZE},
    {"batch-size", KT_INT, F_BATCH_SIZE},
    {"ubatch-size", KT_INT, F_IGNORED},
    {"threads", KT_INT, F_THREADS},
    {"threads-batch", KT_INT, F_IGNORED},
    {"temp", KT_FLOAT, F_TEMP},
    {"top-p", KT_FLOAT, F_TOP_P},
    {"top-k", KT_INT, F_TOP_K},
    {"min-p", KT_FLOAT, F_MIN_P},
    {"typ-p", KT_FLOAT, F_IGNORED},
    {"repeat-penalty", KT_FLOAT, F_REPEAT_PENALTY},
    {"repeat-last-n", KT_INT, F_REPEAT_LAST_N},
    {"presence-penalty", KT_FLOAT, F_PRESENCE},
    {"frequency-penalty", KT_FLOAT, F_FREQUENCY},
    {"seed", KT_INT, F_SEED},
    {"ignore-eos", KT_BOOL, F_IGNORE_EOS},
    {"n-keep", KT_INT, F_IGNORED},
    {"mirostat", KT_INT, F_IGNORED},
    {"mirostat-lr", KT_FLOAT, F_IGNORED},
    {"mirostat-ent", KT_FLOAT, F_IGNORED},
    {"flash-attn", KT_STR, F_IGNORED},
    {"cache-type-k", KT_STR, F_IGNORED},
    {"cache-type-v", KT_STR, F_IGNORED},
    {"no-kv-offload", KT_BOOL, F_IGNORED},
    {"rope-freq-base", KT_FLOAT, F_IGNORED},
    {"rope-freq-scale", KT_FLOAT, F_IGNORED},
    {"embd-normalize", KT_INT, F_IGNORED},
    {"reranking", KT_BOOL, F_IGNORED},
    {"chat-template", KT_STR, F_IGNORED},
    {"model-alias", KT_STR, F_IGNORED},
};

static const char *key_type_name(enum key_type t) {
    switch (t) {
    case KT_BOOL: return "a boolean";
    case KT_INT: return "an integer";
    case KT_FLOAT: return "a number";
    case KT_STR: return "a string";
    }
    return "?";
}

static int32_t clamp_i32(int64_t v, int64_t lo, int64_t hi) {
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* A seed from the OS (llama.cpp's "-1 / 0xFFFFFFFF: random seed"). */
static uint64_t random_seed(void) {
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s)
        s = (uint64_t)(llm_time_ms() * 1e3);
    return s;
}

/*
 * Apply config JSON text[0..len) on top of *cfg. On success *cfg is
 * updated; on failure it is unchanged and the reason logged. Errors:
 * NN_INVALID_ENCODING (not JSON, not an object, too large),
 * NN_INVALID_ARGUMENT (wrong type or out-of-range value),
 * NN_UNSUPPORTED_OPERATION, NN_RUNTIME_ERROR (out of memory).
 */
static int cfg_apply(const nn_host *h, ggml_cfg *cfg, const uint8_t *text,
                     size_t len) {
    if (len > GGML_CFG_MAX_BYTES) {
        nn_log(h, "config: %zu bytes of JSON (at most %zu)", len,
               GGML_CFG_MAX_BYTES);
        return NN_INVALID_ENCODING;
    }
    json_doc doc;
    json_error jerr;
    json_limits lim = {.max_depth = 64, .max_bytes = 4 * GGML_CFG_MAX_BYTES};
    wm_status st = json_parse(&doc, (const char *)text, len, &lim, &jerr);
    if (st == WM_ERR_NOMEM) {
        nn_log(h, "config: out of memory");
        return NN_RUNTIME_ERROR;
    }
    if (st) {
        nn_log(h, "config: malformed JSON at %u:%u: %s", jerr.line, jerr.col,
               jerr.msg);
        return NN_INVALID_ENCODING;
    }
    int rc = NN_SUCCESS;
    ggml_cfg c;
    if (!cfg_copy(&c, cfg)) {
        json_doc_free(&doc);
        return NN_RUNTIME_ERROR;
    }
    if (doc.root.type != JSON_OBJECT) {
        nn_log(h, "config: expected a JSON object, got %s",
               json_type_name(doc.root.type));
        rc = NN_INVALID_ENCODING;
        goto out;
    }
    for (size_t k = 0; k < WM_ARRAY_LEN(cfg_keys); k++) {
        const struct cfg_key *key = &cfg_keys[k];
        const json_value *v = json_get(&doc.root, key->name);
        if (!v) continue;
        bool b = false;
        int64_t i = 0;
        double d = 0;
        const char *s = NULL;
        bool ok;
        switch (key->type) {
        case KT_BOOL: ok = json_as_bool(v, &b); break;
        case KT_INT: ok = json_as_int64(v, &i); break;
        case KT_FLOAT: ok = json_as_double(v, &d) && isfinite(d); break;
        case KT_STR: ok = v->type == JSON_STRING; s = v->u.str; break;
        default: ok = false; break;
        }
        if (!ok) {
            nn_log(h, "config: \"%s\" must be %s%s", key->name,
                   key_type_name(key->type),
                   key->type == KT_INT ? " (in the 64-bit range)" : "");
            rc = NN_INVALID_ARGUMENT;
            goto out;
        }
        switch (key->field) {
        case F_IGNORED: break;
        case F_ENABLE_LOG: c.enable_log = b; break;
        case F_ENABLE_DEBUG_LOG: c.enable_debug_log = b; break;
        case F_STREAM_STDOUT: c.stream_stdout = b; break;
        case F_IGNORE_EOS: c.ignore_eos = b; break;
        case F_EMBEDDING: c.embedding = b; break;
        case F_UNSUPPORTED_STR:
            if (v->len > 0) {
                nn_log(h, "config: \"%s\" is not supported by this engine",
                       key->name);
                rc = NN_UNSUPPORTED_OPERATION;
                goto out;
            }
            break;
        case F_N_PREDICT: c.n_predict = clamp_i32(i, -1, INT32_MAX); break;
        case F_REVERSE_PROMPT: {
            char *rp = NULL;
            if (v->len > 0) {
                if (!(rp = malloc((size_t)v->len + 1))) {
                    rc = NN_RUNTIME_ERROR;
                    goto out;
                }
                memcpy(rp, s, (size_t)v->len + 1);
            }
            free(c.reverse_prompt);
            c.reverse_prompt = rp;
            break;
        }
        case F_N_GPU_LAYERS:
            if (i > 0 && c.enable_log)
                nn_log(h, "config: n-gpu-layers %lld ignored: no GPU "
                          "support in this build, running on the CPU",
                       (long long)i);
            break;
        case F_CTX_SIZE:
            if (i < 0 || i > GGML_MAX_CTX) {
                nn_log(h, "config: ctx-size %lld out of range [0, %d]",
                       (long long)i, GGML_MAX_CTX);
                rc = NN_INVALID_ARGUMENT;
                goto out;
            }
            c.ctx_size = (int32_t)i;
            break;
        case F_BATCH_SIZE:
            if (i < 1 || i > GGML_MAX_BATCH) {
                nn_log(h, "config: batch-size %lld out of range [1, %d]",
                       (long long)i, GGML_MAX_BATCH);
                rc = NN_INVALID_ARGUMENT;
                goto out;
            }
            c.batch_size = (int32_t)i;
            break;
        case F_THREADS: c.threads = clamp_i32(i, 0, GGML_MAX_THREADS); break;
        case F_TEMP: c.sp.temp = d < 0 ? 0.0f : (float)d; break;
        case F_TOP_P: c.sp.top_p = d < 0 ? 0.0f : (float)d; break;
        case F_TOP_K: c.sp.top_k = clamp_i32(i, 0, INT32_MAX); break;
        case F_MIN_P: c.sp.min_p = (float)d; break;
        case F_REPEAT_PENALTY: c.sp.repeat_penalty = (float)d; break;
        case F_REPEAT_LAST_N:
            /* llama.cpp: -1 means the whole context. */
            c.sp.repeat_last_n = i < 0 ? 65535 : clamp_i32(i, 0, 65535);
            break;
        case F_PRESENCE: c.sp.presence_penalty = (float)d; break;
        case F_FREQUENCY: c.sp.frequency_penalty = (float)d; break;
        case F_SEED:
            c.sp.seed = (i == -1 || i == 0xFFFFFFFFll) ? random_seed()
                                                        : (uint64_t)i;
            break;
        }
    }
    /* Sampler values the engine refuses (e.g. repeat-penalty <= 0). */
    llm_sampler *probe = NULL;
    wm_error err;
    if (llm_sampler_new(&c.sp, 1, &probe, &err)) {
        log_err(h, "config", &err);
        rc = err.code == WM_ERR_NOMEM ? NN_RUNTIME_ERROR
                                      : NN_INVALID_ARGUMENT;
        goto out;
    }
    llm_sampler_free(probe);
out:
    json_doc_free(&doc);
    if (rc == NN_SUCCESS) {
        cfg_free(cfg);
        *cfg = c;
    } else {
        cfg_free(&c);
    }
    return rc;
}

/* ==== Graphs ============================================================= */

static int graph_finish(const nn_host *h, llm_model *m, uint8_t *bytes,
                        const uint8_t *cfg, size_t cfg_len,
                        ggml_graph **out) {
    ggml_graph *g = calloc(1, sizeof *g);
    if (!g) {
        llm_model_free(m);
        free(bytes);
        return NN_RUNTIME_ERROR;
    }
    g->refs = 1;
    g->host = h;
    g->model = m;
    g->bytes = bytes;
    g->cfg = cfg_default();
    if (cfg && cfg_len > 0) {
        int rc = cfg_apply(h, &g->cfg, cfg, cfg_len);
        if (rc) {
            ggml_graph_release(g);
            return rc;
        }
    }
    if (g->cfg.enable_log)
        nn_log(h, "loaded a %s model: %d layers, width %d, %d vocab, %s, "
                  "%.1f MiB",
               llm_arch_name(m->hp.arch), (int)m->hp.n_layer,
               (int)m->hp.n_embd, (int)m->hp.n_vocab,
               llm_traits(m->main_type)->name, m->weight_bytes / 1048576.0);
    *out = g;
    return NN_SUCCESS;
}

int ggml_graph_load_file(const nn_host *h, const char *path,
                         const uint8_t *cfg, size_t cfg_len,
                         ggml_graph **out) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        nn_log(h, "%s: model file not found", path);
        return NN_MODEL_NOT_FOUND;
    }
    llm_model *m = NULL;
    wm_error err;
    if (llm_model_load(path, &m, &err)) {
        log_err(h, "load", &err);
        return err.code == WM_ERR_NOT_FOUND ? NN_MODEL_NOT_FOUND
               : err.code == WM_ERR_NOMEM   ? NN_RUNTIME_ERROR
                                            : NN_INVALID_ARGUMENT;
    }
    return graph_finish(h, m, NULL, cfg, cfg_len, out);
}

int ggml_graph_load_bytes(const nn_host *h, const uint8_t *bytes, size_t len,
                          const uint8_t *cfg, size_t cfg_len,
                          ggml_graph **out) {
    *out = NULL;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        nn_log(h, "load: out of memory for %zu model bytes", len);
        return NN_RUNTIME_ERROR;
    }
    memcpy(copy, bytes, len);
    gguf_file *f = NULL;
    llm_model *m = NULL;
    wm_error err;
    if (gguf_open_buffer(copy, len, "guest model bytes", &f, &err) ||
        llm_model_from_gguf(f, &m, &err)) {
        log_err(h, "load", &err);
        gguf_close(f);
        free(copy);
        return err.code == WM_ERR_NOMEM ? NN_RUNTIME_ERROR
                                        : NN_INVALID_ARGUMENT;
    }
    return graph_finish(h, m, copy, cfg, cfg_len, out);
}

void ggml_graph_release(ggml_graph *g) {
    if (!g || --g->refs > 0) return;
    llm_model_free(g->model);
    free(g->bytes);
    cfg_free(&g->cfg);
    free(g);
}

/* ==== Execution contexts ================================================ */

/* (Re)build the engine context if none exists or its sizes changed.
 * Dropping it drops the KV cache. */
static int exec_ensure_ctx(ggml_exec *e) {
    if (e->lctx && e->built_ctx == e->cfg.ctx_size &&
        e->built_batch == e->cfg.batch_size &&
        e->built_threads == e->cfg.threads)
        return NN_SUCCESS;
    llm_gen_free(e->gen);
    llm_ctx_free(e->lctx);
    e->gen = NULL;
    e->lctx = NULL;
    const llm_model *m = e->g->model;
    llm_ctx_params cp = llm_ctx_default_params();
    cp.n_ctx = e->cfg.ctx_size;
    if (cp.n_ctx == 0)
        cp.n_ctx = m->hp.n_ctx_train > 0 && m->hp.n_ctx_train < 4096
                       ? m->hp.n_ctx_train : 4096;
    cp.n_batch = e->cfg.batch_size < cp.n_ctx ? e->cfg.batch_size : cp.n_ctx;
    cp.n_threads = e->cfg.threads;
    llm_gen_params gp = llm_gen_default_params();
    gp.sampling = e->cfg.sp;
    wm_error err;
    if (llm_ctx_new(m, &cp, &e->lctx, &err) ||
        llm_gen_new(e->lctx, &gp, &e->gen, &err)) {
        log_err(e->g->host, "context", &err);
        llm_ctx_free(e->lctx);
        e->lctx = NULL;
        return err.code == WM_ERR_NOMEM ? NN_RUNTIME_ERROR
                                        : NN_INVALID_ARGUMENT;
    }
    e->built_ctx = e->cfg.ctx_size;
    e->built_batch = e->cfg.batch_size;
    e->built_threads = e->cfg.threads;
    return NN_SUCCESS;
}

int ggml_exec_new(ggml_graph *g, ggml_exec **out) {
    *out = NULL;
    ggml_exec *e = calloc(1, sizeof *e);
    if (!e || !cfg_copy(&e->cfg, &g->cfg)) {
        free(e);
        return NN_RUNTIME_ERROR;
    }
    e->g = g;
    g->refs++;
    int rc = exec_ensure_ctx(e);
    if (rc) {
        ggml_exec_free(e);
        return rc;
    }
    *out = e;
    return NN_SUCCESS;
}

void ggml_exec_free(ggml_exec *e) {
    if (!e) return;
    llm_gen_free(e->gen);
    llm_ctx_free(e->lctx);
    cfg_free(&e->cfg);
    free(e->prompt);
    tb_free(&e->out);
    tb_free(&e->last);
    ggml_graph_release(e->g);
    free(e);
}

int ggml_set_input(ggml_exec *e, uint32_t index, const uint8_t *data,
                   size_t len) {
    if (index == 1) {
        int rc = cfg_apply(e->g->host, &e->cfg, data, len);
        if (rc == NN_SUCCESS && e->cfg.enable_debug_log)
            nn_log(e->g->host, "config updated: ctx-size %d, n-predict %d, "
                               "temp %g, top-p %g",
                   (int)e->cfg.ctx_size, (int)e->cfg.n_predict,
                   (double)e->cfg.sp.temp, (double)e->cfg.sp.top_p);
        return rc;
    }
    char *p = malloc(len ? len : 1);
    if (!p) {
        nn_log(e->g->host, "set_input: out of memory for a %zu-byte prompt",
               len);
        return NN_RUNTIME_ERROR;
    }
    memcpy(p, data, len);
    free(e->prompt);
    e->prompt = p;
    e->prompt_len = len;
    e->has_prompt = true;
    e->single_active = false;
    return NN_SUCCESS;
}

/*
 * What every compute starts with: a prompt must be set, the engine
 * context (re)built if its config changed, the outputs cleared, and the
 * prompt's tokens counted (BOS as the vocabulary says, special tokens
 * parsed) into e->in_tokens.
 */
static int exec_begin(ggml_exec *e) {
    const nn_host *h = e->g->host;
    if (!e->has_prompt) {
        nn_log(h, "compute: no prompt (set_input index 0 first)");
        return NN_INVALID_ARGUMENT;
    }
    int rc = exec_ensure_ctx(e);
    if (rc) return rc;
    e->out.len = e->last.len = 0;
    e->in_tokens = e->out_tokens = 0;
    const llm_vocab *v = e->g->model->vocab;
    wm_error err;
    int32_t dummy;
    int64_t n = llm_tokenize(v, e->prompt, e->prompt_len,
                             llm_vocab_add_bos(v), true, &dummy, 0, &err);
    if (n < 0) {
        log_err(h, "tokenize", &err);
        return NN_RUNTIME_ERROR;
    }
    e->in_tokens = n;
    return NN_SUCCESS;
}

/*
 * Start a generation from the prompt: exec_begin, prompt_too_long past
 * n_ctx - 4 (as WasmEdge), set the session's parameters for the mode and
 * evaluate the prompt (reusing the cached prefix).
 */
static int exec_start(ggml_exec *e, bool single) {
    const nn_host *h = e->g->host;
    int rc = exec_begin(e);
    if (rc) return rc;
    int64_t n = e->in_tokens;
    int32_t n_ctx = llm_ctx_n_ctx(e->lctx);
    wm_error err;
    if (n > (int64_t)n_ctx - 4) {
        nn_log(h, "prompt of %lld tokens is too long for the context of %d "
                  "(at most n_ctx - 4 = %d)",
               (long long)n, (int)n_ctx, (int)n_ctx - 4);
        return NN_PROMPT_TOO_LONG;
    }
    llm_gen_params gp = llm_gen_default_params();
    gp.sampling = e->cfg.sp;
    gp.ignore_eos = e->cfg.ignore_eos;
    const char *stops[1] = {e->cfg.reverse_prompt};
    if (single) {
        gp.n_predict = -1;           /* the guest counts (spec §6.3) */
    } else {
        gp.n_predict = e->cfg.n_predict;
        if (stops[0]) {
            gp.stop = stops;
            gp.n_stop = 1;
        }
    }
    if (llm_gen_set_params(e->gen, &gp, &err) ||
        llm_gen_prompt(e->gen, e->prompt, e->prompt_len, &err)) {
        log_err(h, "prompt", &err);
        return err.code == WM_ERR_LIMIT ? NN_PROMPT_TOO_LONG
               : err.code == WM_ERR_ARG ? NN_INVALID_ARGUMENT
                                        : NN_RUNTIME_ERROR;
    }
    if (e->cfg.enable_debug_log) {
        const llm_gen_stats *st = llm_gen_get_stats(e->gen);
        nn_log(h, "prompt: %d tokens (%d reused from the cache) in %.1f ms",
               (int)st->n_prompt, (int)st->n_cached, st->prompt_ms);
    }
    return NN_SUCCESS;
}

/* Embedding mode's compute: output 0 = {"n_embedding", "embedding"}. */
static int exec_embed(ggml_exec *e) {
    const nn_host *h = e->g->host;
    int rc = exec_begin(e);
    if (rc) return rc;
    const llm_model *m = e->g->model;
    int64_t n = e->in_tokens;
    int32_t n_ctx = llm_ctx_n_ctx(e->lctx);
    bool bos = llm_vocab_add_bos(m->vocab);
    wm_error err;
    if (n == 0) {
        nn_log(h, "embedding: empty input");
        return NN_INVALID_ARGUMENT;
    }
    if (n > n_ctx) {
        nn_log(h, "embedding: input of %lld tokens is longer than the "
                  "context of %d",
               (long long)n, (int)n_ctx);
        return NN_PROMPT_TOO_LONG;
    }
    int E = m->hp.n_embd;
    int32_t *toks = malloc((size_t)n * sizeof *toks);
    float *vec = malloc((size_t)E * sizeof *vec);
    char num[32];
    rc = NN_RUNTIME_ERROR;
    if (!toks || !vec) {
        nn_log(h, "embedding: out of memory");
        goto out;
    }
    llm_tokenize(m->vocab, e->prompt, e->prompt_len, bos, true, toks,
                 (size_t)n, &err);
    double t0 = llm_time_ms();
    wm_status st = llm_embed(e->lctx, toks, (int32_t)n, vec, &err);
    llm_gen_forget_cache(e->gen);
    if (st) {
        log_err(h, "embedding", &err);
        goto out;
    }
    snprintf(num, sizeof num, "%d", E);
    if (!tb_put(&e->out, "{\"n_embedding\": ", 16) ||
        !tb_put(&e->out, num, strlen(num)) ||
        !tb_put(&e->out, ", \"embedding\": [", 16))
        goto nomem;
    for (int i = 0; i < E; i++) {
        if (!isfinite(vec[i])) {
            nn_log(h, "embedding: the model produced a non-finite value");
            goto out;
        }
        int k = snprintf(num, sizeof num, "%s%.9g", i ? "," : "",
                         (double)vec[i]);
        if (!tb_put(&e->out, num, (size_t)k)) goto nomem;
    }
    if (!tb_put(&e->out, "]}", 2)) goto nomem;
    if (e->cfg.enable_log)
        nn_log(h, "embedding: %lld tokens, %d dimensions, %.1f ms",
               (long long)n, E, llm_time_ms() - t0);
    rc = NN_SUCCESS;
    goto out;
nomem:
    nn_log(h, "embedding: out of memory for the output");
out:
    if (rc) e->out.len = 0;
    free(toks);
    free(vec);
    return rc;
}

int ggml_compute(ggml_exec *e) {
    const nn_host *h = e->g->host;
    e->single_active = false;
    if (e->cfg.embedding) return exec_embed(e);
    int rc = exec_start(e, false);
    if (rc) return rc;
    for (;;) {
        int32_t tok;
        const char *text;
        size_t n;
        bool done;
        wm_error err;
        if (llm_gen_next(e->gen, &tok, &text, &n, &done, &err)) {
            log_err(h, "compute", &err);
            return NN_RUNTIME_ERROR;
        }
        if (!tb_put(&e->out, text, n)) {
            nn_log(h, "compute: out of memory for the output");
            return NN_RUNTIME_ERROR;
        }
        if (n && e->cfg.stream_stdout && h->output)
            h->output(h->ud, WM_NN_STDOUT, text, n);
        if (done) break;
    }
    const llm_gen_stats *st = llm_gen_get_stats(e->gen);
    e->out_tokens = st->n_gen;
    if (e->cfg.enable_log)
        nn_log(h, "compute: %d prompt tokens (%d cached), %d generated, "
                  "%.2f t/s, stop: %s",
               (int)st->n_prompt, (int)st->n_cached, (int)st->n_gen,
               st->gen_tps, llm_stop_reason_str(st->stop));
    return st->stop == LLM_STOP_CONTEXT ? NN_CONTEXT_FULL : NN_SUCCESS;
}

int ggml_compute_single(ggml_exec *e) {
    const nn_host *h = e->g->host;
    if (e->cfg.embedding) {
        nn_log(h, "compute_single: not available in embedding mode (use "
                  "compute)");
        return NN_UNSUPPORTED_OPERATION;
    }
    if (!e->single_active) {
        int rc = exec_start(e, true);
        if (rc) return rc;
        e->single_active = true;
    }
    e->last.len = 0;
    int32_t tok;
    const char *text;
    size_t n;
    bool done;
    wm_error err;
    if (llm_gen_next(e->gen, &tok, &text, &n, &done, &err)) {
        log_err(h, "compute_single", &err);
        e->single_active = false;
        return NN_RUNTIME_ERROR;
    }
    if (!tb_put(&e->last, text, n) || !tb_put(&e->out, text, n)) {
        nn_log(h, "compute_single: out of memory for the output");
        e->single_active = false;
        return NN_RUNTIME_ERROR;
    }
    const llm_gen_stats *st = llm_gen_get_stats(e->gen);
    e->out_tokens = st->n_gen;
    if (!done) return NN_SUCCESS;
    e->single_active = false;
    if (e->cfg.enable_log)
        nn_log(h, "compute_single: %d generated, %.2f t/s, stop: %s",
               (int)st->n_gen, st->gen_tps, llm_stop_reason_str(st->stop));
    return st->stop == LLM_STOP_CONTEXT ? NN_CONTEXT_FULL
                                        : NN_END_OF_SEQUENCE;
}

int ggml_fini_single(ggml_exec *e) {
    e->single_active = false;
    e->out.len = e->last.len = 0;
    e->in_tokens = e->out_tokens = 0;
    return NN_SUCCESS;
}

void ggml_get_output(ggml_exec *e, uint32_t index, bool single,
                     const char **data, size_t *len) {
    if (index == 1) {
        int n = snprintf(e->meta, sizeof e->meta,
                         "{\"input_tokens\": %lld, \"output_tokens\": %lld, "
                         "\"llama_build_number\": %d, "
                         "\"llama_commit\": \"%s\"}",
                         (long long)e->in_tokens, (long long)e->out_tokens,
                         GGML_BUILD_NUMBER, GGML_COMMIT);
        *data = e->meta;
        *len = n < 0 ? 0 : (size_t)n < sizeof e->meta ? (size_t)n
                                                       : sizeof e->meta - 1;
        return;
    }
    const textbuf *b = single ? &e->last : &e->out;
    *data = b->p ? b->p : "";
    *len = b->len;
}
