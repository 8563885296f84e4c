/*
 * synth.c — the model synthesiser (synth.h).
 *
 * Each tensor is generated row by row straight into its final type (F32
 * rows are produced in a per-thread buffer and quantised with the type's
 * reference quantiser), so peak memory is the output file's size plus a
 * row per thread: ~640 MB for the 1.1B shape in Q4_0, 4.4 GB in F32. The
 * gguf_writer references tensor data until it writes, which is why the
 * whole file is held; a writer that pulled tensor data through a
 * callback would bring this down to a row per thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "quantize.h"
#include "synth.h"
#include "threads.h"

static const llm_synth_preset presets[] = {
    {"tiny", LLM_ARCH_LLAMA, 256, 2, 4, 2, 512, 512, 256, 10000.0f, false,
     "test model: dim 256, 2 layers, 4 heads / 2 KV heads, ffn 512"},
    {"tiny-tied", LLM_ARCH_LLAMA, 256, 2, 4, 4, 512, 512, 256, 500000.0f,
     true, "test model: as tiny, tied output, no GQA, rope base 5e5"},
    {"tiny-qwen2", LLM_ARCH_QWEN2, 256, 2, 4, 2, 512, 512, 256, 1000000.0f,
     false, "test model: qwen2 (QKV biases, NeoX rope), dim 256"},
    {"tiny-gqa", LLM_ARCH_LLAMA, 384, 2, 12, 1, 512, 512, 256, 10000.0f,
     false, "test model: 12 query heads on 1 KV head, head_dim 32"},
    {"tiny-hd12", LLM_ARCH_LLAMA, 96, 2, 8, 2, 256, 512, 256, 10000.0f,
     false, "test model: head_dim 12 (scalar attention), dim 96"},
    {"15M", LLM_ARCH_LLAMA, 288, 6, 6, 6, 768, 32000, 256, 10000.0f, true,
     "llama2.c stories15M shape"},
    {"110M", LLM_ARCH_LLAMA, 768, 12, 12, 12, 2048, 32000, 1024, 10000.0f,
     true, "llama2.c stories110M shape"},
    {"1.1B", LLM_ARCH_LLAMA, 2048, 22, 32, 4, 5632, 32000, 2048, 10000.0f,
     false, "TinyLlama 1.1B shape (GQA 32/4)"},
};

llm_synth_params llm_synth_default_params(void) {
    llm_synth_params p = {.preset = "tiny", .type = LLM_F32, .seed = 1};
    return p;
}

const llm_synth_preset *llm_synth_presets(int *n) {
    *n = (int)WM_ARRAY_LEN(presets);
    return presets;
}

const llm_synth_preset *llm_synth_find(const char *name) {
    for (size_t i = 0; i < WM_ARRAY_LEN(presets); i++)
        if (strcmp(presets[i].name, name) == 0) return &presets[i];
    return NULL;
}

/* ==== Random values ===================================================== */

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint64_t xs_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

enum dist { D_NORMAL, D_NORM_WEIGHT };

/* Row of n values: N(0, std) (sum of four 16-bit uniforms, scaled to unit
 * variance) or 1 + U(-0.1, 0.1). */
static void gen_row(float *dst, int64_t n, uint64_t seed, enum dist d,
                    float std) {
    uint64_t s = mix64(seed);
    if (s == 0) s = 1;
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = xs_next(&s);
        if (d == D_NORMAL) {
            float u = (float)(r & 0xffff) + (float)((r >> 16) & 0xffff) +
                      (float)((r >> 32) & 0xffff) + (float)(r >> 48);
            /* mean 2*65535, variance 4 * 65536^2/12 */
            dst[i] = (u - 131070.0f) * (std * 1.7320508f / 65536.0f);
        } else {
            dst[i] = 1.0f + 0.1f * ((float)(r >> 40) / 8388608.0f - 1.0f);
        }
    }
}

typedef struct gen_job {
    uint8_t *dst;
    llm_type type;
    int64_t n_in, n_rows;
    uint64_t seed;
    enum dist d;
    float std;
    float *tmp;              /* [nth][max n_in] */
    int64_t tmp_stride;
} gen_job;

