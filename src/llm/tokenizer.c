/*
 * tokenizer.c — SentencePiece-style ("llama") and byte-level BPE ("gpt2")
 * tokenizers built from GGUF metadata (see tokenizer.h).
 *
 * The algorithms follow llama.cpp (llama-vocab.cpp, unicode.cpp) so that
 * token ids match it exactly, including its quirks:
 *   - special tokens (CONTROL / USER_DEFINED / UNKNOWN) are split out of
 *     the text first, longest first; with parse_special false only the
 *     USER_DEFINED ones are (as Hugging Face's added tokens are);
 *   - SPM: each text fragment gets one leading space when it follows a
 *     special token or starts the text (add_space_prefix), spaces become
 *     "▁", and adjacent pieces are merged best score first (leftmost on
 *     ties) as long as the merged piece is a token; what is not a token
 *     at the end is spelled with <0xNN> byte tokens;
 *   - BPE: the text is split by the pre-tokenizer regex (hand-written
 *     here, over the Unicode classes of unicode_data.c), each word's bytes
 *     are mapped through GPT-2's byte->unicode table, and adjacent symbols
 *     are merged lowest merge rank first (leftmost on ties).
 * One deliberate difference: invalid UTF-8 in the input is kept as raw
 * bytes (byte tokens), where llama.cpp substitutes U+FFFD, so every input
 * round-trips through detokenisation.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "tokenizer.h"
#include "unicode.h"

/* GGUF token types (tokenizer.ggml.token_type). */
enum {
    TT_UNDEFINED = 0, TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3,
    TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6
};

/* Pre-tokenizer regexes implemented here. */
enum pre_kind { PRE_GPT2, PRE_LLAMA3, PRE_QWEN2 };

#define ATTR_RSTRIP 1u   /* eat white space after the special token */

#define TOK_MAX_VOCAB  ((uint64_t)1 << 24)
#define TOK_MAX_PIECE  ((uint64_t)1 << 16)

/* ==== Hash maps ========================================================= */

/* String -> int32 (open addressing, linear probing; keys borrowed). */
typedef struct sm_ent {
    const char *k;
    uint32_t klen;
    int32_t v;
} sm_ent;

typedef struct strmap {
    sm_ent *e;
    uint32_t mask;
} strmap;

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static bool sm_init(strmap *m, uint64_t n) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    m->e = calloc((size_t)cap, sizeof *m->e);
    m->mask = (uint32_t)(cap - 1);
    return m->e != NULL;
}

/* Insert or overwrite (last wins, as llama.cpp's token_to_id). */
static void sm_put(strmap *m, const char *k, uint32_t klen, int32_t v) {
    uint32_t i = hash_bytes(k, klen) & m->mask;
    while (m->e[i].k) {
        if (m->e[i].klen == klen && memcmp(m->e[i].k, k, klen) == 0) {
            m->e[i].v = v;
            return;
        }
        i = (i + 1) & m->mask;
    }
    m->e[i] = (sm_ent){k, klen, v};
}

static int32_t sm_get(const strmap *m, const char *k, size_t klen) {
    uint32_t i = hash_bytes(k, klen) & m->mask;
    while (m->e[i].k) {
        if (m->e[i].klen == klen && memcmp(m->e[i].k, k, klen) == 0)
            return m->e[i].v;
        i = (i + 1) & m->mask;
    }
    return -1;
}

/* (left id, right id) -> merge rank; first insertion wins. */
typedef struct pm_ent {
    uint64_t k;    /* 0 = empty; stored as key + 1 */
    int32_t v;
} pm_ent;

typedef struct pairmap {
    pm_ent *e;
    uint32_t mask;
} pairmap;

static uint32_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

static bool pm_init(pairmap *m, uint64_t n) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    m->e = calloc((size_t)cap, sizeof *m->e);
    m->mask = (uint32_t)(cap - 1);
    return m->e != NULL;
}

static uint64_t pm_key(int32_t l, int32_t r) {
    return ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;
}

static void pm_put(pairmap *m, int32_t l, int32_t r, int32_t v) {
    uint64_t k = pm_key(l, r);
    uint32_t i = hash_u64(k) & m->mask;
    while (m->e[i].k) {
        if (m->e[i].k == k) return;
        i = (i + 1) & m->mask;
    }
    m->e[i] = (pm_ent){k, v};
}

static int32_t pm_get(const pairmap *m, int32_t l, int32_t r) {
    if (!m->e) return -1;
    uint64_t k = pm_key(l, r);
    uint32_t i = hash_u64(k) & m->mask;
    while (m->e[i].k) {
        if (m->e[i].k == k) return m->e[i].v;
        i = (i + 1) & m->mask;
    }
    return -1;
}

/* ==== The vocabulary ==================================================== */

struct llm_vocab {
    enum llm_vocab_kind kind;
    enum pre_kind pre;
    int32_t n;                 /* tokens */
    char *pieces;              /* every piece, back to back (owned) */
    uint64_t *piece_off;       /* n + 1 offsets into pieces */
    char *texts;               /* output text of every token (owned) */
    uint64_t *text_off;        /* n + 1 offsets into texts */
    float *score;              /* n */
    uint8_t *type;             /* n, TT_* */
    uint8_t *attr;             /* n, ATTR_* */
    strmap by_piece;           /* piece -> id */
    pairmap merges;            /* BPE: (left, right) -> rank */
    int32_t *special;          /* ids matched in the text first, longest
                                  first */
    uint32_t n_special;
    int32_t *eog;              /* end-of-generation ids */
    uint32_t n_eog;
    int32_t byte_tok[256];     /* SPM: <0xNN>; BPE: the byte's symbol */
    int32_t bos, eos, unk;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;
};

