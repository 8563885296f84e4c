/*
 * quant_avx512.c — AVX-512 (F, BW, VL, DQ) + VNNI kernels for the hot
 * weight types, same contracts as quant_avx2.c: vec_dot, the R x T tile
 * and the multi-row matvec of Q4_0 and Q8_0 (activations Q8_0) and of
 * Q4_K and Q6_K (activations Q8_K). Everything else (the other types, the
 * activation quantisers, f16 rows) stays what the table held before:
 * quant.c fills the AVX-512 table with the AVX2 kernels first.
 *
 * Integer dot products use VNNI: vpdpbusd (u8 x s8, four products summed
 * into each int32 lane, no saturation) for the 32-blocks, with sixteen
 * weight rows in the sixteen lanes and the activation broadcast (see the
 * section below), made signed by an offset (u = q + OFF is unsigned;
 * dot(q, y) = dot(u, y) - OFF*sum(y), the second term once per activation
 * block and token); for Q4_K the same lanes layout with vpdpbusd per
 * sub-block and vpmulld by the rows' sub-block scales; for Q6_K
 * vpmaddubsw + vpdpwssd (int16 pairs times the sub-block scale), its
 * "- 32" from the Q8_K block sums. Every integer step is exact, so only the
 * float steps decide the result bits, and vec_dot, tile and matvec follow
 * one sequence of them per type: they agree bit for bit.
 *
 * Testing: the build machine has no AVX-512, so THESE KERNELS HAVE NOT
 * BEEN RUN ON REAL AVX-512 HARDWARE HERE. The test binary tests/llm/
 * t_quant links this file a second time, compiled with -DKQ_AVX512_SIMDE:
 * the intrinsics then come from SIMDe (Debian libsimde-dev, portable C
 * implementations of the x86 intrinsics), the target attributes are empty
 * and the installer is kq_avx512_simde_install. t_quant registers that
 * table (kq_test_register in quant.c) and runs on it every check the AVX2
 * table gets: vec_dot vs scalar within DOT_SIMD_TOL, tile and matvec
 * bitwise equal to vec_dot (several row lengths, odd block counts, full
 * and partial tiles, 1..4 threads). On a CPU with AVX-512 + VNNI the real
 * table ("avx512") is chosen by CPUID and goes through the same tests.
 */
#include "quant_impl.h"

#if defined(KQ_AVX512_SIMDE)
#if __has_include(<simde/x86/avx512.h>)
/* Emulated build for the tests: the native intrinsic names map to SIMDe.
 * (Its 512-bit vectors passed by value without -mavx512f draw ABI notes:
 * the Makefile adds -Wno-psabi; all such functions are internal here.) */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>
#define KQ_512
#define KQ_INSTALL kq_avx512_simde_install
#define KQ_BUILD 1
/* SIMDe 0.7.4 aliases _mm512_madd_epi16 to its masked 4-argument form. */
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)
/* SIMDe 0.7.4 has no _mm512_cvtepi32_ps: two exact 256-bit halves. */
#define _mm512_cvtepi32_ps kq_simde_cvtepi32_ps
static inline __m512 kq_simde_cvtepi32_ps(__m512i v)
{
    __m256 lo = _mm256_cvtepi32_ps(_mm512_castsi512_si256(v));
    __m256 hi = _mm256_cvtepi32_ps(_mm512_extracti64x4_epi64(v, 1));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}
#else
#define KQ_BUILD 0   /* no SIMDe: t_quant reports the emulated tests skipped */
#endif
#elif WM_KQ_HAVE_X86
#include <immintrin.h>
#define KQ_512                                                              \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,"        \
                          "avx512dq,avx512vnni")))
#define KQ_INSTALL kq_avx512_install
#define KQ_BUILD 1
#else
#define KQ_BUILD 0
#endif

#if KQ_BUILD

#if defined(KQ_AVX512_SIMDE)
/* Emulated intrinsics are large inline functions: forcing the unrolled,
 * inlined tiles on them multiplies the compile time (minutes under ASan)
 * for no benefit in a test build. Same arithmetic either way. */
#define UNROLL
#define KQ_ALWAYS_INLINE static KQ_512
#else
#define UNROLL _Pragma("GCC unroll 8")
#define KQ_ALWAYS_INLINE static inline __attribute__((always_inline)) KQ_512
#endif

