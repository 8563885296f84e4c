/*
 * wasmind.h — the embedding API of wasmind, a WebAssembly 2.0 runtime.
 *
 * This is the only public header. Everything is reached through opaque
 * handles; every fallible call returns a wm_status (WM_OK == 0) and fills
 * a caller-provided wm_error with the code, a message and its location.
 *
 * Worked example: load a module, give it WASI, run its `_start`.
 *
 *     wm_error err;
 *     wm_runtime *rt = wm_runtime_new(NULL);             // default limits
 *     wm_module *mod = NULL;
 *     wm_instance *inst = NULL;
 *     wm_linker *lk = wm_linker_new(rt);
 *     const char *argv[] = {"app.wasm", "hello"};
 *     wm_wasi_config wc = {.argc = 2, .argv = argv};
 *     if (wm_module_load(rt, bytes, len, "app.wasm", &mod, &err) ||
 *         wm_linker_define_wasi(lk, &wc, &err) ||
 *         wm_instantiate(lk, mod, &inst, &err))
 *         goto fail;
 *     wm_func *start = wm_instance_func(inst, "_start");
 *     wm_status st = wm_func_call(start, NULL, 0, NULL, 0, &err);
 *     if (st == WM_EXIT) exit_code = err.exit_code;      // proc_exit(n)
 *     else if (st) { char buf[1024]; wm_error_format(&err, buf, sizeof buf);
 *                    fprintf(stderr, "%s\n", buf); }     // trap + backtrace
 *   fail:
 *     wm_runtime_free(rt);   // frees modules, instances and the linker too
 *
 * Ownership: a runtime is a "store" in the spec's sense. Modules, linkers,
 * instances and the memories/tables/globals/functions they create belong to
 * the runtime that made them and are all freed by wm_runtime_free(); the
 * per-object _free functions release one object early (the caller promises
 * nothing else still refers to it). Byte buffers passed in are copied:
 * the caller may free them when the call returns. A runtime is used by one
 * thread at a time.
 */
#ifndef WASMIND_H
#define WASMIND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WM_API __attribute__((visibility("default")))
#else
#define WM_API
#endif

#define WM_VERSION "0.1.0"

/* ==== Status codes and errors ========================================== */

/*
 * Every status, with its stable text: the WebAssembly spec's own wording
 * where the spec has one, so messages compare by substring. Load-time
 * categories (MALFORMED, INVALID, UNLINKABLE) carry the spec's precise
 * reason ("unexpected end", "type mismatch", ...) in wm_error.msg; traps
 * have one code each. WM_EXIT is not a failure: a WASI proc_exit.
 */
#define WM_STATUS_LIST(X) \
    X(WM_OK, "ok")                                 \
    X(WM_ERR_MALFORMED, "malformed module")        \
    X(WM_ERR_INVALID, "invalid module")            \
    X(WM_ERR_UNLINKABLE, "unlinkable")             \
    X(WM_TRAP_UNREACHABLE, "unreachable")          \
    X(WM_TRAP_DIV_ZERO, "integer divide by zero")  \
    X(WM_TRAP_INT_OVERFLOW, "integer overflow")    \
    X(WM_TRAP_INVALID_CONV, "invalid conversion to integer") \
    X(WM_TRAP_OOB_MEMORY, "out of bounds memory access") \
    X(WM_TRAP_OOB_TABLE, "out of bounds table access") \
    X(WM_TRAP_UNDEF_ELEM, "undefined element")     \
    X(WM_TRAP_UNINIT_ELEM, "uninitialized element") \
    X(WM_TRAP_INDIRECT_TYPE, "indirect call type mismatch") \
    X(WM_TRAP_STACK_EXHAUSTED, "call stack exhausted") \
    X(WM_TRAP_INTERRUPTED, "interrupted")          \
    X(WM_TRAP_HOST, "host function trapped")       \
    X(WM_EXIT, "exit")                             \
    X(WM_ERR_NOMEM, "out of memory")               \
    X(WM_ERR_IO, "i/o error")                      \
    X(WM_ERR_ARG, "invalid argument")              \
    X(WM_ERR_NOT_FOUND, "not found")               \
    X(WM_ERR_UNSUPPORTED, "not supported")         \
    X(WM_ERR_LIMIT, "resource limit exceeded")     \
    X(WM_ERR_FORMAT, "malformed file")             \
    /* end */

