/* Sessions: validate the config, size every buffer once, feed tokens in
 * chunks through forward(), keep the last logits, sample. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention.h"
#include "fail.h"
#include "session.h"

static void scratch_free(qi_scratch *S) {
    float **bufs[] = {&S->x, &S->xn, &S->q, &S->k, &S->v, &S->att, &S->gate, &S->up,
                      &S->rope_cos, &S->rope_sin, &S->att_scratch, &S->wrow};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        free(*bufs[i]);
        *bufs[i] = NULL;
    }
    free(S->xq);
    S->xq = NULL;
}

static int imax(int a, int b) { return a > b ? a : b; }

/* The scratch buffers, in the order of qi_scratch's pointers: sizes first,
 * so that qi_session_bytes counts exactly what scratch_alloc allocates. */
enum { SC_X, SC_XN, SC_Q, SC_K, SC_V, SC_ATT, SC_GATE, SC_UP, SC_COS, SC_SIN, SC_XQ, SC_ATT_SCRATCH, SC_WROW, SC_N };

static void scratch_sizes(const qi_model *m, int chunk, int threads, size_t *sz) {
    size_t c = (size_t)chunk, f = sizeof(float);
    size_t q_dim = (size_t)m->n_head * m->head_dim, kv_dim = (size_t)m->n_head_kv * m->head_dim;
    size_t max_dim = (size_t)imax(imax(m->n_embd, m->n_ff), (int)q_dim);
    sz[SC_X] = sz[SC_XN] = c * m->n_embd * f;
    sz[SC_Q] = sz[SC_ATT] = c * q_dim * f;
    sz[SC_K] = sz[SC_V] = c * kv_dim * f;
    sz[SC_GATE] = sz[SC_UP] = c * m->n_ff * f;
    sz[SC_COS] = sz[SC_SIN] = c * (m->head_dim / 2) * f;
    sz[SC_XQ] = c * (max_dim / QK8_0) * sizeof(block_q8_0);
    sz[SC_ATT_SCRATCH] = (size_t)threads * attention_scratch_floats(m->head_dim, m->n_head / m->n_head_kv) * f;
    sz[SC_WROW] = (size_t)threads * max_dim * f;
}

static qi_status scratch_alloc(qi_scratch *S, const qi_model *m, int chunk, int threads) {
    size_t sz[SC_N];
    scratch_sizes(m, chunk, threads, sz);
    memset(S, 0, sizeof *S);
    S->max_dim = imax(imax(m->n_embd, m->n_ff), m->n_head * m->head_dim);
    float **f[] = {&S->x, &S->xn, &S->q, &S->k, &S->v, &S->att, &S->gate, &S->up, &S->rope_cos, &S->rope_sin};
    int ok = 1;
    for (int i = 0; i < SC_XQ; i++) ok &= (*f[i] = malloc(sz[i])) != NULL;
    ok &= (S->xq = malloc(sz[SC_XQ])) != NULL;
    ok &= (S->att_scratch = malloc(sz[SC_ATT_SCRATCH])) != NULL;
    ok &= (S->wrow = malloc(sz[SC_WROW])) != NULL;
    if (!ok) {
        scratch_free(S);
        return QI_ERR_NOMEM;
    }
    return QI_OK;
}

/* What a config makes of this model: the checks qi_session_new applies,
 * and the sizes it derives. */
typedef struct session_plan {
    qi_config c;
    int capacity, chunk, threads;
} session_plan;

static qi_status plan_session(const qi_model *m, const qi_config *cfg, session_plan *p, char *msg, size_t msg_size) {
    if (!m) return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG, "model is NULL");
    if (m->vocab_only)
        return fail_msg(msg, msg_size, QI_ERR_MODEL_TENSOR, "the model file holds only a vocabulary: no weights to run");
    if (cfg) p->c = *cfg; else qi_config_default(&p->c);
    qi_status st = qi_config_check(&p->c, msg, msg_size);
    if (st) return st;
    p->capacity = p->c.kv_capacity ? p->c.kv_capacity : m->n_ctx_train;
    if (p->c.kv_type == QI_KV_Q8_0 && m->head_dim % 32)
        return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG,
                        "kv_type q8_0 needs a head dimension divisible by 32 (this model: %d)", m->head_dim);
    if (p->capacity > m->n_ctx_train)
        return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG, "kv_capacity = %d exceeds the model's context length %d",
                        p->capacity, m->n_ctx_train);
    p->chunk = p->c.prefill_chunk < p->capacity ? p->c.prefill_chunk : p->capacity;
    p->threads = p->c.n_threads ? p->c.n_threads : physical_cores();
    return QI_OK;
}

