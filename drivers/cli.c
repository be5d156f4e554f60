/* qinfer: the command-line tool.
 *
 *   qinfer -m MODEL -p PROMPT          stream an answer (ChatML template unless --raw)
 *   qinfer chat -m MODEL               interactive multi-turn chat (stdin)
 *   qinfer tokenize -m MODEL TEXT      ids, one per line
 *   qinfer detokenize -m MODEL --ids F text
 *   qinfer info -m MODEL               what the file holds
 *   qinfer logits -m MODEL --ids F --out F   float32 logits per token
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qinfer.h"

#define DEFAULT_MAX_TOKENS 512
#define MAX_THREADS 256 /* never more, whatever the machine */

/* Threads beyond a few per online CPU only wait for one another (a run at
 * -t 1000 is about 100x slower), so more is refused rather than run. */
static int max_threads(void) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1 || cpus > MAX_THREADS / 4) return MAX_THREADS;
    return 4 * (int)cpus;
}

/* The shortest decimal that reads back as x: 0.7f shows as 0.7, not 0.699999988. */
static const char *float_str(char buf[32], float x) {
    for (int digits = 6; digits < 9; digits++) {
        snprintf(buf, 32, "%.*g", digits, x);
        if (strtof(buf, NULL) == x) return buf;
    }
    snprintf(buf, 32, "%.9g", x);
    return buf;
}

/* The usage text. Defaults come from qi_config_default() at run time, since
 * lib/inference_config.c (which the optimisation loop edits) may change them. */
static void usage(FILE *f) {
    qi_config d;
    qi_config_default(&d);
    char temp[32], top_p[32], min_p[32], penalty[32];
    fprintf(f,
        "usage: qinfer [COMMAND] -m MODEL [options]\n"
        "\n"
        "commands:\n"
        "  (none)      generate: -p PROMPT | --file F | --ids F; streams the answer to stdout\n"
        "  chat        interactive multi-turn chat; one user message per line on stdin\n"
        "              (/reset starts over, /exit or end of input quits, /help lists the commands,\n"
        "              //text sends /text); when the context is full the oldest turns are dropped\n"
        "  tokenize    TEXT | --file F: print token ids, one per line [--special]\n"
        "  detokenize  --ids F: print the text of the ids\n"
        "  info        print what a GGUF file holds\n"
        "  logits      --ids F --out F: write float32 logits [n_tokens][n_vocab] (little-endian);\n"
        "              --step feeds one token at a time through the KV cache (decode path)\n"
        "\n"
        "options (the defaults are this build's lib/inference_config.c):\n"
        "  -m, --model PATH        GGUF model file ('make model' downloads the official one,\n"
        "                          'make synth' writes a synthetic one for speed tests)\n"
        "  -p, --prompt TEXT       the user message (or the whole text with --raw)\n"
        "  --file F                read the prompt (or the text to tokenize) from a file\n"
        "  --ids F                 token ids, one decimal id per line ('-' = stdin)\n"
        "  -s, --system TEXT       system message (default: Qwen2.5's own)\n"
        "  --raw                   no chat template: the prompt is the text itself\n"
        "  --special               tokenize: match <|im_start|> and other control tokens in the text\n"
        "  -n, --max-tokens N      tokens to generate at most (default %d; logits: unused)\n"
        "  --temp X                temperature; 0 = greedy (default %s)\n"
        "  --top-k N               keep the N most likely tokens; 0 = off (default %d)\n"
        "  --top-p X               keep the smallest set with probability mass X; 1 = off (default %s)\n"
        "  --min-p X               drop tokens below X times the best one's probability; 0 = off (default %s)\n"
        "  --repeat-penalty X      divide logits of recent tokens by X; 1 = off (default %s)\n"
        "  --repeat-last-n N       how many recent tokens the penalty looks at (default %d)\n"
        "  --seed N                sampler seed, 0 to %llu; the same seed reproduces a run\n"
        "                          (default: a fresh seed each run, shown in the stats line)\n"
        "  -t, --threads N         worker threads; 0 = one per physical core (default %d);\n"
        "                          at most %d here (4 per online CPU, %d in all)\n"
        "  -c, --ctx N             KV cache capacity in tokens; 0 = the model's own (default %d)\n"
        "  --chunk N               prompt tokens per forward pass (default %d)\n"
        "  --kv f32|f16|q8_0       KV cache storage (default %s)\n"
        "  --exact                 f32 reference arithmetic instead of 8-bit activations (default %s)\n"
        "  --output-q4_0           requantize the Q8_0 output head to Q4_0 at load: faster, less exact\n"
        "                          (default %s)\n"
        "  --out F                 logits: output file\n"
        "  --step                  logits: one token at a time\n"
        "  -q, --quiet             no stats line on stderr (and so no seed shown)\n"
        "  -h, --help              this text\n"
        "\n"
        "The stats line on stderr gives token counts and speeds, why generation stopped\n"
        "(end of turn, max tokens, context full, Ctrl-C) and the seed.\n"
        "Ctrl-C stops a generation cleanly; in chat it returns to the prompt, and at the prompt it quits.\n"
        "Exit status: 0 done, 1 failed, 2 bad command line.\n",
        DEFAULT_MAX_TOKENS, float_str(temp, d.temperature), d.top_k, float_str(top_p, d.top_p),
        float_str(min_p, d.min_p), float_str(penalty, d.repeat_penalty), d.repeat_last_n,
        (unsigned long long)UINT64_MAX, d.n_threads, max_threads(), MAX_THREADS, d.kv_capacity,
        d.prefill_chunk, qi_kv_type_name(d.kv_type), d.compute == QI_COMPUTE_F32 ? "on" : "off",
        d.output_q4_0 ? "on" : "off");
}

