/*
 * quant.c — tensor element types: block layouts, the scalar reference
 * kernels (the truth every SIMD kernel is tested against), the type-traits
 * table and the run-time ISA dispatch.
 *
 * Reference quantisers reproduce ggml's quantize_row_*_ref byte for byte
 * (same algorithms, same float operation order: the Makefile's -std=c11
 * keeps GCC from contracting a*b+c into FMAs, as ggml's own build does on
 * x86 without -mfma). The scalar dot products are exact in integers per
 * block and then scale in float; they need not match ggml's bit for bit,
 * only be the deterministic truth here.
 *
 * Block layouts (bytes; d/dmin/m/s are IEEE halves):
 *
 *   Q4_0  | d:2 | qs:16  (x[j] = lo nibble, x[j+16] = hi nibble)  18 / 32
 *   Q4_1  | d:2 | m:2 | qs:16                                     20 / 32
 *   Q5_0  | d:2 | qh:4 | qs:16  (bit 4 of x[j] in qh bit j)       22 / 32
 *   Q5_1  | d:2 | m:2 | qh:4 | qs:16                              24 / 32
 *   Q8_0  | d:2 | qs:32 (int8)                                    34 / 32
 *   Q8_1  | d:2 | s:2 (= d * sum qs) | qs:32                      36 / 32
 *   Q2_K  | scales:16 | qs:64 | d:2 | dmin:2                      84 / 256
 *   Q3_K  | hmask:32 | qs:64 | scales:12 | d:2                   110 / 256
 *   Q4_K  | d:2 | dmin:2 | scales:12 (8x 6-bit sc + 8x 6-bit m) | qs:128
 *                                                               144 / 256
 *   Q5_K  | d:2 | dmin:2 | scales:12 | qh:32 | qs:128            176 / 256
 *   Q6_K  | ql:128 | qh:64 | scales:16 (int8) | d:2             210 / 256
 *   Q8_K  | d:4 (float) | qs:256 | bsums:16 x int16             292 / 256
 */
#include "quant_impl.h"

#include <assert.h>
#if WM_KQ_HAVE_X86
#include <cpuid.h>
#endif
#include <float.h>
#include <math.h>
#if WM_ENABLE_THREADS
#include <pthread.h>
#endif
#include <stdatomic.h>
#include <strings.h>

static_assert(sizeof(block_q4_0) == 2 + QK4_0 / 2, "q4_0 layout");
static_assert(sizeof(block_q4_1) == 4 + QK4_1 / 2, "q4_1 layout");
static_assert(sizeof(block_q5_0) == 2 + 4 + QK5_0 / 2, "q5_0 layout");
static_assert(sizeof(block_q5_1) == 4 + 4 + QK5_1 / 2, "q5_1 layout");
static_assert(sizeof(block_q8_0) == 2 + QK8_0, "q8_0 layout");
static_assert(sizeof(block_q8_1) == 4 + QK8_1, "q8_1 layout");
static_assert(sizeof(block_q2_K) == 4 + QK_K / 16 + QK_K / 4, "q2_K layout");
static_assert(sizeof(block_q3_K) == 2 + QK_K / 4 + QK_K / 8 + 12,
              "q3_K layout");
static_assert(sizeof(block_q4_K) == 4 + K_SCALE_SIZE + QK_K / 2,
              "q4_K layout");
static_assert(sizeof(block_q5_K) == 4 + K_SCALE_SIZE + QK_K / 2 + QK_K / 8,
              "q5_K layout");
static_assert(sizeof(block_q6_K) == 2 + QK_K / 16 + 3 * QK_K / 4,
              "q6_K layout");
static_assert(sizeof(block_q8_K) == 4 + QK_K + QK_K / 16 * 2, "q8_K layout");

#define KQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KQ_MAX(a, b) ((a) > (b) ? (a) : (b))
#define GROUP_MAX_EPS 1e-15f

/* ==== Half and bfloat16 conversions ==================================== */

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/*
 * IEEE half -> float, exact. NaNs keep their payload and become quiet
 * (bit 22 set), which is what F16C's vcvtph2ps does, so the scalar and
 * SIMD row conversions agree on every one of the 65536 inputs.
 */
float llm_f16_to_f32(llm_f16 h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) {
        float v = (float)mant * 0x1p-24f;  /* zero or subnormal: exact */
        return bits_f32(f32_bits(v) | sign);
    }
    if (exp == 31)
        return bits_f32(sign | 0x7f800000 | (mant << 13) |
                        (mant ? 0x400000u : 0));
    return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

/*
 * Float -> IEEE half, round to nearest even, overflow to infinity,
 * gradual underflow; NaN -> quiet NaN keeping the top payload bits (as
 * F16C's vcvtps2ph with rounding mode 0).
 */
llm_f16 llm_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffff;
    if (ax >= 0x7f800000) {
        if (ax == 0x7f800000) return (llm_f16)(sign | 0x7c00);
        return (llm_f16)(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
    }
    if (ax >= 0x477ff000) return (llm_f16)(sign | 0x7c00); /* >= 65520 */
    if (ax < 0x38800000) {                         /* below 2^-14: subnormal */
        uint32_t e = ax >> 23;
        if (e < 102) return (llm_f16)sign;         /* < 2^-25: rounds to 0 */
        uint32_t m = (ax & 0x7fffff) | 0x800000;
        uint32_t s = 126 - e;                      /* 14..24 */
        uint32_t q = m >> s, rem = m & ((1u << s) - 1), half = 1u << (s - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (llm_f16)(sign | q);
    }
    uint32_t h = ((((ax >> 23) - 112) << 10) | ((ax >> 13) & 0x3ff));
    uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (llm_f16)(sign | h);
}

float llm_bf16_to_f32(llm_bf16 h)
{
    return bits_f32((uint32_t)h << 16);
}

/* Round to nearest even; NaN stays NaN (forced quiet), as ggml. */
llm_bf16 llm_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000) return (llm_bf16)((u >> 16) | 64);
    return (llm_bf16)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

static void f16_to_f32_row_ref(const llm_f16 *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = llm_f16_to_f32(src[i]);
}

