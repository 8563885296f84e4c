/*
 * quantize.h — converting a model's weights to another type
 * (`wasmind quantize IN.gguf OUT.gguf TYPE`), and the per-tensor type
 * policy shared with the model synthesiser.
 *
 * Policy (llama.cpp's llama_tensor_get_type for the base types, without
 * its _M/_L mixes):
 *   - 1-D tensors (norms, biases) stay F32;
 *   - the output matrix (output.weight, or token_embd.weight when the
 *     model has no output.weight, i.e. tied) gets Q6_K unless TYPE is
 *     Q8_0, F16 or F32 (then TYPE): it is the one matrix whose error goes
 *     straight into the logits, and llama.cpp's Q4_0 files carry it so;
 *   - every other matrix, token_embd.weight included, gets TYPE;
 *   - a row length the type cannot block is given llama.cpp's fallback:
 *     Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0, and
 *     F16 when not even 32 divides it.
 * With `pure` every matrix gets TYPE (still subject to the fallback).
 */
#ifndef WM_LLM_QUANTIZE_H
#define WM_LLM_QUANTIZE_H

#include "../util/common.h"
#include "quant.h"

/* Type for tensor `name` (n_dims, row length n_in) when the model is
 * quantised to target; `tied`: the model has no output.weight. */
WM_INTERNAL llm_type llm_quant_tensor_type(const char *name, uint32_t n_dims,
                                           int64_t n_in, llm_type target,
                                           bool tied, bool pure);
/* Types accepted as a quantisation target. */
WM_INTERNAL bool llm_quant_target_ok(llm_type t);
/* llama.cpp's general.file_type number for a target type (-1 if none). */
WM_INTERNAL int llm_quant_file_type(llm_type t);

/*
 * Read in_path (tensors F32, F16 or BF16; or already in the type the
 * policy gives them, copied as is), write out_path with every tensor
 * converted by the type's reference quantiser (from_float_ref), metadata
 * copied (general.file_type updated). Rows are quantised on the given
 * number of threads (<= 0: online CPUs); progress in [0,1] to cb.
 * WM_ERR_ARG for a bad target type, WM_ERR_UNSUPPORTED for a source
 * tensor that is already quantised to another type.
 */
WM_INTERNAL wm_status llm_quantize_file(const char *in_path,
                                        const char *out_path, llm_type type,
                                        bool pure, int n_threads,
                                        void (*cb)(void *ud, double frac),
                                        void *ud, wm_error *err);

#endif
