/* Scalar reference kernels: plain C, the ground truth for every SIMD one. */
#include "kernels.h"
#include "generic.h"
#include "formats/gguf.h"

static void quantize_q8_0(const float *x, block_q8_0 *y, int n) { quantize_row_q8_0(x, y, n); }

static float dot_q4_0_q8_0(int n, const block_q4_0 *w, const block_q8_0 *x) {
    float sum = 0;
    for (int b = 0; b < n / QK8_0; b++) {
        int acc = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            acc += ((w[b].qs[j] & 15) - 8) * x[b].qs[j];
            acc += ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + QK4_0 / 2];
        }
        sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d) * (float)acc;
    }
    return sum;
}

static float dot_q8_0_q8_0(int n, const block_q8_0 *w, const block_q8_0 *x) {
    float sum = 0;
    for (int b = 0; b < n / QK8_0; b++) {
        int acc = 0;
        for (int j = 0; j < QK8_0; j++) acc += w[b].qs[j] * x[b].qs[j];
        sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d) * (float)acc;
    }
    return sum;
}

static void gemm_q4_0(int n, const void *w, size_t w_stride, int n_rows, const block_q8_0 *x,
                      size_t x_stride, int n_cols, float *out, size_t out_stride, int prefetch) {
    (void)prefetch;
    for (int r = 0; r < n_rows; r++) {
        const block_q4_0 *wr = (const block_q4_0 *)((const uint8_t *)w + (size_t)r * w_stride);
        for (int c = 0; c < n_cols; c++) out[(size_t)c * out_stride + r] = dot_q4_0_q8_0(n, wr, x + (size_t)c * x_stride);
    }
}

static void gemm_q8_0(int n, const void *w, size_t w_stride, int n_rows, const block_q8_0 *x,
                      size_t x_stride, int n_cols, float *out, size_t out_stride, int prefetch) {
    (void)prefetch;
    for (int r = 0; r < n_rows; r++) {
        const block_q8_0 *wr = (const block_q8_0 *)((const uint8_t *)w + (size_t)r * w_stride);
        for (int c = 0; c < n_cols; c++) out[(size_t)c * out_stride + r] = dot_q8_0_q8_0(n, wr, x + (size_t)c * x_stride);
    }
}

/* The other block types, through one unpacked form: a unit (one block, or
 * one 256-weight superblock) as int8 quants q, an integer sub-scale per 16
 * and a float scale d and offset m per 32, so that weight j is
 *     d[j/32] * sub[j/16] * q[j] + m[j/32]
 * exactly as dequantize_row computes it (test_kinds checks both ways).
 * Each group of 32 meets one Q8_0 activation block (scale dx, quants y):
 *     d * dx * (sub[2g] * sum16(q y) + sub[2g+1] * sum16(q y)) + m * dx * sum(y) */
typedef struct {
    int8_t q[QK_K];
    int16_t sub[QK_K / 16];
    float d[QK_K / 32], m[QK_K / 32];
} unpacked;

static float half(const uint8_t *p) { return fp16_to_fp32((uint16_t)(p[0] | p[1] << 8)); }

