/* Sessions: check the config, build the engine, feed tokens to forward() in
 * chunks, keep the last logits and the ids fed, sample, generate. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fail.h"
#include "session.h"

/* What a config makes of this model: the checks qi_session_new applies, the
 * config it runs with (c) and the engine's sizes. */
static qi_status plan_session(const qi_model *m, const qi_config *cfg, qi_config *c, engine_plan *p, char *msg,
                              size_t msg_size) {
    if (!m) return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG, "model is NULL");
    if (m->vocab_only)
        return fail_msg(msg, msg_size, QI_ERR_MODEL_TENSOR,
                        "the model file holds only a vocabulary: no weights to run");
    if (cfg) *c = *cfg; else qi_config_default(c);
    qi_status st = qi_config_check(c, msg, msg_size);
    if (st) return st;
    return plan_engine(m, c, p, msg, msg_size);
}

size_t qi_session_bytes(const qi_model *m, const qi_config *cfg) {
    qi_config c;
    engine_plan p;
    if (plan_session(m, cfg, &c, &p, NULL, 0)) return 0;
    size_t logits = (size_t)m->n_vocab * sizeof(float), history = (size_t)p.capacity * sizeof(int32_t);
    return sizeof(qi_session) + engine_bytes(m, &c, &p) + logits + history + sampler_bytes(m->n_vocab);
}

qi_status qi_session_new(const qi_model *m, const qi_config *cfg, qi_session **out, char *msg, size_t msg_size) {
    if (msg && msg_size) msg[0] = 0;
    if (!out) return QI_ERR_INVALID_ARG;
    *out = NULL;
    qi_config c;
    engine_plan p;
    qi_status st = plan_session(m, cfg, &c, &p, msg, msg_size);
    if (st) return st;
    qi_session *s = calloc(1, sizeof *s);
    st = s ? engine_init(&s->engine, m, &c, &p, msg, msg_size) : QI_ERR_NOMEM;
    if (!st) {
        s->cfg = c;
        s->logits = malloc((size_t)m->n_vocab * sizeof(float));
        s->history = malloc((size_t)p.capacity * sizeof(int32_t));
        st = !s->logits || !s->history ? QI_ERR_NOMEM : sampler_init(&s->sampler, m->n_vocab, c.seed);
    }
    if (st) {
        if (st == QI_ERR_NOMEM)
            fail_msg(msg, msg_size, st,
                     "out of memory for a %d-token session (%.1f MiB in all, the KV cache %.1f MiB of %s)", p.capacity,
                     qi_session_bytes(m, cfg) / 1048576.0,
                     kv_plan_bytes(m->n_layer, p.capacity, m->n_head_kv * m->head_dim, c.kv_type) / 1048576.0,
                     qi_kv_type_name(c.kv_type));
        qi_session_free(s);
        return st;
    }
    *out = s;
    return QI_OK;
}

void qi_session_free(qi_session *s) {
    if (!s) return;
    engine_free(&s->engine);
    free(s->logits);
    sampler_free(&s->sampler);
    free(s->history);
    free(s);
}

const char *qi_session_errmsg(const qi_session *s) { return s ? s->err : "session is NULL"; }

/* ids[from..n) are all in the vocabulary */
static qi_status check_ids(qi_session *s, const int32_t *ids, int from, int n) {
    int n_vocab = s->engine.model->n_vocab;
    for (int i = from; i < n; i++)
        if (ids[i] < 0 || ids[i] >= n_vocab)
            return fail_msg(s->err, sizeof s->err, QI_ERR_BAD_TOKEN, "token id %d at index %d is outside [0, %d)",
                            ids[i], i, n_vocab);
    return QI_OK;
}

qi_status qi_session_eval(qi_session *s, const int32_t *ids, int n, float *all_logits) {
    if (!s) return QI_ERR_INVALID_ARG;
    s->err[0] = 0;
    if (n < 0 || (n > 0 && !ids))
        return fail_msg(s->err, sizeof s->err, QI_ERR_INVALID_ARG, "eval: bad token array (n = %d)", n);
    if (n == 0) return QI_OK;
    qi_engine *e = &s->engine;
    qi_status st = check_ids(s, ids, 0, n);
    if (st) return st;
    if (n > e->kv.capacity - e->pos)
        return fail_msg(s->err, sizeof s->err, QI_ERR_CONTEXT_FULL,
                        "context full: %d tokens in the cache, %d more do not fit in %d", e->pos, n, e->kv.capacity);
    size_t V = (size_t)e->model->n_vocab;
    memcpy(s->history + e->pos, ids, (size_t)n * sizeof *ids);
    for (int i = 0; i < n; i += e->chunk) {
        int c = n - i < e->chunk ? n - i : e->chunk;
        int last = i + c == n;
        if (all_logits) forward(e, ids + i, c, all_logits + (size_t)i * V, 1);
        else forward(e, ids + i, c, last ? s->logits : NULL, 0);
        if (n > 1 && s->progress && s->progress(s->progress_user, i + c, n) && !last) {
            s->has_logits = 0; /* the chunks fed stay in the cache; their logits were not kept */
            return fail_msg(s->err, sizeof s->err, QI_ERR_CANCELLED, "prompt stopped by the caller after %d of %d ids",
                            i + c, n);
        }
    }
    if (all_logits) memcpy(s->logits, all_logits + (size_t)(n - 1) * V, V * sizeof(float));
    s->has_logits = 1;
    return QI_OK;
}

