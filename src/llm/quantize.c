/*
 * quantize.c — the per-tensor type policy and GGUF -> GGUF quantisation
 * (quantize.h). Rows are converted on the thread pool: each row is
 * dequantised to F32 and quantised with the type's reference quantiser,
 * so the output is the same for any thread count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "quantize.h"
#include "threads.h"

bool llm_quant_target_ok(llm_type t) {
    switch (t) {
    case LLM_F32: case LLM_F16: case LLM_BF16: case LLM_Q8_0:
    case LLM_Q4_0: case LLM_Q4_1: case LLM_Q5_0: case LLM_Q5_1:
    case LLM_Q2_K: case LLM_Q3_K: case LLM_Q4_K: case LLM_Q5_K:
    case LLM_Q6_K: {
        const llm_type_traits *tr = llm_traits(t);
        return tr && tr->supported && tr->from_float_ref && tr->vec_dot;
    }
    default:
        return false;
    }
}

int llm_quant_file_type(llm_type t) {
    switch (t) {
    case LLM_F32: return 0;
    case LLM_F16: return 1;
    case LLM_Q4_0: return 2;
    case LLM_Q4_1: return 3;
    case LLM_Q8_0: return 7;
    case LLM_Q5_0: return 8;
    case LLM_Q5_1: return 9;
    case LLM_Q2_K: return 10;
    case LLM_Q3_K: return 11;   /* Q3_K_S */
    case LLM_Q4_K: return 14;   /* Q4_K_S */
    case LLM_Q5_K: return 16;   /* Q5_K_S */
    case LLM_Q6_K: return 18;
    case LLM_BF16: return 32;
    default: return -1;
    }
}

static bool fits(llm_type t, int64_t n_in) {
    return llm_row_size(t, n_in) != 0;
}

llm_type llm_quant_tensor_type(const char *name, uint32_t n_dims,
                               int64_t n_in, llm_type target, bool tied,
                               bool pure) {
    if (n_dims < 2) return LLM_F32;
    llm_type t = target;
    bool is_output = strcmp(name, "output.weight") == 0 ||
                     (tied && strcmp(name, "token_embd.weight") == 0);
    if (!pure && is_output && target != LLM_Q8_0 && target != LLM_F16 &&
        target != LLM_F32 && target != LLM_BF16)
        t = LLM_Q6_K;
    if (!fits(t, n_in)) {
        switch (t) {
        case LLM_Q2_K: case LLM_Q3_K: t = LLM_Q4_0; break;
        case LLM_Q4_K: t = LLM_Q5_0; break;
        case LLM_Q5_K: t = LLM_Q5_1; break;
        case LLM_Q6_K: t = LLM_Q8_0; break;
        default: break;
        }
        if (!fits(t, n_in)) t = LLM_F16;
    }
    return t;
}

/* ==== Quantising a file ================================================= */

typedef struct qjob {
    const void *src;          /* n_rows rows of src_type */
    llm_type src_type, dst_type;
    int64_t n_in, n_rows;
    uint8_t *dst;
    float *tmp;               /* [nth][n_in] */
} qjob;

/* Rows [ith*R/nth, (ith+1)*R/nth): dequantise, quantise. */
static void qjob_worker(void *arg, int ith, int nth) {
    const qjob *j = arg;
    int64_t lo = j->n_rows * ith / nth, hi = j->n_rows * (ith + 1) / nth;
    size_t srs = llm_row_size(j->src_type, j->n_in);
    size_t drs = llm_row_size(j->dst_type, j->n_in);
    float *tmp = j->tmp + (size_t)ith * (size_t)j->n_in;
    const llm_type_traits *st = llm_traits(j->src_type);
    const llm_type_traits *dt = llm_traits(j->dst_type);
    for (int64_t r = lo; r < hi; r++) {
        st->to_float((const uint8_t *)j->src + (size_t)r * srs, tmp, j->n_in);
        dt->from_float_ref(tmp, j->dst + (size_t)r * drs, j->n_in);
    }
}

wm_status llm_quantize_file(const char *in_path, const char *out_path,
                            llm_type type, bool pure, int n_threads,
                            void (*cb)(void *, double), void *ud,
                            wm_error *err) {
    llm_kernels_init();
    if (!llm_quant_target_ok(type))
        return wm_errf(err, WM_ERR_ARG, "quantize: unsupported target type "
                       "%s", llm_traits(type) ? llm_traits(type)->name : "?");
    gguf_file *f = NULL;
    gguf_writer *w = NULL;
    llm_pool *pool = NULL;
    uint8_t **bufs = NULL;
    float *tmp = NULL;
    wm_status st = gguf_open(in_path, &f, err);
    if (st) return st;
    bool tied = gguf_find_tensor(f, "output.weight") == NULL;
    w = gguf_writer_new(f->alignment);
    pool = llm_pool_new(n_threads);
    bufs = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *bufs);
    if (!w || !pool || !bufs) goto nomem;
    gguf_w_copy_kv(w, f, "");   /* all keys */
    int ft = llm_quant_file_type(type);
    if (ft >= 0) gguf_w_u32(w, "general.file_type", (uint32_t)ft);
    gguf_w_u32(w, "general.quantization_version", 2);

    int64_t max_in = 1;
    uint64_t total = 0, done = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        if (f->tensors[i].ne[0] > max_in) max_in = f->tensors[i].ne[0];
        total += f->tensors[i].nbytes;
    }
    tmp = malloc((size_t)llm_pool_size(pool) * (size_t)max_in * sizeof *tmp);
    if (!tmp) goto nomem;

    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(t->name.len < 127
                                                      ? t->name.len : 127),
                 t->name.ptr);
        llm_type src = (llm_type)t->type;
        llm_type dst = llm_quant_tensor_type(name, t->n_dims, t->ne[0], type,
                                             tied, pure);
        const void *data = t->data;
        if (src != dst) {
            const llm_type_traits *tr =
                t->type < LLM_TYPE_COUNT ? llm_traits(src) : NULL;
            if (!tr || !tr->to_float ||
                (src != LLM_F32 && src != LLM_F16 && src != LLM_BF16)) {
                st = wm_errf(err, WM_ERR_UNSUPPORTED,
                             "quantize: tensor '%s' is %s; only F32/F16/BF16 "
                             "tensors are quantised (requantising loses "
                             "accuracy)",
                             name, tr && tr->name ? tr->name : "unknown");
                goto fail;
            }
            int64_t rows = 1;
            for (uint32_t d = 1; d < GGUF_MAX_DIMS; d++) rows *= t->ne[d];
            size_t nbytes = llm_row_size(dst, t->ne[0]) * (size_t)rows;
            if (!(bufs[i] = malloc(nbytes ? nbytes : 1))) goto nomem;
            qjob j = {.src = t->data, .src_type = src, .dst_type = dst,
                      .n_in = t->ne[0], .n_rows = rows, .dst = bufs[i],
                      .tmp = tmp};
            llm_pool_run(pool, qjob_worker, &j);
            data = bufs[i];
        }
        gguf_w_tensor(w, name, dst, t->n_dims, t->ne, data);
        done += t->nbytes;
        if (cb) cb(ud, total ? (double)done / (double)total : 1.0);
    }
    st = gguf_writer_write(w, out_path, err);
    goto out;
nomem:
    st = wm_errf(err, WM_ERR_NOMEM, "quantize: out of memory");
fail:
out:
    if (bufs)
        for (uint64_t i = 0; i < f->n_tensors; i++) free(bufs[i]);
    free(bufs);
    free(tmp);
    llm_pool_free(pool);
    gguf_writer_free(w);
    gguf_close(f);
    return st;
}
