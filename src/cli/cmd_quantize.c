/*
 * cmd_quantize.c — `wasmind quantize [--pure] [-t N] IN.gguf OUT.gguf TYPE`:
 * convert an F32/F16 model's matrices to TYPE with the reference
 * quantisers (policy in src/llm/quantize.h: norms stay F32, the output
 * matrix gets Q6_K unless TYPE is Q8_0/F16/F32).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "llm/quantize.h"

static const char quantize_usage[] =
    "usage: wasmind quantize [--pure] [-t N] IN.gguf OUT.gguf TYPE\n"
    "\n"
    "Convert the F32/F16 tensors of IN to TYPE: q8_0 q4_0 q4_1 q5_0 q5_1\n"
    "q2_k q3_k q4_k q5_k q6_k f16 f32. Norms and other 1-D tensors stay\n"
    "F32; the output matrix (or the tied token embedding) gets Q6_K unless\n"
    "TYPE is q8_0/f16/f32, as llama.cpp does; rows a type cannot block\n"
    "fall back (q4_k->q5_0, q5_k->q5_1, q6_k->q8_0, else f16).\n"
    "\n"
    "example:\n"
    "  wasmind quantize model-f32.gguf model-q4_0.gguf q4_0\n"
    "\n"
    "options:\n"
    "  --pure   every matrix in TYPE (no Q6_K output)\n"
    "  -t N     threads (online CPUs)\n";

static void bar(void *ud, double frac) {
    if (!*(bool *)ud) return;
    int pct = (int)(frac * 100 + 0.5);
    fprintf(stderr, "\rquantizing %3d%%%s", pct, pct >= 100 ? "\n" : "");
    fflush(stderr);
}

int cli_quantize(int argc, char **argv) {
    bool pure = false;
    int n_threads = 0;
    const char *pos[3];
    int n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(quantize_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--pure")) {
            pure = true;
        } else if (!strcmp(a, "-t")) {
            char *end;
            if (i + 1 >= argc ||
                (n_threads = (int)strtol(argv[++i], &end, 10)) < 1 ||
                n_threads > 512 || *end) {
                return cli_usage_error("quantize",
                                       "-t needs a thread count 1..512");
            }
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("quantize", "unknown option `%s`", a);
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            n_pos++;
        }
    }
    if (n_pos != 3) {
        fputs(quantize_usage, stderr);
        return 2;
    }
    llm_kernels_init();
    llm_type t = llm_type_from_name(pos[2]);
    if (t == LLM_TYPE_COUNT || !llm_quant_target_ok(t)) {
        return cli_usage_error("quantize",
                               "`%s` is not a quantisation type", pos[2]);
    }
    bool tty = isatty(2) == 1;
    wm_error err;
    if (llm_quantize_file(pos[0], pos[1], t, pure, n_threads, bar, &tty,
                          &err)) {
        cli_print_error(&err);
        return 1;
    }
    return 0;
}
