/* Medians, percentiles and the bootstrap interval the gate decides by. */
#ifndef QINFER_GATE_STATS_H
#define QINFER_GATE_STATS_H

#include <stdint.h>

double median(const double *x, int n);
double percentile(const double *x, int n, double q); /* q in [0, 1], linear between order statistics */
double mean_of(const double *x, int n);
double sd_of(const double *x, int n);

/* ratio of medians median(b) / median(a) over n pairs (a[i], b[i]), and its
 * 95% interval from B bootstrap resamples of the pairs (never of tokens);
 * the resampling RNG starts from seed, so the interval is reproducible */
void ratio_ci(const double *a, const double *b, int n, int B, uint64_t seed, double *ratio, double *lo, double *hi);

/* upper tail of the chi-square distribution: P(X >= x) with k degrees of freedom */
double chi2_sf(double x, int k);

/* a small, seedable RNG (xoshiro256**) for the judge's own draws */
typedef struct rng { uint64_t s[4]; } rng;
void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);
double rng_uniform(rng *r);  /* [0, 1) */
double rng_normal(rng *r);   /* N(0, 1) */

#endif
