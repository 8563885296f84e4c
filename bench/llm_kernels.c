/*
 * llm_kernels.c — micro-benchmark of the tensor kernels (make bench-kernels).
 *
 * For each weight type, a 2048 x 5632 matrix (the FFN shape of a ~1B
 * model): matrix-vector (1 token: generation) and matrix-matrix (64
 * tokens: prompt processing) through llm_matmul on 1 and 2 threads.
 * Prints GB/s of weights read, GFLOP/s (2 * n_in * n_out per token), the
 * fraction of the streaming-read bandwidth measured in the same run, and
 * tokens/s for this one matrix. Best of several repetitions, because the
 * machine is shared: compare ratios within one run, not across runs.
 *
 *   usage: llm_kernels [--isa scalar|avx2] [--types q4_0,q4_k,...]
 *                      [--rows N] [--cols N] [--toks N] [--threads N]
 */
#include "llm/quant.h"
#include "llm/threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ==== Streaming read bandwidth ========================================= */

typedef struct bw_ctx {
    const uint64_t *buf;
    size_t n;
    uint64_t sums[64];
} bw_ctx;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* 256-bit loads, four independent chains: what the kernels can reach. */
__attribute__((target("avx2"))) static void bw_task_avx2(void *arg, int ith,
                                                         int nth)
{
    bw_ctx *c = arg;
    size_t a = c->n * (size_t)ith / (size_t)nth / 16 * 16;
    size_t b = c->n * (size_t)(ith + 1) / (size_t)nth / 16 * 16;
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = a; i < b; i += 16) {
        const __m256i *p = (const __m256i *)(c->buf + i);
        s0 = _mm256_add_epi64(s0, _mm256_load_si256(p));
        s1 = _mm256_add_epi64(s1, _mm256_load_si256(p + 1));
        s2 = _mm256_add_epi64(s2, _mm256_load_si256(p + 2));
        s3 = _mm256_add_epi64(s3, _mm256_load_si256(p + 3));
    }
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, _mm256_add_epi64(
        _mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)));
    c->sums[ith] = out[0] + out[1] + out[2] + out[3];
}
#endif

static void bw_task(void *arg, int ith, int nth)
{
    bw_ctx *c = arg;
    size_t a = c->n * (size_t)ith / (size_t)nth;
    size_t b = c->n * (size_t)(ith + 1) / (size_t)nth;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = a; i + 4 <= b; i += 4) {
        s0 += c->buf[i];
        s1 += c->buf[i + 1];
        s2 += c->buf[i + 2];
        s3 += c->buf[i + 3];
    }
    c->sums[ith] = s0 + s1 + s2 + s3;
}

