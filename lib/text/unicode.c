/* UTF-8, character classes and NFC (UAX #15) over the generated tables. */
#include <stdlib.h>
#include <string.h>
#include "unicode.h"
#include "unicode_tables.h"

const char *uni_version(void) { return UNI_TABLES_VERSION; }

/* ---- UTF-8 ----------------------------------------------------------------- */

int uni_utf8_len(unsigned char b) {
    if (b < 0x80) return 1;
    if (b < 0xC2) return 0;          /* continuation byte, or overlong C0/C1 */
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 3;
    if (b < 0xF5) return 4;
    return 0;
}

int uni_utf8_cont_ok(unsigned char lead, int i, unsigned char b) {
    if (i == 1) {                    /* Table 3-7 of the Unicode standard */
        switch (lead) {
        case 0xE0: return b >= 0xA0 && b <= 0xBF;   /* no overlongs */
        case 0xED: return b >= 0x80 && b <= 0x9F;   /* no surrogates */
        case 0xF0: return b >= 0x90 && b <= 0xBF;
        case 0xF4: return b >= 0x80 && b <= 0x8F;   /* <= U+10FFFF */
        default: break;
        }
    }
    return b >= 0x80 && b <= 0xBF;
}

int uni_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char b = s[0];
    if (b < 0x80) { *cp = b; return 1; }
    int len = uni_utf8_len(b);
    if (len == 0 || (size_t)len > n) { *cp = UNI_RAW(b); return 1; }
    uint32_t c = b & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if (!uni_utf8_cont_ok(b, i, s[i])) { *cp = UNI_RAW(b); return 1; }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = c;
    return len;
}

int uni_encode(uint32_t c, unsigned char *o) {
    if (c < 0x80) { o[0] = (unsigned char)c; return 1; }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xC0 | (c >> 6));
        o[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (c >> 12));
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    if (c < 0x110000) {
        o[0] = (unsigned char)(0xF0 | (c >> 18));
        o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[3] = (unsigned char)(0x80 | (c & 0x3F));
        return 4;
    }
    o[0] = (unsigned char)(c - 0x110000u);     /* a raw byte */
    return 1;
}

/* ---- table lookups ----------------------------------------------------------- */

static unsigned range_find(const struct uni_range *r, size_t n, uint32_t c) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid].lo) hi = mid;
        else if (c > r[mid].hi) lo = mid + 1;
        else return r[mid].v;
    }
    return 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

unsigned uni_class(uint32_t c) {
    if (c < 0x80) {                  /* ASCII without the search */
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return UNI_L;
        if (c >= '0' && c <= '9') return UNI_N;
        if (c == ' ' || (c >= '\t' && c <= '\r')) return UNI_WS;
        return 0;
    }
    return range_find(uni_class_tab, COUNT(uni_class_tab), c);
}

int uni_ccc(uint32_t c) {
    if (c < 0x300 || UNI_IS_RAW(c)) return 0;
    return (int)range_find(uni_ccc_tab, COUNT(uni_ccc_tab), c);
}

static const struct uni_decomp *decomp_find(uint32_t c) {
    size_t lo = 0, hi = COUNT(uni_decomp_tab);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < uni_decomp_tab[mid].cp) hi = mid;
        else if (c > uni_decomp_tab[mid].cp) lo = mid + 1;
        else return &uni_decomp_tab[mid];
    }
    return NULL;
}

/* Hangul syllables are composed/decomposed by arithmetic (UAX #15, 3.12) */
enum {
    S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7,
    L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT,
    S_COUNT = L_COUNT * N_COUNT
};

/* The primary composite of a + b, or 0. */
static uint32_t compose(uint32_t a, uint32_t b) {
    if (b < 0x300 || UNI_IS_RAW(b) || UNI_IS_RAW(a)) return 0;
    if (a - L_BASE < L_COUNT && b - V_BASE < V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a - S_BASE < S_COUNT && (a - S_BASE) % T_COUNT == 0 && b - T_BASE - 1 < T_COUNT - 1)
        return a + (b - T_BASE);
    size_t lo = 0, hi = COUNT(uni_comp_tab);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct uni_comp *p = &uni_comp_tab[mid];
        if (a < p->a || (a == p->a && b < p->b)) hi = mid;
        else if (a > p->a || b > p->b) lo = mid + 1;
        else return p->cp;
    }
    return 0;
}

