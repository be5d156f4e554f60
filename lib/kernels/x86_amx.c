/* AMX level: the AVX-512 VNNI level with the prefill products of Q4_0,
 * Q8_0, F16 and BF16 weights on Intel AMX tiles. Everything else (decode,
 * the k-quants and the other block types, attention) is the VNNI level's
 * own, taken from its table.
 *
 * One TDPBSSD multiplies a weight tile A (16 rows x one block of 32 int8)
 * by a tile B of activations (the same block of 16 columns, VNNI-packed: 8
 * rows of 16 x 4 bytes) into C, 16 x 16 exact int32 sums. Weight and
 * activation scales differ per block, so sums cannot run across blocks:
 * each block's C goes to memory and AVX-512 scales it into float
 * accumulators, acc[row] (a lane per column), as the VNNI tiles do with
 * their vpdpbusd sums. Q8_0 rows are tile-loaded straight from the file's
 * blocks (stride: the row); Q4_0 rows are unpacked to int8 first, once per
 * row tile and k-chunk for up to AMX_SUPER columns. Rows and columns past
 * the last whole tile of 16 go to the VNNI level.
 *
 * Linux lends a process the tile registers only on request (arch_prctl
 * ARCH_REQ_XCOMP_PERM, made in dispatch.c before this level is listed).
 * Each product loads the tile configuration and releases the tiles again.
 * Built with -mamx-tile -mamx-int8 -mamx-bf16 and the VNNI level's flags. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <pthread.h>
#include <stddef.h>

#include "kernels.h"
#include "x86_common.h"

extern const qi_kernels qi_kernels_avx512vnni;

#define AMX_ROWS 16   /* weight rows per tile (C's rows) */
#define AMX_COLS 16   /* activation columns per tile (C's columns) */
#define AMX_K 32      /* blocks per k-chunk: the packed activations of a super-column stay in L2 */
#define AMX_SUPER 64  /* columns whose activations are packed once and reused by every row tile */
#define AMX_MIN_COLS AMX_COLS

/* the tiles: four C, so that four blocks' products are in flight before
 * their sums are stored and scaled, and two each of A (weights) and B
 * (activations), alternating (macros: the intrinsics paste the number into
 * the instruction's text) */
#define TC0 0
#define TC1 1
#define TC2 2
#define TC3 3
#define TA0 4
#define TA1 5
#define TB0 6
#define TB1 7

/* LDTILECFG's 64 bytes: palette 1, then each tile's bytes per row and rows.
 * A constant in memory: GCC 12 drops stores to a local config as dead (its
 * builtin does not say it reads them). */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) tile_config;

static const tile_config amx_config __attribute__((aligned(64))) = {
    .palette = 1,
    .colsb = {[TC0] = AMX_COLS * 4, [TC1] = AMX_COLS * 4, [TC2] = AMX_COLS * 4, [TC3] = AMX_COLS * 4,
              [TA0] = QK8_0, [TA1] = QK8_0, [TB0] = AMX_COLS * 4, [TB1] = AMX_COLS * 4},
    .rows = {[TC0] = AMX_ROWS, [TC1] = AMX_ROWS, [TC2] = AMX_ROWS, [TC3] = AMX_ROWS,
             [TA0] = AMX_ROWS, [TA1] = AMX_ROWS, [TB0] = QK8_0 / 4, [TB1] = QK8_0 / 4},
};

/* lane i: i * stride (the byte offsets of 16 rows or columns, for gathers) */
static inline __m512i lane_offsets(size_t stride) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm512_set1_epi32((int)stride));
}