typedef enum wm_status {
#define WM_STATUS_ENUM_(code, text) code,
    WM_STATUS_LIST(WM_STATUS_ENUM_)
#undef WM_STATUS_ENUM_
    WM_STATUS_COUNT
} wm_status;

/* The stable text of a status ("integer divide by zero", ...). */
WM_API const char *wm_status_str(wm_status st);

#define WM_TRACE_MAX 16

/*
 * What went wrong and where. Fields that do not apply are -1 / empty.
 * msg holds the stable text first (the spec's wording, e.g. "type
 * mismatch"), then ": detail" where there is one.
 */
typedef struct wm_error {
    wm_status code;
    char msg[256];
    char where[128];      /* file or module name ("fib.wasm") */
    int64_t byte_off;     /* offset in the module bytes, or -1 */
    int64_t func_idx;     /* function index, or -1 */
    int64_t instr_off;    /* offset of the instruction in the function
                             body (from the body's start), or -1 */
    int exit_code;        /* with WM_EXIT: the proc_exit status */
    /* Traps: the call stack at the trap, innermost first. */
    uint32_t n_trace;
    struct {
        uint32_t func_idx;
        char name[48];    /* from the `name` section or the export name;
                             empty when unknown */
    } trace[WM_TRACE_MAX];
} wm_error;

/*
 * Write "<where>:0x<off>: func <i> (<name>) +0x<instr>: <msg>" followed, for
 * traps, by one "  at #k <name> (func <i>)" line per frame. Returns buf.
 */
WM_API char *wm_error_format(const wm_error *err, char *buf, size_t size);

/* ==== Values ============================================================ */

typedef enum wm_valtype {
    WM_I32 = 0x7f,
    WM_I64 = 0x7e,
    WM_F32 = 0x7d,
    WM_F64 = 0x7c,
    WM_V128 = 0x7b,
    WM_FUNCREF = 0x70,
    WM_EXTERNREF = 0x6f,
} wm_valtype;

/*
 * A typed value. Floats are carried as bits (f32_bits/f64_bits alias
 * f32/f64) so NaN payloads survive. A null reference is ref == NULL; a
 * funcref is a wm_func*, an externref is any host pointer.
 */
typedef struct wm_value {
    wm_valtype type;
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
        uint32_t f32_bits;
        uint64_t f64_bits;
        void *ref;
    } of;
} wm_value;

/* The text name of a value type ("i32", "funcref", ...); "?" if unknown. */
WM_API const char *wm_valtype_str(wm_valtype t);

/* ==== Runtime ============================================================ */

typedef struct wm_runtime wm_runtime;
typedef struct wm_module wm_module;
typedef struct wm_instance wm_instance;
typedef struct wm_linker wm_linker;
typedef struct wm_func wm_func;
typedef struct wm_memory wm_memory;
typedef struct wm_table wm_table;
typedef struct wm_global wm_global;

typedef struct wm_config {
    /* Operand/locals stack, in 8-byte slots (0: default 1 Mi = 8 MiB). */
    uint32_t stack_slots;
    /* Maximum nesting of Wasm calls (0: default 100000). */
    uint32_t max_call_depth;
    /* Cap on every linear memory, in bytes (0: 4 GiB, the Wasm limit).
     * memory.grow past it returns -1, as the spec allows. */
    uint64_t max_memory_bytes;
} wm_config;

