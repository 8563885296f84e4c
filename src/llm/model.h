/*
 * model.h — decoder-only transformers as GGUF describes them, and the
 * per-sequence context that runs them.
 *
 *     llm_model *m; llm_ctx *c; wm_error err;
 *     if (llm_model_load("m.gguf", &m, &err)) goto fail;
 *     llm_ctx_params cp = llm_ctx_default_params();
 *     cp.n_ctx = 512; cp.n_threads = 2;
 *     if (llm_ctx_new(m, &cp, &c, &err)) goto fail;
 *     int32_t toks[] = {1, 403, 407};
 *     if (llm_decode(c, toks, 3, 0, &err)) goto fail;   // positions 0..2
 *     const float *logits = llm_ctx_logits(c);          // last token's
 *     ...
 *     llm_ctx_free(c); llm_model_free(m);
 *
 * Architectures: `llama` (Llama 1/2/3, TinyLlama, Mistral-style: RMSNorm,
 * rotary embeddings on adjacent pairs — GGUF's "normal" rope, for which
 * convert_hf_to_gguf permutes Q/K — SwiGLU, grouped-query attention, tied
 * or separate output matrix) and `qwen2` (the same plus Q/K/V biases,
 * NeoX rope on the two halves of each head). RoPE scaling: linear
 * ({arch}.rope.scaling.type/factor) and Llama 3.1's per-pair frequency
 * factors (rope_freqs.weight); other kinds (yarn) are refused.
 *
 * Weights are views into the GGUF mapping, never copied: 2-D matrices are
 * llm_mat (any type quant.h supports), the token embedding is dequantised
 * one row per looked-up token, and 1-D tensors (norms, biases) are used in
 * place when F32 (the common case) or dequantised once into a model-owned
 * buffer otherwise. The model owns the gguf_file it was loaded from.
 *
 * A context owns everything mutable: activations for n_batch tokens, the
 * KV cache for n_ctx positions (F16 by default, F32 on request), the
 * output logits and the thread pool. Nothing is allocated after
 * llm_ctx_new. A model may serve several contexts (each used by one
 * thread at a time); the model must outlive them.
 *
 * Determinism: every output element is computed by one thread with the
 * same instruction sequence whatever the thread count (matrix products by
 * output row, attention by (KV head, token)), so results are bit-identical
 * for 1..N threads. Batched and token-by-token prompt processing agree up
 * to rounding (the tiled matrix kernel may sum in another order).
 */
#ifndef WM_LLM_MODEL_H
#define WM_LLM_MODEL_H

#include "../util/common.h"
#include "gguf.h"
#include "quant.h"
#include "threads.h"
#include "tokenizer.h"

enum llm_arch { LLM_ARCH_LLAMA, LLM_ARCH_QWEN2 };
enum llm_rope { LLM_ROPE_NORM, LLM_ROPE_NEOX };
/* How llm_embed pools the per-token hidden states (GGUF's
 * {arch}.pooling_type: 1 mean, 2 cls, 3 last; absent or 0 "none" pools
 * by mean, which is what a one-vector embeddings API needs). */
enum llm_pooling { LLM_POOL_MEAN, LLM_POOL_CLS, LLM_POOL_LAST };

typedef struct llm_hparams {
    enum llm_arch arch;
    enum llm_rope rope;
    int32_t n_vocab;         /* rows of token_embd */
    int32_t n_embd;          /* model width (dim) */
    int32_t n_layer;
    int32_t n_head;          /* query heads */
    int32_t n_head_kv;       /* key/value heads (GQA: divides n_head) */
    int32_t head_dim;        /* per head (attention.key_length or
                                n_embd / n_head) */
    int32_t n_rot;           /* rotated dims per head (<= head_dim, even) */
    int32_t n_ff;            /* feed-forward hidden width */
    int32_t n_ctx_train;     /* context_length (informational) */
    float rope_freq_base;    /* 10000 (Llama 2), 500000 (Llama 3) */
    float rope_freq_scale;   /* positions are multiplied by this: 1, or
                                1/factor for rope.scaling.type "linear" */
    float norm_eps;          /* RMSNorm epsilon */
    enum llm_pooling pooling; /* for llm_embed */
} llm_hparams;

typedef struct llm_layer {
    const float *attn_norm;              /* [n_embd] */
    llm_mat wq, wk, wv, wo;              /* wq: n_embd -> n_head*head_dim,
                                            wk/wv: -> n_head_kv*head_dim,
                                            wo: n_head*head_dim -> n_embd */
    const float *bq, *bk, *bv;           /* qwen2 biases, else NULL */
    const float *ffn_norm;               /* [n_embd] */
    llm_mat w_gate, w_up, w_down;        /* n_embd -> n_ff (x2), n_ff ->
                                            n_embd */
} llm_layer;

