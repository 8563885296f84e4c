/*
 * t_sampler.c — sampler semantics (greedy, top-k, top-p, min-p,
 * temperature, penalties), seeded reproducibility, the empirical
 * distribution of draws, and stop strings across token boundaries.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "llm/sampler.h"

static llm_sampler_params plain(void) {
    llm_sampler_params p = llm_sampler_default_params();
    p.temp = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    return p;
}

static llm_sampler *mk(const llm_sampler_params *p, int n) {
    llm_sampler *s = NULL;
    wm_error err;
    if (llm_sampler_new(p, n, &s, &err)) {
        fprintf(stderr, "sampler_new: %s\n", err.msg);
        return NULL;
    }
    return s;
}

/* probs [0.5, 0.3, 0.2, 0.0...] as logits */
static void three(float *l, int n) {
    for (int i = 0; i < n; i++) l[i] = -INFINITY;
    l[0] = logf(0.5f);
    l[1] = logf(0.3f);
    l[2] = logf(0.2f);
}

static int n_nonzero(const float *p, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) k += p[i] > 0;
    return k;
}

static void test_greedy(void) {
    llm_sampler_params p = plain();
    p.temp = 0;
    llm_sampler *s = mk(&p, 6);
    float l[6] = {0.1f, 3.0f, -2.0f, 3.0f, 2.9f, 0.0f};
    CHECK_EQ_INT(llm_sampler_sample(s, l), 1);   /* tie: lowest id */
    l[3] = 3.5f;
    CHECK_EQ_INT(llm_sampler_sample(s, l), 3);
    float pr[6];
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_F32(pr[3], 1.0, 0);
    CHECK_EQ_INT(n_nonzero(pr, 6), 1);
    llm_sampler_free(s);
}

static void test_filters(void) {
    enum { N = 8 };
    float l[N], pr[N];
    three(l, N);
    /* plain: the softmax itself */
    llm_sampler_params p = plain();
    llm_sampler *s = mk(&p, N);
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_F32(pr[0], 0.5, 1e-6);
    CHECK_EQ_F32(pr[1], 0.3, 1e-6);
    CHECK_EQ_F32(pr[2], 0.2, 1e-6);
    CHECK_EQ_INT(n_nonzero(pr, N), 3);
    llm_sampler_free(s);
    /* top-k 2: renormalised 5/8, 3/8 */
    p = plain();
    p.top_k = 2;
    s = mk(&p, N);
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_INT(n_nonzero(pr, N), 2);
    CHECK_EQ_F32(pr[0], 0.625, 1e-6);
    CHECK_EQ_F32(pr[1], 0.375, 1e-6);
    llm_sampler_free(s);
    /* top-p: smallest prefix whose mass reaches p */
    p = plain();
    p.top_p = 0.7f;
    s = mk(&p, N);
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_INT(n_nonzero(pr, N), 2);
    CHECK(pr[2] == 0);
    llm_sampler_free(s);
    p.top_p = 0.45f;
    s = mk(&p, N);
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_INT(n_nonzero(pr, N), 1);
    CHECK_EQ_F32(pr[0], 1.0, 1e-6);
    llm_sampler_free(s);
    p.top_p = 0.95f;
    s = mk(&p, N);
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_INT(n_nonzero(pr, N), 3);
    llm_sampler_free(s);
    /* min-p: keep p >= min_p * p_max (0.5) */
    p = plain();
    p.min_p = 0.5f;          /* threshold 0.25: tokens 0, 1 */
    s = mk(&p, N);
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_INT(n_nonzero(pr, N), 2);
    llm_sampler_free(s);
    p.min_p = 0.39f;         /* threshold 0.195: all three */
    s = mk(&p, N);
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_INT(n_nonzero(pr, N), 3);
    llm_sampler_free(s);
    /* temperature 2: p ~ sqrt(p) */
    p = plain();
    p.temp = 2.0f;
    s = mk(&p, N);
    llm_sampler_probs(s, l, pr);
    double z = sqrt(0.5) + sqrt(0.3) + sqrt(0.2);
    CHECK_EQ_F32(pr[0], sqrt(0.5) / z, 1e-6);
    CHECK_EQ_F32(pr[2], sqrt(0.2) / z, 1e-6);
    llm_sampler_free(s);
    /* top-k + top-p + min-p together on a wider distribution */
    float w[N], pw[N];
    for (int i = 0; i < N; i++) w[i] = (float)(N - i);   /* 8..1 */
    p = plain();
    p.top_k = 5;
    p.top_p = 0.99f;
    p.min_p = 0.1f;         /* exp(-2) = 0.135 >= 0.1 > exp(-3) */
    s = mk(&p, N);
    llm_sampler_probs(s, w, pw);
    CHECK_EQ_INT(n_nonzero(pw, N), 3);
    CHECK(pw[0] > pw[1] && pw[1] > pw[2] && pw[3] == 0);
    llm_sampler_free(s);
}

