/* The session: one conversation's KV cache, scratch buffers and sampler
 * state. Internal. Scratch is sized once here; the per-token path allocates
 * nothing. */
#ifndef QINFER_SESSION_H
#define QINFER_SESSION_H

#include "kernels/kernels.h"
#include "kv_cache.h"
#include "model.h"
#include "qinfer.h"
#include "sample.h"
#include "threads.h"

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
} qi_scratch;

struct qi_session {
    const qi_model *model;
    qi_config cfg;
    const qi_kernels *kern;    /* chosen once, at session creation */
    qi_pool *pool;
    qi_kv_cache kv;
    qi_scratch s;
    int chunk;                 /* tokens per forward pass */
    int pos;                   /* tokens in the cache */
    float *logits;             /* [n_vocab], last token */
    int has_logits;
    int32_t *history;          /* ids fed so far [capacity], for the repetition penalty */
    qi_sampler sampler;
    char err[256];
};

/* Run n tokens (n <= chunk) at positions pos..pos+n-1 and store their K/V.
 * logits: [n][n_vocab] if all, else [n_vocab] for the last token; NULL: none. */
void forward(qi_session *s, const int32_t *ids, int n, float *logits, int all);

#endif
