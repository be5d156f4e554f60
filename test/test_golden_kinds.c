/* Golden tests for the types beyond Q4_0/Q8_0/F16/F32, on two sets of id-only
 * Qwen2 models whose every row length is a multiple of 256 (so the k-quants
 * apply), between them in every type the official files use:
 *   - kqb-mix1 / kqb-mix2 (2 layers, hidden 256): built at run time by
 *     test/kq_build.py from ggml-quantized blocks (test/data/kquant/
 *     quant-kinds.txt; quant bytes shuffled, scales times +-2^e), their
 *     goldens from the shared float64 numpy forward
 *     (../shared/golden/ref_forward.py); skipped only where python3 has no
 *     numpy. mix1 is untied with a Q5_0 embedding and a Q6_K head, and its
 *     second layer Q8_0/Q4_0/F16; mix2 is tied (like Qwen2.5-0.5B) with a
 *     Q6_K embedding and head, and a BF16 k.
 *   - tiny-kq-mix1 / tiny-kq-mix2 (1 layer), quantized whole by llama.cpp's
 *     llama-quantize, read from ../shared/kquant/golden-kq (made as
 *     test/data/kquant/golden-kq.md says; skipped without them).
 * As in test_golden: the exact path (f32 arithmetic, f32 KV cache) meets
 * tier A (|delta logit| <= 1e-3, argmax equal where the margin is >= 1e-3,
 * forced greedy decode through the KV cache equal); the quantized path (Q8_0
 * activations, llama.cpp's arithmetic) meets tier C (mean KL <= 0.01, max
 * 0.05, top-1 >= 85%, no flip at margin >= 0.75), on every kernel level. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "formats/gguf.h"
#include "kernels/kernels.h"
#include "qinfer.h"
#include "golden.h"
#include "test.h"

#define V 256
#define TIER_A 1e-3f
#define TIER_C_MARGIN 0.75f

/* a folder of models with their goldens: <variant>.gguf, <variant>.<seq>.logits.f32,
 * <variant>.greedy32[.margins].txt and <ids>.<seq>.ids.txt */
typedef struct {
    char dir[512];
    const char *ids;
    const char *variants[2];
} golden_set;
static golden_set built = {"", "kqb", {"kqb-mix1", "kqb-mix2"}};
static golden_set by_llama = {"", "tiny-kq", {"tiny-kq-mix1", "tiny-kq-mix2"}};
static const golden_set *set; /* the one the checks below read */
static const char *seqs[] = {"S1", "S2", "S3"};

static char path_buf[1024];
static const char *kpath(const char *fmt, const char *a, const char *b) {
    char name[256];
    snprintf(name, sizeof name, fmt, a, b);
    snprintf(path_buf, sizeof path_buf, "%s/%s", set->dir, name);
    return path_buf;
}

static qi_compute compute_mode = QI_COMPUTE_F32;
static qi_isa level = QI_ISA_AUTO;

static qi_session *session(qi_model *m) {
    qi_config c;
    qi_config_default(&c);
    c.kv_capacity = 256;
    c.kv_type = QI_KV_F32;
    c.prefill_chunk = 64;
    c.n_threads = 2;
    c.compute = compute_mode;
    c.isa = level;
    c.temperature = 0;
    c.repeat_penalty = 1;
    qi_session *s = NULL;
    char msg[512];
    CHECK(qi_session_new(m, &c, &s, msg, sizeof msg) == QI_OK, "session: %s", msg);
    return s;
}

static qi_model *load(const char *variant) {
    char msg[512];
    qi_model *m = NULL;
    CHECK(qi_model_load(kpath("%s.gguf", variant, ""), &m, msg, sizeof msg) == QI_OK, "load %s: %s", variant, msg);
    return m;
}

/* One prefill per sequence, every row against the golden one. Tier C's
 * top-1 agreement counts the 200 positions of S1-S3 together: of S1's 8
 * alone, one flip between two tokens 0.04 apart would be 12.5%. */
