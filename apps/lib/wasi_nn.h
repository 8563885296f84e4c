/*
 * wasi_nn.h — guest side of WASI-NN as WasmEdge defines it
 * (`wasi_ephemeral_nn`, the GGML / llama.cpp flavour LlamaEdge uses), for
 * C programs built with clang --target=wasm32-wasi. The raw imports are
 * declared exactly as the host exports them (every parameter i32, result
 * an nn errno); wasi_nn.c adds small helpers on top.
 *
 *     wnn_graph g; wnn_ctx c;
 *     if (wnn_load_by_name("default", "{\"temp\": 0}", &g) ||
 *         wasi_nn_init_execution_context(g, &c) ||
 *         wnn_set_text(c, 0, prompt, strlen(prompt)))
 *         ...
 *     for (;;) {                         // streaming: one token per call
 *         int32_t rc = wasi_nn_compute_single(c);
 *         if (rc != WNN_SUCCESS && rc != WNN_END_OF_SEQUENCE) ...;
 *         size_t n; wnn_get_output(c, 0, true, buf, sizeof buf, &n);
 *         fwrite(buf, 1, n, stdout);
 *         if (rc == WNN_END_OF_SEQUENCE) break;
 *     }
 *     wasi_nn_fini_single(c);
 *
 * Inputs of the GGML backend: index 0 the prompt (UTF-8, already in the
 * model's chat format, see chat_template.h), index 1 config JSON
 * ({"n-predict": 128, "temp": 0.8, ...}). Outputs: 0 the text, 1 the
 * metadata {"input_tokens": N, "output_tokens": N, ...}.
 */
#ifndef WASI_NN_H
#define WASI_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t wnn_graph;
typedef uint32_t wnn_ctx;

/* nn_errno: what every function returns. */
enum {
    WNN_SUCCESS = 0,
    WNN_INVALID_ARGUMENT = 1,
    WNN_INVALID_ENCODING = 2,
    WNN_MISSING_MEMORY = 3,
    WNN_BUSY = 4,
    WNN_RUNTIME_ERROR = 5,
    WNN_UNSUPPORTED_OPERATION = 6,
    WNN_TOO_LARGE = 7,
    WNN_NOT_FOUND = 8,
    WNN_END_OF_SEQUENCE = 100,
    WNN_CONTEXT_FULL = 101,
    WNN_PROMPT_TOO_LONG = 102,
    WNN_MODEL_NOT_FOUND = 103,
};

/* graph_encoding, execution_target, tensor_type (current numbering). */
enum { WNN_ENCODING_GGML = 6 };
enum { WNN_TARGET_CPU = 0, WNN_TARGET_GPU = 1, WNN_TARGET_TPU = 2,
       WNN_TARGET_AUTO = 3 };
enum { WNN_TYPE_F16 = 0, WNN_TYPE_F32 = 1, WNN_TYPE_F64 = 2, WNN_TYPE_U8 = 3,
       WNN_TYPE_I32 = 4, WNN_TYPE_I64 = 5 };

/* A graph builder: one byte buffer (the model, or "preload:PATH", then
 * optionally config JSON). 8 bytes on wasm32. */
typedef struct wnn_builder {
    const void *data;
    uint32_t len;
} wnn_builder;

/* A tensor: 20 bytes on wasm32 (the type is read as a u32). */
typedef struct wnn_tensor {
    const uint32_t *dims;
    uint32_t n_dims;
    uint32_t type;
    const void *data;
    uint32_t len;
} wnn_tensor;

#if defined(__wasm32__)
_Static_assert(sizeof(wnn_builder) == 8, "graph_builder layout");
_Static_assert(sizeof(wnn_tensor) == 20, "tensor layout");
#endif

#define WNN_IMPORT(n) \
    __attribute__((import_module("wasi_ephemeral_nn"), import_name(n)))

WNN_IMPORT("load")
int32_t wasi_nn_load(const wnn_builder *builders, uint32_t n_builders,
                     uint32_t encoding, uint32_t target, wnn_graph *out);
WNN_IMPORT("load_by_name")
int32_t wasi_nn_load_by_name(const char *name, uint32_t name_len,
                             wnn_graph *out);
WNN_IMPORT("load_by_name_with_config")
int32_t wasi_nn_load_by_name_with_config(const char *name, uint32_t name_len,
                                         const char *config,
                                         uint32_t config_len,
                                         wnn_graph *out);
WNN_IMPORT("init_execution_context")
int32_t wasi_nn_init_execution_context(wnn_graph g, wnn_ctx *out);
WNN_IMPORT("set_input")
int32_t wasi_nn_set_input(wnn_ctx c, uint32_t index, const wnn_tensor *t);
WNN_IMPORT("compute")
int32_t wasi_nn_compute(wnn_ctx c);
WNN_IMPORT("get_output")
int32_t wasi_nn_get_output(wnn_ctx c, uint32_t index, void *buf,
                           uint32_t buf_max, uint32_t *written);
WNN_IMPORT("compute_single")
int32_t wasi_nn_compute_single(wnn_ctx c);
WNN_IMPORT("get_output_single")
int32_t wasi_nn_get_output_single(wnn_ctx c, uint32_t index, void *buf,
                                  uint32_t buf_max, uint32_t *written);
WNN_IMPORT("fini_single")
int32_t wasi_nn_fini_single(wnn_ctx c);
WNN_IMPORT("unload")
int32_t wasi_nn_unload(wnn_graph g);
WNN_IMPORT("finalize_execution_context")
int32_t wasi_nn_finalize_execution_context(wnn_ctx c);

/* ==== Helpers (wasi_nn.c) ================================================ */

/* The errno's name ("context_full", ...), or "unknown". */
const char *wnn_strerror(int32_t e);
/* load_by_name_with_config with NUL-terminated strings (config may be
 * NULL or "" for none). */
int32_t wnn_load_by_name(const char *name, const char *config,
                         wnn_graph *out);
/* set_input of bytes as a 1-D u8 tensor (index 0: prompt, 1: config). */
int32_t wnn_set_text(wnn_ctx c, uint32_t index, const char *text,
                     size_t len);
/* get_output (single: get_output_single) into buf[0..cap); *len gets the
 * bytes written. Size buf for the largest output: the host (like released
 * WasmEdge) copies a whole output that fits in linear memory whatever cap
 * says, so a short buffer is overrun (the helper then returns
 * WNN_TOO_LARGE). One compute_single token is at most 1 KiB, the metadata
 * under 256 bytes; a whole compute's text is at most n-predict tokens. */
int32_t wnn_get_output(wnn_ctx c, uint32_t index, bool single, char *buf,
                       size_t cap, size_t *len);
/* From the metadata JSON (output 1): the value of an integer key, or -1. */
long long wnn_meta_int(const char *json, size_t len, const char *key);

#endif
