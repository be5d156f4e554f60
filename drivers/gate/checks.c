/* Sanity checks on answers; see checks.h. ASCII rules throughout: what
 * counts as a letter, a digit or a word boundary is stated there. */
#include "checks.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_word_byte(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }
static int is_lower_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static char *lower_dup(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d) return NULL;
    for (size_t i = 0; i <= n; i++) d[i] = (char)tolower((unsigned char)s[i]);
    return d;
}

/* the last whole number: a digit run not preceded by a word byte or '.',
 * with a '-' in front when that '-' is itself not preceded by one */
static int check_number(const char *want, const char *a) {
    const char *best = NULL;
    size_t best_len = 0;
    size_t n = strlen(a);
    for (size_t i = 0; i < n;) {
        if (!isdigit((unsigned char)a[i])) { i++; continue; }
        size_t j = i;
        while (j < n && isdigit((unsigned char)a[j])) j++;
        int ok = i == 0 || !(is_word_byte((unsigned char)a[i - 1]) || a[i - 1] == '.');
        if (ok) {
            size_t s = i;
            if (i > 0 && a[i - 1] == '-' && (i == 1 || !(is_word_byte((unsigned char)a[i - 2]) || a[i - 2] == '.'))) s = i - 1;
            best = a + s;
            best_len = j - s;
        }
        i = j;
    }
    return best && strlen(want) == best_len && memcmp(best, want, best_len) == 0;
}

/* the answer's ASCII words, lower-cased, equal the expected ones */
static int check_words(const char *want, const char *a) {
    const char *w = want;
    for (size_t i = 0; a[i];) {
        if (!isalpha((unsigned char)a[i])) { i++; continue; }
        while (*w == ' ') w++;
        while (isalpha((unsigned char)a[i])) {
            if (tolower((unsigned char)a[i]) != *w) return 0;
            i++;
            w++;
        }
        if (*w && *w != ' ') return 0; /* the expected word is longer */
    }
    while (*w == ' ') w++;
    return *w == 0;
}

/* text (lower-case) holds word (NUL-terminated, len bytes) with no [a-z0-9] either side */
static int has_word(const char *text, const char *word, size_t len) {
    if (len == 0) return 0;
    for (const char *p = text; (p = strstr(p, word)); p++)
        if ((p == text || !is_lower_alnum((unsigned char)p[-1])) && !is_lower_alnum((unsigned char)p[len])) return 1;
    return 0;
}

/* one of the '|'-separated alternatives in [w, end) */
static int any_alternative(const char *low_answer, const char *w, const char *end) {
    while (w < end) {
        const char *bar = memchr(w, '|', (size_t)(end - w));
        const char *e = bar ? bar : end;
        char k[128];
        size_t n = (size_t)(e - w) < sizeof k - 1 ? (size_t)(e - w) : sizeof k - 1;
        for (size_t i = 0; i < n; i++) k[i] = (char)tolower((unsigned char)w[i]);
        k[n] = 0;
        if (has_word(low_answer, k, n)) return 1;
        w = e + (bar != NULL);
    }
    return 0;
}

static int check_keywords(const char *want, const char *a, int all) {
    char *low = lower_dup(a);
    if (!low) return 0;
    int ok = 1;
    const char *w = want, *end = want + strlen(want);
    if (!all) ok = any_alternative(low, w, end);
    else
        while (ok && w < end) {
            const char *comma = memchr(w, ',', (size_t)(end - w));
            const char *e = comma ? comma : end;
            ok = any_alternative(low, w, e);
            w = e + 1;
        }
    free(low);
    return ok;
}

static int count_lines(const char *a) {
    int n = 0;
    const char *p = a;
    while (*p) {
        const char *nl = strchr(p, '\n');
        const char *e = nl ? nl : p + strlen(p);
        for (const char *q = p; q < e; q++)
            if (!isspace((unsigned char)*q)) { n++; break; }
        p = nl ? nl + 1 : e;
    }
    return n;
}

static int check_poem(const char *want, const char *a) {
    if (count_lines(a) != 4) return 0;
    if (!strcmp(want, "-")) return 1;
    char *low = lower_dup(a), *w = lower_dup(want);
    int ok = 0;
    if (low && w) {
        size_t n = strlen(w);
        for (const char *p = low; (p = strstr(p, w)); p++)
            if ((p == low || !islower((unsigned char)p[-1])) && !islower((unsigned char)p[n])) { ok = 1; break; }
    }
    free(low);
    free(w);
    return ok;
}

