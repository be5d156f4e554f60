/* AVX2 + FMA + F16C kernels.
 *
 * Same scheme as the AVX-512 file with 256-bit vectors: every block product
 * is an exact integer sum (vpmaddubsw + vpmaddwd), converted to float once
 * and scaled by d_w * d_x; only the order of the float additions differs
 * from the scalar reference.
 *
 * Q4_0 nibbles q (0..15) multiply the signed activations directly and the
 * -8 * sum(y) part is added per activation block ("bias"); Q8_0 weights use
 * the sign trick |w| * (y with the sign of w), which needs y != -128 (what
 * quantize_q8_0 produces: -127..127).
 *
 *  - decode (Q4_0 with 1-2 columns, Q8_0 always, 4 columns per pass): the
 *    weights are streamed row by row, 8 blocks per step, with software
 *    prefetch; each 256-bit product covers 16 bytes of 2 blocks, and the
 *    partial sums are reduced across registers to one exact block sum per
 *    lane (reduce4) before a single cvt + fma. Scales: 8 loads + blends.
 *  - tiled (Q4_0 prefill): 8 rows x 4 columns per register tile. A tile of
 *    8 rows x 32 blocks is transposed once into an L1 scratch so that lane i
 *    holds the 4 nibbles of row i that meet one activation dword, and reused
 *    by up to 64 columns; each broadcast activation dword feeds 8 rows. The
 *    int16 sums of the 8 products of a block stay below 2^15
 *    (8 * 2 * 15 * 128). */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels.h"
#include "generic.h"

#define INLINE static inline __attribute__((always_inline))
/* small fixed-count loops over registers must be unrolled (the build is -O2) */
#define UNROLL _Pragma("GCC unroll 16")

enum { KQ4 = 0, KQ8 = 1 };

INLINE int32_t load_i32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---- quantize ------------------------------------------------------------- */

/* roundf(): round half away from zero, exactly (t = trunc(v); v - t is exact) */
INLINE __m256 round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

static void quantize_q8_0(const float *x, block_q8_0 *y, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int i = 0; i < n / QK8_0; i++) {
        __m256 v[4];
        UNROLL
        for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + i * 32 + 8 * k);
        /* max(|x|, acc) keeps acc when x is NaN, like fmaxf */
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
        float amax = hmax8(m);
        float d = amax / 127.0f;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        UNROLL
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[k], vid)));
        /* int32 -> int8 (|q| <= 127): the packs interleave 128-bit lanes, undo that */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[i].qs, p);
    }
}

/* ---- f32 / f16 helpers ------------------------------------------------------ */

static float dot_f32_k(const float *a, const float *b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float t = 0;
    for (; i < n; i++) t += a[i] * b[i];
    return hsum8(_mm256_add_ps(s0, s1)) + t;
}

/* ---- shared pieces of the quantized products ------------------------------- */

/* sum of the 32 int8 of an activation block */
INLINE int32_t ysum32(const int8_t *q) {
    __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)q), _mm256_set1_epi8((char)0x80));
    __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi64(t, _mm_unpackhi_epi64(t, t));
    return _mm_cvtsi128_si32(t) - 32 * 128;
}

/* Four registers of per-128-bit-lane partial sums -> one: lane 4L+g gets the
 * sum of 128-bit lane L of register g. */
INLINE __m256i reduce4(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i s0 = _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
    __m256i s1 = _mm256_add_epi32(_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d));
    return _mm256_add_epi32(_mm256_unpacklo_epi64(s0, s1), _mm256_unpackhi_epi64(s0, s1));
}

/* 8 f16 scales, 4 bytes apart in the low half of each dword -> 8 floats */
INLINE __m256 scales8(__m256i v) {
    __m256i p = _mm256_packus_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0xffff)), _mm256_setzero_si256());
    p = _mm256_permute4x64_epi64(p, 0x08); /* qwords 0 and 2 -> low 128 bits */
    return _mm256_cvtph_ps(_mm256_castsi256_si128(p));
}

/* ---- decode path: few columns, weights streamed row by row ------------------- */

