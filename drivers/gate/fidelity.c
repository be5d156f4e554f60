/* The reference sampling distribution, the test cases and the test; see
 * fidelity.h. */
#include "fidelity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

typedef struct idv { int id; double v; } idv;

static int by_value_desc(const void *a, const void *b) {
    const idv *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? 1 : -1;
    return x->id - y->id;
}

/* w = the logits after the repetition penalty: each id among the last
 * repeat_last_n once, a positive logit divided by the penalty, a negative
 * one multiplied, in float as a float sampler rounds */
static void penalised(const float *logits, int n, const sampling *s, const int32_t *recent, int n_recent, double *w) {
    for (int i = 0; i < n; i++) w[i] = logits[i];
    if (s->repeat_penalty == 1.0 || s->repeat_last_n <= 0) return;
    int start = n_recent > s->repeat_last_n ? n_recent - s->repeat_last_n : 0;
    for (int i = start; i < n_recent; i++) {
        int t = recent[i], seen = 0;
        if (t < 0 || t >= n) continue;
        for (int j = start; j < i && !seen; j++) seen = recent[j] == t;
        if (seen) continue;
        float x = logits[t], r = (float)s->repeat_penalty;
        w[t] = x > 0 ? x / r : x * r;
    }
}

int reference_probs(const float *logits, int n, const sampling *s, const int32_t *recent, int n_recent, double *p) {
    idv *v = malloc((size_t)n * sizeof *v);
    if (!v) return -1;
    double *w = malloc((size_t)n * sizeof *w);
    if (!w) { free(v); return -1; }
    penalised(logits, n, s, recent, n_recent, w);
    for (int i = 0; i < n; i++) v[i] = (idv){i, w[i]};
    free(w);
    memset(p, 0, (size_t)n * sizeof *p);
    qsort(v, (size_t)n, sizeof *v, by_value_desc);
    if (s->temperature == 0) {
        p[v[0].id] = 1;
        free(v);
        return 1;
    }
    int m = s->top_k > 0 && s->top_k < n ? s->top_k : n;
    double total = 0, mx = v[0].v;
    for (int i = 0; i < m; i++) {
        v[i].v = exp((v[i].v - mx) / s->temperature);
        total += v[i].v;
    }
    if (s->top_p < 1) {
        double acc = 0;
        int kept = 0;
        while (kept < m && (kept == 0 || acc < s->top_p * total)) acc += v[kept++].v;
        m = kept;
    }
    if (s->min_p > 0) {
        int kept = 0;
        while (kept < m && v[kept].v >= s->min_p) kept++; /* best-first, the best weighs 1 */
        m = kept;
    }
    double sum = 0;
    for (int i = 0; i < m; i++) sum += v[i].v;
    for (int i = 0; i < m; i++) p[v[i].id] = v[i].v / sum;
    free(v);
    return m;
}

int could_draw(const float *logits, int n, const sampling *s, const int32_t *recent, int n_recent, int32_t id,
               double eps, double *w) {
    if (id < 0 || id >= n) return 0;
    penalised(logits, n, s, recent, n_recent, w);
    double lt = w[id], mx = -INFINITY;
    for (int i = 0; i < n; i++) if (w[i] > mx) mx = w[i];
    if (s->temperature == 0) return lt >= mx - eps;
    /* top-k: fewer than k ids clearly above it */
    int above = 0;
    for (int i = 0; i < n; i++) above += w[i] > lt + eps;
    if (s->top_k > 0 && above >= s->top_k) return 0;
    /* top-p: the ids clearly above it hold less than top_p of the kept mass
     * (the k largest with top-k: a min-heap of their values) */
    if (s->top_p < 1) {
        double total = 0, before = 0;
        int k = s->top_k > 0 && s->top_k < n ? s->top_k : n;
        if (k < n) {
            double heap[4096];
            if (k > 4096) k = 4096;
            int hn = 0;
            for (int i = 0; i < n; i++) {
                double x = w[i];
                if (hn < k) { /* sift up */
                    int c = hn++;
                    heap[c] = x;
                    while (c > 0 && heap[(c - 1) / 2] > heap[c]) { double t = heap[c]; heap[c] = heap[(c - 1) / 2]; heap[(c - 1) / 2] = t; c = (c - 1) / 2; }
                } else if (x > heap[0]) { /* replace the smallest, sift down */
                    heap[0] = x;
                    for (int c = 0;;) {
                        int l = 2 * c + 1, r = l + 1, m = c;
                        if (l < hn && heap[l] < heap[m]) m = l;
                        if (r < hn && heap[r] < heap[m]) m = r;
                        if (m == c) break;
                        double t = heap[c]; heap[c] = heap[m]; heap[m] = t;
                        c = m;
                    }
                }
            }
            for (int i = 0; i < hn; i++) {
                double e = exp((heap[i] - mx) / s->temperature);
                total += e;
                if (heap[i] > lt + eps) before += e;
            }
        } else {
            for (int i = 0; i < n; i++) {
                double e = exp((w[i] - mx) / s->temperature);
                total += e;
                if (w[i] > lt + eps) before += e;
            }
        }
        if (before >= s->top_p * total) return 0;
    }
    if (s->min_p > 0 && lt < mx + s->temperature * log(s->min_p) - 2 * eps) return 0;
    return 1;
}

