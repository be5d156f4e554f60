/* Loops written in plain C that vectorize without reductions. Each ISA file
 * includes this header, so the compiler builds them with that file's
 * instruction set; scalar.c builds the baseline. */
#ifndef QINFER_KERNELS_GENERIC_H
#define QINFER_KERNELS_GENERIC_H

#include <stdint.h>
#include <string.h>

#include "formats/quant.h"

/* -O2's cheap vectorizer cost model leaves these loops scalar; ask for more */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORIZE __attribute__((optimize("O3")))
#else
#define VECTORIZE
#endif
/* the half-precision products and attention: a * b + c as one fused step
 * where the level has FMA (the levels then differ in the last bits, as any
 * reordering would) */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORIZE_FMA __attribute__((optimize("O3", "fp-contract=fast")))
#else
#define VECTORIZE_FMA
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

/* Rows handled together by the fast attention paths: each loaded key or
 * value vector serves that many rows, whose 64 sums stay in registers
 * (AVX-512 has the 32 registers for four rows' 16; the others two). */
#ifdef __AVX512F__
#define ATT_ROWS 4
#else
#define ATT_ROWS 2
#endif

/* Attention scores of nr query rows (row stride hd) against one block of
 * keys stored transposed, kt[d * stride + j]:
 *     sc[r * stride + j] = scale * sum_d q_r[d] * kt[d * stride + j],  j < nj.
 * The fast path takes the block whole (stride 64; the caller zero-fills
 * keys past nj, whose scores are never read), ATT_ROWS rows at a time and
 * the rest together, and scales each sum once. */