/* Shapes of the K-quant kernels: the tile 2 x 4 keeps 8 accumulators,
 * 8 integer sums and the unpacked weights in the 32 zmm registers; the
 * matvec (one token) runs MV_ROWS rows on independent chains. (Q4_0 and
 * Q8_0: L16_ROWS x L16_TOKS below.) */
#define K_ROWS 2
#define K_TOKS 4
#define MV_ROWS 4
#define MAX_R 4
#define MAX_T 4

/* ==== Helpers ========================================================== */

static inline KQ_512 float hsum512(__m512 v)
{
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v),
                                                        1));
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8),
                          _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline KQ_512 float h2f(llm_f16 h)
{
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/* Hint the next span of a streamed matrix into the cache. */
static inline KQ_512 void prefetch_span(const char *p, size_t len)
{
    for (size_t o = 0; o < len; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

/* ==== K-quants ==========================================================
 * One super-block (256) per step; the integer sums are exact, then one
 * FMA per output (plus Q4_K's mins term) in the same order everywhere. */

/* vpermw indices spreading int16 scales over the lanes of maddubs pairs. */
#define I8(v) v, v, v, v, v, v, v, v
/* Q6_K, 64 elements (4 sub-blocks of 16) per vector. */
static const int16_t IDX_Q6K[4][32] __attribute__((aligned(64))) = {
    {I8(0), I8(1), I8(2), I8(3)},     {I8(4), I8(5), I8(6), I8(7)},
    {I8(8), I8(9), I8(10), I8(11)},   {I8(12), I8(13), I8(14), I8(15)},
};
#undef I8

KQ_ALWAYS_INLINE __m512i load_idx(const int16_t *p)
{
    return _mm512_loadu_si512((const void *)p);
}

KQ_ALWAYS_INLINE void q6k_kernel(int n, const void *w, size_t ws,
                                 const void *x, size_t xs, float *y,
                                 size_t ys, const int R, const int T,
                                 const bool pf)
{
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    __m512 acc[MAX_R][MAX_T];
    UNROLL for (int r = 0; r < R; r++)
        UNROLL for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const char *next = (const char *)w + (size_t)R * ws;
    const size_t pf_step = (size_t)R * sizeof(block_q6_K);
    for (int i = 0; i < n / QK_K; i++) {
        if (pf) prefetch_span(next + (size_t)i * pf_step, pf_step);
        const block_q6_K *bx[MAX_R];
        const block_q8_K *by[MAX_T];
        __m512i sc[MAX_R];
        __m256i nsc32[MAX_R];
        UNROLL for (int r = 0; r < R; r++) {
            bx[r] = (const block_q6_K *)((const char *)w + r * ws) + i;
            __m256i s16 = _mm256_cvtepi8_epi16(
                _mm_loadu_si128((const __m128i *)bx[r]->scales));
            sc[r] = _mm512_castsi256_si512(s16);
            /* -32 * scale: the "q - 32" of all 16 sub-blocks at once */
            nsc32[r] = _mm256_sub_epi16(_mm256_setzero_si256(),
                                        _mm256_slli_epi16(s16, 5));
        }
        UNROLL for (int t = 0; t < T; t++)
            by[t] = (const block_q8_K *)((const char *)x + t * xs) + i;
        __m512i sumi[MAX_R][MAX_T];
        UNROLL for (int t = 0; t < T; t++) {
            __m256i b16 = _mm256_loadu_si256((const __m256i *)by[t]->bsums);
            UNROLL for (int r = 0; r < R; r++)
                sumi[r][t] = _mm512_inserti64x4(_mm512_setzero_si512(),
                                                _mm256_madd_epi16(nsc32[r],
                                                                  b16), 0);
        }
        for (int j = 0; j < 2; j++) {
            __m512i qa[MAX_R], qb[MAX_R], sa[MAX_R], sb[MAX_R];
            UNROLL for (int r = 0; r < R; r++) {
                /* 128 elements: a = [q0 | q1] from the low nibbles of
                 * ql[0..63] and bits 0-1 / 2-3 of qh; b = [q2 | q3] from
                 * the high nibbles and bits 4-5 / 6-7. */
                __m512i l = _mm512_loadu_si512(
                    (const void *)(bx[r]->ql + 64 * j));
                __m256i h = _mm256_loadu_si256(
                    (const __m256i *)(bx[r]->qh + 32 * j));
                __m512i hh = _mm512_inserti64x4(_mm512_castsi256_si512(h),
                                                _mm256_srli_epi16(h, 2), 1);
                qa[r] = _mm512_or_si512(_mm512_and_si512(l, m4),
                    _mm512_and_si512(_mm512_slli_epi16(hh, 4), m30));
                qb[r] = _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                    _mm512_and_si512(hh, m30));
                sa[r] = _mm512_permutexvar_epi16(load_idx(IDX_Q6K[2 * j]),
                                                 sc[r]);
                sb[r] = _mm512_permutexvar_epi16(
                    load_idx(IDX_Q6K[2 * j + 1]), sc[r]);
            }
            UNROLL for (int t = 0; t < T; t++) {
                const int8_t *q8 = by[t]->qs + 128 * j;
                __m512i ya = _mm512_loadu_si512((const void *)q8);
                __m512i yb = _mm512_loadu_si512((const void *)(q8 + 64));
                UNROLL for (int r = 0; r < R; r++) {
                    sumi[r][t] = _mm512_dpwssd_epi32(
                        sumi[r][t], _mm512_maddubs_epi16(qa[r], ya), sa[r]);
                    sumi[r][t] = _mm512_dpwssd_epi32(
                        sumi[r][t], _mm512_maddubs_epi16(qb[r], yb), sb[r]);
                }
            }
        }
        UNROLL for (int t = 0; t < T; t++)
            UNROLL for (int r = 0; r < R; r++)
                acc[r][t] = _mm512_fmadd_ps(
                    _mm512_set1_ps(by[t]->d * h2f(bx[r]->d)),
                    _mm512_cvtepi32_ps(sumi[r][t]), acc[r][t]);
    }
    UNROLL for (int r = 0; r < R; r++)
        UNROLL for (int t = 0; t < T; t++)
            y[(size_t)t * ys + r] = hsum512(acc[r][t]);
}

/* ==== Q4_0 and Q8_0: sixteen rows in the sixteen lanes ==================
 * quant_avx2.c's design ("eight rows in the eight lanes") on zmm: lane r
 * holds row r of 16 rows. The rows' quant bytes are transposed in
 * registers (4x4 dword transposes in each 128-bit quarter: rows 0-3,
 * 4-7, 8-11, 12-15), each 4-byte group of the activation block is
 * broadcast, and one vpdpbusd adds its 4 products into all 16 rows; a
 * block is 8 vpdpbusd, then one convert, multiply and FMA for 16 outputs
 * (the pair-per-register kernels above spend those on one output). The
 * weights go in as unsigned bytes u = w + OFF (Q4_0: the nibbles, OFF 8;
 * Q8_0: w xor 0x80, OFF 128), and each int32 lane starts from
 * -OFF * sum(y), so it ends at the exact dot. Per output: acc = 0; per
 * block in order acc = fma(dx * dy, (float)isum, acc) — the same as
 * quant_avx2.c's lanes kernels, and vec_dot below spells it out with
 * scalar float ops, so tile, matvec and vec_dot agree bit for bit. */
#define L16_ROWS 16
#define L16_TOKS 4

/* 16 bytes at p[r], rows r = 0..15, transposed: dword r of G[g] = bytes
 * 4g..4g+3 of p[r]. */
KQ_ALWAYS_INLINE void l16_transpose(const uint8_t *const p[L16_ROWS],
                                    __m512i G[4])
{
    __m512i Y[4];
    UNROLL for (int r = 0; r < 4; r++) {
        __m512i v = _mm512_castsi128_si512(
            _mm_loadu_si128((const __m128i *)p[r]));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p[r + 4]),
                               1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p[r + 8]),
                               2);
        Y[r] = _mm512_inserti32x4(
            v, _mm_loadu_si128((const __m128i *)p[r + 12]), 3);
    }
    __m512i t0 = _mm512_unpacklo_epi32(Y[0], Y[1]);
    __m512i t1 = _mm512_unpackhi_epi32(Y[0], Y[1]);
    __m512i t2 = _mm512_unpacklo_epi32(Y[2], Y[3]);
    __m512i t3 = _mm512_unpackhi_epi32(Y[2], Y[3]);
    G[0] = _mm512_unpacklo_epi64(t0, t2);
    G[1] = _mm512_unpackhi_epi64(t0, t2);
    G[2] = _mm512_unpacklo_epi64(t1, t3);
    G[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* The 16 rows' f16 scales (lane r = row r). */
KQ_ALWAYS_INLINE __m512 l16_scales(const llm_f16 *const d[L16_ROWS])
{
    /* two 8-lane halves (SIMDe 0.7.4 has no _mm512_cvtph_ps) */
    __m256 lo = _mm256_cvtph_ps(_mm_set_epi16(
        (short)*d[7], (short)*d[6], (short)*d[5], (short)*d[4],
        (short)*d[3], (short)*d[2], (short)*d[1], (short)*d[0]));
    __m256 hi = _mm256_cvtph_ps(_mm_set_epi16(
        (short)*d[15], (short)*d[14], (short)*d[13], (short)*d[12],
        (short)*d[11], (short)*d[10], (short)*d[9], (short)*d[8]));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

/* sum of an activation block's 32 quants. */
KQ_ALWAYS_INLINE int l16_ysum(const block_q8_0 *yb)
{
    __m256i p = _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_set1_epi8(1),
                             _mm256_loadu_si256((const __m256i *)yb->qs)),
        _mm256_set1_epi16(1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p),
                              _mm256_extracti128_si256(p, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

KQ_ALWAYS_INLINE __m512i l16_bcast(const block_q8_0 *yb, int off)
{
    int32_t v;
    memcpy(&v, yb->qs + off, 4);
    return _mm512_set1_epi32(v);
}

/* 16 rows x T tokens of Q4_0 (q8 false) or Q8_0 weights. */
KQ_ALWAYS_INLINE void l16_body(const bool q8, int n, const char *w, size_t ws,
                               const char *x, size_t xs, float *y, size_t ys,
                               const int T, const bool pf)
{
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    __m512 acc[L16_TOKS];
    UNROLL for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    const int nb = n / 32;
    const char *next = w + L16_ROWS * ws;
    const size_t pf_step = L16_ROWS * ws / (size_t)nb;
    for (int ib = 0; ib < nb; ib++) {
        if (pf) prefetch_span(next + (size_t)ib * pf_step, pf_step);
        const uint8_t *q0[L16_ROWS], *q1[L16_ROWS];
        const llm_f16 *d[L16_ROWS];
        UNROLL for (int r = 0; r < L16_ROWS; r++) {
            const char *row = w + (size_t)r * ws;
            if (q8) {
                const block_q8_0 *b = (const block_q8_0 *)row + ib;
                q0[r] = (const uint8_t *)b->qs;
                q1[r] = (const uint8_t *)b->qs + 16;
                d[r] = &b->d;
            } else {
                const block_q4_0 *b = (const block_q4_0 *)row + ib;
                q0[r] = q1[r] = b->qs;
                d[r] = &b->d;
            }
        }
        const __m512 dx = l16_scales(d);
        __m512i G[4], H[4];
        l16_transpose(q0, G);
        if (q8) {
            l16_transpose(q1, H);
            UNROLL for (int g = 0; g < 4; g++) {
                G[g] = _mm512_xor_si512(G[g], flip);
                H[g] = _mm512_xor_si512(H[g], flip);
            }
        } else {
            UNROLL for (int g = 0; g < 4; g++) {
                H[g] = _mm512_and_si512(_mm512_srli_epi16(G[g], 4), m4);
                G[g] = _mm512_and_si512(G[g], m4);
            }
        }
        UNROLL for (int t = 0; t < T; t++) {
            const block_q8_0 *yb = (const block_q8_0 *)(x + (size_t)t * xs) +
                                   ib;
            __m512i s = _mm512_set1_epi32(-(q8 ? 128 : 8) * l16_ysum(yb));
            UNROLL for (int g = 0; g < 4; g++) {
                s = _mm512_dpbusd_epi32(s, G[g], l16_bcast(yb, 4 * g));
                s = _mm512_dpbusd_epi32(s, H[g], l16_bcast(yb, 16 + 4 * g));
            }
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dx, _mm512_set1_ps(
                                                          h2f(yb->d))),
                                     _mm512_cvtepi32_ps(s), acc[t]);
        }
    }
    UNROLL for (int t = 0; t < T; t++)
        _mm512_storeu_ps(y + (size_t)t * ys, acc[t]);   /* rows adjacent */
}

/* One output with the lanes' float sequence (the rows a tile leaves). */
KQ_ALWAYS_INLINE void l16_dot(const bool q8, int n, float *s, const void *vx,
                              const void *vy)
{
    __m128 acc = _mm_setzero_ps();
    for (int ib = 0; ib < n / 32; ib++) {
        const block_q8_0 *yb = (const block_q8_0 *)vy + ib;
        __m256i q;
        float dx;
        if (q8) {
            const block_q8_0 *b = (const block_q8_0 *)vx + ib;
            q = _mm256_loadu_si256((const __m256i *)b->qs);
            dx = h2f(b->d);
        } else {
            const block_q4_0 *b = (const block_q4_0 *)vx + ib;
            __m128i t = _mm_loadu_si128((const __m128i *)b->qs);
            q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t),
                                 _mm256_set1_epi8(0x0F));
            q = _mm256_sub_epi8(q, _mm256_set1_epi8(8));
            dx = h2f(b->d);
        }
        __m256i yq = _mm256_loadu_si256((const __m256i *)yb->qs);
        __m256i p = _mm256_madd_epi16(
            _mm256_maddubs_epi16(_mm256_sign_epi8(q, q),
                                 _mm256_sign_epi8(yq, q)),
            _mm256_set1_epi16(1));
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(p),
                                  _mm256_extracti128_si256(p, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
        acc = _mm_fmadd_ss(_mm_set_ss(dx * h2f(yb->d)),
                           _mm_set_ss((float)_mm_cvtsi128_si32(h)), acc);
    }
    *s = _mm_cvtss_f32(acc);
}

