/*
 * t_quant.c — tensor types, quantisers and dot-product kernels
 * (src/llm/quant.c, quant_avx2.c, quant_avx512.c, matmul.c).
 *
 * Every SIMD table is checked against the scalar one: "avx2" and
 * "avx512" when the CPU has them, and always "avx512-simde", the AVX-512
 * kernels compiled a second time over SIMDe's portable intrinsics (the
 * Makefile links that object in; src/llm/quant_impl.h), so the AVX-512
 * code is exercised on CPUs without AVX-512 too.
 *
 * Error budgets (named, per type; ggml tests/test-quantize-fns.cpp style):
 *   - quantise -> dequantise relative RMS error on N(0,1)-ish data
 *     (RT_TOL below, a little above what each format's bits give);
 *   - scalar vec_dot vs a double dot of the dequantised weight row and the
 *     dequantised activation row: relative to sum |w_i * a_i|, DOT_REF_TOL
 *     (only float rounding of the per-block scaling remains);
 *   - SIMD vec_dot vs scalar vec_dot: same relative measure, DOT_SIMD_TOL;
 *   - matmul vs a naive double reference on dequantised data: MM_TOL.
 */
#include "harness.h"
#include "llm/quant.h"
#include "llm/quant_impl.h"
#include "llm/threads.h"

#include <stdlib.h>

/* xorshift64*: deterministic data without libc rand(). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng_u32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}
static float rng_unit(void) { return (float)(rng_u32() >> 8) * 0x1p-24f; }
/* Roughly normal: sum of 4 uniforms, centred, var ~1. */
static float rng_normal(void)
{
    float s = rng_unit() + rng_unit() + rng_unit() + rng_unit() - 2.0f;
    return s * 1.7320508f;
}

static const llm_type WEIGHT_TYPES[] = {
    LLM_F32, LLM_F16, LLM_BF16, LLM_Q4_0, LLM_Q4_1, LLM_Q5_0, LLM_Q5_1,
    LLM_Q8_0, LLM_Q2_K, LLM_Q3_K, LLM_Q4_K, LLM_Q5_K, LLM_Q6_K,
};

/* Relative RMS round-trip budget per type (of RMS(x) for N(0,1) data). */
static double rt_tol(llm_type t)
{
    switch (t) {
    case LLM_F32: return 0;
    case LLM_F16: return 1e-3;
    case LLM_BF16: return 8e-3;
    case LLM_Q8_0: case LLM_Q8_1: return 0.01;
    case LLM_Q8_K: return 0.01;
    case LLM_Q6_K: return 0.03;
    case LLM_Q5_0: case LLM_Q5_1: case LLM_Q5_K: return 0.06;
    case LLM_Q4_0: case LLM_Q4_1: case LLM_Q4_K: return 0.12;
    case LLM_Q3_K: return 0.25;
    case LLM_Q2_K: return 0.45;
    default: return 0;
    }
}

#define DOT_REF_TOL 2e-5
#define DOT_SIMD_TOL 2e-5
#define MM_TOL 2e-5
/* Q4_1/Q5_1 dot Q8_1 use the block sum s = d * sum(q) stored as a half:
 * the m * s term carries up to 2^-11 relative error that the dequantised
 * reference does not have (measured ~5e-5 of sum |w a|). */
#define Q8_1_TOL 3e-4
/* ... per matmul element of only 3 blocks the same term can reach ~1e-3. */
#define Q8_1_MM_TOL 2e-3

static double dot_tol(llm_type wt, double base, bool mm)
{
    if (wt != LLM_Q4_1 && wt != LLM_Q5_1) return base;
    return mm ? Q8_1_MM_TOL : Q8_1_TOL;
}

static void *xmalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

/* ==== Layouts and names ================================================ */

