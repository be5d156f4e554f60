/* synth: write a synthetic Qwen2.5-0.5B-Instruct Q4_0 GGUF for speed work.
 *
 * The file has the tensor names, shapes and types of the official
 * qwen2.5-0.5b-instruct-q4_0.gguf (428,730,208 bytes, 291 tensors) and the
 * real tokenizer (every tokenizer.* key of the --vocab GGUF, copied byte for
 * byte and in its order), but random weights. It is marked
 * qinfer.synthetic = true: its output text is noise, it exists only so that
 * speed can be measured on a machine that cannot download the real model.
 *
 * Layout (GGUF v3, alignment 32):
 *   metadata: general.architecture, type, name, finetune, basename, size_label,
 *     license; the eight qwen2.* hyper-parameters; general.file_type;
 *     tokenizer.* (copied); general.quantization_version; then ours:
 *     qinfer.synthetic, qinfer.synthetic_note, qinfer.synthetic_seed.
 *     Without --vocab: tokenizer.ggml.model = "none" and qwen2.vocab_size (a
 *     --vocab file that does not exist is an error, not a file without one).
 *   tensors, in forward-pass order (the official file's order matters to no
 *     reader; this one lets a sequential read follow the computation):
 *     token_embd.weight, then per layer blk.N.{attn_norm.weight, attn_q.weight,
 *     attn_q.bias, attn_k.weight, attn_k.bias, attn_v.weight, attn_v.bias,
 *     attn_output.weight, ffn_norm.weight, ffn_gate.weight, ffn_up.weight,
 *     ffn_down.weight}, then output_norm.weight, output.weight.
 *
 * Size. The tensor data is exactly the official file's: 422,782,464 bytes
 * (every tensor's size is a multiple of 32, so there is no padding between
 * tensors), so the official data section starts at 428,730,208 - 422,782,464
 * = 5,947,744. Header bytes: 24 fixed + 16,552 of tensor infos (names do not
 * depend on order) + 5,930,488 of tokenizer.* keys (those of the vocab file)
 * + the other keys + up to 31 of alignment padding. That leaves 649..680
 * bytes for the official file's other keys. The keys listed above take 711
 * without ours and 885 with them, so this file comes out 224 bytes larger
 * than the official one (data section at 5,947,968): within a few hundred
 * bytes, so nothing is padded or dropped to hide the difference.
 * (The 649..680 bytes are met exactly, with 5 bytes of alignment padding, by
 * general.name = general.finetune = "qwen2.5-0.5b-instruct",
 * general.version = "v0.1", general.size_label = "630M" (494M parameters +
 * the untied 136M output matrix) and no basename or license: what Qwen's own
 * GGUF uploads are recalled to carry. Unverified without the file, so the
 * values written here are the ones the project asked for.)
 *
 * Weights: Q4_0 blocks (f16 d, 16 bytes: byte j = weight j low nibble,
 * weight j+16 high nibble, value d*(q-8)) with q on 1..15, each 17/256 and
 * 8 one more (symmetric, mean 0, std 4.31) and d chosen so the weights have std g/sqrt(fan_in),
 * g uniform in [0.6, 1.0) per block; Q8_0 (f16 d, 32 int8) the same with int8
 * uniform on -127..127; norm weights in [0.9, 1.1], biases in [-0.05, 0.05].
 * Each tensor has its own xoshiro256** stream seeded from (--seed, index),
 * so the file is a function of the seed alone.
 *
 * The file is written to a temporary file next to the output and renamed
 * into place only after it has been read back and checked, so an interrupted
 * or failed run leaves no partial model behind. */
#include "formats/gguf.h"
#include "formats/quant.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_OUT "models/qwen2.5-0.5b-synth-%s.gguf" /* %s: the kind */
#define OFFICIAL_DATA_SIZE 422782464ull /* the official q4_0 file's tensor data */
#define ALIGN 32u

/* Qwen2.5-0.5B hyper-parameters */
enum { N_VOCAB = 151936, N_EMBD = 896, N_FF = 4864, N_LAYER = 24, N_HEAD = 14, N_HEAD_KV = 2,
       N_CTX = 32768, HEAD_DIM = N_EMBD / N_HEAD, N_EMBD_KV = HEAD_DIM * N_HEAD_KV };
#define N_TENSORS (1 + N_LAYER * 12 + 2)

static const char *prog = "synth";

/* ---- temporary file cleanup on signals ---------------------------------------- */

static char tmp_path[4096]; /* non-empty while a temporary file exists */

