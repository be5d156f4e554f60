/* Making an engine: plan its sizes from the model and the config, pick the
 * kernels, start the thread pool, allocate the KV cache and the scratch.
 * The sizes are computed once, in one place, so that engine_bytes counts
 * exactly what engine_init allocates. */
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "engine.h"
#include "base/fail.h"

static int imax(int a, int b) { return a > b ? a : b; }

/* The scratch buffers, in the order of qi_scratch's pointers. */
enum { SC_X, SC_XN, SC_Q, SC_K, SC_V, SC_ATT, SC_GATE, SC_UP, SC_COS, SC_SIN, SC_XQ, SC_ATT_SCRATCH, SC_WROW, SC_ROWS, SC_N };

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
    /* a Q8_0 row of max_dim is the widest row16 row */
    sz[SC_ROWS] = m->row16 ? (size_t)threads * ROW16_CHUNK * row_bytes(GGML_Q8_0, (int64_t)max_dim) : 0;
}

static void scratch_free(qi_scratch *S) {
    float **bufs[] = {&S->x, &S->xn, &S->q, &S->k, &S->v, &S->att, &S->gate, &S->up,
                      &S->rope_cos, &S->rope_sin, &S->att_scratch, &S->wrow};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        free(*bufs[i]);
        *bufs[i] = NULL;
    }
    free(S->xq);
    free(S->rows);
    S->xq = NULL;
    S->rows = NULL;
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
    S->rows_stride = sz[SC_ROWS] / (size_t)threads;
    ok &= !sz[SC_ROWS] || (S->rows = malloc(sz[SC_ROWS])) != NULL;
    if (!ok) {
        scratch_free(S);
        return QI_ERR_NOMEM;
    }
    return QI_OK;
}

qi_status plan_engine(const qi_model *m, const qi_config *c, engine_plan *p, char *msg, size_t msg_size) {
    p->capacity = c->kv_capacity ? c->kv_capacity : m->n_ctx_train;
    if (c->kv_type == QI_KV_Q8_0 && m->head_dim % 32)
        return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG,
                        "kv_type q8_0 needs a head dimension divisible by 32 (this model: %d)", m->head_dim);
    if (p->capacity > m->n_ctx_train)
        return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG, "kv_capacity = %d exceeds the model's context length %d",
                        p->capacity, m->n_ctx_train);
    p->chunk = c->prefill_chunk < p->capacity ? c->prefill_chunk : p->capacity;
    p->threads = c->n_threads ? c->n_threads : physical_cores();
    return QI_OK;
}

/* the C library's own bookkeeping for each thread it starts (its TLS vector) */
#define THREAD_ALLOWANCE 1024

size_t engine_bytes(const qi_model *m, const qi_config *c, const engine_plan *p) {
    size_t sz[SC_N], total = 0;
    scratch_sizes(m, p->chunk, p->threads, sz);
    for (int i = 0; i < SC_N; i++) total += sz[i];
    total += pool_bytes(p->threads) + (size_t)(p->threads - 1) * THREAD_ALLOWANCE;
    return total + kv_plan_bytes(m->n_layer, p->capacity, m->n_head_kv * m->head_dim, c->kv_type);
}

qi_status engine_init(qi_engine *e, const qi_model *m, const qi_config *c, const engine_plan *p, char *msg,
                      size_t msg_size) {
    memset(e, 0, sizeof *e);
    char kmsg[160];
    const char *force = c->isa != QI_ISA_AUTO ? qi_isa_name(c->isa) : NULL;
    e->kern = kernels_select(force, kmsg, sizeof kmsg);
    if (!e->kern) return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG, "%s", kmsg);
    e->model = m;
    e->chunk = p->chunk;
    e->compute = c->compute;
    e->decode_prefetch = c->decode_prefetch;
    e->decode_rows = c->decode_rows;
    e->prefill_rows = c->prefill_rows;
    qi_status st = pool_new(p->threads, c->spin, &e->pool);
    if (!st) st = kv_init(&e->kv, m->n_layer, p->capacity, m->n_head_kv * m->head_dim, c->kv_type);
    if (!st) st = scratch_alloc(&e->scratch, m, p->chunk, p->threads);
    if (st) engine_free(e);
    return st;
}

void engine_free(qi_engine *e) {
    pool_free(e->pool);
    e->pool = NULL;
    kv_free(&e->kv);
    scratch_free(&e->scratch);
}
