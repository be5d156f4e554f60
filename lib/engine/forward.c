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
 * The engine's threads split products by rows, attention by (KV head,
 * query tile), and the per-token steps between them (norms, RoPE, the
 * 8-bit quantization of the next product's input) by tokens. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "attention.h"
#include "formats/quant.h"
#include "engine.h"

/* ---- matrix products ------------------------------------------------------ */

/* Up to three products that share one input (q/k/v, gate/up) run as one
 * parallel job over their concatenated rows. */
typedef struct mm_job {
    const qi_engine *e;
    int n_mats;
    const qi_weight *w[3];
    const float *bias[3];
    float *out[3];             /* [n][w->n_out] */
    const float *x;            /* f32 input [n][n_in] */
    const block_q8_0 *xq;      /* the same, quantized, or NULL */
    int n;
    int rows_per_item;         /* 0: one equal share per thread (bounds on 16 rows) */
    atomic_int next_item;      /* else: items of that many rows, taken in turn */
} mm_job;

static int uses_q8(const qi_engine *e, const qi_weight *w) {
    return e->compute == QI_COMPUTE_Q8 && kernels_gemm(e->kern, w->type) != NULL;
}

/* Thread ith's scratch for row16 rows in the file's layout */
static uint8_t *weight_rows(const qi_engine *e, int ith) { return e->scratch.rows + (size_t)ith * e->scratch.rows_stride; }

/* Row r of W in the file's layout: in place, or unpacked from its row16 group */
static const uint8_t *file_row(const qi_engine *e, int ith, const qi_weight *W, int r) {
    const uint8_t *p = (const uint8_t *)W->data + (size_t)r * W->row_bytes;
    if (!W->row16) return p;
    uint8_t *row = weight_rows(e, ith);
    row16_unpack(W->type, p - (size_t)(r % ROW16) * W->row_bytes, r % ROW16, row, W->n_in);
    return row;
}

/* Rows [r0, r1) of one product. */
static void mm_rows(const mm_job *j, int ith, int m, int r0, int r1) {
    const qi_engine *e = j->e;
    const qi_weight *W = j->w[m];
    const uint8_t *w0 = (const uint8_t *)W->data + (size_t)r0 * W->row_bytes;
    float *out = j->out[m];
    if (e->compute == QI_COMPUTE_Q8 && (W->type == GGML_F16 || W->type == GGML_BF16)) {
        (W->type == GGML_F16 ? e->kern->gemm_f16 : e->kern->gemm_bf16)(W->n_in, w0, W->row_bytes, r1 - r0, j->x,
                                                                       (size_t)W->n_in, j->n, out + r0, (size_t)W->n_out);
    } else if (uses_q8(e, W) && W->row16) {
        kernels_gemm_row16(e->kern, W->type, W->n_in, w0, W->row_bytes, r1 - r0, j->xq, (size_t)W->n_in / QK8_0, j->n,
                           out + r0, (size_t)W->n_out, e->decode_prefetch, weight_rows(e, ith));
    } else if (uses_q8(e, W)) {
        kernels_gemm(e->kern, W->type)(W->n_in, w0, W->row_bytes, r1 - r0, j->xq, (size_t)W->n_in / QK8_0, j->n, out + r0, (size_t)W->n_out,
             e->decode_prefetch);
    } else {
        float *wrow = e->scratch.wrow + (size_t)ith * e->scratch.max_dim;
        for (int r = r0; r < r1; r++, w0 += W->row_bytes) {
            const float *w = (const float *)w0;
            if (W->type != GGML_F32) {
                dequantize_row(W->type, file_row(e, ith, W, r), wrow, W->n_in);
                w = wrow;
            }
            for (int t = 0; t < j->n; t++)
                out[(size_t)t * W->n_out + r] = e->kern->dot_f32(w, j->x + (size_t)t * W->n_in, W->n_in);
        }
    }
    if (j->bias[m])
        for (int t = 0; t < j->n; t++)
            for (int r = r0; r < r1; r++) out[(size_t)t * W->n_out + r] += j->bias[m][r];
}

/* Rows [lo, hi) of the concatenated products. */
static void mm_range(const mm_job *j, int ith, int lo, int hi) {
    for (int m = 0, base = 0; m < j->n_mats; base += j->w[m]->n_out, m++) {
        int a = lo > base ? lo - base : 0, b = hi - base < j->w[m]->n_out ? hi - base : j->w[m]->n_out;
        if (a < b) mm_rows(j, ith, m, a, b);
    }
}

static void mm_worker(void *arg, int ith, int nth) {
    mm_job *j = arg;
    int total = 0;
    for (int m = 0; m < j->n_mats; m++) total += j->w[m]->n_out;
    if (!j->rows_per_item) {
        int lo, hi;
        split_range(total, 16, ith, nth, &lo, &hi);
        mm_range(j, ith, lo, hi);
        return;
    }
    for (;;) {
        int lo = atomic_fetch_add(&j->next_item, 1) * j->rows_per_item;
        if (lo >= total) break;
        mm_range(j, ith, lo, lo + j->rows_per_item < total ? lo + j->rows_per_item : total);
    }
}

/* out_i[t] = W_i x[t] + bias_i for the given products, which share x. xq is
 * x already quantized (by the per-token step before), for the products that
 * take 8-bit input. */
static void matmul(qi_engine *e, const float *x, const block_q8_0 *xq, int n, int n_mats, const qi_weight *const *w,
                   const float *const *bias, float *const *out) {
    mm_job j = {.e = e, .n_mats = n_mats, .x = x, .xq = xq, .n = n,
                .rows_per_item = n == 1 ? e->decode_rows : e->prefill_rows};
    atomic_init(&j.next_item, 0);
    for (int m = 0; m < n_mats; m++) {
        j.w[m] = w[m];
        j.bias[m] = bias ? bias[m] : NULL;
        j.out[m] = out[m];
    }
    pool_run(e->pool, mm_worker, &j);
}

static void matmul1(qi_engine *e, const float *x, const block_q8_0 *xq, int n, const qi_weight *w, float *out) {
    matmul(e, x, xq, n, 1, &w, NULL, &out);
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

/* ---- per-token steps ------------------------------------------------------------ */

/* The work between two products, one token at a time; spread over the pool
 * when a prompt chunk has enough tokens, inline for a decode step. */
typedef void (*token_fn)(qi_engine *e, const qi_layer *L, int t);

typedef struct tok_job {
    qi_engine *e;
    const qi_layer *L;
    int n;
    token_fn fn;
} tok_job;

static void tok_worker(void *arg, int ith, int nth) {
    const tok_job *j = arg;
    int lo, hi;
    split_range(j->n, 1, ith, nth, &lo, &hi);
    for (int t = lo; t < hi; t++) j->fn(j->e, j->L, t);
}

static void per_token(qi_engine *e, const qi_layer *L, int n, token_fn fn) {
    tok_job j = {e, L, n, fn};
    if (n < 2 * pool_threads(e->pool)) tok_worker(&j, 0, 1);
    else pool_run(e->pool, tok_worker, &j);
}

/* row t of x (n_in wide) quantized into row t of xq, if w takes 8-bit input */
static void quantize_input(qi_engine *e, const qi_weight *w, const float *x, int t) {
    if (!uses_q8(e, w)) return;
    size_t n_in = (size_t)w->n_in;
    e->kern->quantize_q8_0(x + (size_t)t * n_in, e->scratch.xq + (size_t)t * (n_in / QK8_0), (int)n_in);
}

/* x += the previous layer's MLP output (none before layer 0); xn = rmsnorm(x) */
static void step_attn_in(qi_engine *e, const qi_layer *L, int t) {
    const qi_model *m = e->model;
    size_t D = (size_t)m->n_embd;
    float *x = e->scratch.x + t * D, *xn = e->scratch.xn + t * D;
    if (L != m->layers)
        for (size_t i = 0; i < D; i++) x[i] += xn[i];
    rmsnorm(xn, x, L->attn_norm, (int)D, m->norm_eps);
    quantize_input(e, &L->wq, e->scratch.xn, t);
}

/* RoPE on q and k, then k and v into the cache */
static void step_rope_store(qi_engine *e, const qi_layer *L, int t) {
    const qi_model *m = e->model;
    const qi_scratch *S = &e->scratch;
    int q_dim = m->n_head * m->head_dim, kv_dim = m->n_head_kv * m->head_dim, half = m->head_dim / 2;
    const float *c = S->rope_cos + t * half, *sn = S->rope_sin + t * half;
    rope(S->q + (size_t)t * q_dim, m->n_head, m->head_dim, c, sn);
    rope(S->k + (size_t)t * kv_dim, m->n_head_kv, m->head_dim, c, sn);
    kv_store(&e->kv, (int)(L - m->layers), e->pos + t, S->k + (size_t)t * kv_dim, S->v + (size_t)t * kv_dim);
}

static void step_att_out(qi_engine *e, const qi_layer *L, int t) { quantize_input(e, &L->wo, e->scratch.att, t); }

/* x += attention output; xn = rmsnorm(x) */
static void step_ffn_in(qi_engine *e, const qi_layer *L, int t) {
    const qi_model *m = e->model;
    size_t D = (size_t)m->n_embd;
    float *x = e->scratch.x + t * D, *xn = e->scratch.xn + t * D;
    for (size_t i = 0; i < D; i++) x[i] += xn[i];
    rmsnorm(xn, x, L->ffn_norm, (int)D, m->norm_eps);
    quantize_input(e, &L->w_gate, e->scratch.xn, t);
}

static void step_swiglu(qi_engine *e, const qi_layer *L, int t) {
    size_t F = (size_t)e->model->n_ff;
    e->kern->swiglu(e->scratch.gate + t * F, e->scratch.up + t * F, (int)F);
    quantize_input(e, &L->w_down, e->scratch.gate, t);
}

/* ---- the pass ------------------------------------------------------------------ */

void forward(qi_engine *e, const int32_t *ids, int n, float *logits, int all) {
    const qi_model *m = e->model;
    qi_scratch *S = &e->scratch;
    size_t D = (size_t)m->n_embd;

    for (int t = 0; t < n; t++)
        dequantize_row(m->tok_embd.type, file_row(e, 0, &m->tok_embd, ids[t]), S->x + t * D, (int64_t)D);
    rope_tables(m, e->pos, n, S->rope_cos, S->rope_sin);

    for (int l = 0; l < m->n_layer; l++) {
        const qi_layer *L = &m->layers[l];
        per_token(e, L, n, step_attn_in);
        const qi_weight *qkv[3] = {&L->wq, &L->wk, &L->wv};
        const float *qkv_bias[3] = {L->bq, L->bk, L->bv};
        float *qkv_out[3] = {S->q, S->k, S->v};
        matmul(e, S->xn, S->xq, n, 3, qkv, qkv_bias, qkv_out);
        per_token(e, L, n, step_rope_store);
        att_job aj = {e, l, n};
        pool_run(e->pool, attention_worker, &aj);
        per_token(e, L, n, step_att_out);
        matmul1(e, S->att, S->xq, n, &L->wo, S->xn);
        per_token(e, L, n, step_ffn_in);
        const qi_weight *gu[2] = {&L->w_gate, &L->w_up};
        float *gu_out[2] = {S->gate, S->up};
        matmul(e, S->xn, S->xq, n, 2, gu, NULL, gu_out);
        per_token(e, L, n, step_swiglu);
        matmul1(e, S->gate, S->xq, n, &L->w_down, S->xn);
    }
    for (size_t i = 0; i < (size_t)n * D; i++) S->x[i] += S->xn[i]; /* the last MLP output */
    e->pos += n;
    if (!logits) return; /* a prompt chunk whose logits nobody needs */
    /* the head runs only on the rows the caller wants */
    int first = all ? 0 : n - 1;
    for (int t = first; t < n; t++) {
        rmsnorm(S->xn + (t - first) * D, S->x + t * D, m->output_norm, (int)D, m->norm_eps);
        quantize_input(e, &m->output, S->xn, t - first);
    }
    matmul1(e, S->xn, S->xq, n - first, &m->output, logits);
}
