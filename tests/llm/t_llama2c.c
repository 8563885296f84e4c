/*
 * t_llama2c.c — llama2.c checkpoint/tokenizer loading and conversion:
 * stories260K.bin + tok512.bin converted through the CLI and the library
 * must equal stories260K.gguf (llama.cpp's conversion of the same model)
 * tensor by tensor, byte for byte, with the same vocabulary; truncated
 * and inconsistent inputs are rejected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "llm/gguf.h"
#include "llm/llama2c.h"
#include "llm/tokenizer.h"

static const char *env_or(const char *k, const char *d) {
    const char *v = getenv(k);
    return v && *v ? v : d;
}

static char *read_all(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    fwrite(p, 1, n, fp);
    fclose(fp);
}

/* Compare a converted file with the reference GGUF. */
static void compare(const char *ours_path, const char *ref_path) {
    gguf_file *a = NULL, *b = NULL;
    wm_error err;
    CHECK(gguf_open(ours_path, &a, &err) == WM_OK);
    CHECK(gguf_open(ref_path, &b, &err) == WM_OK);
    if (!a || !b) goto done;
    int n_common = 0, n_same = 0;
    for (uint64_t i = 0; i < b->n_tensors; i++) {
        const gguf_tensor *rt = &b->tensors[i];
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)rt->name.len, rt->name.ptr);
        const gguf_tensor *ot = gguf_find_tensor(a, name);
        if (!ot) {
            printf("  only in reference: %s\n", name);
            continue;
        }
        n_common++;
        bool same = ot->type == rt->type && ot->n_dims == rt->n_dims &&
                    memcmp(ot->ne, rt->ne, sizeof ot->ne) == 0 &&
                    ot->nbytes == rt->nbytes &&
                    memcmp(ot->data, rt->data, (size_t)ot->nbytes) == 0;
        if (same) n_same++;
        else fprintf(stderr, "tensor %s differs\n", name);
    }
    for (uint64_t i = 0; i < a->n_tensors; i++) {
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)a->tensors[i].name.len,
                 a->tensors[i].name.ptr);
        if (!gguf_find_tensor(b, name)) printf("  only in ours: %s\n", name);
    }
    printf("  %d common tensors, %d identical; ours %llu, reference %llu\n",
           n_common, n_same, (unsigned long long)a->n_tensors,
           (unsigned long long)b->n_tensors);
    CHECK_EQ_INT(n_common, 47);   /* all but the shared output.weight */
    CHECK_EQ_INT(n_same, n_common);
    CHECK_EQ_INT(a->n_tensors, 47);
    /* The reference duplicates the shared classifier: equal to token_embd. */
    const gguf_tensor *o = gguf_find_tensor(b, "output.weight");
    const gguf_tensor *e = gguf_find_tensor(a, "token_embd.weight");
    CHECK(o && e && o->nbytes == e->nbytes &&
          memcmp(o->data, e->data, (size_t)e->nbytes) == 0);

    /* Vocabulary: tokens, scores, types. */
    const gguf_kv *ta = gguf_find(a, "tokenizer.ggml.tokens");
    const gguf_kv *tb = gguf_find(b, "tokenizer.ggml.tokens");
    const gguf_kv *sa = gguf_find(a, "tokenizer.ggml.scores");
    const gguf_kv *sb = gguf_find(b, "tokenizer.ggml.scores");
    const gguf_kv *ya = gguf_find(a, "tokenizer.ggml.token_type");
    const gguf_kv *yb = gguf_find(b, "tokenizer.ggml.token_type");
    CHECK(ta && tb && sa && sb && ya && yb);
    if (ta && tb && sa && sb && ya && yb && ta->n == tb->n) {
        int bad_tok = 0, bad_score = 0, bad_type = 0;
        for (uint64_t i = 0; i < ta->n; i++) {
            if (ta->strs[i].len != tb->strs[i].len ||
                memcmp(ta->strs[i].ptr, tb->strs[i].ptr,
                       (size_t)ta->strs[i].len) != 0)
                bad_tok++;
            float x = 0, y = 1;
            gguf_arr_f32(sa, i, &x);
            gguf_arr_f32(sb, i, &y);
            if (memcmp(&x, &y, 4) != 0) bad_score++;
            int64_t p = -1, q = -2;
            gguf_arr_i64(ya, i, &p);
            gguf_arr_i64(yb, i, &q);
            if (p != q) bad_type++;
        }
        CHECK_EQ_INT(bad_tok, 0);
        CHECK_EQ_INT(bad_score, 0);
        CHECK_EQ_INT(bad_type, 0);
    }
    CHECK(ta && tb && ta->n == tb->n);
    /* Metadata: report every key whose value differs or is missing. */
    for (uint64_t i = 0; i < b->n_kv; i++) {
        const gguf_kv *kb = &b->kv[i];
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)kb->key.len, kb->key.ptr);
        const gguf_kv *ka = gguf_find(a, key);
        if (!ka) {
            printf("  metadata only in reference: %s\n", key);
            continue;
        }
        if (ka->type == GGUF_T_ARRAY || ka->type == GGUF_T_STRING) {
            if (ka->type == GGUF_T_STRING &&
                (ka->strs[0].len != kb->strs[0].len ||
                 memcmp(ka->strs[0].ptr, kb->strs[0].ptr,
                        (size_t)ka->strs[0].len)))
                printf("  metadata differs: %s = '%.*s' (reference '%.*s')\n",
                       key, (int)ka->strs[0].len, ka->strs[0].ptr,
                       (int)kb->strs[0].len, kb->strs[0].ptr);
            continue;
        }
        float x, y;
        if (ka->type != kb->type || !gguf_arr_f32(ka, 0, &x) ||
            !gguf_arr_f32(kb, 0, &y) || x != y)
            printf("  metadata differs: %s\n", key);
    }
    for (uint64_t i = 0; i < a->n_kv; i++) {
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)a->kv[i].key.len,
                 a->kv[i].key.ptr);
        if (!gguf_find(b, key)) printf("  metadata only in ours: %s\n", key);
    }
    /* Hyper-parameters the engine needs are exact. */
    uint32_t u = 0;
    CHECK(gguf_get_u32(a, "llama.embedding_length", &u) && u == 64);
    CHECK(gguf_get_u32(a, "llama.feed_forward_length", &u) && u == 172);
    CHECK(gguf_get_u32(a, "llama.block_count", &u) && u == 5);
    CHECK(gguf_get_u32(a, "llama.attention.head_count", &u) && u == 8);
    CHECK(gguf_get_u32(a, "llama.attention.head_count_kv", &u) && u == 4);
    CHECK(gguf_get_u32(a, "llama.rope.dimension_count", &u) && u == 8);
    CHECK(gguf_get_u32(a, "llama.context_length", &u) && u == 512);
    float eps = 0;
    CHECK(gguf_get_f32(a, "llama.attention.layer_norm_rms_epsilon", &eps) &&
          eps == 1e-5f);

    /* Both vocabularies tokenize a sentence the same way. */
    llm_vocab *va = NULL, *vb = NULL;
    CHECK(llm_vocab_load(a, &va, &err) == WM_OK);
    CHECK(llm_vocab_load(b, &vb, &err) == WM_OK);
    if (va && vb) {
        const char *s = "Once upon a time, there was a little girl named Lily.";
        int32_t x[64], y[64];
        int64_t nx = llm_tokenize(va, s, strlen(s), true, false, x, 64, NULL);
        int64_t ny = llm_tokenize(vb, s, strlen(s), true, false, y, 64, NULL);
        CHECK(nx > 5 && nx == ny && memcmp(x, y, (size_t)nx * 4) == 0);
        CHECK_EQ_INT(x[0], 1);
    }
    llm_vocab_free(va);
    llm_vocab_free(vb);
