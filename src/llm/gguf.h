/*
 * gguf.h — GGUF v2/v3 reader (over mmap or a caller's buffer) and writer.
 *
 * Reader: gguf_open() maps the file and validates the whole header before
 * it returns: magic, version, every count, string length, array length,
 * metadata type, tensor dimension, type, offset and byte size is checked
 * against the bytes that remain (all arithmetic overflow-checked), tensor
 * data ranges must lie inside the data section and be aligned. After a
 * successful open nothing here can read out of bounds; a bad file gets
 * WM_ERR_FORMAT with err->where = path, err->byte_off = the offending
 * offset and a message naming the field ("tensor 12 'blk.0.attn_q.weight':
 * data [0x1000, 0x9000) past end of file (0x8000 bytes)").
 *
 * Strings point into the mapping: gguf_str is (ptr, len), not NUL-terminated.
 * String arrays are indexed once at open (the tokenizer reads 150k of them).
 *
 * Writer: collects metadata and tensors, then writes a v3 file with the
 * given alignment (general.alignment, default 32) in one pass. Used by
 * `convert`, `quantize` and the model synthesiser.
 */
#ifndef WM_GGUF_H
#define WM_GGUF_H

#include "../util/common.h"

#define GGUF_MAGIC 0x46554747u  /* "GGUF" little-endian */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

typedef enum gguf_vtype {
    GGUF_T_UINT8 = 0, GGUF_T_INT8 = 1, GGUF_T_UINT16 = 2, GGUF_T_INT16 = 3,
    GGUF_T_UINT32 = 4, GGUF_T_INT32 = 5, GGUF_T_FLOAT32 = 6, GGUF_T_BOOL = 7,
    GGUF_T_STRING = 8, GGUF_T_ARRAY = 9, GGUF_T_UINT64 = 10,
    GGUF_T_INT64 = 11, GGUF_T_FLOAT64 = 12, GGUF_T_COUNT
} gguf_vtype;

typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    gguf_vtype type;          /* GGUF_T_ARRAY for arrays */
    gguf_vtype arr_type;      /* element type when type == GGUF_T_ARRAY */
    uint64_t n;               /* array length (1 for scalars) */
    const uint8_t *data;      /* scalar value / first array element, in the
                                 file (little-endian, possibly unaligned) */
    const gguf_str *strs;     /* string values: n entries (type STRING, or
                                 ARRAY of STRING), else NULL */
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];  /* ne[0] = row length (innermost); unused
                                   dims are 1 */
    uint32_t type;              /* ggml type number (llm_type, quant.h) */
    uint64_t offset;            /* relative to the data section */
    uint64_t nbytes;            /* checked: rows * row size of the type */
    const void *data;           /* into the mapping / buffer */
} gguf_tensor;

typedef struct gguf_file {
    const char *path;           /* copy, for messages */
    const uint8_t *base;        /* mapping or caller buffer */
    size_t size;
    bool mapped;                /* release on close (munmap, or free
                                   without mmap: config.h) */
    uint32_t version;           /* 2 or 3 */
    uint32_t alignment;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t data_off;          /* start of the data section */
    void *mem;                  /* internal allocations */
} gguf_file;

/* Open and validate; *out is NULL on failure. */
WM_INTERNAL wm_status gguf_open(const char *path, gguf_file **out,
                                wm_error *err);
/* The same over caller bytes (kept alive by the caller until close): used
 * for models passed as guest bytes through WASI-NN and by the fuzzer. */
WM_INTERNAL wm_status gguf_open_buffer(const void *buf, size_t size,
                                       const char *name, gguf_file **out,
                                       wm_error *err);
WM_INTERNAL void gguf_close(gguf_file *f);

/* Lookup (linear, by key). NULL when absent. */
WM_INTERNAL const gguf_kv *gguf_find(const gguf_file *f, const char *key);
WM_INTERNAL const gguf_tensor *gguf_find_tensor(const gguf_file *f,
                                                const char *name);
/* Typed getters: false when absent or of an incompatible type. Integer
 * getters accept any integer type whose value fits; f32 accepts f32/f64. */
WM_INTERNAL bool gguf_get_u32(const gguf_file *f, const char *key,
                              uint32_t *out);
WM_INTERNAL bool gguf_get_i64(const gguf_file *f, const char *key,
                              int64_t *out);
WM_INTERNAL bool gguf_get_f32(const gguf_file *f, const char *key,
                              float *out);
WM_INTERNAL bool gguf_get_bool(const gguf_file *f, const char *key,
                               bool *out);
WM_INTERNAL bool gguf_get_str(const gguf_file *f, const char *key,
                              gguf_str *out);
/* Element i of a numeric array, converted (false when out of range or not
 * numeric). */
WM_INTERNAL bool gguf_arr_f32(const gguf_kv *kv, uint64_t i, float *out);
WM_INTERNAL bool gguf_arr_i64(const gguf_kv *kv, uint64_t i, int64_t *out);
/* gguf_str equals C string. */
WM_INTERNAL bool gguf_str_eq(gguf_str s, const char *c);

/* ==== Writer ============================================================ */

typedef struct gguf_writer gguf_writer;

WM_INTERNAL gguf_writer *gguf_writer_new(uint32_t alignment);
WM_INTERNAL void gguf_writer_free(gguf_writer *w);
/* Metadata, in insertion order (keys and strings are copied). */
WM_INTERNAL void gguf_w_u32(gguf_writer *w, const char *key, uint32_t v);
WM_INTERNAL void gguf_w_i32(gguf_writer *w, const char *key, int32_t v);
WM_INTERNAL void gguf_w_f32(gguf_writer *w, const char *key, float v);
WM_INTERNAL void gguf_w_bool(gguf_writer *w, const char *key, bool v);
WM_INTERNAL void gguf_w_str(gguf_writer *w, const char *key, const char *v);
WM_INTERNAL void gguf_w_arr_str(gguf_writer *w, const char *key,
                                const gguf_str *v, uint64_t n);
WM_INTERNAL void gguf_w_arr_f32(gguf_writer *w, const char *key,
                                const float *v, uint64_t n);
WM_INTERNAL void gguf_w_arr_i32(gguf_writer *w, const char *key,
                                const int32_t *v, uint64_t n);
/* Copy every metadata entry of src whose key starts with prefix (NULL: all)
 * — e.g. the tokenizer of another GGUF. */
WM_INTERNAL void gguf_w_copy_kv(gguf_writer *w, const gguf_file *src,
                                const char *prefix);
/* A tensor; data (nbytes = rows * llm_row_size(type, ne[0])) is referenced,
 * not copied, and must stay valid until gguf_writer_write returns. */
WM_INTERNAL void gguf_w_tensor(gguf_writer *w, const char *name,
                               uint32_t type, uint32_t n_dims,
                               const int64_t *ne, const void *data);
/* Write the file (to path.tmp, then rename). Out-of-memory during the w_*
 * calls is reported here. */
WM_INTERNAL wm_status gguf_writer_write(gguf_writer *w, const char *path,
                                        wm_error *err);

#endif
