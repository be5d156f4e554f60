/* qinfer: run Qwen2 GGUF models on the CPU.
 *
 * The one public header. Two opaque handles:
 *   qi_model   - a GGUF file mapped read-only, with its shapes and tensors bound.
 *                Immutable after load; one model may serve many sessions.
 *   qi_session - one conversation: KV cache, scratch buffers, sampler state.
 *                Use a session from one thread at a time.
 * Every function returns a qi_status (QI_OK = 0). The library never prints,
 * never exits, reads no environment variable and keeps no global mutable
 * state. Only the functions declared here are exported; every other symbol
 * of libqinfer.a is local, so a program may define forward() or gguf_open()
 * of its own.
 *
 * Threads: each session owns a pool of n_threads threads (the caller's own
 * thread is one of them), started by qi_session_new and stopped by
 * qi_session_free. Between the products of one token, idle workers spin for
 * `spin` rounds, then sleep; an idle session uses no CPU. Sessions share no
 * threads, so k sessions generating at once on one machine want n_threads
 * of about cores / k each (and spin = 0 when they outnumber the cores). A
 * model is immutable after load: any number of sessions on any threads may
 * share it. A session must be used by one thread at a time. */
#ifndef QINFER_H
#define QINFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* This header's version; qi_version() is the library's (they match when
 * the program was built against the library it links). */
#define QINFER_VERSION_MAJOR 0
#define QINFER_VERSION_MINOR 10
#define QINFER_VERSION_PATCH 0
#define QINFER_VERSION "0.10.0"
#define QINFER_VERSION_NUMBER (QINFER_VERSION_MAJOR * 10000 + QINFER_VERSION_MINOR * 100 + QINFER_VERSION_PATCH)
const char *qi_version(void);

typedef enum qi_status {
    QI_OK = 0,
    QI_ERR_INVALID_ARG,      /* a NULL pointer, a negative count, a bad setting */
    QI_ERR_NOMEM,            /* allocation failed */
    QI_ERR_IO,               /* open/stat/mmap failed */
    QI_ERR_GGUF_MAGIC,       /* not a GGUF file */
    QI_ERR_GGUF_VERSION,     /* GGUF version other than 2 or 3 */
    QI_ERR_GGUF_TRUNCATED,   /* the file ends inside a field */
    QI_ERR_GGUF_COUNT,       /* a count or length larger than the file can hold */
    QI_ERR_GGUF_TYPE,        /* unknown metadata value type or tensor type */
    QI_ERR_GGUF_OFFSET,      /* tensor data outside the file, misaligned or overlapping */
    QI_ERR_GGUF_SHAPE,       /* bad dimension count, zero or overflowing dimensions */
    QI_ERR_GGUF_DUPLICATE,   /* a key or tensor name appears twice */
    QI_ERR_GGUF_ALIGNMENT,   /* general.alignment not a power of two */
    QI_ERR_MODEL_ARCH,       /* general.architecture is not one we run */
    QI_ERR_MODEL_KEY,        /* required metadata key missing or of the wrong type */
    QI_ERR_MODEL_TENSOR,     /* required tensor missing, or wrong shape */
    QI_ERR_MODEL_TENSOR_TYPE,/* tensor type we have no kernel for */
    QI_ERR_NO_VOCAB,         /* text asked of a file without a tokenizer */
    QI_ERR_BAD_TOKEN,        /* token id outside [0, n_vocab) */
    QI_ERR_CONTEXT_FULL,     /* the KV cache cannot hold more tokens */
    QI_ERR_BUFFER_TOO_SMALL, /* caller's buffer too small; the needed size is returned */
    QI_ERR_TOKENIZER,        /* tokenizer metadata malformed */
    QI_ERR_CANCELLED,        /* stopped by the caller's callback */
    QI_ERR_MODEL_VALUES,     /* a weight (or a block's scale) is NaN or infinite */
    QI_STATUS_COUNT
} qi_status;

/* A short generic description of a status ("context full", ...). */
const char *qi_status_str(qi_status s);

/* KV cache storage: f32 (exact), f16, or q8_0 (blocks of 32 with one f16 scale) */
typedef enum qi_kv_type { QI_KV_F32 = 0, QI_KV_F16 = 1, QI_KV_Q8_0 = 2 } qi_kv_type;

/* "f32", "f16", "q8_0"; and back (-1 for an unknown name) */
const char *qi_kv_type_name(qi_kv_type t);
int qi_kv_type_parse(const char *name);

