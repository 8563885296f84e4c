/*
 * cmd_serve.c — `wasmind serve MODEL.gguf`: the OpenAI-compatible API
 * server (apps/llama-api-server.c, a wasm32-wasi guest) with the model
 * pre-loaded, a listening socket on loopback and the web chat page.
 *
 * What it runs, found relative to the wasmind binary (/proc/self/exe),
 * so a build tree works without installing anything:
 *   DIR/apps/llama-api-server.wasm            (make apps builds it there)
 *   the web root: DIR/apps/web, else DIR/../apps/web, DIR/../../apps/web
 *   (the source tree's apps/web, seen from build/ and build/san/)
 * --app and --web override both. The module is not embedded in the
 * binary: it is rebuilt by `make apps` and the CLI stays independent of
 * the wasm toolchain.
 *
 * Equivalent `run` command line (what this does, through the public API
 * like main.c):
 *   wasmind run --listen HOST:PORT --dir-ro WEB::/web \
 *     --nn-preload default:GGML:AUTO:MODEL APP.wasm \
 *     --model-name BASENAME [--template T] [--ctx-size N] [GUEST ARGS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "wasmind.h"

static const char serve_usage[] =
    "usage: wasmind serve MODEL.gguf [options] [-- SERVER-ARGS...]\n"
    "\n"
    "Serve MODEL.gguf over an OpenAI-compatible HTTP API (POST\n"
    "/v1/chat/completions and /v1/completions, streaming with\n"
    "\"stream\": true; GET /v1/models, /health) and a web chat page at /,\n"
    "from the wasm guest apps/llama-api-server.wasm.\n"
    "\n"
    "example:\n"
    "  wasmind serve tinyllama-chat-q4_0.gguf --port 8080\n"
    "  curl http://127.0.0.1:8080/v1/chat/completions \\\n"
    "    -d '{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}'\n"
    "\n"
    "options:\n"
    "  --host ADDR      listen address; IPv6 as [::1]     (127.0.0.1)\n"
    "  --port N         TCP port; 0 picks a free one      (8080)\n"
    "  --template NAME  chat format: llama-2-chat llama-3-chat chatml\n"
    "                   mistral-instruct zephyr plain (guessed from the\n"
    "                   model's file name, else llama-2-chat)\n"
    "  --ctx-size N     context size in tokens (the model's, max 4096)\n"
    "  --app FILE.wasm  the server module (next to wasmind:\n"
    "                   apps/llama-api-server.wasm)\n"
    "  --web DIR        web root served at / (apps/web, found from the\n"
    "                   binary's directory; `none`: no web page)\n"
    "  -- ARGS          passed to the server module (its --help: --queue,\n"
    "                   --timeout, --max-body, --quiet)\n"
    "\n"
    "exit codes: 1 error (model or module missing, port in use),\n"
    "2 usage error, 134 the server module trapped\n";

/* Directory of the running binary (with a trailing '/'), or "". */
static void exe_dir(char *out, size_t cap) {
    out[0] = '\0';
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0) return;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash) slash[1] = '\0';
    else out[0] = '\0';
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Read a whole file; NULL on failure (errno set). */
static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *p = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1 << 20;
            uint8_t *np = realloc(p, nc);
            if (!np) {
                free(p);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            p = np;
            cap = nc;
        }
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(p);
        errno = EIO;
        return NULL;
    }
    *len = n;
    return p;
}


static void serve_nn_output(void *ud, wm_nn_output_kind kind,
                            const char *text, size_t len) {
    (void)ud;
    (void)kind;
    fprintf(stderr, "wasmind: wasi-nn: %.*s\n", (int)len, text);
}

