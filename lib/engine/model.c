/* Bind GGUF tensors to a Qwen2 model. Every shape comes from the file's
 * metadata and is checked against the tensor it describes. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "formats/quant.h"
#include "kernels/kernels.h"
#include "text/tokenizer.h"
#include "base/fail.h"

static void copy_str(char *dst, size_t n, gguf_str s) {
    size_t len = s.len < n - 1 ? (size_t)s.len : n - 1;
    memcpy(dst, s.ptr, len);
    dst[len] = 0;
}

/* A required positive integer hyper-parameter "<arch>.<key>". */
static qi_status get_dim(const gguf_file *g, const char *key, int *out, char *msg, size_t n) {
    uint64_t v;
    if (!gguf_get_u64(g, key, &v))
        return fail_msg(msg, n, QI_ERR_MODEL_KEY, "metadata '%s' is missing or not an integer", key);
    if (v == 0 || v > (1u << 24))
        return fail_msg(msg, n, QI_ERR_MODEL_KEY, "metadata '%s' = %llu is out of range", key, (unsigned long long)v);
    *out = (int)v;
    return QI_OK;
}

static qi_status bind_tensor(const gguf_file *g, const char *name, int64_t ne0, int64_t ne1,
                             const gguf_tensor **out, char *msg, size_t n) {
    const gguf_tensor *t = gguf_find_tensor(g, name);
    if (!t) return fail_msg(msg, n, QI_ERR_MODEL_TENSOR, "tensor '%s' is missing", name);
    int want_dims = ne1 ? 2 : 1;
    if ((int)t->n_dims != want_dims || (int64_t)t->ne[0] != ne0 || (ne1 && (int64_t)t->ne[1] != ne1))
        return fail_msg(msg, n, QI_ERR_MODEL_TENSOR,
                    "tensor '%s' has shape [%llu x %llu] (%u dims), expected [%lld x %lld]", name,
                    (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], t->n_dims,
                    (long long)ne0, (long long)(ne1 ? ne1 : 1));
    /* the kernels read f32 as floats and every other type's f16 scales as
     * 16-bit words: a file whose general.alignment lets data start at an odd
     * offset is refused here, not read misaligned */
    uintptr_t need = t->type == GGML_F32 ? 4 : 2;
    if ((uintptr_t)t->data % need)
        return fail_msg(msg, n, QI_ERR_MODEL_TENSOR, "tensor '%s' data at file offset %llu is not %d-byte aligned", name,
                        (unsigned long long)((const uint8_t *)t->data - g->base), (int)need);
    *out = t;
    return QI_OK;
}

/* Every value of a tensor finite: F32, F16 and BF16 element by element, a
 * block format by each block's f16 scales (its integer quants and int8
 * sub-scales are finite by construction). A NaN would flow through every product to the logits,
 * where no sampler can do anything sensible with it; this reads each page
 * of the weights once, at load. */
static qi_status check_finite(const gguf_tensor *t, const char *name, char *msg, size_t n) {
    const uint8_t *p = t->data;
    uint64_t bad = UINT64_MAX;
    if (t->type == GGML_F32) {
        for (uint64_t i = 0; i < t->n_elems && bad == UINT64_MAX; i++) {
            uint32_t u;
            memcpy(&u, p + 4 * i, 4);
            if ((u & 0x7f800000u) == 0x7f800000u) bad = i;
        }
    } else if (t->type == GGML_F16 || t->type == GGML_BF16) {
        uint16_t mask = t->type == GGML_F16 ? 0x7c00 : 0x7f80;
        for (uint64_t i = 0; i < t->n_elems && bad == UINT64_MAX; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            if ((h & mask) == mask) bad = i;
        }
    } else {
        int off[2], n_f16 = block_f16_fields(t->type, off);
        uint64_t size = (uint64_t)ggml_type_size(t->type), blocks = n_f16 ? t->n_bytes / size : 0;
        for (uint64_t b = 0; b < blocks && bad == UINT64_MAX; b++)
            for (int k = 0; k < n_f16; k++) {
                uint16_t h;
                memcpy(&h, p + b * size + (uint64_t)off[k], 2);
                if ((h & 0x7c00) == 0x7c00) bad = b * (uint64_t)ggml_type_block(t->type);
            }
    }
    if (bad == UINT64_MAX) return QI_OK;
    return fail_msg(msg, n, QI_ERR_MODEL_VALUES, "tensor '%s' holds a NaN or infinite value (%s element %llu)", name,
                    ggml_type_block(t->type) > 1 ? "a scale of the block of" : "at", (unsigned long long)bad);
}

