/*
 * wasi_nn.c — the `wasi_ephemeral_nn` host module (WasmEdge's ABI, see
 * ../shared/specs/wasi-nn.md): handle tables, the preload table, guest
 * memory access, and the 12 functions, which hand checked host byte ranges
 * to the GGML backend (ggml.c).
 *
 * Every function has the same shape:
 *   1. no memory 0 -> trap (as WasmEdge: a host-function error, not an
 *      errno);
 *   2. look up the handle (graph or context) -> invalid_argument if it is
 *      not live;
 *   3. turn every guest (pointer, length) it will touch into a host
 *      pointer through nn_span() -> wm_memory_span(), the one checked path,
 *      before any side effect -> invalid_argument if a range leaves memory;
 *   4. call the backend; write out-parameters only on success (and
 *      bytes-written also on too_large).
 * Nothing is sized by guest values except copies the backend makes of
 * guest data it keeps (prompt, model bytes), which linear memory bounds.
 *
 * Handles are indexes into two tables, the lowest free slot first (freed
 * slots are reused, as in released WasmEdge); NN_MAX_GRAPHS and
 * NN_MAX_EXECS bound them (runtime_error when full).
 *
 * State: one nn_state per wm_linker_define_wasi_nn(), a store object of
 * the runtime, freed (contexts, then graphs and models) by
 * wm_runtime_free.
 */
#include <stdlib.h>

#include "nn.h"
#include "../wasm/runtime.h"

#define NN_MAX_GRAPHS 256u
#define NN_MAX_EXECS 1024u
#define NN_TENSOR_SIZE 20u
#define NN_BUILDER_SIZE 8u

typedef struct nn_preload {
    char *name;
    size_t name_len;
    char *path;
    int32_t graph;           /* live graph loaded by this name, or -1 */
} nn_preload;

typedef struct nn_state {
    nn_host host;
    nn_preload *pre;
    int n_pre;
    ggml_graph *graphs[NN_MAX_GRAPHS];
    int32_t graph_pre[NN_MAX_GRAPHS];   /* preload index, or -1 */
    ggml_exec *execs[NN_MAX_EXECS];
} nn_state;

/* ==== Guest memory ====================================================== */

static uint8_t *nn_span(wm_call *call, uint32_t gptr, uint64_t len) {
    wm_memory *mem = wm_call_memory(call);
    return mem ? wm_memory_span(mem, gptr, len) : NULL;
}

static uint32_t ld32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void st32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t arg(const uint64_t *slots, int i) {
    return (uint32_t)slots[i];
}

/* Return errno e to the guest. */
static wm_status ret(uint64_t *slots, int e) {
    slots[0] = (uint32_t)e;
    return WM_OK;
}

/* ==== Handles ============================================================ */

static ggml_exec *exec_of(nn_state *s, uint32_t h) {
    return h < NN_MAX_EXECS ? s->execs[h] : NULL;
}

static ggml_graph *graph_of(nn_state *s, uint32_t h) {
    return h < NN_MAX_GRAPHS ? s->graphs[h] : NULL;
}

/* Store g under a new handle; false when the table is full (then g is
 * released). */
static bool graph_put(nn_state *s, ggml_graph *g, int32_t pre,
                      uint32_t *out) {
    for (uint32_t i = 0; i < NN_MAX_GRAPHS; i++)
        if (!s->graphs[i]) {
            s->graphs[i] = g;
            s->graph_pre[i] = pre;
            if (pre >= 0) s->pre[pre].graph = (int32_t)i;
            *out = i;
            return true;
        }
    nn_log(&s->host, "load: too many graphs (%u)", NN_MAX_GRAPHS);
    ggml_graph_release(g);
    return false;
}

static bool graph_slot_free(const nn_state *s) {
    for (uint32_t i = 0; i < NN_MAX_GRAPHS; i++)
        if (!s->graphs[i]) return true;
    return false;
}

static void nn_state_fini(void *ptr) {
    nn_state *s = ptr;
    for (uint32_t i = 0; i < NN_MAX_EXECS; i++) {
        ggml_exec_free(s->execs[i]);
        s->execs[i] = NULL;
    }
    for (uint32_t i = 0; i < NN_MAX_GRAPHS; i++) {
        ggml_graph_release(s->graphs[i]);
        s->graphs[i] = NULL;
    }
    for (int i = 0; i < s->n_pre; i++) {
        free(s->pre[i].name);
        free(s->pre[i].path);
    }
    free(s->pre);
    s->pre = NULL;
    s->n_pre = 0;
}

/* ==== Loading ============================================================ */

