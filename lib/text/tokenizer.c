/* Qwen2 byte-level BPE: vocab and merge tables, the pre-tokenizer split,
 * BPE by rank with a heap, and the bytes of a token. See tokenizer.h. */
#include <stdlib.h>
#include <string.h>
#include "base/fail.h"
#include "tokenizer.h"
#include "unicode.h"

typedef struct merge_slot { uint64_t key; int32_t rank, id; } merge_slot;   /* rank -1: empty */
typedef struct special { int32_t id; uint32_t len; int control; } special;
typedef struct vocab_slot { uint32_t hash; int32_t id; } vocab_slot;         /* id -1: empty */

struct qi_tokenizer {
    int n_tokens;
    char *text;               /* every vocab string, back to back */
    size_t *off;              /* [n_tokens + 1] offsets into text */
    uint8_t *type;            /* enum tok_type per token */
    vocab_slot *vtab;         /* vocab string -> id; the hash kept to skip most compares */
    uint32_t vmask;
    merge_slot *mtab;         /* (left id, right id) -> rank, merged id */
    uint64_t mmask;
    int32_t byte_id[256];     /* token of each single byte */
    special *spec;            /* CONTROL and USER_DEFINED tokens, longest first */
    int n_spec;
    uint8_t spec_first[256];  /* 1: a USER_DEFINED token starts with this byte, 2: a CONTROL one */
    int32_t eog[3];           /* ids that end a generation, found once at load */
    int n_eog;
    int can_encode;           /* the Qwen2 split, and a token for every byte */
};

/* ---- GPT-2 byte <-> unicode mapping ------------------------------------------
 * Printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for themselves;
 * the 68 others take U+0100.. in byte order, so ' ' is U+0120 'Ġ'. */

static uint32_t byte_to_cp(unsigned b) {
    if (b <= 0x20) return 0x100 + b;
    if (b >= 0x7F && b <= 0xA0) return 0x100 + 33 + (b - 0x7F);
    if (b == 0xAD) return 0x100 + 67;
    return b;
}

static int cp_to_byte(uint32_t c) {
    if ((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)) return (int)c;
    if (c >= 0x100 && c <= 0x120) return (int)(c - 0x100);
    if (c >= 0x121 && c <= 0x142) return (int)(c - 0x121 + 0x7F);
    if (c == 0x143) return 0xAD;
    return -1;
}

/* ---- hashing ------------------------------------------------------------------ */

static uint32_t fnv(uint32_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}
#define FNV_INIT 2166136261u

/* id of the vocab string a[0..na) + b[0..nb), or -1 */
static int32_t vocab_find2(const qi_tokenizer *t, const char *a, size_t na, const char *b, size_t nb) {
    uint32_t h = fnv(fnv(FNV_INIT, a, na), b, nb);
    for (uint32_t s = h & t->vmask;; s = (s + 1) & t->vmask) {
        int32_t id = t->vtab[s].id;
        if (id < 0) return -1;
        const char *p = t->text + t->off[id];
        if (t->vtab[s].hash == h && t->off[id + 1] - t->off[id] == na + nb &&
            memcmp(p, a, na) == 0 && memcmp(p + na, b, nb) == 0)
            return id;
    }
}

static uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

static uint64_t pair_slot(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 20; }

/* slot of the merge (a, b), or -1 */
static int64_t merge_find(const qi_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = pair_key(a, b);
    for (uint64_t s = pair_slot(key) & t->mmask;; s = (s + 1) & t->mmask) {
        if (t->mtab[s].rank < 0) return -1;
        if (t->mtab[s].key == key) return (int64_t)s;
    }
}

/* ---- load --------------------------------------------------------------------- */

