/*
 * main.c — the `wasmind` command: run a WASI program or call one export,
 * validate a module. Built on include/wasmind.h alone, so everything it
 * does an embedder can do too.
 *
 * Exit codes (also in --help):
 *   0    success (or the guest's proc_exit status: a WASI program's exit
 *        code is the process's)
 *   1    error: the file cannot be read, the module is malformed, invalid
 *        or cannot be linked, an --invoke argument does not parse
 *   2    usage error (bad options)
 *   134  the guest trapped (128 + SIGABRT, as wasmtime and a C abort()
 *        report it); the trap and its backtrace are on stderr
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "wasmind.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_TRAP = 134 };

#define WM_CLI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Largest module file accepted (the decoder has its own caps too). */
#define CLI_MAX_FILE_BYTES ((size_t)1 << 30)

static const char usage_text[] =
    "usage: wasmind run [options] FILE.wasm [ARGS...]\n"
    "       wasmind validate FILE.wasm\n"
    "       wasmind convert llama2c MODEL.bin TOKENIZER.bin -o OUT.gguf\n"
    "       wasmind llm generate|bench|synth ... (see `wasmind llm --help`)\n"
    "       wasmind quantize IN.gguf OUT.gguf TYPE\n"
    "       wasmind serve MODEL.gguf [--port N] ... (OpenAI API server; see\n"
    "                                          `wasmind serve --help`)\n"
    "       wasmind FILE.wasm [ARGS...]          (same as `run`)\n"
    "       wasmind --help | --version\n"
    "\n"
    "Run a WebAssembly 2.0 module with WASI preview 1: its `_start` is\n"
    "called with ARGS as the program's arguments (argv[0] is FILE.wasm).\n"
    "With --invoke, call the named export instead: ARGS are its parameters,\n"
    "parsed as the export's types (decimal or 0x-hex integers; floats incl.\n"
    "hex floats, inf, -inf, nan, nan:0xPAYLOAD; `null` for references), and\n"
    "each result is printed on its own line.\n"
    "\n"
    "example:\n"
    "  wasmind run --env NAME=world hello.wasm a b c\n"
    "  wasmind run --invoke add calc.wasm 2 40       (prints 42)\n"
    "\n"
    "options (before FILE.wasm; everything after it goes to the guest):\n"
    "  --invoke NAME   call export NAME instead of `_start`   (default: "
    "_start)\n"
    "  --env K=V       set guest environment variable K; `--env K` passes\n"
    "                  the host's K (repeatable)     (default: empty "
    "environment)\n"
    "  --dir HOST_DIR[::GUEST_PATH]\n"
    "                  pre-open HOST_DIR for the guest, which sees it as\n"
    "                  GUEST_PATH (default: HOST_DIR); the guest can reach\n"
    "                  nothing outside it: `..`, absolute paths and symlinks\n"
    "                  leading out fail with ENOTCAPABLE (repeatable;\n"
    "                  default: no file system at all)\n"
    "  --dir-ro HOST_DIR[::GUEST_PATH]\n"
    "                  the same, read-only: creating, writing, truncating,\n"
    "                  renaming, linking, removing fail with ENOTCAPABLE\n"
    "  --listen ADDR:PORT\n"
    "                  pre-open a listening TCP socket (127.0.0.1:8080,\n"
    "                  [::1]:8080); the guest takes connections with\n"
    "                  sock_accept. Its fd follows the pre-opened dirs\n"
    "                  (repeatable). Port 0 takes a free port, printed\n"
    "                  on stderr as `wasmind: listening on ADDR:PORT`\n"
    "  --allow-bind HOST:PORT\n"
    "                  let the guest bind its own sockets (WasmEdge's\n"
    "                  sock_open/sock_bind, e.g. an HTTP server) to\n"
    "                  HOST:PORT; HOST is IPv4, [IPv6], localhost or *;\n"
    "                  0.0.0.0 / [::] (or empty) also cover every address\n"
    "                  of their family; PORT a number or * (repeatable;\n"
    "                  default: no binds, listening needs a bind)\n"
    "  --allow-net HOST:PORT\n"
    "                  let the guest connect / send datagrams to HOST:PORT\n"
    "                  (HOST IPv4, [IPv6], localhost or *; PORT number or\n"
    "                  *); `none`: no destinations at all (repeatable;\n"
    "                  default: loopback only, 127.0.0.0/8 and [::1], any\n"
    "                  port; the first grant replaces that default). No\n"
    "                  names are resolved; refusals are EACCES\n"
    "  --max-memory BYTES[K|M|G]\n"
    "                  cap every linear memory; memory.grow beyond it\n"
    "                  returns -1                     (default: 4G)\n"
    "  --nn-preload NAME:ENCODING:TARGET:PATH\n"
    "                  WASI-NN (wasi_ephemeral_nn, WasmEdge's ABI): make\n"
    "                  the model at PATH loadable by the guest as NAME\n"
    "                  (load_by_name); ENCODING GGML (GGUF llama/qwen2\n"
    "                  models, opened at the guest's first load), TARGET\n"
    "                  AUTO or CPU (GPU/TPU: not supported on this build),\n"
    "                  e.g. default:GGML:AUTO:tinyllama-q4_0.gguf\n"
    "                  (repeatable; default: none, guests may still load\n"
    "                  GGUF bytes from their own memory)\n"
    "  --              end of options\n"
    "  -h, --help      this text\n"
    "  -V, --version   print the version\n"
    "\n"
    "WASI fds: 0-2 stdio, then one per --dir/--dir-ro (in order), then one\n"
    "per --listen. WASMIND_WASI_NO_OPENAT2=1 in the environment makes path\n"
    "resolution use wasmind's own openat walk instead of openat2 (tests).\n"
    "WASMIND_NN_STRICT_OUTPUT=1 makes WASI-NN get_output return too_large\n"
    "(7) when the guest's buffer is smaller than the output (WasmEdge after\n"
    "0.17.1) instead of copying it whole when it fits in memory (released\n"
    "WasmEdge, which LlamaEdge relies on).\n"
    "\n"
    "exit codes:\n"
    "  0    success; a WASI program's proc_exit status is the exit code\n"
    "  1    error (unreadable file, malformed/invalid/unlinkable module,\n"
    "       bad --invoke argument, a --dir that cannot be opened, a\n"
    "       --listen address that cannot be bound, a bad --nn-preload,\n"
    "       a malformed --allow-bind/--allow-net)\n"
    "  2    usage error\n"
    "  134  the guest trapped (message and backtrace on stderr)\n";

