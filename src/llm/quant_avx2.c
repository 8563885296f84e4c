/*
 * quant_avx2.c — AVX2 + FMA + F16C kernels, same contracts as the scalar
 * ones in quant.c. Every function carries a target attribute instead of
 * the file being built with -mavx2, so the rest of the library stays
 * baseline x86-64 and quant.c picks these only when CPUID says so.
 */
#include "quant_impl.h"

#if WM_KQ_HAVE_X86
#include <immintrin.h>

#define KQ_AVX2 __attribute__((target("avx2,fma,f16c")))

/* Tile loops must be fully unrolled so the R x T accumulators live in
 * registers: without it GCC 12 -O2 keeps acc[][] on the stack, one load
 * and one store around every FMA (seen in objdump of the Q4_0 tile). */
#define UNROLL _Pragma("GCC unroll 8")

/* ==== Helpers ========================================================== */

static inline KQ_AVX2 float hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
                          _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline KQ_AVX2 int hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
                              _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

static inline KQ_AVX2 float h2f(llm_f16 h)
{
    return _cvtsh_ss(h);
}

/* 16 packed bytes -> 32 nibbles: lanes 0..15 the low nibbles (elements
 * 0..15 of a ggml 32-block), lanes 16..31 the high ones (16..31). */
static inline KQ_AVX2 __m256i nibbles32(const uint8_t *p)
{
    __m128i t = _mm_loadu_si128((const __m128i *)p);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/* Byte j = 0xFF when bit j of the 32-bit little-endian word is set. */
static inline KQ_AVX2 __m256i bits32_to_bytes(const uint8_t *p)
{
    uint32_t x32;
    memcpy(&x32, p, 4);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303ll,
                                           0x0202020202020202ll,
                                           0x0101010101010101ll, 0);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf);
    b = _mm256_or_si256(b, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfell));
    return _mm256_cmpeq_epi8(b, _mm256_set1_epi64x(-1));
}

/* sum of 32 products of unsigned (<= 127 per pair sum) x signed bytes, as
 * 8 int32 lanes. */
static inline KQ_AVX2 __m256i dot_u8_i32(__m256i ux, __m256i sy)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ux, sy),
                             _mm256_set1_epi16(1));
}