static void test_penalties(void) {
    enum { N = 4 };
    float l[N] = {2.0f, -1.0f, 0.5f, 0.0f}, pr[N];
    llm_sampler_params p = plain();
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 2;
    llm_sampler *s = mk(&p, N);
    llm_sampler_accept(s, 0);
    llm_sampler_accept(s, 1);
    llm_sampler_accept(s, 1);   /* counted once by the repeat penalty */
    /* window 2 holds {1, 1}: token 0 no longer penalised */
    llm_sampler_probs(s, l, pr);
    /* logits now 2.0, -2.0, 0.5, 0.0 */
    CHECK_EQ_F32(pr[1] / pr[3], exp(-2.0), 1e-5);
    CHECK_EQ_F32(pr[0] / pr[3], exp(2.0), 1e-4);
    llm_sampler_accept(s, 0);   /* window {1, 0} */
    llm_sampler_probs(s, l, pr);
    /* logits 1.0, -2.0, 0.5, 0.0 */
    CHECK_EQ_F32(pr[0] / pr[3], exp(1.0), 1e-5);
    llm_sampler_free(s);

    p = plain();
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 1.0f;
    p.repeat_last_n = 16;
    s = mk(&p, N);
    llm_sampler_accept(s, 2);
    llm_sampler_accept(s, 2);
    llm_sampler_accept(s, 3);
    llm_sampler_probs(s, l, pr);
    /* 2: 0.5 - 2*0.5 - 1 = -1.5; 3: 0 - 0.5 - 1 = -1.5 */
    CHECK_EQ_F32(pr[2] / pr[3], 1.0, 1e-5);
    CHECK_EQ_F32(pr[0] / pr[2], exp(3.5), 1e-3);
    /* reset forgets the history */
    llm_sampler_reset(s);
    llm_sampler_probs(s, l, pr);
    CHECK_EQ_F32(pr[2] / pr[3], exp(0.5), 1e-5);
    llm_sampler_free(s);
    /* greedy also sees the penalty */
    p = plain();
    p.temp = 0;
    p.repeat_penalty = 5.0f;
    s = mk(&p, N);
    CHECK_EQ_INT(llm_sampler_sample(s, l), 0);
    llm_sampler_accept(s, 0);          /* 2.0 / 5 = 0.4 < 0.5 */
    CHECK_EQ_INT(llm_sampler_sample(s, l), 2);
    llm_sampler_free(s);
}

static void test_random(void) {
    enum { N = 8, DRAWS = 20000 };
    float l[N];
    three(l, N);
    llm_sampler_params p = plain();
    p.seed = 1234;
    llm_sampler *a = mk(&p, N), *b = mk(&p, N);
    p.seed = 1235;
    llm_sampler *c = mk(&p, N);
    int same_ab = 1, same_ac = 1, hist[N] = {0};
    int32_t first[64];
    for (int i = 0; i < DRAWS; i++) {
        int32_t x = llm_sampler_sample(a, l), y = llm_sampler_sample(b, l),
                z = llm_sampler_sample(c, l);
        if (i < 64) first[i] = x;
        same_ab &= x == y;
        same_ac &= x == z;
        hist[x]++;
    }
    CHECK(same_ab);
    CHECK(!same_ac);
    CHECK_EQ_F32(hist[0] / (double)DRAWS, 0.5, 0.015);
    CHECK_EQ_F32(hist[1] / (double)DRAWS, 0.3, 0.015);
    CHECK_EQ_F32(hist[2] / (double)DRAWS, 0.2, 0.015);
    CHECK_EQ_INT(hist[3] + hist[4] + hist[7], 0);
    /* reset restarts the stream */
    llm_sampler_reset(a);
    int again = 1;
    for (int i = 0; i < 64; i++) again &= llm_sampler_sample(a, l) == first[i];
    CHECK(again);
    llm_sampler_free(a);
    llm_sampler_free(b);
    llm_sampler_free(c);

    /* bad parameters are errors, not crashes */
    wm_error err;
    llm_sampler *s = NULL;
    p = plain();
    p.top_p = -1;
    CHECK_EQ_INT(llm_sampler_new(&p, N, &s, &err), WM_ERR_ARG);
    CHECK(s == NULL);
    p = plain();
    p.temp = NAN;
    CHECK_EQ_INT(llm_sampler_new(&p, N, &s, &err), WM_ERR_ARG);
    CHECK_EQ_INT(llm_sampler_new(NULL, 0, &s, &err), WM_ERR_ARG);
    /* NaN logits do not crash and are never chosen when others exist */
    p = plain();
    s = mk(&p, 3);
    float nl[3] = {NAN, 1.0f, NAN};
    CHECK_EQ_INT(llm_sampler_sample(s, nl), 1);
    llm_sampler_free(s);
}

