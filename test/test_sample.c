/* Samplers: exact truncation by top-k / top-p / min-p, the repetition
 * penalty, reproducibility by seed, and sampled frequencies against the
 * expected distribution (chi-square at p = 0.001 with a fixed seed, so the
 * test is deterministic). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qinfer.h"
#include "session/sample.h"
#include "test.h"

static qi_config base(void) {
    qi_config c;
    qi_config_default(&c);
    c.temperature = 1.0f;
    c.top_k = 0;
    c.top_p = 1.0f;
    c.min_p = 0.0f;
    c.repeat_penalty = 1.0f;
    return c;
}

/* Draw `draws` tokens; counts[n] */
static void draw(qi_sampler *sp, const qi_config *c, const float *logits, int n, int draws, int *counts) {
    memset(counts, 0, (size_t)n * sizeof *counts);
    for (int i = 0; i < draws; i++) {
        int32_t t = -1;
        CHECK(sampler_sample(sp, c, logits, NULL, 0, &t) == QI_OK && t >= 0 && t < n, "draw %d gave %d", i, t);
        if (t >= 0 && t < n) counts[t]++;
    }
}

/* chi-square of counts against probabilities p (tokens with p = 0 must not appear) */
static double chi2(const int *counts, const double *p, int n, int draws, int *dof, int *impossible) {
    double x = 0;
    *dof = -1;
    *impossible = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] == 0) { *impossible += counts[i]; continue; }
        double e = p[i] * draws;
        x += (counts[i] - e) * (counts[i] - e) / e;
        (*dof)++;
    }
    return x;
}

/* chi-square critical values at p = 0.001 for 1..6 degrees of freedom */
static const double crit[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46};

static void expect_distribution(const qi_config *c, const float *logits, const double *p, int n, const char *what) {
    qi_sampler sp;
    CHECK(sampler_init(&sp, n, 1234) == QI_OK, "init");
    int counts[16], dof, impossible;
    const int draws = 200000;
    draw(&sp, c, logits, n, draws, counts);
    double x = chi2(counts, p, n, draws, &dof, &impossible);
    CHECK(impossible == 0, "%s: %d draws of excluded tokens", what, impossible);
    CHECK(dof < 1 || x < crit[dof], "%s: chi-square %.2f with %d dof (critical %.2f)", what, x, dof, crit[dof]);
    printf("    %s: chi-square %.2f, %d dof\n", what, x, dof);
    sampler_free(&sp);
}

static const float lg5[5] = {1.0f, 2.0f, 0.5f, 3.0f, -1.0f};

static void softmax(const float *l, int n, float temp, double *p) {
    double s = 0;
    for (int i = 0; i < n; i++) s += exp(l[i] / temp);
    for (int i = 0; i < n; i++) p[i] = exp(l[i] / temp) / s;
}

static void temperature_distribution(void) {
    qi_config c = base();
    double p[5];
    c.temperature = 0.7f;
    softmax(lg5, 5, 0.7f, p);
    expect_distribution(&c, lg5, p, 5, "temperature 0.7");
    c.temperature = 1.5f;
    softmax(lg5, 5, 1.5f, p);
    expect_distribution(&c, lg5, p, 5, "temperature 1.5");
}

static void greedy(void) {
    qi_sampler sp;
    sampler_init(&sp, 5, 1);
    qi_config c = base();
    c.temperature = 0;
    int32_t t;
    CHECK(sampler_sample(&sp, &c, lg5, NULL, 0, &t) == QI_OK && t == 3, "argmax %d", t);
    float tie[4] = {1, 5, 5, 2};
    sampler_free(&sp);
    sampler_init(&sp, 4, 1);
    CHECK(sampler_sample(&sp, &c, tie, NULL, 0, &t) == QI_OK && t == 1, "tie goes to the lower id, got %d", t);
    sampler_free(&sp);
}

