/*
 * quant.h — tensor element types with the exact GGUF/ggml block layouts,
 * their (de)quantisers, and the dot-product / matrix kernels.
 *
 * Every type has a scalar reference implementation (the truth; plain C,
 * deterministic) and, where the CPU has them, AVX2+FMA(+F16C) and AVX-512
 * versions of the same signatures. llm_kernels_init() reads CPUID once and
 * fills the traits table; llm_kernels_force("scalar"|"avx2"|"avx512") lets
 * tests compare the versions (returns false when the CPU lacks the ISA).
 *
 * Dot products follow ggml: a weight row of type T is dotted with an
 * activation row already converted to traits(T)->vec_dot_type (Q8_0 for
 * Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants, F16 for F16
 * and BF16 weights -> their own type, F32 for F32), so activations are
 * quantised once per matrix product, not once per row.
 */
#ifndef WM_QUANT_H
#define WM_QUANT_H

#include "../util/common.h"

/* ggml type numbers, as stored in GGUF tensor infos. */
typedef enum llm_type {
    LLM_F32 = 0, LLM_F16 = 1, LLM_Q4_0 = 2, LLM_Q4_1 = 3,
    LLM_Q5_0 = 6, LLM_Q5_1 = 7, LLM_Q8_0 = 8, LLM_Q8_1 = 9,
    LLM_Q2_K = 10, LLM_Q3_K = 11, LLM_Q4_K = 12, LLM_Q5_K = 13,
    LLM_Q6_K = 14, LLM_Q8_K = 15, LLM_BF16 = 30,
    LLM_TYPE_COUNT = 31
} llm_type;

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t llm_f16;   /* IEEE half, bit pattern */
typedef uint16_t llm_bf16;  /* bfloat16, bit pattern */

