/* The Qwen2 forward pass, top to bottom, for a chunk of n tokens:
 *
 *   x = embed(ids)
 *   for each layer:
 *       xn = rmsnorm(x) * attn_norm
 *       q, k, v = xn Wq + bq, xn Wk + bk, xn Wv + bv
 *       rope(q, k)                       rotate-half (NEOX) pairing
 *       cache k, v at their positions
 *       att = softmax(q k^T / sqrt(d) + causal mask) v   per head, GQA
 *       x += att Wo
 *       xn = rmsnorm(x) * ffn_norm
 *       x += (silu(xn Wg) * (xn Wu)) Wd
 *   logits = (rmsnorm(x) * output_norm) Wout
 *
 * Matrices are multiplied chunk-wide (each weight row is decoded once and
 * used for all n tokens); a decode step is the same code with n = 1. */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "session.h"

/* out[t][r] = W[r] . x[t] (+ bias[r]), for t < n, r < n_out */
static void matmul(const qi_weight *W, const float *bias, const float *x, int n, float *out,
                   float *wrow) {
    const uint8_t *rowp = W->data;
    for (int r = 0; r < W->n_out; r++, rowp += W->row_bytes) {
        const float *w = (const float *)rowp;
        if (W->type != GGML_F32) {
            dequantize_row(W->type, rowp, wrow, W->n_in);
            w = wrow;
        }
        float b = bias ? bias[r] : 0.0f;
        for (int t = 0; t < n; t++)
            out[(size_t)t * W->n_out + r] = dot_f32(w, x + (size_t)t * W->n_in, W->n_in) + b;
    }
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    float ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    float scale = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

/* cos/sin of pos * theta^(-2i/d), angles in double so that late positions
 * keep their precision. */
static void rope_tables(const qi_model *m, int pos0, int n, float *cosv, float *sinv) {
    int half = m->head_dim / 2;
    for (int i = 0; i < half; i++) {
        double inv_freq = pow((double)m->rope_theta, -2.0 * i / (double)m->head_dim);
        for (int t = 0; t < n; t++) {
            double a = (double)(pos0 + t) * inv_freq;
            cosv[t * half + i] = (float)cos(a);
            sinv[t * half + i] = (float)sin(a);
        }
    }
}

/* Rotate-half: element i pairs with i + d/2 in every head. */
static void rope(float *v, int n_heads, int head_dim, const float *cosv, const float *sinv) {
    int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *x = v + h * head_dim;
        for (int i = 0; i < half; i++) {
            float a = x[i], b = x[i + half];
            x[i] = a * cosv[i] - b * sinv[i];
            x[i + half] = b * cosv[i] + a * sinv[i];
        }
    }
}

/* One query token at position `pos` against cache rows 0..pos. */
static void attention(const qi_session *s, int layer, int pos, const float *q, float *out) {
    const qi_model *m = s->model;
    int hd = m->head_dim, group = m->n_head / m->n_head_kv;
    float scale = 1.0f / sqrtf((float)hd);
    float *sc = s->s.scores;
    for (int h = 0; h < m->n_head; h++) {
        int off = (h / group) * hd; /* GQA: query head h reads kv head h / group */
        const float *qh = q + h * hd;
        float mx = -INFINITY;
        for (int p = 0; p <= pos; p++) {
            sc[p] = kv_dot_k(&s->kv, layer, p, off, qh, hd) * scale;
            if (sc[p] > mx) mx = sc[p];
        }
        float sum = 0;
        for (int p = 0; p <= pos; p++) {
            sc[p] = expf(sc[p] - mx);
            sum += sc[p];
        }
        float *oh = out + h * hd;
        memset(oh, 0, (size_t)hd * sizeof(float));
        float inv = 1.0f / sum;
        for (int p = 0; p <= pos; p++) kv_axpy_v(&s->kv, layer, p, off, sc[p] * inv, oh, hd);
    }
}

static float silu(float x) { return x / (1.0f + expf(-x)); }

void forward(qi_session *s, const int32_t *ids, int n, float *logits, int all) {
    const qi_model *m = s->model;
    qi_scratch *S = &s->s;
    int D = m->n_embd, q_dim = m->n_head * m->head_dim, kv_dim = m->n_head_kv * m->head_dim;
    int half = m->head_dim / 2;

    for (int t = 0; t < n; t++)
        dequantize_row(m->tok_embd.type, (const uint8_t *)m->tok_embd.data + (size_t)ids[t] * m->tok_embd.row_bytes,
                       S->x + (size_t)t * D, D);
    rope_tables(m, s->pos, n, S->rope_cos, S->rope_sin);

    for (int l = 0; l < m->n_layer; l++) {
        const qi_layer *L = &m->layers[l];
        for (int t = 0; t < n; t++) rmsnorm(S->xn + (size_t)t * D, S->x + (size_t)t * D, L->attn_norm, D, m->norm_eps);
        matmul(&L->wq, L->bq, S->xn, n, S->q, S->wrow);
        matmul(&L->wk, L->bk, S->xn, n, S->k, S->wrow);
        matmul(&L->wv, L->bv, S->xn, n, S->v, S->wrow);
        for (int t = 0; t < n; t++) {
            const float *c = S->rope_cos + t * half, *sn = S->rope_sin + t * half;
            rope(S->q + (size_t)t * q_dim, m->n_head, m->head_dim, c, sn);
            rope(S->k + (size_t)t * kv_dim, m->n_head_kv, m->head_dim, c, sn);
            kv_store(&s->kv, l, s->pos + t, S->k + (size_t)t * kv_dim, S->v + (size_t)t * kv_dim);
        }
        /* token t sees positions up to its own: the causal mask */
        for (int t = 0; t < n; t++) attention(s, l, s->pos + t, S->q + (size_t)t * q_dim, S->att + (size_t)t * q_dim);
        matmul(&L->wo, NULL, S->att, n, S->xn, S->wrow);
        for (size_t i = 0; i < (size_t)n * D; i++) S->x[i] += S->xn[i];

        for (int t = 0; t < n; t++) rmsnorm(S->xn + (size_t)t * D, S->x + (size_t)t * D, L->ffn_norm, D, m->norm_eps);
        matmul(&L->w_gate, NULL, S->xn, n, S->gate, S->wrow);
        matmul(&L->w_up, NULL, S->xn, n, S->up, S->wrow);
        for (size_t i = 0; i < (size_t)n * m->n_ff; i++) S->gate[i] = silu(S->gate[i]) * S->up[i];
        matmul(&L->w_down, NULL, S->gate, n, S->xn, S->wrow);
        for (size_t i = 0; i < (size_t)n * D; i++) S->x[i] += S->xn[i];
    }

    s->pos += n;
    if (!logits) return; /* a prompt chunk whose logits nobody needs */
    /* the head runs only on the rows the caller wants */
    int first = all ? 0 : n - 1;
    for (int t = first; t < n; t++)
        rmsnorm(S->xn + (size_t)(t - first) * D, S->x + (size_t)t * D, m->output_norm, D, m->norm_eps);
    matmul(&m->output, NULL, S->xn, n - first, logits, S->wrow);
}
