/* The quantized GEMM driver, written once for every SIMD level: the entry
 * points and the qi_kernels table, the decode (few-column) row loop and the
 * tiled (prefill) loop nest. Each level's file includes simd.h first, then
 * defines its inner pieces, listed below, and includes this header last, so
 * the driver is compiled with that file's instruction set. The pieces are
 * static inline (always_inline where they are hot) and every count that
 * shapes a register tile (kind, rows, columns) reaches them as a constant
 * (SPECIALIZE), so each combination is its own fully unrolled loop, as if
 * written out by hand.
 *
 * Adding a weight type: a kind in simd.h (QI_KINDS_ALL, kind_bytes,
 * kind_qk), its gemm_<name> field in qi_kernels and its scalar reference,
 * and on each level that lists it in QI_KINDS its branch of dec_prepare,
 * dec_group / dec_rest (or dec_group_masked) and, where the level tiles it,
 * tile_repack and tile (and TILED_MIN_COLS). Nothing here changes.
 *
 * Counts of blocks here (kc, DEC_STEP, DEC_K, TILE_K, rem) are of
 * activation blocks, 32 weights each; a weight unit of 256 (the k-quants)
 * spans 8 of them, and a level that lists such a kind keeps its group
 * (DEC_STEP_OF), DEC_K and TILE_K multiples of 8 so that groups and chunks
 * hold whole units;
 * kind_span(kind, nb) is their weight bytes.
 *
 * What a level defines. Notation: kind, nr (rows: 1 or 2), nc / S (columns)
 * are constants; kc: blocks in this k-chunk; x: activation blocks at the
 * chunk, xs their column stride; p[r]: weight row r at the current group;
 * acc[r][c]: the accumulator of row r, column c.
 *
 *   QI_TABLE, QI_NAME            the table's symbol and the level's name
 *   QI_KINDS                     the kinds it has products for (simd.h)
 *   quantize_q8_0, dot_f32_k     the table's other entries
 *
 * Decode path (every kind; n_cols below TILED_MIN_COLS): per DEC_COLS
 * columns, the weights are streamed once, row by row (two at a time for at
 * most DEC_PAIR_NC columns), DEC_STEP blocks per group, in k-chunks of DEC_K
 * blocks.
 *   DEC_COLS, DEC_K, DEC_STEP, DEC_PAIR_NC
 *   DEC_STEP_OF(kind)            (optional) a kind's own group, default
 *                                DEC_STEP (at most DEC_STEP on a masked
 *                                level): a level whose group is shorter
 *                                than a superblock gives the k-quants 8
 *   DEC_PREFETCH                 default prefetch distance in bytes; left
 *                                undefined: no software prefetch, the
 *                                caller's hint is ignored
 *   DEC_PREFETCH_UNROLL          (optional) pragma for the loop over a
 *                                group's cache lines, UNROLL by default
 *   dec_cols                     the prepared columns of a k-chunk
 *   dec_acc                      one accumulator
 *   dec_prepare(kind, x, kc, c, dc)   prepare column c (kind may vary at run time)
 *   dec_zero(), dec_sum(a)       an empty accumulator; its total
 *   dec_group(kind, nr, nc, p, dc, gi, acc)   full group gi of the chunk
 *   dec_rest(kind, nr, nc, p, dc, gi, rem, limit, acc)
 *                                its last rem (< its step) blocks, in group
 *                                gi; limit: the end of the weight matrix
 *   or, with DEC_MASKED (a group is always read whole, blocks past the row
 *   end get a zero scale), instead of dec_group and dec_rest:
 *   dec_mask, DEC_MASK_ALL, dec_rest_mask(kind, rem),
 *   dec_group_masked(kind, nr, nc, p, dc, gi, acc, mask)
 *
 * Tiled path (optional; a level that has one defines TILE_ROWS): register
 * tiles of TILE_ROWS rows x TILE_COLS columns; TILE_ROWS rows x TILE_K
 * blocks are repacked once and reused by up to SUPER_COLS columns.
 *   TILE_ROWS, TILE_COLS, TILE_K, SUPER_COLS
 *   TILED_MIN_COLS(kind)         tiled from this many columns; 0: never
 *   TILE_SPECS, TILE_SPEC(nc)    (optional) the constant the tile is built
 *                                for, 1..TILE_SPECS; default nc itself
 *   tile_rows, tile_off          a repacked row tile; the row offsets' type
 *   tile_repack(kind, kc, wb, off, rt)   rows at wb + off[i], i < TILE_ROWS
 *                                (rows past the matrix repeat the last one)
 *   tile(kind, S, kc, rt, cv, x0, xs, out, os, rr, nc, accum)
 *                                rr rows x nc columns from column c0 of the
 *                                super-column: x0 its activations, cv =
 *                                tile_cols_at(tc, c0) what was prepared
 *   and either TILE_BIAS(kind), ysum32(q) and h2f(d): the driver prepares
 *   per-block bias and scale tables and cv is a tile_terms (simd.h), with
 *   the unpacked kinds' terms too where the level defines TILE_UNPACKED; or
 *   tile_cols, tile_view, tile_prepare(kind, x, xs, ns, kc, tc) for the ns
 *   columns of a super-column, and tile_cols_at(tc, c0).
 *
 * Outputs: out[c * os + r] for r < n_rows, c < n_cols (kernels.h); with
 * accum (k-chunks after the first) a tile adds to what is there. */