/* the f16 scales at base + idx[i] (16 of them) as floats */
static inline __m512 gather_h2f(__m512i idx, const void *base) {
    __m512i v = _mm512_i32gather_epi32(idx, base, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

/* The activations of nct column tiles (16 columns each, from x, column
 * stride xs blocks), kc blocks: bq[(t * kc + b) * 512] B tile t of block b
 * (bq[kk * 64 + c * 4 + j] = quant 4kk + j of column c), bd[(t * kc + b) *
 * 16 + c] the scale of column c. */
static void pack_columns(const block_q8_0 *x, size_t xs, int nct, int kc, int8_t *bq, float *bd) {
    const __m512i col = lane_offsets(xs * sizeof(block_q8_0));
    for (int t = 0; t < nct; t++)
        for (int b = 0; b < kc; b++) {
            const block_q8_0 *xb = x + (size_t)t * AMX_COLS * xs + b;
            int8_t *q = bq + (size_t)(t * kc + b) * QK8_0 * AMX_COLS;
            for (int kk = 0; kk < QK8_0 / 4; kk++)
                _mm512_store_si512(q + kk * 64, _mm512_i32gather_epi32(col, xb->qs + 4 * kk, 1));
            _mm512_store_ps(bd + (size_t)(t * kc + b) * AMX_COLS, gather_h2f(col, &xb->d));
        }
}

/* Q4_0: the 16 rows at w (stride ws) over kc blocks as int8 tiles,
 * wq[b * 512 + i * 32 + e] = weight e of block b of row i, in -8..7 */
static void unpack_q4_0(const uint8_t *w, size_t ws, int kc, int8_t *wq) {
    const __m512i lo_mask = _mm512_set1_epi8(0x0f), eight = _mm512_set1_epi8(8);
    /* four rows' 16 bytes of low nibbles (lo) and high ones (hi) -> two rows each, in order */
    const __m512i rows01 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i rows23 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    for (int b = 0; b < kc; b++)
        for (int i = 0; i < AMX_ROWS; i += 4) {
            const uint8_t *p = w + (size_t)i * ws + (size_t)b * sizeof(block_q4_0) + offsetof(block_q4_0, qs);
            __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + ws)), 1);
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 2 * ws)), 2);
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 3 * ws)), 3);
            __m512i lo = _mm512_and_si512(v, lo_mask), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo_mask);
            int8_t *o = wq + (size_t)b * AMX_ROWS * QK8_0 + (size_t)i * QK8_0;
            _mm512_store_si512(o, _mm512_sub_epi8(_mm512_permutex2var_epi64(lo, rows01, hi), eight));
            _mm512_store_si512(o + 64, _mm512_sub_epi8(_mm512_permutex2var_epi64(lo, rows23, hi), eight));
        }
}

/* acc[i] += c[i] * wd[i] * bd, i < 16 (c: one block's stored C tile) */
static inline __attribute__((always_inline)) void scale_block(const int32_t *c, const float *wd, const float *bd,
                                                              __m512 *acc) {
    const __m512 xd = _mm512_load_ps(bd);
#pragma GCC unroll 16
    for (int i = 0; i < AMX_ROWS; i++) {
        __m512 s = _mm512_cvtepi32_ps(_mm512_load_si512(c + i * AMX_COLS));
        acc[i] = _mm512_fmadd_ps(s, _mm512_mul_ps(xd, _mm512_set1_ps(wd[i])), acc[i]);
    }
}

/* The next row tile's weights, prefetched into L2 while this one is
 * multiplied: a few lines per group of four blocks, since a burst of them
 * would wait on the core's few line-fill buffers. Line j is line j % lines of row j /
 * lines. */
typedef struct {
    const uint8_t *base;
    size_t ws;
    int lines, total, next, per;
} prefetch_stream;

static inline __attribute__((always_inline)) void prefetch_some(prefetch_stream *p) {
    for (int e = p->next + p->per; p->next < e && p->next < p->total; p->next++)
        __builtin_prefetch(p->base + (size_t)(p->next / p->lines) * p->ws + (size_t)(p->next % p->lines) * 64, 0, 2);
}

/* C = A B per block over kc blocks, four blocks in flight, each block's
 * sums scaled into acc: A of block b at a + b * astep (rows as apart), B at
 * bm + b * bstep (64 bytes a row); scale_block(c, cd + 16 b, vd + 16 b):
 * cd scales C's rows, vd its columns (acc's lanes) */
static inline __attribute__((always_inline)) void amx_blocks(const int8_t *a, size_t astep, size_t as,
                                                             const int8_t *bm, size_t bstep, const float *cd,
                                                             const float *vd, int kc, __m512 *acc,
                                                             prefetch_stream *pf) {
    int32_t c[4][AMX_ROWS * AMX_COLS] __attribute__((aligned(64)));
    int b = 0;
#define AMX_BLOCK(C, A, B, k)                                                                                    \
    _tile_loadd(A, a + (k) * astep, as);                                                                        \
    _tile_loadd(B, bm + (k) * bstep, 64);                                                                       \
    _tile_zero(C);                                                                                              \
    _tile_dpbssd(C, A, B)
    for (; b + 4 <= kc; b += 4) {
        prefetch_some(pf);
        AMX_BLOCK(TC0, TA0, TB0, b);
        AMX_BLOCK(TC1, TA1, TB1, b + 1);
        AMX_BLOCK(TC2, TA0, TB0, b + 2);
        AMX_BLOCK(TC3, TA1, TB1, b + 3);
        _tile_stored(TC0, c[0], 64);
        _tile_stored(TC1, c[1], 64);
        _tile_stored(TC2, c[2], 64);
        _tile_stored(TC3, c[3], 64);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) scale_block(c[j], cd + (b + j) * AMX_ROWS, vd + (b + j) * AMX_COLS, acc);
    }
    for (; b < kc; b++) {
        AMX_BLOCK(TC0, TA0, TB0, b);
        _tile_stored(TC0, c[0], 64);
        scale_block(c[0], cd + b * AMX_ROWS, vd + b * AMX_COLS, acc);
    }
