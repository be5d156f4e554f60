/* The worker's replies; see protocol.h. */
#include "protocol.h"

#include <string.h>

/* a decimal number without sign or leading zeros (but "0"), at most max,
 * ending at a space or the end of the line; *s moves past it */
static int number(const char **s, long max, long *v) {
    const char *p = *s;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9')) return -1;
    long x = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (x > (max - (*p - '0')) / 10) return -1;
        x = x * 10 + (*p - '0');
    }
    if (*p && *p != ' ') return -1;
    *v = x;
    *s = p;
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
