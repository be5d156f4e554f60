/* Block formats, bit for bit as ggml stores them, and the scalar reference
 * kernels every SIMD kernel is tested against. */
#ifndef QINFER_QUANT_H
#define QINFER_QUANT_H

#include <stddef.h>
#include <stdint.h>

#define QK4_0 32
#define QK8_0 32

/* 32 weights: w[j] = d * ((qs[j] & 15) - 8), w[j+16] = d * ((qs[j] >> 4) - 8) */
typedef struct {
    uint16_t d;            /* f16 scale */
    uint8_t qs[QK4_0 / 2];
} block_q4_0;

/* 32 weights: w[j] = d * qs[j] */
typedef struct {
    uint16_t d;            /* f16 scale */
    int8_t qs[QK8_0];
} block_q8_0;

_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 18 bytes like ggml's");
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 34 bytes like ggml's");

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);     /* round to nearest even, like F16C */
float bf16_to_fp32(uint16_t h);

/* Dequantize n elements (a multiple of the block size) of a row of type t
 * (enum ggml_type). Exact: every value is representable in f32. */
void dequantize_row(uint32_t t, const void *src, float *dst, int64_t n);

/* Quantize with ggml's reference rounding (quantize_row_q*_ref). */
void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t n);
void quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t n);

/* Bytes of one row of n elements of type t. */
size_t row_bytes(uint32_t t, int64_t n);

/* 1 if we have kernels for this weight type */
int weight_type_supported(uint32_t t);

/* f32 dot product, 8 independent partial sums (vectorisable, and a fixed
 * summation order so results do not depend on the compiler's whims). */
float dot_f32(const float *a, const float *b, int n);

#endif
