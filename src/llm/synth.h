/*
 * synth.h — synthetic models: valid GGUF files in real shapes with seeded
 * random weights, for tests and benchmarks (no model hub is reachable).
 *
 *     llm_synth_params sp = llm_synth_default_params();
 *     sp.preset = "tiny"; sp.type = LLM_Q4_0; sp.seed = 7;
 *     if (llm_synth_write(&sp, "tiny-q4_0.gguf", &err)) ...
 *
 * Weights: matrices N(0, 0.02) (approximated by a sum of four uniforms),
 * the output matrix (or the tied embedding) N(0, 1/sqrt(n_embd)) so
 * logits have a spread of about 1, norms 1 + U(-0.1, 0.1), qwen2 biases
 * N(0, 0.02). Every value is a function of (seed, tensor index, row) only,
 * so files are identical for any thread count. Matrix types follow
 * quantize.h's policy (or `pure`).
 *
 * Vocabulary: the tokenizer.* metadata of vocab_from when given (its size
 * becomes n_vocab), else a synthetic SentencePiece vocabulary: <unk>,
 * <s>, </s>, the 256 byte tokens, then lowercase pieces with and without
 * the "▁" prefix, shorter ones scored higher.
 */
#ifndef WM_LLM_SYNTH_H
#define WM_LLM_SYNTH_H

#include "../util/common.h"
#include "gguf.h"
#include "model.h"
#include "quant.h"

typedef struct llm_synth_preset {
    const char *name;
    enum llm_arch arch;
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    float rope_freq_base;
    bool tied;                  /* no output.weight */
    const char *what;           /* one-line description */
} llm_synth_preset;

typedef struct llm_synth_params {
    const char *preset;         /* name (llm_synth_presets) */
    llm_type type;              /* matrices */
    bool pure;                  /* every matrix in `type` */
    uint64_t seed;
    const gguf_file *vocab_from;   /* NULL: synthetic vocabulary */
    int n_threads;              /* <= 0: online CPUs */
    void (*progress)(void *ud, double frac);
    void *ud;
} llm_synth_params;

WM_INTERNAL llm_synth_params llm_synth_default_params(void);
WM_INTERNAL const llm_synth_preset *llm_synth_presets(int *n);
WM_INTERNAL const llm_synth_preset *llm_synth_find(const char *name);
/* Write the model to path. WM_ERR_ARG for an unknown preset or type,
 * WM_ERR_FORMAT when vocab_from has no tokenizer, WM_ERR_NOMEM/IO. */
WM_INTERNAL wm_status llm_synth_write(const llm_synth_params *p,
                                      const char *path, wm_error *err);

#endif