static void test_layouts(void)
{
    static const struct { llm_type t; const char *name; int blck, size; } L[] = {
        {LLM_F32, "F32", 1, 4},       {LLM_F16, "F16", 1, 2},
        {LLM_BF16, "BF16", 1, 2},     {LLM_Q4_0, "Q4_0", 32, 18},
        {LLM_Q4_1, "Q4_1", 32, 20},   {LLM_Q5_0, "Q5_0", 32, 22},
        {LLM_Q5_1, "Q5_1", 32, 24},   {LLM_Q8_0, "Q8_0", 32, 34},
        {LLM_Q8_1, "Q8_1", 32, 36},   {LLM_Q2_K, "Q2_K", 256, 84},
        {LLM_Q3_K, "Q3_K", 256, 110}, {LLM_Q4_K, "Q4_K", 256, 144},
        {LLM_Q5_K, "Q5_K", 256, 176}, {LLM_Q6_K, "Q6_K", 256, 210},
        {LLM_Q8_K, "Q8_K", 256, 292},
    };
    for (size_t i = 0; i < WM_ARRAY_LEN(L); i++) {
        const llm_type_traits *tr = llm_traits(L[i].t);
        CHECK(tr != NULL);
        if (!tr) continue;
        CHECK(!strcmp(tr->name, L[i].name));
        CHECK_EQ_INT(tr->blck, L[i].blck);
        CHECK_EQ_INT(tr->type_size, L[i].size);
        CHECK(tr->supported && tr->to_float && tr->from_float &&
              tr->from_float_ref);
        CHECK_EQ_INT(llm_row_size(L[i].t, 2 * L[i].blck), 2 * L[i].size);
        if (L[i].blck > 1) CHECK_EQ_INT(llm_row_size(L[i].t, L[i].blck + 1), 0);
        CHECK_EQ_INT(llm_type_from_name(L[i].name), L[i].t);
    }
    CHECK_EQ_INT(llm_type_from_name("q4_k"), LLM_Q4_K);
    CHECK_EQ_INT(llm_type_from_name("bf16"), LLM_BF16);
    CHECK_EQ_INT(llm_type_from_name("q4_9"), LLM_TYPE_COUNT);
    CHECK_EQ_INT(llm_type_from_name(""), LLM_TYPE_COUNT);
    CHECK(llm_traits((llm_type)4) == NULL);
    CHECK(llm_traits(LLM_TYPE_COUNT) == NULL);
    const llm_type_traits *iq = llm_traits((llm_type)16);
    CHECK(iq && !iq->supported && !strcmp(iq->name, "IQ2_XXS"));
    CHECK_EQ_INT(llm_row_size((llm_type)16, 512), 132);
    CHECK(llm_traits(LLM_Q8_K)->vec_dot == NULL);
    CHECK_EQ_INT(llm_traits(LLM_Q4_K)->vec_dot_type, LLM_Q8_K);
    CHECK_EQ_INT(llm_traits(LLM_Q4_1)->vec_dot_type, LLM_Q8_1);
    CHECK_EQ_INT(llm_traits(LLM_Q5_0)->vec_dot_type, LLM_Q8_0);
    CHECK_EQ_INT(llm_traits(LLM_BF16)->vec_dot_type, LLM_BF16);
}

/* ==== Half / bfloat16 ================================================== */