static qi_status bind_vector(const gguf_file *g, const char *name, int64_t len, const float **out,
                             char *msg, size_t n) {
    const gguf_tensor *t = NULL;
    qi_status st = bind_tensor(g, name, len, 0, &t, msg, n);
    if (st) return st;
    if (t->type != GGML_F32)
        return fail_msg(msg, n, QI_ERR_MODEL_TENSOR_TYPE, "tensor '%s' is %s; norms and biases must be F32",
                    name, ggml_type_name(t->type));
    if ((st = check_finite(t, name, msg, n))) return st;
    *out = t->data;
    return QI_OK;
}

static qi_status bind_matrix(const gguf_file *g, const char *name, int n_in, int n_out, qi_weight *w,
                             char *msg, size_t n) {
    const gguf_tensor *t = NULL;
    qi_status st = bind_tensor(g, name, n_in, n_out, &t, msg, n);
    if (st) return st;
    if (!weight_type_supported(t->type))
        return fail_msg(msg, n, QI_ERR_MODEL_TENSOR_TYPE, "tensor '%s' has type %s, which qinfer does not run",
                    name, ggml_type_name(t->type));
    if ((st = check_finite(t, name, msg, n))) return st;
    w->data = t->data;
    w->type = t->type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->row_bytes = row_bytes(t->type, n_in);
    return QI_OK;
}

static qi_status load_hparams(qi_model *m, char *msg, size_t n) {
    const gguf_file *g = &m->gguf;
    gguf_str arch;
    if (!gguf_get_str(g, "general.architecture", &arch))
        return fail_msg(msg, n, QI_ERR_MODEL_ARCH, "metadata 'general.architecture' is missing");
    if (!gguf_str_eq(arch, "qwen2")) {
        char a[64];
        copy_str(a, sizeof a, arch);
        return fail_msg(msg, n, QI_ERR_MODEL_ARCH, "general.architecture is '%s'; qinfer runs 'qwen2'", a);
    }
    qi_status st;
    if ((st = get_dim(g, "qwen2.embedding_length", &m->n_embd, msg, n)) ||
        (st = get_dim(g, "qwen2.block_count", &m->n_layer, msg, n)) ||
        (st = get_dim(g, "qwen2.attention.head_count", &m->n_head, msg, n)) ||
        (st = get_dim(g, "qwen2.feed_forward_length", &m->n_ff, msg, n)) ||
        (st = get_dim(g, "qwen2.context_length", &m->n_ctx_train, msg, n)))
        return st;
    m->n_head_kv = m->n_head;
    if (gguf_find_kv(g, "qwen2.attention.head_count_kv") &&
        (st = get_dim(g, "qwen2.attention.head_count_kv", &m->n_head_kv, msg, n)))
        return st;
    if (m->n_head % m->n_head_kv)
        return fail_msg(msg, n, QI_ERR_MODEL_KEY, "head_count %d is not a multiple of head_count_kv %d",
                    m->n_head, m->n_head_kv);
    if (gguf_find_kv(g, "qwen2.attention.key_length")) {
        if ((st = get_dim(g, "qwen2.attention.key_length", &m->head_dim, msg, n))) return st;
    } else {
        if (m->n_embd % m->n_head)
            return fail_msg(msg, n, QI_ERR_MODEL_KEY, "embedding_length %d is not a multiple of head_count %d",
                        m->n_embd, m->n_head);
        m->head_dim = m->n_embd / m->n_head;
    }
    if (m->head_dim % 2)
        return fail_msg(msg, n, QI_ERR_MODEL_KEY, "head dimension %d is odd; RoPE needs pairs", m->head_dim);
    double v;
    m->rope_theta = 10000.0f;
    if (gguf_find_kv(g, "qwen2.rope.freq_base")) {
        if (!gguf_get_f64(g, "qwen2.rope.freq_base", &v) || !(v > 0))
            return fail_msg(msg, n, QI_ERR_MODEL_KEY, "metadata 'qwen2.rope.freq_base' must be a positive number");
        m->rope_theta = (float)v;
    }
    if (!gguf_get_f64(g, "qwen2.attention.layer_norm_rms_epsilon", &v) || !(v > 0) || v > 1)
        return fail_msg(msg, n, QI_ERR_MODEL_KEY,
                    "metadata 'qwen2.attention.layer_norm_rms_epsilon' is missing or out of range");
    m->norm_eps = (float)v;
    return QI_OK;
}

