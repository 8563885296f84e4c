/*
 * fuzz_gguf.c — libFuzzer target for the GGUF reader and the tokenizer
 * built from it: open the input as a GGUF buffer, touch every kv, string
 * and tensor byte range the reader vouched for, load the vocabulary when
 * there is one and tokenize/detokenize a few strings (special tokens,
 * invalid UTF-8, digits, white space runs).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "llm/gguf.h"
#include "llm/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const texts[] = {
    "Hello world", " Hello,  world!\n\n", "<s>x</s><|endoftext|>",
    "3333 don't 'LL", "\xff\xe2\x82 caf\xc3\xa9 \xf0\x9f\xa6\x99", "",
    "\t \r\n   a",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > ((size_t)1 << 20)) return 0;
    gguf_file *f = NULL;
    wm_error err;
    if (gguf_open_buffer(data, size, "fuzz.gguf", &f, &err) != WM_OK)
        return 0;
    /* Everything the reader accepted must be readable. */
    volatile uint8_t sink = 0;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        sink ^= (uint8_t)kv->key.ptr[kv->key.len - 1];
        if (kv->strs)
            for (uint64_t j = 0; j < kv->n; j++)
                if (kv->strs[j].len)
                    sink ^= (uint8_t)kv->strs[j].ptr[kv->strs[j].len - 1];
        float x;
        int64_t y;
        gguf_arr_f32(kv, kv->n ? kv->n - 1 : 0, &x);
        gguf_arr_i64(kv, 0, &y);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (t->nbytes)
            sink ^= ((const uint8_t *)t->data)[0] ^
                    ((const uint8_t *)t->data)[t->nbytes - 1];
    }
    llm_vocab *v = NULL;
    if (llm_vocab_load(f, &v, &err) == WM_OK) {
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            int32_t ids[256];
            int64_t n = llm_tokenize(v, texts[i], strlen(texts[i]), true,
                                     i % 2 == 0, ids, 256, &err);
            llm_detok d;
            llm_detok_init(&d);
            char out[4096];
            size_t o = 0;
            for (int64_t k = 0; k < n && k < 256; k++)
                o += llm_detok_push(v, &d, ids[k], out + o, sizeof out - o);
            o += llm_detok_flush(&d, out + o, sizeof out - o);
            sink ^= (uint8_t)o;
        }
        llm_vocab_free(v);
    }
    (void)sink;
    gguf_close(f);
    return 0;
}