/* GPT-2's reversible byte <-> unicode map: printable Latin-1 bytes map to
 * themselves, the other 68 to U+0100.. in byte order. */
static uint32_t gpt2_byte_to_cp(uint8_t b) {
    if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae)
        return b;
    uint32_t n = 0;
    for (uint32_t c = 0; c < b; c++)
        if (!((c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) ||
              c >= 0xae))
            n++;
    return 256 + n;
}

/* Inverse: -1 when cp is not the image of a byte. */
static int gpt2_cp_to_byte(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7e) || (cp >= 0xa1 && cp <= 0xac) ||
        (cp >= 0xae && cp <= 0xff))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68) return -1;
    uint32_t n = cp - 256;
    for (uint32_t c = 0; c < 256; c++) {
        if (!((c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) ||
              c >= 0xae)) {
            if (n == 0) return (int)c;
            n--;
        }
    }
    return -1;
}

static size_t utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static const char *piece(const llm_vocab *v, int32_t id, size_t *len) {
    *len = (size_t)(v->piece_off[id + 1] - v->piece_off[id]);
    return v->pieces + v->piece_off[id];
}

/* "<0xNN>" -> NN, or -1. */
static int hex_byte_piece(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Output text of token id into out (capacity >= 4 * piece length):
 * SPM "▁" -> ' ' and <0xNN> -> the byte; BPE unicode -> bytes; special
 * and user-defined pieces verbatim. */
static size_t render_piece(const llm_vocab *v, int32_t id, char *out) {
    size_t n;
    const char *s = piece(v, id, &n);
    uint8_t t = v->type[id];
    if (t == TT_BYTE) {
        int b = hex_byte_piece(s, n);
        if (b >= 0) {
            out[0] = (char)b;
            return 1;
        }
    }
    if (t != TT_NORMAL && t != TT_BYTE && t != TT_UNDEFINED) {
        memcpy(out, s, n);
        return n;
    }
    size_t o = 0;
    if (v->kind == LLM_VOCAB_SPM) {
        for (size_t i = 0; i < n;) {
            if (n - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
                out[o++] = ' ';
                i += 3;
            } else {
                out[o++] = s[i++];
            }
        }
        return o;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = wm_utf8_decode((const uint8_t *)s + i, n - i, &cp);
        int b = cp == UINT32_MAX ? -1 : gpt2_cp_to_byte(cp);
        if (b >= 0) {
            out[o++] = (char)b;
        } else {
            memcpy(out + o, s + i, k);   /* not a mapped byte: verbatim */
            o += k;
        }
        i += k;
    }
    return o;
}

void llm_vocab_free(llm_vocab *v) {
    if (!v) return;
    free(v->pieces);
    free(v->piece_off);
    free(v->texts);
    free(v->text_off);
    free(v->score);
    free(v->type);
    free(v->attr);
    free(v->by_piece.e);
    free(v->merges.e);
    free(v->special);
    free(v->eog);
    free(v);
}

static wm_status vfail(const gguf_file *f, wm_error *err, wm_status code,
                       const char *key, const char *what) {
    wm_errf(err, code, "%s: %s", key, what);
    if (err) {
        snprintf(err->where, sizeof err->where, "%s", f->path);
        err->byte_off = -1;
    }
    return code;
}

/* A token id from metadata: -1 when absent, out of range or 0xFFFFFFFF. */
static int32_t meta_id(const gguf_file *f, const char *key, int32_t n,
                       int32_t dflt) {
    int64_t id;
    if (!gguf_get_i64(f, key, &id)) return dflt;
    return id >= 0 && id < n ? (int32_t)id : -1;
}

static int cmp_special(const void *a, const void *b, const llm_vocab *v) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint64_t lx = v->piece_off[x + 1] - v->piece_off[x];
    uint64_t ly = v->piece_off[y + 1] - v->piece_off[y];
    if (lx != ly) return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Insertion sort by (length desc, id asc): n_special is small (hundreds)
 * and qsort has no context pointer in C11. */
static void sort_special(llm_vocab *v) {
    for (uint32_t i = 1; i < v->n_special; i++) {
        int32_t x = v->special[i];
        uint32_t j = i;
        while (j > 0 && cmp_special(&v->special[j - 1], &x, v) > 0) {
            v->special[j] = v->special[j - 1];
            j--;
        }
        v->special[j] = x;
    }
}

static bool contains_ci(gguf_str s, const char *needle) {
    size_t n = strlen(needle);
    for (uint64_t i = 0; i + n <= s.len; i++) {
        size_t j = 0;
        while (j < n && tolower((unsigned char)s.ptr[i + j]) == needle[j]) j++;
        if (j == n) return true;
    }
    return false;
}

/*
 * Build the vocabulary. Required: tokenizer.ggml.model ("llama" or
 * "gpt2") and tokenizer.ggml.tokens (array of strings); optional scores,
 * token_type (same length), merges (gpt2), pre, bos/eos/unk/eot/eom ids,
 * add_bos_token/add_eos_token/add_space_prefix.
 */
wm_status llm_vocab_load(const gguf_file *f, llm_vocab **out, wm_error *err) {
    *out = NULL;
    wm_error_clear(err);
    wm_status st = WM_OK;
    llm_vocab *v = calloc(1, sizeof *v);
    if (!v) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
#define FAIL(code, key, what)                                               \
    do {                                                                    \
        st = vfail(f, err, code, key, what);                                \
        goto fail;                                                          \
    } while (0)
#define NOMEM() FAIL(WM_ERR_NOMEM, "tokenizer", "out of memory")

    gguf_str model;
    if (!gguf_get_str(f, "tokenizer.ggml.model", &model))
        FAIL(WM_ERR_FORMAT, "tokenizer.ggml.model", "missing or not a string");
    if (gguf_str_eq(model, "llama")) v->kind = LLM_VOCAB_SPM;
    else if (gguf_str_eq(model, "gpt2")) v->kind = LLM_VOCAB_BPE;
    else FAIL(WM_ERR_UNSUPPORTED, "tokenizer.ggml.model",
              "unsupported tokenizer (llama and gpt2 are)");

    const gguf_kv *toks = gguf_find(f, "tokenizer.ggml.tokens");
    if (!toks || toks->type != GGUF_T_ARRAY || toks->arr_type != GGUF_T_STRING)
        FAIL(WM_ERR_FORMAT, "tokenizer.ggml.tokens",
             "missing or not an array of strings");
    if (toks->n == 0 || toks->n > TOK_MAX_VOCAB)
        FAIL(WM_ERR_FORMAT, "tokenizer.ggml.tokens",
             "vocabulary size out of range [1, 2^24]");
    v->n = (int32_t)toks->n;
    const gguf_kv *scores = gguf_find(f, "tokenizer.ggml.scores");
    const gguf_kv *types = gguf_find(f, "tokenizer.ggml.token_type");
    if (scores && (scores->type != GGUF_T_ARRAY || scores->n != toks->n))
        FAIL(WM_ERR_FORMAT, "tokenizer.ggml.scores",
             "not an array of the vocabulary's length");
    if (types && (types->type != GGUF_T_ARRAY || types->n != toks->n))
        FAIL(WM_ERR_FORMAT, "tokenizer.ggml.token_type",
             "not an array of the vocabulary's length");

    /* Pieces and output texts. */
    uint64_t total = 0;
    for (int32_t i = 0; i < v->n; i++) {
        if (toks->strs[i].len > TOK_MAX_PIECE)
            FAIL(WM_ERR_FORMAT, "tokenizer.ggml.tokens",
                 "token longer than 65536 bytes");
        total += toks->strs[i].len;
    }
    size_t n1 = (size_t)v->n + 1;
    v->pieces = malloc((size_t)total + 1);
    v->texts = malloc((size_t)total * 4 + 1);
    v->piece_off = malloc(n1 * sizeof *v->piece_off);
    v->text_off = malloc(n1 * sizeof *v->text_off);
    v->score = calloc((size_t)v->n, sizeof *v->score);
    v->type = calloc((size_t)v->n, 1);
    v->attr = calloc((size_t)v->n, 1);
    if (!v->pieces || !v->texts || !v->piece_off || !v->text_off ||
        !v->score || !v->type || !v->attr || !sm_init(&v->by_piece, toks->n))
        NOMEM();
    uint64_t o = 0;
    for (int32_t i = 0; i < v->n; i++) {
        v->piece_off[i] = o;
        if (toks->strs[i].len)
            memcpy(v->pieces + o, toks->strs[i].ptr, (size_t)toks->strs[i].len);
        o += toks->strs[i].len;
        float sc = 0;
        if (scores && !gguf_arr_f32(scores, (uint64_t)i, &sc))
            FAIL(WM_ERR_FORMAT, "tokenizer.ggml.scores", "not numeric");
        v->score[i] = sc;
        int64_t ty = TT_NORMAL;
        if (types && !gguf_arr_i64(types, (uint64_t)i, &ty))
            FAIL(WM_ERR_FORMAT, "tokenizer.ggml.token_type",
                 "not an integer array");
        if (ty < 0 || ty > TT_BYTE)
            FAIL(WM_ERR_FORMAT, "tokenizer.ggml.token_type",
                 "token type out of range [0, 6]");
        v->type[i] = (uint8_t)ty;
    }
    v->piece_off[v->n] = o;
    for (int32_t i = 0; i < v->n; i++) {
        size_t n;
        const char *s = piece(v, i, &n);
        sm_put(&v->by_piece, s, (uint32_t)n, i);
    }
    o = 0;
    for (int32_t i = 0; i < v->n; i++) {
        v->text_off[i] = o;
        o += render_piece(v, i, v->texts + o);
    }
    v->text_off[v->n] = o;

    /* Special ids and flags. */
    bool spm = v->kind == LLM_VOCAB_SPM;
    v->bos = meta_id(f, "tokenizer.ggml.bos_token_id", v->n, spm ? 1 : -1);
    v->eos = meta_id(f, "tokenizer.ggml.eos_token_id", v->n, spm ? 2 : -1);
    v->unk = meta_id(f, "tokenizer.ggml.unknown_token_id", v->n, spm ? 0 : -1);
    if (v->bos >= v->n) v->bos = -1;
    if (v->eos >= v->n) v->eos = -1;
    if (v->unk >= v->n) v->unk = -1;
    v->add_space_prefix = spm;
    v->add_bos = spm;
    v->add_eos = false;

    if (!spm) {
        gguf_str pre = {"default", 7};
        gguf_get_str(f, "tokenizer.ggml.pre", &pre);
        if (gguf_str_eq(pre, "llama3") || gguf_str_eq(pre, "llama-v3") ||
            gguf_str_eq(pre, "llama-bpe")) {
            v->pre = PRE_LLAMA3;
            v->ignore_merges = true;
            v->add_bos = true;
        } else if (gguf_str_eq(pre, "dbrx") || gguf_str_eq(pre, "smaug-bpe")) {
            v->pre = PRE_LLAMA3;
        } else if (gguf_str_eq(pre, "qwen2") || gguf_str_eq(pre, "stablelm2")) {
            v->pre = PRE_QWEN2;
        } else if (gguf_str_eq(pre, "gpt-2") || gguf_str_eq(pre, "default") ||
                   gguf_str_eq(pre, "mpt") || gguf_str_eq(pre, "olmo") ||
                   gguf_str_eq(pre, "jais")) {
            v->pre = PRE_GPT2;
        } else {
            FAIL(WM_ERR_UNSUPPORTED, "tokenizer.ggml.pre",
                 "unsupported pre-tokenizer (llama-bpe/llama3, qwen2, "
                 "gpt-2/default are)");
        }
        const gguf_kv *mg = gguf_find(f, "tokenizer.ggml.merges");
        if (!mg || mg->type != GGUF_T_ARRAY || mg->arr_type != GGUF_T_STRING)
            FAIL(WM_ERR_FORMAT, "tokenizer.ggml.merges",
                 "missing or not an array of strings");
        if (mg->n > TOK_MAX_VOCAB)
            FAIL(WM_ERR_FORMAT, "tokenizer.ggml.merges", "too many merges");
        if (!pm_init(&v->merges, mg->n)) NOMEM();
        for (uint64_t i = 0; i < mg->n; i++) {
            gguf_str m = mg->strs[i];
            uint64_t sp = 1;
            while (sp < m.len && m.ptr[sp] != ' ') sp++;
            if (m.len < 3 || sp >= m.len)
                FAIL(WM_ERR_FORMAT, "tokenizer.ggml.merges",
                     "merge without a space between its two parts");
            int32_t l = sm_get(&v->by_piece, m.ptr, (size_t)sp);
            int32_t r = sm_get(&v->by_piece, m.ptr + sp + 1,
                               (size_t)(m.len - sp - 1));
            if (l >= 0 && r >= 0) pm_put(&v->merges, l, r, (int32_t)i);
        }
    }
    bool b;
    if (gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b)) v->add_bos = b;
    if (gguf_get_bool(f, "tokenizer.ggml.add_eos_token", &b)) v->add_eos = b;
    if (gguf_get_bool(f, "tokenizer.ggml.add_space_prefix", &b))
        v->add_space_prefix = b && spm;

    /* Byte tokens. */
    for (int c = 0; c < 256; c++) {
        char buf[8];
        size_t n;
        if (spm) {
            static const char hex[] = "0123456789ABCDEF";
            memcpy(buf, "<0x", 3);
            buf[3] = hex[c >> 4];
            buf[4] = hex[c & 15];
            buf[5] = '>';
            n = 6;
        } else {
            n = utf8_put(gpt2_byte_to_cp((uint8_t)c), buf);
        }
        int32_t id = sm_get(&v->by_piece, buf, n);
        if (id < 0 && spm) {
            buf[0] = (char)c;   /* llama.cpp: fall back to the 1-byte piece */
            id = sm_get(&v->by_piece, buf, 1);
        }
        v->byte_tok[c] = id >= 0 ? id : v->unk;
    }

    /* Special tokens, longest first; phi-3 strips white space after them
     * (llama.cpp sets RSTRIP by model name). */
    v->special = malloc((size_t)v->n * sizeof *v->special);
    if (!v->special) NOMEM();
    for (int32_t i = 0; i < v->n; i++) {
        uint8_t t = v->type[i];
        if ((t == TT_CONTROL || t == TT_USER_DEFINED || t == TT_UNKNOWN) &&
            v->piece_off[i + 1] > v->piece_off[i])
            v->special[v->n_special++] = i;
    }
    sort_special(v);
    gguf_str name;
    if (gguf_get_str(f, "general.name", &name) &&
        (contains_ci(name, "phi-3") || contains_ci(name, "phi3"))) {
        for (uint32_t i = 0; i < v->n_special; i++)
            v->attr[v->special[i]] |= ATTR_RSTRIP;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (size_t i = 0; i < WM_ARRAY_LEN(keep); i++) {
            int32_t id = sm_get(&v->by_piece, keep[i], strlen(keep[i]));
            if (id >= 0) v->attr[id] &= (uint8_t)~ATTR_RSTRIP;
        }
        int32_t id = sm_get(&v->by_piece, "</s>", 4);
        if (id >= 0) v->attr[id] |= ATTR_RSTRIP;
    }

    /* End of generation: EOS, EOT, EOM and the usual end-of-turn texts. */
    static const char *const eog_text[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
        "<|endoftext|>", "<EOT>", "<|end_of_text|>", "<|eom_id|>",
        "<end_of_utterance>"};
    v->eog = malloc((3 + WM_ARRAY_LEN(eog_text)) * sizeof *v->eog);
    if (!v->eog) NOMEM();
    int32_t cand[3 + WM_ARRAY_LEN(eog_text)];
    size_t nc = 0;
    cand[nc++] = v->eos;
    cand[nc++] = meta_id(f, "tokenizer.ggml.eot_token_id", v->n, -1);
    cand[nc++] = meta_id(f, "tokenizer.ggml.eom_token_id", v->n, -1);
    for (size_t i = 0; i < WM_ARRAY_LEN(eog_text); i++) {
        int32_t id = sm_get(&v->by_piece, eog_text[i], strlen(eog_text[i]));
        cand[nc++] = id >= 0 && (v->type[id] == TT_CONTROL ||
                                 v->type[id] == TT_USER_DEFINED) ? id : -1;
    }
    for (size_t i = 0; i < nc; i++) {
        bool dup = cand[i] < 0;
        for (uint32_t j = 0; j < v->n_eog && !dup; j++)
            dup = v->eog[j] == cand[i];
        if (!dup) v->eog[v->n_eog++] = cand[i];
    }
    *out = v;
    return WM_OK;
fail:
#undef FAIL
#undef NOMEM
    llm_vocab_free(v);
    return st;
}

