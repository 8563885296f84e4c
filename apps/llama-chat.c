/*
 * llama-chat.c — interactive multi-turn chat through WASI-NN (wasm32-wasi
 * guest). Reads one user message per line on stdin, streams the answer
 * to stdout; the conversation is kept and resent each turn in the
 * model's chat format (the host reuses its KV cache for the unchanged
 * prefix, so only the new turn is evaluated).
 *
 *   wasmind run --nn-preload default:GGML:AUTO:tinyllama-chat-q4_0.gguf \
 *       build/apps/llama-chat.wasm --template zephyr \
 *       --system "You are a helpful assistant."
 *
 * Lines "/reset" (forget the conversation) and "/exit" are commands.
 * A full context is handled, not fatal: when the conversation no longer
 * fits (prompt_too_long) the oldest turns are dropped until it does (the
 * user is told on stderr); when the answer fills the context
 * (context_full) it is cut there, marked, and the oldest half of the
 * turns is dropped before the next one. A single message too long for
 * the context is refused with a message.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat_template.h"
#include "wasi_nn.h"

static const char usage[] =
    "usage: llama-chat.wasm [--template NAME] [--system TEXT] [-n N] "
    "[--temp T]\n"
    "                       [--seed S] [-c CTX] [--model NAME] [--stats]\n"
    "  --template NAME  prompt format: llama-2-chat llama-3-chat chatml\n"
    "                   mistral-instruct zephyr plain (chatml)\n"
    "  --system TEXT    system prompt (none)\n"
    "  -n N             most tokens per answer; -1: no limit (256)\n"
    "  --temp T         temperature; 0 = greedy (0.8)\n"
    "  --seed S         sampling seed (0)\n"
    "  -c CTX           context size (the model's, at most 4096)\n"
    "  --model NAME     the --nn-preload name (default)\n"
    "  --stats          after each answer, print token counts and speed\n"
    "                   to stderr\n"
    "stdin: one message per line; /reset forgets the conversation, /exit "
    "quits\n";

typedef struct chat {
    chat_msg *msgs;          /* [0] is the system prompt when has_system */
    int n, cap;
    int has_system;
} chat;

static int chat_push(chat *c, chat_role role, const char *text, size_t len) {
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 16;
        chat_msg *nm = realloc(c->msgs, (size_t)nc * sizeof *nm);
        if (!nm) return -1;
        c->msgs = nm;
        c->cap = nc;
    }
    char *s = malloc(len + 1);
    if (!s) return -1;
    memcpy(s, text, len);
    s[len] = '\0';
    c->msgs[c->n].role = role;
    c->msgs[c->n].content = s;
    c->n++;
    return 0;
}

/* Remove messages [from, from + k). */
static void chat_drop(chat *c, int from, int k) {
    for (int i = from; i < from + k; i++) free((char *)c->msgs[i].content);
    memmove(&c->msgs[from], &c->msgs[from + k],
            (size_t)(c->n - from - k) * sizeof *c->msgs);
    c->n -= k;
}

/* Drop the oldest user+assistant exchange, never the system prompt nor,
 * with keep_last, the last message (the question being asked). Returns 0
 * when there was nothing to drop. */
static int chat_drop_oldest(chat *c, int keep_last) {
    int first = c->has_system, end = c->n - (keep_last ? 1 : 0);
    if (end - first < 1) return 0;
    int k = first + 1 < end && c->msgs[first + 1].role == CHAT_ASSISTANT
                ? 2 : 1;
    chat_drop(c, first, k);
    return 1;
}

static char *render(const chat_template *t, const chat *c, size_t *len) {
    size_t n = chat_render(t, c->msgs, c->n, NULL, 0);
    char *p = malloc(n + 1);
    if (!p) return NULL;
    chat_render(t, c->msgs, c->n, p, n + 1);
    *len = n;
    return p;
}