#undef AMX_BLOCK
}

/* 16 rows x 16 columns over kc blocks: the weights at a (block b at a + b *
 * astep, rows as stride as), their scales wd[b * 16 + i], the packed
 * activations bq/bd of one column tile; out[c * os + i] (+= with accum) */
static inline __attribute__((always_inline)) void amx_tile(const int8_t *a, size_t astep, size_t as, const float *wd,
                                                           const int8_t *bq, const float *bd, int kc, float *out,
                                                           size_t os, int accum, prefetch_stream *pf) {
    __m512 acc[AMX_ROWS];
#pragma GCC unroll 16
    for (int i = 0; i < AMX_ROWS; i++) acc[i] = _mm512_setzero_ps();
    amx_blocks(a, astep, as, bq, QK8_0 * AMX_COLS, wd, bd, kc, acc, pf);
    transpose16(acc); /* acc[c]: a lane per row */
#pragma GCC unroll 16
    for (int j = 0; j < AMX_COLS; j++) {
        float *o = out + (size_t)j * os;
        _mm512_storeu_ps(o, accum ? _mm512_add_ps(_mm512_loadu_ps(o), acc[j]) : acc[j]);
    }
}

/* rows16 x cols16 (multiples of 16) of a Q4_0 or Q8_0 product on the tiles
 * (about 90 KiB of stack, given back before the VNNI level takes the rest) */
static inline __attribute__((always_inline)) void amx_gemm(const int q4, int n, const uint8_t *w, size_t ws,
                                                           int rows16, const block_q8_0 *x, size_t xs, int cols16,
                                                           float *out, size_t os) {
    const size_t blk = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    const int nb = n / QK8_0;
    int8_t bq[AMX_SUPER / AMX_COLS * AMX_K * QK8_0 * AMX_COLS] __attribute__((aligned(64)));
    float bd[AMX_SUPER / AMX_COLS * AMX_K * AMX_COLS] __attribute__((aligned(64)));
    int8_t wq[q4 ? AMX_K * AMX_ROWS * QK8_0 : 1] __attribute__((aligned(64)));
    float wd[AMX_K * AMX_ROWS] __attribute__((aligned(64)));
    const __m512i row = lane_offsets(ws);
    _tile_loadconfig(&amx_config);
    for (int s0 = 0; s0 < cols16; s0 += AMX_SUPER) {
        const int nct = (cols16 - s0 < AMX_SUPER ? cols16 - s0 : AMX_SUPER) / AMX_COLS;
        for (int k0 = 0; k0 < nb; k0 += AMX_K) {
            const int kc = nb - k0 < AMX_K ? nb - k0 : AMX_K;
            pack_columns(x + (size_t)s0 * xs + k0, xs, nct, kc, bq, bd);
            for (int r0 = 0; r0 < rows16; r0 += AMX_ROWS) {
                const uint8_t *wr = w + (size_t)r0 * ws + (size_t)k0 * blk;
                for (int b = 0; b < kc; b++) _mm512_store_ps(wd + b * AMX_ROWS, gather_h2f(row, wr + b * blk));
                const int8_t *a;
                size_t astep, as;
                if (q4) {
                    unpack_q4_0(wr, ws, kc, wq);
                    a = wq, astep = AMX_ROWS * QK8_0, as = QK8_0;
                } else {
                    a = (const int8_t *)(wr + offsetof(block_q8_0, qs)), astep = blk, as = ws;
                }
                /* the next row tile's weights into L2, spread over this
                 * one's blocks, so that they do not come from memory when
                 * their scales are gathered */
                const int lines = (int)(((size_t)kc * blk + 63) / 64), groups = nct * (kc / 4) > 0 ? nct * (kc / 4) : 1;
                prefetch_stream pf = {wr + (size_t)AMX_ROWS * ws, ws, lines, r0 + AMX_ROWS < rows16 ? AMX_ROWS * lines : 0,
                                      0, (AMX_ROWS * lines + groups - 1) / groups};
                for (int t = 0; t < nct; t++) {
                    amx_tile(a, astep, as, wd, bq + (size_t)t * kc * QK8_0 * AMX_COLS, bd + (size_t)t * kc * AMX_COLS,
                             kc, out + (size_t)(s0 + t * AMX_COLS) * os + r0, os, k0 > 0, &pf);
                }
            }
        }
    }
    _tile_release();
}

