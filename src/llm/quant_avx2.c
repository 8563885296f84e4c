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

/* ==== f16 rows ========================================================= */

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

void kq_avx2_install(kq_kernels *k)
{
    k->f16_to_f32_row = f16_to_f32_row_avx2;
    k->f32_to_f16_row = f32_to_f16_row_avx2;
}

#endif
