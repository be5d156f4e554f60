/* Every tensor type the official Qwen2.5 files use, against llama.cpp.
 *
 * test/data/kquant/quant-kinds.txt holds, per type, 6 rows of 512 values
 * quantized by ggml itself (ggml_quantize_chunk, what llama-quantize calls)
 * and the sha256 of each row's dequantization by gguf-py (independent Python
 * code, equal to ggml's own bit for bit); test/data/kquant/quant-kinds.md says
 * how it was made. On those rows:
 *   - dequantize_row reproduces gguf-py's values bit for bit, every type;
 *   - our Q4_0 / Q8_0 quantizers and f16 rounding give ggml's bytes.
 * On those rows and on random ones (random bytes, sane f16 scales: bit
 * patterns ggml's quantizers never write), dequantized by dequantize_row:
 *   - the scalar quantized products (Q8_0 activations) equal the exact sum of
 *     dequantized weights times dequantized activations, to f32 rounding;
 *   - every kernel level has a product for every quantized type (its own or
 *     the scalar one, kernels_gemm), and each agrees with the scalar one on
 *     awkward shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../drivers/gate/sha256.h"
#include "formats/gguf.h"
#include "formats/quant.h"
#include "kernels/kernels.h"
#include "test.h"

#define ROWS 6
#define COLS 512
#define FIXTURE "test/data/kquant/quant-kinds.txt"

static const struct { const char *name; uint32_t type; } kinds[] = {
    {"f16", GGML_F16},   {"bf16", GGML_BF16}, {"q4_0", GGML_Q4_0}, {"q4_1", GGML_Q4_1}, {"q5_0", GGML_Q5_0},
    {"q5_1", GGML_Q5_1}, {"q8_0", GGML_Q8_0}, {"q4_k", GGML_Q4_K}, {"q5_k", GGML_Q5_K}, {"q6_k", GGML_Q6_K},
};
#define N_KINDS (int)(sizeof kinds / sizeof kinds[0])

/* ROWS rows of one type: q as stored, deq their values (dequantize_row's,
 * once checked), src the floats ggml quantized (the fixture's f16 / q4_0 /
 * q8_0, whose quantizers we have), deq_sha gguf-py's hash of each row. */
typedef struct {
    uint8_t *q;
    float *deq, *src;
    char deq_sha[ROWS][65];
    int n_q, n_deq, n_src; /* rows read */
} rowset;
static rowset fx[N_KINDS];  /* llama.cpp's rows */
static rowset rnd[N_KINDS]; /* random rows */
static rowset *const sets[2] = {fx, rnd};
static const char *const set_names[2] = {"ggml's rows", "random rows"};
static int have_fx;

static uint64_t syn_state = 0x5eed;
static uint32_t syn_next(void) {
    syn_state ^= syn_state << 13, syn_state ^= syn_state >> 7, syn_state ^= syn_state << 17;
    return (uint32_t)(syn_state >> 32);
}

/* a random f16 of magnitude 2^-8 .. 2^-1, either sign: a sane block scale */
static uint16_t syn_scale(void) {
    uint32_t r = syn_next();
    return (uint16_t)((r & 0x8000) | ((7 + r % 7) << 10) | (r >> 16 & 0x3ff));
}

static void synthesize(int k) {
    uint32_t t = kinds[k].type;
    size_t rb = row_bytes(t, COLS), n = rb * ROWS;
    uint8_t *q = malloc(n);
    float *deq = malloc(sizeof(float) * ROWS * COLS);
    for (size_t i = 0; i < n; i++) q[i] = (uint8_t)syn_next();
    if (t == GGML_F16 || t == GGML_BF16) {
        for (size_t i = 0; i < n; i += 2) { /* finite halves of magnitude up to 2^3 */
            uint16_t h = t == GGML_F16 ? syn_scale() + (2u << 10) : (uint16_t)((syn_next() & 0x8000) | (118 + syn_next() % 12) << 7 | (syn_next() & 0x7f));
            memcpy(q + i, &h, 2);
        }
    } else {
        /* the f16 fields of each block: d (and m / dmin) first, Q6_K's d last */
        size_t bb = row_bytes(t, ggml_type_block(t));
        int two = t == GGML_Q4_1 || t == GGML_Q5_1 || t == GGML_Q4_K || t == GGML_Q5_K;
        for (size_t b = 0; b < n; b += bb) {
            uint16_t d = syn_scale(), m = syn_scale();
            memcpy(q + b + (t == GGML_Q6_K ? bb - 2 : 0), &d, 2);
            if (two) memcpy(q + b + 2, &m, 2);
        }
    }
    for (int r = 0; r < ROWS; r++) dequantize_row(t, q + r * rb, deq + r * COLS, COLS);
    rnd[k].q = q, rnd[k].deq = deq, rnd[k].n_q = rnd[k].n_deq = ROWS;
}

