/* Tiled causal GQA attention over the KV cache. Internal. */
#ifndef QINFER_ATTENTION_H
#define QINFER_ATTENTION_H

#include <stddef.h>

#define ATT_B 64   /* key/value positions per block */
#define ATT_TQ 16  /* query tokens per tile */

struct qi_session;

typedef struct att_job {
    const struct qi_session *s;
    int layer, n;  /* tokens n at positions s->pos .. s->pos + n - 1 */
} att_job;

/* A pool job: fills s->s.att from s->s.q and the cache. */
void attention_worker(void *arg, int ith, int nth);

/* Per-thread scratch the worker needs, in floats. */
size_t attention_scratch_floats(int head_dim, int group);

#endif