static void gen_worker(void *arg, int ith, int nth) {
    const gen_job *j = arg;
    int64_t lo = j->n_rows * ith / nth, hi = j->n_rows * (ith + 1) / nth;
    size_t rs = llm_row_size(j->type, j->n_in);
    float *tmp = j->tmp + (size_t)ith * (size_t)j->tmp_stride;
    const llm_type_traits *tr = llm_traits(j->type);
    for (int64_t r = lo; r < hi; r++) {
        uint64_t rs_seed = j->seed ^ mix64((uint64_t)r + 0x5151);
        if (j->type == LLM_F32) {
            gen_row((float *)(j->dst + (size_t)r * rs), j->n_in, rs_seed,
                    j->d, j->std);
        } else {
            gen_row(tmp, j->n_in, rs_seed, j->d, j->std);
            tr->from_float_ref(tmp, j->dst + (size_t)r * rs, j->n_in);
        }
    }
}

/* ==== Synthetic vocabulary ============================================== */

typedef struct synth_vocab {
    gguf_str *toks;
    float *scores;
    int32_t *types;
    char *text;               /* backing store of the token strings */
} synth_vocab;

static void synth_vocab_free(synth_vocab *v) {
    free(v->toks);
    free(v->scores);
    free(v->types);
    free(v->text);
}

/* <unk> <s> </s> <0x00>..<0xFF> ▁ then a..z, ▁a..▁z, aa..zz, ▁aa..▁zz,
 * ... until n tokens (n >= 260). Token types as llama.cpp numbers them:
 * 1 normal, 2 unknown, 3 control, 6 byte. */
static bool synth_vocab_make(synth_vocab *v, int32_t n) {
    memset(v, 0, sizeof *v);
    v->toks = calloc((size_t)n, sizeof *v->toks);
    v->scores = calloc((size_t)n, sizeof *v->scores);
    v->types = calloc((size_t)n, sizeof *v->types);
    v->text = malloc((size_t)n * 16);
    if (!v->toks || !v->scores || !v->types || !v->text) return false;
    char *p = v->text;
    int32_t i = 0;
#define ADD(str, len, typ, score)                                         \
    do {                                                                  \
        memcpy(p, str, len);                                              \
        v->toks[i] = (gguf_str){p, (uint64_t)(len)};                      \
        v->types[i] = typ;                                                \
        v->scores[i] = score;                                             \
        p += len;                                                         \
        i++;                                                              \
    } while (0)
    ADD("<unk>", 5, 2, 0.0f);
    ADD("<s>", 3, 3, 0.0f);
    ADD("</s>", 4, 3, 0.0f);
    for (int b = 0; b < 256; b++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", b);
        ADD(s, 6, 6, 0.0f);
    }
    ADD("\xe2\x96\x81", 3, 1, -1.0f);
    for (int len = 1; i < n && len <= 6; len++) {
        long count = 1;
        for (int k = 0; k < len; k++) count *= 26;
        for (int sp = 0; sp < 2 && i < n; sp++)
            for (long c = 0; c < count && i < n; c++) {
                char s[16];
                int o = 0;
                if (sp) {
                    memcpy(s, "\xe2\x96\x81", 3);
                    o = 3;
                }
                long x = c;
                for (int k = len - 1; k >= 0; k--) {
                    s[o + k] = (char)('a' + x % 26);
                    x /= 26;
                }
                ADD(s, (size_t)(o + len), 1, -(float)(i - 259));
            }
    }
#undef ADD
    return i == n;
}

/* ==== Writing =========================================================== */

typedef struct tspec {
    char name[64];
    uint32_t n_dims;
    int64_t ne[2];
    enum dist d;
    float std;
} tspec;

/* Append a tensor spec: "blk.L.name" for layer >= 0; ne1 == 0: 1-D. */
static void add_t(tspec *ts, size_t *k, int layer, const char *name,
                  int64_t ne0, int64_t ne1, enum dist d, float std) {
    tspec *t = &ts[(*k)++];
    if (layer >= 0) snprintf(t->name, sizeof t->name, "blk.%d.%s", layer,
                             name);
    else snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->d = d;
    t->std = std;
}