typedef struct args {
    const char *cmd, *model, *ids, *out, *prompt, *file, *system, *text;
    int max_tokens, step, raw, special, quiet;
    qi_config cfg;
} args;

/* A mistake on the command line: exit status 2, as for a bad option. */
static int usage_error(const char *msg) {
    fprintf(stderr, "qinfer: %s (see qinfer --help)\n", msg);
    return 2;
}

static int parse_int(const char *s, const char *flag, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "qinfer: %s needs an integer in [%ld, %ld], got '%s'\n", flag, lo, hi, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

static int parse_float(const char *s, const char *flag, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || *end || end == s) {
        fprintf(stderr, "qinfer: %s needs a number, got '%s'\n", flag, s);
        return 0;
    }
    *out = v;
    return 1;
}

/* Digits only: strtoull would take "-1" as 2^64 - 1. */
static int parse_seed(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!isdigit((unsigned char)s[0]) || errno || *end) {
        fprintf(stderr, "qinfer: --seed needs an integer from 0 to %llu, got '%s' "
                        "(leave --seed out for a fresh seed)\n", (unsigned long long)UINT64_MAX, s);
        return 0;
    }
    *out = v;
    return 1;
}

/* A seed of its own for each run, from the clock's nanoseconds and the pid,
 * mixed (splitmix64's finalizer). 32 bits: short to retype after --seed. */
static uint64_t fresh_seed(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + ((uint64_t)getpid() << 40);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) & 0xffffffffu;
}