static void prefill(const char *variant) {
    qi_model *m = load(variant);
    if (!m) return;
    int agree = 0, positions = 0;
    for (int si = 0; si < 3; si++) {
        int32_t ids[256];
        int n = read_ids_txt(kpath("%s.%s.ids.txt", set->ids, seqs[si]), ids, 256);
        size_t bytes = 0;
        float *gold = slurp_file(kpath("%s.%s.logits.f32", variant, seqs[si]), &bytes);
        qi_session *s = session(m);
        float *out = n > 0 ? malloc((size_t)n * V * sizeof(float)) : NULL;
        int ok = n > 0 && gold && bytes == (size_t)n * V * 4 && s && out;
        CHECK(ok, "%s %s: fixtures", variant, seqs[si]);
        if (ok && qi_session_eval(s, ids, n, out) == QI_OK) {
            if (compute_mode == QI_COMPUTE_F32) {
                float d = max_abs_diff(out, gold, (size_t)n * V);
                int flips = 0;
                for (int p = 0; p < n; p++)
                    flips += margin_of(gold + p * V, V) >= TIER_A && argmax(out + p * V, V) != argmax(gold + p * V, V);
                CHECK(d <= TIER_A, "%s %s: max |delta logit| %.3g > %.3g", variant, seqs[si], d, TIER_A);
                CHECK(flips == 0, "%s %s: argmax differs at %d positions", variant, seqs[si], flips);
                printf("    %s %s [%s] exact: max |delta logit| %.2e\n", variant, seqs[si], qi_session_isa(s), d);
            } else {
                double kl_sum = 0, kl_max = 0;
                int same_here = 0, hard = 0;
                for (int p = 0; p < n; p++) {
                    const float *g = gold + (size_t)p * V, *o = out + (size_t)p * V;
                    double kl = kl_row(g, o, V);
                    kl_sum += kl;
                    if (kl > kl_max) kl_max = kl;
                    int same = argmax(g, V) == argmax(o, V);
                    same_here += same;
                    hard += !same && margin_of(g, V) >= TIER_C_MARGIN;
                }
                agree += same_here, positions += n;
                CHECK(kl_sum / n <= 0.01 && kl_max <= 0.05, "%s %s: KL mean %.3g max %.3g", variant, seqs[si], kl_sum / n, kl_max);
                CHECK(hard == 0, "%s %s: %d flips at margin >= 0.75", variant, seqs[si], hard);
                printf("    %s %s [%s] quantized: KL mean %.2e max %.2e, top-1 %d/%d\n", variant, seqs[si],
                       qi_session_isa(s), kl_sum / n, kl_max, same_here, n);
            }
        } else if (ok) {
            CHECK(0, "%s %s: eval: %s", variant, seqs[si], qi_session_errmsg(s));
        }
        free(out);
        free(gold);
        qi_session_free(s);
    }
    if (compute_mode != QI_COMPUTE_F32)
        CHECK(positions == 200 && agree >= 0.85 * positions, "%s: top-1 %d/%d", variant, agree, positions);
    qi_model_free(m);
}

/* Prefill S2, then feed the golden greedy tokens one at a time through the
 * KV cache: each step's argmax must be the golden one where its margin
 * allows a verdict. */
static void forced_decode(const char *variant, float tol, int min_checked) {
    qi_model *m = load(variant);
    if (!m) return;
    int32_t ids[256], want[32];
    float margins[32];
    int n = read_ids_txt(kpath("%s.%s.ids.txt", set->ids, "S2"), ids, 256);
    int nw = read_ids_txt(kpath("%s.greedy32.txt", variant, ""), want, 32);
    int nm = read_floats_txt(kpath("%s.greedy32.margins.txt", variant, ""), margins, 32);
    qi_session *s = session(m);
    CHECK(n == 64 && nw == 32 && nm == 32 && s, "%s: fixtures (%d %d %d)", variant, n, nw, nm);
    if (n == 64 && nw == 32 && nm == 32 && s && qi_session_eval(s, ids, n, NULL) == QI_OK) {
        int checked = 0;
        for (int i = 0; i < 32; i++) {
            if (margins[i] >= tol) {
                int got = argmax(qi_session_logits(s), V);
                CHECK(got == want[i], "%s step %d: argmax %d, golden %d (margin %.3g)", variant, i, got, want[i], margins[i]);
                checked++;
            }
            if (qi_session_eval(s, &want[i], 1, NULL) != QI_OK) break;
        }
        printf("    %s forced greedy [%s, %s]: %d of 32 steps checked\n", variant, qi_session_isa(s),
               compute_mode == QI_COMPUTE_F32 ? "exact" : "quantized", checked);
        CHECK(checked >= min_checked, "%s: too few steps checked (%d < %d)", variant, checked, min_checked);
    }
    qi_session_free(s);
    qi_model_free(m);
}