VECTORIZE_FMA static inline __attribute__((always_inline)) void att_scores_rows(const int n, float *restrict sc,
                                                                  const float *restrict q, const float *restrict kt,
                                                                  int hd, float scale) {
    vf16 a[ATT_ROWS][4] = {{{0}}};
    for (int d = 0; d < hd; d++) {
        const float *k = kt + (size_t)d * 64;
        vf16 kv[4] = {vf16_load(k), vf16_load(k + 16), vf16_load(k + 32), vf16_load(k + 48)};
#pragma GCC unroll 4
        for (int i = 0; i < n; i++) {
            float x = q[(size_t)i * hd + d];
#pragma GCC unroll 4
            for (int l = 0; l < 4; l++) a[i][l] += x * kv[l];
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < n; i++)
#pragma GCC unroll 4
        for (int l = 0; l < 4; l++) vf16_store(sc + (size_t)i * 64 + 16 * l, a[i][l] * scale);
}

VECTORIZE_FMA static void att_scores(float *restrict sc, const float *restrict q, const float *restrict kt, int hd,
                                 int nj, int nr, int stride, float scale) {
    int r = 0;
    if (stride == 64) {
        for (; r + ATT_ROWS <= nr; r += ATT_ROWS) att_scores_rows(ATT_ROWS, sc + (size_t)r * 64, q + (size_t)r * hd, kt, hd, scale);
        switch (nr - r) {
#if ATT_ROWS > 3
        case 3: att_scores_rows(3, sc + (size_t)r * 64, q + (size_t)r * hd, kt, hd, scale); return;
        case 2: att_scores_rows(2, sc + (size_t)r * 64, q + (size_t)r * hd, kt, hd, scale); return;
#endif
        case 1: att_scores_rows(1, sc + (size_t)r * 64, q + (size_t)r * hd, kt, hd, scale); return;
        default: return;
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
VECTORIZE_FMA static float att_exp(float *restrict p, int nj, float max) {
    for (int j = 0; j < nj; j++) p[j] = exp_approx(p[j] - max);
    float sum = 0;
    for (int j = 0; j < nj; j++) sum += p[j];
    return sum;
}

/* For nr rows: o_r[d] += sum_j p_r[j] * vb[j * hd + d], d < hd, with
 * o_r = o + r * hd and p_r = p + r * pstride. Fast path: hd 64, ATT_ROWS rows
 * at a time and the rest together, the outputs held in registers across the
 * whole block. */
VECTORIZE_FMA static inline __attribute__((always_inline)) void att_accum_rows(const int n, float *restrict o,
                                                                 const float *restrict p, const float *restrict vb,
                                                                 int nj, int pstride) {
    vf16 a[ATT_ROWS][4];
#pragma GCC unroll 4
    for (int i = 0; i < n; i++)
#pragma GCC unroll 4
        for (int l = 0; l < 4; l++) a[i][l] = vf16_load(o + (size_t)i * 64 + 16 * l);
    for (int j = 0; j < nj; j++) {
        const float *v = vb + (size_t)j * 64;
        vf16 vv[4] = {vf16_load(v), vf16_load(v + 16), vf16_load(v + 32), vf16_load(v + 48)};
#pragma GCC unroll 4
        for (int i = 0; i < n; i++) {
            float x = p[(size_t)i * pstride + j];
#pragma GCC unroll 4
            for (int l = 0; l < 4; l++) a[i][l] += x * vv[l];
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < n; i++)
#pragma GCC unroll 4
        for (int l = 0; l < 4; l++) vf16_store(o + (size_t)i * 64 + 16 * l, a[i][l]);
}

VECTORIZE_FMA static void att_accum(float *restrict o, const float *restrict p, const float *restrict vb, int nj, int hd,
                                int nr, int pstride) {
    int r = 0;
    if (hd == 64) {
        for (; r + ATT_ROWS <= nr; r += ATT_ROWS)
            att_accum_rows(ATT_ROWS, o + (size_t)r * 64, p + (size_t)r * pstride, vb, nj, pstride);
        switch (nr - r) {
#if ATT_ROWS > 3
        case 3: att_accum_rows(3, o + (size_t)r * 64, p + (size_t)r * pstride, vb, nj, pstride); return;
        case 2: att_accum_rows(2, o + (size_t)r * 64, p + (size_t)r * pstride, vb, nj, pstride); return;
#endif
        case 1: att_accum_rows(1, o + (size_t)r * 64, p + (size_t)r * pstride, vb, nj, pstride); return;
        default: return;
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

/* ---- F16 and BF16 weights times f32 activations ----------------------------
 * A half converts to f32 exactly, so how a level converts changes no bit:
 * F16C or NEON where the file's instruction set has them, else plain C. The
 * products below are then the same C on every level. */
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
static inline void half_row_f16(const uint16_t *s, float *d, int n) {
    int i = 0;
#ifdef __AVX512F__ /* whole 64-byte stores: a vf16 load right after is forwarded from one store */
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(d + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(s + i))));
#endif
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    for (; i < n; i++) d[i] = _cvtsh_ss(s[i]);
}
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
static inline void half_row_f16(const uint16_t *s, float *d, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(d + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(s + i))));
    for (; i < n; i++) d[i] = vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(s[i]))), 0);
}
#else
static inline void half_row_f16(const uint16_t *s, float *d, int n) {
    for (int i = 0; i < n; i++) d[i] = fp16_to_fp32(s[i]);
}
#endif

VECTORIZE static void half_row_bf16(const uint16_t *restrict s, float *restrict d, int n) {
    for (int i = 0; i < n; i++) {
        uint32_t u = (uint32_t)s[i] << 16;
        memcpy(&d[i], &u, 4);
    }
}

/* out[c * os + r] = sum_i w_r[i] * x_c[i] for F16 (bf16 = 0) or BF16 rows of
 * n weights (row stride ws bytes) and n_cols f32 columns (stride xs floats).
 * Decode (one or two columns) streams each row once, 32 weights at a time
 * through a small f32 buffer, prefetching ahead. Prefill converts HALF_ROWS
 * rows a chunk of HALF_K weights at a time into f32 on the stack, and each
 * chunk meets every column there. */
#define HALF_K 512
#define HALF_PREFETCH 1024 /* bytes ahead in a streamed row */
static inline void half_row(int bf16, const uint16_t *s, float *d, int n) {
    if (bf16) half_row_bf16(s, d, n);
    else half_row_f16(s, d, n);
}

VECTORIZE_FMA static void gemm_half_decode(int bf16, int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs,
                             int n_cols, float *out, size_t os) {
    float t[32] __attribute__((aligned(64)));
    int nv = n & ~31;
    for (int r = 0; r < n_rows; r++) {
        const uint16_t *row = (const uint16_t *)((const uint8_t *)w + (size_t)r * ws);
        for (int c = 0; c < n_cols; c++) {
            const float *xc = x + (size_t)c * xs;
            vf16 a0 = {0}, a1 = {0};
            for (int i = 0; i < nv; i += 32) {
                __builtin_prefetch((const uint8_t *)(row + i) + HALF_PREFETCH);
                half_row(bf16, row + i, t, 32);
                a0 += vf16_load(t) * vf16_load(xc + i);
                a1 += vf16_load(t + 16) * vf16_load(xc + i + 16);
            }
            a0 += a1;
            float sum = 0;
            for (int l = 0; l < 16; l++) sum += a0[l];
            for (int i = nv; i < n; i += 32) { /* the row's last n % 32 weights */
                int k = n - i < 32 ? n - i : 32;
                half_row(bf16, row + i, t, k);
                for (int j = 0; j < k; j++) sum += t[j] * xc[i + j];
            }
            out[(size_t)c * os + r] = sum;
        }
    }
}

/* Four rows (at b[0..3]) against one column per 16 weights: the inner step
 * of the prefill products below on every level; a[r] += w_r * x lane by lane. */
#define HALF_DOT4(a, b, xc, i)                                                          \
    do {                                                                                \
        vf16 xv_ = vf16_load((xc) + (i));                                              \
        for (int r_ = 0; r_ < 4; r_++) (a)[r_] += vf16_load((b)[r_] + (i)) * xv_;       \
    } while (0)

/* o[r] += sum[r] plus the row's last kc - kv weights (fewer than 16) times
 * the column's, for the nr (at most 4) rows of a tile at b */
VECTORIZE_FMA static inline void half_finish(float *o, float (*b)[HALF_K], const float *xc, const float *sum, int nr,
                                             int kv, int kc) {
    for (int r = 0; r < nr; r++) {
        float t = sum[r];
        for (int i = kv; i < kc; i++) t += b[r][i] * xc[i];
        o[r] += t;
    }
}

#ifdef __AVX512F__
#include <immintrin.h>
/* With 32 vector registers, 4 rows x 4 columns at a time: 16 independent
 * sums keep both FMA units busy (4 sums, one per row, wait on the FMA
 * latency), and each weight load serves four columns. A chunk converts 8
 * rows, so each 4 columns' activations, read from L2 for the first 4 rows,
 * are still in L1 for the next 4. */
#define HALF_COLS 4
#define HALF_ROWS 8
/* lane j of the result: the sum of v[j]'s 16 lanes (45 shuffles and adds
 * for 16 sums) */
static inline __attribute__((always_inline)) __m512 half_reduce16(const __m512 *v) {
    __m512 u[8], w[4], x[2];
    for (int i = 0; i < 8; i++)
        u[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++)
        w[i] = _mm512_add_ps( /* 128-bit lane L: its part of the sums of v[4i..4i+3] */
            _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(u[2 * i]), _mm512_castps_pd(u[2 * i + 1]))),
            _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(u[2 * i]), _mm512_castps_pd(u[2 * i + 1]))));
    for (int i = 0; i < 2; i++)
        x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], 0x88), _mm512_shuffle_f32x4(x[0], x[1], 0xdd));
}
#else
#define HALF_ROWS 4
#endif