/* ---- Python's shape -------------------------------------------------------------
 * Not a parser: the checks a reader makes at a glance. Lines are split on '\n';
 * blank and comment lines are skipped; strings ('..', "..") must close on their
 * line; brackets must balance, and a line inside open brackets continues the
 * previous one. A line ending in ':' must start with a compound keyword and be
 * followed by a deeper-indented line; other lines keep or return to an earlier
 * indentation; tabs are refused. */

static const char *const COMPOUND[] = {"def", "if", "elif", "else", "for", "while", "with", "try", "except",
                                       "finally", "class", "async", NULL};

static int starts_with_word(const char *s, const char *w) {
    size_t n = strlen(w);
    return strncmp(s, w, n) == 0 && !is_word_byte((unsigned char)s[n]);
}

static int is_ident_start(unsigned char c) { return isalpha(c) || c == '_'; }

/* "def NAME(" at s: 1 and the name in name_out */
static int def_name(const char *s, char *name_out, size_t cap) {
    if (!starts_with_word(s, "def")) return 0;
    s += 3;
    if (*s != ' ') return 0;
    while (*s == ' ') s++;
    if (!is_ident_start((unsigned char)*s)) return 0;
    size_t n = 0;
    while (is_word_byte((unsigned char)s[n]) && (unsigned char)s[n] < 0x80) n++;
    if (s[n] != '(' || n >= cap) return 0;
    memcpy(name_out, s, n);
    name_out[n] = 0;
    return 1;
}

int python_shape_ok(const char *code, const char *name) {
    int stack[64], top = 0, depth = 0, want_indent = 0, found = 0, lines = 0;
    stack[0] = 0;
    const char *p = code;
    while (*p) {
        const char *nl = strchr(p, '\n');
        const char *e = nl ? nl : p + strlen(p);
        const char *next = nl ? nl + 1 : e;
        int ind = 0;
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t')) {
            if (*s == '\t') return 0;
            ind++;
            s++;
        }
        const char *last = e;
        while (last > s && isspace((unsigned char)last[-1])) last--;
        if (s == last || *s == '#') { p = next; continue; } /* blank or comment */
        int continued = depth > 0;
        if (!continued) {
            if (want_indent) {
                if (ind <= stack[top] || top == 63) return 0;
                stack[++top] = ind;
                want_indent = 0;
            } else if (ind > stack[top]) {
                return 0; /* unexpected indent */
            } else {
                while (ind < stack[top]) top--;
                if (ind != stack[top]) return 0; /* dedent to no earlier level */
            }
        }
        /* scan the line: strings, brackets, a trailing comment, the last code char */
        char quote = 0, last_code = 0;
        int colon = 0; /* a ':' outside brackets and strings: "if x: y" is one line */
        for (const char *q = s; q < last; q++) {
            char c = *q;
            if (quote) {
                if (c == '\\' && q + 1 < last) q++;
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '#') break;
            if (c == '`') return 0; /* never Python: an unclosed ``` fence, say */
            if (c == '\'' || c == '"') {
                if (q + 2 < last && q[1] == c && q[2] == c) return 0; /* triple quotes: not in short answers */
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                if (--depth < 0) return 0;
            }
            if (c == ':' && depth == 0) colon = 1;
            if (!isspace((unsigned char)c)) last_code = c;
        }
        if (quote) return 0;
        if (!continued) {
            int compound = 0;
            for (int k = 0; COMPOUND[k]; k++) compound |= starts_with_word(s, COMPOUND[k]);
            /* a compound statement has its ':' (its header may go on inside brackets) */
            if (compound && depth == 0 && !colon) return 0;
            if (!compound && depth == 0 && last_code == ':') {
                /* "lambda x: x" ends in ':' only in a broken line */
                return 0;
            }
            char nm[128];
            if (def_name(s, nm, sizeof nm) && (!name || !strcmp(name, "-") || !strcmp(nm, name))) found = 1;
        }
        if (depth == 0 && last_code == ':') want_indent = 1;
        lines++;
        p = next;
    }
    return lines > 0 && depth == 0 && !want_indent && found;
}

