/* Sampler fidelity: what distribution the sampling settings define, test
 * logit vectors drawn fresh from a seed the judge keeps, and a goodness-of-fit
 * test of the candidate's draws against it.
 *
 * The definition (transformers' order): the repetition penalty divides a
 * positive logit, multiplies a negative one, once per id among the last
 * repeat_last_n ids; temperature 0 is the argmax (lowest id on a tie); else
 * top-k keeps the k largest; logits are divided by the temperature and
 * softmaxed; top-p keeps the smallest best-first prefix whose mass reaches
 * top_p; min-p keeps ids whose probability is at least min_p times the
 * best's; what is left is renormalised. The cases keep every boundary (k-th
 * against k+1-th logit, the top-p prefix's mass, min-p's cut) clear of ties,
 * so the definition leaves nothing to an implementation's choice. */
#ifndef QINFER_GATE_FIDELITY_H
#define QINFER_GATE_FIDELITY_H

#include <stdint.h>

typedef struct sampling {
    double temperature, top_p, min_p, repeat_penalty;
    int top_k, repeat_last_n;
    uint64_t seed;
} sampling;

/* p[n]: the probabilities the settings give these logits; returns the
 * number of ids with p > 0 */
int reference_probs(const float *logits, int n, const sampling *s, const int32_t *recent, int n_recent, double *p);

/* 1 if the settings could draw id from logits moved by at most eps each:
 * the audit's test of a timed run's tokens against a model whose logits it
 * computes on another path (prefill instead of decode, the anchor's
 * arithmetic), which moves them by up to a few tenths at 8-bit activations
 * (top-k is checked exactly up to k = 4096) */
int could_draw(const float *logits, int n, const sampling *s, const int32_t *recent, int n_recent, int32_t id,
               double eps, double *scratch /* [n] */);

#define FID_MAX_RECENT 64

typedef struct fid_case {
    const char *name;
    sampling s;
    float *logits;              /* [n_vocab] */
    int32_t recent[FID_MAX_RECENT];
    int n_recent;
} fid_case;

/* the cases for one gate run: base is the workload's settings; returns the count */
int fidelity_cases(fid_case *out, int cap, int n_vocab, const sampling *base, uint64_t seed);
void fidelity_free(fid_case *c, int n);

/* counts[n_vocab] of n_draws draws against the reference: -1 when an id
 * outside the allowed set was drawn, else the chi-square test's p-value
 * (bins of expected count >= 5, the rest pooled); *detail gets a line */
double fidelity_test(const fid_case *c, int n_vocab, const int *counts, int n_draws, char *detail, int detail_size);

#endif
