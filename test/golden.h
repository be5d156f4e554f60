/* Comparing logits with reference files: the helpers every golden test
 * shares (test_golden.c, test_tiny_chat.c). */
#ifndef QINFER_TEST_GOLDEN_H
#define QINFER_TEST_GOLDEN_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

#endif
