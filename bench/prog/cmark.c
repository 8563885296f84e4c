/*
 * cmark.c — a CoreMark-like integer workload, written for wasmind's bench
 * (not EEMBC CoreMark; same spirit): each iteration runs
 *   - list:   a linked list of 64 nodes in one buffer: find, reverse,
 *             merge sort by value and by index;
 *   - matrix: 24x24 int16 matrices: add/multiply by a constant, matrix x
 *             vector, matrix x matrix, bit-field extraction;
 *   - state:  a scanner state machine over a buffer of number-like tokens
 *             ("123", "-4.5", "6e7", junk), counting transitions;
 *   - crc:    CRC-16 of every partial result, chained across iterations.
 * Integer only, 16/32-bit arithmetic, pointer chasing and branches.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t crc16_byte(uint8_t b, uint16_t crc) {
    for (int i = 0; i < 8; i++) {
        uint16_t x = (uint16_t)((b ^ crc) & 1);
        b >>= 1;
        crc = x ? (uint16_t)((crc ^ 0x4002) >> 1 | 0x8000) : crc >> 1;
    }
    return crc;
}
static uint16_t crc16(uint16_t v, uint16_t crc) {
    crc = crc16_byte((uint8_t)v, crc);
    return crc16_byte((uint8_t)(v >> 8), crc);
}
static uint16_t crc32v(uint32_t v, uint16_t crc) {
    return crc16((uint16_t)(v >> 16), crc16((uint16_t)v, crc));
}

/* ==== list ============================================================== */

typedef struct lnode { struct lnode *next; int16_t data; int16_t idx; } lnode;

#define LIST_N 64

static lnode *list_init(lnode *pool, uint16_t seed) {
    for (int i = 0; i < LIST_N; i++) {
        pool[i].next = i + 1 < LIST_N ? &pool[i + 1] : NULL;
        pool[i].idx = (int16_t)i;
        uint16_t d = (uint16_t)((seed ^ (uint16_t)(i * 0x9e37)) & 0x7fff);
        pool[i].data = (int16_t)((d << 3 | (d >> 5 & 7)) & 0x7fff);
    }
    return pool;
}

static lnode *list_reverse(lnode *h) {
    lnode *prev = NULL;
    while (h) {
        lnode *n = h->next;
        h->next = prev;
        prev = h;
        h = n;
    }
    return prev;
}

static lnode *list_find(lnode *h, int16_t data) {
    while (h && (h->data & 0xff) != (data & 0xff)) h = h->next;
    return h;
}

static int cmp_data(const lnode *a, const lnode *b) { return a->data - b->data; }
static int cmp_idx(const lnode *a, const lnode *b) { return a->idx - b->idx; }

/* Bottom-up merge sort of a singly linked list (as CoreMark does). */
static lnode *list_sort(lnode *h, int (*cmp)(const lnode *, const lnode *)) {
    for (int insize = 1;; insize *= 2) {
        lnode *p = h, *tail = NULL;
        h = NULL;
        int merges = 0;
        while (p) {
            merges++;
            lnode *q = p;
            int psize = 0;
            for (int i = 0; i < insize && q; i++) {
                psize++;
                q = q->next;
            }
            int qsize = insize;
            while (psize > 0 || (qsize > 0 && q)) {
                lnode *e;
                if (psize == 0) { e = q; q = q->next; qsize--; }
                else if (qsize == 0 || !q) { e = p; p = p->next; psize--; }
                else if (cmp(p, q) <= 0) { e = p; p = p->next; psize--; }
                else { e = q; q = q->next; qsize--; }
                if (tail) tail->next = e; else h = e;
                tail = e;
            }
            p = q;
        }
        tail->next = NULL;
        if (merges <= 1) return h;
    }
}

static uint16_t bench_list(lnode *pool, uint16_t seed, uint16_t crc) {
    lnode *h = list_init(pool, seed);
    for (int i = 0; i < 16; i++) {
        lnode *f = list_find(h, (int16_t)(seed + i * 37));
        crc = crc16(f ? (uint16_t)f->idx : 0xffff, crc);
        h = list_reverse(h);
        h = list_sort(h, (i & 1) ? cmp_data : cmp_idx);
        crc = crc16((uint16_t)h->data, crc);
        h->data = (int16_t)(h->data ^ (int16_t)(seed >> 1));   /* perturb */
    }
    h = list_sort(h, cmp_idx);
    for (lnode *n = h; n; n = n->next) crc = crc16((uint16_t)n->data, crc);
    return crc;
}

/* ==== matrix ============================================================ */

#define MN 24