static int32_t rd_i32(const uint8_t *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static int spec_cmp(const void *a, const void *b) {
    const special *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* A special token id key: absent is fine (-1), present must be a valid id. */
static qi_status load_special_id(const gguf_file *g, const qi_tokenizer *t, const char *key, int32_t *out,
                                 char *err, size_t err_size) {
    *out = -1;
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return QI_OK;
    uint64_t v;
    if (!gguf_get_u64(g, key, &v) || v >= (uint64_t)t->n_tokens)
        return fail_msg(err, err_size, QI_ERR_TOKENIZER, "%s must be a token id below %d", key, t->n_tokens);
    *out = (int32_t)v;
    return QI_OK;
}

static qi_status load_tokens(const gguf_file *g, qi_tokenizer *t, char *err, size_t err_size) {
    const gguf_kv *kv = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_STRING);
    if (!kv)
        return fail_msg(err, err_size, QI_ERR_TOKENIZER, "tokenizer.ggml.tokens missing or not an array of strings");
    if (kv->v.arr.n == 0 || kv->v.arr.n > (1u << 30))
        return fail_msg(err, err_size, QI_ERR_TOKENIZER, "tokenizer.ggml.tokens has %llu entries",
                    (unsigned long long)kv->v.arr.n);
    int n = (int)kv->v.arr.n;
    t->n_tokens = n;
    /* one pass for sizes, one to copy */
    size_t total = 0;
    gguf_str s;
    const uint8_t *p = kv->v.arr.data;
    for (int i = 0; i < n; i++) {
        p = gguf_arr_next_str(p, &s);
        total += s.len;
    }
    t->text = malloc(total + 1);
    t->off = malloc((size_t)(n + 1) * sizeof *t->off);
    t->type = malloc((size_t)n);
    uint32_t cap = 1024;
    while (cap < 2u * (uint32_t)n) cap <<= 1;
    t->vtab = malloc(cap * sizeof *t->vtab);
    if (!t->text || !t->off || !t->type || !t->vtab)
        return fail_msg(err, err_size, QI_ERR_NOMEM, "out of memory for the vocab");
    t->vmask = cap - 1;
    memset(t->vtab, 0xFF, cap * sizeof *t->vtab);
    size_t o = 0;
    p = kv->v.arr.data;
    for (int i = 0; i < n; i++) {
        p = gguf_arr_next_str(p, &s);
        memcpy(t->text + o, s.ptr, s.len);
        t->off[i] = o;
        o += s.len;
        uint32_t h = fnv(FNV_INIT, s.ptr, s.len);
        /* a duplicate string keeps its first id */
        uint32_t slot = h & t->vmask;
        for (; t->vtab[slot].id >= 0; slot = (slot + 1) & t->vmask) {
            int32_t j = t->vtab[slot].id;
            if (t->vtab[slot].hash == h && t->off[j + 1] - t->off[j] == s.len &&
                memcmp(t->text + t->off[j], s.ptr, s.len) == 0)
                break;
        }
        if (t->vtab[slot].id < 0) t->vtab[slot] = (vocab_slot){h, i};
    }
    t->off[n] = o;

    /* token types: absent means all NORMAL */
    memset(t->type, TOK_NORMAL, (size_t)n);
    if (gguf_find_kv(g, "tokenizer.ggml.token_type")) {
        const gguf_kv *tk = gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_INT32);
        if (!tk || tk->v.arr.n != (uint64_t)n)
            return fail_msg(err, err_size, QI_ERR_TOKENIZER,
                        "tokenizer.ggml.token_type must be an int32 array of %d entries", n);
        for (int i = 0; i < n; i++) {
            int32_t v = rd_i32(tk->v.arr.data + 4 * (size_t)i);
            if (v < TOK_UNDEFINED || v > TOK_BYTE)
                return fail_msg(err, err_size, QI_ERR_TOKENIZER,
                            "tokenizer.ggml.token_type[%d] = %d is not a known type", i, (int)v);
            t->type[i] = (uint8_t)v;
        }
    }
    return QI_OK;
}