/* How matrix products are computed.
 *   QI_COMPUTE_Q8:  activations quantized to 8 bits once per product, integer
 *                   dot products per 32-weight block (llama.cpp's CPU path; fast).
 *   QI_COMPUTE_F32: weights dequantized exactly to f32, f32 arithmetic (the
 *                   reference: matches transformers to ~1e-4). */
typedef enum qi_compute { QI_COMPUTE_Q8 = 0, QI_COMPUTE_F32 = 1 } qi_compute;

/* Kernel level. AUTO: the widest the CPU runs. A level this CPU or build
 * cannot run is an error when the session is created, not a fallback. */
typedef enum qi_isa {
    QI_ISA_AUTO = 0, QI_ISA_SCALAR, QI_ISA_AVX2, QI_ISA_AVX512, QI_ISA_AVX512VNNI,
    QI_ISA_NEON, QI_ISA_DOTPROD, QI_ISA_I8MM, QI_ISA_AMX, QI_ISA_COUNT
} qi_isa;

/* "auto", "scalar", "avx2", ...; and back (-1 for an unknown name) */
const char *qi_isa_name(qi_isa isa);
int qi_isa_parse(const char *name);

/* Every knob in one plain struct. Always start from qi_config_default(),
 * which fills it from lib/inference_config.c and sets struct_size; change
 * fields, then pass it on. Fields are only ever added at the end, with
 * defaults that keep the old behaviour, so code written this way keeps
 * working as the struct grows. The library validates every field; it
 * trusts none of them (a struct_size other than its own is refused). */
typedef struct qi_config {
    uint32_t struct_size;   /* sizeof(qi_config), set by qi_config_default() */
    int n_threads;          /* worker threads; 0 = number of physical cores */
    int prefill_chunk;      /* prompt tokens per forward pass (matrix-matrix) */
    int kv_capacity;        /* tokens the KV cache holds; 0 = model's context length */
    qi_kv_type kv_type;     /* KV cache storage */
    qi_compute compute;     /* matrix products: quantized activations or exact f32 */
    int huge_pages;         /* 1: at load, copy the weights from the file mapping into
                               memory on 2 MiB pages (fewer TLB misses while they are
                               streamed every token; on the amx kernel level, the copy
                               also has its Q4_0/Q8_0 rows interleaved for the row16
                               kernels); 0: run from the file mapping */
    int output_q4_0;        /* 1: requantize a Q8_0 output.weight to Q4_0 when the model
                               loads (41.8% of the bytes a token reads, in the official
                               q4_0 file, become 24.5%); 0: use the file's weights */
    /* tuning */
    qi_isa isa;             /* kernel level (the library reads no environment; the
                               qinfer CLI and bench set it from QINFER_ISA) */
    int decode_prefetch;    /* bytes the decode kernel prefetches ahead in the weight
                               stream: -1 = the level's own (AVX2 6144, AVX-512 12288,
                               or 4096 on Intel CPUs),
                               0 = none; else a multiple of 64 up to 65536 */
    int decode_rows;        /* rows per work item of one-token products: 0 = one equal
                               share per thread; else a multiple of 16, taken by the
                               threads in turn */
    int prefill_rows;       /* the same for products over several tokens */
    int spin;               /* rounds an idle worker thread spins before it sleeps */
    /* sampling */
    float temperature;      /* 0 = greedy */
    int top_k;              /* 0 = off */
    float top_p;            /* 1 = off; must be in (0, 1] */
    float min_p;            /* 0 = off; must be in [0, 1) */
    float repeat_penalty;   /* 1 = off; must be > 0 */
    int repeat_last_n;      /* window for the penalty; 0 = off */
    uint64_t seed;          /* RNG seed: the same seed reproduces a run */
} qi_config;

void qi_config_default(qi_config *cfg);
/* QI_OK, or QI_ERR_INVALID_ARG with a message naming the field in msg. */
qi_status qi_config_check(const qi_config *cfg, char *msg, size_t msg_size);

/* ---- model ---------------------------------------------------------------- */

typedef struct qi_model qi_model;

/* Map a GGUF file and bind it as a Qwen2 model. On failure *out is NULL and,
 * if msg is not NULL, msg holds a message naming the field at fault. */
qi_status qi_model_load(const char *path, qi_model **out, char *msg, size_t msg_size);
/* The same, with load-time settings (output_q4_0) from cfg; NULL = defaults. */
qi_status qi_model_load_cfg(const char *path, const qi_config *cfg, qi_model **out, char *msg, size_t msg_size);
void qi_model_free(qi_model *m);

