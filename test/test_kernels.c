/* Every kernel level this CPU can run against the scalar reference table:
 * random inputs of awkward sizes, unaligned strides, extreme scales, the
 * nibble values 0 and 15, ties in the Q8_0 rounding. Weight matrices end at
 * a PROT_NONE page so that a kernel reading past the last row faults.
 *
 * Quantized products are compared with a tolerance relative to the sum of
 * the absolute per-block terms |d_w d_x isum|: the integer block sums are
 * exact, so only the order of the float additions may differ.
 * QINFER_EXPECT_ISA=name additionally checks what kernels_select(NULL) picks. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__x86_64__)
#include <sys/syscall.h>
#endif
#include <unistd.h>

#include "formats/gguf.h"
#include "kernels/kernels.h"
#include "test.h"

#define MAX_LEVELS 8

static const qi_kernels *levels[MAX_LEVELS];
static int n_levels;

/* ---- random numbers ----------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static int rndi(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); } /* [lo, hi] */
static float rndf(void) { return (float)((rnd() >> 40) * (1.0 / 16777216.0)); }       /* [0, 1) */
static float rnds(void) { return 2 * rndf() - 1; }

/* an f16 scale: usually ordinary, sometimes extreme (largest, tiny normal,
 * subnormal, zero, negative) */
static uint16_t rnd_scale(void) {
    switch (rndi(0, 15)) {
    case 0: return 0x7bff;                          /* 65504 */
    case 1: return 0x0001;                          /* smallest subnormal */
    case 2: return 0x0400;                          /* smallest normal */
    case 3: return 0x03ff;                          /* largest subnormal */
    case 4: return 0;
    case 5: return fp32_to_fp16(-(0.001f + rndf())); /* negative */
    case 6: return fp32_to_fp16(100 + 1000 * rndf());
    default: return fp32_to_fp16(0.0005f + 0.05f * rndf());
    }
}

/* ---- guarded buffers -------------------------------------------------------------- */

typedef struct {
    void *map;
    size_t map_size;
} guard_buf;

/* n bytes whose end touches an inaccessible page; start 2-byte aligned only */
static void *guarded_alloc(guard_buf *g, size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (n + page - 1) / page * page;
    g->map_size = data + page;
    g->map = mmap(NULL, g->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED) {
        printf("mmap failed\n");
        exit(1);
    }
    mprotect((uint8_t *)g->map + data, page, PROT_NONE);
    return (uint8_t *)g->map + data - n;
}
static void guarded_free(guard_buf *g) { munmap(g->map, g->map_size); }

/* ---- data --------------------------------------------------------------------------- */

