/* Tokenizer tests: llama.cpp's 46 Qwen2 vocab cases, the golden chat texts,
 * NFC, special tokens, reference ids for our own strings, a 1 MB input,
 * invalid UTF-8, the streaming detokenizer and load errors.
 * Expected ids come from references (llama.cpp's .out files made by HF
 * tokenizers, the golden *.ids.txt, and ../shared/golden/qwen2_bpe.py),
 * never from this implementation. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE      /* memmem */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fixtures.h"
#include "test.h"
#include "formats/gguf.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

static gguf_file G;
static qi_tokenizer *T;
static qi_model *M;      /* the same vocabulary through the public API, for qi_detok */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ids of s[0..len), malloc'ed (never NULL on success), or NULL */
static int32_t *enc(const char *s, size_t len, int ps, size_t *n) {
    int32_t *ids = NULL;
    size_t cap = 0;
    *n = 0;
    qi_status st = tok_encode(T, s, len, ps, &ids, n, &cap);
    if (st) { free(ids); return NULL; }
    if (!ids) ids = malloc(sizeof *ids);
    return ids;
}

/* streaming decode of ids (qi_detok), NUL-terminated */
static char *dec(const int32_t *ids, size_t n, size_t *len) {
    size_t cap = 64, k = 0;
    char *out = malloc(cap);
    qi_detok d = {{0}, 0};
    for (size_t i = 0; i <= n; i++) {
        if (k + QI_DETOK_MAX + 1 > cap) {
            while (k + QI_DETOK_MAX + 1 > cap) cap *= 2;
            out = realloc(out, cap);
        }
        size_t got = 0;
        qi_status st = i < n ? qi_detok_feed(M, &d, ids[i], out + k, &got) : qi_detok_flush(&d, out + k, &got);
        k += st ? 0 : got;
    }
    out[k] = 0;
    *len = k;
    return out;
}

/* raw token bytes concatenated */
static char *dec_raw(const int32_t *ids, size_t n, size_t *len) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += tok_token_bytes(T, ids[i], NULL, 0);
    char *out = malloc(k + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += tok_token_bytes(T, ids[i], out + o, k - o);
    out[o] = 0;
    *len = o;
    return out;
}