#define DEC_COLS 4      /* columns handled together */
#define DEC_GROUPS 32   /* 8-block groups per k-chunk: 256 blocks, 8192 weights */
#define DEC_PREFETCH 6144 /* bytes ahead in the weight stream */

/* Block i of a group lives in 128-bit lane i % 2 of register i / 2, so the
 * reduced lane of block i is 4 * (i % 2) + i / 2. */
static inline int lane_of(int i) { return 4 * (i % 2) + i / 2; }

/* One activation column, one 8-block group: y[a] holds qs[0..15] of blocks
 * 2a (low 128 bits) and 2a+1 (high), y[4+a] their qs[16..31]; bias and dx
 * in reduce4 lane order. Blocks past the end are 0. */
typedef struct {
    __m256i y[8];
    __m256i bias;
    __m256 dx;
} dgroup;

static void dec_prepare(int kind, const block_q8_0 *x, int kc, dgroup *g) {
    int ng = (kc + 7) / 8;
    for (int gi = 0; gi < ng; gi++) {
        uint8_t *yb = (uint8_t *)g[gi].y;
        int32_t bias[8];
        float dx[8];
        memset(yb, 0, sizeof g[gi].y);
        for (int i = 0; i < 8; i++) {
            int b = gi * 8 + i, lane = lane_of(i);
            if (b >= kc) {
                bias[lane] = 0;
                dx[lane] = 0;
                continue;
            }
            const block_q8_0 *xb = x + b;
            memcpy(yb + (i / 2) * 32 + (i % 2) * 16, xb->qs, 16);
            memcpy(yb + (4 + i / 2) * 32 + (i % 2) * 16, xb->qs + 16, 16);
            bias[lane] = kind == KQ4 ? -8 * ysum32(xb->qs) : 0;
            dx[lane] = h2f(xb->d);
        }
        g[gi].bias = _mm256_loadu_si256((const __m256i *)bias);
        g[gi].dx = _mm256_loadu_ps(dx);
    }
}

/* The 8 f16 scales of a group in reduce4 lane order (blocks 0,2,4,6,1,3,5,7):
 * each is loaded so that it lands in word m of an xmm register, then the 8
 * registers are blended; every load stays inside the group. */
INLINE __m256 dec_scales(const int kind, const uint8_t *p) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
#define DLOAD(m, blk) _mm_loadu_si128((const __m128i *)(p + (blk) * bsz - 2 * (m)))
    __m128i v = DLOAD(0, 0);
    v = _mm_blend_epi16(v, DLOAD(1, 2), 0x02);
    v = _mm_blend_epi16(v, DLOAD(2, 4), 0x04);
    v = _mm_blend_epi16(v, DLOAD(3, 6), 0x08);
    v = _mm_blend_epi16(v, DLOAD(4, 1), 0x10);
    v = _mm_blend_epi16(v, DLOAD(5, 3), 0x20);
    v = _mm_blend_epi16(v, DLOAD(6, 5), 0x40);
    v = _mm_blend_epi16(v, DLOAD(7, 7), 0x80);
#undef DLOAD
    return _mm256_cvtph_ps(v);
}

/* 8 blocks (8 * bsz bytes at p[r]) of nr rows against nc prepared columns:
 * acc[r][c] += per-block float terms. Blocks outside dmask (past the end of
 * the row) get a zero scale; their products are zero (zero activations). */
