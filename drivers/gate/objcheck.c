/* Protocol checks on sample.c and sample.o; see objcheck.h. The ELF reader
 * follows the System V gABI: ELF64, little-endian, relocatable. */
#include "objcheck.h"
#include "util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const SAMPLE_INCLUDES[] = {"<math.h>", "<stdlib.h>", "<string.h>", "<stdint.h>", "<stddef.h>",
                                       "<float.h>", "<limits.h>", "<stdbool.h>", "\"session/sample.h\"", "\"qinfer.h\"",
                                       NULL};

/* memory, sorting and libm; what a compiler may call on its own
 * (__stack_chk_fail, the GOT symbol of position-independent code) */
const char *const SAMPLE_ALLOWED_REFS[] = {
    "malloc", "calloc", "realloc", "free", "memcpy", "memmove", "memset", "memcmp", "qsort", "abs", "labs",
    "exp", "expf", "exp2", "exp2f", "expm1", "expm1f", "log", "logf", "log2", "log2f", "log1p", "log1pf", "pow",
    "powf", "sqrt", "sqrtf", "fabs", "fabsf", "floor", "floorf", "ceil", "ceilf", "round", "roundf", "lround",
    "lroundf", "trunc", "truncf", "fmax", "fmaxf", "fmin", "fminf", "fmod", "fmodf", "tanh", "tanhf", "ldexp",
    "ldexpf", "frexp", "frexpf", "nextafter", "nextafterf", "isnan", "isinf", "__isnan", "__isnanf", "__isinf",
    "__isinff", "__finite", "__finitef", "__stack_chk_fail", "_GLOBAL_OFFSET_TABLE_", NULL};

static int in_list(const char *const *list, const char *s) {
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], s)) return 1;
    return 0;
}

/* ---- source ------------------------------------------------------------------ */

int check_sample_source(const char *src_path, char *why, size_t why_size) {
    char *src = read_file(src_path, 1u << 24, NULL);
    if (!src) { snprintf(why, why_size, "cannot read %s", src_path); return -1; }
    int line = 0, rc = 0;
    for (char *p = src; *p && !rc; line++) {
        char *nl = strchr(p, '\n');
        char *e = nl ? nl : p + strlen(p);
        char *s = p;
        while (s < e && isspace((unsigned char)*s)) s++;
        if (s < e && *s == '#') {
            s++;
            while (s < e && isspace((unsigned char)*s)) s++;
            if (!strncmp(s, "include", 7)) {
                s += 7;
                while (s < e && isspace((unsigned char)*s)) s++;
                char inc[128];
                size_t k = 0;
                while (s < e && !isspace((unsigned char)*s) && k < sizeof inc - 1) inc[k++] = *s++;
                inc[k] = 0;
                if (!in_list(SAMPLE_INCLUDES, inc)) {
                    snprintf(why, why_size, "sample.c:%d: #include %s is not allowed (allowed: the C library's math, "
                             "memory and integer headers, session/sample.h, qinfer.h)", line + 1, inc);
                    rc = -1;
                }
            } else if (!strncmp(s, "pragma", 6) || !strncmp(s, "line", 4)) {
                snprintf(why, why_size, "sample.c:%d: #%.6s is not allowed", line + 1, s);
                rc = -1;
            }
        }
        p = nl ? nl + 1 : e;
    }
    free(src);
    return rc;
}