typedef struct qi_model_info {
    const char *arch;        /* "qwen2" */
    const char *name;        /* general.name, or "" */
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train;
    float rope_theta, norm_eps;
    int tied_output;         /* 1 if the head reuses token_embd.weight */
    int has_vocab;           /* 0 for tokenizer.ggml.model == "none" or absent */
    int has_weights;         /* 0 for a vocabulary-only file (text, no logits) */
    const char *tokenizer;   /* tokenizer.ggml.model, or "none" */
    int gguf_version;
    uint64_t file_size;
    uint64_t n_tensors;
    uint64_t weight_bytes;   /* bytes of all tensor data */
    uint64_t decode_bytes;   /* weight bytes one decode step reads (all but the
                                embedding table, of which one row) */
    uint64_t n_params;
    int synthetic;           /* file is marked qinfer.synthetic */
    const char *output_type; /* type of the output head as run ("Q8_0", or "Q4_0" when requantized) */
} qi_model_info;

void qi_model_get_info(const qi_model *m, qi_model_info *info);

typedef struct qi_tensor_info {
    const char *name;        /* NUL-terminated copy, valid while the model lives */
    const char *type_name;   /* "Q4_0", "F32", ... */
    int n_dims;
    uint64_t ne[4];          /* ne[0] is the contiguous (input) dimension */
    uint64_t n_bytes;
} qi_tensor_info;

qi_status qi_model_tensor(const qi_model *m, uint64_t index, qi_tensor_info *info);

/* A metadata value rendered as text (strings as is, numbers in decimal,
 * arrays as "[type; n]"). Returns QI_ERR_MODEL_KEY if absent. */
qi_status qi_model_meta(const qi_model *m, const char *key, char *buf, size_t buf_size);

/* ---- text ------------------------------------------------------------------
 * The Qwen2 byte-level BPE of the file's tokenizer.* metadata, identical to the
 * reference tokenizer (NFC first). These return QI_ERR_NO_VOCAB for id-only
 * files (tokenizer.ggml.model = "none"). */

/* UTF-8 text -> ids. parse_special: also match control tokens written in
 * the text (<|im_start|>, <|im_end|>, ...); without it they are plain text.
 * QI_ERR_BUFFER_TOO_SMALL when cap is short: *n_ids is the count needed. */
qi_status qi_tokenize(const qi_model *m, const char *text, size_t len, int parse_special,
                      int32_t *ids, int cap, int *n_ids);

/* The raw bytes of one token (a piece of a UTF-8 character, possibly).
 * *len is the full length; at most cap bytes are written, no NUL. */
qi_status qi_token_bytes(const qi_model *m, int32_t id, char *buf, size_t cap, size_t *len);

/* Streaming detokenizer: feed ids, get whole UTF-8 characters out (bytes of
 * a character split across tokens are held back until it is complete;
 * invalid sequences come out as U+FFFD). Start from a zeroed qi_detok;
 * out must hold QI_DETOK_MAX bytes. */
#define QI_DETOK_MAX 1024
typedef struct qi_detok { unsigned char pending[8]; int n_pending; } qi_detok;
qi_status qi_detok_feed(const qi_model *m, qi_detok *d, int32_t id, char *out, size_t *len);
qi_status qi_detok_flush(qi_detok *d, char *out, size_t *len);

/* Id of an exact token string ("<|im_end|>"), or -1. */
int32_t qi_token_id(const qi_model *m, const char *token_text);
/* 1 if generation should stop at this id (end of turn / end of text). */
int qi_token_is_eog(const qi_model *m, int32_t id);

/* ---- chat ------------------------------------------------------------------
 * ChatML exactly as Qwen2.5-Instruct's template renders it: a default system
 * message when the first message is not "system"; roles "system", "user",
 * "assistant" and "tool"; add_generation_prompt appends the assistant header.
 * *len is the full length; at most cap bytes are written plus a NUL when it
 * fits (QI_ERR_BUFFER_TOO_SMALL otherwise). */
typedef struct qi_chat_msg {
    const char *role;
    const char *content;
} qi_chat_msg;

#define QI_DEFAULT_SYSTEM "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

qi_status qi_chat_render(const qi_chat_msg *msgs, int n_msgs, int add_generation_prompt,
                         char *buf, size_t cap, size_t *len);

/* ---- session -------------------------------------------------------------- */

typedef struct qi_session qi_session;

/* cfg may be NULL for defaults. On failure *out is NULL and msg explains. */
qi_status qi_session_new(const qi_model *m, const qi_config *cfg, qi_session **out,
                         char *msg, size_t msg_size);
