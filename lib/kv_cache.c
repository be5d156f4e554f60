#include "kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "quant.h"

qi_status kv_init(qi_kv_cache *kv, int n_layer, int capacity, int kv_dim, qi_kv_type type) {
    memset(kv, 0, sizeof *kv);
    kv->n_layer = n_layer;
    kv->capacity = capacity;
    kv->kv_dim = kv_dim;
    kv->type = type;
    kv->elem_size = type == QI_KV_F16 ? 2 : 4;
    size_t n = (size_t)n_layer * (size_t)capacity * (size_t)kv_dim * kv->elem_size;
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
    return 2 * (size_t)kv->n_layer * (size_t)kv->capacity * (size_t)kv->kv_dim * kv->elem_size;
}

static size_t row_index(const qi_kv_cache *kv, int layer, int pos) {
    return ((size_t)layer * (size_t)kv->capacity + (size_t)pos) * (size_t)kv->kv_dim;
}

void kv_store(qi_kv_cache *kv, int layer, int pos, const float *k, const float *v) {
    size_t r = row_index(kv, layer, pos);
    if (kv->type == QI_KV_F16) {
        uint16_t *kd = (uint16_t *)kv->k + r, *vd = (uint16_t *)kv->v + r;
        for (int i = 0; i < kv->kv_dim; i++) {
            kd[i] = fp32_to_fp16(k[i]);
            vd[i] = fp32_to_fp16(v[i]);
        }
    } else {
        memcpy((float *)kv->k + r, k, (size_t)kv->kv_dim * sizeof(float));
        memcpy((float *)kv->v + r, v, (size_t)kv->kv_dim * sizeof(float));
    }
}

const void *kv_k_row(const qi_kv_cache *kv, int layer, int pos) {
    return (const char *)kv->k + row_index(kv, layer, pos) * kv->elem_size;
}

const void *kv_v_row(const qi_kv_cache *kv, int layer, int pos) {
    return (const char *)kv->v + row_index(kv, layer, pos) * kv->elem_size;
}
