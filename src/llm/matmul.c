/*
 * matmul.c — y = W x for a batch of tokens on the thread pool.
 *
 *   W (n_out, n_in) in any supported type, x (n_tok, n_in) f32,
 *   y (n_tok, n_out) f32.
 *
 * Steps:
 *  1. Activations are converted once to W's vec_dot_type (Q8_0, Q8_1,
 *     Q8_K, F16, BF16; F32 is used in place) into the pool's scratch,
 *     token rows split across threads.
 *  2. Output rows are cut into row tiles of the kernel's tile height,
 *     numbered from row 0, and each thread takes a contiguous range of
 *     whole tiles. Nothing is reduced across threads, and the kernel that
 *     computes an element depends only on its position, never on the
 *     thread count, so results are bitwise identical for any thread count.
 *  3. n_tok == 1: one vec_dot per row (bandwidth-bound matrix-vector).
 *     n_tok > 1: tokens go in blocks of MM_TOK_BLOCK (their quantised rows
 *     stay in L2), and within a block the ISA's tile kernel computes
 *     rows x toks outputs per call, loading each weight block once per
 *     tile instead of once per token. Types without a tile kernel loop
 *     vec_dot over the tokens of a block while the weight row is in L1.
 */
#include "quant_impl.h"
#include "threads.h"

#include <stdlib.h>

#define MM_TOK_BLOCK 64      /* tokens whose activations share L2 */
#define MM_ROWS_NO_TILE 8    /* row granularity without a tile kernel */

typedef struct mm_ctx {
    const llm_mat *w;
    const llm_type_traits *tr;
    const llm_type_traits *vt;   /* traits of vec_dot_type */
    kq_tile tile;
    int tile_rows;
    const float *x;
    int n_tok;
    float *y;
    void *xq;                    /* quantised activations */
    size_t xq_stride;            /* bytes per token row in xq */
    size_t w_stride;             /* bytes per weight row */
} mm_ctx;

static void mm_quantize_task(void *arg, int ith, int nth)
{
    mm_ctx *c = arg;
    const int64_t n_in = c->w->n_in;
    int t0 = (int)((int64_t)c->n_tok * ith / nth);
    int t1 = (int)((int64_t)c->n_tok * (ith + 1) / nth);
    for (int t = t0; t < t1; t++)
        c->vt->from_float(c->x + (size_t)t * (size_t)n_in,
                          (char *)c->xq + (size_t)t * c->xq_stride, n_in);
}

/* Rows [r0, r1) for tokens [t0, t1). */
static void mm_rows(const mm_ctx *c, int64_t r0, int64_t r1, int t0, int t1)
{
    const int n = (int)c->w->n_in;
    const int64_t n_out = c->w->n_out;
    const char *wd = c->w->data;
    const char *xq = c->xq;
    if (c->tile.fn) {
        const int tr = c->tile.rows, tt = c->tile.toks;
        for (int64_t r = r0; r < r1; r += tr) {
            int nr = (int)(r1 - r < tr ? r1 - r : tr);
            for (int t = t0; t < t1; t += tt) {
                int nt = t1 - t < tt ? t1 - t : tt;
                c->tile.fn(n, wd + (size_t)r * c->w_stride, c->w_stride, nr,
                           xq + (size_t)t * c->xq_stride, c->xq_stride, nt,
                           c->y + (size_t)t * (size_t)n_out + (size_t)r,
                           (size_t)n_out);
            }
        }
        return;
    }
    const llm_vec_dot_fn dot = c->tr->vec_dot;
    for (int64_t r = r0; r < r1; r++) {
        const char *wr = wd + (size_t)r * c->w_stride;
        for (int t = t0; t < t1; t++)
            dot(n, c->y + (size_t)t * (size_t)n_out + (size_t)r, wr,
                xq + (size_t)t * c->xq_stride);
    }
}

static void mm_dot_task(void *arg, int ith, int nth)
{
    mm_ctx *c = arg;
    const int64_t n_out = c->w->n_out;
    const int64_t n_tiles = (n_out + c->tile_rows - 1) / c->tile_rows;
    int64_t r0 = n_tiles * ith / nth * c->tile_rows;
    int64_t r1 = n_tiles * (ith + 1) / nth * c->tile_rows;
    if (r1 > n_out) r1 = n_out;
    if (r0 >= r1) return;
    if (c->n_tok == 1) {
        mm_rows(c, r0, r1, 0, 1);
        return;
    }
    for (int t = 0; t < c->n_tok; t += MM_TOK_BLOCK) {
        int t1 = c->n_tok - t < MM_TOK_BLOCK ? c->n_tok : t + MM_TOK_BLOCK;
        mm_rows(c, r0, r1, t, t1);
    }
}

void llm_matmul(llm_pool *pool, const llm_mat *w, const float *x, int n_tok,
                float *y)
{
    if (n_tok <= 0 || w->n_out <= 0) return;
    const kq_kernels *k = kq_active();
    WM_ASSERT((unsigned)w->type < LLM_TYPE_COUNT);
    mm_ctx c = { .w = w, .tr = &k->traits[w->type], .x = x,
                 .n_tok = n_tok, .y = y };
    WM_ASSERT(c.tr->supported && c.tr->vec_dot);
    c.vt = &k->traits[c.tr->vec_dot_type];
    c.w_stride = llm_row_size(w->type, w->n_in);
    c.xq_stride = llm_row_size(c.tr->vec_dot_type, w->n_in);
    WM_ASSERT(c.w_stride && c.xq_stride && w->n_in <= INT32_MAX);
    if (n_tok > 1) c.tile = k->tile[w->type];
    c.tile_rows = c.tile.fn ? c.tile.rows : MM_ROWS_NO_TILE;

    void *own = NULL;
    if (c.tr->vec_dot_type == LLM_F32) {
        c.xq = (void *)x;  /* read only: F32 rows are used in place */
    } else {
        size_t need = c.xq_stride * (size_t)n_tok;
        c.xq = pool ? llm_pool_scratch(pool, need) : NULL;
        if (!c.xq) c.xq = own = malloc(need);
        WM_ASSERT(c.xq);
        if (n_tok == 1 || llm_pool_size(pool) == 1)
            mm_quantize_task(&c, 0, 1);
        else
            llm_pool_run(pool, mm_quantize_task, &c);
    }
    llm_pool_run(pool, mm_dot_task, &c);
    free(own);
}
