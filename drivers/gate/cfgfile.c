/* The knob file's grammar, the knob table and in-place edits; see cfgfile.h. */
#include "cfgfile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const KV[] = {"QI_KV_F32", "QI_KV_F16", "QI_KV_Q8_0", NULL};
static const char *const COMPUTE[] = {"QI_COMPUTE_Q8", "QI_COMPUTE_F32", NULL};
static const char *const ISA[] = {"QI_ISA_AUTO", "QI_ISA_SCALAR", "QI_ISA_AVX2", "QI_ISA_AVX512", "QI_ISA_AVX512VNNI",
                                  "QI_ISA_NEON", "QI_ISA_DOTPROD", "QI_ISA_I8MM", "QI_ISA_AMX", NULL};

static const char *const T_THREADS[] = {"0", "1", "2", "3", "4", NULL};
static const char *const T_CHUNK[] = {"16", "32", "64", "96", "128", "256", "512", NULL};
static const char *const T_KV[] = {"QI_KV_F32", "QI_KV_F16", "QI_KV_Q8_0", NULL};
static const char *const T_COMPUTE[] = {"QI_COMPUTE_Q8", "QI_COMPUTE_F32", NULL};
static const char *const T_BOOL[] = {"0", "1", NULL};
static const char *const T_ISA[] = {"QI_ISA_AUTO", "QI_ISA_AVX2", "QI_ISA_AVX512", "QI_ISA_AVX512VNNI", "QI_ISA_AMX",
                                    "QI_ISA_NEON", "QI_ISA_DOTPROD", "QI_ISA_I8MM", NULL};
static const char *const T_PREFETCH[] = {"-1", "0", "2048", "4096", "6144", "8192", "12288", "16384", "24576", NULL};
static const char *const T_ROWS[] = {"0", "16", "32", "64", "128", "256", NULL};
static const char *const T_SPIN[] = {"0", "1000", "5000", "20000", "100000", "1000000", NULL};

const knob KNOBS[] = {
    {"n_threads", "worker threads: more share the memory bandwidth and each job's rows; past the cores they fight", NULL, T_THREADS},
    {"prefill_chunk", "prompt tokens per pass: each weight row serves more tokens, with larger scratch buffers", NULL, T_CHUNK},
    {"kv_capacity", "tokens the KV cache holds: memory against the longest conversation", NULL, NULL},
    {"kv_type", "KV cache storage: f16 and q8_0 read fewer bytes per attended token and round keys and values", KV, T_KV},
    {"compute", "products: 8-bit activations with integer dot products (fast), or dequantized f32 (exact, slow)", COMPUTE, T_COMPUTE},
    {"huge_pages", "weights on 2 MiB pages: fewer TLB misses while streaming, a copy at load (on amx, with Q4_0/Q8_0 rows interleaved: row16)", NULL, T_BOOL},
    {"output_q4_0", "output head requantized to 4 bits: fewer bytes per token, less exact logits", NULL, T_BOOL},
    {"isa", "kernel level: AUTO picks the widest this CPU runs, which is not always the fastest", ISA, T_ISA},
    {"decode_prefetch", "bytes the decode kernel prefetches ahead in the weight stream (-1: the level's own, 0: none)", NULL, T_PREFETCH},
    {"decode_rows", "rows per work item of one-token products (0: one equal share per thread): balance against streaming", NULL, T_ROWS},
    {"prefill_rows", "rows per work item of prompt products (0: one equal share per thread): balance against locality", NULL, T_ROWS},
    {"spin", "rounds an idle worker spins before it sleeps: a sooner start against a busy core", NULL, T_SPIN},
    {"temperature", "sampling (used by the gate only with --sampling config)", NULL, NULL},
    {"top_k", "sampling (used by the gate only with --sampling config)", NULL, NULL},
    {"top_p", "sampling (used by the gate only with --sampling config)", NULL, NULL},
    {"min_p", "sampling (used by the gate only with --sampling config)", NULL, NULL},
    {"repeat_penalty", "sampling (used by the gate only with --sampling config)", NULL, NULL},
    {"repeat_last_n", "sampling (used by the gate only with --sampling config)", NULL, NULL},
    {"seed", "sampling (used by the gate only with --sampling config)", NULL, NULL},
    {NULL, NULL, NULL, NULL},
};