static int hex_to_bytes(const char *hex, uint8_t *out, size_t n) {
    if (strspn(hex, "0123456789abcdef") != 2 * n) return 0;
    for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
    return 1;
}

/* Reads the fixture's lines "KIND q|deq|src ROW DATA" into fx. */
static void fixture_loads(void) {
    FILE *f = fopen(FIXTURE, "r");
    CHECK(f != NULL, "%s: cannot open (run the tests from the repository root)", FIXTURE);
    if (!f) return;
    char *line = NULL, kind[16], what[8];
    size_t cap = 0;
    int row, at, bad = 0;
    for (int k = 0; k < N_KINDS; k++) {
        fx[k].q = malloc(row_bytes(kinds[k].type, COLS) * ROWS);
        fx[k].deq = malloc(sizeof(float) * ROWS * COLS);
        fx[k].src = malloc(sizeof(float) * ROWS * COLS);
    }
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#') continue;
        line[strcspn(line, "\n")] = 0;
        int k = 0, ok = sscanf(line, "%15s %7s %d %n", kind, what, &row, &at) == 3 && row >= 0 && row < ROWS;
        while (ok && k < N_KINDS && strcmp(kinds[k].name, kind)) k++;
        ok = ok && k < N_KINDS;
        if (ok && !strcmp(what, "q")) {
            size_t rb = row_bytes(kinds[k].type, COLS);
            ok = hex_to_bytes(line + at, fx[k].q + (size_t)row * rb, rb), fx[k].n_q += ok;
        } else if (ok && !strcmp(what, "src")) {
            uint8_t *p = (uint8_t *)(fx[k].src + (size_t)row * COLS); /* little-endian floats, as on every target */
            ok = hex_to_bytes(line + at, p, sizeof(float) * COLS), fx[k].n_src += ok;
        } else if (ok && !strcmp(what, "deq")) {
            ok = strlen(line + at) == 64 && strspn(line + at, "0123456789abcdef") == 64;
            if (ok) memcpy(fx[k].deq_sha[row], line + at, 65), fx[k].n_deq++;
        } else ok = 0;
        bad += !ok;
    }
    free(line);
    fclose(f);
    CHECK(bad == 0, "%s: %d lines unreadable", FIXTURE, bad);
    int complete = 1;
    for (int k = 0; k < N_KINDS; k++) {
        int quantizer = kinds[k].type == GGML_F16 || kinds[k].type == GGML_Q4_0 || kinds[k].type == GGML_Q8_0;
        int ok = fx[k].n_q == ROWS && fx[k].n_deq == ROWS && fx[k].n_src == (quantizer ? ROWS : 0);
        CHECK(ok, "%s: %d q, %d deq and %d src rows in %s", kinds[k].name, fx[k].n_q, fx[k].n_deq, fx[k].n_src, FIXTURE);
        CHECK(weight_type_supported(kinds[k].type), "%s supported", kinds[k].name);
        complete &= ok;
    }
    have_fx = bad == 0 && complete;
}

/* dequantize_row's floats, bit for bit gguf-py's: the sha256 of each row's
 * float32 bytes. The values become the rows' deq for the products below. */
static void dequantize_matches_gguf_py(void) {
    for (int k = 0; k < N_KINDS && have_fx; k++) {
        size_t rb = row_bytes(kinds[k].type, COLS);
        int differ = 0;
        for (int r = 0; r < ROWS; r++) {
            float *row = fx[k].deq + (size_t)r * COLS;
            dequantize_row(kinds[k].type, fx[k].q + r * rb, row, COLS);
            sha256_ctx c;
            char hex[65];
            sha256_init(&c);
            sha256_update(&c, row, sizeof(float) * COLS);
            sha256_hex(&c, hex);
            if (strcmp(hex, fx[k].deq_sha[r])) {
                differ++;
                printf("    %s row %d: sha256 %s, gguf-py's %s\n", kinds[k].name, r, hex, fx[k].deq_sha[r]);
            }
        }
        CHECK(differ == 0, "%s: %d of %d rows differ from gguf-py's dequantization", kinds[k].name, differ, ROWS);
    }
}