void cli_print_error(const wm_error *err) {
    char buf[2048];
    wm_error_format(err, buf, sizeof buf);
    fprintf(stderr, "wasmind: error: %s\n", buf);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wasmind: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'wasmind%s%s --help'.\n", cmd ? " " : "",
            cmd ? cmd : "");
    va_end(ap);
    return EXIT_USAGE;
}

/* ==== Reading the module file =========================================== */

typedef struct cli_file {
    uint8_t *bytes;
    size_t len;
    bool mapped;               /* bytes is an mmap of len bytes */
} cli_file;

/*
 * Read `path` whole: one mmap for regular files (the loader copies what it
 * keeps, so the mapping is dropped right after loading), a read loop for
 * pipes and devices. On failure prints the error and returns false.
 */
static bool cli_file_read(const char *path, cli_file *out) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) goto fail;
    struct stat st;
    if (fstat(fd, &st) != 0) goto fail;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    if (S_ISREG(st.st_mode)) {
        if ((uint64_t)st.st_size > CLI_MAX_FILE_BYTES) {
            errno = EFBIG;
            goto fail;
        }
        out->len = (size_t)st.st_size;
        if (out->len > 0) {
            void *p = mmap(NULL, out->len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) goto fail;
            out->bytes = p;
            out->mapped = true;
        }
        close(fd);
        return true;
    }
    size_t cap = 0;
    for (;;) {
        if (out->len == cap) {
            if (cap >= CLI_MAX_FILE_BYTES) {
                errno = EFBIG;
                goto fail;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(out->bytes, ncap);
            if (!nb) goto fail;
            out->bytes = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, out->bytes + out->len, cap - out->len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto fail;
        if (r == 0) break;
        out->len += (size_t)r;
    }
    close(fd);
    return true;
fail:
    fprintf(stderr, "wasmind: error: %s: %s\n", path, strerror(errno));
    if (fd >= 0) close(fd);
    if (!out->mapped) free(out->bytes);
    memset(out, 0, sizeof *out);
    return false;
}

static void cli_file_free(cli_file *f) {
    if (f->mapped) munmap(f->bytes, f->len);
    else free(f->bytes);
    memset(f, 0, sizeof *f);
}

/* ==== --invoke values: parsing and printing ============================= */

/* Parse an integer of `bits` (32/64): [-]decimal or [-]0xhex, accepting
 * the signed and the unsigned range (so -1 and 4294967295 are both i32
 * all-ones). */
static bool parse_int(const char *s, int bits, uint64_t *out) {
    bool neg = false;
    const char *p = s;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!*p) return false;
    uint64_t v = 0;
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9') d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else if (*p == '_' && p[1] && p != s) continue;
        else return false;
        if (v > (UINT64_MAX - d) / (unsigned)base) return false;
        v = v * (unsigned)base + d;
    }
    uint64_t umax = bits == 32 ? UINT32_MAX : UINT64_MAX;
    uint64_t neg_max = (uint64_t)1 << (bits - 1);   /* |INT_MIN| */
    if (neg) {
        if (v > neg_max) return false;
        v = (uint64_t)0 - v;
    } else if (v > umax) {
        return false;
    }
    *out = bits == 32 ? (v & UINT32_MAX) : v;
    return true;
}