/* signed x signed via |x| and sign(y, x). */
static inline KQ_AVX2 __m256i dot_i8_i32(__m256i x, __m256i y)
{
    return dot_u8_i32(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* ==== 32-element blocks: unpackers ======================================
 * Each returns the 32 weights as bytes and the block scale (and offset);
 * vec_dot and the tile kernel below are generated from them, so both run
 * exactly the same per-element instructions. */

static inline KQ_AVX2 __m256i unpack_q4_0(const void *row, int ib, float *d,
                                          float *m)
{
    const block_q4_0 *b = (const block_q4_0 *)row + ib;
    *d = h2f(b->d);
    *m = 0;
    return _mm256_sub_epi8(nibbles32(b->qs), _mm256_set1_epi8(8));
}

static inline KQ_AVX2 __m256i unpack_q5_0(const void *row, int ib, float *d,
                                          float *m)
{
    const block_q5_0 *b = (const block_q5_0 *)row + ib;
    *d = h2f(b->d);
    *m = 0;
    /* q - 16 as a signed byte: OR 0xF0 where the fifth bit is clear. */
    __m256i hi = _mm256_andnot_si256(bits32_to_bytes(b->qh),
                                     _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(nibbles32(b->qs), hi);
}

static inline KQ_AVX2 __m256i unpack_q8_0(const void *row, int ib, float *d,
                                          float *m)
{
    const block_q8_0 *b = (const block_q8_0 *)row + ib;
    *d = h2f(b->d);
    *m = 0;
    return _mm256_loadu_si256((const __m256i *)b->qs);
}

static inline KQ_AVX2 __m256i unpack_q4_1(const void *row, int ib, float *d,
                                          float *m)
{
    const block_q4_1 *b = (const block_q4_1 *)row + ib;
    *d = h2f(b->d);
    *m = h2f(b->m);
    return nibbles32(b->qs);
}

static inline KQ_AVX2 __m256i unpack_q5_1(const void *row, int ib, float *d,
                                          float *m)
{
    const block_q5_1 *b = (const block_q5_1 *)row + ib;
    *d = h2f(b->d);
    *m = h2f(b->m);
    __m256i hi = _mm256_and_si256(bits32_to_bytes(b->qh),
                                  _mm256_set1_epi8(0x10));
    return _mm256_or_si256(nibbles32(b->qs), hi);
}

/* Activation block: quants, scale and (Q8_1) the half block sum. */
static inline KQ_AVX2 __m256i act_q8_0(const void *row, int ib, float *d,
                                       float *s)
{
    const block_q8_0 *b = (const block_q8_0 *)row + ib;
    *d = h2f(b->d);
    *s = 0;
    return _mm256_loadu_si256((const __m256i *)b->qs);
}

static inline KQ_AVX2 __m256i act_q8_1(const void *row, int ib, float *d,
                                       float *s)
{
    const block_q8_1 *b = (const block_q8_1 *)row + ib;
    *d = h2f(b->d);
    *s = h2f(b->s);
    return _mm256_loadu_si256((const __m256i *)b->qs);
}

/*
 * One step of a 32-block dot: acc += (dx*dy) * dot(qx, qy), and for the
 * offset types macc += mx * sy (a scalar FMA spelled out so that no
 * compiler contraction choice can make two call sites differ). dx and dy
 * come broadcast: in a tile one vmulps per output replaces a scalar
 * multiply plus a broadcast.
 */
#define STEP_SIGNED(acc, macc, qx, dx, mx, qy, dy, sy)                      \
    do {                                                                    \
        (acc) = _mm256_fmadd_ps(_mm256_mul_ps(dx, dy),                      \
                                _mm256_cvtepi32_ps(dot_i8_i32(qx, qy)),     \
                                acc);                                       \
        (void)(mx); (void)(sy);                                             \
    } while (0)
#define STEP_OFFSET(acc, macc, qx, dx, mx, qy, dy, sy)                      \
    do {                                                                    \
        (acc) = _mm256_fmadd_ps(_mm256_mul_ps(dx, dy),                      \
                                _mm256_cvtepi32_ps(dot_u8_i32(qx, qy)),     \
                                acc);                                       \
        (macc) = _mm_fmadd_ss(_mm_set_ss(mx), _mm_set_ss(sy), macc);        \
    } while (0)

/* Tile shape for the 32-blocks: 2 rows x 4 tokens keeps 8 accumulators,
 * 2 unpacked weight blocks and their |x| in the 16 ymm registers. */
#ifndef T32_ROWS
#define T32_ROWS 2
#endif
#ifndef T32_TOKS
#define T32_TOKS 4
#endif

/* Matrix-vector shape: MV_ROWS rows share each activation block, and
 * their accumulator chains are independent (a single vec_dot waits on
 * one FMA chain per block). Per row the same instructions as vec_dot. */
#ifndef MV_ROWS
#define MV_ROWS 4
#endif

#define DEFINE_BLOCK32(NAME, UNPACK, ACT, STEP)                              \
static KQ_AVX2 void vec_dot_##NAME##_avx2(int n, float *s, const void *vx,   \
                                          const void *vy)                    \
{                                                                            \
    __m256 acc = _mm256_setzero_ps();                                        \
    __m128 macc = _mm_setzero_ps();                                          \
    for (int ib = 0; ib < n / 32; ib++) {                                    \
        float dx, mx, dy, sy;                                                \
        __m256i qx = UNPACK(vx, ib, &dx, &mx);                               \
        __m256i qy = ACT(vy, ib, &dy, &sy);                                  \
        STEP(acc, macc, qx, _mm256_set1_ps(dx), mx, qy, _mm256_set1_ps(dy),  \
             sy);                                                            \
    }                                                                        \
    *s = hsum_ps(acc) + _mm_cvtss_f32(macc);                                 \
}                                                                            \
static KQ_AVX2 void matvec_##NAME##_avx2(int n, const void *w, size_t ws,    \
                                         int nr, const void *x, size_t xs,   \
                                         int nt, float *y, size_t ys)         \
{                                                                            \
    if (nr != MV_ROWS || nt != 1) {                                          \
        for (int r = 0; r < nr; r++)                                         \
            for (int t = 0; t < nt; t++)                                     \
                vec_dot_##NAME##_avx2(n, y + (size_t)t * ys + r,             \
                                      (const char *)w + r * ws,              \
                                      (const char *)x + t * xs);             \
        return;                                                              \
    }                                                                        \
    __m256 acc[MV_ROWS];                                                     \
    __m128 macc[MV_ROWS];                                                    \
    UNROLL for (int r = 0; r < MV_ROWS; r++) {                               \
        acc[r] = _mm256_setzero_ps();                                        \
        macc[r] = _mm_setzero_ps();                                          \
    }                                                                        \
    /* The rows are contiguous: stream the next MV_ROWS rows in while   \
     * these are read (hints only, may point past the matrix). */       \
    const char *next = (const char *)w + MV_ROWS * ws;                       \
    const size_t pf_step = MV_ROWS * ws / (size_t)(n / 32);                  \
    for (int ib = 0; ib < n / 32; ib++) {                                    \
        float dy, sy;                                                        \
        _mm_prefetch(next + (size_t)ib * pf_step, _MM_HINT_T0);              \
        _mm_prefetch(next + (size_t)ib * pf_step + 64, _MM_HINT_T0);         \
        __m256i qy = ACT(x, ib, &dy, &sy);                                   \
        const __m256 dyv = _mm256_set1_ps(dy);                               \
        UNROLL for (int r = 0; r < MV_ROWS; r++) {                           \
            float dx, mx;                                                    \
            __m256i qx = UNPACK((const char *)w + r * ws, ib, &dx, &mx);     \
            STEP(acc[r], macc[r], qx, _mm256_set1_ps(dx), mx, qy, dyv, sy);  \
        }                                                                    \
    }                                                                        \
    UNROLL for (int r = 0; r < MV_ROWS; r++)                                 \
        y[r] = hsum_ps(acc[r]) + _mm_cvtss_f32(macc[r]);                     \
}                                                                            \
static KQ_AVX2 void tile_##NAME##_avx2(int n, const void *w, size_t ws,      \
                                       int nr, const void *x, size_t xs,     \
                                       int nt, float *y, size_t ys)          \
{                                                                            \
    if (nr != T32_ROWS || nt != T32_TOKS) {                                  \
        for (int r = 0; r < nr; r++)                                         \
            for (int t = 0; t < nt; t++)                                     \
                vec_dot_##NAME##_avx2(n, y + (size_t)t * ys + r,             \
                                      (const char *)w + r * ws,              \
                                      (const char *)x + t * xs);             \
        return;                                                              \
    }                                                                        \
    __m256 acc[T32_ROWS][T32_TOKS];                                          \
    __m128 macc[T32_ROWS][T32_TOKS];                                         \
    UNROLL for (int r = 0; r < T32_ROWS; r++)                                       \
        UNROLL for (int t = 0; t < T32_TOKS; t++) {                                 \
            acc[r][t] = _mm256_setzero_ps();                                 \
            macc[r][t] = _mm_setzero_ps();                                   \
        }                                                                    \
    for (int ib = 0; ib < n / 32; ib++) {                                    \
        __m256i qx[T32_ROWS];                                                \
        __m256 dxv[T32_ROWS];                                                \
        float dx[T32_ROWS], mx[T32_ROWS];                                    \
        UNROLL for (int r = 0; r < T32_ROWS; r++) {                          \
            qx[r] = UNPACK((const char *)w + r * ws, ib, &dx[r], &mx[r]);    \
            dxv[r] = _mm256_set1_ps(dx[r]);                                  \
        }                                                                    \
        UNROLL for (int t = 0; t < T32_TOKS; t++) {                                 \
            float dy, sy;                                                    \
            __m256i qy = ACT((const char *)x + t * xs, ib, &dy, &sy);        \
            const __m256 dyv = _mm256_set1_ps(dy);                           \
            UNROLL for (int r = 0; r < T32_ROWS; r++)                        \
                STEP(acc[r][t], macc[r][t], qx[r], dxv[r], mx[r], qy, dyv,   \
                     sy);                                                    \
        }                                                                    \
    }                                                                        \
    UNROLL for (int r = 0; r < T32_ROWS; r++)                                       \
        UNROLL for (int t = 0; t < T32_TOKS; t++)                                   \
            y[(size_t)t * ys + r] =                                          \
                hsum_ps(acc[r][t]) + _mm_cvtss_f32(macc[r][t]);              \
}

DEFINE_BLOCK32(q5_0_q8_0, unpack_q5_0, act_q8_0, STEP_SIGNED)
DEFINE_BLOCK32(q4_1_q8_1, unpack_q4_1, act_q8_1, STEP_OFFSET)
DEFINE_BLOCK32(q5_1_q8_1, unpack_q5_1, act_q8_1, STEP_OFFSET)

/* Bodies the entry points below inline (tile shapes are constants). */
#define KQ_ALWAYS_INLINE static inline __attribute__((always_inline)) KQ_AVX2

/* ==== Float dot products ================================================
 * Four 8-wide FMA chains (latency hiding), summed in a fixed order; the
 * tail uses explicit scalar FMAs. */

#define FLOAT_DOT(NAME, T, LOAD8, TOF)                                       \
static KQ_AVX2 void vec_dot_##NAME##_avx2(int n, float *s, const void *vx,   \
                                          const void *vy)                    \
{                                                                            \
    const T *x = vx, *y = vy;                                                \
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;              \
    int i = 0;                                                               \
    for (; i + 32 <= n; i += 32) {                                           \
        a0 = _mm256_fmadd_ps(LOAD8(x + i), LOAD8(y + i), a0);                \
        a1 = _mm256_fmadd_ps(LOAD8(x + i + 8), LOAD8(y + i + 8), a1);        \
        a2 = _mm256_fmadd_ps(LOAD8(x + i + 16), LOAD8(y + i + 16), a2);      \
        a3 = _mm256_fmadd_ps(LOAD8(x + i + 24), LOAD8(y + i + 24), a3);      \
    }                                                                        \
    for (; i + 8 <= n; i += 8)                                               \
        a0 = _mm256_fmadd_ps(LOAD8(x + i), LOAD8(y + i), a0);                \
    __m128 t = _mm_set_ss(hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1),       \
                                                _mm256_add_ps(a2, a3))));    \
    for (; i < n; i++)                                                       \
        t = _mm_fmadd_ss(_mm_set_ss(TOF(x[i])), _mm_set_ss(TOF(y[i])), t);   \
    *s = _mm_cvtss_f32(t);                                                   \
}