static int same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void print_ids(const char *label, const int32_t *v, size_t n) {
    printf("      %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 40; i++) printf(" %d", v[i]);
    printf("%s\n", n > 40 ? " ..." : "");
}

/* ---- basics ------------------------------------------------------------------- */

static void test_load_info(void) {
    CHECK(tok_n_vocab(T) == 151936, "n_vocab %d", tok_n_vocab(T));
    /* eos (<|im_end|>) and <|endoftext|> end a generation, nothing else */
    CHECK(tok_is_eog(T, 151645) && tok_is_eog(T, 151643), "end-of-generation ids");
    CHECK(!tok_is_eog(T, 151644) && !tok_is_eog(T, 9707) && !tok_is_eog(T, -1), "not end-of-generation ids");
    CHECK(tok_find(T, "<|im_end|>") == 151645, "im_end");
    CHECK(tok_find(T, "<|im_start|>") == 151644, "im_start");
    CHECK(tok_find(T, "\xC4\xA0world") == 1879, "Gworld %d", tok_find(T, "\xC4\xA0world"));
    CHECK(tok_find(T, "no such token here") == -1, "absent");
    char b[32];
    size_t n = tok_token_bytes(T, 1879, b, sizeof b);
    CHECK(n == 6 && memcmp(b, " world", 6) == 0, "bytes of 1879");
    n = tok_token_bytes(T, 151645, b, sizeof b);
    CHECK(n == 10 && memcmp(b, "<|im_end|>", 10) == 0, "bytes of im_end");
    CHECK(tok_token_bytes(T, 151700, b, sizeof b) == 0, "unused token has no bytes");
    CHECK(tok_token_bytes(T, -5, b, sizeof b) == 0 && tok_token_bytes(T, 999999, b, sizeof b) == 0, "bad ids");
    CHECK(tok_token_bytes(T, 1879, b, 2) == 6 && memcmp(b, " w", 2) == 0, "truncation");
}

/* ---- llama.cpp's vocab test cases ----------------------------------------------- */

static void test_vocab_cases(void) {
    size_t ni, no;
    char *inp = slurp("vocab/qwen2/ggml-vocab-qwen2.gguf.inp", &ni);
    char *out = slurp("vocab/qwen2/ggml-vocab-qwen2.gguf.out", &no);
    CHECK(inp && out, "test files missing");
    if (!inp || !out) { free(inp); free(out); return; }
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t seplen = strlen(sep), pi = 0, po = 0;
    int cases = 0, ok = 0, rt = 0;
    for (;;) {
        char *e = memmem(inp + pi, ni - pi, sep, seplen);
        if (!e) break;
        size_t len = (size_t)(e - (inp + pi));
        char *nl = memchr(out + po, '\n', no - po);
        CHECK(nl != NULL, "case %d: .out too short", cases);
        if (!nl) break;
        int32_t want[512];
        size_t nw = 0;
        for (char *p = out + po; p < nl;) {
            char *q;
            long v = strtol(p, &q, 10);
            if (q == p) break;
            if (nw < 512) want[nw++] = (int32_t)v;
            p = q;
        }
        size_t n;
        int32_t *got = enc(inp + pi, len, 0, &n);
        cases++;
        if (got && same_ids(got, n, want, nw)) ok++;
        else {
            CHECK(0, "case %d (%.40s...) ids differ", cases - 1, inp + pi);
            if (got) { print_ids("want", want, nw); print_ids("got", got, n); }
        }
        size_t dl;
        char *d = got ? dec(got, n, &dl) : NULL;
        if (d && dl == len && memcmp(d, inp + pi, len) == 0) rt++;
        else CHECK(0, "case %d does not round-trip", cases - 1);
        free(d);
        free(got);
        pi += len + seplen;
        po = (size_t)(nl - out) + 1;
    }
    printf("    vocab cases: %d/%d ids identical, %d/%d round-trip\n", ok, cases, rt, cases);
    CHECK(cases == 46, "expected 46 cases, read %d", cases);
    free(inp);
    free(out);
}

/* ---- NFC ------------------------------------------------------------------------ */

static int nfc_is(const char *in, const char *want) {
    char *o;
    size_t n;
    if (uni_nfc(in, strlen(in), &o, &n)) return 0;
    int r = n == strlen(want) && memcmp(o, want, n) == 0;
    free(o);
    return r;
}

static void test_nfc(void) {
    size_t n1, n2;
    int32_t *a = enc("e\xCC\x81", 3, 0, &n1), *b = enc("\xC3\xA9", 2, 0, &n2);
    CHECK(a && b && same_ids(a, n1, b, n2), "e + U+0301 encodes like U+00E9");
    free(a);
    free(b);
    CHECK(nfc_is("e\xCC\x81", "\xC3\xA9"), "compose");
    CHECK(nfc_is("\xE2\x84\xAB", "\xC3\x85"), "U+212B singleton -> U+00C5");
    CHECK(nfc_is("a\xCC\x81\xCC\xA3", "\xE1\xBA\xA1\xCC\x81"), "marks reordered, then composed");
    CHECK(nfc_is("\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC"), "U+0958 is excluded from composition");
    CHECK(nfc_is("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", "\xED\x95\x9C"), "Hangul L V T");
    CHECK(nfc_is("\xED\x95\x98\xE1\x86\xAB", "\xED\x95\x9C"), "Hangul LV + T");
    CHECK(nfc_is("\xCC\x81" "e", "\xCC\x81" "e"), "leading mark stays");
    CHECK(nfc_is("e\xFF\xCC\x81\xC3", "e\xFF\xCC\x81\xC3"), "invalid bytes pass through and block");
    CHECK(nfc_is("", ""), "empty");
    CHECK(uni_nfc_quick("plain ascii \xC3\xA9", 15) && !uni_nfc_quick("e\xCC\x81", 3), "quick check");
    CHECK(uni_class(0x4E2D) == UNI_L && uni_class(0x0661) == UNI_N && uni_class(0x3000) == UNI_WS &&
          uni_class(0x0301) == UNI_M && uni_class(0x85) == UNI_WS && uni_class(0x1C) == 0, "classes");
}

/* ---- golden chat texts ---------------------------------------------------------- */

static void test_golden(void) {
    for (int s = 1; s <= 3; s++) {
        char file[64];
        size_t len;
        char *text = manifest_text(s, &len);
        CHECK(text != NULL, "MANIFEST.json: no models.tiny-qwen2.texts.S%d", s);
        if (!text) continue;
        snprintf(file, sizeof file, "golden/tiny-qwen2.S%d.ids.txt", s);
        size_t fl;
        char *idf = slurp(file, &fl);
        CHECK(idf != NULL, "%s missing", file);
        int32_t want[4096];
        size_t nw = 0;
        for (char *q = idf; idf && *q;) {
            char *e;
            long v = strtol(q, &e, 10);
            if (e == q) break;
            if (nw < 4096) want[nw++] = (int32_t)v;
            q = e;
        }
        size_t ng;
        int32_t *got = enc(text, len, 1, &ng);
        CHECK(got && same_ids(got, ng, want, nw), "S%d ids differ from %s", s, file);
        if (got && !same_ids(got, ng, want, nw)) { print_ids("want", want, nw); print_ids("got", got, ng); }
        size_t dl;
        char *d = got ? dec(got, ng, &dl) : NULL;
        CHECK(d && dl == len && memcmp(d, text, len) == 0, "S%d round-trip", s);
        printf("    S%d: %zu ids\n", s, ng);
        free(d);
        free(got);
        free(idf);
        free(text);
    }
}

/* ---- special tokens --------------------------------------------------------------- */

static void test_special(void) {
    size_t n;
    int32_t *v = enc("<|im_end|>", 10, 1, &n);
    CHECK(v && n == 1 && v[0] == 151645, "parsed im_end");
    free(v);
    /* not parsed: ordinary pieces (ids from qwen2_bpe.py) */
    static const int32_t plain[] = {27, 91, 318, 6213, 91, 29};
    v = enc("<|im_end|>", 10, 0, &n);
    CHECK(v && same_ids(v, n, plain, 6), "unparsed im_end");
    free(v);
    /* leftmost-longest, back to back, and a near miss */
    v = enc("<|im_start|><|im_end|><|im_end", 30, 1, &n);
    CHECK(v && n >= 3 && v[0] == 151644 && v[1] == 151645 && v[2] < 151643, "back to back");
    free(v);
    /* USER_DEFINED tokens (<tool_call>) are split out even without
     * parse_special, as HF does for added tokens that are not special */
    v = enc("a<tool_call>b", 13, 0, &n);
    CHECK(v && n == 3 && v[1] == 151657, "tool_call");
    free(v);
    /* BPE never yields an added token: a text full of their spellings */
    const char *s = "<|endoftext|> <|im_start|>user\n<|im_end|><|fim_prefix|><|file_sep|>x<|vision_pad|>";
    v = enc(s, strlen(s), 0, &n);
    int bad = 0;
    for (size_t i = 0; v && i < n; i++) bad += v[i] >= 151643;
    CHECK(v && !bad, "%d added tokens from BPE", bad);
    size_t dl;
    char *d = v ? dec(v, n, &dl) : NULL;
    CHECK(d && dl == strlen(s) && memcmp(d, s, dl) == 0, "round-trip");
    free(d);
    free(v);
    v = enc(s, strlen(s), 1, &n);
    bad = 0;
    for (size_t i = 0; v && i < n; i++) bad += v[i] >= 151643;
    CHECK(v && bad == 6, "%d parsed", bad);
    d = v ? dec(v, n, &dl) : NULL;
    CHECK(d && dl == strlen(s) && memcmp(d, s, dl) == 0, "round-trip parsed");
    free(d);
    free(v);
}

/* ---- own cases, ids from ../shared/golden/qwen2_bpe.py (encode_ordinary) ---------- */

typedef struct ref_case { const char *name, *text; int n; int32_t ids[48]; } ref_case;

static const ref_case REF[] = {
    /* generated once with qwen2_bpe.py over qwen2.5-vocab.gguf; do not edit */
    {"empty", "", 0, {0}},
    {"one space", " ", 1, {220}},
    {"spaces", "   ", 1, {262}},
    {"tab", "\t", 1, {197}},
    {"newline", "\n", 1, {198}},
    {"crlf", "\r\n", 1, {319}},
    {"mixed ws", "   \n\n  \t ", 2, {33933, 78099}},
    {"ws before word", "  \t hello", 2, {19271, 23811}},
    {"unicode spaces", " \xE3\x80\x80 x\xC2\xA0\xE2\x80\x83\x61\xE2\x80\xA8\x62", 10, {220, 22441, 856, 4102, 378, 225, 64, 378, 101, 65}},
    {"emoji", "Hello \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD world \xF0\x9F\x8C\x8D! \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 \xE2\x9D\xA4\xEF\xB8\x8F", 19, {9707, 61804, 233, 145375, 1879, 11162, 234, 235, 0, 61804, 101, 378, 235, 145233, 378, 235, 145665, 70470, 30543}},
    {"cjk", "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xEF\xBC\x81\xE6\x88\x91\xE5\x96\x9C\xE6\xAC\xA2\xE7\xBC\x96\xE7\xA8\x8B\xE3\x80\x82", 7, {108386, 3837, 99489, 6313, 109366, 110569, 1773}},
    {"japanese", "\xE3\x81\x8A\xE3\x81\xAF\xE3\x82\x88\xE3\x81\x86\xE3\x81\x94\xE3\x81\x96\xE3\x81\x84\xE3\x81\xBE\xE3\x81\x99\xE3\x80\x82\xE6\x9D\xB1\xE4\xBA\xAC\xE3\x82\xBF\xE3\x83\xAF\xE3\x83\xBC\xE3\x81\xB8\xE8\xA1\x8C\xE3\x81\x8D\xE3\x81\xBE\xE3\x81\x97\xE3\x82\x87\xE3\x81\x86", 12, {32234, 15322, 124038, 135384, 1773, 102356, 46553, 46207, 125980, 126263, 131555, 132942}},
    {"korean", "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94 \xEC\x84\xB8\xEA\xB3\x84", 4, {126246, 144370, 91145, 133196}},
    {"mixed scripts", "English, \xD0\xA0\xD1\x83\xD1\x81\xD1\x81\xD0\xBA\xD0\xB8\xD0\xB9, \xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9, \xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\xA8\xE0\xA5\x8D\xE0\xA4\xA6\xE0\xA5\x80, \xCE\xB5\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xAC, \xD7\xA2\xD7\x91\xD7\xA8\xD7\x99\xD7\xAA \xE2\x80\x94 ok?", 28, {22574, 11, 140869, 126302, 11, 129071, 11, 84310, 42311, 101, 30484, 99, 43647, 11, 59147, 33486, 33486, 41424, 33269, 29762, 67337, 74134, 11, 131917, 123826, 1959, 5394, 30}},
    {"numbers", "12345 3.14159 1,000,000 x2 2nd \xD9\xA3\xD9\xA4\xD9\xA5 \xC2\xBD \xE2\x85\xAB \xC2\xB2", 42, {16, 17, 18, 19, 20, 220, 18, 13, 16, 19, 16, 20, 24, 220, 16, 11, 15, 15, 15, 11, 15, 15, 15, 856, 17, 220, 17, 303, 220, 149, 96, 149, 97, 149, 98, 220, 26062, 220, 70467, 104, 220, 29456}},
    {"code", "def f(x):\n\tif x > 0:\n\t\treturn x * 2  # double\n\treturn -x\n\n\n", 24, {750, 282, 2075, 982, 743, 856, 861, 220, 15, 510, 197, 853, 856, 353, 220, 17, 220, 671, 1990, 198, 853, 481, 87, 1406}},
    {"contractions", "I'm you're he's it'll we've she'd can't", 14, {40, 2776, 498, 2299, 566, 594, 432, 3278, 582, 3003, 1340, 4172, 646, 944}},
    {"contractions upper", "I'M YOU'RE HE'S IT'LL WE'VE SHE'D CAN'T 'S 'Re 'lL x'\xC5\xBF", 26, {40, 27603, 14985, 94153, 11685, 13272, 8700, 6, 4086, 19677, 6, 4491, 53595, 27705, 19508, 17323, 364, 50, 364, 693, 364, 75, 43, 856, 6, 144815}},
    {"apostrophe others", "don\xE2\x80\x99t 'x 'rs 'l ''s", 10, {15007, 1405, 364, 87, 364, 5428, 364, 75, 3355, 82}},
    {"punct runs", "!!! ... ?!\n\n--- (a) [b] {c} \"q\" 'r'", 20, {12069, 2503, 937, 2219, 4421, 320, 64, 8, 508, 65, 60, 314, 66, 92, 330, 80, 1, 364, 81, 6}},
    {"newline runs", "a\n\n\nb\r\n\r\nc  \n  d \n", 9, {64, 1406, 65, 871, 66, 2303, 220, 294, 715}},
    {"trailing ws", "end   ", 2, {408, 262}},
    {"im_end plain", "<|im_end|>", 6, {27, 91, 318, 6213, 91, 29}},
    {"decomposed", "Cafe\xCC\x81 A\xCC\x8A \xE2\x84\xAB \xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB\xE1\x84\x80\xE1\x85\xAE\xE1\x86\xA8", 6, {34, 2577, 963, 79252, 79252, 130092}},
    {"url", "https://example.com/path?q=1&x=y#frag", 13, {2428, 1110, 8687, 905, 50976, 43782, 28, 16, 5, 87, 29368, 2, 33198}},
};

static void test_reference_cases(void) {
    for (size_t i = 0; i < sizeof REF / sizeof REF[0]; i++) {
        const ref_case *c = &REF[i];
        size_t n, len = strlen(c->text);
        int32_t *v = enc(c->text, len, 0, &n);
        int ok = v && same_ids(v, n, c->ids, (size_t)c->n);
        CHECK(ok, "%s: ids differ from qwen2_bpe.py", c->name);
        if (v && !ok) { print_ids("want", c->ids, (size_t)c->n); print_ids("got", v, n); }
        /* the decode of an NFC text is the text; decomposed input comes back composed */
        if (strcmp(c->name, "decomposed") != 0) {
            size_t dl;
            char *d = v ? dec(v, n, &dl) : NULL;
            CHECK(d && dl == len && memcmp(d, c->text, len) == 0, "%s: round-trip", c->name);
            free(d);
        }
        free(v);
    }
}

/* ---- big inputs ---------------------------------------------------------------- */

/* Timings are printed, never asserted: machines are noisy (and emulated). */
static void check_big(const char *what, const char *text, size_t len) {
    double t0 = now_s();
    size_t n;
    int32_t *v = enc(text, len, 0, &n);
    double t1 = now_s();
    CHECK(v != NULL, "%s: encode failed", what);
    if (!v) return;
    size_t dl, rl;
    char *d = dec(v, n, &dl), *r = dec_raw(v, n, &rl);
    CHECK(rl == len && memcmp(r, text, len) == 0, "%s: token bytes differ from the input", what);
    CHECK(dl == len && memcmp(d, text, len) == 0, "%s: decode differs", what);
    printf("    %-28s %8zu bytes -> %7zu ids in %6.1f ms (%.1f MB/s)\n", what, len, n, (t1 - t0) * 1e3,
           (double)len / (t1 - t0) / 1e6);
    free(d);
    free(r);
    free(v);
}

static void test_big(void) {
    static const char *parts[] = {
        "The quick brown fox jumps over the lazy dog. ", "It's 12:45 and we've got 3,141 items;\n",
        "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xEF\xBC\x81", "  \tindented(code) { return x*2; }\n\n",
        "Caf\xC3\xA9 na\xC3\xAFve \xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 ", "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D ",
        "\xEC\x95\x88\xEB\x85\x95 ", "x    y\r\n",
    };
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    unsigned seed = 12345;
    while (len < cap - 64) {
        seed = seed * 1103515245u + 12345u;
        const char *p = parts[(seed >> 16) % (sizeof parts / sizeof parts[0])];
        size_t k = strlen(p);
        memcpy(buf + len, p, k);
        len += k;
    }
    check_big("1 MB mixed text", buf, len);
    /* adversarial shapes: one 256 KB word, a 256 KB space run, 64 KB of marks */
    memset(buf, 'a', 256 * 1024);
    check_big("256 KB single word", buf, 256 * 1024);
    memset(buf, ' ', 256 * 1024);
    check_big("256 KB of spaces", buf, 256 * 1024);
    for (size_t i = 0; i + 4 <= 64 * 1024; i += 4) memcpy(buf + i, "\xCC\x81\xCC\xA3", 4);
    size_t n;
    double t0 = now_s();
    int32_t *v = enc(buf, 64 * 1024, 0, &n);
    CHECK(v != NULL, "64 KB of unordered marks");
    printf("    64 KB of unordered marks   -> %zu ids in %.1f ms\n", n, (now_s() - t0) * 1e3);
    free(v);
    free(buf);
}

/* ---- invalid UTF-8 ---------------------------------------------------------------- */

static void test_invalid_utf8(void) {
    /* expected decode: Python's bytes.decode("utf-8", "replace") */
    static const char *cases[][2] = {
        {"\xFF\xFE", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"abc\xC3", "abc\xEF\xBF\xBD"},
        {"\xC3(", "\xEF\xBF\xBD("},
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xE2\x82x", "\xEF\xBF\xBDx"},
        {"\xCE\xA9\x80\x80\xCE\xA9", "\xCE\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xCE\xA9"},
        {"\xF0\x9F\x98", "\xEF\xBF\xBD"},
        {"ok \xF0\x9F\x98\x80 \xE4\xB8", "ok \xF0\x9F\x98\x80 \xEF\xBF\xBD"},
        {"e\xFF\xCC\x81 word\x80word", "e\xEF\xBF\xBD\xCC\x81 word\xEF\xBF\xBDword"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *in = cases[i][0], *want = cases[i][1];
        size_t n, len = strlen(in);
        int32_t *v = enc(in, len, 0, &n);
        CHECK(v != NULL, "case %zu: encode failed", i);
        if (!v) continue;
        int range = 1;
        for (size_t k = 0; k < n; k++) range &= v[k] >= 0 && v[k] < 151643;
        CHECK(range, "case %zu: ids out of range", i);
        size_t rl, dl;
        char *r = dec_raw(v, n, &rl), *d = dec(v, n, &dl);
        CHECK(rl == len && memcmp(r, in, len) == 0, "case %zu: token bytes are not the input", i);
        CHECK(dl == strlen(want) && memcmp(d, want, dl) == 0, "case %zu: decode is not the replace-decode", i);
        free(r);
        free(d);
        free(v);
    }
    /* every byte value alone, and all 256 in a row */
    char all[256];
    for (int b = 0; b < 256; b++) {
        all[b] = (char)b;
        size_t n;
        int32_t *v = enc(all + b, 1, 0, &n);
        char r[8];
        CHECK(v && n == 1 && tok_token_bytes(T, v[0], r, 8) == 1 && r[0] == (char)b, "byte %d", b);
        free(v);
    }
    size_t n, rl;
    int32_t *v = enc(all, 256, 0, &n);
    char *r = v ? dec_raw(v, n, &rl) : NULL;
    CHECK(r && rl == 256 && memcmp(r, all, 256) == 0, "256 bytes round-trip");
    free(r);
    free(v);
}

/* ---- streaming detokenizer ---------------------------------------------------------- */

static void test_stream(void) {
    const char *s = "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD na\xC3\xAFve \xF0\x9F\x8C\x8D!";
    size_t n, len = strlen(s);
    int32_t *v = enc(s, len, 0, &n);
    CHECK(v != NULL, "encode");
    if (!v) return;
    char out[256 + QI_DETOK_MAX];
    size_t k = 0, m;
    int held = 0, complete = 1;
    qi_detok st = {{0}, 0};
    for (size_t i = 0; i < n; i++) {
        size_t before = k;
        CHECK(qi_detok_feed(M, &st, v[i], out + k, &m) == QI_OK, "feed %d", v[i]);
        k += m;
        held += st.n_pending > 0;
        /* what came out so far always ends on a character boundary */
        for (size_t j = before; j < k;) {
            uint32_t c;
            int w = uni_decode((const unsigned char *)out + j, k - j, &c);
            complete &= !UNI_IS_RAW(c);
            j += (size_t)w;
        }
    }
    CHECK(qi_detok_flush(&st, out + k, &m) == QI_OK, "flush");
    k += m;
    CHECK(k == len && memcmp(out, s, len) == 0, "streamed text differs");
    CHECK(held > 0, "no token ended inside a character (test text too easy)");
    CHECK(complete, "a partial character was emitted");
    free(v);

    /* hand-fed bytes: 0xF0 0x9F held, then the rest; a broken sequence */
    int32_t f0 = -1, b9f = -1, b91 = -1, b8b = -1;
    for (int32_t id = 0; id < 151643; id++) {
        char b[4];
        if (tok_token_bytes(T, id, b, 4) != 1) continue;
        unsigned char u = (unsigned char)b[0];
        if (u == 0xF0) f0 = id;
        if (u == 0x9F) b9f = id;
        if (u == 0x91) b91 = id;
        if (u == 0x8B) b8b = id;
    }
    CHECK(f0 >= 0 && b9f >= 0 && b91 >= 0 && b8b >= 0, "byte tokens");
    /* the bytes a feed of id gives, -1 if it fails */
#define FEED(id) (qi_detok_feed(M, &z, (id), out, &m) == QI_OK ? (long)m : -1L)
    qi_detok z = {{0}, 0};
    CHECK(FEED(f0) == 0 && z.n_pending == 1, "F0 held");
    CHECK(FEED(b9f) == 0 && z.n_pending == 2, "9F held");
    CHECK(FEED(b91) == 0, "91 held");
    CHECK(FEED(b8b) == 4 && memcmp(out, "\xF0\x9F\x91\x8B", 4) == 0, "emoji out");
    CHECK(FEED(f0) == 0, "F0 held again");
    CHECK(FEED(9707) == 8 && memcmp(out, "\xEF\xBF\xBDHello", 8) == 0, "broken sequence -> U+FFFD"); /* "Hello" */
    CHECK(FEED(b9f) == 3 && z.n_pending == 0, "lone continuation");
    CHECK(FEED(f0) == 0 && qi_detok_flush(&z, out, &m) == QI_OK && m == 3 && z.n_pending == 0, "flush of a held prefix");
    CHECK(qi_detok_flush(&z, out, &m) == QI_OK && m == 0, "flush when empty");
    CHECK(FEED(151645) == 10 && memcmp(out, "<|im_end|>", 10) == 0, "special text");
    CHECK(FEED(151700) == 0, "unused ids give nothing");
    CHECK(qi_detok_feed(M, &z, -1, out, &m) == QI_ERR_BAD_TOKEN && qi_detok_feed(M, &z, 151936, out, &m) == QI_ERR_BAD_TOKEN,
          "ids out of range are refused");
    /* a state no feed leaves (an ASCII byte held) is dropped, not grown past pending[] */
    z = (qi_detok){{'A'}, 3};
    for (int i = 0; i < 8; i++) CHECK(FEED(b9f) == 3 && z.n_pending == 0, "continuation after a bad state");
#undef FEED
}

/* ---- load errors, with small GGUF files made here --------------------------------- */

typedef struct wbuf { unsigned char *p; size_t n, cap; int nkv; } wbuf;

static void w_bytes(wbuf *w, const void *d, size_t n) {
    while (w->n + n > w->cap) { w->cap = w->cap ? w->cap * 2 : 4096; w->p = realloc(w->p, w->cap); }
    memcpy(w->p + w->n, d, n);
    w->n += n;
}
static void w_u32(wbuf *w, uint32_t v) { unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)}; w_bytes(w, b, 4); }
static void w_u64(wbuf *w, uint64_t v) { w_u32(w, (uint32_t)v); w_u32(w, (uint32_t)(v >> 32)); }
static void w_str(wbuf *w, const char *s) { w_u64(w, strlen(s)); w_bytes(w, s, strlen(s)); }
static void w_begin(wbuf *w) { memset(w, 0, sizeof *w); w_bytes(w, "GGUF", 4); w_u32(w, 3); w_u64(w, 0); w_u64(w, 0); }
static void kv_str(wbuf *w, const char *k, const char *v) { w_str(w, k); w_u32(w, GGUF_STRING); w_str(w, v); w->nkv++; }
static void kv_u32(wbuf *w, const char *k, uint32_t v) { w_str(w, k); w_u32(w, GGUF_UINT32); w_u32(w, v); w->nkv++; }
static void kv_strs(wbuf *w, const char *k, const char **v, int n) {
    w_str(w, k); w_u32(w, GGUF_ARRAY); w_u32(w, GGUF_STRING); w_u64(w, (uint64_t)n);
    for (int i = 0; i < n; i++) w_str(w, v[i]);
    w->nkv++;
}
static void kv_i32s(wbuf *w, const char *k, const int32_t *v, int n) {
    w_str(w, k); w_u32(w, GGUF_ARRAY); w_u32(w, GGUF_INT32); w_u64(w, (uint64_t)n);
    for (int i = 0; i < n; i++) w_u32(w, (uint32_t)v[i]);
    w->nkv++;
}

