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
 * Matrix products run chunk-wide: every weight row is read once per chunk
 * and used for all n tokens; a decode step is the same code with n = 1.
 * The products and the attention are split across the session's threads
 * by rows and by (token, head). */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "quant.h"
#include "session.h"

/* ---- matrix products ------------------------------------------------------ */

/* Up to three products that share one input (q/k/v, gate/up) run as one
 * parallel job over their concatenated rows. */
typedef struct mm_job {
    const qi_session *s;
    int n_mats;
    const qi_weight *w[3];
    const float *bias[3];
    float *out[3];             /* [n][w->n_out] */
    const float *x;            /* f32 input [n][n_in] */
    const block_q8_0 *xq;      /* the same, quantized, or NULL */
    int n;
} mm_job;

static int uses_q8(const qi_session *s, const qi_weight *w) {
    return s->cfg.compute == QI_COMPUTE_Q8 && (w->type == GGML_Q4_0 || w->type == GGML_Q8_0);
}

/* Rows [r0, r1) of one product. */
static void mm_rows(const mm_job *j, int ith, int m, int r0, int r1) {
    const qi_session *s = j->s;
    const qi_weight *W = j->w[m];
    const uint8_t *w0 = (const uint8_t *)W->data + (size_t)r0 * W->row_bytes;
    float *out = j->out[m];
    if (uses_q8(s, W)) {
        qi_gemm_fn gemm = W->type == GGML_Q4_0 ? s->kern->gemm_q4_0 : s->kern->gemm_q8_0;
        gemm(W->n_in, w0, W->row_bytes, r1 - r0, j->xq, (size_t)W->n_in / QK8_0, j->n, out + r0, (size_t)W->n_out);
    } else {
        float *wrow = s->s.wrow + (size_t)ith * s->s.max_dim;
        for (int r = r0; r < r1; r++, w0 += W->row_bytes) {
            const float *w = (const float *)w0;
            if (W->type != GGML_F32) {
                dequantize_row(W->type, w0, wrow, W->n_in);
                w = wrow;
            }
            for (int t = 0; t < j->n; t++)
                out[(size_t)t * W->n_out + r] = s->kern->dot_f32(w, j->x + (size_t)t * W->n_in, W->n_in);
        }
    }
    if (j->bias[m])
        for (int t = 0; t < j->n; t++)
            for (int r = r0; r < r1; r++) out[(size_t)t * W->n_out + r] += j->bias[m][r];
}

static void mm_worker(void *arg, int ith, int nth) {
    const mm_job *j = arg;
    int total = 0;
    for (int m = 0; m < j->n_mats; m++) total += j->w[m]->n_out;
    int lo, hi;
    split_range(total, 16, ith, nth, &lo, &hi);
    for (int m = 0, base = 0; m < j->n_mats; base += j->w[m]->n_out, m++) {
        int a = lo > base ? lo - base : 0, b = hi - base < j->w[m]->n_out ? hi - base : j->w[m]->n_out;
        if (a < b) mm_rows(j, ith, m, a, b);
    }
}

/* out_i[t] = W_i x[t] + bias_i for the given products, which share x. */
static void matmul(qi_session *s, const float *x, int n, int n_mats, const qi_weight *const *w,
                   const float *const *bias, float *const *out) {
    mm_job j = {.s = s, .n_mats = n_mats, .x = x, .n = n};
    int need_q8 = 0;
    for (int m = 0; m < n_mats; m++) {
        j.w[m] = w[m];
        j.bias[m] = bias ? bias[m] : NULL;
        j.out[m] = out[m];
        need_q8 |= uses_q8(s, w[m]);
    }
    if (need_q8) { /* quantize the input once for every product that reads it */
        int n_in = w[0]->n_in;
        for (int t = 0; t < n; t++)
            s->kern->quantize_q8_0(x + (size_t)t * n_in, s->s.xq + (size_t)t * (n_in / QK8_0), n_in);
        j.xq = s->s.xq;
    }
    pool_run(s->pool, mm_worker, &j);
}

static void matmul1(qi_session *s, const float *x, int n, const qi_weight *w, float *out) {
    matmul(s, x, n, 1, &w, NULL, &out);
}

/* ---- small pieces ------------------------------------------------------------ */

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

/* ---- the pass ------------------------------------------------------------------ */

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
        const qi_weight *qkv[3] = {&L->wq, &L->wk, &L->wv};
        const float *qkv_bias[3] = {L->bq, L->bk, L->bv};
        float *qkv_out[3] = {S->q, S->k, S->v};
        matmul(s, S->xn, n, 3, qkv, qkv_bias, qkv_out);
        for (int t = 0; t < n; t++) {
            const float *c = S->rope_cos + t * half, *sn = S->rope_sin + t * half;
            rope(S->q + (size_t)t * q_dim, m->n_head, m->head_dim, c, sn);
            rope(S->k + (size_t)t * kv_dim, m->n_head_kv, m->head_dim, c, sn);
            kv_store(&s->kv, l, s->pos + t, S->k + (size_t)t * kv_dim, S->v + (size_t)t * kv_dim);
        }
        att_job aj = {s, l, n};
        pool_run(s->pool, attention_worker, &aj);
        matmul1(s, S->att, n, &L->wo, S->xn);
        for (size_t i = 0; i < (size_t)n * D; i++) S->x[i] += S->xn[i];

        for (int t = 0; t < n; t++) rmsnorm(S->xn + (size_t)t * D, S->x + (size_t)t * D, L->ffn_norm, D, m->norm_eps);
        const qi_weight *gu[2] = {&L->w_gate, &L->w_up};
        float *gu_out[2] = {S->gate, S->up};
        matmul(s, S->xn, n, 2, gu, NULL, gu_out);
        s->kern->swiglu(S->gate, S->up, n * m->n_ff);
        matmul1(s, S->gate, n, &L->w_down, S->xn);
        for (size_t i = 0; i < (size_t)n * D; i++) S->x[i] += S->xn[i];
    }
    s->pos += n;
    if (!logits) return; /* a prompt chunk whose logits nobody needs */
    /* the head runs only on the rows the caller wants */
    int first = all ? 0 : n - 1;
    for (int t = first; t < n; t++)
        rmsnorm(S->xn + (size_t)(t - first) * D, S->x + (size_t)t * D, m->output_norm, D, m->norm_eps);
    matmul1(s, S->xn, n - first, &m->output, logits);
}