static __attribute__((noinline)) void amx_gemm_q4_0(int n, const uint8_t *w, size_t ws, int rows16,
                                                    const block_q8_0 *x, size_t xs, int cols16, float *out, size_t os) {
    amx_gemm(1, n, w, ws, rows16, x, xs, cols16, out, os);
}

static __attribute__((noinline)) void amx_gemm_q8_0(int n, const uint8_t *w, size_t ws, int rows16,
                                                    const block_q8_0 *x, size_t xs, int cols16, float *out, size_t os) {
    amx_gemm(0, n, w, ws, rows16, x, xs, cols16, out, os);
}

/* The whole product: full tiles here, the rest on the VNNI level, which
 * also takes products of fewer than AMX_MIN_COLS columns (decode). */
static void gemm_amx(const int q4, int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                     int n_cols, float *out, size_t os, int prefetch) {
    const qi_gemm_fn vnni = q4 ? qi_kernels_avx512vnni.gemm_q4_0 : qi_kernels_avx512vnni.gemm_q8_0;
    const int rows16 = n_rows / AMX_ROWS * AMX_ROWS, cols16 = n_cols / AMX_COLS * AMX_COLS;
    if (n_cols < AMX_MIN_COLS || rows16 == 0 || n < QK8_0) {
        vnni(n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
        return;
    }
    (q4 ? amx_gemm_q4_0 : amx_gemm_q8_0)(n, w, ws, rows16, x, xs, cols16, out, os);
    if (rows16 < n_rows)
        vnni(n, (const uint8_t *)w + (size_t)rows16 * ws, ws, n_rows - rows16, x, xs, n_cols, out + rows16, os,
             prefetch);
    if (cols16 < n_cols)
        vnni(n, w, ws, rows16, x + (size_t)cols16 * xs, xs, n_cols - cols16, out + (size_t)cols16 * os, os, prefetch);
}

static void gemm_q4_0_amx(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                          float *out, size_t os, int prefetch) {
    gemm_amx(1, n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
}

static void gemm_q8_0_amx(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                          float *out, size_t os, int prefetch) {
    gemm_amx(0, n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
}

/* ---- row16 weights (quant.h) on the tiles: the weights as B -------------------
 * A row16 block's quants are pieces of 64 bytes, piece k holding dword k of
 * each of 16 rows: the layout of a B tile (K/4 rows of 16 x 4 bytes). So
 * here the weights are B, tile-loaded from where they lie (Q8_0; Q4_0 is
 * unpacked to int8 once per row group and k-chunk), the activations are A,
 * tile-loaded from their blocks (16 columns, stride a column's blocks), and
 * C[column][row] is laid out as the output: neither operand is packed and
 * nothing is transposed. */
static inline __attribute__((always_inline)) void amx_gemm_r16(const int q4, int n, const uint8_t *w, size_t ws,
                                                               int n_rows, const block_q8_0 *x, size_t xs, int cols16,
                                                               float *out, size_t os) {
    const size_t gblk = ROW16 * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0)), as = xs * sizeof(block_q8_0);
    const int nb = n / QK8_0;
    float xd[AMX_SUPER / AMX_COLS * AMX_K * AMX_COLS] __attribute__((aligned(64)));
    float wd[AMX_K * AMX_ROWS] __attribute__((aligned(64)));
    int8_t wq[q4 ? AMX_K * QK8_0 * AMX_ROWS : 1] __attribute__((aligned(64)));
    const __m512i col = lane_offsets(as), lo_mask = _mm512_set1_epi8(0x0f), eight = _mm512_set1_epi8(8);
    _tile_loadconfig(&amx_config);
    for (int s0 = 0; s0 < cols16; s0 += AMX_SUPER) {
        const int nct = (cols16 - s0 < AMX_SUPER ? cols16 - s0 : AMX_SUPER) / AMX_COLS;
        for (int k0 = 0; k0 < nb; k0 += AMX_K) {
            const int kc = nb - k0 < AMX_K ? nb - k0 : AMX_K;
            for (int t = 0; t < nct; t++) /* the columns' scales: xd[(t * kc + b) * 16 + column] */
                for (int b = 0; b < kc; b++)
                    _mm512_store_ps(xd + (size_t)(t * kc + b) * AMX_COLS,
                                    gather_h2f(col, &x[(size_t)(s0 + t * AMX_COLS) * xs + (size_t)(k0 + b)].d));
            for (int r0 = 0; r0 < n_rows; r0 += AMX_ROWS) {
                const uint8_t *g = w + (size_t)r0 * ws + (size_t)k0 * gblk;
                for (int b = 0; b < kc; b++)
                    _mm512_store_ps(wd + b * AMX_ROWS, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(g + b * gblk))));
                const int8_t *bw = (const int8_t *)(g + 2 * AMX_ROWS);
                size_t bstep = gblk;
                if (q4) { /* B rows 0-3: the low nibbles of pieces 0-3 (weights 0-15), rows 4-7 the high ones */
                    for (int b = 0; b < kc; b++)
                        for (int k = 0; k < 4; k++) {
                            __m512i v = _mm512_loadu_si512(g + b * gblk + 2 * AMX_ROWS + 64 * k);
                            int8_t *o = wq + (size_t)b * QK8_0 * AMX_ROWS + 64 * k;
                            _mm512_store_si512(o, _mm512_sub_epi8(_mm512_and_si512(v, lo_mask), eight));
                            _mm512_store_si512(o + 256, _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), lo_mask), eight));
                        }
                    bw = wq, bstep = QK8_0 * AMX_ROWS;
                }
                /* the next row group's chunk (contiguous) into L2, spread over this one's blocks */
                const int lines = (int)(((size_t)kc * gblk + 63) / 64), steps = nct * (kc / 4) > 0 ? nct * (kc / 4) : 1;
                prefetch_stream pf = {g + (size_t)AMX_ROWS * ws, 0, lines, r0 + AMX_ROWS < n_rows ? lines : 0, 0,
                                      (lines + steps - 1) / steps};
                for (int t = 0; t < nct; t++) {
                    const int8_t *a = x[(size_t)(s0 + t * AMX_COLS) * xs + (size_t)k0].qs;
                    const float *td = xd + (size_t)t * kc * AMX_COLS;
                    __m512 acc[AMX_COLS];
#pragma GCC unroll 16
                    for (int i = 0; i < AMX_COLS; i++) acc[i] = _mm512_setzero_ps();
                    amx_blocks(a, sizeof(block_q8_0), as, bw, bstep, td, wd, kc, acc, &pf);
#pragma GCC unroll 16
                    for (int j = 0; j < AMX_COLS; j++) {
                        float *o = out + (size_t)(s0 + t * AMX_COLS + j) * os + r0;
                        _mm512_storeu_ps(o, k0 ? _mm512_add_ps(_mm512_loadu_ps(o), acc[j]) : acc[j]);
                    }
                }
            }
        }
    }
    _tile_release();
}

