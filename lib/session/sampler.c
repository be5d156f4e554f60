/* The public sampler calls: the session's sampler (sample.c) on logits the
 * caller brings. Kept apart from sample.c, which the optimisation loop may
 * edit: these check what it returns. */
#include <stdlib.h>

#include "sample.h"

size_t sampler_bytes(int n_vocab) { return (size_t)n_vocab * (sizeof(float) + sizeof(int32_t)); }

qi_status qi_sampler_new(const qi_config *cfg, int n_vocab, qi_sampler **out) {
    if (!out) return QI_ERR_INVALID_ARG;
    *out = NULL;
    if (!cfg || n_vocab < 1) return QI_ERR_INVALID_ARG;
    qi_status st = qi_config_check(cfg, NULL, 0);
    if (st) return st;
    qi_sampler *s = malloc(sizeof *s);
    if (!s) return QI_ERR_NOMEM;
    if ((st = sampler_init(s, n_vocab, cfg->seed))) {
        free(s);
        return st;
    }
    s->cfg = *cfg;
    *out = s;
    return QI_OK;
}

qi_status qi_sampler_draw(qi_sampler *s, const float *logits, const int32_t *recent, int n_recent, int32_t *token) {
    if (!s || !logits || !token || n_recent < 0 || (n_recent > 0 && !recent)) return QI_ERR_INVALID_ARG;
    int32_t t = -1;
    qi_status st = sampler_sample(s, &s->cfg, logits, recent, n_recent, &t);
    if (st) return st;
    if (t < 0 || t >= s->n_vocab) return QI_ERR_BAD_TOKEN;
    *token = t;
    return QI_OK;
}

void qi_sampler_free(qi_sampler *s) {
    if (!s) return;
    sampler_free(s);
    free(s);
}
