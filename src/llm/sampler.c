/*
 * sampler.c — penalties, top-k / top-p / min-p, temperature, seeded draw;
 * stop-string matching over a token stream (see sampler.h).
 */
#include <math.h>
#include <stdlib.h>

#include "sampler.h"

typedef struct cand {
    int32_t id;
    float logit;
} cand;

struct llm_sampler {
    llm_sampler_params p;
    int32_t n_vocab;
    uint64_t rng;
    cand *c;                 /* [n_vocab] working candidates */
    float *pen;              /* [n_vocab] penalised logits */
    double *probs;           /* [n_vocab] probabilities of s->c */
    int32_t *hist;           /* ring of the last repeat_last_n tokens */
    int32_t n_hist, hist_at;
    uint16_t *count;         /* [n_vocab] occurrences in the window */
};

llm_sampler_params llm_sampler_default_params(void) {
    llm_sampler_params p = {
        .temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
        .repeat_penalty = 1.0f, .repeat_last_n = 64,
        .frequency_penalty = 0.0f, .presence_penalty = 0.0f, .seed = 0,
    };
    return p;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* xorshift64*: a uniform in [0, 1) with 24 random bits. */
static double rng_uniform(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (double)((x * 0x2545f4914f6cdd1dull) >> 40) / 16777216.0;
}

wm_status llm_sampler_new(const llm_sampler_params *pp, int32_t n_vocab,
                          llm_sampler **out, wm_error *err) {
    *out = NULL;
    llm_sampler_params p = pp ? *pp : llm_sampler_default_params();
    if (n_vocab < 1)
        return wm_errf(err, WM_ERR_ARG, "sampler: vocabulary size %d",
                       (int)n_vocab);
    if (isnan(p.temp) || isnan(p.top_p) || isnan(p.min_p) ||
        !(p.repeat_penalty > 0 && p.repeat_penalty <= 100) ||
        !(fabsf(p.frequency_penalty) <= 100) ||
        !(fabsf(p.presence_penalty) <= 100) || p.repeat_last_n < 0 ||
        p.repeat_last_n > 65535 || p.top_p < 0 || p.min_p > 1)
        return wm_errf(err, WM_ERR_ARG,
                       "sampler: parameter out of range (temp %g, top_p %g, "
                       "min_p %g, repeat_penalty %g, repeat_last_n %d)",
                       (double)p.temp, (double)p.top_p, (double)p.min_p,
                       (double)p.repeat_penalty, (int)p.repeat_last_n);
    llm_sampler *s = calloc(1, sizeof *s);
    if (!s) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    s->p = p;
    s->n_vocab = n_vocab;
    s->c = malloc((size_t)n_vocab * sizeof *s->c);
    s->pen = malloc((size_t)n_vocab * sizeof *s->pen);
    s->probs = malloc((size_t)n_vocab * sizeof *s->probs);
    s->count = calloc((size_t)n_vocab, sizeof *s->count);
    s->hist = malloc(((size_t)p.repeat_last_n + 1) * sizeof *s->hist);
    if (!s->c || !s->pen || !s->probs || !s->count || !s->hist) {
        llm_sampler_free(s);
        return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    llm_sampler_reset(s);
    *out = s;
    return WM_OK;
}

void llm_sampler_free(llm_sampler *s) {
    if (!s) return;
    free(s->c);
    free(s->pen);
    free(s->probs);
    free(s->count);
    free(s->hist);
    free(s);
}

void llm_sampler_reset(llm_sampler *s) {
    s->rng = splitmix64(s->p.seed);
    if (s->rng == 0) s->rng = 1;
    s->n_hist = s->hist_at = 0;
    memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
}

void llm_sampler_accept(llm_sampler *s, int32_t tok) {
    int32_t cap = s->p.repeat_last_n;
    if (cap == 0 || tok < 0 || tok >= s->n_vocab) return;
    if (s->n_hist == cap) {          /* evict the oldest */
        s->count[s->hist[s->hist_at]]--;
    } else {
        s->n_hist++;
    }
    s->hist[s->hist_at] = tok;
    s->count[tok]++;
    s->hist_at = (s->hist_at + 1) % cap;
}

/* Descending logit, then ascending id (a total order: deterministic). */
static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->logit > y->logit) return -1;
    if (x->logit < y->logit) return 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Penalised logits into s->pen. */
static void apply_penalties(llm_sampler *s, const float *logits) {
    memcpy(s->pen, logits, (size_t)s->n_vocab * sizeof *s->pen);
    const llm_sampler_params *p = &s->p;
    if (p->repeat_penalty == 1.0f && p->frequency_penalty == 0.0f &&
        p->presence_penalty == 0.0f)
        return;
    /* Each distinct token of the window once (its first ring slot). */
    for (int32_t i = 0; i < s->n_hist; i++) {
        int32_t t = s->hist[i];
        bool first = true;
        for (int32_t j = 0; j < i; j++)
            if (s->hist[j] == t) { first = false; break; }
        if (!first) continue;
        float l = s->pen[t];
        if (p->repeat_penalty != 1.0f)
            l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
        l -= (float)s->count[t] * p->frequency_penalty +
             (s->count[t] > 0 ? p->presence_penalty : 0.0f);
        s->pen[t] = l;
    }
}

/*
 * Run the chain up to (not including) the draw: s->c[0..*n) holds the
 * surviving candidates sorted by logit (temperature applied) and probs
 * their normalised probabilities. Greedy returns one candidate.
 */
static int32_t run_chain(llm_sampler *s, const float *logits, double *probs) {
    const llm_sampler_params *p = &s->p;
    apply_penalties(s, logits);
    int32_t V = s->n_vocab;
    if (p->temp <= 0) {
        int32_t best = 0;
        for (int32_t i = 1; i < V; i++)
            if (s->pen[i] > s->pen[best]) best = i;
        s->c[0].id = best;
        s->c[0].logit = s->pen[best];
        probs[0] = 1.0;
        return 1;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < V; i++)
        if (!isnan(s->pen[i])) s->c[n++] = (cand){i, s->pen[i]};
    if (n == 0) {                    /* all NaN: token 0 */
        s->c[0] = (cand){0, 0};
        probs[0] = 1.0;
        return 1;
    }
    /* top-k: keep a sorted prefix of the k best, inserting the rare
     * candidate that beats its last entry (one compare per token for
     * typical logits); without top-k a full sort (~1 ms at 32k). */
    if (p->top_k > 0 && p->top_k < n) {
        int32_t k = p->top_k;
        qsort(s->c, (size_t)k, sizeof *s->c, cand_cmp);
        for (int32_t i = k; i < n; i++) {
            if (cand_cmp(&s->c[i], &s->c[k - 1]) >= 0) continue;
            /* insert s->c[i] into the sorted prefix */
            cand x = s->c[i];
            int32_t j = k - 1;
            while (j > 0 && cand_cmp(&x, &s->c[j - 1]) < 0) {
                s->c[j] = s->c[j - 1];
                j--;
            }
            s->c[j] = x;
        }
        n = k;
    } else {
        qsort(s->c, (size_t)n, sizeof *s->c, cand_cmp);
    }
    /* softmax of the unscaled logits for top-p / min-p */
    double mx = s->c[0].logit, sum = 0;
    for (int32_t i = 0; i < n; i++) {
        probs[i] = exp((double)s->c[i].logit - mx);
        sum += probs[i];
    }
    if (p->top_p < 1.0f) {
        double cum = 0;
        int32_t keep = n;
        for (int32_t i = 0; i < n; i++) {
            cum += probs[i] / sum;
            if (cum >= (double)p->top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    if (p->min_p > 0.0f) {
        int32_t keep = 1;          /* probs[0] is the max */
        while (keep < n && probs[keep] >= (double)p->min_p * probs[0]) keep++;
        n = keep;
    }
    /* temperature and the final distribution */
    sum = 0;
    for (int32_t i = 0; i < n; i++) {
        probs[i] = exp(((double)s->c[i].logit - mx) / (double)p->temp);
        sum += probs[i];
    }
    for (int32_t i = 0; i < n; i++) probs[i] /= sum;
    return n;
}

int32_t llm_sampler_sample(llm_sampler *s, const float *logits) {
    int32_t n = run_chain(s, logits, s->probs);
    int32_t tok = s->c[0].id;
    if (n > 1) {
        double u = rng_uniform(&s->rng), cum = 0;
        tok = s->c[n - 1].id;        /* if rounding leaves cum < u */
        for (int32_t i = 0; i < n; i++) {
            cum += s->probs[i];
            if (u < cum) {
                tok = s->c[i].id;
                break;
            }
        }
    }
    return tok;
}

void llm_sampler_probs(llm_sampler *s, const float *logits, float *out) {
    int32_t n = run_chain(s, logits, s->probs);
    memset(out, 0, (size_t)s->n_vocab * sizeof *out);
    for (int32_t i = 0; i < n; i++) out[s->c[i].id] = (float)s->probs[i];
}

/* ==== Stop strings ====================================================== */

wm_status llm_stop_init(llm_stop *s, const char *const *strs, int n,
                        wm_error *err) {
    memset(s, 0, sizeof *s);
    if (n <= 0) return WM_OK;
    s->strs = calloc((size_t)n, sizeof *s->strs);
    s->lens = calloc((size_t)n, sizeof *s->lens);
    if (!s->strs || !s->lens) goto nomem;
    for (int i = 0; i < n; i++) {
        if (!strs[i] || !strs[i][0]) continue;
        size_t l = strlen(strs[i]);
        if (!(s->strs[s->n] = malloc(l + 1))) goto nomem;
        memcpy(s->strs[s->n], strs[i], l + 1);
        s->lens[s->n++] = l;
    }
    return WM_OK;
nomem:
    llm_stop_free(s);
    return wm_errf(err, WM_ERR_NOMEM, "out of memory");
}

void llm_stop_free(llm_stop *s) {
    if (s->strs)
        for (int i = 0; i < s->n; i++) free(s->strs[i]);
    free(s->strs);
    free(s->lens);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

bool llm_stop_push(llm_stop *s, const char *text, size_t len,
                   const char **out, size_t *out_len) {
    *out = text;
    *out_len = 0;
    if (s->done) return true;
    if (s->n == 0) {                  /* nothing to match */
        *out_len = len;
        return false;
    }
    /* Drop what the previous call released. */
    if (s->consumed) {
        memmove(s->buf, s->buf + s->consumed, s->len - s->consumed);
        s->len -= s->consumed;
        s->consumed = 0;
    }
    if (s->len + len > s->cap) {
        size_t ncap = (s->len + len) * 2 + 64;
        char *nb = realloc(s->buf, ncap);
        if (!nb) {                    /* release everything unchecked */
            *out = text;
            *out_len = len;
            return false;
        }
        s->buf = nb;
        s->cap = ncap;
    }
    if (len) memcpy(s->buf + s->len, text, len);
    s->len += len;
    /* Earliest complete match of any stop string. */
    size_t best = SIZE_MAX;
    for (int i = 0; i < s->n; i++) {
        size_t l = s->lens[i];
        for (size_t at = 0; l <= s->len && at <= s->len - l && at < best;
             at++)
            if (memcmp(s->buf + at, s->strs[i], l) == 0) {
                best = at;
                break;
            }
    }
    *out = s->buf;
    if (best != SIZE_MAX) {
        s->done = true;
        *out_len = best;
        s->consumed = 0;
        return true;
    }
    /* Hold back the longest tail that is a proper prefix of a stop. */
    size_t hold = 0;
    for (int i = 0; i < s->n; i++) {
        size_t l = s->lens[i];
        size_t maxk = l - 1 < s->len ? l - 1 : s->len;
        for (size_t k = maxk; k > hold; k--)
            if (memcmp(s->buf + s->len - k, s->strs[i], k) == 0) {
                hold = k;
                break;
            }
    }
    *out_len = s->len - hold;
    s->consumed = s->len - hold;
    return false;
}

void llm_stop_flush(llm_stop *s, const char **out, size_t *out_len) {
    *out = s->buf;
    *out_len = 0;
    if (s->done || !s->buf) return;
    *out = s->buf + s->consumed;
    *out_len = s->len - s->consumed;
    s->consumed = s->len;
}
