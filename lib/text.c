/* The public text API: thin wrappers over the tokenizer that check their
 * arguments and the model's vocabulary. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "qinfer.h"
#include "tokenizer.h"

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

qi_status qi_detok_feed(const qi_model *m, qi_detok *d, int32_t id, char *out, size_t *len) {
    if (!m || !d || !out || !len) return QI_ERR_INVALID_ARG;
    *len = 0;
    if (!m->tok) return QI_ERR_NO_VOCAB;
    if (id < 0 || id >= tok_n_vocab(m->tok)) return QI_ERR_BAD_TOKEN;
    if (d->n_pending < 0 || d->n_pending > (int)sizeof d->pending) return QI_ERR_INVALID_ARG;
    if (tok_stream_bound(m->tok) > QI_DETOK_MAX) return QI_ERR_BUFFER_TOO_SMALL; /* a token longer than any Qwen2 one */
    tok_stream ts;
    memcpy(ts.pending, d->pending, sizeof ts.pending);
    ts.n_pending = d->n_pending;
    *len = tok_stream_feed(m->tok, &ts, id, out, QI_DETOK_MAX);
    memcpy(d->pending, ts.pending, sizeof d->pending);
    d->n_pending = ts.n_pending;
    return QI_OK;
}

qi_status qi_detok_flush(qi_detok *d, char *out, size_t *len) {
    if (!d || !out || !len) return QI_ERR_INVALID_ARG;
    if (d->n_pending < 0 || d->n_pending > (int)sizeof d->pending) return QI_ERR_INVALID_ARG;
    tok_stream ts;
    memcpy(ts.pending, d->pending, sizeof ts.pending);
    ts.n_pending = d->n_pending;
    *len = tok_stream_flush(&ts, out, QI_DETOK_MAX);
    memset(d, 0, sizeof *d);
    return QI_OK;
}

int32_t qi_token_id(const qi_model *m, const char *token_text) {
    return m && m->tok && token_text ? tok_find(m->tok, token_text) : -1;
}

int qi_token_is_eog(const qi_model *m, int32_t id) { return m && tok_is_eog(m->tok, id); }
