/* Samplers. The optimisation loop may edit this file. */
#include "session.h"

/* splitmix64, to spread a seed over the xoshiro state */
static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sampler_seed(qi_session *s, uint64_t seed) {
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix(&seed);
}

/* Greedy: the highest logit, the lowest id on a tie. */
static int32_t argmax(const float *x, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

qi_status sample_token(qi_session *s, const float *logits, int32_t *out) {
    *out = argmax(logits, s->model->n_vocab);
    return QI_OK;
}
