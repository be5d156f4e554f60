/* bench: prompt processing (pp) and generation (tg) speed, llama-bench style.
 *
 *   ./bench -m MODEL -p 512 -n 128 -r 5 -t 1,2 [-o md|json]
 *
 * pp N: one forward pass over N random prompt tokens from an empty cache
 * (only the last token's logits are computed, as in generation).
 * tg N: N tokens decoded one at a time from an empty cache, each with its
 * full output head. Each test runs once to warm up, then -r times; the
 * table shows mean ± standard deviation of tokens per second. With -b, the
 * read bandwidth is measured before each thread count's tests, and a tg
 * row's "roof" is its weight stream (GB/s) over that bandwidth. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qinfer.h"
#include "gate/bandwidth.h"

#define MAX_LIST 16

static const char *usage_text =
    "usage: bench -m MODEL [options]\n"
    "  -m, --model PATH     GGUF model\n"
    "  -p, --n-prompt LIST  prompt lengths, comma-separated (default 512; 0 = none)\n"
    "  -n, --n-gen LIST     generation lengths (default 128; 0 = none)\n"
    "  -r, --repetitions N  timed runs per test after one warm-up (default 5)\n"
    "  -t, --threads LIST   thread counts (default: physical cores)\n"
    "  -o, --output FMT     md (default) or json (llama-bench's field names)\n"
    "  --kv f32|f16|q8_0    KV cache type (default from inference_config.c)\n"
    "  --chunk N            prompt tokens per forward pass (default from inference_config.c)\n"
    "  --prefetch N         decode prefetch distance in bytes (0 = none, -1 = the kernel\n"
    "                       level's own; default from inference_config.c)\n"
    "  --exact              f32 reference arithmetic instead of 8-bit activations\n"
    "  --output-q4_0        requantize the Q8_0 output head to Q4_0 at load\n"
    "  -b, --bandwidth      also measure the read bandwidth at each thread count over a\n"
    "                       buffer the size of one decode step's weights, and show each\n"
    "                       generation rate as a share of it (the roofline)\n"
    "  -h, --help           this text\n"
    "QINFER_ISA=scalar|avx2|avx512|avx512vnni|amx|neon|dotprod|i8mm forces a kernel level.\n";

typedef struct list { int n, v[MAX_LIST]; } list;

static int parse_list(const char *s, list *l, int lo) {
    l->n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || v < lo || v > 1 << 20 || l->n == MAX_LIST) return 0;
        l->v[l->n++] = (int)v;
        s = end;
        if (*s == ',') s++;
        else if (*s) return 0;
    }
    return l->n > 0;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static int32_t random_token(int n_vocab) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (int32_t)(rng_state % (uint64_t)n_vocab);
}

typedef struct result {
    int n_prompt, n_gen, threads, reps;
    double samples_ns[64];
    double avg_ns, sd_ns, avg_ts, sd_ts;
    double samples_ts[64];
    char time[32];
} result;

/* One timed run: fresh cache, then the prompt or the generated tokens. */
static int run_once(qi_session *s, int n_prompt, int n_gen, int n_vocab, double *ns) {
    qi_session_rewind(s, 0);
    int32_t *ids = malloc((size_t)(n_prompt > 0 ? n_prompt : 1) * sizeof *ids);
    if (!ids) return 0;
    for (int i = 0; i < n_prompt; i++) ids[i] = random_token(n_vocab);
    double t0 = now_ns();
    qi_status st = QI_OK;
    if (n_prompt) st = qi_session_eval(s, ids, n_prompt, NULL);
    for (int i = 0; i < n_gen && !st; i++) {
        int32_t tok = random_token(n_vocab);
        st = qi_session_eval(s, &tok, 1, NULL);
    }
    *ns = now_ns() - t0;
    free(ids);
    if (st) fprintf(stderr, "bench: %s (%s)\n", qi_session_errmsg(s), qi_status_str(st));
    return st == QI_OK;
}

static void stats(result *r) {
    double sum = 0, sum_ts = 0;
    for (int i = 0; i < r->reps; i++) {
        r->samples_ts[i] = (r->n_prompt + r->n_gen) / (r->samples_ns[i] * 1e-9);
        sum += r->samples_ns[i];
        sum_ts += r->samples_ts[i];
    }
    r->avg_ns = sum / r->reps;
    r->avg_ts = sum_ts / r->reps;
    double v = 0, v_ts = 0;
    for (int i = 0; i < r->reps; i++) {
        v += (r->samples_ns[i] - r->avg_ns) * (r->samples_ns[i] - r->avg_ns);
        v_ts += (r->samples_ts[i] - r->avg_ts) * (r->samples_ts[i] - r->avg_ts);
    }
    r->sd_ns = r->reps > 1 ? sqrt(v / (r->reps - 1)) : 0;
    r->sd_ts = r->reps > 1 ? sqrt(v_ts / (r->reps - 1)) : 0;
}

