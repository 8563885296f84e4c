/*
 * model.c — loading `llama`/`qwen2` GGUF models (hyper-parameters, tensor
 * views, validation) and the forward pass over a batch of tokens.
 *
 * One forward step for T tokens at positions p0..p0+T-1 (T <= n_batch):
 *
 *   x[T][n_embd]   = token_embd rows (dequantised)
 *   per layer:
 *     xb           = rmsnorm(x) * attn_norm
 *     q, k, v      = xb @ Wq, Wk, Wv (+ biases)      matrix-matrix, T rows
 *     rope(q, k) at their positions; k, v -> KV cache (F16 or F32)
 *     att          = softmax(q k^T / sqrt(head_dim)) v   per head, causal
 *     x           += att @ Wo
 *     xb           = rmsnorm(x) * ffn_norm
 *     x           += (silu(xb @ Wgate) * (xb @ Wup)) @ Wdown
 *   logits         = rmsnorm(x_last) * output_norm @ Woutput
 *
 * Matrix products go through quant.h's llm_matmul (threads split output
 * rows); attention is split over (KV head, token) units — the query heads
 * of one GQA group together — across the same pool. Both give
 * bit-identical results for any thread count.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define LLM_X86 1
#else
#define LLM_X86 0
#endif

#include "model.h"

/* Caps on hyper-parameters: far above any real model, low enough that no
 * product below overflows. */
#define MAX_EMBD   65536
#define MAX_LAYER  1024
#define MAX_HEADS  1024
#define MAX_FF     (1 << 20)
#define MAX_VOCAB  (1 << 22)
#define MAX_CTX    (1 << 20)

const char *llm_arch_name(enum llm_arch a) {
    return a == LLM_ARCH_QWEN2 ? "qwen2" : "llama";
}

/* ==== Loading =========================================================== */

typedef struct loader {
    gguf_file *f;
    llm_model *m;
    const char *arch;       /* key prefix */
    wm_error *err;
    float *owned;           /* next free float in m->owned_f32 */
} loader;

/* Integer key {arch}.name; required unless def >= 0 (the default). */
static wm_status hp_u32(loader *ld, const char *name, int64_t def,
                        int64_t lo, int64_t hi, int32_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ld->arch, name);
    int64_t v;
    if (!gguf_find(ld->f, key)) {
        if (def < 0)
            return wm_errf(ld->err, WM_ERR_FORMAT,
                           "missing hyper-parameter '%s'", key);
        v = def;
    } else if (!gguf_get_i64(ld->f, key, &v)) {
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "hyper-parameter '%s': not an integer scalar", key);
    }
    if (v < lo || v > hi)
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "hyper-parameter '%s' = %lld out of range [%lld, %lld]",
                       key, (long long)v, (long long)lo, (long long)hi);
    *out = (int32_t)v;
    return WM_OK;
}

static wm_status hp_f32(loader *ld, const char *name, float def, float lo,
                        float hi, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ld->arch, name);
    float v = def;
    if (gguf_find(ld->f, key) && !gguf_get_f32(ld->f, key, &v))
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "hyper-parameter '%s': not a float scalar", key);
    if (!(v >= lo && v <= hi))
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "hyper-parameter '%s' = %g out of range [%g, %g]", key,
                       (double)v, (double)lo, (double)hi);
    *out = v;
    return WM_OK;
}

