/*
 * nn.h — the contract between the WASI-NN host module (wasi_nn.c: handles,
 * guest memory, the 12 `wasi_ephemeral_nn` functions) and its one backend,
 * GGML (ggml.c: config JSON, graphs = loaded llm_model, execution
 * contexts = llm_ctx + generation session + outputs). See
 * ../shared/specs/wasi-nn.md for the ABI; the numbers below are its
 * nn_errno values.
 *
 * The backend never sees guest pointers: wasi_nn.c checks every (pointer,
 * length) against linear memory and hands over host byte ranges, which
 * the backend copies before returning. Every backend function returns an
 * nn_errno and logs the reason of a failure through nn_host.
 */
#ifndef WM_NN_H
#define WM_NN_H

#include "../util/common.h"

enum nn_errno {
    NN_SUCCESS = 0,
    NN_INVALID_ARGUMENT = 1,
    NN_INVALID_ENCODING = 2,
    NN_MISSING_MEMORY = 3,
    NN_BUSY = 4,
    NN_RUNTIME_ERROR = 5,
    NN_UNSUPPORTED_OPERATION = 6,
    NN_TOO_LARGE = 7,
    NN_NOT_FOUND = 8,
    NN_END_OF_SEQUENCE = 100,
    NN_CONTEXT_FULL = 101,
    NN_PROMPT_TOO_LONG = 102,
    NN_MODEL_NOT_FOUND = 103,
};

/* graph_encoding and execution_target values (spec §4.2, §4.3). */
enum { NN_ENCODING_GGML = 6, NN_ENCODING_MAX = 14 };
enum { NN_TARGET_CPU = 0, NN_TARGET_GPU = 1, NN_TARGET_TPU = 2,
       NN_TARGET_AUTO = 3 };

/* What the host module shares with the backend: flags and where
 * diagnostics and streamed text go (wm_nn_config's callback). */
typedef struct nn_host {
    unsigned flags;          /* WM_NN_* */
    void (*output)(void *ud, wm_nn_output_kind kind, const char *text,
                   size_t len);
    void *ud;
} nn_host;

/* One diagnostic line ("wasi-nn: ..." is the caller's business). */
WM_INTERNAL void nn_log(const nn_host *h, const char *fmt, ...)
    WM_PRINTF(2, 3);

/* ==== GGML backend (ggml.c) ============================================== */

typedef struct ggml_graph ggml_graph;
typedef struct ggml_exec ggml_exec;

/*
 * Load a model from a host file or from bytes (copied; the graph keeps
 * the copy the model points into), with an optional config JSON (cfg may
 * be NULL / cfg_len 0). Errors: NN_MODEL_NOT_FOUND (no such file),
 * NN_INVALID_ENCODING (malformed JSON), NN_INVALID_ARGUMENT (a key of the
 * wrong type or value, a file that is not a usable GGUF model),
 * NN_UNSUPPORTED_OPERATION (a feature this engine lacks: grammar, images,
 * embeddings), NN_RUNTIME_ERROR (out of memory). *out holds one reference.
 */
WM_INTERNAL int ggml_graph_load_file(const nn_host *h, const char *path,
                                     const uint8_t *cfg, size_t cfg_len,
                                     ggml_graph **out);
WM_INTERNAL int ggml_graph_load_bytes(const nn_host *h, const uint8_t *bytes,
                                      size_t len, const uint8_t *cfg,
                                      size_t cfg_len, ggml_graph **out);
/* Drop one reference (the graph handle's or a context's); the model is
 * freed with the last. NULL is fine. */
WM_INTERNAL void ggml_graph_release(ggml_graph *g);

/* A context (engine context sized by the graph's config, which it
 * copies; holds a graph reference). NN_INVALID_ARGUMENT / RUNTIME_ERROR. */
WM_INTERNAL int ggml_exec_new(ggml_graph *g, ggml_exec **out);
WM_INTERNAL void ggml_exec_free(ggml_exec *e);

/* Index 1: config JSON for this context; any other index: the prompt
 * (UTF-8 bytes, already templated). */
WM_INTERNAL int ggml_set_input(ggml_exec *e, uint32_t index,
                               const uint8_t *data, size_t len);
WM_INTERNAL int ggml_compute(ggml_exec *e);
WM_INTERNAL int ggml_compute_single(ggml_exec *e);
WM_INTERNAL int ggml_fini_single(ggml_exec *e);
/* Output `index` (1: metadata JSON; other: text) of the last compute
 * (single = false) or compute_single (the last token's text). The bytes
 * stay valid until the next call on e. */
WM_INTERNAL void ggml_get_output(ggml_exec *e, uint32_t index, bool single,
                                 const char **data, size_t *len);

#endif