static uint16_t bench_matrix(int16_t A[MN][MN], int16_t B[MN][MN],
                             int32_t C[MN][MN], uint16_t seed, uint16_t crc) {
    int16_t k = (int16_t)(seed | 0xf000);
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            A[i][j] = (int16_t)((seed + i * MN + j) & 0xff);
            B[i][j] = (int16_t)(((seed ^ (i * 7 + j * 13)) & 0x7f) - 64);
        }
    for (int i = 0; i < MN; i++)        /* add constant */
        for (int j = 0; j < MN; j++) A[i][j] = (int16_t)(A[i][j] + k);
    for (int i = 0; i < MN; i++)        /* multiply by constant */
        for (int j = 0; j < MN; j++) C[i][j] = (int32_t)A[i][j] * k;
    int32_t acc = 0;
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) acc += C[i][j] > 0 ? 1 : C[i][j] >> 8;
    crc = crc32v((uint32_t)acc, crc);
    for (int i = 0; i < MN; i++) {      /* matrix x vector */
        int32_t s = 0;
        for (int j = 0; j < MN; j++) s += (int32_t)A[i][j] * B[j][0];
        C[i][0] = s;
        crc = crc32v((uint32_t)s, crc);
    }
    for (int i = 0; i < MN; i++)        /* matrix x matrix */
        for (int j = 0; j < MN; j++) {
            int32_t s = 0;
            for (int x = 0; x < MN; x++) s += (int32_t)A[i][x] * B[x][j];
            C[i][j] = s;
        }
    acc = 0;
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) acc += C[i][j];
    crc = crc32v((uint32_t)acc, crc);
    for (int i = 0; i < MN; i++)        /* bit-field extraction */
        for (int j = 0; j < MN; j++) {
            int32_t s = 0;
            for (int x = 0; x < MN; x++) {
                int32_t t = (int32_t)A[i][x] * B[x][j];
                s += (t >> 2 & 0xf) * (t >> 5 & 0x7f);
            }
            C[i][j] = s;
        }
    acc = 0;
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) acc ^= C[i][j] + i - j;
    return crc32v((uint32_t)acc, crc);
}

/* ==== state machine ===================================================== */

enum { S_START, S_INT, S_SIGN, S_FLOAT, S_EXP, S_SCI, S_BAD, S_N };

static int next_state(int st, char c) {
    int digit = c >= '0' && c <= '9';
    switch (st) {
    case S_START:
        if (digit) return S_INT;
        if (c == '+' || c == '-') return S_SIGN;
        if (c == '.') return S_FLOAT;
        return S_BAD;
    case S_SIGN:
        if (digit) return S_INT;
        if (c == '.') return S_FLOAT;
        return S_BAD;
    case S_INT:
        if (digit) return S_INT;
        if (c == '.') return S_FLOAT;
        if (c == 'e' || c == 'E') return S_EXP;
        return S_BAD;
    case S_FLOAT:
        if (digit) return S_FLOAT;
        if (c == 'e' || c == 'E') return S_EXP;
        return S_BAD;
    case S_EXP:
        if (digit || c == '+' || c == '-') return S_SCI;
        return S_BAD;
    case S_SCI:
        return digit ? S_SCI : S_BAD;
    default:
        return S_BAD;
    }
}

static uint16_t bench_state(char *buf, uint32_t len, uint16_t seed,
                            uint16_t crc) {
    static const char *tokens[] = {"5012", "1234", "-874", "+122", "35.54",
                                   ".1234", "-110.7", "-.5", "5.5e+3",
                                   "-6.6e-2", "T0.3e-1F", "-T.T++Tq",
                                   "1T3.4e4z", "34.0e-T^"};
    uint32_t pos = 0, t = seed;
    while (pos < len) {
        const char *tok = tokens[t % 14];
        t = t * 1103515245u + 12345u;
        for (; *tok && pos < len; tok++) buf[pos++] = *tok;
        if (pos < len) buf[pos++] = ',';
    }
    uint32_t final_count[S_N] = {0}, transitions[S_N] = {0};
    for (int pass = 0; pass < 2; pass++) {
        uint32_t i = 0;
        while (i < len) {
            int st = S_START;
            for (; i < len && buf[i] != ','; i++) {
                int ns = next_state(st, buf[i]);
                if (ns != st) transitions[ns]++;
                st = ns;
                if (st == S_BAD) {
                    while (i < len && buf[i] != ',') i++;
                    break;
                }
            }
            final_count[st]++;
            i++;
        }
        /* Corrupt every 13th byte for the second pass, as CoreMark does. */
        for (uint32_t j = 0; j < len; j += 13)
            if (buf[j] != ',') buf[j] = (char)(buf[j] ^ (seed & 0x7 ? 1 : 2));
    }
    for (int s = 0; s < S_N; s++) {
        crc = crc32v(final_count[s], crc);
        crc = crc32v(transitions[s], crc);
    }
    return crc;
}

int main(int argc, char **argv) {
    uint32_t iters = argc > 1 ? (uint32_t)atoi(argv[1]) : 12000;
    static lnode pool[LIST_N];
    static int16_t A[MN][MN], B[MN][MN];
    static int32_t C[MN][MN];
    static char buf[400];
    uint16_t crc = 0;
    for (uint32_t it = 0; it < iters; it++) {
        uint16_t seed = (uint16_t)(it * 0x2f + crc);
        crc = bench_list(pool, seed, crc);
        crc = bench_matrix(A, B, C, seed, crc);
        crc = bench_state(buf, sizeof buf, seed, crc);
    }
    printf("cmark iterations %u crc 0x%04x\n", iters, crc);
    return 0;
}
