/* The gate's worker: the one program built from the tree under test. The
 * judge starts one per run, in a process group of its own, with the same
 * arguments and environment for incumbent and candidate, and talks to it
 * over stdin/stdout. The worker reports ids and logits; it is never asked
 * about time, memory or quality, which the judge measures itself.
 *
 *   worker MODEL
 * loads MODEL with the library's default config (lib/inference_config.c of
 * this build), makes one session, prints "R n_vocab isa threads", then
 * answers, one command per line:
 *   G mode n_max SAMPLING n_ids ids...   generate after a fresh prefill:
 *       mode T: exactly n_max tokens, end-of-generation ids fed like any other
 *       mode N: stop at end of generation (the id is not sent) or n_max
 *       -> "t id" per token as soon as it is sampled, then "e 0"
 *   F SAMPLING n_ids ids...   feed the ids one at a time through the decode
 *       path, calling the sampler after each: -> per id "l n_vocab" and
 *       n_vocab little-endian float32 logits; then "e 0"
 *   S SAMPLING n_draws n_recent recent... , then n_vocab float32 logits:
 *       draw n_draws times from a sampler seeded once -> "h k id count ...",
 *       then "e 0"
 *   Q   exit
 * SAMPLING is: temperature top_k top_p min_p repeat_penalty repeat_last_n seed.
 * Every line is read by proto_command (protocol.c), which refuses anything
 * else. Any failure: "e CODE message" (the judge treats it as a crash). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol.h"
#include "qinfer.h"

static qi_model *model;
static qi_session *sess;
static int n_vocab;

/* one write per message, retried on a short write */
static int put(const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = write(1, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int putf(const char *fmt, ...) {
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    return n < 0 || n >= (int)sizeof b ? -1 : put(b, (size_t)n);
}

/* the current command line */
static char *line;
static size_t line_cap;

static int fail(qi_status st, const char *what) {
    putf("e %d %s: %s\n", st ? (int)st : 1, what, sess ? qi_session_errmsg(sess) : "");
    return 0;
}

static int cmd_generate(const proto_cmd *cmd) {
    qi_status st = qi_session_set_sampling(sess, &cmd->sampling);
    if (!st) st = qi_session_rewind(sess, 0);
    if (!st) st = qi_session_eval(sess, cmd->ids, cmd->n_ids, NULL);
    if (st) return fail(st, "prefill");
    for (long i = 0; i < cmd->n_max; i++) {
        int32_t tok;
        if ((st = qi_session_sample(sess, &tok))) return fail(st, "sample");
        if (cmd->mode == 'N' && qi_token_is_eog(model, tok)) break;
        if (putf("t %d\n", tok)) return -1;
        if (i + 1 < cmd->n_max && (st = qi_session_eval(sess, &tok, 1, NULL))) {
            if (st == QI_ERR_CONTEXT_FULL && cmd->mode == 'N') break;
            return fail(st, "decode");
        }
    }
    return putf("e 0\n");
}

static int cmd_force(const proto_cmd *cmd) {
    qi_status st = qi_session_set_sampling(sess, &cmd->sampling);
    if (!st) st = qi_session_rewind(sess, 0);
    for (int i = 0; i < cmd->n_ids && !st; i++) {
        int32_t tok;
        if ((st = qi_session_eval(sess, cmd->ids + i, 1, NULL)) || (st = qi_session_sample(sess, &tok))) break;
        if (putf("l %d\n", n_vocab) || put(qi_session_logits(sess), (size_t)n_vocab * sizeof(float))) return -1;
    }
    return st ? fail(st, "force") : putf("e 0\n");
}

/* stdin through one buffer: command lines, and the raw logits after an S line */
static char in_buf[1 << 16];
static size_t in_len, in_pos;

static int fill_in(void) {
    for (;;) {
        ssize_t r = read(0, in_buf, sizeof in_buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        in_len = (size_t)r;
        in_pos = 0;
        return 0;
    }
}

static int read_exact(void *buf, size_t n) {
    char *p = buf;
    while (n) {
        if (in_pos == in_len && fill_in()) return -1;
        size_t k = in_len - in_pos < n ? in_len - in_pos : n;
        memcpy(p, in_buf + in_pos, k);
        in_pos += k;
        p += k;
        n -= k;
    }
    return 0;
}

static int cmd_sample(const proto_cmd *cmd) {
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    int *count = calloc((size_t)n_vocab, sizeof *count);
    qi_sampler *sp = NULL;
    qi_status st = !logits || !count ? QI_ERR_NOMEM : QI_OK;
    if (!st && read_exact(logits, (size_t)n_vocab * sizeof *logits)) st = QI_ERR_IO;
    if (!st) st = qi_sampler_new(&cmd->sampling, n_vocab, &sp);
    for (long i = 0; i < cmd->draws && !st; i++) {
        int32_t t;
        if (!(st = qi_sampler_draw(sp, logits, cmd->ids, cmd->n_ids, &t))) {
            if (t < 0 || t >= n_vocab) st = QI_ERR_BAD_TOKEN; /* the sampler under test drew no id */
            else count[t]++;
        }
    }
    int rc = 0;
    if (st) rc = fail(st, "draw");
    else {
        int k = 0;
        for (int i = 0; i < n_vocab; i++) k += count[i] > 0;
        rc = putf("h %d", k);
        for (int i = 0; i < n_vocab && !rc; i++)
            if (count[i]) rc = putf(" %d %d", i, count[i]);
        if (!rc) rc = putf("\ne 0\n");
    }
    qi_sampler_free(sp);
    free(logits);
    free(count);
    return rc;
}

/* one command line */
static int read_line(void) {
    size_t n = 0;
    for (;;) {
        if (in_pos == in_len && fill_in()) return -1;
        char *nl = memchr(in_buf + in_pos, '\n', in_len - in_pos);
        size_t k = nl ? (size_t)(nl - (in_buf + in_pos)) : in_len - in_pos;
        if (n + k + 1 > line_cap) {
            size_t cap = line_cap ? line_cap : 4096;
            while (cap < n + k + 1) cap *= 2;
            char *b = realloc(line, cap);
            if (!b) return -1;
            line = b;
            line_cap = cap;
        }
        memcpy(line + n, in_buf + in_pos, k);
        n += k;
        in_pos += k + (nl != NULL);
        if (nl) break;
    }
    line[n] = 0;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: worker MODEL (started by the gate's judge)\n");
        return 64;
    }
    char msg[512];
    qi_config c;
    qi_config_default(&c);
    qi_status st = qi_model_load_cfg(argv[1], &c, &model, msg, sizeof msg);
    if (!st) st = qi_session_new(model, &c, &sess, msg, sizeof msg);
    if (st) {
        putf("e %d load: %s\n", (int)st, msg);
        return 1;
    }
    qi_model_info info;
    qi_model_get_info(model, &info);
    n_vocab = info.n_vocab;
    if (putf("R %d %s %d\n", n_vocab, qi_session_isa(sess), qi_session_threads(sess))) return 1;
    int rc = 0;
    while (!rc && !read_line()) {
        proto_cmd cmd;
        if (proto_command(line, n_vocab, &cmd)) {
            rc = fail(0, "a malformed command");
            continue;
        }
        if (cmd.op == 'Q') break;
        if (cmd.op == 'G') rc = cmd_generate(&cmd);
        else if (cmd.op == 'F') rc = cmd_force(&cmd);
        else rc = cmd_sample(&cmd);
        proto_cmd_free(&cmd);
    }
    qi_session_free(sess);
    qi_model_free(model);
    free(line);
    return rc ? 1 : 0;
}
