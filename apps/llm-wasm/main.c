/*
 * llm-wasm — the engine itself (src/llm: GGUF reader, tokenizer, scalar
 * kernels, model, sampler, generation loop) compiled to wasm32-wasi and
 * run as a guest, without WASI-NN: "tiny llama2.c in a tiny runtime".
 * It exists to be compared with the two native paths on the same model
 * (`make bench-wasm-llm`): the interpreter executing the tensor loops
 * versus WASI-NN handing them to the host.
 *
 *   wasmind run --dir ../shared/models::/models build/apps/llm-wasm.wasm \
 *       -m /models/stories260K.gguf -p "Once upon a time" -n 96 --temp 0
 *
 * Same options and output as `wasmind llm generate` (src/cli/cmd_llm.c):
 * the echoed prompt, the generated text and a newline on stdout; the
 * statistics line ("prompt: N tokens in T ms (R t/s); generation: ...")
 * and errors on stderr. The guest build differs only where config.h says
 * (no threads: one pool thread; no mmap: the GGUF file is read into linear
 * memory) and in the kernel table, which is the scalar one (no x86 ISA
 * dispatch on wasm32), so greedy output equals the native tool's byte for
 * byte (tests/nn/run.sh checks it).
 *
 * Exit status: 0 success, 1 error (message on stderr), 2 usage error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/generate.h"

static const char usage_text[] =
    "usage: llm-wasm.wasm -m FILE.gguf -p PROMPT [options]\n"
    "\n"
    "example (the model directory pre-opened as /models):\n"
    "  wasmind run --dir models::/models llm-wasm.wasm \\\n"
    "      -m /models/stories260K.gguf -p \"Once upon a time\" --temp 0 "
    "-n 64\n"
    "\n"
    "options (defaults in parentheses), as `wasmind llm generate`:\n"
    "  -m FILE            model (GGUF: llama, qwen2), a guest path\n"
    "  -p PROMPT          prompt text\n"
    "  -n N               tokens to generate; -1 until the context is full "
    "(128)\n"
    "  --temp T           temperature; 0 = greedy (0.8)\n"
    "  --top-k K          keep the K most likely; 0 = off (40)\n"
    "  --top-p P          nucleus sampling; 1 = off (0.95)\n"
    "  --min-p P          drop tokens below P x the best; 0 = off (0.05)\n"
    "  --repeat-penalty R penalise the last --repeat-last-n tokens (1.0)\n"
    "  --repeat-last-n N  penalty window (64)\n"
    "  --presence-penalty P, --frequency-penalty F   OpenAI-style (0)\n"
    "  --seed S           sampling seed (0)\n"
    "  --stop STR         stop when STR is generated (repeatable)\n"
    "  --ignore-eos       do not stop at end-of-generation tokens\n"
    "  --no-echo          do not print the prompt\n"
    "  -t 1               threads: this build has one\n"
    "  -c N               context size (model's, at most 4096)\n"
    "  -b N               prompt batch size (64)\n"
    "  --kv-f32           F32 KV cache instead of F16\n";

static int usage(const char *fmt, const char *arg) {
    fprintf(stderr, "llm-wasm: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage_text);
    return 2;
}

static void print_err(const wm_error *err) {
    char buf[1024];
    wm_error_format(err, buf, sizeof buf);
    fprintf(stderr, "llm-wasm: error: %s\n", buf);
}

static bool parse_i64(const char *s, long long lo, long long hi,
                      long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_f(const char *s, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || isnan(v)) return false;
    *out = v;
    return true;
}

/* Option value parsing, as cmd_llm.c (usage error when missing/bad). */
#define NEED(v)                                                           \
    do {                                                                  \
        if (i + 1 >= argc) return usage("%s needs a value", a);           \
        (v) = argv[++i];                                                  \
    } while (0)
#define INT_OPT(dst, lo, hi)                                              \
    do {                                                                  \
        const char *v_;                                                   \
        long long x_;                                                     \
        NEED(v_);                                                         \
        if (!parse_i64(v_, lo, hi, &x_))                                  \
            return usage("bad integer for %s", a);                        \
        (dst) = x_;                                                       \
    } while (0)