/* Push pieces, collect released text; returns whether a stop hit. */
static bool feed(llm_stop *st, const char *const *pieces, int n, char *out,
                 size_t cap, bool flush) {
    size_t o = 0;
    bool hit = false;
    out[0] = 0;
    for (int i = 0; i < n && !hit; i++) {
        const char *r;
        size_t rn;
        hit = llm_stop_push(st, pieces[i], strlen(pieces[i]), &r, &rn);
        if (o + rn < cap) {
            memcpy(out + o, r, rn);
            o += rn;
        }
    }
    if (!hit && flush) {
        const char *r;
        size_t rn;
        llm_stop_flush(st, &r, &rn);
        if (o + rn < cap) {
            memcpy(out + o, r, rn);
            o += rn;
        }
    }
    out[o] = 0;
    return hit;
}

static void test_stop(void) {
    const char *stops[] = {"\n\nUser:", "END", ""};
    llm_stop st;
    wm_error err;
    char out[256];
    CHECK_EQ_INT(llm_stop_init(&st, stops, 3, &err), WM_OK);
    const char *p1[] = {"Hello", " wor", "ld\n", "\nUs", "er:", "more"};
    CHECK(feed(&st, p1, 6, out, sizeof out, true));
    CHECK(strcmp(out, "Hello world") == 0);
    llm_stop_free(&st);

    /* step by step: what is held back */
    llm_stop_init(&st, stops, 3, &err);
    const char *r;
    size_t rn;
    CHECK(!llm_stop_push(&st, "ab\n", 3, &r, &rn));
    CHECK(rn == 2 && memcmp(r, "ab", 2) == 0);
    CHECK(!llm_stop_push(&st, "\nU", 2, &r, &rn));
    CHECK_EQ_INT(rn, 0);
    CHECK(!llm_stop_push(&st, "x", 1, &r, &rn));   /* not a stop after all */
    CHECK(rn == 4 && memcmp(r, "\n\nUx", 4) == 0);
    CHECK(!llm_stop_push(&st, "EN", 2, &r, &rn));
    CHECK_EQ_INT(rn, 0);
    llm_stop_flush(&st, &r, &rn);                  /* end: release "EN" */
    CHECK(rn == 2 && memcmp(r, "EN", 2) == 0);
    llm_stop_free(&st);

    /* a stop inside one piece; later pushes release nothing */
    llm_stop_init(&st, stops, 3, &err);
    CHECK(llm_stop_push(&st, "fooENDbar", 9, &r, &rn));
    CHECK(rn == 3 && memcmp(r, "foo", 3) == 0);
    CHECK(llm_stop_push(&st, "more", 4, &r, &rn));
    CHECK_EQ_INT(rn, 0);
    llm_stop_free(&st);

    /* the earliest of two overlapping stops wins */
    const char *s2[] = {"cde", "bc"};
    llm_stop_init(&st, s2, 2, &err);
    const char *p2[] = {"a", "b", "cde"};
    CHECK(feed(&st, p2, 3, out, sizeof out, true));
    CHECK(strcmp(out, "a") == 0);
    llm_stop_free(&st);

    /* no stop strings: everything passes through at once */
    llm_stop_init(&st, NULL, 0, &err);
    CHECK(!llm_stop_push(&st, "\n\nUser:", 7, &r, &rn));
    CHECK_EQ_INT(rn, 7);
    llm_stop_free(&st);

    /* multi-byte UTF-8 stop split over pieces */
    const char *s3[] = {"\xc3\xa9t\xc3\xa9"};
    llm_stop_init(&st, s3, 1, &err);
    const char *p3[] = {"l'", "\xc3\xa9", "t", "\xc3\xa9!"};
    CHECK(feed(&st, p3, 4, out, sizeof out, true));
    CHECK(strcmp(out, "l'") == 0);
    llm_stop_free(&st);
}

int main(void) {
    test_greedy();
    test_filters();
    test_penalties();
    test_random();
    test_stop();
    return TEST_REPORT();
}