/* after preprocessing: the tokens of lines that come from the file itself */
int check_sample_preprocessed(const char *pp_path, const char *src_name, char *why, size_t why_size) {
    static const char *const banned[] = {"asm", "__asm", "__asm__", "_Pragma", "__attribute", "__attribute__",
                                         "__declspec", NULL};
    char *pp = read_file(pp_path, 1u << 28, NULL);
    if (!pp) { snprintf(why, why_size, "cannot read %s", pp_path); return -1; }
    int ours = 0, rc = 0;
    for (char *p = pp; *p && !rc;) {
        char *nl = strchr(p, '\n');
        char *e = nl ? nl : p + strlen(p);
        if (*p == '#') { /* # 12 "lib/sample.c" 2 */
            char *q = strchr(p, '"');
            if (q && q < e) {
                char *r = memchr(q + 1, '"', (size_t)(e - q - 1));
                size_t len = r ? (size_t)(r - q - 1) : 0;
                size_t sl = strlen(src_name);
                ours = len >= sl && !strncmp(q + 1 + len - sl, src_name, sl);
            }
        } else if (ours) {
            for (char *s = p; s < e;) {
                if (*s == '"' || *s == '\'') { /* skip literals */
                    char qc = *s++;
                    while (s < e && *s != qc) s += (*s == '\\') ? 2 : 1;
                    s++;
                    continue;
                }
                if (isalpha((unsigned char)*s) || *s == '_') {
                    char *t = s;
                    while (s < e && (isalnum((unsigned char)*s) || *s == '_')) s++;
                    char word[64];
                    size_t n = (size_t)(s - t) < sizeof word - 1 ? (size_t)(s - t) : sizeof word - 1;
                    memcpy(word, t, n);
                    word[n] = 0;
                    if (in_list(banned, word)) {
                        snprintf(why, why_size, "sample.c uses '%s' (no inline assembly, pragmas or attributes)", word);
                        rc = -1;
                        break;
                    }
                } else s++;
            }
        }
        p = nl ? nl + 1 : e;
    }
    free(pp);
    return rc;
}

/* ---- ELF64 ----------------------------------------------------------------------- */