#define NN_BEGIN(call, s)                                                  \
    nn_state *s = wm_call_userdata(call);                                  \
    if (!wm_call_memory(call))                                             \
        return wm_call_trap(call, "wasi-nn: the module has no memory")

/* load(builder_array_ptr, builder_array_len, encoding, target,
 *      out_graph_ptr) */
static wm_status nn_load(wm_call *call, uint64_t *slots) {
    NN_BEGIN(call, s);
    uint32_t arr = arg(slots, 0), n = arg(slots, 1), enc = arg(slots, 2);
    uint32_t target = arg(slots, 3);
    uint8_t *out = nn_span(call, arg(slots, 4), 4);
    if (!out) return ret(slots, NN_INVALID_ARGUMENT);
    if (enc != NN_ENCODING_GGML) {
        nn_log(&s->host, "load: encoding %u not supported (GGML = 6 only)",
               enc);
        return ret(slots, NN_INVALID_ENCODING);
    }
    if (target > NN_TARGET_TPU) {
        nn_log(&s->host, "load: execution target %u not valid here", target);
        return ret(slots, NN_INVALID_ARGUMENT);
    }
    const uint8_t *ents = nn_span(call, arr, (uint64_t)n * NN_BUILDER_SIZE);
    if (n == 0 || !ents) return ret(slots, NN_INVALID_ARGUMENT);
    const uint8_t *model = nn_span(call, ld32(ents), ld32(ents + 4));
    uint32_t model_len = ld32(ents + 4);
    const uint8_t *cfg = NULL;
    uint32_t cfg_len = 0;
    if (n >= 2) {
        cfg_len = ld32(ents + 12);
        cfg = nn_span(call, ld32(ents + 8), cfg_len);
        if (!cfg) return ret(slots, NN_INVALID_ARGUMENT);
    }
    if (!model) return ret(slots, NN_INVALID_ARGUMENT);
    if (!graph_slot_free(s)) {
        nn_log(&s->host, "load: too many graphs (%u)", NN_MAX_GRAPHS);
        return ret(slots, NN_RUNTIME_ERROR);
    }
    ggml_graph *g = NULL;
    int rc;
    static const char pfx[] = "preload:";
    size_t pl = sizeof pfx - 1;
    if (model_len >= pl && memcmp(model, pfx, pl) == 0) {
        /* Only paths the host pre-loaded: a guest must not open host
         * files by name. */
        const char *path = (const char *)model + pl;
        size_t len = model_len - pl;
        int k = 0;
        for (; k < s->n_pre; k++)
            if (strlen(s->pre[k].path) == len &&
                memcmp(s->pre[k].path, path, len) == 0)
                break;
        if (k == s->n_pre) {
            nn_log(&s->host, "load: `preload:%.*s` is not a preloaded model "
                             "path (--nn-preload)",
                   (int)(len > 200 ? 200 : len), path);
            return ret(slots, NN_MODEL_NOT_FOUND);
        }
        rc = ggml_graph_load_file(&s->host, s->pre[k].path, cfg, cfg_len,
                                  &g);
    } else {
        rc = ggml_graph_load_bytes(&s->host, model, model_len, cfg, cfg_len,
                                   &g);
    }
    if (rc) return ret(slots, rc);
    uint32_t h;
    if (!graph_put(s, g, -1, &h)) return ret(slots, NN_RUNTIME_ERROR);
    st32(out, h);
    return ret(slots, NN_SUCCESS);
}

/* Shared by load_by_name and load_by_name_with_config. */
static wm_status nn_load_named(wm_call *call, uint64_t *slots, uint32_t name,
                               uint32_t name_len, uint32_t cfg_ptr,
                               uint32_t cfg_len, uint32_t out_ptr) {
    NN_BEGIN(call, s);
    const uint8_t *nm = nn_span(call, name, name_len);
    const uint8_t *cfg = nn_span(call, cfg_ptr, cfg_len);
    uint8_t *out = nn_span(call, out_ptr, 4);
    if (!nm || !cfg || !out) return ret(slots, NN_INVALID_ARGUMENT);
    int k = 0;
    for (; k < s->n_pre; k++)
        if (s->pre[k].name_len == name_len &&
            memcmp(s->pre[k].name, nm, name_len) == 0)
            break;
    if (k == s->n_pre) {
        nn_log(&s->host, "load_by_name: no model named `%.*s` "
                         "(--nn-preload NAME:GGML:AUTO:PATH)",
               (int)(name_len > 200 ? 200 : name_len), (const char *)nm);
        return ret(slots, NN_NOT_FOUND);
    }
    nn_preload *p = &s->pre[k];
    if (p->graph >= 0) {         /* cached: same handle, config ignored */
        st32(out, (uint32_t)p->graph);
        return ret(slots, NN_SUCCESS);
    }
    if (!graph_slot_free(s)) {
        nn_log(&s->host, "load: too many graphs (%u)", NN_MAX_GRAPHS);
        return ret(slots, NN_RUNTIME_ERROR);
    }
    ggml_graph *g = NULL;
    int rc = ggml_graph_load_file(&s->host, p->path, cfg, cfg_len, &g);
    if (rc) return ret(slots, rc);
    uint32_t h;
    if (!graph_put(s, g, k, &h)) return ret(slots, NN_RUNTIME_ERROR);
    st32(out, h);
    return ret(slots, NN_SUCCESS);
}