/* The entry points of a lanes kernel, from DOT(n, s, vx, vy) (one
 * output) and BODY(n, w, ws, x, xs, y, ys, T, pf) (L16_ROWS rows x T
 * tokens), as DEFINE_LANES in quant_avx2.c. */
#define DEFINE_L16(NAME, DOT, BODY)                                          \
static KQ_512 void vec_dot_##NAME##_l16(int n, float *s, const void *vx,     \
                                        const void *vy)                      \
{                                                                            \
    DOT(n, s, vx, vy);                                                       \
}                                                                            \
static KQ_512 void rows_##NAME##_l16(int n, const void *w, size_t ws, int nr, \
                                     const void *x, size_t xs, int nt,       \
                                     float *y, size_t ys)                    \
{                                                                            \
    for (int r = 0; r < nr; r++)                                             \
        for (int t = 0; t < nt; t++)                                         \
            DOT(n, y + (size_t)t * ys + r, (const char *)w + r * ws,         \
                (const char *)x + t * xs);                                   \
}                                                                            \
static KQ_512 void tile_##NAME##_l16(int n, const void *w, size_t ws, int nr, \
                                     const void *x, size_t xs, int nt,       \
                                     float *y, size_t ys)                    \
{                                                                            \
    const char *wc = w, *xc = x;                                             \
    switch (nr == L16_ROWS ? nt : 0) {                                       \
    case 4: BODY(n, wc, ws, xc, xs, y, ys, 4, false); break;                 \
    case 3: BODY(n, wc, ws, xc, xs, y, ys, 3, false); break;                 \
    case 2: BODY(n, wc, ws, xc, xs, y, ys, 2, false); break;                 \
    case 1: BODY(n, wc, ws, xc, xs, y, ys, 1, false); break;                 \
    default: rows_##NAME##_l16(n, w, ws, nr, x, xs, nt, y, ys); break;       \
    }                                                                        \
}                                                                            \
static KQ_512 void matvec_##NAME##_l16(int n, const void *w, size_t ws,      \
                                       int nr, const void *x, size_t xs,     \
                                       int nt, float *y, size_t ys)          \
{                                                                            \
    if (nr != L16_ROWS || nt != 1)                                           \
        rows_##NAME##_l16(n, w, ws, nr, x, xs, nt, y, ys);                   \
    else                                                                     \
        BODY(n, (const char *)w, ws, (const char *)x, xs, y, ys, 1, true);   \
}