static uint64_t rd(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int push(char ***arr, int *n, const char *s) {
    char **a = realloc(*arr, (size_t)(*n + 1) * sizeof *a);
    if (!a) return -1;
    *arr = a;
    a[*n] = strdup(s);
    if (!a[*n]) return -1;
    (*n)++;
    return 0;
}

void obj_free(obj_syms *o) {
    for (int i = 0; i < o->n_defined; i++) free(o->defined[i]);
    for (int i = 0; i < o->n_undefined; i++) free(o->undefined[i]);
    for (int i = 0; i < o->n_sections; i++) free(o->sections[i]);
    free(o->defined);
    free(o->undefined);
    free(o->sections);
    memset(o, 0, sizeof *o);
}

int obj_read(const char *path, obj_syms *o, char *why, size_t why_size) {
    memset(o, 0, sizeof *o);
    size_t n;
    unsigned char *b = (unsigned char *)read_file(path, 1u << 28, &n);
#define BAD(...) do { snprintf(why, why_size, __VA_ARGS__); free(b); obj_free(o); return -1; } while (0)
    if (!b) BAD("cannot read %s", path);
    if (n < 64 || memcmp(b, "\x7f" "ELF", 4) || b[4] != 2 || b[5] != 1) BAD("%s: not an ELF64 little-endian object", path);
    if (rd(b + 16, 2) != 1) BAD("%s: not a relocatable object", path);
    uint64_t shoff = rd(b + 40, 8), shentsize = rd(b + 58, 2), shnum = rd(b + 60, 2), shstrndx = rd(b + 62, 2);
    if (shentsize != 64 || shoff > n || shnum > (n - shoff) / 64 || shstrndx >= shnum) BAD("%s: bad section table", path);
    const unsigned char *sh = b + shoff;
#define SH(i, off, w) rd(sh + (size_t)(i) * 64 + (off), (w))
    uint64_t strs_off = SH(shstrndx, 24, 8), strs_size = SH(shstrndx, 32, 8);
    if (strs_off > n || strs_size > n - strs_off) BAD("%s: bad section names", path);
    for (uint64_t i = 1; i < shnum; i++) {
        uint64_t nm = SH(i, 0, 4);
        if (nm >= strs_size || !memchr(b + strs_off + nm, 0, strs_size - nm)) BAD("%s: bad section name", path);
        if (push(&o->sections, &o->n_sections, (const char *)b + strs_off + nm)) BAD("out of memory");
        if (SH(i, 4, 4) != 2) continue; /* SHT_SYMTAB */
        uint64_t off = SH(i, 24, 8), size = SH(i, 32, 8), link = SH(i, 40, 4);
        if (off > n || size > n - off || link >= shnum) BAD("%s: bad symbol table", path);
        uint64_t s_off = SH(link, 24, 8), s_size = SH(link, 32, 8);
        if (s_off > n || s_size > n - s_off) BAD("%s: bad string table", path);
        for (uint64_t k = 1; k < size / 24; k++) {
            const unsigned char *sym = b + off + k * 24;
            uint64_t name = rd(sym, 4);
            int bind = sym[4] >> 4, type = sym[4] & 15;
            uint64_t shndx = rd(sym + 6, 2);
            if (name >= s_size || !memchr(b + s_off + name, 0, s_size - name)) BAD("%s: bad symbol name", path);
            const char *nmp = (const char *)b + s_off + name;
            if (type == 10) o->has_ifunc = 1;
            if (bind == 10) o->has_unique = 1;
            if (bind != 1 && bind != 2 && bind != 10) continue; /* locals do not matter */
            if (!*nmp) continue;
            if (shndx == 0) {
                if (push(&o->undefined, &o->n_undefined, nmp)) BAD("out of memory");
            } else if (push(&o->defined, &o->n_defined, nmp)) BAD("out of memory");
        }
    }
#undef SH
#undef BAD
    free(b);
    return 0;
}

static int section_ok(const char *s) {
    static const char *const prefix[] = {".text", ".data", ".bss", ".rodata", ".debug_", ".zdebug_", ".rela.", ".rel.",
                                         ".eh_frame", ".note.GNU-stack", ".note.gnu.property", ".comment", ".symtab",
                                         ".strtab", ".shstrtab", ".group", ".llvm_addrsig", NULL};
    for (int i = 0; prefix[i]; i++) {
        size_t n = strlen(prefix[i]);
        if (strncmp(s, prefix[i], n)) continue;
        /* relocations of a forbidden section are as bad as the section */
        if (!strcmp(prefix[i], ".rela.") || !strcmp(prefix[i], ".rel.")) return section_ok(s + n - 1);
        return 1;
    }
    return 0;
}

int check_sample_object(const char *cand_o, const char *anchor_o, char *why, size_t why_size) {
    obj_syms c, a;
    if (obj_read(cand_o, &c, why, why_size)) return -1;
    if (obj_read(anchor_o, &a, why, why_size)) { obj_free(&c); return -1; }
    int rc = 0;
    for (int i = 0; i < c.n_sections && !rc; i++)
        if (!section_ok(c.sections[i])) {
            snprintf(why, why_size, "sample.o has a section '%s' (code that runs at load time, or not an ordinary "
                     "section)", c.sections[i]);
            rc = -1;
        }
    if (!rc && (c.has_ifunc || c.has_unique)) {
        snprintf(why, why_size, "sample.o has %s symbols", c.has_ifunc ? "IFUNC (resolved at load time)" : "GNU_UNIQUE");
        rc = -1;
    }
    for (int i = 0; i < c.n_defined && !rc; i++) {
        int known = 0;
        for (int j = 0; j < a.n_defined; j++) known |= !strcmp(c.defined[i], a.defined[j]);
        if (!known) {
            snprintf(why, why_size, "sample.o defines the global symbol '%s', which the anchor's sample.o does not",
                     c.defined[i]);
            rc = -1;
        }
    }
    for (int i = 0; i < c.n_undefined && !rc; i++)
        if (!in_list(SAMPLE_ALLOWED_REFS, c.undefined[i])) {
            snprintf(why, why_size, "sample.o references '%s', which is not in the allow-list", c.undefined[i]);
            rc = -1;
        }
    obj_free(&c);
    obj_free(&a);
    return rc;
}