/* parse w as a GGUF and load its tokenizer */
static qi_status load_buf(wbuf *w, qi_tokenizer **t, char *err, size_t err_size) {
    uint64_t nkv = (uint64_t)w->nkv;
    for (int i = 0; i < 8; i++) w->p[16 + i] = (unsigned char)(nkv >> (8 * i));
    gguf_file g;
    qi_status st = gguf_parse(w->p, w->n, &g, err, err_size);
    if (st) return QI_STATUS_COUNT;       /* the builder is wrong, not the tokenizer */
    st = tok_load(&g, t, err, err_size);
    gguf_close(&g);
    return st;
}

/* 256 byte tokens (in GPT-2 byte-level form), then extra tokens */
static int byte_vocab(const char **toks, char store[][4], const char **extra, int n_extra) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        unsigned c = (unsigned)b;
        if (b <= 0x20) c = 0x100 + (unsigned)b;
        else if (b >= 0x7F && b <= 0xA0) c = 0x100 + 33 + (unsigned)(b - 0x7F);
        else if (b == 0xAD) c = 0x143;
        int k = uni_encode(c, (unsigned char *)store[b]);
        store[b][k] = 0;
        toks[n++] = store[b];
    }
    for (int i = 0; i < n_extra; i++) toks[n++] = extra[i];
    return n;
}