static void f32_to_f16_row_ref(const float *src, llm_f16 *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = llm_f32_to_f16(src[i]);
}

/* Packed blocks have 2-byte alignment at best inside a row; read halves
 * through memcpy-free struct fields (the structs are naturally aligned for
 * uint16_t) — rows start at any multiple of the block size, which keeps
 * uint16_t alignment because every block size is even. */
#define H2F(h) llm_f16_to_f32(h)
#define F2H(f) llm_f32_to_f16(f)

/* ==== Plain float types ================================================ */

static void to_float_f32(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static void from_float_f32(const float *src, void *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static void to_float_f16(const void *src, float *dst, int64_t n)
{
    llm_f16_to_f32_row(src, dst, n);
}

static void from_float_f16_ref(const float *src, void *dst, int64_t n)
{
    f32_to_f16_row_ref(src, dst, n);
}

static void from_float_f16(const float *src, void *dst, int64_t n)
{
    llm_f32_to_f16_row(src, dst, n);
}

static void to_float_bf16(const void *src, float *dst, int64_t n)
{
    const llm_bf16 *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = llm_bf16_to_f32(s[i]);
}

static void from_float_bf16(const float *src, void *dst, int64_t n)
{
    llm_bf16 *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = llm_f32_to_bf16(src[i]);
}

/* Float dot products accumulate in double: the reference is meant to be
 * the most accurate, not the fastest. */
static void vec_dot_f32_ref(int n, float *s, const void *vx, const void *vy)
{
    const float *x = vx, *y = vy;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (double)x[i] * (double)y[i];
    *s = (float)sum;
}

static void vec_dot_f16_ref(int n, float *s, const void *vx, const void *vy)
{
    const llm_f16 *x = vx, *y = vy;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)H2F(x[i]) * (double)H2F(y[i]);
    *s = (float)sum;
}

static void vec_dot_bf16_ref(int n, float *s, const void *vx, const void *vy)
{
    const llm_bf16 *x = vx, *y = vy;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)llm_bf16_to_f32(x[i]) * (double)llm_bf16_to_f32(y[i]);
    *s = (float)sum;
}

/* ==== 32-element block types =========================================== */