static void test_halves(const char *isa)
{
    /* Hand-checked values. */
    CHECK_EQ_INT(llm_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(llm_f32_to_f16(-2.0f), 0xc000);
    CHECK_EQ_INT(llm_f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_INT(llm_f32_to_f16(65519.0f), 0x7bff);
    CHECK_EQ_INT(llm_f32_to_f16(65520.0f), 0x7c00);     /* ties to inf */
    CHECK_EQ_INT(llm_f32_to_f16(0x1p-24f), 0x0001);
    CHECK_EQ_INT(llm_f32_to_f16(0x1p-25f), 0x0000);     /* tie to even 0 */
    CHECK_EQ_INT(llm_f32_to_f16(0x1.8p-24f), 0x0002);   /* tie to even 2 */
    CHECK_EQ_INT(llm_f32_to_f16(0x1.ffcp-15f), 0x0400); /* rounds to normal */
    CHECK_EQ_INT(llm_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);  /* tie, even */
    CHECK_EQ_INT(llm_f32_to_f16(1.0f + 0x1.8p-10f), 0x3c02);
    CHECK_EQ_F32(llm_f16_to_f32(0x0001), 0x1p-24, 0);
    CHECK_EQ_F32(llm_f16_to_f32(0x3555), 0.333251953125, 0);
    CHECK_EQ_INT(llm_f32_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(llm_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);   /* tie, even */
    CHECK_EQ_INT(llm_f32_to_bf16(1.0f + 0x1.8p-7f), 0x3f82); /* tie, odd up */
    CHECK_EQ_F32(llm_bf16_to_f32(0xc0a0), -5.0, 0);

    /* Every half: round trip and the active row conversion vs scalar. */
    static llm_f16 all[65536];
    static float rowf[65536];
    static llm_f16 back[65536];
    for (int i = 0; i < 65536; i++) all[i] = (llm_f16)i;
    llm_f16_to_f32_row(all, rowf, 65536);
    llm_f32_to_f16_row(rowf, back, 65536);
    int bad_scalar = 0, bad_row = 0, bad_rt = 0;
    for (int i = 0; i < 65536; i++) {
        float f = llm_f16_to_f32((llm_f16)i);
        uint32_t a, b;
        memcpy(&a, &f, 4);
        memcpy(&b, &rowf[i], 4);
        if (a != b) bad_row++;
        if (back[i] != llm_f32_to_f16(f)) bad_scalar++;
        bool nan = ((i >> 10) & 0x1f) == 0x1f && (i & 0x3ff);
        if (!nan && back[i] != i) bad_rt++;
    }
    if (bad_row || bad_scalar || bad_rt)
        fprintf(stderr, "%s: f16 rows: %d %d %d mismatches\n", isa, bad_row,
                bad_scalar, bad_rt);
    CHECK_EQ_INT(bad_row, 0);
    CHECK_EQ_INT(bad_scalar, 0);
    CHECK_EQ_INT(bad_rt, 0);

    /* Random floats of every magnitude: row conversion vs scalar. */
    static float fr[4099];
    static llm_f16 hr[4099];
    for (int i = 0; i < 4099; i++) {
        uint32_t u = rng_u32();
        u = (u & 0x8fffffff) | ((uint32_t)(96 + rng_u32() % 48) << 23);
        memcpy(&fr[i], &u, 4);
    }
    llm_f32_to_f16_row(fr, hr, 4099);
    int bad = 0;
    for (int i = 0; i < 4099; i++) bad += hr[i] != llm_f32_to_f16(fr[i]);
    CHECK_EQ_INT(bad, 0);
}

/* ==== Reference quantiser bytes: hand-computed blocks ================== */

static void test_known_blocks(void)
{
    const llm_type_traits *q80 = llm_traits(LLM_Q8_0);
    float x[256];
    /* Q8_0 of the ramp j-16: amax 16, d = 16/127 -> half 0x3008,
     * q = round((j-16) * 127/16) (ties away from zero). */
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    block_q8_0 b8;
    q80->from_float_ref(x, &b8, 32);
    CHECK_EQ_INT(b8.d, 0x3008);
    CHECK_EQ_INT(b8.qs[0], -127);
    CHECK_EQ_INT(b8.qs[16], 0);
    CHECK_EQ_INT(b8.qs[17], 8);     /* 7.9375 */
    CHECK_EQ_INT(b8.qs[18], 16);    /* 15.875 */
    CHECK_EQ_INT(b8.qs[24], 64);    /* 63.5 -> 64 */
    CHECK_EQ_INT(b8.qs[8], -64);    /* -63.5 -> -64 */
    CHECK_EQ_INT(b8.qs[31], 119);   /* 119.0625 */
    /* The fast quantiser must give the same bytes. */
    block_q8_0 f8;
    q80->from_float(x, &f8, 32);
    CHECK(!memcmp(&b8, &f8, sizeof b8));

    /* Q4_0 of the same ramp: max -16, d = 2 (0x4000), q = min(15,
     * trunc((j-16)/2 + 8.5)); qs[j] = q[j] | q[j+16] << 4. */
    block_q4_0 b4;
    llm_traits(LLM_Q4_0)->from_float_ref(x, &b4, 32);
    CHECK_EQ_INT(b4.d, 0x4000);
    CHECK_EQ_INT(b4.qs[0], 0x80);   /* q0 = 0, q16 = 8 */
    CHECK_EQ_INT(b4.qs[1], 0x91);   /* q1 = 1 (exactly 1.0), q17 = 9 */
    CHECK_EQ_INT(b4.qs[15], 0xF8);  /* q15 = 8, q31 = 16 -> 15 */

    /* Q8_1: same quants as Q8_0, s = d * sum(q). Sum of the ramp quants:
     * q[j] for j = 0..31 is round((j-16)*7.9375); pairs j, 32-j cancel
     * for j = 1..15 except for rounding symmetry (ties away from zero are
     * symmetric), leaving q[0] + q[16] = -127 + 0. s = half(-127 * 16/127)
     * = -16 = 0xcc00 (d is the float scale here, not its half). */
    block_q8_1 b81;
    llm_traits(LLM_Q8_1)->from_float_ref(x, &b81, 32);
    CHECK(!memcmp(b81.qs, b8.qs, 32));
    CHECK_EQ_INT(b81.s, 0xcc00);

    /* Q8_K of the ramp j-128: max -128, iscale = 127/128, q = nearest
     * even of (j-128)*127/128 = -127 + j for j < 64, -64 at j = 64 (tie),
     * 126 at j = 255; bsums[0] = 16*-127 + (0+...+15) = -1912. */
    for (int j = 0; j < 256; j++) x[j] = (float)(j - 128);
    block_q8_K bk, fk;
    llm_traits(LLM_Q8_K)->from_float_ref(x, &bk, 256);
    CHECK_EQ_F32(bk.d, 128.0 / 127.0, 1e-7);
    CHECK_EQ_INT(bk.qs[0], -127);
    CHECK_EQ_INT(bk.qs[15], -112);
    CHECK_EQ_INT(bk.qs[64], -64);
    CHECK_EQ_INT(bk.qs[128], 0);
    CHECK_EQ_INT(bk.qs[255], 126);
    CHECK_EQ_INT(bk.bsums[0], -1912);
    llm_traits(LLM_Q8_K)->from_float(x, &fk, 256);
    CHECK(!memcmp(&bk, &fk, sizeof bk));

    /* Q6_K / Q4_K of a constant block: exactly representable. */
    for (int j = 0; j < 256; j++) x[j] = 0.5f;
    float back[256];
    block_q4_K k4;
    llm_traits(LLM_Q4_K)->from_float_ref(x, &k4, 256);
    llm_traits(LLM_Q4_K)->to_float(&k4, back, 256);
    double maxerr = 0;
    for (int j = 0; j < 256; j++) maxerr = fmax(maxerr, fabs(back[j] - 0.5));
    CHECK(maxerr < 2e-3);
    /* All-zero blocks quantise to zero bytes in every K type. */
    memset(x, 0, sizeof x);
    static const llm_type KT[] = {LLM_Q2_K, LLM_Q3_K, LLM_Q4_K, LLM_Q5_K,
                                  LLM_Q6_K, LLM_Q8_K};
    for (size_t i = 0; i < WM_ARRAY_LEN(KT); i++) {
        uint8_t blk[292];
        memset(blk, 0xAB, sizeof blk);
        const llm_type_traits *tr = llm_traits(KT[i]);
        tr->from_float_ref(x, blk, 256);
        tr->to_float(blk, back, 256);
        int nz = 0;
        for (int j = 0; j < 256; j++) nz += back[j] != 0;
        CHECK_EQ_INT(nz, 0);
    }
}

/* ==== Golden bytes from ggml ===========================================
 * FNV-1a hashes of the bytes ggml's own quantize_row_<type>_ref writes for
 * golden_input() (computed once by a throw-away program that dlopen()ed
 * libggml-base.so of llama.cpp as shipped in the npm package
 * @node-llama-cpp/linux-x64 3.22.1, feeding it this same generator).
 * The same check over 7 input regimes x 64 super-blocks also found every
 * dequantize_row_<type> output bit-identical to ours. */
/* Deterministic input for the golden hashes: 8 super-blocks (2048
 * floats), each 256 a different regime: N(0,1), uniform [-1,1), N(0,1)
 * with 1% x50 outliers, all positive, alternating zero sub-blocks,
 * small integers (rounding ties), N(0,1)*1e4, tiny 1e-3 values. */
static uint64_t golden_state;
static uint32_t golden_u32(void)
{
    golden_state ^= golden_state >> 12;
    golden_state ^= golden_state << 25;
    golden_state ^= golden_state >> 27;
    return (uint32_t)((golden_state * 2685821657736338717ull) >> 32);
}
static float golden_unit(void) { return (float)(golden_u32() >> 8) * 0x1p-24f; }
static float golden_normal(void)
{
    float s = golden_unit() + golden_unit() + golden_unit() + golden_unit() - 2.0f;
    return s * 1.7320508f;
}
static void golden_input(float *x)
{
    golden_state = 0x243F6A8885A308D3ull;
    for (int i = 0; i < 2048; i++) {
        float v;
        switch (i / 256) {
        case 0: v = golden_normal(); break;
        case 1: v = golden_unit() * 2 - 1; break;
        case 2: v = golden_normal() * (golden_u32() % 100 == 0 ? 50.0f : 1.0f); break;
        case 3: v = golden_unit(); break;
        case 4: v = (i / 16) % 2 ? golden_normal() : 0.0f; break;
        case 5: v = (float)((int)(golden_u32() % 9) - 4); break;
        case 6: v = golden_normal() * 1e4f; break;
        default: v = golden_normal() * 1e-3f; break;
        }
        x[i] = v;
    }
}
static uint64_t fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
    return h;
}

static void test_golden_ggml(void)
{
    static const struct { llm_type t; uint64_t h; } G[] = {
        {LLM_Q4_0, 0x6d33e7eaaf0a0ce2ull}, {LLM_Q4_1, 0x377ad98ba4206151ull},
        {LLM_Q5_0, 0xbe1820065d4d9f5dull}, {LLM_Q5_1, 0xefd2efefe1cda14dull},
        {LLM_Q8_0, 0x86a83c38a6cded97ull}, {LLM_Q8_1, 0xd08459b92c9f4e13ull},
        {LLM_Q2_K, 0x7fe7d21e0d6a2696ull}, {LLM_Q3_K, 0xacf90a14ab83e8d0ull},
        {LLM_Q4_K, 0x5cf94edd8f52ef3cull}, {LLM_Q5_K, 0x4a7e53b918ef8038ull},
        {LLM_Q6_K, 0x022b05e2e8d2ed6full}, {LLM_Q8_K, 0xd56cd6ae8158e7e4ull},
    };
    static float x[2048];
    static unsigned char q[2048 * 4];
    for (size_t i = 0; i < WM_ARRAY_LEN(G); i++) {
        const llm_type_traits *tr = llm_traits(G[i].t);
        golden_input(x);
        memset(q, 0, sizeof q);
        tr->from_float_ref(x, q, 2048);
        uint64_t h = fnv1a(q, llm_row_size(G[i].t, 2048));
        if (h != G[i].h)
            fprintf(stderr, "%s: reference quantiser bytes differ from "
                    "ggml's\n", tr->name);
        CHECK(h == G[i].h);
        /* the fast activation quantisers promise the same bytes */
        if (G[i].t == LLM_Q8_0 || G[i].t == LLM_Q8_1 || G[i].t == LLM_Q8_K) {
            memset(q, 0, sizeof q);
            tr->from_float(x, q, 2048);
            CHECK(fnv1a(q, llm_row_size(G[i].t, 2048)) == G[i].h);
        }
    }
}

/* ==== Round trips ====================================================== */

static void test_roundtrip(void)
{
    enum { N = 4096 };
    float *x = xmalloc(N * 4), *y = xmalloc(N * 4);
    void *q = xmalloc(N * 4);
    static const llm_type T[] = {
        LLM_F16, LLM_BF16, LLM_Q4_0, LLM_Q4_1, LLM_Q5_0, LLM_Q5_1, LLM_Q8_0,
        LLM_Q8_1, LLM_Q2_K, LLM_Q3_K, LLM_Q4_K, LLM_Q5_K, LLM_Q6_K, LLM_Q8_K,
    };
    for (int i = 0; i < N; i++) x[i] = rng_normal();
    for (size_t ti = 0; ti < WM_ARRAY_LEN(T); ti++) {
        const llm_type_traits *tr = llm_traits(T[ti]);
        tr->from_float_ref(x, q, N);
        tr->to_float(q, y, N);
        double e2 = 0, x2 = 0;
        for (int i = 0; i < N; i++) {
            e2 += (double)(y[i] - x[i]) * (y[i] - x[i]);
            x2 += (double)x[i] * x[i];
        }
        double rel = sqrt(e2 / x2);
        if (!(rel <= rt_tol(T[ti])))
            fprintf(stderr, "%s: round trip rel RMS %.4g > %.4g\n", tr->name,
                    rel, rt_tol(T[ti]));
        CHECK(rel <= rt_tol(T[ti]));
        /* ... and not suspiciously exact (a broken dequantiser returning
         * its input would pass the bound). */
        if (T[ti] != LLM_F16) CHECK(rel > rt_tol(T[ti]) / 50);
        /* fast quantiser vs reference (same bytes for the 8-bit types, or
         * the same dequantised error for the rest) */
        void *q2 = xmalloc(N * 4);
        tr->from_float(x, q2, N);
        size_t rs = llm_row_size(T[ti], N);
        CHECK(!memcmp(q, q2, rs));
        free(q2);
    }
    free(x); free(y); free(q);
}

/* ==== Dot products ===================================================== */

static double dot_dequant(llm_type wt, const void *w, const void *a, int n,
                          double *abs_sum)
{
    const llm_type_traits *tw = llm_traits(wt);
    const llm_type_traits *ta = llm_traits(tw->vec_dot_type);
    float *fw = xmalloc((size_t)n * 4), *fa = xmalloc((size_t)n * 4);
    tw->to_float(w, fw, n);
    ta->to_float(a, fa, n);
    double s = 0, sa = 0;
    for (int i = 0; i < n; i++) {
        s += (double)fw[i] * fa[i];
        sa += fabs((double)fw[i] * fa[i]);
    }
    free(fw); free(fa);
    *abs_sum = sa;
    return s;
}

static void test_vec_dot(const char *const *isas, int n_isa)
{
    static const int NS[] = {256, 512, 2816, 4096};
    for (size_t ni = 0; ni < WM_ARRAY_LEN(NS); ni++) {
        const int n = NS[ni];
        float *x = xmalloc((size_t)n * 4), *a = xmalloc((size_t)n * 4);
        void *w = xmalloc((size_t)n * 4), *aq = xmalloc((size_t)n * 4);
        for (int i = 0; i < n; i++) { x[i] = rng_normal(); a[i] = rng_normal(); }
        for (size_t ti = 0; ti < WM_ARRAY_LEN(WEIGHT_TYPES); ti++) {
            llm_type wt = WEIGHT_TYPES[ti];
            llm_kernels_force("scalar");
            const llm_type_traits *tr = llm_traits(wt);
            const llm_type_traits *ta = llm_traits(tr->vec_dot_type);
            tr->from_float_ref(x, w, n);
            ta->from_float_ref(a, aq, n);
            float s_ref;
            tr->vec_dot(n, &s_ref, w, aq);
            double abs_sum;
            double s_dbl = dot_dequant(wt, w, aq, n, &abs_sum);
            double err = fabs(s_ref - s_dbl) / abs_sum;
            if (!(err <= dot_tol(wt, DOT_REF_TOL, false)))
                fprintf(stderr, "%s n=%d: scalar %g vs double %g (rel %g)\n",
                        tr->name, n, s_ref, s_dbl, err);
            CHECK(err <= dot_tol(wt, DOT_REF_TOL, false));
            for (int ii = 0; ii < n_isa; ii++) {
                llm_kernels_force(isas[ii]);
                float s_simd;
                llm_traits(wt)->vec_dot(n, &s_simd, w, aq);
                double e2 = fabs(s_simd - s_ref) / abs_sum;
                if (!(e2 <= DOT_SIMD_TOL))
                    fprintf(stderr, "%s n=%d: %s %g vs scalar %g (rel %g)\n",
                            tr->name, n, isas[ii], s_simd, s_ref, e2);
                CHECK(e2 <= DOT_SIMD_TOL);
            }
        }
        free(x); free(a); free(w); free(aq);
    }
    llm_kernels_init();
}

/* ==== Tile and matvec kernels, called directly ========================
 * For the active table: every tile shape up to the kernel's (full and
 * partial, rows and tokens), strides with padding, row lengths of one and
 * several blocks (odd block counts for the 32-blocks); each output
 * bitwise the same table's vec_dot of that row and token. */

static void test_tile_type(const kq_kernels *k, llm_type wt, bool mv,
                           const char *isa)
{
    const kq_tile *kt = mv ? &k->matvec[wt] : &k->tile[wt];
    if (!kt->fn) return;
    const llm_type_traits *tr = &k->traits[wt];
    const llm_type_traits *ta = &k->traits[tr->vec_dot_type];
    const int ns32[] = {32, 64, 96, 256, 2848};
    const int nsk[] = {256, 512, 768, 2816};
    const int *ns = tr->blck == 256 ? nsk : ns32;
    const int n_ns = tr->blck == 256 ? 4 : 5;
    const int rows = kt->rows, toks = kt->toks;
    int bad = 0, runs = 0;
    for (int ni = 0; ni < n_ns; ni++) {
        const int n = ns[ni];
        const size_t wrs = llm_row_size(wt, n), xrs =
            llm_row_size(tr->vec_dot_type, n);
        const size_t ws = wrs + 24, xs = xrs + 40, ys = (size_t)rows + 3;
        char *w = xmalloc(ws * (size_t)rows);
        char *xq = xmalloc(xs * (size_t)toks);
        float *f = xmalloc((size_t)n * 4);
        float *y = xmalloc(sizeof(float) * ys * (size_t)toks);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) f[i] = rng_normal();
            tr->from_float_ref(f, w + (size_t)r * ws, n);
        }
        for (int t = 0; t < toks; t++) {
            for (int i = 0; i < n; i++) f[i] = rng_normal();
            ta->from_float(f, xq + (size_t)t * xs, n);
        }
        for (int nr = 1; nr <= rows; nr++)
            for (int nt = 1; nt <= toks; nt++) {
                for (size_t i = 0; i < ys * (size_t)toks; i++) y[i] = -1e30f;
                kt->fn(n, w, ws, nr, xq, xs, nt, y, ys);
                runs++;
                for (int t = 0; t < toks; t++)
                    for (int r = 0; r < (int)ys; r++) {
                        float d = -1e30f;
                        if (t < nt && r < nr)
                            tr->vec_dot(n, &d, w + (size_t)r * ws,
                                        xq + (size_t)t * xs);
                        /* in-tile outputs exact, the rest untouched */
                        if (memcmp(&d, &y[(size_t)t * ys + r], 4)) bad++;
                    }
            }
        free(w); free(xq); free(f); free(y);
    }
    if (bad)
        fprintf(stderr, "%s %s %s: %d bit mismatches in %d calls\n", isa,
                tr->name, mv ? "matvec" : "tile", bad, runs);
    CHECK(runs > 0);
    CHECK_EQ_INT(bad, 0);
}