wm_status llm_synth_write(const llm_synth_params *p, const char *path,
                          wm_error *err) {
    llm_kernels_init();
    const llm_synth_preset *ps = llm_synth_find(p->preset ? p->preset : "");
    if (!ps)
        return wm_errf(err, WM_ERR_ARG, "synth: unknown preset '%s'",
                       p->preset ? p->preset : "");
    if (!llm_quant_target_ok(p->type))
        return wm_errf(err, WM_ERR_ARG, "synth: unsupported type %s",
                       llm_traits(p->type) ? llm_traits(p->type)->name : "?");
    int32_t n_vocab = ps->n_vocab;
    if (p->vocab_from) {
        const gguf_kv *kv = gguf_find(p->vocab_from, "tokenizer.ggml.tokens");
        if (!kv || !kv->strs || kv->n < 1 || kv->n > (1u << 22))
            return wm_errf(err, WM_ERR_FORMAT,
                           "synth: %s has no tokenizer.ggml.tokens",
                           p->vocab_from->path ? p->vocab_from->path
                                               : "vocabulary file");
        n_vocab = (int32_t)kv->n;
    }
    const int64_t E = ps->n_embd, F = ps->n_ff, hd = ps->n_embd / ps->n_head;
    const int64_t qd = hd * ps->n_head, kvd = hd * ps->n_head_kv;
    bool qwen = ps->arch == LLM_ARCH_QWEN2;

    /* Tensor list in llama.cpp's order. */
    size_t n_t = 3 + (size_t)ps->n_layer * (qwen ? 12 : 9);
    tspec *ts = calloc(n_t, sizeof *ts);
    uint8_t **bufs = calloc(n_t, sizeof *bufs);
    gguf_writer *w = gguf_writer_new(GGUF_DEFAULT_ALIGNMENT);
    llm_pool *pool = llm_pool_new(p->n_threads);
    float *tmp = NULL;
    synth_vocab sv;
    memset(&sv, 0, sizeof sv);
    wm_status st = WM_OK;
    if (!ts || !bufs || !w || !pool) goto nomem;
    size_t k = 0;
    float out_std = 1.0f / sqrtf((float)E);
    add_t(ts, &k, -1, "token_embd.weight", E, n_vocab, D_NORMAL,
          ps->tied ? out_std : 0.02f);
    add_t(ts, &k, -1, "output_norm.weight", E, 0, D_NORM_WEIGHT, 0);
    if (!ps->tied)
        add_t(ts, &k, -1, "output.weight", E, n_vocab, D_NORMAL, out_std);
    for (int l = 0; l < ps->n_layer; l++) {
        add_t(ts, &k, l, "attn_norm.weight", E, 0, D_NORM_WEIGHT, 0);
        add_t(ts, &k, l, "attn_q.weight", E, qd, D_NORMAL, 0.02f);
        add_t(ts, &k, l, "attn_k.weight", E, kvd, D_NORMAL, 0.02f);
        add_t(ts, &k, l, "attn_v.weight", E, kvd, D_NORMAL, 0.02f);
        if (qwen) {
            add_t(ts, &k, l, "attn_q.bias", qd, 0, D_NORMAL, 0.02f);
            add_t(ts, &k, l, "attn_k.bias", kvd, 0, D_NORMAL, 0.02f);
            add_t(ts, &k, l, "attn_v.bias", kvd, 0, D_NORMAL, 0.02f);
        }
        add_t(ts, &k, l, "attn_output.weight", qd, E, D_NORMAL, 0.02f);
        add_t(ts, &k, l, "ffn_norm.weight", E, 0, D_NORM_WEIGHT, 0);
        add_t(ts, &k, l, "ffn_gate.weight", E, F, D_NORMAL, 0.02f);
        add_t(ts, &k, l, "ffn_up.weight", E, F, D_NORMAL, 0.02f);
        add_t(ts, &k, l, "ffn_down.weight", F, E, D_NORMAL, 0.02f);
    }
    n_t = k;

    /* Metadata. */
    const char *arch = llm_arch_name(ps->arch);
    char key[96];
#define K(s) (snprintf(key, sizeof key, "%s." s, arch), key)
    gguf_w_str(w, "general.architecture", arch);
    char name[96];
    snprintf(name, sizeof name, "synthetic-%s", ps->name);
    gguf_w_str(w, "general.name", name);
    int ft = llm_quant_file_type(p->type);
    if (ft >= 0) gguf_w_u32(w, "general.file_type", (uint32_t)ft);
    gguf_w_u32(w, "general.quantization_version", 2);
    gguf_w_u32(w, K("context_length"), (uint32_t)ps->n_ctx);
    gguf_w_u32(w, K("embedding_length"), (uint32_t)E);
    gguf_w_u32(w, K("block_count"), (uint32_t)ps->n_layer);
    gguf_w_u32(w, K("feed_forward_length"), (uint32_t)F);
    gguf_w_u32(w, K("rope.dimension_count"), (uint32_t)hd);
    gguf_w_u32(w, K("attention.head_count"), (uint32_t)ps->n_head);
    gguf_w_u32(w, K("attention.head_count_kv"), (uint32_t)ps->n_head_kv);
    gguf_w_f32(w, K("attention.layer_norm_rms_epsilon"), 1e-5f);
    gguf_w_f32(w, K("rope.freq_base"), ps->rope_freq_base);
#undef K
    if (p->vocab_from) {
        gguf_w_copy_kv(w, p->vocab_from, "tokenizer.");
    } else {
        if (!synth_vocab_make(&sv, n_vocab)) goto nomem;
        gguf_w_str(w, "tokenizer.ggml.model", "llama");
        gguf_w_arr_str(w, "tokenizer.ggml.tokens", sv.toks,
                       (uint64_t)n_vocab);
        gguf_w_arr_f32(w, "tokenizer.ggml.scores", sv.scores,
                       (uint64_t)n_vocab);
        gguf_w_arr_i32(w, "tokenizer.ggml.token_type", sv.types,
                       (uint64_t)n_vocab);
        gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1);
        gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2);
        gguf_w_bool(w, "tokenizer.ggml.add_bos_token", true);
        gguf_w_bool(w, "tokenizer.ggml.add_eos_token", false);
    }

    /* Tensors. */
    int64_t max_in = E > F ? E : F;
    int nth = llm_pool_size(pool);
    tmp = malloc((size_t)nth * (size_t)max_in * sizeof *tmp);
    if (!tmp) goto nomem;
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < n_t; i++)
        total += (uint64_t)ts[i].ne[0] * (uint64_t)ts[i].ne[1];
    for (size_t i = 0; i < n_t; i++) {
        const tspec *t = &ts[i];
        llm_type ty = llm_quant_tensor_type(t->name, t->n_dims, t->ne[0],
                                            p->type, ps->tied, p->pure);
        size_t nbytes = llm_row_size(ty, t->ne[0]) * (size_t)t->ne[1];
        if (!(bufs[i] = malloc(nbytes))) goto nomem;
        gen_job j = {.dst = bufs[i], .type = ty, .n_in = t->ne[0],
                     .n_rows = t->ne[1],
                     .seed = mix64(p->seed * 1000003u + i),
                     .d = t->d, .std = t->std, .tmp = tmp,
                     .tmp_stride = max_in};
        llm_pool_run(pool, gen_worker, &j);
        gguf_w_tensor(w, t->name, ty, t->n_dims, t->ne, bufs[i]);
        done += (uint64_t)t->ne[0] * (uint64_t)t->ne[1];
        if (p->progress) p->progress(p->ud, (double)done / (double)total);
    }
    st = gguf_writer_write(w, path, err);
    goto out;
nomem:
    st = wm_errf(err, WM_ERR_NOMEM, "synth: out of memory");
out:
    if (bufs)
        for (size_t i = 0; i < n_t; i++) free(bufs[i]);
    free(bufs);
    free(ts);
    free(tmp);
    synth_vocab_free(&sv);
    llm_pool_free(pool);
    gguf_writer_free(w);
    return st;
}