#ifndef QINFER_KERNELS_DRIVER_H
#define QINFER_KERNELS_DRIVER_H

/* ---- decode path -------------------------------------------------------------- */

#ifndef DEC_PREFETCH_UNROLL
#define DEC_PREFETCH_UNROLL UNROLL
#endif
#ifndef DEC_STEP_OF
#define DEC_STEP_OF(kind) DEC_STEP
#endif

#ifdef DEC_MASKED
INLINE void dec_group(const int kind, const int nr, const int nc, const uint8_t *const *p, const dec_cols *dc, int gi,
                      dec_acc (*acc)[DEC_COLS]) {
    dec_group_masked(kind, nr, nc, p, dc, gi, acc, DEC_MASK_ALL);
}

/* The last, partial group: blocks past the row end are masked off. Near the
 * end of the matrix, where reading the whole group would pass it, the
 * blocks are first copied into a zeroed group. */
INLINE void dec_rest(const int kind, const int nr, const int nc, const uint8_t *const *p, const dec_cols *dc, int gi,
                     int rem, const uint8_t *limit, dec_acc (*acc)[DEC_COLS]) {
    const size_t gsz = kind_span(kind, DEC_STEP_OF(kind));
    dec_mask dmask = dec_rest_mask(kind, rem);
    if (p[nr - 1] + gsz <= limit) {
        dec_group_masked(kind, nr, nc, p, dc, gi, acc, dmask);
    } else {
        uint8_t buf[2][DEC_STEP * KIND_MAX_BYTES] __attribute__((aligned(_Alignof(dec_acc))));
        const uint8_t *bp[2];
        UNROLL
        for (int r = 0; r < nr; r++) {
            memset(buf[r], 0, gsz);
            memcpy(buf[r], p[r], kind_span(kind, rem));
            bp[r] = buf[r];
        }
        dec_group_masked(kind, nr, nc, bp, dc, gi, acc, dmask);
    }
}
#endif

/* nr rows (at w, stride ws) x nc columns over the kc blocks of a k-chunk,
 * prefetching pf bytes ahead (0: none) */
INLINE void dec_rows_nr(const int kind, const int nr, const int nc, int kc, const uint8_t *w, size_t ws,
                        const uint8_t *limit, const dec_cols *dc, float *out, size_t os, int accum, int pf) {
    const int step = DEC_STEP_OF(kind);
    const size_t gsz = kind_span(kind, step);
    dec_acc acc[2][DEC_COLS];
    UNROLL
    for (int r = 0; r < nr; r++)
        UNROLL
        for (int c = 0; c < nc; c++) acc[r][c] = dec_zero();
    const uint8_t *p[2];
    UNROLL
    for (int r = 0; r < nr; r++) p[r] = w + (size_t)r * ws;
    int full = kc / step, rem = kc % step;
    for (int gi = 0; gi < full; gi++) {
        UNROLL
        for (int r = 0; r < nr && pf; r++)
            DEC_PREFETCH_UNROLL
            for (size_t o = 0; o < gsz; o += 64) __builtin_prefetch(p[r] + pf + o, 0, 3);
        dec_group(kind, nr, nc, p, dc, gi, acc);
        UNROLL
        for (int r = 0; r < nr; r++) p[r] += gsz;
    }
    if (rem) dec_rest(kind, nr, nc, p, dc, full, rem, limit, acc);
    UNROLL
    for (int r = 0; r < nr; r++)
        UNROLL
        for (int c = 0; c < nc; c++) {
            float v = dec_sum(acc[r][c]);
            float *o = out + (size_t)c * os + r;
            *o = accum ? *o + v : v;
        }
}

