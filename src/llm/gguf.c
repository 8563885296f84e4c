/*
 * gguf.c — GGUF v2/v3 reader and v3 writer (see gguf.h).
 *
 * File layout (all integers little-endian):
 *
 *   +--------+---------+-------------+---------+
 *   | "GGUF" | version | n_tensors   | n_kv    |   u32 u32 u64 u64
 *   +--------+---------+-------------+---------+
 *   | kv[0..n_kv):  key (u64 len, bytes) | u32 type | value         |
 *   |   value: scalar bytes | string (u64 len, bytes) |             |
 *   |          array (u32 elem type, u64 n, n elements)            |
 *   +--------------------------------------------------------------+
 *   | tensor info[0..n_tensors): name (string) | u32 n_dims |      |
 *   |   u64 ne[n_dims] | u32 ggml type | u64 offset (rel. to data)|
 *   +--------------------------------------------------------------+
 *   | padding to general.alignment (default 32)                     |
 *   +--------------------------------------------------------------+
 *   | data section: tensor bytes at their (aligned) offsets         |
 *   +--------------------------------------------------------------+
 *
 * The reader trusts nothing: every read goes through rd_need(), which
 * compares the length with the bytes that remain (never `off + n > size`,
 * which can wrap); counts are bounded by what the remaining bytes could
 * possibly hold before anything is allocated, and by hard caps. Nested
 * arrays are rejected, as llama.cpp does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "quant.h"
#include "../util/arena.h"

#if WM_ENABLE_MMAP   /* config.h, through gguf.h */
#include <sys/mman.h>
#endif

/* Hard caps, on top of "what the remaining bytes can hold". */
#define GGUF_MAX_KV          ((uint64_t)1 << 20)
#define GGUF_MAX_TENSORS     ((uint64_t)1 << 20)
#define GGUF_MAX_KEY_LEN     ((uint64_t)1 << 16)
#define GGUF_MAX_STRING_LEN  ((uint64_t)1 << 30)
#define GGUF_MAX_ARRAY_LEN   ((uint64_t)1 << 30)
#define GGUF_MAX_NAME_LEN    256u
#define GGUF_MAX_ALIGNMENT   ((uint32_t)1 << 30)

/* Byte size of a scalar value type; 0 for STRING/ARRAY/unknown. */
static uint64_t vtype_size(uint32_t t) {
    switch (t) {
    case GGUF_T_UINT8: case GGUF_T_INT8: case GGUF_T_BOOL: return 1;
    case GGUF_T_UINT16: case GGUF_T_INT16: return 2;
    case GGUF_T_UINT32: case GGUF_T_INT32: case GGUF_T_FLOAT32: return 4;
    case GGUF_T_UINT64: case GGUF_T_INT64: case GGUF_T_FLOAT64: return 8;
    default: return 0;
    }
}

static const char *vtype_name(uint32_t t) {
    static const char *const names[GGUF_T_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string",
        "array", "u64", "i64", "f64"};
    return t < GGUF_T_COUNT ? names[t] : "?";
}

/* ==== Reader: cursor and errors ======================================== */

typedef struct rd {
    const uint8_t *p;
    size_t size;
    size_t off;
    const char *path;
    wm_error *err;
} rd;

static wm_status WM_PRINTF(3, 4) rd_fail(rd *r, size_t off, const char *fmt,
                                         ...) {
    wm_error *err = r->err;
    if (!err) return WM_ERR_FORMAT;
    err->code = WM_ERR_FORMAT;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    snprintf(err->where, sizeof err->where, "%s", r->path);
    err->byte_off = (int64_t)off;
    return WM_ERR_FORMAT;
}

/* Are n more bytes available? */
static bool rd_has(const rd *r, uint64_t n) {
    return r->off <= r->size && n <= (uint64_t)(r->size - r->off);
}

static uint64_t rd_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Read an n-byte little-endian integer (n <= 8) naming `what` on EOF. */
static wm_status rd_uint(rd *r, unsigned n, uint64_t *out, const char *what) {
    *out = 0;
    if (!rd_has(r, n))
        return rd_fail(r, r->off, "unexpected end of file reading %s "
                       "(%u bytes needed, %zu left)", what, n,
                       r->size > r->off ? r->size - r->off : 0);
    *out = rd_le(r->p + r->off, n);
    r->off += n;
    return WM_OK;
}

/* A GGUF string: u64 length, then that many bytes (not NUL-terminated). */
static wm_status rd_str(rd *r, gguf_str *out, uint64_t cap,
                        const char *what) {
    size_t at = r->off;
    uint64_t len;
    wm_status st = rd_uint(r, 8, &len, what);
    if (st) return st;
    if (len > cap)
        return rd_fail(r, at, "%s: string length %llu exceeds the limit "
                       "(%llu)", what, (unsigned long long)len,
                       (unsigned long long)cap);
    if (!rd_has(r, len))
        return rd_fail(r, at, "%s: string length %llu exceeds remaining "
                       "file size (%zu bytes)", what,
                       (unsigned long long)len, r->size - r->off);
    out->ptr = (const char *)r->p + r->off;
    out->len = len;
    r->off += (size_t)len;
    return WM_OK;
}

/* ==== Type sizes ======================================================== */

/* Block size and bytes per block of ggml type t, from quant.c's
 * llm_row_size (the one table of type sizes): the block size is the
 * smallest power of two <= 256 with a non-zero row size. false when the
 * engine does not know the type. */
static bool type_info(uint64_t t, uint64_t *blck, uint64_t *size) {
    if (t >= LLM_TYPE_COUNT) return false;
    for (int64_t k = 1; k <= 256; k *= 2) {
        size_t rs = llm_row_size((llm_type)t, k);
        if (rs) {
            *blck = (uint64_t)k;
            *size = rs;
            return true;
        }
    }
    return false;
}