static qi_status load_merges(const gguf_file *g, qi_tokenizer *t, char *err, size_t err_size) {
    uint64_t n = 0;
    const gguf_kv *kv = NULL;
    if (gguf_find_kv(g, "tokenizer.ggml.merges")) {
        kv = gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_STRING);
        if (!kv) return fail_msg(err, err_size, QI_ERR_TOKENIZER, "tokenizer.ggml.merges is not an array of strings");
        n = kv->v.arr.n;
        if (n > (1u << 30))
            return fail_msg(err, err_size, QI_ERR_TOKENIZER, "tokenizer.ggml.merges has %llu entries",
                        (unsigned long long)n);
    }
    uint64_t cap = 1024;
    while (cap < 2 * n) cap <<= 1;
    t->mtab = malloc(cap * sizeof *t->mtab);
    if (!t->mtab) return fail_msg(err, err_size, QI_ERR_NOMEM, "out of memory for the merges");
    t->mmask = cap - 1;
    for (uint64_t i = 0; i < cap; i++) t->mtab[i].rank = -1;
    const uint8_t *p = n ? kv->v.arr.data : NULL;
    for (uint64_t r = 0; r < n; r++) {
        gguf_str s;
        p = gguf_arr_next_str(p, &s);
        /* "left right"; the search starts at 1 as a token can not be empty */
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
        if (!sp || sp + 1 == s.ptr + s.len)
            return fail_msg(err, err_size, QI_ERR_TOKENIZER, "tokenizer.ggml.merges[%llu] is not \"left right\"",
                        (unsigned long long)r);
        size_t na = (size_t)(sp - s.ptr), nb = s.len - na - 1;
        int32_t a = vocab_find2(t, s.ptr, na, "", 0);
        int32_t b = vocab_find2(t, sp + 1, nb, "", 0);
        int32_t m = vocab_find2(t, s.ptr, na, sp + 1, nb);
        if (a < 0 || b < 0 || m < 0) {
            int show = s.len > 60 ? 60 : (int)s.len;
            return fail_msg(err, err_size, QI_ERR_TOKENIZER,
                        "tokenizer.ggml.merges[%llu] \"%.*s\": %s is not in tokenizer.ggml.tokens",
                        (unsigned long long)r, show, s.ptr,
                        a < 0 ? "the left part" : b < 0 ? "the right part" : "the merged token");
        }
        uint64_t key = pair_key(a, b), slot = pair_slot(key) & t->mmask;
        while (t->mtab[slot].rank >= 0 && t->mtab[slot].key != key) slot = (slot + 1) & t->mmask;
        /* a repeated pair takes its last rank, like HF's merge map */
        t->mtab[slot].key = key;
        t->mtab[slot].rank = (int32_t)r;
        t->mtab[slot].id = m;
    }
    return QI_OK;
}

static qi_status load_specials(qi_tokenizer *t) {
    int n = 0;
    for (int i = 0; i < t->n_tokens; i++)
        if ((t->type[i] == TOK_CONTROL || t->type[i] == TOK_USER_DEFINED) && t->off[i + 1] > t->off[i]) n++;
    t->spec = malloc((size_t)(n ? n : 1) * sizeof *t->spec);
    if (!t->spec) return QI_ERR_NOMEM;
    for (int i = 0; i < t->n_tokens; i++) {
        size_t len = t->off[i + 1] - t->off[i];
        if ((t->type[i] != TOK_CONTROL && t->type[i] != TOK_USER_DEFINED) || !len) continue;
        special *s = &t->spec[t->n_spec++];
        s->id = i;
        s->len = (uint32_t)len;
        s->control = t->type[i] == TOK_CONTROL;
        t->spec_first[(unsigned char)t->text[t->off[i]]] |= (uint8_t)(s->control ? 2 : 1);
    }
    qsort(t->spec, (size_t)t->n_spec, sizeof *t->spec, spec_cmp);
    return QI_OK;
}

/* The ids that end a generation: the file's eos, and the two ends
 * Qwen2.5-Instruct's generation config lists, each once. */
static void find_eog(qi_tokenizer *t, int32_t eos) {
    int32_t ends[3] = {eos, tok_find(t, "<|im_end|>"), tok_find(t, "<|endoftext|>")};
    for (int i = 0; i < 3; i++)
        if (ends[i] >= 0 && !tok_is_eog(t, ends[i])) t->eog[t->n_eog++] = ends[i];
}