static qi_status load_tokenizer_kind(qi_model *m, char *msg, size_t n) {
    const gguf_file *g = &m->gguf;
    gguf_str kind;
    if (gguf_get_str(g, "tokenizer.ggml.model", &kind)) {
        copy_str(m->tokenizer_kind, sizeof m->tokenizer_kind, kind);
    } else {
        strcpy(m->tokenizer_kind, "none");
    }
    /* qwen2.vocab_size, when present, must agree with the embedding */
    uint64_t vs;
    if (gguf_find_kv(g, "qwen2.vocab_size")) {
        if (!gguf_get_u64(g, "qwen2.vocab_size", &vs) || vs == 0 || vs > (1u << 24))
            return fail_msg(msg, n, QI_ERR_MODEL_KEY, "metadata 'qwen2.vocab_size' is not a valid count");
        m->n_vocab = (int)vs;
    }
    return QI_OK;
}

/* The tokenizer, when the file has one; its token list must fit the embedding. */
static qi_status load_tokenizer(qi_model *m, char *msg, size_t n) {
    if (!strcmp(m->tokenizer_kind, "none")) return QI_ERR_NO_VOCAB;
    qi_status st = tok_load(&m->gguf, &m->tok, msg, n);
    if (st) return st;
    if (m->n_vocab && tok_n_vocab(m->tok) > m->n_vocab)
        return fail_msg(msg, n, QI_ERR_TOKENIZER, "tokenizer.ggml.tokens has %d entries, more than the %d embedding rows",
                    tok_n_vocab(m->tok), m->n_vocab);
    return QI_OK;
}

static qi_status bind_weights(qi_model *m, char *msg, size_t n) {
    const gguf_file *g = &m->gguf;
    const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (!emb) return fail_msg(msg, n, QI_ERR_MODEL_TENSOR, "tensor 'token_embd.weight' is missing");
    if (emb->n_dims != 2 || (int64_t)emb->ne[0] != m->n_embd || emb->ne[1] > (1u << 24))
        return fail_msg(msg, n, QI_ERR_MODEL_TENSOR, "tensor 'token_embd.weight' has shape [%llu x %llu], expected [%d x n_vocab]",
                    (unsigned long long)emb->ne[0], (unsigned long long)emb->ne[1], m->n_embd);
    if (m->n_vocab && m->n_vocab != (int)emb->ne[1])
        return fail_msg(msg, n, QI_ERR_MODEL_TENSOR, "qwen2.vocab_size %d disagrees with token_embd.weight's %llu rows",
                    m->n_vocab, (unsigned long long)emb->ne[1]);
    m->n_vocab = (int)emb->ne[1];
    qi_status st;
    if ((st = bind_matrix(g, "token_embd.weight", m->n_embd, m->n_vocab, &m->tok_embd, msg, n))) return st;
    if (gguf_find_tensor(g, "output.weight")) {
        if ((st = bind_matrix(g, "output.weight", m->n_embd, m->n_vocab, &m->output, msg, n))) return st;
    } else {
        m->output = m->tok_embd;
        m->tied_output = 1;
    }
    if ((st = bind_vector(g, "output_norm.weight", m->n_embd, &m->output_norm, msg, n))) return st;

    m->layers = calloc((size_t)m->n_layer, sizeof *m->layers);
    if (!m->layers) return fail_msg(msg, n, QI_ERR_NOMEM, "out of memory");
    int q_dim = m->n_head * m->head_dim, kv_dim = m->n_head_kv * m->head_dim;
    for (int l = 0; l < m->n_layer; l++) {
        qi_layer *L = &m->layers[l];
        char name[96];
#define NAME(s) (snprintf(name, sizeof name, "blk.%d." s, l), name)
        if ((st = bind_vector(g, NAME("attn_norm.weight"), m->n_embd, &L->attn_norm, msg, n)) ||
            (st = bind_vector(g, NAME("ffn_norm.weight"), m->n_embd, &L->ffn_norm, msg, n)) ||
            (st = bind_matrix(g, NAME("attn_q.weight"), m->n_embd, q_dim, &L->wq, msg, n)) ||
            (st = bind_matrix(g, NAME("attn_k.weight"), m->n_embd, kv_dim, &L->wk, msg, n)) ||
            (st = bind_matrix(g, NAME("attn_v.weight"), m->n_embd, kv_dim, &L->wv, msg, n)) ||
            (st = bind_vector(g, NAME("attn_q.bias"), q_dim, &L->bq, msg, n)) ||
            (st = bind_vector(g, NAME("attn_k.bias"), kv_dim, &L->bk, msg, n)) ||
            (st = bind_vector(g, NAME("attn_v.bias"), kv_dim, &L->bv, msg, n)) ||
            (st = bind_matrix(g, NAME("attn_output.weight"), q_dim, m->n_embd, &L->wo, msg, n)) ||
            (st = bind_matrix(g, NAME("ffn_gate.weight"), m->n_embd, m->n_ff, &L->w_gate, msg, n)) ||
            (st = bind_matrix(g, NAME("ffn_up.weight"), m->n_embd, m->n_ff, &L->w_up, msg, n)) ||
            (st = bind_matrix(g, NAME("ffn_down.weight"), m->n_ff, m->n_embd, &L->w_down, msg, n)))
            return st;
#undef NAME
    }
    return QI_OK;
}