const knob *knob_find(const char *name) {
    for (int i = 0; KNOBS[i].name; i++)
        if (!strcmp(KNOBS[i].name, name)) return &KNOBS[i];
    return NULL;
}

/* ---- a tiny lexer: comments vanish, tokens keep their offsets ------------------------ */

typedef struct lexer {
    const char *s;
    size_t i, n;
    int line;
} lexer;

static void skip_space(lexer *L) {
    for (;;) {
        while (L->i < L->n && isspace((unsigned char)L->s[L->i])) L->line += L->s[L->i++] == '\n';
        if (L->i + 1 < L->n && L->s[L->i] == '/' && L->s[L->i + 1] == '/') {
            while (L->i < L->n && L->s[L->i] != '\n') L->i++;
        } else if (L->i + 1 < L->n && L->s[L->i] == '/' && L->s[L->i + 1] == '*') {
            L->i += 2;
            while (L->i + 1 < L->n && !(L->s[L->i] == '*' && L->s[L->i + 1] == '/')) L->line += L->s[L->i++] == '\n';
            L->i = L->i + 2 <= L->n ? L->i + 2 : L->n;
        } else return;
    }
}

/* the next token: an identifier, a number, or one punctuation byte */
static size_t next_tok(lexer *L, size_t *start) {
    skip_space(L);
    *start = L->i;
    if (L->i >= L->n) return 0;
    const char *s = L->s;
    size_t i = L->i;
    if (isalpha((unsigned char)s[i]) || s[i] == '_') {
        while (i < L->n && (isalnum((unsigned char)s[i]) || s[i] == '_')) i++;
    } else if (isdigit((unsigned char)s[i]) || (s[i] == '.' && i + 1 < L->n && isdigit((unsigned char)s[i + 1]))) {
        while (i < L->n && (isalnum((unsigned char)s[i]) || s[i] == '.' ||
                            ((s[i] == '+' || s[i] == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E'))))
            i++;
    } else i++;
    L->i = i;
    return i - *start;
}

static int tok_is(const lexer *L, size_t start, size_t len, const char *w) {
    return strlen(w) == len && !strncmp(L->s + start, w, len);
}

static int is_number(const char *s) {
    if (*s == '-' || *s == '+') s++;
    char *end;
    if (!isdigit((unsigned char)*s) && *s != '.') return 0;
    strtod(s, &end);
    while (*end == 'f' || *end == 'F' || *end == 'u' || *end == 'U' || *end == 'l' || *end == 'L') end++;
    return *end == 0 && end != s;
}

int cfg_parse_text(const char *text, cfg_file *c, char *why, size_t why_size) {
    memset(c, 0, sizeof *c);
    c->text = strdup(text);
    if (!c->text) { snprintf(why, why_size, "out of memory"); return -1; }
    lexer L = {c->text, 0, strlen(c->text), 1};
    size_t st, len;
    int seen_include = 0, seen_init = 0;
#define FAIL(...) do { int l_ = L.line; snprintf(why, why_size, "inference_config.c:%d: ", l_); \
        size_t u_ = strlen(why); snprintf(why + u_, why_size - u_, __VA_ARGS__); cfg_free(c); return -1; } while (0)
#define EXPECT(w) do { len = next_tok(&L, &st); if (!tok_is(&L, st, len, w)) FAIL("expected '%s'", w); } while (0)
    while ((len = next_tok(&L, &st)) > 0) {
        if (tok_is(&L, st, len, "#")) {
            len = next_tok(&L, &st);
            if (!tok_is(&L, st, len, "include") || seen_include) FAIL("only one #include \"qinfer.h\" may appear");
            skip_space(&L);
            if (strncmp(L.s + L.i, "\"qinfer.h\"", 10)) FAIL("only #include \"qinfer.h\" may appear");
            L.i += 10;
            seen_include = 1;
            continue;
        }
        if (!tok_is(&L, st, len, "const") || seen_init) FAIL("one initializer 'const qi_config qi_inference_config = {...};' and nothing else");
        EXPECT("qi_config");
        EXPECT("qi_inference_config");
        EXPECT("=");
        EXPECT("{");
        seen_init = 1;
        for (;;) {
            len = next_tok(&L, &st);
            if (tok_is(&L, st, len, "}")) break;
            if (!tok_is(&L, st, len, ".")) FAIL("expected '.field = value' or '}'");
            len = next_tok(&L, &st);
            char name[48];
            if (len == 0 || len >= sizeof name) FAIL("expected a field name");
            memcpy(name, L.s + st, len);
            name[len] = 0;
            const knob *k = knob_find(name);
            if (!k) FAIL("'%s' is not a field of qi_config", name);
            for (int i = 0; i < c->n; i++)
                if (c->f[i].k == k) FAIL("'%s' is set twice", name);
            EXPECT("=");
            /* the value: an optional sign and one token */
            size_t v0;
            len = next_tok(&L, &v0);
            size_t vs = v0;
            if (tok_is(&L, v0, len, "-") || tok_is(&L, v0, len, "+")) len = next_tok(&L, &st);
            else st = v0;
            size_t vend = st + len;
            char val[48];
            if (len == 0 || vend - vs >= sizeof val) FAIL("'%s' needs a literal value", name);
            size_t o = 0;
            for (size_t i = vs; i < vend; i++)
                if (!isspace((unsigned char)L.s[i])) val[o++] = L.s[i];
            val[o] = 0;
            int ok = 0;
            if (k->enums) {
                for (int e = 0; k->enums[e]; e++) ok |= !strcmp(val, k->enums[e]);
                if (!ok && is_number(val)) ok = 0;
            } else ok = is_number(val);
            if (!ok) FAIL("'%s = %s' is not a literal %s", name, val, k->enums ? "constant of its type" : "number");
            if (c->n == CFG_MAX_FIELDS) FAIL("too many fields");
            cfg_field *f = &c->f[c->n++];
            f->k = k;
            snprintf(f->value, sizeof f->value, "%s", val);
            f->v_start = vs;
            f->v_end = vend;
            len = next_tok(&L, &st);
            if (tok_is(&L, st, len, "}")) break;
            if (!tok_is(&L, st, len, ",")) FAIL("expected ',' or '}' after '%s'", name);
        }
        EXPECT(";");
    }
    if (!seen_init) FAIL("no 'const qi_config qi_inference_config = {...};'");
#undef EXPECT
#undef FAIL
    return 0;
}

int cfg_load(const char *path, cfg_file *c, char *why, size_t why_size) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(why, why_size, "cannot open %s", path); memset(c, 0, sizeof *c); return -1; }
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int big = !feof(f);
    fclose(f);
    if (big) { snprintf(why, why_size, "%s is larger than 64 KiB", path); memset(c, 0, sizeof *c); return -1; }
    buf[n] = 0;
    if (strlen(buf) != n) { snprintf(why, why_size, "%s holds a NUL byte", path); memset(c, 0, sizeof *c); return -1; }
    return cfg_parse_text(buf, c, why, why_size);
}

void cfg_free(cfg_file *c) {
    free(c->text);
    memset(c, 0, sizeof *c);
}

const char *cfg_get(const cfg_file *c, const char *name) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->f[i].k->name, name)) return c->f[i].value;
    return NULL;
}

int cfg_values_equal(const char *a, const char *b) {
    if (!a || !b) return a == b;
    if (is_number(a) && is_number(b)) return strtod(a, NULL) == strtod(b, NULL);
    return !strcmp(a, b);
}

char *cfg_with_value(const cfg_file *c, const char *name, const char *value) {
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->f[i].k->name, name)) continue;
        size_t n = strlen(c->text), vl = strlen(value);
        char *out = malloc(n - (c->f[i].v_end - c->f[i].v_start) + vl + 1);
        if (!out) return NULL;
        memcpy(out, c->text, c->f[i].v_start);
        memcpy(out + c->f[i].v_start, value, vl);
        strcpy(out + c->f[i].v_start + vl, c->text + c->f[i].v_end);
        return out;
    }
    return NULL;
}