static void quantize_q4_0_ref(const float *x, void *vy, int64_t k)
{
    block_q4_0 *y = vy;
    const int64_t nb = k / QK4_0;
    for (int64_t i = 0; i < nb; i++, x += QK4_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; j++) {
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            const float x0 = x[j] * id, x1 = x[QK4_0 / 2 + j] * id;
            const uint8_t xi0 = (uint8_t)KQ_MIN(15, (int8_t)(x0 + 8.5f));
            const uint8_t xi1 = (uint8_t)KQ_MIN(15, (int8_t)(x1 + 8.5f));
            y[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

static void dequantize_q4_0(const void *vx, float *y, int64_t k)
{
    const block_q4_0 *x = vx;
    for (int64_t i = 0; i < k / QK4_0; i++, y += QK4_0) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = (float)((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + QK4_0 / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void quantize_q4_1_ref(const float *x, void *vy, int64_t k)
{
    block_q4_1 *y = vy;
    for (int64_t i = 0; i < k / QK4_1; i++, x += QK4_1) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK4_1; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / ((1 << 4) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        y[i].m = F2H(min);
        for (int j = 0; j < QK4_1 / 2; j++) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[QK4_1 / 2 + j] - min) * id;
            const uint8_t xi0 = (uint8_t)KQ_MIN(15, (int8_t)(x0 + 0.5f));
            const uint8_t xi1 = (uint8_t)KQ_MIN(15, (int8_t)(x1 + 0.5f));
            y[i].qs[j] = (uint8_t)(xi0 | (xi1 << 4));
        }
    }
}

static void dequantize_q4_1(const void *vx, float *y, int64_t k)
{
    const block_q4_1 *x = vx;
    for (int64_t i = 0; i < k / QK4_1; i++, y += QK4_1) {
        const float d = H2F(x[i].d), m = H2F(x[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = (float)(x[i].qs[j] & 0x0F) * d + m;
            y[j + QK4_1 / 2] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

static void quantize_q5_0_ref(const float *x, void *vy, int64_t k)
{
    block_q5_0 *y = vy;
    for (int64_t i = 0; i < k / QK5_0; i++, x += QK5_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK5_0; j++) {
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        }
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_0 / 2; j++) {
            const float x0 = x[j] * id, x1 = x[QK5_0 / 2 + j] * id;
            const uint8_t xi0 = (uint8_t)KQ_MIN(31, (int8_t)(x0 + 16.5f));
            const uint8_t xi1 = (uint8_t)KQ_MIN(31, (int8_t)(x1 + 16.5f));
            y[i].qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
            qh |= ((xi1 & 0x10u) >> 4) << (j + QK5_0 / 2);
        }
        memcpy(y[i].qh, &qh, sizeof qh);
    }
}

static void dequantize_q5_0(const void *vx, float *y, int64_t k)
{
    const block_q5_0 *x = vx;
    for (int64_t i = 0; i < k / QK5_0; i++, y += QK5_0) {
        const float d = H2F(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof qh);
        for (int j = 0; j < QK5_0 / 2; j++) {
            const int xh0 = (int)(((qh >> (j + 0)) << 4) & 0x10);
            const int xh1 = (int)((qh >> (j + 12)) & 0x10);
            y[j] = (float)(((x[i].qs[j] & 0x0F) | xh0) - 16) * d;
            y[j + QK5_0 / 2] = (float)(((x[i].qs[j] >> 4) | xh1) - 16) * d;
        }
    }
}

static void quantize_q5_1_ref(const float *x, void *vy, int64_t k)
{
    block_q5_1 *y = vy;
    for (int64_t i = 0; i < k / QK5_1; i++, x += QK5_1) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK5_1; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / ((1 << 5) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        y[i].m = F2H(min);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_1 / 2; j++) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[QK5_1 / 2 + j] - min) * id;
            const uint8_t xi0 = (uint8_t)(x0 + 0.5f);
            const uint8_t xi1 = (uint8_t)(x1 + 0.5f);
            y[i].qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
            qh |= ((xi1 & 0x10u) >> 4) << (j + QK5_1 / 2);
        }
        memcpy(y[i].qh, &qh, sizeof qh);
    }
}

static void dequantize_q5_1(const void *vx, float *y, int64_t k)
{
    const block_q5_1 *x = vx;
    for (int64_t i = 0; i < k / QK5_1; i++, y += QK5_1) {
        const float d = H2F(x[i].d), m = H2F(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof qh);
        for (int j = 0; j < QK5_1 / 2; j++) {
            const int xh0 = (int)(((qh >> (j + 0)) << 4) & 0x10);
            const int xh1 = (int)((qh >> (j + 12)) & 0x10);
            y[j] = (float)((x[i].qs[j] & 0x0F) | xh0) * d + m;
            y[j + QK5_1 / 2] = (float)((x[i].qs[j] >> 4) | xh1) * d + m;
        }
    }
}

static void quantize_q8_0_ref(const float *x, void *vy, int64_t k)
{
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / QK8_0; i++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = KQ_MAX(amax, fabsf(x[j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

static void dequantize_q8_0(const void *vx, float *y, int64_t k)
{
    const block_q8_0 *x = vx;
    for (int64_t i = 0; i < k / QK8_0; i++, y += QK8_0) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

static void quantize_q8_1_ref(const float *x, void *vy, int64_t k)
{
    block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / QK8_1; i++, x += QK8_1) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; j++) amax = KQ_MAX(amax, fabsf(x[j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        int sum = 0;
        for (int j = 0; j < QK8_1 / 2; j++) {
            y[i].qs[j] = (int8_t)roundf(x[j] * id);
            y[i].qs[QK8_1 / 2 + j] = (int8_t)roundf(x[QK8_1 / 2 + j] * id);
            sum += y[i].qs[j] + y[i].qs[QK8_1 / 2 + j];
        }
        y[i].s = F2H((float)sum * d);
    }
}

static void dequantize_q8_1(const void *vx, float *y, int64_t k)
{
    const block_q8_1 *x = vx;
    for (int64_t i = 0; i < k / QK8_1; i++, y += QK8_1) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < QK8_1; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

/* x (n,) Q4_0 . y (n,) Q8_0 */
static void vec_dot_q4_0_q8_0_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0;
    for (int ib = 0; ib < n / QK8_0; ib++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0 / 2; j++) {
            sumi += ((x[ib].qs[j] & 0x0F) - 8) * y[ib].qs[j];
            sumi += ((x[ib].qs[j] >> 4) - 8) * y[ib].qs[j + QK8_0 / 2];
        }
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * (float)sumi;
    }
    *s = sumf;
}

static void vec_dot_q4_1_q8_1_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    float sumf = 0;
    for (int ib = 0; ib < n / QK8_1; ib++) {
        int sumi = 0;
        for (int j = 0; j < QK8_1 / 2; j++) {
            sumi += (x[ib].qs[j] & 0x0F) * y[ib].qs[j];
            sumi += (x[ib].qs[j] >> 4) * y[ib].qs[j + QK8_1 / 2];
        }
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * (float)sumi +
                H2F(x[ib].m) * H2F(y[ib].s);
    }
    *s = sumf;
}

static void vec_dot_q5_0_q8_0_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0;
    for (int ib = 0; ib < n / QK8_0; ib++) {
        uint32_t qh;
        memcpy(&qh, x[ib].qh, sizeof qh);
        int sumi = 0;
        for (int j = 0; j < QK8_0 / 2; j++) {
            const int xh0 = (int)(((qh >> (j + 0)) << 4) & 0x10);
            const int xh1 = (int)((qh >> (j + 12)) & 0x10);
            sumi += (((x[ib].qs[j] & 0x0F) | xh0) - 16) * y[ib].qs[j];
            sumi += (((x[ib].qs[j] >> 4) | xh1) - 16) *
                    y[ib].qs[j + QK8_0 / 2];
        }
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * (float)sumi;
    }
    *s = sumf;
}

static void vec_dot_q5_1_q8_1_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    float sumf = 0;
    for (int ib = 0; ib < n / QK8_1; ib++) {
        uint32_t qh;
        memcpy(&qh, x[ib].qh, sizeof qh);
        int sumi = 0;
        for (int j = 0; j < QK8_1 / 2; j++) {
            const int xh0 = (int)(((qh >> (j + 0)) << 4) & 0x10);
            const int xh1 = (int)((qh >> (j + 12)) & 0x10);
            sumi += ((x[ib].qs[j] & 0x0F) | xh0) * y[ib].qs[j];
            sumi += ((x[ib].qs[j] >> 4) | xh1) * y[ib].qs[j + QK8_1 / 2];
        }
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * (float)sumi +
                H2F(x[ib].m) * H2F(y[ib].s);
    }
    *s = sumf;
}

static void vec_dot_q8_0_q8_0_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q8_0 *x = vx;
    const block_q8_0 *y = vy;
    float sumf = 0;
    for (int ib = 0; ib < n / QK8_0; ib++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++) sumi += x[ib].qs[j] * y[ib].qs[j];
        sumf += (H2F(x[ib].d) * H2F(y[ib].d)) * (float)sumi;
    }
    *s = sumf;
}

/* ==== K-quant helpers (ggml's scale searches) ========================== */

/* Round to nearest, ties to even, for |fval| <= 2^22: adding 1.5 * 2^23
 * leaves the rounded integer in the low mantissa bits. */
static inline int nearest_int(float fval)
{
    assert(fabsf(fval) <= 4194303.f);
    float val = fval + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/*
 * Symmetric quantisation of n values to [-nmax, nmax-1] (L holds l+nmax)
 * with a weighted least-squares scale search over 18 candidate inverse
 * scales around -nmax/max (ggml make_qx_quants; Q6_K uses rmse_type 1,
 * weights x^2). Returns the scale.
 */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L,
                            int rmse_type, const float *qw)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    float iscale = (float)-nmax / max;
    if (rmse_type == 0) {
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            L[i] = (int8_t)(nmax + KQ_MAX(-nmax, KQ_MIN(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    bool return_early = false;
    if (rmse_type < 0) { rmse_type = -rmse_type; return_early = true; }
#define QX_WEIGHT(i)                                                        \
    (qw ? qw[i] : rmse_type == 1 ? x[i] * x[i] : rmse_type == 2 ? 1         \
     : rmse_type == 3 ? fabsf(x[i]) : sqrtf(fabsf(x[i])))
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = KQ_MAX(-nmax, KQ_MIN(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        float w = QX_WEIGHT(i);
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    if (return_early)
        return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = KQ_MAX(-nmax, KQ_MIN(nmax - 1, l));
            float w = QX_WEIGHT(i);
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + KQ_MAX(-nmax, KQ_MIN(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
#undef QX_WEIGHT
    return scale;
}

/*
 * Q3_K's sub-block quantiser (ggml make_q3_quants with do_rmse): start
 * from round(x * -nmax/max), then up to 5 passes of coordinate descent,
 * each moving single quants when that improves the x^2-weighted fit.
 */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L,
                            bool do_rmse)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    float iscale = (float)-nmax / max;
    if (do_rmse) {
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = KQ_MAX(-nmax, KQ_MIN(nmax - 1, l));
            L[i] = (int8_t)l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        for (int itry = 0; itry < 5; itry++) {
            int n_changed = 0;
            for (int i = 0; i < n; i++) {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * (float)L[i];
                if (slx > 0) {
                    float sl2 = suml2 - w * (float)L[i] * (float)L[i];
                    int new_l = nearest_int(x[i] * sl2 / slx);
                    new_l = KQ_MAX(-nmax, KQ_MIN(nmax - 1, new_l));
                    if (new_l != L[i]) {
                        slx += w * x[i] * (float)new_l;
                        sl2 += w * (float)new_l * (float)new_l;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            L[i] = (int8_t)new_l;
                            sumlx = slx;
                            suml2 = sl2;
                            n_changed++;
                        }
                    }
                }
            }
            if (!n_changed) break;
        }
        for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = KQ_MAX(-nmax, KQ_MIN(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
    }
    return 1 / iscale;
}

/*
 * Asymmetric quantisation x ~ scale * L - the_min, L in [0, nmax]
 * (ggml make_qkx2_quants): start from the min/max grid, then try nstep+1
 * inverse scales (nmax + rmin + rdelta*is)/(max - min), solving the
 * weighted least-squares scale and offset for each candidate rounding and
 * keeping the best by weighted squared (or absolute, use_mad) error.
 */
static float make_qkx2_quants(int n, int nmax, const float *x,
                              const float *weights, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin,
                              float rdelta, int nstep, bool use_mad)
{
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)KQ_MAX(0, KQ_MIN(nmax, l));
        float diff = scale * (float)L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - min));
            l = KQ_MAX(0, KQ_MIN(nmax, l));
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * (float)Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; i++) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* Q4_K/Q5_K scales: 8 six-bit scales and 8 six-bit mins in 12 bytes.
 *   bytes 0..3:  sc[0..3] low 6 bits | sc[4..7] bits 4-5 in bits 6-7
 *   bytes 4..7:  m[0..3]  low 6 bits | m[4..7]  bits 4-5 in bits 6-7
 *   bytes 8..11: sc[4..7] low 4 bits | m[4..7] low 4 bits << 4 */
static inline void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d,
                                    uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/* The 16 signed 6-bit Q3_K scales (already minus 32). */
static void q3_k_scales(const uint8_t *s12, int8_t *out)
{
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? (s12[j] & 0xF) : (s12[j - 8] >> 4);
        int hi = (s12[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

/* ==== Q2_K ============================================================= */

static void quantize_q2_K_ref(const float *x, void *vy, int64_t k)
{
    block_q2_K *y = vy;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[QK_K / 16], scales[QK_K / 16];
    const float q4scale = 15.f;
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights,
                                         L + 16 * j, &mins[j], Laux, -0.5f,
                                         0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            float iscale = q4scale / max_scale;
            for (int j = 0; j < QK_K / 16; j++)
                y[i].scales[j] = (uint8_t)nearest_int(iscale * scales[j]);
            y[i].d = F2H(max_scale / q4scale);
        } else {
            for (int j = 0; j < QK_K / 16; j++) y[i].scales[j] = 0;
            y[i].d = F2H(0.f);
        }
        if (max_min > 0) {
            float iscale = q4scale / max_min;
            for (int j = 0; j < QK_K / 16; j++) {
                int l = nearest_int(iscale * mins[j]);
                y[i].scales[j] = (uint8_t)(y[i].scales[j] | (l << 4));
            }
            y[i].dmin = F2H(max_min / q4scale);
        } else {
            y[i].dmin = F2H(0.f);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            const float d = H2F(y[i].d) * (float)(y[i].scales[j] & 0xF);
            if (!d) continue;
            const float dm = H2F(y[i].dmin) * (float)(y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ii++) {
                int l = nearest_int((x[16 * j + ii] + dm) / d);
                L[16 * j + ii] = (uint8_t)KQ_MAX(0, KQ_MIN(3, l));
            }
        }
        for (int j = 0; j < QK_K; j += 128)
            for (int l = 0; l < 32; l++)
                y[i].qs[j / 4 + l] =
                    (uint8_t)(L[j + l] | (L[j + l + 32] << 2) |
                              (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
}

/* Element e of a Q2_K/Q3_K block: sub-block (scale) e/16, 2-bit quant in
 * qs[(e/128)*32 + e%32] at bit 2*((e%128)/32). */
static inline int q2_bits(const uint8_t *qs, int e)
{
    return (qs[(e / 128) * 32 + (e % 32)] >> (2 * ((e % 128) / 32))) & 3;
}

static void dequantize_q2_K(const void *vx, float *y, int64_t k)
{
    const block_q2_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; i++, y += QK_K) {
        const float d = H2F(x[i].d), min = H2F(x[i].dmin);
        for (int e = 0; e < QK_K; e++) {
            uint8_t sc = x[i].scales[e / 16];
            const float dl = d * (float)(sc & 0xF), ml = min * (float)(sc >> 4);
            y[e] = dl * (float)q2_bits(x[i].qs, e) - ml;
        }
    }
}

static void vec_dot_q2_K_q8_K_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / QK_K; i++) {
        /* element n*128 + 32j + 16h + l: 2 bits at qs[n*32 + 16h + l]
         * >> 2j, scale (n*128 + 32j + 16h) / 16 = is */
        const uint8_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int sumi = 0, summ = 0, is = 0;
        for (int nn = 0; nn < QK_K / 128; nn++, q2 += 32) {
            for (int j = 0; j < 4; j++, q8 += 32) {
                for (int h = 0; h < 2; h++, is++) {
                    int sub = 0;
                    for (int l = 0; l < 16; l++)
                        sub += ((q2[16 * h + l] >> (2 * j)) & 3) *
                               q8[16 * h + l];
                    sumi += (x[i].scales[is] & 0xF) * sub;
                }
            }
        }
        for (int sb = 0; sb < 16; sb++)
            summ += (x[i].scales[sb] >> 4) * y[i].bsums[sb];
        sumf += y[i].d * (H2F(x[i].d) * (float)sumi -
                          H2F(x[i].dmin) * (float)summ);
    }
    *s = sumf;
}

/* ==== Q3_K ============================================================= */

static void quantize_q3_K_ref(const float *x, void *vy, int64_t k)
{
    block_q3_K *y = vy;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
            float scale = fabsf(scales[j]);
            if (scale > amax) { amax = scale; max_scale = scales[j]; }
        }
        memset(y[i].scales, 0, 12);
        if (max_scale) {
            float iscale = -32.f / max_scale;
            for (int j = 0; j < QK_K / 16; j++) {
                int8_t l = (int8_t)nearest_int(iscale * scales[j]);
                l = (int8_t)(KQ_MAX(-32, KQ_MIN(31, l)) + 32);
                if (j < 8) y[i].scales[j] = (uint8_t)(l & 0xF);
                else y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                l >>= 4;
                y[i].scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
            }
            y[i].d = F2H(1 / iscale);
        } else {
            y[i].d = F2H(0.f);
        }
        int8_t sc[16];
        q3_k_scales(y[i].scales, sc);
        for (int j = 0; j < QK_K / 16; j++) {
            float d = H2F(y[i].d) * (float)sc[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = nearest_int(x[16 * j + ii] / d);
                l = KQ_MAX(-4, KQ_MIN(3, l));
                L[16 * j + ii] = (int8_t)(l + 4);
            }
        }
        memset(y[i].hmask, 0, QK_K / 8);
        int m = 0;
        uint8_t hm = 1;
        for (int j = 0; j < QK_K; j++) {
            if (L[j] > 3) {
                y[i].hmask[m] |= hm;
                L[j] = (int8_t)(L[j] - 4);
            }
            if (++m == QK_K / 8) { m = 0; hm = (uint8_t)(hm << 1); }
        }
        for (int j = 0; j < QK_K; j += 128)
            for (int l = 0; l < 32; l++)
                y[i].qs[j / 4 + l] =
                    (uint8_t)(L[j + l] | (L[j + l + 32] << 2) |
                              (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
}

/* Signed 3-bit quant of element e: 2 low bits as Q2_K, minus 4 unless the
 * high bit (hmask[e%32] bit e/32) is set. */
static inline int q3_val(const block_q3_K *b, int e)
{
    int hi = (b->hmask[e % 32] >> (e / 32)) & 1;
    return q2_bits(b->qs, e) - (hi ? 0 : 4);
}

static void dequantize_q3_K(const void *vx, float *y, int64_t k)
{
    const block_q3_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; i++, y += QK_K) {
        const float d_all = H2F(x[i].d);
        int8_t sc[16];
        q3_k_scales(x[i].scales, sc);
        for (int e = 0; e < QK_K; e++)
            y[e] = d_all * (float)sc[e / 16] * (float)q3_val(&x[i], e);
    }
}

static void vec_dot_q3_K_q8_K_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int8_t sc[16];
        q3_k_scales(x[i].scales, sc);
        /* as Q2_K, plus the high bit: hmask[16h + l] bit 4n + j */
        const uint8_t *q3 = x[i].qs, *hm = x[i].hmask;
        const int8_t *q8 = y[i].qs;
        int sumi = 0, is = 0, bit = 0;
        for (int nn = 0; nn < QK_K / 128; nn++, q3 += 32) {
            for (int j = 0; j < 4; j++, q8 += 32, bit++) {
                for (int h = 0; h < 2; h++, is++) {
                    int sub = 0;
                    for (int l = 0; l < 16; l++) {
                        int v = ((q3[16 * h + l] >> (2 * j)) & 3) -
                                (((hm[16 * h + l] >> bit) & 1) ? 0 : 4);
                        sub += v * q8[16 * h + l];
                    }
                    sumi += sc[is] * sub;
                }
            }
        }
        sumf += (H2F(x[i].d) * y[i].d) * (float)sumi;
    }
    *s = sumf;
}

/* ==== Q4_K / Q5_K ====================================================== */

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31): per 32-element sub-block
 * an asymmetric search, then 6-bit scales/mins relative to the block
 * maxima, then requantisation with the rounded scales. */
static void quantize_k_asym(const float *x, int nmax, float rmin, int nstep,
                            llm_f16 *out_d, llm_f16 *out_dmin,
                            uint8_t *out_scales, uint8_t *L)
{
    uint8_t Laux[32];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j,
                                     &mins[j], Laux, rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
        ls = KQ_MIN(63, ls);
        lm = KQ_MIN(63, lm);
        if (j < 4) {
            out_scales[j] = ls;
            out_scales[j + 4] = lm;
        } else {
            out_scales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            out_scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
            out_scales[j - 0] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *out_d = F2H(max_scale / 63.f);
    *out_dmin = F2H(max_min / 63.f);
    uint8_t sc, m;
    for (int j = 0; j < QK_K / 32; j++) {
        get_scale_min_k4(j, out_scales, &sc, &m);
        const float d = H2F(*out_d) * (float)sc;
        if (!d) continue;
        const float dm = H2F(*out_dmin) * (float)m;
        for (int ii = 0; ii < 32; ii++) {
            int l = nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)KQ_MAX(0, KQ_MIN(nmax, l));
        }
    }
}

static void quantize_q4_K_ref(const float *x, void *vy, int64_t k)
{
    block_q4_K *y = vy;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        quantize_k_asym(x, 15, -1.f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < QK_K; j += 64, q += 32)
            for (int l = 0; l < 32; l++)
                q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

static void dequantize_q4_K(const void *vx, float *y, int64_t k)
{
    const block_q4_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const uint8_t *q = x[i].qs;
        const float d = H2F(x[i].d), min = H2F(x[i].dmin);
        uint8_t sc, m;
        for (int j = 0, is = 0; j < QK_K; j += 64, q += 32, is += 2) {
            get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = min * (float)m;
            get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = min * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/* Sum over sub-blocks of scale * (q . q8) in int32, mins via bsums. */
static void vec_dot_q4_K_q8_K_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int sumi = 0, summ = 0;
        const uint8_t *q = x[i].qs;
        const int8_t *q8 = y[i].qs;
        for (int j = 0; j < QK_K / 64; j++, q += 32, q8 += 64) {
            uint8_t sc1, m1, sc2, m2;
            get_scale_min_k4(2 * j, x[i].scales, &sc1, &m1);
            get_scale_min_k4(2 * j + 1, x[i].scales, &sc2, &m2);
            int s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                s1 += (q[l] & 0xF) * q8[l];
                s2 += (q[l] >> 4) * q8[l + 32];
            }
            sumi += sc1 * s1 + sc2 * s2;
            summ += m1 * (y[i].bsums[4 * j] + y[i].bsums[4 * j + 1]) +
                    m2 * (y[i].bsums[4 * j + 2] + y[i].bsums[4 * j + 3]);
        }
        sumf += y[i].d * (H2F(x[i].d) * (float)sumi -
                          H2F(x[i].dmin) * (float)summ);
    }
    *s = sumf;
}

static void quantize_q5_K_ref(const float *x, void *vy, int64_t k)
{
    block_q5_K *y = vy;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        quantize_k_asym(x, 31, -0.5f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *qh = y[i].qh, *ql = y[i].qs;
        memset(qh, 0, QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < QK_K; n += 64, ql += 32) {
            for (int j = 0; j < 32; j++) {
                int l1 = L[n + j];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                int l2 = L[n + j + 32];
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
            m1 = (uint8_t)(m1 << 2);
            m2 = (uint8_t)(m2 << 2);
        }
    }
}

static void dequantize_q5_K(const void *vx, float *y, int64_t k)
{
    const block_q5_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const float d = H2F(x[i].d), min = H2F(x[i].dmin);
        uint8_t sc, m, u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < QK_K; j += 64, ql += 32, is += 2) {
            get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = min * (float)m;
            get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = min * (float)m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            u1 = (uint8_t)(u1 << 2);
            u2 = (uint8_t)(u2 << 2);
        }
    }
}

static void vec_dot_q5_K_q8_K_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / QK_K; i++) {
        int sumi = 0, summ = 0;
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        for (int j = 0; j < QK_K / 64; j++, ql += 32, q8 += 64) {
            uint8_t sc1, m1, sc2, m2;
            get_scale_min_k4(2 * j, x[i].scales, &sc1, &m1);
            get_scale_min_k4(2 * j + 1, x[i].scales, &sc2, &m2);
            int s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                int v1 = (ql[l] & 0xF) | (((qh[l] >> (2 * j)) & 1) << 4);
                int v2 = (ql[l] >> 4) | (((qh[l] >> (2 * j + 1)) & 1) << 4);
                s1 += v1 * q8[l];
                s2 += v2 * q8[l + 32];
            }
            sumi += sc1 * s1 + sc2 * s2;
            summ += m1 * (y[i].bsums[4 * j] + y[i].bsums[4 * j + 1]) +
                    m2 * (y[i].bsums[4 * j + 2] + y[i].bsums[4 * j + 3]);
        }
        sumf += y[i].d * (H2F(x[i].d) * (float)sumi -
                          H2F(x[i].dmin) * (float)summ);
    }
    *s = sumf;
}