#define Q4_0_DOT(...) l16_dot(false, __VA_ARGS__)
#define Q4_0_BODY(...) l16_body(false, __VA_ARGS__)
#define Q8_0_DOT(...) l16_dot(true, __VA_ARGS__)
#define Q8_0_BODY(...) l16_body(true, __VA_ARGS__)
DEFINE_L16(q4_0, Q4_0_DOT, Q4_0_BODY)
DEFINE_L16(q8_0, Q8_0_DOT, Q8_0_BODY)

/* ==== Q4_K: sixteen rows in the sixteen lanes ===========================
 * Per 64-element chunk: the 16 rows' 32 quant bytes transposed, and per
 * token 8 vpdpbusd for each of the chunk's two sub-blocks (nibbles x the
 * broadcast activation groups, exact int32 per row), then one vpmulld by
 * the rows' sub-block scales. The mins term pairs the rows' mins with the
 * token's sub-block sums (from bsums) by vpmaddwd. Float sequence per
 * output and super-block as quant_avx2.c's lanes kernel: acc = fma(d *
 * dy, isum, acc), macc = fma(dmin * dy, msum, macc), result acc - macc. */

/* Lane r: byte k (0..3) of lane r of v (a 6-bit scale or min). */
KQ_ALWAYS_INLINE __m512i l16_byte(__m512i v, int k)
{
    return _mm512_and_si512(_mm512_srli_epi32(v, 8 * k),
                            _mm512_set1_epi32(0xFF));
}