static void test_tiles(const char *isa)
{
    CHECK(llm_kernels_force(isa));
    const kq_kernels *k = kq_active();
    CHECK(!strcmp(k->isa, isa));
    if (strstr(isa, "avx512")) {
        /* the types quant_avx512.c covers, every entry present */
        static const llm_type T[] = {LLM_Q4_0, LLM_Q8_0, LLM_Q4_K, LLM_Q6_K};
        for (size_t i = 0; i < WM_ARRAY_LEN(T); i++)
            CHECK(k->tile[T[i]].fn && k->matvec[T[i]].fn &&
                  k->tile[T[i]].toks > 1 && k->matvec[T[i]].toks == 1);
    }
    for (size_t ti = 0; ti < WM_ARRAY_LEN(WEIGHT_TYPES); ti++) {
        test_tile_type(k, WEIGHT_TYPES[ti], false, isa);
        test_tile_type(k, WEIGHT_TYPES[ti], true, isa);
    }
}

/* ==== Matrix products ================================================== */

/* y_ref[t][o] in double from dequantised weights and activations
 * quantised exactly as matmul does (vec_dot_type, fast quantiser). */
static void matmul_ref(const llm_mat *m, const float *x, int n_tok,
                       double *y, double *yabs)
{
    const llm_type_traits *tw = llm_traits(m->type);
    const llm_type_traits *ta = llm_traits(tw->vec_dot_type);
    const int64_t n = m->n_in;
    float *wf = xmalloc((size_t)n * 4), *af = xmalloc((size_t)n * 4 * n_tok);
    void *aq = xmalloc((size_t)n * 4 + 1024);
    for (int t = 0; t < n_tok; t++) {
        ta->from_float(x + t * n, aq, n);
        ta->to_float(aq, af + t * n, n);
    }
    size_t rs = llm_row_size(m->type, n);
    for (int64_t o = 0; o < m->n_out; o++) {
        tw->to_float((const char *)m->data + o * rs, wf, n);
        for (int t = 0; t < n_tok; t++) {
            double s = 0, sa = 0;
            for (int64_t i = 0; i < n; i++) {
                s += (double)wf[i] * af[t * n + i];
                sa += fabs((double)wf[i] * af[t * n + i]);
            }
            y[t * m->n_out + o] = s;
            yabs[t * m->n_out + o] = sa;
        }
    }
    free(wf); free(af); free(aq);
}

