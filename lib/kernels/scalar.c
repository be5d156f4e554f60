/* Scalar reference kernels: plain C, the ground truth for every SIMD one. */
#include "kernels.h"
#include "generic.h"

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

const qi_kernels qi_kernels_scalar = {
    .name = "scalar",
    .quantize_q8_0 = quantize_q8_0,
    .gemm_q4_0 = gemm_q4_0,
    .gemm_q8_0 = gemm_q8_0,
    .dot_f32 = dot_f32,
    GENERIC_KERNELS,
};