KQ_ALWAYS_INLINE void l16_q4_K_body(int n, const char *w, size_t ws,
                                    const char *x, size_t xs, float *y,
                                    size_t ys, const int T, const bool pf)
{
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[L16_TOKS], macc[L16_TOKS];
    UNROLL for (int t = 0; t < T; t++)
        acc[t] = macc[t] = _mm512_setzero_ps();
    const int nb = n / QK_K;
    const char *next = w + L16_ROWS * ws;
    const size_t pf_step = L16_ROWS * ws / (size_t)nb;
    for (int i = 0; i < nb; i++) {
        if (pf) prefetch_span(next + (size_t)i * pf_step, pf_step);
        const block_q4_K *b[L16_ROWS];
        const llm_f16 *d[L16_ROWS], *dm[L16_ROWS];
        uint32_t scm[L16_ROWS][4];
        const uint8_t *sp[L16_ROWS];
        UNROLL for (int r = 0; r < L16_ROWS; r++) {
            b[r] = (const block_q4_K *)(w + (size_t)r * ws) + i;
            d[r] = &b[r]->d;
            dm[r] = &b[r]->dmin;
            k4_scales(b[r]->scales, scm[r]);
            sp[r] = (const uint8_t *)scm[r];
        }
        /* S[0], S[1]: scales 0-3, 4-7; S[2], S[3]: mins 0-3, 4-7. */
        __m512i S[4];
        l16_transpose(sp, S);
        const block_q8_K *by[L16_TOKS];
        __m512i sumi[L16_TOKS];
        UNROLL for (int t = 0; t < T; t++) {
            by[t] = (const block_q8_K *)(x + (size_t)t * xs) + i;
            sumi[t] = _mm512_setzero_si512();
        }
        for (int j = 0; j < QK_K / 64; j++) {
            const uint8_t *q0[L16_ROWS], *q1[L16_ROWS];
            UNROLL for (int r = 0; r < L16_ROWS; r++) {
                q0[r] = b[r]->qs + 32 * j;
                q1[r] = b[r]->qs + 32 * j + 16;
            }
            __m512i G[4], H[4], GL[4], GH[4], HL[4], HH[4];
            l16_transpose(q0, G);
            l16_transpose(q1, H);
            UNROLL for (int g = 0; g < 4; g++) {
                GL[g] = _mm512_and_si512(G[g], m4);
                GH[g] = _mm512_and_si512(_mm512_srli_epi16(G[g], 4), m4);
                HL[g] = _mm512_and_si512(H[g], m4);
                HH[g] = _mm512_and_si512(_mm512_srli_epi16(H[g], 4), m4);
            }
            const __m512i sl = l16_byte(S[j >> 1], (2 * j) & 3);
            const __m512i sh = l16_byte(S[j >> 1], (2 * j + 1) & 3);
            UNROLL for (int t = 0; t < T; t++) {
                const int8_t *q8 = by[t]->qs + 64 * j;
                __m512i lo = _mm512_setzero_si512(), hi = lo;
                UNROLL for (int g = 0; g < 4; g++) {
                    int32_t a0, a1, a2, a3;
                    memcpy(&a0, q8 + 4 * g, 4);
                    memcpy(&a1, q8 + 16 + 4 * g, 4);
                    memcpy(&a2, q8 + 32 + 4 * g, 4);
                    memcpy(&a3, q8 + 48 + 4 * g, 4);
                    lo = _mm512_dpbusd_epi32(lo, GL[g], _mm512_set1_epi32(a0));
                    lo = _mm512_dpbusd_epi32(lo, HL[g], _mm512_set1_epi32(a1));
                    hi = _mm512_dpbusd_epi32(hi, GH[g], _mm512_set1_epi32(a2));
                    hi = _mm512_dpbusd_epi32(hi, HH[g], _mm512_set1_epi32(a3));
                }
                sumi[t] = _mm512_add_epi32(
                    sumi[t], _mm512_add_epi32(_mm512_mullo_epi32(lo, sl),
                                              _mm512_mullo_epi32(hi, sh)));
            }
        }
        /* Mins: lane r pairs (min 2p, min 2p+1) as int16 against the
         * token's sub-block sums (bs 2p, bs 2p+1), p = 0..3. */
        __m512i mp[4];
        UNROLL for (int p = 0; p < 4; p++) {
            __m512i v = S[2 + (p >> 1)];
            mp[p] = _mm512_or_si512(
                l16_byte(v, 2 * (p & 1)),
                _mm512_slli_epi32(l16_byte(v, 2 * (p & 1) + 1), 16));
        }
        const __m512 dv = l16_scales(d), dmv = l16_scales(dm);
        UNROLL for (int t = 0; t < T; t++) {
            __m256i b16 = _mm256_loadu_si256((const __m256i *)by[t]->bsums);
            __m128i bs = _mm_hadd_epi16(_mm256_castsi256_si128(b16),
                                        _mm256_extracti128_si256(b16, 1));
            int32_t bsp[4];
            _mm_storeu_si128((__m128i *)bsp, bs);
            __m512i ms = _mm512_setzero_si512();
            UNROLL for (int p = 0; p < 4; p++)
                ms = _mm512_add_epi32(ms, _mm512_madd_epi16(
                    mp[p], _mm512_set1_epi32(bsp[p])));
            const __m512 dy = _mm512_set1_ps(by[t]->d);
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dv, dy),
                                     _mm512_cvtepi32_ps(sumi[t]), acc[t]);
            macc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dmv, dy),
                                      _mm512_cvtepi32_ps(ms), macc[t]);
        }
    }
    UNROLL for (int t = 0; t < T; t++)
        _mm512_storeu_ps(y + (size_t)t * ys, _mm512_sub_ps(acc[t], macc[t]));
}