/* margins that keep the definition's boundaries unambiguous */
static int boundaries_clear(const fid_case *c, int n) {
    idv *v = malloc((size_t)n * sizeof *v);
    double *p = malloc((size_t)n * sizeof *p);
    int ok = v && p;
    if (ok) {
        /* the logits after the penalty, as the reference sees them */
        sampling flat = c->s;
        flat.temperature = 1;
        flat.top_k = 0;
        flat.top_p = 1;
        flat.min_p = 0;
        reference_probs(c->logits, n, &flat, c->recent, c->n_recent, p);
        for (int i = 0; i < n; i++) v[i] = (idv){i, log(p[i] > 0 ? p[i] : 1e-300)};
        qsort(v, (size_t)n, sizeof *v, by_value_desc);
        int k = c->s.top_k > 0 && c->s.top_k < n ? c->s.top_k : n;
        if (k < n && v[k - 1].v - v[k].v < 1e-3) ok = 0;
        /* top-p: the crossing id's mass must not sit on the target (floats round by ~1e-7) */
        double total = 0, acc = 0;
        for (int i = 0; i < k; i++) total += exp((v[i].v - v[0].v) / c->s.temperature);
        for (int i = 0; ok && c->s.top_p < 1 && i < k; i++) {
            double w = exp((v[i].v - v[0].v) / c->s.temperature), target = c->s.top_p * total;
            if (acc + w >= target) {
                if ((target - acc) / total < 1e-5 || (acc + w - target) / total < 1e-5) ok = 0;
                break;
            }
            acc += w;
        }
        for (int i = 0; ok && c->s.min_p > 0 && i < k; i++)
            if (fabs(exp((v[i].v - v[0].v) / c->s.temperature) / c->s.min_p - 1) < 1e-4) ok = 0;
    }
    free(v);
    free(p);
    return ok;
}

static int allowed_ids(const fid_case *c, int n) {
    double *p = malloc((size_t)n * sizeof *p);
    int k = p ? reference_probs(c->logits, n, &c->s, c->recent, c->n_recent, p) : 0;
    free(p);
    return k;
}