static void fill_q4_0(block_q4_0 *b, int nb) {
    for (int i = 0; i < nb; i++) {
        b[i].d = rnd_scale();
        int mode = rndi(0, 9);
        for (int j = 0; j < 16; j++) {
            int lo = rndi(0, 15), hi = rndi(0, 15);
            if (mode == 0) lo = hi = 0;
            if (mode == 1) lo = hi = 15;
            if (mode == 2) { lo = (j & 1) ? 15 : 0; hi = 15 - lo; }
            if (mode == 3) { lo = rndi(0, 1) * 15; hi = rndi(0, 1) * 15; }
            b[i].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

/* weights: the full int8 range, -128 included */
static void fill_q8_0_w(block_q8_0 *b, int nb) {
    for (int i = 0; i < nb; i++) {
        b[i].d = rnd_scale();
        int mode = rndi(0, 9);
        for (int j = 0; j < 32; j++) {
            int v = rndi(-128, 127);
            if (mode == 0) v = -128;
            if (mode == 1) v = 127;
            if (mode == 2) v = (j & 1) ? 127 : -128;
            if (mode == 3) v = 0;
            b[i].qs[j] = (int8_t)v;
        }
    }
}

/* activations: what quantize_q8_0 produces, -127..127 */
static void fill_q8_0_x(block_q8_0 *b, int nb) {
    for (int i = 0; i < nb; i++) {
        b[i].d = rnd_scale();
        int mode = rndi(0, 9);
        for (int j = 0; j < 32; j++) {
            int v = rndi(-127, 127);
            if (mode == 0) v = -127;
            if (mode == 1) v = 127;
            if (mode == 2) v = (j & 1) ? 127 : -127;
            if (mode == 3) v = 0;
            b[i].qs[j] = (int8_t)v;
        }
    }
}

/* sum over blocks of |d_w d_x isum| for one row and column: the scale of the
 * rounding differences that reordering the float additions may cause */
static double abs_terms(int type_q4, int n, const void *wrow, const block_q8_0 *x) {
    double s = 0;
    for (int b = 0; b < n / 32; b++) {
        int isum = 0;
        float dw;
        if (type_q4) {
            const block_q4_0 *w = (const block_q4_0 *)wrow + b;
            for (int j = 0; j < 16; j++)
                isum += ((w->qs[j] & 15) - 8) * x[b].qs[j] + ((w->qs[j] >> 4) - 8) * x[b].qs[j + 16];
            dw = fp16_to_fp32(w->d);
        } else {
            const block_q8_0 *w = (const block_q8_0 *)wrow + b;
            for (int j = 0; j < 32; j++) isum += w->qs[j] * x[b].qs[j];
            dw = fp16_to_fp32(w->d);
        }
        s += fabs((double)dw * fp16_to_fp32(x[b].d) * isum);
    }
    return s;
}

/* ---- quantized products ------------------------------------------------------------------ */

static int gemm_fail_prints;

/* one shape, one type, every level against scalar; returns the worst
 * |error| / (sum of |terms|) seen */
static double check_gemm(int type_q4, int n, int n_rows, int n_cols, int w_pad, int x_pad, int o_pad) {
    int nb = n / 32;
    size_t row_bytes = (size_t)nb * (type_q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    size_t ws = row_bytes + (size_t)w_pad;
    size_t xs = (size_t)nb + (size_t)x_pad, os = (size_t)n_rows + (size_t)o_pad;
    guard_buf gw, gx;
    uint8_t *w = guarded_alloc(&gw, ws * (size_t)(n_rows - 1) + row_bytes);
    block_q8_0 *x = guarded_alloc(&gx, sizeof(block_q8_0) * (xs * (size_t)(n_cols - 1) + (size_t)nb));
    memset(w, 0x5a, ws * (size_t)(n_rows - 1) + row_bytes); /* padding bytes: junk */
    for (int r = 0; r < n_rows; r++) {
        if (type_q4) fill_q4_0((block_q4_0 *)(w + (size_t)r * ws), nb);
        else fill_q8_0_w((block_q8_0 *)(w + (size_t)r * ws), nb);
    }
    for (int c = 0; c < n_cols; c++) fill_q8_0_x(x + (size_t)c * xs, nb);
    size_t out_n = os * (size_t)n_cols + 8;
    float *ref = malloc(out_n * sizeof(float)), *got = malloc(out_n * sizeof(float));
    double *scale = malloc((size_t)n_rows * (size_t)n_cols * sizeof(double));
    for (int c = 0; c < n_cols; c++)
        for (int r = 0; r < n_rows; r++)
            scale[(size_t)c * n_rows + r] = abs_terms(type_q4, n, w + (size_t)r * ws, x + (size_t)c * xs);
    qi_gemm_fn sref = type_q4 ? qi_kernels_scalar.gemm_q4_0 : qi_kernels_scalar.gemm_q8_0;
    for (size_t i = 0; i < out_n; i++) ref[i] = -12345.0f;
    sref(n, w, ws, n_rows, x, xs, n_cols, ref, os, -1);
    /* the same rows interleaved in 16s (quant.h: row16), when they can be */
    const uint32_t t = type_q4 ? GGML_Q4_0 : GGML_Q8_0;
    uint8_t *wp = NULL, *scratch = NULL;
    if (n_rows % ROW16 == 0) {
        wp = malloc(ws * (size_t)n_rows);
        scratch = malloc(ws * ROW16_CHUNK);
        memset(wp, 0x5a, ws * (size_t)n_rows);
        for (int r = 0; r < n_rows; r += ROW16) row16_pack(t, w + (size_t)r * ws, ws, wp + (size_t)r * ws, n);
    }
    double worst = 0;
    for (int l = 0; l < n_levels; l++)
        for (int packed = 0; packed <= (wp != NULL); packed++) {
            if (l == 0 && !packed) continue; /* scalar is the reference */
            const int pf = (n_rows + n_cols) % 3 == 0 ? 0 : (n_rows + n_cols) % 3 == 1 ? -1 : 4096;
            char name[64];
            snprintf(name, sizeof name, "%s gemm_%s%s", levels[l]->name, type_q4 ? "q4_0" : "q8_0", packed ? " row16" : "");
            for (size_t i = 0; i < out_n; i++) got[i] = -12345.0f;
            if (packed)
                kernels_gemm_row16(levels[l], t, n, wp, ws, n_rows, x, xs, n_cols, got, os, pf, scratch);
            else
                (type_q4 ? levels[l]->gemm_q4_0 : levels[l]->gemm_q8_0)(n, w, ws, n_rows, x, xs, n_cols, got, os, pf);
            int bad = 0, clobbered = 0;
            for (int c = 0; c < n_cols; c++) {
                for (int r = 0; r < n_rows; r++) {
                    size_t i = (size_t)c * os + r;
                    double s = scale[(size_t)c * n_rows + r];
                    double err = fabs((double)got[i] - (double)ref[i]);
                    double rel = s > 0 ? err / s : (err > 0 ? INFINITY : 0);
                    if (rel > worst) worst = rel;
                    if (!(rel <= 1e-5)) {
                        if (bad++ < 3 && gemm_fail_prints++ < 20)
                            printf("    %s n=%d rows=%d cols=%d: out[c=%d][r=%d] = %.9g, scalar %.9g (terms %.3g)\n",
                                   name, n, n_rows, n_cols, c, r, got[i], ref[i], s);
                    }
                }
                for (size_t i = (size_t)c * os + n_rows; i < (size_t)(c + 1) * os && i < out_n; i++)
                    if (got[i] != -12345.0f) clobbered++;
            }
            for (size_t i = os * (size_t)n_cols; i < out_n; i++)
                if (got[i] != -12345.0f) clobbered++;
            CHECK(bad == 0, "%s n=%d rows=%d cols=%d: %d outputs off", name, n, n_rows, n_cols, bad);
            CHECK(clobbered == 0, "%s n=%d rows=%d cols=%d: wrote %d floats outside the output", name, n, n_rows,
                  n_cols, clobbered);
        }
    free(wp);
    free(scratch);
    free(ref);
    free(got);
    free(scale);
    guarded_free(&gw);
    guarded_free(&gx);
    return worst;
}

static const int gemm_ns[] = {32, 64, 96, 160, 896, 4864};
static const int gemm_rows[] = {1, 3, 5, 17};
static const int gemm_cols[] = {1, 2, 3, 5, 8, 13};

static void gemm_shapes(int type_q4) {
    double worst = 0;
    for (size_t a = 0; a < sizeof gemm_ns / sizeof gemm_ns[0]; a++)
        for (size_t b = 0; b < sizeof gemm_rows / sizeof gemm_rows[0]; b++)
            for (size_t c = 0; c < sizeof gemm_cols / sizeof gemm_cols[0]; c++) {
                int pad = (int)((a + b + c) % 3);
                double e = check_gemm(type_q4, gemm_ns[a], gemm_rows[b], gemm_cols[c], 2 * pad + (type_q4 ? 18 : 0),
                                      pad, 3 * pad + 1);
                if (e > worst) worst = e;
            }
    /* more rows (several row tiles), more columns, and rows long enough to
     * need more than one k-chunk */
    static const int extra[][3] = {{896, 33, 1}, {896, 48, 17}, {160, 64, 24}, {96, 31, 64}, {8256, 19, 1},
                                   {8256, 5, 2}, {8256, 17, 9}, {8256, 3, 4}, {32, 1, 40}, {4864, 40, 3},
                                   {896, 21, 4}, {96, 18, 70}, {1024, 16, 150},
                                   /* AMX (x86_amx.c): whole 16 x 16 tiles, more than one k-chunk and
                                    * super-column, odd block counts, row and column tails beside them */
                                   {96, 16, 16}, {2080, 32, 80}, {1056, 35, 67}, {4864, 48, 33}};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        double e = check_gemm(type_q4, extra[i][0], extra[i][1], extra[i][2], 2, 1, 5);
        if (e > worst) worst = e;
    }
    /* every column count up to two of the widest register tiles and one
     * more: each count the driver (kernels/driver.h) specialises a decode
     * row or a tile for, alone and as the remainder after full tiles, with
     * one k-chunk and with two (the second adds to the first) */
    for (int c = 1; c <= 17; c++)
        for (int n = 160; n <= 1088; n += 928) {
            double e = check_gemm(type_q4, n, 19, c, 2 * (c % 3), c % 2, c % 4);
            if (e > worst) worst = e;
        }
    /* row16 (quant.h): every column count to two AMX tiles and one more, in
     * 16 and 48 rows; rows longer than the row16 kernels' k-chunk */
    for (int c = 1; c <= 33; c++) {
        double e = check_gemm(type_q4, c % 2 ? 160 : 1088, c % 3 ? 16 : 48, c, 2 * (c % 3), c % 2, c % 4);
        if (e > worst) worst = e;
    }
    for (int c = 1; c <= 17; c += 16) {
        double e = check_gemm(type_q4, 16416, 32, c, 0, 1, 2);
        if (e > worst) worst = e;
    }
    printf("    gemm_%s: worst |error| / sum|terms| = %.3g\n", type_q4 ? "q4_0" : "q8_0", worst);
}

/* row16 packing is a permutation of the rows' bytes: unpacking a row, or
 * the whole group, gives back the file's rows */
static void test_row16_layout(void) {
    for (int q4 = 0; q4 <= 1; q4++) {
        const uint32_t t = q4 ? GGML_Q4_0 : GGML_Q8_0;
        const int n = 96;
        const size_t rb = row_bytes(t, n), ws = rb + 3;
        uint8_t rows[ROW16 * (96 / 32 * 34 + 3)], group[ROW16 * (96 / 32 * 34 + 3)], back[ROW16 * (96 / 32 * 34 + 3)];
        for (size_t i = 0; i < sizeof rows; i++) rows[i] = (uint8_t)rnd();
        row16_pack(t, rows, ws, group, n);
        int same = 1;
        for (int r = 0; r < ROW16; r++) {
            row16_unpack(t, group, r, back, n);
            same &= !memcmp(back, rows + (size_t)r * ws, rb);
        }
        memset(back, 0, sizeof back);
        row16_unpack_group(t, group, back, ws, n);
        for (int r = 0; r < ROW16; r++) same &= !memcmp(back + (size_t)r * ws, rows + (size_t)r * ws, rb);
        CHECK(same, "%s: row16 unpack does not give back the rows", q4 ? "q4_0" : "q8_0");
        /* the layout itself: the 16 rows' first scales lead the group */
        CHECK(!memcmp(group + 2, rows + ws, 2) && !memcmp(group + 30, rows + 15 * ws, 2),
              "%s: row16 pack does not put the rows' scales first", q4 ? "q4_0" : "q8_0");
    }
}

static void test_gemm_q4_0(void) { gemm_shapes(1); }
static void test_gemm_q8_0(void) { gemm_shapes(0); }

/* ---- quantize ------------------------------------------------------------------------------ */

static void check_quantize(const float *x, int n, const char *what) {
    int nb = n / 32;
    block_q8_0 *ref = malloc(sizeof(block_q8_0) * (size_t)nb), *got = malloc(sizeof(block_q8_0) * (size_t)nb + 8);
    qi_kernels_scalar.quantize_q8_0(x, ref, n);
    for (int l = 1; l < n_levels; l++) {
        memset(got, 0x77, sizeof(block_q8_0) * (size_t)nb + 8);
        levels[l]->quantize_q8_0(x, got, n);
        int bad = -1;
        for (int b = 0; b < nb && bad < 0; b++)
            if (memcmp(&ref[b], &got[b], sizeof(block_q8_0))) bad = b;
        int over = 0;
        for (int i = 0; i < 8; i++) over |= ((uint8_t *)(got + nb))[i] != 0x77;
        CHECK(bad < 0, "%s quantize_q8_0 %s n=%d: block %d differs (d %04x vs %04x)", levels[l]->name, what, n, bad,
              bad >= 0 ? got[bad].d : 0, bad >= 0 ? ref[bad].d : 0);
        if (bad >= 0)
            for (int j = 0; j < 32; j++)
                if (got[bad].qs[j] != ref[bad].qs[j]) {
                    printf("    qs[%d] = %d, scalar %d (x = %.9g)\n", j, got[bad].qs[j], ref[bad].qs[j],
                           x[bad * 32 + j]);
                    break;
                }
        CHECK(!over, "%s quantize_q8_0 wrote past the end", levels[l]->name);
    }
    free(ref);
    free(got);
}

static void test_quantize(void) {
    static const int ns[] = {32, 64, 96, 160, 896, 4864};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        float *x = malloc(sizeof(float) * (size_t)n);
        /* random, at several magnitudes */
        for (int i = 0; i < n; i++) x[i] = rnds() * powf(10.0f, (float)rndi(-6, 4));
        check_quantize(x, n, "random");
        /* exact ties: d = s (a power of two), x = (k + 1/2) s, both signs */
        for (int b = 0; b < n / 32; b++) {
            float s = ldexpf(1.0f, rndi(-12, 12));
            for (int j = 0; j < 32; j++) x[b * 32 + j] = ((float)rndi(-127, 126) + 0.5f) * s;
            x[b * 32 + rndi(0, 31)] = (rndi(0, 1) ? 127.0f : -127.0f) * s;
        }
        check_quantize(x, n, "ties");
        /* next to the ties, and 0.49999997 (where adding 0.5 goes wrong) */
        for (int b = 0; b < n / 32; b++) {
            float s = ldexpf(1.0f, rndi(-12, 12));
            for (int j = 0; j < 32; j++) {
                float v = (float)rndi(-127, 126) + 0.5f;
                v = rndi(0, 1) ? nextafterf(v, 1000.0f) : nextafterf(v, -1000.0f);
                if (j % 7 == 0) v = rndi(0, 1) ? 0.49999997f : -0.49999997f;
                x[b * 32 + j] = v * s;
            }
            x[b * 32 + 5] = 127.0f * s;
        }
        check_quantize(x, n, "near-ties");
        /* zero rows, single nonzero, subnormal-scale and huge values */
        memset(x, 0, sizeof(float) * (size_t)n);
        check_quantize(x, n, "zeros");
        for (int b = 0; b < n / 32; b++) {
            float m = rndi(0, 2) == 0 ? 1e-30f : (rndi(0, 1) ? 1e30f : 1e-7f);
            for (int j = 0; j < 32; j++) x[b * 32 + j] = rndi(0, 3) ? 0.0f : rnds() * m;
            if (b % 3 == 0) x[b * 32 + rndi(0, 31)] = -0.0f;
        }
        check_quantize(x, n, "sparse/extreme");
        free(x);
    }
}

/* ---- f32 / f16 helpers ------------------------------------------------------------------- */

static const int helper_ns[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 1000, 1031};

static void test_dot(void) {
    for (size_t t = 0; t < sizeof helper_ns / sizeof helper_ns[0]; t++) {
        int n = helper_ns[t];
        float *a = malloc(sizeof(float) * (size_t)(n + 1)), *b = malloc(sizeof(float) * (size_t)(n + 1));
        double sabs = 0;
        for (int i = 0; i < n + 1; i++) {
            a[i] = rnds() * 3;
            b[i] = rnds() * 2;
        }
        /* unaligned starts: +1 element */
        for (int i = 1; i <= n; i++) sabs += fabs((double)a[i] * b[i]);
        float rd = qi_kernels_scalar.dot_f32(a + 1, b + 1, n);
        for (int l = 1; l < n_levels; l++) {
            float gd = levels[l]->dot_f32(a + 1, b + 1, n);
            CHECK(fabs((double)gd - rd) <= 1e-5 * sabs, "%s dot_f32 n=%d: %.9g vs %.9g", levels[l]->name, n, gd, rd);
        }
        free(a);
        free(b);
    }
}

/* ---- selection ------------------------------------------------------------------------------- */

/* The generic loops (kernels/generic.h) of every level against plain double
 * arithmetic: exp to 1e-6 relative, the attention pieces and SwiGLU to 1e-5. */
static void test_generic(void) {
    for (int L = 0; L < n_levels; L++) {
        const qi_kernels *K = levels[L];
        double worst_exp = 0;
        float p[64], ref[64];
        for (int i = 0; i < 20000; i++) {
            float x = -87.0f + 175.0f * rndf();
            p[0] = x;
            K->att_exp(p, 1, 0.0f);
            double e = exp((double)x), rel = fabs(p[0] - e) / e;
            if (rel > worst_exp) worst_exp = rel;
        }
        CHECK(worst_exp < 1e-6, "%s: exp relative error %.3g", K->name, worst_exp);
        p[0] = -200.0f;
        K->att_exp(p, 1, 0.0f);
        CHECK(p[0] >= 0 && p[0] < 1e-37f, "%s: exp of a very negative value is %g", K->name, p[0]);
        const int hds[] = {64, 32, 80}, njs[] = {1, 7, 64, 33}, nrs[] = {1, 2, 7};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 4; b++)
                for (int c = 0; c < 3; c++) {
                    int hd = hds[a], nj = njs[b], nr = nrs[c], stride = 64;
                    float q[7 * 80], kt[80 * 64], vb[64 * 80], sc[7 * 64], o[7 * 80], o_ref[7 * 80], pr[7 * 64];
                    for (int i = 0; i < nr * hd; i++) q[i] = rnds();
                    for (int i = 0; i < hd * stride; i++) kt[i] = rnds();
                    for (int i = 0; i < nj * hd; i++) vb[i] = rnds();
                    K->att_scores(sc, q, kt, hd, nj, nr, stride, 0.125f);
                    double err = 0;
                    for (int r = 0; r < nr; r++)
                        for (int j = 0; j < nj; j++) {
                            double want = 0;
                            for (int d = 0; d < hd; d++) want += (double)q[r * hd + d] * kt[d * stride + j];
                            err = fmax(err, fabs(sc[r * stride + j] - 0.125 * want));
                        }
                    CHECK(err < 1e-5, "%s: att_scores hd %d nj %d nr %d: error %.3g", K->name, hd, nj, nr, err);
                    for (int j = 0; j < nj; j++) { p[j] = rnds(); ref[j] = p[j]; }
                    float sum = K->att_exp(p, nj, 0.5f);
                    double want_sum = 0;
                    for (int j = 0; j < nj; j++) want_sum += exp((double)ref[j] - 0.5);
                    CHECK(fabs(sum - want_sum) < 1e-5 * want_sum, "%s: att_exp sum %g vs %g", K->name, sum, want_sum);
                    for (int i = 0; i < nr * 64; i++) pr[i] = rndf();
                    for (int i = 0; i < nr * hd; i++) o[i] = o_ref[i] = rnds();
                    K->att_accum(o, pr, vb, nj, hd, nr, 64);
                    err = 0;
                    for (int r = 0; r < nr; r++)
                        for (int d = 0; d < hd; d++) {
                            double want = o_ref[r * hd + d];
                            for (int j = 0; j < nj; j++) want += (double)pr[r * 64 + j] * vb[j * hd + d];
                            err = fmax(err, fabs(o[r * hd + d] - want));
                        }
                    CHECK(err < 1e-5, "%s: att_accum hd %d nj %d nr %d: error %.3g", K->name, hd, nj, nr, err);
                }
        float g[37], u[37], g0[37];
        for (int i = 0; i < 37; i++) { g[i] = g0[i] = 20 * rnds(); u[i] = rnds(); }
        K->swiglu(g, u, 37);
        double err = 0;
        for (int i = 0; i < 37; i++) err = fmax(err, fabs(g[i] - g0[i] / (1 + exp(-(double)g0[i])) * u[i]));
        CHECK(err < 1e-5, "%s: swiglu error %.3g", K->name, err);
    }
}

#if defined(__x86_64__)
/* flag is one of /proc/cpuinfo's flags (0 where that cannot be read) */
static int cpuinfo_has(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5))
            for (char *t = strtok(line, " \t\n"); t && !found; t = strtok(NULL, " \t\n")) found = !strcmp(t, flag);
    if (f) fclose(f);
    return found;
}
#endif

