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

/* The fast paths of both attention products, for n <= ATT_ROWS rows of 64
 * outputs: o_i += sum_j s[i * ss + j] * m_j (accumulate), else o_i = scale *
 * that sum, over len rows m_j of 64 floats (stride 64): each m_j load serves
 * n rows, whose sums stay in registers. */
VECTORIZE_FMA static inline __attribute__((always_inline)) void att_rows64(const int n, float *restrict o,
                                                                           const int accumulate,
                                                                           const float *restrict s, size_t ss,
                                                                           const float *restrict m, int len,
                                                                           float scale) {
    vf16 a[ATT_ROWS][4] = {{{0}}};
    if (accumulate)
#pragma GCC unroll 4
        for (int i = 0; i < n; i++)
#pragma GCC unroll 4
            for (int l = 0; l < 4; l++) a[i][l] = vf16_load(o + (size_t)i * 64 + 16 * l);
    for (int j = 0; j < len; j++) {
        const float *mj = m + (size_t)j * 64;
        vf16 mv[4] = {vf16_load(mj), vf16_load(mj + 16), vf16_load(mj + 32), vf16_load(mj + 48)};
#pragma GCC unroll 4
        for (int i = 0; i < n; i++) {
            float x = s[(size_t)i * ss + j];
#pragma GCC unroll 4
            for (int l = 0; l < 4; l++) a[i][l] += x * mv[l];
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < n; i++)
#pragma GCC unroll 4
        for (int l = 0; l < 4; l++) vf16_store(o + (size_t)i * 64 + 16 * l, accumulate ? a[i][l] : a[i][l] * scale);
}

/* Attention scores of nr query rows (row stride hd) against one block of
 * keys stored transposed, kt[d * stride + j]:
 *     sc[r * stride + j] = scale * sum_d q_r[d] * kt[d * stride + j],  j < nj.
 * The fast path takes the block whole (stride 64; the caller zero-fills
 * keys past nj, whose scores are never read), ATT_ROWS rows at a time and
 * the rest together, and scales each sum once. */
VECTORIZE_FMA static void att_scores(float *restrict sc, const float *restrict q, const float *restrict kt, int hd,
                                 int nj, int nr, int stride, float scale) {
    int r = 0;
    if (stride == 64) {
#define ATT_SCORES(N) att_rows64(N, sc + (size_t)r * 64, 0, q + (size_t)r * hd, (size_t)hd, kt, hd, scale)
        for (; r + ATT_ROWS <= nr; r += ATT_ROWS) ATT_SCORES(ATT_ROWS);
        switch (nr - r) {
#if ATT_ROWS > 3
        case 3: ATT_SCORES(3); return;
        case 2: ATT_SCORES(2); return;
#endif
        case 1: ATT_SCORES(1); return;
        default: return;
        }
#undef ATT_SCORES
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
VECTORIZE_FMA static void att_accum(float *restrict o, const float *restrict p, const float *restrict vb, int nj, int hd,
                                int nr, int pstride) {
    int r = 0;
    if (hd == 64) {
#define ATT_ACCUM(N) att_rows64(N, o + (size_t)r * 64, 1, p + (size_t)r * pstride, (size_t)pstride, vb, nj, 1.0f)
        for (; r + ATT_ROWS <= nr; r += ATT_ROWS) ATT_ACCUM(ATT_ROWS);
        switch (nr - r) {
#if ATT_ROWS > 3
        case 3: ATT_ACCUM(3); return;
        case 2: ATT_ACCUM(2); return;
#endif
        case 1: ATT_ACCUM(1); return;
        default: return;
        }
#undef ATT_ACCUM
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
 * through a small f32 buffer, prefetching ahead. Prefill on AVX-512 is the
 * outer product below (gemm_half_panels); elsewhere it converts HALF_ROWS
 * rows a chunk of HALF_K weights at a time into f32 on the stack, and each
 * chunk meets every column there, four rows against one column per step. */
#define HALF_K 512
#define HALF_ROWS 4
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

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#include "x86_common.h" /* transpose16 */
/* Prefill on AVX-512 as an outer product. A panel of 32 rows is converted
 * to f32 and transposed, HALF_PK weights of each row at a time, into
 * wt[k][row]; then each step k loads the panel's two vectors there and
 * broadcasts one activation of each of 12 columns: 24 independent sums that
 * stay in registers over the chunk, with no horizontal reduction. The panel
 * (16 KiB) stays in L1 while every column of a 64-column block meets it. */
#define HALF_PANEL 1
#define HALF_PROWS 32
#define HALF_PCOLS 12
#define HALF_PK 128
#define HALF_SUPER 64 /* columns whose activations (64 x n floats) share one pass over the rows */

/* wt[k * 32 + i] = weight k0 + k of row i, k < kc, for the nr (<= 32) rows
 * at w; rows past nr are zero */
static void half_panel(int bf16, const uint8_t *w, size_t ws, int nr, int k0, int kc, float *wt) {
    for (int h = 0; h < HALF_PROWS / 16; h++)
        for (int kk = 0; kk < kc; kk += 16) {
            const int kn = kc - kk < 16 ? kc - kk : 16;
            const __mmask16 m = (__mmask16)(kn == 16 ? 0xffff : (1u << kn) - 1);
            __m512 v[16];
            for (int i = 0; i < 16; i++) {
                if (16 * h + i >= nr) {
                    v[i] = _mm512_setzero_ps();
                    continue;
                }
                __m256i hv = _mm256_maskz_loadu_epi16(m, (const uint16_t *)(w + (size_t)(16 * h + i) * ws) + k0 + kk);
                v[i] = bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(hv), 16)) : _mm512_cvtph_ps(hv);
            }
            transpose16(v);
            for (int i = 0; i < kn; i++) _mm512_store_ps(wt + (size_t)(kk + i) * HALF_PROWS + 16 * h, v[i]);
        }
}

/* o[c * os + i] += sum_k wt[k][i] * x[c * xs + k] for nc columns, the rows
 * masked by m0 (0..15) and m1 (16..31) */
VECTORIZE_FMA static inline __attribute__((always_inline)) void half_tile(const int nc, const float *wt, int kc,
                                                                          const float *x, size_t xs, float *o,
                                                                          size_t os, __mmask16 m0, __mmask16 m1) {
    __m512 a[HALF_PCOLS][2];
    for (int c = 0; c < nc; c++) a[c][0] = a[c][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const __m512 w0 = _mm512_load_ps(wt + (size_t)k * HALF_PROWS), w1 = _mm512_load_ps(wt + (size_t)k * HALF_PROWS + 16);
#pragma GCC unroll 12
        for (int c = 0; c < nc; c++) {
            const __m512 xv = _mm512_set1_ps(x[(size_t)c * xs + k]);
            a[c][0] = _mm512_fmadd_ps(w0, xv, a[c][0]);
            a[c][1] = _mm512_fmadd_ps(w1, xv, a[c][1]);
        }
    }
#pragma GCC unroll 12
    for (int c = 0; c < nc; c++) {
        float *oc = o + (size_t)c * os;
        _mm512_mask_storeu_ps(oc, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, oc), a[c][0]));
        _mm512_mask_storeu_ps(oc + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, oc + 16), a[c][1]));
    }
}