static void shape_str(const gguf_tensor *t, char *buf, size_t cap) {
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (uint32_t i = 0; i < t->n_dims && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "",
                              (long long)t->ne[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* Find tensor `name` of shape [ne0] (ne1 == 0) or [ne0, ne1]. NULL with
 * *st == WM_OK when absent and optional. */
static const gguf_tensor *get_tensor(loader *ld, const char *name,
                                     int64_t ne0, int64_t ne1, bool required,
                                     wm_status *st) {
    *st = WM_OK;
    const gguf_tensor *t = gguf_find_tensor(ld->f, name);
    if (!t) {
        if (required)
            *st = wm_errf(ld->err, WM_ERR_FORMAT, "missing tensor '%s'",
                          name);
        return NULL;
    }
    uint32_t nd = ne1 ? 2 : 1;
    bool ok = t->ne[0] == ne0 && (nd == 1 || t->ne[1] == ne1);
    for (uint32_t i = nd; i < GGUF_MAX_DIMS; i++)
        if (t->ne[i] != 1) ok = false;
    if (!ok) {
        char got[96];
        shape_str(t, got, sizeof got);
        if (nd == 1)
            *st = wm_errf(ld->err, WM_ERR_FORMAT,
                          "tensor '%s': shape %s, expected [%lld]", name, got,
                          (long long)ne0);
        else
            *st = wm_errf(ld->err, WM_ERR_FORMAT,
                          "tensor '%s': shape %s, expected [%lld, %lld]",
                          name, got, (long long)ne0, (long long)ne1);
        return NULL;
    }
    const llm_type_traits *tr =
        t->type < LLM_TYPE_COUNT ? llm_traits((llm_type)t->type) : NULL;
    if (!tr || !tr->supported || !tr->to_float ||
        llm_row_size((llm_type)t->type, t->ne[0]) == 0) {
        *st = wm_errf(ld->err, WM_ERR_UNSUPPORTED,
                      "tensor '%s': unsupported type %u (%s)", name, t->type,
                      tr && tr->name ? tr->name : "unknown");
        return NULL;
    }
    return t;
}

static wm_status get_mat(loader *ld, const char *name, int64_t n_in,
                         int64_t n_out, bool required, llm_mat *out) {
    wm_status st;
    const gguf_tensor *t = get_tensor(ld, name, n_in, n_out, required, &st);
    memset(out, 0, sizeof *out);
    if (!t) return st;
    const llm_type_traits *tr = llm_traits((llm_type)t->type);
    if (!tr->vec_dot)
        return wm_errf(ld->err, WM_ERR_UNSUPPORTED,
                       "tensor '%s': type %s has no matrix kernel", name,
                       tr->name);
    out->type = (llm_type)t->type;
    out->n_in = n_in;
    out->n_out = n_out;
    out->data = t->data;
    return WM_OK;
}

/* A 1-D tensor as floats: in place when F32 and 4-byte aligned (GGUF
 * aligns tensor data to general.alignment, 32 by default), else
 * dequantised into the model's buffer. */
static wm_status get_vec(loader *ld, const char *name, int64_t n,
                         bool required, const float **out) {
    wm_status st;
    *out = NULL;
    const gguf_tensor *t = get_tensor(ld, name, n, 0, required, &st);
    if (!t) return st;
    if (t->type == LLM_F32 && ((uintptr_t)t->data & 3) == 0) {
        *out = t->data;
        return WM_OK;
    }
    llm_traits((llm_type)t->type)->to_float(t->data, ld->owned, n);
    *out = ld->owned;
    ld->owned += n;
    return WM_OK;
}

static wm_status load_tensors(loader *ld) {
    llm_model *m = ld->m;
    const llm_hparams *hp = &m->hp;
    int64_t q_dim = (int64_t)hp->n_head * hp->head_dim;
    int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    bool qwen = hp->arch == LLM_ARCH_QWEN2;
    wm_status st;
    char name[96];

    /* Room for every 1-D tensor dequantised (upper bound). */
    size_t n_f = (size_t)hp->n_rot / 2 +
                 (size_t)hp->n_embd * (1 + 2 * (size_t)hp->n_layer) +
                 (size_t)hp->n_layer * (size_t)(q_dim + 2 * kv_dim);
    m->owned_f32 = malloc(n_f * sizeof(float));
    if (!m->owned_f32)
        return wm_errf(ld->err, WM_ERR_NOMEM, "out of memory");
    ld->owned = m->owned_f32;

    if ((st = get_vec(ld, "output_norm.weight", hp->n_embd, true,
                      &m->output_norm)))
        return st;
    if ((st = get_mat(ld, "output.weight", hp->n_embd, hp->n_vocab, false,
                      &m->output)) ||
        (st = get_vec(ld, "rope_freqs.weight", hp->n_rot / 2, false,
                      &m->rope_freqs)))
        return st;
    for (int j = 0; m->rope_freqs && j < hp->n_rot / 2; j++)
        if (!(m->rope_freqs[j] > 0 && m->rope_freqs[j] < 1e30f))
            return wm_errf(ld->err, WM_ERR_FORMAT,
                           "tensor 'rope_freqs.weight': element %d is %g "
                           "(must be positive and finite)",
                           j, (double)m->rope_freqs[j]);
    if (!m->output.data) {
        m->output = m->tok_embd;
        m->tied_output = true;
        if (!llm_traits(m->output.type)->vec_dot)
            return wm_errf(ld->err, WM_ERR_UNSUPPORTED,
                           "tensor 'token_embd.weight' (tied output): type "
                           "%s has no matrix kernel",
                           llm_traits(m->output.type)->name);
    }
    for (int32_t l = 0; l < hp->n_layer; l++) {
        llm_layer *L = &m->layers[l];
#define NM(s) (snprintf(name, sizeof name, "blk.%d." s, (int)l), name)
        if ((st = get_vec(ld, NM("attn_norm.weight"), hp->n_embd, true,
                          &L->attn_norm)) ||
            (st = get_mat(ld, NM("attn_q.weight"), hp->n_embd, q_dim, true,
                          &L->wq)) ||
            (st = get_mat(ld, NM("attn_k.weight"), hp->n_embd, kv_dim, true,
                          &L->wk)) ||
            (st = get_mat(ld, NM("attn_v.weight"), hp->n_embd, kv_dim, true,
                          &L->wv)) ||
            (st = get_mat(ld, NM("attn_output.weight"), q_dim, hp->n_embd,
                          true, &L->wo)) ||
            (st = get_vec(ld, NM("ffn_norm.weight"), hp->n_embd, true,
                          &L->ffn_norm)) ||
            (st = get_mat(ld, NM("ffn_gate.weight"), hp->n_embd, hp->n_ff,
                          true, &L->w_gate)) ||
            (st = get_mat(ld, NM("ffn_up.weight"), hp->n_embd, hp->n_ff,
                          true, &L->w_up)) ||
            (st = get_mat(ld, NM("ffn_down.weight"), hp->n_ff, hp->n_embd,
                          true, &L->w_down)) ||
            (st = get_vec(ld, NM("attn_q.bias"), q_dim, qwen, &L->bq)) ||
            (st = get_vec(ld, NM("attn_k.bias"), kv_dim, qwen, &L->bk)) ||
            (st = get_vec(ld, NM("attn_v.bias"), kv_dim, qwen, &L->bv)))
            return st;
#undef NM
    }
    return WM_OK;
}

static wm_status load_hparams(loader *ld) {
    llm_hparams *hp = &ld->m->hp;
    wm_status st;
    if ((st = hp_u32(ld, "embedding_length", -1, 1, MAX_EMBD, &hp->n_embd)) ||
        (st = hp_u32(ld, "block_count", -1, 1, MAX_LAYER, &hp->n_layer)) ||
        (st = hp_u32(ld, "feed_forward_length", -1, 1, MAX_FF, &hp->n_ff)) ||
        (st = hp_u32(ld, "attention.head_count", -1, 1, MAX_HEADS,
                     &hp->n_head)) ||
        (st = hp_u32(ld, "attention.head_count_kv", hp->n_head, 1, MAX_HEADS,
                     &hp->n_head_kv)) ||
        (st = hp_u32(ld, "context_length", 2048, 1, INT32_MAX,
                     &hp->n_ctx_train)))
        return st;
    char kl_key[96];
    snprintf(kl_key, sizeof kl_key, "%s.attention.key_length", ld->arch);
    if (hp->n_embd % hp->n_head != 0 && !gguf_find(ld->f, kl_key))
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "head dims inconsistent: embedding_length %d not a "
                       "multiple of head_count %d",
                       hp->n_embd, hp->n_head);
    int32_t vlen;
    if ((st = hp_u32(ld, "attention.key_length", hp->n_embd / hp->n_head, 2,
                     4096, &hp->head_dim)) ||
        (st = hp_u32(ld, "attention.value_length", hp->head_dim, 1, 4096,
                     &vlen)) ||
        (st = hp_u32(ld, "rope.dimension_count", hp->head_dim, 2, 4096,
                     &hp->n_rot)))
        return st;
    if (vlen != hp->head_dim)
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "head dims inconsistent: key_length %d != "
                       "value_length %d",
                       hp->head_dim, vlen);
    if (hp->n_head % hp->n_head_kv != 0)
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "head dims inconsistent: head_count %d not a "
                       "multiple of head_count_kv %d",
                       hp->n_head, hp->n_head_kv);
    if (hp->head_dim % 2 || hp->n_rot % 2 || hp->n_rot > hp->head_dim)
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "head dims inconsistent: head_dim %d, "
                       "rope.dimension_count %d (both even, rope <= head)",
                       hp->head_dim, hp->n_rot);
    if ((int64_t)hp->n_head * hp->head_dim > 4 * (int64_t)MAX_EMBD)
        return wm_errf(ld->err, WM_ERR_FORMAT,
                       "head dims inconsistent: %d heads x %d too wide",
                       hp->n_head, hp->head_dim);
    /* RoPE scaling: none, or linear (positions / factor). Other kinds
     * (yarn, longrope) change the rotation itself: refuse them rather
     * than produce wrong logits. */
    hp->rope_freq_scale = 1.0f;
    char key[96];
    gguf_str sc;
    snprintf(key, sizeof key, "%s.rope.scaling.type", ld->arch);
    if (gguf_get_str(ld->f, key, &sc) && !gguf_str_eq(sc, "none")) {
        if (!gguf_str_eq(sc, "linear"))
            return wm_errf(ld->err, WM_ERR_UNSUPPORTED,
                           "rope scaling '%.*s' not supported (none, linear)",
                           (int)(sc.len > 32 ? 32 : sc.len), sc.ptr);
        float factor;
        if ((st = hp_f32(ld, "rope.scaling.factor", 1.0f, 1.0f, 1024.0f,
                         &factor)))
            return st;
        hp->rope_freq_scale = 1.0f / factor;
    }
    if ((st = hp_f32(ld, "rope.freq_base", 10000.0f, 1.0f, 1e12f,
                     &hp->rope_freq_base)) ||
        (st = hp_f32(ld, "attention.layer_norm_rms_epsilon", 1e-5f, 0.0f,
                     1.0f, &hp->norm_eps)))
        return st;
    int32_t pool;
    if ((st = hp_u32(ld, "pooling_type", 0, 0, 3, &pool))) return st;
    hp->pooling = pool == 2 ? LLM_POOL_CLS
                : pool == 3 ? LLM_POOL_LAST : LLM_POOL_MEAN;
    return WM_OK;
}