static void json_samples(const double *x, int n, int as_int) {
    printf("[");
    for (int i = 0; i < n; i++) printf(as_int ? "%s%.0f" : "%s%.6f", i ? ", " : "", x[i]);
    printf("]");
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *fmt = "md";
    list pp = {1, {512}}, tg = {1, {128}}, threads = {0, {0}};
    int reps = 5, bandwidth = 0;
    qi_config cfg;
    qi_config_default(&cfg);
    /* the library reads no environment: the level QINFER_ISA names becomes cfg.isa */
    const char *isa_env = getenv("QINFER_ISA");
    if (isa_env && *isa_env) {
        int isa = qi_isa_parse(isa_env);
        if (isa < 0) {
            fprintf(stderr, "bench: QINFER_ISA=%s: unknown kernel level (scalar|avx2|avx512|avx512vnni|amx|neon|dotprod|i8mm)\n", isa_env);
            return 2;
        }
        cfg.isa = (qi_isa)isa;
    }
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) { fputs(usage_text, stdout); return 0; }
        else if (!strcmp(f, "--exact")) { cfg.compute = QI_COMPUTE_F32; continue; }
        else if (!strcmp(f, "--output-q4_0")) { cfg.output_q4_0 = 1; continue; }
        else if (!strcmp(f, "-b") || !strcmp(f, "--bandwidth")) { bandwidth = 1; continue; }
        if (!v) { fprintf(stderr, "bench: %s needs a value (see --help)\n", f); return 2; }
        i++;
        if (!strcmp(f, "-m") || !strcmp(f, "--model")) model_path = v;
        else if (!strcmp(f, "-p") || !strcmp(f, "--n-prompt")) ok = parse_list(v, &pp, 0);
        else if (!strcmp(f, "-n") || !strcmp(f, "--n-gen")) ok = parse_list(v, &tg, 0);
        else if (!strcmp(f, "-t") || !strcmp(f, "--threads")) ok = parse_list(v, &threads, 1);
        else if (!strcmp(f, "-r") || !strcmp(f, "--repetitions")) { reps = atoi(v); ok = reps >= 1 && reps <= 64; }
        else if (!strcmp(f, "-o") || !strcmp(f, "--output")) { fmt = v; ok = !strcmp(v, "md") || !strcmp(v, "json"); }
        else if (!strcmp(f, "--kv")) { int t = qi_kv_type_parse(v); ok = t >= 0; cfg.kv_type = (qi_kv_type)(ok ? t : 0); }
        else if (!strcmp(f, "--chunk")) { cfg.prefill_chunk = atoi(v); ok = cfg.prefill_chunk > 0; }
        else if (!strcmp(f, "--prefetch")) {
            char *end;
            long n = strtol(v, &end, 10);
            cfg.decode_prefetch = (int)n;
            ok = *v && !*end && n >= -1 && n <= 65536 && qi_config_check(&cfg, NULL, 0) == QI_OK;
        }
        else { fprintf(stderr, "bench: unknown option '%s' (see --help)\n", f); return 2; }
        if (!ok) { fprintf(stderr, "bench: bad value '%s' for %s\n", v, f); return 2; }
    }
    if (!model_path) { fprintf(stderr, "bench: no model given (-m MODEL)\n%s", usage_text); return 2; }

    char msg[512];
    qi_model *m = NULL;
    qi_status st = qi_model_load_cfg(model_path, &cfg, &m, msg, sizeof msg);
    if (st) { fprintf(stderr, "bench: %s: %s\n", model_path, msg); return 1; }
    qi_model_info in;
    qi_model_get_info(m, &in);
    if (threads.n == 0) threads.v[threads.n++] = 0; /* the library's default */

    int max_ctx = 1;
    for (int i = 0; i < pp.n; i++) if (pp.v[i] > max_ctx) max_ctx = pp.v[i];
    for (int i = 0; i < tg.n; i++) if (tg.v[i] > max_ctx) max_ctx = tg.v[i];
    cfg.kv_capacity = max_ctx < in.n_ctx_train ? max_ctx : in.n_ctx_train;

    const char *base = strrchr(model_path, '/') ? strrchr(model_path, '/') + 1 : model_path;
    char model_type[96];
    snprintf(model_type, sizeof model_type, "%s %s%s", in.arch, in.name[0] ? in.name : base, in.synthetic ? " (synthetic)" : "");
    int json = !strcmp(fmt, "json");
    if (json) printf("[\n");
    else {
        printf("model: %s, %.2f MiB, %.2f M params, %s head, %.1f MiB of weights read per generated token\n", model_type,
               in.weight_bytes / 1048576.0, in.n_params / 1e6, in.output_type, in.decode_bytes / 1048576.0);
        printf("| %-10s | %7s | %8s | %6s | %20s | %8s |%s\n", "isa", "threads", "compute", "test", "t/s", "GB/s",
               bandwidth ? "  roof |" : "");
        printf("| %-10s | %7s | %8s | %6s | %20s | %8s |%s\n", "----------", "------:", "--------", "-----:", "-------------------:",
               "-------:", bandwidth ? " ----: |" : "");
    }
    int first = 1, rc = 0;
    for (int ti = 0; ti < threads.n && !rc; ti++) {
        cfg.n_threads = threads.v[ti];
        qi_session *s = NULL;
        st = qi_session_new(m, &cfg, &s, msg, sizeof msg);
        if (st) { fprintf(stderr, "bench: %s\n", msg); rc = 1; break; }
        double bw = 0;
        if (bandwidth) {
            bw = read_bandwidth((size_t)in.decode_bytes, qi_session_threads(s));
            fprintf(stderr, "bench: read bandwidth, %d threads, %.0f MB buffer: %.1f GB/s\n", qi_session_threads(s),
                    in.decode_bytes / 1e6, bw);
        }
        for (int kind = 0; kind < 2 && !rc; kind++) {
            list *l = kind == 0 ? &pp : &tg;
            for (int li = 0; li < l->n && !rc; li++) {
                if (l->v[li] == 0) continue;
                result r = {.n_prompt = kind == 0 ? l->v[li] : 0, .n_gen = kind == 1 ? l->v[li] : 0,
                            .threads = qi_session_threads(s), .reps = reps};
                time_t now = time(NULL);
                strftime(r.time, sizeof r.time, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
                double ns;
                fprintf(stderr, "bench: %s%d, %d threads: warm-up", kind ? "tg" : "pp", l->v[li], r.threads);
                if (!run_once(s, r.n_prompt, r.n_gen, in.n_vocab, &ns)) { rc = 1; break; }
                for (int k = 0; k < reps && !rc; k++) {
                    fprintf(stderr, ", %d", k + 1);
                    if (!run_once(s, r.n_prompt, r.n_gen, in.n_vocab, &r.samples_ns[k])) rc = 1;
                }
                fprintf(stderr, "\n");
                if (rc) break;
                stats(&r);
                char test[32], ts[48], gbs[16] = "", roof[24] = "";
                snprintf(test, sizeof test, "%s%d", kind ? "tg" : "pp", l->v[li]);
                snprintf(ts, sizeof ts, "%.2f ± %.2f", r.avg_ts, r.sd_ts);
                if (kind) snprintf(gbs, sizeof gbs, "%.1f", in.decode_bytes * r.avg_ts / 1e9);
                if (bandwidth) snprintf(roof, sizeof roof, " %4s |", "");
                if (kind && bw > 0) snprintf(roof, sizeof roof, " %3.0f%% |", 100 * in.decode_bytes * r.avg_ts / 1e9 / bw);
                const char *compute = cfg.compute == QI_COMPUTE_F32 ? "f32" : "q8";
                if (!json) {
                    printf("| %-10s | %7d | %8s | %6s | %20s | %8s |%s\n", qi_session_isa(s), r.threads, compute, test, ts, gbs,
                           roof);
                    fflush(stdout);
                    continue;
                }
                printf("%s  {\n", first ? "" : ",\n");
                first = 0;
                printf("    \"build_commit\": \"qinfer\",\n    \"backends\": \"CPU\",\n    \"cpu_info\": \"%s\",\n", qi_session_isa(s));
                printf("    \"model_filename\": \"%s\",\n    \"model_type\": \"%s\",\n", model_path, model_type);
                printf("    \"model_size\": %llu,\n    \"model_n_params\": %llu,\n", (unsigned long long)in.weight_bytes,
                       (unsigned long long)in.n_params);
                printf("    \"n_batch\": %d,\n    \"n_ubatch\": %d,\n    \"n_threads\": %d,\n", cfg.prefill_chunk, cfg.prefill_chunk, r.threads);
                printf("    \"type_k\": \"%s\",\n    \"type_v\": \"%s\",\n", qi_kv_type_name(cfg.kv_type),
                       qi_kv_type_name(cfg.kv_type));
                printf("    \"compute\": \"%s\",\n    \"output_type\": \"%s\",\n    \"use_mmap\": true,\n", compute, in.output_type);
                printf("    \"n_prompt\": %d,\n    \"n_gen\": %d,\n    \"test_time\": \"%s\",\n", r.n_prompt, r.n_gen, r.time);
                printf("    \"avg_ns\": %.0f,\n    \"stddev_ns\": %.0f,\n    \"avg_ts\": %.6f,\n    \"stddev_ts\": %.6f,\n",
                       r.avg_ns, r.sd_ns, r.avg_ts, r.sd_ts);
                printf("    \"weight_bytes_per_token\": %llu,\n", (unsigned long long)in.decode_bytes);
                if (bw > 0) printf("    \"read_bandwidth_gbs\": %.3f,\n", bw);
                printf("    \"samples_ns\": ");
                json_samples(r.samples_ns, reps, 1);
                printf(",\n    \"samples_ts\": ");
                json_samples(r.samples_ts, reps, 0);
                printf("\n  }");
                fflush(stdout);
            }
        }
        qi_session_free(s);
    }
    if (json) printf("\n]\n");
    qi_model_free(m);
    return rc;
}