INLINE void dec_group(const int kind, const int nr, const int nc, const uint8_t *const *p, const dgroup *g,
                      __m256 (*acc)[DEC_COLS], __m256 dmask) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    UNROLL
    for (int r = 0; r < nr; r++) {
        __m256i wl[4], wh[4];
        UNROLL
        for (int a = 0; a < 4; a++) {
            const uint8_t *q = p[r] + 2 * a * bsz + 2;
            if (kind == KQ4) {
                __m256i z = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q)),
                                                    _mm_loadu_si128((const __m128i *)(q + bsz)), 1);
                wl[a] = _mm256_and_si256(z, m4);
                wh[a] = _mm256_and_si256(_mm256_srli_epi16(z, 4), m4);
            } else {
                wl[a] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q)),
                                                _mm_loadu_si128((const __m128i *)(q + bsz)), 1);
                wh[a] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(q + 16))),
                                                _mm_loadu_si128((const __m128i *)(q + bsz + 16)), 1);
            }
        }
        __m256 dw = _mm256_and_ps(dec_scales(kind, p[r]), dmask);
        __m256i aw[8];
        if (kind == KQ8) {
            UNROLL
            for (int a = 0; a < 4; a++) {
                aw[a] = _mm256_sign_epi8(wl[a], wl[a]);
                aw[4 + a] = _mm256_sign_epi8(wh[a], wh[a]);
            }
        }
        UNROLL
        for (int c = 0; c < nc; c++) {
            const dgroup *gc = g + c * DEC_GROUPS;
            __m256i s[4];
            UNROLL
            for (int a = 0; a < 4; a++) {
                if (kind == KQ4) {
                    /* nibble products: 2 * 2 * 15 * 128 fits int16 */
                    __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(wl[a], gc->y[a]),
                                                 _mm256_maddubs_epi16(wh[a], gc->y[4 + a]));
                    s[a] = _mm256_madd_epi16(t, ones);
                } else {
                    __m256i t0 = _mm256_maddubs_epi16(aw[a], _mm256_sign_epi8(gc->y[a], wl[a]));
                    __m256i t1 = _mm256_maddubs_epi16(aw[4 + a], _mm256_sign_epi8(gc->y[4 + a], wh[a]));
                    s[a] = _mm256_add_epi32(_mm256_madd_epi16(t0, ones), _mm256_madd_epi16(t1, ones));
                }
            }
            __m256i t = _mm256_add_epi32(reduce4(s[0], s[1], s[2], s[3]), gc->bias);
            acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_mul_ps(dw, gc->dx), acc[r][c]);
        }
    }
}

/* nr rows (at w, stride ws) x nc columns over kc blocks; limit: end of the
 * weight data, which full-width loads of a partial last group must not pass */
INLINE void dec_rows_nr(const int kind, const int nr, const int nc, int kc, const uint8_t *w, size_t ws,
                        const uint8_t *limit, const dgroup *g, float *out, size_t os, int accum, int pf) {
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0), gsz = 8 * bsz;
    const __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    __m256 acc[2][DEC_COLS];
    UNROLL
    for (int r = 0; r < nr; r++)
        UNROLL
        for (int c = 0; c < nc; c++) acc[r][c] = _mm256_setzero_ps();
    const uint8_t *p[2];
    UNROLL
    for (int r = 0; r < nr; r++) p[r] = w + (size_t)r * ws;
    int full = kc / 8, rem = kc % 8;
    for (int gi = 0; gi < full; gi++) {
        UNROLL
        for (int r = 0; r < nr && pf; r++)
            UNROLL
            for (size_t o = 0; o < gsz; o += 64) _mm_prefetch((const char *)p[r] + pf + o, _MM_HINT_T0);
        dec_group(kind, nr, nc, p, g + gi, acc, all);
        UNROLL
        for (int r = 0; r < nr; r++) p[r] += gsz;
    }
    if (rem) {
        int32_t m[8];
        for (int i = 0; i < 8; i++) m[lane_of(i)] = i < rem ? -1 : 0;
        __m256 dmask = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)m));
        if (p[nr - 1] + gsz <= limit) {
            /* reading the whole group stays inside the matrix */
            dec_group(kind, nr, nc, p, g + full, acc, dmask);
        } else {
            /* near the end of the matrix: copy the blocks into a zeroed group */
            uint8_t buf[2][8 * sizeof(block_q8_0)] __attribute__((aligned(32)));
            const uint8_t *bp[2];
            for (int r = 0; r < nr; r++) {
                memset(buf[r], 0, sizeof buf[r]);
                memcpy(buf[r], p[r], (size_t)rem * bsz);
                bp[r] = buf[r];
            }
            dec_group(kind, nr, nc, bp, g + full, acc, dmask);
        }
    }
    UNROLL
    for (int r = 0; r < nr; r++)
        UNROLL
        for (int c = 0; c < nc; c++) {
            float v = hsum8(acc[r][c]);
            float *o = out + (size_t)c * os + r;
            *o = accum ? *o + v : v;
        }
}