/* Encoding needs the Qwen2 split and a token for every byte. A missing
 * pre key is taken as qwen2: this runtime only loads Qwen2 models.
 * llama.cpp gives the same split to "deepseek-r1-qwen" and "megrez".
 * A vocab that can not encode still loads, and decodes. */
static int can_encode(const qi_tokenizer *t, const gguf_str *pre) {
    if (pre && !gguf_str_eq(*pre, "qwen2") && !gguf_str_eq(*pre, "deepseek-r1-qwen") && !gguf_str_eq(*pre, "megrez"))
        return 0;
    for (unsigned b = 0; b < 256; b++)
        if (t->byte_id[b] < 0) return 0;
    return 1;
}

qi_status tok_load(const gguf_file *g, qi_tokenizer **out, char *err, size_t err_size) {
    if (err && err_size) err[0] = 0;
    if (!out) return QI_ERR_INVALID_ARG;
    *out = NULL;
    if (!g) return QI_ERR_INVALID_ARG;
    gguf_str model;
    if (!gguf_find_kv(g, "tokenizer.ggml.model"))
        return fail_msg(err, err_size, QI_ERR_NO_VOCAB, "no tokenizer.ggml.model: the file has no vocab");
    if (!gguf_get_str(g, "tokenizer.ggml.model", &model))
        return fail_msg(err, err_size, QI_ERR_TOKENIZER, "tokenizer.ggml.model is not a string");
    if (gguf_str_eq(model, "none"))
        return fail_msg(err, err_size, QI_ERR_NO_VOCAB, "tokenizer.ggml.model is \"none\": the file has no vocab");
    if (!gguf_str_eq(model, "gpt2"))
        return fail_msg(err, err_size, QI_ERR_TOKENIZER,
                    "tokenizer.ggml.model \"%.*s\" is not supported (only \"gpt2\" byte-level BPE)",
                    (int)(model.len > 40 ? 40 : model.len), model.ptr);

    qi_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return fail_msg(err, err_size, QI_ERR_NOMEM, "out of memory");
    qi_status st;
    if ((st = load_tokens(g, t, err, err_size)) || (st = load_merges(g, t, err, err_size))) goto bad;
    if ((st = load_specials(t))) { fail_msg(err, err_size, st, "out of memory"); goto bad; }
    int32_t bos, eos; /* bos is only checked: nothing here puts it in front of a text */
    if ((st = load_special_id(g, t, "tokenizer.ggml.bos_token_id", &bos, err, err_size)) ||
        (st = load_special_id(g, t, "tokenizer.ggml.eos_token_id", &eos, err, err_size)))
        goto bad;
    find_eog(t, eos);

    gguf_str pre;
    int has_pre = gguf_find_kv(g, "tokenizer.ggml.pre") != NULL;
    if (has_pre && !gguf_get_str(g, "tokenizer.ggml.pre", &pre)) {
        st = fail_msg(err, err_size, QI_ERR_TOKENIZER, "tokenizer.ggml.pre is not a string");
        goto bad;
    }
    for (unsigned b = 0; b < 256; b++) {
        unsigned char u[4];
        int k = uni_encode(byte_to_cp(b), u);
        t->byte_id[b] = vocab_find2(t, (const char *)u, (size_t)k, "", 0);
    }
    t->can_encode = can_encode(t, has_pre ? &pre : NULL);
    *out = t;
    return QI_OK;
bad:
    tok_free(t);
    return st;
}

void tok_free(qi_tokenizer *t) {
    if (!t) return;
    free(t->text);
    free(t->off);
    free(t->type);
    free(t->vtab);
    free(t->mtab);
    free(t->spec);
    free(t);
}

/* ---- queries ------------------------------------------------------------------ */

int tok_n_vocab(const qi_tokenizer *t) { return t ? t->n_tokens : 0; }