/* "nan:0xPAYLOAD" with an optional sign: a NaN with the given payload. */
static bool parse_nan_payload(const char *s, int bits, uint64_t *out) {
    bool neg = false;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (strncmp(s, "nan:0x", 6) != 0) return false;
    uint64_t payload;
    if (!parse_int(s + 4, 64, &payload) || payload == 0) return false;
    if (bits == 32) {
        if (payload > 0x7fffff) return false;
        *out = (neg ? 0x80000000u : 0) | 0x7f800000u | payload;
    } else {
        if (payload > 0xfffffffffffffull) return false;
        *out = (neg ? 0x8000000000000000ull : 0) | 0x7ff0000000000000ull |
               payload;
    }
    return true;
}

static bool parse_value(const char *s, wm_valtype type, wm_value *v) {
    memset(v, 0, sizeof *v);
    v->type = type;
    char *end = NULL;
    uint64_t bits;
    switch (type) {
    case WM_I32:
        if (!parse_int(s, 32, &bits)) return false;
        v->of.i32 = (int32_t)(uint32_t)bits;
        return true;
    case WM_I64:
        if (!parse_int(s, 64, &bits)) return false;
        v->of.i64 = (int64_t)bits;
        return true;
    case WM_F32:
        if (parse_nan_payload(s, 32, &bits)) {
            v->of.f32_bits = (uint32_t)bits;
            return true;
        }
        if (!*s) return false;
        errno = 0;
        v->of.f32 = strtof(s, &end);
        return *end == 0;
    case WM_F64:
        if (parse_nan_payload(s, 64, &bits)) {
            v->of.f64_bits = bits;
            return true;
        }
        if (!*s) return false;
        v->of.f64 = strtod(s, &end);
        return *end == 0;
    case WM_FUNCREF:
    case WM_EXTERNREF:
        v->of.ref = NULL;
        return strcmp(s, "null") == 0;
    default:
        return false;
    }
}

/* Shortest decimal that reads back to the same bits; NaNs as "nan"
 * (canonical payload) or "nan:0x..." with the payload. */
static void print_f32(float f, uint32_t bits) {
    const char *sign = (bits >> 31) ? "-" : "";
    if (isnan(f)) {
        uint32_t payload = bits & 0x7fffff;
        if (payload == 0x400000) printf("%snan\n", sign);
        else printf("%snan:0x%" PRIx32 "\n", sign, payload);
        return;
    }
    if (isinf(f)) {
        printf("%sinf\n", sign);
        return;
    }
    char buf[64];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    printf("%s\n", buf);
}