#define LOAD_F32(p) _mm256_loadu_ps(p)
#define LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LOAD_BF16(p) _mm256_castsi256_ps(_mm256_slli_epi32(                 \
    _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))
#define TOF_F32(v) (v)
#define TOF_F16(v) h2f(v)
#define TOF_BF16(v) llm_bf16_to_f32(v)

FLOAT_DOT(f32, float, LOAD_F32, TOF_F32)
FLOAT_DOT(f16, llm_f16, LOAD_F16, TOF_F16)
FLOAT_DOT(bf16, llm_bf16, LOAD_BF16, TOF_BF16)

/* ==== Activation quantisers =============================================
 * Same bytes as the reference ones: the scale is computed with the same
 * scalar operations, x * id is the same IEEE multiply, and the rounding
 * matches (roundf = ties away from zero, built from truncation; ggml's
 * nearest_int = the default round-to-nearest-even of cvtps2dq). */

static inline KQ_AVX2 __m256 abs_ps(__m256 v)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

static inline KQ_AVX2 float hmax_ps(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v),
                          _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* roundf for |v| < 2^23: truncate, then step away from zero on >= .5 */
static inline KQ_AVX2 __m256i round_away_epi32(__m256 v)
{
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = abs_ps(_mm256_sub_ps(v, t));
    __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f),
                                              _CMP_GE_OQ),
                                _mm256_or_ps(_mm256_set1_ps(1.0f),
                                             _mm256_and_ps(v, _mm256_set1_ps(-0.0f))));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, step));
}

/* 4 x 8 int32 (each in [-128, 127]) -> 32 int8 in order. */
static inline KQ_AVX2 __m256i pack_i32x4(__m256i a, __m256i b, __m256i c,
                                         __m256i d)
{
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i v = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6,
                                                            3, 7));
}

static KQ_AVX2 void quantize_q8_0_avx2(const float *x, void *vy, int64_t k)
{
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / QK8_0; i++, x += QK8_0) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
        __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
        __m256 am = _mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)),
                                  _mm256_max_ps(abs_ps(v2), abs_ps(v3)));
        const float amax = hmax_ps(am);
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = llm_f32_to_f16(d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q = pack_i32x4(round_away_epi32(_mm256_mul_ps(v0, vid)),
                               round_away_epi32(_mm256_mul_ps(v1, vid)),
                               round_away_epi32(_mm256_mul_ps(v2, vid)),
                               round_away_epi32(_mm256_mul_ps(v3, vid)));
        _mm256_storeu_si256((__m256i *)y[i].qs, q);
    }
}

static KQ_AVX2 void quantize_q8_1_avx2(const float *x, void *vy, int64_t k)
{
    block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / QK8_1; i++, x += QK8_1) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
        __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
        __m256 am = _mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)),
                                  _mm256_max_ps(abs_ps(v2), abs_ps(v3)));
        const float amax = hmax_ps(am);
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = llm_f32_to_f16(d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i i0 = round_away_epi32(_mm256_mul_ps(v0, vid));
        __m256i i1 = round_away_epi32(_mm256_mul_ps(v1, vid));
        __m256i i2 = round_away_epi32(_mm256_mul_ps(v2, vid));
        __m256i i3 = round_away_epi32(_mm256_mul_ps(v3, vid));
        int sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(i0, i1),
                                            _mm256_add_epi32(i2, i3)));
        y[i].s = llm_f32_to_f16((float)sum * d);
        _mm256_storeu_si256((__m256i *)y[i].qs, pack_i32x4(i0, i1, i2, i3));
    }
}

static KQ_AVX2 void quantize_q8_K_avx2(const float *x, void *vy, int64_t k)
{
    block_q8_K *y = vy;
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        __m256 am = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8)
            am = _mm256_max_ps(am, abs_ps(_mm256_loadu_ps(x + j)));
        const float amax = hmax_ps(am);
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* the first element of largest magnitude gives the sign, as in
         * the reference's strict '>' scan */
        float max = 0;
        const __m256 vam = _mm256_set1_ps(amax);
        for (int j = 0; j < QK_K; j += 8) {
            int mask = _mm256_movemask_ps(_mm256_cmp_ps(
                abs_ps(_mm256_loadu_ps(x + j)), vam, _CMP_EQ_OQ));
            if (mask) {
                max = x[j + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        const float iscale = -127.f / max;
        const __m256 vis = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        for (int j = 0; j < QK_K; j += 32) {
            __m256i q[4];
            for (int u = 0; u < 4; u++)
                q[u] = _mm256_min_epi32(lim, _mm256_cvtps_epi32(_mm256_mul_ps(
                    _mm256_loadu_ps(x + j + 8 * u), vis)));
            /* bsums: 16 consecutive quants = two 8-lane vectors */
            y[i].bsums[j / 16] = (int16_t)hsum_i32(_mm256_add_epi32(q[0], q[1]));
            y[i].bsums[j / 16 + 1] =
                (int16_t)hsum_i32(_mm256_add_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(y[i].qs + j),
                                pack_i32x4(q[0], q[1], q[2], q[3]));
        }
        y[i].d = 1 / iscale;
    }
}

/* ==== f16 rows ========================================================= */

/* ==== Q4_0 and Q8_0: eight rows in the eight lanes ======================
 * The 32-block kernels above keep one (row, token) pair per register:
 * 8 lanes of partial sums, so every block pays a convert, a multiply and
 * an FMA for one output. Here lane r holds row r of 8 rows: the rows'
 * quant bytes are transposed in registers (lane r = 4 bytes of row r),
 * each 4-byte group of the activation block is broadcast (a load, no
 * shuffle), and one maddubs multiplies that group into all 8 rows; a
 * block costs 8 maddubs, then one convert, multiply and FMA for 8
 * outputs. Q4_0 weights stay as unsigned nibbles (maddubs wants one
 * unsigned operand): sum (q-8) y = sum q y - 8 sum y, exact in
 * int16/int32 (|q y| <= 15*127, eight pairs per int16 <= 30480); Q8_0
 * see rl_body. No repacked copy of the weights: the transposes cost a few
 * shuffles per block, shared by the tile's tokens.
 *
 * Per output the arithmetic is: acc = 0; per block, in order,
 * acc = fma(dx * dy, (float)isum, acc) with isum the block's exact integer
 * dot — which vec_dot below spells out with scalar ops, so the tile,
 * matvec and vec_dot agree bit for bit. */
#define RL_ROWS 8
#define RL_TOKS 4

/* 16 bytes at p[r] for rows r = 0..7, transposed: lane r of G[g] = bytes
 * 4g..4g+3 of p[r] (4x4 dword transposes within each 128-bit half: rows
 * 0-3 low, 4-7 high). */
KQ_ALWAYS_INLINE void rl_transpose(const uint8_t *const p[RL_ROWS],
                                   __m256i G[4])
{
    __m256i Y[4];
    UNROLL for (int r = 0; r < 4; r++)
        Y[r] = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)p[r + 4]),
                                _mm_loadu_si128((const __m128i *)p[r]));
    __m256i t0 = _mm256_unpacklo_epi32(Y[0], Y[1]);
    __m256i t1 = _mm256_unpackhi_epi32(Y[0], Y[1]);
    __m256i t2 = _mm256_unpacklo_epi32(Y[2], Y[3]);
    __m256i t3 = _mm256_unpackhi_epi32(Y[2], Y[3]);
    G[0] = _mm256_unpacklo_epi64(t0, t2);
    G[1] = _mm256_unpackhi_epi64(t0, t2);
    G[2] = _mm256_unpacklo_epi64(t1, t3);
    G[3] = _mm256_unpackhi_epi64(t1, t3);
}

