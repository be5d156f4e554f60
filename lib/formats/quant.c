/* Scalar reference for the block formats. Layouts follow ggml exactly
 * (quant.h says where each weight's bits are). Every dequantized value is
 * one rounding of the exact product (the scale products are exact in f32),
 * so the order of the multiplications does not change a bit. */
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
    case GGML_Q4_1: {
        const block_q4_1 *b = src;
        for (int64_t i = 0; i < n / QK4_0; i++) {
            float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
            float *o = dst + i * QK4_0;
            for (int j = 0; j < QK4_0 / 2; j++) {
                o[j] = d * (float)(b[i].qs[j] & 15) + m;
                o[j + QK4_0 / 2] = d * (float)(b[i].qs[j] >> 4) + m;
            }
        }
        break;
    }
    case GGML_Q5_0:
    case GGML_Q5_1: {
        int with_min = t == GGML_Q5_1;
        size_t size = with_min ? sizeof(block_q5_1) : sizeof(block_q5_0);
        for (int64_t i = 0; i < n / QK4_0; i++) {
            const uint8_t *b = (const uint8_t *)src + (size_t)i * size;
            float d = fp16_to_fp32((uint16_t)(b[0] | b[1] << 8));
            float m = with_min ? fp16_to_fp32((uint16_t)(b[2] | b[3] << 8)) : 0.0f;
            const uint8_t *qh = b + (with_min ? 4 : 2), *qs = qh + 4;
            uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
            float *o = dst + i * QK4_0;
            for (int j = 0; j < QK4_0 / 2; j++) {
                int q0 = (qs[j] & 15) | (int)((h >> j) & 1) << 4;
                int q1 = (qs[j] >> 4) | (int)((h >> (j + 16)) & 1) << 4;
                if (with_min) {
                    o[j] = d * (float)q0 + m;
                    o[j + QK4_0 / 2] = d * (float)q1 + m;
                } else {
                    o[j] = d * (float)(q0 - 16);
                    o[j + QK4_0 / 2] = d * (float)(q1 - 16);
                }
            }
        }
        break;
    }
    case GGML_Q4_K:
    case GGML_Q5_K: {
        int five = t == GGML_Q5_K;
        for (int64_t i = 0; i < n / QK_K; i++) {
            const uint8_t *scales, *qs, *qh = NULL;
            uint16_t hd, hmin;
            if (five) {
                const block_q5_K *b = (const block_q5_K *)src + i;
                hd = b->d, hmin = b->dmin, scales = b->scales, qs = b->qs, qh = b->qh;
            } else {
                const block_q4_K *b = (const block_q4_K *)src + i;
                hd = b->d, hmin = b->dmin, scales = b->scales, qs = b->qs;
            }
            float d = fp16_to_fp32(hd), dmin = fp16_to_fp32(hmin);
            float *o = dst + i * QK_K;
            for (int g = 0; g < 8; g++) { /* group g: nibble g & 1 of qs[32 (g/2) ...] */
                uint8_t sc, m;
                kq_scale_min(g, scales, &sc, &m);
                float dg = d * (float)sc, mg = dmin * (float)m;
                const uint8_t *q = qs + 32 * (g / 2);
                for (int l = 0; l < 32; l++) {
                    int v = (g & 1) ? q[l] >> 4 : q[l] & 15;
                    if (five) v |= ((qh[l] >> g) & 1) << 4;
                    o[32 * g + l] = dg * (float)v - mg;
                }
            }
        }
        break;
    }
    case GGML_Q6_K: {
        const block_q6_K *b = src;
        for (int64_t i = 0; i < n / QK_K; i++) {
            float d = fp16_to_fp32(b[i].d);
            for (int half = 0; half < 2; half++) { /* 128 weights: ql[64 half..], qh[32 half..] */
                const uint8_t *ql = b[i].ql + 64 * half, *qh = b[i].qh + 32 * half;
                const int8_t *sc = b[i].scales + 8 * half;
                float *o = dst + i * QK_K + 128 * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int q1 = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
                    int q2 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
                    int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                    int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                    o[l] = d * (float)sc[is] * (float)q1;
                    o[l + 32] = d * (float)sc[is + 2] * (float)q2;
                    o[l + 64] = d * (float)sc[is + 4] * (float)q3;
                    o[l + 96] = d * (float)sc[is + 6] * (float)q4;
                }
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

int row16_type(uint32_t t) { return t == GGML_Q4_0 || t == GGML_Q8_0; }

/* the byte offset, in a row16 block, of row i's quant byte j (j < the
 * block's quant bytes); its scale is at 2i */
static size_t row16_at(int i, int j) { return 32 + 64 * (size_t)(j / 4) + 4 * (size_t)i + (size_t)(j % 4); }

void row16_pack(uint32_t t, const uint8_t *rows, size_t row_bytes, uint8_t *group, int64_t n) {
    const size_t bs = ggml_type_size(t), nq = bs - 2, gs = ROW16 * bs;
    for (int64_t b = 0; b < n / QK8_0; b++)
        for (int i = 0; i < ROW16; i++) {
            const uint8_t *src = rows + (size_t)i * row_bytes + (size_t)b * bs;
            uint8_t *dst = group + (size_t)b * gs;
            memcpy(dst + 2 * i, src, 2);
            for (size_t j = 0; j < nq; j += 4) memcpy(dst + row16_at(i, (int)j), src + 2 + j, 4);
        }
}

void row16_unpack(uint32_t t, const uint8_t *group, int lane, uint8_t *row, int64_t n) {
    const size_t bs = ggml_type_size(t), nq = bs - 2, gs = ROW16 * bs;
    for (int64_t b = 0; b < n / QK8_0; b++) {
        const uint8_t *src = group + (size_t)b * gs;
        uint8_t *dst = row + (size_t)b * bs;
        memcpy(dst, src + 2 * lane, 2);
        for (size_t j = 0; j < nq; j += 4) memcpy(dst + 2 + j, src + row16_at(lane, (int)j), 4);
    }
}

void row16_unpack_group(uint32_t t, const uint8_t *group, uint8_t *rows, size_t row_bytes, int64_t n) {
    for (int i = 0; i < ROW16; i++) row16_unpack(t, group, i, rows + (size_t)i * row_bytes, n);
}

int weight_type_supported(uint32_t t) {
    switch (t) {
    case GGML_F32: case GGML_F16: case GGML_BF16: case GGML_Q8_0: case GGML_Q4_0: case GGML_Q4_1:
    case GGML_Q5_0: case GGML_Q5_1: case GGML_Q4_K: case GGML_Q5_K: case GGML_Q6_K:
        return 1;
    default:
        return 0;
    }
}

int block_f16_fields(uint32_t t, int offsets[2]) {
    switch (t) {
    case GGML_Q4_0: case GGML_Q8_0: case GGML_Q5_0:
        offsets[0] = 0;
        return 1;
    case GGML_Q4_1: case GGML_Q5_1: case GGML_Q4_K: case GGML_Q5_K:
        offsets[0] = 0, offsets[1] = 2;
        return 2;
    case GGML_Q6_K:
        offsets[0] = (int)offsetof(block_q6_K, d);
        return 1;
    default:
        return 0;
    }
}

float dot_f32(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    for (; i < n; i++) acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}
