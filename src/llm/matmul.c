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
 *     numbered from row 0, and the threads take chunks of contiguous whole
 *     tiles from a shared counter (about MM_CHUNKS_PER_THREAD chunks per
 *     thread: a core slowed down by other work takes fewer, instead of
 *     holding everyone up at the end of a static split). Nothing is
 *     reduced across threads, and the kernel that computes an element
 *     depends only on its position, never on the thread or the thread
 *     count, so results are bitwise identical for any thread count.
 *  3. n_tok == 1: bandwidth-bound matrix-vector; the ISA's matvec
 *     kernel (several rows per activation block, independent FMA chains)
 *     when it has one, else one vec_dot per row.
 *     n_tok > 1: tokens go in blocks of MM_TOK_BLOCK (their quantised rows
 *     stay in L2), and within a block the ISA's tile kernel computes
 *     rows x toks outputs per call, loading each weight block once per
 *     tile instead of once per token. Types without a tile kernel loop
 *     vec_dot over the tokens of a block while the weight row is in L1.
 *
 * llm_matmul_multi does the same for up to MM_MAX_W matrices that read
 * the same input (Q/K/V, gate/up): one quantisation and one pool run for
 * all of them. The tiles of all matrices form one index space that the
 * threads split; a tile never spans two matrices, so each element is
 * computed exactly as llm_matmul would compute it.
 */
#include "quant_impl.h"
#include "threads.h"

#include <stdatomic.h>
#include <stdlib.h>

#define MM_TOK_BLOCK 64      /* tokens whose activations share L2 */
#define MM_ROWS_NO_TILE 8    /* row granularity without a tile kernel */
#define MM_MAX_W 4           /* matrices per llm_matmul_multi run */
#define MM_CHUNKS_PER_THREAD 4

typedef struct mm_mat {
    const llm_mat *w;
    const llm_type_traits *tr;
    kq_tile tile;
    int tile_rows;
    int64_t n_tiles;
    size_t w_stride;             /* bytes per weight row */
    float *y;
} mm_mat;

typedef struct mm_ctx {
    mm_mat m[MM_MAX_W];
    int n_w;
    int64_t n_tiles;             /* sum over m[] */
    int64_t n_in;
    llm_type vdt;                /* the shared vec_dot_type */
    const llm_type_traits *vt;   /* its traits */
    const float *x;
    int n_tok;
    void *xq;                    /* quantised activations */
    size_t xq_stride;            /* bytes per token row in xq */
    _Atomic int64_t next;        /* first tile of the next chunk */
    int64_t chunk;               /* tiles per chunk */
} mm_ctx;

static void mm_quantize_task(void *arg, int ith, int nth)
{
    mm_ctx *c = arg;
    const int64_t n_in = c->n_in;
    int t0 = (int)((int64_t)c->n_tok * ith / nth);
    int t1 = (int)((int64_t)c->n_tok * (ith + 1) / nth);
    for (int t = t0; t < t1; t++)
        c->vt->from_float(c->x + (size_t)t * (size_t)n_in,
                          (char *)c->xq + (size_t)t * c->xq_stride, n_in);
}

/* Rows [r0, r1) of matrix m for tokens [t0, t1). */
static void mm_rows(const mm_ctx *c, const mm_mat *m, int64_t r0, int64_t r1,
                    int t0, int t1)
{
    const int n = (int)c->n_in;
    const int64_t n_out = m->w->n_out;
    const char *wd = m->w->data;
    const char *xq = c->xq;
    if (m->tile.fn) {
        const int tr = m->tile.rows, tt = m->tile.toks;
        for (int64_t r = r0; r < r1; r += tr) {
            int nr = (int)(r1 - r < tr ? r1 - r : tr);
            for (int t = t0; t < t1; t += tt) {
                int nt = t1 - t < tt ? t1 - t : tt;
                m->tile.fn(n, wd + (size_t)r * m->w_stride, m->w_stride, nr,
                           xq + (size_t)t * c->xq_stride, c->xq_stride, nt,
                           m->y + (size_t)t * (size_t)n_out + (size_t)r,
                           (size_t)n_out);
            }
        }
        return;
    }
    const llm_vec_dot_fn dot = m->tr->vec_dot;
    for (int64_t r = r0; r < r1; r++) {
        const char *wr = wd + (size_t)r * m->w_stride;
        for (int t = t0; t < t1; t++)
            dot(n, m->y + (size_t)t * (size_t)n_out + (size_t)r, wr,
                xq + (size_t)t * c->xq_stride);
    }
}