static qi_status copy_tensor_names(qi_model *m, char *msg, size_t n) {
    const gguf_file *g = &m->gguf;
    m->tensor_names = calloc(g->n_tensors ? g->n_tensors : 1, sizeof(char *));
    if (!m->tensor_names) return fail_msg(msg, n, QI_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_str s = g->tensors[i].name;
        if (!(m->tensor_names[i] = malloc(s.len + 1))) return fail_msg(msg, n, QI_ERR_NOMEM, "out of memory");
        memcpy(m->tensor_names[i], s.ptr, s.len);
        m->tensor_names[i][s.len] = 0;
    }
    return QI_OK;
}

/* Requantize a Q8_0 head to Q4_0 (ggml's reference rounding), then let the
 * kernel drop the mapped Q8_0 pages: resident memory shrinks instead of
 * growing by the copy. */
static qi_status requantize_output(qi_model *m, char *msg, size_t n) {
    qi_weight *w = &m->output;
    if (m->tied_output || w->type != GGML_Q8_0) return QI_OK;
    size_t rb = row_bytes(GGML_Q4_0, w->n_in);
    uint8_t *q = malloc(rb * (size_t)w->n_out);
    float *row = malloc((size_t)w->n_in * sizeof *row);
    if (!q || !row) {
        free(q);
        free(row);
        return fail_msg(msg, n, QI_ERR_NOMEM, "out of memory requantizing output.weight");
    }
    for (int r = 0; r < w->n_out; r++) {
        dequantize_row(GGML_Q8_0, (const uint8_t *)w->data + (size_t)r * w->row_bytes, row, w->n_in);
        quantize_row_q4_0(row, (block_q4_0 *)(q + (size_t)r * rb), w->n_in);
    }
    free(row);
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)w->data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t b = ((uintptr_t)w->data + w->row_bytes * (size_t)w->n_out) & ~((uintptr_t)page - 1);
    if (m->gguf.mapped && b > a) madvise((void *)a, b - a, MADV_DONTNEED);
    m->output_owned = q;
    w->data = q;
    w->type = GGML_Q4_0;
    w->row_bytes = rb;
    return QI_OK;
}

/* Interleave the rows of the Q4_0 and Q8_0 matrices in 16s (quant.h: row16)
 * where the kernel level cfg picks reads that layout faster: in the private
 * copy and the requantized head, which are ours to write. Only the order of
 * the bytes changes, so memory does not grow; every reader of a matrix
 * checks row16 (forward.c). */
static int row16_ok(const qi_weight *W) { return row16_type(W->type) && W->n_out % ROW16 == 0; }