static wm_status model_init(gguf_file *f, llm_model *m, wm_error *err) {
    loader ld = {.f = f, .m = m, .err = err};
    wm_status st;
    gguf_str arch;
    if (!gguf_get_str(f, "general.architecture", &arch))
        return wm_errf(err, WM_ERR_FORMAT,
                       "missing key 'general.architecture'");
    if (gguf_str_eq(arch, "llama")) {
        m->hp.arch = LLM_ARCH_LLAMA;
        m->hp.rope = LLM_ROPE_NORM;
        ld.arch = "llama";
    } else if (gguf_str_eq(arch, "qwen2")) {
        m->hp.arch = LLM_ARCH_QWEN2;
        m->hp.rope = LLM_ROPE_NEOX;
        ld.arch = "qwen2";
    } else {
        return wm_errf(err, WM_ERR_UNSUPPORTED,
                       "architecture '%.*s' not supported (llama, qwen2)",
                       (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
    }
    if ((st = load_hparams(&ld))) return st;

    const gguf_tensor *te = gguf_find_tensor(f, "token_embd.weight");
    if (!te) return wm_errf(err, WM_ERR_FORMAT, "missing tensor '%s'",
                            "token_embd.weight");
    if (te->ne[1] < 1 || te->ne[1] > MAX_VOCAB)
        return wm_errf(err, WM_ERR_FORMAT,
                       "tensor 'token_embd.weight': %lld rows out of range",
                       (long long)te->ne[1]);
    m->hp.n_vocab = (int32_t)te->ne[1];
    if (!get_tensor(&ld, "token_embd.weight", m->hp.n_embd, m->hp.n_vocab,
                    true, &st))
        return st;
    m->tok_embd.type = (llm_type)te->type;
    m->tok_embd.n_in = m->hp.n_embd;
    m->tok_embd.n_out = m->hp.n_vocab;
    m->tok_embd.data = te->data;

    m->layers = calloc((size_t)m->hp.n_layer, sizeof *m->layers);
    if (!m->layers) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    if ((st = load_tensors(&ld))) return st;

    if ((st = llm_vocab_load(f, &m->vocab, err))) return st;
    if (llm_vocab_size(m->vocab) != m->hp.n_vocab)
        return wm_errf(err, WM_ERR_FORMAT,
                       "vocabulary has %d tokens but token_embd.weight has "
                       "%d rows",
                       (int)llm_vocab_size(m->vocab), (int)m->hp.n_vocab);

    /* Sizes and the dominant type (by bytes of 2-D weights). */
    uint64_t by_type[LLM_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        uint64_t ne = 1;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) ne *= (uint64_t)t->ne[d];
        m->n_params += ne;
        m->weight_bytes += t->nbytes;
        if (t->n_dims >= 2 && t->type < LLM_TYPE_COUNT &&
            !gguf_str_eq(t->name, "token_embd.weight") &&
            !gguf_str_eq(t->name, "output.weight"))
            by_type[t->type] += t->nbytes;
    }
    m->main_type = LLM_F32;
    for (int t = 0; t < LLM_TYPE_COUNT; t++)
        if (by_type[t] > by_type[m->main_type]) m->main_type = (llm_type)t;
    return WM_OK;
}

wm_status llm_model_from_gguf(gguf_file *f, llm_model **out, wm_error *err) {
    *out = NULL;
    llm_kernels_init();
    llm_model *m = calloc(1, sizeof *m);
    if (!m) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    m->file = f;
    wm_status st = model_init(f, m, err);
    if (st) {
        if (err && f->path && !err->where[0])
            snprintf(err->where, sizeof err->where, "%s", f->path);
        m->file = NULL;   /* stays the caller's */
        llm_model_free(m);
        return st;
    }
    *out = m;
    return WM_OK;
}

wm_status llm_model_load(const char *path, llm_model **out, wm_error *err) {
    *out = NULL;
    gguf_file *f = NULL;
    wm_status st = gguf_open(path, &f, err);
    if (st) return st;
    st = llm_model_from_gguf(f, out, err);
    if (st) gguf_close(f);
    return st;
}

void llm_model_free(llm_model *m) {
    if (!m) return;
    llm_vocab_free(m->vocab);
    free(m->layers);
    free(m->owned_f32);
    if (m->file) gguf_close(m->file);
    free(m);
}

void llm_model_prefault(const llm_model *m, void (*cb)(void *, double),
                        void *ud) {
    const gguf_file *f = m->file;
    const volatile uint8_t *p = f->base;
    size_t step = 4096, n = f->size, chunk = (size_t)64 << 20;
    uint8_t acc = 0;
    for (size_t off = 0; off < n; off += step) {
        acc ^= p[off];
        if (cb && off % chunk == 0) cb(ud, (double)off / (double)n);
    }
    (void)acc;
    if (cb) cb(ud, 1.0);
}

/* ==== Kernels for attention over the KV cache =========================== */

/*
 * One attention unit: the G query heads that share a KV head (GQA group),
 * for one token, over positions 0..n_pos-1. q: G rows of hd floats; k, v:
 * cache rows `stride` elements apart (F16 or F32); sc: G x n_pos scratch;
 * out: G rows of hd floats.
 *
 * Why grouped: each key/value row is loaded and converted once for the
 * whole group instead of once per query head (8x fewer for TinyLlama's
 * 32/4 heads). Measured (perf, 1.1B Q4_0, 1 thread, 16 tokens generated
 * at position 0 and 16 at position 1536): attention was 21% of all
 * cycles with per-head dot/axpy kernels over [pos][kv_dim] rows and
 * glibc expf; 13.5% grouped; 7.5% with the head-major cache; 4.6% with
 * the vector exp below.
 *
 * Vectorised with AVX2/FMA/F16C through target attributes when the CPU
 * has them and head_dim is a multiple of 8 (chosen once per context);
 * scalar otherwise. The choice does not depend on the thread count, so
 * results are the same for any number of threads.
 */
typedef void (*attn_group_fn)(const float *q, float *out, int G, int hd,
                              const void *k, const void *v, size_t stride,
                              int n_pos, float scale, float *sc);

/* Rows of n scores -> softmax in place. */
static void softmax_rows(float *sc, int rows, int n) {
    for (int g = 0; g < rows; g++) {
        float *s = sc + (size_t)g * (size_t)n, mx = -INFINITY, sum = 0;
        for (int p = 0; p < n; p++)
            if (s[p] > mx) mx = s[p];
        for (int p = 0; p < n; p++) {
            s[p] = expf(s[p] - mx);
            sum += s[p];
        }
        float inv = 1.0f / sum;
        for (int p = 0; p < n; p++) s[p] *= inv;
    }
}

static inline float kv_at(const void *base, size_t i, bool f16) {
    return f16 ? llm_f16_to_f32(((const llm_f16 *)base)[i])
               : ((const float *)base)[i];
}

static void attn_group_scalar(const float *q, float *out, int G, int hd,
                              const void *k, const void *v, size_t stride,
                              int n_pos, float scale, float *sc, bool f16) {
    for (int g = 0; g < G; g++)
        for (int p = 0; p < n_pos; p++) {
            float s = 0;
            for (int d = 0; d < hd; d++)
                s += q[(size_t)g * hd + d] *
                     kv_at(k, (size_t)p * stride + (size_t)d, f16);
            sc[(size_t)g * (size_t)n_pos + (size_t)p] = s * scale;
        }
    softmax_rows(sc, G, n_pos);
    for (int g = 0; g < G; g++) {
        float *o = out + (size_t)g * (size_t)hd;
        const float *a = sc + (size_t)g * (size_t)n_pos;
        memset(o, 0, (size_t)hd * sizeof *o);
        for (int p = 0; p < n_pos; p++)
            for (int d = 0; d < hd; d++)
                o[d] += a[p] * kv_at(v, (size_t)p * stride + (size_t)d, f16);
    }
}
static void attn_f16_scalar(const float *q, float *out, int G, int hd,
                            const void *k, const void *v, size_t stride,
                            int n_pos, float scale, float *sc) {
    attn_group_scalar(q, out, G, hd, k, v, stride, n_pos, scale, sc, true);
}
static void attn_f32_scalar(const float *q, float *out, int G, int hd,
                            const void *k, const void *v, size_t stride,
                            int n_pos, float scale, float *sc) {
    attn_group_scalar(q, out, G, hd, k, v, stride, n_pos, scale, sc, false);
}

#if LLM_X86
#define AVX2_TARGET __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline))

AVX2_INLINE static inline __m256 ld8(const void *base, size_t i, bool f16) {
    if (f16)
        return _mm256_cvtph_ps(
            _mm_loadu_si128((const __m128i *)((const llm_f16 *)base + i)));
    return _mm256_loadu_ps((const float *)base + i);
}

/* The 8 horizontal sums of a0..a7 as one vector. */
AVX2_INLINE static inline __m256 hsum8(__m256 a0, __m256 a1, __m256 a2,
                                       __m256 a3, __m256 a4, __m256 a5,
                                       __m256 a6, __m256 a7) {
    __m256 t0 = _mm256_hadd_ps(a0, a1), t1 = _mm256_hadd_ps(a2, a3);
    __m256 t2 = _mm256_hadd_ps(a4, a5), t3 = _mm256_hadd_ps(a6, a7);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* exp(x), x clamped to [-87, 88]: Cephes' expf polynomial, ~2 ulp.
 * glibc's expf was ~7 ns a call, 40% of attention at 1.5k positions. */
AVX2_INLINE static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)),
                      _mm256_set1_ps(88.0f));
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(
        x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x),
                        _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