static void print_f64(double d, uint64_t bits) {
    const char *sign = (bits >> 63) ? "-" : "";
    if (isnan(d)) {
        uint64_t payload = bits & 0xfffffffffffffull;
        if (payload == 0x8000000000000ull) printf("%snan\n", sign);
        else printf("%snan:0x%" PRIx64 "\n", sign, payload);
        return;
    }
    if (isinf(d)) {
        printf("%sinf\n", sign);
        return;
    }
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    printf("%s\n", buf);
}

static void print_value(const wm_value *v) {
    switch (v->type) {
    case WM_I32: printf("%" PRId32 "\n", v->of.i32); break;
    case WM_I64: printf("%" PRId64 "\n", v->of.i64); break;
    case WM_F32: print_f32(v->of.f32, v->of.f32_bits); break;
    case WM_F64: print_f64(v->of.f64, v->of.f64_bits); break;
    case WM_FUNCREF:
    case WM_EXTERNREF:
        printf("%s\n", v->of.ref ? (v->type == WM_FUNCREF ? "<funcref>"
                                                         : "<externref>")
                                 : "null");
        break;
    default: printf("<%s>\n", wm_valtype_str(v->type)); break;
    }
}

/* ==== Commands ========================================================== */

/* Map a call's status to the process exit code, printing what failed. */
static int exit_code_of(wm_status st, const wm_error *err) {
    if (st == WM_OK) return EXIT_OK;
    if (st == WM_EXIT) return err->exit_code;
    cli_print_error(err);
    switch (st) {
    case WM_ERR_MALFORMED: case WM_ERR_INVALID: case WM_ERR_UNLINKABLE:
    case WM_ERR_NOMEM: case WM_ERR_IO: case WM_ERR_ARG:
    case WM_ERR_NOT_FOUND: case WM_ERR_UNSUPPORTED: case WM_ERR_LIMIT:
    case WM_ERR_FORMAT:
        return EXIT_ERR;
    default:
        return EXIT_TRAP;
    }
}

static int cmd_validate(int argc, char **argv) {
    if (argc != 1) return cli_usage_error(NULL,
        "validate takes one FILE.wasm%s", "");
    cli_file file;
    if (!cli_file_read(argv[0], &file)) return EXIT_ERR;
    wm_error err;
    int rc = EXIT_ERR;
    wm_runtime *rt = wm_runtime_new(NULL);
    wm_module *mod = NULL;
    if (!rt) {
        fprintf(stderr, "wasmind: error: out of memory\n");
        goto out;
    }
    if (wm_module_load(rt, file.bytes, file.len, argv[0], &mod, &err)) {
        cli_print_error(&err);
        goto out;
    }
    printf("ok\n");
    rc = EXIT_OK;
out:
    wm_runtime_free(rt);
    cli_file_free(&file);
    return rc;
}

/*
 * Call export `name` with args parsed from the command line as its
 * parameter types and print each result on its own line. A WASI reactor's
 * `_initialize` is run first when the module exports one.
 */
static int invoke_export(wm_instance *inst, const char *name, int argc,
                         char **argv) {
    wm_error err;
    wm_value *args = NULL, *results = NULL;
    int rc = EXIT_ERR;
    wm_func *f = wm_instance_func(inst, name);
    if (!f) {
        fprintf(stderr, "wasmind: error: no exported function `%s`\n", name);
        return EXIT_ERR;
    }
    uint32_t np = wm_func_n_params(f), nr = wm_func_n_results(f);
    if ((uint32_t)argc != np) {
        fprintf(stderr,
                "wasmind: error: `%s` takes %u argument%s, %d given\n", name,
                np, np == 1 ? "" : "s", argc);
        return EXIT_ERR;
    }
    args = calloc(np ? np : 1, sizeof *args);
    results = calloc(nr ? nr : 1, sizeof *results);
    if (!args || !results) {
        fprintf(stderr, "wasmind: error: out of memory\n");
        goto out;
    }
    for (uint32_t i = 0; i < np; i++) {
        wm_valtype t = wm_func_param(f, i);
        if (!parse_value(argv[i], t, &args[i])) {
            fprintf(stderr,
                    "wasmind: error: argument %u of `%s`: `%s` is not a "
                    "valid %s\n",
                    i + 1, name, argv[i], wm_valtype_str(t));
            goto out;
        }
    }
    wm_func *init = wm_instance_func(inst, "_initialize");
    if (init && strcmp(name, "_initialize") != 0) {
        wm_status st = wm_func_call(init, NULL, 0, NULL, 0, &err);
        if (st) {
            rc = exit_code_of(st, &err);
            goto out;
        }
    }
    wm_status st = wm_func_call(f, args, np, results, nr, &err);
    if (st) {
        rc = exit_code_of(st, &err);
        goto out;
    }
    for (uint32_t i = 0; i < nr; i++) print_value(&results[i]);
    rc = EXIT_OK;
out:
    free(args);
    free(results);
    return rc;
}