static void on_signal(int sig) {
    if (tmp_path[0]) unlink(tmp_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void remove_tmp(void) {
    if (tmp_path[0]) unlink(tmp_path);
    tmp_path[0] = 0;
}

static void die(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    remove_tmp();
    exit(1);
}

/* ---- PRNG: splitmix64 seeds xoshiro256** ---------------------------------------- */

typedef struct { uint64_t s[4]; } rng;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return out;
}

/* uniform in [0, 1) */
static inline float rng_unif(rng *r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }

/* ---- f16 ------------------------------------------------------------------------ */

/* float -> IEEE half, round to nearest even, subnormals and overflow handled */
static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
    int exp = (int)((x >> 23) & 0xff);
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    int e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - e;
        uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* a carry rounds into the exponent */
    return (uint16_t)(sign | h);
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu, x;
    if (e == 0) {
        float f = ldexpf((float)m, -24);
        return sign ? -f : f;
    }
    if (e == 31) x = sign | 0x7f800000u | (m << 13);
    else x = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* ---- byte buffer for the header ------------------------------------------------- */

typedef struct { uint8_t *p; size_t n, cap; } buf;

static void b_put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) die("out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void b_u32(buf *b, uint32_t v) {
    uint8_t t[4];
    for (int i = 0; i < 4; i++) t[i] = (uint8_t)(v >> (8 * i));
    b_put(b, t, 4);
}

static void b_u64(buf *b, uint64_t v) {
    uint8_t t[8];
    for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v >> (8 * i));
    b_put(b, t, 8);
}

static void b_str(buf *b, const char *s) {
    size_t n = strlen(s);
    b_u64(b, n);
    b_put(b, s, n);
}

static void kv_str(buf *b, uint64_t *n_kv, const char *key, const char *val) {
    b_str(b, key); b_u32(b, GGUF_STRING); b_str(b, val); ++*n_kv;
}
static void kv_u32(buf *b, uint64_t *n_kv, const char *key, uint32_t val) {
    b_str(b, key); b_u32(b, GGUF_UINT32); b_u32(b, val); ++*n_kv;
}
static void kv_u64(buf *b, uint64_t *n_kv, const char *key, uint64_t val) {
    b_str(b, key); b_u32(b, GGUF_UINT64); b_u64(b, val); ++*n_kv;
}
static void kv_f32(buf *b, uint64_t *n_kv, const char *key, float val) {
    uint32_t u;
    memcpy(&u, &val, 4);
    b_str(b, key); b_u32(b, GGUF_FLOAT32); b_u32(b, u); ++*n_kv;
}
static void kv_bool(buf *b, uint64_t *n_kv, const char *key, int val) {
    uint8_t v = val ? 1 : 0;
    b_str(b, key); b_u32(b, GGUF_BOOL); b_put(b, &v, 1); ++*n_kv;
}

/* ---- the kinds: each official file's type per matrix ----------------------------- */

/* The matrices by role; type_of() gives each its type in one kind. */
enum role { R_EMBD, R_Q, R_K, R_V, R_O, R_GATE, R_UP, R_DOWN, R_OUT };

typedef struct synth_kind {
    const char *name;          /* as `make synth TYPE=` and `make model TYPE=` spell it */
    uint32_t file_type;        /* general.file_type (llama_ftype) */
    uint64_t official_size;    /* bytes of the official qwen2.5-0.5b-instruct-<name>.gguf */
    uint32_t (*type_of)(enum role r, int layer);
} synth_kind;

static uint32_t q4_0_type(enum role r, int layer) { (void)layer; return r == R_OUT ? GGML_Q8_0 : GGML_Q4_0; }
static uint32_t q8_0_type(enum role r, int layer) { (void)r, (void)layer; return GGML_Q8_0; }
static uint32_t f16_type(enum role r, int layer) { (void)r, (void)layer; return GGML_F16; }

/* The k-quant mixes, as llama-quantize makes them for this model (the
 * official files' sizes match to the byte, up to our metadata): 896-wide
 * rows are no multiple of 256, so their k-quant falls back (Q4_K to Q5_0,
 * Q5_K to Q5_1, Q6_K to Q8_0); attn_v and ffn_down get more bits in layers
 * 0-2, 21-23 and every third between (llama.cpp's use_more_bits). */
static int more_bits(int layer) { return layer < 3 || layer >= 21 || (layer - 3) % 3 == 2; }
static uint32_t q4_k_m_type(enum role r, int layer) {
    if (r == R_OUT) return GGML_Q8_0;
    if (r == R_V) return more_bits(layer) ? GGML_Q8_0 : GGML_Q5_0;
    if (r == R_DOWN) return more_bits(layer) ? GGML_Q6_K : GGML_Q4_K;
    return GGML_Q5_0;
}
static uint32_t q5_k_m_type(enum role r, int layer) {
    if (r == R_OUT) return GGML_Q8_0;
    if (r == R_V) return more_bits(layer) ? GGML_Q8_0 : GGML_Q5_1;
    if (r == R_DOWN) return more_bits(layer) ? GGML_Q6_K : GGML_Q5_K;
    return GGML_Q5_1;
}
static uint32_t q6_k_type(enum role r, int layer) { (void)layer; return r == R_DOWN ? GGML_Q6_K : GGML_Q8_0; }