/* One output with the lanes' float sequence. */
static KQ_512 void l16_q4_K_dot(int n, float *s, const void *vx,
                               const void *vy)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m128 acc = _mm_setzero_ps(), macc = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++) {
        const block_q4_K *b = (const block_q4_K *)vx + i;
        const block_q8_K *by = (const block_q8_K *)vy + i;
        uint32_t scm[4];
        k4_scales(b->scales, scm);
        const uint8_t *sc = (const uint8_t *)scm;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < QK_K / 64; j++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * j));
            __m256i yl = _mm256_loadu_si256((const __m256i *)(by->qs + 64 * j));
            __m256i yh = _mm256_loadu_si256(
                (const __m256i *)(by->qs + 64 * j + 32));
            __m256i pl = _mm256_madd_epi16(
                _mm256_set1_epi16(sc[2 * j]),
                _mm256_maddubs_epi16(_mm256_and_si256(q, m4), yl));
            __m256i ph = _mm256_madd_epi16(
                _mm256_set1_epi16(sc[2 * j + 1]),
                _mm256_maddubs_epi16(
                    _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), yh));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sumi),
                                   _mm256_extracti128_si256(sumi, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
        __m256i b16 = _mm256_loadu_si256((const __m256i *)by->bsums);
        __m128i bs = _mm_hadd_epi16(_mm256_castsi256_si128(b16),
                                    _mm256_extracti128_si256(b16, 1));
        __m128i mins16 = _mm_cvtepu8_epi16(
            _mm_set_epi32(0, 0, (int)scm[3], (int)scm[2]));
        __m128i m = _mm_madd_epi16(mins16, bs);
        m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0x4e));
        m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0xb1));
        acc = _mm_fmadd_ss(_mm_set_ss(h2f(b->d) * by->d),
                           _mm_set_ss((float)_mm_cvtsi128_si32(s4)), acc);
        macc = _mm_fmadd_ss(_mm_set_ss(h2f(b->dmin) * by->d),
                            _mm_set_ss((float)_mm_cvtsi128_si32(m)), macc);
    }
    *s = _mm_cvtss_f32(_mm_sub_ss(acc, macc));
}

