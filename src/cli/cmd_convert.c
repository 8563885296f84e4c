/*
 * cmd_convert.c — `wasmind convert llama2c MODEL.bin TOKENIZER.bin -o
 * OUT.gguf`: a llama2.c checkpoint and tokenizer to a llama-architecture
 * GGUF (src/llm/llama2c.h). The weights are mmap'd and streamed to the
 * output, not copied in memory.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "llm/llama2c.h"

static const char convert_usage[] =
    "usage: wasmind convert llama2c MODEL.bin TOKENIZER.bin -o OUT.gguf\n"
    "\n"
    "Convert a llama2.c checkpoint (legacy export: 7 int32 header fields,\n"
    "then f32 weights; negative vocab_size = unshared classifier) and its\n"
    "tokenizer.bin into a GGUF v3 file with the llama architecture, F32\n"
    "tensors named as llama.cpp names them and the SentencePiece\n"
    "vocabulary inside, so `wasmind llm` and llama.cpp can load it.\n"
    "\n"
    "example:\n"
    "  wasmind convert llama2c stories260K.bin tok512.bin -o s260k.gguf\n"
    "\n"
    "options:\n"
    "  -o OUT.gguf    output file (required; written to OUT.gguf.tmp,\n"
    "                 then renamed)\n"
    "  --name NAME    general.name (default: MODEL.bin's base name)\n"
    "  -h, --help     this text\n"
    "\n"
    "exit codes: 0 success, 1 error (unreadable or malformed input,\n"
    "write failure), 2 usage error\n";


int cli_convert(int argc, char **argv) {
    const char *pos[3], *out = NULL, *name = NULL;
    int n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(convert_usage, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--name")) {
            if (i + 1 >= argc) return cli_usage_error("convert",
                "%s needs a value", a);
            if (a[1] == 'o') out = argv[++i];
            else name = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("convert", "unknown option `%s`", a);
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            return cli_usage_error("convert", "unexpected argument `%s`", a);
        }
    }
    if (n_pos == 0) {
        fputs(convert_usage, stderr);
        return 2;
    }
    if (strcmp(pos[0], "llama2c") != 0)
        return cli_usage_error("convert",
            "unknown format `%s` (llama2c is supported)",
                                pos[0]);
    if (n_pos != 3)
        return cli_usage_error("convert",
            "convert llama2c needs MODEL.bin and "
                                "TOKENIZER.bin%s", "");
    if (!out) return cli_usage_error("convert", "missing -o OUT.gguf%s", "");

    /* general.name: the model file's base name without extension. */
    char stem[128];
    if (!name) {
        const char *b = strrchr(pos[1], '/');
        b = b ? b + 1 : pos[1];
        size_t n = strcspn(b, ".");
        if (n >= sizeof stem) n = sizeof stem - 1;
        memcpy(stem, b, n);
        stem[n] = 0;
        name = n ? stem : NULL;
    }
    wm_error err;
    l2c_model *m = NULL;
    l2c_tokenizer *t = NULL;
    int rc = 0;
    if (l2c_model_load(pos[1], &m, &err) ||
        l2c_tokenizer_load(pos[2], m->cfg.vocab_size, &t, &err) ||
        l2c_write_gguf(m, t, name, out, &err)) {
        cli_print_error(&err);
        rc = 1;
    } else {
        const l2c_config *c = &m->cfg;
        fprintf(stderr, "wasmind: wrote %s (dim %d, hidden %d, %d layers, "
                "%d/%d heads, vocab %d, seq_len %d, %s classifier)\n", out,
                c->dim, c->hidden_dim, c->n_layers, c->n_heads,
                c->n_kv_heads, c->vocab_size, c->seq_len,
                c->shared_classifier ? "shared" : "unshared");
    }
    l2c_tokenizer_free(t);
    l2c_model_free(m);
    return rc;
}