static const synth_kind kinds[] = {
    {"q4_0", 2, 428730208ull, q4_0_type},
    {"q4_k_m", 15, 491400032ull, q4_k_m_type},
    {"q5_k_m", 17, 522186592ull, q5_k_m_type},
    {"q6_k", 18, 650379104ull, q6_k_type},
    {"q8_0", 7, 675710816ull, q8_0_type},
    {"fp16", 1, 1266425696ull, f16_type},
};
static const synth_kind *kind = &kinds[0];

/* ---- the tensor list ------------------------------------------------------------- */

enum kind { K_WEIGHT, K_NORM, K_BIAS };

typedef struct tspec {
    char name[48];
    uint32_t n_dims;
    uint64_t ne[2];
    uint32_t type;
    enum kind kind;
    uint64_t n_bytes, offset;
} tspec;

static tspec tensors[N_TENSORS];

static void add(int *n, const char *name, uint64_t ne0, uint64_t ne1, uint32_t type, enum kind k) {
    tspec *t = &tensors[(*n)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->type = type;
    t->kind = k;
    t->n_bytes = ne0 * t->ne[1] / (uint64_t)ggml_type_block(type) * (uint64_t)ggml_type_size(type);
}

static void build_tensor_list(void) {
    int n = 0;
    char nm[48];
#define T(role) kind->type_of(role, l)
    int l = -1;
    add(&n, "token_embd.weight", N_EMBD, N_VOCAB, T(R_EMBD), K_WEIGHT);
    for (l = 0; l < N_LAYER; l++) {
#define L(s) (snprintf(nm, sizeof nm, "blk.%d.%s", l, s), nm)
        add(&n, L("attn_norm.weight"), N_EMBD, 0, GGML_F32, K_NORM);
        add(&n, L("attn_q.weight"), N_EMBD, N_EMBD, T(R_Q), K_WEIGHT);
        add(&n, L("attn_q.bias"), N_EMBD, 0, GGML_F32, K_BIAS);
        add(&n, L("attn_k.weight"), N_EMBD, N_EMBD_KV, T(R_K), K_WEIGHT);
        add(&n, L("attn_k.bias"), N_EMBD_KV, 0, GGML_F32, K_BIAS);
        add(&n, L("attn_v.weight"), N_EMBD, N_EMBD_KV, T(R_V), K_WEIGHT);
        add(&n, L("attn_v.bias"), N_EMBD_KV, 0, GGML_F32, K_BIAS);
        add(&n, L("attn_output.weight"), N_EMBD, N_EMBD, T(R_O), K_WEIGHT);
        add(&n, L("ffn_norm.weight"), N_EMBD, 0, GGML_F32, K_NORM);
        add(&n, L("ffn_gate.weight"), N_EMBD, N_FF, T(R_GATE), K_WEIGHT);
        add(&n, L("ffn_up.weight"), N_EMBD, N_FF, T(R_UP), K_WEIGHT);
        add(&n, L("ffn_down.weight"), N_FF, N_EMBD, T(R_DOWN), K_WEIGHT);
#undef L
    }
    l = -1;
    add(&n, "output_norm.weight", N_EMBD, 0, GGML_F32, K_NORM);
    add(&n, "output.weight", N_EMBD, N_VOCAB, T(R_OUT), K_WEIGHT);
#undef T
    if (n != N_TENSORS) die("internal: %d tensors, expected %d", n, N_TENSORS);
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        tensors[i].offset = off;
        off += (tensors[i].n_bytes + ALIGN - 1) / ALIGN * ALIGN;
    }
}

/* ---- weight generation ----------------------------------------------------------- */

/* Q4_0: two random bytes -> one packed byte of two nibbles, each uniform on
 * 1..15 (q-8 uniform on -7..7: symmetric, mean 0). 256 random byte values map
 * onto 15 nibbles as 17 each plus one extra 8 (a zero weight). */
static uint8_t nib_of_byte[256];
static uint8_t q4_pair[65536];
#define Q4_STD 4.3116f   /* sqrt(34 * (1+4+...+49) / 256) */
#define Q8_STD 73.468f   /* int8 uniform on -127..127 plus one extra 0 in 256 */

static void init_tables(void) {
    for (int i = 0; i < 255; i++) nib_of_byte[i] = (uint8_t)(1 + i / 17);
    nib_of_byte[255] = 8;
    for (int i = 0; i < 65536; i++)
        q4_pair[i] = (uint8_t)(nib_of_byte[i & 255] | (nib_of_byte[i >> 8] << 4));
}