/* Block layouts, byte for byte as ggml (static_asserts in quant.c). */
typedef struct { llm_f16 d; uint8_t qs[QK4_0 / 2]; } block_q4_0;
typedef struct { llm_f16 d, m; uint8_t qs[QK4_1 / 2]; } block_q4_1;
typedef struct { llm_f16 d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0;
typedef struct { llm_f16 d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1;
typedef struct { llm_f16 d; int8_t qs[QK8_0]; } block_q8_0;
typedef struct { llm_f16 d, s; int8_t qs[QK8_1]; } block_q8_1;  /* s = d*sum(qs) */
typedef struct {
    llm_f16 d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;
typedef struct {
    llm_f16 d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;
typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    llm_f16 d;
} block_q6_K;
typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;
/* Q2_K and Q3_K: dequantise, reference quantiser and scalar dot only. */
typedef struct {
    uint8_t scales[QK_K / 16];  /* low nibble scale, high nibble min */
    uint8_t qs[QK_K / 4];       /* 2-bit quants */
    llm_f16 d, dmin;
} block_q2_K;
typedef struct {
    uint8_t hmask[QK_K / 8];    /* high bit of each 3-bit quant */
    uint8_t qs[QK_K / 4];       /* low 2 bits */
    uint8_t scales[12];         /* 16 x 6-bit scales, biased by 32 */
    llm_f16 d;
} block_q3_K;

typedef void (*llm_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*llm_from_float_fn)(const float *src, void *dst, int64_t n);
/* *s = dot(x[0..n), y[0..n)); x in the weight type, y in vec_dot_type. */
typedef void (*llm_vec_dot_fn)(int n, float *s, const void *x,
                               const void *y);

/*
 * Every ggml type number 0..30 has an entry with its name, block size and
 * block bytes (so a GGUF reader can size tensors of types we cannot
 * compute with, e.g. IQ2_XXS); `supported` says whether the kernels exist.
 * For supported types to_float, from_float and from_float_ref are set;
 * vec_dot is NULL only for the activation-only types Q8_1 and Q8_K.
 * vec_dot_type: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the
 * K-quants (Q2_K..Q6_K), F16 for F16, BF16 for BF16 (activation rounded
 * to bf16, as ggml does), F32 for F32.
 */
typedef struct llm_type_traits {
    const char *name;          /* "Q4_K", as llama.cpp prints it */
    uint32_t blck;             /* elements per block */
    uint32_t type_size;        /* bytes per block */
    bool supported;            /* has to_float (loadable) and vec_dot */
    llm_type vec_dot_type;
    llm_to_float_fn to_float;
    llm_from_float_fn from_float;  /* fast quantiser (activations) */
    llm_from_float_fn from_float_ref;  /* reference quantiser (files) */
    llm_vec_dot_fn vec_dot;
} llm_type_traits;

/* Choose kernels from CPUID (idempotent, thread-safe). Returns the ISA
 * name in use: "avx512", "avx2" or "scalar". */
WM_INTERNAL const char *llm_kernels_init(void);
/* Switch the kernel table ("scalar", "avx2", "avx512"); false (and no
 * change) when this build or CPU lacks it. For tests and benchmarks: not
 * to be called while another thread runs kernels. */
WM_INTERNAL bool llm_kernels_force(const char *isa);
/* Traits of ggml type t (initialises the kernels on first use); NULL when
 * t is not a ggml type number (>= LLM_TYPE_COUNT, or the retired 4 and 5). */
WM_INTERNAL const llm_type_traits *llm_traits(llm_type t);
/* By name ("q4_0", "Q4_K", "f16", case-insensitive); LLM_TYPE_COUNT if
 * unknown. */
WM_INTERNAL llm_type llm_type_from_name(const char *name);
/* Bytes of a row of n elements; 0 when n is not a multiple of the block
 * size or the type is unknown. */
WM_INTERNAL size_t llm_row_size(llm_type t, int64_t n);

WM_INTERNAL float llm_f16_to_f32(llm_f16 h);
WM_INTERNAL llm_f16 llm_f32_to_f16(float f);
WM_INTERNAL float llm_bf16_to_f32(llm_bf16 h);
WM_INTERNAL llm_bf16 llm_f32_to_bf16(float f);
WM_INTERNAL void llm_f16_to_f32_row(const llm_f16 *src, float *dst,
                                    int64_t n);
WM_INTERNAL void llm_f32_to_f16_row(const float *src, llm_f16 *dst,
                                    int64_t n);

/* ==== Matrix products (threads.h pool; deterministic for any thread
 * count: each output element is computed by exactly one thread with the
 * same instruction sequence) ============================================ */

struct llm_pool;

/* A 2-D weight matrix view: rows of n_in elements of `type`, n_out rows,
 * row stride llm_row_size(type, n_in). */
typedef struct llm_mat {
    llm_type type;
    int64_t n_in, n_out;
    const void *data;
} llm_mat;

/*
 * y[t][o] = sum_i W[o][i] * x[t][i] for t < n_tok: x is n_tok rows of
 * n_in floats, y n_tok rows of n_out floats. Quantises x to the weight's
 * vec_dot_type once (into a scratch buffer owned by the pool), then splits
 * output rows across the pool's threads; with n_tok > 1 uses the tiled
 * kernel (several rows x several tokens per inner loop) so prompt
 * processing is compute-bound, not bandwidth-bound.
 */
WM_INTERNAL void llm_matmul(struct llm_pool *pool, const llm_mat *w,
                            const float *x, int n_tok, float *y);
/*
 * ys[i] = ws[i] x for i < n_w: several matrices reading the same input
 * (Q/K/V, gate/up) in one pool run, x quantised once. Each ys[i] is
 * bitwise what llm_matmul(pool, &ws[i], x, n_tok, ys[i]) gives. Matrices
 * must share n_in; when their vec_dot_types differ it falls back to one
 * llm_matmul each. The ys[i] must not overlap x or each other.
 */
WM_INTERNAL void llm_matmul_multi(struct llm_pool *pool, const llm_mat *ws,
                                  int n_w, const float *x, int n_tok,
                                  float *const *ys);
/* Notes on llm_matmul:
 *  - it uses llm_pool_scratch(pool, ...): a scratch pointer obtained
 *    before the call is dead after it;
 *  - pool may be NULL (runs on the calling thread, own temporary buffer);
 *  - requires llm_traits(w->type)->vec_dot and n_in a multiple of the
 *    block size (WM_ASSERT: the model loader checks shapes first);
 *  - y[t] for a given token is bitwise the same for any n_tok and any
 *    thread count (the tiled kernel repeats vec_dot's per-element
 *    instruction sequence). */

#endif