int cli_serve(int argc, char **argv) {
    const char *model = NULL, *host = "127.0.0.1", *tmpl = NULL;
    const char *ctx = NULL, *app = NULL, *web = NULL;
    long port = 8080;
    int i = 0, n_extra = 0;
    char **extra = NULL;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(serve_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--")) {
            extra = argv + i + 1;
            n_extra = argc - i - 1;
            break;
        }
        if (a[0] != '-') {
            if (model) return cli_usage_error("serve",
                "serve: more than one model: %s", a);
            model = a;
            continue;
        }
        if (i + 1 >= argc) return cli_usage_error("serve",
            "serve: missing value for %s", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--template")) tmpl = v;
        else if (!strcmp(a, "--app")) app = v;
        else if (!strcmp(a, "--web")) web = v;
        else if (!strcmp(a, "--ctx-size")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (end == v || *end || n < 1 || n > (1 << 20))
                return cli_usage_error("serve", "serve: bad --ctx-size %s", v);
            ctx = v;
        } else if (!strcmp(a, "--port")) {
            char *end;
            port = strtol(v, &end, 10);
            if (end == v || *end || port < 0 || port > 65535)
                return cli_usage_error("serve", "serve: bad --port %s", v);
        } else {
            return cli_usage_error("serve", "serve: unknown option %s", a);
        }
    }
    if (!model) return cli_usage_error("serve",
        "serve: missing MODEL.gguf%s", "");
    struct stat st;
    if (stat(model, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "wasmind: error: %s: %s\n", model,
                errno ? strerror(errno) : "not a regular file");
        return 1;
    }

    char dir[4096], app_path[4200], web_path[4200];
    exe_dir(dir, sizeof dir);
    if (!app) {
        snprintf(app_path, sizeof app_path, "%sapps/llama-api-server.wasm",
                 dir);
        app = app_path;
    }
    if (!web) {
        static const char *const rel[] = {"apps/web", "../apps/web",
                                          "../../apps/web"};
        for (size_t k = 0; k < sizeof rel / sizeof rel[0]; k++) {
            snprintf(web_path, sizeof web_path, "%s%s", dir, rel[k]);
            if (is_dir(web_path)) {
                web = web_path;
                break;
            }
        }
        if (!web)
            fprintf(stderr, "wasmind: serve: no apps/web directory found "
                            "next to the binary: no web page\n");
    } else if (!strcmp(web, "none")) {
        web = NULL;
    } else if (!is_dir(web)) {
        fprintf(stderr, "wasmind: error: --web %s: not a directory\n", web);
        return 1;
    }

    size_t len = 0;
    uint8_t *bytes = slurp(app, &len);
    if (!bytes) {
        fprintf(stderr, "wasmind: error: %s: %s (build it with `make "
                        "apps`, or pass --app)\n", app, strerror(errno));
        return 1;
    }
    char listen[300], preload[4200], url[320];
    const char *base = strrchr(model, '/');
    base = base ? base + 1 : model;
    snprintf(listen, sizeof listen, "%s:%ld", host, port);
    snprintf(preload, sizeof preload, "default:GGML:AUTO:%s", model);

    /* Guest argv: program name, our options, then the pass-through ones. */
    const char **gargv = calloc((size_t)n_extra + 12, sizeof *gargv);
    int gargc = 0, rc = 1;
    wm_runtime *rt = NULL;
    wm_linker *lk = NULL;
    wm_module *mod = NULL;
    wm_instance *inst = NULL;
    wm_error err;
    if (!gargv) {
        fprintf(stderr, "wasmind: error: out of memory\n");
        goto out;
    }
    gargv[gargc++] = "llama-api-server.wasm";
    gargv[gargc++] = "--model-name";
    gargv[gargc++] = base;
    if (tmpl) {
        gargv[gargc++] = "--template";
        gargv[gargc++] = tmpl;
    }
    if (ctx) {
        gargv[gargc++] = "--ctx-size";
        gargv[gargc++] = ctx;
    }
    if (!web) {
        gargv[gargc++] = "--web-root";
        gargv[gargc++] = "/nonexistent";
    }
    for (int k = 0; k < n_extra; k++) gargv[gargc++] = extra[k];

    wm_wasi_preopen pre = {.host_path = web, .guest_path = "/web",
                           .read_only = 1};
    const char *listens[1] = {listen};
    int bound_port = 0;
    const char *preloads[1] = {preload};
    wm_wasi_config wc = {
        .argc = gargc, .argv = gargv,
        .n_preopens = web ? 1 : 0, .preopens = &pre,
        .n_listen = 1, .listen = listens, .listen_ports = &bound_port,
    };
    wm_nn_config nc = {.n_preloads = 1, .preloads = preloads,
                       .output = serve_nn_output};
    rt = wm_runtime_new(NULL);
    if (!rt || !(lk = wm_linker_new(rt))) {
        fprintf(stderr, "wasmind: error: out of memory\n");
        goto out;
    }
    wm_status s;
    if ((s = wm_module_load(rt, bytes, len, app, &mod, &err)) ||
        (s = wm_linker_define_wasi(lk, &wc, &err)) ||
        (s = wm_linker_define_wasi_nn(lk, &nc, &err)) ||
        (s = wm_instantiate(lk, mod, &inst, &err))) {
        cli_print_error(&err);
        goto out;
    }
    free(bytes);
    bytes = NULL;
    snprintf(url, sizeof url, "http://%s:%d/", host, bound_port);
    fprintf(stderr, "wasmind: serving %s at %s (OpenAI API: %sv1, web "
                    "chat: %s)\n", base, url, url, web ? url : "none");
    wm_func *start = wm_instance_func(inst, "_start");
    if (!start) {
        fprintf(stderr, "wasmind: error: %s has no _start\n", app);
        goto out;
    }
    s = wm_func_call(start, NULL, 0, NULL, 0, &err);
    if (s == WM_OK) rc = 0;
    else if (s == WM_EXIT) rc = err.exit_code;
    else {
        cli_print_error(&err);
        rc = 134;
    }
out:
    wm_runtime_free(rt);
    free(bytes);
    free(gargv);
    return rc;
}