#define DEC_STEP 8     /* blocks per activation group */
#define DEC_PAIR_NC 1  /* row pairs for one column only */
#include "x86_decode.h"

/* ---- tiled path (Q4_0): 8 rows x 4 columns ------------------------------------ */

#define TILE_ROWS 8
#define TILE_COLS 4
#define TILE_K 32       /* blocks per k-chunk: a repacked row tile stays in L1 */
#define SUPER_COLS 64   /* columns that share one repacked row tile */

/* Transposes kc Q4_0 blocks of 8 rows (wb + off[i]) into wt, 8 registers per
 * block: lane i of w[k] holds the nibbles of row i that meet activation
 * dword k; scales into dt. */
static void repack(int kc, const uint8_t *wb, const int32_t *off, __m256i *wt, __m256 *dt) {
    const __m256i vidx = _mm256_loadu_si256((const __m256i *)off);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int b = 0; b < kc; b++) {
        const uint8_t *p = wb + (size_t)b * sizeof(block_q4_0);
        __m256i *w = wt + (size_t)b * 8;
        /* z[j]: row j in the low 128 bits, row 4+j in the high ones */
        __m256i z[4];
        UNROLL
        for (int j = 0; j < 4; j++)
            z[j] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p + 2 + off[j]))),
                                           _mm_loadu_si128((const __m128i *)(p + 2 + off[4 + j])), 1);
        __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
        __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
        __m256i r[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2), _mm256_unpacklo_epi64(t1, t3),
                        _mm256_unpackhi_epi64(t1, t3)};
        UNROLL
        for (int k = 0; k < 4; k++) {
            w[k] = _mm256_and_si256(r[k], m4);
            w[4 + k] = _mm256_and_si256(_mm256_srli_epi16(r[k], 4), m4);
        }
        dt[b] = scales8(_mm256_i32gather_epi32((const int *)p, vidx, 1));
    }
}

/* One 8-row x nc-column tile over kc repacked blocks. x0: column 0 at the
 * k-chunk, cb/cd: per column (stride TILE_K), per block bias and scale. */
INLINE void tile(const int nc, int kc, const __m256i *wt, const __m256 *dt, const block_q8_0 *x0, size_t xs,
                 const int32_t *cb, const float *cd, float *out, size_t os, int rr, int accum) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[TILE_COLS];
    UNROLL
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < kc; b++) {
        const __m256i *w = wt + (size_t)b * 8;
        __m256 dw = dt[b];
        UNROLL
        for (int c = 0; c < nc; c++) {
            const int8_t *yq = (x0 + (size_t)c * xs + b)->qs;
            /* 8 nibble products per block and lane: <= 8 * 2 * 15 * 128 fits int16 */
            __m256i s = _mm256_maddubs_epi16(_mm256_load_si256(w), _mm256_set1_epi32(load_i32(yq)));
            UNROLL
            for (int k = 1; k < 8; k++)
                s = _mm256_add_epi16(
                    s, _mm256_maddubs_epi16(_mm256_load_si256(w + k), _mm256_set1_epi32(load_i32(yq + 4 * k))));
            __m256i is = _mm256_add_epi32(_mm256_madd_epi16(s, ones), _mm256_set1_epi32(cb[c * TILE_K + b]));
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, _mm256_set1_ps(cd[c * TILE_K + b])),
                                     acc[c]);
        }
    }
    UNROLL
    for (int c = 0; c < nc; c++) {
        float *o = out + (size_t)c * os;
        if (rr == TILE_ROWS) {
            _mm256_storeu_ps(o, accum ? _mm256_add_ps(_mm256_loadu_ps(o), acc[c]) : acc[c]);
        } else {
            float v[8];
            _mm256_storeu_ps(v, acc[c]);
            for (int i = 0; i < rr; i++) o[i] = accum ? o[i] + v[i] : v[i];
        }
    }
}

