/* Per-session key/value cache: for every layer, `capacity` rows of
 * n_head_kv * head_dim keys and as many values, stored as f32, f16 or q8_0
 * (then a row is kv_dim / 32 blocks, and a head of 64 is two blocks).
 * The storage format lives in kv_cache.c alone: rows go in as f32 through
 * kv_store and come out as f32 through kv_read. Internal. */
#ifndef QINFER_KV_CACHE_H
#define QINFER_KV_CACHE_H

#include <stddef.h>
#include "qinfer.h"

typedef struct qi_kv_cache {
    int n_layer, capacity, kv_dim;
    qi_kv_type type;
    size_t row_bytes;
    void *k, *v;            /* [n_layer][capacity][row_bytes] */
} qi_kv_cache;

qi_status kv_init(qi_kv_cache *kv, int n_layer, int capacity, int kv_dim, qi_kv_type type);
void kv_free(qi_kv_cache *kv);
/* what kv_init would allocate */
size_t kv_plan_bytes(int n_layer, int capacity, int kv_dim, qi_kv_type type);

/* Store the key and value rows (kv_dim floats each) of one position. */
void kv_store(qi_kv_cache *kv, int layer, int pos, const float *k, const float *v);

/* Read positions [p0, p0 + n) of one layer, elements [off, off + len) of
 * each row (one KV head: off and len multiples of 32 for q8_0), as f32:
 * keys transposed, kt[d * kt_stride + j], values as rows, v[j * len + d]. */
void kv_read(const qi_kv_cache *kv, int layer, int p0, int n, int off, int len, float *restrict kt, int kt_stride,
             float *restrict v);

#endif