static __attribute__((noinline)) void amx_gemm_q4_0_r16(int n, const uint8_t *w, size_t ws, int n_rows,
                                                        const block_q8_0 *x, size_t xs, int cols16, float *out,
                                                        size_t os) {
    amx_gemm_r16(1, n, w, ws, n_rows, x, xs, cols16, out, os);
}

static __attribute__((noinline)) void amx_gemm_q8_0_r16(int n, const uint8_t *w, size_t ws, int n_rows,
                                                        const block_q8_0 *x, size_t xs, int cols16, float *out,
                                                        size_t os) {
    amx_gemm_r16(0, n, w, ws, n_rows, x, xs, cols16, out, os);
}

/* The whole row16 product: full column tiles here, the rest (and decode) on
 * the VNNI level's row16 kernel */
static void gemm_r16_amx(const int q4, int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                         int n_cols, float *out, size_t os, int prefetch) {
    const qi_gemm_fn vnni = q4 ? qi_kernels_avx512vnni.gemm_q4_0_r16 : qi_kernels_avx512vnni.gemm_q8_0_r16;
    const int cols16 = n_cols / AMX_COLS * AMX_COLS;
    if (n_cols < AMX_MIN_COLS || n < QK8_0) {
        vnni(n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
        return;
    }
    (q4 ? amx_gemm_q4_0_r16 : amx_gemm_q8_0_r16)(n, w, ws, n_rows, x, xs, cols16, out, os);
    if (cols16 < n_cols)
        vnni(n, w, ws, n_rows, x + (size_t)cols16 * xs, xs, n_cols - cols16, out + (size_t)cols16 * os, os, prefetch);
}

static void gemm_q4_0_r16_amx(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                              float *out, size_t os, int prefetch) {
    gemm_r16_amx(1, n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
}

static void gemm_q8_0_r16_amx(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                              float *out, size_t os, int prefetch) {
    gemm_r16_amx(0, n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
}

/* ---- F16 and BF16 weights, f32 activations (TDPBF16PS) --------------------
 * The tiles multiply bf16 pairs into f32 sums. Both factors are split into
 * bf16 parts that add up to them exactly: an f16 weight (11 significant
 * bits) into hi + lo, an f32 activation (24) into x1 + x2 + x3, 8 bits
 * each. Every product of two parts is exact in f32; the five largest (hi
 * x1, hi x2, hi x3, lo x1, lo x2) are summed, leaving out lo x3, below 2^-24
 * of the product: the same accuracy as the f32 product of the other levels,
 * to its summation order (checked against the scalar one like them). A BF16
 * weight is a single part: three products.
 *
 * Here A holds activations (16 columns x 32 values as pairs) and B weights
 * (16 pair-rows: pair k of each of 16 rows), so C[column][row] is laid out
 * as the output and is tile-loaded from and stored to it directly. Four C
 * tiles hold a super-column of 64 columns; each row tile's weights are
 * split and packed once per k-chunk for all four. */
#define HALF_STEP 32                 /* values per tile product (64 bytes of bf16) */
#define HALF_CHUNK 192               /* values per k-chunk: the super-column's split activations (72 KiB) stay in L2 */
#define HALF_STEPS (HALF_CHUNK / HALF_STEP)
#define HALF_TILES (AMX_SUPER / AMX_COLS)
#define TW_HI 4
#define TW_LO 5
#define TX0 6
#define TX1 7

static const tile_config amx_half_config __attribute__((aligned(64))) = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

/* the high halves of a's and b's 16 floats, in order: 32 bf16 (exact when
 * their low halves are zero) */
static inline __m512i bf16_pack(__m512 a, __m512 b) {
    const __m512i odd = _mm512_setr_epi32(0x00030001, 0x00070005, 0x000b0009, 0x000f000d, 0x00130011, 0x00170015,
                                          0x001b0019, 0x001f001d, 0x00230021, 0x00270025, 0x002b0029, 0x002f002d,
                                          0x00330031, 0x00370035, 0x003b0039, 0x003f003d);
    return _mm512_permutex2var_epi16(_mm512_castps_si512(a), odd, _mm512_castps_si512(b));
}

/* v with its low 16 bits cleared: the bf16 it starts with */
static inline __m512 bf16_trunc(__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0xffff0000)));
}

