/*
 * nn_misuse.c — WASI-NN checks from the guest's side (built for
 * wasm32-wasi, run by tests/nn/run.sh). Prints "ok NAME" per passed check
 * and "FAIL NAME: ..." per failed one; the process must survive them all.
 *
 *   nn_misuse.wasm GUEST_GGUF HOST_PRELOAD_PATH
 *
 * The host gives: --nn-preload default:GGML:AUTO:M, --nn-preload
 * other:GGML:AUTO:M (same model), --nn-preload missing:GGML:AUTO:/nonexistent,
 * and a --dir through which GUEST_GGUF (the same M) is readable. With the
 * environment variable STRICT=1 (and the host's WASMIND_NN_STRICT_OUTPUT)
 * a short output buffer must give too_large instead of a whole copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasi_nn.h"

static int n_fail;

#define BAD ((void *)(uintptr_t)0xFFFFFF00u)

static void expect(const char *name, int32_t got, int32_t want) {
    if (got == want) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: got %d (%s), expected %d (%s)\n", name, (int)got,
               wnn_strerror(got), (int)want, wnn_strerror(want));
        n_fail++;
    }
}

static void check(const char *name, int cond, const char *detail) {
    if (cond) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s\n", name, detail);
        n_fail++;
    }
}

static int32_t set_text(wnn_ctx c, uint32_t index, const char *s) {
    return wnn_set_text(c, index, s, strlen(s));
}

static char big[1 << 16];

/* compute() then output 0 into big; returns its length or -1. */
static long compute_text(wnn_ctx c, int32_t *rc_out) {
    int32_t rc = wasi_nn_compute(c);
    if (rc_out) *rc_out = rc;
    if (rc && rc != WNN_CONTEXT_FULL) return -1;
    size_t n;
    if (wnn_get_output(c, 0, false, big, sizeof big - 1, &n)) return -1;
    big[n] = 0;
    return (long)n;
}