/* ==== Accessors ========================================================= */

enum llm_vocab_kind llm_vocab_kind(const llm_vocab *v) { return v->kind; }
int32_t llm_vocab_size(const llm_vocab *v) { return v->n; }
int32_t llm_token_bos(const llm_vocab *v) { return v->bos; }
int32_t llm_token_eos(const llm_vocab *v) { return v->eos; }
bool llm_vocab_add_bos(const llm_vocab *v) { return v->add_bos; }

bool llm_token_is_eog(const llm_vocab *v, int32_t id) {
    for (uint32_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id) return true;
    return false;
}

int32_t llm_token_find(const llm_vocab *v, const char *text, size_t len) {
    if (len > UINT32_MAX) return -1;
    return sm_get(&v->by_piece, text, len);
}

const char *llm_token_piece(const llm_vocab *v, int32_t id, size_t *len) {
    if (id < 0 || id >= v->n) {
        *len = 0;
        return "";
    }
    return piece(v, id, len);
}

const char *llm_token_text(const llm_vocab *v, int32_t id,
                           bool render_special, size_t *len) {
    *len = 0;
    if (id < 0 || id >= v->n) return "";
    uint8_t t = v->type[id];
    if (!render_special &&
        (t == TT_CONTROL || t == TT_UNKNOWN || t == TT_UNUSED))
        return "";
    *len = (size_t)(v->text_off[id + 1] - v->text_off[id]);
    return v->texts + v->text_off[id];
}