AVX2_INLINE static inline void softmax_rows_avx2(float *sc, int rows,
                                                 int n) {
    for (int g = 0; g < rows; g++) {
        float *s = sc + (size_t)g * (size_t)n;
        int p = 0;
        __m256 vm = _mm256_set1_ps(-INFINITY);
        for (; p + 8 <= n; p += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(s + p));
        float m8[8], mx = -INFINITY;
        _mm256_storeu_ps(m8, vm);
        for (int i = 0; i < 8; i++) mx = m8[i] > mx ? m8[i] : mx;
        for (; p < n; p++) mx = s[p] > mx ? s[p] : mx;
        __m256 vmx = _mm256_set1_ps(mx), vsum = _mm256_setzero_ps();
        for (p = 0; p + 8 <= n; p += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + p), vmx));
            _mm256_storeu_ps(s + p, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        float s8[8], sum = 0;
        _mm256_storeu_ps(s8, vsum);
        for (int i = 0; i < 8; i++) sum += s8[i];
        for (; p < n; p++) {
            s[p] = expf(s[p] - mx);
            sum += s[p];
        }
        __m256 inv = _mm256_set1_ps(1.0f / sum);
        for (p = 0; p + 8 <= n; p += 8)
            _mm256_storeu_ps(s + p, _mm256_mul_ps(_mm256_loadu_ps(s + p), inv));
        for (; p < n; p++) s[p] *= 1.0f / sum;
    }
}

/*
 * N (8, 4 or 1, a constant after inlining) heads of a group: scores of
 * every position into sg (rows n_pos apart), softmax, values into out.
 * The accumulators are named variables, not an array: gcc keeps an
 * array in memory here, which made the kernel latency-bound on
 * store-to-load forwarding (measured 3x slower).
 */