/* 0 on success; 1 on a bad command line (message printed); 2 for --help */
static int parse_args(int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    qi_config_default(&a->cfg);
    /* the library reads no environment: the level QINFER_ISA names becomes cfg.isa */
    const char *isa_env = getenv("QINFER_ISA");
    if (isa_env && *isa_env) {
        int isa = qi_isa_parse(isa_env);
        if (isa < 0) {
            fprintf(stderr, "qinfer: QINFER_ISA=%s: unknown kernel level (auto|scalar|avx2|avx512|avx512vnni|amx|neon|dotprod|i8mm)\n",
                    isa_env);
            return 1;
        }
        a->cfg.isa = (qi_isa)isa;
    }
    a->max_tokens = DEFAULT_MAX_TOKENS;
    int i = 1, seed_given = 0;
    if (i < argc && argv[i][0] != '-') a->cmd = argv[i++];
    else a->cmd = "generate";
    for (; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
#define NEEDS_VALUE() do { if (!v) { fprintf(stderr, "qinfer: %s needs a value\n", f); return 1; } i++; } while (0)
#define INT_OPT(lo, hi, dst) do { NEEDS_VALUE(); if (!parse_int(v, f, lo, hi, &n)) return 1; dst = (int)n; } while (0)
#define FLOAT_OPT(dst) do { NEEDS_VALUE(); if (!parse_float(v, f, &dst)) return 1; } while (0)
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return 2;
        else if (!strcmp(f, "-m") || !strcmp(f, "--model")) { NEEDS_VALUE(); a->model = v; }
        else if (!strcmp(f, "--ids")) { NEEDS_VALUE(); a->ids = v; }
        else if (!strcmp(f, "--out")) { NEEDS_VALUE(); a->out = v; }
        else if (!strcmp(f, "-p") || !strcmp(f, "--prompt")) { NEEDS_VALUE(); a->prompt = v; }
        else if (!strcmp(f, "--file")) { NEEDS_VALUE(); a->file = v; }
        else if (!strcmp(f, "-s") || !strcmp(f, "--system")) { NEEDS_VALUE(); a->system = v; }
        else if (!strcmp(f, "--step")) a->step = 1;
        else if (!strcmp(f, "--raw")) a->raw = 1;
        else if (!strcmp(f, "--special")) a->special = 1;
        else if (!strcmp(f, "-q") || !strcmp(f, "--quiet")) a->quiet = 1;
        else if (!strcmp(f, "--exact")) a->cfg.compute = QI_COMPUTE_F32;
        else if (!strcmp(f, "--output-q4_0")) a->cfg.output_q4_0 = 1;
        else if (!strcmp(f, "-n") || !strcmp(f, "--max-tokens") || !strcmp(f, "--n-predict")) INT_OPT(0, 1 << 30, a->max_tokens);
        else if (!strcmp(f, "-t") || !strcmp(f, "--threads")) {
            INT_OPT(0, 1 << 30, a->cfg.n_threads);
            if (a->cfg.n_threads > max_threads()) {
                fprintf(stderr, "qinfer: %s %d is too many threads: at most %d here (4 per online CPU, never more "
                                "than %d), since more only wait for one another; 0 = one per physical core\n",
                        f, a->cfg.n_threads, max_threads(), MAX_THREADS);
                return 1;
            }
        }
        else if (!strcmp(f, "-c") || !strcmp(f, "--ctx")) INT_OPT(0, 1 << 24, a->cfg.kv_capacity);
        else if (!strcmp(f, "--chunk")) INT_OPT(1, 65536, a->cfg.prefill_chunk);
        else if (!strcmp(f, "--top-k")) INT_OPT(0, 1 << 30, a->cfg.top_k);
        else if (!strcmp(f, "--repeat-last-n")) INT_OPT(0, 1 << 30, a->cfg.repeat_last_n);
        else if (!strcmp(f, "--seed")) { NEEDS_VALUE(); if (!parse_seed(v, &a->cfg.seed)) return 1; seed_given = 1; }
        else if (!strcmp(f, "--temp") || !strcmp(f, "--temperature")) FLOAT_OPT(a->cfg.temperature);
        else if (!strcmp(f, "--top-p")) FLOAT_OPT(a->cfg.top_p);
        else if (!strcmp(f, "--min-p")) FLOAT_OPT(a->cfg.min_p);
        else if (!strcmp(f, "--repeat-penalty")) FLOAT_OPT(a->cfg.repeat_penalty);
        else if (!strcmp(f, "--kv")) {
            NEEDS_VALUE();
            int t = qi_kv_type_parse(v);
            if (t < 0) { fprintf(stderr, "qinfer: --kv takes f32, f16 or q8_0, got '%s'\n", v); return 1; }
            a->cfg.kv_type = (qi_kv_type)t;
        } else if (f[0] != '-' && !a->text) {
            a->text = f; /* tokenize TEXT */
        } else {
            fprintf(stderr, "qinfer: unknown option '%s' (see qinfer --help)\n", f);
            return 1;
        }
#undef NEEDS_VALUE
#undef INT_OPT
#undef FLOAT_OPT
    }
    /* without --seed, every run samples differently (the seed is printed) */
    if (!seed_given) a->cfg.seed = fresh_seed();
    char msg[256];
    if (qi_config_check(&a->cfg, msg, sizeof msg)) { fprintf(stderr, "qinfer: %s\n", msg); return 1; }
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

static qi_config load_cfg; /* load-time settings from the command line */

static qi_model *load_model(const char *path) {
    if (!path) {
        fprintf(stderr, "qinfer: no model given (-m MODEL)\n");
        return NULL;
    }
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        fprintf(stderr, "qinfer: %s: no such file. To get a model:\n"
                        "  make model   downloads the official Qwen2.5-0.5B-Instruct q4_0 file into models/\n"
                        "  make synth   writes a synthetic one (random weights: for speed tests only) into models/\n",
                path);
        return NULL;
    }
    char msg[512];
    qi_model *m = NULL;
    qi_status st = qi_model_load_cfg(path, &load_cfg, &m, msg, sizeof msg);
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
    /* a vocabulary has no shapes or tensors to show: say what it is, and what it is good for */
    if (!in.has_weights)
        printf("contents       a vocabulary-only file: no weights (tokenize and detokenize work; "
               "generation, chat and logits need a model)\n");
    if (in.arch[0]) printf("architecture   %s\n", in.arch);
    if (in.has_weights) {
        printf("layers         %d\n", in.n_layer);
        printf("embedding      %d\n", in.n_embd);
        printf("heads          %d query, %d key/value, head dim %d\n", in.n_head, in.n_head_kv, in.head_dim);
        printf("feed-forward   %d\n", in.n_ff);
        printf("context        %d\n", in.n_ctx_train);
        printf("rope theta     %g\n", in.rope_theta);
        printf("rms eps        %g\n", in.norm_eps);
        printf("output head    %s, run as %s\n", in.tied_output ? "tied to token_embd.weight" : "output.weight", in.output_type);
    }
    printf("tokenizer      %s, vocab %d%s\n", in.tokenizer, in.n_vocab, in.has_vocab ? "" : " (ids only: no text)");
    if (!in.has_weights) { qi_model_free(m); return 0; }

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
    if (!a->ids || !a->out) return usage_error("logits needs --ids FILE and --out FILE");
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

/* Whole file (or stdin for "-") into a NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "qinfer: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; }
            buf = nb;
        }
    }
    if (f != stdin) fclose(f);
    if (!buf) { fprintf(stderr, "qinfer: out of memory reading '%s'\n", path); return NULL; }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* A model for a text command: it must carry a vocabulary. */
static qi_model *load_text_model(const char *path) {
    qi_model *m = load_model(path);
    if (!m) return NULL;
    qi_model_info in;
    qi_model_get_info(m, &in);
    if (!in.has_vocab) {
        fprintf(stderr, "qinfer: %s has no vocabulary (tokenizer.ggml.model = %s): text commands need one; "
                        "use --ids, or 'qinfer logits'\n", path, in.tokenizer);
        qi_model_free(m);
        return NULL;
    }
    return m;
}

/* Tokenize into a fresh array. */
static int tokenize(const qi_model *m, const char *text, size_t len, int special, int32_t **ids, int *n) {
    int need = 0;
    qi_status st = qi_tokenize(m, text, len, special, NULL, 0, &need);
    if (st && st != QI_ERR_BUFFER_TOO_SMALL) { fprintf(stderr, "qinfer: tokenize: %s\n", qi_status_str(st)); return 0; }
    *ids = malloc((size_t)(need ? need : 1) * sizeof **ids);
    if (!*ids) { fprintf(stderr, "qinfer: out of memory\n"); return 0; }
    st = qi_tokenize(m, text, len, special, *ids, need, n);
    if (st) { free(*ids); fprintf(stderr, "qinfer: tokenize: %s\n", qi_status_str(st)); return 0; }
    return 1;
}

/* ---- generation ------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted++;
}

/* No SA_RESTART: a Ctrl-C at the chat prompt ends the read, and so the chat. */
static void catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

typedef struct printer {
    const qi_model *m;
    qi_detok d;
    int ids_only;           /* print ids (no vocabulary) */
    double t_first;         /* time of the first token */
    char *reply;            /* the text, kept for chat history */
    size_t len, cap;
} printer;

static int print_token(void *user, int32_t tok) {
    printer *p = user;
    if (p->t_first == 0) p->t_first = now_s();
    if (p->ids_only) {
        printf("%d\n", tok);
    } else {
        char buf[QI_DETOK_MAX];
        size_t n = 0;
        if (qi_detok_feed(p->m, &p->d, tok, buf, &n) == QI_OK && n) {
            fwrite(buf, 1, n, stdout);
            if (p->len + n + 1 > p->cap) {
                size_t nc = (p->len + n + 1) * 2;
                char *r = realloc(p->reply, nc);
                if (r) { p->reply = r; p->cap = nc; }
            }
            if (p->len + n + 1 <= p->cap) { memcpy(p->reply + p->len, buf, n); p->len += n; p->reply[p->len] = 0; }
        }
    }
    fflush(stdout);
    return interrupted != 0;
}

static void printer_flush(printer *p) {
    if (p->ids_only) return;
    char buf[QI_DETOK_MAX];
    size_t n = 0;
    if (qi_detok_flush(&p->d, buf, &n) == QI_OK && n) {
        fwrite(buf, 1, n, stdout);
        if (p->len + n + 1 <= p->cap) { memcpy(p->reply + p->len, buf, n); p->len += n; p->reply[p->len] = 0; }
    }
    fflush(stdout);
}

/* Why a generation ended, for the stats line. A full context is one of the
 * ordinary ends, like the token limit: what was generated stands. */
static const char *stop_reason(qi_status st, const qi_gen_stats *gs) {
    if (st == QI_ERR_CANCELLED) return "Ctrl-C";
    if (st == QI_ERR_CONTEXT_FULL) return "context full";
    if (st) return "error";
    return gs->stopped_at_eog ? "end of turn" : "max tokens";
}

/* between the chunks of a long prompt: Ctrl-C stops it there */
static int prompt_progress(void *user, int done, int total) {
    (void)user, (void)done, (void)total;
    return interrupted != 0;
}

/* Prompt in, answer out, stats on stderr. 0 on success (stopped by Ctrl-C
 * or by a full context included); 1 on a failure, with its message printed. */
static int run_turn(qi_session *s, const int32_t *ids, int n, const args *a, printer *p) {
    double t0 = now_s();
    int reused = 0;
    qi_session_set_progress(s, prompt_progress, NULL);
    qi_status st = qi_session_prompt(s, ids, n, &reused);
    double t1 = now_s();
    if (st == QI_ERR_CANCELLED) {
        fprintf(stderr, "\n[stopped while reading the prompt: %d of %d tokens in the cache]\n", qi_session_pos(s), n);
        return 0;
    }
    if (st == QI_ERR_CONTEXT_FULL) {
        fprintf(stderr, "qinfer: the prompt takes %d tokens, more than the context holds (%d; -c sets it)\n", n,
                qi_session_capacity(s));
        return 1;
    }
    if (st) { fprintf(stderr, "qinfer: %s (%s)\n", qi_session_errmsg(s), qi_status_str(st)); return 1; }
    p->t_first = 0;
    qi_gen_stats gs;
    st = qi_generate(s, a->max_tokens, print_token, p, &gs);
    printer_flush(p);
    double t2 = now_s();
    int failed = st && st != QI_ERR_CANCELLED && st != QI_ERR_CONTEXT_FULL;
    if (st == QI_ERR_CANCELLED) fprintf(stderr, "\n[stopped]\n");
    else if (failed) fprintf(stderr, "\nqinfer: %s (%s)\n", qi_session_errmsg(s), qi_status_str(st));
    if (!p->ids_only) printf("\n");
    fflush(stdout);
    if (!a->quiet) {
        int evald = n - reused;
        fprintf(stderr, "[prompt %d tokens (%d new), %.1f tok/s | generated %d tokens, %.1f tok/s | first token %.0f ms"
                        " | stop: %s | %s, %d threads | seed %llu]\n",
                n, evald, evald / (t1 - t0 + 1e-9), gs.n_gen, gs.n_gen > 1 && p->t_first ? (gs.n_gen - 1) / (t2 - p->t_first + 1e-9) : 0.0,
                ((p->t_first ? p->t_first : t2) - t0) * 1e3, stop_reason(st, &gs), qi_session_isa(s), qi_session_threads(s),
                (unsigned long long)a->cfg.seed);
    }
    return failed;
}

/* Render a conversation and tokenize it with control tokens on. */
static int chat_ids(const qi_model *m, const qi_chat_msg *msgs, int n, int32_t **ids, int *n_ids) {
    size_t len = 0;
    qi_chat_render(msgs, n, 1, NULL, 0, &len);
    char *text = malloc(len + 1);
    if (!text) { fprintf(stderr, "qinfer: out of memory\n"); return 0; }
    qi_status st = qi_chat_render(msgs, n, 1, text, len + 1, &len);
    int ok = !st && tokenize(m, text, len, 1, ids, n_ids);
    if (st) fprintf(stderr, "qinfer: chat template: %s\n", qi_status_str(st));
    free(text);
    return ok;
}

static int cmd_generate(const args *a) {
    if (!!a->prompt + !!a->file + !!a->ids != 1) return usage_error("give exactly one of -p PROMPT, --file F or --ids F");
    qi_model *m = a->ids ? load_model(a->model) : load_text_model(a->model);
    if (!m) return 1;
    qi_model_info in;
    qi_model_get_info(m, &in);
    int rc = 1, n = 0;
    int32_t *ids = NULL;
    char *text = NULL;
    size_t len = 0;
    printer p = {.m = m, .ids_only = !in.has_vocab};
    qi_session *s = NULL;
    if (a->ids) {
        if (!read_ids(a->ids, &ids, &n)) goto done;
    } else {
        text = a->file ? read_file(a->file, &len) : strdup(a->prompt);
        if (!text) goto done;
        if (!a->file) len = strlen(text);
        if (a->raw) {
            if (!tokenize(m, text, len, 1, &ids, &n)) goto done;
        } else {
            qi_chat_msg msgs[2] = {{"system", a->system ? a->system : QI_DEFAULT_SYSTEM}, {"user", text}};
            if (!chat_ids(m, msgs, 2, &ids, &n)) goto done;
        }
    }
    if (n == 0) { fprintf(stderr, "qinfer: the prompt is empty\n"); goto done; }
    if (!(s = new_session(m, &a->cfg))) goto done;
    catch_sigint();
    rc = run_turn(s, ids, n, a, &p);
done:
    free(p.reply);
    qi_session_free(s);
    qi_model_free(m);
    free(ids);
    free(text);
    return rc;
}

/* One line from stdin without its newline; NULL at end of input. */
static char *read_line(void) {
    size_t cap = 256, n = 0;
    char *buf = malloc(cap);
    int c;
    while (buf && (c = getchar()) != EOF && c != '\n') {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); return NULL; }
            buf = nb;
        }
        buf[n++] = (char)c;
    }
    if (!buf || (n == 0 && c == EOF)) { free(buf); return NULL; }
    if (n && buf[n - 1] == '\r') n--;
    buf[n] = 0;
    return buf;
}

