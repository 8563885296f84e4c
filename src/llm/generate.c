/*
 * generate.c — prompt -> tokens -> decode -> sample -> text (generate.h).
 */
#include <stdlib.h>
#include <time.h>

#include "generate.h"

#define GEN_PIECE_CAP 1024   /* bytes one token's text may release */

struct llm_gen {
    llm_ctx *ctx;
    const llm_model *m;
    const llm_vocab *v;
    llm_gen_params p;
    llm_sampler *smp;
    llm_stop stop;
    llm_detok detok;
    int32_t *toks;           /* [n_ctx + 1] sequence so far */
    int32_t n_toks;
    int32_t n_past;          /* positions in the KV cache: toks[0..n_past)
                                when cache_valid */
    bool cache_valid;
    int32_t *ptoks;          /* [n_ctx] the new prompt's tokens */
    int32_t n_gen_decoded;   /* generated tokens run through the model */
    bool pending;            /* toks[n_toks - 1] was sampled and returned
                                but not decoded yet: llm_gen_next decodes
                                it first thing next time, so a token
                                reaches the caller as soon as it is
                                sampled (time to first token = prompt
                                evaluation), and the last one of a
                                generation is never decoded at all */
    bool prompted, finished;
    char *out;               /* text released by the current call */
    size_t out_len, out_cap;
    char piece[GEN_PIECE_CAP];
    double t_gen0;
    llm_gen_stats st;
};

double llm_time_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

llm_gen_params llm_gen_default_params(void) {
    llm_gen_params p = {
        .n_predict = 128, .sampling = llm_sampler_default_params(),
        .stop = NULL, .n_stop = 0, .ignore_eos = false,
        .echo_prompt = false, .add_bos = -1, .parse_special = true,
        .reuse_cache = true,
    };
    return p;
}

const char *llm_stop_reason_str(enum llm_stop_reason r) {
    switch (r) {
    case LLM_STOP_NONE: return "none";
    case LLM_STOP_LENGTH: return "length";
    case LLM_STOP_EOG: return "eog";
    case LLM_STOP_STRING: return "stop string";
    case LLM_STOP_CONTEXT: return "context full";
    case LLM_STOP_CALLBACK: return "callback";
    }
    return "?";
}

wm_status llm_gen_new(llm_ctx *ctx, const llm_gen_params *pp, llm_gen **out,
                      wm_error *err) {
    *out = NULL;
    llm_gen *g = calloc(1, sizeof *g);
    if (!g) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    wm_status st;
    g->ctx = ctx;
    g->m = llm_ctx_model(ctx);
    g->v = g->m->vocab;
    g->p = pp ? *pp : llm_gen_default_params();
    g->p.stop = NULL;        /* copied into g->stop, not kept */
    g->toks = malloc(((size_t)llm_ctx_n_ctx(ctx) + 1) * sizeof *g->toks);
    g->ptoks = malloc(((size_t)llm_ctx_n_ctx(ctx) + 1) * sizeof *g->ptoks);
    if (!g->toks || !g->ptoks) {
        st = wm_errf(err, WM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = llm_sampler_new(&g->p.sampling, g->m->hp.n_vocab, &g->smp,
                              err)) ||
        (st = llm_stop_init(&g->stop, pp ? pp->stop : NULL,
                            pp ? pp->n_stop : 0, err)))
        goto fail;
    *out = g;
    return WM_OK;
fail:
    llm_gen_free(g);
    return st;
}

void llm_gen_free(llm_gen *g) {
    if (!g) return;
    llm_sampler_free(g->smp);
    llm_stop_free(&g->stop);
    free(g->toks);
    free(g->ptoks);
    free(g->out);
    free(g);
}

const llm_gen_stats *llm_gen_get_stats(const llm_gen *g) { return &g->st; }

wm_status llm_gen_set_params(llm_gen *g, const llm_gen_params *pp,
                             wm_error *err) {
    llm_sampler *smp = NULL;
    llm_stop stop;
    wm_status st = llm_sampler_new(&pp->sampling, g->m->hp.n_vocab, &smp,
                                   err);
    if (st) return st;
    if ((st = llm_stop_init(&stop, pp->stop, pp->n_stop, err))) {
        llm_sampler_free(smp);
        return st;
    }
    llm_sampler_free(g->smp);
    llm_stop_free(&g->stop);
    g->smp = smp;
    g->stop = stop;
    g->p = *pp;
    g->p.stop = NULL;        /* copied into g->stop, not kept */
    g->prompted = false;
    return WM_OK;
}

