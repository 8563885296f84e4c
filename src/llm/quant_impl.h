/*
 * quant_impl.h — private to the kernel files (quant.c, quant_*.c,
 * matmul.c): the per-ISA kernel table and the tiled matmul hook.
 *
 * quant.c owns one kq_kernels table per ISA level. The scalar table is
 * filled from the reference kernels; each ISA file exports an _install
 * function that copies nothing and only overrides the entries it has, so
 * a missing SIMD kernel silently keeps the scalar one (ggml's
 * arch-fallback.h idea). Levels are ordered: adding AVX-512 means a new
 * quant_avx512.c with kq_avx512_install(), a KQ_AVX512 slot below and a
 * CPUID test in quant.c; nothing else changes.
 */
#ifndef WM_QUANT_IMPL_H
#define WM_QUANT_IMPL_H

#include "quant.h"

/* x86 SIMD kernels need GCC/clang target attributes and cpuid builtins. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define WM_KQ_HAVE_X86 1
#else
#define WM_KQ_HAVE_X86 0
#endif

typedef enum kq_level { KQ_SCALAR = 0, KQ_AVX2 = 1, KQ_LEVEL_COUNT } kq_level;

/*
 * Tiled dot products: y[t * y_stride + r] = dot(W row r, x row t) for
 * r < nr (<= rows), t < nt (<= toks). W rows are w_stride bytes apart,
 * activation rows (already in vec_dot_type) x_stride bytes apart. Each
 * weight block is unpacked once per tile and reused for every token; the
 * per-element arithmetic is exactly the one of the same ISA's vec_dot, so
 * results do not depend on tiling (tests check bitwise equality).
 */
typedef void (*kq_tile_fn)(int n, const void *w, size_t w_stride, int nr,
                           const void *x, size_t x_stride, int nt,
                           float *y, size_t y_stride);
typedef struct kq_tile {
    kq_tile_fn fn;      /* NULL: matmul loops over vec_dot */
    int rows, toks;     /* maximum tile shape */
} kq_tile;

typedef struct kq_kernels {
    const char *isa;
    llm_type_traits traits[LLM_TYPE_COUNT];
    kq_tile tile[LLM_TYPE_COUNT];
    /* n_tok == 1: several rows against one activation row (toks == 1),
     * each row bitwise its vec_dot; NULL fn: one vec_dot per row. */
    kq_tile matvec[LLM_TYPE_COUNT];
    void (*f16_to_f32_row)(const llm_f16 *src, float *dst, int64_t n);
    void (*f32_to_f16_row)(const float *src, llm_f16 *dst, int64_t n);
} kq_kernels;

/* The table in use (initialising on first call). */
WM_INTERNAL const kq_kernels *kq_active(void);

#if WM_KQ_HAVE_X86
WM_INTERNAL void kq_avx2_install(kq_kernels *k);
#endif

#endif