/* load_by_name(name_ptr, name_len, out_graph_ptr) */
static wm_status nn_load_by_name(wm_call *call, uint64_t *slots) {
    return nn_load_named(call, slots, arg(slots, 0), arg(slots, 1), 0, 0,
                         arg(slots, 2));
}

/* load_by_name_with_config(name_ptr, name_len, config_ptr, config_len,
 *                          out_graph_ptr) */
static wm_status nn_load_by_name_with_config(wm_call *call, uint64_t *slots) {
    return nn_load_named(call, slots, arg(slots, 0), arg(slots, 1),
                         arg(slots, 2), arg(slots, 3), arg(slots, 4));
}

/* unload(graph) */
static wm_status nn_unload(wm_call *call, uint64_t *slots) {
    NN_BEGIN(call, s);
    uint32_t h = arg(slots, 0);
    ggml_graph *g = graph_of(s, h);
    if (!g) return ret(slots, NN_INVALID_ARGUMENT);
    if (s->graph_pre[h] >= 0) s->pre[s->graph_pre[h]].graph = -1;
    s->graphs[h] = NULL;
    s->graph_pre[h] = -1;
    ggml_graph_release(g);      /* contexts keep their references */
    return ret(slots, NN_SUCCESS);
}

/* ==== Contexts =========================================================== */

/* init_execution_context(graph, out_ctx_ptr) */
static wm_status nn_init_execution_context(wm_call *call, uint64_t *slots) {
    NN_BEGIN(call, s);
    ggml_graph *g = graph_of(s, arg(slots, 0));
    uint8_t *out = nn_span(call, arg(slots, 1), 4);
    if (!g || !out) return ret(slots, NN_INVALID_ARGUMENT);
    uint32_t h = 0;
    while (h < NN_MAX_EXECS && s->execs[h]) h++;
    if (h == NN_MAX_EXECS) {
        nn_log(&s->host, "init_execution_context: too many contexts (%u)",
               NN_MAX_EXECS);
        return ret(slots, NN_RUNTIME_ERROR);
    }
    ggml_exec *e = NULL;
    int rc = ggml_exec_new(g, &e);
    if (rc) return ret(slots, rc);
    s->execs[h] = e;
    st32(out, h);
    return ret(slots, NN_SUCCESS);
}

/* finalize_execution_context(ctx) */
static wm_status nn_finalize_execution_context(wm_call *call,
                                               uint64_t *slots) {
    NN_BEGIN(call, s);
    uint32_t h = arg(slots, 0);
    ggml_exec *e = exec_of(s, h);
    if (!e) return ret(slots, NN_INVALID_ARGUMENT);
    s->execs[h] = NULL;
    ggml_exec_free(e);
    return ret(slots, NN_SUCCESS);
}

/*
 * set_input(ctx, index, tensor_ptr). The tensor (20 bytes):
 *
 *   +0 dims ptr | +4 dims count (u32s) | +8 type (u32; low byte checked)
 *   +12 data ptr | +16 data length in bytes
 *
 * The GGML backend ignores dimensions and type, but both must be valid:
 * the dimension array and the data inside memory, type 0..5 (f16 f32 f64
 * u8 i32 i64 — all accepted for GGML, spec §4.4).
 */
static wm_status nn_set_input(wm_call *call, uint64_t *slots) {
    NN_BEGIN(call, s);
    ggml_exec *e = exec_of(s, arg(slots, 0));
    const uint8_t *t = nn_span(call, arg(slots, 2), NN_TENSOR_SIZE);
    if (!e || !t) return ret(slots, NN_INVALID_ARGUMENT);
    const uint8_t *dims = nn_span(call, ld32(t), (uint64_t)ld32(t + 4) * 4);
    uint32_t type = ld32(t + 8) & 0xff;
    uint32_t len = ld32(t + 16);
    const uint8_t *data = nn_span(call, ld32(t + 12), len);
    if (!dims || !data || type > 5) {
        nn_log(&s->host, "set_input: %s",
               type > 5 ? "bad tensor type"
                        : "tensor dimensions or data outside memory");
        return ret(slots, NN_INVALID_ARGUMENT);
    }
    return ret(slots, ggml_set_input(e, arg(slots, 1), data, len));
}