/* cfg may be NULL for defaults. Returns NULL only when out of memory. */
WM_API wm_runtime *wm_runtime_new(const wm_config *cfg);
WM_API void wm_runtime_free(wm_runtime *rt);

/* ==== Modules ============================================================ */

/*
 * Decode, validate and compile a module. `name` (may be NULL) is used in
 * error messages and traces. On WM_OK *out is the new module; on failure
 * *out is NULL and err says why (WM_ERR_MALFORMED / WM_ERR_INVALID with the
 * byte offset, function index and instruction offset).
 */
WM_API wm_status wm_module_load(wm_runtime *rt, const uint8_t *bytes,
                                size_t len, const char *name,
                                wm_module **out, wm_error *err);
WM_API void wm_module_free(wm_module *mod);

typedef enum wm_extern_kind {
    WM_EXTERN_FUNC = 0,
    WM_EXTERN_TABLE = 1,
    WM_EXTERN_MEMORY = 2,
    WM_EXTERN_GLOBAL = 3,
} wm_extern_kind;

/* An import or export as the module declares it. Names are not
 * NUL-terminated in general (Wasm names may contain U+0000): use the
 * lengths. */
typedef struct wm_port {
    const char *module;      /* imports only */
    uint32_t module_len;
    const char *name;
    uint32_t name_len;
    wm_extern_kind kind;
} wm_port;

WM_API uint32_t wm_module_n_imports(const wm_module *mod);
WM_API uint32_t wm_module_n_exports(const wm_module *mod);
WM_API wm_port wm_module_import(const wm_module *mod, uint32_t i);
WM_API wm_port wm_module_export(const wm_module *mod, uint32_t i);

/* ==== Host functions ===================================================== */

typedef struct wm_call wm_call;

/*
 * A host function. `slots` holds the arguments in order, one 8-byte slot
 * each (i32 in the low 32 bits, floats as bits, references as pointers);
 * the function writes its results into the same array, from slot 0. The
 * array has max(n_params, n_results) slots.
 * Return WM_OK, WM_EXIT after wm_call_exit(), or a trap code; any other
 * status traps with WM_TRAP_HOST and the message set by wm_call_trap().
 */
typedef wm_status (*wm_host_fn)(wm_call *call, uint64_t *slots);

/*
 * Signatures are written "(params)results" with one letter per value:
 * i = i32, I = i64, f = f32, F = f64, r = funcref, e = externref.
 * Example: "(iiii)i" for WASI fd_write.
 */
typedef struct wm_host_func_def {
    const char *name;
    const char *sig;
    wm_host_fn fn;
} wm_host_func_def;

/* The instance that called the host function, its memory 0 (or NULL),
 * and the user data given when the functions were defined. */
WM_API wm_instance *wm_call_instance(wm_call *call);
WM_API wm_memory *wm_call_memory(wm_call *call);
WM_API void *wm_call_userdata(wm_call *call);
/* Request exit with a status: the host function then returns WM_EXIT. */
WM_API wm_status wm_call_exit(wm_call *call, int status);
/* Trap with a message: the host function then returns the result. */
WM_API wm_status wm_call_trap(wm_call *call, const char *msg);

/* ==== Store objects ====================================================== */

WM_API wm_memory *wm_memory_new(wm_runtime *rt, uint32_t min_pages,
                                uint32_t max_pages /* UINT32_MAX: none */);
/* Host view of linear memory. The base stays valid across growth (the
 * memory never moves). */
WM_API uint8_t *wm_memory_data(wm_memory *mem);
WM_API uint64_t wm_memory_size(const wm_memory *mem);   /* bytes */
/* Host pointer for guest range [off, off+len), or NULL when out of
 * bounds. Every host access to guest memory goes through this. */
WM_API void *wm_memory_span(wm_memory *mem, uint64_t off, uint64_t len);
/* Grow by delta pages; returns the old size in pages, or -1. */
WM_API int64_t wm_memory_grow(wm_memory *mem, uint32_t delta_pages);

