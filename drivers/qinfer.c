/* qinfer: the command-line tool.
 *
 *   qinfer info   -m MODEL                       what the file holds
 *   qinfer logits -m MODEL --ids FILE --out F    float32 logits per token
 *   qinfer        -m MODEL --ids FILE -n N       generate N token ids
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qinfer.h"

static const char *usage_text =
    "usage: qinfer COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  info    -m MODEL                    print what a GGUF model file holds\n"
    "  logits  -m MODEL --ids FILE --out F write float32 logits [n_tokens][n_vocab] (little-endian)\n"
    "          [--step]                    one token at a time through the KV cache (decode path)\n"
    "  (none)  -m MODEL --ids FILE [-n N]  generate N tokens after the prompt ids, print ids\n"
    "\n"
    "options:\n"
    "  -m, --model PATH      GGUF model file\n"
    "  --ids FILE            token ids, one decimal id per line ('-' = stdin)\n"
    "  --out FILE            output file for logits\n"
    "  -n, --n-predict N     tokens to generate (default 32)\n"
    "  -t, --threads N       worker threads (default: physical cores)\n"
    "  -c, --ctx N           KV cache capacity in tokens (default from inference_config.c)\n"
    "  --chunk N             prompt tokens per forward pass\n"
    "  --kv f32|f16          KV cache storage type\n"
    "  -h, --help            this text\n";

typedef struct args {
    const char *cmd, *model, *ids, *out;
    int n_predict, step;
    qi_config cfg;
} args;

static int die(const char *fmt, const char *a) {
    fprintf(stderr, "qinfer: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    return 1;
}

static int parse_int(const char *s, const char *flag, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "qinfer: %s needs an integer in [%d, %d], got '%s'\n", flag, lo, hi, s ? s : "");
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* 0 on success; 1 on a bad command line (message printed); 2 for --help */
static int parse_args(int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    qi_config_default(&a->cfg);
    a->n_predict = 32;
    int i = 1;
    if (i < argc && argv[i][0] != '-') a->cmd = argv[i++];
    else a->cmd = "generate";
    for (; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE() do { if (!v) { fprintf(stderr, "qinfer: %s needs a value\n", f); return 1; } i++; } while (0)
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return 2;
        else if (!strcmp(f, "-m") || !strcmp(f, "--model")) { NEEDS_VALUE(); a->model = v; }
        else if (!strcmp(f, "--ids")) { NEEDS_VALUE(); a->ids = v; }
        else if (!strcmp(f, "--out")) { NEEDS_VALUE(); a->out = v; }
        else if (!strcmp(f, "--step")) a->step = 1;
        else if (!strcmp(f, "-n") || !strcmp(f, "--n-predict")) { NEEDS_VALUE(); if (!parse_int(v, f, 0, 1 << 30, &a->n_predict)) return 1; }
        else if (!strcmp(f, "-t") || !strcmp(f, "--threads")) { NEEDS_VALUE(); if (!parse_int(v, f, 0, 1024, &a->cfg.n_threads)) return 1; }
        else if (!strcmp(f, "-c") || !strcmp(f, "--ctx")) { NEEDS_VALUE(); if (!parse_int(v, f, 0, 1 << 24, &a->cfg.kv_capacity)) return 1; }
        else if (!strcmp(f, "--chunk")) { NEEDS_VALUE(); if (!parse_int(v, f, 1, 65536, &a->cfg.prefill_chunk)) return 1; }
        else if (!strcmp(f, "--kv")) {
            NEEDS_VALUE();
            if (!strcmp(v, "f32")) a->cfg.kv_type = QI_KV_F32;
            else if (!strcmp(v, "f16")) a->cfg.kv_type = QI_KV_F16;
            else return die("--kv takes f32 or f16, got '%s'", v);
        } else {
            fprintf(stderr, "qinfer: unknown option '%s' (see qinfer --help)\n", f);
            return 1;
        }
#undef NEEDS_VALUE
    }
    return 0;
}

