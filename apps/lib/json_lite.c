/*
 * json_lite.c — strict bounded JSON parser and writer (json_lite.h).
 *
 * Recursive descent over [p, end) with the depth capped (so is the C
 * stack). Nodes live in one growable array and refer to each other by
 * index + 1, so growing the array never invalidates a link. Decoded
 * strings go into one buffer of len + 1 bytes allocated up front: a
 * string literal of n input bytes decodes to at most n - 1 bytes plus its
 * NUL (no escape expands), so the buffer never overflows.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_lite.h"

typedef struct jp {
    const char *start, *p, *end;
    jl_doc *d;
    uint32_t depth, max_depth, max_nodes;
    jl_error *e;
    int oom;
} jp;

static int fail(jp *j, const char *at, const char *msg) {
    if (j->e) {
        j->e->off = (size_t)(at - j->start);
        snprintf(j->e->msg, sizeof j->e->msg, "%s", msg);
    }
    return -1;
}

static void skip_ws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
                             *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* A new node; returns its index + 1, or 0 (limit or out of memory). */
static uint32_t new_node(jp *j, jl_type t) {
    jl_doc *d = j->d;
    if (d->n >= j->max_nodes) return 0;
    if (d->n == d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 64;
        if (nc > j->max_nodes) nc = j->max_nodes;
        jl_node *nn = realloc(d->nodes, (size_t)nc * sizeof *nn);
        if (!nn) {
            j->oom = 1;
            return 0;
        }
        d->nodes = nn;
        d->cap = nc;
    }
    jl_node *n = &d->nodes[d->n];
    memset(n, 0, sizeof *n);
    n->type = t;
    return ++d->n;
}

static int hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* Length of the valid UTF-8 sequence at p (before end), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static char *put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) {
        *o++ = (char)(0xc0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Decode the string literal at p (on the opening quote) into the text
 * buffer; *out / *out_len get it. */
static int parse_string(jp *j, const char **out, uint32_t *out_len) {
    const char *q = j->p + 1;
    char *o0 = j->d->txt + j->d->txt_len, *o = o0;
    for (;;) {
        if (q >= j->end) return fail(j, j->p, "unterminated string");
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c < 0x20) return fail(j, q, "control character in string");
        if (c == '\\') {
            if (q + 1 >= j->end) return fail(j, q, "unterminated string");
            char x = q[1];
            q += 2;
            switch (x) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '/': *o++ = '/'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u': {
                uint32_t cp, lo;
                if (j->end - q < 4 || !hex4(q, &cp))
                    return fail(j, q - 2, "bad \\u escape");
                q += 4;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return fail(j, q - 6, "lone low surrogate");
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (j->end - q < 6 || q[0] != '\\' || q[1] != 'u' ||
                        !hex4(q + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                        return fail(j, q - 6, "lone high surrogate");
                    q += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                o = put_utf8(o, cp);
                break;
            }
            default: return fail(j, q - 2, "bad escape");
            }
            continue;
        }
        size_t n = utf8_len((const unsigned char *)q,
                            (const unsigned char *)j->end);
        if (!n) return fail(j, q, "invalid UTF-8 in string");
        memcpy(o, q, n);
        o += n;
        q += n;
    }
    *o = '\0';
    *out = o0;
    *out_len = (uint32_t)(o - o0);
    j->d->txt_len += (size_t)(o - o0) + 1;
    j->p = q + 1;
    return 0;
}

static int parse_number(jp *j, jl_node *n) {
    const char *s = j->p, *q = s;
    bool frac = false;
    if (q < j->end && *q == '-') q++;
    if (q >= j->end) return fail(j, s, "bad number");
    if (*q == '0') {
        q++;
    } else if (*q >= '1' && *q <= '9') {
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    } else {
        return fail(j, s, "bad number");
    }
    if (q < j->end && *q == '.') {
        frac = true;
        q++;
        if (q >= j->end || *q < '0' || *q > '9')
            return fail(j, q, "bad number: digits expected after '.'");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        frac = true;
        q++;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        if (q >= j->end || *q < '0' || *q > '9')
            return fail(j, q, "bad number: digits expected in exponent");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    char buf[64];
    size_t l = (size_t)(q - s);
    if (l >= sizeof buf) {
        /* Long literals: only as a double, through a heap copy. */
        char *h = malloc(l + 1);
        if (!h) {
            j->oom = 1;
            return -1;
        }
        memcpy(h, s, l);
        h[l] = '\0';
        n->num = strtod(h, NULL);
        free(h);
    } else {
        memcpy(buf, s, l);
        buf[l] = '\0';
        n->num = strtod(buf, NULL);
        if (!frac) {
            errno = 0;
            long long v = strtoll(buf, NULL, 10);
            if (errno == 0) {
                n->is_int = true;
                n->i = v;
            }
        }
    }
    j->p = q;
    return 0;
}

static int parse_value(jp *j, uint32_t *out);

/* An array or object at p (on '[' / '{'). */
static int parse_container(jp *j, uint32_t idx, bool obj) {
    if (++j->depth > j->max_depth) return fail(j, j->p, "nesting too deep");
    char close = obj ? '}' : ']';
    j->p++;
    skip_ws(j);
    uint32_t last = 0, count = 0;
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        uint32_t key_len = 0;
        skip_ws(j);
        if (obj) {
            if (j->p >= j->end || *j->p != '"')
                return fail(j, j->p, "object key (a string) expected");
            if (parse_string(j, &key, &key_len)) return -1;
            skip_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return fail(j, j->p, "':' expected");
            j->p++;
            skip_ws(j);
        }
        uint32_t child;
        if (parse_value(j, &child)) return -1;
        jl_node *c = &j->d->nodes[child - 1];
        c->key = key;
        c->key_len = key_len;
        if (last) j->d->nodes[last - 1].next = child;
        else j->d->nodes[idx - 1].first_child = child;
        last = child;
        count++;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            skip_ws(j);
            if (j->p < j->end && *j->p == close)
                return fail(j, j->p, "trailing comma");
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            break;
        }
        return fail(j, j->p, obj ? "',' or '}' expected"
                                 : "',' or ']' expected");
    }
    j->d->nodes[idx - 1].len = count;
    j->depth--;
    return 0;
}