WM_API wm_table *wm_table_new(wm_runtime *rt, wm_valtype elem_type,
                              uint32_t min, uint32_t max /* UINT32_MAX */,
                              void *init);
WM_API uint32_t wm_table_size(const wm_table *t);
WM_API wm_status wm_table_get(const wm_table *t, uint32_t i, void **out);

WM_API wm_global *wm_global_new(wm_runtime *rt, wm_value v, int mutable_);
WM_API wm_value wm_global_get(const wm_global *g);
WM_API wm_status wm_global_set(wm_global *g, wm_value v);

WM_API wm_func *wm_func_new_host(wm_runtime *rt, const char *sig,
                                 wm_host_fn fn, void *userdata);
WM_API uint32_t wm_func_n_params(const wm_func *f);
WM_API uint32_t wm_func_n_results(const wm_func *f);
WM_API wm_valtype wm_func_param(const wm_func *f, uint32_t i);
WM_API wm_valtype wm_func_result(const wm_func *f, uint32_t i);

/* ==== Linking and instances ============================================= */

typedef struct wm_extern {
    wm_extern_kind kind;
    union {
        wm_func *func;
        wm_table *table;
        wm_memory *memory;
        wm_global *global;
    } of;
} wm_extern;

/*
 * A linker maps (module, name) to store objects; instantiation resolves a
 * module's imports through it. Later definitions of the same pair replace
 * earlier ones (as the spec's `register` does).
 */
WM_API wm_linker *wm_linker_new(wm_runtime *rt);
WM_API void wm_linker_free(wm_linker *lk);
/* The runtime the linker belongs to (host modules such as WASI keep their
 * state as store objects of it). */
WM_API wm_runtime *wm_linker_runtime(const wm_linker *lk);
WM_API wm_status wm_linker_define(wm_linker *lk, const char *module,
                                  const char *name, wm_extern ext,
                                  wm_error *err);
/* Define n host functions under `module`, all sharing `userdata`. */
WM_API wm_status wm_linker_define_host(wm_linker *lk, const char *module,
                                       const wm_host_func_def *defs, size_t n,
                                       void *userdata, wm_error *err);
/* Make every export of `inst` importable as (name, export-name). */
WM_API wm_status wm_linker_define_instance(wm_linker *lk, const char *name,
                                           wm_instance *inst, wm_error *err);

/*
 * Resolve imports, allocate memories/tables/globals, run the element and
 * data segment initialisers and the start function. On failure *out is
 * NULL: WM_ERR_UNLINKABLE ("unknown import", "incompatible import type"),
 * or a trap. As the spec says, effects of segment initialisation on
 * imported memories/tables before a trap remain.
 */
WM_API wm_status wm_instantiate(wm_linker *lk, const wm_module *mod,
                                wm_instance **out, wm_error *err);
WM_API void wm_instance_free(wm_instance *inst);

WM_API int wm_instance_export(wm_instance *inst, const char *name,
                              size_t name_len, wm_extern *out);
/* Exported function by NUL-terminated name, or NULL. */
WM_API wm_func *wm_instance_func(wm_instance *inst, const char *name);
/* Memory 0 of the instance (defined or imported), or NULL. */
WM_API wm_memory *wm_instance_memory(wm_instance *inst);

/*
 * Call a function. n_args/n_results must equal its arity and arg types
 * must match (WM_ERR_ARG otherwise). Traps return their code with the
 * backtrace in err; WM_EXIT carries err->exit_code.
 */
WM_API wm_status wm_func_call(wm_func *f, const wm_value *args, size_t n_args,
                              wm_value *results, size_t n_results,
                              wm_error *err);

/* ==== WASI preview 1 ===================================================== */