static void test_matmul_type(llm_type wt, int n_in, int n_out,
                             llm_pool **pools, const char *isa)
{
    const llm_type_traits *tr = llm_traits(wt);
    const int toks[] = {1, 2, 7, 13};
    const int max_tok = 13;
    size_t rs = llm_row_size(wt, n_in);
    float *wf = xmalloc((size_t)n_in * 4);
    char *w = xmalloc(rs * (size_t)n_out);
    for (int o = 0; o < n_out; o++) {
        for (int i = 0; i < n_in; i++) wf[i] = rng_normal();
        tr->from_float_ref(wf, w + o * rs, n_in);
    }
    float *x = xmalloc((size_t)n_in * max_tok * 4);
    for (int i = 0; i < n_in * max_tok; i++) x[i] = rng_normal();
    llm_mat m = { .type = wt, .n_in = n_in, .n_out = n_out, .data = w };
    double *yr = xmalloc(sizeof(double) * n_out * max_tok);
    double *ya = xmalloc(sizeof(double) * n_out * max_tok);
    float *y1 = xmalloc(sizeof(float) * n_out * max_tok);
    float *y = xmalloc(sizeof(float) * n_out * max_tok);
    float *ysingle = xmalloc(sizeof(float) * n_out * max_tok);
    matmul_ref(&m, x, max_tok, yr, ya);
    /* token by token, 1 thread: the reference bits for everything else */
    for (int t = 0; t < max_tok; t++)
        llm_matmul(pools[0], &m, x + t * n_in, 1, ysingle + t * n_out);
    int bad_tol = 0, bad_bits = 0;
    /* n_tok == 1 (the multi-row matvec kernel where the ISA has one) is
     * bitwise vec_dot, row by row */
    {
        const llm_type_traits *ta = llm_traits(tr->vec_dot_type);
        void *aq = xmalloc(llm_row_size(tr->vec_dot_type, n_in) + 64);
        for (int t = 0; t < max_tok; t++) {
            if (tr->vec_dot_type == LLM_F32)
                memcpy(aq, x + t * n_in, (size_t)n_in * 4);
            else
                ta->from_float(x + t * n_in, aq, n_in);
            for (int o = 0; o < n_out; o++) {
                float d;
                tr->vec_dot(n_in, &d, w + o * rs, aq);
                if (memcmp(&d, &ysingle[t * n_out + o], 4)) bad_bits++;
            }
        }
        free(aq);
    }
    for (size_t ki = 0; ki < WM_ARRAY_LEN(toks); ki++) {
        int nt = toks[ki];
        for (int p = 0; p < 4; p++) {
            float *out = p == 0 ? y1 : y;
            memset(out, 0xFF, sizeof(float) * n_out * nt);
            llm_matmul(pools[p], &m, x, nt, out);
            for (int i = 0; i < n_out * nt; i++) {
                double e = fabs(out[i] - yr[i]) / (ya[i] + 1e-30);
                if (!(e <= dot_tol(wt, MM_TOL, true))) bad_tol++;
                if (p > 0 && memcmp(&out[i], &y1[i], 4)) bad_bits++;
                if (memcmp(&out[i], &ysingle[i], 4)) bad_bits++;
            }
        }
    }
    /* pool == NULL runs inline */
    llm_matmul(NULL, &m, x, 7, y);
    for (int i = 0; i < n_out * 7; i++)
        if (memcmp(&y[i], &ysingle[i], 4)) bad_bits++;
    if (bad_tol || bad_bits)
        fprintf(stderr, "%s %s %dx%d: %d out of tolerance, %d bit "
                "mismatches\n", isa, tr->name, n_out, n_in, bad_tol, bad_bits);
    CHECK_EQ_INT(bad_tol, 0);
    CHECK_EQ_INT(bad_bits, 0);
    free(wf); free(w); free(x); free(yr); free(ya); free(y1); free(y);
    free(ysingle);
}