VECTORIZE_FMA static void gemm_half(int bf16, int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs, int n_cols,
                      float *out, size_t os) {
    if (n_cols <= 2) {
        gemm_half_decode(bf16, n, w, ws, n_rows, x, xs, n_cols, out, os);
        return;
    }
    float buf[HALF_ROWS][HALF_K] __attribute__((aligned(64)));
    for (int r0 = 0; r0 < n_rows; r0 += HALF_ROWS) {
        int nr = n_rows - r0 < HALF_ROWS ? n_rows - r0 : HALF_ROWS;
        for (int c = 0; c < n_cols; c++)
            for (int r = 0; r < nr; r++) out[(size_t)c * os + r0 + r] = 0;
        for (int k0 = 0; k0 < n; k0 += HALF_K) {
            int kc = n - k0 < HALF_K ? n - k0 : HALF_K, kv = kc & ~15;
            for (int r = 0; r < HALF_ROWS; r++) /* rows past the matrix repeat the last one, never stored */
                half_row(bf16, (const uint16_t *)((const uint8_t *)w + (size_t)(r0 + (r < nr ? r : nr - 1)) * ws) + k0,
                         buf[r], kc);
            int c = 0;
#ifdef HALF_COLS
            for (; c + HALF_COLS <= n_cols; c += HALF_COLS)
                for (int sub = 0; sub < nr; sub += 4) {
                    const float *xc = x + (size_t)c * xs + k0;
                    float(*b)[HALF_K] = buf + sub;
                    vf16 a[HALF_COLS][4] = {{{0}}}; /* a[column][row] */
                    for (int i = 0; i < kv; i += 16)
#pragma GCC unroll 4
                        for (int j = 0; j < HALF_COLS; j++) HALF_DOT4(a[j], b, xc + (size_t)j * xs, i);
                    float sum[16] __attribute__((aligned(64)));
                    _mm512_store_ps(sum, half_reduce16((const __m512 *)a));
                    for (int j = 0; j < HALF_COLS; j++)
                        half_finish(out + (size_t)(c + j) * os + r0 + sub, b, xc + (size_t)j * xs, sum + j * 4,
                                    nr - sub < 4 ? nr - sub : 4, kv, kc);
                }
#endif
            for (; c < n_cols; c++)
                for (int sub = 0; sub < nr; sub += 4) {
                    const float *xc = x + (size_t)c * xs + k0;
                    float(*b)[HALF_K] = buf + sub;
                    vf16 a[4] = {0}; /* one register per row */
                    for (int i = 0; i < kv; i += 16) HALF_DOT4(a, b, xc, i);
                    float sum[4] = {0, 0, 0, 0};
                    for (int l = 0; l < 16; l++) sum[0] += a[0][l], sum[1] += a[1][l], sum[2] += a[2][l], sum[3] += a[3][l];
                    half_finish(out + (size_t)c * os + r0 + sub, b, xc, sum, nr - sub < 4 ? nr - sub : 4, kv, kc);
                }
        }
    }
}

static void gemm_f16(int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs, int n_cols, float *out,
                     size_t os) {
    gemm_half(0, n, w, ws, n_rows, x, xs, n_cols, out, os);
}
static void gemm_bf16(int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs, int n_cols, float *out,
                      size_t os) {
    gemm_half(1, n, w, ws, n_rows, x, xs, n_cols, out, os);
}

/* the table entries every level fills from this header */
#define GENERIC_KERNELS                                                                                          \
    .att_scores = att_scores, .att_exp = att_exp, .att_accum = att_accum, .swiglu = swiglu, .gemm_f16 = gemm_f16, \
    .gemm_bf16 = gemm_bf16

#endif
