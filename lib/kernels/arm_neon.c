/* AArch64 NEON kernels. This file is the baseline (armv8-a) table; it is
 * also compiled again by arm_dotprod.c (QI_ARM_DOTPROD: sdot) and by
 * arm_i8mm.c (QI_ARM_I8MM: sdot + smmla), which swap the int8 product steps
 * and add a register-tiled prefill path.
 *
 * Every block product is an exact integer sum, converted to float once and
 * scaled by d_w * d_x; only the order of the float additions differs from
 * the scalar reference. Q4_0 nibbles q (0..15) multiply the activations
 * directly and -8 * sum(y) ("bias") is added per activation block; Q8_0
 * weights are plain int8.
 *
 *  - decode (1-2 columns on dotprod/i8mm, every column count on baseline
 *    NEON, 4 columns per pass): the weights are streamed row by row (two rows
 *    at a time), 4 blocks per step; the 4 lanes of partial sums of each block
 *    are reduced with pairwise adds so one lane holds one block's exact sum
 *    before a single cvt + fma. Baseline: vmull/vmlal into int16 (4 nibble
 *    products or 2 int8 products per lane, no overflow for activations in
 *    -127..127, what quantize_q8_0 produces) then vpadal; dotprod: sdot.
 *  - tiled, dotprod: 4 rows x 8 columns per register tile. A tile of 4 rows x
 *    32 blocks is transposed once into an L1 scratch so that lane i holds
 *    the 4 weights of row i that meet one activation dword, and reused by up
 *    to 64 columns; sdot by element (one activation dword) updates 4 rows.
 *  - tiled, i8mm: 4 rows x 8 columns as 2 x 4 tiles of 2 rows x 2 columns;
 *    smmla multiplies 2 rows x 8 bytes by 2 columns x 8 bytes, giving the
 *    exact block sums of a 2 x 2 tile after 4 steps. Row pairs and column
 *    pairs are interleaved once (per 32 blocks, per 32 columns) and reused. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

#include "kernels.h"
#include "generic.h"

#if defined(QI_ARM_I8MM)
#define QI_TABLE qi_kernels_i8mm
#define QI_NAME "i8mm"
#define QI_DOT 1
#define QI_MMLA 1
#elif defined(QI_ARM_DOTPROD)
#define QI_TABLE qi_kernels_dotprod
#define QI_NAME "dotprod"
#define QI_DOT 1
#define QI_MMLA 0
#else
#define QI_TABLE qi_kernels_neon
#define QI_NAME "neon"
#define QI_DOT 0
#define QI_MMLA 0
#endif

#define INLINE static inline __attribute__((always_inline))
/* small fixed-count loops over registers must be unrolled (the build is -O2) */
#define UNROLL _Pragma("GCC unroll 16")

enum { KQ4 = 0, KQ8 = 1 };

/* ---- quantize ------------------------------------------------------------- */

static void quantize_q8_0(const float *x, block_q8_0 *y, int n) {
    for (int i = 0; i < n / QK8_0; i++) {
        float32x4_t v[8];
        UNROLL
        for (int k = 0; k < 8; k++) v[k] = vld1q_f32(x + i * 32 + 4 * k);
        /* maxnm ignores NaN like fmaxf */
        float32x4_t m = vabsq_f32(v[0]);
        UNROLL
        for (int k = 1; k < 8; k++) m = vmaxnmq_f32(m, vabsq_f32(v[k]));
        float amax = vmaxnmvq_f32(m);
        float d = amax / 127.0f;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        float32x4_t vid = vdupq_n_f32(id);
        int16x8_t h[4];
        UNROLL
        for (int k = 0; k < 4; k++) {
            /* fcvtas: round to nearest, ties away from zero, like roundf */
            int32x4_t a = vcvtaq_s32_f32(vmulq_f32(v[2 * k], vid));
            int32x4_t b = vcvtaq_s32_f32(vmulq_f32(v[2 * k + 1], vid));
            h[k] = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
        }
        vst1q_s8(y[i].qs, vcombine_s8(vmovn_s16(h[0]), vmovn_s16(h[1])));
        vst1q_s8(y[i].qs + 16, vcombine_s8(vmovn_s16(h[2]), vmovn_s16(h[3])));
    }
}