AVX2_INLINE static inline void attn_heads_avx2(
    const int N, const float *qg, float *og, int hd, const void *k,
    const void *v, size_t stride, int n_pos, float scale, float *sg,
    bool f16) {
    const __m256 z = _mm256_setzero_ps(), vs = _mm256_set1_ps(scale);
    const size_t h = (size_t)hd;
    for (int p = 0; p < n_pos; p++) {
        __m256 a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z,
               a7 = z;
        size_t row = (size_t)p * stride;
        for (int d = 0; d < hd; d += 8) {
            __m256 kv = ld8(k, row + (size_t)d, f16);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + d), kv, a0);
            if (N > 1) {
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + h + d), kv, a1);
                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 2 * h + d), kv, a2);
                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 3 * h + d), kv, a3);
            }
            if (N > 4) {
                a4 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 4 * h + d), kv, a4);
                a5 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 5 * h + d), kv, a5);
                a6 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 6 * h + d), kv, a6);
                a7 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 7 * h + d), kv, a7);
            }
        }
        float s8[8];
        _mm256_storeu_ps(s8, _mm256_mul_ps(hsum8(a0, a1, a2, a3, a4, a5, a6,
                                                 a7), vs));
        for (int g = 0; g < N; g++) sg[(size_t)g * (size_t)n_pos + p] = s8[g];
    }
    softmax_rows_avx2(sg, N, n_pos);
    const size_t np = (size_t)n_pos;
    for (int d = 0; d < hd; d += 8) {
        __m256 a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z,
               a7 = z;
        for (int p = 0; p < n_pos; p++) {
            __m256 vv = ld8(v, (size_t)p * stride + (size_t)d, f16);
            const float *w = sg + p;
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w), vv, a0);
            if (N > 1) {
                a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + np), vv, a1);
                a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 2 * np), vv, a2);
                a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 3 * np), vv, a3);
            }
            if (N > 4) {
                a4 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 4 * np), vv, a4);
                a5 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 5 * np), vv, a5);
                a6 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 6 * np), vv, a6);
                a7 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 7 * np), vv, a7);
            }
        }
        _mm256_storeu_ps(og + d, a0);
        if (N > 1) {
            _mm256_storeu_ps(og + h + d, a1);
            _mm256_storeu_ps(og + 2 * h + d, a2);
            _mm256_storeu_ps(og + 3 * h + d, a3);
        }
        if (N > 4) {
            _mm256_storeu_ps(og + 4 * h + d, a4);
            _mm256_storeu_ps(og + 5 * h + d, a5);
            _mm256_storeu_ps(og + 6 * h + d, a6);
            _mm256_storeu_ps(og + 7 * h + d, a7);
        }
    }
}

/* A group of G heads in chunks of 8, then 4, then single heads. */
AVX2_INLINE static inline void attn_group_avx2(
    const float *q, float *out, int G, int hd, const void *k, const void *v,
    size_t stride, int n_pos, float scale, float *sc, bool f16) {
    int g = 0;
    for (; g + 8 <= G; g += 8)
        attn_heads_avx2(8, q + (size_t)g * hd, out + (size_t)g * hd, hd, k,
                        v, stride, n_pos, scale, sc, f16);
    for (; g + 4 <= G; g += 4)
        attn_heads_avx2(4, q + (size_t)g * hd, out + (size_t)g * hd, hd, k,
                        v, stride, n_pos, scale, sc, f16);
    for (; g < G; g++)
        attn_heads_avx2(1, q + (size_t)g * hd, out + (size_t)g * hd, hd, k,
                        v, stride, n_pos, scale, sc, f16);
}
AVX2_TARGET static void attn_f16_avx2(const float *q, float *out, int G,
                                      int hd, const void *k, const void *v,
                                      size_t stride, int n_pos, float scale,
                                      float *sc) {
    attn_group_avx2(q, out, G, hd, k, v, stride, n_pos, scale, sc, true);
}
AVX2_TARGET static void attn_f32_avx2(const float *q, float *out, int G,
                                      int hd, const void *k, const void *v,
                                      size_t stride, int n_pos, float scale,
                                      float *sc) {
    attn_group_avx2(q, out, G, hd, k, v, stride, n_pos, scale, sc, false);
}

/* g[i] = silu(g[i]) * u[i] for i in [lo, hi), 8 at a time; a partial
 * block goes through a zero-padded copy, so every element gets the same
 * arithmetic wherever the thread split falls. */
AVX2_TARGET static void swiglu_avx2(float *g, const float *u, int64_t lo,
                                    int64_t hi) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int64_t i = lo; i < hi; i += 8) {
        float gb[8] = {0}, ub[8] = {0};
        int64_t n = hi - i < 8 ? hi - i : 8;
        const float *gp = g + i, *up = u + i;
        if (n < 8) {
            memcpy(gb, g + i, (size_t)n * 4);
            memcpy(ub, u + i, (size_t)n * 4);
            gp = gb;
            up = ub;
        }
        __m256 x = _mm256_loadu_ps(gp);
        __m256 sg = _mm256_div_ps(
            x, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(),
                                                     x))));
        __m256 r = _mm256_mul_ps(sg, _mm256_loadu_ps(up));
        if (n == 8) {
            _mm256_storeu_ps(g + i, r);
        } else {
            _mm256_storeu_ps(gb, r);
            memcpy(g + i, gb, (size_t)n * 4);
        }
    }
}

/* AVX2 + FMA + F16C with OS support for the YMM state (CPUID + XGETBV;
 * __builtin_cpu_supports has no "f16c" in clang 14). */
static bool cpu_has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    bool fma = c & (1u << 12), osxsave = c & (1u << 27),
         avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!(fma && osxsave && avx && f16c)) return false;
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return b & (1u << 5);
}
#endif

/* ==== Context =========================================================== */