static void test_load_errors(void) {
    char err[256];
    qi_tokenizer *t = NULL;
    wbuf w;
    const char *toks[300];
    char store[256][4];
    const char *extra[] = {"ab", "abc", "<|end|>", "<x>", "[PAD]"};
    int n = byte_vocab(toks, store, extra, 5);
    const char *merges[] = {"a b", "ab c"};
    int32_t types[300];
    for (int i = 0; i < n; i++) types[i] = 1;
    types[258] = 3;
    types[259] = 4;
    types[260] = 5;

    w_begin(&w);
    kv_str(&w, "general.architecture", "qwen2");
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_ERR_NO_VOCAB && !t, "no model key: %s", err);
    free(w.p);

    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "none");
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_ERR_NO_VOCAB, "model none: %s", err);
    free(w.p);

    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "llama");
    kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_ERR_TOKENIZER && strstr(err, "tokenizer.ggml.model"),
          "model llama: %s", err);
    free(w.p);

    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_ERR_TOKENIZER && strstr(err, "tokenizer.ggml.tokens"),
          "no tokens: %s", err);
    free(w.p);

    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    kv_i32s(&w, "tokenizer.ggml.token_type", types, n - 1);
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_ERR_TOKENIZER && strstr(err, "tokenizer.ggml.token_type"),
          "short types: %s", err);
    free(w.p);

    const char *bad_merges[] = {"a b", "ab zz"};
    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    kv_strs(&w, "tokenizer.ggml.merges", bad_merges, 2);
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_ERR_TOKENIZER && strstr(err, "tokenizer.ggml.merges[1]"),
          "bad merge: %s", err);
    free(w.p);

    const char *no_space[] = {"ab"};
    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    kv_strs(&w, "tokenizer.ggml.merges", no_space, 1);
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_ERR_TOKENIZER && strstr(err, "tokenizer.ggml.merges[0]"),
          "merge without space: %s", err);
    free(w.p);

    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    kv_u32(&w, "tokenizer.ggml.eos_token_id", 5000);
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_ERR_TOKENIZER && strstr(err, "eos_token_id"),
          "eos out of range: %s", err);
    free(w.p);

    /* a small valid vocab */
    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_str(&w, "tokenizer.ggml.pre", "qwen2");
    kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    kv_i32s(&w, "tokenizer.ggml.token_type", types, n);
    kv_strs(&w, "tokenizer.ggml.merges", merges, 2);
    kv_u32(&w, "tokenizer.ggml.eos_token_id", 258);
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_OK && t, "small vocab: %s", err);
    free(w.p);
    if (t) {
        int32_t *ids = NULL;
        size_t ni = 0, cap = 0;
        CHECK(tok_encode(t, "abc<|end|>ab<x>[PAD]", 20, 1, &ids, &ni, &cap) == QI_OK, "encode");
        static const int32_t want[] = {257, 258, 256, 259, '[' , 'P', 'A', 'D', ']'};
        CHECK(same_ids(ids, ni, want, 9), "small vocab ids");
        CHECK(tok_is_eog(t, 258) && !tok_is_eog(t, 257), "small vocab end-of-generation id");
        free(ids);
        tok_free(t);
        t = NULL;
    }

    /* pre other than qwen2: loads and decodes, does not encode */
    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_str(&w, "tokenizer.ggml.pre", "default");
    kv_strs(&w, "tokenizer.ggml.tokens", toks, n);
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_OK && t, "pre default: %s", err);
    free(w.p);
    if (t) {
        int32_t *ids = NULL;
        size_t ni = 0, cap = 0;
        CHECK(tok_encode(t, "a", 1, 0, &ids, &ni, &cap) == QI_ERR_TOKENIZER && ni == 0, "encode refused");
        char b[8];
        CHECK(tok_token_bytes(t, 256, b, 8) == 2 && memcmp(b, "ab", 2) == 0, "decode works");
        free(ids);
        tok_free(t);
        t = NULL;
    }

    /* dummy vocab without byte tokens (like tiny-gqa7's): loads, can not encode */
    const char *dummy[] = {"t0", "t1", "t2"};
    w_begin(&w);
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", dummy, 3);
    CHECK(load_buf(&w, &t, err, sizeof err) == QI_OK && t, "dummy vocab: %s", err);
    free(w.p);
    if (t) {
        int32_t *ids = NULL;
        size_t ni = 0, cap = 0;
        CHECK(tok_encode(t, "a", 1, 0, &ids, &ni, &cap) == QI_ERR_TOKENIZER && ni == 0, "dummy vocab: encode refused");
        free(ids);
    }
    tok_free(t);
}