/* The 8 rows' f16 scales at d[r] as one vector (lane r = row r). */
KQ_ALWAYS_INLINE __m256 rl_scales(const llm_f16 *const d[RL_ROWS])
{
    return _mm256_cvtph_ps(_mm_set_epi16(
        (short)*d[7], (short)*d[6], (short)*d[5], (short)*d[4],
        (short)*d[3], (short)*d[2], (short)*d[1], (short)*d[0]));
}

/* Block ib of rows w, w+ws, ..., w+7ws: scales and transposed nibbles. */
KQ_ALWAYS_INLINE void rl_load_q4_0(const char *w, size_t ws, int ib,
                                   __m256 *dx, __m256i G[4])
{
    const uint8_t *q[RL_ROWS];
    const llm_f16 *d[RL_ROWS];
    UNROLL for (int r = 0; r < RL_ROWS; r++) {
        const block_q4_0 *b = (const block_q4_0 *)(w + (size_t)r * ws) + ib;
        q[r] = b->qs;
        d[r] = &b->d;
    }
    *dx = rl_scales(d);
    rl_transpose(q, G);
}

/* 8 lanes of 8 * sum(y) of an activation block. */
KQ_ALWAYS_INLINE __m256i rl_ysum8(const block_q8_0 *yb)
{
    __m256i p = dot_u8_i32(_mm256_set1_epi8(1),
                           _mm256_loadu_si256((const __m256i *)yb->qs));
    p = _mm256_add_epi32(p, _mm256_permute2x128_si256(p, p, 1));
    p = _mm256_add_epi32(p, _mm256_shuffle_epi32(p, 0x4e));
    p = _mm256_add_epi32(p, _mm256_shuffle_epi32(p, 0xb1));
    return _mm256_slli_epi32(p, 3);
}

/* Q8_0 rows: scales and the 32 signed bytes transposed, G[0..3] from
 * bytes 0..15 and H[0..3] from bytes 16..31. */
KQ_ALWAYS_INLINE void rl_load_q8_0(const char *w, size_t ws, int ib,
                                   __m256 *dx, __m256i G[4], __m256i H[4])
{
    const uint8_t *q[RL_ROWS], *q2[RL_ROWS];
    const llm_f16 *d[RL_ROWS];
    UNROLL for (int r = 0; r < RL_ROWS; r++) {
        const block_q8_0 *b = (const block_q8_0 *)(w + (size_t)r * ws) + ib;
        q[r] = (const uint8_t *)b->qs;
        q2[r] = (const uint8_t *)b->qs + 16;
        d[r] = &b->d;
    }
    *dx = rl_scales(d);
    rl_transpose(q, G);
    rl_transpose(q2, H);
}

/* Broadcast bytes 4g..4g+3 of an activation block's quants. */
KQ_ALWAYS_INLINE __m256i rl_bcast(const block_q8_0 *yb, int off)
{
    int32_t v;
    memcpy(&v, yb->qs + off, 4);
    return _mm256_set1_epi32(v);
}

/* 8 rows x T tokens (T, q8 and prefetch constants after inlining) of
 * Q4_0 (q8 false) or Q8_0 weights. Q8_0's bytes are signed on both
 * sides: maddubs(|w|, sign(y, w)) (|w| <= 128, |y| <= 127: a pair fits
 * int16, two do not, so each group is widened to int32 at once). */
KQ_ALWAYS_INLINE void rl_body(bool q8, int n, const char *w, size_t ws,
                              const char *x, size_t xs, float *y, size_t ys,
                              const int T, const int prefetch)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[RL_TOKS];
    UNROLL for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
    const int nb = n / 32;
    /* matvec: stream the next 8 rows in while these are read. */
    const char *next = w + RL_ROWS * ws;
    const size_t pf_step = RL_ROWS * ws / (size_t)nb;
    for (int ib = 0; ib < nb; ib++) {
        if (prefetch) {
            const char *p = next + (size_t)ib * pf_step;
            _mm_prefetch(p, _MM_HINT_T0);
            _mm_prefetch(p + 64, _MM_HINT_T0);
            _mm_prefetch(p + 128, _MM_HINT_T0);
            if (q8) _mm_prefetch(p + 192, _MM_HINT_T0);
        }
        __m256 dx;
        __m256i G[4], H[4];
        if (q8) rl_load_q8_0(w, ws, ib, &dx, G, H);
        else rl_load_q4_0(w, ws, ib, &dx, G);
        const block_q8_0 *yb[RL_TOKS];
        __m256i s[RL_TOKS];
        UNROLL for (int t = 0; t < T; t++) {
            yb[t] = (const block_q8_0 *)(x + (size_t)t * xs) + ib;
            s[t] = _mm256_setzero_si256();
        }
        UNROLL for (int g = 0; g < 4; g++) {
            if (q8) {
                const __m256i al = _mm256_abs_epi8(G[g]);
                const __m256i ah = _mm256_abs_epi8(H[g]);
                UNROLL for (int t = 0; t < T; t++) {
                    __m256i pl = _mm256_maddubs_epi16(
                        al, _mm256_sign_epi8(rl_bcast(yb[t], 4 * g), G[g]));
                    __m256i ph = _mm256_maddubs_epi16(
                        ah, _mm256_sign_epi8(rl_bcast(yb[t], 16 + 4 * g),
                                             H[g]));
                    s[t] = _mm256_add_epi32(
                        s[t], _mm256_add_epi32(_mm256_madd_epi16(pl, ones),
                                               _mm256_madd_epi16(ph, ones)));
                }
            } else {
                const __m256i lo = _mm256_and_si256(G[g], m4);
                const __m256i hi =
                    _mm256_and_si256(_mm256_srli_epi16(G[g], 4), m4);
                UNROLL for (int t = 0; t < T; t++) {
                    s[t] = _mm256_add_epi16(s[t], _mm256_maddubs_epi16(
                        lo, rl_bcast(yb[t], 4 * g)));
                    s[t] = _mm256_add_epi16(s[t], _mm256_maddubs_epi16(
                        hi, rl_bcast(yb[t], 16 + 4 * g)));
                }
            }
        }
        UNROLL for (int t = 0; t < T; t++) {
            __m256i isum = q8 ? s[t]
                              : _mm256_sub_epi32(_mm256_madd_epi16(s[t], ones),
                                                 rl_ysum8(yb[t]));
            acc[t] = _mm256_fmadd_ps(
                _mm256_mul_ps(dx, _mm256_set1_ps(h2f(yb[t]->d))),
                _mm256_cvtepi32_ps(isum), acc[t]);
        }
    }
    UNROLL for (int t = 0; t < T; t++)
        _mm256_storeu_ps(y + (size_t)t * ys, acc[t]);   /* rows adjacent */
}