static int kind_index(uint32_t t) {
    int k = 0;
    while (kinds[k].type != t) k++;
    return k;
}

/* Our quantizers (the KV cache and the activations use Q8_0, the output
 * head may be requantized to Q4_0) make ggml's bytes from the same floats. */
static void quantizers_match_ggml(void) {
    if (!have_fx) return;
    const rowset *s8 = &fx[kind_index(GGML_Q8_0)], *s4 = &fx[kind_index(GGML_Q4_0)], *sh = &fx[kind_index(GGML_F16)];
    block_q8_0 b8[ROWS * COLS / QK8_0];
    quantize_row_q8_0(s8->src, b8, ROWS * COLS);
    CHECK(!memcmp(b8, s8->q, sizeof b8), "q8_0: bytes differ from ggml_quantize_chunk's");
    block_q4_0 b4[ROWS * COLS / QK4_0];
    quantize_row_q4_0(s4->src, b4, ROWS * COLS);
    CHECK(!memcmp(b4, s4->q, sizeof b4), "q4_0: bytes differ from ggml_quantize_chunk's");
    int differ = 0;
    for (int i = 0; i < ROWS * COLS; i++) differ += fp32_to_fp16(sh->src[i]) != ((const uint16_t *)sh->q)[i];
    CHECK(differ == 0, "f16: %d halves differ from ggml's rounding", differ);
}

/* activations of varied magnitudes per block, as the forward pass makes them */
static void fill_x(float *x, int n, uint64_t seed) {
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        float u = (float)(s >> 40) / 16777216.0f - 0.5f;
        x[i] = u * ldexpf(1.0f, (int)((i / 32 + seed) % 7) - 3);
    }
}

#define N_COLS_X 3

static void scalar_products_are_exact(void) {
    float x[N_COLS_X][COLS], xd[N_COLS_X][COLS];
    block_q8_0 xq[N_COLS_X][COLS / QK8_0];
    for (int c = 0; c < N_COLS_X; c++) {
        fill_x(x[c], COLS, (uint64_t)c + 1);
        quantize_row_q8_0(x[c], xq[c], COLS);
        dequantize_row(GGML_Q8_0, xq[c], xd[c], COLS);
    }
    for (int set = !have_fx; set < 2; set++) {
        for (int k = 0; k < N_KINDS; k++) {
            qi_gemm_fn g = kernels_gemm(&qi_kernels_scalar, kinds[k].type);
            int quantized = kinds[k].type != GGML_F16 && kinds[k].type != GGML_BF16;
            CHECK(!g == !quantized, "%s: a quantized product exactly for the block types", kinds[k].name);
            const rowset *rs = &sets[set][k];
            if (!g) continue;
            float out[N_COLS_X][ROWS];
            g(COLS, rs->q, row_bytes(kinds[k].type, COLS), ROWS, &xq[0][0], COLS / QK8_0, N_COLS_X, &out[0][0], ROWS, -1);
            double worst = 0;
            for (int c = 0; c < N_COLS_X; c++)
                for (int r = 0; r < ROWS; r++) {
                    const float *w = rs->deq + r * COLS;
                    double exact = 0, terms = 0;
                    for (int j = 0; j < COLS; j++) exact += (double)w[j] * xd[c][j], terms += fabs((double)w[j] * xd[c][j]);
                    double rel = fabs(out[c][r] - exact) / (terms > 0 ? terms : 1);
                    if (rel > worst) worst = rel;
                }
            printf("    %s, %s: worst |scalar - exact| / sum|terms| = %.2e\n", kinds[k].name, set_names[set], worst);
            CHECK(worst <= 1e-6, "%s, %s: the scalar product is off the exact one by %.3g of its terms", kinds[k].name,
                  set_names[set], worst);
        }
    }
}

/* n bytes whose end touches an inaccessible page, so that a kernel reading
 * past the last row of a matrix faults */
