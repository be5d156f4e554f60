/* Comparing logits with reference files: the helpers every golden test
 * shares (test_golden.c, test_tiny_chat.c). */
#ifndef QINFER_TEST_GOLDEN_H
#define QINFER_TEST_GOLDEN_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whole file into memory; *n_bytes gets its size. NULL if unreadable. */
static inline void *slurp_file(const char *path, size_t *n_bytes) {
    if (n_bytes) *n_bytes = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (n_bytes) *n_bytes = (size_t)n;
    return buf;
}

static inline int read_ids_txt(const char *path, int32_t *ids, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, x;
    while (n < cap && fscanf(f, "%d", &x) == 1) ids[n++] = x;
    fclose(f);
    return n;
}

static inline int read_floats_txt(const char *path, float *v, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0;
    while (n < cap && fscanf(f, "%f", &v[n]) == 1) n++;
    fclose(f);
    return n;
}

static inline int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

static inline double lse(const float *x, int n) {
    double mx = x[0], s = 0;
    for (int i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
    for (int i = 0; i < n; i++) s += exp((double)x[i] - mx);
    return mx + log(s);
}

static inline float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as a failure */
    }
    return m;
}

/* margin = top-1 minus top-2 */
static inline float margin_of(const float *x, int n) {
    int a = argmax(x, n);
    float second = -INFINITY;
    for (int i = 0; i < n; i++) if (i != a && x[i] > second) second = x[i];
    return x[a] - second;
}

/* KL(golden || ours) in nats over one full row. */
static inline double kl_row(const float *gold, const float *ours, int n) {
    double lg = lse(gold, n), lo = lse(ours, n), kl = 0;
    for (int i = 0; i < n; i++) {
        double pg = exp((double)gold[i] - lg);
        kl += pg * (((double)gold[i] - lg) - ((double)ours[i] - lo));
    }
    return kl;
}

/* The T1 layout of ../shared/golden (and data/tiny-chat/golden): for one
 * sequence, full rows at the first and last position, log-sum-exp, argmax,
 * top-8 ids and logits, in files PREFIX.logits_pos0.f32 and so on. */
typedef struct t1_gold {
    float *pos0, *last, *lse, *top8l;
    int32_t *argmax, *top8;
} t1_gold;

static inline void t1_free(t1_gold *g) {
    free(g->pos0); free(g->last); free(g->lse); free(g->top8l); free(g->argmax); free(g->top8);
}

/* 1 when every file is there with the size n tokens and V ids give */
static inline int t1_load(t1_gold *g, const char *prefix, int n, int V) {
    memset(g, 0, sizeof *g);
    if (strlen(prefix) > 1000) return 0;
    char p[1100];
    size_t b[6];
#define T1_FILE(field, name, i) snprintf(p, sizeof p, "%s.%s", prefix, name); g->field = slurp_file(p, &b[i])
    T1_FILE(pos0, "logits_pos0.f32", 0);
    T1_FILE(last, "logits_last.f32", 1);
    T1_FILE(lse, "lse.f32", 2);
    T1_FILE(argmax, "argmax.i32", 3);
    T1_FILE(top8, "top8_ids.i32", 4);
    T1_FILE(top8l, "top8_logits.f32", 5);
#undef T1_FILE
    return n > 0 && g->pos0 && g->last && g->lse && g->argmax && g->top8 && g->top8l && b[0] == (size_t)V * 4 &&
           b[1] == (size_t)V * 4 && b[2] == (size_t)n * 4 && b[3] == (size_t)n * 4 && b[4] == (size_t)n * 32 &&
           b[5] == (size_t)n * 32;
}

/* Tier A figures of out[n][V] against the goldens: the largest |delta| over
 * the full rows, the top-8 logits and log-sum-exp, and the argmax flips where
 * the golden margin is at least tol. */
static inline void t1_compare(const t1_gold *g, const float *out, int n, int V, float tol, float *d_rows,
                              float *d_top8, float *d_lse, int *flips) {
    *d_rows = fmaxf(max_abs_diff(out, g->pos0, (size_t)V), max_abs_diff(out + (size_t)(n - 1) * V, g->last, (size_t)V));
    *d_top8 = *d_lse = 0;
    *flips = 0;
    for (int p = 0; p < n; p++) {
        const float *row = out + (size_t)p * V;
        for (int k = 0; k < 8; k++) *d_top8 = fmaxf(*d_top8, fabsf(row[g->top8[p * 8 + k]] - g->top8l[p * 8 + k]));
        *d_lse = fmaxf(*d_lse, (float)fabs(lse(row, V) - g->lse[p]));
        if (g->top8l[p * 8] - g->top8l[p * 8 + 1] >= tol && argmax(row, V) != g->argmax[p]) (*flips)++;
    }
}

#endif
