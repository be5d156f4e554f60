/* ChatML rendering, byte for byte what Qwen2.5-Instruct's Jinja template
 * (tokenizer.chat_template) produces for conversations without tools:
 *
 *   <|im_start|>system\n{first system message, or the default}<|im_end|>\n
 *   <|im_start|>{role}\n{content}<|im_end|>\n        for user / assistant /
 *                                                     later system messages
 *   <|im_start|>user\n<tool_response>\n{content}\n</tool_response><|im_end|>\n
 *                                                     for a run of tool messages
 *   <|im_start|>assistant\n                           if add_generation_prompt */
#include <string.h>

#include "qinfer.h"

typedef struct out_buf {
    char *p;
    size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *s) {
    size_t n = strlen(s);
    if (o->len < o->cap) memcpy(o->p + o->len, s, o->len + n <= o->cap ? n : o->cap - o->len);
    o->len += n;
}

static int is_role(const char *r) {
    return !strcmp(r, "system") || !strcmp(r, "user") || !strcmp(r, "assistant") || !strcmp(r, "tool");
}

qi_status qi_chat_render(const qi_chat_msg *msgs, int n, int add_generation_prompt, char *buf, size_t cap,
                         size_t *len) {
    if (n < 0 || (n && !msgs) || (!buf && cap) || !len) return QI_ERR_INVALID_ARG;
    for (int i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content || !is_role(msgs[i].role)) return QI_ERR_INVALID_ARG;
    out_buf o = {buf, cap, 0};
    int first_system = n > 0 && !strcmp(msgs[0].role, "system");
    put(&o, "<|im_start|>system\n");
    put(&o, first_system ? msgs[0].content : QI_DEFAULT_SYSTEM);
    put(&o, "<|im_end|>\n");
    for (int i = first_system; i < n; i++) {
        const char *role = msgs[i].role;
        if (strcmp(role, "tool")) {
            put(&o, "<|im_start|>");
            put(&o, role);
            put(&o, "\n");
            put(&o, msgs[i].content);
            put(&o, "<|im_end|>\n");
            continue;
        }
        /* consecutive tool responses share one user turn */
        if (i == 0 || strcmp(msgs[i - 1].role, "tool")) put(&o, "<|im_start|>user");
        put(&o, "\n<tool_response>\n");
        put(&o, msgs[i].content);
        put(&o, "\n</tool_response>");
        if (i == n - 1 || strcmp(msgs[i + 1].role, "tool")) put(&o, "<|im_end|>\n");
    }
    if (add_generation_prompt) put(&o, "<|im_start|>assistant\n");
    *len = o.len;
    if (o.len >= cap) return QI_ERR_BUFFER_TOO_SMALL;
    buf[o.len] = 0;
    return QI_OK;
}