typedef struct {
    void *map;
    size_t size;
} guard_buf;
static void *guarded_alloc(guard_buf *g, size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), data = (n + page - 1) / page * page;
    g->size = data + page;
    g->map = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED) abort();
    mprotect((uint8_t *)g->map + data, page, PROT_NONE);
    return (uint8_t *)g->map + data - n;
}

static int level_fail_prints;

/* One type and shape on every level against scalar. Weights: the fixture's
 * rows (or the random ones) repeated, rows padded by w_pad bytes, the last one
 * ending at a PROT_NONE page. The tolerance is relative to sum |w x| over
 * the row (exact weights times dequantized activations): the integer sums
 * are exact, only the order of float additions may differ. Returns the
 * worst |level - scalar| / sum |w x|. */
static double level_check(const rowset *rs, int k, int n, int rows, int cols, int w_pad, uint64_t seed) {
    const qi_kernels *lv[16];
    int n_lv = kernels_available(lv, 16);
    uint32_t t = kinds[k].type;
    /* rows start 2-byte aligned, as in a file (every block size is even) */
    size_t rb = row_bytes(t, n), ws = rb + (size_t)(w_pad + (w_pad & 1)), fx_rb = row_bytes(t, COLS);
    guard_buf gw;
    uint8_t *w = guarded_alloc(&gw, ws * (size_t)(rows - 1) + rb);
    for (int r = 0; r < rows; r++)
        for (size_t off = 0; off < rb; off += fx_rb)
            memcpy(w + r * ws + off, rs->q + (size_t)((r + off / fx_rb + seed) % ROWS) * fx_rb,
                   rb - off < fx_rb ? rb - off : fx_rb);
    int nb = n / QK8_0;
    block_q8_0 *xq = malloc(sizeof *xq * (size_t)nb * (size_t)cols);
    float *xf = malloc(sizeof(float) * (size_t)n), *wf = malloc(sizeof(float) * (size_t)n);
    float *xd = malloc(sizeof(float) * (size_t)n * (size_t)cols);
    for (int c = 0; c < cols; c++) {
        fill_x(xf, n, seed + (uint64_t)c);
        quantize_row_q8_0(xf, xq + (size_t)c * nb, n);
        dequantize_row(GGML_Q8_0, xq + (size_t)c * nb, xd + (size_t)c * n, n);
    }
    double *terms = malloc(sizeof(double) * (size_t)rows * (size_t)cols);
    for (int r = 0; r < rows; r++) {
        dequantize_row(t, w + r * ws, wf, n);
        for (int c = 0; c < cols; c++) {
            double a = 0;
            for (int j = 0; j < n; j++) a += fabs((double)wf[j] * xd[(size_t)c * n + j]);
            terms[(size_t)c * rows + r] = a;
        }
    }
    size_t os = (size_t)rows + 3, out_n = os * (size_t)cols;
    float *ref = malloc(sizeof(float) * out_n), *got = malloc(sizeof(float) * out_n);
    kernels_gemm(&qi_kernels_scalar, t)(n, w, ws, rows, xq, (size_t)nb, cols, ref, os, -1);
    double worst = 0;
    for (int l = 0; l < n_lv; l++) {
        qi_gemm_fn g = kernels_gemm(lv[l], t);
        CHECK(g != NULL, "%s has no %s product", lv[l]->name, kinds[k].name);
        if (!g) continue;
        for (size_t i = 0; i < out_n; i++) got[i] = -12345.0f;
        g(n, w, ws, rows, xq, (size_t)nb, cols, got, os, (rows + cols) % 3 == 0 ? 0 : -1);
        int bad = 0, clobbered = 0;
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) {
                size_t i = (size_t)c * os + r;
                double s = terms[(size_t)c * rows + r], err = fabs((double)got[i] - (double)ref[i]);
                double rel = s > 0 ? err / s : (err > 0 ? INFINITY : 0);
                if (rel > worst) worst = rel;
                if (!(rel <= 1e-5) && bad++ < 2 && level_fail_prints++ < 20)
                    printf("    %s %s n=%d rows=%d cols=%d: out[c=%d][r=%d] = %.9g, scalar %.9g (terms %.3g)\n",
                           lv[l]->name, kinds[k].name, n, rows, cols, c, r, got[i], ref[i], s);
            }
            for (size_t i = (size_t)c * os + rows; i < (size_t)(c + 1) * os; i++) clobbered += got[i] != -12345.0f;
        }
        CHECK(bad == 0, "%s %s n=%d rows=%d cols=%d: %d outputs differ from scalar", lv[l]->name, kinds[k].name, n,
              rows, cols, bad);
        CHECK(clobbered == 0, "%s %s n=%d rows=%d cols=%d: %d floats written outside the output", lv[l]->name,
              kinds[k].name, n, rows, cols, clobbered);
    }
    munmap(gw.map, gw.size);
    free(xq), free(xf), free(wf), free(xd), free(terms), free(ref), free(got);
    return worst;
}

