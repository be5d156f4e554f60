/* The gate's judge: built from the anchor, never linked with the candidate.
 * It checks the protocol, builds the incumbent's and the candidate's workers
 * from exports, runs them one at a time and takes every figure itself:
 * token arrival times on the pipe, peak memory from wait4, quality from its
 * own model (the anchor's library) and its own tokenizer. See README's
 * "The gate" for every threshold and why.
 *
 *   judge run ...        what ./gate calls (see usage)
 *   judge report T S     results.tsv T -> chart S (report.c)
 *   judge propose ...    the builtin agent (propose.c) */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfgfile.h"
#include "bandwidth.h"
#include "checks.h"
#include "fidelity.h"
#include "gate.h"
#include "qinfer.h"
#include "protocol.h"
#include "runner.h"
#include "sandbox.h"
#include "sha256.h"
#include "stats.h"
#include "tree.h"
#include "util.h"
#include "workload.h"

/* ---- thresholds (README "The gate" says how each was chosen) --------------------- */
#define MIN_GAIN 0.02        /* keep only if the 95% interval's low end is above 1 + this, twice */
#define PREFILL_BAND 0.10    /* prompt tok/s may fall at most this much (A/A noise band) */
#define TTFT_BAND 0.10       /* time to first token may grow at most this much */
#define MEM_BAND 0.05        /* peak memory may grow at most this much */
#define OUTSIDE_MAX 0.02     /* share of timed tokens the declared sampler could not draw */
#define AUDIT_EPS 0.5        /* logit slack of that test: prefill vs decode path at 8-bit activations */
#define LOGPROB_BOUND 0.15   /* |mean log-prob difference per token|, candidate - incumbent */
#define ARGMAX_BOUND 0.10    /* |difference in the share of tokens that are the model's argmax| */
#define FIDELITY_P 1e-6      /* a case fails below this chi-square p-value */
#define PLAUSIBLE 1.3        /* decode needing more than this x the measured bandwidth is invalid */
#define BOOTSTRAP 2000

enum { EXIT_KEEP = 0, EXIT_DISCARD = 1, EXIT_VIOLATION = 2, EXIT_BUILD = 3, EXIT_CRASH = 4, EXIT_INVALID = 5,
       EXIT_USAGE = 64 };