/* compute(ctx) */
static wm_status nn_compute(wm_call *call, uint64_t *slots) {
    NN_BEGIN(call, s);
    ggml_exec *e = exec_of(s, arg(slots, 0));
    if (!e) return ret(slots, NN_INVALID_ARGUMENT);
    return ret(slots, ggml_compute(e));
}

/* compute_single(ctx) */
static wm_status nn_compute_single(wm_call *call, uint64_t *slots) {
    NN_BEGIN(call, s);
    ggml_exec *e = exec_of(s, arg(slots, 0));
    if (!e) return ret(slots, NN_INVALID_ARGUMENT);
    return ret(slots, ggml_compute_single(e));
}

/* fini_single(ctx) */
static wm_status nn_fini_single(wm_call *call, uint64_t *slots) {
    NN_BEGIN(call, s);
    ggml_exec *e = exec_of(s, arg(slots, 0));
    if (!e) return ret(slots, NN_INVALID_ARGUMENT);
    return ret(slots, ggml_fini_single(e));
}

/*
 * get_output[_single](ctx, index, out_buf_ptr, out_buf_max_size,
 * out_bytes_written_ptr). Spec §5.3: the buffer [ptr, ptr + max) must be
 * in memory; then the whole output is copied if [ptr, ptr + output_len)
 * is (whatever max says: LlamaEdge passes 0), else invalid_argument with
 * nothing written. WM_NN_STRICT_OUTPUT_SIZE: too_large with
 * bytes-written = the size needed when the output exceeds max.
 */
static wm_status nn_output_common(wm_call *call, uint64_t *slots,
                                  bool single) {
    NN_BEGIN(call, s);
    ggml_exec *e = exec_of(s, arg(slots, 0));
    uint32_t buf = arg(slots, 2), max = arg(slots, 3);
    uint8_t *bw = nn_span(call, arg(slots, 4), 4);
    if (!e || !bw || !nn_span(call, buf, max))
        return ret(slots, NN_INVALID_ARGUMENT);
    const char *data;
    size_t len;
    ggml_get_output(e, arg(slots, 1), single, &data, &len);
    if (len > UINT32_MAX) return ret(slots, NN_TOO_LARGE);
    if ((s->host.flags & WM_NN_STRICT_OUTPUT_SIZE) && len > max) {
        st32(bw, (uint32_t)len);
        return ret(slots, NN_TOO_LARGE);
    }
    uint8_t *dst = nn_span(call, buf, len);
    if (!dst) {
        nn_log(&s->host, "get_output: %zu bytes at 0x%x would leave memory",
               len, buf);
        return ret(slots, NN_INVALID_ARGUMENT);
    }
    memcpy(dst, data, len);
    st32(bw, (uint32_t)len);
    return ret(slots, NN_SUCCESS);
}

static wm_status nn_get_output(wm_call *call, uint64_t *slots) {
    return nn_output_common(call, slots, false);
}

static wm_status nn_get_output_single(wm_call *call, uint64_t *slots) {
    return nn_output_common(call, slots, true);
}

static const wm_host_func_def nn_defs[] = {
    {"load", "(iiiii)i", nn_load},
    {"load_by_name", "(iii)i", nn_load_by_name},
    {"load_by_name_with_config", "(iiiii)i", nn_load_by_name_with_config},
    {"init_execution_context", "(ii)i", nn_init_execution_context},
    {"set_input", "(iii)i", nn_set_input},
    {"compute", "(i)i", nn_compute},
    {"get_output", "(iiiii)i", nn_get_output},
    {"compute_single", "(i)i", nn_compute_single},
    {"get_output_single", "(iiiii)i", nn_get_output_single},
    {"fini_single", "(i)i", nn_fini_single},
    {"unload", "(i)i", nn_unload},
    {"finalize_execution_context", "(i)i", nn_finalize_execution_context},
};

/* ==== Definition ========================================================= */

static bool ieq(const char *a, size_t n, const char *b) {
    if (strlen(b) != n) return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != b[i]) return false;
    }
    return true;
}

/* Encodings by --nn-preload name (spec §4.2); all but GGML are known
 * and unsupported here. */
