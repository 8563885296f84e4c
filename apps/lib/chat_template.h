/*
 * chat_template.h — prompt formats of common chat models, rendered
 * guest-side (the GGML backend takes the finished prompt text).
 *
 *     chat_msg m[] = {{CHAT_SYSTEM, "Be brief."}, {CHAT_USER, "Hi"}};
 *     const chat_template *t = chat_template_find("chatml");
 *     size_t n = chat_render(t, m, 2, buf, sizeof buf);  // like snprintf
 *
 * Formats (NAME: models), with the generation prompt for the assistant
 * appended:
 *   llama-2-chat      Llama 2 chat: [INST] <<SYS>> ... <</SYS>> ... [/INST]
 *   llama-3-chat      Llama 3/3.1 instruct: <|start_header_id|>...
 *   chatml            Qwen, OpenHermes, TinyLlama-chat v0.x: <|im_start|>
 *   mistral-instruct  Mistral/Mixtral instruct: [INST] ... [/INST]
 *   zephyr            Zephyr, TinyLlama-1.1B-Chat v1.0: <|user|> ... </s>
 *   plain             base models: "User: ...\nAssistant:" turns
 * The leading BOS of each format is left out: the engine adds it (the
 * vocabulary says so), and a second one would change the output. BOS/EOS
 * between turns are written as text; the engine parses special tokens.
 */
#ifndef CHAT_TEMPLATE_H
#define CHAT_TEMPLATE_H

#include <stddef.h>

typedef enum chat_role { CHAT_SYSTEM, CHAT_USER, CHAT_ASSISTANT } chat_role;

typedef struct chat_msg {
    chat_role role;
    const char *content;
} chat_msg;

typedef struct chat_template chat_template;

/* NULL when unknown. */
const chat_template *chat_template_find(const char *name);
/* Names, space-separated (for usage text). */
const char *chat_template_names(void);
const char *chat_template_name(const chat_template *t);
/* Text that ends an assistant turn when a model writes it out as text
 * (e.g. "<|im_end|>"); the generation should stop there. */
const char *chat_template_stop(const chat_template *t);
/* Render msgs[0..n) and the assistant's generation prompt into
 * out[0..cap) (NUL-terminated when cap > 0). Returns the full length,
 * which may exceed cap - 1, as snprintf does. */
size_t chat_render(const chat_template *t, const chat_msg *msgs, int n,
                   char *out, size_t cap);

#endif