/* The conversation: msgs[0] is the system message, then user and assistant
 * messages alternate. Every text is owned here (convo_drop frees it). */
typedef struct convo {
    qi_chat_msg *msgs;
    int n, cap;
} convo;

static int convo_push(convo *c, const char *role, char *text) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        qi_chat_msg *nm = realloc(c->msgs, (size_t)cap * sizeof *nm);
        if (!nm) return 0;
        c->msgs = nm;
        c->cap = cap;
    }
    c->msgs[c->n++] = (qi_chat_msg){role, text};
    return 1;
}

/* Forget messages [from, from + k). */
static void convo_drop(convo *c, int from, int k) {
    for (int i = from; i < from + k; i++) free((char *)c->msgs[i].content);
    memmove(c->msgs + from, c->msgs + from + k, (size_t)(c->n - from - k) * sizeof *c->msgs);
    c->n -= k;
}

static const char *chat_commands = "/reset /exit /quit /help";

/* Ids of the conversation for the next reply. When they would leave less
 * than `room` tokens of the context for it, the oldest turns (a user message
 * and its reply) go, the system message stays, and stderr says so; but
 * nothing goes for a last message that would not fit even alone with the
 * system message (then *n_ids > capacity). 0 on a failure (message printed). */
static int fit_conversation(const qi_model *m, convo *c, int capacity, int room, int32_t **ids, int *n_ids) {
    if (!chat_ids(m, c->msgs, c->n, ids, n_ids)) return 0;
    if (*n_ids + room <= capacity || c->n <= 2) return 1;
    int32_t *alone = NULL;
    int n_alone = 0;
    qi_chat_msg last[2] = {c->msgs[0], c->msgs[c->n - 1]};
    if (!chat_ids(m, last, 2, &alone, &n_alone)) { free(*ids); return 0; }
    if (n_alone > capacity) { free(*ids); *ids = alone; *n_ids = n_alone; return 1; }
    free(alone);
    int dropped = 0;
    do {
        free(*ids);
        convo_drop(c, 1, 2);
        dropped++;
        if (!chat_ids(m, c->msgs, c->n, ids, n_ids)) return 0;
    } while (*n_ids + room > capacity && c->n > 2);
    fprintf(stderr, "[context full: dropped the %d oldest turn%s to make room (context %d tokens, -c); "
                    "the system message stays]\n", dropped, dropped > 1 ? "s" : "", capacity);
    return 1;
}