static void top_k(void) {
    qi_config c = base();
    c.top_k = 2; /* tokens 3 and 1 */
    double p[5] = {0}, s = exp(3.0) + exp(2.0);
    p[3] = exp(3.0) / s;
    p[1] = exp(2.0) / s;
    expect_distribution(&c, lg5, p, 5, "top-k 2");
    c.top_k = 1;
    double one[5] = {0, 0, 0, 1, 0};
    expect_distribution(&c, lg5, one, 5, "top-k 1");
}

/* probabilities 0.5, 0.3, 0.15, 0.05: top-p keeps the smallest prefix whose mass reaches top_p */
static void top_p_and_min_p(void) {
    const float lp[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    qi_config c = base();
    c.top_p = 0.79f;
    double p01[4] = {0.5 / 0.8, 0.3 / 0.8, 0, 0};
    expect_distribution(&c, lp, p01, 4, "top-p 0.79 keeps 2");
    c.top_p = 0.81f;
    double p012[4] = {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0};
    expect_distribution(&c, lp, p012, 4, "top-p 0.81 keeps 3");
    c.top_p = 0.4f;
    double p0[4] = {1, 0, 0, 0};
    expect_distribution(&c, lp, p0, 4, "top-p 0.4 keeps 1");
    c.top_p = 1.0f;
    c.min_p = 0.2f; /* threshold 0.1 */
    expect_distribution(&c, lp, p012, 4, "min-p 0.2 keeps 3");
    c.min_p = 0.35f; /* threshold 0.175 */
    expect_distribution(&c, lp, p01, 4, "min-p 0.35 keeps 2");
    c.min_p = 0.65f; /* threshold 0.325 */
    expect_distribution(&c, lp, p0, 4, "min-p 0.65 keeps 1");
    /* top-k then top-p over the renormalised top-k mass: k=3 gives 0.526, 0.316, 0.158 */
    c.min_p = 0;
    c.top_k = 3;
    c.top_p = 0.83f; /* 0.526 + 0.316 = 0.842 >= 0.83: the third is cut */
    double p01k[4] = {0.5 / 0.8, 0.3 / 0.8, 0, 0};
    expect_distribution(&c, lp, p01k, 4, "top-k 3 + top-p 0.83 keeps 2");
    c.top_p = 0.85f; /* 0.842 < 0.85: the third stays */
    expect_distribution(&c, lp, p012, 4, "top-k 3 + top-p 0.85 keeps 3");
}

static void repetition_penalty(void) {
    qi_sampler sp;
    sampler_init(&sp, 3, 1);
    qi_config c = base();
    c.temperature = 0;
    c.repeat_penalty = 4.0f;
    c.repeat_last_n = 64;
    const float l[3] = {2.0f, 1.0f, -1.0f};
    int32_t recent[4] = {0, 2, 0, 0}, t;
    /* 2.0 / 4 = 0.5 < 1.0: token 1 wins; the repeated 0 is penalised once */
    CHECK(sampler_sample(&sp, &c, l, recent, 4, &t) == QI_OK && t == 1, "penalised argmax %d", t);
    c.repeat_last_n = 1; /* only the last id (0) counts */
    CHECK(sampler_sample(&sp, &c, l, recent, 4, &t) == QI_OK && t == 1, "window of 1: %d", t);
    int32_t recent2[2] = {0, 1};
    CHECK(sampler_sample(&sp, &c, l, recent2, 2, &t) == QI_OK && t == 0, "window excludes 0: %d", t);
    /* negative logits are multiplied: -1 * 4 = -4 */
    c.repeat_last_n = 64;
    c.temperature = 1.0f;
    c.repeat_penalty = 2.0f;
    sampler_free(&sp);
    double p[3], s = exp(1.0) + exp(1.0) + exp(-2.0);
    p[0] = exp(1.0) / s; p[1] = exp(1.0) / s; p[2] = exp(-2.0) / s;
    sampler_init(&sp, 3, 77);
    int counts[3] = {0};
    int32_t rec[2] = {0, 2};
    for (int i = 0; i < 100000; i++) {
        sampler_sample(&sp, &c, l, rec, 2, &t);
        counts[t]++;
    }
    int dof, imp;
    double x = chi2(counts, p, 3, 100000, &dof, &imp);
    CHECK(x < crit[dof], "penalised distribution chi-square %.2f", x);
    sampler_free(&sp);
}

static void seeds_reproduce(void) {
    enum { V = 151936, N = 200 };
    static float l[V];
    uint64_t x = 99;
    for (int i = 0; i < V; i++) { x = x * 6364136223846793005ull + 1; l[i] = (float)((x >> 40) % 1000) / 100.0f; }
    qi_config c = base();
    c.temperature = 0.7f; c.top_k = 20; c.top_p = 0.8f; c.repeat_penalty = 1.05f;
    int32_t a[N], b[N], d[N];
    qi_sampler s1, s2, s3;
    sampler_init(&s1, V, 42); sampler_init(&s2, V, 42); sampler_init(&s3, V, 43);
    int same = 1, diff = 0;
    for (int i = 0; i < N; i++) {
        sampler_sample(&s1, &c, l, a, i, &a[i]);
        sampler_sample(&s2, &c, l, b, i, &b[i]);
        sampler_sample(&s3, &c, l, d, i, &d[i]);
        same &= a[i] == b[i];
        diff += a[i] != d[i];
    }
    CHECK(same, "same seed, different tokens");
    CHECK(diff > 0, "different seeds gave identical runs");
    sampler_free(&s1); sampler_free(&s2); sampler_free(&s3);
}

static const float *sort_logits;
static int by_logit_desc(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    float lx = sort_logits[x], ly = sort_logits[y];
    return lx > ly ? -1 : lx < ly ? 1 : (x > y) - (x < y);
}

/* On a full-size vocabulary the partial selection keeps exactly what a full
 * sort would: check every draw against a brute-force candidate set. */
static void large_vocab_truncation(void) {
    enum { V = 151936 };
    static float l[V];
    static int32_t order[V];
    uint64_t x = 7;
    for (int i = 0; i < V; i++) { x = x * 6364136223846793005ull + 1; l[i] = (float)((x >> 33) % 100000) / 8000.0f; order[i] = i; }
    /* brute force: full sort by logit, descending, ties to lower id */
    sort_logits = l;
    qsort(order, V, sizeof order[0], by_logit_desc);
    qi_config c = base();
    c.temperature = 0.8f;
    const float tps[3] = {0.5f, 0.8f, 0.95f};
    for (int k = 0; k < 3; k++) {
        c.top_p = tps[k];
        double total = 0, mass = 0;
        for (int i = 0; i < V; i++) total += exp((l[i] - l[order[0]]) / 0.8);
        int keep = 0;
        while (keep < V && mass < c.top_p) mass += exp((l[order[keep++]] - l[order[0]]) / 0.8) / total;
        static char allowed[V];
        memset(allowed, 0, sizeof allowed);
        for (int i = 0; i < keep; i++) allowed[order[i]] = 1;
        qi_sampler sp;
        sampler_init(&sp, V, 5);
        int bad = 0, n_seen = 0;
        static char seen[V];
        memset(seen, 0, sizeof seen);
        for (int i = 0; i < 1000; i++) {
            int32_t t;
            sampler_sample(&sp, &c, l, NULL, 0, &t);
            bad += !allowed[t];
            n_seen += !seen[t];
            seen[t] = 1;
        }
        CHECK(bad == 0, "top-p %.2f: %d draws outside the %d-token nucleus", c.top_p, bad, keep);
        printf("    top-p %.2f: nucleus of %d tokens, %d distinct drawn\n", c.top_p, keep, n_seen);
        sampler_free(&sp);
    }
}

int main(void) {
    RUN(greedy);
    RUN(temperature_distribution);
    RUN(top_k);
    RUN(top_p_and_min_p);
    RUN(repetition_penalty);
    RUN(seeds_reproduce);
    RUN(large_vocab_truncation);
    return TEST_EXIT();
}