void qi_session_free(qi_session *s);
/* The bytes qi_session_new(m, cfg) will allocate, before it is created: KV
 * cache, scratch, logits, history, sampler, thread pool (and 1 KiB for the
 * C library's bookkeeping of each thread it starts; the threads' stacks,
 * address space the C library maps and barely touches, are not counted).
 * The session never allocates more. 0 when qi_session_new would refuse cfg. */
size_t qi_session_bytes(const qi_model *m, const qi_config *cfg);

/* The message of the last failed call on this session ("" after success). */
const char *qi_session_errmsg(const qi_session *s);

/* Feed n token ids at the current position: prompt chunks go through the
 * matrix-matrix path, a single id through the decode path. If all_logits is
 * not NULL it receives [n][n_vocab] floats, one row per fed token; otherwise
 * only the last token's logits are computed (see qi_session_logits).
 * QI_ERR_CONTEXT_FULL leaves the session unchanged. */
qi_status qi_session_eval(qi_session *s, const int32_t *ids, int n, float *all_logits);

/* Progress of a long prompt, and a way to stop it: an eval of more than one
 * id (so qi_session_prompt too) calls fn(user, done, total) on the calling
 * thread after each chunk of prefill_chunk ids. A non-zero return before the
 * last chunk cancels: the call returns QI_ERR_CANCELLED, the cache keeps
 * the chunks already fed (qi_session_pos says how many ids; qi_session_prompt
 * with the same ids goes on from there) and there are no logits until an
 * id is fed. fn = NULL: no calls (the default). */
typedef int (*qi_progress_fn)(void *user, int done, int total);
qi_status qi_session_set_progress(qi_session *s, qi_progress_fn fn, void *user);

/* Logits of the last token fed ([n_vocab] floats), or NULL before any. */
const float *qi_session_logits(const qi_session *s);

/* The kernel level in use ("avx2", "neon", ...) and the worker threads. */
const char *qi_session_isa(const qi_session *s);
int qi_session_threads(const qi_session *s);

/* Tokens in the KV cache, and its capacity. */
int qi_session_pos(const qi_session *s);
int qi_session_capacity(const qi_session *s);

/* Forget everything after the first pos tokens (a shared prompt prefix). */
qi_status qi_session_rewind(qi_session *s, int pos);

/* Pick the next token from the last logits with the session's sampler. */
qi_status qi_session_sample(qi_session *s, int32_t *token);

/* New sampling settings (temperature, top_k, top_p, min_p, repeat_penalty,
 * repeat_last_n, seed; the other fields of cfg are ignored) for the next
 * turns, without a new session or a cold cache. The sampler is reseeded. */
qi_status qi_session_set_sampling(qi_session *s, const qi_config *cfg);

/* Make the cache hold exactly ids[0..n) with logits for the last one,
 * evaluating only what is new: the longest common prefix with what the cache
 * holds is kept. A follow-up chat turn, or another generation from a shared
 * prompt prefix, costs only its new tokens. *n_reused gets the kept count. */
qi_status qi_session_prompt(qi_session *s, const int32_t *ids, int n, int *n_reused);

/* Generation: sample, report, feed, until max_tokens, an end-of-generation
 * token (which is not reported, and not fed), the callback returning
 * non-zero (QI_ERR_CANCELLED), or a full context (QI_ERR_CONTEXT_FULL; what
 * was generated stays). Call after qi_session_prompt or qi_session_eval. */
typedef int (*qi_token_fn)(void *user, int32_t token);
typedef struct qi_gen_stats {
    int n_gen;              /* tokens produced */
    int stopped_at_eog;     /* 1 if an end-of-generation token ended it */
    double seconds;         /* wall time of the loop */
} qi_gen_stats;
qi_status qi_generate(qi_session *s, int max_tokens, qi_token_fn fn, void *user, qi_gen_stats *stats);

/* ---- sampling your own logits ----------------------------------------------
 * The session's sampler, for logits that come from elsewhere: cfg's sampling
 * fields and seed, n_vocab ids. recent: the last n_recent ids, for the
 * repetition penalty. */
typedef struct qi_sampler qi_sampler;
qi_status qi_sampler_new(const qi_config *cfg, int n_vocab, qi_sampler **out);
qi_status qi_sampler_draw(qi_sampler *s, const float *logits, const int32_t *recent, int n_recent, int32_t *token);
void qi_sampler_free(qi_sampler *s);

#ifdef __cplusplus
}
#endif
#endif