static int cmd_chat(const args *a) {
    qi_model *m = load_text_model(a->model);
    if (!m) return 1;
    qi_session *s = new_session(m, &a->cfg);
    if (!s) { qi_model_free(m); return 1; }
    int tty = isatty(0), rc = 0;
    int capacity = qi_session_capacity(s);
    /* room kept for a reply: -n tokens, but never more than half the context */
    int room = a->max_tokens < capacity / 2 ? a->max_tokens : capacity / 2;
    convo c = {0};
    char *sys = strdup(a->system ? a->system : QI_DEFAULT_SYSTEM);
    if (!sys || !convo_push(&c, "system", sys)) { free(sys); fprintf(stderr, "qinfer: out of memory\n"); rc = 1; goto done; }
    catch_sigint();
    if (tty) fprintf(stderr, "qinfer chat: type a message; /reset starts over, /exit or Ctrl-D quits, /help lists the commands.\n");
    for (;;) {
        interrupted = 0;
        if (tty) { fprintf(stderr, "> "); fflush(stderr); }
        char *line = read_line();
        if (!line || !strcmp(line, "/exit") || !strcmp(line, "/quit")) { free(line); break; }
        if (!strcmp(line, "/reset")) {
            convo_drop(&c, 1, c.n - 1);
            free(line);
            fprintf(stderr, "[conversation reset]\n");
            continue;
        }
        if (!strcmp(line, "/help")) {
            fprintf(stderr, "commands: /reset starts over, /exit or /quit quits, /help this; "
                            "a message that starts with / is written //\n");
            free(line);
            continue;
        }
        /* a mistyped command is not a message: the model never sees it */
        if (line[0] == '/' && line[1] != '/') {
            fprintf(stderr, "unknown command %s; commands: %s (to send a message that starts with /, write //)\n",
                    line, chat_commands);
            free(line);
            continue;
        }
        if (line[0] == '/') memmove(line, line + 1, strlen(line)); /* //text sends /text */
        if (!line[0]) { free(line); continue; }
        if (!convo_push(&c, "user", line)) { free(line); fprintf(stderr, "qinfer: out of memory\n"); rc = 1; break; }
        int32_t *ids = NULL;
        int n_ids = 0;
        if (!fit_conversation(m, &c, capacity, room, &ids, &n_ids)) { rc = 1; break; }
        if (n_ids > capacity) {
            fprintf(stderr, "qinfer: this message and the system message take %d tokens, more than the context "
                            "holds (%d; -c sets it): not sent\n", n_ids, capacity);
            free(ids);
            convo_drop(&c, c.n - 1, 1);
            continue;
        }
        printer p = {.m = m};
        int r = run_turn(s, ids, n_ids, a, &p);
        free(ids);
        if (r) { free(p.reply); rc = 1; break; }
        /* the reply joins the history; the next turn re-reads only new tokens */
        char *reply = p.reply ? p.reply : strdup("");
        if (!reply || !convo_push(&c, "assistant", reply)) { free(reply); fprintf(stderr, "qinfer: out of memory\n"); rc = 1; break; }
    }
done:
    if (c.n) convo_drop(&c, 0, c.n);
    free(c.msgs);
    qi_session_free(s);
    qi_model_free(m);
    return rc;
}