/* ---- f32 / f16 helpers ------------------------------------------------------ */

static float dot_f32_k(const float *a, const float *b, int n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float t = 0;
    for (; i < n; i++) t += a[i] * b[i];
    return vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3))) + t;
}

/* ---- int8 products ----------------------------------------------------------- */

/* sum of the 32 int8 of an activation block */
INLINE int32_t ysum32(const int8_t *q) { return (int32_t)vaddlvq_s8(vld1q_s8(q)) + vaddlvq_s8(vld1q_s8(q + 16)); }

/* One Q4_0 block: nibbles lo (weights 0..15), hi (16..31) against y[0..15],
 * y[16..31]; 4 lanes of partial sums of sum q*y. */
INLINE int32x4_t dot_q4(int8x16_t lo, int8x16_t hi, int8x16_t ya, int8x16_t yb) {
#if QI_DOT
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo, ya), hi, yb);
#else
    /* 4 products of a nibble and an int8 per int16 lane: <= 4 * 15 * 128 */
    int16x8_t p = vmull_s8(vget_low_s8(lo), vget_low_s8(ya));
    p = vmlal_high_s8(p, lo, ya);
    p = vmlal_s8(p, vget_low_s8(hi), vget_low_s8(yb));
    p = vmlal_high_s8(p, hi, yb);
    return vpaddlq_s16(p);
#endif
}

/* One Q8_0 block: weights wa (0..15), wb (16..31); 4 lanes of partial sums. */
INLINE int32x4_t dot_q8(int8x16_t wa, int8x16_t wb, int8x16_t ya, int8x16_t yb) {
#if QI_DOT
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), wa, ya), wb, yb);
#else
    /* 2 int8 products per int16 lane: <= 2 * 128 * 127 for y in -127..127 */
    int16x8_t p = vmull_s8(vget_low_s8(wa), vget_low_s8(ya));
    p = vmlal_high_s8(p, wa, ya);
    int16x8_t q = vmull_s8(vget_low_s8(wb), vget_low_s8(yb));
    q = vmlal_high_s8(q, wb, yb);
    return vpadalq_s16(vpaddlq_s16(p), q);
#endif
}

/* 4 f16 scales at p[0], p[s], p[2s], p[3s] (bytes) */
INLINE float32x4_t scales4(const uint8_t *p, size_t s0, size_t s1, size_t s2, size_t s3) {
    uint16x4_t h = vld1_dup_u16((const uint16_t *)(p + s0));
    h = vld1_lane_u16((const uint16_t *)(p + s1), h, 1);
    h = vld1_lane_u16((const uint16_t *)(p + s2), h, 2);
    h = vld1_lane_u16((const uint16_t *)(p + s3), h, 3);
    return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

/* ---- decode path: few columns, weights streamed row by row ------------------- */

#define DEC_COLS 4
#define DEC_K 512 /* blocks per k-chunk (size of the per-column tables) */

/* The 4 blocks i0..i0+3 of one row, unpacked. */
typedef struct {
    int8x16_t a[4], b[4];
    float32x4_t d;
} wquad;

INLINE void load_quad(const int kind, const uint8_t *p, wquad *q) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    UNROLL
    for (int i = 0; i < 4; i++) {
        const uint8_t *b = p + i * bsz + 2;
        if (kind == KQ4) {
            uint8x16_t v = vld1q_u8(b);
            q->a[i] = vreinterpretq_s8_u8(vandq_u8(v, m4));
            q->b[i] = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
        } else {
            q->a[i] = vld1q_s8((const int8_t *)b);
            q->b[i] = vld1q_s8((const int8_t *)b + 16);
        }
    }
    q->d = scales4(p, 0, bsz, 2 * bsz, 3 * bsz);
}

INLINE int32x4_t dot_block(const int kind, int8x16_t a, int8x16_t b, int8x16_t ya, int8x16_t yb) {
    return kind == KQ4 ? dot_q4(a, b, ya, yb) : dot_q8(a, b, ya, yb);
}

/* nr rows x nc columns over kc blocks. xc[c]: column c at the k-chunk;
 * bias/dx: per column tables (stride DEC_K). */