static void test_select(void) {
    char err[256];
    CHECK(n_levels >= 1 && levels[0] == &qi_kernels_scalar, "kernels_available must list scalar first");
    for (int l = 0; l < n_levels; l++) {
        const qi_kernels *k = levels[l];
        CHECK(k->name && k->quantize_q8_0 && k->gemm_q4_0 && k->gemm_q8_0 && k->dot_f32 && k->att_scores &&
                  k->att_exp && k->att_accum && k->swiglu,
              "level %d has an empty field", l);
        err[0] = 'x';
        CHECK(kernels_select(k->name, err, sizeof err) == k, "kernels_select(\"%s\") must give that table", k->name);
    }
    CHECK(kernels_select("scalar", err, sizeof err) == &qi_kernels_scalar, "scalar");
    const qi_kernels *best = levels[n_levels - 1];
    CHECK(kernels_select(NULL, err, sizeof err) == best, "NULL must give the best level %s", best->name);
    CHECK(kernels_select("", err, sizeof err) == best, "\"\" must give the best level %s", best->name);
    err[0] = 0;
    CHECK(kernels_select("bogus", err, sizeof err) == NULL, "bogus must fail");
    CHECK(strlen(err) > 0 && strstr(err, "bogus"), "bogus: message missing (%s)", err);
    printf("    bogus -> \"%s\"\n", err);
    /* a known level of the other architecture: refused, with a message */
#if defined(__x86_64__)
    const char *foreign = "neon";
#else
    const char *foreign = "avx2";
#endif
    err[0] = 0;
    CHECK(kernels_select(foreign, err, sizeof err) == NULL, "%s must fail here", foreign);
    CHECK(strlen(err) > 0, "%s: message missing", foreign);
    /* tiny error buffers are fine */
    char tiny[4];
    CHECK(kernels_select("bogus", tiny, sizeof tiny) == NULL && strlen(tiny) < sizeof tiny, "tiny buffer");
    CHECK(kernels_select("bogus", NULL, 0) == NULL, "NULL buffer");
    const qi_kernels *one[1];
    CHECK(kernels_available(one, 1) == 1 && one[0] == &qi_kernels_scalar, "cap 1");
    CHECK(kernels_available(one, 0) == 0, "cap 0");

    const char *expect = getenv("QINFER_EXPECT_ISA");
    if (expect && *expect) {
        const qi_kernels *k = kernels_select(NULL, err, sizeof err);
        CHECK(k && !strcmp(k->name, expect), "auto-selected %s, expected %s", k ? k->name : "(null)", expect);
    }
#if defined(__x86_64__) && defined(__GNUC__)
    /* this CPU's best level, from the compiler's own cpu detection; for
     * AMX the flags Linux shows (only where it saves the tile state) and
     * its consent: each level needs the one before */
    __builtin_cpu_init();
    static const char *const rank_name[] = {"scalar", "avx2", "avx512", "avx512vnni", "amx"};
    int rank = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (rank == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        rank = 2;
    if (rank == 2 && __builtin_cpu_supports("avx512vnni")) rank = 3;
    if (rank == 3 && cpuinfo_has("amx_tile") && cpuinfo_has("amx_int8") && cpuinfo_has("amx_bf16") &&
        syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0)
        rank = 4;
    const char *want = rank_name[rank];
    CHECK(!strcmp(best->name, want), "best level %s, expected %s on this CPU", best->name, want);
#endif
}

/* which CPUs get which decode prefetch distance: cpuid leaf 1 EAX values */
static void test_cpu_kind(void) {
    CHECK(cpu_kind_of(1, 0x000C06F2) == CPU_INTEL_SPR, "Emerald Rapids (model 0xCF)");
    CHECK(cpu_kind_of(1, 0x000806F8) == CPU_INTEL_SPR, "Sapphire Rapids (model 0x8F)");
    CHECK(cpu_kind_of(1, 0x000A06D1) == CPU_INTEL, "Granite Rapids (model 0xAD)");
    CHECK(cpu_kind_of(1, 0x000A0671) == CPU_INTEL, "model 0xA7 (this development machine's VM)");
    CHECK(cpu_kind_of(1, 0x000906EA) == CPU_INTEL, "a client core (model 0x9E)");
    CHECK(cpu_kind_of(1, 0x00080FF0) == CPU_INTEL, "family 15 with model bits 0x8F is not Sapphire Rapids");
    CHECK(cpu_kind_of(0, 0x000C06F2) == CPU_OTHER, "not Intel: the same EAX means nothing");
    CHECK(cpu_kind_of(0, 0x00A10F11) == CPU_OTHER, "AMD Zen 4");
}

int main(void) {
    n_levels = kernels_available(levels, MAX_LEVELS);
    printf("levels:");
    for (int l = 0; l < n_levels; l++) printf(" %s", levels[l]->name);
    printf(" (auto: %s; each tested against scalar)\n", kernels_select(NULL, NULL, 0)->name);
    RUN(test_select);
    RUN(test_cpu_kind);
    RUN(test_quantize);
    RUN(test_dot);
    RUN(test_row16_layout);
    RUN(test_gemm_q4_0);
    RUN(test_gemm_q8_0);
    RUN(test_generic);
    return TEST_EXIT();
}