static int cmd_tokenize(const args *a) {
    if (!!a->text + !!a->file != 1) return usage_error("tokenize takes TEXT or --file F");
    qi_model *m = load_text_model(a->model);
    if (!m) return 1;
    size_t len = 0;
    char *text = a->file ? read_file(a->file, &len) : NULL;
    int rc = 1, n = 0;
    int32_t *ids = NULL;
    if (a->file && !text) goto done;
    if (!a->file) len = strlen(a->text);
    if (!tokenize(m, a->file ? text : a->text, len, a->special, &ids, &n)) goto done;
    for (int i = 0; i < n; i++) printf("%d\n", ids[i]);
    rc = 0;
done:
    free(ids);
    free(text);
    qi_model_free(m);
    return rc;
}

static int cmd_detokenize(const args *a) {
    if (!a->ids) return usage_error("detokenize takes --ids FILE");
    int32_t *ids = NULL;
    int n = 0;
    if (!read_ids(a->ids, &ids, &n)) return 1;
    qi_model *m = load_text_model(a->model);
    if (!m) { free(ids); return 1; }
    qi_detok d = {0};
    char buf[QI_DETOK_MAX];
    size_t len;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        qi_status st = qi_detok_feed(m, &d, ids[i], buf, &len);
        if (st) { fprintf(stderr, "qinfer: id %d (line %d): %s\n", ids[i], i + 1, qi_status_str(st)); rc = 1; }
        else fwrite(buf, 1, len, stdout);
    }
    if (!rc && qi_detok_flush(&d, buf, &len) == QI_OK) fwrite(buf, 1, len, stdout);
    free(ids);
    qi_model_free(m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    args a;
    int r = parse_args(argc, argv, &a);
    if (r == 2) { usage(stdout); return 0; }
    if (r) return 2;
    load_cfg = a.cfg;
    if (a.text && strcmp(a.cmd, "tokenize")) {
        fprintf(stderr, "qinfer: unexpected argument '%s' (see qinfer --help)\n", a.text);
        return 2;
    }
    static const char *const cmds[] = {"generate", "chat", "tokenize", "detokenize", "info", "logits"};
    int known = 0;
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) known |= !strcmp(a.cmd, cmds[i]);
    if (!known) {
        fprintf(stderr, "qinfer: unknown command '%s' (see qinfer --help)\n", a.cmd);
        return 2;
    }
    if (!a.model) return usage_error("no model given (-m MODEL)");
    if (!strcmp(a.cmd, "info")) return cmd_info(&a);
    if (!strcmp(a.cmd, "logits")) return cmd_logits(&a);
    if (!strcmp(a.cmd, "generate")) return cmd_generate(&a);
    if (!strcmp(a.cmd, "chat")) return cmd_chat(&a);
    if (!strcmp(a.cmd, "tokenize")) return cmd_tokenize(&a);
    return cmd_detokenize(&a);
}