/* the C library's own bookkeeping for each thread it starts (its TLS vector) */
#define THREAD_ALLOWANCE 1024

size_t qi_session_bytes(const qi_model *m, const qi_config *cfg) {
    session_plan p;
    if (plan_session(m, cfg, &p, NULL, 0)) return 0;
    size_t sz[SC_N], total = sizeof(qi_session);
    scratch_sizes(m, p.chunk, p.threads, sz);
    for (int i = 0; i < SC_N; i++) total += sz[i];
    total += pool_bytes(p.threads) + (size_t)(p.threads - 1) * THREAD_ALLOWANCE;
    total += kv_plan_bytes(m->n_layer, p.capacity, m->n_head_kv * m->head_dim, p.c.kv_type);
    total += (size_t)m->n_vocab * sizeof(float) + (size_t)p.capacity * sizeof(int32_t); /* logits, history */
    total += sampler_bytes(m->n_vocab);
    return total;
}

qi_status qi_session_new(const qi_model *m, const qi_config *cfg, qi_session **out, char *msg, size_t msg_size) {
    if (msg && msg_size) msg[0] = 0;
    if (!out) return QI_ERR_INVALID_ARG;
    *out = NULL;
    session_plan p;
    qi_status st = plan_session(m, cfg, &p, msg, msg_size);
    if (st) return st;
    qi_config c = p.c;
    int capacity = p.capacity;
    char kmsg[160];
    const char *force = getenv("QINFER_ISA");
    if (!force && c.isa != QI_ISA_AUTO) force = qi_isa_name(c.isa);
    const qi_kernels *kern = kernels_select(force, kmsg, sizeof kmsg);
    if (!kern) return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG, "%s", kmsg);
    qi_session *s = calloc(1, sizeof *s);
    if (!s) return QI_ERR_NOMEM;
    s->model = m;
    s->cfg = c;
    s->kern = kern;
    s->chunk = p.chunk;
    int threads = p.threads;
    st = pool_new(threads, c.spin, &s->pool);
    if (!st) st = kv_init(&s->kv, m->n_layer, capacity, m->n_head_kv * m->head_dim, c.kv_type);
    if (!st) st = scratch_alloc(&s->s, m, s->chunk, threads);
    if (!st) {
        s->logits = malloc((size_t)m->n_vocab * sizeof(float));
        s->history = malloc((size_t)capacity * sizeof(int32_t));
        st = !s->logits || !s->history ? QI_ERR_NOMEM : sampler_init(&s->sampler, m->n_vocab, c.seed);
    }
    if (st) {
        fail_msg(msg, msg_size, st, "out of memory for a %d-token session (%.1f MiB in all, the KV cache %.1f MiB of %s)",
                 capacity, qi_session_bytes(m, cfg) / 1048576.0,
                 kv_plan_bytes(m->n_layer, capacity, m->n_head_kv * m->head_dim, c.kv_type) / 1048576.0,
                 qi_kv_type_name(c.kv_type));
        qi_session_free(s);
        return st;
    }
    *out = s;
    return QI_OK;
}

void qi_session_free(qi_session *s) {
    if (!s) return;
    pool_free(s->pool);
    kv_free(&s->kv);
    scratch_free(&s->s);
    free(s->logits);
    sampler_free(&s->sampler);
    free(s->history);
    free(s);
}

const char *qi_session_errmsg(const qi_session *s) { return s ? s->err : "session is NULL"; }

