/*
 * llama-simple.c — one-shot completion through WASI-NN (a wasm32-wasi
 * guest; the model is the host's --nn-preload NAME, default "default"):
 *
 *   wasmind run --nn-preload default:GGML:AUTO:model.gguf \
 *       build/apps/llama-simple.wasm [-n N] [--temp T] [--seed S] PROMPT
 *
 * Streams the completion token by token (compute_single) and prints what
 * `wasmind llm generate` prints with the same options: the prompt, the
 * generated text and a newline on stdout; timings on stderr ("prompt: ...;
 * generation: N tokens in T ms (R t/s); stop: REASON"). The prompt is
 * echoed as given (the native tool echoes its detokenisation, the same
 * text for ordinary prompts).
 *
 * Timing: the first compute_single evaluates the prompt and decodes the
 * first token, so "prompt" is that call and "generation" counts the
 * calls after it (N - 1 tokens sampled and decoded), which is what the
 * native tool's generation rate counts (tokens run through the model).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasi_nn.h"

static const char usage[] =
    "usage: llama-simple.wasm [-n N] [--temp T] [--seed S] [-c CTX] "
    "[--model NAME] PROMPT\n"
    "  -n N        tokens to generate; -1 until the context is full (128)\n"
    "  --temp T    temperature; 0 = greedy (0.8)\n"
    "  --seed S    sampling seed (0)\n"
    "  -c CTX      context size (the model's, at most 4096)\n"
    "  --model NAME  the --nn-preload name (default)\n";

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bad_usage(const char *what, const char *arg) {
    fprintf(stderr, "llama-simple: %s%s\n%s", what, arg, usage);
    return 2;
}

static bool parse_ll(const char *s, long long lo, long long hi,
                     long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static int fail(const char *what, int32_t rc) {
    fflush(stdout);
    fprintf(stderr, "\nllama-simple: %s: %s (%d)\n", what, wnn_strerror(rc),
            (int)rc);
    return 1;
}

int main(int argc, char **argv) {
    long long n_predict = 128, seed = 0, n_ctx = 0;
    double temp = 0.8;
    const char *model = "default", *prompt = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (a[0] != '-' || !strcmp(a, "--")) {
            if (!strcmp(a, "--")) i++;
            if (i != argc - 1) return bad_usage("one PROMPT expected", "");
            prompt = argv[i];
            break;
        }
        if (!v) return bad_usage("missing value for ", a);
        i++;
        if (!strcmp(a, "-n")) {
            if (!parse_ll(v, -1, 1 << 30, &n_predict))
                return bad_usage("bad -n ", v);
        } else if (!strcmp(a, "--temp")) {
            char *end;
            temp = strtod(v, &end);
            if (end == v || *end) return bad_usage("bad --temp ", v);
        } else if (!strcmp(a, "--seed")) {
            if (!parse_ll(v, 0, 0xFFFFFFFEll, &seed))
                return bad_usage("bad --seed ", v);
        } else if (!strcmp(a, "-c")) {
            if (!parse_ll(v, 1, 1 << 20, &n_ctx))
                return bad_usage("bad -c ", v);
        } else if (!strcmp(a, "--model")) {
            model = v;
        } else {
            return bad_usage("unknown option ", a);
        }
    }
    if (!prompt) return bad_usage("missing PROMPT", "");

    char cfg[256];
    int cl = snprintf(cfg, sizeof cfg,
                      "{\"n-predict\": %lld, \"temp\": %.9g, \"seed\": %lld",
                      n_predict, temp, seed);
    if (n_ctx > 0)
        cl += snprintf(cfg + cl, sizeof cfg - (size_t)cl,
                       ", \"ctx-size\": %lld", n_ctx);
    snprintf(cfg + cl, sizeof cfg - (size_t)cl, "}");

    wnn_graph g;
    wnn_ctx c;
    int32_t rc;
    if ((rc = wnn_load_by_name(model, cfg, &g))) return fail("load", rc);
    if ((rc = wasi_nn_init_execution_context(g, &c)))
        return fail("init_execution_context", rc);
    if ((rc = wnn_set_text(c, 0, prompt, strlen(prompt))))
        return fail("set_input", rc);

    fputs(prompt, stdout);
    fflush(stdout);
    static char piece[4096];
    long long n_gen = 0;
    double t0 = now_ms(), t_first = 0;
    const char *stop = "length";
    while (n_predict < 0 || n_gen < n_predict) {
        rc = wasi_nn_compute_single(c);
        if (rc != WNN_SUCCESS && rc != WNN_END_OF_SEQUENCE &&
            rc != WNN_CONTEXT_FULL)
            return fail("compute_single", rc);
        if (n_gen++ == 0) t_first = now_ms();
        size_t n;
        int32_t orc = wnn_get_output(c, 0, true, piece, sizeof piece, &n);
        if (orc) return fail("get_output_single", orc);
        fwrite(piece, 1, n, stdout);
        fflush(stdout);
        if (rc == WNN_END_OF_SEQUENCE) {
            stop = "eog";
            break;
        }
        if (rc == WNN_CONTEXT_FULL) {
            stop = "context full";
            break;
        }
    }
    double t1 = now_ms();
    char meta[512];
    size_t ml = 0;
    long long n_prompt = -1;
    if (wnn_get_output(c, 1, true, meta, sizeof meta, &ml) == WNN_SUCCESS)
        n_prompt = wnn_meta_int(meta, ml, "input_tokens");
    wasi_nn_fini_single(c);
    printf("\n");
    fflush(stdout);
    double prompt_ms = n_gen > 0 ? t_first - t0 : 0;
    double gen_ms = n_gen > 0 ? t1 - t_first : 0;
    long long n_dec = n_gen > 1 ? n_gen - 1 : 0;
    fprintf(stderr,
            "prompt: %lld tokens in %.1f ms (%.2f t/s); generation: %lld "
            "tokens in %.1f ms (%.2f t/s); stop: %s\n",
            n_prompt, prompt_ms,
            prompt_ms > 0 ? (double)n_prompt / (prompt_ms / 1e3) : 0.0,
            n_gen, gen_ms, gen_ms > 0 ? (double)n_dec / (gen_ms / 1e3) : 0.0,
            stop);
    wasi_nn_finalize_execution_context(c);
    wasi_nn_unload(g);
    return 0;
}
