/*
 * http.c — HTTP/1.1 request parsing pieces (http.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* End of the head: index just past the blank line, or 0. */
static size_t head_end(const char *b, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (b[i] != '\n') continue;
        if (i + 1 < len && b[i + 1] == '\n') return i + 2;
        if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 3;
    }
    return 0;
}

static bool is_tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Does the comma-separated header value v[0..n) hold token tok? */
static bool has_token(const char *v, size_t n, const char *tok) {
    size_t tl = strlen(tok), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        size_t s = i;
        while (i < n && v[i] != ',') i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0) return true;
    }
    return false;
}

int http_parse_head(const char *buf, size_t len, size_t max_head,
                    http_req *r) {
    size_t end = head_end(buf, len < max_head ? len : max_head);
    if (!end) return len >= max_head ? -431 : 0;
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    /* Request line: METHOD SP TARGET SP HTTP/1.x */
    const char *p = buf, *stop = buf + end;
    while (p < stop && (*p == '\r' || *p == '\n')) p++;  /* RFC: skip CRLF */
    const char *m = p;
    while (p < stop && is_tchar(*p)) p++;
    if (p == m || p >= stop || *p != ' ') return -400;
    if ((size_t)(p - m) >= sizeof r->method) return -501;
    memcpy(r->method, m, (size_t)(p - m));
    const char *t = ++p;
    while (p < stop && *p != ' ' && *p != '\r' && *p != '\n') p++;
    if (p == t || p >= stop || *p != ' ') return -400;
    for (const char *q = t; q < p; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return -400;
    size_t tl = (size_t)(p - t);
    const char *qm = memchr(t, '?', tl);
    if (qm) tl = (size_t)(qm - t);
    if (tl >= sizeof r->path) return -414;
    memcpy(r->path, t, tl);
    if (r->path[0] != '/' && strcmp(r->path, "*") != 0) return -400;
    p++;
    if (stop - p < 8 || memcmp(p, "HTTP/", 5) != 0) return -400;
    if (p[5] != '1' || p[6] != '.' || p[7] < '0' || p[7] > '9')
        return p[5] >= '0' && p[5] <= '9' ? -505 : -400;
    r->minor = p[7] - '0';
    p += 8;
    if (p < stop && *p == '\r') p++;
    if (p >= stop || *p != '\n') return -400;
    p++;
    r->keep_alive = r->minor >= 1;
    bool te_seen = false;
    int n_headers = 0;
    /* Header fields: NAME ":" OWS VALUE OWS */
    while (p < stop && *p != '\r' && *p != '\n') {
        if (++n_headers > HTTP_MAX_HEADERS) return -431;
        const char *name = p;
        while (p < stop && is_tchar(*p)) p++;
        if (p == name || p >= stop || *p != ':') return -400;
        size_t nl = (size_t)(p - name);
        p++;
        while (p < stop && (*p == ' ' || *p == '\t')) p++;
        const char *v = p;
        while (p < stop && *p != '\r' && *p != '\n') {
            if ((unsigned char)*p < 0x20 && *p != '\t') return -400;
            p++;
        }
        const char *ve = p;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t vl = (size_t)(ve - v);
        if (p < stop && *p == '\r') p++;
        if (p >= stop || *p != '\n') return -400;
        p++;
        if (nl == 14 && strncasecmp(name, "content-length", nl) == 0) {
            if (vl == 0 || vl > 15) return -400;
            long long n = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9') return -400;
                n = n * 10 + (v[i] - '0');
            }
            if (r->content_length >= 0 && r->content_length != n)
                return -400;
            r->content_length = n;
        } else if (nl == 17 &&
                   strncasecmp(name, "transfer-encoding", nl) == 0) {
            if (te_seen || !(vl == 7 && strncasecmp(v, "chunked", 7) == 0))
                return -501;
            te_seen = r->chunked = true;
        } else if (nl == 10 && strncasecmp(name, "connection", nl) == 0) {
            if (has_token(v, vl, "close")) r->keep_alive = false;
            else if (has_token(v, vl, "keep-alive")) r->keep_alive = true;
        } else if (nl == 6 && strncasecmp(name, "expect", nl) == 0) {
            if (vl == 12 && strncasecmp(v, "100-continue", 12) == 0)
                r->expect_continue = true;
        } else if (nl == 6 && strncasecmp(name, "origin", nl) == 0) {
            r->has_origin = true;
        } else if (nl == 30 && strncasecmp(name,
                       "access-control-request-headers", nl) == 0) {
            size_t k = 0;
            for (size_t i = 0; i < vl && k + 1 < sizeof r->acrh; i++)
                if (is_tchar(v[i]) || v[i] == ',' || v[i] == ' ')
                    r->acrh[k++] = v[i];
            r->acrh[k] = '\0';
        }
    }
    /* Both framings at once is a smuggling vector: refuse (RFC 9112 6.3). */
    if (r->chunked && r->content_length >= 0) return -400;
    return (int)end;
}

long http_dechunk(const char *buf, size_t len, size_t max_body, char *out,
                  size_t *out_len) {
    size_t i = 0, o = 0;
    for (;;) {
        /* chunk-size [; ext] CRLF */
        size_t size = 0, digits = 0;
        while (i < len) {
            char c = buf[i];
            int d = c >= '0' && c <= '9' ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) break;
            if (++digits > 8) return -413;
            size = size * 16 + (size_t)d;
            i++;
        }
        if (i >= len) return 0;
        if (!digits) return -400;
        while (i < len && buf[i] != '\n') {
            if ((unsigned char)buf[i] < 0x20 && buf[i] != '\r' &&
                buf[i] != '\t')
                return -400;
            i++;
        }
        if (i >= len) return 0;
        i++;
        if (size == 0) break;
        if (size > max_body - o || o + size > max_body) return -413;
        if (len - i < size) return 0;
        memcpy(out + o, buf + i, size);
        o += size;
        i += size;
        if (i < len && buf[i] == '\r') i++;
        if (i >= len) return 0;
        if (buf[i] != '\n') return -400;
        i++;
    }
    /* Trailer fields, then the blank line. */
    for (;;) {
        size_t s = i;
        while (i < len && buf[i] != '\n') i++;
        if (i >= len) return 0;
        size_t l = i - s;
        i++;
        if (l == 0 || (l == 1 && buf[s] == '\r')) break;
        if (i > 16384) return -400;
    }
    *out_len = o;
    return (long)i;
}

const char *http_status_text(int s) {
    switch (s) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

const char *http_mime_type(const char *path) {
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".wasm", "application/wasm"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool http_file_path(const char *url, char *out, size_t cap) {
    size_t o = 0;
    for (const char *p = url; *p; p++) {
        char c = *p;
        if (c == '%') {
            int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
            if (l < 0) return false;
            c = (char)(h * 16 + l);
            p += 2;
            if (c == '\0') return false;
        }
        if (c == '\\' || o + 1 >= cap) return false;
        out[o++] = c;
    }
    out[o] = '\0';
    if (o == 0) return false;
    /* Every segment: non-empty, not "." or "..". */
    const char *s = out;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') ||
            (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (!e) break;
        s = e + 1;
    }
    return true;
}