INLINE void dec_rows_nr(const int kind, const int nr, const int nc, int kc, const uint8_t *w, size_t ws,
                        const block_q8_0 *const *xc, const int32_t *bias, const float *dx, float *out, size_t os,
                        int accum) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    float32x4_t acc[2][DEC_COLS];
    float tail[2][DEC_COLS];
    UNROLL
    for (int r = 0; r < nr; r++)
        UNROLL
        for (int c = 0; c < nc; c++) {
            acc[r][c] = vdupq_n_f32(0);
            tail[r][c] = 0;
        }
    int b = 0;
    for (; b + 4 <= kc; b += 4) {
        wquad q[2];
        UNROLL
        for (int r = 0; r < nr; r++) load_quad(kind, w + (size_t)r * ws + (size_t)b * bsz, &q[r]);
        UNROLL
        for (int c = 0; c < nc; c++) {
            int8x16_t ya[4], yb[4];
            UNROLL
            for (int i = 0; i < 4; i++) {
                ya[i] = vld1q_s8(xc[c][b + i].qs);
                yb[i] = vld1q_s8(xc[c][b + i].qs + 16);
            }
            int32x4_t bv = vld1q_s32(bias + c * DEC_K + b);
            float32x4_t dv = vld1q_f32(dx + c * DEC_K + b);
            UNROLL
            for (int r = 0; r < nr; r++) {
                int32x4_t s0 = dot_block(kind, q[r].a[0], q[r].b[0], ya[0], yb[0]);
                int32x4_t s1 = dot_block(kind, q[r].a[1], q[r].b[1], ya[1], yb[1]);
                int32x4_t s2 = dot_block(kind, q[r].a[2], q[r].b[2], ya[2], yb[2]);
                int32x4_t s3 = dot_block(kind, q[r].a[3], q[r].b[3], ya[3], yb[3]);
                /* lane i = exact sum of block b+i */
                int32x4_t t = vaddq_s32(vpaddq_s32(vpaddq_s32(s0, s1), vpaddq_s32(s2, s3)), bv);
                acc[r][c] = vfmaq_f32(acc[r][c], vcvtq_f32_s32(t), vmulq_f32(q[r].d, dv));
            }
        }
    }
    for (; b < kc; b++) { /* last 1..3 blocks one at a time */
        UNROLL
        for (int r = 0; r < nr; r++) {
            const uint8_t *p = w + (size_t)r * ws + (size_t)b * bsz;
            int8x16_t a, bb;
            if (kind == KQ4) {
                uint8x16_t v = vld1q_u8(p + 2);
                a = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f)));
                bb = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
            } else {
                a = vld1q_s8((const int8_t *)p + 2);
                bb = vld1q_s8((const int8_t *)p + 18);
            }
            uint16_t dh;
            memcpy(&dh, p, 2);
            float dw = fp16_to_fp32(dh);
            UNROLL
            for (int c = 0; c < nc; c++) {
                int32_t is = vaddvq_s32(dot_block(kind, a, bb, vld1q_s8(xc[c][b].qs), vld1q_s8(xc[c][b].qs + 16)));
                is += bias[c * DEC_K + b];
                tail[r][c] += dw * dx[c * DEC_K + b] * (float)is;
            }
        }
    }
    UNROLL
    for (int r = 0; r < nr; r++)
        UNROLL
        for (int c = 0; c < nc; c++) {
            float v = vaddvq_f32(acc[r][c]) + tail[r][c];
            float *o = out + (size_t)c * os + r;
            *o = accum ? *o + v : v;
        }
}

INLINE void dec_rows(const int kind, const int nc, int kc, const uint8_t *w, size_t ws, int n_rows,
                     const block_q8_0 *const *xc, const int32_t *bias, const float *dx, float *out, size_t os,
                     int accum) {
    int r = 0;
    if (nc <= 2) /* two rows at a time: more independent work, shared activation loads */
        for (; r + 2 <= n_rows; r += 2)
            dec_rows_nr(kind, 2, nc, kc, w + (size_t)r * ws, ws, xc, bias, dx, out + r, os, accum);
    for (; r < n_rows; r++) dec_rows_nr(kind, 1, nc, kc, w + (size_t)r * ws, ws, xc, bias, dx, out + r, os, accum);
}