/* Read decimal ids, one per line (blank lines ignored). */
static int read_ids(const char *path, int32_t **ids, int *n) {
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "qinfer: cannot open '%s': %s\n", path, strerror(errno));
        return 0;
    }
    int cap = 256, len = 0, line = 0, ok = 1;
    int32_t *v = malloc((size_t)cap * sizeof *v);
    char buf[256];
    while (ok && v && fgets(buf, sizeof buf, f)) {
        line++;
        char *p = buf, *end;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\n' || *p == '\r' || !*p) continue;
        errno = 0;
        long x = strtol(p, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
        if (errno || end == p || *end || x < 0 || x > INT32_MAX) {
            fprintf(stderr, "qinfer: %s:%d: not a token id: %s", path, line, buf);
            ok = 0;
            break;
        }
        if (len == cap) {
            int32_t *nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!nv) { free(v); v = NULL; break; }
            v = nv;
        }
        v[len++] = (int32_t)x;
    }
    if (f != stdin) fclose(f);
    if (!v) { fprintf(stderr, "qinfer: out of memory\n"); return 0; }
    if (ok && len == 0) { fprintf(stderr, "qinfer: %s holds no token ids\n", path); ok = 0; }
    if (!ok) { free(v); return 0; }
    *ids = v;
    *n = len;
    return 1;
}

static qi_model *load_model(const char *path) {
    if (!path) {
        fprintf(stderr, "qinfer: no model given (-m MODEL)\n");
        return NULL;
    }
    char msg[512];
    qi_model *m = NULL;
    qi_status st = qi_model_load(path, &m, msg, sizeof msg);
    if (st) fprintf(stderr, "qinfer: %s: %s (%s)\n", path, msg, qi_status_str(st));
    return m;
}

static qi_session *new_session(qi_model *m, const qi_config *cfg) {
    char msg[512];
    qi_session *s = NULL;
    qi_status st = qi_session_new(m, cfg, &s, msg, sizeof msg);
    if (st) fprintf(stderr, "qinfer: %s (%s)\n", msg, qi_status_str(st));
    return s;
}

static int cmd_info(const args *a) {
    qi_model *m = load_model(a->model);
    if (!m) return 1;
    qi_model_info in;
    qi_model_get_info(m, &in);
    printf("file           %s\n", a->model);
    printf("gguf version   %d, %llu bytes, %llu tensors, %.1f MiB of tensor data\n", in.gguf_version,
           (unsigned long long)in.file_size, (unsigned long long)in.n_tensors, in.weight_bytes / 1048576.0);
    printf("name           %s%s\n", in.name[0] ? in.name : "(none)", in.synthetic ? "  [synthetic: random weights]" : "");
    printf("architecture   %s\n", in.arch);
    printf("layers         %d\n", in.n_layer);
    printf("embedding      %d\n", in.n_embd);
    printf("heads          %d query, %d key/value, head dim %d\n", in.n_head, in.n_head_kv, in.head_dim);
    printf("feed-forward   %d\n", in.n_ff);
    printf("context        %d\n", in.n_ctx_train);
    printf("rope theta     %g\n", in.rope_theta);
    printf("rms eps        %g\n", in.norm_eps);
    printf("output head    %s\n", in.tied_output ? "tied to token_embd.weight" : "output.weight");
    printf("tokenizer      %s, vocab %d%s\n", in.tokenizer, in.n_vocab, in.has_vocab ? "" : " (ids only: no text)");

    /* tensor types with counts and bytes */
    struct type_count { const char *name; int count; unsigned long long bytes; } types[32];
    int nt = 0;
    for (uint64_t i = 0; i < in.n_tensors; i++) {
        qi_tensor_info t;
        if (qi_model_tensor(m, i, &t)) continue;
        int k = 0;
        while (k < nt && strcmp(types[k].name, t.type_name)) k++;
        if (k == nt && nt < 32) types[nt++] = (struct type_count){t.type_name, 0, 0};
        if (k < nt) { types[k].count++; types[k].bytes += t.n_bytes; }
    }
    printf("tensor types  ");
    for (int k = 0; k < nt; k++)
        printf(" %s: %d (%.1f MiB)%s", types[k].name, types[k].count, types[k].bytes / 1048576.0, k + 1 < nt ? "," : "");
    printf("\n");
    qi_model_free(m);
    return 0;
}

static int write_all(FILE *f, const float *x, size_t n) { return fwrite(x, sizeof(float), n, f) == n; }

