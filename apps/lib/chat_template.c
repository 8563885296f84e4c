/*
 * chat_template.c — chat prompt formats (chat_template.h).
 */
#include <stdbool.h>
#include <string.h>

#include "chat_template.h"

enum fmt { FMT_LLAMA2, FMT_LLAMA3, FMT_CHATML, FMT_MISTRAL, FMT_ZEPHYR,
           FMT_PLAIN };

struct chat_template {
    const char *name;
    enum fmt fmt;
    const char *stop;
};

static const chat_template templates[] = {
    {"llama-2-chat", FMT_LLAMA2, "</s>"},
    {"llama-3-chat", FMT_LLAMA3, "<|eot_id|>"},
    {"chatml", FMT_CHATML, "<|im_end|>"},
    {"mistral-instruct", FMT_MISTRAL, "</s>"},
    {"zephyr", FMT_ZEPHYR, "</s>"},
    {"plain", FMT_PLAIN, "\nUser:"},
};

const chat_template *chat_template_find(const char *name) {
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        if (strcmp(templates[i].name, name) == 0) return &templates[i];
    return NULL;
}

const char *chat_template_names(void) {
    return "llama-2-chat llama-3-chat chatml mistral-instruct zephyr plain";
}

const char *chat_template_name(const chat_template *t) { return t->name; }
const char *chat_template_stop(const chat_template *t) { return t->stop; }

/* An output cursor that counts past the end like snprintf. */
typedef struct sink {
    char *p;
    size_t cap, len;
} sink;

static void put(sink *s, const char *text) {
    size_t n = strlen(text);
    if (s->len < s->cap) {
        size_t room = s->cap - s->len;
        memcpy(s->p + s->len, text, n < room ? n : room);
    }
    s->len += n;
}

size_t chat_render(const chat_template *t, const chat_msg *m, int n,
                   char *out, size_t cap) {
    sink s = {out, cap ? cap - 1 : 0, 0};
    const char *sys = NULL;
    int i = 0;
    if (n > 0 && m[0].role == CHAT_SYSTEM) {
        sys = m[0].content;
        i = 1;
    }
    bool first = true;
    switch (t->fmt) {
    case FMT_LLAMA2:
        /* [INST] <<SYS>>\n{sys}\n<</SYS>>\n\n{u} [/INST] {a} </s><s>[INST] */
        for (; i < n; i++) {
            if (m[i].role == CHAT_USER) {
                if (!first) put(&s, "<s>");
                put(&s, "[INST] ");
                if (first && sys) {
                    put(&s, "<<SYS>>\n");
                    put(&s, sys);
                    put(&s, "\n<</SYS>>\n\n");
                }
                put(&s, m[i].content);
                put(&s, " [/INST]");
                first = false;
            } else if (m[i].role == CHAT_ASSISTANT) {
                put(&s, " ");
                put(&s, m[i].content);
                put(&s, " </s>");
            }
        }
        break;
    case FMT_LLAMA3:
        if (sys) {
            put(&s, "<|start_header_id|>system<|end_header_id|>\n\n");
            put(&s, sys);
            put(&s, "<|eot_id|>");
        }
        for (; i < n; i++) {
            put(&s, m[i].role == CHAT_USER
                        ? "<|start_header_id|>user<|end_header_id|>\n\n"
                        : "<|start_header_id|>assistant<|end_header_id|>\n\n");
            put(&s, m[i].content);
            put(&s, "<|eot_id|>");
        }
        put(&s, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case FMT_CHATML:
        if (sys) {
            put(&s, "<|im_start|>system\n");
            put(&s, sys);
            put(&s, "<|im_end|>\n");
        }
        for (; i < n; i++) {
            put(&s, m[i].role == CHAT_USER ? "<|im_start|>user\n"
                                           : "<|im_start|>assistant\n");
            put(&s, m[i].content);
            put(&s, "<|im_end|>\n");
        }
        put(&s, "<|im_start|>assistant\n");
        break;
    case FMT_MISTRAL:
        /* No system role: it goes before the first user message. */
        for (; i < n; i++) {
            if (m[i].role == CHAT_USER) {
                put(&s, "[INST] ");
                if (first && sys) {
                    put(&s, sys);
                    put(&s, "\n\n");
                }
                put(&s, m[i].content);
                put(&s, " [/INST]");
                first = false;
            } else if (m[i].role == CHAT_ASSISTANT) {
                put(&s, m[i].content);
                put(&s, "</s>");
            }
        }
        break;
    case FMT_ZEPHYR:
        if (sys) {
            put(&s, "<|system|>\n");
            put(&s, sys);
            put(&s, "</s>\n");
        }
        for (; i < n; i++) {
            put(&s, m[i].role == CHAT_USER ? "<|user|>\n" : "<|assistant|>\n");
            put(&s, m[i].content);
            put(&s, "</s>\n");
        }
        put(&s, "<|assistant|>\n");
        break;
    case FMT_PLAIN:
        if (sys) {
            put(&s, sys);
            put(&s, "\n\n");
        }
        for (; i < n; i++) {
            put(&s, m[i].role == CHAT_USER ? "User: " : "Assistant: ");
            put(&s, m[i].content);
            put(&s, "\n");
        }
        put(&s, "Assistant:");
        break;
    }
    if (cap) out[s.len < s.cap ? s.len : s.cap] = '\0';
    return s.len;
}