static void gemm_decode(int kind, int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                        int n_cols, float *out, size_t os) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    const int nb = n / 32;
    int32_t bias[DEC_COLS * DEC_K];
    float dx[DEC_COLS * DEC_K];
    for (int c0 = 0; c0 < n_cols; c0 += DEC_COLS) {
        int nc = n_cols - c0 < DEC_COLS ? n_cols - c0 : DEC_COLS;
        for (int k0 = 0; k0 < nb; k0 += DEC_K) {
            int kc = nb - k0 < DEC_K ? nb - k0 : DEC_K;
            const block_q8_0 *xc[DEC_COLS];
            for (int c = 0; c < nc; c++) {
                xc[c] = x + (size_t)(c0 + c) * xs + k0;
                for (int b = 0; b < kc; b++) {
                    bias[c * DEC_K + b] = kind == KQ4 ? -8 * ysum32(xc[c][b].qs) : 0;
                    dx[c * DEC_K + b] = fp16_to_fp32(xc[c][b].d);
                }
            }
            const uint8_t *wk = w + (size_t)k0 * bsz;
            float *o = out + (size_t)c0 * os;
            int accum = k0 > 0;
#define DEC_CASE(K, NC) dec_rows(K, NC, kc, wk, ws, n_rows, xc, bias, dx, o, os, accum)
            if (kind == KQ4) {
                switch (nc) {
                case 1: DEC_CASE(KQ4, 1); break;
                case 2: DEC_CASE(KQ4, 2); break;
                case 3: DEC_CASE(KQ4, 3); break;
                default: DEC_CASE(KQ4, 4); break;
                }
            } else {
                switch (nc) {
                case 1: DEC_CASE(KQ8, 1); break;
                case 2: DEC_CASE(KQ8, 2); break;
                case 3: DEC_CASE(KQ8, 3); break;
                default: DEC_CASE(KQ8, 4); break;
                }
            }
#undef DEC_CASE
        }
    }
}

#if QI_DOT
/* ---- tiled path: 4 rows x 8 columns ------------------------------------------------ */

#define TILE_ROWS 4
#define TILE_COLS 8
#define TILE_K 32 /* blocks per k-chunk: a repacked row tile stays in L1 */

/* Weight bytes of one block of 4 rows (at p + off[i]), as 4 registers per
 * 16 weight bytes: r[k] lane i = dword k of row i (vtrn transpose). */
INLINE void transpose_rows(const uint8_t *p, const size_t *off, uint8x16_t *r) {
    uint32x4_t a = vreinterpretq_u32_u8(vld1q_u8(p + off[0])), b = vreinterpretq_u32_u8(vld1q_u8(p + off[1]));
    uint32x4_t c = vreinterpretq_u32_u8(vld1q_u8(p + off[2])), d = vreinterpretq_u32_u8(vld1q_u8(p + off[3]));
    uint64x2_t t0 = vreinterpretq_u64_u32(vtrn1q_u32(a, b)), t1 = vreinterpretq_u64_u32(vtrn2q_u32(a, b));
    uint64x2_t t2 = vreinterpretq_u64_u32(vtrn1q_u32(c, d)), t3 = vreinterpretq_u64_u32(vtrn2q_u32(c, d));
    r[0] = vreinterpretq_u8_u64(vtrn1q_u64(t0, t2));
    r[1] = vreinterpretq_u8_u64(vtrn1q_u64(t1, t3));
    r[2] = vreinterpretq_u8_u64(vtrn2q_u64(t0, t2));
    r[3] = vreinterpretq_u8_u64(vtrn2q_u64(t1, t3));
}

#if !QI_MMLA
#define SUPER_COLS 64 /* columns that share one repacked row tile */

/* Repacks kc blocks of 4 rows (wb + off[i]) into wt, 8 registers per block:
 * lane i of w[k] holds the 4 weights of row i that meet activation dword k
 * (k < 4: bytes 0..15 of the activations, k >= 4: bytes 16..31); scales of
 * the 4 rows into dt. */