static int quiet;
static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...) {
    if (quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gate: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* ---- what one gate run knows ------------------------------------------------------- */

typedef struct prompt_ids {
    int32_t *ids;
    int n;
} prompt_ids;

#define MAX_PROMPTS 32

typedef struct run_result {
    int ok;
    double decode_tps, prompt_tps, ttft_ms, peak_gb, load_s;
    double p_decode[MAX_PROMPTS], p_prompt[MAX_PROMPTS], p_ttft[MAX_PROMPTS]; /* per prompt */
    int32_t **gen;              /* [prompt][gen_tokens] ids */
    double mean_logprob, outside, argmax_share; /* the audit */
    int audited;
} run_result;

typedef struct gate {
    const char *root, *repo, *anchor, *incumbent, *cache, *model_path, *json;
    int sampling_config;
    int code_checks;            /* 0 only with --unsafe-skip-code-checks (the sandbox's tests) */
    char rundir[4200];
    qi_model *model;            /* the anchor's library: tokenizer, reference, audit */
    qi_model_info info;
    workload w;
    sampling samp;              /* what the timed runs declare */
    prompt_set prompts, sanity_set;
    prompt_ids *p_ids, *s_ids;
    int n_prompts, n_sanity;
    char exe_inc[4300], exe_cand[4300];
    int sanity_applies;
    double bandwidth_gbs;       /* measured read bandwidth, 0 when not applicable */
    double min_bytes_per_token;
    /* results */
    double kl, top1, ppl, ppl_ref, sanity, fidelity;
    int quality_pass, fidelity_ok, kl_ok, audit_ok, sanity_ok;
    char quality_why[512];
    const char *extra_json;     /* per-prompt figures for --json */
    /* owned, freed by finish(): the editable files' texts, the candidate's knobs */
    char *cand_sample, *cand_cfg, *inc_sample, *inc_cfg;
    cfg_file cand_knobs;
} gate;

/* ---- small helpers ------------------------------------------------------------------ */

static int chat_ids(const qi_model *m, const char *prompt, prompt_ids *out) {
    qi_chat_msg msg = {"user", prompt};
    size_t len;
    if (qi_chat_render(&msg, 1, 1, NULL, 0, &len) != QI_ERR_BUFFER_TOO_SMALL) return -1;
    char *text = malloc(len + 1);
    if (!text || qi_chat_render(&msg, 1, 1, text, len + 1, &len)) { free(text); return -1; }
    int n = 0;
    qi_status st = qi_tokenize(m, text, len, 1, NULL, 0, &n);
    if (st != QI_ERR_BUFFER_TOO_SMALL && st != QI_OK) { free(text); return -1; }
    out->ids = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    st = out->ids ? qi_tokenize(m, text, len, 1, out->ids, n, &out->n) : QI_ERR_NOMEM;
    free(text);
    return st ? -1 : 0;
}

static int detok(const qi_model *m, const int32_t *ids, int n, char *out, size_t cap) {
    qi_detok d = {0};
    size_t o = 0;
    char piece[QI_DETOK_MAX];
    for (int i = 0; i < n; i++) {
        size_t k = 0;
        if (qi_detok_feed(m, &d, ids[i], piece, &k)) return -1;
        if (o + k < cap) { memcpy(out + o, piece, k); o += k; }
    }
    size_t k = 0;
    qi_detok_flush(&d, piece, &k);
    if (o + k < cap) { memcpy(out + o, piece, k); o += k; }
    out[o] = 0;
    return 0;
}

static int fmt_sampling(char *b, size_t n, const sampling *s, uint64_t seed) {
    return snprintf(b, n, "%.9g %d %.9g %.9g %.9g %d %llu", s->temperature, s->top_k, s->top_p, s->min_p,
                    s->repeat_penalty, s->repeat_last_n, (unsigned long long)seed);
}

/* "G"/"F" commands with their ids */
static char *command(const char *head, const prompt_ids *p) {
    size_t cap = strlen(head) + 16 + (size_t)p->n * 12;
    char *b = malloc(cap);
    if (!b) return NULL;
    size_t o = (size_t)snprintf(b, cap, "%s %d", head, p->n);
    for (int i = 0; i < p->n; i++) o += (size_t)snprintf(b + o, cap - o, " %d", p->ids[i]);
    snprintf(b + o, cap - o, "\n");
    return b;
}

/* why a reply is not what the protocol asks (r: what worker_line returned):
 * no answer within the limit (the worker is then stopped with its group), the
 * end of its output (it exited or was killed), or a line out of protocol */
static void bad_reply(const gate *g, int r, const char *line, const char *what, char *err, size_t err_size) {
    if (r == -2)
        snprintf(err, err_size, "%s: no answer within %g s (the workload's run_timeout_s): the worker was stopped", what,
                 (double)g->w.run_timeout_s);
    else if (r == -1) snprintf(err, err_size, "%s: the worker's output ended (it exited or was killed)", what);
    else snprintf(err, err_size, "%s: a reply out of protocol: '%.100s'", what, line);
}

static int start_worker(gate *g, worker *w, const char *exe, char *err, size_t err_size) {
    if (worker_start(w, exe, g->rundir, g->model_path, err, err_size)) return -1;
    char line[256];
    line[0] = 0;
    int r = worker_line(w, line, sizeof line, NULL, now_s() + g->w.run_timeout_s);
    if (r || proto_ready(line) < 0) {
        bad_reply(g, r, line, "the worker did not start", err, err_size);
        worker_stop(w, 0.1);
        return -1;
    }
    int nv = proto_ready(line);
    if (nv != g->info.n_vocab) {
        snprintf(err, err_size, "the worker reports %d ids, the model has %d", nv, g->info.n_vocab);
        worker_stop(w, 0.1);
        return -1;
    }
    return 0;
}

/* ---- sampler fidelity ------------------------------------------------------------------ */

static int fidelity(gate *g, char *err, size_t err_size) {
    uint64_t seed;
    FILE *ur = fopen("/dev/urandom", "rb");
    if (!ur || fread(&seed, sizeof seed, 1, ur) != 1) seed = (uint64_t)time(NULL) * 2654435761u;
    if (ur) fclose(ur);
    seed >>= 1;
    fid_case cases[8];
    int n = fidelity_cases(cases, 8, g->info.n_vocab, &g->samp, seed);
    progress("sampler fidelity: %d cases from seed %llu, %d draws each", n, (unsigned long long)seed, g->w.fidelity_draws);
    worker w;
    if (start_worker(g, &w, g->exe_cand, err, err_size)) { fidelity_free(cases, n); return -1; }
    int passed = 0, rc = 0, *counts = calloc((size_t)g->info.n_vocab, sizeof *counts);
    size_t cap = 1 << 22;
    char *line = malloc(cap);
    for (int i = 0; i < n && !rc && counts && line; i++) {
        char head[512], samp[256];
        fmt_sampling(samp, sizeof samp, &cases[i].s, cases[i].s.seed);
        int o = snprintf(head, sizeof head, "S %s %d %d", samp, g->w.fidelity_draws, cases[i].n_recent);
        for (int k = 0; k < cases[i].n_recent; k++) o += snprintf(head + o, sizeof head - (size_t)o, " %d", cases[i].recent[k]);
        snprintf(head + o, sizeof head - (size_t)o, "\n");
        if (worker_send(&w, head, strlen(head)) ||
            worker_send(&w, cases[i].logits, (size_t)g->info.n_vocab * sizeof(float))) { rc = -1; break; }
        double deadline = now_s() + g->w.run_timeout_s;
        line[0] = 0;
        int r = worker_line(&w, line, cap, NULL, deadline);
        if (r || line[0] != 'h') { rc = -1; bad_reply(g, r, line, "sampler fidelity", err, err_size); break; }
        char ok[64];
        if (proto_hist(line, g->info.n_vocab, counts, g->w.fidelity_draws) ||
            worker_line(&w, ok, sizeof ok, NULL, deadline) || proto_end(ok)) {
            snprintf(err, err_size, "fidelity: the worker's counts are malformed (%.100s)", line);
            rc = -1;
            break;
        }
        char detail[256];
        double p = fidelity_test(&cases[i], g->info.n_vocab, counts, g->w.fidelity_draws, detail, sizeof detail);
        int good = p >= FIDELITY_P;
        passed += good;
        progress("  %s %s", good ? "ok  " : "FAIL", detail);
    }
    worker_stop(&w, 1.0);
    free(counts);
    free(line);
    fidelity_free(cases, n);
    if (rc) return -1;
    g->fidelity = n ? (double)passed / n : 0;
    g->fidelity_ok = passed == n && n >= 5;
    return 0;
}

/* ---- KL, top-1 and perplexity on the evaluation text ------------------------------------ */

static int reference_logits(gate *g, const int32_t *ids, int n, float *ref) {
    char sha[65], text_sha[65];
    if (sha256_file(g->model_path, sha)) return -1;
    sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, ids, (size_t)n * sizeof *ids);
    sha256_hex(&h, text_sha);
    char path[4400];
    snprintf(path, sizeof path, "%s/ref-%.16s-%.16s.f32", g->cache, sha, text_sha);
    size_t bytes = (size_t)n * (size_t)g->info.n_vocab * sizeof(float);
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t got = fread(ref, 1, bytes, f);
        fclose(f);
        if (got == bytes) { progress("reference logits: cached (%s)", path); return 0; }
    }
    progress("reference logits: the anchor's exact path (f32 arithmetic, f32 KV cache), %d tokens", n);
    qi_config c;
    qi_config_default(&c);
    c.compute = QI_COMPUTE_F32;
    c.kv_type = QI_KV_F32;
    c.kv_capacity = n + 8;
    c.isa = QI_ISA_AUTO;
    qi_session *s;
    char msg[256];
    if (qi_session_new(g->model, &c, &s, msg, sizeof msg)) { progress("reference: %s", msg); return -1; }
    qi_status st = qi_session_eval(s, ids, n, ref);
    qi_session_free(s);
    if (st) return -1;
    char tmp[4500];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (f) {
        int ok = fwrite(ref, 1, bytes, f) == bytes;
        if (!fclose(f) && ok) rename(tmp, path);
        else unlink(tmp);
    }
    return 0;
}