DEFINE_L16(q4_K, l16_q4_K_dot, l16_q4_K_body)

/* ==== Entry points ======================================================
 * vec_dot is the 1 x 1 instance, matvec the MV_ROWS x 1 one (with
 * prefetch), the tile the TR x TT one. A partial tile with all TR rows
 * runs the TR x 1 instance per token; anything smaller one vec_dot per
 * output. All of them bitwise equal. */

#define DEFINE_KERNELS(NAME, TR, TT, CALL)                                   \
static KQ_512 void vec_dot_##NAME(int n, float *s, const void *vx,           \
                                  const void *vy)                            \
{                                                                            \
    const void *w = vx, *x = vy;                                             \
    const size_t ws = 0, xs = 0, ys = 0;                                     \
    float *y = s;                                                            \
    const int R = 1, T = 1;                                                  \
    const bool pf = false;                                                   \
    CALL;                                                                    \
}                                                                            \
static KQ_512 void rows_##NAME(int n, const void *w, size_t ws,              \
                               const void *x, float *y)                      \
{                                                                            \
    const size_t xs = 0, ys = 0;                                             \
    const int R = TR, T = 1;                                                 \
    const bool pf = false;                                                   \
    CALL;                                                                    \
}                                                                            \
static KQ_512 void tile_##NAME(int n, const void *w, size_t ws, int nr,      \
                               const void *x, size_t xs, int nt, float *y,   \
                               size_t ys)                                    \
{                                                                            \
    if (nr == TR && nt == TT) {                                              \
        const int R = TR, T = TT;                                            \
        const bool pf = false;                                               \
        CALL;                                                                \
        return;                                                              \
    }                                                                        \
    if (nr == TR) {                                                          \
        for (int t = 0; t < nt; t++)                                         \
            rows_##NAME(n, w, ws, (const char *)x + t * xs,                  \
                        y + (size_t)t * ys);                                 \
        return;                                                              \
    }                                                                        \
    for (int r = 0; r < nr; r++)                                             \
        for (int t = 0; t < nt; t++)                                         \
            vec_dot_##NAME(n, y + (size_t)t * ys + r,                        \
                           (const char *)w + r * ws,                         \
                           (const char *)x + t * xs);                        \
}                                                                            \
static KQ_512 void matvec_##NAME(int n, const void *w, size_t ws, int nr,    \
                                 const void *x, size_t xs, int nt, float *y, \
                                 size_t ys)                                  \
{                                                                            \
    if (nr == MV_ROWS && nt == 1) {                                          \
        const int R = MV_ROWS, T = 1;                                        \
        const bool pf = true;                                                \
        CALL;                                                                \
        return;                                                              \
    }                                                                        \
    for (int r = 0; r < nr; r++)                                             \
        for (int t = 0; t < nt; t++)                                         \
            vec_dot_##NAME(n, y + (size_t)t * ys + r,                        \
                           (const char *)w + r * ws,                         \
                           (const char *)x + t * xs);                        \
}

