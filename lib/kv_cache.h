/* Per-session key/value cache: for every layer, `capacity` rows of
 * n_head_kv * head_dim keys and as many values, stored as f32, f16 or q8_0
 * (then a row is kv_dim / 32 blocks, and a head of 64 is two blocks). */
#ifndef QINFER_KV_CACHE_H
#define QINFER_KV_CACHE_H

#include <stddef.h>
#include "qinfer.h"
#include "quant.h"

typedef struct qi_kv_cache {
    int n_layer, capacity, kv_dim;
    qi_kv_type type;
    size_t row_bytes;
    void *k, *v;            /* [n_layer][capacity][kv_dim] */
} qi_kv_cache;

qi_status kv_init(qi_kv_cache *kv, int n_layer, int capacity, int kv_dim, qi_kv_type type);
void kv_free(qi_kv_cache *kv);
size_t kv_bytes(const qi_kv_cache *kv);
/* what kv_init would allocate */
size_t kv_plan_bytes(int n_layer, int capacity, int kv_dim, qi_kv_type type);

/* Store the key and value rows of one position. */
void kv_store(qi_kv_cache *kv, int layer, int pos, const float *k, const float *v);

/* Start of row `pos` of a layer's keys / values (f32 or f16 elements). */
const void *kv_k_row(const qi_kv_cache *kv, int layer, int pos);
const void *kv_v_row(const qi_kv_cache *kv, int layer, int pos);

#endif