/*
 * A directory the guest may use: it sees `guest_path` (the name
 * fd_prestat_dir_name reports; wasi-libc resolves the guest's paths
 * against it) and nothing outside `host_path`. Every path the guest passes
 * is resolved beneath the directory: `..` past it, absolute paths and
 * symlinks leading out (absolute or relative) fail with ENOTCAPABLE.
 * read_only != 0 withholds every right that changes the file system
 * (creating, writing, truncating, renaming, linking, removing, setting
 * times), for the directory and for everything opened beneath it.
 */
typedef struct wm_wasi_preopen {
    const char *host_path;       /* an existing directory on the host */
    const char *guest_path;      /* guest-visible name; NULL: host_path */
    int read_only;
} wm_wasi_preopen;

/* wm_wasi_config.flags */
enum {
    /* Resolve guest paths with wasmind's own component-by-component
     * openat(O_NOFOLLOW) walk even where the kernel has openat2
     * (RESOLVE_BENEATH). Both give the same answers; this exists so tests
     * can exercise the fallback used on kernels before Linux 5.6. */
    WM_WASI_NO_OPENAT2 = 1,
    /* No outbound connections at all when allow_net is empty (normally
     * loopback destinations are allowed then; see wm_wasi_config). */
    WM_WASI_NET_NO_LOOPBACK = 2,
};

/*
 * The guest's WASI world. Pointers need only live during
 * wm_linker_define_wasi (everything is copied or opened then). The WASI
 * fd table is: 0, 1, 2 = stdio; 3.. = the pre-opened directories in
 * order; then one fd per listening socket, in order.
 *
 * Sockets the guest makes itself (WasmEdge's socket extension: sock_open,
 * sock_bind, sock_listen, sock_connect, sock_send_to, ...) are sandboxed
 * by two lists of grants, each "HOST:PORT":
 *   HOST  IPv4 dotted quad, [IPv6], `localhost` (127.0.0.1 and [::1]),
 *         `*` (any address of either family); allow_bind also takes an
 *         empty HOST (= 0.0.0.0, as listen does) and 0.0.0.0 / [::],
 *         which grant that wildcard and every address of its family.
 *         No names are resolved (a static binary has no resolver).
 *   PORT  a number (0 = "the kernel picks", for binds) or `*` (any).
 * allow_bind: sock_bind (and hence listening and UDP receiving) only to
 *   an address and port some grant matches. sock_listen on a socket that
 *   was never bound is refused (the kernel would bind it to a random port
 *   on every interface).
 * allow_net: sock_connect and sock_send_to only to a destination some
 *   grant matches. With no allow_net grants, loopback destinations
 *   (127.0.0.0/8, ::1; 0.0.0.0 and :: count as loopback, since the
 *   kernel connects them there) are allowed, unless flags has
 *   WM_WASI_NET_NO_LOOPBACK. IPv4-mapped IPv6 addresses are matched as
 *   IPv4.
 * Refused calls return EACCES (2). A malformed grant fails
 * wm_linker_define_wasi with WM_ERR_ARG. sock_getaddrinfo resolves
 * numeric hosts and `localhost` only (no DNS, no /etc/hosts: EAI_NONAME
 * for other names), services as numbers, `http` or `https`.
 */
typedef struct wm_wasi_config {
    int argc;
    const char *const *argv;     /* argv[0] is the program name */
    int envc;
    const char *const *envp;     /* "KEY=VALUE" strings */
    int stdin_fd, stdout_fd, stderr_fd;  /* host fds; 0/1/2 when all are 0 */
    int n_preopens;
    const wm_wasi_preopen *preopens;
    /* Listening TCP sockets, "ADDR:PORT" (IPv4 dotted or [IPv6]; port 0
     * picks a free port), bound and listening when the call returns; the
     * guest takes connections with sock_accept. */
    int n_listen;
    const char *const *listen;
    int *listen_ports;           /* optional [n_listen]: receives each
                                    socket's bound port (what port 0 got) */
    unsigned flags;              /* WM_WASI_* */
    /* Network grants (see above), "HOST:PORT" each. */
    int n_allow_bind;
    const char *const *allow_bind;
    int n_allow_net;
    const char *const *allow_net;
} wm_wasi_config;