struct llm_ctx {
    const llm_model *m;
    llm_ctx_params p;
    llm_pool *pool;
    int n_threads;
    size_t kv_es;            /* bytes per cache element: 2 or 4 */
    void *k_cache, *v_cache; /* [n_layer][n_head_kv][n_ctx][head_dim]:
                                a head's positions are contiguous, so an
                                attention unit streams one block (with
                                [pos][kv_dim] rows a unit read 128 of every
                                512 bytes: measured ~2x slower at 1.5k
                                positions) */
    float *x, *xb, *xb2;     /* [n_batch][n_embd] */
    float *q, *att;          /* [n_batch][q_dim] */
    float *k, *v;            /* [n_batch][kv_dim] */
    float *hb, *hb2;         /* [n_batch][n_ff] */
    float *logits;           /* [all_logits ? n_batch : 1][n_vocab] */
    int32_t n_logits;        /* rows valid in logits */
    float *scores;           /* [n_threads][group][n_ctx] */
    float *inv_freq;         /* [n_rot / 2] */
    float *rope_cs;          /* [n_batch][n_rot / 2][2] cos, sin */
    attn_group_fn attn;      /* kernel for the cache type and CPU */
    bool avx2;               /* AVX2/FMA/F16C kernels usable */
    float *embd_sum;         /* during llm_embed: [n_embd] pooled sum of
                                the normalised final hidden states (the
                                caller's out), else NULL */
    int32_t embd_n;          /* llm_embed: tokens in the text */
};

llm_ctx_params llm_ctx_default_params(void) {
    llm_ctx_params p = {.n_ctx = 0, .n_batch = 64, .n_threads = 0,
                        .kv_f32 = false, .all_logits = false};
    return p;
}

static void *alloc64(size_t n) {
    void *p = NULL;
    if (n == 0) n = 64;
    n = (n + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, n) != 0) return NULL;
    memset(p, 0, n);
    return p;
}

wm_status llm_ctx_new(const llm_model *m, const llm_ctx_params *pp,
                      llm_ctx **out, wm_error *err) {
    *out = NULL;
    llm_ctx_params p = pp ? *pp : llm_ctx_default_params();
    const llm_hparams *hp = &m->hp;
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train
                                                       : 4096;
    if (p.n_ctx < 1 || p.n_ctx > MAX_CTX)
        return wm_errf(err, WM_ERR_ARG, "context size %d out of range "
                       "[1, %d]", (int)p.n_ctx, MAX_CTX);
    if (p.n_batch < 1 || p.n_batch > 4096)
        return wm_errf(err, WM_ERR_ARG, "batch size %d out of range "
                       "[1, 4096]", (int)p.n_batch);
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_threads > 512)
        return wm_errf(err, WM_ERR_ARG, "thread count %d out of range",
                       (int)p.n_threads);
    llm_ctx *c = calloc(1, sizeof *c);
    if (!c) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    c->m = m;
    c->p = p;
    c->pool = llm_pool_new(p.n_threads);
    if (!c->pool) goto nomem;
    c->n_threads = llm_pool_size(c->pool);
    size_t nb = (size_t)p.n_batch, E = (size_t)hp->n_embd;
    size_t qd = (size_t)hp->n_head * (size_t)hp->head_dim;
    size_t kvd = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    size_t ff = (size_t)hp->n_ff;
    c->kv_es = p.kv_f32 ? 4 : 2;
    size_t kv_bytes = (size_t)hp->n_layer * (size_t)p.n_ctx * kvd * c->kv_es;
    if (!(c->k_cache = alloc64(kv_bytes)) ||
        !(c->v_cache = alloc64(kv_bytes)) ||
        !(c->x = alloc64(nb * E * 4)) || !(c->xb = alloc64(nb * E * 4)) ||
        !(c->xb2 = alloc64(nb * E * 4)) || !(c->q = alloc64(nb * qd * 4)) ||
        !(c->att = alloc64(nb * qd * 4)) || !(c->k = alloc64(nb * kvd * 4)) ||
        !(c->v = alloc64(nb * kvd * 4)) || !(c->hb = alloc64(nb * ff * 4)) ||
        !(c->hb2 = alloc64(nb * ff * 4)) ||
        !(c->logits = alloc64((p.all_logits ? nb : 1) *
                              (size_t)hp->n_vocab * 4)) ||
        !(c->scores = alloc64((size_t)c->n_threads *
                              (size_t)(hp->n_head / hp->n_head_kv) *
                              (size_t)p.n_ctx * 4)) ||
        !(c->inv_freq = alloc64((size_t)hp->n_rot / 2 * 4)) ||
        !(c->rope_cs = alloc64(nb * (size_t)hp->n_rot * 4)))
        goto nomem;
    /* theta_j = pos * base^(-2j / n_rot), as llama2.c and llama.cpp;
     * scaled by rope_freq_scale and divided by the rope_freqs factors
     * when the model has them (both 1 for Llama 2). */
    for (int j = 0; j < hp->n_rot / 2; j++) {
        c->inv_freq[j] =
            1.0f / powf(hp->rope_freq_base, (float)(2 * j) / (float)hp->n_rot);
        if (hp->rope_freq_scale != 1.0f) c->inv_freq[j] *= hp->rope_freq_scale;
        if (m->rope_freqs) c->inv_freq[j] /= m->rope_freqs[j];
    }
    c->attn = p.kv_f32 ? attn_f32_scalar : attn_f16_scalar;
#if LLM_X86
    c->avx2 = cpu_has_avx2();
    if (hp->head_dim % 8 == 0 && c->avx2)
        c->attn = p.kv_f32 ? attn_f32_avx2 : attn_f16_avx2;
#endif
    *out = c;
    return WM_OK;
nomem:
    llm_ctx_free(c);
    return wm_errf(err, WM_ERR_NOMEM,
                   "out of memory allocating a context of %d positions",
                   (int)p.n_ctx);
}

void llm_ctx_free(llm_ctx *c) {
    if (!c) return;
    llm_pool_free(c->pool);
    free(c->k_cache);
    free(c->v_cache);
    free(c->x);
    free(c->xb);
    free(c->xb2);
    free(c->q);
    free(c->att);
    free(c->k);
    free(c->v);
    free(c->hb);
    free(c->hb2);
    free(c->logits);
    free(c->scores);
    free(c->inv_freq);
    free(c->rope_cs);
    free(c);
}

const llm_model *llm_ctx_model(const llm_ctx *c) { return c->m; }
int32_t llm_ctx_n_ctx(const llm_ctx *c) { return c->p.n_ctx; }
int llm_ctx_n_threads(const llm_ctx *c) { return c->n_threads; }
size_t llm_ctx_kv_bytes(const llm_ctx *c) {
    const llm_hparams *hp = &c->m->hp;
    return 2 * (size_t)hp->n_layer * (size_t)c->p.n_ctx *
           (size_t)hp->n_head_kv * (size_t)hp->head_dim * c->kv_es;
}
const float *llm_ctx_logits(const llm_ctx *c) {
    if (c->n_logits == 0) return c->logits;
    return c->logits + (size_t)(c->n_logits - 1) * (size_t)c->m->hp.n_vocab;
}
const float *llm_ctx_logits_ith(const llm_ctx *c, int32_t i) {
    if (i < 0 || i >= c->n_logits) return NULL;
    return c->logits + (size_t)i * (size_t)c->m->hp.n_vocab;
}