INLINE void repack(const int kind, int kc, const uint8_t *wb, const size_t *off, int8x16_t *wt, float32x4_t *dt) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    for (int b = 0; b < kc; b++) {
        const uint8_t *p = wb + (size_t)b * bsz;
        int8x16_t *w = wt + (size_t)b * 8;
        uint8x16_t r[4];
        transpose_rows(p + 2, off, r);
        UNROLL
        for (int k = 0; k < 4; k++) {
            if (kind == KQ4) {
                w[k] = vreinterpretq_s8_u8(vandq_u8(r[k], vdupq_n_u8(0x0f)));
                w[4 + k] = vreinterpretq_s8_u8(vshrq_n_u8(r[k], 4));
            } else {
                w[k] = vreinterpretq_s8_u8(r[k]);
            }
        }
        if (kind == KQ8) {
            transpose_rows(p + 18, off, r);
            UNROLL
            for (int k = 0; k < 4; k++) w[4 + k] = vreinterpretq_s8_u8(r[k]);
        }
        dt[b] = scales4(p, off[0], off[1], off[2], off[3]);
    }
}

/* One 4-row x nc-column tile over kc repacked blocks. x0: column 0 at the
 * k-chunk; cb/cd: per column (stride TILE_K), per block bias and scale. */
INLINE void tile(const int nc, int kc, const int8x16_t *wt, const float32x4_t *dt, const block_q8_0 *x0, size_t xs,
                 const int32_t *cb, const float *cd, float *out, size_t os, int rr, int accum) {
    float32x4_t acc[TILE_COLS];
    UNROLL
    for (int c = 0; c < nc; c++) acc[c] = vdupq_n_f32(0);
    for (int b = 0; b < kc; b++) {
        const int8x16_t *w = wt + (size_t)b * 8;
        int8x16_t wr[8];
        UNROLL
        for (int k = 0; k < 8; k++) wr[k] = w[k];
        float32x4_t dw = dt[b];
        UNROLL
        for (int c = 0; c < nc; c++) {
            const int8_t *yq = (x0 + (size_t)c * xs + b)->qs;
            int8x16_t ya = vld1q_s8(yq), yb = vld1q_s8(yq + 16);
            int32x4_t is = vdupq_n_s32(cb[c * TILE_K + b]);
            is = vdotq_laneq_s32(is, wr[0], ya, 0);
            is = vdotq_laneq_s32(is, wr[1], ya, 1);
            is = vdotq_laneq_s32(is, wr[2], ya, 2);
            is = vdotq_laneq_s32(is, wr[3], ya, 3);
            is = vdotq_laneq_s32(is, wr[4], yb, 0);
            is = vdotq_laneq_s32(is, wr[5], yb, 1);
            is = vdotq_laneq_s32(is, wr[6], yb, 2);
            is = vdotq_laneq_s32(is, wr[7], yb, 3);
            acc[c] = vfmaq_f32(acc[c], vcvtq_f32_s32(is), vmulq_n_f32(dw, cd[c * TILE_K + b]));
        }
    }
    UNROLL
    for (int c = 0; c < nc; c++) {
        float *o = out + (size_t)c * os;
        if (rr == TILE_ROWS) {
            vst1q_f32(o, accum ? vaddq_f32(vld1q_f32(o), acc[c]) : acc[c]);
        } else {
            float v[4];
            vst1q_f32(v, acc[c]);
            for (int i = 0; i < rr; i++) o[i] = accum ? o[i] + v[i] : v[i];
        }
    }
}