/* ==== Tokenize: shared machinery ======================================== */

/* Output sink: counts everything, stores the first cap ids. */
typedef struct sink {
    int32_t *out;
    int64_t cap, n;
} sink;

static void emit(sink *s, int32_t id) {
    if (s->n < s->cap) s->out[s->n] = id;
    s->n++;
}

/* A piece of the input: raw text [off, off+len) or a special token. */
typedef struct frag {
    size_t off, len;
    int32_t tok;    /* -1 for raw text */
} frag;

typedef struct fragvec {
    frag *v;
    size_t n, cap;
} fragvec;

static bool frag_push(fragvec *fv, frag f) {
    if (fv->n == fv->cap) {
        size_t nc = fv->cap ? fv->cap * 2 : 16;
        frag *nv = realloc(fv->v, nc * sizeof *nv);
        if (!nv) return false;
        fv->v = nv;
        fv->cap = nc;
    }
    fv->v[fv->n++] = f;
    return true;
}

static bool is_c_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

static const char *find_bytes(const char *h, size_t hn, const char *nd,
                              size_t nn) {
    if (nn == 0 || nn > hn) return NULL;
    for (size_t i = 0; i + nn <= hn; i++) {
        const char *p = memchr(h + i, nd[0], hn - nn - i + 1);
        if (!p) return NULL;
        if (memcmp(p, nd, nn) == 0) return p;
        i = (size_t)(p - h);
    }
    return NULL;
}