/* ==== Forward pass ====================================================== */

/* out = x / rms(x) * w (out may alias x). */
static void rmsnorm(float *out, const float *x, const float *w, int n,
                    float eps) {
    float ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    ss = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * ss * w[i];
}

/* Rotate pairs of each head of vec (n_heads heads of head_dim) by the
 * position's angles cs[j] = (cos, sin) of theta_j. */
static void rope_apply(float *vec, int n_heads, int head_dim, int n_rot,
                       enum llm_rope mode, const float *cs) {
    for (int h = 0; h < n_heads; h++) {
        float *v = vec + (size_t)h * (size_t)head_dim;
        for (int j = 0; j < n_rot / 2; j++) {
            int i0 = mode == LLM_ROPE_NORM ? 2 * j : j;
            int i1 = mode == LLM_ROPE_NORM ? 2 * j + 1 : j + n_rot / 2;
            float c = cs[2 * j], s = cs[2 * j + 1];
            float x0 = v[i0], x1 = v[i1];
            v[i0] = x0 * c - x1 * s;
            v[i1] = x0 * s + x1 * c;
        }
    }
}

typedef struct attn_task {
    llm_ctx *c;
    int layer;
    int32_t n_tok, pos0;
} attn_task;

/*
 * Attention for units (KV head, token) [ith*N/nth, (ith+1)*N/nth): each
 * reads its group's queries and the cached keys/values of positions
 * 0..pos, and writes its group's outputs — no unit depends on another,
 * so any split gives the same bits.
 */
static void attn_worker(void *arg, int ith, int nth) {
    const attn_task *a = arg;
    llm_ctx *c = a->c;
    const llm_hparams *hp = &c->m->hp;
    int hd = hp->head_dim, n_ctx = c->p.n_ctx;
    int group = hp->n_head / hp->n_head_kv;
    size_t qd = (size_t)hp->n_head * (size_t)hd;
    size_t kvd = (size_t)hp->n_head_kv * (size_t)hd;
    int64_t n_units = (int64_t)hp->n_head_kv * a->n_tok;
    int64_t lo = n_units * ith / nth, hi = n_units * (ith + 1) / nth;
    float *sc = c->scores + (size_t)ith * (size_t)group * (size_t)n_ctx;
    float scale = 1.0f / sqrtf((float)hd);
    size_t head_bytes = (size_t)n_ctx * (size_t)hd * c->kv_es;
    const uint8_t *kc = (const uint8_t *)c->k_cache +
                        (size_t)a->layer * kvd * (size_t)n_ctx * c->kv_es;
    const uint8_t *vc = (const uint8_t *)c->v_cache +
                        (size_t)a->layer * kvd * (size_t)n_ctx * c->kv_es;
    for (int64_t i = lo; i < hi; i++) {
        int kvh = (int)(i / a->n_tok), t = (int)(i % a->n_tok);
        size_t qoff = (size_t)t * qd + (size_t)kvh * (size_t)group * hd;
        size_t off = (size_t)kvh * head_bytes;
        c->attn(c->q + qoff, c->att + qoff, group, hd, kc + off, vc + off,
                (size_t)hd, a->pos0 + t + 1, scale, sc);
    }
}

typedef struct swiglu_task {
    float *g;
    const float *u;
    int64_t n;
    bool avx2;
} swiglu_task;

/* g = silu(g) * u, split by index range (elementwise; each element's
 * arithmetic does not depend on the split). */
static void swiglu_worker(void *arg, int ith, int nth) {
    const swiglu_task *s = arg;
    int64_t lo = s->n * ith / nth, hi = s->n * (ith + 1) / nth;
#if LLM_X86
    if (s->avx2) {
        swiglu_avx2(s->g, s->u, lo, hi);
        return;
    }
#endif
    for (int64_t i = lo; i < hi; i++) {
        float g = s->g[i];
        s->g[i] = g / (1.0f + expf(-g)) * s->u[i];
    }
}

static void add_bias(float *y, const float *b, int n_tok, int64_t n) {
    if (!b) return;
    for (int t = 0; t < n_tok; t++)
        for (int64_t i = 0; i < n; i++) y[(size_t)t * (size_t)n + i] += b[i];
}