INLINE void dec_rows(const int kind, const int nc, int kc, const uint8_t *w, size_t ws, int n_rows,
                     const uint8_t *limit, const dec_cols *dc, float *out, size_t os, int accum, int pf) {
    int r = 0;
    if (nc <= DEC_PAIR_NC) /* two rows at a time: more independent work, shared activation loads */
        for (; r + 2 <= n_rows; r += 2)
            dec_rows_nr(kind, 2, nc, kc, w + (size_t)r * ws, ws, limit, dc, out + r, os, accum, pf);
    for (; r < n_rows; r++) dec_rows_nr(kind, 1, nc, kc, w + (size_t)r * ws, ws, limit, dc, out + r, os, accum, pf);
}

static void gemm_decode(int kind, int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                        int n_cols, float *out, size_t os, int pf) {
#ifdef DEC_PREFETCH
    if (pf < 0) pf = DEC_PREFETCH;
#else
    pf = 0;
#endif
    /* activation blocks per row (a multiple of the weight blocks') */
    const int nb = n / kind_qk(kind) * (kind_qk(kind) / QK8_0);
    const uint8_t *limit = w + (size_t)(n_rows - 1) * ws + kind_span(kind, nb);
    dec_cols dc;
    for (int c0 = 0; c0 < n_cols; c0 += DEC_COLS) {
        int nc = n_cols - c0 < DEC_COLS ? n_cols - c0 : DEC_COLS;
        for (int k0 = 0; k0 < nb; k0 += DEC_K) {
            int kc = nb - k0 < DEC_K ? nb - k0 : DEC_K;
            for (int c = 0; c < nc; c++) dec_prepare(kind, x + (size_t)(c0 + c) * xs + (size_t)k0, kc, c, &dc);
            const uint8_t *wk = w + kind_span(kind, k0);
            float *o = out + (size_t)c0 * os;
            int accum = k0 > 0;
#define DEC_NC(K, NC) dec_rows(K, NC, kc, wk, ws, n_rows, limit, &dc, o, os, accum, pf)
#define DEC_KIND(K, name) if (kind == K) SPECIALIZE(nc, DEC_COLS, DEC_NC, K); else
            QI_KINDS(DEC_KIND) __builtin_unreachable();
#undef DEC_KIND
#undef DEC_NC
        }
    }
}

/* ---- tiled path ----------------------------------------------------------------- */

#ifdef TILE_ROWS
#ifndef TILE_SPECS
#define TILE_SPECS TILE_COLS
#define TILE_SPEC(nc) (nc)
#endif

#ifdef TILE_BIAS
/* the columns of a super-column as per-block terms (tile_terms, simd.h), in
 * two arrays of gemm_tiled_k */
typedef struct {
    int32_t *bias;
    float *d;
    int32_t *bias_hi;
    float *dys;
} tile_cols;
typedef tile_terms tile_view;

/* the ns columns at x: per block, the terms of tile_terms */
INLINE void tile_prepare(const int kind, const block_q8_0 *x, size_t xs, int ns, int kc, tile_cols *tc) {
    for (int c = 0; c < ns; c++)
        for (int b = 0; b < kc; b++) {
            const block_q8_0 *xb = x + (size_t)c * xs + b;
            const int i = c * TILE_K + b;
            tc->d[i] = h2f(xb->d);
            if (!kind_unpacked(kind)) {
                const int32_t mul = TILE_BIAS(kind);
                tc->bias[i] = mul ? mul * ysum32(xb->qs) : 0;
                continue;
            }
            int32_t lo = 0, hi = 0;
            for (int j = 0; j < QK8_0 / 2; j++) lo += xb->qs[j], hi += xb->qs[QK8_0 / 2 + j];
            tc->bias[i] = kind == KQ6K ? -32 * lo : -kind_offset(kind) * (lo + hi);
            tc->bias_hi[i] = -32 * hi;
            tc->dys[i] = tc->d[i] * (float)(lo + hi);
        }
}

INLINE tile_view tile_cols_at(const tile_cols *tc, int c0) {
    return (tile_view){tc->bias + c0 * TILE_K, tc->d + c0 * TILE_K, tc->bias_hi ? tc->bias_hi + c0 * TILE_K : NULL,
                       tc->dys ? tc->dys + c0 * TILE_K : NULL};
}
#endif