/* GB/s of a plain read of a buffer 4x larger than any last-level cache. */
static double stream_bw(llm_pool *pool, const uint64_t *buf, size_t n)
{
    bw_ctx c = { .buf = buf, .n = n };
    double best = 1e30;
    llm_task_fn fn = bw_task;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2")) fn = bw_task_avx2;
#endif
    for (int r = 0; r < 12; r++) {
        double t0 = now_s();
        llm_pool_run(pool, fn, &c);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    return (double)(n * 8) / best * 1e-9;
}

/* ==== Matrix products ================================================== */

/* Best time of one product, cycling through n_mats copies of the matrix
 * so that matrix-vector reads come from DRAM as in a real model (whose
 * weights are far larger than the last-level cache), not from L3. */
static double time_matmul(llm_pool *pool, const llm_mat *m, int n_mats,
                          const float *x, int n_tok, float *y,
                          double min_time)
{
    llm_matmul(pool, &m[0], x, n_tok, y);   /* warm-up (scratch) */
    double best = 1e30, total = 0;
    int reps = 0;
    while (total < min_time || reps < 3) {
        double t0 = now_s();
        llm_matmul(pool, &m[reps % n_mats], x, n_tok, y);
        double t = now_s() - t0;
        total += t;
        reps++;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *isa = NULL;
    const char *types = "f32,f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1,q2_k,q3_k,"
                        "q4_k,q5_k,q6_k";
    int n_in = 2048, n_out = 5632, n_tok = 64, max_threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--isa")) isa = argv[i + 1];
        else if (!strcmp(argv[i], "--types")) types = argv[i + 1];
        else if (!strcmp(argv[i], "--rows")) n_out = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cols")) n_in = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--toks")) n_tok = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) max_threads = atoi(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    const char *active = llm_kernels_init();
    if (isa && !llm_kernels_force(isa)) {
        fprintf(stderr, "ISA %s not available (have %s)\n", isa, active);
        return 2;
    }
    if (isa) active = isa;
    if (max_threads < 1) max_threads = 1;

    size_t bw_n = ((size_t)256 << 20) / 8;      /* 256 MiB of uint64 */
    uint64_t *bw_buf = aligned_alloc(64, bw_n * 8);
    float *x = malloc(sizeof(float) * (size_t)n_in * (size_t)n_tok);
    float *y = malloc(sizeof(float) * (size_t)n_out * (size_t)n_tok);
    float *row = malloc(sizeof(float) * (size_t)n_in);
    if (!bw_buf || !x || !y || !row) { fprintf(stderr, "out of memory\n"); return 1; }
    for (size_t i = 0; i < bw_n; i++) bw_buf[i] = i * 0x9E3779B97F4A7C15ull;
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)n_in * (size_t)n_tok; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) * 0x1p-24f - 0.5f;
    }

    llm_pool *pools[64] = {0};
    double bw[64] = {0};
    for (int nt = 1; nt <= max_threads; nt++) {
        pools[nt] = llm_pool_new(nt);
        if (!pools[nt]) { fprintf(stderr, "pool\n"); return 1; }
        bw[nt] = stream_bw(pools[nt], bw_buf, bw_n);
    }
    free(bw_buf);

    printf("kernels %s, matrix %d x %d (n_out x n_in), prompt %d tokens\n",
           active, n_out, n_in, n_tok);
    for (int nt = 1; nt <= max_threads; nt++)
        printf("stream read, %d thread%s: %.1f GB/s\n", nt, nt > 1 ? "s" : "",
               bw[nt]);
    printf("%-5s %3s | %8s %8s %6s %8s | %8s %8s %9s | %s\n", "type", "thr",
           "mv GB/s", "GFLOP/s", "of bw", "tok/s", "mm GFLOP", "tok/s",
           "mm/mv", "mm tok/s per mv tok/s");

    char list[256];
    snprintf(list, sizeof list, "%s", types);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        llm_type t = llm_type_from_name(tok);
        const llm_type_traits *tr = llm_traits(t);
        if (!tr || !tr->supported || !tr->vec_dot) {
            fprintf(stderr, "skipping %s\n", tok);
            continue;
        }
        size_t rs = llm_row_size(t, n_in);
        if (!rs) { fprintf(stderr, "%s: bad row length\n", tok); continue; }
        char *w = malloc(rs * (size_t)n_out);
        if (!w) { fprintf(stderr, "out of memory\n"); return 1; }
        /* 64 distinct quantised rows, repeated: content does not change
         * the speed, and the K-quant reference quantisers are slow. */
        for (int r = 0; r < n_out; r++) {
            if (r < 64) {
                for (int i = 0; i < n_in; i++) {
                    s = s * 1664525u + 1013904223u;
                    row[i] = (float)(s >> 8) * 0x1p-24f - 0.5f;
                }
                tr->from_float_ref(row, w + (size_t)r * rs, n_in);
            } else {
                memcpy(w + (size_t)r * rs, w + (size_t)(r % 64) * rs, rs);
            }
        }
        const double flops = 2.0 * n_in * n_out;
        const double bytes = (double)rs * n_out;
        /* copies totalling >= 256 MiB (8x a 32 MiB L3) */
        int n_mats = (int)((256.0 * (1 << 20)) / bytes) + 1;
        if (n_mats > 64) n_mats = 64;
        llm_mat m[64];
        char *copies = malloc(rs * (size_t)n_out * (size_t)n_mats);
        if (!copies) { fprintf(stderr, "out of memory\n"); return 1; }
        for (int c = 0; c < n_mats; c++) {
            char *d = copies + rs * (size_t)n_out * (size_t)c;
            memcpy(d, w, rs * (size_t)n_out);
            m[c] = (llm_mat){ .type = t, .n_in = n_in, .n_out = n_out,
                              .data = d };
        }
        for (int nt = 1; nt <= max_threads; nt++) {
            double tv = time_matmul(pools[nt], m, n_mats, x, 1, y, 0.4);
            double tm = time_matmul(pools[nt], m, n_mats, x, n_tok, y, 0.6);
            double mv_tok = 1.0 / tv, mm_tok = n_tok / tm;
            printf("%-5s %3d | %8.2f %8.2f %5.0f%% %8.1f | %8.2f %8.1f %8.1fx |\n",
                   tr->name, nt, bytes / tv * 1e-9, flops / tv * 1e-9,
                   100.0 * bytes / tv * 1e-9 / bw[nt], mv_tok,
                   flops * n_tok / tm * 1e-9, mm_tok, mm_tok / mv_tok);
            fflush(stdout);
        }
        free(w);
        free(copies);
    }
    for (int nt = 1; nt <= max_threads; nt++) llm_pool_free(pools[nt]);
    free(x); free(y); free(row);
    return 0;
}