/* One output (the rows a tile does not cover): the same per-block
 * arithmetic with scalar float ops. */
KQ_ALWAYS_INLINE void rl_dot(const bool q8, int n, float *s, const void *vx,
                             const void *vy)
{
    __m128 acc = _mm_setzero_ps();
    for (int ib = 0; ib < n / 32; ib++) {
        float dx, mx, dy, sy;
        __m256i qx = q8 ? unpack_q8_0(vx, ib, &dx, &mx)
                        : unpack_q4_0(vx, ib, &dx, &mx);
        __m256i qy = act_q8_0(vy, ib, &dy, &sy);
        int isum = hsum_i32(dot_i8_i32(qx, qy));
        acc = _mm_fmadd_ss(_mm_set_ss(dx * dy), _mm_set_ss((float)isum), acc);
    }
    *s = _mm_cvtss_f32(acc);
}

/*
 * The entry points of a lanes kernel, from DOT(n, s, vx, vy) (one output)
 * and BODY(n, w, ws, x, xs, y, ys, T, prefetch) (RL_ROWS rows x T tokens):
 * vec_dot; the tile (BODY for RL_ROWS rows and 1..RL_TOKS tokens, else
 * one DOT per output); the matvec (BODY for RL_ROWS x 1, prefetching the
 * next rows, else one DOT per output).
 */
#define DEFINE_LANES(NAME, DOT, BODY)                                        \
static KQ_AVX2 void vec_dot_##NAME##_rl_avx2(int n, float *s,                \
                                             const void *vx, const void *vy) \
{                                                                            \
    DOT(n, s, vx, vy);                                                       \
}                                                                            \
static KQ_AVX2 void rows_##NAME##_rl_avx2(int n, const void *w, size_t ws,   \
                                          int nr, const void *x, size_t xs,  \
                                          int nt, float *y, size_t ys)       \
{                                                                            \
    for (int r = 0; r < nr; r++)                                             \
        for (int t = 0; t < nt; t++)                                         \
            DOT(n, y + (size_t)t * ys + r, (const char *)w + r * ws,         \
                (const char *)x + t * xs);                                   \
}                                                                            \
static KQ_AVX2 void tile_##NAME##_rl_avx2(int n, const void *w, size_t ws,   \
                                          int nr, const void *x, size_t xs,  \
                                          int nt, float *y, size_t ys)       \
{                                                                            \
    const char *wc = w, *xc = x;                                             \
    switch (nr == RL_ROWS ? nt : 0) {                                        \
    case 4: BODY(n, wc, ws, xc, xs, y, ys, 4, 0); break;                     \
    case 3: BODY(n, wc, ws, xc, xs, y, ys, 3, 0); break;                     \
    case 2: BODY(n, wc, ws, xc, xs, y, ys, 2, 0); break;                     \
    case 1: BODY(n, wc, ws, xc, xs, y, ys, 1, 0); break;                     \
    default: rows_##NAME##_rl_avx2(n, w, ws, nr, x, xs, nt, y, ys); break;   \
    }                                                                        \
}                                                                            \
static KQ_AVX2 void matvec_##NAME##_rl_avx2(int n, const void *w, size_t ws, \
                                            int nr, const void *x,           \
                                            size_t xs, int nt, float *y,     \
                                            size_t ys)                       \
{                                                                            \
    if (nr != RL_ROWS || nt != 1)                                            \
        rows_##NAME##_rl_avx2(n, w, ws, nr, x, xs, nt, y, ys);               \
    else                                                                     \
        BODY(n, (const char *)w, ws, (const char *)x, xs, y, ys, 1, 1);      \
}

#define Q4_0_DOT(...) rl_dot(false, __VA_ARGS__)
#define Q4_0_BODY(...) rl_body(false, __VA_ARGS__)
#define Q8_0_DOT(...) rl_dot(true, __VA_ARGS__)
#define Q8_0_BODY(...) rl_body(true, __VA_ARGS__)
DEFINE_LANES(q4_0, Q4_0_DOT, Q4_0_BODY)
DEFINE_LANES(q8_0, Q8_0_DOT, Q8_0_BODY)

/* ==== Q4_K: eight rows in the eight lanes ===============================
 * As above, per 64-element chunk: the 8 rows' 32 quant bytes transposed,
 * each 4-byte activation group broadcast, 16 maddubs per token for all 8
 * rows (instead of 4 per row), and the sub-block scales applied to the 8
 * lanes at once by madd with a vector of the rows' scales. Per output and
 * super-block the float part is acc = fma(dy * d, (float)isum, acc) and
 * macc = fma(dy * dmin, (float)msum, macc) with isum and msum (the mins
 * term) exact integers; the result is acc - macc. vec_dot spells the same
 * out with scalar ops, so tile, matvec and vec_dot agree bit for bit. */

/* One output of a Q4_K (five false) or Q5_K row against a Q8_K row, with
 * the lanes' order of float operations. Q4_K and Q5_K share d, dmin and
 * scales; Q5_K adds qh (the fifth bits) before qs. */
KQ_ALWAYS_INLINE void rl_k45_dot(const bool five, int n, float *s,
                                 const void *vx, const void *vy)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    const size_t bsz = five ? sizeof(block_q5_K) : sizeof(block_q4_K);
    __m128 acc = _mm_setzero_ps(), macc = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++) {
        const block_q4_K *b =
            (const block_q4_K *)((const char *)vx + (size_t)i * bsz);
        const uint8_t *qs = five ? ((const block_q5_K *)b)->qs : b->qs;
        __m256i hb = five ? _mm256_loadu_si256(
                                (const __m256i *)((const block_q5_K *)b)->qh)
                          : _mm256_setzero_si256();
        const block_q8_K *by = (const block_q8_K *)vy + i;
        uint32_t scm[4];
        k4_scales(b->scales, scm);
        const uint8_t *sc = (const uint8_t *)scm;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < QK_K / 64; j++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
            __m256i yl = _mm256_loadu_si256((const __m256i *)(by->qs + 64 * j));
            __m256i yh = _mm256_loadu_si256(
                (const __m256i *)(by->qs + 64 * j + 32));
            __m256i lo = _mm256_and_si256(q, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (five) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(
                    _mm256_and_si256(hb, one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(
                    _mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4));
                hb = _mm256_srli_epi16(hb, 2);
            }
            __m256i pl = _mm256_madd_epi16(_mm256_set1_epi16(sc[2 * j]),
                                           _mm256_maddubs_epi16(lo, yl));
            __m256i ph = _mm256_madd_epi16(_mm256_set1_epi16(sc[2 * j + 1]),
                                           _mm256_maddubs_epi16(hi, yh));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        __m256i b16 = _mm256_loadu_si256((const __m256i *)by->bsums);
        __m128i bs = _mm_hadd_epi16(_mm256_castsi256_si128(b16),
                                    _mm256_extracti128_si256(b16, 1));
        __m128i mins16 = _mm_cvtepu8_epi16(
            _mm_set_epi32(0, 0, (int)scm[3], (int)scm[2]));
        __m128i m = _mm_madd_epi16(mins16, bs);
        m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0x4e));
        m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0xb1));
        float d = h2f(b->d), dmin = h2f(b->dmin);
        acc = _mm_fmadd_ss(_mm_set_ss(d * by->d),
                           _mm_set_ss((float)hsum_i32(sumi)), acc);
        macc = _mm_fmadd_ss(_mm_set_ss(dmin * by->d),
                            _mm_set_ss((float)_mm_cvtsi128_si32(m)), macc);
    }
    *s = _mm_cvtss_f32(_mm_sub_ss(acc, macc));
}