DEFINE_KERNELS(q6_K_q8_K, K_ROWS, K_TOKS,
               q6k_kernel(n, w, ws, x, xs, y, ys, R, T, pf))

/* Override only the entries this file has; the rest stay as they were
 * (AVX2 in the real table, scalar in the emulated test table). */
void KQ_INSTALL(kq_kernels *k)
{
    llm_type_traits *t = k->traits;
#define SET(T, NAME, R, C)                                                  \
    do {                                                                    \
        t[T].vec_dot = vec_dot_##NAME;                                      \
        k->tile[T] = (kq_tile){ tile_##NAME, R, C };                        \
        k->matvec[T] = (kq_tile){ matvec_##NAME, MV_ROWS, 1 };              \
    } while (0)
#define SET_L16(T, NAME)                                                    \
    do {                                                                    \
        t[T].vec_dot = vec_dot_##NAME##_l16;                                \
        k->tile[T] = (kq_tile){ tile_##NAME##_l16, L16_ROWS, L16_TOKS };    \
        k->matvec[T] = (kq_tile){ matvec_##NAME##_l16, L16_ROWS, 1 };       \
    } while (0)
    SET_L16(LLM_Q4_0, q4_0);
    SET_L16(LLM_Q8_0, q8_0);
    SET_L16(LLM_Q4_K, q4_K);
#undef SET_L16
    SET(LLM_Q6_K, q6_K_q8_K, K_ROWS, K_TOKS);
#undef SET
}

#endif