INLINE void gemm_tiled_k(const int kind, int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x,
                         size_t xs, int n_cols, float *out, size_t os) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    const int nb = n / 32;
    int8x16_t wt[TILE_K * 8];
    float32x4_t dt[TILE_K];
    int32_t cb[SUPER_COLS * TILE_K];
    float cd[SUPER_COLS * TILE_K];
    for (int s0 = 0; s0 < n_cols; s0 += SUPER_COLS) {
        int ns = n_cols - s0 < SUPER_COLS ? n_cols - s0 : SUPER_COLS;
        for (int k0 = 0; k0 < nb; k0 += TILE_K) {
            int kc = nb - k0 < TILE_K ? nb - k0 : TILE_K;
            for (int c = 0; c < ns; c++)
                for (int b = 0; b < kc; b++) {
                    const block_q8_0 *xb = x + (size_t)(s0 + c) * xs + k0 + b;
                    cb[c * TILE_K + b] = kind == KQ4 ? -8 * ysum32(xb->qs) : 0;
                    cd[c * TILE_K + b] = fp16_to_fp32(xb->d);
                }
            for (int r0 = 0; r0 < n_rows; r0 += TILE_ROWS) {
                int rr = n_rows - r0 < TILE_ROWS ? n_rows - r0 : TILE_ROWS;
                size_t off[TILE_ROWS];
                for (int i = 0; i < TILE_ROWS; i++) off[i] = (size_t)(i < rr ? i : rr - 1) * ws;
                repack(kind, kc, w + (size_t)r0 * ws + (size_t)k0 * bsz, off, wt, dt);
                for (int c0 = 0; c0 < ns; c0 += TILE_COLS) {
                    int nc = ns - c0 < TILE_COLS ? ns - c0 : TILE_COLS;
                    const block_q8_0 *x0 = x + (size_t)(s0 + c0) * xs + k0;
                    float *o = out + (size_t)(s0 + c0) * os + r0;
                    const int32_t *cbc = cb + c0 * TILE_K;
                    const float *cdc = cd + c0 * TILE_K;
                    int accum = k0 > 0;
#define TILE_CASE(NC) tile(NC, kc, wt, dt, x0, xs, cbc, cdc, o, os, rr, accum)
                    switch (nc) {
                    case 1: TILE_CASE(1); break;
                    case 2: TILE_CASE(2); break;
                    case 3: TILE_CASE(3); break;
                    case 4: TILE_CASE(4); break;
                    case 5: TILE_CASE(5); break;
                    case 6: TILE_CASE(6); break;
                    case 7: TILE_CASE(7); break;
                    default: TILE_CASE(8); break;
                    }
#undef TILE_CASE
                }
            }
        }
    }
}

#else /* QI_MMLA */
#define SUPER_COLS 32 /* columns that share one repacked row tile */
#define PAIRS (TILE_COLS / 2)

/* Two activation columns of one block interleaved for smmla: b[s] holds
 * bytes 8s..8s+7 of the first column, then those of the second; bias and dx
 * in the layout of a 2x2 result [r0c0, r0c1, r1c0, r1c1]. */
typedef struct {
    int8x16_t b[4];
    int32x4_t bias;
    float32x4_t dx;
} colpair;

/* 2 rows of one block interleaved for smmla: a[s] holds weights 8s..8s+7
 * of the first row, then those of the second; d = [d0, d0, d1, d1]. */
typedef struct {
    int8x16_t a[4];
    float32x4_t d;
} rowpair;

/* columns [0, nc) of x0 as column pairs (a missing partner is zero) */
static void prepare_pairs(int kind, const block_q8_0 *x0, size_t xs, int nc, int kc, colpair *cp) {
    for (int q = 0; q < (nc + 1) / 2; q++) {
        for (int b = 0; b < kc; b++) {
            const block_q8_0 *y0 = x0 + (size_t)(2 * q) * xs + b;
            const block_q8_0 *y1 = 2 * q + 1 < nc ? x0 + (size_t)(2 * q + 1) * xs + b : NULL;
            int64x2_t a0 = vreinterpretq_s64_s8(vld1q_s8(y0->qs)), a1 = vreinterpretq_s64_s8(vld1q_s8(y0->qs + 16));
            int64x2_t c0 = y1 ? vreinterpretq_s64_s8(vld1q_s8(y1->qs)) : vdupq_n_s64(0);
            int64x2_t c1 = y1 ? vreinterpretq_s64_s8(vld1q_s8(y1->qs + 16)) : vdupq_n_s64(0);
            colpair *p = &cp[q * TILE_K + b];
            p->b[0] = vreinterpretq_s8_s64(vzip1q_s64(a0, c0));
            p->b[1] = vreinterpretq_s8_s64(vzip2q_s64(a0, c0));
            p->b[2] = vreinterpretq_s8_s64(vzip1q_s64(a1, c1));
            p->b[3] = vreinterpretq_s8_s64(vzip2q_s64(a1, c1));
            int32_t b0 = kind == KQ4 ? -8 * ysum32(y0->qs) : 0, b1 = y1 && kind == KQ4 ? -8 * ysum32(y1->qs) : 0;
            float d0 = fp16_to_fp32(y0->d), d1 = y1 ? fp16_to_fp32(y1->d) : 0;
            int32_t bv[4] = {b0, b1, b0, b1};
            float dv[4] = {d0, d1, d0, d1};
            p->bias = vld1q_s32(bv);
            p->dx = vld1q_f32(dv);
        }
    }
}

