/* Causal grouped-query attention over the KV cache, in tiles.
 *
 * A work unit is one KV head and a tile of up to ATT_TQ query tokens: the
 * group's query heads x those tokens are the tile's rows. Keys and values are
 * read in blocks of ATT_B positions, converted once to f32 by kv_read (keys
 * transposed), and every row of the tile uses them: scores S = q K^T, then an
 * online softmax (running max and sum, flash-attention style) folds P V into
 * the output. No score matrix larger than one row by ATT_B is ever held, so a
 * long prompt costs memory linear in nothing but the cache itself.
 *
 * The two inner loops (scores, and P V) come from the kernel table: the same
 * plain C built for each instruction set (kernels/generic.h). */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "engine.h"

size_t attention_scratch_floats(int head_dim, int group) {
    /* kt, vb, a score row per head of the group, and per row of a tile: output, max, sum */
    return (size_t)2 * head_dim * ATT_B + (size_t)group * ATT_B + (size_t)group * ATT_TQ * (head_dim + 2);
}

void attention_worker(void *arg, int ith, int nth) {
    const att_job *job = arg;
    const qi_engine *e = job->e;
    const qi_model *m = e->model;
    const int hd = m->head_dim, group = m->n_head / m->n_head_kv, q_dim = m->n_head * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    const qi_kernels *K = e->kern;
    float *scratch = e->scratch.att_scratch + (size_t)ith * attention_scratch_floats(hd, group);
    float *kt = scratch, *vb = kt + (size_t)hd * ATT_B, *sc = vb + (size_t)hd * ATT_B;
    float *out = sc + (size_t)group * ATT_B, *row_max = out + (size_t)group * ATT_TQ * hd, *row_sum = row_max + group * ATT_TQ;

    int tiles = (job->n + ATT_TQ - 1) / ATT_TQ, lo, hi;
    split_range(m->n_head_kv * tiles, 1, ith, nth, &lo, &hi);
    for (int u = lo; u < hi; u++) {
        int g = u / tiles, t0 = (u % tiles) * ATT_TQ;
        int t1 = t0 + ATT_TQ < job->n ? t0 + ATT_TQ : job->n;
        int rows = (t1 - t0) * group, off = g * hd;
        int last = e->pos + t1 - 1; /* the last key any row of the tile sees */
        for (int r = 0; r < rows; r++) {
            row_max[r] = -INFINITY;
            row_sum[r] = 0;
        }
        memset(out, 0, (size_t)rows * hd * sizeof(float));
        for (int p0 = 0; p0 <= last; p0 += ATT_B) {
            int nb = last + 1 - p0 < ATT_B ? last + 1 - p0 : ATT_B;
            if (nb < ATT_B) /* the score kernel reads whole blocks: keep the tail defined */
                for (int d = 0; d < hd; d++) memset(kt + (size_t)d * ATT_B + nb, 0, (size_t)(ATT_B - nb) * sizeof(float));
            kv_read(&e->kv, job->layer, p0, nb, off, hd, kt, ATT_B, vb);
            /* the group's query heads of one token share the causal limit */
            for (int t = t0; t < t1; t++) {
                int visible = e->pos + t - p0 + 1; /* causal mask: keys up to the token's own position */
                int nj = visible < nb ? visible : nb;
                if (nj <= 0) continue;
                int r0 = (t - t0) * group;
                const float *q = e->scratch.q + (size_t)t * q_dim + (size_t)g * group * hd;
                K->att_scores(sc, q, kt, hd, nj, group, ATT_B, scale);
                for (int i = 0; i < group; i++) {
                    int r = r0 + i;
                    float *row = sc + (size_t)i * ATT_B, bm = row[0];
                    for (int j = 1; j < nj; j++) bm = row[j] > bm ? row[j] : bm;
                    if (bm > row_max[r]) { /* rescale what was summed under the old max */
                        float c = expf(row_max[r] - bm), *o = out + (size_t)r * hd;
                        row_sum[r] *= c;
                        for (int d = 0; d < hd; d++) o[d] *= c;
                        row_max[r] = bm;
                    }
                    row_sum[r] += K->att_exp(row, nj, row_max[r]);
                }
                K->att_accum(out + (size_t)r0 * hd, sc, vb, nj, hd, group, ATT_B);
            }
        }
        for (int r = 0; r < rows; r++) {
            int t = t0 + r / group, h = g * group + r % group;
            float inv = 1.0f / row_sum[r], *dst = e->scratch.att + (size_t)t * q_dim + (size_t)h * hd;
            for (int d = 0; d < hd; d++) dst[d] = out[(size_t)r * hd + d] * inv;
        }
    }
}