int32_t tok_find(const qi_tokenizer *t, const char *text) {
    if (!t || !text) return -1;
    return vocab_find2(t, text, strlen(text), "", 0);
}

int tok_is_eog(const qi_tokenizer *t, int32_t id) {
    for (int i = 0; t && i < t->n_eog; i++)
        if (id == t->eog[i]) return 1;
    return 0;
}


/* ---- encode ------------------------------------------------------------------- */

/* character classes for the split */
enum { C_L = 1, C_N = 2, C_WS = 4, C_NL = 8 };
#define C_OTHER(c) (!((c) & (C_L | C_N | C_WS)))

typedef struct heap_ent { int32_t rank, pos; uint64_t slot; } heap_ent;

typedef struct enc {
    const qi_tokenizer *t;
    int32_t *ids; size_t n, cap;     /* the output */
    uint8_t *cls; size_t *off; size_t ccap;           /* split scratch */
    int32_t *sid, *prev, *next; size_t scap;          /* BPE symbols */
    heap_ent *heap; size_t nheap, hcap;
} enc;

static int push_id(enc *e, int32_t id) {
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 256;
        int32_t *v = realloc(e->ids, cap * sizeof *v);
        if (!v) return -1;
        e->ids = v;
        e->cap = cap;
    }
    e->ids[e->n++] = id;
    return 0;
}

static int heap_less(const heap_ent *a, const heap_ent *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(enc *e, heap_ent x) {      /* capacity reserved by bpe() */
    size_t i = e->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&x, &e->heap[p])) break;
        e->heap[i] = e->heap[p];
        i = p;
    }
    e->heap[i] = x;
}

static heap_ent heap_pop(enc *e) {
    heap_ent top = e->heap[0], x = e->heap[--e->nheap];
    size_t i = 0, n = e->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&e->heap[c + 1], &e->heap[c])) c++;
        if (!heap_less(&e->heap[c], &x)) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    e->heap[i] = x;
    return top;
}

static void try_pair(enc *e, int32_t pos) {
    int32_t nx = e->next[pos];
    if (nx < 0) return;
    int64_t s = merge_find(e->t, e->sid[pos], e->sid[nx]);
    if (s >= 0) heap_push(e, (heap_ent){e->t->mtab[s].rank, pos, (uint64_t)s});
}

/* BPE of one pre-token: start from byte tokens, always apply the merge of
 * lowest rank (leftmost on ties), as HF's word.merge_all does. O(m log m). */
static int bpe(enc *e, const unsigned char *w, size_t m) {
    const qi_tokenizer *t = e->t;
    if (m == 1) return push_id(e, t->byte_id[w[0]]);
    if (m > INT32_MAX / 4) return -1;        /* positions are int32 */
    if (m > e->scap) {
        size_t cap = m < 64 ? 64 : m;
        int32_t *a = realloc(e->sid, cap * sizeof *a);
        if (a) e->sid = a;
        int32_t *b = realloc(e->prev, cap * sizeof *b);
        if (b) e->prev = b;
        int32_t *c = realloc(e->next, cap * sizeof *c);
        if (c) e->next = c;
        heap_ent *h = realloc(e->heap, 3 * cap * sizeof *h);
        if (h) e->heap = h;
        if (!a || !b || !c || !h) return -1;
        e->scap = cap;
    }
    for (size_t k = 0; k < m; k++) {
        e->sid[k] = t->byte_id[w[k]];
        e->prev[k] = (int32_t)k - 1;
        e->next[k] = k + 1 < m ? (int32_t)k + 1 : -1;
    }
    e->nheap = 0;
    for (size_t k = 0; k + 1 < m; k++) try_pair(e, (int32_t)k);
    while (e->nheap) {
        heap_ent h = heap_pop(e);
        int32_t k = h.pos, nx = e->next[k];
        if (e->sid[k] < 0 || nx < 0 || t->mtab[h.slot].key != pair_key(e->sid[k], e->sid[nx])) continue;
        e->sid[k] = t->mtab[h.slot].id;           /* merge k with its right neighbour */
        e->sid[nx] = -1;
        e->next[k] = e->next[nx];
        if (e->next[k] >= 0) e->prev[e->next[k]] = k;
        if (e->prev[k] >= 0) try_pair(e, e->prev[k]);
        try_pair(e, k);
    }
    for (int32_t k = 0; k >= 0; k = e->next[k])
        if (push_id(e, e->sid[k])) return -1;
    return 0;
}