/* ==== Q6_K ============================================================= */

static void quantize_q6_K_ref(const float *x, void *vy, int64_t k)
{
    block_q6_K *y = vy;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ib++) {
            const float scale = make_qx_quants(16, 32, x + 16 * ib,
                                               L + 16 * ib, 1, NULL);
            scales[ib] = scale;
            const float abs_scale = fabsf(scale);
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            y[i].d = F2H(0.f);
            continue;
        }
        float iscale = -128.f / max_scale;
        y[i].d = F2H(1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ib++)
            y[i].scales[ib] =
                (int8_t)KQ_MIN(127, nearest_int(iscale * scales[ib]));
        for (int j = 0; j < QK_K / 16; j++) {
            float d = H2F(y[i].d) * (float)y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = nearest_int(x[16 * j + ii] / d);
                l = KQ_MAX(-32, KQ_MIN(31, l));
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const uint8_t q1 = L[j + l + 0] & 0xF;
                const uint8_t q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF;
                const uint8_t q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = (uint8_t)(q1 | (q3 << 4));
                ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                  ((L[j + l + 64] >> 4) << 4) |
                                  ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}

/* 6-bit quant of element e (0..63, subtract 32 for the signed value). */
static inline int q6_val(const block_q6_K *b, int e)
{
    const int n = e / 128, r = e % 128, l = r % 32, quarter = r / 32;
    const uint8_t ql = b->ql[n * 64 + l + (quarter & 1) * 32];
    const int lo = (quarter & 2) ? (ql >> 4) : (ql & 0xF);
    const int hi = (b->qh[n * 32 + l] >> (2 * quarter)) & 3;
    return lo | (hi << 4);
}