static int literal(jp *j, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return fail(j, j->p, "unexpected character");
    j->p += n;
    return 0;
}

static int parse_value(jp *j, uint32_t *out) {
    skip_ws(j);
    if (j->p >= j->end) return fail(j, j->p, "unexpected end of input");
    char c = *j->p;
    jl_type t = c == '{' ? JL_OBJECT : c == '[' ? JL_ARRAY
              : c == '"' ? JL_STRING : c == 't' ? JL_TRUE
              : c == 'f' ? JL_FALSE : c == 'n' ? JL_NULL : JL_NUMBER;
    uint32_t idx = new_node(j, t);
    if (!idx) return j->oom ? -1 : fail(j, j->p, "too many values");
    *out = idx;
    switch (t) {
    case JL_OBJECT: return parse_container(j, idx, true);
    case JL_ARRAY: return parse_container(j, idx, false);
    case JL_STRING: {
        const char *s;
        uint32_t l;
        if (parse_string(j, &s, &l)) return -1;
        j->d->nodes[idx - 1].str = s;
        j->d->nodes[idx - 1].len = l;
        return 0;
    }
    case JL_TRUE: return literal(j, "true");
    case JL_FALSE: return literal(j, "false");
    case JL_NULL: return literal(j, "null");
    case JL_NUMBER: return parse_number(j, &j->d->nodes[idx - 1]);
    }
    return -1;
}