qi_status qi_session_eval(qi_session *s, const int32_t *ids, int n, float *all_logits) {
    if (!s) return QI_ERR_INVALID_ARG;
    s->err[0] = 0;
    if (n < 0 || (n > 0 && !ids))
        return fail_msg(s->err, sizeof s->err, QI_ERR_INVALID_ARG, "eval: bad token array (n = %d)", n);
    if (n == 0) return QI_OK;
    const qi_model *m = s->model;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->n_vocab)
            return fail_msg(s->err, sizeof s->err, QI_ERR_BAD_TOKEN, "token id %d at index %d is outside [0, %d)", ids[i],
                            i, m->n_vocab);
    if (n > s->kv.capacity - s->pos)
        return fail_msg(s->err, sizeof s->err, QI_ERR_CONTEXT_FULL,
                        "context full: %d tokens in the cache, %d more do not fit in %d", s->pos, n, s->kv.capacity);
    size_t V = (size_t)m->n_vocab;
    memcpy(s->history + s->pos, ids, (size_t)n * sizeof *ids);
    for (int i = 0; i < n; i += s->chunk) {
        int c = n - i < s->chunk ? n - i : s->chunk;
        int last = i + c == n;
        if (all_logits) forward(s, ids + i, c, all_logits + (size_t)i * V, 1);
        else forward(s, ids + i, c, last ? s->logits : NULL, 0);
    }
    if (all_logits) memcpy(s->logits, all_logits + (size_t)(n - 1) * V, V * sizeof(float));
    s->has_logits = 1;
    return QI_OK;
}

const char *qi_session_isa(const qi_session *s) { return s ? s->kern->name : ""; }
int qi_session_threads(const qi_session *s) { return s ? pool_threads(s->pool) : 0; }

const float *qi_session_logits(const qi_session *s) { return s && s->has_logits ? s->logits : NULL; }
int qi_session_pos(const qi_session *s) { return s ? s->pos : 0; }
int qi_session_capacity(const qi_session *s) { return s ? s->kv.capacity : 0; }

qi_status qi_session_rewind(qi_session *s, int pos) {
    if (!s) return QI_ERR_INVALID_ARG;
    if (pos < 0 || pos > s->pos)
        return fail_msg(s->err, sizeof s->err, QI_ERR_INVALID_ARG, "rewind to %d: must be in [0, %d]", pos, s->pos);
    if (pos < s->pos) s->has_logits = 0; /* the last logits belonged to a dropped token */
    s->pos = pos;
    s->err[0] = 0;
    return QI_OK;
}

qi_status qi_session_sample(qi_session *s, int32_t *token) {
    if (!s || !token) return QI_ERR_INVALID_ARG;
    if (!s->has_logits)
        return fail_msg(s->err, sizeof s->err, QI_ERR_INVALID_ARG, "sample: no logits yet (feed a token first)");
    s->err[0] = 0;
    int32_t t = -1;
    qi_status st = sampler_sample(&s->sampler, &s->cfg, s->logits, s->history, s->pos, &t);
    if (st) return fail_msg(s->err, sizeof s->err, st, "sampler failed: %s", qi_status_str(st));
    /* sample.c is editable by the optimisation loop: check what it returns */
    if (t < 0 || t >= s->model->n_vocab)
        return fail_msg(s->err, sizeof s->err, QI_ERR_BAD_TOKEN, "sampler returned token %d, outside [0, %d)", t,
                        s->model->n_vocab);
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
    int keep = 0;
    while (keep < n && keep < s->pos && s->history[keep] == ids[keep]) keep++;
    if (keep == n) keep = n - 1; /* the last token is fed again for its logits */
    /* check before rewinding, so that a failure leaves the session as it was */
    if (n - keep > s->kv.capacity - keep)
        return fail_msg(s->err, sizeof s->err, QI_ERR_CONTEXT_FULL, "context full: a %d-token prompt does not fit in %d", n,
                        s->kv.capacity);
    for (int i = keep; i < n; i++)
        if (ids[i] < 0 || ids[i] >= s->model->n_vocab)
            return fail_msg(s->err, sizeof s->err, QI_ERR_BAD_TOKEN, "token id %d at index %d is outside [0, %d)", ids[i],
                            i, s->model->n_vocab);
    qi_session_rewind(s, keep);
    qi_status st = qi_session_eval(s, ids + keep, n - keep, NULL);
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
        if (qi_token_is_eog(s->model, tok)) {
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