/*
 * "--max-memory" value: bytes, or with a K/M/G suffix (KiB, MiB, GiB).
 * false when malformed or zero or above 4 GiB (the Wasm 32-bit limit).
 */
static bool parse_size(const char *s, uint64_t *out) {
    char *end;
    if (!s[0] || s[0] == '-' || s[0] == '+') return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return false;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10, end++;
    else if (*end == 'M' || *end == 'm') shift = 20, end++;
    else if (*end == 'G' || *end == 'g') shift = 30, end++;
    if (*end || v == 0 || v > ((uint64_t)4 << 30) >> shift) return false;
    *out = (uint64_t)v << shift;
    return true;
}

/* Options of `run`, gathered before the module is loaded. The arrays hold
 * pointers into argv (or the host environment) and have argc slots. */
typedef struct run_opts {
    const char *invoke;
    const char **env;
    int envc;
    wm_wasi_preopen *dirs;
    int n_dirs;
    const char **listen;
    int *listen_ports;
    int n_listen;
    uint64_t max_memory;       /* 0: the default */
    const char **nn_preload;   /* "NAME:ENCODING:TARGET:PATH" */
    int n_nn_preload;
    const char **allow_bind;   /* --allow-bind HOST:PORT */
    int n_allow_bind;
    const char **allow_net;    /* --allow-net HOST:PORT */
    int n_allow_net;
    bool net_none;             /* --allow-net none */
} run_opts;

static void run_opts_free(run_opts *o) {
    for (int k = 0; k < o->n_dirs; k++)
        free((char *)o->dirs[k].host_path);   /* split copies */
    free(o->env);
    free(o->dirs);
    free(o->listen);
    free(o->listen_ports);
    free(o->nn_preload);
    free(o->allow_bind);
    free(o->allow_net);
}

/* "HOST[::GUEST]" -> a pre-open (the host part is a copy; GUEST defaults
 * to HOST). false for an empty HOST or GUEST. */
static bool parse_dir(const char *val, bool ro, wm_wasi_preopen *out) {
    const char *sep = strstr(val, "::");
    size_t hl = sep ? (size_t)(sep - val) : strlen(val);
    if (hl == 0 || (sep && !sep[2])) return false;
    char *host = malloc(hl + 1);
    if (!host) return false;
    memcpy(host, val, hl);
    host[hl] = '\0';
    out->host_path = host;
    out->guest_path = sep ? sep + 2 : NULL;
    out->read_only = ro;
    return true;
}

/*
 * Parse the options before FILE.wasm. Returns the index of FILE.wasm, or
 * -1 after printing a usage error (the exit code is then EXIT_USAGE).
 */