INLINE void gemm_tiled_k(const int kind, int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x,
                         size_t xs, int n_cols, float *out, size_t os) {
    const int nb = n / kind_qk(kind) * (kind_qk(kind) / QK8_0);
    tile_rows rt;
#ifdef TILE_BIAS
    int32_t bias[SUPER_COLS * TILE_K];
    float d[SUPER_COLS * TILE_K];
    tile_cols tc = {bias, d, NULL, NULL};
#ifdef TILE_UNPACKED
    int32_t bias_hi[SUPER_COLS * TILE_K];
    float dys[SUPER_COLS * TILE_K];
    if (kind_unpacked(kind)) tc.bias_hi = bias_hi, tc.dys = dys;
#endif
#else
    tile_cols tc;
#endif
    for (int s0 = 0; s0 < n_cols; s0 += SUPER_COLS) {
        int ns = n_cols - s0 < SUPER_COLS ? n_cols - s0 : SUPER_COLS;
        for (int k0 = 0; k0 < nb; k0 += TILE_K) {
            int kc = nb - k0 < TILE_K ? nb - k0 : TILE_K;
            const block_q8_0 *xk = x + (size_t)k0;
            tile_prepare(kind, xk + (size_t)s0 * xs, xs, ns, kc, &tc);
            for (int r0 = 0; r0 < n_rows; r0 += TILE_ROWS) {
                int rr = n_rows - r0 < TILE_ROWS ? n_rows - r0 : TILE_ROWS;
                tile_off off[TILE_ROWS];
                for (int i = 0; i < TILE_ROWS; i++) off[i] = (tile_off)((size_t)(i < rr ? i : rr - 1) * ws);
                tile_repack(kind, kc, w + (size_t)r0 * ws + kind_span(kind, k0), off, &rt);
                /* the next row tile's weights into L2, a few rows before each
                 * tile, so that its repacking does not wait on memory */
                const int pf_rows = n_rows - r0 - TILE_ROWS < TILE_ROWS ? n_rows - r0 - TILE_ROWS : TILE_ROWS;
                const int pf_step = (TILE_ROWS * TILE_COLS + ns - 1) / ns;
                const uint8_t *pf = pf_rows > 0 ? w + (size_t)(r0 + TILE_ROWS) * ws + kind_span(kind, k0) : w;
                int pf_done = 0;
                for (int c0 = 0; c0 < ns; c0 += TILE_COLS) {
                    int nc = ns - c0 < TILE_COLS ? ns - c0 : TILE_COLS;
                    const block_q8_0 *x0 = xk + (size_t)(s0 + c0) * xs;
                    float *o = out + (size_t)(s0 + c0) * os + r0;
                    tile_view cv = tile_cols_at(&tc, c0);
                    int accum = k0 > 0;
                    for (int e = pf_done + pf_step; pf_done < e && pf_done < pf_rows; pf_done++)
                        for (size_t at = 0; at < kind_span(kind, kc); at += 64)
                            __builtin_prefetch(pf + (size_t)pf_done * ws + at, 0, 2);
#define TILE_S(K, S) tile(K, S, kc, &rt, cv, x0, xs, o, os, rr, nc, accum)
                    SPECIALIZE(TILE_SPEC(nc), TILE_SPECS, TILE_S, kind);
#undef TILE_S
                }
            }
        }
    }
}

static void gemm_tiled(int kind, int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                       int n_cols, float *out, size_t os) {
#define TILED_KIND(K, name)                                                                                     \
    if (kind == K) {                                                                                            \
        if (TILED_MIN_COLS(K)) gemm_tiled_k(K, n, w, ws, n_rows, x, xs, n_cols, out, os);                       \
    } else
    QI_KINDS(TILED_KIND) __builtin_unreachable();
#undef TILED_KIND
}
#endif /* TILE_ROWS */

/* ---- entry points ---------------------------------------------------------------- */

static void gemm_any(int kind, int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                     int n_cols, float *out, size_t os, int prefetch) {
    if (n_rows <= 0 || n_cols <= 0) return;
    if (n < kind_qk(kind)) {
        for (int c = 0; c < n_cols; c++)
            for (int r = 0; r < n_rows; r++) out[(size_t)c * os + r] = 0;
        return;
    }
#ifdef TILE_ROWS
    if (TILED_MIN_COLS(kind) && n_cols >= TILED_MIN_COLS(kind)) {
        gemm_tiled(kind, n, w, ws, n_rows, x, xs, n_cols, out, os);
        return;
    }
#endif
    gemm_decode(kind, n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);
}

#define GEMM_ENTRY(K, name)                                                                                     \
    static void gemm_##name(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,      \
                            int n_cols, float *out, size_t os, int prefetch) {                                \
        gemm_any(K, n, w, ws, n_rows, x, xs, n_cols, out, os, prefetch);                                      \
    }
QI_KINDS(GEMM_ENTRY)
#undef GEMM_ENTRY

#define TABLE_GEMM(K, name) .gemm_##name = gemm_##name,
const qi_kernels QI_TABLE = {
    .name = QI_NAME,
    .quantize_q8_0 = quantize_q8_0,
    QI_KINDS(TABLE_GEMM)
    .dot_f32 = dot_f32_k,
#ifdef ROW16_GEMMS
    ROW16_GEMMS
#endif
    GENERIC_KERNELS,
};
#undef TABLE_GEMM

#endif
