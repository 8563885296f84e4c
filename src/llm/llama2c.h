/*
 * llama2c.h — Karpathy's llama2.c checkpoints and tokenizers, and their
 * conversion to GGUF (`wasmind convert llama2c`).
 *
 * Checkpoint ("legacy" export, all little-endian):
 *
 *   +------------------------------------------------------------------+
 *   | int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, |
 *   |       seq_len            (vocab_size < 0: unshared classifier)    |
 *   +------------------------------------------------------------------+
 *   | f32 token_embedding[vocab][dim]   rms_att[L][dim]                 |
 *   |     wq[L][dim][dim]  wk[L][kv_dim][dim]  wv[L][kv_dim][dim]       |
 *   |     wo[L][dim][dim]  rms_ffn[L][dim]                              |
 *   |     w1[L][hidden][dim]  w2[L][dim][hidden]  w3[L][hidden][dim]    |
 *   |     rms_final[dim]  freq_cis_real[seq][hs/2] freq_cis_imag[..]    |
 *   |     (wcls[vocab][dim] when unshared)                              |
 *   +------------------------------------------------------------------+
 *   (matrices are [out][in], row-major: GGUF ne = {in, out})
 *
 * Tokenizer: int32 max_token_length, then per token f32 score, int32
 * length, bytes (spaces spelled ' ', BOS/EOS as "\n<s>\n", "\n</s>\n").
 *
 * Every size is checked against the files: the checkpoint must be exactly
 * as long as its header implies, the tokenizer exactly vocab entries.
 */
#ifndef WM_LLAMA2C_H
#define WM_LLAMA2C_H

#include "../util/common.h"

typedef struct l2c_config {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads;
    int32_t vocab_size;        /* absolute value */
    int32_t seq_len;
    bool shared_classifier;    /* header vocab_size > 0 */
} l2c_config;

/* Views into the mapped checkpoint (f32, llama2.c order). */
typedef struct l2c_model {
    l2c_config cfg;
    const float *token_embd;   /* [vocab][dim] */
    const float *rms_att;      /* [L][dim] */
    const float *wq, *wk, *wv, *wo;
    const float *rms_ffn;      /* [L][dim] */
    const float *w1, *w2, *w3;
    const float *rms_final;    /* [dim] */
    const float *wcls;         /* [vocab][dim]; = token_embd when shared */
    const void *map;           /* the mapping */
    size_t map_size;
} l2c_model;

typedef struct l2c_tokenizer {
    int32_t n;
    uint32_t max_token_length;
    float *scores;             /* n */
    char **pieces;             /* n, NUL-terminated, as in the file */
    uint32_t *lens;            /* n */
} l2c_tokenizer;

/* Map and validate a checkpoint. WM_ERR_FORMAT (where = path) when the
 * header is implausible or the file size does not match it. */
WM_INTERNAL wm_status l2c_model_load(const char *path, l2c_model **out,
                                     wm_error *err);
WM_INTERNAL void l2c_model_free(l2c_model *m);

/* Read a tokenizer of exactly n_vocab entries. */
WM_INTERNAL wm_status l2c_tokenizer_load(const char *path, int32_t n_vocab,
                                         l2c_tokenizer **out, wm_error *err);
WM_INTERNAL void l2c_tokenizer_free(l2c_tokenizer *t);

/* Write model + tokenizer as a llama-architecture GGUF (F32 tensors named
 * as llama.cpp names them; output.weight only for an unshared
 * classifier). `name` goes to general.name (NULL: "llama2c"). */
WM_INTERNAL wm_status l2c_write_gguf(const l2c_model *m,
                                     const l2c_tokenizer *t,
                                     const char *name, const char *out_path,
                                     wm_error *err);

#endif