/* kc blocks of 4 rows (wb + off[i]) as 2 row pairs per block */
INLINE void repack_mm(const int kind, int kc, const uint8_t *wb, const size_t *off, rowpair *rp) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    for (int b = 0; b < kc; b++) {
        const uint8_t *blk = wb + (size_t)b * bsz;
        UNROLL
        for (int p = 0; p < 2; p++) {
            rowpair *o = &rp[2 * b + p];
            const uint8_t *r0 = blk + off[2 * p], *r1 = blk + off[2 * p + 1];
            if (kind == KQ4) {
                uint64x2_t u = vreinterpretq_u64_u8(vld1q_u8(r0 + 2)), v = vreinterpretq_u64_u8(vld1q_u8(r1 + 2));
                uint8x16_t z1 = vreinterpretq_u8_u64(vzip1q_u64(u, v)), z2 = vreinterpretq_u8_u64(vzip2q_u64(u, v));
                o->a[0] = vreinterpretq_s8_u8(vandq_u8(z1, vdupq_n_u8(0x0f)));
                o->a[1] = vreinterpretq_s8_u8(vandq_u8(z2, vdupq_n_u8(0x0f)));
                o->a[2] = vreinterpretq_s8_u8(vshrq_n_u8(z1, 4));
                o->a[3] = vreinterpretq_s8_u8(vshrq_n_u8(z2, 4));
            } else {
                int64x2_t u0 = vreinterpretq_s64_s8(vld1q_s8((const int8_t *)r0 + 2));
                int64x2_t u1 = vreinterpretq_s64_s8(vld1q_s8((const int8_t *)r0 + 18));
                int64x2_t v0 = vreinterpretq_s64_s8(vld1q_s8((const int8_t *)r1 + 2));
                int64x2_t v1 = vreinterpretq_s64_s8(vld1q_s8((const int8_t *)r1 + 18));
                o->a[0] = vreinterpretq_s8_s64(vzip1q_s64(u0, v0));
                o->a[1] = vreinterpretq_s8_s64(vzip2q_s64(u0, v0));
                o->a[2] = vreinterpretq_s8_s64(vzip1q_s64(u1, v1));
                o->a[3] = vreinterpretq_s8_s64(vzip2q_s64(u1, v1));
            }
            o->d = scales4(blk, off[2 * p], off[2 * p], off[2 * p + 1], off[2 * p + 1]);
        }
    }
}

/* 4 rows (2 pairs) x np column pairs over kc blocks; result 2x2 tiles
 * acc[p][q] = [r(2p)c(2q), r(2p)c(2q+1), r(2p+1)c(2q), r(2p+1)c(2q+1)]. */
INLINE void tile_mm(const int np, int kc, const rowpair *rp, const colpair *cp, float *out, size_t os, int rr,
                    int nc, int accum) {
    float32x4_t acc[2][PAIRS];
    UNROLL
    for (int p = 0; p < 2; p++)
        UNROLL
        for (int q = 0; q < np; q++) acc[p][q] = vdupq_n_f32(0);
    for (int b = 0; b < kc; b++) {
        int8x16_t a[2][4];
        float32x4_t dw[2];
        UNROLL
        for (int p = 0; p < 2; p++) {
            UNROLL
            for (int s = 0; s < 4; s++) a[p][s] = rp[2 * b + p].a[s];
            dw[p] = rp[2 * b + p].d;
        }
        UNROLL
        for (int q = 0; q < np; q++) {
            const colpair *c = &cp[q * TILE_K + b];
            UNROLL
            for (int p = 0; p < 2; p++) {
                int32x4_t is = c->bias;
                is = vmmlaq_s32(is, a[p][0], c->b[0]);
                is = vmmlaq_s32(is, a[p][1], c->b[1]);
                is = vmmlaq_s32(is, a[p][2], c->b[2]);
                is = vmmlaq_s32(is, a[p][3], c->b[3]);
                acc[p][q] = vfmaq_f32(acc[p][q], vcvtq_f32_s32(is), vmulq_f32(dw[p], c->dx));
            }
        }
    }
    UNROLL
    for (int p = 0; p < 2; p++)
        UNROLL
        for (int q = 0; q < np; q++) {
            float v[4];
            vst1q_f32(v, acc[p][q]);
            for (int e = 0; e < 4; e++) {
                int r = 2 * p + (e >> 1), c = 2 * q + (e & 1);
                if (r < rr && c < nc) {
                    float *o = out + (size_t)c * os + r;
                    *o = accum ? *o + v[e] : v[e];
                }
            }
        }
}