/* compute_single until done or max tokens, concatenated into out. */
static long single_text(wnn_ctx c, int max, char *out, size_t cap,
                        int32_t *last_rc) {
    size_t len = 0;
    int32_t rc = WNN_SUCCESS;
    for (int i = 0; i < max; i++) {
        rc = wasi_nn_compute_single(c);
        if (rc != WNN_SUCCESS && rc != WNN_END_OF_SEQUENCE &&
            rc != WNN_CONTEXT_FULL)
            break;
        char piece[2048];
        size_t n;
        if (wnn_get_output(c, 0, true, piece, sizeof piece, &n)) return -1;
        if (len + n >= cap) return -1;
        memcpy(out + len, piece, n);
        len += n;
        if (rc != WNN_SUCCESS) break;
    }
    out[len] = 0;
    if (last_rc) *last_rc = rc;
    return (long)len;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: nn_misuse.wasm GUEST_GGUF HOST_PATH\n");
        return 2;
    }
    const char *strict = getenv("STRICT");
    int is_strict = strict && !strcmp(strict, "1");
    wnn_graph g = 0, g2 = 0, g3 = 0;
    wnn_ctx c = 0, c2 = 0, c3 = 0;
    int32_t rc;

    /* ---- load_by_name ---- */
    expect("load_by_name unknown name", wasi_nn_load_by_name("nope", 4, &g),
           WNN_NOT_FOUND);
    expect("load_by_name name out of memory",
           wasi_nn_load_by_name(BAD, 1000, &g), WNN_INVALID_ARGUMENT);
    expect("load_by_name out-pointer out of memory",
           wasi_nn_load_by_name("default", 7, BAD), WNN_INVALID_ARGUMENT);
    expect("load_by_name prefix of a name",
           wasi_nn_load_by_name("defaul", 6, &g), WNN_NOT_FOUND);
    expect("load_by_name missing model file",
           wasi_nn_load_by_name("missing", 7, &g), WNN_MODEL_NOT_FOUND);
    expect("load_by_name_with_config malformed JSON",
           wnn_load_by_name("other", "{\"temp\": 0,", &g2),
           WNN_INVALID_ENCODING);
    expect("load_by_name_with_config not an object",
           wnn_load_by_name("other", "[1, 2]", &g2), WNN_INVALID_ENCODING);
    expect("load_by_name_with_config wrong type (string for int)",
           wnn_load_by_name("other", "{\"ctx-size\": \"big\"}", &g2),
           WNN_INVALID_ARGUMENT);
    expect("load_by_name_with_config wrong type (bool for float)",
           wnn_load_by_name("other", "{\"temp\": true}", &g2),
           WNN_INVALID_ARGUMENT);
    expect("load_by_name_with_config wrong type (float for int)",
           wnn_load_by_name("other", "{\"n-predict\": 1.5}", &g2),
           WNN_INVALID_ARGUMENT);
    expect("load_by_name_with_config out-of-range ctx-size",
           wnn_load_by_name("other", "{\"ctx-size\": -5}", &g2),
           WNN_INVALID_ARGUMENT);
    expect("load_by_name_with_config grammar unsupported",
           wnn_load_by_name("other", "{\"grammar\": \"root ::= [a]\"}", &g2),
           WNN_UNSUPPORTED_OPERATION);
    expect("load_by_name_with_config config out of memory",
           wasi_nn_load_by_name_with_config("other", 5, BAD, 4096, &g2),
           WNN_INVALID_ARGUMENT);
    expect("load_by_name default",
           wnn_load_by_name("default", "{\"temp\": 0, \"n-predict\": 12, "
                            "\"n-gpu-layers\": 100, \"unknown-key\": [1], "
                            "\"json_schema\": 5}", &g),
           WNN_SUCCESS);
    wnn_graph again = 99;
    rc = wasi_nn_load_by_name("default", 7, &again);
    check("load_by_name again returns the same handle",
          rc == 0 && again == g, "different handle or error");

    /* ---- handles ---- */
    expect("init_execution_context bad graph",
           wasi_nn_init_execution_context(77, &c), WNN_INVALID_ARGUMENT);
    expect("init_execution_context out-pointer out of memory",
           wasi_nn_init_execution_context(g, BAD), WNN_INVALID_ARGUMENT);
    expect("init_execution_context", wasi_nn_init_execution_context(g, &c),
           WNN_SUCCESS);
    expect("compute before set_input", wasi_nn_compute(c),
           WNN_INVALID_ARGUMENT);
    expect("compute_single before set_input", wasi_nn_compute_single(c),
           WNN_INVALID_ARGUMENT);
    expect("compute bad context", wasi_nn_compute(1234),
           WNN_INVALID_ARGUMENT);
    expect("compute_single bad context", wasi_nn_compute_single(99),
           WNN_INVALID_ARGUMENT);
    expect("fini_single bad context", wasi_nn_fini_single(99),
           WNN_INVALID_ARGUMENT);
    expect("set_input bad context", set_text(99, 0, "x"),
           WNN_INVALID_ARGUMENT);
    uint32_t w = 0;
    expect("get_output bad context",
           wasi_nn_get_output(99, 0, big, sizeof big, &w),
           WNN_INVALID_ARGUMENT);
    expect("finalize_execution_context bad context",
           wasi_nn_finalize_execution_context(0xFFFFFFFFu),
           WNN_INVALID_ARGUMENT);
    expect("unload bad graph", wasi_nn_unload(5000), WNN_INVALID_ARGUMENT);
    size_t n0;
    expect("get_output before compute is empty",
           wnn_get_output(c, 0, false, big, 16, &n0), WNN_SUCCESS);
    check("get_output before compute is 0 bytes", n0 == 0, "not empty");

    /* ---- set_input tensors ---- */
    uint32_t dims[1] = {5};
    wnn_tensor t = {dims, 1, WNN_TYPE_U8, "Once ", 5};
    expect("set_input tensor pointer out of memory",
           wasi_nn_set_input(c, 0, BAD), WNN_INVALID_ARGUMENT);
    t.data = BAD;
    expect("set_input data out of memory", wasi_nn_set_input(c, 0, &t),
           WNN_INVALID_ARGUMENT);
    t.data = "Once ";
    t.len = 0xFFFFFFF0u;
    expect("set_input data length past memory", wasi_nn_set_input(c, 0, &t),
           WNN_INVALID_ARGUMENT);
    t.len = 5;
    t.dims = BAD;
    expect("set_input dims out of memory", wasi_nn_set_input(c, 0, &t),
           WNN_INVALID_ARGUMENT);
    t.dims = dims;
    t.n_dims = 0x40000000u;
    expect("set_input dims count past memory", wasi_nn_set_input(c, 0, &t),
           WNN_INVALID_ARGUMENT);
    t.n_dims = 1;
    t.type = 9;
    expect("set_input bad tensor type", wasi_nn_set_input(c, 0, &t),
           WNN_INVALID_ARGUMENT);
    t.type = 0xABCD0000u | WNN_TYPE_U8;
    expect("set_input type with junk padding", wasi_nn_set_input(c, 0, &t),
           WNN_SUCCESS);
    expect("set_input(1) malformed JSON", set_text(c, 1, "{\"temp\" 0}"),
           WNN_INVALID_ENCODING);
    expect("set_input(1) invalid UTF-8 JSON", set_text(c, 1, "{\"\xff\": 1}"),
           WNN_INVALID_ENCODING);
    expect("set_input(1) wrong type", set_text(c, 1, "{\"n-predict\": \"x\"}"),
           WNN_INVALID_ARGUMENT);
    expect("set_input(1) wrong type for reverse-prompt",
           set_text(c, 1, "{\"reverse-prompt\": 3}"), WNN_INVALID_ARGUMENT);
    expect("set_input(1) embedding not a boolean",
           set_text(c, 1, "{\"embedding\": 1}"), WNN_INVALID_ARGUMENT);
    expect("set_input(1) deep nesting",
           set_text(c, 1, "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                          "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]"
                          "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                          "]}"),
           WNN_INVALID_ENCODING);

    /* ---- compute and outputs ---- */
    const char *prompt = "Once upon a time";
    expect("set_input(1) config", set_text(c, 1, "{\"n-predict\": 12, "
                                                 "\"temp\": 0}"),
           WNN_SUCCESS);
    expect("set_input prompt", set_text(c, 0, prompt), WNN_SUCCESS);
    long n = compute_text(c, &rc);
    expect("compute", rc, WNN_SUCCESS);
    static char full[1 << 16];
    memcpy(full, big, (size_t)(n > 0 ? n : 0));
    full[n > 0 ? n : 0] = 0;
    check("compute produced text", n > 0, "empty output");
    size_t ml;
    char meta[512];
    expect("get_output metadata",
           wnn_get_output(c, 1, false, meta, sizeof meta - 1, &ml),
           WNN_SUCCESS);
    meta[ml] = 0;
    long long out_toks = wnn_meta_int(meta, ml, "output_tokens");
    long long in_toks = wnn_meta_int(meta, ml, "input_tokens");
    check("metadata output_tokens = n-predict", out_toks == 12, meta);
    check("metadata input_tokens > 0", in_toks > 0, meta);
    check("metadata llama_build_number is an integer",
          wnn_meta_int(meta, ml, "llama_build_number") >= 0, meta);

    /* The same greedy continuation token by token. */
    static char single[1 << 16];
    long sn = single_text(c, 12, single, sizeof single, &rc);
    check("compute_single x12 equals compute (greedy, n-predict 12)",
          sn == n && memcmp(single, full, (size_t)n) == 0, single);
    expect("get_output_single metadata",
           wnn_get_output(c, 1, true, meta, sizeof meta - 1, &ml),
           WNN_SUCCESS);
    meta[ml] = 0;
    check("single metadata counts 12 tokens",
          wnn_meta_int(meta, ml, "output_tokens") == 12, meta);
    expect("fini_single", wasi_nn_fini_single(c), WNN_SUCCESS);
    size_t after;
    expect("get_output_single after fini_single",
           wnn_get_output(c, 0, true, big, 64, &after), WNN_SUCCESS);
    check("fini_single cleared the output", after == 0, "not empty");

    /* Embedding mode: output 0 is {"n_embedding": N, "embedding": [...]}
     * of unit length (printed as "EMBED ..." for run.sh to compare with
     * `wasmind llm embed`); then generation again, unchanged. */
    expect("embedding on", set_text(c, 1, "{\"embedding\": true}"),
           WNN_SUCCESS);
    set_text(c, 0, prompt);
    long en = compute_text(c, &rc);
    expect("compute embedding", rc, WNN_SUCCESS);
    {
        long long dim = wnn_meta_int(big, en > 0 ? (size_t)en : 0,
                                     "n_embedding");
        const char *p = strstr(big, "\"embedding\": [");
        double ss = 0;
        long cnt = 0;
        if (p) {
            p += 14;
            for (char *e; *p && *p != ']'; p = e + (*e == ',')) {
                double x = strtod(p, &e);
                if (e == p) break;
                ss += x * x;
                cnt++;
            }
        }
        check("embedding JSON shape", dim > 0 && p && *p == ']' &&
              cnt == dim, big);
        check("embedding has unit length", ss > 0.9999 && ss < 1.0001, big);
        printf("EMBED %s\n", big);
    }
    expect("get_output metadata (embedding)",
           wnn_get_output(c, 1, false, meta, sizeof meta - 1, &ml),
           WNN_SUCCESS);
    meta[ml] = 0;
    check("embedding metadata: input tokens, no output tokens",
          wnn_meta_int(meta, ml, "input_tokens") == in_toks &&
              wnn_meta_int(meta, ml, "output_tokens") == 0, meta);
    expect("compute_single in embedding mode", wasi_nn_compute_single(c),
           WNN_UNSUPPORTED_OPERATION);
    set_text(c, 0, "");
    en = compute_text(c, &rc);
    expect("embedding of an empty text (BOS alone)", rc, WNN_SUCCESS);
    expect("embedding off", set_text(c, 1, "{\"embedding\": false}"),
           WNN_SUCCESS);
    set_text(c, 0, prompt);
    long n2 = compute_text(c, &rc);
    check("generation after embedding equals the first",
          rc == 0 && n2 == n && memcmp(big, full, (size_t)n) == 0, big);

    /* Output buffers (the output of compute is `n` > 2 bytes). */
    compute_text(c, NULL);
    expect("get_output buffer out of memory",
           wasi_nn_get_output(c, 0, BAD, 1 << 20, &w), WNN_INVALID_ARGUMENT);
    expect("get_output bytes-written out of memory",
           wasi_nn_get_output(c, 0, big, sizeof big, BAD),
           WNN_INVALID_ARGUMENT);
    /* A buffer at the very end of memory that the output overruns. */
    uintptr_t end = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
    w = 12345;
    rc = wasi_nn_get_output(c, 0, (void *)(end - 2), 2, &w);
    if (is_strict) {         /* strict: the size check comes first */
        expect("strict: overrunning the end of memory is too_large", rc,
               WNN_TOO_LARGE);
        check("strict: bytes-written is the size needed", (long)w == n,
              "wrong size");
    } else {
        expect("get_output overrunning the end of memory", rc,
               WNN_INVALID_ARGUMENT);
        check("nothing written on failure", w == 12345,
              "bytes-written changed");
    }
    memset(big, 0, 64);
    rc = wasi_nn_get_output(c, 0, big, 2, &w);
    if (is_strict) {
        expect("strict: short buffer is too_large", rc, WNN_TOO_LARGE);
        check("strict: bytes-written is the size needed",
              (long)w == n && big[0] == 0, "wrong size or buffer written");
    } else {
        expect("short buffer: whole output copied (released WasmEdge)", rc,
               WNN_SUCCESS);
        check("short buffer: bytes-written is the whole length",
              (long)w == n && memcmp(big, full, (size_t)n) == 0,
              "not the whole output");
        expect("max size 0 (as LlamaEdge passes)",
               wasi_nn_get_output(c, 0, big, 0, &w), WNN_SUCCESS);
    }

    /* Stop strings (compute only) and limits. */
    expect("reverse-prompt config",
           set_text(c, 1, "{\"reverse-prompt\": \"girl\", \"n-predict\": 40}"),
           WNN_SUCCESS);
    n = compute_text(c, &rc);
    check("reverse-prompt stops before it",
          rc == 0 && n >= 0 && !strstr(big, "girl") &&
              strncmp(full, big, (size_t)n) == 0,
          big);
    expect("small context", set_text(c, 1, "{\"ctx-size\": 16, "
                                           "\"reverse-prompt\": \"\"}"),
           WNN_SUCCESS);
    expect("prompt too long",
           set_text(c, 0, "Once upon a time there was a little girl who "
                          "loved to play in the park with her friends"),
           WNN_SUCCESS);
    expect("compute: prompt_too_long", wasi_nn_compute(c),
           WNN_PROMPT_TOO_LONG);
    expect("compute_single: prompt_too_long", wasi_nn_compute_single(c),
           WNN_PROMPT_TOO_LONG);
    expect("context fills", set_text(c, 1, "{\"ctx-size\": 24, "
                                           "\"n-predict\": -1, "
                                           "\"ignore-eos\": true}"),
           WNN_SUCCESS);
    set_text(c, 0, prompt);
    n = compute_text(c, &rc);
    expect("compute: context_full", rc, WNN_CONTEXT_FULL);
    check("context_full keeps partial output", n > 0, "empty");
    long sl = single_text(c, 1000, single, sizeof single, &rc);
    expect("compute_single: context_full", rc, WNN_CONTEXT_FULL);
    check("compute_single: same text up to the full context",
          sl == n && memcmp(single, big, (size_t)n) == 0, single);
    expect("compute_single restarts after context_full",
           wasi_nn_compute_single(c), WNN_SUCCESS);
    wasi_nn_fini_single(c);
    expect("restore config", set_text(c, 1, "{\"ctx-size\": 0, "
                                            "\"n-predict\": 12, "
                                            "\"ignore-eos\": false}"),
           WNN_SUCCESS);

    /* ---- several contexts at once ---- */
    expect("second context", wasi_nn_init_execution_context(g, &c2),
           WNN_SUCCESS);
    check("contexts have distinct handles", c2 != c, "same handle");
    set_text(c2, 1, "{\"n-predict\": 12, \"temp\": 0}");
    const char *prompt2 = "The little dog";
    set_text(c2, 0, prompt2);
    static char solo2[1 << 16];
    n = compute_text(c2, NULL);
    memcpy(solo2, big, (size_t)(n > 0 ? n + 1 : 1));
    set_text(c, 0, prompt);
    set_text(c2, 0, prompt2);
    static char a1[4096], a2[4096];
    size_t l1 = 0, l2 = 0;
    int ok = 1;
    for (int i = 0; i < 12 && ok; i++) {
        size_t k = 0;
        ok = wasi_nn_compute_single(c) == 0 &&
             wnn_get_output(c, 0, true, a1 + l1, 2048, &k) == 0;
        l1 += k;
        ok = ok && wasi_nn_compute_single(c2) == 0 &&
             wnn_get_output(c2, 0, true, a2 + l2, 2048, &k) == 0;
        l2 += k;
    }
    check("interleaved contexts: first matches its solo run",
          ok && l1 == strlen(full) && memcmp(a1, full, l1) == 0, a1);
    check("interleaved contexts: second matches its solo run",
          ok && l2 == strlen(solo2) && memcmp(a2, solo2, l2) == 0, a2);

    /* ---- load from guest bytes ---- */
    FILE *f = fopen(argv[1], "rb");
    size_t gl = 0;
    char *gguf = NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        gl = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        gguf = malloc(gl);
        if (gguf && fread(gguf, 1, gl, f) != gl) gl = 0;
        fclose(f);
    }
    check("read the GGUF through WASI", gguf && gl > 0, argv[1]);
    const char *cfg = "{\"n-predict\": 12, \"temp\": 0}";
    wnn_builder b[2] = {{gguf, (uint32_t)gl}, {cfg, (uint32_t)strlen(cfg)}};
    expect("load encoding ONNX", wasi_nn_load(b, 2, 1, WNN_TARGET_CPU, &g3),
           WNN_INVALID_ENCODING);
    expect("load encoding 99", wasi_nn_load(b, 2, 99, WNN_TARGET_CPU, &g3),
           WNN_INVALID_ENCODING);
    expect("load target AUTO", wasi_nn_load(b, 2, 6, WNN_TARGET_AUTO, &g3),
           WNN_INVALID_ARGUMENT);
    expect("load no builders", wasi_nn_load(b, 0, 6, WNN_TARGET_CPU, &g3),
           WNN_INVALID_ARGUMENT);
    expect("load builder array out of memory",
           wasi_nn_load(BAD, 2, 6, WNN_TARGET_CPU, &g3), WNN_INVALID_ARGUMENT);
    wnn_builder bad_b[1] = {{gguf, 0xFFFFFF00u}};
    expect("load builder length past memory",
           wasi_nn_load(bad_b, 1, 6, WNN_TARGET_CPU, &g3),
           WNN_INVALID_ARGUMENT);
    wnn_builder junk[1] = {{"not a gguf file at all", 22}};
    expect("load junk bytes", wasi_nn_load(junk, 1, 6, WNN_TARGET_CPU, &g3),
           WNN_INVALID_ARGUMENT);
    wnn_builder trunc[1] = {{gguf, (uint32_t)(gl / 2)}};
    expect("load truncated GGUF",
           wasi_nn_load(trunc, 1, 6, WNN_TARGET_CPU, &g3),
           WNN_INVALID_ARGUMENT);
    const char *etc = "preload:/etc/passwd";
    wnn_builder esc[1] = {{etc, (uint32_t)strlen(etc)}};
    expect("load preload: of a path not preloaded",
           wasi_nn_load(esc, 1, 6, WNN_TARGET_CPU, &g3), WNN_MODEL_NOT_FOUND);
    wnn_builder bcfg[2] = {{gguf, (uint32_t)gl}, {"{oops", 5}};
    expect("load with malformed config",
           wasi_nn_load(bcfg, 2, 6, WNN_TARGET_CPU, &g3),
           WNN_INVALID_ENCODING);
    expect("load GGUF from guest bytes",
           wasi_nn_load(b, 2, 6, WNN_TARGET_CPU, &g3), WNN_SUCCESS);
    free(gguf);              /* the host keeps its own copy */
    expect("context on the bytes graph",
           wasi_nn_init_execution_context(g3, &c3), WNN_SUCCESS);
    set_text(c3, 0, prompt);
    n = compute_text(c3, &rc);
    check("bytes graph gives the preloaded graph's output",
          rc == 0 && n == (long)strlen(full) && !memcmp(big, full, (size_t)n),
          big);
    char pre[600];
    snprintf(pre, sizeof pre, "preload:%s", argv[2]);
    wnn_builder pb[1] = {{pre, (uint32_t)strlen(pre)}};
    wnn_graph g4 = 0;
    expect("load preload: of a preloaded path",
           wasi_nn_load(pb, 1, 6, WNN_TARGET_GPU, &g4), WNN_SUCCESS);
    check("new graph handle", g4 != g3 && g4 != g, "handle reused");
    expect("unload preload: graph", wasi_nn_unload(g4), WNN_SUCCESS);

    /* ---- unload / finalize ---- */
    expect("unload bytes graph", wasi_nn_unload(g3), WNN_SUCCESS);
    expect("unload twice", wasi_nn_unload(g3), WNN_INVALID_ARGUMENT);
    expect("init on an unloaded graph",
           wasi_nn_init_execution_context(g3, &c2), WNN_INVALID_ARGUMENT);
    set_text(c3, 0, prompt);
    n = compute_text(c3, &rc);
    check("context outlives its unloaded graph",
          rc == 0 && n == (long)strlen(full), big);
    expect("finalize context", wasi_nn_finalize_execution_context(c3),
           WNN_SUCCESS);
    expect("finalize twice", wasi_nn_finalize_execution_context(c3),
           WNN_INVALID_ARGUMENT);
    expect("compute on a finalized context", wasi_nn_compute(c3),
           WNN_INVALID_ARGUMENT);
    expect("unload named graph", wasi_nn_unload(g), WNN_SUCCESS);
    expect("load_by_name after unload", wasi_nn_load_by_name("default", 7, &g),
           WNN_SUCCESS);
    expect("old context still computes", wasi_nn_compute(c), WNN_SUCCESS);

    printf("%d failed\n", n_fail);
    return n_fail ? 1 : 0;
}
