/*
 * sampler.h — choosing the next token from logits, and stop strings.
 *
 *     llm_sampler_params sp = llm_sampler_default_params();
 *     sp.temp = 0.8f; sp.top_k = 40; sp.top_p = 0.95f; sp.seed = 42;
 *     llm_sampler *s;
 *     if (llm_sampler_new(&sp, n_vocab, &s, &err)) goto fail;
 *     int32_t tok = llm_sampler_sample(s, logits);
 *     llm_sampler_accept(s, tok);            // feeds the penalties
 *
 * The chain is llama.cpp's default order: penalties (repetition,
 * frequency, presence over the last repeat_last_n accepted tokens) ->
 * top-k -> top-p -> min-p -> temperature -> draw. temp <= 0 is greedy
 * (argmax after penalties; the lowest id wins ties). top-p and min-p are
 * applied to the softmax of the unscaled logits, as llama.cpp does.
 *
 * Randomness: xorshift64* seeded through splitmix64, so a seed gives the
 * same tokens on every machine and run (the draw compares a 24-bit
 * uniform against a cumulative sum in double, all deterministic).
 */
#ifndef WM_LLM_SAMPLER_H
#define WM_LLM_SAMPLER_H

#include "../util/common.h"

typedef struct llm_sampler_params {
    float temp;              /* <= 0: greedy (default 0.8) */
    int32_t top_k;           /* keep the k most likely; <= 0: off (40) */
    float top_p;             /* nucleus mass; >= 1: off (0.95) */
    float min_p;             /* keep p >= min_p * p_max; <= 0: off (0.05) */
    float repeat_penalty;    /* divide positive / multiply negative logits
                                of recent tokens; 1: off (1.0) */
    int32_t repeat_last_n;   /* window for all penalties (64) */
    float frequency_penalty; /* logit -= count * f (OpenAI); 0: off */
    float presence_penalty;  /* logit -= p if seen (OpenAI); 0: off */
    uint64_t seed;
} llm_sampler_params;

typedef struct llm_sampler llm_sampler;

WM_INTERNAL llm_sampler_params llm_sampler_default_params(void);
/* WM_ERR_ARG for out-of-range parameters (negative temperature is fine:
 * greedy), WM_ERR_NOMEM. */
WM_INTERNAL wm_status llm_sampler_new(const llm_sampler_params *p,
                                      int32_t n_vocab, llm_sampler **out,
                                      wm_error *err);
WM_INTERNAL void llm_sampler_free(llm_sampler *s);
/* Forget the accepted tokens and restart the random stream at the seed. */
WM_INTERNAL void llm_sampler_reset(llm_sampler *s);
/* Record a token as part of the sequence (prompt or generated). */
WM_INTERNAL void llm_sampler_accept(llm_sampler *s, int32_t tok);
/* Choose a token from n_vocab logits (not modified). */
WM_INTERNAL int32_t llm_sampler_sample(llm_sampler *s, const float *logits);
/*
 * The distribution the next draw would use: probs[i] (n_vocab floats) is
 * token i's probability after the whole chain (0 for tokens filtered out;
 * greedy puts 1 on the argmax). For tests and for returning log-probs.
 */
WM_INTERNAL void llm_sampler_probs(llm_sampler *s, const float *logits,
                                   float *probs);

/* ==== Stop strings ======================================================= */

/*
 * Streams text and finds stop strings across chunk (token) boundaries.
 * Text that could be the beginning of a stop string is held back until it
 * is known not to be; when a stop string completes, the text before it is
 * released and the rest dropped.
 *
 *     llm_stop st;  llm_stop_init(&st, stops, n, &err);
 *     for each piece:  if (llm_stop_push(&st, piece, len, &out, &n)) stop;
 *                      emit(out, n);
 *     llm_stop_flush(&st, &out, &n); emit(out, n);   // at the end
 */
typedef struct llm_stop {
    char **strs;             /* copies */
    size_t *lens;
    int n;
    char *buf;               /* held-back + just-pushed text */
    size_t len, cap;
    size_t consumed;         /* bytes of buf released by the last call */
    bool done;               /* a stop string matched */
} llm_stop;

/* Empty strings are ignored. WM_ERR_NOMEM. */
WM_INTERNAL wm_status llm_stop_init(llm_stop *s, const char *const *strs,
                                    int n, wm_error *err);
WM_INTERNAL void llm_stop_free(llm_stop *s);
/* Append text. *out, *out_len: what may be emitted now (valid until the
 * next call). Returns true when a stop string completed (then *out holds
 * the text before it and later pushes release nothing). Should the
 * buffer fail to grow (out of memory), the text is released unchecked. */
WM_INTERNAL bool llm_stop_push(llm_stop *s, const char *text, size_t len,
                               const char **out, size_t *out_len);
/* Release the held-back text (end of generation without a stop). */
WM_INTERNAL void llm_stop_flush(llm_stop *s, const char **out,
                                size_t *out_len);

#endif
