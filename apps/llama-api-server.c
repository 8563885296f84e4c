/*
 * llama-api-server.c — an OpenAI-compatible HTTP/1.1 API server running
 * as a wasm32-wasi guest, generating through WASI-NN (wasi_ephemeral_nn,
 * GGML backend), plus a static web chat page.
 *
 *   wasmind run --listen 127.0.0.1:8080 --dir apps/web::/web \
 *       --nn-preload default:GGML:AUTO:model.gguf \
 *       build/apps/llama-api-server.wasm --model-name model.gguf
 *   (or simply: wasmind serve model.gguf)
 *
 * Endpoints: POST /v1/chat/completions, POST /v1/completions (both with
 * "stream": true as server-sent events ending with "data: [DONE]"),
 * POST /v1/embeddings, GET /v1/models, GET /health, GET / and
 * GET /static/FILE (files of the web root),
 * OPTIONS anything (CORS preflight). Every error is OpenAI-shaped JSON:
 * {"error": {"message", "type", "param", "code"}}.
 *
 * Sockets: by default the embedder pre-opens the listening socket
 * (`wasmind run --listen ADDR:PORT`, what `wasmind serve` does): WASI
 * preview 1 cannot create one, and the server uses the first fd whose
 * fdstat says SOCKET_STREAM with the accept right. With --socket-addr
 * ADDR:PORT (LlamaEdge's option) the server opens, binds and listens on
 * its own socket through WasmEdge's socket extension (sock_open,
 * sock_setsockopt, sock_bind, sock_listen; wasmind grants the bind with
 * `--allow-bind ADDR:PORT`), as llama-api-server.wasm does on WasmEdge.
 *
 * Event loop: one thread, non-blocking sockets, poll_oneoff over the
 * listener and every connection (read interest while a request is being
 * received or might follow, write interest while output is pending) and
 * one clock subscription for the nearest deadline. Generation requests go
 * into a bounded FIFO queue (503 when full) and are served one at a time
 * on the single WASI-NN context: each loop iteration runs one
 * compute_single (one token) and then polls with a zero timeout, so other
 * clients are accepted, answered (health, models, errors) and queued
 * while a generation runs. Streaming answers are sent token by token. A
 * client that goes away (send error, hangup) is dropped at once, and its
 * generation stopped (fini_single) or removed from the queue.
 *
 * Limits: request head 16 KiB (431), body --max-body bytes (413), at most
 * 64 connections (more wait in the kernel's backlog), --timeout seconds
 * for a request to arrive once started, for an idle keep-alive
 * connection, and for a client that stops reading (408 or drop).
 *
 * Prompts: chat messages are rendered with apps/lib/chat_template
 * (--template NAME; by default guessed from --model-name: "llama-3" ->
 * llama-3-chat, "qwen"/"hermes"/"chatml" -> chatml, "mistral"/"mixtral"
 * -> mistral-instruct, "zephyr"/"tinyllama" -> zephyr, otherwise
 * llama-2-chat, LlamaEdge's default). Generation stops at the template's
 * end-of-turn text and at the request's stop strings (both cut from the
 * content), at end-of-sequence, at max_tokens or when the context is full
 * (finish_reason "length").
 *
 * Embeddings: "input" is a string or an array of strings (token arrays
 * are refused: the GGML backend takes text); each is one compute on the
 * same WASI-NN context in embedding mode (the model's pooled, normalised
 * final hidden state), returned as JSON floats or, with
 * "encoding_format": "base64" (what the openai clients ask for), as the
 * little-endian float32 bytes in base64. Embedding requests share the
 * generation queue; an embedding between two chat turns costs the next
 * turn its cached prompt prefix.
 *
 * Sampling: temperature, top_p, seed, presence_penalty,
 * frequency_penalty (and the extensions top_k, min_p, repeat_penalty,
 * ignore_eos) map to the GGML config keys sent with set_input(1) before
 * each request; absent ones get OpenAI's defaults (temperature 1, top_p
 * 1, penalties 0, a random seed).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#include "chat_template.h"
#include "http.h"
#include "json_lite.h"
#include "wasi_nn.h"
#include "wasmedge_sock.h"

#define MAX_CONNS 64
#define MAX_HEAD 16384
#define MAX_STOPS 4
#define OUT_PAUSE_BYTES (256 * 1024)   /* stop generating above this */
#define OUT_MAX_BYTES (8 * 1024 * 1024)
#define TOKEN_BUF 4096
#define MAX_INPUTS 2048                /* /v1/embeddings items, as OpenAI */
/* Embedding output JSON: at most 65536 numbers of <= 16 bytes ("%.9g,"). */
#define EMBD_OUT_MAX (65536 * 16 + 64)

static const char usage[] =
    "usage: llama-api-server.wasm [options]\n"
    "  --model-name NAME  model id shown by /v1/models; also picks the\n"
    "                     default template (default)\n"
    "  --nn-name NAME     the --nn-preload name to load (default)\n"
    "  --template NAME    chat format: llama-2-chat llama-3-chat chatml\n"
    "                     mistral-instruct zephyr plain (from --model-name)\n"
    "  --ctx-size N       context size in tokens (the model's, max 4096)\n"
    "  --socket-addr A:P  open and bind the listening socket itself\n"
    "                     (IPv4 A, WasmEdge socket extension) instead of\n"
    "                     using a pre-opened one (wasmind run --listen)\n"
    "  --web-root PATH    guest directory served at / and /static\n"
    "                     (/web; pre-open it with --dir apps/web::/web)\n"
    "  --max-body BYTES   largest request body (1048576)\n"
    "  --queue N          generation requests waiting at most (8)\n"
    "  --timeout SECS     slow/idle client timeout (30)\n"
    "  --quiet            no request log on stderr\n";

/* ==== Configuration and state =========================================== */

typedef struct options {
    const char *model_name, *nn_name, *template_name, *web_root;
    const char *socket_addr;
    long long ctx_size, max_body, queue_max, timeout_s;
    int quiet;
} options;

typedef struct conn conn;

/* A generation request, queued then run. */
typedef struct job {
    uint64_t conn_id;        /* owner (conn serial), for cancellation */
    conn *c;                 /* owner; NULL once it went away */
    int chat, stream, include_usage;
    int embed, base64;       /* /v1/embeddings: inputs instead of prompt */
    char **inputs;
    size_t *input_lens;
    int n_inputs, next_input;
    char *prompt;
    size_t prompt_len;
    char *cfg;               /* config JSON for set_input(1) */
    long long max_tokens;    /* -1: until EOS / full context */
    char *stops[MAX_STOPS + 1];
    int n_stops;
    char id[40];
    long long created;
    /* running */
    int started;
    jl_buf text;             /* all generated text (stop-cut); embed: the
                                "data" items so far */
    size_t sent;             /* bytes of text already streamed */
    long long n_gen, n_prompt;
    const char *finish;      /* "stop" / "length" once finished */
} job;

struct conn {
    int used;
    uint64_t serial;
    uint32_t fd;
    char *in;
    size_t in_len, in_cap;
    jl_buf out;
    size_t out_off;
    int busy;                /* a request is being answered (job/out) */
    int streaming;           /* chunked SSE response in progress */
    int close_after;         /* close once out is flushed */
    int peer_eof;            /* recv returned 0 */
    int sent_continue;
    int head_len;            /* parsed head length, 0 = not yet */
    http_req req;
    uint64_t deadline;       /* monotonic ns; 0 = none */
    job *job;
};

typedef struct server {
    options o;
    uint32_t listen_fd;
    const chat_template *tmpl;
    wnn_graph g;
    wnn_ctx ctx;
    conn conns[MAX_CONNS];
    uint64_t next_serial, next_id;
    job **queue;             /* FIFO ring of queue_max */
    long long q_head, q_len;
    job *active;
    char tok[TOKEN_BUF];
    char *embd_out;          /* [EMBD_OUT_MAX], allocated at first use */
} server;

static uint64_t now_ns(void) {
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t)) return 0;
    return t;
}

static long long unix_time(void) { return (long long)time(NULL); }