INLINE void gemm_tiled_k(const int kind, int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x,
                         size_t xs, int n_cols, float *out, size_t os) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    const int nb = n / 32;
    colpair cp[(SUPER_COLS / 2) * TILE_K];
    rowpair rp[2 * TILE_K];
    for (int s0 = 0; s0 < n_cols; s0 += SUPER_COLS) {
        int ns = n_cols - s0 < SUPER_COLS ? n_cols - s0 : SUPER_COLS;
        for (int k0 = 0; k0 < nb; k0 += TILE_K) {
            int kc = nb - k0 < TILE_K ? nb - k0 : TILE_K;
            prepare_pairs(kind, x + (size_t)s0 * xs + k0, xs, ns, kc, cp);
            for (int r0 = 0; r0 < n_rows; r0 += TILE_ROWS) {
                int rr = n_rows - r0 < TILE_ROWS ? n_rows - r0 : TILE_ROWS;
                size_t off[TILE_ROWS];
                for (int i = 0; i < TILE_ROWS; i++) off[i] = (size_t)(i < rr ? i : rr - 1) * ws;
                repack_mm(kind, kc, w + (size_t)r0 * ws + (size_t)k0 * bsz, off, rp);
                for (int c0 = 0; c0 < ns; c0 += TILE_COLS) {
                    int nc = ns - c0 < TILE_COLS ? ns - c0 : TILE_COLS;
                    const colpair *cpc = cp + (c0 / 2) * TILE_K;
                    float *o = out + (size_t)(s0 + c0) * os + r0;
                    int accum = k0 > 0;
                    switch ((nc + 1) / 2) {
                    case 1: tile_mm(1, kc, rp, cpc, o, os, rr, nc, accum); break;
                    case 2: tile_mm(2, kc, rp, cpc, o, os, rr, nc, accum); break;
                    case 3: tile_mm(3, kc, rp, cpc, o, os, rr, nc, accum); break;
                    default: tile_mm(4, kc, rp, cpc, o, os, rr, nc, accum); break;
                    }
                }
            }
        }
    }
}
#endif /* QI_MMLA */

static void gemm_tiled(int kind, int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                       int n_cols, float *out, size_t os) {
    if (kind == KQ4) gemm_tiled_k(KQ4, n, w, ws, n_rows, x, xs, n_cols, out, os);
    else gemm_tiled_k(KQ8, n, w, ws, n_rows, x, xs, n_cols, out, os);
}
#endif /* QI_DOT */

/* ---- entry points ------------------------------------------------------------- */

/* prefetch: NEON levels issue no software prefetch; the hint is ignored */
static void gemm_any(int kind, int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                     int n_cols, float *out, size_t os) {
    if (n_rows <= 0 || n_cols <= 0) return;
    if (n < QK8_0) {
        for (int c = 0; c < n_cols; c++)
            for (int r = 0; r < n_rows; r++) out[(size_t)c * os + r] = 0;
        return;
    }
#if QI_DOT
    if (n_cols >= 3) {
        gemm_tiled(kind, n, w, ws, n_rows, x, xs, n_cols, out, os);
        return;
    }
#endif
    gemm_decode(kind, n, w, ws, n_rows, x, xs, n_cols, out, os);
}

static void gemm_q4_0(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                      float *out, size_t os, int prefetch) {
    (void)prefetch;
    gemm_any(KQ4, n, w, ws, n_rows, x, xs, n_cols, out, os);
}

static void gemm_q8_0(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                      float *out, size_t os, int prefetch) {
    (void)prefetch;
    gemm_any(KQ8, n, w, ws, n_rows, x, xs, n_cols, out, os);
}

const qi_kernels QI_TABLE = {
    .name = QI_NAME,
    .quantize_q8_0 = quantize_q8_0,
    .gemm_q4_0 = gemm_q4_0,
    .gemm_q8_0 = gemm_q8_0,
    .dot_f32 = dot_f32_k,
    GENERIC_KERNELS,
};

#endif /* __aarch64__ */