static bool type_known(uint64_t t) {
    uint64_t b, s;
    return type_info(t, &b, &s);
}

/* Bytes of a row of n >= 0 elements of ggml type t; 0 when t is unknown,
 * n is not a multiple of its block size, or the size exceeds INT64_MAX. */
static uint64_t row_size(uint32_t t, int64_t n) {
    uint64_t blck, size;
    if (!type_info(t, &blck, &size) || n < 0 || (uint64_t)n % blck != 0)
        return 0;
    uint64_t blocks = (uint64_t)n / blck;
    if (blocks > (uint64_t)INT64_MAX / size) return 0;
    return blocks * size;
}

/* ==== Reader: metadata ================================================== */

struct gguf_mem {
    arena a;
};

static int cmp_str(const gguf_str *a, const gguf_str *b) {
    size_t n = a->len < b->len ? (size_t)a->len : (size_t)b->len;
    int c = n ? memcmp(a->ptr, b->ptr, n) : 0;
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_kv_key(const void *a, const void *b) {
    const gguf_kv *x = *(const gguf_kv *const *)a;
    const gguf_kv *y = *(const gguf_kv *const *)b;
    return cmp_str(&x->key, &y->key);
}

static int cmp_tensor_name(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a;
    const gguf_tensor *y = *(const gguf_tensor *const *)b;
    return cmp_str(&x->name, &y->name);
}

static int cmp_tensor_off(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a;
    const gguf_tensor *y = *(const gguf_tensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Shorten a file string for messages. */
static int pfx(gguf_str s) { return s.len > 64 ? 64 : (int)s.len; }

/* Read the value of kv (type already read). Strings of string values and
 * arrays are indexed into the arena. */
static wm_status rd_value(rd *r, gguf_file *f, gguf_kv *kv, uint64_t idx) {
    arena *a = &((struct gguf_mem *)f->mem)->a;
    const char *what = "value";
    kv->n = 1;
    kv->data = r->p + r->off;
    if (kv->type == GGUF_T_STRING) {
        gguf_str *s = arena_alloc(a, sizeof *s);
        if (!s) return wm_errf(r->err, WM_ERR_NOMEM, "out of memory");
        wm_status st = rd_str(r, s, GGUF_MAX_STRING_LEN, what);
        if (st) return st;
        kv->strs = s;
        return WM_OK;
    }
    if (kv->type != GGUF_T_ARRAY) {
        uint64_t sz = vtype_size(kv->type), v;
        return rd_uint(r, (unsigned)sz, &v, what);
    }
    size_t at = r->off;
    uint64_t et, n;
    wm_status st = rd_uint(r, 4, &et, "array element type");
    if (st) return st;
    if (et >= GGUF_T_COUNT)
        return rd_fail(r, at, "kv %llu '%.*s': bad array element type "
                       "%llu (max %d)", (unsigned long long)idx,
                       pfx(kv->key), kv->key.ptr, (unsigned long long)et,
                       GGUF_T_COUNT - 1);
    if (et == GGUF_T_ARRAY)
        return rd_fail(r, at, "kv %llu '%.*s': nested arrays are not "
                       "supported", (unsigned long long)idx, pfx(kv->key),
                       kv->key.ptr);
    at = r->off;
    if ((st = rd_uint(r, 8, &n, "array length"))) return st;
    kv->arr_type = (gguf_vtype)et;
    kv->n = n;
    kv->data = r->p + r->off;
    uint64_t left = r->size - r->off;
    if (n > GGUF_MAX_ARRAY_LEN)
        return rd_fail(r, at, "kv %llu '%.*s': array length %llu exceeds "
                       "the limit (%llu)", (unsigned long long)idx,
                       pfx(kv->key), kv->key.ptr, (unsigned long long)n,
                       (unsigned long long)GGUF_MAX_ARRAY_LEN);
    if (et == GGUF_T_STRING) {
        /* Every string needs at least its 8-byte length. */
        if (n > left / 8)
            return rd_fail(r, at, "kv %llu '%.*s': array of %llu strings "
                           "exceeds remaining file size (%llu bytes)",
                           (unsigned long long)idx, pfx(kv->key),
                           kv->key.ptr, (unsigned long long)n,
                           (unsigned long long)left);
        gguf_str *s = arena_calloc(a, (size_t)(n ? n : 1), sizeof *s);
        if (!s) return wm_errf(r->err, WM_ERR_NOMEM, "out of memory");
        for (uint64_t i = 0; i < n; i++) {
            size_t sat = r->off;
            if (!rd_has(r, 8) ||
                rd_le(r->p + r->off, 8) > (uint64_t)(r->size - r->off - 8))
                return rd_fail(r, sat, "kv %llu '%.*s': string %llu of "
                               "%llu: length past end of file",
                               (unsigned long long)idx, pfx(kv->key),
                               kv->key.ptr, (unsigned long long)i,
                               (unsigned long long)n);
            if ((st = rd_str(r, &s[i], GGUF_MAX_STRING_LEN, "array string")))
                return st;
        }
        kv->strs = s;
        return WM_OK;
    }
    uint64_t esz = vtype_size((uint32_t)et);
    if (n > left / esz)
        return rd_fail(r, at, "kv %llu '%.*s': array of %llu %s exceeds "
                       "remaining file size (%llu bytes)",
                       (unsigned long long)idx, pfx(kv->key), kv->key.ptr,
                       (unsigned long long)n, vtype_name((uint32_t)et),
                       (unsigned long long)left);
    r->off += (size_t)(n * esz);
    return WM_OK;
}

static wm_status rd_kvs(rd *r, gguf_file *f) {
    arena *a = &((struct gguf_mem *)f->mem)->a;
    f->kv = arena_calloc(a, (size_t)(f->n_kv ? f->n_kv : 1), sizeof *f->kv);
    if (!f->kv) return wm_errf(r->err, WM_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kv[i];
        size_t at = r->off;
        char what[48];
        snprintf(what, sizeof what, "key of kv %llu", (unsigned long long)i);
        wm_status st = rd_str(r, &kv->key, GGUF_MAX_KEY_LEN, what);
        if (st) return st;
        if (kv->key.len == 0)
            return rd_fail(r, at, "kv %llu: empty key",
                           (unsigned long long)i);
        at = r->off;
        uint64_t t;
        snprintf(what, sizeof what, "type of kv %llu", (unsigned long long)i);
        if ((st = rd_uint(r, 4, &t, what))) return st;
        if (t >= GGUF_T_COUNT)
            return rd_fail(r, at, "kv %llu '%.*s': bad value type %llu "
                           "(max %d)", (unsigned long long)i, pfx(kv->key),
                           kv->key.ptr, (unsigned long long)t,
                           GGUF_T_COUNT - 1);
        kv->type = (gguf_vtype)t;
        kv->arr_type = kv->type;
        at = r->off;
        if ((st = rd_value(r, f, kv, i))) {
            if (st == WM_ERR_FORMAT && r->err &&
                strncmp(r->err->msg, "kv ", 3) != 0) {
                /* Prefix the key to low-level messages. */
                char tmp[sizeof r->err->msg], full[2 * sizeof r->err->msg];
                memcpy(tmp, r->err->msg, sizeof tmp);
                snprintf(full, sizeof full, "kv %llu '%.*s' (%s): %s",
                         (unsigned long long)i, pfx(kv->key), kv->key.ptr,
                         vtype_name(kv->type), tmp);
                memcpy(r->err->msg, full, sizeof r->err->msg - 1);
                r->err->msg[sizeof r->err->msg - 1] = 0;
            }
            return st;
        }
    }
    /* Duplicate keys: sort pointers, compare neighbours (O(n log n)). */
    if (f->n_kv > 1) {
        const gguf_kv **idx = malloc((size_t)f->n_kv * sizeof *idx);
        if (!idx) return wm_errf(r->err, WM_ERR_NOMEM, "out of memory");
        for (uint64_t i = 0; i < f->n_kv; i++) idx[i] = &f->kv[i];
        qsort(idx, (size_t)f->n_kv, sizeof *idx, cmp_kv_key);
        for (uint64_t i = 1; i < f->n_kv; i++) {
            if (cmp_str(&idx[i - 1]->key, &idx[i]->key) == 0) {
                const gguf_kv *d = idx[i] > idx[i - 1] ? idx[i] : idx[i - 1];
                size_t off = (size_t)((const uint8_t *)d->key.ptr - r->p) - 8;
                gguf_str k = d->key;
                free(idx);
                return rd_fail(r, off, "kv %llu: duplicate key '%.*s'",
                               (unsigned long long)(d - f->kv), pfx(k),
                               k.ptr);
            }
        }
        free(idx);
    }
    return WM_OK;
}

/* general.alignment: a u32 power of two (when present). */
static wm_status rd_alignment(rd *r, gguf_file *f) {
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find(f, "general.alignment");
    if (!kv) return WM_OK;
    size_t off = (size_t)(kv->data - r->p);
    if (kv->type != GGUF_T_UINT32)
        return rd_fail(r, off, "general.alignment: type %s, expected u32",
                       vtype_name(kv->type));
    uint32_t al = (uint32_t)rd_le(kv->data, 4);
    if (al == 0 || (al & (al - 1)) != 0 || al > GGUF_MAX_ALIGNMENT)
        return rd_fail(r, off, "general.alignment: %u is not a power of "
                       "two in [1, %u]", al, GGUF_MAX_ALIGNMENT);
    f->alignment = al;
    return WM_OK;
}

/* ==== Reader: tensor infos ============================================== */

static wm_status rd_tensors(rd *r, gguf_file *f) {
    arena *a = &((struct gguf_mem *)f->mem)->a;
    f->tensors = arena_calloc(a, (size_t)(f->n_tensors ? f->n_tensors : 1),
                              sizeof *f->tensors);
    if (!f->tensors) return wm_errf(r->err, WM_ERR_NOMEM, "out of memory");
    size_t *info_off = malloc((size_t)(f->n_tensors ? f->n_tensors : 1) *
                              sizeof *info_off);
    const gguf_tensor **idx = malloc(
        (size_t)(f->n_tensors ? f->n_tensors : 1) * sizeof *idx);
    wm_status st = WM_OK;
    if (!info_off || !idx) {
        st = wm_errf(r->err, WM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        unsigned long long ti = (unsigned long long)i;
        size_t at = info_off[i] = r->off;
        char what[64];
        snprintf(what, sizeof what, "name of tensor %llu", ti);
        if ((st = rd_str(r, &t->name, GGUF_MAX_NAME_LEN, what))) goto done;
        snprintf(what, sizeof what, "tensor %llu '%.*s'", ti, pfx(t->name),
                 t->name.ptr);
        uint64_t v;
        at = r->off;
        if ((st = rd_uint(r, 4, &v, what))) goto done;
        if (v > GGUF_MAX_DIMS) {
            st = rd_fail(r, at, "%s: %llu dimensions (max %d)", what,
                         (unsigned long long)v, GGUF_MAX_DIMS);
            goto done;
        }
        t->n_dims = (uint32_t)v;
        int64_t nel = 1;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            at = r->off;
            if ((st = rd_uint(r, 8, &v, what))) goto done;
            if (v > (uint64_t)INT64_MAX) {
                st = rd_fail(r, at, "%s: dimension %u is negative (%lld)",
                             what, d, (long long)(int64_t)v);
                goto done;
            }
            t->ne[d] = (int64_t)v;
            if (v != 0 && nel > INT64_MAX / (int64_t)v) {
                st = rd_fail(r, at, "%s: element count overflows "
                             "(dimension %u = %llu)", what, d,
                             (unsigned long long)v);
                goto done;
            }
            nel *= (int64_t)v;
        }
        at = r->off;
        if ((st = rd_uint(r, 4, &v, what))) goto done;
        t->type = (uint32_t)v;
        if (!type_known(v)) {
            st = rd_fail(r, at, "%s: bad type %llu", what,
                         (unsigned long long)v);
            goto done;
        }
        uint64_t rs = row_size(t->type, t->ne[0]), blck = 1, bsize = 0;
        type_info(t->type, &blck, &bsize);
        if ((uint64_t)t->ne[0] % blck != 0) {
            st = rd_fail(r, at, "%s: row length %lld is not a multiple of "
                         "the block size of type %u (%llu)", what,
                         (long long)t->ne[0], t->type,
                         (unsigned long long)blck);
            goto done;
        }
        uint64_t rows = (uint64_t)t->ne[1] * (uint64_t)t->ne[2] *
                        (uint64_t)t->ne[3];   /* <= nel: no overflow */
        if (t->ne[0] == 0) rows = 0;
        if ((rs == 0 && t->ne[0] != 0) ||
            (rows && rs > (uint64_t)INT64_MAX / rows)) {
            st = rd_fail(r, at, "%s: byte size overflows", what);
            goto done;
        }
        t->nbytes = rs * rows;
        at = r->off;
        if ((st = rd_uint(r, 8, &t->offset, what))) goto done;
        if (t->offset % f->alignment != 0) {
            st = rd_fail(r, at, "%s: data offset 0x%llx is not a multiple "
                         "of the alignment (%u)", what,
                         (unsigned long long)t->offset, f->alignment);
            goto done;
        }
    }
    /* The data section starts at the next alignment boundary. */
    uint64_t end = r->off, al = f->alignment;
    uint64_t data_off = (end + al - 1) / al * al;   /* end < 2^63: no wrap */
    if (f->n_tensors == 0) {
        f->data_off = data_off < r->size ? data_off : r->size;
        goto done;
    }
    if (data_off > r->size) {
        st = rd_fail(r, r->off, "data section at 0x%llx starts past end of "
                     "file (0x%zx bytes)", (unsigned long long)data_off,
                     r->size);
        goto done;
    }
    f->data_off = data_off;
    uint64_t data_size = r->size - data_off;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (t->offset > data_size) {
            st = rd_fail(r, info_off[i], "tensor %llu '%.*s': data offset "
                         "0x%llx past end of file (data section 0x%llx "
                         "bytes)", (unsigned long long)i, pfx(t->name),
                         t->name.ptr, (unsigned long long)t->offset,
                         (unsigned long long)data_size);
            goto done;
        }
        if (t->nbytes > data_size - t->offset) {
            st = rd_fail(r, info_off[i], "tensor %llu '%.*s': data "
                         "[0x%llx, 0x%llx) past end of file (0x%zx bytes)",
                         (unsigned long long)i, pfx(t->name), t->name.ptr,
                         (unsigned long long)(data_off + t->offset),
                         (unsigned long long)(data_off + t->offset) +
                             (unsigned long long)t->nbytes, r->size);
            goto done;
        }
        t->data = r->p + data_off + t->offset;
        idx[i] = t;
    }
    /* Duplicate names. */
    qsort(idx, (size_t)f->n_tensors, sizeof *idx, cmp_tensor_name);
    for (uint64_t i = 1; i < f->n_tensors; i++) {
        if (cmp_str(&idx[i - 1]->name, &idx[i]->name) == 0) {
            const gguf_tensor *d = idx[i] > idx[i - 1] ? idx[i] : idx[i - 1];
            uint64_t k = (uint64_t)(d - f->tensors);
            st = rd_fail(r, info_off[k], "tensor %llu: duplicate name "
                         "'%.*s'", (unsigned long long)k, pfx(d->name),
                         d->name.ptr);
            goto done;
        }
    }
    /* Overlapping data: sort by offset, neighbours must not intersect. */
    qsort(idx, (size_t)f->n_tensors, sizeof *idx, cmp_tensor_off);
    const gguf_tensor *prev = NULL;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = idx[i];
        if (t->nbytes == 0) continue;
        if (prev && t->offset < prev->offset + prev->nbytes) {
            uint64_t k = (uint64_t)(t - f->tensors);
            st = rd_fail(r, info_off[k], "tensor %llu '%.*s': data "
                         "[0x%llx, 0x%llx) overlaps tensor '%.*s'",
                         (unsigned long long)k, pfx(t->name), t->name.ptr,
                         (unsigned long long)t->offset,
                         (unsigned long long)(t->offset + t->nbytes),
                         pfx(prev->name), prev->name.ptr);
            goto done;
        }
        prev = t;
    }
done:
    free(info_off);
    free(idx);
    return st;
}

/* ==== Reader: open ====================================================== */

static wm_status gguf_parse(gguf_file *f, wm_error *err) {
    rd r = {.p = f->base, .size = f->size, .off = 0, .path = f->path,
            .err = err};
    uint64_t v;
    wm_status st;
    if (f->size < 4 || rd_le(f->base, 4) != GGUF_MAGIC) {
        if (f->size < 4)
            return rd_fail(&r, 0, "bad magic: file too short (%zu bytes)",
                           f->size);
        return rd_fail(&r, 0, "bad magic 0x%08x (expected \"GGUF\")",
                       (unsigned)rd_le(f->base, 4));
    }
    r.off = 4;
    if ((st = rd_uint(&r, 4, &v, "version"))) return st;
    if (v != 2 && v != 3)
        return rd_fail(&r, 4, "unsupported version %llu (2 and 3 are)",
                       (unsigned long long)v);
    f->version = (uint32_t)v;
    if ((st = rd_uint(&r, 8, &f->n_tensors, "tensor count"))) return st;
    if ((st = rd_uint(&r, 8, &f->n_kv, "metadata count"))) return st;
    /* A kv needs >= 13 bytes (key length, 1-byte key, type, 1-byte
     * value); a tensor info >= 24 (name length, n_dims, type, offset). */
    uint64_t left = r.size - r.off;
    if (f->n_kv > GGUF_MAX_KV || f->n_kv > left / 13)
        return rd_fail(&r, 16, "metadata count %llu exceeds what the file "
                       "can hold (%llu bytes left, limit %llu)",
                       (unsigned long long)f->n_kv, (unsigned long long)left,
                       (unsigned long long)GGUF_MAX_KV);
    if (f->n_tensors > GGUF_MAX_TENSORS || f->n_tensors > left / 24)
        return rd_fail(&r, 8, "tensor count %llu exceeds what the file can "
                       "hold (%llu bytes left, limit %llu)",
                       (unsigned long long)f->n_tensors,
                       (unsigned long long)left,
                       (unsigned long long)GGUF_MAX_TENSORS);
    if ((st = rd_kvs(&r, f))) return st;
    if ((st = rd_alignment(&r, f))) return st;
    return rd_tensors(&r, f);
}

/* Allocate the file object, the arena and the path copy. */
static gguf_file *gguf_alloc(const char *name) {
    gguf_file *f = calloc(1, sizeof *f);
    struct gguf_mem *m = calloc(1, sizeof *m);
    if (!f || !m) {
        free(f);
        free(m);
        return NULL;
    }
    f->mem = m;
    if (!name) name = "<buffer>";
    char *p = arena_dup(&m->a, name, strlen(name) + 1);
    if (!p) {
        free(m);
        free(f);
        return NULL;
    }
    f->path = p;
    return f;
}

static void set_where(wm_error *err, const char *path) {
    if (err) snprintf(err->where, sizeof err->where, "%s", path);
}

wm_status gguf_open_buffer(const void *buf, size_t size, const char *name,
                           gguf_file **out, wm_error *err) {
    *out = NULL;
    wm_error_clear(err);
    gguf_file *f = gguf_alloc(name);
    if (!f) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    f->base = buf;
    f->size = size;
    wm_status st = gguf_parse(f, err);
    if (st) {
        set_where(err, f->path);
        gguf_close(f);
        return st;
    }
    *out = f;
    return WM_OK;
}

/*
 * The whole file as read-only bytes: a private mapping, or without mmap
 * (config.h WM_ENABLE_MMAP == 0: wasm32-wasi) one 64-byte aligned heap
 * copy read in full, which is what wasi-libc's mmap emulation would do
 * too. NULL with errno set on failure; file_unmap() releases either.
 */
#if WM_ENABLE_MMAP
#define FILE_MAP_OP "mmap"
static void *file_map(int fd, size_t size) {
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void file_unmap(const void *p, size_t size) {
    munmap((void *)p, size);
}
#else
#define FILE_MAP_OP "read"
static void *file_map(int fd, size_t size) {
    if (size > SIZE_MAX - 63) {
        errno = ENOMEM;
        return NULL;
    }
    uint8_t *p = aligned_alloc(64, (size + 63) & ~(size_t)63);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    for (size_t done = 0; done < size;) {
        ssize_t n = read(fd, p + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;  /* shorter than fstat said */
            free(p);
            return NULL;
        }
        done += (size_t)n;
    }
    return p;
}

static void file_unmap(const void *p, size_t size) {
    (void)size;
    free((void *)p);
}
#endif

wm_status gguf_open(const char *path, gguf_file **out, wm_error *err) {
    *out = NULL;
    wm_error_clear(err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        wm_status st = wm_errf(err, errno == ENOENT ? WM_ERR_NOT_FOUND
                                                    : WM_ERR_IO,
                               "cannot open: %s", strerror(errno));
        set_where(err, path);
        return st;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        wm_status st = wm_errf(err, WM_ERR_IO, "not a regular file");
        set_where(err, path);
        return st;
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {   /* 32-bit hosts, wasm32 */
        close(fd);
        wm_status st = wm_errf(err, WM_ERR_LIMIT,
                               "file too large for the address space");
        set_where(err, path);
        return st;
    }
    gguf_file *f = gguf_alloc(path);
    if (!f) {
        close(fd);
        return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    f->size = (size_t)sb.st_size;
    if (f->size > 0) {
        void *p = file_map(fd, f->size);
        if (!p) {
            close(fd);
            wm_status st = wm_errf(err, WM_ERR_IO, FILE_MAP_OP " failed: %s",
                                   strerror(errno));
            set_where(err, path);
            gguf_close(f);
            return st;
        }
        f->base = p;
        f->mapped = true;
    } else {
        f->base = (const uint8_t *)"";
    }
    close(fd);
    wm_status st = gguf_parse(f, err);
    if (st) {
        set_where(err, path);
        gguf_close(f);
        return st;
    }
    *out = f;
    return WM_OK;
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    if (f->mapped && f->base) file_unmap(f->base, f->size);
    struct gguf_mem *m = f->mem;
    if (m) {
        arena_free(&m->a);
        free(m);
    }
    free(f);
}

/* ==== Lookup and typed getters ========================================== */

bool gguf_str_eq(gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

const gguf_kv *gguf_find(const gguf_file *f, const char *key) {
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (gguf_str_eq(f->kv[i].key, key)) return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (gguf_str_eq(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

/* Element type of kv: the array's element type, or the scalar's type. */
static gguf_vtype elem_type(const gguf_kv *kv) {
    return kv->type == GGUF_T_ARRAY ? kv->arr_type : kv->type;
}

/* Integer element i as signed/unsigned 128-ish: *neg says v is negative
 * (then v holds the two's-complement int64). false when not an integer. */
static bool elem_int(const gguf_kv *kv, uint64_t i, int64_t *s, uint64_t *u,
                     bool *is_signed) {
    gguf_vtype t = elem_type(kv);
    uint64_t sz = vtype_size(t);
    if (sz == 0 || t == GGUF_T_FLOAT32 || t == GGUF_T_FLOAT64 || i >= kv->n)
        return false;
    uint64_t raw = rd_le(kv->data + i * sz, (unsigned)sz);
    *is_signed = (t == GGUF_T_INT8 || t == GGUF_T_INT16 ||
                  t == GGUF_T_INT32 || t == GGUF_T_INT64);
    if (*is_signed) {
        unsigned bits = (unsigned)sz * 8;
        if (bits < 64 && (raw >> (bits - 1)) & 1) raw |= ~(uint64_t)0 << bits;
        *s = (int64_t)raw;
    } else {
        *u = raw;
        if (t == GGUF_T_BOOL) *u = raw != 0;
    }
    return true;
}

bool gguf_arr_i64(const gguf_kv *kv, uint64_t i, int64_t *out) {
    int64_t s = 0;
    uint64_t u = 0;
    bool sg;
    if (!kv || !elem_int(kv, i, &s, &u, &sg)) return false;
    if (sg) {
        *out = s;
        return true;
    }
    if (u > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)u;
    return true;
}

bool gguf_arr_f32(const gguf_kv *kv, uint64_t i, float *out) {
    if (!kv || i >= kv->n) return false;
    gguf_vtype t = elem_type(kv);
    if (t == GGUF_T_FLOAT32) {
        uint32_t b = (uint32_t)rd_le(kv->data + i * 4, 4);
        memcpy(out, &b, 4);
        return true;
    }
    if (t == GGUF_T_FLOAT64) {
        uint64_t b = rd_le(kv->data + i * 8, 8);
        double d;
        memcpy(&d, &b, 8);
        *out = (float)d;
        return true;
    }
    int64_t s = 0;
    uint64_t u = 0;
    bool sg;
    if (!elem_int(kv, i, &s, &u, &sg)) return false;
    *out = sg ? (float)s : (float)u;
    return true;
}

bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out) {
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || kv->type == GGUF_T_ARRAY || kv->type == GGUF_T_BOOL)
        return false;
    return gguf_arr_i64(kv, 0, out);
}

bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out) {
    int64_t v;
    if (!gguf_get_i64(f, key, &v) || v < 0 || v > (int64_t)UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool gguf_get_f32(const gguf_file *f, const char *key, float *out) {
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || (kv->type != GGUF_T_FLOAT32 && kv->type != GGUF_T_FLOAT64))
        return false;
    return gguf_arr_f32(kv, 0, out);
}

bool gguf_get_bool(const gguf_file *f, const char *key, bool *out) {
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || kv->type != GGUF_T_BOOL) return false;
    *out = kv->data[0] != 0;
    return true;
}

bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out) {
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || kv->type != GGUF_T_STRING) return false;
    *out = kv->strs[0];
    return true;
}

/* ==== Writer ============================================================ */

typedef struct w_kv {
    char *key;
    uint8_t *val;      /* u32 type, then the value as in the file */
    size_t val_len;
} w_kv;

typedef struct w_tensor {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
} w_tensor;

struct gguf_writer {
    uint32_t alignment;
    w_kv *kv;
    size_t n_kv, cap_kv;
    w_tensor *t;
    size_t n_t, cap_t;
    bool oom;
    char bad[200];     /* first invalid call, reported by write */
};

gguf_writer *gguf_writer_new(uint32_t alignment) {
    gguf_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->alignment = alignment ? alignment : GGUF_DEFAULT_ALIGNMENT;
    if ((w->alignment & (w->alignment - 1)) != 0 ||
        w->alignment > GGUF_MAX_ALIGNMENT)
        snprintf(w->bad, sizeof w->bad, "alignment %u is not a power of "
                 "two", alignment);
    return w;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Set key to the serialized value (type tag included), replacing an
 * existing entry in place as llama.cpp's gguf_set_* does. Takes val. */
static void w_set(gguf_writer *w, const char *key, uint8_t *val,
                  size_t val_len) {
    if (!val) {
        w->oom = true;
        return;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) {
            free(w->kv[i].val);
            w->kv[i].val = val;
            w->kv[i].val_len = val_len;
            return;
        }
    }
    if (w->n_kv == w->cap_kv) {
        size_t nc = w->cap_kv ? w->cap_kv * 2 : 32;
        w_kv *nk = realloc(w->kv, nc * sizeof *nk);
        if (!nk) {
            free(val);
            w->oom = true;
            return;
        }
        w->kv = nk;
        w->cap_kv = nc;
    }
    char *k = strdup(key);
    if (!k) {
        free(val);
        w->oom = true;
        return;
    }
    w->kv[w->n_kv++] = (w_kv){k, val, val_len};
}

static void w_scalar(gguf_writer *w, const char *key, gguf_vtype t,
                     uint64_t bits, unsigned n) {
    uint8_t *v = malloc(4 + n);
    if (v) {
        put_le(v, t, 4);
        put_le(v + 4, bits, n);
    }
    w_set(w, key, v, 4 + n);
}

void gguf_w_u32(gguf_writer *w, const char *key, uint32_t v) {
    w_scalar(w, key, GGUF_T_UINT32, v, 4);
}

void gguf_w_i32(gguf_writer *w, const char *key, int32_t v) {
    w_scalar(w, key, GGUF_T_INT32, (uint32_t)v, 4);
}

void gguf_w_f32(gguf_writer *w, const char *key, float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    w_scalar(w, key, GGUF_T_FLOAT32, b, 4);
}

void gguf_w_bool(gguf_writer *w, const char *key, bool v) {
    w_scalar(w, key, GGUF_T_BOOL, v ? 1 : 0, 1);
}

void gguf_w_str(gguf_writer *w, const char *key, const char *s) {
    size_t n = strlen(s);
    uint8_t *v = malloc(4 + 8 + n);
    if (v) {
        put_le(v, GGUF_T_STRING, 4);
        put_le(v + 4, n, 8);
        memcpy(v + 12, s, n);
    }
    w_set(w, key, v, 12 + n);
}

void gguf_w_arr_str(gguf_writer *w, const char *key, const gguf_str *s,
                    uint64_t n) {
    size_t total = 4 + 4 + 8;
    for (uint64_t i = 0; i < n; i++) {
        if (s[i].len > SIZE_MAX - total - 8) {
            w->oom = true;
            return;
        }
        total += 8 + (size_t)s[i].len;
    }
    uint8_t *v = malloc(total);
    if (v) {
        put_le(v, GGUF_T_ARRAY, 4);
        put_le(v + 4, GGUF_T_STRING, 4);
        put_le(v + 8, n, 8);
        size_t o = 16;
        for (uint64_t i = 0; i < n; i++) {
            put_le(v + o, s[i].len, 8);
            if (s[i].len) memcpy(v + o + 8, s[i].ptr, (size_t)s[i].len);
            o += 8 + (size_t)s[i].len;
        }
    }
    w_set(w, key, v, total);
}

static void w_arr32(gguf_writer *w, const char *key, gguf_vtype t,
                    const void *src, uint64_t n) {
    if (n > (SIZE_MAX - 16) / 4) {
        w->oom = true;
        return;
    }
    uint8_t *v = malloc(16 + (size_t)n * 4);
    if (v) {
        put_le(v, GGUF_T_ARRAY, 4);
        put_le(v + 4, t, 4);
        put_le(v + 8, n, 8);
        for (uint64_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, (const uint8_t *)src + i * 4, 4);
            put_le(v + 16 + i * 4, b, 4);
        }
    }
    w_set(w, key, v, 16 + (size_t)n * 4);
}

void gguf_w_arr_f32(gguf_writer *w, const char *key, const float *v,
                    uint64_t n) {
    w_arr32(w, key, GGUF_T_FLOAT32, v, n);
}

void gguf_w_arr_i32(gguf_writer *w, const char *key, const int32_t *v,
                    uint64_t n) {
    w_arr32(w, key, GGUF_T_INT32, v, n);
}

/* Bytes of kv's value as stored in the file (after the u32 type tag; for
 * arrays after element type and length). */
static size_t kv_value_bytes(const gguf_kv *kv) {
    if (kv->strs) {
        if (kv->n == 0) return 0;
        const gguf_str *last = &kv->strs[kv->n - 1];
        return (size_t)((const uint8_t *)last->ptr + last->len - kv->data);
    }
    return (size_t)(kv->n * vtype_size(elem_type(kv)));
}

void gguf_w_copy_kv(gguf_writer *w, const gguf_file *src,
                    const char *prefix) {
    size_t plen = prefix ? strlen(prefix) : 0;
    for (uint64_t i = 0; i < src->n_kv; i++) {
        const gguf_kv *kv = &src->kv[i];
        if (plen && (kv->key.len < plen ||
                     memcmp(kv->key.ptr, prefix, plen) != 0))
            continue;
        /* The writer owns the alignment key (it follows its own). */
        if (gguf_str_eq(kv->key, "general.alignment")) continue;
        char *key = malloc((size_t)kv->key.len + 1);
        size_t body = kv_value_bytes(kv);
        size_t head = kv->type == GGUF_T_ARRAY ? 16 : 4;
        uint8_t *v = malloc(head + body);
        if (!key || !v) {
            free(key);
            free(v);
            w->oom = true;
            return;
        }
        memcpy(key, kv->key.ptr, (size_t)kv->key.len);
        key[kv->key.len] = 0;
        put_le(v, kv->type, 4);
        if (kv->type == GGUF_T_ARRAY) {
            put_le(v + 4, kv->arr_type, 4);
            put_le(v + 8, kv->n, 8);
        }
        if (body) memcpy(v + head, kv->data, body);
        w_set(w, key, v, head + body);
        free(key);
    }
}

void gguf_w_tensor(gguf_writer *w, const char *name, uint32_t type,
                   uint32_t n_dims, const int64_t *ne, const void *data) {
    if (w->bad[0]) return;
    if (n_dims == 0 || n_dims > GGUF_MAX_DIMS) {
        snprintf(w->bad, sizeof w->bad, "tensor '%s': %u dimensions", name,
                 n_dims);
        return;
    }
    if (strlen(name) >= 64) {
        snprintf(w->bad, sizeof w->bad, "tensor '%s': name longer than 63 "
                 "bytes", name);
        return;
    }
    w_tensor t = {.type = type, .n_dims = n_dims, .data = data};
    uint64_t rows = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 0 || (d > 0 && t.ne[d] &&
                            rows > (uint64_t)INT64_MAX / (uint64_t)t.ne[d])) {
            snprintf(w->bad, sizeof w->bad, "tensor '%s': bad shape", name);
            return;
        }
        if (d > 0) rows *= (uint64_t)t.ne[d];
    }
    uint64_t rs = row_size(type, t.ne[0]);
    if ((rs == 0 && t.ne[0] != 0) || !type_known(type) ||
        (rows && rs > (uint64_t)INT64_MAX / rows)) {
        snprintf(w->bad, sizeof w->bad, "tensor '%s': bad type %u or row "
                 "length %lld", name, type, (long long)t.ne[0]);
        return;
    }
    t.nbytes = rs * rows;
    for (size_t i = 0; i < w->n_t; i++) {
        if (strcmp(w->t[i].name, name) == 0) {
            snprintf(w->bad, sizeof w->bad, "duplicate tensor '%s'", name);
            return;
        }
    }
    if (w->n_t == w->cap_t) {
        size_t nc = w->cap_t ? w->cap_t * 2 : 64;
        w_tensor *nt = realloc(w->t, nc * sizeof *nt);
        if (!nt) {
            w->oom = true;
            return;
        }
        w->t = nt;
        w->cap_t = nc;
    }
    t.name = strdup(name);
    if (!t.name) {
        w->oom = true;
        return;
    }
    w->t[w->n_t++] = t;
}