/*
 * Split text into raw fragments and special tokens: for each special
 * token (longest first), every raw fragment is split at each of its
 * leftmost non-overlapping occurrences. CONTROL and UNKNOWN tokens only
 * when parse_special. Returns false on out-of-memory.
 */
static bool partition(const llm_vocab *v, const char *text, size_t len,
                      bool parse_special, fragvec *out) {
    fragvec a = {0}, b = {0};
    if (len == 0) {
        *out = a;
        return true;
    }
    if (!frag_push(&a, (frag){0, len, -1})) return false;
    for (uint32_t si = 0; si < v->n_special; si++) {
        int32_t id = v->special[si];
        uint8_t t = v->type[id];
        if (!parse_special && (t == TT_CONTROL || t == TT_UNKNOWN)) continue;
        size_t pn;
        const char *p = piece(v, id, &pn);
        b.n = 0;
        bool changed = false;
        for (size_t fi = 0; fi < a.n; fi++) {
            frag fr = a.v[fi];
            if (fr.tok >= 0) {
                if (!frag_push(&b, fr)) goto oom;
                continue;
            }
            size_t off = fr.off, rem = fr.len;
            for (;;) {
                const char *m = find_bytes(text + off, rem, p, pn);
                if (!m) {
                    if (rem && !frag_push(&b, (frag){off, rem, -1}))
                        goto oom;
                    break;
                }
                changed = true;
                size_t mo = (size_t)(m - text);
                if (mo > off && !frag_push(&b, (frag){off, mo - off, -1}))
                    goto oom;
                if (!frag_push(&b, (frag){mo, pn, id})) goto oom;
                rem -= (mo - off) + pn;
                off = mo + pn;
                if (v->attr[id] & ATTR_RSTRIP)
                    while (rem > 0 && is_c_space(text[off])) {
                        off++;
                        rem--;
                    }
            }
        }
        if (changed) {
            fragvec t2 = a;
            a = b;
            b = t2;
        }
    }
    free(b.v);
    *out = a;
    return true;
oom:
    free(a.v);
    free(b.v);
    return false;
}

/* Symbols being merged (a doubly linked list over an array). */
typedef struct sym {
    int32_t prev, next;
    const char *text;
    uint32_t n;
    int32_t id;          /* BPE: token id of text or -1 */
} sym;

/* Candidate merge in the work queue: smallest key first, then leftmost. */
typedef struct bigram {
    double key;          /* SPM: -score; BPE: rank */
    int32_t left, right;
    uint32_t size;       /* bytes of left + right when queued */
} bigram;

typedef struct heap {
    bigram *v;
    size_t n, cap;
} heap;

