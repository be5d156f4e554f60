/* A Qwen2 model bound to the tensors of a mapped GGUF file. Internal. */
#ifndef QINFER_MODEL_H
#define QINFER_MODEL_H

#include "formats/gguf.h"
#include "qinfer.h"

struct qi_tokenizer;

/* A 2-D weight matrix in the file: n_out rows of n_in elements. */
typedef struct qi_weight {
    const void *data;
    uint32_t type;      /* enum ggml_type */
    int n_in, n_out;
    size_t row_bytes;
    int row16;          /* rows interleaved in 16s at load (quant.h) */
} qi_weight;

typedef struct qi_layer {
    const float *attn_norm, *ffn_norm;   /* [n_embd] */
    const float *bq, *bk, *bv;           /* q/k/v biases */
    qi_weight wq, wk, wv, wo;
    qi_weight w_gate, w_up, w_down;
} qi_layer;

struct qi_model {
    gguf_file gguf;
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train;
    float rope_theta, norm_eps;
    qi_weight tok_embd, output;          /* output aliases tok_embd when tied */
    void *output_owned;                  /* the requantized head, when output_q4_0 */
    int tied_output;
    int row16;                           /* some matrices have their rows interleaved */
    const float *output_norm;
    qi_layer *layers;
    struct qi_tokenizer *tok;            /* NULL for id-only files */
    char tokenizer_kind[32];
    char name[128];
    char **tensor_names;                 /* NUL-terminated copies for qi_model_tensor */
    int synthetic;
    int vocab_only;                      /* no tensors: tokenizer only */
};

#endif
