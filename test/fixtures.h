/* Reading ../shared fixtures from tests: whole files, and the golden chat
 * texts in MANIFEST.json (models.tiny-qwen2.texts.S1..S3). */
#ifndef QINFER_FIXTURES_H
#define QINFER_FIXTURES_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* shared_dir()/rel into a NUL-terminated buffer; NULL if unreadable. */
static inline char *slurp(const char *rel, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", shared_dir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    if (b) { b[n] = 0; *len = (size_t)n; }
    return b;
}

static inline int utf8_put(uint32_t c, char *u) {
    if (c < 0x80) { u[0] = (char)c; return 1; }
    if (c < 0x800) { u[0] = (char)(0xC0 | c >> 6); u[1] = (char)(0x80 | (c & 63)); return 2; }
    if (c < 0x10000) { u[0] = (char)(0xE0 | c >> 12); u[1] = (char)(0x80 | ((c >> 6) & 63)); u[2] = (char)(0x80 | (c & 63)); return 3; }
    u[0] = (char)(0xF0 | c >> 18); u[1] = (char)(0x80 | ((c >> 12) & 63));
    u[2] = (char)(0x80 | ((c >> 6) & 63)); u[3] = (char)(0x80 | (c & 63));
    return 4;
}

/* Decode the JSON string starting just past its opening quote into out. */
static inline size_t json_string(const char *p, char *out, size_t cap) {
    size_t k = 0;
    while (*p && *p != '"') {
        uint32_t c = (unsigned char)*p++;
        if (c == '\\') {
            char e = *p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                c = (uint32_t)strtoul((char[5]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
                p += 4;
                if (c >= 0xD800 && c < 0xDC00 && p[0] == '\\' && p[1] == 'u') {
                    uint32_t lo = (uint32_t)strtoul((char[5]){p[2], p[3], p[4], p[5], 0}, NULL, 16);
                    c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
                char u[4];
                int m = utf8_put(c, u);
                for (int i = 0; i < m && k < cap; i++) out[k++] = u[i];
                continue;
            }
            default: c = (unsigned char)e; break; /* \" \\ \/ */
            }
        }
        if (k < cap) out[k++] = (char)c;
    }
    return k;
}

/* The golden chat text S<seq> (1..3), malloc'ed and NUL-terminated, or NULL. */
static inline char *manifest_text(int seq, size_t *len) {
    size_t n;
    char *js = slurp("golden/MANIFEST.json", &n);
    char *m = js ? strstr(js, "\"tiny-qwen2\"") : NULL;
    char *texts = m ? strstr(m, "\"texts\"") : NULL;
    char key[16];
    snprintf(key, sizeof key, "\"S%d\"", seq);
    char *p = texts ? strstr(texts, key) : NULL;
    p = p ? strchr(p + strlen(key), '"') : NULL;
    char *text = p ? malloc(n + 1) : NULL;
    if (text) {
        *len = json_string(p + 1, text, n);
        text[*len] = 0;
    }
    free(js);
    return text;
}
#endif