static int parse_run_opts(int argc, char **argv, run_opts *o) {
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        /* Every option takes a value: "--opt=V" or "--opt V". */
        static const char *const names[] = {
            "--invoke", "--env", "--dir", "--dir-ro", "--listen",
            "--max-memory", "--nn-preload", "--allow-bind", "--allow-net",
        };
        const char *val = NULL;
        size_t k = 0;
        for (; k < WM_CLI_ARRAY_LEN(names); k++) {
            size_t n = strlen(names[k]);
            if (strncmp(a, names[k], n) == 0 && (a[n] == '=' || !a[n])) {
                if (a[n] == '=') val = a + n + 1;
                else if (i + 1 < argc) val = argv[++i];
                else return cli_usage_error(NULL, "%s needs a value", a), -1;
                break;
            }
        }
        if (k == WM_CLI_ARRAY_LEN(names))
            return cli_usage_error(NULL, "unknown option `%s`", a), -1;
        if (k == 0) {
            o->invoke = val;
        } else if (k == 1) {
            if (!val[0] || val[0] == '=')
                return cli_usage_error(NULL,
                    "--env needs K=V or K, got `%s`", val), -1;
            if (strchr(val, '=')) {
                o->env[o->envc++] = val;
            } else {
                /* --env K: pass the host's K=V through, if set. */
                size_t kl = strlen(val);
                for (char **e = environ; e && *e; e++)
                    if (strncmp(*e, val, kl) == 0 && (*e)[kl] == '=') {
                        o->env[o->envc++] = *e;
                        break;
                    }
            }
        } else if (k == 2 || k == 3) {
            if (!parse_dir(val, k == 3, &o->dirs[o->n_dirs]))
                return cli_usage_error(NULL,
                    "%s needs HOST_DIR[::GUEST_PATH]", a), -1;
            o->n_dirs++;
        } else if (k == 4) {
            o->listen[o->n_listen++] = val;
        } else if (k == 6) {
            o->nn_preload[o->n_nn_preload++] = val;
        } else if (k == 7) {
            o->allow_bind[o->n_allow_bind++] = val;
        } else if (k == 8) {
            if (strcmp(val, "none") == 0) o->net_none = true;
            else o->allow_net[o->n_allow_net++] = val;
        } else if (!parse_size(val, &o->max_memory)) {
            return cli_usage_error(NULL,
                "--max-memory needs BYTES[K|M|G] (1 byte to "
                               "4G), got `%s`", val), -1;
        }
    }
    if (i == argc) return cli_usage_error(NULL,
        "run: missing FILE.wasm%s", ""), -1;
    return i;
}

/* WASI-NN diagnostics to stderr, `stream-stdout` text to stdout (flushed:
 * the guest's own writes go to fd 1 unbuffered). */
static void nn_output(void *ud, wm_nn_output_kind kind, const char *text,
                      size_t len) {
    (void)ud;
    if (kind == WM_NN_STDOUT) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
    } else {
        fprintf(stderr, "wasmind: wasi-nn: %.*s\n", (int)len, text);
    }
}