static bool w_put(FILE *fp, const void *p, size_t n) {
    return n == 0 || fwrite(p, 1, n, fp) == n;
}

static bool w_u(FILE *fp, uint64_t v, unsigned n) {
    uint8_t b[8];
    put_le(b, v, n);
    return w_put(fp, b, n);
}

static bool w_pad(FILE *fp, uint64_t *pos, uint32_t al) {
    static const uint8_t zero[256];
    uint64_t pad = (al - *pos % al) % al;
    *pos += pad;
    while (pad) {
        size_t k = pad > sizeof zero ? sizeof zero : (size_t)pad;
        if (!w_put(fp, zero, k)) return false;
        pad -= k;
    }
    return true;
}

/*
 * Layout as llama.cpp writes it (and as its reader requires): tensors in
 * call order, each at the running data offset, padded to the alignment.
 * general.alignment is written first when it is not the default 32.
 */
wm_status gguf_writer_write(gguf_writer *w, const char *path, wm_error *err) {
    wm_error_clear(err);
    if (w->oom) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    if (w->bad[0]) return wm_errf(err, WM_ERR_ARG, "%s", w->bad);
    if (w->alignment != GGUF_DEFAULT_ALIGNMENT) {
        gguf_w_u32(w, "general.alignment", w->alignment);
        if (w->oom) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *fp = fopen(tmp, "wb");
    wm_status st = WM_OK;
    if (!fp) {
        st = wm_errf(err, WM_ERR_IO, "cannot create %s: %s", tmp,
                     strerror(errno));
        goto fail;
    }
    bool ok = w_u(fp, GGUF_MAGIC, 4) && w_u(fp, 3, 4) &&
              w_u(fp, w->n_t, 8) && w_u(fp, w->n_kv, 8);
    uint64_t pos = 24;
    /* general.alignment must come before anything a reader needs; emit it
     * first by writing it ahead of the other keys when present. */
    for (int pass = 0; pass < 2 && ok; pass++) {
        for (size_t i = 0; i < w->n_kv && ok; i++) {
            bool is_al = strcmp(w->kv[i].key, "general.alignment") == 0;
            if (is_al != (pass == 0)) continue;
            size_t kl = strlen(w->kv[i].key);
            ok = w_u(fp, kl, 8) && w_put(fp, w->kv[i].key, kl) &&
                 w_put(fp, w->kv[i].val, w->kv[i].val_len);
            pos += 8 + kl + w->kv[i].val_len;
        }
    }
    uint64_t data_pos = 0;
    for (size_t i = 0; i < w->n_t && ok; i++) {
        const w_tensor *t = &w->t[i];
        size_t nl = strlen(t->name);
        ok = w_u(fp, nl, 8) && w_put(fp, t->name, nl) &&
             w_u(fp, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims && ok; d++)
            ok = w_u(fp, (uint64_t)t->ne[d], 8);
        ok = ok && w_u(fp, t->type, 4) && w_u(fp, data_pos, 8);
        pos += 8 + nl + 4 + 8 * (uint64_t)t->n_dims + 4 + 8;
        data_pos += t->nbytes;
        data_pos += (w->alignment - data_pos % w->alignment) % w->alignment;
    }
    ok = ok && w_pad(fp, &pos, w->alignment);
    for (size_t i = 0; i < w->n_t && ok; i++) {
        const w_tensor *t = &w->t[i];
        ok = w_put(fp, t->data, (size_t)t->nbytes);
        pos += t->nbytes;
        ok = ok && w_pad(fp, &pos, w->alignment);
    }
    if (fflush(fp) != 0) ok = false;
    if (fclose(fp) != 0) ok = false;
    if (!ok) {
        st = wm_errf(err, WM_ERR_IO, "write failed: %s", strerror(errno));
        remove(tmp);
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        st = wm_errf(err, WM_ERR_IO, "cannot rename %s: %s", tmp,
                     strerror(errno));
        remove(tmp);
        goto fail;
    }
fail:
    if (st && err) snprintf(err->where, sizeof err->where, "%s", path);
    free(tmp);
    return st;
}
