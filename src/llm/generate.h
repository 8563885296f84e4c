/*
 * generate.h — the generation loop shared by `wasmind llm generate` and
 * WASI-NN: tokenize the prompt (BOS as the vocabulary says), decode it in
 * batches, then sample / decode one token at a time, streaming the
 * detokenised UTF-8 through a callback until a stop condition.
 *
 *     llm_gen_params gp = llm_gen_default_params();
 *     gp.n_predict = 128; gp.sampling.temp = 0;        // greedy
 *     llm_gen_stats st;
 *     wm_status rc = llm_generate(ctx, "Once upon a time", 16, &gp,
 *                                 print_cb, NULL, &st, &err);
 *
 * Stop conditions, in order of checking after each sampled token: an
 * end-of-generation token (EOS/EOT, unless ignore_eos; not printed), a
 * stop string (text before it printed, see llm_stop), n_predict tokens,
 * the context being full, the callback returning false.
 *
 * Step-wise use (WASI-NN compute_single): llm_gen_new, llm_gen_prompt,
 * then llm_gen_next until *done; llm_gen_stats for the timings.
 */
#ifndef WM_LLM_GENERATE_H
#define WM_LLM_GENERATE_H

#include "model.h"
#include "sampler.h"

/* Receives text as it is produced (complete UTF-8 sequences; may be
 * called with len 0 never). Return false to stop generating. */
typedef bool (*llm_text_fn)(void *ud, const char *text, size_t len);

typedef struct llm_gen_params {
    int32_t n_predict;           /* tokens to generate; < 0: until the
                                    context is full (default 128) */
    llm_sampler_params sampling;
    const char *const *stop;     /* stop strings (may be NULL) */
    int n_stop;
    bool ignore_eos;             /* keep going past EOS/EOT */
    bool echo_prompt;            /* stream the prompt's own tokens first
                                    (as llama2.c's run prints them) */
    int add_bos;                 /* -1: as the vocabulary says; 0/1 */
    bool parse_special;          /* match <|special|> tokens in the prompt
                                    (default true) */
    bool reuse_cache;            /* a new prompt that starts with tokens
                                    already in the KV cache (the previous
                                    prompt + generation of this session)
                                    decodes only the rest (default true;
                                    assumes nothing else decoded into the
                                    context in between) */
} llm_gen_params;

enum llm_stop_reason {
    LLM_STOP_NONE, LLM_STOP_LENGTH, LLM_STOP_EOG, LLM_STOP_STRING,
    LLM_STOP_CONTEXT, LLM_STOP_CALLBACK
};

typedef struct llm_gen_stats {
    int32_t n_prompt;            /* prompt tokens (BOS included) */
    int32_t n_cached;            /* of which reused from the KV cache */
    int32_t n_gen;               /* tokens sampled (EOG included) */
    double prompt_ms, gen_ms;    /* wall time of prompt decode / of the
                                    sampling + decoding of the rest */
    double prompt_tps, gen_tps;  /* tokens per second of each (prompt:
                                    tokens decoded, n_prompt - n_cached) */
    enum llm_stop_reason stop;
} llm_gen_stats;

typedef struct llm_gen llm_gen;

WM_INTERNAL llm_gen_params llm_gen_default_params(void);
WM_INTERNAL const char *llm_stop_reason_str(enum llm_stop_reason r);

/* A generation session over ctx (which must outlive it). */
WM_INTERNAL wm_status llm_gen_new(llm_ctx *ctx, const llm_gen_params *p,
                                  llm_gen **out, wm_error *err);
WM_INTERNAL void llm_gen_free(llm_gen *g);
/*
 * Start over with a new prompt: reset the sampler and stop matcher,
 * tokenize, decode (from the first token not already in the cache, with
 * reuse_cache; else from position 0). With echo_prompt the prompt's text
 * is available from the first llm_gen_next. WM_ERR_LIMIT when the prompt
 * does not fit the context (with room for one more token).
 */
WM_INTERNAL wm_status llm_gen_prompt(llm_gen *g, const char *text,
                                     size_t len, wm_error *err);
/*
 * Produce one token: decode the token the previous call returned (if
 * any), sample from the logits, and return the sampled token and the
 * text it releases (*text, *len: valid until the next call; possibly
 * empty: held back for a stop string or an incomplete UTF-8 sequence).
 * A token is returned before it is decoded, so the first one comes right
 * after the prompt and the last one of a generation is never decoded. *done becomes true with the reason in the stats; the final
 * call releases whatever was held back.
 */
WM_INTERNAL wm_status llm_gen_next(llm_gen *g, int32_t *tok,
                                   const char **text, size_t *len,
                                   bool *done, wm_error *err);
WM_INTERNAL const llm_gen_stats *llm_gen_get_stats(const llm_gen *g);
/*
 * Replace the session's parameters (sampling, n_predict, stop strings,
 * ...) keeping the token history, so the KV cache stays reusable by the
 * next llm_gen_prompt (WASI-NN: a context's config changes between
 * computes, and compute / compute_single differ in n_predict and stops).
 * A new llm_gen_prompt must follow before llm_gen_next. On failure
 * (WM_ERR_ARG for bad sampling parameters, WM_ERR_NOMEM) nothing changes.
 */
WM_INTERNAL wm_status llm_gen_set_params(llm_gen *g, const llm_gen_params *p,
                                         wm_error *err);
/* Something else (llm_embed) overwrote the context's KV cache: the next
 * llm_gen_prompt decodes from position 0. */
WM_INTERNAL void llm_gen_forget_cache(llm_gen *g);
/* Token ids of the sequence so far (prompt then generated). */
WM_INTERNAL const int32_t *llm_gen_tokens(const llm_gen *g, int32_t *n);

/* The whole loop: prompt, then llm_gen_next until done, each non-empty
 * text to cb. stats may be NULL. */
WM_INTERNAL wm_status llm_generate(llm_ctx *ctx, const char *prompt,
                                   size_t len, const llm_gen_params *p,
                                   llm_text_fn cb, void *ud,
                                   llm_gen_stats *stats, wm_error *err);

WM_INTERNAL double llm_time_ms(void);   /* monotonic clock */

#endif