/* Lane r of the result: byte k (0..3) of lane r of v, as the int16 pair
 * (byte, byte) — a sub-block scale ready for madd. */
KQ_ALWAYS_INLINE __m256i rl_scale_pair(__m256i v, int k)
{
    __m256i b = _mm256_and_si256(_mm256_srli_epi32(v, 8 * k),
                                 _mm256_set1_epi32(0xFF));
    return _mm256_or_si256(b, _mm256_slli_epi32(b, 16));
}

/* 8 rows x T tokens of Q4_K or Q5_K (five, T and prefetch constants
 * after inlining). Q5_K's values reach 31: its maddubs go four to an
 * int16 sum (4 * 2 * 31 * 127 fits), Q4_K's eight. */
KQ_ALWAYS_INLINE void rl_k45_body(const bool five, int n, const char *w,
                                  size_t ws, const char *x, size_t xs,
                                  float *y, size_t ys, const int T,
                                  const int prefetch)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    const size_t bsz = five ? sizeof(block_q5_K) : sizeof(block_q4_K);
    __m256 acc[RL_TOKS], macc[RL_TOKS];
    UNROLL for (int t = 0; t < T; t++)
        acc[t] = macc[t] = _mm256_setzero_ps();
    const int nb = n / QK_K;
    const char *next = w + RL_ROWS * ws;
    const size_t pf_step = RL_ROWS * ws / (size_t)nb;
    for (int i = 0; i < nb; i++) {
        const block_q4_K *b[RL_ROWS];
        const llm_f16 *d[RL_ROWS], *dm[RL_ROWS];
        uint32_t scm[RL_ROWS][4];
        const uint8_t *sp[RL_ROWS];
        const uint8_t *qsr[RL_ROWS], *qh0[RL_ROWS], *qh1[RL_ROWS];
        UNROLL for (int r = 0; r < RL_ROWS; r++) {
            b[r] = (const block_q4_K *)(w + (size_t)r * ws + (size_t)i * bsz);
            d[r] = &b[r]->d;
            dm[r] = &b[r]->dmin;
            k4_scales(b[r]->scales, scm[r]);
            sp[r] = (const uint8_t *)scm[r];
            qsr[r] = five ? ((const block_q5_K *)b[r])->qs : b[r]->qs;
            qh0[r] = five ? ((const block_q5_K *)b[r])->qh : NULL;
            qh1[r] = five ? qh0[r] + 16 : NULL;
        }
        /* S[0], S[1]: scales 0-3, 4-7; S[2], S[3]: mins 0-3, 4-7. */
        __m256i S[4], QA[4], QB[4];
        rl_transpose(sp, S);
        if (five) {              /* qh byte l: the fifth bits of element l
                                    of each 32 (bit 2j: chunk j's low
                                    half, 2j+1: its high half) */
            rl_transpose(qh0, QA);
            rl_transpose(qh1, QB);
        }
        const block_q8_K *by[RL_TOKS];
        __m256i sumi[RL_TOKS];
        UNROLL for (int t = 0; t < T; t++) {
            by[t] = (const block_q8_K *)(x + (size_t)t * xs) + i;
            sumi[t] = _mm256_setzero_si256();
        }
        for (int j = 0; j < QK_K / 64; j++) {
            if (prefetch) {
                const char *p = next + ((size_t)i * 4 + (size_t)j) *
                                           (pf_step / 4);
                _mm_prefetch(p, _MM_HINT_T0);
                _mm_prefetch(p + 64, _MM_HINT_T0);
                _mm_prefetch(p + 128, _MM_HINT_T0);
                _mm_prefetch(p + 192, _MM_HINT_T0);
                _mm_prefetch(p + 256, _MM_HINT_T0);
            }
            const uint8_t *q0[RL_ROWS], *q1[RL_ROWS];
            UNROLL for (int r = 0; r < RL_ROWS; r++) {
                q0[r] = qsr[r] + 32 * j;
                q1[r] = qsr[r] + 32 * j + 16;
            }
            __m256i G[4], H[4], GL[4], GH[4], HL[4], HH[4];
            rl_transpose(q0, G);
            rl_transpose(q1, H);
            UNROLL for (int g = 0; g < 4; g++) {
                GL[g] = _mm256_and_si256(G[g], m4);
                GH[g] = _mm256_and_si256(_mm256_srli_epi16(G[g], 4), m4);
                HL[g] = _mm256_and_si256(H[g], m4);
                HH[g] = _mm256_and_si256(_mm256_srli_epi16(H[g], 4), m4);
                if (five) {
                    const __m128i c0 = _mm_cvtsi32_si128(2 * j);
                    const __m128i c1 = _mm_cvtsi32_si128(2 * j + 1);
                    GL[g] = _mm256_or_si256(GL[g], _mm256_slli_epi16(
                        _mm256_and_si256(_mm256_srl_epi16(QA[g], c0), one), 4));
                    GH[g] = _mm256_or_si256(GH[g], _mm256_slli_epi16(
                        _mm256_and_si256(_mm256_srl_epi16(QA[g], c1), one), 4));
                    HL[g] = _mm256_or_si256(HL[g], _mm256_slli_epi16(
                        _mm256_and_si256(_mm256_srl_epi16(QB[g], c0), one), 4));
                    HH[g] = _mm256_or_si256(HH[g], _mm256_slli_epi16(
                        _mm256_and_si256(_mm256_srl_epi16(QB[g], c1), one), 4));
                }
            }
            const __m256i sl = rl_scale_pair(S[j >> 1], (2 * j) & 3);
            const __m256i sh = rl_scale_pair(S[j >> 1], (2 * j + 1) & 3);
            UNROLL for (int t = 0; t < T; t++) {
                const int8_t *q8 = by[t]->qs + 64 * j;
                __m256i lg = _mm256_setzero_si256(), lh = lg, hg = lg, hh = lg;
                UNROLL for (int g = 0; g < 4; g++) {
                    int32_t a0, a1, a2, a3;
                    memcpy(&a0, q8 + 4 * g, 4);
                    memcpy(&a1, q8 + 16 + 4 * g, 4);
                    memcpy(&a2, q8 + 32 + 4 * g, 4);
                    memcpy(&a3, q8 + 48 + 4 * g, 4);
                    lg = _mm256_add_epi16(lg, _mm256_maddubs_epi16(
                        GL[g], _mm256_set1_epi32(a0)));
                    lh = _mm256_add_epi16(lh, _mm256_maddubs_epi16(
                        HL[g], _mm256_set1_epi32(a1)));
                    hg = _mm256_add_epi16(hg, _mm256_maddubs_epi16(
                        GH[g], _mm256_set1_epi32(a2)));
                    hh = _mm256_add_epi16(hh, _mm256_maddubs_epi16(
                        HH[g], _mm256_set1_epi32(a3)));
                }
                __m256i part;
                if (five)
                    part = _mm256_add_epi32(
                        _mm256_add_epi32(_mm256_madd_epi16(lg, sl),
                                         _mm256_madd_epi16(lh, sl)),
                        _mm256_add_epi32(_mm256_madd_epi16(hg, sh),
                                         _mm256_madd_epi16(hh, sh)));
                else
                    part = _mm256_add_epi32(
                        _mm256_madd_epi16(_mm256_add_epi16(lg, lh), sl),
                        _mm256_madd_epi16(_mm256_add_epi16(hg, hh), sh));
                sumi[t] = _mm256_add_epi32(sumi[t], part);
            }
        }
        /* Mins: lane r pairs (min 2p, min 2p+1) against the token's
         * sub-block sums (bs 2p, bs 2p+1), p = 0..3. */
        __m256i mp[4];
        UNROLL for (int p = 0; p < 4; p++) {
            __m256i v = _mm256_srli_epi32(S[2 + (p >> 1)], 16 * (p & 1));
            mp[p] = _mm256_or_si256(
                _mm256_and_si256(v, _mm256_set1_epi32(0xFF)),
                _mm256_slli_epi32(
                    _mm256_and_si256(_mm256_srli_epi32(v, 8),
                                     _mm256_set1_epi32(0xFF)), 16));
        }
        const __m256 dv = rl_scales(d), dmv = rl_scales(dm);
        UNROLL for (int t = 0; t < T; t++) {
            __m256i b16 = _mm256_loadu_si256((const __m256i *)by[t]->bsums);
            __m128i bs = _mm_hadd_epi16(_mm256_castsi256_si128(b16),
                                        _mm256_extracti128_si256(b16, 1));
            int32_t bsp[4];
            _mm_storeu_si128((__m128i *)bsp, bs);
            __m256i ms = _mm256_setzero_si256();
            UNROLL for (int p = 0; p < 4; p++)
                ms = _mm256_add_epi32(ms, _mm256_madd_epi16(
                    mp[p], _mm256_set1_epi32(bsp[p])));
            const __m256 dy = _mm256_set1_ps(by[t]->d);
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dv, dy),
                                     _mm256_cvtepi32_ps(sumi[t]), acc[t]);
            macc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dmv, dy),
                                      _mm256_cvtepi32_ps(ms), macc[t]);
        }
    }
    UNROLL for (int t = 0; t < T; t++)
        _mm256_storeu_ps(y + (size_t)t * ys, _mm256_sub_ps(acc[t], macc[t]));
}