static void dequantize_q6_K(const void *vx, float *y, int64_t k)
{
    const block_q6_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; i++, y += QK_K) {
        const float d = H2F(x[i].d);
        for (int e = 0; e < QK_K; e++)
            y[e] = d * (float)x[i].scales[e / 16] * (float)(q6_val(&x[i], e) - 32);
    }
}

static void vec_dot_q6_K_q8_K_ref(int n, float *s, const void *vx,
                                  const void *vy)
{
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / QK_K; i++) {
        /* per 128 elements: quarter k of 32 takes ql[l + 32*(k&1)]'s low
         * (k < 2) or high nibble and qh[l] bits 2k..2k+1; scale index
         * 8*chunk + 2k + l/16 (see q6_val) */
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales, *q8 = y[i].qs;
        int sumi = 0;
        for (int nn = 0; nn < QK_K / 128; nn++) {
            int sub[8] = {0};
            for (int is = 0; is < 2; is++)      /* l / 16, kept constant */
            for (int l = 16 * is; l < 16 * is + 16; l++) {
                const int v1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                const int v2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int v3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int v4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                sub[is + 0] += v1 * q8[l];
                sub[is + 2] += v2 * q8[l + 32];
                sub[is + 4] += v3 * q8[l + 64];
                sub[is + 6] += v4 * q8[l + 96];
            }
            for (int k = 0; k < 8; k++) sumi += sc[k] * sub[k];
            ql += 64;
            qh += 32;
            sc += 8;
            q8 += 128;
        }
        sumf += (H2F(x[i].d) * y[i].d) * (float)sumi;
    }
    *s = sumf;
}