void llm_gen_forget_cache(llm_gen *g) {
    g->cache_valid = false;
    g->n_past = 0;
}

const int32_t *llm_gen_tokens(const llm_gen *g, int32_t *n) {
    *n = g->n_toks;
    return g->toks;
}

/* Append to the text released by this call (false: out of memory). */
static bool out_put(llm_gen *g, const char *s, size_t n) {
    if (n == 0) return true;
    if (g->out_len + n > g->out_cap) {
        size_t nc = (g->out_len + n) * 2 + 256;
        char *nb = realloc(g->out, nc);
        if (!nb) return false;
        g->out = nb;
        g->out_cap = nc;
    }
    memcpy(g->out + g->out_len, s, n);
    g->out_len += n;
    return true;
}

wm_status llm_gen_prompt(llm_gen *g, const char *text, size_t len,
                         wm_error *err) {
    int32_t n_ctx = llm_ctx_n_ctx(g->ctx);
    bool bos = g->p.add_bos < 0 ? llm_vocab_add_bos(g->v) : g->p.add_bos;
    llm_sampler_reset(g->smp);
    /* Fresh stop matcher with the same strings. */
    g->stop.len = g->stop.consumed = 0;
    g->stop.done = false;
    llm_detok_init(&g->detok);
    memset(&g->st, 0, sizeof g->st);
    g->out_len = 0;
    g->n_gen_decoded = 0;
    g->prompted = g->finished = g->pending = false;
    g->t_gen0 = 0;

    int64_t n = llm_tokenize(g->v, text, len, bos, g->p.parse_special,
                             g->ptoks, n_ctx, err);
    if (n < 0) {
        g->cache_valid = false;
        return err ? err->code : WM_ERR_NOMEM;
    }
    if (n >= n_ctx)
        return wm_errf(err, WM_ERR_LIMIT,
                       "prompt of %lld tokens does not fit the context of "
                       "%d",
                       (long long)n, (int)n_ctx);
    if (n == 0)
        return wm_errf(err, WM_ERR_ARG,
                       "empty prompt and the vocabulary adds no BOS");
    /* Tokens already in the cache: the common prefix with the previous
     * sequence, less at least one token (its logits are needed). */
    int32_t keep = 0;
    if (g->p.reuse_cache && g->cache_valid) {
        while (keep < g->n_past && keep < n && g->toks[keep] == g->ptoks[keep])
            keep++;
        if (keep >= n) keep = (int32_t)n - 1;
    }
    memcpy(g->toks, g->ptoks, (size_t)n * sizeof *g->toks);
    g->n_toks = (int32_t)n;
    g->n_past = keep;
    g->cache_valid = false;
    for (int32_t i = 0; i < g->n_toks; i++)
        llm_sampler_accept(g->smp, g->toks[i]);

    double t0 = llm_time_ms();
    wm_status st = llm_decode(g->ctx, g->toks + keep, g->n_toks - keep, keep,
                              err);
    if (st) return st;
    g->st.prompt_ms = llm_time_ms() - t0;
    g->st.n_prompt = g->n_toks;
    g->st.n_cached = keep;
    g->st.prompt_tps = g->st.prompt_ms > 0
                           ? (g->n_toks - keep) / (g->st.prompt_ms / 1e3) : 0;
    g->n_past = g->n_toks;
    g->cache_valid = true;
    g->prompted = true;

    if (g->p.echo_prompt) {
        for (int32_t i = 0; i < g->n_toks; i++) {
            size_t k = llm_detok_push(g->v, &g->detok, g->toks[i], g->piece,
                                      sizeof g->piece);
            if (!out_put(g, g->piece, k))
                return wm_errf(err, WM_ERR_NOMEM, "out of memory");
        }
    } else if (g->n_toks > (bos ? 1 : 0)) {
        /* The first generated piece does not follow BOS: keep its space. */
        g->detok.at_start = false;
    }
    return WM_OK;
}

