/*
 * tokenizer.h — tokenizers described by GGUF metadata (tokenizer.ggml.*):
 *   model "llama": SentencePiece BPE over scores, with byte fallback
 *                  (<0xNN> tokens) and the "▁" space convention
 *                  (add_space_prefix as the file says, default true);
 *   model "gpt2":  byte-level BPE over merges, with the pre-tokenizer regex
 *                  that tokenizer.ggml.pre names (llama3 / "llama-bpe",
 *                  qwen2, gpt2 / default), bytes mapped through the GPT-2
 *                  byte<->unicode table.
 * Special/control tokens (token_type CONTROL / USER_DEFINED) are matched
 * in the text first when parse_special is true. BOS/EOS/EOT ids and
 * add_bos/add_eos come from metadata.
 *
 * Detokenisation streams: llm_detok_push() appends a token's bytes to a
 * small pending buffer and emits only complete UTF-8 sequences, so a
 * multi-byte character split over byte-fallback tokens is printed whole.
 */
#ifndef WM_TOKENIZER_H
#define WM_TOKENIZER_H

#include "../util/common.h"
#include "gguf.h"

typedef struct llm_vocab llm_vocab;

enum llm_vocab_kind { LLM_VOCAB_SPM, LLM_VOCAB_BPE };

/* Build from the GGUF's tokenizer.* metadata (strings copied: the vocab
 * outlives the file). WM_ERR_FORMAT naming the key when inconsistent. */
WM_INTERNAL wm_status llm_vocab_load(const gguf_file *f, llm_vocab **out,
                                     wm_error *err);
WM_INTERNAL void llm_vocab_free(llm_vocab *v);

WM_INTERNAL enum llm_vocab_kind llm_vocab_kind(const llm_vocab *v);
WM_INTERNAL int32_t llm_vocab_size(const llm_vocab *v);
WM_INTERNAL int32_t llm_token_bos(const llm_vocab *v);   /* -1 if none */
WM_INTERNAL int32_t llm_token_eos(const llm_vocab *v);   /* -1 if none */
WM_INTERNAL bool llm_vocab_add_bos(const llm_vocab *v);
/* End of generation: EOS, EOT (<|eot_id|>, <|im_end|>, ...) */
WM_INTERNAL bool llm_token_is_eog(const llm_vocab *v, int32_t id);
/* Token id of an exact piece text, or -1. */
WM_INTERNAL int32_t llm_token_find(const llm_vocab *v, const char *text,
                                   size_t len);

/*
 * Tokenize text[0..len). Writes at most cap ids to out and returns the
 * total count (which may exceed cap: call again with a larger buffer), or
 * -1 with err set (only on out-of-memory). add_bos prepends BOS when the
 * vocabulary has one. Never reads past len; any bytes (invalid UTF-8
 * included) are tokenized (SPM via byte fallback, BPE via byte tokens).
 */
WM_INTERNAL int64_t llm_tokenize(const llm_vocab *v, const char *text,
                                 size_t len, bool add_bos,
                                 bool parse_special, int32_t *out,
                                 int64_t cap, wm_error *err);

/* The bytes a token stands for in output text: "▁" -> ' ', <0x0A> ->
 * "\n", BPE byte-unicode decoded; control tokens give "" unless
 * render_special. *len set; pointer valid while the vocab lives. */
WM_INTERNAL const char *llm_token_text(const llm_vocab *v, int32_t id,
                                       bool render_special, size_t *len);
/* Raw piece as stored in the vocabulary. */
WM_INTERNAL const char *llm_token_piece(const llm_vocab *v, int32_t id,
                                        size_t *len);

typedef struct llm_detok {
    uint8_t pending[8];
    uint32_t n_pending;
    bool at_start;           /* SPM: drop the leading space of the first
                                piece after BOS, as llama.cpp does */
} llm_detok;

WM_INTERNAL void llm_detok_init(llm_detok *d);
/* Append token id's text; writes the complete UTF-8 prefix to out (up to
 * cap bytes) and returns the number of bytes written. */
WM_INTERNAL size_t llm_detok_push(const llm_vocab *v, llm_detok *d,
                                  int32_t id, char *out, size_t cap);
/* Flush what is pending at the end (invalid tails as U+FFFD). */
WM_INTERNAL size_t llm_detok_flush(llm_detok *d, char *out, size_t cap);

#endif
