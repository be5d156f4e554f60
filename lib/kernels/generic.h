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

/* sc[j] = scale * sum_d q[d] * kt[d * stride + j], for j < nj */
VECTORIZE static void att_scores(float *restrict sc, const float *restrict q, const float *restrict kt, int hd, int nj,
                                 int stride, float scale) {
    for (int j = 0; j < nj; j++) sc[j] = 0;
    for (int d = 0; d < hd; d++) {
        const float qd = q[d] * scale;
        const float *restrict kd = kt + (size_t)d * stride;
        for (int j = 0; j < nj; j++) sc[j] += qd * kd[j];
    }
}

/* p[j] = exp(p[j] - max); returns the sum */
VECTORIZE static float att_exp(float *restrict p, int nj, float max) {
    for (int j = 0; j < nj; j++) p[j] = exp_approx(p[j] - max);
    float sum = 0;
    for (int j = 0; j < nj; j++) sum += p[j];
    return sum;
}

/* o[d] += sum_j p[j] * vb[j * hd + d], for d < hd */
VECTORIZE static void att_accum(float *restrict o, const float *restrict p, const float *restrict vb, int nj, int hd) {
    for (int j = 0; j < nj; j++) {
        const float pj = p[j];
        const float *restrict v = vb + (size_t)j * hd;
        for (int d = 0; d < hd; d++) o[d] += pj * v[d];
    }
}

/* gate[i] = silu(gate[i]) * up[i] */
VECTORIZE static void swiglu(float *restrict gate, const float *restrict up, int n) {
    for (int i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + exp_approx(-gate[i])) * up[i];
}

#endif