/* The activations of nct column tiles, values k0.. of a chunk of ns steps:
 * xp[((t * HALF_STEPS + s) * 3 + part) * 512] is A tile `part` (x1, x2, x3)
 * of column tile t, step s; values past n are zero. */
static void half_pack_columns(const float *x, size_t xs, int nct, int k0, int n, int ns, uint16_t *xp) {
    for (int t = 0; t < nct; t++)
        for (int c = 0; c < AMX_COLS; c++) {
            const float *xc = x + (size_t)(t * AMX_COLS + c) * xs;
            for (int s = 0; s < ns; s++) {
                const int k = k0 + s * HALF_STEP, left = n - k;
                const __mmask16 m0 = left >= 16 ? 0xffff : (__mmask16)((1u << (left > 0 ? left : 0)) - 1);
                const __mmask16 m1 = left >= 32 ? 0xffff : (__mmask16)((1u << (left > 16 ? left - 16 : 0)) - 1);
                __m512 a = _mm512_maskz_loadu_ps(m0, xc + k), b = _mm512_maskz_loadu_ps(m1, xc + k + 16);
                uint16_t *o = xp + (size_t)((t * HALF_STEPS + s) * 3) * 512 + c * HALF_STEP;
                for (int part = 0; part < 3; part++) {
                    __m512 ah = bf16_trunc(a), bh = bf16_trunc(b);
                    _mm512_store_si512(o + part * 512, bf16_pack(ah, bh));
                    a = _mm512_sub_ps(a, ah), b = _mm512_sub_ps(b, bh); /* exact: the rest of the bits */
                }
            }
        }
}

/* The 16 rows at w (stride ws), values k0.. of ns steps, as B tiles:
 * wp[(s * 2 + part) * 512] holds part (hi, lo) of step s, pair-row kk:
 * wp[... + kk * 32 + 2 * r + j] = value k0 + 32 s + 2 kk + j of row r.
 * The rows' raw pairs are transposed first, then split (one transpose for
 * both parts). BF16 rows have no lo part. The same lines of the rows at pf
 * (unless NULL) are prefetched: the 16 rows' streams are too many for the
 * hardware's prefetcher. */