qi_status qi_session_set_progress(qi_session *s, qi_progress_fn fn, void *user) {
    if (!s) return QI_ERR_INVALID_ARG;
    s->progress = fn;
    s->progress_user = user;
    return QI_OK;
}

const char *qi_session_isa(const qi_session *s) { return s ? s->engine.kern->name : ""; }
int qi_session_threads(const qi_session *s) { return s ? pool_threads(s->engine.pool) : 0; }

const float *qi_session_logits(const qi_session *s) { return s && s->has_logits ? s->logits : NULL; }
int qi_session_pos(const qi_session *s) { return s ? s->engine.pos : 0; }
int qi_session_capacity(const qi_session *s) { return s ? s->engine.kv.capacity : 0; }

qi_status qi_session_rewind(qi_session *s, int pos) {
    if (!s) return QI_ERR_INVALID_ARG;
    qi_engine *e = &s->engine;
    if (pos < 0 || pos > e->pos)
        return fail_msg(s->err, sizeof s->err, QI_ERR_INVALID_ARG, "rewind to %d: must be in [0, %d]", pos, e->pos);
    if (pos < e->pos) s->has_logits = 0; /* the last logits belonged to a dropped token */
    e->pos = pos;
    s->err[0] = 0;
    return QI_OK;
}

qi_status qi_session_sample(qi_session *s, int32_t *token) {
    if (!s || !token) return QI_ERR_INVALID_ARG;
    if (!s->has_logits)
        return fail_msg(s->err, sizeof s->err, QI_ERR_INVALID_ARG, "sample: no logits yet (feed a token first)");
    s->err[0] = 0;
    int32_t t = -1;
    int n_vocab = s->engine.model->n_vocab;
    qi_status st = sampler_sample(&s->sampler, &s->cfg, s->logits, s->history, s->engine.pos, &t);
    if (st) return fail_msg(s->err, sizeof s->err, st, "sampler failed: %s", qi_status_str(st));
    /* sample.c is editable by the optimisation loop: check what it returns */
    if (t < 0 || t >= n_vocab)
        return fail_msg(s->err, sizeof s->err, QI_ERR_BAD_TOKEN, "sampler returned token %d, outside [0, %d)", t,
                        n_vocab);
    *token = t;
    return QI_OK;
}

qi_status qi_session_set_sampling(qi_session *s, const qi_config *cfg) {
    if (!s || !cfg) return QI_ERR_INVALID_ARG;
    qi_config c = s->cfg;
    c.temperature = cfg->temperature;
    c.top_k = cfg->top_k;
    c.top_p = cfg->top_p;
    c.min_p = cfg->min_p;
    c.repeat_penalty = cfg->repeat_penalty;
    c.repeat_last_n = cfg->repeat_last_n;
    c.seed = cfg->seed;
    qi_status st = qi_config_check(&c, s->err, sizeof s->err);
    if (st) return st;
    s->cfg = c;
    sampler_seed(&s->sampler, c.seed);
    s->err[0] = 0;
    return QI_OK;
}

qi_status qi_session_prompt(qi_session *s, const int32_t *ids, int n, int *n_reused) {
    if (!s) return QI_ERR_INVALID_ARG;
    if (n_reused) *n_reused = 0;
    if (n <= 0 || !ids) return fail_msg(s->err, sizeof s->err, QI_ERR_INVALID_ARG, "prompt: empty (n = %d)", n);
    int keep = 0, capacity = s->engine.kv.capacity;
    while (keep < n && keep < s->engine.pos && s->history[keep] == ids[keep]) keep++;
    if (keep == n) keep = n - 1; /* the last token is fed again for its logits */
    /* check before rewinding, so that a failure leaves the session as it was */
    if (n - keep > capacity - keep)
        return fail_msg(s->err, sizeof s->err, QI_ERR_CONTEXT_FULL,
                        "context full: a %d-token prompt does not fit in %d", n, capacity);
    qi_status st = check_ids(s, ids, keep, n);
    if (st) return st;
    qi_session_rewind(s, keep);
    st = qi_session_eval(s, ids + keep, n - keep, NULL);
    if (!st && n_reused) *n_reused = keep;
    return st;
}

qi_status qi_generate(qi_session *s, int max_tokens, qi_token_fn fn, void *user, qi_gen_stats *stats) {
    if (!s || max_tokens < 0) return QI_ERR_INVALID_ARG;
    qi_gen_stats local = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    qi_status st = QI_OK;
    while (local.n_gen < max_tokens) {
        int32_t tok;
        if ((st = qi_session_sample(s, &tok))) break;
        if (qi_token_is_eog(s->engine.model, tok)) {
            local.stopped_at_eog = 1;
            break;
        }
        local.n_gen++;
        if (fn && fn(user, tok)) {
            st = fail_msg(s->err, sizeof s->err, QI_ERR_CANCELLED, "generation stopped by the caller");
            break;
        }
        if (local.n_gen < max_tokens && (st = qi_session_eval(s, &tok, 1, NULL))) break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    local.seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (stats) *stats = local;
    return st;
}