/* One step of n_tok <= n_batch tokens (ids checked by the caller). */
static void forward(llm_ctx *c, const int32_t *tok, int n_tok, int32_t pos0,
                    bool last_step) {
    const llm_model *m = c->m;
    const llm_hparams *hp = &m->hp;
    int E = hp->n_embd, hd = hp->head_dim;
    size_t qd = (size_t)hp->n_head * (size_t)hd;
    size_t kvd = (size_t)hp->n_head_kv * (size_t)hd;
    size_t n_ctx = (size_t)c->p.n_ctx;

    /* Embeddings: one dequantised row per token. */
    const llm_type_traits *te = llm_traits(m->tok_embd.type);
    size_t row = llm_row_size(m->tok_embd.type, E);
    for (int t = 0; t < n_tok; t++)
        te->to_float((const uint8_t *)m->tok_embd.data +
                         (size_t)tok[t] * row,
                     c->x + (size_t)t * (size_t)E, E);

    /* Rotation angles of this step's positions (shared by all layers). */
    int nr2 = hp->n_rot / 2;
    for (int t = 0; t < n_tok; t++)
        for (int j = 0; j < nr2; j++) {
            float th = (float)(pos0 + t) * c->inv_freq[j];
            c->rope_cs[((size_t)t * (size_t)nr2 + (size_t)j) * 2] = cosf(th);
            c->rope_cs[((size_t)t * (size_t)nr2 + (size_t)j) * 2 + 1] =
                sinf(th);
        }

    for (int l = 0; l < hp->n_layer; l++) {
        const llm_layer *L = &m->layers[l];
        for (int t = 0; t < n_tok; t++)
            rmsnorm(c->xb + (size_t)t * E, c->x + (size_t)t * E, L->attn_norm,
                    E, hp->norm_eps);
        /* Q, K and V read the same input: one quantisation, one run. */
        const llm_mat qkv[3] = {L->wq, L->wk, L->wv};
        float *const qkv_out[3] = {c->q, c->k, c->v};
        llm_matmul_multi(c->pool, qkv, 3, c->xb, n_tok, qkv_out);
        add_bias(c->q, L->bq, n_tok, (int64_t)qd);
        add_bias(c->k, L->bk, n_tok, (int64_t)kvd);
        add_bias(c->v, L->bv, n_tok, (int64_t)kvd);
        for (int t = 0; t < n_tok; t++) {
            const float *cs = c->rope_cs + (size_t)t * (size_t)nr2 * 2;
            rope_apply(c->q + (size_t)t * qd, hp->n_head, hd, hp->n_rot,
                       hp->rope, cs);
            rope_apply(c->k + (size_t)t * kvd, hp->n_head_kv, hd, hp->n_rot,
                       hp->rope, cs);
            for (int h = 0; h < hp->n_head_kv; h++) {
                size_t at = (((size_t)l * (size_t)hp->n_head_kv + (size_t)h) *
                                 n_ctx + (size_t)(pos0 + t)) * (size_t)hd;
                const float *ks = c->k + (size_t)t * kvd + (size_t)h * hd;
                const float *vs = c->v + (size_t)t * kvd + (size_t)h * hd;
                if (c->kv_es == 2) {
                    llm_f32_to_f16_row(ks, (llm_f16 *)c->k_cache + at, hd);
                    llm_f32_to_f16_row(vs, (llm_f16 *)c->v_cache + at, hd);
                } else {
                    memcpy((float *)c->k_cache + at, ks, (size_t)hd * 4);
                    memcpy((float *)c->v_cache + at, vs, (size_t)hd * 4);
                }
            }
        }
        /* Small attention steps (a few short heads) run inline: waking
         * the pool costs ~5-100 us (more when the machine is loaded),
         * more than the work. Same per-pair arithmetic either way. */
        attn_task at = {.c = c, .layer = l, .n_tok = n_tok, .pos0 = pos0};
        int64_t work = (int64_t)hp->n_head * n_tok * (pos0 + n_tok) * hd;
        if (work < 65536) attn_worker(&at, 0, 1);
        else llm_pool_run(c->pool, attn_worker, &at);
        llm_matmul(c->pool, &L->wo, c->att, n_tok, c->xb2);
        for (size_t i = 0; i < (size_t)n_tok * (size_t)E; i++)
            c->x[i] += c->xb2[i];

        for (int t = 0; t < n_tok; t++)
            rmsnorm(c->xb + (size_t)t * E, c->x + (size_t)t * E, L->ffn_norm,
                    E, hp->norm_eps);
        const llm_mat gu[2] = {L->w_gate, L->w_up};
        float *const gu_out[2] = {c->hb, c->hb2};
        llm_matmul_multi(c->pool, gu, 2, c->xb, n_tok, gu_out);
        swiglu_task sw = {.g = c->hb, .u = c->hb2, .avx2 = c->avx2,
                          .n = (int64_t)n_tok * hp->n_ff};
        if (n_tok > 1) llm_pool_run(c->pool, swiglu_worker, &sw);
        else swiglu_worker(&sw, 0, 1);
        llm_matmul(c->pool, &L->w_down, c->hb, n_tok, c->xb2);
        for (size_t i = 0; i < (size_t)n_tok * (size_t)E; i++)
            c->x[i] += c->xb2[i];
    }
    if (c->embd_sum) {
        /* llm_embed: pool the final normalised states; no logits. */
        for (int t = 0; t < n_tok; t++) {
            int32_t p = pos0 + t;
            if ((hp->pooling == LLM_POOL_CLS && p != 0) ||
                (hp->pooling == LLM_POOL_LAST && p != c->embd_n - 1))
                continue;
            float *xn = c->xb + (size_t)t * E;
            rmsnorm(xn, c->x + (size_t)t * E, m->output_norm, E,
                    hp->norm_eps);
            for (int i = 0; i < E; i++) c->embd_sum[i] += xn[i];
        }
        return;
    }
    if (!last_step) return;
    /* Logits: every token's with all_logits, else the last one's. */
    int first = c->p.all_logits ? 0 : n_tok - 1;
    int n_out = n_tok - first;
    for (int t = first; t < n_tok; t++)
        rmsnorm(c->xb + (size_t)(t - first) * E, c->x + (size_t)t * E,
                m->output_norm, E, hp->norm_eps);
    llm_matmul(c->pool, &m->output, c->xb, n_out, c->logits);
    c->n_logits = n_out;
}

/* Check a decode request (see llm_decode) and run it in n_batch steps. */
static wm_status run_steps(llm_ctx *c, const int32_t *tokens, int32_t n,
                           int32_t pos, const char *what, wm_error *err) {
    const llm_hparams *hp = &c->m->hp;
    if (n < 1) return wm_errf(err, WM_ERR_ARG, "%s: no tokens", what);
    if (pos < 0 || pos > c->p.n_ctx || n > c->p.n_ctx - pos)
        return wm_errf(err, WM_ERR_ARG,
                       "%s: positions [%d, %d) past the context size %d",
                       what, (int)pos, (int)((int64_t)pos + n),
                       (int)c->p.n_ctx);
    if (c->p.all_logits && !c->embd_sum && n > c->p.n_batch)
        return wm_errf(err, WM_ERR_ARG,
                       "%s: %d tokens with all logits exceed the batch "
                       "size %d",
                       what, (int)n, (int)c->p.n_batch);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return wm_errf(err, WM_ERR_ARG,
                           "%s: token id %d out of range [0, %d)", what,
                           (int)tokens[i], (int)hp->n_vocab);
    for (int32_t done = 0; done < n;) {
        int32_t step = n - done < c->p.n_batch ? n - done : c->p.n_batch;
        forward(c, tokens + done, step, pos + done, done + step == n);
        done += step;
    }
    return WM_OK;
}

wm_status llm_decode(llm_ctx *c, const int32_t *tokens, int32_t n,
                     int32_t pos, wm_error *err) {
    return run_steps(c, tokens, n, pos, "decode", err);
}

wm_status llm_embed(llm_ctx *c, const int32_t *tokens, int32_t n,
                    float *out, wm_error *err) {
    int E = c->m->hp.n_embd;
    memset(out, 0, (size_t)E * sizeof *out);
    c->embd_sum = out;
    c->embd_n = n;
    wm_status st = run_steps(c, tokens, n, 0, "embed", err);
    c->embd_sum = NULL;
    if (st) return st;
    /* Mean pooling divides by n; unit length makes that moot, but the
     * norm is taken in double so long texts lose nothing. */
    double ss = 0;
    for (int i = 0; i < E; i++) ss += (double)out[i] * out[i];
    float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
    for (int i = 0; i < E; i++) out[i] *= inv;
    return WM_OK;
}