/* Every level: a product for each block type, equal to the scalar one within
 * f32 reordering, on the shapes the driver (kernels/driver.h) treats apart:
 * every column count up to two of the widest register tiles and one more
 * (decode rows and tiles, alone and as the remainder after full ones), one
 * k-chunk and several (the later ones add to the first: 264 activation
 * blocks pass every level's chunk of 256), row counts that are not a
 * multiple of any tile or row pair, and odd row strides. */
static void levels_match_scalar(void) {
    const qi_kernels *lv[16];
    int n_lv = kernels_available(lv, 16);
    static const int shapes[][3] = {{512, 6, 1},  {512, 5, 3},   {1024, 17, 8}, {2560, 3, 13}, {256, 33, 2},
                                    {256, 1, 40}, {768, 48, 17}, {512, 31, 64}, {1024, 16, 70}, {17152, 5, 2},
                                    {8448, 40, 3}, {4864, 21, 4}};
    uint64_t seed = 7;
    for (int set = !have_fx; set < 2; set++) {
        for (int k = 0; k < N_KINDS; k++) {
            uint32_t t = kinds[k].type;
            const rowset *rs = &sets[set][k];
            if (!kernels_gemm(&qi_kernels_scalar, t)) continue;
            double worst = 0, e;
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                if (shapes[s][0] % ggml_type_block(t)) continue;
                e = level_check(rs, k, shapes[s][0], shapes[s][1], shapes[s][2], (int)(s % 3), seed++);
                if (e > worst) worst = e;
            }
            for (int c = 1; c <= 17; c++)
                for (int n = 256; n <= 8448; n += 8192) {
                    e = level_check(rs, k, n, 19, c, c % 3, seed++);
                    if (e > worst) worst = e;
                }
            printf("    %s, %s: worst |level - scalar| / sum|w x| = %.3g\n", kinds[k].name, set_names[set], worst);
        }
    }
    printf("    %d levels, every block type\n", n_lv);
}

/* F16 and BF16 rows times f32 columns (the default path of half-precision
 * files): the scalar table's product equals the exact sum to f32 rounding,
 * and every level's equals the scalar one, decode (1-2 columns) and prefill
 * shapes, row lengths that are no multiple of 32 included. */