static void gemm_half_panels(int bf16, int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs,
                             int n_cols, float *out, size_t os) {
    float wt[HALF_PK * HALF_PROWS] __attribute__((aligned(64)));
    for (int c = 0; c < n_cols; c++)
        for (int r = 0; r < n_rows; r++) out[(size_t)c * os + r] = 0;
    for (int s0 = 0; s0 < n_cols; s0 += HALF_SUPER) {
        const int ns = n_cols - s0 < HALF_SUPER ? n_cols - s0 : HALF_SUPER;
        for (int r0 = 0; r0 < n_rows; r0 += HALF_PROWS) {
            const int nr = n_rows - r0 < HALF_PROWS ? n_rows - r0 : HALF_PROWS;
            const __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xffff : (1u << nr) - 1);
            const __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xffff : nr > 16 ? (1u << (nr - 16)) - 1 : 0);
            for (int k0 = 0; k0 < n; k0 += HALF_PK) {
                const int kc = n - k0 < HALF_PK ? n - k0 : HALF_PK;
                half_panel(bf16, (const uint8_t *)w + (size_t)r0 * ws, ws, nr, k0, kc, wt);
                /* the next panel's weights into L2, a share of its rows'
                 * 64-byte lines before each tile, so that converting it does
                 * not wait on memory (measured: +25% at pp512) */
                const int nk0 = k0 + HALF_PK < n ? k0 + HALF_PK : 0, nr0 = nk0 ? r0 : r0 + HALF_PROWS;
                const int pf_rows = n_rows - nr0 < HALF_PROWS ? n_rows - nr0 : HALF_PROWS;
                const int pf_row_lines = ((n - nk0 < HALF_PK ? n - nk0 : HALF_PK) * 2 + 63) / 64;
                const int pf_lines = pf_rows > 0 ? pf_rows * pf_row_lines : 0;
                const int pf_step = (pf_lines * HALF_PCOLS + ns - 1) / ns;
                int pf = 0;
                for (int c = s0, nc; c < s0 + ns; c += nc) {
                    for (int e = pf + pf_step; pf < e && pf < pf_lines; pf++)
                        __builtin_prefetch((const uint8_t *)w + (size_t)(nr0 + pf / pf_row_lines) * ws + (size_t)nk0 * 2 +
                                               64 * (size_t)(pf % pf_row_lines),
                                           0, 2);
                    const float *xc = x + (size_t)c * xs + k0;
                    float *oc = out + (size_t)c * os + r0;
                    /* 12 columns at a time, a tail in pieces of 8, 4, 2 and 1:
                     * five instances of the tile, not twelve (twelve added
                     * 137 s to this file's fuzzer build, five about 20 s) */
                    const int left = s0 + ns - c;
                    nc = left >= HALF_PCOLS ? HALF_PCOLS : left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
                    switch (nc) {
#define HALF_TILE(N) case N: half_tile(N, wt, kc, xc, xs, oc, os, m0, m1); break;
                    HALF_TILE(HALF_PCOLS) HALF_TILE(8) HALF_TILE(4) HALF_TILE(2) HALF_TILE(1)
#undef HALF_TILE
                    default: break;
                    }
                }
            }
        }
    }
}
#endif

VECTORIZE_FMA static void gemm_half(int bf16, int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs, int n_cols,
                      float *out, size_t os) {
    if (n_cols <= 2) {
        gemm_half_decode(bf16, n, w, ws, n_rows, x, xs, n_cols, out, os);
        return;
    }
#ifdef HALF_PANEL
    gemm_half_panels(bf16, n, w, ws, n_rows, x, xs, n_cols, out, os);
#else
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
            for (int c = 0; c < n_cols; c++)
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
#endif
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