/*
 * Define `wasi_snapshot_preview1` (and `wasi_unstable`) in the linker.
 * The config is copied; directories are opened and sockets bound now
 * (WM_ERR_IO with the path or address when that fails). The state, and
 * the host fds it holds, are released with the runtime.
 */
WM_API wm_status wm_linker_define_wasi(wm_linker *lk,
                                       const wm_wasi_config *cfg,
                                       wm_error *err);

/* ==== WASI-NN (wasi_ephemeral_nn, WasmEdge's GGML ABI) ================= */

/*
 * Machine-learning inference for guests: the `wasi_ephemeral_nn` module as
 * WasmEdge defines it (all 12 functions, its error codes, struct layouts
 * and GGML config keys), so LlamaEdge-style guests run unchanged. The one
 * backend is GGML (encoding 6), served by wasmind's own LLM engine (GGUF
 * llama / qwen2 models, CPU only).
 *
 *     const char *pre[] = {"default:GGML:AUTO:tinyllama-q4_0.gguf"};
 *     wm_nn_config nc = {.n_preloads = 1, .preloads = pre};
 *     if (wm_linker_define_wasi_nn(lk, &nc, &err)) ...  // before instantiate
 *
 * A preload is "NAME:ENCODING:TARGET:PATH" (wasmedge's --nn-preload):
 * ENCODING and TARGET are case-insensitive (GGML; AUTO, CPU, GPU, TPU),
 * everything after the third ':' is the path. The model is opened lazily,
 * at the guest's first load_by_name of NAME (a missing file is then the
 * guest's error 103, model_not_found). WM_ERR_ARG for malformed entries or
 * unknown names, WM_ERR_UNSUPPORTED for a backend other than GGML or the
 * GPU/TPU targets (this build runs on the CPU).
 *
 * Guests may load models only through the preload table or as GGUF bytes
 * in their own memory: a `preload:PATH` builder must name a preloaded path
 * (the guest cannot open arbitrary host files this way).
 *
 * State (graphs = loaded models, execution contexts = KV caches and
 * outputs) belongs to the runtime and is released by wm_runtime_free.
 */
typedef enum wm_nn_output_kind {
    WM_NN_LOG = 0,      /* a diagnostic line (errors always; info lines
                           when the guest's config sets enable-log) */
    WM_NN_STDOUT = 1,   /* generated text of a `compute` with the config
                           key stream-stdout: true */
} wm_nn_output_kind;

enum {
    /* get_output / get_output_single return too_large (7) when the
     * output exceeds the guest's buffer size, as WasmEdge after 0.17.1
     * does. Off by default: released WasmEdge (and LlamaEdge, which passes
     * a size of 0) copy the whole output if it fits in linear memory. */
    WM_NN_STRICT_OUTPUT_SIZE = 1,
};

typedef struct wm_nn_config {
    int n_preloads;
    const char *const *preloads;  /* "NAME:ENCODING:TARGET:PATH" */
    unsigned flags;               /* WM_NN_* */
    /* Where diagnostics and streamed text go (NULL: dropped). text is
     * not NUL-terminated; log lines have no trailing newline. */
    void (*output)(void *ud, wm_nn_output_kind kind, const char *text,
                   size_t len);
    void *output_ud;
} wm_nn_config;

/*
 * Define `wasi_ephemeral_nn` in the linker. The config is copied (strings
 * included). Errors as described above; nothing is defined on failure.
 */
WM_API wm_status wm_linker_define_wasi_nn(wm_linker *lk,
                                          const wm_nn_config *cfg,
                                          wm_error *err);

#ifdef __cplusplus
}
#endif
#endif