static void test_matmul(llm_pool **pools, const char *isa)
{
    for (size_t ti = 0; ti < WM_ARRAY_LEN(WEIGHT_TYPES); ti++) {
        llm_type wt = WEIGHT_TYPES[ti];
        int blk = (int)llm_traits(wt)->blck;
        int n_in = blk == 256 ? 512 : 96;   /* odd block counts for 32 */
        test_matmul_type(wt, n_in, 37, pools, isa);
    }
    test_matmul_type(LLM_Q4_0, 256, 5, pools, isa);   /* fewer rows than */
    test_matmul_type(LLM_Q8_0, 32, 3, pools, isa);    /* threads * tile  */
    test_matmul_type(LLM_Q4_K, 256, 1, pools, isa);
}

/* llm_matmul_multi: each output bitwise what llm_matmul gives, for any
 * thread count and token count; shared and mixed vec_dot_types (the
 * latter falls back to one run per matrix). */
static void test_matmul_multi_case(const llm_type *types, const int *n_outs,
                                   int n_w, int n_in, llm_pool **pools,
                                   const char *isa)
{
    const int toks[] = {1, 2, 7, 13};
    const int max_tok = 13;
    llm_mat ms[6];
    char *wd[6];
    float *yref[6], *y[6];
    float *wf = xmalloc((size_t)n_in * 4);
    for (int i = 0; i < n_w; i++) {
        const llm_type_traits *tr = llm_traits(types[i]);
        size_t rs = llm_row_size(types[i], n_in);
        wd[i] = xmalloc(rs * (size_t)n_outs[i]);
        for (int o = 0; o < n_outs[i]; o++) {
            for (int k = 0; k < n_in; k++) wf[k] = rng_normal();
            tr->from_float_ref(wf, wd[i] + o * rs, n_in);
        }
        ms[i] = (llm_mat){ .type = types[i], .n_in = n_in,
                           .n_out = n_outs[i], .data = wd[i] };
        yref[i] = xmalloc(sizeof(float) * (size_t)n_outs[i] * max_tok);
        y[i] = xmalloc(sizeof(float) * (size_t)n_outs[i] * max_tok);
    }
    float *x = xmalloc((size_t)n_in * max_tok * 4);
    for (int i = 0; i < n_in * max_tok; i++) x[i] = rng_normal();
    int bad = 0;
    for (size_t ki = 0; ki < WM_ARRAY_LEN(toks); ki++) {
        int nt = toks[ki];
        for (int i = 0; i < n_w; i++)
            llm_matmul(pools[0], &ms[i], x, nt, yref[i]);
        for (int p = 0; p < 5; p++) {
            llm_pool *pool = p < 4 ? pools[p] : NULL;
            for (int i = 0; i < n_w; i++)
                memset(y[i], 0xFF, sizeof(float) * (size_t)n_outs[i] * nt);
            llm_matmul_multi(pool, ms, n_w, x, nt, y);
            for (int i = 0; i < n_w; i++)
                if (memcmp(y[i], yref[i],
                           sizeof(float) * (size_t)n_outs[i] * nt))
                    bad++;
        }
    }
    if (bad)
        fprintf(stderr, "%s matmul_multi %s x%d: %d mismatching outputs\n",
                isa, llm_traits(types[0])->name, n_w, bad);
    CHECK_EQ_INT(bad, 0);
    for (int i = 0; i < n_w; i++) { free(wd[i]); free(yref[i]); free(y[i]); }
    free(wf); free(x);
}