static bool bg_less(const bigram *a, const bigram *b) {
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static bool heap_push(heap *h, bigram x) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        bigram *nv = realloc(h->v, nc * sizeof *nv);
        if (!nv) return false;
        h->v = nv;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bg_less(&x, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = x;
    return true;
}

static bigram heap_pop(heap *h) {
    bigram top = h->v[0], x = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bg_less(&h->v[c + 1], &h->v[c])) c++;
        if (!bg_less(&h->v[c], &x)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = x;
    return top;
}

/* Per-call scratch. */
typedef struct scratch {
    sym *syms;
    size_t cap_syms;
    heap q;
    char *buf;           /* SPM escaped text / BPE mapped word */
    size_t cap_buf;
    uint32_t *cps;       /* BPE: code points (UINT32_MAX = raw byte) */
    size_t *cp_off;      /* BPE: byte offset of each code point, n + 1 */
    size_t cap_cps, cap_off;
} scratch;

static void scratch_free(scratch *s) {
    free(s->syms);
    free(s->q.v);
    free(s->buf);
    free(s->cps);
    free(s->cp_off);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem) return false;
        nc *= 2;
    }
    void *np = realloc(*p, nc * elem);
    if (!np) return false;
    *p = np;
    *cap = nc;
    return true;
}

/* Length of the UTF-8 sequence a lead byte announces (llama.cpp's
 * unicode_len_utf8: continuation and invalid bytes count as 1). */