static int lower_ascii(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* End (in characters) of the pre-token that starts at character i: the
 * first alternative of the Qwen2 regex that matches there, as a
 * backtracking regex engine picks it. */
static size_t split_next(const enc *e, const unsigned char *u, size_t i, size_t nc) {
    const uint8_t *cls = e->cls;
    const size_t *off = e->off;
    uint8_t c = cls[i];
    /* (?i:'s|'t|'re|'ve|'m|'ll|'d); U+017F (long s) folds to 's' */
    if (u[off[i]] == '\'' && i + 1 < nc) {
        int a = lower_ascii(u[off[i + 1]]);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if (a == 0xC5 && off[i + 2] - off[i + 1] == 2 && u[off[i + 1] + 1] == 0xBF) return i + 2;
        if (i + 2 < nc) {
            int b = lower_ascii(u[off[i + 2]]);
            if (((a == 'r' || a == 'v') && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
        }
    }
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    size_t j = i;
    if (!(c & (C_L | C_N | C_NL)) && i + 1 < nc && (cls[i + 1] & C_L)) j = i + 1;
    if (cls[j] & C_L) {
        while (j < nc && (cls[j] & C_L)) j++;
        return j;
    }
    /* \p{N} */
    if (c & C_N) return i + 1;
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    j = i;
    if (u[off[i]] == ' ' && i + 1 < nc && C_OTHER(cls[i + 1])) j = i + 1;
    if (C_OTHER(cls[j])) {
        while (j < nc && C_OTHER(cls[j])) j++;
        while (j < nc && (cls[j] & C_NL)) j++;
        return j;
    }
    /* c is white space from here on */
    size_t last_nl = 0, any_nl = 0;
    for (j = i; j < nc && (cls[j] & C_WS); j++)
        if (cls[j] & C_NL) { last_nl = j; any_nl = 1; }
    if (any_nl) return last_nl + 1;        /* \s*[\r\n]+ */
    if (j == nc || j - i == 1) return j;   /* \s+(?!\S) to the end, or \s+ */
    return j - 1;                          /* \s+(?!\S): leave one for the next word */
}

/* NFC, split and BPE of text with no added tokens in it */
static int encode_plain(enc *e, const char *text, size_t len) {
    if (!len) return 0;
    char *norm = NULL;
    if (!uni_nfc_quick(text, len)) {
        size_t nn;
        if (uni_nfc(text, len, &norm, &nn)) return -1;
        text = norm;
        len = nn;
    }
    const unsigned char *u = (const unsigned char *)text;
    int rc = -1;
    if (len + 1 > e->ccap) {
        uint8_t *c = realloc(e->cls, len + 1);
        if (c) e->cls = c;
        size_t *o = realloc(e->off, (len + 1) * sizeof *o);
        if (o) e->off = o;
        if (!c || !o) goto out;
        e->ccap = len + 1;
    }
    size_t nc = 0;
    for (size_t i = 0; i < len; nc++) {
        uint32_t cp;
        e->off[nc] = i;
        i += (size_t)uni_decode(u + i, len - i, &cp);
        unsigned k = UNI_IS_RAW(cp) ? 0 : uni_class(cp);
        e->cls[nc] = (uint8_t)((k & UNI_L ? C_L : 0) | (k & UNI_N ? C_N : 0) | (k & UNI_WS ? C_WS : 0) |
                               (cp == '\r' || cp == '\n' ? C_NL : 0));
    }
    e->off[nc] = len;
    e->cls[nc] = 0;        /* sentinel: split_next may look one past a letter run */
    for (size_t i = 0; i < nc;) {
        size_t j = split_next(e, u, i, nc);
        if (bpe(e, u + e->off[i], e->off[j] - e->off[i])) goto out;
        i = j;
    }
    rc = 0;
out:
    free(norm);
    return rc;
}

qi_status tok_encode(const qi_tokenizer *t, const char *text, size_t len, int parse_special,
                     int32_t **ids, size_t *n, size_t *cap) {
    if (!t || (!text && len) || !ids || !n || !cap || *n > *cap) return QI_ERR_INVALID_ARG;
    if (!t->can_encode) return QI_ERR_TOKENIZER;
    enc e = {.t = t, .ids = *ids, .n = *n, .cap = *cap};
    const size_t n0 = *n;
    const uint8_t want = parse_special ? 3 : 1;    /* USER_DEFINED always, CONTROL on request */
    size_t seg = 0;
    int rc = 0;
    for (size_t p = 0; p < len && !rc;) {
        if (!(t->spec_first[(unsigned char)text[p]] & want)) { p++; continue; }
        const special *hit = NULL;     /* the longest match, as spec[] is longest first */
        for (int k = 0; k < t->n_spec; k++) {
            const special *s = &t->spec[k];
            if (((s->control ? 2 : 1) & want) && s->len <= len - p &&
                memcmp(text + p, t->text + t->off[s->id], s->len) == 0) { hit = s; break; }
        }
        if (!hit) { p++; continue; }
        rc = encode_plain(&e, text + seg, p - seg);
        if (!rc) rc = push_id(&e, hit->id);
        p += hit->len;
        seg = p;
    }
    if (!rc) rc = encode_plain(&e, text + seg, len - seg);
    free(e.cls);
    free(e.off);
    free(e.sid);
    free(e.prev);
    free(e.next);
    free(e.heap);
    *ids = e.ids;                       /* may have moved even on failure */
    *cap = e.cap;
    *n = rc ? n0 : e.n;
    return rc ? QI_ERR_NOMEM : QI_OK;
}

/* ---- decode ------------------------------------------------------------------- */

/* min(cap, n) bytes written so far, n counted in full */
typedef struct sink { char *out; size_t cap, n; } sink;

static void sink_byte(sink *k, unsigned char b) {
    if (k->n < k->cap) k->out[k->n] = (char)b;
    k->n++;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t tok_token_bytes(const qi_tokenizer *t, int32_t id, char *out, size_t cap) {
    sink k = {out, out ? cap : 0, 0};
    if (!t || id < 0 || id >= t->n_tokens) return 0;
    const unsigned char *s = (const unsigned char *)t->text + t->off[id];
    size_t len = t->off[id + 1] - t->off[id];
    switch (t->type[id]) {
    case TOK_UNUSED:
        return 0;
    case TOK_BYTE:                       /* "<0xAB>" */
        if (len == 6 && s[0] == '<' && s[1] == '0' && s[2] == 'x' && s[5] == '>' &&
            hexval(s[3]) >= 0 && hexval(s[4]) >= 0) {
            sink_byte(&k, (unsigned char)(hexval(s[3]) * 16 + hexval(s[4])));
            return k.n;
        }
        break;
    case TOK_CONTROL: case TOK_USER_DEFINED:
        break;
    default: {                           /* byte-level text */
        /* a token with any character outside the byte map is taken as is,
         * whole, as HF's ByteLevel decoder does */
        int mapped = 1;
        for (size_t i = 0; i < len && mapped;) {
            uint32_t c;
            i += (size_t)uni_decode(s + i, len - i, &c);
            mapped = !UNI_IS_RAW(c) && cp_to_byte(c) >= 0;
        }
        if (!mapped) break;
        for (size_t i = 0; i < len;) {
            uint32_t c;
            i += (size_t)uni_decode(s + i, len - i, &c);
            sink_byte(&k, (unsigned char)cp_to_byte(c));
        }
        return k.n;
    }
    }
    for (size_t i = 0; i < len; i++) sink_byte(&k, s[i]);
    return k.n;
}