int fidelity_cases(fid_case *out, int cap, int n_vocab, const sampling *base, uint64_t seed) {
    rng g;
    rng_seed(&g, seed);
    int n = 0;
    for (int kind = 0; kind < 7 && n < cap; kind++) {
        for (int attempt = 0; attempt < 50; attempt++) {
            fid_case c;
            memset(&c, 0, sizeof c);
            c.s = *base;
            c.s.seed = rng_next(&g) >> 1;
            c.logits = malloc((size_t)n_vocab * sizeof(float));
            if (!c.logits) return n;
            float *l = c.logits;
            switch (kind) {
            case 0: /* peaked: an LM-like spread with a few clear favourites */
                c.name = "peaked";
                for (int i = 0; i < n_vocab; i++) l[i] = (float)rng_normal(&g);
                for (int j = 0; j < 4; j++) l[rng_next(&g) % (uint64_t)n_vocab] = (float)(8 - 0.5 * j + 0.2 * rng_uniform(&g));
                break;
            case 1: /* flat: thirty near-equal favourites, settings as declared */
                c.name = "flat";
                for (int i = 0; i < n_vocab; i++) l[i] = (float)(-3 + 0.05 * rng_normal(&g));
                for (int j = 0; j < 30; j++) l[rng_next(&g) % (uint64_t)n_vocab] = (float)(0.5 + 0.01 * j);
                break;
            case 2: /* ties: groups of exactly equal logits, clear of the top-k edge */
                c.name = "ties";
                for (int i = 0; i < n_vocab; i++) l[i] = (float)(-5 + rng_normal(&g));
                for (int j = 0; j < 6; j++) l[rng_next(&g) % (uint64_t)n_vocab] = 4.0f;
                for (int j = 0; j < 5; j++) l[rng_next(&g) % (uint64_t)n_vocab] = 3.25f;
                break;
            case 3: /* repeated ids under the penalty, some of them favourites */
                c.name = "penalty";
                for (int i = 0; i < n_vocab; i++) l[i] = (float)(1.5 * rng_normal(&g));
                for (int j = 0; j < 8; j++) l[rng_next(&g) % (uint64_t)n_vocab] = (float)(4 + rng_uniform(&g));
                c.s.repeat_penalty = base->repeat_penalty != 1 ? base->repeat_penalty * 1.3 : 1.3;
                c.s.repeat_last_n = base->repeat_last_n > 0 ? base->repeat_last_n : 64;
                c.n_recent = 40;
                for (int j = 0; j < c.n_recent; j++) {
                    int32_t id = (int32_t)(rng_next(&g) % (uint64_t)n_vocab);
                    if (j % 3 == 1) id = c.recent[j - 1];           /* repeated ids */
                    if (j % 5 == 0) {                                /* a favourite, or a negative logit */
                        for (int i = 0; i < n_vocab; i++) if (l[i] >= 4) { id = i; break; }
                    }
                    c.recent[j] = id;
                }
                l[c.recent[2]] = -2.5f;
                break;
            case 4: /* the settings without top-k: top-p over the whole vocabulary */
                c.name = "top-p only";
                for (int i = 0; i < n_vocab; i++) l[i] = (float)(2.0 * rng_normal(&g));
                c.s.top_k = 0;
                if (c.s.top_p >= 1) c.s.top_p = 0.9;
                if (c.s.temperature == 0) c.s.temperature = 0.8;
                break;
            case 5: /* min-p and a hotter temperature */
                c.name = "min-p";
                for (int i = 0; i < n_vocab; i++) l[i] = (float)(1.5 * rng_normal(&g));
                for (int j = 0; j < 12; j++) l[rng_next(&g) % (uint64_t)n_vocab] = (float)(5 + rng_uniform(&g));
                c.s.min_p = 0.05;
                c.s.top_k = 0;
                c.s.top_p = 1;
                c.s.temperature = 1.3;
                break;
            default: /* greedy: every draw is the argmax, lowest id on a tie */
                c.name = "greedy";
                for (int i = 0; i < n_vocab; i++) l[i] = (float)rng_normal(&g);
                l[n_vocab / 2] = l[n_vocab / 3] = 7.0f;
                c.s.temperature = 0;
                break;
            }
            if (c.s.temperature == 0 || (boundaries_clear(&c, n_vocab) && allowed_ids(&c, n_vocab) >= 2)) {
                out[n++] = c;
                break;
            }
            free(c.logits);
        }
    }
    return n;
}

void fidelity_free(fid_case *c, int n) {
    for (int i = 0; i < n; i++) free(c[i].logits);
}

double fidelity_test(const fid_case *c, int n_vocab, const int *counts, int n_draws, char *detail, int detail_size) {
    double *p = malloc((size_t)n_vocab * sizeof *p);
    if (!p) return -1;
    reference_probs(c->logits, n_vocab, &c->s, c->recent, c->n_recent, p);
    int outside = 0, bins = 0;
    double chi = 0, pool_e = 0, pool_o = 0;
    for (int i = 0; i < n_vocab; i++) {
        if (p[i] == 0) {
            outside += counts[i];
            continue;
        }
        double e = p[i] * n_draws;
        if (e < 5) { pool_e += e; pool_o += counts[i]; continue; }
        chi += (counts[i] - e) * (counts[i] - e) / e;
        bins++;
    }
    if (pool_e > 0) { chi += (pool_o - pool_e) * (pool_o - pool_e) / pool_e; bins++; }
    free(p);
    if (outside) {
        snprintf(detail, (size_t)detail_size, "%s: %d of %d draws outside the ids the settings allow", c->name, outside, n_draws);
        return -1;
    }
    double pv = bins > 1 ? chi2_sf(chi, bins - 1) : 1.0;
    snprintf(detail, (size_t)detail_size, "%s: chi-square %.1f on %d bins, p = %.3g", c->name, chi, bins - 1, pv);
    return pv;
}
