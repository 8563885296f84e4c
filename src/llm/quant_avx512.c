/*
 * quant_avx512.c — AVX-512 (F, BW, VL, DQ) + VNNI kernels for the hot
 * weight types, same contracts as quant_avx2.c: vec_dot, the R x T tile
 * and the multi-row matvec of Q4_0 and Q8_0 (activations Q8_0) and of
 * Q4_K and Q6_K (activations Q8_K). Everything else (the other types, the
 * activation quantisers, f16 rows) stays what the table held before:
 * quant.c fills the AVX-512 table with the AVX2 kernels first.
 *
 * Integer dot products use VNNI: vpdpbusd (u8 x s8, four products summed
 * into each int32 lane, no saturation) for the 32-blocks, made signed by
 * an offset (u = q + OFF is unsigned; dot(q, y) = dot(u, y) - OFF*sum(y),
 * the second term once per activation block and token); vpmaddubsw +
 * vpdpwssd (int16 pairs times the sub-block scale, accumulated) for the
 * K-quants, whose Q6_K "- 32" comes from the Q8_K block sums. Every
 * integer step is exact, so only the float steps (one FMA per pair of
 * 32-blocks or per super-block, then a fixed horizontal sum) decide the
 * result bits, and vec_dot, tile and matvec are instances of one
 * always-inline R x T body: they agree bit for bit.
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

/* Shapes. 32 zmm registers: the 4 x 4 tile of the 32-blocks keeps 16
 * accumulators, 4 weight pairs and their scales; the K tile 2 x 4 keeps
 * 8 accumulators, 8 integer sums and the unpacked weights. The matvec
 * (one token) runs MV_ROWS rows on independent chains. */
#define T32_ROWS 4
#define T32_TOKS 4
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

/* Two block scales as one vector: lanes 0..7 d0, lanes 8..15 d1. */
static inline KQ_512 __m512 scale2(llm_f16 d0, llm_f16 d1)
{
    __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)d0 |
                                                    (uint32_t)d1 << 16)));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1,
                                                  0, 0, 0, 0, 0, 0, 0, 0),
                                 _mm512_castps128_ps512(f));
}

/* Hint the next span of a streamed matrix into the cache. */
static inline KQ_512 void prefetch_span(const char *p, size_t len)
{
    for (size_t o = 0; o < len; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

/* ==== 32-element blocks ================================================
 * One step takes two consecutive blocks (k == 2) as one zmm, or the
 * trailing block of an odd count (k == 1: upper half weights, activations
 * and scales zero, so it adds exactly 0 to every lane). */

enum { B32_Q4_0, B32_Q8_0 };

/* Q4_0: the nibbles as unsigned bytes (q + 8 of the signed value) in
 * element order: [b0 lo | b0 hi | b1 lo | b1 hi]. */
KQ_ALWAYS_INLINE __m512i w32_q4_0(const void *row, int ib, int k, __m512 *d)
{
    const block_q4_0 *b = (const block_q4_0 *)row + ib;
    __m128i q0 = _mm_loadu_si128((const __m128i *)b[0].qs);
    __m128i q1 = k == 2 ? _mm_loadu_si128((const __m128i *)b[1].qs)
                        : _mm_setzero_si128();
    *d = scale2(b[0].d, k == 2 ? b[1].d : 0);
    __m256i t = _mm256_set_m128i(q1, q0);
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(t),
                                   _mm256_srli_epi16(t, 4), 1);
    z = _mm512_permutexvar_epi64(_mm512_set_epi64(7, 6, 3, 2, 5, 4, 1, 0), z);
    return _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
}

/* Two Q8_0 blocks' quants as one zmm (weights or activations). */
KQ_ALWAYS_INLINE __m512i pair_q8_0(const void *row, int ib, int k, __m512 *d)
{
    const block_q8_0 *b = (const block_q8_0 *)row + ib;
    __m256i q0 = _mm256_loadu_si256((const __m256i *)b[0].qs);
    __m256i q1 = k == 2 ? _mm256_loadu_si256((const __m256i *)b[1].qs)
                        : _mm256_setzero_si256();
    *d = scale2(b[0].d, k == 2 ? b[1].d : 0);
    return _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);
}

/* Q8_0 weights as unsigned bytes q + 128 (flip the sign bit). */
KQ_ALWAYS_INLINE __m512i w32_q8_0(const void *row, int ib, int k, __m512 *d)
{
    return _mm512_xor_si512(pair_q8_0(row, ib, k, d),
                            _mm512_set1_epi8((char)0x80));
}

/*
 * One step over blocks ib, ib+1 (k of them) of an R x T tile:
 *   acc[r][t] += (dx[r] * dy[t]) * float(dpbusd(-OFF*sum(y), u[r], y))
 * lane by lane (each int32 lane holds 4 products of one block).
 */