static void test_matmul_multi(llm_pool **pools, const char *isa)
{
    const llm_type q40[] = {LLM_Q4_0, LLM_Q4_0, LLM_Q4_0};
    const int qkv[] = {37, 5, 16};
    test_matmul_multi_case(q40, qkv, 3, 96, pools, isa);
    const llm_type k[] = {LLM_Q4_K, LLM_Q6_K};   /* share Q8_K */
    const int gu[] = {9, 23};
    test_matmul_multi_case(k, gu, 2, 512, pools, isa);
    const llm_type mix[] = {LLM_Q8_0, LLM_Q4_1, LLM_F16};   /* fallback */
    test_matmul_multi_case(mix, qkv, 3, 64, pools, isa);
    const llm_type six[] = {LLM_Q8_0, LLM_Q8_0, LLM_Q8_0, LLM_Q8_0,
                            LLM_Q8_0, LLM_Q8_0};   /* > MM_MAX_W */
    const int outs6[] = {3, 1, 8, 2, 17, 4};
    test_matmul_multi_case(six, outs6, 6, 32, pools, isa);
}

int main(void)
{
    const char *isa = llm_kernels_init();
    printf("kernels: %s\n", isa);
    /* SIMD tables to check against scalar: the CPU's, then the emulated
     * AVX-512 one (when SIMDe was there to build it). */
    const char *simd[3];
    int n_simd = 0;
    if (llm_kernels_force("avx2")) simd[n_simd++] = "avx2";
    if (llm_kernels_force("avx512")) simd[n_simd++] = "avx512";
#if __has_include(<simde/x86/avx512.h>)
    CHECK(kq_test_register("avx512-simde", kq_avx512_simde_install));
    CHECK(!kq_test_register("scalar", kq_avx512_simde_install));
    simd[n_simd++] = "avx512-simde";
#else
    printf("SIMDe (libsimde-dev) not installed: emulated AVX-512 kernel "
           "tests skipped\n");
#endif
    CHECK(!llm_kernels_force("nonsense"));
    CHECK(llm_kernels_force("scalar"));
    test_layouts();
    test_halves("scalar");
    test_known_blocks();
    test_golden_ggml();
    test_roundtrip();
    for (int i = 0; i < n_simd; i++) {
        CHECK(llm_kernels_force(simd[i]));
        test_halves(simd[i]);
        test_known_blocks();
        test_golden_ggml();
        test_roundtrip();
        test_tiles(simd[i]);
    }
    test_vec_dot(simd, n_simd);

    llm_pool *pools[4];
    for (int i = 0; i < 4; i++) {
        pools[i] = llm_pool_new(i + 1);
        CHECK(pools[i] != NULL);
        if (!pools[i]) return TEST_REPORT();
        CHECK_EQ_INT(llm_pool_size(pools[i]), i + 1);
    }
    llm_kernels_force("scalar");
    test_matmul(pools, "scalar");
    test_matmul_multi(pools, "scalar");
    for (int i = 0; i < n_simd; i++) {
        llm_kernels_force(simd[i]);
        test_matmul(pools, simd[i]);
        test_matmul_multi(pools, simd[i]);
    }
    for (int i = 0; i < 4; i++) llm_pool_free(pools[i]);
    return TEST_REPORT();
}
