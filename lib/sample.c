/* Samplers: repetition penalty, temperature, top-k, top-p, min-p, then a
 * draw from what is left, in the order transformers applies them. The
 * optimisation loop may edit this file; the library checks what it returns. */
#include "session/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sampler_seed(qi_sampler *sp, uint64_t seed) {
    for (int i = 0; i < 4; i++) sp->rng[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(qi_sampler *sp) {
    uint64_t *s = sp->rng;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

double sampler_uniform(qi_sampler *sp) { return (double)(next_u64(sp) >> 11) * 0x1.0p-53; }

qi_status sampler_init(qi_sampler *sp, int n_vocab, uint64_t seed) {
    memset(sp, 0, sizeof *sp);
    sp->n_vocab = n_vocab;
    sp->val = malloc((size_t)n_vocab * sizeof *sp->val);
    sp->idx = malloc((size_t)n_vocab * sizeof *sp->idx);
    if (!sp->val || !sp->idx) {
        sampler_free(sp);
        return QI_ERR_NOMEM;
    }
    sampler_seed(sp, seed);
    return QI_OK;
}

void sampler_free(qi_sampler *sp) {
    free(sp->val);
    free(sp->idx);
    sp->val = NULL;
    sp->idx = NULL;
}

/* Greedy: the highest logit, the lowest id on a tie. */
static int32_t argmax(const float *x, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Heap order: the root holds the smallest value (on a tie, the larger id
 * counts as smaller, so lower ids win). */
static int less(const float *v, int32_t a, int32_t b) { return v[a] < v[b] || (v[a] == v[b] && a > b); }

static void sift_down(const float *v, int32_t *h, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && less(v, h[l], h[m])) m = l;
        if (r < n && less(v, h[r], h[m])) m = r;
        if (m == i) return;
        int32_t t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

/* ids[0..k) holds a heap; sort it best first */
static void heap_sort_desc(const float *v, int32_t *ids, int k) {
    for (int end = k - 1; end > 0; end--) {
        int32_t t = ids[0]; ids[0] = ids[end]; ids[end] = t;
        sift_down(v, ids, end, 0);
    }
}

static void sort_desc(const float *v, int32_t *ids, int k) {
    for (int i = k / 2 - 1; i >= 0; i--) sift_down(v, ids, k, i);
    heap_sort_desc(v, ids, k);
}

/* The k largest of v[0..n) into idx[0..k), best first: O(n log k). */
static void top_k_sorted(const float *v, int n, int k, int32_t *idx) {
    for (int i = 0; i < k; i++) idx[i] = i;
    for (int i = k / 2 - 1; i >= 0; i--) sift_down(v, idx, k, i);
    for (int i = k; i < n; i++)
        if (less(v, idx[0], i)) { idx[0] = i; sift_down(v, idx, k, 0); }
    heap_sort_desc(v, idx, k);
}

/* Top-p over the whole vocabulary without sorting it: bucket the weights
 * e in (0, 1] by their float bits (8 bins per octave, monotone in e), find
 * the bin where the running mass reaches top_p, and sort only that bin.
 * Keeps the smallest best-first prefix whose mass reaches top_p * total,
 * exactly what a full sort would keep. Returns the count kept in idx. */
#define BINS 1024
static int bin_of(float e) {
    uint32_t bits;
    memcpy(&bits, &e, 4);
    uint32_t key = (0x3f800000u - (bits > 0x3f800000u ? 0x3f800000u : bits)) >> 20;
    return key < BINS ? (int)key : BINS - 1;
}

static int nucleus_all(const float *e, int n, double total, float top_p, int32_t *idx) {
    double mass[BINS] = {0};
    for (int i = 0; i < n; i++) mass[bin_of(e[i])] += e[i];
    double target = top_p * total, before = 0;
    int b = 0;
    while (b < BINS - 1 && before + mass[b] < target) before += mass[b++];
    int kept = 0, edge = 0;
    for (int i = 0; i < n; i++)
        if (bin_of(e[i]) < b) idx[kept++] = i;
    for (int i = 0; i < n; i++)
        if (bin_of(e[i]) == b) idx[kept + edge++] = i;
    sort_desc(e, idx + kept, edge);
    for (int j = 0; j < edge && (kept == 0 || before < target); j++) {
        before += e[idx[kept]];
        kept++;
    }
    return kept;
}

qi_status sampler_sample(qi_sampler *sp, const qi_config *cfg, const float *logits, const int32_t *recent,
                         int n_recent, int32_t *out) {
    int n = sp->n_vocab;
    float *v = sp->val;
    int32_t *idx = sp->idx;
    memcpy(v, logits, (size_t)n * sizeof *v);

    /* repetition penalty (CTRL / transformers): shrink the logits of recent ids */
    if (cfg->repeat_penalty != 1.0f && cfg->repeat_last_n > 0) {
        int start = n_recent > cfg->repeat_last_n ? n_recent - cfg->repeat_last_n : 0;
        for (int i = start; i < n_recent; i++) {
            int32_t t = recent[i];
            if (t < 0 || t >= n) continue;
            int seen = 0; /* penalise each id once */
            for (int j = start; j < i && !seen; j++) seen = recent[j] == t;
            if (!seen) v[t] = v[t] > 0 ? v[t] / cfg->repeat_penalty : v[t] * cfg->repeat_penalty;
        }
    }
    if (cfg->temperature == 0.0f) {
        *out = argmax(v, n);
        return QI_OK;
    }

    /* candidates: the top k best first, or every id in id order */
    int m = n, sorted = 0;
    if (cfg->top_k > 0 && cfg->top_k < n) {
        top_k_sorted(v, n, cfg->top_k, idx);
        m = cfg->top_k;
        sorted = 1;
    } else {
        for (int i = 0; i < n; i++) idx[i] = i;
    }
    /* temperature, then weights relative to the best: the best weighs 1 */
    float mx = v[sorted ? idx[0] : argmax(v, n)];
    double total = 0;
    for (int i = 0; i < m; i++) {
        float *x = &v[idx[i]];
        *x = expf((*x - mx) / cfg->temperature);
        total += *x;
    }
    /* top-p: the smallest best-first prefix whose mass reaches top_p */
    if (cfg->top_p < 1.0f) {
        if (sorted) {
            double before = 0, target = cfg->top_p * total;
            int kept = 0;
            while (kept < m && (kept == 0 || before < target)) before += v[idx[kept++]];
            m = kept;
        } else {
            m = nucleus_all(v, n, total, cfg->top_p, idx);
        }
    }
    /* min-p: weight >= min_p times the best's (which is 1) */
    if (cfg->min_p > 0.0f) {
        int kept = 0;
        for (int i = 0; i < m; i++)
            if (v[idx[i]] >= cfg->min_p) idx[kept++] = idx[i];
        m = kept;
    }
    double sum = 0;
    for (int i = 0; i < m; i++) sum += v[idx[i]];
    double r = sampler_uniform(sp) * sum, acc = 0;
    for (int i = 0; i < m; i++) {
        acc += v[idx[i]];
        if (r < acc) { *out = idx[i]; return QI_OK; }
    }
    *out = idx[m - 1]; /* r landed on the rounding edge */
    return QI_OK;
}