static void gemm_tiled_q4_0(int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                            int n_cols, float *out, size_t os) {
    const int nb = n / 32;
    __m256i wt[TILE_K * 8];
    __m256 dt[TILE_K];
    int32_t cb[SUPER_COLS * TILE_K];
    float cd[SUPER_COLS * TILE_K];
    for (int s0 = 0; s0 < n_cols; s0 += SUPER_COLS) {
        int ns = n_cols - s0 < SUPER_COLS ? n_cols - s0 : SUPER_COLS;
        for (int k0 = 0; k0 < nb; k0 += TILE_K) {
            int kc = nb - k0 < TILE_K ? nb - k0 : TILE_K;
            for (int c = 0; c < ns; c++)
                for (int b = 0; b < kc; b++) {
                    const block_q8_0 *xb = x + (size_t)(s0 + c) * xs + k0 + b;
                    cb[c * TILE_K + b] = -8 * ysum32(xb->qs);
                    cd[c * TILE_K + b] = h2f(xb->d);
                }
            for (int r0 = 0; r0 < n_rows; r0 += TILE_ROWS) {
                int rr = n_rows - r0 < TILE_ROWS ? n_rows - r0 : TILE_ROWS;
                int32_t off[TILE_ROWS];
                for (int i = 0; i < TILE_ROWS; i++) off[i] = (int32_t)((size_t)(i < rr ? i : rr - 1) * ws);
                repack(kc, w + (size_t)r0 * ws + (size_t)k0 * sizeof(block_q4_0), off, wt, dt);
                for (int c0 = 0; c0 < ns; c0 += TILE_COLS) {
                    int nc = ns - c0 < TILE_COLS ? ns - c0 : TILE_COLS;
                    const block_q8_0 *x0 = x + (size_t)(s0 + c0) * xs + k0;
                    float *o = out + (size_t)(s0 + c0) * os + r0;
                    const int32_t *cbc = cb + c0 * TILE_K;
                    const float *cdc = cd + c0 * TILE_K;
                    int accum = k0 > 0;
                    switch (nc) {
                    case 1: tile(1, kc, wt, dt, x0, xs, cbc, cdc, o, os, rr, accum); break;
                    case 2: tile(2, kc, wt, dt, x0, xs, cbc, cdc, o, os, rr, accum); break;
                    case 3: tile(3, kc, wt, dt, x0, xs, cbc, cdc, o, os, rr, accum); break;
                    default: tile(4, kc, wt, dt, x0, xs, cbc, cdc, o, os, rr, accum); break;
                    }
                }
            }
        }
    }
}

/* ---- entry points ------------------------------------------------------------- */

#define TILED_MIN_COLS 3

static void zero_out(int n_rows, int n_cols, float *out, size_t os) {
    for (int c = 0; c < n_cols; c++)
        for (int r = 0; r < n_rows; r++) out[(size_t)c * os + r] = 0;
}

static void gemm_q4_0(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                      float *out, size_t os, int prefetch) {
    if (n_rows <= 0 || n_cols <= 0) return;
    if (n < QK4_0) zero_out(n_rows, n_cols, out, os);
    else if (n_cols >= TILED_MIN_COLS) gemm_tiled_q4_0(n, w, ws, n_rows, x, xs, n_cols, out, os);
    else gemm_decode(KQ4, n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
}

static void gemm_q8_0(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                      float *out, size_t os, int prefetch) {
    if (n_rows <= 0 || n_cols <= 0) return;
    if (n < QK8_0) zero_out(n_rows, n_cols, out, os);
    else gemm_decode(KQ8, n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
}

const qi_kernels qi_kernels_avx2 = {
    .name = "avx2",
    .quantize_q8_0 = quantize_q8_0,
    .gemm_q4_0 = gemm_q4_0,
    .gemm_q8_0 = gemm_q8_0,
    .dot_f32 = dot_f32_k,
    GENERIC_KERNELS,
};

#endif /* __x86_64__ */
