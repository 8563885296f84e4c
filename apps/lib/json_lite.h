/*
 * json_lite.h — a small, strict, bounded JSON parser and a JSON writer
 * for guest programs (the host's src/util/json.c needs the runtime's
 * headers and arena, so guests get this self-contained one).
 *
 *     jl_doc d;
 *     jl_error e;
 *     if (jl_parse(&d, body, len, NULL, &e)) { ... e.msg at e.off ... }
 *     const jl_node *root = jl_root(&d);
 *     const jl_node *t = jl_get(&d, root, "temperature");
 *     double temp = 1.0;
 *     if (t && !jl_number(t, &temp)) { ... wrong type ... }
 *     for (const jl_node *m = jl_child(&d, jl_get(&d, root, "messages"));
 *          m; m = jl_next(&d, m)) ...
 *     jl_free(&d);
 *
 *     jl_buf b = {0};
 *     jl_puts(&b, "{\"text\":");
 *     jl_put_str(&b, text, len);          // quoted and escaped
 *     jl_puts(&b, "}");
 *     if (b.oom) ...;  free(b.p);
 *
 * Strict: RFC 8259 only (no comments, trailing commas, leading zeros,
 * NaN, single quotes); strings must be valid UTF-8 without raw control
 * characters; \u escapes are decoded, surrogate pairs must be complete.
 * Bounded: nesting (max_depth), node count (max_nodes) and input size
 * (max_bytes) are capped, so hostile input costs at most that much
 * memory and stack. Duplicate keys are kept; jl_get returns the first.
 *
 * Ownership: the document copies what it needs (decoded strings), so
 * the input may be freed after jl_parse; jl_free releases everything.
 * Node pointers die with the document.
 */
#ifndef JSON_LITE_H
#define JSON_LITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum jl_type {
    JL_NULL, JL_FALSE, JL_TRUE, JL_NUMBER, JL_STRING, JL_ARRAY, JL_OBJECT
} jl_type;

/* One value. Children of arrays/objects are a linked list by index
 * (first_child, next); an object member's key is in key/key_len. */
typedef struct jl_node {
    jl_type type;
    uint32_t len;            /* string bytes / number of children */
    const char *str;         /* JL_STRING: decoded, NUL-terminated */
    const char *key;         /* member of an object: its key, else NULL */
    uint32_t key_len;
    double num;              /* JL_NUMBER */
    bool is_int;             /* JL_NUMBER: integer literal in int64 range */
    int64_t i;               /* JL_NUMBER when is_int */
    uint32_t first_child;    /* index + 1; 0 = none */
    uint32_t next;           /* index + 1 of the next sibling; 0 = none */
} jl_node;

typedef struct jl_doc {
    jl_node *nodes;
    uint32_t n, cap;
    char *txt;               /* decoded strings */
    size_t txt_len;
} jl_doc;

typedef struct jl_limits {
    uint32_t max_depth;      /* default 64 */
    uint32_t max_nodes;      /* default 65536 */
    size_t max_bytes;        /* input size, default 8 MiB */
} jl_limits;

typedef struct jl_error {
    size_t off;              /* byte offset of the failure */
    char msg[80];
} jl_error;

/* Parse text[0..len). 0 on success; -1 on malformed input or a limit
 * (e says where and why), -2 out of memory. *d is empty on failure. */
int jl_parse(jl_doc *d, const char *text, size_t len, const jl_limits *lim,
             jl_error *e);
void jl_free(jl_doc *d);

const jl_node *jl_root(const jl_doc *d);
/* Member `key` of object obj (NULL if obj is NULL/not an object/absent). */
const jl_node *jl_get(const jl_doc *d, const jl_node *obj, const char *key);
/* First child of an array/object, the next sibling; NULL at the end. */
const jl_node *jl_child(const jl_doc *d, const jl_node *n);
const jl_node *jl_next(const jl_doc *d, const jl_node *n);
const char *jl_type_name(jl_type t);

/* Typed reads: false (out untouched) when n is NULL or another type. */
bool jl_number(const jl_node *n, double *out);
bool jl_int(const jl_node *n, int64_t *out);   /* integer literals only */
bool jl_bool(const jl_node *n, bool *out);

/* ==== Writer ============================================================ */

/* A growable byte buffer; oom latches (later puts do nothing) and cap
 * bounds its size (0 = 64 MiB). */
typedef struct jl_buf {
    char *p;
    size_t len, cap_bytes, max;
    bool oom;
} jl_buf;

void jl_put(jl_buf *b, const char *s, size_t n);
void jl_puts(jl_buf *b, const char *s);
void jl_printf(jl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s[0..n) as a quoted JSON string: ", \, control characters escaped;
 * invalid UTF-8 bytes become U+FFFD. */
void jl_put_str(jl_buf *b, const char *s, size_t n);
void jl_buf_free(jl_buf *b);

#endif
