/* Tiled causal GQA attention over the KV cache. Internal. */
#ifndef QINFER_ATTENTION_H
#define QINFER_ATTENTION_H

#include <stddef.h>

#define ATT_B 64   /* key/value positions per block */
#define ATT_TQ 16  /* query tokens per tile */

struct qi_engine;

typedef struct att_job {
    const struct qi_engine *e;
    int layer, n;  /* tokens n at positions e->pos .. e->pos + n - 1 */
} att_job;

/* A pool job: fills e->scratch.att from e->scratch.q and the cache. */
void attention_worker(void *arg, int ith, int nth);

/* Per-thread scratch the worker needs, in floats. */
size_t attention_scratch_floats(int head_dim, int group);

#endif
