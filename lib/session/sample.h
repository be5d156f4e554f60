/* Samplers, independent of the model so that tests can drive them with
 * made-up logits. Internal. */
#ifndef QINFER_SAMPLE_H
#define QINFER_SAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include "qinfer.h"

struct qi_sampler {
    qi_config cfg;       /* settings, for the public qi_sampler_* calls */
    int n_vocab;
    float *val;          /* [n_vocab] working logits, then probabilities */
    int32_t *idx;        /* [n_vocab] candidate ids */
    uint64_t rng[4];     /* xoshiro256** */
};

qi_status sampler_init(qi_sampler *sp, int n_vocab, uint64_t seed);
/* what sampler_init allocates: val and idx (sampler.c; qi_session_bytes counts it) */
size_t sampler_bytes(int n_vocab);
void sampler_free(qi_sampler *sp);
void sampler_seed(qi_sampler *sp, uint64_t seed);
/* A uniform double in [0, 1). */
double sampler_uniform(qi_sampler *sp);

/* Pick a token from logits[n_vocab] with cfg's settings. `recent` holds the
 * last n_recent ids fed (for the repetition penalty). */
qi_status sampler_sample(qi_sampler *sp, const qi_config *cfg, const float *logits, const int32_t *recent,
                         int n_recent, int32_t *out);

#endif
