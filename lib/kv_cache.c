#include "kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "quant.h"

static size_t kv_row_bytes(int kv_dim, qi_kv_type type) {
    return type == QI_KV_Q8_0 ? (size_t)kv_dim / QK8_0 * sizeof(block_q8_0) : (size_t)kv_dim * (type == QI_KV_F16 ? 2 : 4);
}

size_t kv_plan_bytes(int n_layer, int capacity, int kv_dim, qi_kv_type type) {
    return 2 * (size_t)n_layer * (size_t)capacity * kv_row_bytes(kv_dim, type);
}

qi_status kv_init(qi_kv_cache *kv, int n_layer, int capacity, int kv_dim, qi_kv_type type) {
    memset(kv, 0, sizeof *kv);
    kv->n_layer = n_layer;
    kv->capacity = capacity;
    kv->kv_dim = kv_dim;
    kv->type = type;
    if (type == QI_KV_Q8_0 && kv_dim % QK8_0) return QI_ERR_INVALID_ARG;
    kv->row_bytes = kv_row_bytes(kv_dim, type);
    size_t n = (size_t)n_layer * (size_t)capacity * kv->row_bytes;
    /* calloc: pages are touched only as the cache fills */
    kv->k = calloc(1, n);
    kv->v = calloc(1, n);
    if (!kv->k || !kv->v) {
        kv_free(kv);
        return QI_ERR_NOMEM;
    }
    return QI_OK;
}

void kv_free(qi_kv_cache *kv) {
    free(kv->k);
    free(kv->v);
    kv->k = kv->v = NULL;
}

size_t kv_bytes(const qi_kv_cache *kv) {
    return 2 * (size_t)kv->n_layer * (size_t)kv->capacity * kv->row_bytes;
}

static size_t row_offset(const qi_kv_cache *kv, int layer, int pos) {
    return ((size_t)layer * (size_t)kv->capacity + (size_t)pos) * kv->row_bytes;
}

static void store_row(const qi_kv_cache *kv, void *dst, const float *x) {
    switch (kv->type) {
    case QI_KV_F16:
        for (int i = 0; i < kv->kv_dim; i++) ((uint16_t *)dst)[i] = fp32_to_fp16(x[i]);
        break;
    case QI_KV_Q8_0:
        quantize_row_q8_0(x, dst, kv->kv_dim);
        break;
    default:
        memcpy(dst, x, (size_t)kv->kv_dim * sizeof(float));
        break;
    }
}

void kv_store(qi_kv_cache *kv, int layer, int pos, const float *k, const float *v) {
    size_t off = row_offset(kv, layer, pos);
    store_row(kv, (char *)kv->k + off, k);
    store_row(kv, (char *)kv->v + off, v);
}

const void *kv_k_row(const qi_kv_cache *kv, int layer, int pos) { return (const char *)kv->k + row_offset(kv, layer, pos); }
const void *kv_v_row(const qi_kv_cache *kv, int layer, int pos) { return (const char *)kv->v + row_offset(kv, layer, pos); }