typedef struct llm_model {
    gguf_file *file;         /* owned; weights point into it */
    llm_vocab *vocab;        /* owned */
    llm_hparams hp;
    llm_mat tok_embd;        /* n_embd -> rows of n_vocab (lookup only) */
    const float *output_norm;
    const float *rope_freqs;  /* [n_rot/2] per-pair frequency divisors
                                (Llama 3.1 "rope_freqs.weight"), or NULL */
    llm_mat output;          /* n_embd -> n_vocab (token_embd when tied) */
    bool tied_output;
    llm_layer *layers;       /* [n_layer] */
    uint64_t n_params;       /* elements in all tensors */
    uint64_t weight_bytes;   /* bytes of all tensors in the file */
    llm_type main_type;      /* most common type among the layers' 2-D
                                weights, by bytes (the "ftype" shown) */
    float *owned_f32;        /* dequantised 1-D tensors, if any */
} llm_model;

/*
 * Load a model: open path (mmap), validate the hyper-parameters and every
 * tensor's presence, type and shape, build the vocabulary. WM_ERR_FORMAT
 * with err->where = path and a message naming the key or tensor on any
 * inconsistency ("tensor 'blk.3.attn_k.weight': shape [2048, 512],
 * expected [2048, 256]"); WM_ERR_UNSUPPORTED for an unknown architecture
 * or tensor type. *out is NULL on failure.
 */
WM_INTERNAL wm_status llm_model_load(const char *path, llm_model **out,
                                     wm_error *err);
/* The same from an open file; takes ownership of f only on WM_OK. */
WM_INTERNAL wm_status llm_model_from_gguf(gguf_file *f, llm_model **out,
                                          wm_error *err);
WM_INTERNAL void llm_model_free(llm_model *m);
/* Touch every page of the weights once (so the first tokens do not pay
 * for page faults), reporting progress in [0,1] to cb when non-NULL. */
WM_INTERNAL void llm_model_prefault(const llm_model *m,
                                    void (*cb)(void *ud, double frac),
                                    void *ud);
WM_INTERNAL const char *llm_arch_name(enum llm_arch a);

/* ==== Context =========================================================== */

typedef struct llm_ctx_params {
    int32_t n_ctx;           /* positions in the KV cache (0: min(train
                                context, 4096)) */
    int32_t n_batch;         /* tokens per forward step (default 64) */
    int32_t n_threads;       /* <= 0: online CPUs */
    bool kv_f32;             /* F32 KV cache instead of F16 */
    bool all_logits;         /* keep logits of every token of a decode call
                                (n_batch rows), not only the last */
} llm_ctx_params;

typedef struct llm_ctx llm_ctx;

WM_INTERNAL llm_ctx_params llm_ctx_default_params(void);
/* Allocate a context for model m (which must outlive it). WM_ERR_ARG for
 * out-of-range parameters, WM_ERR_NOMEM. */
WM_INTERNAL wm_status llm_ctx_new(const llm_model *m,
                                  const llm_ctx_params *p, llm_ctx **out,
                                  wm_error *err);
WM_INTERNAL void llm_ctx_free(llm_ctx *c);
WM_INTERNAL const llm_model *llm_ctx_model(const llm_ctx *c);
WM_INTERNAL int32_t llm_ctx_n_ctx(const llm_ctx *c);
WM_INTERNAL int llm_ctx_n_threads(const llm_ctx *c);
/* Bytes of the KV cache (keys and values, all layers and positions). */
WM_INTERNAL size_t llm_ctx_kv_bytes(const llm_ctx *c);

/*
 * Run tokens[0..n) at positions pos..pos+n-1 (any n >= 1: split into
 * steps of n_batch internally), writing their keys/values into the cache.
 * Positions >= pos are overwritten, so rewinding (pos smaller than before)
 * is how a caller drops the tail of the sequence. Afterwards
 * llm_ctx_logits() holds the logits of the last token (with all_logits:
 * of every token of the final step, llm_ctx_logits_ith). WM_ERR_ARG for a
 * token id out of range or pos + n > n_ctx; nothing is run then.
 */
WM_INTERNAL wm_status llm_decode(llm_ctx *c, const int32_t *tokens,
                                 int32_t n, int32_t pos, wm_error *err);
/*
 * Embedding of a whole text: run tokens[0..n) at positions 0..n-1 (the
 * cache's previous content is overwritten), take each token's final
 * hidden state after the output norm (what llama.cpp calls the
 * embeddings of a decoder model), pool them by m->hp.pooling (mean, first
 * or last token) and scale the result to unit Euclidean length; out gets
 * n_embd floats. No logits are computed (llm_ctx_logits is stale after
 * this). Errors as llm_decode's.
 */
WM_INTERNAL wm_status llm_embed(llm_ctx *c, const int32_t *tokens, int32_t n,
                                float *out, wm_error *err);
/* Logits (n_vocab floats) of the last token decoded. */
WM_INTERNAL const float *llm_ctx_logits(const llm_ctx *c);
/* With all_logits: token i of the last step (NULL when out of range). */
WM_INTERNAL const float *llm_ctx_logits_ith(const llm_ctx *c, int32_t i);

#endif