static void exact_path(void) {
    compute_mode = QI_COMPUTE_F32;
    for (int v = 0; v < 2; v++) {
        prefill(set->variants[v]);
        forced_decode(set->variants[v], TIER_A, 30);
    }
}

/* every level this CPU runs; the exact path on the scalar one too */
static void quantized_path(void) {
    const qi_kernels *lv[16];
    int n = kernels_available(lv, 16);
    for (int i = 0; i < n; i++) {
        level = (qi_isa)qi_isa_parse(lv[i]->name);
        compute_mode = QI_COMPUTE_Q8;
        for (int v = 0; v < 2; v++) {
            prefill(set->variants[v]);
            forced_decode(set->variants[v], TIER_C_MARGIN, 8);
        }
        if (!strcmp(lv[i]->name, "scalar")) {
            compute_mode = QI_COMPUTE_F32;
            for (int v = 0; v < 2; v++) prefill(set->variants[v]);
        }
    }
    compute_mode = QI_COMPUTE_F32;
    level = QI_ISA_AUTO;
}

static void built_exact_path(void) { set = &built, exact_path(); }
static void built_quantized_path(void) { set = &built, quantized_path(); }
static void llama_exact_path(void) { set = &by_llama, exact_path(); }
static void llama_quantized_path(void) { set = &by_llama, quantized_path(); }

/* Runs test/kq_build.py into a fresh folder: 1 when the models are there, 0
 * with *why set when they cannot be (no python3, or no numpy: a skip); a
 * failure of the script itself is a failed check. */
static int build_models(const char **why) {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(built.dir, sizeof built.dir, "%s/qinfer-kqb-%d", tmp, (int)getpid());
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 test/kq_build.py --shared '%s' --out '%s' >'%s.log' 2>&1", shared_dir(), built.dir,
             built.dir);
    int rc = system(cmd), code = rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    snprintf(cmd, sizeof cmd, "%s.log", built.dir);
    size_t n = 0;
    char *log = slurp_file(cmd, &n);
    for (char *line = log, *end; line && line < log + n; line = end + 1) { /* its lines, indented */
        end = memchr(line, '\n', (size_t)(log + n - line));
        if (!end) end = log + n;
        printf("    %.*s\n", (int)(end - line), line);
    }
    free(log);
    unlink(cmd);
    *why = code == 127 ? "no python3 to build the models" : "python3 has no numpy (apt-get install python3-numpy)";
    if (code == 127 || code == 77) return 0;
    CHECK(code == 0, "test/kq_build.py exited %d", code);
    return code == 0;
}

static void remove_models(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", built.dir);
    CHECK(system(cmd) == 0, "%s", cmd);
}

/* The shared Q4_0 model: the loader's checks below rewrite it */
static const char *shared_q4_0(void) {
    static char p[512];
    snprintf(p, sizeof p, "%s/golden/tiny-gqa7-q4_0.gguf", shared_dir());
    return p;
}

/* A type outside the set (I32 in place of blk.0.attn_q's F32 in the shared
 * F32 model: the same size, so the file still holds every tensor): refused
 * at load, naming tensor and type. */