/* Read a line (without its newline) into a growing buffer; -1 at EOF. */
static long read_line(char **buf, size_t *cap) {
    size_t len = 0;
    int ch;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (len + 1 >= *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            char *nb = realloc(*buf, nc);
            if (!nb) return -1;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[len++] = (char)ch;
    }
    if (ch == EOF && len == 0) return -1;
    if (len && (*buf)[len - 1] == '\r') len--;
    if (*buf) (*buf)[len] = '\0';
    return (long)len;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bad_usage(const char *what, const char *arg) {
    fprintf(stderr, "llama-chat: %s%s\n%s", what, arg, usage);
    return 2;
}

/* Streamed answer text with the template's stop string held back: text
 * that may be the start of it is printed only once it is known not to
 * be. */
typedef struct answer {
    char *p;
    size_t len, cap, printed;
    size_t skip;             /* leading whitespace, not printed */
    int started, stopped;
} answer;

static int answer_add(answer *a, const char *s, size_t n, const char *stop) {
    if (a->len + n + 1 > a->cap) {
        size_t nc = (a->len + n + 1) * 2;
        char *np = realloc(a->p, nc);
        if (!np) return -1;
        a->p = np;
        a->cap = nc;
    }
    memcpy(a->p + a->len, s, n);
    a->len += n;
    a->p[a->len] = '\0';
    size_t sl = strlen(stop);
    char *hit = strstr(a->p + (a->printed > sl ? a->printed - sl : 0), stop);
    size_t safe;
    if (!a->started) {           /* the answer starts after whitespace */
        while (a->skip < a->len &&
               (a->p[a->skip] == ' ' || a->p[a->skip] == '\n'))
            a->skip++;
        a->started = a->skip < a->len;
    }
    if (hit) {
        a->len = (size_t)(hit - a->p);
        a->p[a->len] = '\0';
        a->stopped = 1;
        safe = a->len;
    } else {
        /* Hold back the longest tail that is a prefix of stop. */
        size_t hold = 0;
        for (size_t k = sl - 1; k > 0; k--)
            if (k <= a->len && memcmp(a->p + a->len - k, stop, k) == 0) {
                hold = k;
                break;
            }
        safe = a->len - hold;
    }
    if (a->printed < a->skip) a->printed = a->skip;
    if (safe > a->printed) {
        fwrite(a->p + a->printed, 1, safe - a->printed, stdout);
        fflush(stdout);
        a->printed = safe;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *tname = "chatml", *system = NULL, *model = "default";
    long long n_predict = 256, seed = 0, n_ctx = 0;
    double temp = 0.8;
    int stats = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--stats")) {
            stats = 1;
            continue;
        }
        if (i + 1 >= argc) return bad_usage("missing value for ", a);
        const char *v = argv[++i];
        char *end;
        errno = 0;
        if (!strcmp(a, "--template")) tname = v;
        else if (!strcmp(a, "--system")) system = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "-n")) {
            n_predict = strtoll(v, &end, 10);
            if (errno || end == v || *end || n_predict < -1)
                return bad_usage("bad -n ", v);
        } else if (!strcmp(a, "--temp")) {
            temp = strtod(v, &end);
            if (end == v || *end) return bad_usage("bad --temp ", v);
        } else if (!strcmp(a, "--seed")) {
            seed = strtoll(v, &end, 10);
            if (errno || end == v || *end || seed < 0)
                return bad_usage("bad --seed ", v);
        } else if (!strcmp(a, "-c")) {
            n_ctx = strtoll(v, &end, 10);
            if (errno || end == v || *end || n_ctx < 1 || n_ctx > (1 << 20))
                return bad_usage("bad -c ", v);
        } else {
            return bad_usage("unknown option ", a);
        }
    }
    const chat_template *t = chat_template_find(tname);
    if (!t) {
        fprintf(stderr, "llama-chat: unknown template `%s` (%s)\n", tname,
                chat_template_names());
        return 2;
    }
    char cfg[256];
    int cl = snprintf(cfg, sizeof cfg, "{\"temp\": %.9g, \"seed\": %lld",
                      temp, seed);
    if (n_ctx > 0)
        cl += snprintf(cfg + cl, sizeof cfg - (size_t)cl,
                       ", \"ctx-size\": %lld", n_ctx);
    snprintf(cfg + cl, sizeof cfg - (size_t)cl, "}");
    wnn_graph g;
    wnn_ctx c;
    int32_t rc;
    if ((rc = wnn_load_by_name(model, cfg, &g)) ||
        (rc = wasi_nn_init_execution_context(g, &c))) {
        fprintf(stderr, "llama-chat: cannot load model `%s`: %s (%d)\n",
                model, wnn_strerror(rc), (int)rc);
        return 1;
    }
    chat conv = {0};
    if (system && system[0]) {
        if (chat_push(&conv, CHAT_SYSTEM, system, strlen(system))) goto oom;
        conv.has_system = 1;
    }
    char *line = NULL;
    size_t line_cap = 0;
    static char piece[4096];
    int turn = 0, status = 0;
    for (;;) {
        fputs("> ", stdout);
        fflush(stdout);
        long ll = read_line(&line, &line_cap);
        if (ll < 0) {
            fputs("\n", stdout);
            break;
        }
        if (ll == 0) continue;
        if (!strcmp(line, "/exit")) break;
        if (!strcmp(line, "/reset")) {
            chat_drop(&conv, conv.has_system, conv.n - conv.has_system);
            fputs("[conversation reset]\n", stdout);
            continue;
        }
        if (chat_push(&conv, CHAT_USER, line, (size_t)ll)) goto oom;
        turn++;
        answer ans = {0};
        long long n_gen = 0;
        double t0 = now_ms();
        int full = 0;
        /* Evaluate the conversation, dropping old turns while it does not
         * fit. */
        for (;;) {
            size_t plen;
            char *prompt = render(t, &conv, &plen);
            if (!prompt) goto oom;
            rc = wnn_set_text(c, 0, prompt, plen);
            free(prompt);
            if (rc == WNN_SUCCESS) rc = wasi_nn_compute_single(c);
            if (rc != WNN_PROMPT_TOO_LONG) break;
            if (!chat_drop_oldest(&conv, 1)) break;
            fputs("[context full: dropped the oldest turn]\n", stderr);
        }
        if (rc == WNN_PROMPT_TOO_LONG) {
            fputs("[message too long for the context; not sent]\n", stdout);
            chat_drop(&conv, conv.n - 1, 1);
            wasi_nn_fini_single(c);
            continue;
        }
        /* rc is the first token's result; stream until the end. */
        for (;;) {
            if (rc != WNN_SUCCESS && rc != WNN_END_OF_SEQUENCE &&
                rc != WNN_CONTEXT_FULL) {
                fprintf(stderr, "\nllama-chat: compute_single: %s (%d)\n",
                        wnn_strerror(rc), (int)rc);
                status = 1;
                break;
            }
            n_gen++;
            size_t n;
            if (wnn_get_output(c, 0, true, piece, sizeof piece, &n) ||
                answer_add(&ans, piece, n, chat_template_stop(t)))
                goto oom;
            if (rc == WNN_END_OF_SEQUENCE || ans.stopped) break;
            if (rc == WNN_CONTEXT_FULL) {
                full = 1;
                break;
            }
            if (n_predict >= 0 && n_gen >= n_predict) break;
            rc = wasi_nn_compute_single(c);
        }
        char meta[512];
        size_t ml = 0;
        long long n_in = -1;
        if (wnn_get_output(c, 1, true, meta, sizeof meta, &ml) == 0)
            n_in = wnn_meta_int(meta, ml, "input_tokens");
        wasi_nn_fini_single(c);
        if (status) break;
        /* Keep the answer without surrounding whitespace. */
        size_t b = 0, e = ans.len;
        while (b < e && (ans.p[b] == ' ' || ans.p[b] == '\n')) b++;
        while (e > b && (ans.p[e - 1] == ' ' || ans.p[e - 1] == '\n')) e--;
        if (chat_push(&conv, CHAT_ASSISTANT, ans.p ? ans.p + b : "", e - b))
            goto oom;
        free(ans.p);
        fputs("\n", stdout);
        if (full) {
            fputs("[context full: answer cut; the oldest turns are "
                  "dropped]\n", stdout);
            int exchanges = (conv.n - conv.has_system) / 2;
            for (int k = 0; k < (exchanges + 1) / 2; k++)
                if (!chat_drop_oldest(&conv, 0)) break;
        }
        fflush(stdout);
        if (stats) {
            double ms = now_ms() - t0;
            fprintf(stderr,
                    "[turn %d: %lld prompt tokens, %lld generated, %.2f t/s "
                    "overall]\n",
                    turn, n_in, n_gen, ms > 0 ? (double)n_gen / (ms / 1e3)
                                              : 0.0);
        }
    }
    free(line);
    chat_drop(&conv, 0, conv.n);
    free(conv.msgs);
    wasi_nn_finalize_execution_context(c);
    wasi_nn_unload(g);
    return status;
oom:
    fprintf(stderr, "llama-chat: out of memory\n");
    return 1;
}