static void put_f16(uint8_t *p, float f) {
    uint16_t h = f32_to_f16(f);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* Fill n_blocks Q4_0 blocks of a matrix with fan-in fan_in. */
static void gen_q4_0(rng *r, uint8_t *out, uint64_t n_blocks, uint64_t fan_in) {
    const float base = 1.0f / (sqrtf((float)fan_in) * Q4_STD);
    for (uint64_t b = 0; b < n_blocks; b++, out += 18) {
        put_f16(out, base * (0.6f + 0.4f * rng_unif(r)));
        /* 32 weights: 16 packed bytes from 4 x 64 random bits */
        for (int k = 0; k < 4; k++) {
            uint64_t x = rng_next(r);
            for (int j = 0; j < 4; j++) out[2 + 4 * k + j] = q4_pair[(x >> (16 * j)) & 0xffff];
        }
    }
}

static void gen_q8_0(rng *r, uint8_t *out, uint64_t n_blocks, uint64_t fan_in) {
    const float base = 1.0f / (sqrtf((float)fan_in) * Q8_STD);
    for (uint64_t b = 0; b < n_blocks; b++, out += 34) {
        put_f16(out, base * (0.6f + 0.4f * rng_unif(r)));
        for (int k = 0; k < 4; k++) {
            uint64_t x = rng_next(r);
            for (int j = 0; j < 8; j++) {
                uint8_t v = (uint8_t)(x >> (8 * j));
                out[2 + 8 * k + j] = v == 0x80 ? 0 : v; /* -128 -> 0: symmetric on -127..127 */
            }
        }
    }
}

/* The other types: random quants, scales that give weights of about the
 * same spread as Q4_0's (speed does not depend on them, sanity does). */
#define Q5_STD 9.233f  /* uniform on 0..31 */
#define Q6_STD 18.47f  /* uniform on 0..63 */

static void put_u64s(rng *r, uint8_t *p, int n_bytes) {
    for (int k = 0; k < n_bytes; k += 8) {
        uint64_t x = rng_next(r);
        for (int j = 0; j < 8 && k + j < n_bytes; j++) p[k + j] = (uint8_t)(x >> (8 * j));
    }
}

static void gen_other(uint32_t type, rng *r, uint8_t *out, uint64_t n_blocks, uint64_t fan_in) {
    const float inv = 1.0f / sqrtf((float)fan_in);
    const uint64_t bs = (uint64_t)ggml_type_size(type);
    for (uint64_t b = 0; b < n_blocks; b++, out += bs) {
        float g = 0.6f + 0.4f * rng_unif(r);
        switch (type) {
        case GGML_F16:
        case GGML_BF16: /* one weight per "block": uniform with std g/sqrt(fan_in) */
        {
            float v = (2.0f * rng_unif(r) - 1.0f) * 1.7320508f * g * inv;
            uint32_t x;
            memcpy(&x, &v, 4);
            uint16_t h = type == GGML_F16 ? f32_to_f16(v) : (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
            out[0] = (uint8_t)h, out[1] = (uint8_t)(h >> 8);
            break;
        }
        case GGML_Q4_1: /* w = d q + m, m = -8 d: centred */
            put_f16(out, g * inv / Q4_STD);
            put_f16(out + 2, -8.0f * g * inv / Q4_STD);
            put_u64s(r, out + 4, 16);
            break;
        case GGML_Q5_0:
            put_f16(out, g * inv / Q5_STD);
            put_u64s(r, out + 2, 20);
            break;
        case GGML_Q5_1:
            put_f16(out, g * inv / Q5_STD);
            put_f16(out + 2, -16.0f * g * inv / Q5_STD);
            put_u64s(r, out + 4, 20);
            break;
        case GGML_Q4_K: /* 6-bit sub-scales and mins average 31.5 */
        case GGML_Q5_K: {
            float d = g * inv / ((type == GGML_Q4_K ? Q4_STD : Q5_STD) * 31.5f);
            put_f16(out, d);
            put_f16(out + 2, d * (type == GGML_Q4_K ? 7.5f : 15.5f));
            put_u64s(r, out + 4, (int)bs - 4);
            break;
        }
        case GGML_Q6_K: /* int8 sub-scales: |s| averages 64 */
            put_u64s(r, out, 208);
            put_f16(out + 208, g * inv / (Q6_STD * 64.0f));
            break;
        default:
            die("internal: no generator for type %s", ggml_type_name(type));
        }
    }
}

static void gen_f32(rng *r, uint8_t *out, uint64_t n, enum kind k) {
    for (uint64_t i = 0; i < n; i++) {
        float u = rng_unif(r), v = k == K_NORM ? 0.9f + 0.2f * u : 0.1f * u - 0.05f;
        uint32_t x;
        memcpy(&x, &v, 4);
        for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(x >> (8 * j));
    }
}

/* ---- vocab metadata --------------------------------------------------------------- */

/* End of a key/value record that gguf_parse has validated. */
static const uint8_t *kv_end(const gguf_kv *kv) {
    static const int size[GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    const uint8_t *p = (const uint8_t *)kv->key.ptr + kv->key.len + 4;
    if (kv->type == GGUF_STRING) return (const uint8_t *)kv->v.s.ptr + kv->v.s.len;
    if (kv->type != GGUF_ARRAY) return p + size[kv->type];
    p = kv->v.arr.data;
    if (kv->v.arr.type != GGUF_STRING) return p + kv->v.arr.n * (uint64_t)size[kv->v.arr.type];
    for (uint64_t i = 0; i < kv->v.arr.n; i++) {
        gguf_str s;
        p = gguf_arr_next_str(p, &s);
    }
    return p;
}

static const uint8_t *kv_begin(const gguf_kv *kv) { return (const uint8_t *)kv->key.ptr - 8; }

static int is_tokenizer_key(const gguf_kv *kv) {
    return kv->key.len >= 10 && memcmp(kv->key.ptr, "tokenizer.", 10) == 0;
}

/* Open the vocab file, check its token count. 0 if it does not exist. */
static int open_vocab(const char *path, gguf_file *v) {
    char err[512];
    qi_status st = gguf_open(path, v, err, sizeof err);
    if (st == QI_ERR_IO && access(path, F_OK) != 0) return 0;
    if (st) die("vocab '%s': %s", path, err);
    const gguf_kv *tok = gguf_get_arr(v, "tokenizer.ggml.tokens", GGUF_STRING);
    if (!tok) die("vocab '%s': no tokenizer.ggml.tokens string array", path);
    if (tok->v.arr.n != N_VOCAB)
        die("vocab '%s': %llu tokens, the model has %d", path, (unsigned long long)tok->v.arr.n, N_VOCAB);
    return 1;
}

/* ---- header ------------------------------------------------------------------------ */

static const char *const NOTE = "random weights, for speed measurement only: its output is noise";

/* Build the whole header (up to the start of the data section). */
static void build_header(buf *h, const gguf_file *vocab, uint64_t seed) {
    buf kv = {0};
    uint64_t n = 0;
    kv_str(&kv, &n, "general.architecture", "qwen2");
    kv_str(&kv, &n, "general.type", "model");
    kv_str(&kv, &n, "general.name", "Qwen2.5 0.5B Instruct");
    kv_str(&kv, &n, "general.finetune", "Instruct");
    kv_str(&kv, &n, "general.basename", "Qwen2.5");
    kv_str(&kv, &n, "general.size_label", "0.5B");
    kv_str(&kv, &n, "general.license", "apache-2.0");
    kv_u32(&kv, &n, "qwen2.block_count", N_LAYER);
    kv_u32(&kv, &n, "qwen2.context_length", N_CTX);
    kv_u32(&kv, &n, "qwen2.embedding_length", N_EMBD);
    kv_u32(&kv, &n, "qwen2.feed_forward_length", N_FF);
    kv_u32(&kv, &n, "qwen2.attention.head_count", N_HEAD);
    kv_u32(&kv, &n, "qwen2.attention.head_count_kv", N_HEAD_KV);
    kv_f32(&kv, &n, "qwen2.rope.freq_base", 1000000.0f);
    kv_f32(&kv, &n, "qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
    if (!vocab) kv_u32(&kv, &n, "qwen2.vocab_size", N_VOCAB);
    kv_u32(&kv, &n, "general.file_type", kind->file_type);
    if (vocab) {
        for (uint64_t i = 0; i < vocab->n_kv; i++) {
            const gguf_kv *v = &vocab->kv[i];
            if (!is_tokenizer_key(v)) continue;
            b_put(&kv, kv_begin(v), (size_t)(kv_end(v) - kv_begin(v)));
            n++;
        }
    } else {
        kv_str(&kv, &n, "tokenizer.ggml.model", "none");
    }
    kv_u32(&kv, &n, "general.quantization_version", 2);
    kv_bool(&kv, &n, "qinfer.synthetic", 1);
    kv_str(&kv, &n, "qinfer.synthetic_note", NOTE);
    kv_u64(&kv, &n, "qinfer.synthetic_seed", seed);

    buf ti = {0};
    for (int i = 0; i < N_TENSORS; i++) {
        const tspec *t = &tensors[i];
        b_str(&ti, t->name);
        b_u32(&ti, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) b_u64(&ti, t->ne[d]);
        b_u32(&ti, t->type);
        b_u64(&ti, t->offset);
    }

    h->n = 0;
    b_u32(h, 0x46554747u); /* "GGUF" */
    b_u32(h, 3);
    b_u64(h, N_TENSORS);
    b_u64(h, n);
    b_put(h, kv.p, kv.n);
    b_put(h, ti.p, ti.n);
    static const uint8_t zeros[ALIGN];
    b_put(h, zeros, (ALIGN - h->n % ALIGN) % ALIGN);
    free(kv.p);
    free(ti.p);
}

/* ---- checking a written file ------------------------------------------------------- */

/* Check structure, tokenizer and that every block scale is finite.
 * Returns the number of problems (each printed). */
static int check_file(const char *path, const gguf_file *vocab, int quiet) {
    gguf_file g;
    char err[512];
    int bad = 0;
    qi_status st = gguf_open(path, &g, err, sizeof err);
    if (st) {
        fprintf(stderr, "%s: check: '%s': %s (status %d)\n", prog, path, err, (int)st);
        return 1;
    }
#define BAD(...) (fprintf(stderr, "%s: check: ", prog), fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), bad++)
    if (g.version != 3) BAD("GGUF version %u, expected 3", g.version);
    if (g.alignment != ALIGN) BAD("alignment %llu", (unsigned long long)g.alignment);
    if (g.n_tensors != N_TENSORS) BAD("%llu tensors, expected %d", (unsigned long long)g.n_tensors, N_TENSORS);
    uint64_t data_bytes = 0, n_of_type[GGML_TYPE_COUNT] = {0};
    for (int i = 0; i < N_TENSORS && !bad; i++) {
        const tspec *t = &tensors[i];
        const gguf_tensor *gt = gguf_find_tensor(&g, t->name);
        if (!gt) { BAD("tensor %s missing", t->name); continue; }
        if (gt->type != t->type) BAD("tensor %s: type %s", t->name, ggml_type_name(gt->type));
        if (gt->n_dims != t->n_dims || gt->ne[0] != t->ne[0] || gt->ne[1] != t->ne[1])
            BAD("tensor %s: shape [%llu x %llu], expected [%llu x %llu]", t->name,
                (unsigned long long)gt->ne[0], (unsigned long long)gt->ne[1],
                (unsigned long long)t->ne[0], (unsigned long long)t->ne[1]);
        data_bytes += gt->n_bytes;
        const uint8_t *p = gt->data;
        if (gt->type < GGML_TYPE_COUNT) n_of_type[gt->type]++;
        if (gt->type == GGML_F32) {
            for (uint64_t k = 0; k < gt->n_elems; k++) {
                float f;
                memcpy(&f, p + 4 * k, 4);
                if (!isfinite(f)) { BAD("tensor %s: element %llu not finite", t->name, (unsigned long long)k); break; }
            }
        } else if (gt->type == GGML_F16 || gt->type == GGML_BF16) {
            uint16_t mask = gt->type == GGML_F16 ? 0x7c00 : 0x7f80;
            for (uint64_t k = 0; k < gt->n_elems; k++)
                if (((p[2 * k] | p[2 * k + 1] << 8) & mask) == mask) {
                    BAD("tensor %s: element %llu not finite", t->name, (unsigned long long)k);
                    break;
                }
        } else {
            /* every block's scale positive and finite, its other f16 field finite */
            int bs = ggml_type_size(gt->type), off[2], n_f16 = block_f16_fields(gt->type, off);
            for (uint64_t k = 0; k < gt->n_bytes / (uint64_t)bs; k++) {
                const uint8_t *h = p + k * bs + off[0];
                float d = f16_to_f32((uint16_t)(h[0] | (h[1] << 8)));
                float m = n_f16 > 1 ? f16_to_f32((uint16_t)(p[k * bs + off[1]] | (p[k * bs + off[1] + 1] << 8))) : 0;
                if (!isfinite(d) || d <= 0 || !isfinite(m)) {
                    BAD("tensor %s: block %llu scale %g", t->name, (unsigned long long)k, d);
                    break;
                }
            }
        }
    }
    if (!bad && !strcmp(kind->name, "q4_0") && data_bytes != OFFICIAL_DATA_SIZE)
        BAD("%llu bytes of tensor data, expected %llu", (unsigned long long)data_bytes, OFFICIAL_DATA_SIZE);
    uint64_t ft;
    if (!gguf_get_u64(&g, "general.file_type", &ft) || ft != kind->file_type)
        BAD("general.file_type is not %u (%s)", kind->file_type, kind->name);
    uint64_t u;
    gguf_str s;
    if (!gguf_get_str(&g, "general.architecture", &s) || !gguf_str_eq(s, "qwen2")) BAD("general.architecture is not qwen2");
    if (!gguf_get_u64(&g, "qinfer.synthetic", &u) || u != 1) BAD("qinfer.synthetic is not true");
    if (!gguf_get_u64(&g, "qwen2.block_count", &u) || u != N_LAYER) BAD("qwen2.block_count");
    if (vocab) {
        /* the tokenizer.* records, byte for byte and in the same order */
        uint64_t j = 0, n_tok = 0;
        for (uint64_t i = 0; i < vocab->n_kv; i++) {
            const gguf_kv *v = &vocab->kv[i];
            if (!is_tokenizer_key(v)) continue;
            n_tok++;
            while (j < g.n_kv && !is_tokenizer_key(&g.kv[j])) j++;
            if (j == g.n_kv) { BAD("tokenizer key %.*s missing", (int)v->key.len, v->key.ptr); break; }
            const gguf_kv *w = &g.kv[j++];
            size_t nv = (size_t)(kv_end(v) - kv_begin(v)), nw = (size_t)(kv_end(w) - kv_begin(w));
            if (nv != nw || memcmp(kv_begin(v), kv_begin(w), nv) != 0)
                BAD("tokenizer key %.*s differs from the vocab file's", (int)v->key.len, v->key.ptr);
        }
        for (; j < g.n_kv; j++)
            if (is_tokenizer_key(&g.kv[j])) BAD("extra tokenizer key %.*s", (int)g.kv[j].key.len, g.kv[j].key.ptr);
        if (!quiet && !bad) fprintf(stderr, "%s: check: %llu tokenizer keys equal the vocab file's\n", prog, (unsigned long long)n_tok);
    } else if (!gguf_get_str(&g, "tokenizer.ggml.model", &s)) {
        BAD("no tokenizer.ggml.model");
    }
    if (!quiet && !bad) {
        char mix[256] = "";
        for (int t = 0, k = 0; t < GGML_TYPE_COUNT; t++)
            if (n_of_type[t])
                k += snprintf(mix + k, sizeof mix - (size_t)k, "%s%llu %s", k ? ", " : "", (unsigned long long)n_of_type[t],
                              ggml_type_name((uint32_t)t));
        fprintf(stderr, "%s: check: '%s' ok: GGUF v%u, %llu keys, %llu tensors (%s), data at %llu, %llu bytes\n", prog,
                path, g.version, (unsigned long long)g.n_kv, (unsigned long long)g.n_tensors, mix,
                (unsigned long long)g.data_offset, (unsigned long long)g.size);
    }
#undef BAD
    gguf_close(&g);
    return bad;
}

/* ---- writing ------------------------------------------------------------------------ */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void xwrite(FILE *f, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, f) != n) die("cannot write '%s': %s", tmp_path, strerror(errno));
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: %s [--type KIND] [--vocab VOCAB.gguf] [-o OUT.gguf] [--seed N] [-q]\n"
            "       %s --check FILE.gguf [--type KIND] [--vocab VOCAB.gguf]\n"
            "\n"
            "Writes a synthetic GGUF v3 with the tensor names, shapes and types of the\n"
            "official qwen2.5-0.5b-instruct-KIND.gguf (291 tensors), random weights (a\n"
            "sane model numerically, noise as text) and the tokenizer metadata of\n"
            "VOCAB.gguf copied verbatim. For speed measurement only; the file is marked\n"
            "qinfer.synthetic = true.\n"
            "\n"
            "  --type KIND   the official file to imitate:",
            prog, prog);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) fprintf(f, " %s", kinds[i].name);
    fprintf(f, "\n"
            "                (default q4_0)\n"
            "  --vocab FILE  GGUF whose tokenizer.* keys are copied (a missing FILE is an\n"
            "                error; without --vocab the file gets tokenizer.ggml.model = \"none\")\n"
            "  -o FILE       output (default models/qwen2.5-0.5b-synth-KIND.gguf)\n"
            "  --seed N      PRNG seed (default 1); the same seed gives the same file\n"
            "  -q            no progress output\n"
            "  --check FILE  verify an existing synthetic file of KIND (shapes, types,\n"
            "                finite scales; with --vocab, tokenizer keys equal the vocab's)\n"
            "  -h, --help    this text\n");
}

