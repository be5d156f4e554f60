/* The decode (few-column) driver shared by the x86 levels: walk columns in
 * groups of DEC_COLS and blocks in chunks of DEC_STEP * DEC_GROUPS, prepare
 * the activations once per chunk, then stream the rows, two at a time for
 * up to DEC_PAIR_NC columns, prefetching pf bytes ahead (DEC_PREFETCH for
 * -1, none for 0). The including file defines INLINE, KQ4/KQ8,
 * dgroup, DEC_COLS, DEC_GROUPS, DEC_STEP, DEC_PAIR_NC, dec_prepare and
 * dec_rows_nr for its own instruction set. */
#ifndef QINFER_X86_DECODE_H
#define QINFER_X86_DECODE_H

INLINE void dec_rows(const int kind, const int nc, int kc, const uint8_t *w, size_t ws, int n_rows,
                     const uint8_t *limit, const dgroup *g, float *out, size_t os, int accum, int pf) {
    int r = 0;
    if (nc <= DEC_PAIR_NC) /* two rows at a time: more independent work, shared activation loads */
        for (; r + 2 <= n_rows; r += 2)
            dec_rows_nr(kind, 2, nc, kc, w + (size_t)r * ws, ws, limit, g, out + r, os, accum, pf);
    for (; r < n_rows; r++) dec_rows_nr(kind, 1, nc, kc, w + (size_t)r * ws, ws, limit, g, out + r, os, accum, pf);
}

static void gemm_decode(int kind, int n, const uint8_t *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                        int n_cols, float *out, size_t os, int pf) {
    if (pf < 0) pf = DEC_PREFETCH;
    const size_t bsz = kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    const int nb = n / 32;
    const uint8_t *limit = w + (size_t)(n_rows - 1) * ws + (size_t)nb * bsz;
    dgroup g[DEC_COLS * DEC_GROUPS];
    for (int c0 = 0; c0 < n_cols; c0 += DEC_COLS) {
        int nc = n_cols - c0 < DEC_COLS ? n_cols - c0 : DEC_COLS;
        for (int k0 = 0; k0 < nb; k0 += DEC_STEP * DEC_GROUPS) {
            int kc = nb - k0 < DEC_STEP * DEC_GROUPS ? nb - k0 : DEC_STEP * DEC_GROUPS;
            for (int c = 0; c < nc; c++) dec_prepare(kind, x + (size_t)(c0 + c) * xs + k0, kc, g + c * DEC_GROUPS);
            const uint8_t *wk = w + (size_t)k0 * bsz;
            float *o = out + (size_t)c0 * os;
            int accum = k0 > 0;
#define DEC_CASE(K, NC) dec_rows(K, NC, kc, wk, ws, n_rows, limit, g, o, os, accum, pf)
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

#endif