int uni_nfc_quick(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0xCC) { i++; continue; }          /* below U+0300: always fine */
        uint32_t c;
        i += (size_t)uni_decode(u + i, n - i, &c);
        if (c < 0x300 || UNI_IS_RAW(c)) continue;
        if (uni_ccc(c) || range_find(uni_nfc_qc_tab, COUNT(uni_nfc_qc_tab), c)) return 0;
    }
    return 1;
}

/* ---- NFC ------------------------------------------------------------------- */

/* Code points with their combining class packed on top: (ccc << 24) | cp. */
typedef struct cpbuf { uint32_t *v; size_t n, cap; } cpbuf;

#define CP(x)  ((x) & 0xFFFFFFu)
#define CCC(x) ((x) >> 24)

static int cp_push(cpbuf *b, uint32_t c) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        uint32_t *v = realloc(b->v, cap * sizeof *v);
        if (!v) return -1;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = ((uint32_t)uni_ccc(c) << 24) | c;
    return 0;
}

static int decompose(cpbuf *b, uint32_t c) {
    if (c < 0xC0 || UNI_IS_RAW(c)) return cp_push(b, c);
    if (c - S_BASE < S_COUNT) {
        uint32_t s = c - S_BASE, t = s % T_COUNT;
        if (cp_push(b, L_BASE + s / N_COUNT) || cp_push(b, V_BASE + (s % N_COUNT) / T_COUNT)) return -1;
        return t ? cp_push(b, T_BASE + t) : 0;
    }
    const struct uni_decomp *d = decomp_find(c);
    if (!d) return cp_push(b, c);
    if (decompose(b, d->a)) return -1;     /* depth is bounded by the data (<= 4) */
    return d->b ? decompose(b, d->b) : 0;
}

/* Stable sort of v[0..n) by combining class (all non-zero). Runs are short in
 * real text; a counting sort keeps adversarial runs of marks linear. */
static int sort_marks(uint32_t *v, size_t n) {
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            size_t j = i;
            while (j > 0 && CCC(v[j - 1]) > CCC(x)) { v[j] = v[j - 1]; j--; }
            v[j] = x;
        }
        return 0;
    }
    size_t count[257] = {0};
    uint32_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return -1;
    for (size_t i = 0; i < n; i++) count[CCC(v[i]) + 1]++;
    for (int k = 1; k < 257; k++) count[k] += count[k - 1];
    for (size_t i = 0; i < n; i++) tmp[count[CCC(v[i])]++] = v[i];
    memcpy(v, tmp, n * sizeof *tmp);
    free(tmp);
    return 0;
}

int uni_nfc(const char *in, size_t n, char **out, size_t *out_n) {
    const unsigned char *u = (const unsigned char *)in;
    cpbuf b = {0};
    *out = NULL;
    *out_n = 0;
    /* 1. full canonical decomposition */
    for (size_t i = 0; i < n;) {
        uint32_t c;
        i += (size_t)uni_decode(u + i, n - i, &c);
        if (decompose(&b, c)) goto oom;
    }
    /* 2. canonical ordering of every run of non-starters */
    for (size_t i = 0; i < b.n;) {
        if (!CCC(b.v[i])) { i++; continue; }
        size_t j = i;
        while (j < b.n && CCC(b.v[j])) j++;
        if (j - i > 1 && sort_marks(b.v + i, j - i)) goto oom;
        i = j;
    }
    /* 3. canonical composition, in place (the sample code of UAX #15) */
    size_t m = 0;
    if (b.n) {
        size_t starter = 0;
        uint32_t last = CCC(b.v[0]) ? 256 : 0;   /* a leading mark composes with nothing */
        m = 1;
        for (size_t i = 1; i < b.n; i++) {
            uint32_t x = b.v[i], cc = CCC(x);
            uint32_t comp = (last < cc || last == 0) ? compose(CP(b.v[starter]), CP(x)) : 0;
            if (comp) {
                b.v[starter] = comp;                 /* composites are starters: ccc 0 */
            } else {
                if (cc == 0) starter = m;
                last = cc;
                b.v[m++] = x;
            }
        }
    }
    /* 4. back to UTF-8; never longer than 4 bytes per code point */
    unsigned char *o = malloc(m * 4 + 1);
    if (!o) goto oom;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) k += (size_t)uni_encode(CP(b.v[i]), o + k);
    free(b.v);
    *out = (char *)o;
    *out_n = k;
    return 0;
oom:
    free(b.v);
    return -1;
}