#define Q4_K_DOT(...) rl_k45_dot(false, __VA_ARGS__)
#define Q4_K_BODY(...) rl_k45_body(false, __VA_ARGS__)
#define Q5_K_DOT(...) rl_k45_dot(true, __VA_ARGS__)
#define Q5_K_BODY(...) rl_k45_body(true, __VA_ARGS__)
DEFINE_LANES(q4_K, Q4_K_DOT, Q4_K_BODY)
DEFINE_LANES(q5_K, Q5_K_DOT, Q5_K_BODY)

/* ==== Q6_K: eight rows in the eight lanes ===============================
 * Per 128-element half and 16-byte part, the 8 rows' ql and qh bytes
 * transposed; the 6-bit quants rebuilt per 4-byte group (lane r = row r),
 * two maddubs per int16 (63 * 127 * 4 fits), madd by the rows' signed
 * sub-block scales. The "- 32" is -32 * sum(scale * bsum) per sub-block,
 * from the Q8_K block sums. Float part per output and super-block:
 * acc = fma(d * dy, (float)isum, acc), as vec_dot below does with
 * scalar float ops. */

static KQ_AVX2 void rl_q6_K_dot(int n, float *s, const void *vx,
                                const void *vy)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    const __m256i m32 = _mm256_set1_epi8(32);
    __m128 acc = _mm_setzero_ps();
    for (int i = 0; i < n / QK_K; i++) {
        const block_q6_K *b = (const block_q6_K *)vx + i;
        const block_q8_K *by = (const block_q8_K *)vy + i;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < QK_K / 128; j++) {
            const uint8_t *ql = b->ql + 64 * j;
            __m256i l1 = _mm256_loadu_si256((const __m256i *)ql);
            __m256i l2 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i h = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * j));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                _mm256_slli_epi16(_mm256_and_si256(h, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l2, m4),
                _mm256_slli_epi16(_mm256_and_si256(
                    _mm256_srli_epi16(h, 2), m3), 4));
            q[2] = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                _mm256_slli_epi16(_mm256_and_si256(
                    _mm256_srli_epi16(h, 4), m3), 4));
            q[3] = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(l2, 4), m4),
                _mm256_slli_epi16(_mm256_and_si256(
                    _mm256_srli_epi16(h, 6), m3), 4));
            const int8_t *sc = b->scales + 8 * j;
            for (int k = 0; k < 4; k++) {
                __m256i sk = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]),
                                              _mm_set1_epi16(sc[2 * k]));
                __m256i q8 = _mm256_loadu_si256(
                    (const __m256i *)(by->qs + 128 * j + 32 * k));
                __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], q8),
                                             _mm256_maddubs_epi16(m32, q8));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(sk, p));
            }
        }
        acc = _mm_fmadd_ss(_mm_set_ss(h2f(b->d) * by->d),
                           _mm_set_ss((float)hsum_i32(sumi)), acc);
    }
    *s = _mm_cvtss_f32(acc);
}

/* Lane r: signed byte k (0..3) of lane r of v, as the int16 pair. */
KQ_ALWAYS_INLINE __m256i rl_sbyte_pair(__m256i v, int k)
{
    __m256i b = _mm256_srai_epi32(_mm256_slli_epi32(v, 24 - 8 * k), 24);
    return _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(0xFFFF)),
                           _mm256_slli_epi32(b, 16));
}