#define F_OPT(dst)                                                        \
    do {                                                                  \
        const char *v_;                                                   \
        NEED(v_);                                                         \
        if (!parse_f(v_, &(dst))) return usage("bad number for %s", a);   \
    } while (0)

static bool write_text(void *ud, const char *text, size_t len) {
    (void)ud;
    if (fwrite(text, 1, len, stdout) != len) return false;
    fflush(stdout);
    return true;
}

int main(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL;
    llm_gen_params gp = llm_gen_default_params();
    llm_ctx_params cp = llm_ctx_default_params();
    gp.echo_prompt = true;
    const char *stops[16];
    long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        else if (!strcmp(a, "-m")) NEED(model);
        else if (!strcmp(a, "-p")) NEED(prompt);
        else if (!strcmp(a, "-n")) INT_OPT(gp.n_predict, -1, INT32_MAX);
        else if (!strcmp(a, "--temp")) F_OPT(gp.sampling.temp);
        else if (!strcmp(a, "--top-k")) INT_OPT(gp.sampling.top_k, 0,
                                                INT32_MAX);
        else if (!strcmp(a, "--top-p")) F_OPT(gp.sampling.top_p);
        else if (!strcmp(a, "--min-p")) F_OPT(gp.sampling.min_p);
        else if (!strcmp(a, "--repeat-penalty"))
            F_OPT(gp.sampling.repeat_penalty);
        else if (!strcmp(a, "--repeat-last-n"))
            INT_OPT(gp.sampling.repeat_last_n, 0, 65535);
        else if (!strcmp(a, "--presence-penalty"))
            F_OPT(gp.sampling.presence_penalty);
        else if (!strcmp(a, "--frequency-penalty"))
            F_OPT(gp.sampling.frequency_penalty);
        else if (!strcmp(a, "--seed")) INT_OPT(seed, 0, INT64_MAX);
        else if (!strcmp(a, "--stop")) {
            if (gp.n_stop == (int)WM_ARRAY_LEN(stops))
                return usage("too many --stop strings (at most 16)%s", "");
            NEED(stops[gp.n_stop++]);
        }
        else if (!strcmp(a, "--ignore-eos")) gp.ignore_eos = true;
        else if (!strcmp(a, "--no-echo")) gp.echo_prompt = false;
        else if (!strcmp(a, "-t")) INT_OPT(cp.n_threads, 1, 1);
        else if (!strcmp(a, "-c")) INT_OPT(cp.n_ctx, 1, 1 << 20);
        else if (!strcmp(a, "-b")) INT_OPT(cp.n_batch, 1, 4096);
        else if (!strcmp(a, "--kv-f32")) cp.kv_f32 = true;
        else return usage("unknown option `%s`", a);
    }
    gp.sampling.seed = (uint64_t)seed;
    gp.stop = stops;
    if (!model || !prompt)
        return usage("needs -m FILE and -p PROMPT%s", "");

    wm_error err;
    llm_model *m = NULL;
    llm_ctx *c = NULL;
    int rc = 1;
    llm_gen_stats st;
    if (llm_model_load(model, &m, &err) || llm_ctx_new(m, &cp, &c, &err) ||
        llm_generate(c, prompt, strlen(prompt), &gp, write_text, NULL, &st,
                     &err)) {
        fflush(stdout);
        fprintf(stdout, "\n");
        print_err(&err);
        goto out;
    }
    printf("\n");
    fflush(stdout);
    fprintf(stderr,
            "prompt: %d tokens in %.1f ms (%.2f t/s); generation: %d tokens "
            "in %.1f ms (%.2f t/s); stop: %s; %d threads; kernels: %s\n",
            (int)st.n_prompt, st.prompt_ms, st.prompt_tps, (int)st.n_gen,
            st.gen_ms, st.gen_tps, llm_stop_reason_str(st.stop),
            llm_ctx_n_threads(c), llm_kernels_init());
    rc = 0;
out:
    llm_ctx_free(c);
    llm_model_free(m);
    return rc;
}