static int cmd_logits(const args *a) {
    if (!a->ids || !a->out) return die("%s", "logits needs --ids FILE and --out FILE");
    int32_t *ids = NULL;
    int n = 0;
    if (!read_ids(a->ids, &ids, &n)) return 1;
    qi_model *m = load_model(a->model);
    if (!m) { free(ids); return 1; }
    qi_model_info in;
    qi_model_get_info(m, &in);
    int rc = 1;
    qi_session *s = NULL;
    float *logits = NULL;
    FILE *f = NULL;
    qi_config cfg = a->cfg;
    if (cfg.kv_capacity == 0 || cfg.kv_capacity < n) cfg.kv_capacity = n > in.n_ctx_train ? in.n_ctx_train : n;
    if (!(s = new_session(m, &cfg))) goto done;
    size_t V = (size_t)in.n_vocab;
    logits = malloc((size_t)(a->step ? 1 : n) * V * sizeof(float));
    if (!logits) { fprintf(stderr, "qinfer: out of memory for %d x %zu logits\n", n, V); goto done; }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", a->out);
    if (!(f = fopen(tmp, "wb"))) { fprintf(stderr, "qinfer: cannot write '%s': %s\n", tmp, strerror(errno)); goto done; }
    qi_status st = QI_OK;
    if (a->step) {
        for (int i = 0; i < n && !st; i++) {
            st = qi_session_eval(s, ids + i, 1, logits);
            if (!st && !write_all(f, logits, V)) { fprintf(stderr, "qinfer: write failed: %s\n", strerror(errno)); goto done; }
        }
    } else {
        st = qi_session_eval(s, ids, n, logits);
        if (!st && !write_all(f, logits, (size_t)n * V)) { fprintf(stderr, "qinfer: write failed: %s\n", strerror(errno)); goto done; }
    }
    if (st) { fprintf(stderr, "qinfer: %s (%s)\n", qi_session_errmsg(s), qi_status_str(st)); goto done; }
    if (fclose(f) != 0) { f = NULL; fprintf(stderr, "qinfer: write failed: %s\n", strerror(errno)); goto done; }
    f = NULL;
    if (rename(tmp, a->out) != 0) { fprintf(stderr, "qinfer: cannot rename to '%s': %s\n", a->out, strerror(errno)); goto done; }
    fprintf(stderr, "qinfer: wrote %d x %zu logits to %s\n", n, V, a->out);
    rc = 0;
done:
    if (f) { fclose(f); remove(tmp); }
    free(logits);
    qi_session_free(s);
    qi_model_free(m);
    free(ids);
    return rc;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmd_generate_ids(const args *a) {
    if (!a->ids) return die("%s", "give the prompt as --ids FILE");
    int32_t *ids = NULL;
    int n = 0;
    if (!read_ids(a->ids, &ids, &n)) return 1;
    qi_model *m = load_model(a->model);
    if (!m) { free(ids); return 1; }
    int rc = 1;
    qi_session *s = new_session(m, &a->cfg);
    if (!s) goto done;
    double t0 = now_s();
    qi_status st = qi_session_eval(s, ids, n, NULL);
    double t1 = now_s();
    int gen = 0;
    for (; !st && gen < a->n_predict; gen++) {
        int32_t tok;
        if ((st = qi_session_sample(s, &tok))) break;
        printf("%d\n", tok);
        fflush(stdout);
        if (gen + 1 < a->n_predict) st = qi_session_eval(s, &tok, 1, NULL);
    }
    double t2 = now_s();
    if (st) { fprintf(stderr, "qinfer: %s (%s)\n", qi_session_errmsg(s), qi_status_str(st)); goto done; }
    fprintf(stderr, "prompt %d tokens, %.2f tok/s | generated %d tokens, %.2f tok/s\n", n, n / (t1 - t0), gen,
            gen > 1 ? (gen - 1) / (t2 - t1) : 0.0);
    rc = 0;
done:
    qi_session_free(s);
    qi_model_free(m);
    free(ids);
    return rc;
}

int main(int argc, char **argv) {
    args a;
    int r = parse_args(argc, argv, &a);
    if (r == 2) { fputs(usage_text, stdout); return 0; }
    if (r) return 2;
    if (!strcmp(a.cmd, "info")) return cmd_info(&a);
    if (!strcmp(a.cmd, "logits")) return cmd_logits(&a);
    if (!strcmp(a.cmd, "generate")) return cmd_generate_ids(&a);
    fprintf(stderr, "qinfer: unknown command '%s' (see qinfer --help)\n", a.cmd);
    return 2;
}