/* the first ``` block's body, or the whole answer */
static char *code_of(const char *a) {
    const char *f = strstr(a, "```");
    if (f) {
        const char *s = f + 3;
        while (isalpha((unsigned char)*s)) s++;
        if (*s == '\n') {
            s++;
            const char *e = strstr(s, "```");
            if (e) {
                char *c = malloc((size_t)(e - s) + 1);
                if (c) { memcpy(c, s, (size_t)(e - s)); c[e - s] = 0; }
                return c;
            }
        }
    }
    size_t n = strlen(a);
    char *c = malloc(n + 1);
    if (c) memcpy(c, a, n + 1);
    return c;
}

int check_answer(const char *kind, const char *want, const char *answer) {
    if (!kind || !want || !answer) return -1;
    if (!strcmp(kind, "number")) return check_number(want, answer);
    if (!strcmp(kind, "words")) return check_words(want, answer);
    if (!strcmp(kind, "keyword")) return check_keywords(want, answer, 0);
    if (!strcmp(kind, "keywords")) return check_keywords(want, answer, 1);
    if (!strcmp(kind, "poem")) return check_poem(want, answer);
    if (!strcmp(kind, "lines")) return count_lines(answer) == atoi(want);
    if (!strcmp(kind, "python")) {
        char *code = code_of(answer);
        int ok = code && strstr(code, "def ") && python_shape_ok(code, want);
        free(code);
        return ok;
    }
    return -1;
}

/* ---- prompt files ----------------------------------------------------------------- */

void prompt_set_free(prompt_set *ps) {
    if (!ps) return;
    free(ps->buf);
    free(ps->rows);
    memset(ps, 0, sizeof *ps);
}

int prompt_set_load(const char *path, prompt_set *ps, char *err, size_t err_size) {
    memset(ps, 0, sizeof *ps);
    ps->buf = read_file(path, 1u << 26, NULL);
    if (!ps->buf) {
        snprintf(err, err_size, "%s: cannot open or read", path);
        return -1;
    }
    int cap = 16;
    ps->rows = malloc((size_t)cap * sizeof *ps->rows);
    if (!ps->rows) { prompt_set_free(ps); snprintf(err, err_size, "out of memory"); return -1; }
    int line_no = 0;
    for (char *p = ps->buf, *next; p && *p; p = next) {
        line_no++;
        char *nl = strchr(p, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = 0;
        if (*p == '#' || *p == 0) continue;
        char *fld[5];
        int k = 0;
        for (char *q = p; k < 5; k++) {
            fld[k] = q;
            char *t = k < 4 ? strchr(q, '\t') : NULL;
            if (k < 4 && !t) break;
            if (t) { *t = 0; q = t + 1; }
        }
        if (k < 5 || !*fld[2] || !*fld[4]) {
            snprintf(err, err_size, "%s:%d: want 5 tab-separated fields: id task check expected prompt", path, line_no);
            prompt_set_free(ps);
            return -1;
        }
        if (check_answer(fld[2], fld[3], "") < 0) {
            snprintf(err, err_size, "%s:%d: unknown check '%s'", path, line_no, fld[2]);
            prompt_set_free(ps);
            return -1;
        }
        if (ps->n == cap) {
            cap *= 2;
            prompt_row *r = realloc(ps->rows, (size_t)cap * sizeof *r);
            if (!r) { prompt_set_free(ps); snprintf(err, err_size, "out of memory"); return -1; }
            ps->rows = r;
        }
        /* the prompt may hold \n, \t and \\ */
        char *d = fld[4];
        for (char *q = fld[4]; *q; q++) {
            if (*q == '\\' && (q[1] == 'n' || q[1] == 't' || q[1] == '\\')) {
                q++;
                *d++ = *q == 'n' ? '\n' : *q == 't' ? '\t' : '\\';
            } else *d++ = *q;
        }
        *d = 0;
        ps->rows[ps->n++] = (prompt_row){atoi(fld[0]), fld[1], fld[2], fld[3], fld[4]};
    }
    if (ps->n == 0) {
        snprintf(err, err_size, "%s: no prompts", path);
        prompt_set_free(ps);
        return -1;
    }
    return 0;
}