static qi_status interleave_rows(qi_model *m, const qi_config *cfg, char *msg, size_t n) {
    if (cfg->compute != QI_COMPUTE_Q8 || !m->gguf.copied ||
        !kernels_row16_native(cfg->isa != QI_ISA_AUTO ? qi_isa_name(cfg->isa) : NULL))
        return QI_OK;
    qi_weight **w = malloc((size_t)(2 + 7 * m->n_layer) * sizeof *w);
    if (!w) return fail_msg(msg, n, QI_ERR_NOMEM, "out of memory");
    int k = 0; /* w[k] is kept when row16_ok */
    w[k] = &m->tok_embd, k += row16_ok(w[k]);
    if (!m->tied_output) w[k] = &m->output, k += row16_ok(w[k]);
    for (int l = 0; l < m->n_layer; l++) {
        qi_layer *L = &m->layers[l];
        qi_weight *lw[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        /* q, k and v run as one product whose row shares are cut at
         * multiples of 16 of the three together: all three or none */
        int first = L->wq.n_out % ROW16 || L->wk.n_out % ROW16 || L->wv.n_out % ROW16 ? 3 : 0;
        for (int i = first; i < 7; i++) w[k] = lw[i], k += row16_ok(w[k]);
    }
    size_t max_rb = 0;
    for (int i = 0; i < k; i++) max_rb = w[i]->row_bytes > max_rb ? w[i]->row_bytes : max_rb;
    uint8_t *rows = max_rb ? malloc(ROW16 * max_rb) : NULL;
    void *base = (void *)m->gguf.base;
    if (!max_rb || !rows || mprotect(base, m->gguf.region_size, PROT_READ | PROT_WRITE)) {
        free(rows);
        free(w);
        return max_rb && !rows ? fail_msg(msg, n, QI_ERR_NOMEM, "out of memory") : QI_OK; /* else: stay as stored */
    }
    for (int i = 0; i < k; i++) {
        qi_weight *W = w[i];
        uint8_t *d = (uint8_t *)(uintptr_t)W->data;
        for (int r = 0; r < W->n_out; r += ROW16, d += ROW16 * W->row_bytes) {
            memcpy(rows, d, ROW16 * W->row_bytes);
            row16_pack(W->type, rows, W->row_bytes, d, W->n_in);
        }
        W->row16 = m->row16 = 1;
    }
    mprotect(base, m->gguf.region_size, PROT_READ);
    if (m->tied_output) m->output = m->tok_embd;
    free(rows);
    free(w);
    return QI_OK;
}

qi_status qi_model_load(const char *path, qi_model **out, char *msg, size_t msg_size) {
    return qi_model_load_cfg(path, NULL, out, msg, msg_size);
}

qi_status qi_model_load_cfg(const char *path, const qi_config *cfg, qi_model **out, char *msg, size_t msg_size) {
    if (msg && msg_size) msg[0] = 0;
    if (!out) return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG, "out is NULL");
    *out = NULL; /* first, as the header promises: on any failure *out is NULL */
    qi_config defaults;
    if (!cfg) {
        qi_config_default(&defaults);
        cfg = &defaults;
    }
    qi_status cst = qi_config_check(cfg, msg, msg_size);
    if (cst) return cst;
    if (!path) return fail_msg(msg, msg_size, QI_ERR_INVALID_ARG, "path is NULL");
    qi_model *m = calloc(1, sizeof *m);
    if (!m) return fail_msg(msg, msg_size, QI_ERR_NOMEM, "out of memory");
    qi_status st = gguf_open_ex(path, cfg->huge_pages, &m->gguf, msg, msg_size);
    if (st) { free(m); return st; }
    gguf_str s;
    if (gguf_get_str(&m->gguf, "general.name", &s)) copy_str(m->name, sizeof m->name, s);
    uint64_t synth;
    m->synthetic = gguf_get_u64(&m->gguf, "qinfer.synthetic", &synth) && synth;
    /* A file without tensors is a vocabulary: good for text, not for logits. */
    m->vocab_only = m->gguf.n_tensors == 0;
    if (m->vocab_only) {
        st = load_tokenizer_kind(m, msg, msg_size);
        if (!st) st = load_tokenizer(m, msg, msg_size);
        if (st == QI_ERR_NO_VOCAB)
            st = fail_msg(msg, msg_size, QI_ERR_MODEL_TENSOR,
                      "the file holds neither tensors (token_embd.weight is missing) nor a vocabulary");
        if (!st && gguf_find_kv(&m->gguf, "qwen2.embedding_length")) st = load_hparams(m, msg, msg_size);
        if (!st) m->n_vocab = tok_n_vocab(m->tok);
    } else {
        if (!(st = load_hparams(m, msg, msg_size)) && !(st = load_tokenizer_kind(m, msg, msg_size)) &&
            !(st = bind_weights(m, msg, msg_size)) && !(st = copy_tensor_names(m, msg, msg_size))) {
            st = load_tokenizer(m, msg, msg_size);
            if (st == QI_ERR_NO_VOCAB) st = QI_OK; /* an id-only model */
            if (!st && cfg->output_q4_0) st = requantize_output(m, msg, msg_size);
            if (!st) st = interleave_rows(m, cfg, msg, msg_size);
        }
    }
    if (st) {
        qi_model_free(m);
        return st;
    }
    *out = m;
    return QI_OK;
}