static void half_products(void) {
    const qi_kernels *lv[16];
    int n_lv = kernels_available(lv, 16);
    /* AVX-512's prefill panels take 32 rows, 12 columns and 128 weights at
     * a time, in blocks of 64 columns: the last shapes cross each with a
     * tail; AMX tiles take 16 rows x 16 columns x 32 weights, in chunks of
     * 192 weights and 64 columns (x86_amx.c) */
    static const int shapes[][3] = {{512, 6, 1},    {512, 5, 2},  {512, 6, 3},  {200, 7, 1},  {200, 9, 5},
                                    {1040, 4, 4},   {512, 45, 13}, {200, 57, 26}, {136, 70, 77}, {64, 16, 16},
                                    {1040, 33, 100}};
    /* Each level against the scalar product, within 4 sqrt(n) f32 roundings
     * of the sum of |terms| (the error of an f32 sum in another order). On
     * the positive variant (every weight and activation made positive, only
     * n <= 256) nothing cancels, so a split product that leaves out a part
     * worth 2^-16 of a term (x86_amx.c) fails it. */
    double half_worst = 0; /* the largest error as a share of its tolerance */
    for (int bf = 0; bf < 2; bf++) {
        for (int pos = 0; pos < 2; pos++) {
            const char *name = bf ? "bf16" : "f16";
            uint32_t t = bf ? GGML_BF16 : GGML_F16;
            const rowset *rs = &sets[!have_fx][kind_index(t)];
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                int n = shapes[s][0], rows = shapes[s][1], cols = shapes[s][2];
                if (pos && n > 256) continue;
                size_t ws = (size_t)n * 2 + 6; /* a padded stride */
                uint8_t *w = calloc((size_t)rows, ws);
                float *wd = malloc(sizeof(float) * (size_t)rows * n), *x = malloc(sizeof(float) * (size_t)cols * (n + 3));
                for (int r = 0; r < rows; r++)
                    for (int i = 0; i < n; i++) { /* the fixture's (or random) values, wrapped */
                        int fr = (r + i / COLS) % ROWS, fi = i % COLS;
                        uint16_t h = ((const uint16_t *)rs->q)[fr * COLS + fi];
                        if (pos) h &= 0x7fff; /* the sign bit of both formats */
                        memcpy(w + r * ws + 2 * i, &h, 2);
                        wd[(size_t)r * n + i] = pos ? fabsf(rs->deq[fr * COLS + fi])
                                                    : rs->deq[fr * COLS + fi];
                    }
                for (int c = 0; c < cols; c++) {
                    fill_x(x + (size_t)c * (n + 3), n, (uint64_t)(c + 11 * s));
                    for (int i = 0; pos && i < n; i++) x[(size_t)c * (n + 3) + i] = fabsf(x[(size_t)c * (n + 3) + i]);
                }
                float *ref = malloc(sizeof(float) * (size_t)rows * cols), *got = malloc(sizeof(float) * (size_t)rows * cols);
                double *tsum = malloc(sizeof(double) * (size_t)rows * cols);
                (bf ? qi_kernels_scalar.gemm_bf16 : qi_kernels_scalar.gemm_f16)(n, w, ws, rows, x, (size_t)n + 3, cols, ref,
                                                                                (size_t)rows);
                double worst = 0;
                for (int c = 0; c < cols; c++)
                    for (int r = 0; r < rows; r++) {
                        double exact = 0, terms = 0;
                        for (int i = 0; i < n; i++) {
                            double p = (double)wd[(size_t)r * n + i] * x[(size_t)c * (n + 3) + i];
                            exact += p, terms += fabs(p);
                        }
                        tsum[c * rows + r] = terms;
                        double rel = fabs(ref[c * rows + r] - exact) / (terms > 0 ? terms : 1);
                        if (rel > worst) worst = rel;
                    }
                CHECK(worst <= 1e-6, "%s%s n=%d rows=%d cols=%d: scalar off the exact sum by %.3g", pos ? "positive " : "",
                      name, n, rows, cols, worst);
                const double tol = 4 * sqrt((double)n) * ldexp(1, -24);
                for (int l = 0; l < n_lv; l++) {
                    (bf ? lv[l]->gemm_bf16 : lv[l]->gemm_f16)(n, w, ws, rows, x, (size_t)n + 3, cols, got, (size_t)rows);
                    int bad = 0;
                    double lw = 0;
                    for (int i = 0; i < rows * cols; i++) {
                        double e = fabs((double)got[i] - ref[i]) / (tsum[i] > 0 ? tsum[i] : 1);
                        if (!(e <= tol)) bad++;
                        if (e > lw) lw = e;
                    }
                    if (lw / tol > half_worst) half_worst = lw / tol;
                    CHECK(bad == 0, "%s %s%s n=%d rows=%d cols=%d: %d outputs differ from scalar (worst %.3g of the terms, "
                          "tolerance %.3g)", lv[l]->name, pos ? "positive " : "", name, n, rows, cols, bad, lw, tol);
                }
                free(w), free(wd), free(x), free(ref), free(got), free(tsum);
            }
        }
    }
    printf("    f16/bf16: worst |level - scalar| at %.2f of its tolerance\n", half_worst);
}

int main(void) {
    for (int k = 0; k < N_KINDS; k++) synthesize(k);
    RUN(fixture_loads);
    RUN(dequantize_matches_gguf_py);
    RUN(quantizers_match_ggml);
    RUN(scalar_products_are_exact);
    RUN(levels_match_scalar);
    RUN(half_products);
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < N_KINDS; k++) free(sets[s][k].q), free(sets[s][k].deq), free(sets[s][k].src);
    return TEST_EXIT();
}