static void half_pack_rows(int bf16, const uint8_t *w, size_t ws, int k0, int n, int ns, uint16_t *wp,
                           const uint8_t *pf) {
    for (int s = 0; s < ns; s++) {
        const int k = k0 + s * HALF_STEP, left = n - k;
        const __mmask32 m = left >= 32 ? 0xffffffffu : (__mmask32)((1u << left) - 1);
        __m512 v[16];
        for (int r = 0; r < AMX_ROWS; r++) {
            v[r] = _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(m, w + (size_t)r * ws + (size_t)k * 2));
            if (pf) __builtin_prefetch(pf + (size_t)r * ws + (size_t)k * 2, 0, 2);
        }
        transpose16(v); /* v[kk]: pair kk of each row */
        uint16_t *hi = wp + (size_t)(s * 2) * 512, *lo = hi + 512;
        for (int kk = 0; kk < 16; kk++) {
            if (bf16) {
                _mm512_store_ps(hi + kk * 32, v[kk]);
                continue;
            }
            const __m512i h = _mm512_castps_si512(v[kk]);
            __m512 a = _mm512_cvtph_ps(_mm512_castsi512_si256(h)), b = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1));
            __m512 ah = bf16_trunc(a), bh = bf16_trunc(b);
            _mm512_store_si512(hi + kk * 32, bf16_pack(ah, bh));
            _mm512_store_si512(lo + kk * 32, bf16_pack(_mm512_sub_ps(a, ah), _mm512_sub_ps(b, bh)));
        }
    }
}

/* one step of column tiles T and U (T + 1) into C tiles T and U: the
 * products of their three activation parts with the weights' hi (and lo)
 * parts, the two tiles' products alternating, so that each waits less on
 * the one before into the same C */
#define HALF_PART(T, U, part, lo)                                                                                \
    _tile_loadd(TX0, xp + (size_t)(((T) * HALF_STEPS + s) * 3 + (part)) * 512, 64);                             \
    if (nct > (U)) _tile_loadd(TX1, xp + (size_t)(((U) * HALF_STEPS + s) * 3 + (part)) * 512, 64);              \
    _tile_dpbf16ps(T, TX0, TW_HI);                                                                              \
    if (nct > (U)) _tile_dpbf16ps(U, TX1, TW_HI);                                                               \
    if (lo && !bf16) {                                                                                          \
        _tile_dpbf16ps(T, TX0, TW_LO);                                                                          \
        if (nct > (U)) _tile_dpbf16ps(U, TX1, TW_LO);                                                           \
    }
#define HALF_TILES2(T, U)                                                                                        \
    if (nct > (T)) {                                                                                            \
        HALF_PART(T, U, 0, 1)                                                                                   \
        HALF_PART(T, U, 1, 1)                                                                                   \
        HALF_PART(T, U, 2, 0)                                                                                   \
    }
#define HALF_C(T, op)                                                                                            \
    if (nct > (T)) op(T, out + (size_t)(s0 + (T) * AMX_COLS) * os + r0, os * sizeof(float))

