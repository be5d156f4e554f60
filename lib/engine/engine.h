/* The engine: everything a forward pass touches for one session, and
 * nothing about sampling or text. It holds the model (shared, read-only),
 * the kernels picked for this CPU, the thread pool, the KV cache, the
 * scratch activations and the position. forward() (forward.c) runs tokens
 * through it; attention (attention.c) reads its cache. Internal.
 * Every buffer is sized once in engine_init: the per-token path allocates
 * nothing. */
#ifndef QINFER_ENGINE_H
#define QINFER_ENGINE_H

#include "kernels/kernels.h"
#include "kv_cache.h"
#include "model.h"
#include "qinfer.h"
#include "base/threads.h"

/* Activations for up to `chunk` tokens, row-major [token][feature]. */
typedef struct qi_scratch {
    float *x;          /* residual stream        [chunk][n_embd] */
    float *xn;         /* normed input            [chunk][n_embd] */
    float *q;          /* queries                 [chunk][n_head * head_dim] */
    float *k, *v;      /* new keys / values       [chunk][n_head_kv * head_dim] */
    float *att;        /* attention output        [chunk][n_head * head_dim] */
    float *gate, *up;  /* MLP hidden              [chunk][n_ff] */
    float *rope_cos, *rope_sin; /*               [chunk][head_dim / 2] */
    block_q8_0 *xq;    /* quantized matmul input  [chunk][max_dim / 32] */
    float *att_scratch;/* attention tiles         [threads][attention_scratch_floats] */
    float *wrow;       /* dequantized weight rows [threads][max_dim] (exact path) */
    int max_dim;       /* max(n_embd, n_ff, q_dim) */
    uint8_t *rows;     /* row16 matrices' rows in the file's layout [threads][rows_stride] */
    size_t rows_stride;/* ROW16_CHUNK of the widest rows; 0 when no matrix is row16 */
} qi_scratch;

typedef struct qi_engine {
    const qi_model *model;
    const qi_kernels *kern;    /* chosen once, when the engine is made */
    qi_pool *pool;
    qi_kv_cache kv;
    qi_scratch scratch;
    int chunk;                 /* most tokens one forward pass takes */
    int pos;                   /* tokens in the cache */
    /* how the matrix products run: the config's knobs */
    qi_compute compute;
    int decode_prefetch, decode_rows, prefill_rows;
} qi_engine;

/* What a config makes of a model: the sizes of an engine. */
typedef struct engine_plan {
    int capacity;              /* tokens the KV cache holds */
    int chunk;                 /* tokens per forward pass */
    int threads;               /* in the pool, the caller's included */
} engine_plan;

/* The plan for c (already passed by qi_config_check) on m; QI_ERR_INVALID_ARG
 * with a message when the model cannot run it. */
qi_status plan_engine(const qi_model *m, const qi_config *c, engine_plan *p, char *msg, size_t msg_size);
/* The bytes engine_init allocates for the plan (the qi_engine struct aside). */
size_t engine_bytes(const qi_model *m, const qi_config *c, const engine_plan *p);
/* Pick the kernels, start the pool, allocate the cache and scratch. On
 * failure nothing stays allocated: QI_ERR_NOMEM (no message), or
 * QI_ERR_INVALID_ARG when no kernel level fits (msg says why). */
qi_status engine_init(qi_engine *e, const qi_model *m, const qi_config *c, const engine_plan *p, char *msg,
                      size_t msg_size);
/* Release everything; the engine may be freed again, or have failed init. */
void engine_free(qi_engine *e);

/* Run n tokens (n <= chunk) at positions pos..pos+n-1, store their K/V and
 * advance pos. logits: [n][n_vocab] if all, else [n_vocab] for the last
 * token; NULL: none. (forward.c) */
void forward(qi_engine *e, const int32_t *ids, int n, float *logits, int all);

#endif