KQ_ALWAYS_INLINE void b32_step(const int kind, const int k, int ib,
                               const void *w, size_t ws, const void *x,
                               size_t xs, __m512 acc[MAX_R][MAX_T],
                               const int R, const int T)
{
    const __m512i off = _mm512_set1_epi8(kind == B32_Q4_0 ? 8 : (char)0x80);
    __m512i u[MAX_R];
    __m512 dx[MAX_R];
    UNROLL for (int r = 0; r < R; r++) {
        const char *row = (const char *)w + r * ws;
        u[r] = kind == B32_Q4_0 ? w32_q4_0(row, ib, k, &dx[r])
                                : w32_q8_0(row, ib, k, &dx[r]);
    }
    UNROLL for (int t = 0; t < T; t++) {
        __m512 dy;
        __m512i q = pair_q8_0((const char *)x + t * xs, ib, k, &dy);
        const __m512i zero = _mm512_setzero_si512();
        __m512i neg = _mm512_sub_epi32(zero,
                                       _mm512_dpbusd_epi32(zero, off, q));
        UNROLL for (int r = 0; r < R; r++)
            acc[r][t] = _mm512_fmadd_ps(
                _mm512_mul_ps(dx[r], dy),
                _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(neg, u[r], q)),
                acc[r][t]);
    }
}

/* y[t * ys + r] = dot(row r, token t); pf: prefetch the next R rows
 * (matvec: the rows are contiguous). */
KQ_ALWAYS_INLINE void b32_kernel(const int kind, int n, const void *w,
                                 size_t ws, const void *x, size_t xs,
                                 float *y, size_t ys, const int R,
                                 const int T, const bool pf)
{
    __m512 acc[MAX_R][MAX_T];
    UNROLL for (int r = 0; r < R; r++)
        UNROLL for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const int nb = n / 32, np = nb / 2;
    const char *next = (const char *)w + (size_t)R * ws;
    const size_t pf_step = np ? (size_t)R * ws / (size_t)np : 0;
    for (int p = 0; p < np; p++) {
        if (pf) prefetch_span(next + (size_t)p * pf_step, pf_step);
        b32_step(kind, 2, 2 * p, w, ws, x, xs, acc, R, T);
    }
    if (nb & 1) b32_step(kind, 1, nb - 1, w, ws, x, xs, acc, R, T);
    UNROLL for (int r = 0; r < R; r++)
        UNROLL for (int t = 0; t < T; t++)
            y[(size_t)t * ys + r] = hsum512(acc[r][t]);
}

/* ==== K-quants ==========================================================
 * One super-block (256) per step; the integer sums are exact, then one
 * FMA per output (plus Q4_K's mins term) in the same order everywhere. */

/* Unpack Q4_K/Q5_K's 12 scale bytes into 8 scales (bytes 0..7) and 8
 * mins (bytes 8..15), as quant_avx2.c (layout: get_scale_min_k4). */
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

/* vpermw indices spreading int16 scales over the lanes of maddubs pairs. */
#define I8(v) v, v, v, v, v, v, v, v
#define I16(v) I8(v), I8(v)
/* Q4_K, 128 elements per step j: the low nibbles of the 64 bytes are
 * sub-blocks 4j and 4j+2, the high ones 4j+1 and 4j+3 (32 each). */
static const int16_t IDX_Q4K[4][32] __attribute__((aligned(64))) = {
    {I16(0), I16(2)}, {I16(1), I16(3)}, {I16(4), I16(6)}, {I16(5), I16(7)},
};
/* Q6_K, 64 elements (4 sub-blocks of 16) per vector. */
static const int16_t IDX_Q6K[4][32] __attribute__((aligned(64))) = {
    {I8(0), I8(1), I8(2), I8(3)},     {I8(4), I8(5), I8(6), I8(7)},
    {I8(8), I8(9), I8(10), I8(11)},   {I8(12), I8(13), I8(14), I8(15)},
};
#undef I16
#undef I8

KQ_ALWAYS_INLINE __m512i load_idx(const int16_t *p)
{
    return _mm512_loadu_si512((const void *)p);
}