KQ_ALWAYS_INLINE void rl_q6_K_body(int n, const char *w, size_t ws,
                                   const char *x, size_t xs, float *y,
                                   size_t ys, const int T, const int prefetch)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    __m256 acc[RL_TOKS];
    UNROLL for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
    const int nb = n / QK_K;
    const char *next = w + RL_ROWS * ws;
    const size_t pf_step = RL_ROWS * ws / (size_t)nb;
    for (int i = 0; i < nb; i++) {
        if (prefetch)
            for (size_t o = 0; o < pf_step; o += 64)
                _mm_prefetch(next + (size_t)i * pf_step + o, _MM_HINT_T0);
        const block_q6_K *b[RL_ROWS];
        const uint8_t *sp[RL_ROWS];
        const llm_f16 *d[RL_ROWS];
        UNROLL for (int r = 0; r < RL_ROWS; r++) {
            b[r] = (const block_q6_K *)(w + (size_t)r * ws) + i;
            sp[r] = (const uint8_t *)b[r]->scales;
            d[r] = &b[r]->d;
        }
        __m256i SC[4];           /* dword r of SC[g]: scales 4g..4g+3 */
        rl_transpose(sp, SC);
        const block_q8_K *by[RL_TOKS];
        __m256i sumi[RL_TOKS];
        UNROLL for (int t = 0; t < T; t++) {
            by[t] = (const block_q8_K *)(x + (size_t)t * xs) + i;
            /* -32 * sum over sub-blocks of scale * bsum */
            __m256i c = _mm256_setzero_si256();
            UNROLL for (int m = 0; m < 8; m++) {
                __m256i lo = rl_sbyte_pair(SC[m >> 1], (2 * m) & 3);
                __m256i hi = rl_sbyte_pair(SC[m >> 1], (2 * m + 1) & 3);
                __m256i pair = _mm256_or_si256(
                    _mm256_and_si256(lo, _mm256_set1_epi32(0xFFFF)),
                    _mm256_slli_epi32(hi, 16));
                int32_t bs;
                memcpy(&bs, &by[t]->bsums[2 * m], 4);
                c = _mm256_add_epi32(c, _mm256_madd_epi16(
                                            pair, _mm256_set1_epi32(bs)));
            }
            sumi[t] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                       _mm256_slli_epi32(c, 5));
        }
        for (int j = 0; j < QK_K / 128; j++) {
            UNROLL for (int p = 0; p < 2; p++) {
                const uint8_t *a1[RL_ROWS], *a2[RL_ROWS], *ah[RL_ROWS];
                UNROLL for (int r = 0; r < RL_ROWS; r++) {
                    a1[r] = b[r]->ql + 64 * j + 16 * p;
                    a2[r] = b[r]->ql + 64 * j + 32 + 16 * p;
                    ah[r] = b[r]->qh + 32 * j + 16 * p;
                }
                __m256i L1[4], L2[4], H[4];
                rl_transpose(a1, L1);
                rl_transpose(a2, L2);
                rl_transpose(ah, H);
                UNROLL for (int k = 0; k < 4; k++) {
                    const int sb = 8 * j + 2 * k + p;   /* sub-block */
                    const __m256i sc = rl_sbyte_pair(SC[sb >> 2], sb & 3);
                    __m256i W[4];
                    UNROLL for (int g = 0; g < 4; g++) {
                        __m256i l = k & 1 ? L2[g] : L1[g];
                        if (k >= 2) l = _mm256_srli_epi16(l, 4);
                        __m256i hb = _mm256_and_si256(
                            _mm256_srli_epi16(H[g], 2 * k), m3);
                        W[g] = _mm256_or_si256(_mm256_and_si256(l, m4),
                                               _mm256_slli_epi16(hb, 4));
                    }
                    UNROLL for (int t = 0; t < T; t++) {
                        const int8_t *q8 =
                            by[t]->qs + 128 * j + 32 * k + 16 * p;
                        int32_t v0, v1, v2, v3;
                        memcpy(&v0, q8, 4);
                        memcpy(&v1, q8 + 4, 4);
                        memcpy(&v2, q8 + 8, 4);
                        memcpy(&v3, q8 + 12, 4);
                        __m256i s0 = _mm256_add_epi16(
                            _mm256_maddubs_epi16(W[0], _mm256_set1_epi32(v0)),
                            _mm256_maddubs_epi16(W[1], _mm256_set1_epi32(v1)));
                        __m256i s1 = _mm256_add_epi16(
                            _mm256_maddubs_epi16(W[2], _mm256_set1_epi32(v2)),
                            _mm256_maddubs_epi16(W[3], _mm256_set1_epi32(v3)));
                        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(
                            _mm256_madd_epi16(s0, sc),
                            _mm256_madd_epi16(s1, sc)));
                    }
                }
            }
        }
        const __m256 dv = rl_scales(d);
        UNROLL for (int t = 0; t < T; t++)
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dv, _mm256_set1_ps(by[t]->d)),
                                     _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
    UNROLL for (int t = 0; t < T; t++)
        _mm256_storeu_ps(y + (size_t)t * ys, acc[t]);
}

DEFINE_LANES(q6_K, rl_q6_K_dot, rl_q6_K_body)

static KQ_AVX2 void f16_to_f32_row_avx2(const llm_f16 *src, float *dst,
                                        int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(
            _mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

static KQ_AVX2 void f32_to_f16_row_avx2(const float *src, llm_f16 *dst,
                                        int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(
            _mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

/* Override the scalar entries this file has faster versions of. */
void kq_avx2_install(kq_kernels *k)
{
    llm_type_traits *t = k->traits;
    k->f16_to_f32_row = f16_to_f32_row_avx2;
    k->f32_to_f16_row = f32_to_f16_row_avx2;
    t[LLM_Q8_0].from_float = quantize_q8_0_avx2;
    t[LLM_Q8_1].from_float = quantize_q8_1_avx2;
    t[LLM_Q8_K].from_float = quantize_q8_K_avx2;
    t[LLM_F32].vec_dot = vec_dot_f32_avx2;
    t[LLM_F16].vec_dot = vec_dot_f16_avx2;
    t[LLM_BF16].vec_dot = vec_dot_bf16_avx2;
#define SET(T, NAME, R, C)                                                  \
    do {                                                                    \
        t[T].vec_dot = vec_dot_##NAME##_avx2;                               \
        k->tile[T] = (kq_tile){ tile_##NAME##_avx2, R, C };                 \
    } while (0)
#define SET_MV(T, NAME)                                                     \
    k->matvec[T] = (kq_tile){ matvec_##NAME##_avx2, MV_ROWS, 1 }
    SET(LLM_Q4_0, q4_0_rl, RL_ROWS, RL_TOKS);
    SET(LLM_Q8_0, q8_0_rl, RL_ROWS, RL_TOKS);
    SET(LLM_Q4_1, q4_1_q8_1, T32_ROWS, T32_TOKS);
    SET(LLM_Q5_0, q5_0_q8_0, T32_ROWS, T32_TOKS);
    SET(LLM_Q5_1, q5_1_q8_1, T32_ROWS, T32_TOKS);
    SET(LLM_Q4_K, q4_K_rl, RL_ROWS, RL_TOKS);
    SET(LLM_Q5_K, q5_K_rl, RL_ROWS, RL_TOKS);
    SET(LLM_Q6_K, q6_K_rl, RL_ROWS, RL_TOKS);
    k->matvec[LLM_Q4_0] = (kq_tile){ matvec_q4_0_rl_avx2, RL_ROWS, 1 };
    k->matvec[LLM_Q8_0] = (kq_tile){ matvec_q8_0_rl_avx2, RL_ROWS, 1 };
    k->matvec[LLM_Q4_K] = (kq_tile){ matvec_q4_K_rl_avx2, RL_ROWS, 1 };
    k->matvec[LLM_Q5_K] = (kq_tile){ matvec_q5_K_rl_avx2, RL_ROWS, 1 };
    k->matvec[LLM_Q6_K] = (kq_tile){ matvec_q6_K_rl_avx2, RL_ROWS, 1 };
    SET_MV(LLM_Q4_1, q4_1_q8_1);
    SET_MV(LLM_Q5_0, q5_0_q8_0);
    SET_MV(LLM_Q5_1, q5_1_q8_1);
#undef SET_MV
#undef SET
}

#endif