static void logf_(server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(server *s, const char *fmt, ...) {
    if (s->o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("llama-api-server: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ==== Connections: output ================================================ */

static void conn_close(server *s, conn *c);

/* Send pending output; on a hard error the connection is closed. Returns
 * 0 when the connection is still open. */
static int conn_flush(server *s, conn *c) {
    while (c->out_off < c->out.len) {
        __wasi_ciovec_t iov = {(const uint8_t *)c->out.p + c->out_off,
                               c->out.len - c->out_off};
        __wasi_size_t n = 0;
        __wasi_errno_t e = __wasi_sock_send(c->fd, &iov, 1, 0, &n);
        if (e == __WASI_ERRNO_AGAIN) break;
        if (e == __WASI_ERRNO_INTR) continue;
        if (e || n == 0) {
            logf_(s, "conn %llu: send failed (errno %d): client gone",
                  (unsigned long long)c->serial, (int)e);
            conn_close(s, c);
            return -1;
        }
        c->out_off += n;
        c->deadline = now_ns() + (uint64_t)s->o.timeout_s * 1000000000ull;
    }
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
        if (!c->busy) {
            if (c->close_after) {
                conn_close(s, c);
                return -1;
            }
            c->deadline = now_ns() +
                          (uint64_t)s->o.timeout_s * 1000000000ull;
        }
    } else if (c->out_off > 65536 && c->out_off * 2 > c->out.len) {
        memmove(c->out.p, c->out.p + c->out_off, c->out.len - c->out_off);
        c->out.len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out.oom || c->out.len > OUT_MAX_BYTES) {
        logf_(s, "conn %llu: output backlog too large: dropped",
              (unsigned long long)c->serial);
        conn_close(s, c);
        return -1;
    }
    return 0;
}

/* The response head; body_len < 0: chunked (streaming). */
static void put_head(server *s, conn *c, int status, const char *ctype,
                     long long body_len, const char *extra) {
    (void)s;
    jl_printf(&c->out, "HTTP/1.1 %d %s\r\n", status,
              http_status_text(status));
    if (ctype) jl_printf(&c->out, "Content-Type: %s\r\n", ctype);
    if (body_len >= 0)
        jl_printf(&c->out, "Content-Length: %lld\r\n", body_len);
    else if (c->req.minor >= 1)
        jl_puts(&c->out, "Transfer-Encoding: chunked\r\n");
    jl_puts(&c->out, "Access-Control-Allow-Origin: *\r\n");
    if (extra) jl_puts(&c->out, extra);
    jl_puts(&c->out, c->close_after ? "Connection: close\r\n\r\n"
                                    : "Connection: keep-alive\r\n\r\n");
}

/* The request is answered: get ready for the next one on the conn. */
static void request_done(server *s, conn *c) {
    c->busy = 0;
    c->streaming = 0;
    c->job = NULL;
    conn_flush(s, c);
}

/* A complete response with a body. */
static void respond(server *s, conn *c, int status, const char *ctype,
                    const char *body, size_t len, const char *extra) {
    if (status >= 400 && c->req.minor == 0) c->close_after = 1;
    put_head(s, c, status, ctype, (long long)len, extra);
    if (strcmp(c->req.method, "HEAD") != 0) jl_put(&c->out, body, len);
    logf_(s, "%s %s %d", c->req.method[0] ? c->req.method : "-",
          c->req.path[0] ? c->req.path : "-", status);
    request_done(s, c);
}

static const char *error_type(int status) {
    return status == 401 ? "authentication_error"
         : status == 404 ? "not_found_error"
         : status == 503 ? "server_overloaded"
         : status >= 500 ? "server_error" : "invalid_request_error";
}

/* An OpenAI-shaped error: {"error":{"message","type","param","code"}}. */
static void respond_error(server *s, conn *c, int status, const char *code,
                          const char *param, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void respond_error(server *s, conn *c, int status, const char *code,
                          const char *param, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jl_buf b = {0};
    jl_puts(&b, "{\"error\":{\"message\":");
    jl_put_str(&b, msg, strlen(msg));
    jl_printf(&b, ",\"type\":\"%s\",\"param\":", error_type(status));
    if (param) jl_put_str(&b, param, strlen(param));
    else jl_puts(&b, "null");
    jl_puts(&b, ",\"code\":");
    if (code) jl_put_str(&b, code, strlen(code));
    else jl_puts(&b, "null");
    jl_puts(&b, "}}");
    if (b.oom) {
        c->close_after = 1;
        respond(s, c, 500, NULL, "", 0, NULL);
    } else {
        respond(s, c, status, "application/json", b.p, b.len,
                status == 503 ? "Retry-After: 1\r\n" : NULL);
    }
    jl_buf_free(&b);
}

/* One chunk of a chunked (or, for HTTP/1.0, close-delimited) body. */
static void put_chunk(conn *c, const char *data, size_t len) {
    if (!len) return;
    if (c->req.minor >= 1) jl_printf(&c->out, "%zx\r\n", len);
    jl_put(&c->out, data, len);
    if (c->req.minor >= 1) jl_puts(&c->out, "\r\n");
}

static void put_sse(conn *c, const jl_buf *json) {
    jl_buf ev = {0};
    jl_puts(&ev, "data: ");
    jl_put(&ev, json->p ? json->p : "", json->len);
    jl_puts(&ev, "\n\n");
    if (ev.oom) c->out.oom = true;
    else put_chunk(c, ev.p, ev.len);
    jl_buf_free(&ev);
}

/* ==== Connections: lifetime =============================================== */

static void job_free(job *j) {
    if (!j) return;
    free(j->prompt);
    free(j->cfg);
    for (int i = 0; i < j->n_inputs; i++) free(j->inputs[i]);
    free(j->inputs);
    free(j->input_lens);
    for (int i = 0; i < j->n_stops; i++) free(j->stops[i]);
    jl_buf_free(&j->text);
    free(j);
}

static void conn_close(server *s, conn *c) {
    if (!c->used) return;
    if (c->job) {
        /* Queued: leave it in the queue ownerless (skipped when popped).
         * Running: stop the generation now. */
        c->job->c = NULL;
        if (c->job == s->active) {
            logf_(s, "%s: client gone after %lld tokens: generation "
                     "stopped", c->job->id, c->job->n_gen);
            wasi_nn_fini_single(s->ctx);
            job_free(s->active);
            s->active = NULL;
        }
    }
    (void)!__wasi_fd_close(c->fd);
    free(c->in);
    jl_buf_free(&c->out);
    memset(c, 0, sizeof *c);
}

static void accept_all(server *s) {
    for (;;) {
        conn *c = NULL;
        for (int i = 0; i < MAX_CONNS; i++)
            if (!s->conns[i].used) {
                c = &s->conns[i];
                break;
            }
        if (!c) return;           /* the rest waits in the backlog */
        __wasi_fd_t fd;
        __wasi_errno_t e = __wasi_sock_accept(s->listen_fd,
                                              __WASI_FDFLAGS_NONBLOCK, &fd);
        if (e == __WASI_ERRNO_INTR || e == __WASI_ERRNO_CONNABORTED)
            continue;
        if (e) return;            /* AGAIN, or EMFILE etc.: try later */
        memset(c, 0, sizeof *c);
        c->used = 1;
        c->fd = fd;
        c->serial = ++s->next_serial;
        c->deadline = now_ns() + (uint64_t)s->o.timeout_s * 1000000000ull;
    }
}

/* ==== Requests: parameters =============================================== */

typedef struct params {
    double temperature, top_p, presence, frequency, min_p, repeat;
    long long max_tokens, seed, top_k;
    int has_seed, has_top_k, has_min_p, has_repeat, ignore_eos;
    int stream, include_usage;
    char *stops[MAX_STOPS];
    int n_stops;
} params;

static void params_free(params *p) {
    for (int i = 0; i < p->n_stops; i++) free(p->stops[i]);
    p->n_stops = 0;
}

static char *dupn(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Read the sampling parameters shared by both endpoints; on a bad value
 * answers 400 and returns -1. */
static int read_params(server *s, conn *c, const jl_doc *d,
                       const jl_node *root, int chat, params *p) {
    memset(p, 0, sizeof *p);
    p->temperature = 1.0;
    p->top_p = 1.0;
    p->max_tokens = chat ? -1 : 16;
    const jl_node *v;
    struct { const char *key; double *out; double lo, hi; } nums[] = {
        {"temperature", &p->temperature, 0, 2},
        {"top_p", &p->top_p, 0, 1},
        {"presence_penalty", &p->presence, -2, 2},
        {"frequency_penalty", &p->frequency, -2, 2},
        {"min_p", &p->min_p, 0, 1},
        {"repeat_penalty", &p->repeat, 0, 10},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        v = jl_get(d, root, nums[i].key);
        if (!v || v->type == JL_NULL) continue;
        if (!jl_number(v, nums[i].out) || *nums[i].out < nums[i].lo ||
            *nums[i].out > nums[i].hi) {
            respond_error(s, c, 400, "invalid_value", nums[i].key,
                          "'%s' must be a number from %g to %g",
                          nums[i].key, nums[i].lo, nums[i].hi);
            return -1;
        }
        if (i == 4) p->has_min_p = 1;
        if (i == 5) p->has_repeat = 1;
    }
    const char *mt = "max_tokens";
    v = jl_get(d, root, mt);
    if (chat && (!v || v->type == JL_NULL)) {
        mt = "max_completion_tokens";
        v = jl_get(d, root, mt);
    }
    if (v && v->type != JL_NULL &&
        (!jl_int(v, &p->max_tokens) || p->max_tokens < 1 ||
         p->max_tokens > 1000000)) {
        respond_error(s, c, 400, "invalid_value", mt,
                      "'%s' must be an integer from 1 to 1000000", mt);
        return -1;
    }
    v = jl_get(d, root, "seed");
    if (v && v->type != JL_NULL) {
        if (!jl_int(v, &p->seed) || p->seed < 0) {
            respond_error(s, c, 400, "invalid_value", "seed",
                          "'seed' must be a non-negative integer");
            return -1;
        }
        p->has_seed = 1;
    }
    v = jl_get(d, root, "top_k");
    if (v && v->type != JL_NULL) {
        if (!jl_int(v, &p->top_k) || p->top_k < 0 || p->top_k > 1000000) {
            respond_error(s, c, 400, "invalid_value", "top_k",
                          "'top_k' must be a non-negative integer");
            return -1;
        }
        p->has_top_k = 1;
    }
    v = jl_get(d, root, "n");
    int64_t n;
    if (v && v->type != JL_NULL && (!jl_int(v, &n) || n != 1)) {
        respond_error(s, c, 400, "invalid_value", "n",
                      "only 'n': 1 is supported");
        return -1;
    }
    bool b;
    struct { const char *key; int *out; } bools[] = {
        {"stream", &p->stream}, {"ignore_eos", &p->ignore_eos}};
    for (size_t i = 0; i < 2; i++) {
        v = jl_get(d, root, bools[i].key);
        if (!v || v->type == JL_NULL) continue;
        if (!jl_bool(v, &b)) {
            respond_error(s, c, 400, "invalid_type", bools[i].key,
                          "'%s' must be a boolean", bools[i].key);
            return -1;
        }
        *bools[i].out = b;
    }
    v = jl_get(d, root, "stream_options");
    if (v && v->type != JL_NULL) {
        const jl_node *iu = jl_get(d, v, "include_usage");
        if (v->type != JL_OBJECT ||
            (iu && iu->type != JL_NULL && !jl_bool(iu, &b))) {
            respond_error(s, c, 400, "invalid_type", "stream_options",
                          "'stream_options' must be an object with a "
                          "boolean 'include_usage'");
            return -1;
        }
        if (iu && iu->type != JL_NULL) p->include_usage = b;
    }
    v = jl_get(d, root, "stop");
    if (v && v->type != JL_NULL) {
        const jl_node *one = v->type == JL_STRING ? v : NULL;
        const jl_node *it = v->type == JL_ARRAY ? jl_child(d, v) : one;
        if ((v->type != JL_STRING && v->type != JL_ARRAY) ||
            (v->type == JL_ARRAY && v->len > MAX_STOPS)) {
            respond_error(s, c, 400, "invalid_type", "stop",
                          "'stop' must be a string or an array of at most "
                          "%d strings", MAX_STOPS);
            return -1;
        }
        for (; it; it = one ? NULL : jl_next(d, it)) {
            if (it->type != JL_STRING || it->len == 0 || it->len > 256 ||
                strlen(it->str) != it->len) {
                params_free(p);
                respond_error(s, c, 400, "invalid_value", "stop",
                              "each stop sequence must be a non-empty "
                              "string of at most 256 bytes");
                return -1;
            }
            if (!(p->stops[p->n_stops] = dupn(it->str, it->len))) {
                params_free(p);
                respond_error(s, c, 500, NULL, NULL, "out of memory");
                return -1;
            }
            p->n_stops++;
        }
    }
    const jl_node *model = jl_get(d, root, "model");
    if (model && model->type != JL_STRING) {
        params_free(p);
        respond_error(s, c, 400, "invalid_type", "model",
                      "'model' must be a string");
        return -1;
    }
    return 0;
}

/* The GGML config JSON for these parameters (every sampler key set, so
 * nothing carries over from the previous request). */
static char *params_config(const params *p) {
    jl_buf b = {0};
    jl_printf(&b, "{\"embedding\": false, \"temp\": %.9g, \"top-p\": %.9g, "
                  "\"presence-penalty\": %.9g, \"frequency-penalty\": %.9g, "
                  "\"seed\": %lld, \"ignore-eos\": %s, \"top-k\": %lld, "
                  "\"min-p\": %.9g, \"repeat-penalty\": %.9g}",
              p->temperature, p->top_p, p->presence, p->frequency,
              p->has_seed ? p->seed : -1LL, p->ignore_eos ? "true" : "false",
              p->has_top_k ? p->top_k : 40LL, p->has_min_p ? p->min_p : 0.05,
              p->has_repeat ? p->repeat : 1.0);
    if (b.oom) {
        jl_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* ==== Requests: the model endpoints ====================================== */

static int role_of(const char *r, chat_role *out) {
    if (!strcmp(r, "system") || !strcmp(r, "developer")) *out = CHAT_SYSTEM;
    else if (!strcmp(r, "user")) *out = CHAT_USER;
    else if (!strcmp(r, "assistant")) *out = CHAT_ASSISTANT;
    else return -1;
    return 0;
}

/* Content of a message: a string, or an array of {"type":"text","text"}
 * parts (joined), or null (assistant). Returns a malloc'd copy, or NULL
 * with *why set. */
static char *message_text(const jl_doc *d, const jl_node *content,
                          const char **why) {
    if (!content || content->type == JL_NULL) return dupn("", 0);
    if (content->type == JL_STRING) {
        if (strlen(content->str) != content->len) {
            *why = "message content must not contain NUL characters";
            return NULL;
        }
        return dupn(content->str, content->len);
    }
    if (content->type != JL_ARRAY) {
        *why = "message content must be a string or an array of parts";
        return NULL;
    }
    jl_buf b = {0};
    for (const jl_node *part = jl_child(d, content); part;
         part = jl_next(d, part)) {
        const jl_node *t = jl_get(d, part, "type");
        const jl_node *tx = jl_get(d, part, "text");
        if (!t || t->type != JL_STRING || strcmp(t->str, "text") != 0 ||
            !tx || tx->type != JL_STRING || strlen(tx->str) != tx->len) {
            *why = "only content parts {\"type\": \"text\", \"text\": "
                   "STRING} are supported";
            jl_buf_free(&b);
            return NULL;
        }
        jl_put(&b, tx->str, tx->len);
    }
    if (b.oom) {
        *why = "out of memory";
        jl_buf_free(&b);
        return NULL;
    }
    return b.p ? b.p : dupn("", 0);
}

/* Render the chat messages with the template into a malloc'd prompt.
 * System messages are joined into one leading system message. On a bad
 * request answers 400 and returns NULL. */
static char *chat_prompt(server *s, conn *c, const jl_doc *d,
                         const jl_node *msgs, size_t *len) {
    if (!msgs || msgs->type != JL_ARRAY || msgs->len == 0) {
        respond_error(s, c, 400, msgs ? "invalid_type" : "missing_field",
                      "messages",
                      "'messages' must be a non-empty array of messages");
        return NULL;
    }
    if (msgs->len > 4096) {
        respond_error(s, c, 400, "invalid_value", "messages",
                      "too many messages (at most 4096)");
        return NULL;
    }
    chat_msg *m = calloc((size_t)msgs->len + 1, sizeof *m);
    char **texts = calloc((size_t)msgs->len + 1, sizeof *texts);
    jl_buf sys = {0};
    int n = 0, has_sys = 0, k = 0, ok = 0;
    char *prompt = NULL;
    if (!m || !texts) {
        respond_error(s, c, 500, NULL, NULL, "out of memory");
        goto out;
    }
    n = 1;   /* m[0] is the system slot */
    for (const jl_node *it = jl_child(d, msgs); it; it = jl_next(d, it), k++) {
        const jl_node *role = jl_get(d, it, "role");
        chat_role r;
        char param[48];
        snprintf(param, sizeof param, "messages[%d].role", k);
        if (it->type != JL_OBJECT || !role || role->type != JL_STRING ||
            role_of(role->str, &r)) {
            respond_error(s, c, 400, "invalid_value", param,
                          "each message needs a 'role' of system, user or "
                          "assistant");
            goto out;
        }
        const char *why = "";
        const jl_node *content = jl_get(d, it, "content");
        if (r != CHAT_ASSISTANT && !content) {
            snprintf(param, sizeof param, "messages[%d].content", k);
            respond_error(s, c, 400, "missing_field", param,
                          "'content' is required for %s messages",
                          role->str);
            goto out;
        }
        char *t = message_text(d, content, &why);
        if (!t) {
            snprintf(param, sizeof param, "messages[%d].content", k);
            respond_error(s, c, 400, "invalid_type", param, "%s", why);
            goto out;
        }
        texts[k] = t;
        if (r == CHAT_SYSTEM) {
            if (has_sys) jl_puts(&sys, "\n");
            jl_puts(&sys, t);
            has_sys = 1;
        } else {
            m[n].role = r;
            m[n].content = t;
            n++;
        }
    }
    if (sys.oom) {
        respond_error(s, c, 500, NULL, NULL, "out of memory");
        goto out;
    }
    m[0].role = CHAT_SYSTEM;
    m[0].content = sys.p ? sys.p : "";
    const chat_msg *first = has_sys ? m : m + 1;
    int count = has_sys ? n : n - 1;
    size_t need = chat_render(s->tmpl, first, count, NULL, 0);
    prompt = malloc(need + 1);
    if (!prompt) {
        respond_error(s, c, 500, NULL, NULL, "out of memory");
        goto out;
    }
    chat_render(s->tmpl, first, count, prompt, need + 1);
    *len = need;
    ok = 1;
out:
    for (int i = 0; texts && i < k + 1 && i <= (int)(msgs ? msgs->len : 0);
         i++)
        free(texts[i]);
    free(texts);
    free(m);
    jl_buf_free(&sys);
    if (!ok) {
        free(prompt);
        return NULL;
    }
    return prompt;
}

/* 503 when the queue is full (1), else 0. */
static int queue_full(server *s, conn *c) {
    if (s->q_len < s->o.queue_max) return 0;
    respond_error(s, c, 503, "queue_full", NULL,
                  "the server is busy (%lld requests waiting); retry later",
                  s->q_len);
    return 1;
}

static void enqueue(server *s, conn *c, job *j) {
    j->conn_id = c->serial;
    j->c = c;
    j->created = unix_time();
    s->queue[(s->q_head + s->q_len) % s->o.queue_max] = j;
    s->q_len++;
    c->job = j;
    logf_(s, "%s %s: queued %s (%lld waiting)", c->req.method, c->req.path,
          j->id, s->q_len);
}

/* Parse a request body that must be a JSON object; answers 400/500 and
 * returns NULL otherwise (d is then freed). */
static const jl_node *parse_body(server *s, conn *c, const char *body,
                                 size_t len, jl_doc *d) {
    jl_error e;
    jl_limits lim = {.max_depth = 32, .max_nodes = 200000,
                     .max_bytes = (size_t)s->o.max_body};
    int rc = jl_parse(d, body, len, &lim, &e);
    if (rc == -2) {
        respond_error(s, c, 500, NULL, NULL, "out of memory");
        return NULL;
    }
    if (rc) {
        respond_error(s, c, 400, "invalid_json", NULL,
                      "the body is not valid JSON: %s at byte %zu", e.msg,
                      e.off);
        return NULL;
    }
    const jl_node *root = jl_root(d);
    if (root->type != JL_OBJECT) {
        respond_error(s, c, 400, "invalid_type", NULL,
                      "the body must be a JSON object");
        jl_free(d);
        return NULL;
    }
    return root;
}

static void handle_generate(server *s, conn *c, const char *body,
                            size_t len, int chat) {
    jl_doc d;
    const jl_node *root = parse_body(s, c, body, len, &d);
    if (!root) return;
    params p;
    char *prompt = NULL, *cfg = NULL;
    size_t plen = 0;
    job *j = NULL;
    if (read_params(s, c, &d, root, chat, &p)) goto out_doc;
    if (chat) {
        prompt = chat_prompt(s, c, &d, jl_get(&d, root, "messages"), &plen);
        if (!prompt) goto out_params;
    } else {
        const jl_node *pr = jl_get(&d, root, "prompt");
        if (pr && pr->type == JL_ARRAY && pr->len == 1)
            pr = jl_child(&d, pr);
        if (!pr || pr->type != JL_STRING) {
            respond_error(s, c, 400, pr ? "invalid_type" : "missing_field",
                          "prompt", "'prompt' must be a string (or an "
                          "array of one string)");
            goto out_params;
        }
        if (strlen(pr->str) != pr->len) {
            respond_error(s, c, 400, "invalid_value", "prompt",
                          "'prompt' must not contain NUL characters");
            goto out_params;
        }
        prompt = dupn(pr->str, pr->len);
        plen = pr->len;
    }
    cfg = params_config(&p);
    j = calloc(1, sizeof *j);
    if (!prompt || !cfg || !j) {
        respond_error(s, c, 500, NULL, NULL, "out of memory");
        goto out_params;
    }
    if (queue_full(s, c)) goto out_params;
    j->chat = chat;
    j->stream = p.stream;
    j->include_usage = p.include_usage;
    j->prompt = prompt;
    j->prompt_len = plen;
    j->cfg = cfg;
    j->max_tokens = p.max_tokens;
    for (int i = 0; i < p.n_stops; i++) j->stops[j->n_stops++] = p.stops[i];
    p.n_stops = 0;
    if (chat) j->stops[j->n_stops++] = dupn(chat_template_stop(s->tmpl),
                                            strlen(chat_template_stop(s->tmpl)));
    snprintf(j->id, sizeof j->id, "%s-%llu", chat ? "chatcmpl" : "cmpl",
             (unsigned long long)++s->next_id);
    prompt = cfg = NULL;
    enqueue(s, c, j);
    j = NULL;
out_params:
    params_free(&p);
    free(prompt);
    free(cfg);
    free(j);
out_doc:
    jl_free(&d);
}

static void handle_embeddings(server *s, conn *c, const char *body,
                              size_t len) {
    jl_doc d;
    const jl_node *root = parse_body(s, c, body, len, &d);
    if (!root) return;
    job *j = NULL;
    const jl_node *in = jl_get(&d, root, "input");
    const jl_node *fmt = jl_get(&d, root, "encoding_format");
    const jl_node *model = jl_get(&d, root, "model");
    const jl_node *dims = jl_get(&d, root, "dimensions");
    int base64 = 0;
    if (model && model->type != JL_STRING) {
        respond_error(s, c, 400, "invalid_type", "model",
                      "'model' must be a string");
        goto out;
    }
    if (fmt && fmt->type != JL_NULL) {
        if (fmt->type != JL_STRING ||
            (strcmp(fmt->str, "float") && strcmp(fmt->str, "base64"))) {
            respond_error(s, c, 400, "invalid_value", "encoding_format",
                          "'encoding_format' must be \"float\" or "
                          "\"base64\"");
            goto out;
        }
        base64 = !strcmp(fmt->str, "base64");
    }
    if (dims && dims->type != JL_NULL) {
        respond_error(s, c, 400, "invalid_value", "dimensions",
                      "'dimensions' is not supported: the vector has the "
                      "model's width");
        goto out;
    }
    if (!in || (in->type != JL_STRING && in->type != JL_ARRAY)) {
        respond_error(s, c, 400, in ? "invalid_type" : "missing_field",
                      "input", "'input' must be a string or an array of "
                      "strings");
        goto out;
    }
    int n = in->type == JL_STRING ? 1 : (int)in->len;
    if (n < 1 || n > MAX_INPUTS) {
        respond_error(s, c, 400, "invalid_value", "input",
                      "'input' must hold 1 to %d strings", MAX_INPUTS);
        goto out;
    }
    for (const jl_node *it = in->type == JL_STRING ? in : jl_child(&d, in);
         it; it = in->type == JL_STRING ? NULL : jl_next(&d, it)) {
        if (it->type == JL_NUMBER || it->type == JL_ARRAY) {
            respond_error(s, c, 400, "invalid_type", "input",
                          "token arrays are not supported: send text");
            goto out;
        }
        if (it->type != JL_STRING || it->len == 0 ||
            strlen(it->str) != it->len) {
            respond_error(s, c, 400, "invalid_value", "input",
                          "each input must be a non-empty string without "
                          "NUL characters");
            goto out;
        }
    }
    if (queue_full(s, c)) goto out;
    j = calloc(1, sizeof *j);
    if (!j || !(j->inputs = calloc((size_t)n, sizeof *j->inputs)) ||
        !(j->input_lens = calloc((size_t)n, sizeof *j->input_lens)) ||
        !(j->cfg = dupn("{\"embedding\": true}", 19)))
        goto nomem;
    j->embed = 1;
    j->base64 = base64;
    for (const jl_node *it = in->type == JL_STRING ? in : jl_child(&d, in);
         it; it = in->type == JL_STRING ? NULL : jl_next(&d, it)) {
        if (!(j->inputs[j->n_inputs] = dupn(it->str, it->len))) goto nomem;
        j->input_lens[j->n_inputs++] = it->len;
    }
    snprintf(j->id, sizeof j->id, "embd-%llu",
             (unsigned long long)++s->next_id);
    enqueue(s, c, j);
    j = NULL;
    goto out;
nomem:
    respond_error(s, c, 500, NULL, NULL, "out of memory");
out:
    job_free(j);
    jl_free(&d);
}

/* ==== Generation =========================================================== */

static void put_usage(jl_buf *b, const job *j) {
    jl_printf(b, "\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":"
                 "%lld,\"total_tokens\":%lld}",
              j->n_prompt, j->n_gen, j->n_prompt + j->n_gen);
}

/* One SSE chunk: the delta text (or the role announcement / the finish). */
static void stream_chunk(server *s, job *j, const char *text, size_t len,
                         const char *finish, int role) {
    jl_buf b = {0};
    jl_printf(&b, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,"
                  "\"model\":", j->id,
              j->chat ? "chat.completion.chunk" : "text_completion",
              j->created);
    jl_put_str(&b, s->o.model_name, strlen(s->o.model_name));
    jl_puts(&b, ",\"choices\":[{\"index\":0,");
    if (j->chat) {
        jl_puts(&b, "\"delta\":{");
        if (role) jl_puts(&b, "\"role\":\"assistant\",\"content\":\"\"");
        else if (!finish) {
            jl_puts(&b, "\"content\":");
            jl_put_str(&b, text, len);
        }
        jl_puts(&b, "},");
    } else {
        jl_puts(&b, "\"text\":");
        jl_put_str(&b, text, len);
        jl_puts(&b, ",");
    }
    jl_puts(&b, "\"logprobs\":null,\"finish_reason\":");
    if (finish) jl_printf(&b, "\"%s\"", finish);
    else jl_puts(&b, "null");
    jl_puts(&b, "}]}");
    if (b.oom) j->c->out.oom = true;
    else put_sse(j->c, &b);
    jl_buf_free(&b);
}

/* The whole answer, non-streaming. */
static void respond_complete(server *s, job *j) {
    conn *c = j->c;
    jl_buf b = {0};
    jl_printf(&b, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,"
                  "\"model\":", j->id,
              j->chat ? "chat.completion" : "text_completion", j->created);
    jl_put_str(&b, s->o.model_name, strlen(s->o.model_name));
    jl_puts(&b, ",\"choices\":[{\"index\":0,");
    if (j->chat) {
        jl_puts(&b, "\"message\":{\"role\":\"assistant\",\"content\":");
        jl_put_str(&b, j->text.p ? j->text.p : "", j->text.len);
        jl_puts(&b, "},");
    } else {
        jl_puts(&b, "\"text\":");
        jl_put_str(&b, j->text.p ? j->text.p : "", j->text.len);
        jl_puts(&b, ",");
    }
    jl_printf(&b, "\"logprobs\":null,\"finish_reason\":\"%s\"}],",
              j->finish);
    put_usage(&b, j);
    jl_puts(&b, "}");
    c->job = NULL;
    if (b.oom) respond_error(s, c, 500, NULL, NULL, "out of memory");
    else respond(s, c, 200, "application/json", b.p, b.len, NULL);
    jl_buf_free(&b);
}

/* Length of the longest tail of t[0..len) that is a proper prefix of a
 * stop string: held back until it is known not to start one. */
static size_t stop_holdback(const job *j, const char *t, size_t len) {
    size_t hold = 0;
    for (int i = 0; i < j->n_stops; i++) {
        size_t sl = strlen(j->stops[i]);
        for (size_t k = sl - 1; k > hold; k--)
            if (k <= len && memcmp(t + len - k, j->stops[i], k) == 0) {
                hold = k;
                break;
            }
    }
    return hold;
}

/* Cut the text at the first stop string; 1 if one was found. The search
 * starts a little before the part added last. */
static int stop_cut(job *j, size_t from) {
    size_t best = (size_t)-1;
    for (int i = 0; i < j->n_stops; i++) {
        size_t sl = strlen(j->stops[i]);
        size_t st = from > sl ? from - sl : 0;
        for (size_t k = st; k + sl <= j->text.len; k++)
            if (memcmp(j->text.p + k, j->stops[i], sl) == 0) {
                if (k < best) best = k;
                break;
            }
    }
    if (best == (size_t)-1) return 0;
    j->text.len = best;
    j->text.p[best] = '\0';
    return 1;
}

/* The end of an SSE answer: [DONE], then the last chunk (HTTP/1.1) or
 * the close (HTTP/1.0). */
static void stream_end(server *s, conn *c) {
    static const char done[] = "data: [DONE]\n\n";
    put_chunk(c, done, sizeof done - 1);
    if (c->req.minor >= 1) jl_puts(&c->out, "0\r\n\r\n");
    else c->close_after = 1;
    request_done(s, c);
}

static void job_finish(server *s, job *j, const char *finish) {
    j->finish = finish;
    char meta[512];
    size_t ml = 0;
    if (wnn_get_output(s->ctx, 1, true, meta, sizeof meta, &ml) == 0)
        j->n_prompt = wnn_meta_int(meta, ml, "input_tokens");
    if (j->n_prompt < 0) j->n_prompt = 0;
    wasi_nn_fini_single(s->ctx);
    conn *c = j->c;
    logf_(s, "%s: %lld prompt + %lld generated tokens, finish %s", j->id,
          j->n_prompt, j->n_gen, finish);
    if (!c) return;
    if (j->stream) {
        if (j->sent < j->text.len)
            stream_chunk(s, j, j->text.p + j->sent, j->text.len - j->sent,
                         NULL, 0);
        stream_chunk(s, j, NULL, 0, finish, 0);
        if (j->include_usage) {
            jl_buf b = {0};
            jl_printf(&b, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":"
                          "%lld,\"model\":", j->id,
                      j->chat ? "chat.completion.chunk" : "text_completion",
                      j->created);
            jl_put_str(&b, s->o.model_name, strlen(s->o.model_name));
            jl_puts(&b, ",\"choices\":[],");
            put_usage(&b, j);
            jl_puts(&b, "}");
            if (b.oom) c->out.oom = true;
            else put_sse(c, &b);
            jl_buf_free(&b);
        }
        stream_end(s, c);
    } else {
        respond_complete(s, j);
    }
}

/* A generation failed before or while running: an error answer (or, once
 * streaming, an error event and the end of the stream). */
static void job_fail(server *s, job *j, int status, const char *code,
                     const char *msg) {
    wasi_nn_fini_single(s->ctx);
    conn *c = j->c;
    logf_(s, "%s: failed: %s", j->id, msg);
    if (!c) return;
    c->job = NULL;
    if (c->streaming) {
        jl_buf b = {0};
        jl_puts(&b, "{\"error\":{\"message\":");
        jl_put_str(&b, msg, strlen(msg));
        jl_printf(&b, ",\"type\":\"%s\",\"param\":null,\"code\":\"%s\"}}",
                  error_type(status), code);
        if (!b.oom) put_sse(c, &b);
        jl_buf_free(&b);
        stream_end(s, c);
    } else {
        respond_error(s, c, status, code, NULL, "%s", msg);
    }
}

/* Start the next queued job whose client is still there. */
static void job_start(server *s) {
    while (!s->active && s->q_len > 0) {
        job *j = s->queue[s->q_head];
        s->q_head = (s->q_head + 1) % s->o.queue_max;
        s->q_len--;
        if (!j->c) {
            job_free(j);
            continue;
        }
        int32_t rc = wnn_set_text(s->ctx, 1, j->cfg, strlen(j->cfg));
        if (rc == WNN_SUCCESS && !j->embed)
            rc = wnn_set_text(s->ctx, 0, j->prompt, j->prompt_len);
        if (rc) {
            char m[128];
            snprintf(m, sizeof m, "the engine refused the request: %s",
                     wnn_strerror(rc));
            job_fail(s, j, 500, "engine_error", m);
            job_free(j);
            continue;
        }
        s->active = j;
    }
}

static void base64_put(jl_buf *b, const uint8_t *p, size_t n) {
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        q[0] = al[v >> 18];
        q[1] = al[(v >> 12) & 63];
        q[2] = i + 1 < n ? al[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? al[v & 63] : '=';
        jl_put(b, q, 4);
    }
}

/* Embed the active job's next input (one compute); the answer after the
 * last. */
static void embed_step(server *s, job *j) {
    int k = j->next_input;
    if (!s->embd_out && !(s->embd_out = malloc(EMBD_OUT_MAX + 1))) {
        s->active = NULL;
        job_fail(s, j, 500, "out_of_memory", "out of memory");
        job_free(j);
        return;
    }
    size_t n = 0;
    int32_t rc = wnn_set_text(s->ctx, 0, j->inputs[k], j->input_lens[k]);
    if (rc == WNN_SUCCESS) rc = wasi_nn_compute(s->ctx);
    if (rc == WNN_SUCCESS)
        rc = wnn_get_output(s->ctx, 0, false, s->embd_out, EMBD_OUT_MAX, &n);
    const char *arr = NULL, *end = NULL;
    if (rc == WNN_SUCCESS) {
        s->embd_out[n] = '\0';
        arr = strstr(s->embd_out, "\"embedding\": [");
        end = arr ? strchr(arr, ']') : NULL;
    }
    if (rc || !end) {
        char m[160];
        if (rc == WNN_PROMPT_TOO_LONG)
            snprintf(m, sizeof m, "input %d is longer than the model's "
                     "context", k);
        else
            snprintf(m, sizeof m, "embedding failed: %s (%d)",
                     rc ? wnn_strerror(rc) : "malformed engine output",
                     (int)rc);
        s->active = NULL;
        job_fail(s, j, rc == WNN_PROMPT_TOO_LONG ? 400 : 500,
                 rc == WNN_PROMPT_TOO_LONG ? "context_length_exceeded"
                                           : "engine_error", m);
        job_free(j);
        return;
    }
    char meta[512];
    size_t ml = 0;
    if (wnn_get_output(s->ctx, 1, false, meta, sizeof meta, &ml) == 0) {
        long long t = wnn_meta_int(meta, ml, "input_tokens");
        if (t > 0) j->n_prompt += t;
    }
    arr += 13;   /* past `"embedding": ` to the [ */
    jl_printf(&j->text, "%s{\"object\":\"embedding\",\"index\":%d,"
                        "\"embedding\":", k ? "," : "", k);
    if (j->base64) {
        /* The float32 values, little-endian (as wasm32 stores them). */
        float v[256];
        size_t cnt = 0;
        jl_buf raw = {0};
        for (const char *p = arr + 1; p < end;) {
            char *e;
            float x = strtof(p, &e);
            if (e == p) break;
            v[cnt++] = x;
            p = *e == ',' ? e + 1 : e;
            if (cnt == sizeof v / sizeof *v || p >= end) {
                jl_put(&raw, (const char *)v, cnt * sizeof *v);
                cnt = 0;
            }
        }
        if (cnt) jl_put(&raw, (const char *)v, cnt * sizeof *v);
        jl_puts(&j->text, "\"");
        base64_put(&j->text, (const uint8_t *)raw.p, raw.len);
        jl_puts(&j->text, "\"");
        if (raw.oom) j->text.oom = true;
        jl_buf_free(&raw);
    } else {
        jl_put(&j->text, arr, (size_t)(end + 1 - arr));
    }
    jl_puts(&j->text, "}");
    if (j->text.oom) {
        s->active = NULL;
        job_fail(s, j, 500, "out_of_memory", "out of memory");
        job_free(j);
        return;
    }
    if (++j->next_input < j->n_inputs) return;
    s->active = NULL;
    logf_(s, "%s: %d inputs, %lld tokens", j->id, j->n_inputs, j->n_prompt);
    conn *c = j->c;
    if (c) {
        jl_buf b = {0};
        jl_puts(&b, "{\"object\":\"list\",\"data\":[");
        jl_put(&b, j->text.p, j->text.len);
        jl_puts(&b, "],\"model\":");
        jl_put_str(&b, s->o.model_name, strlen(s->o.model_name));
        jl_printf(&b, ",\"usage\":{\"prompt_tokens\":%lld,"
                      "\"total_tokens\":%lld}}", j->n_prompt, j->n_prompt);
        c->job = NULL;
        if (b.oom) respond_error(s, c, 500, NULL, NULL, "out of memory");
        else respond(s, c, 200, "application/json", b.p, b.len, NULL);
        jl_buf_free(&b);
    }
    job_free(j);
}

/* Run one compute_single for the active job and send what it produced. */
static void job_step(server *s) {
    job *j = s->active;
    conn *c = j->c;
    if (j->embed) {
        embed_step(s, j);
        return;
    }
    int32_t rc = wasi_nn_compute_single(s->ctx);
    if (!j->started) {
        j->started = 1;
        if (rc == WNN_PROMPT_TOO_LONG) {
            s->active = NULL;
            job_fail(s, j, 400, "context_length_exceeded",
                     "the prompt is longer than the model's context");
            job_free(j);
            return;
        }
        if (j->stream && (rc == WNN_SUCCESS || rc == WNN_END_OF_SEQUENCE ||
                          rc == WNN_CONTEXT_FULL)) {
            c->streaming = 1;
            put_head(s, c, 200, "text/event-stream", -1,
                     "Cache-Control: no-cache\r\n");
            logf_(s, "%s %s 200 (stream)", c->req.method, c->req.path);
            if (j->chat) stream_chunk(s, j, NULL, 0, NULL, 1);
        }
    }
    if (rc != WNN_SUCCESS && rc != WNN_END_OF_SEQUENCE &&
        rc != WNN_CONTEXT_FULL) {
        char m[128];
        snprintf(m, sizeof m, "generation failed: %s (%d)", wnn_strerror(rc),
                 (int)rc);
        s->active = NULL;
        job_fail(s, j, 500, "engine_error", m);
        job_free(j);
        return;
    }
    size_t n = 0;
    if (rc != WNN_END_OF_SEQUENCE &&
        wnn_get_output(s->ctx, 0, true, s->tok, sizeof s->tok, &n) != 0)
        n = 0;
    if (rc == WNN_SUCCESS) j->n_gen++;
    size_t before = j->text.len;
    jl_put(&j->text, s->tok, n);
    if (j->text.oom) {
        s->active = NULL;
        job_fail(s, j, 500, "out_of_memory", "out of memory");
        job_free(j);
        return;
    }
    const char *finish = NULL;
    if (stop_cut(j, before)) finish = "stop";
    else if (rc == WNN_END_OF_SEQUENCE) finish = "stop";
    else if (rc == WNN_CONTEXT_FULL) finish = "length";
    else if (j->max_tokens >= 0 && j->n_gen >= j->max_tokens)
        finish = "length";
    if (finish) {
        s->active = NULL;
        job_finish(s, j, finish);
        job_free(j);
        return;
    }
    if (j->stream) {
        size_t safe = j->text.len - stop_holdback(j, j->text.p, j->text.len);
        if (safe > j->sent) {
            stream_chunk(s, j, j->text.p + j->sent, safe - j->sent, NULL, 0);
            j->sent = safe;
            conn_flush(s, c);   /* may close c and stop the job */
        }
    }
}

/* ==== Requests: routing ==================================================== */

static void handle_models(server *s, conn *c) {
    jl_buf b = {0};
    jl_puts(&b, "{\"object\":\"list\",\"data\":[{\"id\":");
    jl_put_str(&b, s->o.model_name, strlen(s->o.model_name));
    jl_printf(&b, ",\"object\":\"model\",\"created\":%lld,"
                  "\"owned_by\":\"wasmind\"}]}", unix_time());
    respond(s, c, 200, "application/json", b.p ? b.p : "", b.len, NULL);
    jl_buf_free(&b);
}

static void handle_health(server *s, conn *c) {
    char body[160];
    int n = snprintf(body, sizeof body,
                     "{\"status\":\"ok\",\"busy\":%s,\"queued\":%lld}",
                     s->active ? "true" : "false", s->q_len);
    respond(s, c, 200, "application/json", body, (size_t)n, NULL);
}

/* GET a file below the web root ("" = index.html). */
static void handle_file(server *s, conn *c, const char *rel) {
    char path[1024], full[1200];
    if (!rel[0]) strcpy(path, "index.html");
    else if (!http_file_path(rel, path, sizeof path)) {
        respond_error(s, c, 404, "not_found", NULL, "no such file");
        return;
    }
    snprintf(full, sizeof full, "%s/%s", s->o.web_root, path);
    int fd = open(full, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > 16 * 1024 * 1024) {
        if (fd >= 0) close(fd);
        respond_error(s, c, 404, "not_found", NULL, "no such file");
        return;
    }
    char *data = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (data && got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!data || got != (size_t)st.st_size) {
        free(data);
        respond_error(s, c, 500, NULL, NULL, "cannot read the file");
        return;
    }
    respond(s, c, 200, http_mime_type(path), data, got,
            "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n");
    free(data);
}

static void route(server *s, conn *c, const char *body, size_t len) {
    const char *m = c->req.method, *p = c->req.path;
    int get = !strcmp(m, "GET") || !strcmp(m, "HEAD"),
        post = !strcmp(m, "POST");
    if (!strcmp(m, "OPTIONS")) {
        char extra[512];
        snprintf(extra, sizeof extra,
                 "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                 "Access-Control-Allow-Headers: %s\r\n"
                 "Access-Control-Max-Age: 86400\r\n",
                 c->req.acrh[0] ? c->req.acrh : "Content-Type, Authorization");
        respond(s, c, 204, NULL, "", 0, extra);
        return;
    }
    struct { const char *path; int need_post; } routes[] = {
        {"/v1/chat/completions", 1}, {"/v1/completions", 1},
        {"/v1/embeddings", 1}, {"/v1/models", 0}, {"/health", 0},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(p, routes[i].path) != 0) continue;
        if (routes[i].need_post ? !post : !get) {
            respond_error(s, c, 405, "method_not_allowed", NULL,
                          "%s is not allowed on %s", m, p);
            return;
        }
        switch (i) {
        case 0: handle_generate(s, c, body, len, 1); return;
        case 1: handle_generate(s, c, body, len, 0); return;
        case 2: handle_embeddings(s, c, body, len); return;
        case 3: handle_models(s, c); return;
        default: handle_health(s, c); return;
        }
    }
    if (get && (!strcmp(p, "/") || !strcmp(p, "/index.html"))) {
        handle_file(s, c, "");
        return;
    }
    if (get && !strncmp(p, "/static/", 8) && p[8]) {
        handle_file(s, c, p + 8);
        return;
    }
    respond_error(s, c, 404, "not_found", NULL, "no route for %s %s", m, p);
}

/* Try to take one complete request from the input buffer and answer or
 * queue it. */
static void process_input(server *s, conn *c) {
    while (c->used && !c->busy && c->in_len > 0) {
        if (!c->head_len) {
            int n = http_parse_head(c->in, c->in_len, MAX_HEAD, &c->req);
            if (n == 0) return;
            if (n < 0) {
                c->busy = 1;
                c->close_after = 1;
                if (c->req.method[0] == '\0') strcpy(c->req.method, "-");
                c->req.minor = 1;
                respond_error(s, c, -n, "bad_request", NULL, "%s",
                              http_status_text(-n));
                return;
            }
            c->head_len = n;
            if (!c->req.keep_alive) c->close_after = 1;
            if (c->req.content_length > s->o.max_body) {
                c->busy = 1;
                c->close_after = 1;
                respond_error(s, c, 413, "request_too_large", NULL,
                              "the body is larger than %lld bytes",
                              s->o.max_body);
                return;
            }
        }
        size_t hl = (size_t)c->head_len, avail = c->in_len - hl;
        size_t body_len = 0, consumed = 0;
        char *body = NULL;
        if (c->req.chunked) {
            body = malloc(avail + 1);
            if (!body) return;
            long r = http_dechunk(c->in + hl, avail, (size_t)s->o.max_body,
                                  body, &body_len);
            if (r <= 0) {
                free(body);
                if (r == 0) goto need_body;
                c->busy = 1;
                c->close_after = 1;
                if (r == -413)
                    respond_error(s, c, 413, "request_too_large", NULL,
                                  "the body is larger than %lld bytes",
                                  s->o.max_body);
                else
                    respond_error(s, c, 400, "bad_request", NULL,
                                  "malformed chunked body");
                return;
            }
            consumed = (size_t)r;
        } else {
            body_len = c->req.content_length > 0
                           ? (size_t)c->req.content_length : 0;
            if (avail < body_len) goto need_body;
            body = malloc(body_len + 1);
            if (!body) return;
            memcpy(body, c->in + hl, body_len);
            consumed = body_len;
        }
        body[body_len] = '\0';
        /* The request is whole: drop it from the buffer and answer. */
        memmove(c->in, c->in + hl + consumed, c->in_len - hl - consumed);
        c->in_len -= hl + consumed;
        c->head_len = 0;
        c->sent_continue = 0;
        c->busy = 1;
        c->deadline = 0;
        route(s, c, body, body_len);
        free(body);
        continue;
    need_body:
        if (c->req.expect_continue && !c->sent_continue) {
            c->sent_continue = 1;
            jl_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
            conn_flush(s, c);
        }
        return;
    }
}

/* Read what the socket has; process complete requests. */
static void conn_read(server *s, conn *c) {
    size_t limit = MAX_HEAD + (size_t)s->o.max_body + 4096;
    for (;;) {
        if (c->in_len == c->in_cap) {
            if (c->in_cap >= limit) {
                /* Full while a request is answered: wait; otherwise the
                 * request (head + chunked framing) is too large. */
                if (c->busy) return;
                c->busy = 1;
                c->close_after = 1;
                respond_error(s, c, 413, "request_too_large", NULL,
                              "the request is too large");
                return;
            }
            size_t nc = c->in_cap ? c->in_cap * 2 : 4096;
            if (nc > limit) nc = limit;
            char *np = realloc(c->in, nc);
            if (!np) return;
            c->in = np;
            c->in_cap = nc;
        }
        __wasi_iovec_t iov = {(uint8_t *)c->in + c->in_len,
                              c->in_cap - c->in_len};
        __wasi_size_t n = 0;
        __wasi_roflags_t rof;
        __wasi_errno_t e = __wasi_sock_recv(c->fd, &iov, 1, 0, &n, &rof);
        if (e == __WASI_ERRNO_AGAIN) break;
        if (e == __WASI_ERRNO_INTR) continue;
        if (e) {
            conn_close(s, c);
            return;
        }
        if (n == 0) {
            c->peer_eof = 1;
            break;
        }
        if (!c->busy && c->in_len == 0)
            c->deadline = now_ns() + (uint64_t)s->o.timeout_s * 1000000000ull;
        c->in_len += n;
    }
    process_input(s, c);
    if (!c->used) return;
    /* Peer closed its side: nothing more can come. Finish what is being
     * answered (a half-closed client still reads), else close. */
    if (c->peer_eof && !c->busy && c->out.len == 0) conn_close(s, c);
}

/* Deadlines: a request that does not arrive in time gets 408; an idle
 * keep-alive connection or a client that stopped reading is closed. */
static void check_timeouts(server *s, uint64_t now) {
    for (int i = 0; i < MAX_CONNS; i++) {
        conn *c = &s->conns[i];
        if (!c->used || !c->deadline || now < c->deadline) continue;
        if (c->out.len > c->out_off) {
            logf_(s, "conn %llu: client not reading: dropped",
                  (unsigned long long)c->serial);
            conn_close(s, c);
        } else if (c->busy) {
            c->deadline = 0;
        } else if (c->in_len > 0) {
            c->busy = 1;
            c->close_after = 1;
            c->req.minor = 1;
            if (!c->head_len) strcpy(c->req.method, "-");
            respond_error(s, c, 408, "timeout", NULL,
                          "the request did not arrive in time");
        } else {
            conn_close(s, c);
        }
    }
}

/* ==== Main loop ============================================================ */

static void serve(server *s) {
    __wasi_subscription_t subs[2 * MAX_CONNS + 2];
    __wasi_event_t evs[2 * MAX_CONNS + 2];
    for (;;) {
        int n = 0, n_conns = 0;
        uint64_t now = now_ns(), next = UINT64_MAX;
        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = &s->conns[i];
            if (!c->used) continue;
            n_conns++;
            if (c->in_len < c->in_cap || c->in_cap == 0 || !c->busy) {
                if (!c->peer_eof) {
                    memset(&subs[n], 0, sizeof subs[n]);
                    subs[n].userdata = (uint64_t)i * 2;
                    subs[n].u.tag = __WASI_EVENTTYPE_FD_READ;
                    subs[n].u.u.fd_read.file_descriptor = c->fd;
                    n++;
                }
            }
            if (c->out.len > c->out_off) {
                memset(&subs[n], 0, sizeof subs[n]);
                subs[n].userdata = (uint64_t)i * 2 + 1;
                subs[n].u.tag = __WASI_EVENTTYPE_FD_WRITE;
                subs[n].u.u.fd_write.file_descriptor = c->fd;
                n++;
            }
            if (c->deadline && c->deadline < next) next = c->deadline;
        }
        if (n_conns < MAX_CONNS) {
            memset(&subs[n], 0, sizeof subs[n]);
            subs[n].userdata = UINT64_MAX - 1;
            subs[n].u.tag = __WASI_EVENTTYPE_FD_READ;
            subs[n].u.u.fd_read.file_descriptor = s->listen_fd;
            n++;
        }
        /* Generating (and the client keeping up): don't wait at all. */
        int gen = s->active &&
                  (!s->active->c || s->active->c->out.len -
                                            s->active->c->out_off <
                                        OUT_PAUSE_BYTES);
        uint64_t timeout = gen ? 0
                         : next == UINT64_MAX ? 1000000000ull
                         : next > now ? next - now : 0;
        memset(&subs[n], 0, sizeof subs[n]);
        subs[n].userdata = UINT64_MAX;
        subs[n].u.tag = __WASI_EVENTTYPE_CLOCK;
        subs[n].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
        subs[n].u.u.clock.timeout = timeout;
        n++;
        __wasi_size_t n_ev = 0;
        __wasi_errno_t e = __wasi_poll_oneoff(subs, evs, (__wasi_size_t)n,
                                              &n_ev);
        if (e) {
            fprintf(stderr, "llama-api-server: poll_oneoff: errno %d\n",
                    (int)e);
            return;
        }
        for (__wasi_size_t k = 0; k < n_ev; k++) {
            uint64_t ud = evs[k].userdata;
            if (ud == UINT64_MAX) continue;
            if (ud == UINT64_MAX - 1) {
                accept_all(s);
                continue;
            }
            conn *c = &s->conns[ud / 2];
            if (!c->used) continue;
            /* Hangup on a read event may mean only that the peer shut
             * down its writing (a half-closed client still reads its
             * answer): recv sees the end, send errors show a peer that
             * is really gone. On a write event it means gone. */
            int hup = evs[k].fd_readwrite.flags &
                      __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP;
            if (ud % 2 == 0) {
                conn_read(s, c);
            } else if (evs[k].error || hup) {
                conn_close(s, c);
            } else {
                conn_flush(s, c);
                if (c->used && !c->busy) process_input(s, c);
                if (c->used && c->peer_eof && !c->busy && c->out.len == 0)
                    conn_close(s, c);
            }
        }
        check_timeouts(s, now_ns());
        job_start(s);
        if (s->active && gen) job_step(s);
        job_start(s);
    }
}

/* ==== Start-up ============================================================== */

static const char *guess_template(const char *model) {
    char low[256];
    size_t i = 0;
    for (; model[i] && i + 1 < sizeof low; i++)
        low[i] = (char)(model[i] >= 'A' && model[i] <= 'Z' ? model[i] + 32
                                                            : model[i]);
    low[i] = '\0';
    if (strstr(low, "llama-3") || strstr(low, "llama3")) return "llama-3-chat";
    if (strstr(low, "qwen") || strstr(low, "hermes") || strstr(low, "chatml"))
        return "chatml";
    if (strstr(low, "mistral") || strstr(low, "mixtral"))
        return "mistral-instruct";
    if (strstr(low, "zephyr") || strstr(low, "tinyllama")) return "zephyr";
    return "llama-2-chat";
}

static int find_listener(uint32_t *out) {
    for (uint32_t fd = 3; fd < 1024; fd++) {
        __wasi_fdstat_t st;
        __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
        if (e == __WASI_ERRNO_BADF) {
            /* fds are dense from 3: the first gap ends the table. */
            if (fd > 3 + 64) break;
            continue;
        }
        if (!e && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM &&
            (st.fs_rights_base & __WASI_RIGHTS_SOCK_ACCEPT)) {
            *out = fd;
            return 0;
        }
    }
    return -1;
}

/*
 * Open a listening TCP socket on "A.B.C.D:PORT" with WasmEdge's socket
 * extension. Returns 0 and the fd, or prints why and returns -1.
 */
static int open_listener(const char *addr, uint32_t *out) {
    unsigned a, b, c, d, port;
    char tail;
    if (sscanf(addr, "%u.%u.%u.%u:%u%c", &a, &b, &c, &d, &port, &tail) != 5 ||
        a > 255 || b > 255 || c > 255 || d > 255 || port > 65535) {
        fprintf(stderr, "llama-api-server: --socket-addr `%s`: expected "
                        "IPv4:PORT\n", addr);
        return -1;
    }
    uint8_t ip[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
    wes_address wa = {ip, 4};
    uint32_t fd;
    int32_t one = 1, e;
    const char *what = "sock_open";
    if ((e = wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd)) == 0) {
        what = "sock_bind";
        (void)wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_REUSEADDR, &one,
                                  sizeof one);
        if ((e = wes_sock_bind(fd, &wa, port)) == 0) {
            what = "sock_listen";
            e = wes_sock_listen(fd, 128);
        }
        if (e) (void)!__wasi_fd_close(fd);
    }
    if (e) {
        fprintf(stderr, "llama-api-server: %s %s: %s (errno %d)\n", what,
                addr, e == WES_EACCES ? "not allowed (wasmind run "
                                        "--allow-bind ADDR:PORT)"
                      : e == WES_EADDRINUSE ? "address in use"
                      : e == WES_ENOSYS ? "no socket extension" : "failed",
                (int)e);
        return -1;
    }
    *out = fd;
    return 0;
}

static int bad_usage(const char *what, const char *arg) {
    fprintf(stderr, "llama-api-server: %s%s\n%s", what, arg, usage);
    return 2;
}

static int parse_num(const char *v, long long lo, long long hi,
                     long long *out) {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

int main(int argc, char **argv) {
    static server srv;
    server *s = &srv;
    options *o = &s->o;
    o->model_name = "default";
    o->nn_name = "default";
    o->web_root = "/web";
    o->max_body = 1 << 20;
    o->queue_max = 8;
    o->timeout_s = 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (i + 1 >= argc) return bad_usage("missing value for ", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--model-name")) o->model_name = v;
        else if (!strcmp(a, "--nn-name")) o->nn_name = v;
        else if (!strcmp(a, "--template")) o->template_name = v;
        else if (!strcmp(a, "--web-root")) o->web_root = v;
        else if (!strcmp(a, "--socket-addr")) o->socket_addr = v;
        else if (!strcmp(a, "--ctx-size")) {
            if (parse_num(v, 1, 1 << 20, &o->ctx_size))
                return bad_usage("bad --ctx-size ", v);
        } else if (!strcmp(a, "--max-body")) {
            if (parse_num(v, 1, 64 << 20, &o->max_body))
                return bad_usage("bad --max-body ", v);
        } else if (!strcmp(a, "--queue")) {
            if (parse_num(v, 1, 4096, &o->queue_max))
                return bad_usage("bad --queue ", v);
        } else if (!strcmp(a, "--timeout")) {
            if (parse_num(v, 1, 86400, &o->timeout_s))
                return bad_usage("bad --timeout ", v);
        } else {
            return bad_usage("unknown option ", a);
        }
    }
    const char *tn = o->template_name ? o->template_name
                                      : guess_template(o->model_name);
    s->tmpl = chat_template_find(tn);
    if (!s->tmpl) {
        fprintf(stderr, "llama-api-server: unknown template `%s` (%s)\n", tn,
                chat_template_names());
        return 2;
    }
    if (o->socket_addr) {
        if (open_listener(o->socket_addr, &s->listen_fd)) return 1;
    } else if (find_listener(&s->listen_fd)) {
        fprintf(stderr, "llama-api-server: no listening socket: run with "
                        "`wasmind run --listen 127.0.0.1:8080 ...`\n");
        return 1;
    }
    s->queue = calloc((size_t)o->queue_max, sizeof *s->queue);
    if (!s->queue) return 1;
    char cfg[128] = "";
    if (o->ctx_size > 0)
        snprintf(cfg, sizeof cfg, "{\"ctx-size\": %lld}", o->ctx_size);
    int32_t rc;
    if ((rc = wnn_load_by_name(o->nn_name, cfg, &s->g)) ||
        (rc = wasi_nn_init_execution_context(s->g, &s->ctx))) {
        fprintf(stderr, "llama-api-server: cannot load model `%s`: %s (%d)\n",
                o->nn_name, wnn_strerror(rc), (int)rc);
        return 1;
    }
    if (__wasi_fd_fdstat_set_flags(s->listen_fd, __WASI_FDFLAGS_NONBLOCK)) {
        fprintf(stderr, "llama-api-server: cannot make the listener "
                        "non-blocking\n");
        return 1;
    }
    fprintf(stderr, "llama-api-server: serving model `%s` (template %s) on "
                    "fd %u\n", o->model_name, chat_template_name(s->tmpl),
            (unsigned)s->listen_fd);
    serve(s);
    return 1;
}