static inline __attribute__((always_inline)) void half_gemm(const int bf16, int n, const uint8_t *w, size_t ws,
                                                            int rows16, const float *x, size_t xs, int cols16,
                                                            float *out, size_t os) {
    uint16_t xp[HALF_TILES * HALF_STEPS * 3 * 512] __attribute__((aligned(64)));
    uint16_t wp[2][HALF_STEPS * 2 * 512] __attribute__((aligned(64)));
    _tile_loadconfig(&amx_half_config);
    for (int s0 = 0; s0 < cols16; s0 += AMX_SUPER) {
        const int nct = (cols16 - s0 < AMX_SUPER ? cols16 - s0 : AMX_SUPER) / AMX_COLS;
        for (int k0 = 0; k0 < n; k0 += HALF_CHUNK) {
            const int ns = (((n - k0 < HALF_CHUNK ? n - k0 : HALF_CHUNK)) + HALF_STEP - 1) / HALF_STEP;
            half_pack_columns(x + (size_t)s0 * xs, xs, nct, k0, n, ns, xp);
            half_pack_rows(bf16, w, ws, k0, n, ns, wp[0], rows16 > AMX_ROWS ? w + AMX_ROWS * ws : NULL);
            for (int r0 = 0; r0 < rows16; r0 += AMX_ROWS) {
                const uint16_t *cur = wp[(r0 / AMX_ROWS) & 1];
                if (k0) {
                    HALF_C(0, _tile_loadd); HALF_C(1, _tile_loadd); HALF_C(2, _tile_loadd); HALF_C(3, _tile_loadd);
                } else {
                    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
                }
                for (int s = 0; s < ns; s++) {
                    _tile_loadd(TW_HI, cur + (size_t)(s * 2) * 512, 64);
                    if (!bf16) _tile_loadd(TW_LO, cur + (size_t)(s * 2 + 1) * 512, 64);
                    HALF_TILES2(0, 1) HALF_TILES2(2, 3)
                }
                /* the next row tile's weights, while the tiles work on these */
                if (r0 + AMX_ROWS < rows16)
                    half_pack_rows(bf16, w + (size_t)(r0 + AMX_ROWS) * ws, ws, k0, n, ns, wp[((r0 / AMX_ROWS) + 1) & 1],
                                   r0 + 2 * AMX_ROWS < rows16 ? w + (size_t)(r0 + 2 * AMX_ROWS) * ws : NULL);
                HALF_C(0, _tile_stored); HALF_C(1, _tile_stored); HALF_C(2, _tile_stored); HALF_C(3, _tile_stored);
            }
        }
    }
    _tile_release();
}
#undef HALF_PART
#undef HALF_TILES2
#undef HALF_C

static __attribute__((noinline)) void half_gemm_f16(int n, const uint8_t *w, size_t ws, int rows16, const float *x,
                                                    size_t xs, int cols16, float *out, size_t os) {
    half_gemm(0, n, w, ws, rows16, x, xs, cols16, out, os);
}

static __attribute__((noinline)) void half_gemm_bf16(int n, const uint8_t *w, size_t ws, int rows16, const float *x,
                                                     size_t xs, int cols16, float *out, size_t os) {
    half_gemm(1, n, w, ws, rows16, x, xs, cols16, out, os);
}

/* The whole product: full tiles here, the rest (and decode) on the VNNI level */
static void gemm_half_amx(int bf16, int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs,
                          int n_cols, float *out, size_t os) {
    void (*const vnni)(int, const void *, size_t, int, const float *, size_t, int, float *, size_t) =
        bf16 ? qi_kernels_avx512vnni.gemm_bf16 : qi_kernels_avx512vnni.gemm_f16;
    const int rows16 = n_rows / AMX_ROWS * AMX_ROWS, cols16 = n_cols / AMX_COLS * AMX_COLS;
    if (n_cols < AMX_MIN_COLS || rows16 == 0 || n <= 0) {
        vnni(n, w, ws, n_rows, x, xs, n_cols, out, os);
        return;
    }
    (bf16 ? half_gemm_bf16 : half_gemm_f16)(n, w, ws, rows16, x, xs, cols16, out, os);
    if (rows16 < n_rows)
        vnni(n, (const uint8_t *)w + (size_t)rows16 * ws, ws, n_rows - rows16, x, xs, n_cols, out + rows16, os);
    if (cols16 < n_cols) vnni(n, w, ws, rows16, x + (size_t)cols16 * xs, xs, n_cols - cols16, out + (size_t)cols16 * os, os);
}

static void gemm_f16_amx(int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs, int n_cols,
                         float *out, size_t os) {
    gemm_half_amx(0, n, w, ws, n_rows, x, xs, n_cols, out, os);
}

static void gemm_bf16_amx(int n, const void *w, size_t ws, int n_rows, const float *x, size_t xs, int n_cols,
                          float *out, size_t os) {
    gemm_half_amx(1, n, w, ws, n_rows, x, xs, n_cols, out, os);
}

static qi_kernels amx_table;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void amx_fill(void) {
    amx_table = qi_kernels_avx512vnni;
    amx_table.name = "amx";
    amx_table.gemm_q4_0 = gemm_q4_0_amx;
    amx_table.gemm_q8_0 = gemm_q8_0_amx;
    amx_table.gemm_f16 = gemm_f16_amx;
    amx_table.gemm_bf16 = gemm_bf16_amx;
    amx_table.gemm_q4_0_r16 = gemm_q4_0_r16_amx;
    amx_table.gemm_q8_0_r16 = gemm_q8_0_r16_amx;
    amx_table.row16 = 1;
}

const qi_kernels *kernels_amx(void) {
    pthread_once(&amx_once, amx_fill);
    return &amx_table;
}
#endif
