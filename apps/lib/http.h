/*
 * http.h — HTTP/1.1 request parsing pieces for guest servers: the
 * request head, chunked bodies, status texts, content types, and a
 * checked mapping of URL paths to file paths. No I/O here: the server
 * feeds bytes it has received and retries when more arrive.
 *
 *     http_req r;
 *     int n = http_parse_head(buf, len, 16384, &r);
 *     if (n == 0) ...need more bytes...;
 *     if (n < 0) ...answer status -n (400, 414, 431, 501, 505), close...;
 *     // buf[n..] is the body: r.content_length bytes, or chunked
 *     // (r.chunked): http_dechunk(buf + n, len - n, ...)
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADERS 64

typedef struct http_req {
    char method[16];
    char path[2048];          /* request target without the query */
    int minor;                /* HTTP/1.minor */
    bool keep_alive;          /* 1.1 default, 1.0 only with keep-alive */
    bool chunked;             /* Transfer-Encoding: chunked */
    long long content_length; /* -1: none */
    bool expect_continue;     /* Expect: 100-continue */
    bool has_origin;          /* an Origin header came */
    char acrh[256];           /* Access-Control-Request-Headers */
} http_req;

/*
 * Parse the request head in buf[0..len). Returns the head's length
 * (through the blank line) when complete, 0 when more bytes are needed,
 * or -STATUS when the request is bad: -400 malformed, -414 target too
 * long, -431 head longer than max_head or too many headers, -501
 * unsupported transfer coding, -505 not HTTP/1.x. Bare LF line ends are
 * accepted, as RFC 9112 allows.
 */
int http_parse_head(const char *buf, size_t len, size_t max_head,
                    http_req *r);

/*
 * Decode a chunked body from buf[0..len) into out (room for len bytes;
 * the decoded body is never longer). Returns the bytes of buf consumed
 * (through the last chunk and the trailers) when complete, 0 when more
 * are needed, -400 when malformed, -413 when the decoded body would
 * exceed max_body. *out_len gets the decoded length when complete.
 */
long http_dechunk(const char *buf, size_t len, size_t max_body, char *out,
                  size_t *out_len);

const char *http_status_text(int status);
/* Content-Type for a file name by its extension (octet-stream if unknown). */
const char *http_mime_type(const char *path);

/*
 * Turn a URL path (after a prefix was removed) into a relative file path:
 * percent-decoded, and refused (false) when it is empty or holds a NUL,
 * a backslash, an empty, "." or ".." segment, or does not fit in cap.
 */
bool http_file_path(const char *url, char *out, size_t cap);

#endif
