/* The public text API: thin wrappers over the tokenizer that check their
 * arguments and the model's vocabulary, and the streaming detokenizer. */
#include <stdlib.h>
#include <string.h>

#include "engine/model.h"
#include "qinfer.h"
#include "tokenizer.h"
#include "unicode.h"

qi_status qi_tokenize(const qi_model *m, const char *text, size_t len, int parse_special, int32_t *ids, int cap,
                      int *n_ids) {
    if (!m || (!text && len) || cap < 0 || (!ids && cap) || !n_ids) return QI_ERR_INVALID_ARG;
    *n_ids = 0;
    if (!m->tok) return QI_ERR_NO_VOCAB;
    int32_t *all = NULL;
    size_t n = 0, acap = 0;
    qi_status st = tok_encode(m->tok, text ? text : "", len, parse_special, &all, &n, &acap);
    if (!st && n > (size_t)INT32_MAX) st = QI_ERR_BUFFER_TOO_SMALL;
    if (!st) {
        *n_ids = (int)n;
        if (n > (size_t)cap) st = QI_ERR_BUFFER_TOO_SMALL;
        else if (n) memcpy(ids, all, n * sizeof *ids);
    }
    free(all);
    return st;
}

qi_status qi_token_bytes(const qi_model *m, int32_t id, char *buf, size_t cap, size_t *len) {
    if (!m || (!buf && cap) || !len) return QI_ERR_INVALID_ARG;
    *len = 0;
    if (!m->tok) return QI_ERR_NO_VOCAB;
    if (id < 0 || id >= tok_n_vocab(m->tok)) return QI_ERR_BAD_TOKEN;
    *len = tok_token_bytes(m->tok, id, buf, cap);
    return *len > cap ? QI_ERR_BUFFER_TOO_SMALL : QI_OK;
}

/* ---- the streaming detokenizer ----------------------------------------------
 * A token's bytes go through a UTF-8 assembler: only whole characters come
 * out, and the bytes of one that a token leaves unfinished wait in
 * d->pending. Ill-formed UTF-8 comes out as U+FFFD, one per maximal
 * ill-formed subpart, which is what HF decode gives (Rust from_utf8_lossy,
 * Python errors="replace"); flush turns a held incomplete character into one
 * U+FFFD. Each byte, of this token or held from the last (3 at most), gives
 * at most 3 bytes out: a token of up to MAX_TOKEN_BYTES never fills out's
 * QI_DETOK_MAX. */

#define MAX_TOKEN_BYTES (QI_DETOK_MAX / 3 - 4)

static const char REPLACEMENT[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

/* One byte in; what it completes goes to out + *n. A byte that can not
 * continue the held prefix ends it (one U+FFFD) and is then looked at afresh. */
static void detok_byte(qi_detok *d, unsigned char b, char *out, size_t *n) {
    for (;;) {
        if (d->n_pending == 0) {
            int len = uni_utf8_len(b);
            if (len == 1) {
                out[(*n)++] = (char)b;
            } else if (len == 0) {
                memcpy(out + *n, REPLACEMENT, 3);
                *n += 3;
            } else {
                d->pending[0] = b;
                d->n_pending = 1;
            }
            return;
        }
        if (uni_utf8_cont_ok(d->pending[0], d->n_pending, b)) {
            d->pending[d->n_pending++] = b;
            if (d->n_pending == uni_utf8_len(d->pending[0])) {
                memcpy(out + *n, d->pending, (size_t)d->n_pending);
                *n += (size_t)d->n_pending;
                d->n_pending = 0;
            }
            return;
        }
        memcpy(out + *n, REPLACEMENT, 3);
        *n += 3;
        d->n_pending = 0;
    }
}

/* QI_OK for a state some feed could have left; a held prefix that no feed
 * leaves (too long for its lead byte) is dropped. */
static qi_status detok_check(qi_detok *d) {
    if (d->n_pending < 0 || d->n_pending > (int)sizeof d->pending) return QI_ERR_INVALID_ARG;
    if (d->n_pending && d->n_pending >= uni_utf8_len(d->pending[0])) d->n_pending = 0;
    return QI_OK;
}

qi_status qi_detok_feed(const qi_model *m, qi_detok *d, int32_t id, char *out, size_t *len) {
    if (!m || !d || !out || !len) return QI_ERR_INVALID_ARG;
    *len = 0;
    if (!m->tok) return QI_ERR_NO_VOCAB;
    if (id < 0 || id >= tok_n_vocab(m->tok)) return QI_ERR_BAD_TOKEN;
    if (detok_check(d)) return QI_ERR_INVALID_ARG;
    char bytes[MAX_TOKEN_BYTES];
    size_t n = tok_token_bytes(m->tok, id, bytes, sizeof bytes);
    if (n > sizeof bytes) return QI_ERR_BUFFER_TOO_SMALL; /* a token longer than any Qwen2 one */
    for (size_t i = 0; i < n; i++) detok_byte(d, (unsigned char)bytes[i], out, len);
    return QI_OK;
}

qi_status qi_detok_flush(qi_detok *d, char *out, size_t *len) {
    if (!d || !out || !len) return QI_ERR_INVALID_ARG;
    if (detok_check(d)) return QI_ERR_INVALID_ARG;
    *len = d->n_pending ? 3 : 0;
    memcpy(out, REPLACEMENT, *len);
    memset(d, 0, sizeof *d);
    return QI_OK;
}

int32_t qi_token_id(const qi_model *m, const char *token_text) {
    return m && m->tok && token_text ? tok_find(m->tok, token_text) : -1;
}

int qi_token_is_eog(const qi_model *m, int32_t id) { return m && tok_is_eog(m->tok, id); }