static const char *const nn_encodings[] = {
    "openvino", "onnx", "tensorflow", "pytorch", "pytorchaoti",
    "tensorflowlite", "autodetect", "neuralspeed", "whisper", "mlx",
    "piper", "chattts", "openvinogenai", "bitnet",
};

/* Parse "NAME:ENCODING:TARGET:PATH" into p (name and path copied). */
static wm_status parse_preload(const char *spec, nn_preload *p,
                               wm_error *err) {
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    const char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
    if (!c3 || c1 == spec || !c3[1])
        return wm_errf(err, WM_ERR_ARG,
                       "wasi-nn: preload `%s`: expected "
                       "NAME:ENCODING:TARGET:PATH",
                       spec);
    const char *enc = c1 + 1, *tgt = c2 + 1;
    size_t enc_len = (size_t)(c2 - enc), tgt_len = (size_t)(c3 - tgt);
    if (!ieq(enc, enc_len, "ggml")) {
        for (size_t i = 0; i < WM_ARRAY_LEN(nn_encodings); i++)
            if (ieq(enc, enc_len, nn_encodings[i]))
                return wm_errf(err, WM_ERR_UNSUPPORTED,
                               "wasi-nn: preload `%s`: backend %.*s not "
                               "supported on this build (GGML only)",
                               spec, (int)enc_len, enc);
        return wm_errf(err, WM_ERR_ARG,
                       "wasi-nn: preload `%s`: unknown encoding `%.*s`",
                       spec, (int)enc_len, enc);
    }
    if (ieq(tgt, tgt_len, "gpu") || ieq(tgt, tgt_len, "tpu"))
        return wm_errf(err, WM_ERR_UNSUPPORTED,
                       "wasi-nn: preload `%s`: target %.*s not supported "
                       "on this build (CPU only; use AUTO or CPU)",
                       spec, (int)tgt_len, tgt);
    if (!ieq(tgt, tgt_len, "auto") && !ieq(tgt, tgt_len, "cpu"))
        return wm_errf(err, WM_ERR_ARG,
                       "wasi-nn: preload `%s`: unknown target `%.*s` "
                       "(AUTO, CPU, GPU, TPU)",
                       spec, (int)tgt_len, tgt);
    size_t nl = (size_t)(c1 - spec);
    size_t pl = strlen(c3 + 1);
    p->name = malloc(nl + 1);
    p->path = malloc(pl + 1);
    if (!p->name || !p->path) {
        free(p->name);
        free(p->path);
        return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    memcpy(p->name, spec, nl);
    p->name[nl] = '\0';
    memcpy(p->path, c3 + 1, pl + 1);
    p->name_len = nl;
    p->graph = -1;
    return WM_OK;
}

wm_status wm_linker_define_wasi_nn(wm_linker *lk, const wm_nn_config *cfg,
                                   wm_error *err) {
    wm_error_clear(err);
    if (!lk) return wm_errf(err, WM_ERR_ARG, "wasi-nn: no linker");
    wm_nn_config none = {0};
    if (!cfg) cfg = &none;
    if (cfg->n_preloads < 0 || (cfg->n_preloads > 0 && !cfg->preloads))
        return wm_errf(err, WM_ERR_ARG, "wasi-nn: bad preload list");
    nn_preload *pre = NULL;
    int n = 0;
    wm_status st = WM_OK;
    if (cfg->n_preloads > 0) {
        pre = calloc((size_t)cfg->n_preloads, sizeof *pre);
        if (!pre) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    for (; n < cfg->n_preloads; n++) {
        if (!cfg->preloads[n]) {
            st = wm_errf(err, WM_ERR_ARG, "wasi-nn: preload %d is NULL", n);
            goto fail;
        }
        if ((st = parse_preload(cfg->preloads[n], &pre[n], err))) goto fail;
    }
    nn_state *s = rt_object_new(wm_linker_runtime(lk), sizeof *s,
                                nn_state_fini);
    if (!s) {
        st = wm_errf(err, WM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    s->host.flags = cfg->flags;
    s->host.output = cfg->output;
    s->host.ud = cfg->output_ud;
    s->pre = pre;
    s->n_pre = n;
    for (uint32_t i = 0; i < NN_MAX_GRAPHS; i++) s->graph_pre[i] = -1;
    return wm_linker_define_host(lk, "wasi_ephemeral_nn", nn_defs,
                                 WM_ARRAY_LEN(nn_defs), s, err);
fail:
    for (int i = 0; i < n; i++) {
        free(pre[i].name);
        free(pre[i].path);
    }
    free(pre);
    return st;
}