/* One unit of type t at p; returns its number of weights (32 or 256). */
static int unpack(uint32_t t, const uint8_t *p, unpacked *u) {
    for (int i = 0; i < QK_K / 16; i++) u->sub[i] = 1;
    switch (t) {
    case GGML_Q4_1:
    case GGML_Q5_0:
    case GGML_Q5_1: {
        int with_min = t != GGML_Q5_0, five = t != GGML_Q4_1;
        u->d[0] = half(p);
        u->m[0] = with_min ? half(p + 2) : 0.0f;
        const uint8_t *qh = p + (with_min ? 4 : 2), *qs = five ? qh + 4 : qh;
        uint32_t h = five ? (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24 : 0;
        int bias = t == GGML_Q5_0 ? 16 : 0;
        for (int j = 0; j < 16; j++) {
            u->q[j] = (int8_t)(((qs[j] & 15) | (int)((h >> j) & 1) << 4) - bias);
            u->q[j + 16] = (int8_t)(((qs[j] >> 4) | (int)((h >> (j + 16)) & 1) << 4) - bias);
        }
        return 32;
    }
    case GGML_Q4_K:
    case GGML_Q5_K: {
        int five = t == GGML_Q5_K;
        float d = half(p), dmin = half(p + 2);
        const uint8_t *scales = p + 4, *qh = five ? p + 16 : NULL, *qs = p + (five ? 48 : 16);
        for (int g = 0; g < 8; g++) {
            uint8_t sc, m;
            kq_scale_min(g, scales, &sc, &m);
            u->d[g] = d * (float)sc;
            u->m[g] = -(dmin * (float)m);
            for (int l = 0; l < 32; l++) {
                int v = (g & 1) ? qs[32 * (g / 2) + l] >> 4 : qs[32 * (g / 2) + l] & 15;
                if (five) v |= ((qh[l] >> g) & 1) << 4;
                u->q[32 * g + l] = (int8_t)v;
            }
        }
        return QK_K;
    }
    case GGML_Q6_K: {
        const block_q6_K *b = (const block_q6_K *)p;
        float d = fp16_to_fp32(b->d);
        for (int g = 0; g < 8; g++) u->d[g] = d, u->m[g] = 0.0f;
        for (int i = 0; i < QK_K / 16; i++) u->sub[i] = b->scales[i];
        for (int half_ = 0; half_ < 2; half_++) {
            const uint8_t *ql = b->ql + 64 * half_, *qh = b->qh + 32 * half_;
            int8_t *q = u->q + 128 * half_;
            for (int l = 0; l < 32; l++) {
                q[l] = (int8_t)(((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32);
                q[l + 32] = (int8_t)(((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32);
                q[l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
                q[l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        }
        return QK_K;
    }
    default:
        return 0;
    }
}

static float dot_unpacked(const unpacked *u, int n_weights, const block_q8_0 *x) {
    float sum = 0;
    for (int g = 0; g < n_weights / QK8_0; g++) {
        int lo = 0, hi = 0, ys = 0;
        for (int j = 0; j < 16; j++) lo += u->q[32 * g + j] * x[g].qs[j];
        for (int j = 16; j < 32; j++) hi += u->q[32 * g + j] * x[g].qs[j];
        for (int j = 0; j < 32; j++) ys += x[g].qs[j];
        float dx = fp16_to_fp32(x[g].d);
        sum += u->d[g] * dx * (float)(u->sub[2 * g] * lo + u->sub[2 * g + 1] * hi) + u->m[g] * dx * (float)ys;
    }
    return sum;
}

static void gemm_unpacked(uint32_t t, int n, const void *w, size_t w_stride, int n_rows, const block_q8_0 *x,
                          size_t x_stride, int n_cols, float *out, size_t out_stride) {
    unpacked u;
    for (int r = 0; r < n_rows; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * w_stride;
        for (int c = 0; c < n_cols; c++) out[(size_t)c * out_stride + r] = 0;
        for (int k = 0; k < n;) { /* one unit of the row against every column */
            int nw = unpack(t, wr, &u);
            for (int c = 0; c < n_cols; c++)
                out[(size_t)c * out_stride + r] += dot_unpacked(&u, nw, x + (size_t)c * x_stride + k / QK8_0);
            wr += ggml_type_size(t);
            k += nw;
        }
    }
}

#define GEMM_UNPACKED(name, T)                                                                                  \
    static void gemm_##name(int n, const void *w, size_t w_stride, int n_rows, const block_q8_0 *x,            \
                            size_t x_stride, int n_cols, float *out, size_t out_stride, int prefetch) {         \
        (void)prefetch;                                                                                         \
        gemm_unpacked(T, n, w, w_stride, n_rows, x, x_stride, n_cols, out, out_stride);                         \
    }
GEMM_UNPACKED(q4_1, GGML_Q4_1)
GEMM_UNPACKED(q5_0, GGML_Q5_0)
GEMM_UNPACKED(q5_1, GGML_Q5_1)
GEMM_UNPACKED(q4_k, GGML_Q4_K)
GEMM_UNPACKED(q5_k, GGML_Q5_K)
GEMM_UNPACKED(q6_k, GGML_Q6_K)

const qi_kernels qi_kernels_scalar = {
    .name = "scalar",
    .quantize_q8_0 = quantize_q8_0,
    .gemm_q4_0 = gemm_q4_0,
    .gemm_q8_0 = gemm_q8_0,
    .gemm_q4_1 = gemm_q4_1,
    .gemm_q5_0 = gemm_q5_0,
    .gemm_q5_1 = gemm_q5_1,
    .gemm_q4_k = gemm_q4_k,
    .gemm_q5_k = gemm_q5_k,
    .gemm_q6_k = gemm_q6_k,
    .dot_f32 = dot_f32,
    GENERIC_KERNELS,
};
