/* The KV cache and its storage format: f32 rows as they are, f16 rows
 * element by element, q8_0 rows as blocks of 32 with one f16 scale. */
#include "kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "formats/quant.h"

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

static size_t row_offset(const qi_kv_cache *kv, int layer, int pos) {
    return ((size_t)layer * (size_t)kv->capacity + (size_t)pos) * kv->row_bytes;
}

/* ---- write ------------------------------------------------------------------- */

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

/* ---- read -------------------------------------------------------------------- */

void kv_read(const qi_kv_cache *kv, int layer, int p0, int n, int off, int len, float *restrict kt, int kt_stride,
             float *restrict v) {
    size_t first = row_offset(kv, layer, p0);
    for (int j = 0; j < n; j++) {
        size_t at = first + (size_t)j * kv->row_bytes;
        const void *kr = (const char *)kv->k + at, *vr = (const char *)kv->v + at;
        float *vo = v + (size_t)j * len;
        switch (kv->type) {
        case QI_KV_F32:
            for (int d = 0; d < len; d++) kt[(size_t)d * kt_stride + j] = ((const float *)kr)[off + d];
            memcpy(vo, (const float *)vr + off, (size_t)len * sizeof(float));
            break;
        case QI_KV_F16:
            for (int d = 0; d < len; d++) kt[(size_t)d * kt_stride + j] = fp16_to_fp32(((const uint16_t *)kr)[off + d]);
            for (int d = 0; d < len; d++) vo[d] = fp16_to_fp32(((const uint16_t *)vr)[off + d]);
            break;
        case QI_KV_Q8_0: {
            const block_q8_0 *kb = (const block_q8_0 *)kr + off / QK8_0, *vb = (const block_q8_0 *)vr + off / QK8_0;
            for (int d = 0; d < len; d++)
                kt[(size_t)d * kt_stride + j] = fp16_to_fp32(kb[d / QK8_0].d) * kb[d / QK8_0].qs[d % QK8_0];
            for (int d = 0; d < len; d++) vo[d] = fp16_to_fp32(vb[d / QK8_0].d) * vb[d / QK8_0].qs[d % QK8_0];
            break;
        }
        }
    }
}
