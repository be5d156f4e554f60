/* Statistics for the gate; see stats.h. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double percentile(const double *x, int n, double q) {
    if (n <= 0) return NAN;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return NAN;
    memcpy(s, x, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double pos = q * (n - 1);
    int i = (int)floor(pos);
    double f = pos - i, v = i + 1 < n ? s[i] * (1 - f) + s[i + 1] * f : s[n - 1];
    free(s);
    return v;
}

double median(const double *x, int n) { return percentile(x, n, 0.5); }

double mean_of(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return n ? s / n : NAN;
}

double sd_of(const double *x, int n) {
    if (n < 2) return 0;
    double m = mean_of(x, n), s = 0;
    for (int i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_seed(rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        r->s[i] = z ^ (z >> 31);
    }
}

uint64_t rng_next(rng *r) {
    uint64_t *s = r->s, v = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return v;
}

double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

double rng_normal(rng *r) {
    double u = rng_uniform(r), v = rng_uniform(r);
    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

void ratio_ci(const double *a, const double *b, int n, int B, uint64_t seed, double *ratio, double *lo, double *hi) {
    *ratio = median(b, n) / median(a, n);
    double *ra = malloc((size_t)n * sizeof *ra), *rb = malloc((size_t)n * sizeof *rb), *r = malloc((size_t)B * sizeof *r);
    if (!ra || !rb || !r || n < 2) {
        *lo = *hi = *ratio;
        free(ra); free(rb); free(r);
        return;
    }
    rng g;
    rng_seed(&g, seed);
    for (int k = 0; k < B; k++) {
        for (int i = 0; i < n; i++) {
            int j = (int)(rng_uniform(&g) * n);
            ra[i] = a[j];
            rb[i] = b[j];
        }
        r[k] = median(rb, n) / median(ra, n);
    }
    *lo = percentile(r, B, 0.025);
    *hi = percentile(r, B, 0.975);
    free(ra); free(rb); free(r);
}

/* regularized upper incomplete gamma Q(s, x): series below s + 1, else a
 * continued fraction (Lentz) */
static double gamma_q(double s, double x) {
    if (x <= 0) return 1;
    double lg = lgamma(s);
    if (x < s + 1) {
        double sum = 1 / s, term = sum;
        for (int k = 1; k < 10000; k++) {
            term *= x / (s + k);
            sum += term;
            if (term < sum * 1e-15) break;
        }
        return 1 - sum * exp(-x + s * log(x) - lg);
    }
    double b = x + 1 - s, c = 1e300, d = 1 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        double an = -i * (i - s);
        b += 2;
        d = an * d + b;
        if (fabs(d) < 1e-300) d = 1e-300;
        c = b + an / c;
        if (fabs(c) < 1e-300) c = 1e-300;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15) break;
    }
    return exp(-x + s * log(x) - lg) * h;
}

double chi2_sf(double x, int k) { return k <= 0 ? 1 : gamma_q(k / 2.0, x / 2.0); }
