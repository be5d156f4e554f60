/* The pipe between judge and worker; see protocol.h. */
#include "protocol.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* a decimal number without sign or leading zeros (but "0"), at most max,
 * ending at a space or the end of the line; *s moves past it */
static int number_u64(const char **s, uint64_t max, uint64_t *v) {
    const char *p = *s;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9')) return -1;
    uint64_t x = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10) return -1;
        x = x * 10 + d;
    }
    if (x > max || (*p && *p != ' ')) return -1;
    *v = x;
    *s = p;
    return 0;
}

static int number(const char **s, long max, long *v) {
    uint64_t x;
    if (number_u64(s, (uint64_t)max, &x)) return -1;
    *v = (long)x;
    return 0;
}

/* "X " then a number, and nothing after it unless rest */
static int head_number(const char *line, char tag, long max, long *v, const char **rest) {
    if (line[0] != tag || line[1] != ' ') return -1;
    const char *s = line + 2;
    if (number(&s, max, v)) return -1;
    if (rest) *rest = s;
    else if (*s) return -1;
    return 0;
}

int proto_ready(const char *line) {
    long v;
    const char *rest;
    if (head_number(line, 'R', 1 << 24, &v, &rest) || v < 1 || *rest != ' ') return -1;
    return (int)v;
}

int32_t proto_token(const char *line, int n_vocab) {
    long v;
    if (head_number(line, 't', 1L << 30, &v, NULL) || v >= n_vocab) return -1;
    return (int32_t)v;
}

int proto_end(const char *line) {
    if (!strcmp(line, "e 0")) return 0;
    long v;
    const char *rest;
    if (head_number(line, 'e', 1 << 20, &v, &rest) || v < 1) return -1;
    return (int)v;
}

int proto_logits(const char *line, int n_vocab) {
    long v;
    return head_number(line, 'l', 1L << 30, &v, NULL) || v != n_vocab ? -1 : 0;
}

int proto_hist(const char *line, int n_vocab, int *counts, long draws) {
    long k;
    const char *s;
    memset(counts, 0, (size_t)n_vocab * sizeof *counts);
    if (head_number(line, 'h', n_vocab, &k, &s)) return -1;
    long total = 0;
    for (long j = 0; j < k; j++) {
        long id, c;
        if (*s != ' ') return -1;
        s++;
        if (number(&s, n_vocab - 1, &id) || *s != ' ') return -1;
        s++;
        if (number(&s, draws, &c) || c < 1 || counts[id]) return -1;
        counts[id] = (int)c;
        total += c;
        if (total > draws) return -1;
    }
    return *s || total != draws ? -1 : 0;
}

/* ---- the judge's commands ---------------------------------------------------- */

/* " " then a decimal number in [lo, hi], lo >= 0 */
static int field_int(const char **s, long lo, long hi, long *v) {
    const char *p = *s;
    if (*p++ != ' ' || number(&p, hi, v) || *v < lo) return -1;
    *s = p;
    return 0;
}

/* " " then any uint64 in decimal (the seed) */
static int field_u64(const char **s, uint64_t *v) {
    const char *p = *s;
    if (*p++ != ' ' || number_u64(&p, UINT64_MAX, v)) return -1;
    *s = p;
    return 0;
}

/* " " then a finite decimal number (as %.9g writes it) */
static int field_float(const char **s, float *v) {
    const char *p = *s;
    if (*p++ != ' ') return -1;
    char tok[64];
    size_t n = strcspn(p, " ");
    if (n == 0 || n >= sizeof tok || strspn(p, "0123456789.eE+-") < n) return -1;
    memcpy(tok, p, n);
    tok[n] = 0;
    char *end;
    double x = strtod(tok, &end);
    if (*end || !isfinite(x) || x > 3e38 || x < -3e38) return -1;
    *v = (float)x;
    *s = p + n;
    return 0;
}

/* SAMPLING: temperature top_k top_p min_p repeat_penalty repeat_last_n seed */
static int field_sampling(const char **s, qi_config *c) {
    long k, rn;
    qi_config_default(c);
    if (field_float(s, &c->temperature) || field_int(s, 0, INT32_MAX, &k) || field_float(s, &c->top_p) ||
        field_float(s, &c->min_p) || field_float(s, &c->repeat_penalty) || field_int(s, 0, INT32_MAX, &rn) ||
        field_u64(s, &c->seed))
        return -1;
    c->top_k = (int)k;
    c->repeat_last_n = (int)rn;
    return 0;
}

/* " k id1 ... idk", each id in [0, n_vocab); k no more than the line can hold */
static int field_ids(const char **s, int n_vocab, int32_t **ids, int *n) {
    long k;
    if (field_int(s, 0, 1 << 20, &k) || (size_t)k > strlen(*s) / 2) return -1;
    int32_t *b = malloc((size_t)(k ? k : 1) * sizeof *b);
    if (!b) return -1;
    for (long i = 0; i < k; i++) {
        long v;
        if (field_int(s, 0, (long)n_vocab - 1, &v)) { free(b); return -1; }
        b[i] = (int32_t)v;
    }
    *ids = b;
    *n = (int)k;
    return 0;
}

int proto_command(const char *line, int n_vocab, proto_cmd *cmd) {
    memset(cmd, 0, sizeof *cmd);
    cmd->op = line[0];
    const char *s = line + 1;
    long v;
    switch (cmd->op) {
    case 'Q': break;
    case 'G':
        if (s[0] != ' ' || (s[1] != 'T' && s[1] != 'N')) return -1;
        cmd->mode = s[1];
        s += 2;
        if (field_int(&s, 0, 1 << 24, &v) || field_sampling(&s, &cmd->sampling)) return -1;
        cmd->n_max = v;
        if (field_ids(&s, n_vocab, &cmd->ids, &cmd->n_ids)) return -1;
        if (cmd->n_ids < 1) { proto_cmd_free(cmd); return -1; }
        break;
    case 'F':
        if (field_sampling(&s, &cmd->sampling) || field_ids(&s, n_vocab, &cmd->ids, &cmd->n_ids)) return -1;
        break;
    case 'S':
        if (field_sampling(&s, &cmd->sampling) || field_int(&s, 1, 10000000, &v)) return -1;
        cmd->draws = v;
        if (field_ids(&s, n_vocab, &cmd->ids, &cmd->n_ids)) return -1;
        break;
    default: return -1;
    }
    if (*s) { proto_cmd_free(cmd); return -1; }
    return 0;
}

void proto_cmd_free(proto_cmd *cmd) {
    free(cmd->ids);
    cmd->ids = NULL;
    cmd->n_ids = 0;
}