done:
    gguf_close(a);
    gguf_close(b);
}

static int run_cli(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int main(void) {
    const char *md = env_or("MODELS_DIR", "../shared/models");
    const char *tmp = env_or("WM_TMPDIR", "/tmp");
    const char *cli = getenv("WASMIND");
    char bin[512], tok[512], ref[512], out[512], out2[512], bad[512];
    snprintf(bin, sizeof bin, "%s/stories260K.bin", md);
    snprintf(tok, sizeof tok, "%s/tok512.bin", md);
    snprintf(ref, sizeof ref, "%s/stories260K.gguf", md);
    snprintf(out, sizeof out, "%s/t_llama2c-lib.gguf", tmp);
    snprintf(out2, sizeof out2, "%s/t_llama2c-cli.gguf", tmp);
    snprintf(bad, sizeof bad, "%s/t_llama2c-bad.bin", tmp);

    /* Load. */
    l2c_model *m = NULL;
    l2c_tokenizer *t = NULL;
    wm_error err;
    CHECK(l2c_model_load(bin, &m, &err) == WM_OK);
    if (!m) return TEST_REPORT();
    CHECK_EQ_INT(m->cfg.dim, 64);
    CHECK_EQ_INT(m->cfg.hidden_dim, 172);
    CHECK_EQ_INT(m->cfg.n_layers, 5);
    CHECK_EQ_INT(m->cfg.n_heads, 8);
    CHECK_EQ_INT(m->cfg.n_kv_heads, 4);
    CHECK_EQ_INT(m->cfg.vocab_size, 512);
    CHECK_EQ_INT(m->cfg.seq_len, 512);
    CHECK(m->cfg.shared_classifier && m->wcls == m->token_embd);
    CHECK(l2c_tokenizer_load(tok, 512, &t, &err) == WM_OK);
    if (t) {
        CHECK_EQ_INT(t->max_token_length, 7);
        CHECK(t->lens[1] == 5 && memcmp(t->pieces[1], "\n<s>\n", 5) == 0);
    }
    /* The wrong vocabulary size is caught (trailing bytes / short file). */
    l2c_tokenizer *t2 = NULL;
    CHECK(l2c_tokenizer_load(tok, 511, &t2, &err) == WM_ERR_FORMAT &&
          strstr(err.msg, "trailing"));
    CHECK(l2c_tokenizer_load(tok, 513, &t2, &err) == WM_ERR_FORMAT &&
          strstr(err.msg, "token 512"));

    /* Library conversion, then the CLI's. */
    if (t) CHECK(l2c_write_gguf(m, t, "stories260K", out, &err) == WM_OK);
    printf("library conversion vs reference:\n");
    compare(out, ref);
    if (cli) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "%s convert llama2c %s %s -o %s 2>/dev/null",
                 cli, bin, tok, out2);
        CHECK_EQ_INT(run_cli(cmd), 0);
        size_t n1, n2;
        char *f1 = read_all(out, &n1), *f2 = read_all(out2, &n2);
        CHECK(f1 && f2 && n1 == n2 && memcmp(f1, f2, n1) == 0);
        free(f1);
        free(f2);
        snprintf(cmd, sizeof cmd, "%s convert llama2c %s %s 2>/dev/null", cli,
                 bin, tok);
        CHECK_EQ_INT(run_cli(cmd), 2);            /* no -o */
        snprintf(cmd, sizeof cmd, "%s convert llama2c %s %s -o %s "
                 "2>/dev/null", cli, tok, bin, out2);
        CHECK_EQ_INT(run_cli(cmd), 1);            /* swapped files */
    }

    /* Corrupt checkpoints: truncated, padded, bad header fields. */
    size_t n;
    char *raw = read_all(bin, &n);
    CHECK(raw != NULL);
    if (raw) {
        static const size_t cuts[] = {0, 4, 27, 28, 1000, 1056536};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            write_all(bad, raw, cuts[i]);
            l2c_model *mb = NULL;
            CHECK(l2c_model_load(bad, &mb, &err) == WM_ERR_FORMAT && !mb);
        }
        char *big = malloc(n + 4);
        memcpy(big, raw, n);
        memset(big + n, 0, 4);
        write_all(bad, big, n + 4);
        l2c_model *mb = NULL;
        CHECK(l2c_model_load(bad, &mb, &err) == WM_ERR_FORMAT &&
              strstr(err.msg, "header implies"));
        /* Unshared classifier claimed but absent -> size mismatch. */
        memcpy(big, raw, n);
        int32_t neg = -512;
        memcpy(big + 20, &neg, 4);
        write_all(bad, big, n);
        CHECK(l2c_model_load(bad, &mb, &err) == WM_ERR_FORMAT &&
              strstr(err.msg, "unshared"));
        /* n_heads not dividing dim; huge / negative fields. */
        static const struct { int field; int32_t val; } hb[] = {
            {3, 7}, {4, 3}, {0, -64}, {2, 0}, {0, 0x7fffffff},
            {6, -1}, {5, (int32_t)0x80000000}};
        for (size_t i = 0; i < sizeof hb / sizeof hb[0]; i++) {
            memcpy(big, raw, n);
            memcpy(big + 4 * hb[i].field, &hb[i].val, 4);
            write_all(bad, big, n);
            CHECK(l2c_model_load(bad, &mb, &err) == WM_ERR_FORMAT && !mb);
            CHECK(err.byte_off >= 0 && err.byte_off < 28);
        }
        free(big);
        free(raw);
    }
    /* Corrupt tokenizers: a length past the end. */
    char *traw = read_all(tok, &n);
    if (traw) {
        int32_t huge = 1 << 20;
        memcpy(traw + 4 + 4, &huge, 4);
        write_all(bad, traw, n);
        CHECK(l2c_tokenizer_load(bad, 512, &t2, &err) == WM_ERR_FORMAT &&
              err.byte_off == 8);
        for (size_t cut = 0; cut < n; cut += 97) {
            write_all(bad, traw, cut);
            CHECK(l2c_tokenizer_load(bad, 512, &t2, &err) == WM_ERR_FORMAT);
        }
        free(traw);
    }
    remove(bad);
    l2c_tokenizer_free(t);
    l2c_model_free(m);
    return TEST_REPORT();
}