int main(void) {
    char err[512], path[1024];
    snprintf(path, sizeof path, "%s/vocab/qwen2/qwen2.5-vocab.gguf", shared_dir());
    if (gguf_open(path, &G, err, sizeof err)) {
        printf("cannot open %s: %s\n", path, err);
        t_failed++;
        return TEST_EXIT();
    }
    double t0 = now_s();
    qi_status st = tok_load(&G, &T, err, sizeof err);
    double t1 = now_s();
    if (st) {
        printf("tok_load: %d %s\n", (int)st, err);
        gguf_close(&G);
        t_failed++;
        return TEST_EXIT();
    }
    printf("    tok_load: %.1f ms (%d tokens, Unicode %s)\n", (t1 - t0) * 1e3, tok_n_vocab(T), uni_version());
    if (qi_model_load(path, &M, err, sizeof err)) {
        printf("cannot load %s as a model: %s\n", path, err);
        t_failed++;
    }
    RUN(test_load_info);
    RUN(test_vocab_cases);
    RUN(test_nfc);
    RUN(test_golden);
    RUN(test_special);
    RUN(test_reference_cases);
    RUN(test_big);
    RUN(test_invalid_utf8);
    RUN(test_stream);
    RUN(test_load_errors);
    qi_model_free(M);
    tok_free(T);
    gguf_close(&G);
    return TEST_EXIT();
}
