/*
 * json.h — a small, strict JSON parser (RFC 8259) producing a read-only
 * tree. Used by the spec-test runner, the WASI-NN host (graph/config
 * metadata) and tools; nothing here knows about Wasm.
 *
 * Example:
 *
 *     json_doc doc;
 *     json_error jerr;
 *     if (json_parse(&doc, text, len, NULL, &jerr) != WM_OK) {
 *         fprintf(stderr, "cfg.json:%u:%u: %s\n", jerr.line, jerr.col,
 *                 jerr.msg);
 *         return;
 *     }
 *     const json_value *n = json_get(&doc.root, "n_predict");
 *     int64_t n_predict = 128;
 *     if (n && !json_as_int64(n, &n_predict)) { ... not an integer ... }
 *     const char *prompt = json_get_str(&doc.root, "prompt");  // or NULL
 *     json_doc_free(&doc);
 *
 * What "strict" means here: exactly the RFC 8259 grammar — no comments,
 * no trailing commas, no leading zeros, no NaN/Infinity, no single quotes,
 * no byte-order mark; strings must be valid UTF-8 with no raw control
 * characters; \u escapes are decoded to UTF-8 and a surrogate pair must be
 * complete (a lone surrogate cannot be represented in UTF-8 and is an
 * error). Any value may be the top-level value; only whitespace may follow
 * it. Duplicate object keys are kept (the RFC allows them); json_get
 * returns the first.
 *
 * Untrusted input is fine: every failure is a status plus a json_error
 * with line, column and reason, never a crash. Nesting is capped
 * (json_limits.max_depth, so recursion depth is bounded) and so is the
 * memory the document may use (json_limits.max_bytes).
 *
 * Ownership: the document copies everything it needs out of the input
 * (the text may be freed after json_parse returns) and owns all of it in
 * one arena; json_doc_free releases the whole tree at once. Every pointer
 * taken from a document dies with it.
 */
#ifndef WM_JSON_H
#define WM_JSON_H

#include "common.h"
#include "arena.h"

typedef enum json_type {
    JSON_NULL = 0,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

typedef struct json_value json_value;
typedef struct json_member json_member;

/*
 * One node, 16 bytes. `len` depends on the type: string length in bytes
 * (excluding the terminating NUL), number literal length, number of array
 * elements or object members; 0 for null/true/false.
 */
struct json_value {
    json_type type;
    uint32_t len;
    union {
        const char *str;        /* JSON_STRING: decoded UTF-8, NUL-
                                   terminated; may hold U+0000 before len */
        const char *num;        /* JSON_NUMBER: the literal as written
                                   ("-12.5e3"), NUL-terminated */
        json_value *elems;      /* JSON_ARRAY: len values, in order */
        json_member *members;   /* JSON_OBJECT: len members, in order */
    } u;
};

struct json_member {
    const char *key;            /* decoded UTF-8, NUL-terminated */
    uint32_t key_len;           /* bytes, excluding the NUL */
    json_value val;
};

/* Caps for untrusted input; zero fields take the defaults. */
typedef struct json_limits {
    uint32_t max_depth;         /* nested arrays/objects (default 256) */
    size_t max_bytes;           /* memory for the tree and the parser's
                                   scratch (default 1 GiB) */
} json_limits;

#define JSON_DEFAULT_MAX_DEPTH 256u
#define JSON_MAX_DEPTH_CAP 4096u        /* larger max_depth is clamped */
#define JSON_DEFAULT_MAX_BYTES ((size_t)1 << 30)

/* Where and why parsing failed. line and col are 1-based; col counts
 * bytes from the start of the line. off is the byte offset in the input. */
typedef struct json_error {
    uint32_t line, col;
    size_t off;
    char msg[96];
} json_error;

typedef struct json_doc {
    json_value root;
    arena mem;                  /* owns every node, string and number */
} json_doc;

/*
 * Parse text[0, len) into *doc. Returns WM_OK, WM_ERR_MALFORMED (syntax or
 * encoding error), WM_ERR_LIMIT (nesting deeper than max_depth, memory
 * beyond max_bytes, or input of 4 GiB or more) or WM_ERR_NOMEM; on failure
 * *err (may be NULL) says where and why, and *doc is left empty (safe to
 * pass to json_doc_free). `lim` may be NULL for the defaults.
 */
WM_INTERNAL wm_status json_parse(json_doc *doc, const char *text, size_t len,
                                 const json_limits *lim, json_error *err);
/* Release a document (also an empty or failed one). */
WM_INTERNAL void json_doc_free(json_doc *doc);

/* The member of object `obj` named key (first one if repeated), or NULL
 * when obj is NULL, not an object, or has no such key. json_getn takes a
 * length so keys may contain U+0000. */
WM_INTERNAL const json_value *json_get(const json_value *obj, const char *key);
WM_INTERNAL const json_value *json_getn(const json_value *obj, const char *key,
                                        size_t key_len);
/* The string value of member `key`, or NULL if absent or not a string. */
WM_INTERNAL const char *json_get_str(const json_value *obj, const char *key);
/* Element i of an array, or NULL (not an array, or i out of range). */
WM_INTERNAL const json_value *json_at(const json_value *arr, size_t i);
/* Name of a type ("null", "number", ...), for messages. */
WM_INTERNAL const char *json_type_name(json_type t);

/*
 * Numbers. Each returns false (leaving *out untouched) when v is NULL or
 * not a number, or the value does not fit:
 *  - json_as_int64 / json_as_uint64 accept integer literals only (no
 *    fraction or exponent) within the type's range; "-0" is 0.
 *  - json_as_double accepts any number, correctly rounded (strtod),
 *    independent of the C locale's decimal point; magnitudes beyond the
 *    double range become +-inf, as in most JSON implementations.
 * json_as_bool accepts true/false only.
 */
WM_INTERNAL bool json_as_int64(const json_value *v, int64_t *out);
WM_INTERNAL bool json_as_uint64(const json_value *v, uint64_t *out);
WM_INTERNAL bool json_as_double(const json_value *v, double *out);
WM_INTERNAL bool json_as_bool(const json_value *v, bool *out);

#endif