/* ==== Q8_K ============================================================= */

/* ggml quantize_row_q8_K_ref; the all-zero block also zeroes bsums (ggml
 * leaves them unwritten). */
static void quantize_q8_K_ref(const float *x, void *vy, int64_t k)
{
    block_q8_K *y = vy;
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++) {
            float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)KQ_MIN(127, v);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

static void dequantize_q8_K(const void *vx, float *y, int64_t k)
{
    const block_q8_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; i++, y += QK_K)
        for (int j = 0; j < QK_K; j++) y[j] = x[i].d * (float)x[i].qs[j];
}

/* ==== Traits table and dispatch ======================================== */

#define QT(T, NAME, B, SZ, VDT, TOF, FF, FFR, VD)                            \
    [T] = { .name = NAME, .blck = B, .type_size = SZ, .supported = true,    \
            .vec_dot_type = VDT, .to_float = TOF, .from_float = FF,         \
            .from_float_ref = FFR, .vec_dot = VD }
#define QU(T, NAME, B, SZ)                                                  \
    [T] = { .name = NAME, .blck = B, .type_size = SZ, .supported = false,   \
            .vec_dot_type = LLM_TYPE_COUNT }

static const llm_type_traits TRAITS_REF[LLM_TYPE_COUNT] = {
    QT(LLM_F32, "F32", 1, 4, LLM_F32, to_float_f32, from_float_f32,
       from_float_f32, vec_dot_f32_ref),
    QT(LLM_F16, "F16", 1, 2, LLM_F16, to_float_f16, from_float_f16,
       from_float_f16_ref, vec_dot_f16_ref),
    QT(LLM_Q4_0, "Q4_0", QK4_0, sizeof(block_q4_0), LLM_Q8_0, dequantize_q4_0,
       quantize_q4_0_ref, quantize_q4_0_ref, vec_dot_q4_0_q8_0_ref),
    QT(LLM_Q4_1, "Q4_1", QK4_1, sizeof(block_q4_1), LLM_Q8_1, dequantize_q4_1,
       quantize_q4_1_ref, quantize_q4_1_ref, vec_dot_q4_1_q8_1_ref),
    QT(LLM_Q5_0, "Q5_0", QK5_0, sizeof(block_q5_0), LLM_Q8_0, dequantize_q5_0,
       quantize_q5_0_ref, quantize_q5_0_ref, vec_dot_q5_0_q8_0_ref),
    QT(LLM_Q5_1, "Q5_1", QK5_1, sizeof(block_q5_1), LLM_Q8_1, dequantize_q5_1,
       quantize_q5_1_ref, quantize_q5_1_ref, vec_dot_q5_1_q8_1_ref),
    QT(LLM_Q8_0, "Q8_0", QK8_0, sizeof(block_q8_0), LLM_Q8_0, dequantize_q8_0,
       quantize_q8_0_ref, quantize_q8_0_ref, vec_dot_q8_0_q8_0_ref),
    QT(LLM_Q8_1, "Q8_1", QK8_1, sizeof(block_q8_1), LLM_Q8_1, dequantize_q8_1,
       quantize_q8_1_ref, quantize_q8_1_ref, NULL),
    QT(LLM_Q2_K, "Q2_K", QK_K, sizeof(block_q2_K), LLM_Q8_K, dequantize_q2_K,
       quantize_q2_K_ref, quantize_q2_K_ref, vec_dot_q2_K_q8_K_ref),
    QT(LLM_Q3_K, "Q3_K", QK_K, sizeof(block_q3_K), LLM_Q8_K, dequantize_q3_K,
       quantize_q3_K_ref, quantize_q3_K_ref, vec_dot_q3_K_q8_K_ref),
    QT(LLM_Q4_K, "Q4_K", QK_K, sizeof(block_q4_K), LLM_Q8_K, dequantize_q4_K,
       quantize_q4_K_ref, quantize_q4_K_ref, vec_dot_q4_K_q8_K_ref),
    QT(LLM_Q5_K, "Q5_K", QK_K, sizeof(block_q5_K), LLM_Q8_K, dequantize_q5_K,
       quantize_q5_K_ref, quantize_q5_K_ref, vec_dot_q5_K_q8_K_ref),
    QT(LLM_Q6_K, "Q6_K", QK_K, sizeof(block_q6_K), LLM_Q8_K, dequantize_q6_K,
       quantize_q6_K_ref, quantize_q6_K_ref, vec_dot_q6_K_q8_K_ref),
    QT(LLM_Q8_K, "Q8_K", QK_K, sizeof(block_q8_K), LLM_Q8_K, dequantize_q8_K,
       quantize_q8_K_ref, quantize_q8_K_ref, NULL),
    /* Types we can size but not compute with (ggml numbering). */
    QU(16, "IQ2_XXS", QK_K, 66), QU(17, "IQ2_XS", QK_K, 74),
    QU(18, "IQ3_XXS", QK_K, 98), QU(19, "IQ1_S", QK_K, 50),
    QU(20, "IQ4_NL", 32, 18), QU(21, "IQ3_S", QK_K, 110),
    QU(22, "IQ2_S", QK_K, 82), QU(23, "IQ4_XS", QK_K, 136),
    QU(24, "I8", 1, 1), QU(25, "I16", 1, 2), QU(26, "I32", 1, 4),
    QU(27, "I64", 1, 8), QU(28, "F64", 1, 8), QU(29, "IQ1_M", QK_K, 56),
    QT(LLM_BF16, "BF16", 1, 2, LLM_BF16, to_float_bf16, from_float_bf16,
       from_float_bf16, vec_dot_bf16_ref),
};