void qi_model_free(qi_model *m) {
    if (!m) return;
    if (m->tensor_names)
        for (uint64_t i = 0; i < m->gguf.n_tensors; i++) free(m->tensor_names[i]);
    free(m->tensor_names);
    free(m->layers);
    tok_free(m->tok);
    free(m->output_owned);
    gguf_close(&m->gguf);
    free(m);
}

void qi_model_get_info(const qi_model *m, qi_model_info *info) {
    memset(info, 0, sizeof *info);
    if (!m) return;
    info->arch = "qwen2";
    info->name = m->name;
    info->n_vocab = m->n_vocab;
    info->n_embd = m->n_embd;
    info->n_layer = m->n_layer;
    info->n_head = m->n_head;
    info->n_head_kv = m->n_head_kv;
    info->head_dim = m->head_dim;
    info->n_ff = m->n_ff;
    info->n_ctx_train = m->n_ctx_train;
    info->rope_theta = m->rope_theta;
    info->norm_eps = m->norm_eps;
    info->tied_output = m->tied_output;
    info->has_vocab = m->tok != NULL;
    info->has_weights = !m->vocab_only;
    info->tokenizer = m->tokenizer_kind;
    info->gguf_version = (int)m->gguf.version;
    info->file_size = m->gguf.size;
    info->n_tensors = m->gguf.n_tensors;
    for (uint64_t i = 0; i < m->gguf.n_tensors; i++) {
        info->weight_bytes += m->gguf.tensors[i].n_bytes;
        info->n_params += m->gguf.tensors[i].n_elems;
    }
    const gguf_tensor *emb = gguf_find_tensor(&m->gguf, "token_embd.weight");
    if (emb) info->decode_bytes = info->weight_bytes - (m->tied_output ? 0 : emb->n_bytes - m->tok_embd.row_bytes);
    if (m->output_owned) { /* the head as run, not as stored */
        const gguf_tensor *o = gguf_find_tensor(&m->gguf, "output.weight");
        info->decode_bytes -= o->n_bytes - m->output.row_bytes * (uint64_t)m->output.n_out;
    }
    info->synthetic = m->synthetic;
    info->output_type = m->vocab_only ? "" : ggml_type_name(m->output.type);
}

qi_status qi_model_tensor(const qi_model *m, uint64_t index, qi_tensor_info *info) {
    if (!m || !info || index >= m->gguf.n_tensors) return QI_ERR_INVALID_ARG;
    const gguf_tensor *t = &m->gguf.tensors[index];
    info->name = m->tensor_names[index];
    info->type_name = ggml_type_name(t->type);
    info->n_dims = (int)t->n_dims;
    for (int d = 0; d < 4; d++) info->ne[d] = t->ne[d];
    info->n_bytes = t->n_bytes;
    return QI_OK;
}

qi_status qi_model_meta(const qi_model *m, const char *key, char *buf, size_t buf_size) {
    if (!m || !key || !buf || !buf_size) return QI_ERR_INVALID_ARG;
    const gguf_kv *kv = gguf_find_kv(&m->gguf, key);
    if (!kv) { buf[0] = 0; return QI_ERR_MODEL_KEY; }
    int need;
    switch (kv->type) {
    case GGUF_STRING:
        need = snprintf(buf, buf_size, "%.*s", (int)(kv->v.s.len > 1u << 30 ? 1u << 30 : kv->v.s.len), kv->v.s.ptr);
        break;
    case GGUF_ARRAY:
        need = snprintf(buf, buf_size, "[%s; %llu]", gguf_vtype_name(kv->v.arr.type), (unsigned long long)kv->v.arr.n);
        break;
    case GGUF_FLOAT32: case GGUF_FLOAT64:
        need = snprintf(buf, buf_size, "%g", kv->v.f);
        break;
    case GGUF_BOOL:
        need = snprintf(buf, buf_size, "%s", kv->v.u ? "true" : "false");
        break;
    case GGUF_INT8: case GGUF_INT16: case GGUF_INT32: case GGUF_INT64:
        need = snprintf(buf, buf_size, "%lld", (long long)kv->v.i);
        break;
    default:
        need = snprintf(buf, buf_size, "%llu", (unsigned long long)kv->v.u);
        break;
    }
    return (size_t)need >= buf_size ? QI_ERR_BUFFER_TOO_SMALL : QI_OK;
}