KQ_ALWAYS_INLINE void q4k_kernel(int n, const void *w, size_t ws,
                                 const void *x, size_t xs, float *y,
                                 size_t ys, const int R, const int T,
                                 const bool pf)
{
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    /* qword indices taking 256-bit halves 0 and 2 / 1 and 3 of y01:y23 */
    const __m512i ilo = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
    const __m512i ihi = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    __m512 acc[MAX_R][MAX_T];
    UNROLL for (int r = 0; r < R; r++)
        UNROLL for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const char *next = (const char *)w + (size_t)R * ws;
    const size_t pf_step = (size_t)R * sizeof(block_q4_K);
    for (int i = 0; i < n / QK_K; i++) {
        if (pf) prefetch_span(next + (size_t)i * pf_step, pf_step);
        const block_q4_K *bx[MAX_R];
        const block_q8_K *by[MAX_T];
        __m512i sc[MAX_R];
        __m128i mins16[MAX_R], bs[MAX_T];
        float dx[MAX_R], dmx[MAX_R];
        UNROLL for (int r = 0; r < R; r++) {
            bx[r] = (const block_q4_K *)((const char *)w + r * ws) + i;
            dx[r] = h2f(bx[r]->d);
            dmx[r] = h2f(bx[r]->dmin);
            uint32_t scm[4];
            k4_scales(bx[r]->scales, scm);
            sc[r] = _mm512_castsi128_si512(_mm_cvtepu8_epi16(
                _mm_set_epi32(0, 0, (int)scm[1], (int)scm[0])));
            mins16[r] = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)scm[3],
                                                        (int)scm[2]));
        }
        UNROLL for (int t = 0; t < T; t++) {
            by[t] = (const block_q8_K *)((const char *)x + t * xs) + i;
            /* sums of the 8 sub-blocks of 32 activations */
            __m128i b0 = _mm_loadu_si128((const __m128i *)by[t]->bsums);
            __m128i b1 = _mm_loadu_si128((const __m128i *)(by[t]->bsums + 8));
            bs[t] = _mm_hadd_epi16(b0, b1);
        }
        __m512i sumi[MAX_R][MAX_T];
        UNROLL for (int r = 0; r < R; r++)
            UNROLL for (int t = 0; t < T; t++)
                sumi[r][t] = _mm512_setzero_si512();
        for (int j = 0; j < 2; j++) {
            __m512i lo[MAX_R], hi[MAX_R], sl[MAX_R], sh[MAX_R];
            UNROLL for (int r = 0; r < R; r++) {
                __m512i z = _mm512_loadu_si512(
                    (const void *)(bx[r]->qs + 64 * j));
                lo[r] = _mm512_and_si512(z, m4);
                hi[r] = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
                sl[r] = _mm512_permutexvar_epi16(load_idx(IDX_Q4K[2 * j]),
                                                 sc[r]);
                sh[r] = _mm512_permutexvar_epi16(
                    load_idx(IDX_Q4K[2 * j + 1]), sc[r]);
            }
            UNROLL for (int t = 0; t < T; t++) {
                const int8_t *q8 = by[t]->qs + 128 * j;
                __m512i y01 = _mm512_loadu_si512((const void *)q8);
                __m512i y23 = _mm512_loadu_si512((const void *)(q8 + 64));
                __m512i ylo = _mm512_permutex2var_epi64(y01, ilo, y23);
                __m512i yhi = _mm512_permutex2var_epi64(y01, ihi, y23);
                UNROLL for (int r = 0; r < R; r++) {
                    sumi[r][t] = _mm512_dpwssd_epi32(
                        sumi[r][t], _mm512_maddubs_epi16(lo[r], ylo), sl[r]);
                    sumi[r][t] = _mm512_dpwssd_epi32(
                        sumi[r][t], _mm512_maddubs_epi16(hi[r], yhi), sh[r]);
                }
            }
        }
        UNROLL for (int t = 0; t < T; t++)
            UNROLL for (int r = 0; r < R; r++) {
                acc[r][t] = _mm512_fmadd_ps(
                    _mm512_set1_ps(by[t]->d * dx[r]),
                    _mm512_cvtepi32_ps(sumi[r][t]), acc[r][t]);
                __m512i mi = _mm512_inserti32x4(
                    _mm512_setzero_si512(), _mm_madd_epi16(mins16[r], bs[t]),
                    0);
                acc[r][t] = _mm512_fnmadd_ps(
                    _mm512_set1_ps(by[t]->d * dmx[r]),
                    _mm512_cvtepi32_ps(mi), acc[r][t]);
            }
    }
    UNROLL for (int r = 0; r < R; r++)
        UNROLL for (int t = 0; t < T; t++)
            y[(size_t)t * ys + r] = hsum512(acc[r][t]);
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

DEFINE_KERNELS(q4_0_q8_0, T32_ROWS, T32_TOKS,
               b32_kernel(B32_Q4_0, n, w, ws, x, xs, y, ys, R, T, pf))
DEFINE_KERNELS(q8_0_q8_0, T32_ROWS, T32_TOKS,
               b32_kernel(B32_Q8_0, n, w, ws, x, xs, y, ys, R, T, pf))
DEFINE_KERNELS(q4_K_q8_K, K_ROWS, K_TOKS,
               q4k_kernel(n, w, ws, x, xs, y, ys, R, T, pf))
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
    SET(LLM_Q4_0, q4_0_q8_0, T32_ROWS, T32_TOKS);
    SET(LLM_Q8_0, q8_0_q8_0, T32_ROWS, T32_TOKS);
    SET(LLM_Q4_K, q4_K_q8_K, K_ROWS, K_TOKS);
    SET(LLM_Q6_K, q6_K_q8_K, K_ROWS, K_TOKS);
#undef SET
}

#endif