static void other_types_refused(void) {
    size_t n = 0;
    char src[512];
    snprintf(src, sizeof src, "%s/golden/tiny-gqa7-f32.gguf", shared_dir());
    uint8_t *b = slurp_file(src, &n);
    static const char name[] = "blk.0.attn_q.weight";
    uint8_t *p = NULL;
    for (size_t i = 8; b && i + sizeof name < n && !p; i++)
        if (!memcmp(b + i, name, sizeof name - 1) && b[i - 8] == sizeof name - 1) p = b + i + sizeof name - 1;
    CHECK(p != NULL, "tensor info of %s", name);
    if (!p) { free(b); return; }
    uint32_t n_dims, type, other = GGML_I32;
    memcpy(&n_dims, p, 4);
    memcpy(&type, p + 4 + 8 * n_dims, 4);
    CHECK(n_dims == 2 && type == GGML_F32, "%s: %u dims, type %u (F32 is 0)", name, n_dims, type);
    memcpy(p + 4 + 8 * n_dims, &other, 4);
    char path[256];
    snprintf(path, sizeof path, "%s/qinfer-i32-%d.gguf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n, "write %s", path);
    if (f) fclose(f);
    free(b);
    qi_model *m = NULL;
    char msg[512];
    qi_status st = qi_model_load(path, &m, msg, sizeof msg);
    CHECK(st == QI_ERR_MODEL_TENSOR_TYPE && !m, "load: status %d, model %p", (int)st, (void *)m);
    CHECK(strstr(msg, "blk.0.attn_q.weight") && strstr(msg, "I32"), "message names tensor and type: %s", msg);
    printf("    %s\n", msg);
    unlink(path);
}

/* A valid GGUF whose general.alignment is 1 may start tensor data at any
 * byte: the shared Q4_0 model rewritten with that key (and a string key that makes the
 * header's length odd), so its tensors sit at odd offsets. Refused at load,
 * never read misaligned. */
static void misaligned_data_refused(void) {
    gguf_file g;
    char err[256];
    CHECK(gguf_open(shared_q4_0(), &g, err, sizeof err) == QI_OK, "open: %s", err);
    if (!g.n_tensors) return;
    size_t infos = (size_t)((const uint8_t *)g.tensors[0].name.ptr - g.base) - 8, infos_end = infos;
    for (uint64_t i = 0; i < g.n_tensors; i++) infos_end += 8 + g.tensors[i].name.len + 4 + 8 * g.tensors[i].n_dims + 4 + 8;
    size_t data_size = (size_t)(g.size - g.data_offset);
    uint8_t *b = malloc((size_t)g.size + 256), *p = b;
    memcpy(p, g.base, infos), p += infos;
    uint64_t n_kv = g.n_kv + 2;
    memcpy(b + 16, &n_kv, 8);
    static const char key[] = "general.alignment", pad_key[] = "qinfer.pad";
    uint64_t len = sizeof key - 1;
    uint32_t u32 = 4 /* GGUF_UINT32 */, one = 1, str = 8 /* GGUF_STRING */;
    memcpy(p, &len, 8), memcpy(p + 8, key, len), memcpy(p + 8 + len, &u32, 4), memcpy(p + 12 + len, &one, 4), p += 16 + len;
    size_t fixed = (size_t)(p - b) + 8 + (sizeof pad_key - 1) + 4 + 8 + (infos_end - infos);
    uint64_t pad = (5 - fixed % 4) % 4 + 4; /* the header ends at 1 mod 4: every tensor at an odd offset */
    len = sizeof pad_key - 1;
    memcpy(p, &len, 8), memcpy(p + 8, pad_key, len), memcpy(p + 8 + len, &str, 4), memcpy(p + 12 + len, &pad, 8);
    p += 20 + len;
    memset(p, 'x', pad), p += pad;
    memcpy(p, g.base + infos, infos_end - infos), p += infos_end - infos;
    CHECK((size_t)(p - b) % 4 == 1, "header length %zu", (size_t)(p - b));
    memcpy(p, g.base + g.data_offset, data_size), p += data_size;
    gguf_close(&g);
    char path[256];
    snprintf(path, sizeof path, "%s/qinfer-align1-%d.gguf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, (size_t)(p - b), f) == (size_t)(p - b), "write %s", path);
    if (f) fclose(f);
    free(b);
    CHECK(gguf_open(path, &g, err, sizeof err) == QI_OK && g.alignment == 1, "the rewritten file is a valid GGUF: %s", err);
    if (g.n_tensors) gguf_close(&g);
    qi_model *m = NULL;
    char msg[512];
    qi_status st = qi_model_load(path, &m, msg, sizeof msg);
    CHECK(st == QI_ERR_MODEL_TENSOR && !m && strstr(msg, "aligned"), "load: status %d: %s", (int)st, msg);
    printf("    %s\n", msg);
    unlink(path);
}

int main(void) {
    const char *why = NULL;
    const int made = build_models(&why);
    RUN_OR_SKIP(made, built_exact_path, why);
    RUN_OR_SKIP(made, built_quantized_path, why);
    if (made) remove_models();
    snprintf(by_llama.dir, sizeof by_llama.dir, "%s/kquant/golden-kq", shared_dir());
    set = &by_llama;
    const int here = access(kpath("%s.gguf", by_llama.variants[0], ""), F_OK) == 0;
    why = "no ../shared/kquant/golden-kq (llama.cpp-quantized models; see test/data/kquant/golden-kq.md)";
    RUN_OR_SKIP(here, llama_exact_path, why);
    RUN_OR_SKIP(here, llama_quantized_path, why);
    RUN(other_types_refused);
    RUN(misaligned_data_refused);
    return TEST_EXIT();
}