static size_t lead_len(uint8_t c) {
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

/* ==== SPM =============================================================== */

static bool spm_try_bigram(const llm_vocab *v, scratch *s, int32_t l,
                           int32_t r) {
    if (l < 0 || r < 0) return true;
    size_t n = (size_t)s->syms[l].n + s->syms[r].n;
    int32_t id = sm_get(&v->by_piece, s->syms[l].text, n);
    if (id < 0) return true;
    return heap_push(&s->q, (bigram){-(double)v->score[id], l, r,
                                     (uint32_t)n});
}

/* Tokenize one raw fragment (already escaped: "▁" for spaces). */
static bool spm_fragment(const llm_vocab *v, scratch *s, const char *t,
                         size_t n, sink *out) {
    size_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t k = lead_len((uint8_t)t[off]);
        if (k > n - off) k = n - off;
        if (!grow((void **)&s->syms, &s->cap_syms, ns + 1, sizeof *s->syms))
            return false;
        s->syms[ns] = (sym){(int32_t)ns - 1, off + k == n ? -1 : (int32_t)ns + 1,
                            t + off, (uint32_t)k, -1};
        ns++;
        off += k;
    }
    s->q.n = 0;
    for (size_t i = 1; i < ns; i++)
        if (!spm_try_bigram(v, s, (int32_t)i - 1, (int32_t)i)) return false;
    while (s->q.n) {
        bigram bg = heap_pop(&s->q);
        sym *l = &s->syms[bg.left], *r = &s->syms[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s->syms[r->next].prev = bg.left;
        if (!spm_try_bigram(v, s, l->prev, bg.left) ||
            !spm_try_bigram(v, s, bg.left, l->next))
            return false;
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = s->syms[i].next) {
        const sym *y = &s->syms[i];
        int32_t id = sm_get(&v->by_piece, y->text, y->n);
        if (id >= 0) {
            emit(out, id);
            continue;
        }
        for (uint32_t j = 0; j < y->n; j++) {
            int32_t b = v->byte_tok[(uint8_t)y->text[j]];
            if (b >= 0) emit(out, b);
        }
    }
    return true;
}

/* ==== BPE: pre-tokenizer ================================================ */

enum { CF_LETTER = 1, CF_NUMBER = 2, CF_SPACE = 4, CF_OTHER = 8 };

/* Class flags of code point i, 0 past the end (llama.cpp's empty flags);
 * a raw invalid byte behaves like U+FFFD (a symbol). */
static unsigned cp_flags(const uint32_t *cps, size_t n, size_t i) {
    if (i >= n) return 0;
    uint32_t c = cps[i];
    if (c == UINT32_MAX) return CF_OTHER;
    if (c < 0x80) {
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return CF_LETTER;
        if (c >= '0' && c <= '9') return CF_NUMBER;
        if (c == ' ' || (c >= 0x09 && c <= 0x0d)) return CF_SPACE;
        return CF_OTHER;
    }
    if (wm_ucd_in(wm_ucd_letter, wm_ucd_letter_len, c)) return CF_LETTER;
    if (wm_ucd_in(wm_ucd_number, wm_ucd_number_len, c)) return CF_NUMBER;
    if (wm_ucd_in(wm_ucd_space, wm_ucd_space_len, c)) return CF_SPACE;
    return CF_OTHER;
}

static uint32_t cp_at(const uint32_t *cps, size_t n, size_t i) {
    return i < n ? cps[i] : UINT32_MAX;
}

static uint32_t ascii_lower(uint32_t c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/*
 * Length (in code points) of the pre-tokenizer match starting at pos.
 * GPT-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
 *         \s+(?!\S)|\s+
 * Llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|
 *         \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * Qwen2:  as Llama3 with \p{N} (one digit per word).
 */
static size_t pre_match(enum pre_kind pre, const uint32_t *c, size_t n,
                        size_t pos) {
    uint32_t cp = c[pos];
    unsigned fl = cp_flags(c, n, pos);
    bool ci = pre != PRE_GPT2;
    if (cp == '\'' && pos + 1 < n) {
        uint32_t a = c[pos + 1], bb = cp_at(c, n, pos + 2);
        if (ci) {
            a = ascii_lower(a);
            bb = ascii_lower(bb);
        }
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (pos + 2 < n && ((a == 'r' && bb == 'e') || (a == 'v' && bb == 'e') ||
                            (a == 'l' && bb == 'l')))
            return 3;
    }
    size_t p = pos;
    if (pre == PRE_GPT2) {
        unsigned f2 = cp == ' ' ? cp_flags(c, n, pos + 1) : fl;
        if (f2 & (CF_LETTER | CF_NUMBER)) {
            unsigned want = f2 & (CF_LETTER | CF_NUMBER);
            p += cp == ' ';
            while (cp_flags(c, n, p) & want) p++;
            return p - pos;
        }
        if (f2 & CF_OTHER) {
            p += cp == ' ';
            while (cp_flags(c, n, p) & CF_OTHER) p++;
            return p - pos;
        }
        size_t ws = 0;
        while (cp_flags(c, n, pos + ws) & CF_SPACE) ws++;
        if (ws > 1 && pos + ws < n) return ws - 1;
        if (ws > 0) return ws;
        return 1;
    }
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (!(cp == '\r' || cp == '\n' || (fl & CF_NUMBER))) {
        if ((fl & CF_LETTER) || (cp_flags(c, n, pos + 1) & CF_LETTER)) {
            p++;
            while (cp_flags(c, n, p) & CF_LETTER) p++;
            return p - pos;
        }
    }
    /* \p{N}{1,3} (Qwen2: \p{N}) */
    if (fl & CF_NUMBER) {
        size_t max = pre == PRE_QWEN2 ? 1 : 3;
        while (p - pos < max && (cp_flags(c, n, p) & CF_NUMBER)) p++;
        return p - pos;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    unsigned f2 = cp == ' ' ? cp_flags(c, n, pos + 1) : fl;
    if (f2 & CF_OTHER) {
        p += cp == ' ';
        while (cp_flags(c, n, p) & CF_OTHER) p++;
        while (cp_at(c, n, p) == '\r' || cp_at(c, n, p) == '\n') p++;
        return p - pos;
    }
    size_t ws = 0, last_rn = 0;
    while (cp_flags(c, n, pos + ws) & CF_SPACE) {
        uint32_t w = c[pos + ws];
        if (w == '\r' || w == '\n') last_rn = ws + 1;
        ws++;
    }
    if (last_rn) return last_rn;          /* \s*[\r\n]+ */
    if (ws > 1 && pos + ws < n) return ws - 1;   /* \s+(?!\S) */
    if (ws > 0) return ws;                /* \s+ */
    return 1;
}

/* ==== BPE: merges ======================================================= */

static bool bpe_try_bigram(const llm_vocab *v, scratch *s, int32_t l,
                           int32_t r) {
    if (l < 0 || r < 0) return true;
    int32_t rank = pm_get(&v->merges, s->syms[l].id, s->syms[r].id);
    if (rank < 0 || s->syms[l].id < 0 || s->syms[r].id < 0) return true;
    return heap_push(&s->q, (bigram){(double)rank, l, r,
                                     s->syms[l].n + s->syms[r].n});
}

/* One pre-tokenized word, raw bytes w[0..n). */
static bool bpe_word(const llm_vocab *v, scratch *s, const char *w, size_t n,
                     sink *out) {
    if (!grow((void **)&s->buf, &s->cap_buf, 2 * n + 1, 1)) return false;
    size_t mn = 0;
    for (size_t i = 0; i < n; i++)
        mn += utf8_put(gpt2_byte_to_cp((uint8_t)w[i]), s->buf + mn);
    const char *m = s->buf;
    if (v->ignore_merges) {
        int32_t id = sm_get(&v->by_piece, m, mn);
        if (id >= 0) {
            emit(out, id);
            return true;
        }
    }
    if (!grow((void **)&s->syms, &s->cap_syms, n, sizeof *s->syms))
        return false;
    size_t ns = 0;
    for (size_t off = 0; off < mn;) {
        size_t k = lead_len((uint8_t)m[off]);
        s->syms[ns] = (sym){(int32_t)ns - 1, off + k == mn ? -1 : (int32_t)ns + 1,
                            m + off, (uint32_t)k, sm_get(&v->by_piece, m + off, k)};
        ns++;
        off += k;
    }
    s->q.n = 0;
    for (size_t i = 1; i < ns; i++)
        if (!bpe_try_bigram(v, s, (int32_t)i - 1, (int32_t)i)) return false;
    while (s->q.n) {
        bigram bg = heap_pop(&s->q);
        sym *l = &s->syms[bg.left], *r = &s->syms[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;
        l->n += r->n;
        r->n = 0;
        l->id = sm_get(&v->by_piece, l->text, l->n);
        l->next = r->next;
        if (r->next >= 0) s->syms[r->next].prev = bg.left;
        if (!bpe_try_bigram(v, s, l->prev, bg.left) ||
            !bpe_try_bigram(v, s, bg.left, l->next))
            return false;
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = s->syms[i].next) {
        const sym *y = &s->syms[i];
        if (y->id >= 0) {
            emit(out, y->id);
            continue;
        }
        /* As llama.cpp: fall back to single-byte pieces of the mapped
         * text (only ASCII ones can exist). */
        for (uint32_t j = 0; j < y->n; j++) {
            int32_t id = sm_get(&v->by_piece, y->text + j, 1);
            if (id >= 0) emit(out, id);
        }
    }
    return true;
}

static bool bpe_fragment(const llm_vocab *v, scratch *s, const char *t,
                         size_t n, sink *out) {
    if (!grow((void **)&s->cps, &s->cap_cps, n + 1, sizeof *s->cps) ||
        !grow((void **)&s->cp_off, &s->cap_off, n + 1, sizeof *s->cp_off))
        return false;
    size_t *offs = s->cp_off, nc = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = wm_utf8_decode((const uint8_t *)t + i, n - i, &cp);
        s->cps[nc] = cp;
        offs[nc++] = i;
        i += k;
    }
    offs[nc] = n;
    for (size_t pos = 0; pos < nc;) {
        size_t k = pre_match(v->pre, s->cps, nc, pos);
        if (!bpe_word(v, s, t + offs[pos], offs[pos + k] - offs[pos], out))
            return false;
        pos += k;
    }
    return true;
}

/* ==== Tokenize ========================================================== */

int64_t llm_tokenize(const llm_vocab *v, const char *text, size_t len,
                     bool add_bos, bool parse_special, int32_t *out,
                     int64_t cap, wm_error *err) {
    sink sk = {out, cap < 0 ? 0 : cap, 0};
    scratch s = {0};
    fragvec fv = {0};
    if (!partition(v, text, len, parse_special, &fv)) goto oom;
    if (add_bos && v->bos >= 0) emit(&sk, v->bos);
    bool prev_special = true;
    for (size_t i = 0; i < fv.n; i++) {
        const frag *fr = &fv.v[i];
        if (fr->tok >= 0) {
            emit(&sk, fr->tok);
            prev_special = true;
            continue;
        }
        const char *t = text + fr->off;
        if (v->kind == LLM_VOCAB_BPE) {
            if (!bpe_fragment(v, &s, t, fr->len, &sk)) goto oom;
            continue;
        }
        /* SPM: optional leading space, then ' ' -> U+2581. */
        size_t need = 3 * (fr->len + 1);
        if (!grow((void **)&s.buf, &s.cap_buf, need, 1)) goto oom;
        char *e = s.buf;
        size_t en = 0;
        if (v->add_space_prefix && prev_special) {
            memcpy(e, "\xe2\x96\x81", 3);
            en = 3;
        }
        for (size_t j = 0; j < fr->len; j++) {
            if (t[j] == ' ') {
                memcpy(e + en, "\xe2\x96\x81", 3);
                en += 3;
            } else {
                e[en++] = t[j];
            }
        }
        if (!spm_fragment(v, &s, e, en, &sk)) goto oom;
        prev_special = false;
    }
    free(fv.v);
    scratch_free(&s);
    if (v->add_eos && add_bos && v->eos >= 0) emit(&sk, v->eos);
    return sk.n;
oom:
    free(fv.v);
    scratch_free(&s);
    wm_errf(err, WM_ERR_NOMEM, "out of memory");
    return -1;
}

/* ==== Detokenize ======================================================== */

void llm_detok_init(llm_detok *d) {
    d->n_pending = 0;
    d->at_start = true;
}

/* How many bytes, from s[0] (a lead byte), form a valid prefix of a
 * UTF-8 sequence; *need = the full length. 0 when s[0] cannot start one
 * or s[1..avail) breaks it. */
static size_t utf8_prefix(const uint8_t *s, size_t avail, size_t *need) {
    uint8_t c = s[0];
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) *need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        *need = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        *need = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    size_t k = avail < *need ? avail : *need;
    for (size_t j = 1; j < k; j++) {
        uint8_t lo_j = j == 1 ? lo : 0x80, hi_j = j == 1 ? hi : 0xbf;
        if (s[j] < lo_j || s[j] > hi_j) return 0;
    }
    return k;
}

static size_t put_bytes(char *out, size_t cap, size_t o, const void *p,
                        size_t n) {
    if (n > cap - o) return o;   /* does not fit: dropped whole */
    memcpy(out + o, p, n);
    return o + n;
}

/*
 * Feed bytes through the UTF-8 assembler: complete valid sequences go to
 * out, bytes that can never become valid as U+FFFD, and a valid but
 * incomplete tail (<= 3 bytes) waits in d->pending.
 */
static size_t detok_feed(llm_detok *d, const uint8_t *p, size_t n, char *out,
                         size_t cap) {
    size_t o = 0;
    uint8_t win[4];
    size_t i = 0;
    while (d->n_pending || i < n) {
        /* Assemble up to 4 bytes: pending first, then input. */
        size_t w = 0;
        for (; w < d->n_pending && w < 4; w++) win[w] = d->pending[w];
        size_t from_in = 0;
        while (w < 4 && i + from_in < n) win[w++] = p[i + from_in++];
        if (w == 0) break;
        size_t used;   /* bytes of win consumed */
        if (win[0] < 0x80) {
            o = put_bytes(out, cap, o, win, 1);
            used = 1;
        } else {
            size_t need;
            size_t k = utf8_prefix(win, w, &need);
            if (k == 0) {
                o = put_bytes(out, cap, o, "\xef\xbf\xbd", 3);
                used = 1;
            } else if (k < need) {
                if (w < need && i + from_in == n) {
                    /* Incomplete at the end of the input: keep it. */
                    memcpy(d->pending, win, w);
                    d->n_pending = (uint32_t)w;
                    return o;
                }
                o = put_bytes(out, cap, o, "\xef\xbf\xbd", 3);
                used = 1;
            } else {
                o = put_bytes(out, cap, o, win, need);
                used = need;
            }
        }
        /* Consume `used` bytes: from pending first. */
        if (used <= d->n_pending) {
            memmove(d->pending, d->pending + used, d->n_pending - used);
            d->n_pending -= (uint32_t)used;
        } else {
            i += used - d->n_pending;
            d->n_pending = 0;
        }
    }
    return o;
}

size_t llm_detok_push(const llm_vocab *v, llm_detok *d, int32_t id,
                      char *out, size_t cap) {
    size_t n;
    const char *t = llm_token_text(v, id, false, &n);
    if (id == v->bos) {
        d->at_start = true;
        return 0;
    }
    if (n == 0) return 0;
    if (d->at_start && v->kind == LLM_VOCAB_SPM && v->add_space_prefix &&
        t[0] == ' ') {
        t++;
        n--;
    }
    d->at_start = false;
    return detok_feed(d, (const uint8_t *)t, n, out, cap);
}

size_t llm_detok_flush(llm_detok *d, char *out, size_t cap) {
    size_t o = 0;
    for (uint32_t i = 0; i < d->n_pending; i++)
        o = put_bytes(out, cap, o, "\xef\xbf\xbd", 3);
    d->n_pending = 0;
    return o;
}