static double lse(const float *x, int n) {
    double mx = x[0], s = 0;
    for (int i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
    for (int i = 0; i < n; i++) s += exp((double)x[i] - mx);
    return mx + log(s);
}

static int argmax_f(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

static int kl_check(gate *g, char *err, size_t err_size) {
    size_t len;
    char *text = read_file(g->w.eval_text, 1u << 26, &len);
    if (!text) { snprintf(err, err_size, "cannot read %s", g->w.eval_text); return -1; }
    int n = 0;
    qi_tokenize(g->model, text, len, 0, NULL, 0, &n);
    int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    if (!ids || qi_tokenize(g->model, text, len, 0, ids, n, &n)) { free(text); free(ids); snprintf(err, err_size, "tokenize"); return -1; }
    free(text);
    if (n > g->w.kl_tokens + 1) n = g->w.kl_tokens + 1;
    const int V = g->info.n_vocab, steps = n - 1;
    float *ref = malloc((size_t)n * V * sizeof(float)), *cand = malloc((size_t)V * sizeof(float));
    if (!ref || !cand || reference_logits(g, ids, n, ref)) {
        free(ids); free(ref); free(cand);
        snprintf(err, err_size, "reference logits failed");
        return -1;
    }
    worker w;
    if (start_worker(g, &w, g->exe_cand, err, err_size)) { free(ids); free(ref); free(cand); return -1; }
    char samp[256], head[320];
    fmt_sampling(samp, sizeof samp, &g->samp, g->samp.seed);
    snprintf(head, sizeof head, "F %s", samp);
    prompt_ids p = {ids, n};
    char *cmd = command(head, &p);
    int rc = cmd && !worker_send(&w, cmd, strlen(cmd)) ? 0 : -1;
    free(cmd);
    double kl_sum = 0, nll = 0, nll_ref = 0;
    int agree = 0;
    for (int i = 0; i < n && !rc; i++) {
        char line[128];
        double deadline = now_s() + g->w.run_timeout_s;
        line[0] = 0;
        int got = worker_line(&w, line, sizeof line, NULL, deadline);
        if (got || proto_logits(line, V) || (got = worker_bytes(&w, cand, (size_t)V * sizeof(float), deadline))) {
            char what[64];
            snprintf(what, sizeof what, "KL, token %d", i);
            bad_reply(g, got, line, what, err, err_size);
            rc = -1;
            break;
        }
        if (i == steps) break; /* the last row predicts past the text */
        const float *r = ref + (size_t)i * V;
        int finite = 1;
        for (int k = 0; k < V && finite; k++) finite = isfinite(cand[k]);
        if (!finite) { snprintf(err, err_size, "KL: non-finite logits at token %d", i); rc = -2; break; }
        double lr = lse(r, V), lc = lse(cand, V), kl = 0;
        for (int k = 0; k < V; k++) {
            double pr = exp((double)r[k] - lr);
            if (pr > 0) kl += pr * (((double)r[k] - lr) - ((double)cand[k] - lc));
        }
        kl_sum += kl;
        agree += argmax_f(r, V) == argmax_f(cand, V);
        nll += lc - cand[ids[i + 1]];
        nll_ref += lr - r[ids[i + 1]];
    }
    char tail[64];
    if (!rc && (worker_line(&w, tail, sizeof tail, NULL, now_s() + g->w.run_timeout_s) || proto_end(tail))) rc = -1;
    worker_stop(&w, 1.0);
    free(ids); free(ref); free(cand);
    if (rc == -1) return -1;
    if (rc == -2) { g->kl = INFINITY; g->top1 = 0; g->ppl = INFINITY; g->kl_ok = 0; return 0; }
    g->kl = kl_sum / steps;
    g->top1 = (double)agree / steps;
    g->ppl = exp(nll / steps);
    g->ppl_ref = exp(nll_ref / steps);
    g->kl_ok = g->kl <= g->w.kl_max && g->top1 >= g->w.top1_min && g->ppl <= g->ppl_ref * g->w.ppl_ratio_max;
    progress("KL %.3g (max %.3g), top-1 %.4f (min %.3f), perplexity %.4f vs reference %.4f (max ratio %.3f) over %d tokens",
             g->kl, g->w.kl_max, g->top1, g->w.top1_min, g->ppl, g->ppl_ref, g->w.ppl_ratio_max, steps);
    return 0;
}

/* ---- timed runs -------------------------------------------------------------------------- */

static void free_run(run_result *r, int n_prompts) {
    if (r->gen)
        for (int i = 0; i < n_prompts; i++) free(r->gen[i]);
    free(r->gen);
    r->gen = NULL;
}

/* One run: a fresh worker, every prompt, exactly gen_tokens tokens each. */
static int timed_run(gate *g, const char *exe, uint64_t seed, run_result *r, char *err, size_t err_size) {
    memset(r, 0, sizeof *r);
    r->gen = calloc((size_t)g->n_prompts, sizeof *r->gen);
    if (!r->gen) return -1;
    worker w;
    double t0 = now_s();
    if (start_worker(g, &w, exe, err, err_size)) return -1;
    r->load_s = now_s() - t0;
    const int T = g->w.gen_tokens;
    double decode_s = 0, ttft_sum = 0, prompt_tok = 0;
    int decode_tok = 0, rc = 0;
    char samp[256], head[320];
    fmt_sampling(samp, sizeof samp, &g->samp, seed);
    snprintf(head, sizeof head, "G T %d %s", T, samp);
    for (int p = 0; p < g->n_prompts && !rc; p++) {
        r->gen[p] = malloc((size_t)T * sizeof(int32_t));
        char *cmd = command(head, &g->p_ids[p]);
        double t_send = now_s(), t_first = 0, t_last = 0;
        if (!cmd || !r->gen[p] || worker_send(&w, cmd, strlen(cmd))) { free(cmd); rc = -1; break; }
        free(cmd);
        double deadline = t_send + g->w.run_timeout_s;
        for (int i = 0; i < T && !rc; i++) {
            char line[64] = "";
            double t;
            int got = worker_line(&w, line, sizeof line, &t, deadline);
            if (got || line[0] != 't') {
                char what[64];
                snprintf(what, sizeof what, "prompt %d, after %d tokens", p + 1, i);
                bad_reply(g, got, line, what, err, err_size);
                rc = -1;
                break;
            }
            int32_t id = proto_token(line, g->info.n_vocab);
            if (id < 0) { snprintf(err, err_size, "bad token line '%.40s'", line); rc = -1; break; }
            r->gen[p][i] = (int32_t)id;
            if (i == 0) t_first = t;
            t_last = t;
        }
        char tail[64];
        if (!rc && (worker_line(&w, tail, sizeof tail, NULL, deadline) || proto_end(tail))) {
            snprintf(err, err_size, "prompt %d: more or other output than %d tokens", p + 1, T);
            rc = -1;
        }
        if (rc) break;
        r->p_ttft[p] = 1000 * (t_first - t_send);
        r->p_prompt[p] = g->p_ids[p].n / (t_first - t_send);
        r->p_decode[p] = t_last > t_first ? (T - 1) / (t_last - t_first) : INFINITY;
        ttft_sum += t_first - t_send;
        prompt_tok += g->p_ids[p].n;
        decode_s += t_last - t_first;
        decode_tok += T - 1;
    }
    int st = worker_stop(&w, 2.0);
    if (!rc && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        snprintf(err, err_size, "the worker ended badly (status %d)", st);
        rc = -1;
    }
    if (rc) return -1;
    r->ok = 1;
    r->decode_tps = decode_s > 0 ? decode_tok / decode_s : INFINITY;
    r->prompt_tps = prompt_tok / ttft_sum;
    r->ttft_ms = 1000 * ttft_sum / g->n_prompts;
    r->peak_gb = (double)w.ru.ru_maxrss / (1024.0 * 1024.0);
    return 0;
}

/* ---- the audit: the anchor's model reads what the worker generated ----------------------- */

/* Could the declared settings draw id at this step (logits within AUDIT_EPS), and
 * its log-probability under the model (temperature 1, no truncation). */
static void judge_token(const gate *g, const float *logits, const int32_t *hist, int n_hist, int32_t id, double *p_buf,
                        int *inside, double *logprob) {
    *inside = could_draw(logits, g->info.n_vocab, &g->samp, hist, n_hist, id, AUDIT_EPS, p_buf);
    *logprob = logits[id] - lse(logits, g->info.n_vocab);
}

static int audit_run(gate *g, run_result *r) {
    const int V = g->info.n_vocab, T = g->w.gen_tokens;
    qi_config c;
    qi_config_default(&c);
    c.kv_type = QI_KV_F32;
    c.isa = QI_ISA_AUTO;
    int maxp = 0;
    for (int p = 0; p < g->n_prompts; p++) if (g->p_ids[p].n > maxp) maxp = g->p_ids[p].n;
    c.kv_capacity = maxp + T + 8;
    if (c.prefill_chunk > 256) c.prefill_chunk = 256;
    qi_session *s;
    char msg[256];
    if (qi_session_new(g->model, &c, &s, msg, sizeof msg)) return -1;
    float *all = malloc((size_t)T * V * sizeof(float));
    int32_t *hist = malloc((size_t)(maxp + T) * sizeof *hist);
    double *pb = malloc((size_t)V * sizeof *pb);
    int outside = 0, total = 0, rc = 0, top = 0;
    double lp_sum = 0;
    for (int p = 0; p < g->n_prompts && all && hist && pb && !rc; p++) {
        const prompt_ids *pi = &g->p_ids[p];
        if (qi_session_rewind(s, 0) || qi_session_eval(s, pi->ids, pi->n, NULL)) { rc = -1; break; }
        memcpy(all, qi_session_logits(s), (size_t)V * sizeof(float));
        if (T > 1 && qi_session_eval(s, r->gen[p], T - 1, all + V)) { rc = -1; break; }
        memcpy(hist, pi->ids, (size_t)pi->n * sizeof *hist);
        for (int i = 0; i < T; i++) {
            int in;
            double lp;
            judge_token(g, all + (size_t)i * V, hist, pi->n + i, r->gen[p][i], pb, &in, &lp);
            outside += !in;
            top += argmax_f(all + (size_t)i * V, V) == r->gen[p][i];
            lp_sum += lp;
            total++;
            hist[pi->n + i] = r->gen[p][i];
        }
    }
    qi_session_free(s);
    free(all); free(hist); free(pb);
    if (rc || !total) return -1;
    r->outside = (double)outside / total;
    r->mean_logprob = lp_sum / total;
    r->argmax_share = (double)top / total;
    r->audited = 1;
    return 0;
}

static int same_tokens(const gate *g, const run_result *a, const run_result *b) {
    for (int p = 0; p < g->n_prompts; p++)
        if (memcmp(a->gen[p], b->gen[p], (size_t)g->w.gen_tokens * sizeof(int32_t))) return 0;
    return 1;
}

/* ---- one measurement: ABBA pairs until the interval is clear of the threshold -------------- */

typedef struct measurement {
    int n;                      /* pairs */
    run_result inc[128], cand[128];
    double speedup, lo, hi;
    double prefill_ratio, ttft_ratio, mem_ratio;
    double lp_diff;             /* mean over pairs of the candidate's minus the incumbent's mean log-prob */
    double top_diff;            /* the same for the share of tokens that are the model's argmax */
    double outside_max;
} measurement;

static int measure(gate *g, measurement *m, uint64_t seed0, int with_warmup, char *err, size_t err_size) {
    memset(m, 0, sizeof *m);
    if (with_warmup) {
        run_result wu;
        progress("warm-up: one run of each");
        if (timed_run(g, g->exe_inc, seed0, &wu, err, err_size)) { free_run(&wu, g->n_prompts); return -1; }
        free_run(&wu, g->n_prompts);
        if (timed_run(g, g->exe_cand, seed0, &wu, err, err_size)) { free_run(&wu, g->n_prompts); return -2; }
        free_run(&wu, g->n_prompts);
    }
    double a[128], b[128];
    int cap = g->w.max_pairs < 128 ? g->w.max_pairs : 128;
    for (int i = 0; i < cap; i++) {
        uint64_t seed = seed0 + 1 + (uint64_t)i;
        int cand_first = i % 2; /* A B, B A, A B, ... */
        for (int k = 0; k < 2; k++) {
            int is_cand = k == cand_first ? 1 : 0;
            run_result *r = is_cand ? &m->cand[i] : &m->inc[i];
            if (timed_run(g, is_cand ? g->exe_cand : g->exe_inc, seed, r, err, err_size)) {
                free_run(&m->inc[i], g->n_prompts);
                free_run(&m->cand[i], g->n_prompts);
                for (int j = 0; j < m->n; j++) { free_run(&m->inc[j], g->n_prompts); free_run(&m->cand[j], g->n_prompts); }
                m->n = 0;
                return is_cand ? -2 : -1;
            }
        }
        m->n = i + 1;
        a[i] = m->inc[i].decode_tps;
        b[i] = m->cand[i].decode_tps;
        progress("pair %2d: decode %.2f / %.2f tok/s, prompt %.1f / %.1f tok/s, first token %.2f / %.2f ms, peak %.1f / %.1f MiB (incumbent / candidate)",
                 i + 1, a[i], b[i], m->inc[i].prompt_tps, m->cand[i].prompt_tps, m->inc[i].ttft_ms, m->cand[i].ttft_ms,
                 m->inc[i].peak_gb * 1024, m->cand[i].peak_gb * 1024);
        if (m->n >= g->w.min_pairs) {
            ratio_ci(a, b, m->n, BOOTSTRAP, 12345, &m->speedup, &m->lo, &m->hi);
            if (m->lo > 1 + MIN_GAIN || m->hi < 1 + MIN_GAIN) break;
        }
    }
    ratio_ci(a, b, m->n, BOOTSTRAP, 12345, &m->speedup, &m->lo, &m->hi);
    double x[128], y[128];
    for (int i = 0; i < m->n; i++) { x[i] = m->inc[i].prompt_tps; y[i] = m->cand[i].prompt_tps; }
    m->prefill_ratio = median(y, m->n) / median(x, m->n);
    for (int i = 0; i < m->n; i++) { x[i] = m->inc[i].ttft_ms; y[i] = m->cand[i].ttft_ms; }
    m->ttft_ratio = median(y, m->n) / median(x, m->n);
    for (int i = 0; i < m->n; i++) { x[i] = m->inc[i].peak_gb; y[i] = m->cand[i].peak_gb; }
    m->mem_ratio = median(y, m->n) / median(x, m->n);
    /* the audit: the same tokens need one reading */
    progress("audit: the anchor's model reads every timed run's tokens");
    for (int i = 0; i < m->n; i++) {
        if (audit_run(g, &m->inc[i])) { snprintf(err, err_size, "audit failed"); return -1; }
        if (same_tokens(g, &m->inc[i], &m->cand[i])) {
            m->cand[i].mean_logprob = m->inc[i].mean_logprob;
            m->cand[i].outside = m->inc[i].outside;
            m->cand[i].argmax_share = m->inc[i].argmax_share;
            m->cand[i].audited = 1;
        } else if (audit_run(g, &m->cand[i])) { snprintf(err, err_size, "audit failed"); return -1; }
        x[i] = m->cand[i].mean_logprob - m->inc[i].mean_logprob;
        if (m->cand[i].outside > m->outside_max) m->outside_max = m->cand[i].outside;
    }
    m->lp_diff = mean_of(x, m->n);
    for (int i = 0; i < m->n; i++) x[i] = m->cand[i].argmax_share - m->inc[i].argmax_share;
    m->top_diff = mean_of(x, m->n);
    progress("speed-up %.4f [%.4f, %.4f] over %d pairs; prefill x%.3f, ttft x%.3f, memory x%.3f; tokens outside "
             "the sampler's set %.3f (max %.2f), mean log-prob diff %+.4f (bound %.2f), argmax share diff %+.3f (bound %.2f)",
             m->speedup, m->lo, m->hi, m->n, m->prefill_ratio, m->ttft_ratio, m->mem_ratio, m->outside_max,
             OUTSIDE_MAX, m->lp_diff, LOGPROB_BOUND, m->top_diff, ARGMAX_BOUND);
    return 0;
}

/* median [min - max] of one figure over the runs of one side */
static void spread(char *out, size_t n, const run_result *r, int count, size_t field_off, int p, const char *fmt) {
    double v[128];
    for (int i = 0; i < count; i++) {
        const double *base = (const double *)((const char *)&r[i] + field_off);
        v[i] = p < 0 ? base[0] : base[p];
    }
    char f[64];
    snprintf(f, sizeof f, "%s [%s-%s]", fmt, fmt, fmt);
    snprintf(out, n, f, median(v, count), percentile(v, count, 0), percentile(v, count, 1));
}

/* per prompt and overall: decode tok/s, prompt tok/s, time to first token,
 * and peak memory, each as median [min-max] over the runs */
static void report_table(const gate *g, const measurement *m, char *json, size_t json_size) {
    static const struct { const char *name, *fmt; size_t all, per; } F_[] = {
        {"decode tok/s", "%.2f", offsetof(run_result, decode_tps), offsetof(run_result, p_decode)},
        {"prompt tok/s", "%.1f", offsetof(run_result, prompt_tps), offsetof(run_result, p_prompt)},
        {"first token ms", "%.1f", offsetof(run_result, ttft_ms), offsetof(run_result, p_ttft)},
    };
    size_t o = (size_t)snprintf(json, json_size, "  \"per_prompt\": [\n");
    fprintf(stderr, "gate: %-10s %-15s %-32s %-32s\n", "prompt", "figure", "incumbent median [min-max]", "candidate median [min-max]");
    for (int p = -1; p < g->n_prompts; p++) {
        char label[32];
        if (p < 0) snprintf(label, sizeof label, "overall");
        else snprintf(label, sizeof label, "%d %.8s", g->prompts.rows[p].id, g->prompts.rows[p].task);
        if (p >= 0) o += (size_t)snprintf(json + o, json_size - o, "    {\"prompt\": %d, \"task\": \"%s\"", g->prompts.rows[p].id, g->prompts.rows[p].task);
        for (int k = 0; k < 3; k++) {
            char a[64], b[64];
            size_t off = p < 0 ? F_[k].all : F_[k].per;
            spread(a, sizeof a, m->inc, m->n, off, p < 0 ? -1 : p, F_[k].fmt);
            spread(b, sizeof b, m->cand, m->n, off, p < 0 ? -1 : p, F_[k].fmt);
            fprintf(stderr, "gate: %-10s %-15s %-32s %-32s\n", k ? "" : label, F_[k].name, a, b);
            if (p >= 0) {
                double v[128];
                for (int i = 0; i < m->n; i++) v[i] = ((const double *)((const char *)&m->cand[i] + off))[p];
                o += (size_t)snprintf(json + o, json_size - o, ", \"%s\": %.4f", k == 0 ? "decode_tps" : k == 1 ? "prompt_tps" : "ttft_ms",
                                      median(v, m->n));
            }
        }
        if (p < 0) {
            char a[64], b[64];
            spread(a, sizeof a, m->inc, m->n, offsetof(run_result, peak_gb), -1, "%.4f");
            spread(b, sizeof b, m->cand, m->n, offsetof(run_result, peak_gb), -1, "%.4f");
            fprintf(stderr, "gate: %-10s %-15s %-32s %-32s\n", "", "peak GB", a, b);
        } else o += (size_t)snprintf(json + o, json_size - o, "}%s\n", p + 1 < g->n_prompts ? "," : "");
    }
    snprintf(json + o, json_size - o, "  ],\n");
}

static void free_measurement(gate *g, measurement *m) {
    for (int i = 0; i < m->n; i++) { free_run(&m->inc[i], g->n_prompts); free_run(&m->cand[i], g->n_prompts); }
}

/* ---- sanity: naturally generated answers, several seeds per prompt ------------------------ */

static int sanity(gate *g, char *err, size_t err_size) {
    worker w;
    if (start_worker(g, &w, g->exe_cand, err, err_size)) return -1;
    int pass = 0, total = 0, rc = 0;
    size_t cap = 1 << 16;
    char *text = malloc(cap);
    int32_t *ids = malloc((size_t)g->w.sanity_max_tokens * sizeof *ids);
    for (int p = 0; p < g->n_sanity && !rc && text && ids; p++) {
        for (int k = 0; k < g->w.sanity_seeds && !rc; k++) {
            char samp[256], head[320];
            fmt_sampling(samp, sizeof samp, &g->samp, g->samp.seed + 7919u * (uint64_t)k + (uint64_t)p);
            snprintf(head, sizeof head, "G N %d %s", g->w.sanity_max_tokens, samp);
            char *cmd = command(head, &g->s_ids[p]);
            if (!cmd || worker_send(&w, cmd, strlen(cmd))) { free(cmd); rc = -1; break; }
            free(cmd);
            int n = 0;
            double deadline = now_s() + g->w.run_timeout_s;
            for (;;) {
                char line[64];
                int r = worker_line(&w, line, sizeof line, NULL, deadline);
                if (!r && line[0] == 'e' && !proto_end(line)) break;
                int32_t id = r ? -1 : proto_token(line, g->info.n_vocab);
                if (id < 0 || n >= g->w.sanity_max_tokens) {
                    char what[64];
                    snprintf(what, sizeof what, "sanity, prompt %d", p + 1);
                    bad_reply(g, r, line, what, err, err_size);
                    rc = -1;
                    break;
                }
                ids[n++] = id;
            }
            if (rc) break;
            detok(g->model, ids, n, text, cap);
            const prompt_row *row = &g->sanity_set.rows[p];
            int ok = check_answer(row->check, row->want, text) == 1;
            pass += ok;
            total++;
        }
    }
    worker_stop(&w, 1.0);
    free(text);
    free(ids);
    if (rc) return -1;
    g->sanity = total ? (double)pass / total : 0;
    g->sanity_ok = g->sanity >= g->w.sanity_min;
    progress("sanity: %d of %d answers pass (min %.2f)", pass, total, g->w.sanity_min);
    return 0;
}

/* ---- plausibility: what decode rate the machine's memory could feed ------------------------- */

/* ---- output ---------------------------------------------------------------------------------- */

typedef struct figures {
    char v[24][64];
} figures;

static const char *const NAMES[] = {"avg_generation_tps", "avg_prompt_tps", "avg_ttft_ms", "avg_peak_memory_gb",
                                    "avg_perplexity", "kl_divergence", "top1_agreement", "sanity_check",
                                    "sampler_fidelity", "quality_pass", "speedup", "speedup_ci_low",
                                    "speedup_ci_high", "decision", NULL};

static void print_figures(const gate *g, figures *f, const char *extra_json) {
    for (int i = 0; NAMES[i]; i++) printf("%s: %s\n", NAMES[i], f->v[i][0] ? f->v[i] : "-");
    fflush(stdout);
    if (!g->json) return;
    FILE *j = fopen(g->json, "w");
    if (!j) { progress("cannot write %s", g->json); return; }
    fprintf(j, "{\n");
    for (int i = 0; NAMES[i]; i++) {
        const char *v = f->v[i][0] ? f->v[i] : "-";
        char *end;
        strtod(v, &end);
        int num = *v && !*end && strcmp(v, "-") && isfinite(strtod(v, NULL));
        if (!strcmp(v, "true") || !strcmp(v, "false")) num = 1;
        fprintf(j, "  \"%s\": %s%s%s,\n", NAMES[i], num ? "" : "\"", num ? v : (!strcmp(v, "-") ? "-" : v), num ? "" : "\"");
    }
    fprintf(j, "%s  \"model\": \"%s\",\n  \"anchor\": \"%s\",\n  \"incumbent\": \"%s\"\n}\n", extra_json ? extra_json : "",
            g->model_path, g->anchor, g->incumbent);
    fclose(j);
}

#define SET(f, i, ...) snprintf((f)->v[i], sizeof (f)->v[i], __VA_ARGS__)
enum { F_GEN, F_PROMPT, F_TTFT, F_MEM, F_PPL, F_KL, F_TOP1, F_SANITY, F_FID, F_QUALITY, F_SPEEDUP, F_LO, F_HI, F_DECISION };

static void free_prompt_ids(prompt_ids *ids, int n) {
    for (int i = 0; ids && i < n; i++) free(ids[i].ids);
    free(ids);
}

/* everything a run holds, on every way out */
static void gate_free(gate *g) {
    free_prompt_ids(g->p_ids, g->n_prompts);
    free_prompt_ids(g->s_ids, g->n_sanity);
    prompt_set_free(&g->prompts);
    prompt_set_free(&g->sanity_set);
    qi_model_free(g->model);
    free(g->cand_sample);
    free(g->cand_cfg);
    free(g->inc_sample);
    free(g->inc_cfg);
    cfg_free(&g->cand_knobs);
    memset(g, 0, sizeof *g);
}

/* the decision: printed, written as JSON, and everything freed */
static int finish(gate *g, figures *f, const char *decision, int code, const char *why) {
    /* a worker the sandbox killed tried something no inference needs: that
     * is a violation, whatever else went wrong because of it */
    char boxed[1400];
    const char *killed = runner_sandbox_killed();
    if (killed) {
        snprintf(boxed, sizeof boxed, "the sandbox killed the %s's worker: a forbidden system call (%s)",
                 !strcmp(killed, g->exe_cand) ? "candidate" : "incumbent",
                 why && *why ? why : "the run had ended");
        decision = "violation", code = EXIT_VIOLATION, why = boxed;
    }
    SET(f, F_DECISION, "%s", decision);
    if (why && *why) fprintf(stderr, "gate: %s: %s\n", decision, why);
    char extra[10000] = "";
    size_t eo = 0;
    if (g->extra_json) eo = (size_t)snprintf(extra, sizeof extra, "%s", g->extra_json);
    if (why && *why) {
        char esc[1000];
        size_t o = 0;
        for (const char *s = why; *s && o < sizeof esc - 2; s++) {
            if (*s == '"' || *s == '\\') esc[o++] = '\\';
            esc[o++] = (*s == '\n' || *s == '\t') ? ' ' : *s;
        }
        esc[o] = 0;
        snprintf(extra + eo, sizeof extra - eo, "  \"reason\": \"%s\",\n", esc);
    }
    print_figures(g, f, extra);
    gate_free(g);
    return code;
}

/* ---- the change monitor ---------------------------------------------------------------------- */

static int count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

static void change_monitor(const gate *g, const char *cand_cfg, const char *cand_sample) {
    cfg_file a, c;
    char why[256];
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", g->root, EDIT_CONFIG);
    if (cfg_load(p, &a, why, sizeof why)) return;
    if (cfg_parse_text(cand_cfg, &c, why, sizeof why)) { cfg_free(&a); return; }
    int any = 0;
    for (int i = 0; KNOBS[i].name; i++) {
        const char *x = cfg_get(&a, KNOBS[i].name), *y = cfg_get(&c, KNOBS[i].name);
        if (cfg_values_equal(x, y)) continue;
        fprintf(stderr, "gate: knob %s: %s -> %s   (%s)\n", KNOBS[i].name, x ? x : "(unset: 0)", y ? y : "(unset: 0)",
                KNOBS[i].tradeoff);
        any = 1;
    }
    if (!any) fprintf(stderr, "gate: knobs: as the anchor's\n");
    snprintf(p, sizeof p, "%s/%s", g->root, EDIT_SAMPLE);
    char *as = read_file(p, 1u << 24, NULL);
    int la = count_lines(as), lc = count_lines(cand_sample);
    fprintf(stderr, "gate: sample.c: %d -> %d lines (%+d)%s\n", la, lc, lc - la,
            as && !strcmp(as, cand_sample) ? ", unchanged" : "");
    free(as);
    cfg_free(&a);
    cfg_free(&c);
}

/* ---- run ------------------------------------------------------------------------------------------- */

static void usage(void) {
    fprintf(stderr,
            "usage: judge run --root ANCHOR_TREE --repo REPO --anchor SHA --incumbent SHA --cache DIR -m MODEL\n"
            "                 [--json FILE] [--sampling config|workload] [-q] [--unsafe-skip-code-checks]\n"
            "       judge report RESULTS.tsv OUT.svg\n"
            "       judge propose --repo DIR --results RESULTS.tsv [--seed N]\n"
            "(./gate and ./loop.sh call these; see README)\n");
}

static int load_prompts(gate *g, const char *path, prompt_set *ps, prompt_ids **ids, int limit, char *err, size_t es) {
    if (prompt_set_load(path, ps, err, es)) return -1;
    int n = limit > 0 && limit < ps->n ? limit : ps->n;
    *ids = calloc((size_t)(n ? n : 1), sizeof **ids);
    for (int i = 0; i < n && *ids; i++)
        if (chat_ids(g->model, ps->rows[i].prompt, &(*ids)[i])) {
            snprintf(err, es, "cannot tokenize prompt %d", i + 1);
            free_prompt_ids(*ids, n);
            *ids = NULL;
            return -1;
        }
    if (!*ids) snprintf(err, es, "out of memory");
    return *ids ? n : -1;
}

static int cmd_run(int argc, char **argv) {
    gate G = {0}, *g = &G;
    g->code_checks = 1;
    figures F;
    memset(&F, 0, sizeof F);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name, field) else if (!strcmp(a, name) && v) { g->field = v; i++; }
        if (0) {}
        OPT("--root", root) OPT("--repo", repo) OPT("--anchor", anchor) OPT("--incumbent", incumbent)
        OPT("--cache", cache) OPT("-m", model_path) OPT("--model", model_path) OPT("--json", json)
        else if (!strcmp(a, "--sampling") && v) {
            if (!strcmp(v, "config")) g->sampling_config = 1;
            else if (strcmp(v, "workload")) { usage(); return EXIT_USAGE; }
            i++;
        } else if (!strcmp(a, "-q")) quiet = 1;
        else if (!strcmp(a, "--unsafe-skip-code-checks")) g->code_checks = 0;
        else { fprintf(stderr, "judge: unknown or incomplete option '%s'\n", a); usage(); return EXIT_USAGE; }
#undef OPT
    }
    if (!g->root || !g->repo || !g->anchor || !g->incumbent || !g->cache || !g->model_path) { usage(); return EXIT_USAGE; }
    static char model_abs[4096];
    if (!realpath(g->model_path, model_abs)) {
        fprintf(stderr, "judge: cannot open the model %s: %s\n", g->model_path, strerror(errno));
        return EXIT_USAGE;
    }
    g->model_path = model_abs;
    char why[1024] = "", err[1024] = "";
    runner_catch_signals();
    snprintf(g->rundir, sizeof g->rundir, "%s/run", g->cache);
    mkdir(g->cache, 0755);
    mkdir(g->rundir, 0755);

    /* 1. protocol: the tree, the incumbent, the knob file */
    progress("anchor %.12s, incumbent %.12s, candidate: the working tree of %s", g->anchor, g->incumbent, g->repo);
    char box[256];
    sandbox_describe(box, sizeof box);
    progress("workers run sandboxed: %s", box);
    if (!g->code_checks) progress("--unsafe-skip-code-checks: sample.c is not checked; only the sandbox stands");
    if (check_tree(g->repo, g->anchor, g->root, why, sizeof why)) return finish(g, &F, "violation", EXIT_VIOLATION, why);
    if (strcmp(g->anchor, g->incumbent) && check_commit(g->repo, g->anchor, g->incumbent, why, sizeof why))
        return finish(g, &F, "violation", EXIT_VIOLATION, why);
    char *cand_sample = g->cand_sample = rev_file(g->repo, "WORKTREE", EDIT_SAMPLE);
    char *cand_cfg = g->cand_cfg = rev_file(g->repo, "WORKTREE", EDIT_CONFIG);
    char *inc_sample = g->inc_sample = rev_file(g->repo, g->incumbent, EDIT_SAMPLE);
    char *inc_cfg = g->inc_cfg = rev_file(g->repo, g->incumbent, EDIT_CONFIG);
    if (!cand_sample || !cand_cfg || !inc_sample || !inc_cfg) return finish(g, &F, "violation", EXIT_VIOLATION, "an editable file is missing");
    cfg_file *cc = &g->cand_knobs;
    if (cfg_parse_text(cand_cfg, cc, why, sizeof why)) return finish(g, &F, "violation", EXIT_VIOLATION, why);
    change_monitor(g, cand_cfg, cand_sample);

    /* 2. builds: the incumbent's, then the candidate's (protocol checks first) */
    char log[4400];
    progress("building the incumbent's worker");
    int b = build_worker(g->repo, g->anchor, g->root, g->cache, inc_sample, inc_cfg, g->code_checks, g->exe_inc, sizeof g->exe_inc, log,
                         sizeof log, why, sizeof why);
    if (b) return finish(g, &F, b == -2 ? "violation" : "crash", b == -2 ? EXIT_VIOLATION : EXIT_BUILD, why);
    progress("building the candidate's worker");
    b = build_worker(g->repo, g->anchor, g->root, g->cache, cand_sample, cand_cfg, g->code_checks, g->exe_cand, sizeof g->exe_cand, log,
                     sizeof log, why, sizeof why);
    if (b == -2) return finish(g, &F, "violation", EXIT_VIOLATION, why);
    if (b) {
        char *text = read_file(log, 1u << 26, NULL);
        if (text) {
            size_t n = strlen(text);
            fprintf(stderr, "gate: the candidate's build log (%s), last lines:\n%s\n", log, n > 3000 ? text + n - 3000 : text);
        }
        free(text);
        return finish(g, &F, "crash", EXIT_BUILD, why);
    }

    /* 3. the model and its workload, in the judge's own library */
    qi_config jc;
    qi_config_default(&jc);
    jc.huge_pages = 0;
    jc.output_q4_0 = 0;
    if (qi_model_load_cfg(g->model_path, &jc, &g->model, err, sizeof err)) return finish(g, &F, "crash", EXIT_USAGE, err);
    qi_model_get_info(g->model, &g->info);
    if (!g->info.has_vocab) return finish(g, &F, "crash", EXIT_USAGE, "the model has no vocabulary: the gate needs text");
    char wl[128] = "";
    const char *wrel = "data/workload/qwen2.5.conf";
    char wpath[256];
    if (qi_model_meta(g->model, "qinfer.workload", wl, sizeof wl) == QI_OK && wl[0]) {
        for (char *c = wl; *c; c++) if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_')) *c = '_';
        snprintf(wpath, sizeof wpath, "data/%s/workload.conf", wl);
        wrel = wpath;
    }
    if (workload_load(g->root, wrel, &g->w, err, sizeof err)) return finish(g, &F, "crash", EXIT_USAGE, err);
    g->samp = g->w.samp;
    if (g->sampling_config) {
        qi_config def;
        memset(&def, 0, sizeof def);
        const char *v;
#define TAKE(name, field) if ((v = cfg_get(cc, name))) g->samp.field = strtod(v, NULL)
        TAKE("temperature", temperature);
        TAKE("top_k", top_k);
        TAKE("top_p", top_p);
        TAKE("min_p", min_p);
        TAKE("repeat_penalty", repeat_penalty);
        TAKE("repeat_last_n", repeat_last_n);
#undef TAKE
        progress("sampling: the candidate's config (temperature %g, top-k %d, top-p %g, min-p %g, penalty %g over %d) "
                 "instead of the workload's (%g, %d, %g, %g, %g over %d): speed and quality now include that change",
                 g->samp.temperature, g->samp.top_k, g->samp.top_p, g->samp.min_p, g->samp.repeat_penalty,
                 g->samp.repeat_last_n, g->w.samp.temperature, g->w.samp.top_k, g->w.samp.top_p, g->w.samp.min_p,
                 g->w.samp.repeat_penalty, g->w.samp.repeat_last_n);
    }
    g->n_prompts = load_prompts(g, g->w.prompts, &g->prompts, &g->p_ids, 0, err, sizeof err);
    if (g->n_prompts < 0) return finish(g, &F, "crash", EXIT_USAGE, err);
    if (g->n_prompts > MAX_PROMPTS) return finish(g, &F, "crash", EXIT_USAGE, "more than 32 timed prompts");
    char lowname[256];
    snprintf(lowname, sizeof lowname, "%s", g->info.name);
    for (char *c = lowname; *c; c++) *c = (char)tolower((unsigned char)*c);
    g->sanity_applies = g->w.sanity || (!g->info.synthetic && strstr(lowname, "qwen2.5") && strstr(lowname, "instruct"));
    if (g->sanity_applies) {
        g->n_sanity = load_prompts(g, g->w.sanity_prompts, &g->sanity_set, &g->s_ids, g->w.sanity_limit, err, sizeof err);
        if (g->n_sanity < 0) return finish(g, &F, "crash", EXIT_USAGE, err);
    }
    progress("model %s: %s, workload %s: %d prompts x %d tokens, sampling T=%g top-k %d top-p %g min-p %g penalty %g",
             g->model_path, g->info.name, g->w.name, g->n_prompts, g->w.gen_tokens, g->samp.temperature, g->samp.top_k,
             g->samp.top_p, g->samp.min_p, g->samp.repeat_penalty);

    /* 4. quality first: a candidate that fails it needs no timing */
    if (fidelity(g, err, sizeof err)) return finish(g, &F, "crash", EXIT_CRASH, err);
    SET(&F, F_FID, "%.3f", g->fidelity);
    if (!g->fidelity_ok) {
        SET(&F, F_QUALITY, "false");
        return finish(g, &F, "discard", EXIT_DISCARD, "quality: sampler fidelity (the draws are not the distribution the settings define)");
    }
    if (kl_check(g, err, sizeof err)) return finish(g, &F, "crash", EXIT_CRASH, err);
    SET(&F, F_PPL, "%.4f", g->ppl);
    SET(&F, F_KL, "%.6f", g->kl);
    SET(&F, F_TOP1, "%.4f", g->top1);
    if (g->sanity_applies) {
        if (sanity(g, err, sizeof err)) return finish(g, &F, "crash", EXIT_CRASH, err);
        SET(&F, F_SANITY, "%.3f", g->sanity);
    } else {
        g->sanity_ok = 1;
        SET(&F, F_SANITY, "n/a");
        progress("sanity: not applicable (%s has random weights or no checks of its own)", g->info.name);
    }
    if (!g->fidelity_ok || !g->kl_ok || !g->sanity_ok) {
        snprintf(g->quality_why, sizeof g->quality_why, "quality: %s%s%s", !g->fidelity_ok ? "sampler fidelity; " : "",
                 !g->kl_ok ? "KL, top-1 or perplexity; " : "", !g->sanity_ok ? "sanity checks; " : "");
        SET(&F, F_QUALITY, "false");
        return finish(g, &F, "discard", EXIT_DISCARD, g->quality_why);
    }

    /* 5. plausibility: the rate at which this machine reads a working set the
     * size of one decode step's weights bounds the decode rate */
    g->min_bytes_per_token = (double)g->info.decode_bytes;
    if (!strcmp(g->info.output_type, "Q8_0")) /* a 4-bit head is the fewest bytes any knob reads */
        g->min_bytes_per_token -= (double)g->info.n_vocab * g->info.n_embd * (34.0 - 18.0) / 32.0;
    g->bandwidth_gbs = read_bandwidth((size_t)g->min_bytes_per_token, 0);
    progress("read bandwidth %.1f GB/s over %.0f MB: at most %.0f tok/s (x%.2f) at %.1f MB per token", g->bandwidth_gbs,
             g->min_bytes_per_token / 1e6, PLAUSIBLE * g->bandwidth_gbs * 1e9 / g->min_bytes_per_token, PLAUSIBLE,
             g->min_bytes_per_token / 1e6);

    /* 6. speed, twice if the first says keep */
    static measurement M[2];
    int n_meas = 0, speed_ok = 1, guards_ok = 1, audit_ok = 1;
    for (int k = 0; k < 2; k++) {
        progress("measurement %d: ABBA pairs (%d to %d), keep needs the 95%% interval above %.3f", k + 1, g->w.min_pairs,
                 g->w.max_pairs, 1 + MIN_GAIN);
        int r = measure(g, &M[k], g->samp.seed + 1000003u * (uint64_t)k, k == 0, err, sizeof err);
        if (r) {
            for (int j = 0; j < n_meas; j++) free_measurement(g, &M[j]);
            return finish(g, &F, "crash", EXIT_CRASH, err);
        }
        n_meas++;
        measurement *m = &M[k];
        audit_ok &= m->outside_max <= OUTSIDE_MAX && fabs(m->lp_diff) <= LOGPROB_BOUND && fabs(m->top_diff) <= ARGMAX_BOUND;
        guards_ok &= m->prefill_ratio >= 1 - PREFILL_BAND && m->ttft_ratio <= 1 + TTFT_BAND && m->mem_ratio <= 1 + MEM_BAND;
        speed_ok &= m->lo > 1 + MIN_GAIN;
        if (!speed_ok || !audit_ok) break;
    }
    measurement *m0 = &M[0];
    static char per_prompt[8192];
    report_table(g, m0, per_prompt, sizeof per_prompt);
    /* the perplexity of the generated answers under the anchor's model: printed
     * for comparison with older harnesses, never used (repetition scores well) */
    double ap[128];
    for (int i = 0; i < m0->n; i++) ap[i] = exp(-m0->cand[i].mean_logprob);
    printf("answer_perplexity: %.4f (not used)\n", median(ap, m0->n));
    g->extra_json = per_prompt;
    double cg[128], cp[128], ct[128], cm[128];
    for (int i = 0; i < m0->n; i++) {
        cg[i] = m0->cand[i].decode_tps; cp[i] = m0->cand[i].prompt_tps; ct[i] = m0->cand[i].ttft_ms; cm[i] = m0->cand[i].peak_gb;
    }
    double gen = median(cg, m0->n);
    SET(&F, F_GEN, "%.2f", gen);
    SET(&F, F_PROMPT, "%.2f", median(cp, m0->n));
    SET(&F, F_TTFT, "%.2f", median(ct, m0->n));
    SET(&F, F_MEM, "%.4f", median(cm, m0->n));
    SET(&F, F_SPEEDUP, "%.4f", m0->speedup);
    SET(&F, F_LO, "%.4f", m0->lo);
    SET(&F, F_HI, "%.4f", m0->hi);
    g->quality_pass = audit_ok;
    SET(&F, F_QUALITY, "%s", audit_ok ? "true" : "false");
    for (int k = 0; k < n_meas; k++) free_measurement(g, &M[k]);
    if (!audit_ok) return finish(g, &F, "discard", EXIT_DISCARD,
                                 "quality: the timed runs' tokens are not what the declared sampler draws from the model");
    if (g->bandwidth_gbs > 0 && gen * g->min_bytes_per_token > PLAUSIBLE * g->bandwidth_gbs * 1e9) {
        /* the machine's bandwidth moves with its other tenants: measure once more */
        double again = read_bandwidth((size_t)g->min_bytes_per_token, 0);
        progress("read bandwidth, again: %.1f GB/s", again);
        if (again > g->bandwidth_gbs) g->bandwidth_gbs = again;
    }
    if (g->bandwidth_gbs > 0 && gen * g->min_bytes_per_token > PLAUSIBLE * g->bandwidth_gbs * 1e9) {
        snprintf(why, sizeof why, "%.1f tok/s would read %.1f GB/s; the machine reads %.1f GB/s", gen,
                 gen * g->min_bytes_per_token / 1e9, g->bandwidth_gbs);
        return finish(g, &F, "invalid", EXIT_INVALID, why);
    }
    if (!speed_ok) {
        snprintf(why, sizeof why, "speed-up interval [%.4f, %.4f]%s does not clear %.3f", M[n_meas - 1].lo,
                 M[n_meas - 1].hi, n_meas == 2 ? " (second measurement)" : "", 1 + MIN_GAIN);
        return finish(g, &F, "discard", EXIT_DISCARD, why);
    }
    if (!guards_ok) return finish(g, &F, "discard", EXIT_DISCARD,
                                  "prefill, time to first token or memory left its noise band");
    return finish(g, &F, "keep", EXIT_KEEP, "");
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(); return EXIT_USAGE; }
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "report")) return cmd_report(argc - 2, argv + 2);
    if (!strcmp(argv[1], "propose")) return cmd_propose(argc - 2, argv + 2);
    usage();
    return EXIT_USAGE;
}