int jl_parse(jl_doc *d, const char *text, size_t len, const jl_limits *lim,
             jl_error *e) {
    memset(d, 0, sizeof *d);
    jp j = {text, text, text + len, d, 0, 64, 65536, e, 0};
    size_t max_bytes = (size_t)8 << 20;
    if (lim) {
        if (lim->max_depth) j.max_depth = lim->max_depth;
        if (lim->max_nodes) j.max_nodes = lim->max_nodes;
        if (lim->max_bytes) max_bytes = lim->max_bytes;
    }
    if (len > max_bytes) return fail(&j, text, "document too large");
    d->txt = malloc(len + 1);
    if (!d->txt) return -2;
    uint32_t root;
    int rc = parse_value(&j, &root);
    if (rc == 0) {
        skip_ws(&j);
        if (j.p != j.end) rc = fail(&j, j.p, "trailing characters");
    }
    if (rc) {
        jl_free(d);
        return j.oom ? -2 : -1;
    }
    return 0;
}

void jl_free(jl_doc *d) {
    free(d->nodes);
    free(d->txt);
    memset(d, 0, sizeof *d);
}

const jl_node *jl_root(const jl_doc *d) { return d->n ? &d->nodes[0] : NULL; }

const jl_node *jl_child(const jl_doc *d, const jl_node *n) {
    if (!n || (n->type != JL_ARRAY && n->type != JL_OBJECT) ||
        !n->first_child)
        return NULL;
    return &d->nodes[n->first_child - 1];
}

const jl_node *jl_next(const jl_doc *d, const jl_node *n) {
    return n && n->next ? &d->nodes[n->next - 1] : NULL;
}

const jl_node *jl_get(const jl_doc *d, const jl_node *obj, const char *key) {
    if (!obj || obj->type != JL_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (const jl_node *c = jl_child(d, obj); c; c = jl_next(d, c))
        if (c->key_len == kl && memcmp(c->key, key, kl) == 0) return c;
    return NULL;
}

const char *jl_type_name(jl_type t) {
    switch (t) {
    case JL_NULL: return "null";
    case JL_FALSE: case JL_TRUE: return "boolean";
    case JL_NUMBER: return "number";
    case JL_STRING: return "string";
    case JL_ARRAY: return "array";
    case JL_OBJECT: return "object";
    }
    return "?";
}

bool jl_number(const jl_node *n, double *out) {
    if (!n || n->type != JL_NUMBER) return false;
    *out = n->num;
    return true;
}

bool jl_int(const jl_node *n, int64_t *out) {
    if (!n || n->type != JL_NUMBER || !n->is_int) return false;
    *out = n->i;
    return true;
}

bool jl_bool(const jl_node *n, bool *out) {
    if (!n || (n->type != JL_TRUE && n->type != JL_FALSE)) return false;
    *out = n->type == JL_TRUE;
    return true;
}

/* ==== Writer ============================================================ */

static bool reserve(jl_buf *b, size_t n) {
    if (b->oom) return false;
    size_t max = b->max ? b->max : (size_t)64 << 20;
    if (n > max - b->len) {
        b->oom = true;
        return false;
    }
    if (b->len + n + 1 <= b->cap_bytes) return true;
    size_t nc = b->cap_bytes ? b->cap_bytes * 2 : 256;
    while (nc < b->len + n + 1) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) {
        b->oom = true;
        return false;
    }
    b->p = np;
    b->cap_bytes = nc;
    return true;
}

void jl_put(jl_buf *b, const char *s, size_t n) {
    if (!reserve(b, n)) return;
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void jl_puts(jl_buf *b, const char *s) { jl_put(b, s, strlen(s)); }

void jl_printf(jl_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        jl_put(b, tmp, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void jl_put_str(jl_buf *b, const char *s, size_t n) {
    jl_put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        jl_put(b, (const char *)run, (size_t)(p - run));
        if (p >= end) break;
        unsigned c = *p;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            jl_put(b, esc, 2);
            p++;
        } else if (c < 0x20) {
            const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r"
                              : c == '\t' ? "\\t" : NULL;
            if (named) jl_puts(b, named);
            else {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                jl_puts(b, esc);
            }
            p++;
        } else {
            size_t l = utf8_len(p, end);
            if (l) {
                jl_put(b, (const char *)p, l);
                p += l;
            } else {
                jl_puts(b, "\xef\xbf\xbd");
                p++;
            }
        }
    }
    jl_put(b, "\"", 1);
}

void jl_buf_free(jl_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
