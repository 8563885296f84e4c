/*
 * quant_impl.h — private to the kernel files (quant.c, quant_*.c,
 * matmul.c): the per-ISA kernel table and the tiled matmul hook.
 *
 * quant.c owns one kq_kernels table per ISA level. The scalar table is
 * filled from the reference kernels; each ISA file exports an _install
 * function that copies nothing and only overrides the entries it has, so
 * a missing SIMD kernel silently keeps the scalar one (ggml's
 * arch-fallback.h idea). Levels are ordered; each SIMD table starts as
 * the one below it (scalar, then AVX2 for AVX-512) before its installer
 * runs.
 *
 * AVX-512 (quant_avx512.c: F+BW+VL+DQ and VNNI; vec_dot, tile and matvec
 * of Q4_0, Q8_0, Q4_K, Q6_K) is chosen when CPUID leaf 7 has all five and
 * XCR0 shows the OS saves the ZMM state. It was written on a machine
 * without AVX-512 and is tested there in emulation: tests/llm/t_quant
 * links a second copy of quant_avx512.c built with -DKQ_AVX512_SIMDE
 * (SIMDe's portable intrinsics, installer kq_avx512_simde_install),
 * registers it with kq_test_register() and runs the same scalar-tolerance
 * and tile == vec_dot bitwise checks as for AVX2. Not yet run on real
 * AVX-512 hardware.
 */
#ifndef WM_QUANT_IMPL_H
#define WM_QUANT_IMPL_H

#include <string.h>

#include "quant.h"

/* x86 SIMD kernels need GCC/clang target attributes and cpuid builtins. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define WM_KQ_HAVE_X86 1
#else
#define WM_KQ_HAVE_X86 0
#endif

/* KQ_TEST is never chosen by detection: only kq_test_register() fills it. */
typedef enum kq_level {
    KQ_SCALAR = 0, KQ_AVX2 = 1, KQ_AVX512 = 2, KQ_TEST = 3, KQ_LEVEL_COUNT
} kq_level;

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

/* Unpack Q4_K/Q5_K's 12 scale bytes into 8 scales (bytes 0..7) and 8
 * mins (bytes 8..15) with four 32-bit mask-and-shift steps (the layout is
 * drawn at get_scale_min_k4 in quant.c); for the SIMD kernels. */
static inline void k4_scales(const uint8_t *s12, uint32_t out[4])
{
    const uint32_t km1 = 0x3f3f3f3f, km2 = 0x0f0f0f0f, km3 = 0x03030303;
    uint32_t u[3];
    memcpy(u, s12, 12);
    out[0] = u[0] & km1;
    out[1] = (u[2] & km2) | (((u[0] >> 6) & km3) << 4);
    out[2] = u[1] & km1;
    out[3] = ((u[2] >> 4) & km2) | (((u[1] >> 6) & km3) << 4);
}

/* The table in use (initialising on first call). */
WM_INTERNAL const kq_kernels *kq_active(void);

/*
 * Test hook: fills the KQ_TEST table with the scalar kernels, applies
 * install() on top and makes it selectable as llm_kernels_force(isa)
 * (false if isa is NULL or already a level's name). A second call
 * replaces the table. Not thread-safe: call it while no kernel runs.
 * t_quant uses it for the SIMDe-emulated AVX-512 kernels.
 */
WM_INTERNAL bool kq_test_register(const char *isa,
                                  void (*install)(kq_kernels *k));

#if WM_KQ_HAVE_X86
WM_INTERNAL void kq_avx2_install(kq_kernels *k);
WM_INTERNAL void kq_avx512_install(kq_kernels *k);
#endif
/* quant_avx512.c built with -DKQ_AVX512_SIMDE (test binaries only). */
WM_INTERNAL void kq_avx512_simde_install(kq_kernels *k);

#endif
