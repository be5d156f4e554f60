/* Scalar reference for the block formats. Layouts follow ggml exactly:
 * Q4_0 keeps weight j in the low nibble of qs[j] and weight j+16 in the
 * high nibble; Q8_0 is a plain int8 array; both carry one f16 scale. */
#include "quant.h"

#include <math.h>
#include <string.h>

#include "gguf.h"

float fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
    if (ax >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00);
    if (ax < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (ax < 0x33000000u) return (uint16_t)sign; /* < 2^-25 rounds to 0 */
        uint32_t e = ax >> 23;
        uint32_t m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t half = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t r = ax - 0x38000000u; /* rebias exponent 127 -> 15 (shifted) */
    uint32_t half = r >> 13;
    uint32_t rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)(sign | half);
}

float bf16_to_fp32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void dequantize_row(uint32_t t, const void *src, float *dst, int64_t n) {
    switch (t) {
    case GGML_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case GGML_F16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_fp32(s[i]);
        break;
    }
    case GGML_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_fp32(s[i]);
        break;
    }
    case GGML_Q8_0: {
        const block_q8_0 *b = src;
        for (int64_t i = 0; i < n / QK8_0; i++) {
            float d = fp16_to_fp32(b[i].d);
            for (int j = 0; j < QK8_0; j++) dst[i * QK8_0 + j] = d * (float)b[i].qs[j];
        }
        break;
    }
    case GGML_Q4_0: {
        const block_q4_0 *b = src;
        for (int64_t i = 0; i < n / QK4_0; i++) {
            float d = fp16_to_fp32(b[i].d);
            float *o = dst + i * QK4_0;
            for (int j = 0; j < QK4_0 / 2; j++) {
                o[j] = d * (float)((b[i].qs[j] & 15) - 8);
                o[j + QK4_0 / 2] = d * (float)((b[i].qs[j] >> 4) - 8);
            }
        }
        break;
    }
    default: /* callers check weight_type_supported() first */
        memset(dst, 0, (size_t)n * sizeof(float));
        break;
    }
}

/* ggml quantize_row_q8_0_ref: d = amax/127, q = round(x/d) */
void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float *xb = x + i * QK8_0;
        float amax = 0;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float d = amax / 127.0f;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)roundf(xb[j] * id);
    }
}

/* ggml quantize_row_q4_0_ref: the value of largest magnitude maps to -8 */
void quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float *xb = x + i * QK4_0;
        float amax = 0, max = 0;
        for (int j = 0; j < QK4_0; j++) {
            if (fabsf(xb[j]) > amax) { amax = fabsf(xb[j]); max = xb[j]; }
        }
        float d = max / -8.0f;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            float x0 = xb[j] * id, x1 = xb[j + QK4_0 / 2] * id;
            int q0 = (int)(x0 + 8.5f), q1 = (int)(x1 + 8.5f);
            if (q0 > 15) q0 = 15;
            if (q1 > 15) q1 = 15;
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

size_t row_bytes(uint32_t t, int64_t n) {
    return (size_t)(n / ggml_type_block(t)) * (size_t)ggml_type_size(t);
}

int weight_type_supported(uint32_t t) {
    return t == GGML_F32 || t == GGML_F16 || t == GGML_BF16 || t == GGML_Q8_0 || t == GGML_Q4_0;
}

float dot_f32(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    for (; i < n; i++) acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}