int main(int argc, char **argv) {
    const char *out = NULL, *vocab_path = NULL, *check = NULL;
    char default_out[256];
    uint64_t seed = 1;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--vocab") || !strcmp(a, "--seed") ||
                 !strcmp(a, "--check") || !strcmp(a, "--type")) {
            if (!next) { fprintf(stderr, "%s: %s needs an argument\n", prog, a); usage(stderr); return 2; }
            i++;
            if (a[1] == 'o' || !strcmp(a, "--output")) out = next;
            else if (!strcmp(a, "--vocab")) vocab_path = next;
            else if (!strcmp(a, "--check")) check = next;
            else if (!strcmp(a, "--type")) {
                kind = NULL;
                if (!strcmp(next, "f16")) next = "fp16"; /* the official file says fp16 */
                for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
                    if (!strcmp(next, kinds[k].name)) kind = &kinds[k];
                if (!kind) {
                    fprintf(stderr, "%s: --type: unknown kind '%s' (one of:", prog, next);
                    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) fprintf(stderr, " %s", kinds[k].name);
                    fprintf(stderr, ")\n");
                    return 2;
                }
            } else {
                char *end;
                errno = 0;
                seed = strtoull(next, &end, 0);
                if (errno || end == next || *end || next[0] == '-') {
                    fprintf(stderr, "%s: --seed: '%s' is not a non-negative integer\n", prog, next);
                    return 2;
                }
            }
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", prog, a);
            usage(stderr);
            return 2;
        }
    }
    if (!out) {
        snprintf(default_out, sizeof default_out, DEFAULT_OUT, kind->name);
        out = default_out;
    }
    if (!*out) { fprintf(stderr, "%s: empty output path\n", prog); return 2; }

    double t0 = now();
    init_tables();
    build_tensor_list();

    gguf_file vocab_file, *vocab = NULL;
    if (vocab_path) {
        /* a vocabulary asked for and missing is an error: a model without a
         * tokenizer where one was expected reads no text */
        if (!open_vocab(vocab_path, &vocab_file))
            die("vocab file '%s' does not exist (leave --vocab out to write a file without a tokenizer)", vocab_path);
        vocab = &vocab_file;
    }
    if (check) {
        int bad = check_file(check, vocab, quiet);
        if (vocab) gguf_close(vocab);
        return bad ? 1 : 0;
    }
    if (!vocab)
        fprintf(stderr, "%s: warning: no --vocab given: writing a file WITHOUT a tokenizer "
                "(tokenizer.ggml.model = \"none\"); it can only be fed token ids\n", prog);

    buf header = {0};
    build_header(&header, vocab, seed);
    uint64_t total = header.n + tensors[N_TENSORS - 1].offset + tensors[N_TENSORS - 1].n_bytes;

    /* temporary file next to the output, removed on any failure or signal */
    if (snprintf(tmp_path, sizeof tmp_path, "%s.tmp.XXXXXX", out) >= (int)sizeof tmp_path) {
        tmp_path[0] = 0;
        die("output path too long");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    int fd = mkstemp(tmp_path);
    if (fd < 0) {
        int e = errno;
        tmp_path[0] = 0;
        die("cannot create a temporary file next to '%s': %s", out, strerror(e));
    }
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) die("cannot chmod '%s': %s", tmp_path, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) die("cannot open '%s': %s", tmp_path, strerror(errno));
    setvbuf(f, NULL, _IONBF, 0); /* we write in large chunks ourselves */

    xwrite(f, header.p, header.n);

    /* tensor data, generated in chunks of whole blocks */
    const size_t CHUNK = 8u << 20;
    uint8_t *chunk = malloc(CHUNK);
    if (!chunk) die("out of memory");
    int tty = !quiet && isatty(2);
    uint64_t done = header.n, next_report = tty ? 0 : total / 4;
    for (int i = 0; i < N_TENSORS; i++) {
        const tspec *t = &tensors[i];
        rng r;
        rng_seed(&r, seed, (uint64_t)i + 1);
        uint64_t bs = (uint64_t)ggml_type_size(t->type), be = (uint64_t)ggml_type_block(t->type);
        uint64_t n_blocks = t->ne[0] * t->ne[1] / be, per_chunk = CHUNK / bs;
        for (uint64_t b = 0; b < n_blocks; b += per_chunk) {
            uint64_t nb = n_blocks - b < per_chunk ? n_blocks - b : per_chunk;
            if (t->type == GGML_Q4_0) gen_q4_0(&r, chunk, nb, t->ne[0]);
            else if (t->type == GGML_Q8_0) gen_q8_0(&r, chunk, nb, t->ne[0]);
            else if (t->type == GGML_F32) gen_f32(&r, chunk, nb, t->kind);
            else gen_other(t->type, &r, chunk, nb, t->ne[0]);
            xwrite(f, chunk, (size_t)(nb * bs));
            done += nb * bs;
            if (!quiet && done >= next_report) {
                if (tty) fprintf(stderr, "\r%s: writing %3.0f%% (%llu / %llu MB)", prog, 100.0 * done / total,
                                 (unsigned long long)(done >> 20), (unsigned long long)(total >> 20));
                else fprintf(stderr, "%s: writing %3.0f%%\n", prog, 100.0 * done / total);
                next_report += tty ? total / 100 : total / 4;
            }
        }
        uint64_t padding = (ALIGN - t->n_bytes % ALIGN) % ALIGN;
        if (padding) {
            static const uint8_t zeros[ALIGN];
            xwrite(f, zeros, (size_t)padding);
            done += padding;
        }
    }
    if (tty) fputc('\n', stderr);
    free(chunk);
    if (fflush(f) != 0) die("cannot write '%s': %s", tmp_path, strerror(errno));
    if (fclose(f) != 0) die("cannot write '%s': %s", tmp_path, strerror(errno));
    if (done != total) die("internal: wrote %llu bytes, expected %llu", (unsigned long long)done, (unsigned long long)total);
    double t_write = now() - t0;

    /* read it back before it takes the output's name */
    if (check_file(tmp_path, vocab, 1)) die("the written file failed its check; nothing was kept");
    if (rename(tmp_path, out) != 0) die("cannot rename '%s' to '%s': %s", tmp_path, out, strerror(errno));
    tmp_path[0] = 0;

    long long diff = (long long)total - (long long)kind->official_size;
    fprintf(stderr, "%s: wrote %s: %llu bytes (official qwen2.5-0.5b-instruct-%s.gguf: %llu, difference %+lld), "
            "seed %llu, %s, %.2f s (write %.2f s)\n",
            prog, out, (unsigned long long)total, kind->name, (unsigned long long)kind->official_size, diff, (unsigned long long)seed,
            vocab ? "with tokenizer" : "NO tokenizer", now() - t0, t_write);
    if (vocab) gguf_close(vocab);
    free(header.p);
    return 0;
}
