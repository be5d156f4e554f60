/* Loops written in plain C that vectorize without reductions. Each ISA file
 * includes this header, so the compiler builds them with that file's
 * instruction set; scalar.c builds the baseline. */
#ifndef QINFER_KERNELS_GENERIC_H
#define QINFER_KERNELS_GENERIC_H

#include <stdint.h>
#include <string.h>

/* -O2's cheap vectorizer cost model leaves these loops scalar; ask for more */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORIZE __attribute__((optimize("O3")))
#else
#define VECTORIZE
#endif

/* exp(x) to about 2e-7 relative error for x in [-87, 88] (clamped outside):
 * 2^n * p(r) with n = round(x / ln 2), r = x - n ln 2, p of degree 6. Built
 * from adds, multiplies and bit moves only, so it vectorizes. */
static inline float exp_approx(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float n = (x * 1.44269504f + shift) - shift;
    float r = x - n * 0.693359375f;  /* ln 2 split in two for an exact product */
    r = r - n * -2.12194440e-4f;
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &e, 4);
    return p * scale;
}

/* 16 floats; GCC and clang lower it to whatever vectors the file targets
 * (one zmm, two ymm, four xmm or four NEON q registers). */
typedef float vf16 __attribute__((vector_size(64)));
/* loads and stores through an unaligned, aliasing view of 16 floats: macros,
 * not functions, so no vector is ever passed by value (whose ABI depends on
 * the instruction set, which GCC and clang warn about) */
typedef float vf16_u __attribute__((vector_size(64), aligned(4), may_alias));
#define vf16_load(p) (*(const vf16_u *)(const void *)(p))
#define vf16_store(p, v) (*(vf16_u *)(void *)(p) = (v))

/* Attention scores of nr query rows (row stride hd) against one block of
 * keys stored transposed, kt[d * stride + j]:
 *     sc[r * stride + j] = scale * sum_d q_r[d] * kt[d * stride + j],  j < nj.
 * The fast path takes the block whole (stride 64; the caller zero-fills
 * keys past nj, whose scores are never read) and two rows
 * at a time, so each loaded key vector feeds two rows. */
VECTORIZE static void att_scores(float *restrict sc, const float *restrict q, const float *restrict kt, int hd,
                                 int nj, int nr, int stride, float scale) {
    int r = 0;
    if (stride == 64) {
        for (; r + 1 < nr; r += 2) {
            const float *q0 = q + (size_t)r * hd, *q1 = q0 + hd;
            vf16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
            for (int d = 0; d < hd; d++) {
                const float *k = kt + (size_t)d * 64;
                vf16 k0 = vf16_load(k), k1 = vf16_load(k + 16), k2 = vf16_load(k + 32), k3 = vf16_load(k + 48);
                float x = q0[d] * scale, y = q1[d] * scale;
                a0 += x * k0; a1 += x * k1; a2 += x * k2; a3 += x * k3;
                b0 += y * k0; b1 += y * k1; b2 += y * k2; b3 += y * k3;
            }
            float *s0 = sc + (size_t)r * 64, *s1 = s0 + 64;
            vf16_store(s0, a0); vf16_store(s0 + 16, a1); vf16_store(s0 + 32, a2); vf16_store(s0 + 48, a3);
            vf16_store(s1, b0); vf16_store(s1 + 16, b1); vf16_store(s1 + 32, b2); vf16_store(s1 + 48, b3);
        }
    }
    for (; r < nr; r++) {
        float *restrict out = sc + (size_t)r * stride;
        const float *qr = q + (size_t)r * hd;
        for (int j = 0; j < nj; j++) out[j] = 0;
        for (int d = 0; d < hd; d++) {
            const float qd = qr[d] * scale;
            const float *restrict kd = kt + (size_t)d * stride;
            for (int j = 0; j < nj; j++) out[j] += qd * kd[j];
        }
    }
}

/* p[j] = exp(p[j] - max); returns the sum */
VECTORIZE static float att_exp(float *restrict p, int nj, float max) {
    for (int j = 0; j < nj; j++) p[j] = exp_approx(p[j] - max);
    float sum = 0;
    for (int j = 0; j < nj; j++) sum += p[j];
    return sum;
}

/* For nr rows: o_r[d] += sum_j p_r[j] * vb[j * hd + d], d < hd, with
 * o_r = o + r * hd and p_r = p + r * pstride. Fast path: hd 64, two rows at
 * a time, the outputs held in registers across the whole block. */
VECTORIZE static void att_accum(float *restrict o, const float *restrict p, const float *restrict vb, int nj, int hd,
                                int nr, int pstride) {
    int r = 0;
    if (hd == 64) {
        for (; r + 1 < nr; r += 2) {
            float *o0 = o + (size_t)r * 64, *o1 = o0 + 64;
            const float *p0 = p + (size_t)r * pstride, *p1 = p0 + pstride;
            vf16 a0 = vf16_load(o0), a1 = vf16_load(o0 + 16), a2 = vf16_load(o0 + 32), a3 = vf16_load(o0 + 48);
            vf16 b0 = vf16_load(o1), b1 = vf16_load(o1 + 16), b2 = vf16_load(o1 + 32), b3 = vf16_load(o1 + 48);
            for (int j = 0; j < nj; j++) {
                const float *v = vb + (size_t)j * 64;
                vf16 v0 = vf16_load(v), v1 = vf16_load(v + 16), v2 = vf16_load(v + 32), v3 = vf16_load(v + 48);
                float x = p0[j], y = p1[j];
                a0 += x * v0; a1 += x * v1; a2 += x * v2; a3 += x * v3;
                b0 += y * v0; b1 += y * v1; b2 += y * v2; b3 += y * v3;
            }
            vf16_store(o0, a0); vf16_store(o0 + 16, a1); vf16_store(o0 + 32, a2); vf16_store(o0 + 48, a3);
            vf16_store(o1, b0); vf16_store(o1 + 16, b1); vf16_store(o1 + 32, b2); vf16_store(o1 + 48, b3);
        }
    }
    for (; r < nr; r++) {
        float *restrict orow = o + (size_t)r * hd;
        const float *prow = p + (size_t)r * pstride;
        for (int j = 0; j < nj; j++) {
            const float pj = prow[j];
            const float *restrict v = vb + (size_t)j * hd;
            for (int d = 0; d < hd; d++) orow[d] += pj * v[d];
        }
    }
}

/* gate[i] = silu(gate[i]) * up[i] */
VECTORIZE static void swiglu(float *restrict gate, const float *restrict up, int n) {
    for (int i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + exp_approx(-gate[i])) * up[i];
}

/* the table entries every level fills from this header */
#define GENERIC_KERNELS .att_scores = att_scores, .att_exp = att_exp, .att_accum = att_accum, .swiglu = swiglu

#endif