/* End the generation: release what the stop matcher and detokeniser
 * hold, record the reason and the time. */
static void finish(llm_gen *g, enum llm_stop_reason why) {
    if (g->finished) return;
    g->finished = true;
    g->st.stop = why;
    if (why != LLM_STOP_STRING) {
        size_t k = llm_detok_flush(&g->detok, g->piece, sizeof g->piece);
        const char *rel;
        size_t rn;
        if (k) {
            llm_stop_push(&g->stop, g->piece, k, &rel, &rn);
            out_put(g, rel, rn);
        }
        if (!g->stop.done) {
            llm_stop_flush(&g->stop, &rel, &rn);
            out_put(g, rel, rn);
        }
    }
    g->st.gen_ms = g->t_gen0 > 0 ? llm_time_ms() - g->t_gen0 : 0;
    g->st.gen_tps = g->st.gen_ms > 0
                        ? g->n_gen_decoded / (g->st.gen_ms / 1e3) : 0;
}

wm_status llm_gen_next(llm_gen *g, int32_t *tok, const char **text,
                       size_t *len, bool *done, wm_error *err) {
    *tok = -1;
    *text = g->out;
    *len = 0;
    *done = g->finished;
    if (!g->prompted)
        return wm_errf(err, WM_ERR_ARG, "generate: no prompt given");
    if (g->finished) return WM_OK;
    /* Drop the text the previous call released, unless it is the
     * echoed prompt not yet returned. */
    if (g->t_gen0 == 0) g->t_gen0 = llm_time_ms();
    else g->out_len = 0;

    int32_t n_ctx = llm_ctx_n_ctx(g->ctx);
    if (g->p.n_predict == 0) {
        finish(g, LLM_STOP_LENGTH);
        goto out;
    }
    if (g->pending) {        /* the previous call's token (n_past < n_ctx
                                was checked before it was returned) */
        wm_status st = llm_decode(g->ctx, &g->toks[g->n_toks - 1], 1,
                                  g->n_past, err);
        if (st) {
            g->cache_valid = false;
            return st;
        }
        g->pending = false;
        g->n_past++;
        g->n_gen_decoded++;
    }
    int32_t t = llm_sampler_sample(g->smp, llm_ctx_logits(g->ctx));
    *tok = t;
    llm_sampler_accept(g->smp, t);
    g->toks[g->n_toks++] = t;
    g->st.n_gen++;
    if (!g->p.ignore_eos && llm_token_is_eog(g->v, t)) {
        finish(g, LLM_STOP_EOG);
        goto out;
    }
    size_t k = llm_detok_push(g->v, &g->detok, t, g->piece, sizeof g->piece);
    const char *rel;
    size_t rn;
    bool hit = llm_stop_push(&g->stop, g->piece, k, &rel, &rn);
    if (!out_put(g, rel, rn))
        return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    if (hit) {
        finish(g, LLM_STOP_STRING);
        goto out;
    }
    if (g->p.n_predict > 0 && g->st.n_gen >= g->p.n_predict) {
        finish(g, LLM_STOP_LENGTH);
        goto out;
    }
    if (g->n_past >= n_ctx) {
        finish(g, LLM_STOP_CONTEXT);
        goto out;
    }
    g->pending = true;
out:
    *text = g->out;
    *len = g->out_len;
    *done = g->finished;
    return WM_OK;
}

wm_status llm_generate(llm_ctx *ctx, const char *prompt, size_t len,
                       const llm_gen_params *p, llm_text_fn cb, void *ud,
                       llm_gen_stats *stats, wm_error *err) {
    llm_gen *g = NULL;
    wm_status st = llm_gen_new(ctx, p, &g, err);
    if (st) return st;
    if ((st = llm_gen_prompt(g, prompt, len, err))) goto out;
    for (;;) {
        int32_t tok;
        const char *text;
        size_t n;
        bool done;
        if ((st = llm_gen_next(g, &tok, &text, &n, &done, err))) goto out;
        if (n && cb && !cb(ud, text, n)) {
            finish(g, LLM_STOP_CALLBACK);
            break;
        }
        if (done) break;
    }
out:
    if (stats) *stats = g->st;
    llm_gen_free(g);
    return st;
}