/* One table per ISA level, filled once under pthread_once and read-only
 * afterwards; g_level selects the one in use. */
static kq_kernels g_kernels[KQ_LEVEL_COUNT];
static bool g_level_ok[KQ_LEVEL_COUNT];
static _Atomic int g_level = -1;
#if WM_ENABLE_THREADS
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
#endif

static void kernels_fill_scalar(kq_kernels *k)
{
    memcpy(k->traits, TRAITS_REF, sizeof TRAITS_REF);
    memset(k->tile, 0, sizeof k->tile);
    memset(k->matvec, 0, sizeof k->matvec);
    k->isa = "scalar";
    k->f16_to_f32_row = f16_to_f32_row_ref;
    k->f32_to_f16_row = f32_to_f16_row_ref;
}

#if WM_KQ_HAVE_X86
/* AVX-512 F, BW, VL, DQ and VNNI from CPUID leaf 7, and the OS saving
 * the opmask and ZMM state: XCR0 bits 1, 2 (SSE, AVX) and 5-7 (0xE6). */
static bool cpu_has_avx512_vnni(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return false;
    if (__get_cpuid_max(0, NULL) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned need_b = 1u << 16 | 1u << 17 | 1u << 30 | 1u << 31;
    if ((b & need_b) != need_b || !(c & 1u << 11)) return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & 0xE6) == 0xE6;
}
#endif