/* Global tiles [g0, g1): their part in each matrix. */
static void mm_tiles(const mm_ctx *c, int64_t g0, int64_t g1)
{
    int64_t base = 0;
    for (int i = 0; i < c->n_w && base < g1; base += c->m[i].n_tiles, i++) {
        const mm_mat *m = &c->m[i];
        int64_t a = g0 > base ? g0 - base : 0;
        int64_t b = g1 - base < m->n_tiles ? g1 - base : m->n_tiles;
        if (a >= b) continue;
        int64_t r0 = a * m->tile_rows, r1 = b * m->tile_rows;
        if (r1 > m->w->n_out) r1 = m->w->n_out;
        if (c->n_tok == 1) {
            mm_rows(c, m, r0, r1, 0, 1);
            continue;
        }
        for (int t = 0; t < c->n_tok; t += MM_TOK_BLOCK) {
            int t1 = c->n_tok - t < MM_TOK_BLOCK ? c->n_tok : t + MM_TOK_BLOCK;
            mm_rows(c, m, r0, r1, t, t1);
        }
    }
}

static void mm_dot_task(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    mm_ctx *c = arg;
    for (;;) {
        int64_t g0 = atomic_fetch_add_explicit(&c->next, c->chunk,
                                               memory_order_relaxed);
        if (g0 >= c->n_tiles) return;
        mm_tiles(c, g0, g0 + c->chunk < c->n_tiles ? g0 + c->chunk
                                                    : c->n_tiles);
    }
}

/* Fills c->m[i] for ws[i]; false when the matrices cannot share one run
 * (different n_in or vec_dot_type). */
static bool mm_setup(mm_ctx *c, const kq_kernels *k, const llm_mat *ws,
                     int n_w, float *const *ys, int n_tok)
{
    c->n_w = n_w;
    c->n_in = ws[0].n_in;
    c->n_tiles = 0;
    c->vt = NULL;
    for (int i = 0; i < n_w; i++) {
        const llm_mat *w = &ws[i];
        mm_mat *m = &c->m[i];
        WM_ASSERT((unsigned)w->type < LLM_TYPE_COUNT);
        m->w = w;
        m->tr = &k->traits[w->type];
        WM_ASSERT(m->tr->supported && m->tr->vec_dot);
        if (w->n_in != c->n_in) return false;
        if (i == 0) c->vdt = m->tr->vec_dot_type;
        else if (m->tr->vec_dot_type != c->vdt) return false;
        m->w_stride = llm_row_size(w->type, w->n_in);
        WM_ASSERT(m->w_stride && w->n_in <= INT32_MAX);
        m->tile = n_tok > 1 ? k->tile[w->type] : k->matvec[w->type];
        m->tile_rows = m->tile.fn ? m->tile.rows : MM_ROWS_NO_TILE;
        m->n_tiles = w->n_out > 0 ? (w->n_out + m->tile_rows - 1) /
                                        m->tile_rows : 0;
        m->y = ys[i];
        c->n_tiles += m->n_tiles;
    }
    c->vt = &k->traits[c->vdt];
    return true;
}

static void mm_run(llm_pool *pool, mm_ctx *c)
{
    const llm_type vdt = c->vdt;
    c->xq_stride = llm_row_size(vdt, c->n_in);
    WM_ASSERT(c->xq_stride);
    void *own = NULL;
    if (vdt == LLM_F32) {
        c->xq = (void *)c->x;  /* read only: F32 rows are used in place */
    } else {
        size_t need = c->xq_stride * (size_t)c->n_tok;
        c->xq = pool ? llm_pool_scratch(pool, need) : NULL;
        if (!c->xq) c->xq = own = malloc(need);
        WM_ASSERT(c->xq);
        if (c->n_tok == 1 || llm_pool_size(pool) == 1)
            mm_quantize_task(c, 0, 1);
        else
            llm_pool_run(pool, mm_quantize_task, c);
    }
    int nth = pool ? llm_pool_size(pool) : 1;
    c->chunk = c->n_tiles / ((int64_t)nth * MM_CHUNKS_PER_THREAD);
    if (c->chunk < 1) c->chunk = 1;
    atomic_store_explicit(&c->next, 0, memory_order_relaxed);
    llm_pool_run(pool, mm_dot_task, c);
    free(own);
}

void llm_matmul(llm_pool *pool, const llm_mat *w, const float *x, int n_tok,
                float *y)
{
    llm_matmul_multi(pool, w, 1, x, n_tok, &y);
}

void llm_matmul_multi(llm_pool *pool, const llm_mat *ws, int n_w,
                      const float *x, int n_tok, float *const *ys)
{
    if (n_tok <= 0 || n_w <= 0) return;
    if (n_w > MM_MAX_W) {
        llm_matmul_multi(pool, ws, MM_MAX_W, x, n_tok, ys);
        llm_matmul_multi(pool, ws + MM_MAX_W, n_w - MM_MAX_W, x, n_tok,
                         ys + MM_MAX_W);
        return;
    }
    const kq_kernels *k = kq_active();
    mm_ctx c = { .x = x, .n_tok = n_tok };
    if (!mm_setup(&c, k, ws, n_w, ys, n_tok)) {
        for (int i = 0; i < n_w; i++)
            llm_matmul_multi(pool, &ws[i], 1, x, n_tok, &ys[i]);
        return;
    }
    if (c.n_tiles == 0) return;
    mm_run(pool, &c);
}
