/*
 * llama2c.c — llama2.c checkpoint/tokenizer readers and the GGUF
 * converter (see llama2c.h).
 *
 * llama2.c's RoPE rotates adjacent pairs (x[2i], x[2i+1]), which is
 * ggml's "normal" rope mode used for the llama architecture, so Q and K
 * are written unpermuted (llama.cpp's convert_hf_to_gguf permutes only
 * because Hugging Face checkpoints rotate halves instead).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "llama2c.h"
#include "quant.h"

/* Plausibility caps on header fields (well above any llama2.c model). */
#define L2C_MAX_DIM     (1 << 16)
#define L2C_MAX_LAYERS  1024
#define L2C_MAX_VOCAB   (1 << 22)
#define L2C_MAX_SEQ     (1 << 22)
#define L2C_MAX_PIECE   (1 << 16)

/* Fill err (code, message, where = path, byte_off) and return code. */
static wm_status WM_PRINTF(5, 6) l2c_fail(wm_error *err, const char *path,
                                          int64_t off, wm_status code,
                                          const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    snprintf(err->where, sizeof err->where, "%s", path);
    err->byte_off = off;
    return code;
}

static int32_t rd_i32(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                 (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (int32_t)v;
}

/* Read a whole small file (tokenizers) into memory. */
static wm_status slurp(const char *path, uint8_t **buf, size_t *len,
                       size_t max, wm_error *err) {
    *buf = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return l2c_fail(err, path, -1, errno == ENOENT ? WM_ERR_NOT_FOUND
                                                       : WM_ERR_IO,
                        "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode) ||
        (uint64_t)sb.st_size > max) {
        fclose(fp);
        return l2c_fail(err, path, -1, WM_ERR_FORMAT,
                        "not a regular file of at most %zu bytes", max);
    }
    *len = (size_t)sb.st_size;
    *buf = malloc(*len ? *len : 1);
    if (!*buf) {
        fclose(fp);
        return l2c_fail(err, path, -1, WM_ERR_NOMEM, "out of memory");
    }
    if (fread(*buf, 1, *len, fp) != *len) {
        fclose(fp);
        free(*buf);
        *buf = NULL;
        return l2c_fail(err, path, -1, WM_ERR_IO, "read failed");
    }
    fclose(fp);
    return WM_OK;
}

/* ==== Checkpoint ======================================================== */

void l2c_model_free(l2c_model *m) {
    if (!m) return;
    if (m->map) munmap((void *)m->map, m->map_size);
    free(m);
}

wm_status l2c_model_load(const char *path, l2c_model **out, wm_error *err) {
    *out = NULL;
    wm_error_clear(err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return l2c_fail(err, path, -1, errno == ENOENT ? WM_ERR_NOT_FOUND
                                                       : WM_ERR_IO,
                        "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return l2c_fail(err, path, -1, WM_ERR_IO, "not a regular file");
    }
    size_t size = (size_t)sb.st_size;
    if (size < 28) {
        close(fd);
        return l2c_fail(err, path, 0, WM_ERR_FORMAT,
                        "file too short for the 28-byte header (%zu bytes)",
                        size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return l2c_fail(err, path, -1, WM_ERR_IO, "mmap failed: %s",
                        strerror(errno));
    l2c_model *m = calloc(1, sizeof *m);
    if (!m) {
        munmap(map, size);
        return l2c_fail(err, path, -1, WM_ERR_NOMEM, "out of memory");
    }
    m->map = map;
    m->map_size = size;
    const uint8_t *p = map;
    int32_t h[7];
    for (int i = 0; i < 7; i++) h[i] = rd_i32(p + 4 * i);
    l2c_config *c = &m->cfg;
    c->dim = h[0];
    c->hidden_dim = h[1];
    c->n_layers = h[2];
    c->n_heads = h[3];
    c->n_kv_heads = h[4];
    c->shared_classifier = h[5] > 0;
    c->vocab_size = h[5] == INT32_MIN ? 0 : (h[5] < 0 ? -h[5] : h[5]);
    c->seq_len = h[6];
    static const char *const names[7] = {
        "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads",
        "vocab_size", "seq_len"};
    static const int32_t caps[7] = {
        L2C_MAX_DIM, 4 * L2C_MAX_DIM, L2C_MAX_LAYERS, L2C_MAX_DIM,
        L2C_MAX_DIM, L2C_MAX_VOCAB, L2C_MAX_SEQ};
    int32_t vals[7] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads,
                       c->n_kv_heads, c->vocab_size, c->seq_len};
    wm_status st = WM_OK;
    for (int i = 0; i < 7; i++) {
        if (vals[i] <= 0 || vals[i] > caps[i]) {
            st = l2c_fail(err, path, 4 * i, WM_ERR_FORMAT,
                          "header field %s = %d out of range [1, %d]",
                          names[i], h[i], caps[i]);
            goto fail;
        }
    }
    if (c->dim % c->n_heads != 0 || (c->dim / c->n_heads) % 2 != 0 ||
        c->n_kv_heads > c->n_heads || c->n_heads % c->n_kv_heads != 0) {
        st = l2c_fail(err, path, 12, WM_ERR_FORMAT,
                      "inconsistent heads: dim %d, n_heads %d, n_kv_heads "
                      "%d (need dim %% n_heads == 0, an even head size and "
                      "n_heads %% n_kv_heads == 0)", c->dim, c->n_heads,
                      c->n_kv_heads);
        goto fail;
    }
    /* All products fit in 64 bits: every factor is below 2^22. */
    uint64_t dim = (uint64_t)c->dim, hid = (uint64_t)c->hidden_dim;
    uint64_t L = (uint64_t)c->n_layers, V = (uint64_t)c->vocab_size;
    uint64_t hs = dim / (uint64_t)c->n_heads;
    uint64_t kv = hs * (uint64_t)c->n_kv_heads;
    uint64_t n_floats = V * dim + L * dim + L * dim * dim + 2 * L * dim * kv +
                        L * dim * dim + L * dim + 3 * L * dim * hid + dim +
                        (uint64_t)c->seq_len * hs +
                        (c->shared_classifier ? 0 : V * dim);
    uint64_t want = 28 + 4 * n_floats;
    if ((uint64_t)size != want) {
        st = l2c_fail(err, path, (int64_t)(size < want ? size : want),
                      WM_ERR_FORMAT, "file is %zu bytes, the header implies "
                      "%llu (%s classifier)", size,
                      (unsigned long long)want,
                      c->shared_classifier ? "shared" : "unshared");
        goto fail;
    }
    const float *f = (const float *)(p + 28);
    m->token_embd = f;  f += V * dim;
    m->rms_att = f;     f += L * dim;
    m->wq = f;          f += L * dim * dim;
    m->wk = f;          f += L * dim * kv;
    m->wv = f;          f += L * dim * kv;
    m->wo = f;          f += L * dim * dim;
    m->rms_ffn = f;     f += L * dim;
    m->w1 = f;          f += L * dim * hid;
    m->w2 = f;          f += L * dim * hid;
    m->w3 = f;          f += L * dim * hid;
    m->rms_final = f;   f += dim;
    f += (uint64_t)c->seq_len * hs;   /* freq_cis_real + imag */
    m->wcls = c->shared_classifier ? m->token_embd : f;
    *out = m;
    return WM_OK;
fail:
    l2c_model_free(m);
    return st;
}

/* ==== Tokenizer ========================================================= */

void l2c_tokenizer_free(l2c_tokenizer *t) {
    if (!t) return;
    if (t->pieces)
        for (int32_t i = 0; i < t->n; i++) free(t->pieces[i]);
    free(t->pieces);
    free(t->scores);
    free(t->lens);
    free(t);
}

wm_status l2c_tokenizer_load(const char *path, int32_t n_vocab,
                             l2c_tokenizer **out, wm_error *err) {
    *out = NULL;
    wm_error_clear(err);
    if (n_vocab <= 0 || n_vocab > L2C_MAX_VOCAB)
        return l2c_fail(err, path, -1, WM_ERR_ARG, "bad vocabulary size %d",
                        n_vocab);
    uint8_t *buf;
    size_t len = 0;
    wm_status st = slurp(path, &buf, &len, (size_t)1 << 30, err);
    if (st) return st;
    l2c_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        free(buf);
        return l2c_fail(err, path, -1, WM_ERR_NOMEM, "out of memory");
    }
    t->scores = malloc((size_t)n_vocab * sizeof *t->scores);
    t->pieces = calloc((size_t)n_vocab, sizeof *t->pieces);
    t->lens = malloc((size_t)n_vocab * sizeof *t->lens);
    if (!t->scores || !t->pieces || !t->lens) {
        st = l2c_fail(err, path, -1, WM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    t->n = n_vocab;
    if (len < 4) {
        st = l2c_fail(err, path, 0, WM_ERR_FORMAT,
                      "file too short for max_token_length");
        goto fail;
    }
    int32_t mtl = rd_i32(buf);
    if (mtl < 0 || mtl > L2C_MAX_PIECE) {
        st = l2c_fail(err, path, 0, WM_ERR_FORMAT,
                      "max_token_length %d out of range", mtl);
        goto fail;
    }
    t->max_token_length = (uint32_t)mtl;
    size_t off = 4;
    for (int32_t i = 0; i < n_vocab; i++) {
        if (len - off < 8) {
            st = l2c_fail(err, path, (int64_t)off, WM_ERR_FORMAT,
                          "token %d: unexpected end of file (score and "
                          "length need 8 bytes, %zu left; %d tokens "
                          "expected)", i, len - off, n_vocab);
            goto fail;
        }
        uint32_t sb = (uint32_t)rd_i32(buf + off);
        memcpy(&t->scores[i], &sb, 4);
        int32_t n = rd_i32(buf + off + 4);
        if (n < 0 || n > L2C_MAX_PIECE || (size_t)n > len - off - 8) {
            st = l2c_fail(err, path, (int64_t)off + 4, WM_ERR_FORMAT,
                          "token %d: length %d exceeds the remaining %zu "
                          "bytes (or the limit %d)", i, n, len - off - 8,
                          L2C_MAX_PIECE);
            goto fail;
        }
        t->pieces[i] = malloc((size_t)n + 1);
        if (!t->pieces[i]) {
            st = l2c_fail(err, path, -1, WM_ERR_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(t->pieces[i], buf + off + 8, (size_t)n);
        t->pieces[i][n] = 0;
        t->lens[i] = (uint32_t)n;
        off += 8 + (size_t)n;
    }
    if (off != len) {
        st = l2c_fail(err, path, (int64_t)off, WM_ERR_FORMAT,
                      "%zu trailing bytes after %d tokens (vocabulary size "
                      "mismatch with the model?)", len - off, n_vocab);
        goto fail;
    }
    free(buf);
    *out = t;
    return WM_OK;
fail:
    free(buf);
    l2c_tokenizer_free(t);
    return st;
}

/* ==== Conversion ======================================================== */

/* llama2.c piece -> SentencePiece piece: ' ' -> "▁"; BOS/EOS lose the
 * newlines llama2.c's export wraps them in. Returns a malloc'd string. */
static char *spm_piece(const l2c_tokenizer *t, int32_t i, size_t *len) {
    const char *s = t->pieces[i];
    size_t n = t->lens[i];
    if ((i == 1 && n == 5 && memcmp(s, "\n<s>\n", 5) == 0) ||
        (i == 2 && n == 6 && memcmp(s, "\n</s>\n", 6) == 0)) {
        s++;
        n -= 2;
    }
    char *o = malloc(3 * n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        if (s[j] == ' ') {
            memcpy(o + k, "\xe2\x96\x81", 3);
            k += 3;
        } else {
            o[k++] = s[j];
        }
    }
    o[k] = 0;
    *len = k;
    return o;
}

static bool is_byte_piece(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return false;
    for (int i = 3; i < 5; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

wm_status l2c_write_gguf(const l2c_model *m, const l2c_tokenizer *t,
                         const char *name, const char *out_path,
                         wm_error *err) {
    wm_error_clear(err);
    const l2c_config *c = &m->cfg;
    if (t->n != c->vocab_size)
        return wm_errf(err, WM_ERR_ARG, "tokenizer has %d tokens, the model "
                       "%d", t->n, c->vocab_size);
    gguf_writer *w = gguf_writer_new(GGUF_DEFAULT_ALIGNMENT);
    gguf_str *strs = calloc((size_t)t->n, sizeof *strs);
    int32_t *types = malloc((size_t)t->n * sizeof *types);
    wm_status st = WM_OK;
    if (!w || !strs || !types) {
        st = wm_errf(err, WM_ERR_NOMEM, "out of memory");
        goto done;
    }
    int32_t hs = c->dim / c->n_heads;
    gguf_w_str(w, "general.architecture", "llama");
    gguf_w_str(w, "general.name", name ? name : "llama2c");
    gguf_w_u32(w, "llama.context_length", (uint32_t)c->seq_len);
    gguf_w_u32(w, "llama.embedding_length", (uint32_t)c->dim);
    gguf_w_u32(w, "llama.block_count", (uint32_t)c->n_layers);
    gguf_w_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden_dim);
    gguf_w_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads);
    gguf_w_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    gguf_w_u32(w, "llama.rope.dimension_count", (uint32_t)hs);
    gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_w_str(w, "tokenizer.ggml.model", "llama");
    for (int32_t i = 0; i < t->n; i++) {
        size_t n = 0;
        char *p = spm_piece(t, i, &n);
        if (!p) {
            st = wm_errf(err, WM_ERR_NOMEM, "out of memory");
            goto done;
        }
        strs[i] = (gguf_str){p, n};
        types[i] = is_byte_piece(p, n) ? 6
                 : i == 0 && gguf_str_eq(strs[i], "<unk>") ? 2
                 : (i == 1 && gguf_str_eq(strs[i], "<s>")) ||
                   (i == 2 && gguf_str_eq(strs[i], "</s>")) ? 3 : 1;
    }
    gguf_w_arr_str(w, "tokenizer.ggml.tokens", strs, (uint64_t)t->n);
    gguf_w_arr_f32(w, "tokenizer.ggml.scores", t->scores, (uint64_t)t->n);
    gguf_w_arr_i32(w, "tokenizer.ggml.token_type", types, (uint64_t)t->n);
    gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2);

    int64_t dim = c->dim, hid = c->hidden_dim, V = c->vocab_size;
    int64_t kv = (int64_t)hs * c->n_kv_heads;
    int64_t ne[2];
#define T2(nm, p, a, b) (ne[0] = (a), ne[1] = (b), \
                         gguf_w_tensor(w, nm, LLM_F32, 2, ne, p))
#define T1(nm, p, a) (ne[0] = (a), gguf_w_tensor(w, nm, LLM_F32, 1, ne, p))
    T2("token_embd.weight", m->token_embd, dim, V);
    T1("output_norm.weight", m->rms_final, dim);
    if (!c->shared_classifier) T2("output.weight", m->wcls, dim, V);
    for (int32_t l = 0; l < c->n_layers; l++) {
        char nm[64];
        int64_t L = l;
#define NM(s) (snprintf(nm, sizeof nm, "blk.%d." s, l), nm)
        T1(NM("attn_norm.weight"), m->rms_att + L * dim, dim);
        T2(NM("attn_q.weight"), m->wq + L * dim * dim, dim, dim);
        T2(NM("attn_k.weight"), m->wk + L * dim * kv, dim, kv);
        T2(NM("attn_v.weight"), m->wv + L * dim * kv, dim, kv);
        T2(NM("attn_output.weight"), m->wo + L * dim * dim, dim, dim);
        T1(NM("ffn_norm.weight"), m->rms_ffn + L * dim, dim);
        T2(NM("ffn_gate.weight"), m->w1 + L * dim * hid, dim, hid);
        T2(NM("ffn_down.weight"), m->w2 + L * dim * hid, hid, dim);
        T2(NM("ffn_up.weight"), m->w3 + L * dim * hid, dim, hid);
#undef NM
    }
#undef T1
#undef T2
    st = gguf_writer_write(w, out_path, err);
done:
    if (strs)
        for (int32_t i = 0; i < t->n; i++) free((void *)strs[i].ptr);
    free(strs);
    free(types);
    gguf_writer_free(w);
    return st;
}