static void kernels_build(void)
{
    for (int lv = 0; lv < KQ_LEVEL_COUNT; lv++)
        kernels_fill_scalar(&g_kernels[lv]);
    g_level_ok[KQ_SCALAR] = true;
    int best = KQ_SCALAR;
#if WM_KQ_HAVE_X86
    /* F16C straight from CPUID leaf 1 (clang 14's __builtin_cpu_supports
     * has no "f16c"); the AVX2 test there also checks OS YMM support. */
    unsigned a = 0, b = 0, c = 0, d = 0;
    bool f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        f16c) {
        kq_avx2_install(&g_kernels[KQ_AVX2]);
        g_kernels[KQ_AVX2].isa = "avx2";
        g_level_ok[KQ_AVX2] = true;
        best = KQ_AVX2;
        /* AVX-512 on top of the AVX2 table: what it lacks stays AVX2. */
        if (cpu_has_avx512_vnni()) {
            kq_avx2_install(&g_kernels[KQ_AVX512]);
            kq_avx512_install(&g_kernels[KQ_AVX512]);
            g_kernels[KQ_AVX512].isa = "avx512";
            g_level_ok[KQ_AVX512] = true;
            best = KQ_AVX512;
        }
    }
#endif
    atomic_store(&g_level, best);
}

bool kq_test_register(const char *isa, void (*install)(kq_kernels *k))
{
    llm_kernels_init();
    if (!isa || !install) return false;
    for (int lv = 0; lv < KQ_TEST; lv++)
        if (!strcmp(isa, g_kernels[lv].isa)) return false;
    kq_kernels *k = &g_kernels[KQ_TEST];
    kernels_fill_scalar(k);
    install(k);
    k->isa = isa;
    g_level_ok[KQ_TEST] = true;
    return true;
}

const char *llm_kernels_init(void)
{
#if WM_ENABLE_THREADS
    pthread_once(&g_once, kernels_build);
#else
    /* Single-threaded build (config.h): g_level is set last. */
    if (atomic_load(&g_level) < 0) kernels_build();
#endif
    return g_kernels[atomic_load(&g_level)].isa;
}

bool llm_kernels_force(const char *isa)
{
    llm_kernels_init();
    for (int lv = 0; lv < KQ_LEVEL_COUNT; lv++) {
        if (g_level_ok[lv] && isa && !strcmp(isa, g_kernels[lv].isa)) {
            atomic_store(&g_level, lv);
            return true;
        }
    }
    return false;
}

const kq_kernels *kq_active(void)
{
    int lv = atomic_load_explicit(&g_level, memory_order_acquire);
    if (wm_unlikely(lv < 0)) {
        llm_kernels_init();
        lv = atomic_load(&g_level);
    }
    return &g_kernels[lv];
}

const llm_type_traits *llm_traits(llm_type t)
{
    if ((unsigned)t >= LLM_TYPE_COUNT) return NULL;
    const llm_type_traits *tr = &kq_active()->traits[t];
    return tr->name ? tr : NULL;
}

llm_type llm_type_from_name(const char *name)
{
    if (!name) return LLM_TYPE_COUNT;
    for (int t = 0; t < LLM_TYPE_COUNT; t++) {
        const char *n = TRAITS_REF[t].name;
        if (n && !strcasecmp(n, name)) return (llm_type)t;
    }
    return LLM_TYPE_COUNT;
}

size_t llm_row_size(llm_type t, int64_t n)
{
    if ((unsigned)t >= LLM_TYPE_COUNT || n < 0) return 0;
    const llm_type_traits *tr = &TRAITS_REF[t];
    if (!tr->blck || n % tr->blck) return 0;
    return (size_t)(n / tr->blck) * tr->type_size;
}

void llm_f16_to_f32_row(const llm_f16 *src, float *dst, int64_t n)
{
    kq_active()->f16_to_f32_row(src, dst, n);
}

void llm_f32_to_f16_row(const float *src, llm_f16 *dst, int64_t n)
{
    kq_active()->f32_to_f16_row(src, dst, n);
}