static int cmd_run(int argc, char **argv) {
    run_opts o = {0};
    o.env = calloc((size_t)argc + 1, sizeof *o.env);
    o.dirs = calloc((size_t)argc + 1, sizeof *o.dirs);
    o.listen = calloc((size_t)argc + 1, sizeof *o.listen);
    o.listen_ports = calloc((size_t)argc + 1, sizeof *o.listen_ports);
    o.nn_preload = calloc((size_t)argc + 1, sizeof *o.nn_preload);
    o.allow_bind = calloc((size_t)argc + 1, sizeof *o.allow_bind);
    o.allow_net = calloc((size_t)argc + 1, sizeof *o.allow_net);
    if (!o.env || !o.dirs || !o.listen || !o.listen_ports || !o.nn_preload ||
        !o.allow_bind ||
        !o.allow_net) {
        run_opts_free(&o);
        fprintf(stderr, "wasmind: error: out of memory\n");
        return EXIT_ERR;
    }
    int i = parse_run_opts(argc, argv, &o);
    if (i < 0) {
        run_opts_free(&o);
        return EXIT_USAGE;
    }
    const char *invoke = o.invoke;
    const char *path = argv[i];
    int gargc = argc - i;
    char **gargv = argv + i;

    cli_file file;
    if (!cli_file_read(path, &file)) {
        run_opts_free(&o);
        return EXIT_ERR;
    }
    wm_error err;
    wm_status st;
    int rc = EXIT_ERR;
    wm_module *mod = NULL;
    wm_instance *inst = NULL;
    wm_linker *lk = NULL;
    wm_config rc_cfg = {.max_memory_bytes = o.max_memory};
    wm_runtime *rt = wm_runtime_new(&rc_cfg);
    if (!rt || !(lk = wm_linker_new(rt))) {
        fprintf(stderr, "wasmind: error: out of memory\n");
        goto out;
    }
    wm_wasi_config wc = {
        .argc = gargc, .argv = (const char *const *)gargv,
        .envc = o.envc, .envp = o.env,
        .n_preopens = o.n_dirs, .preopens = o.dirs,
        .n_listen = o.n_listen, .listen = o.listen,
        .listen_ports = o.listen_ports,
        .n_allow_bind = o.n_allow_bind, .allow_bind = o.allow_bind,
        .n_allow_net = o.n_allow_net, .allow_net = o.allow_net,
        .flags = o.net_none ? WM_WASI_NET_NO_LOOPBACK : 0,
    };
    /* Testing aid: force the openat-walk path resolver (see wasmind.h). */
    const char *no2 = getenv("WASMIND_WASI_NO_OPENAT2");
    if (no2 && no2[0] && strcmp(no2, "0") != 0)
        wc.flags |= WM_WASI_NO_OPENAT2;
    if ((st = wm_module_load(rt, file.bytes, file.len, path, &mod, &err))) {
        rc = exit_code_of(st, &err);
        goto out;
    }
    cli_file_free(&file);   /* the module has its own copy */
    wm_nn_config nc = {
        .n_preloads = o.n_nn_preload, .preloads = o.nn_preload,
        .output = nn_output,
    };
    const char *strict = getenv("WASMIND_NN_STRICT_OUTPUT");
    if (strict && strict[0] && strcmp(strict, "0") != 0)
        nc.flags |= WM_NN_STRICT_OUTPUT_SIZE;
    if ((st = wm_linker_define_wasi(lk, &wc, &err)) ||
        (st = wm_linker_define_wasi_nn(lk, &nc, &err)) ||
        (st = wm_instantiate(lk, mod, &inst, &err))) {
        rc = exit_code_of(st, &err);
        goto out;
    }
    /* A --listen on port 0 got a free port: say which. */
    for (int k = 0; k < o.n_listen; k++) {
        const char *colon = strrchr(o.listen[k], ':');
        if (colon && !strcmp(colon, ":0"))
            fprintf(stderr, "wasmind: listening on %.*s:%d\n",
                    (int)(colon - o.listen[k]), o.listen[k],
                    o.listen_ports[k]);
    }
    if (invoke) {
        rc = invoke_export(inst, invoke, gargc - 1, gargv + 1);
        goto out;
    }
    /* A command runs `_start`; a module without one has done its work
     * (its start function) by being instantiated. */
    wm_func *start = wm_instance_func(inst, "_start");
    rc = start ? exit_code_of(wm_func_call(start, NULL, 0, NULL, 0, &err),
                              &err)
               : EXIT_OK;
out:
    fflush(stdout);
    wm_runtime_free(rt);
    cli_file_free(&file);
    run_opts_free(&o);
    return rc;
}

int main(int argc, char **argv) {
    /* A guest writing to a closed pipe gets EPIPE from fd_write, as a
     * native program ignoring SIGPIPE would, instead of killing us. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("wasmind %s\n", WM_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "validate") == 0) return cmd_validate(argc - 2, argv + 2);
    if (strcmp(cmd, "llm") == 0) return cli_llm(argc - 2, argv + 2);
    if (strcmp(cmd, "quantize") == 0) return cli_quantize(argc - 2, argv + 2);
    if (strcmp(cmd, "convert") == 0) return cli_convert(argc - 2, argv + 2);
    if (strcmp(cmd, "serve") == 0) return cli_serve(argc - 2, argv + 2);
    if (cmd[0] == '-') return cmd_run(argc - 1, argv + 1);
    /* `wasmind FILE.wasm ...`: a path, not a command name. */
    if (strchr(cmd, '/') || strchr(cmd, '.'))
        return cmd_run(argc - 1, argv + 1);
    return cli_usage_error(NULL, "unknown command `%s`", cmd);
}
