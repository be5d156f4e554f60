/* The public API's contracts: result codes and messages on every error
 * path, sessions left unchanged by a failed call, prefix reuse, and model
 * files that parse as GGUF but are not a usable Qwen2 model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qinfer.h"
#include "test.h"

static char model_path[1024];

static qi_model *load_t2(void) {
    snprintf(model_path, sizeof model_path, "%s/golden/tiny-gqa7-q4_0.gguf", shared_dir());
    qi_model *m = NULL;
    char msg[256];
    qi_status st = qi_model_load(model_path, &m, msg, sizeof msg);
    CHECK(st == QI_OK, "%s", msg);
    return m;
}

static qi_session *new_session(qi_model *m, int capacity, int chunk) {
    qi_config c;
    qi_config_default(&c);
    c.kv_capacity = capacity;
    c.prefill_chunk = chunk;
    qi_session *s = NULL;
    char msg[256];
    qi_status st = qi_session_new(m, &c, &s, msg, sizeof msg);
    CHECK(st == QI_OK, "%s", msg);
    return s;
}

static void status_strings(void) {
    for (int i = 0; i < QI_STATUS_COUNT; i++) {
        const char *a = qi_status_str((qi_status)i);
        CHECK(a && *a && strcmp(a, "unknown status"), "status %d has no text", i);
        for (int j = 0; j < i; j++) CHECK(strcmp(a, qi_status_str((qi_status)j)), "statuses %d and %d share a text", i, j);
    }
    CHECK(!strcmp(qi_status_str((qi_status)999), "unknown status"), "out of range");
}

static void load_errors(void) {
    qi_model *m = (qi_model *)1;
    char msg[256];
    CHECK(qi_model_load(NULL, &m, msg, sizeof msg) == QI_ERR_INVALID_ARG && m == NULL, "NULL path");
    CHECK(qi_model_load("x", NULL, msg, sizeof msg) == QI_ERR_INVALID_ARG, "NULL out");
    qi_config bad;
    qi_config_default(&bad);
    bad.n_threads = -1;
    m = (qi_model *)1;
    CHECK(qi_model_load_cfg("x", &bad, &m, msg, sizeof msg) == QI_ERR_INVALID_ARG && m == NULL,
          "a bad config: *out is NULL all the same");
    CHECK(qi_model_load("/nonexistent/model.gguf", &m, msg, sizeof msg) == QI_ERR_IO && m == NULL, "missing file");
    CHECK(strstr(msg, "/nonexistent/model.gguf") != NULL, "message names the path: %s", msg);
    CHECK(qi_model_load("/tmp", &m, msg, sizeof msg) == QI_ERR_IO, "a directory");
    CHECK(qi_model_load("/nonexistent", &m, NULL, 0) == QI_ERR_IO, "NULL message buffer is fine");
    /* the vocab-only file has no tensors: it loads for text, not for logits */
    char p[1024];
    snprintf(p, sizeof p, "%s/vocab/qwen2/qwen2.5-vocab.gguf", shared_dir());
    qi_status st = qi_model_load(p, &m, msg, sizeof msg);
    CHECK(st == QI_OK && m, "vocab-only loads: %d %s", st, msg);
    if (m) {
        qi_model_info in;
        qi_model_get_info(m, &in);
        CHECK(in.has_vocab && !in.has_weights && in.n_vocab == 151936, "vocab-only info: %d %d %d", in.has_vocab, in.has_weights, in.n_vocab);
        qi_session *s = (qi_session *)1;
        st = qi_session_new(m, NULL, &s, msg, sizeof msg);
        CHECK(st == QI_ERR_MODEL_TENSOR && s == NULL && strstr(msg, "vocabulary"), "session on vocab-only: %d %s", st, msg);
        qi_model_free(m);
    }
}

/* Copy a golden file, replace the first occurrence of `from` with `to`
 * (same length), load it and expect `want` with `needle` in the message. */
static void patched(const char *golden, const char *from, const char *to, qi_status want, const char *needle) {
    char src[1024], dst[256];
    snprintf(src, sizeof src, "%s/golden/%s", shared_dir(), golden);
    snprintf(dst, sizeof dst, "/tmp/qinfer-test-%d.gguf", (int)getpid());
    FILE *f = fopen(src, "rb");
    CHECK(f != NULL, "open %s", src);
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    CHECK(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "read");
    fclose(f);
    size_t fl = strlen(from);
    char *hit = NULL;
    for (long i = 0; buf && i + (long)fl <= n && !hit; i++)
        if (!memcmp(buf + i, from, fl)) hit = buf + i;
    CHECK(hit != NULL, "'%s' not found in %s", from, golden);
    if (hit) {
        memcpy(hit, to, fl);
        f = fopen(dst, "wb");
        fwrite(buf, 1, (size_t)n, f);
        fclose(f);
        qi_model *m = NULL;
        char msg[256];
        qi_status st = qi_model_load(dst, &m, msg, sizeof msg);
        CHECK(st == want && m == NULL, "%s -> %s: got %d (%s), want %d", from, to, st, msg, want);
        CHECK(strstr(msg, needle) != NULL, "message '%s' should mention '%s'", msg, needle);
        qi_model_free(m);
        remove(dst);
    }
    free(buf);
}

static void model_errors(void) {
    patched("tiny-gqa7-q4_0.gguf", "qwen2\x0c", "llama\x0c", QI_ERR_MODEL_ARCH, "llama"); /* the arch value, then the next key's length */
    patched("tiny-gqa7-q4_0.gguf", "output_norm.weight", "output_norX.weight", QI_ERR_MODEL_TENSOR, "output_norm.weight");
    patched("tiny-gqa7-q4_0.gguf", "blk.1.attn_v.bias", "blk.1.attn_v.bia_", QI_ERR_MODEL_TENSOR, "blk.1.attn_v.bias");
    patched("tiny-gqa7-q4_0.gguf", "qwen2.block_count", "qwen2.block_counx", QI_ERR_MODEL_KEY, "qwen2.block_count");
    patched("tiny-gqa7-q4_0.gguf", "qwen2.attention.layer_norm_rms_epsilon", "qwen2.attention.layer_norm_rms_epsilox",
            QI_ERR_MODEL_KEY, "layer_norm_rms_epsilon");
}

static void meta_and_info(void) {
    qi_model *m = load_t2();
    if (!m) return;
    qi_model_info in;
    qi_model_get_info(m, &in);
    CHECK(in.n_vocab == 512 && in.n_embd == 448 && in.n_layer == 3 && in.n_head == 7 && in.n_head_kv == 1 &&
          in.head_dim == 64 && in.n_ff == 1216 && in.n_ctx_train == 32768 && !in.tied_output && !in.has_vocab,
          "shapes from metadata");
    CHECK(fabsf(in.rope_theta - 1e6f) < 1 && fabsf(in.norm_eps - 1e-6f) < 1e-12f, "rope/eps");
    CHECK(!strcmp(in.tokenizer, "none"), "tokenizer kind %s", in.tokenizer);
    char buf[64];
    CHECK(qi_model_meta(m, "general.architecture", buf, sizeof buf) == QI_OK && !strcmp(buf, "qwen2"), "string");
    CHECK(qi_model_meta(m, "qwen2.block_count", buf, sizeof buf) == QI_OK && !strcmp(buf, "3"), "uint: %s", buf);
    CHECK(qi_model_meta(m, "no.such.key", buf, sizeof buf) == QI_ERR_MODEL_KEY, "missing key");
    CHECK(qi_model_meta(m, "general.architecture", buf, 3) == QI_ERR_BUFFER_TOO_SMALL, "short buffer");
    qi_tensor_info t;
    CHECK(qi_model_tensor(m, 0, &t) == QI_OK && t.name && t.type_name, "tensor 0");
    CHECK(qi_model_tensor(m, in.n_tensors, &t) == QI_ERR_INVALID_ARG, "index out of range");
    qi_model_free(m);
    qi_model_free(NULL);
}

static void version(void) {
    CHECK(!strcmp(qi_version(), QINFER_VERSION), "library %s, header %s", qi_version(), QINFER_VERSION);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", QINFER_VERSION_MAJOR, QINFER_VERSION_MINOR, QINFER_VERSION_PATCH);
    CHECK(!strcmp(v, QINFER_VERSION), "the macros agree: %s vs %s", v, QINFER_VERSION);
    CHECK(QINFER_VERSION_NUMBER == QINFER_VERSION_MAJOR * 10000 + QINFER_VERSION_MINOR * 100 + QINFER_VERSION_PATCH, "number");
    qi_config c;
    memset(&c, 0xab, sizeof c);
    qi_config_default(&c);
    CHECK(c.struct_size == sizeof(qi_config), "qi_config_default sets struct_size");
}

/* the suite runs on test/reference_config.c, whatever lib/inference_config.c
 * holds: these are its values */
static void knobs_are_the_reference(void) {
    qi_config c;
    qi_config_default(&c);
    CHECK(c.n_threads == 0 && c.prefill_chunk == 64 && c.kv_capacity == 4096 && c.kv_type == QI_KV_F32 &&
              c.compute == QI_COMPUTE_Q8 && c.huge_pages == 1 && c.output_q4_0 == 0 && c.isa == QI_ISA_AUTO &&
              c.decode_prefetch == -1 && c.decode_rows == 0 && c.prefill_rows == 0 && c.spin == 20000,
          "the engine knobs are not test/reference_config.c's");
    CHECK(c.temperature == 0.7f && c.top_k == 20 && c.top_p == 0.8f && c.min_p == 0.0f && c.repeat_penalty == 1.05f &&
              c.repeat_last_n == 64 && c.seed == 42,
          "the sampling knobs are not test/reference_config.c's");
}

static void config_errors(void) {
    qi_model *m = load_t2();
    if (!m) return;
    qi_config base, c;
    qi_config_default(&base);
    char msg[256];
    CHECK(qi_config_check(&base, msg, sizeof msg) == QI_OK, "defaults are valid: %s", msg);
#define BAD(field, stmt)                                                              \
    do {                                                                              \
        c = base; stmt;                                                               \
        qi_session *s = (qi_session *)1;                                              \
        qi_status st = qi_session_new(m, &c, &s, msg, sizeof msg);                    \
        CHECK(st == QI_ERR_INVALID_ARG && s == NULL, "%s accepted", #stmt);          \
        CHECK(strstr(msg, field) != NULL, "message '%s' names %s", msg, field);      \
    } while (0)
    BAD("struct_size", c.struct_size = 0);                        /* not from qi_config_default */
    BAD("struct_size", c.struct_size = sizeof(qi_config) + 8);    /* a newer header's */
    BAD("n_threads", c.n_threads = -1);
    BAD("prefill_chunk", c.prefill_chunk = 0);
    BAD("kv_capacity", c.kv_capacity = -5);
    BAD("kv_capacity", c.kv_capacity = 40000); /* beyond the trained context */
    BAD("kv_type", c.kv_type = (qi_kv_type)7);
    BAD("temperature", c.temperature = -0.5f);
    BAD("temperature", c.temperature = NAN);
    BAD("top_k", c.top_k = -1);
    BAD("top_p", c.top_p = 0.0f);
    BAD("top_p", c.top_p = 1.5f);
    BAD("min_p", c.min_p = 1.0f);
    BAD("repeat_penalty", c.repeat_penalty = 0.0f);
    BAD("repeat_last_n", c.repeat_last_n = -1);
    BAD("isa", c.isa = (qi_isa)99);
    BAD("decode_prefetch", c.decode_prefetch = -2);
    BAD("decode_prefetch", c.decode_prefetch = 100);
    BAD("decode_prefetch", c.decode_prefetch = 65600);
    BAD("decode_rows", c.decode_rows = 8);
    BAD("decode_rows", c.decode_rows = -16);
    BAD("prefill_rows", c.prefill_rows = 17);
    BAD("spin", c.spin = -1);
    BAD("n_threads", c.n_threads = 2000);
    BAD("prefill_chunk", c.prefill_chunk = 70000);
    BAD("compute", c.compute = (qi_compute)2);
    BAD("huge_pages", c.huge_pages = 2);
    BAD("output_q4_0", c.output_q4_0 = -1);
    BAD("top_p", c.top_p = NAN);
    BAD("min_p", c.min_p = NAN);
    BAD("repeat_penalty", c.repeat_penalty = INFINITY);
#undef BAD
    qi_session *s = (qi_session *)1;
    CHECK(qi_session_new(NULL, NULL, &s, msg, sizeof msg) == QI_ERR_INVALID_ARG && s == NULL, "NULL model");
    qi_model_free(m);
}

static void eval_errors_leave_session_unchanged(void) {
    qi_model *m = load_t2();
    qi_session *s = m ? new_session(m, 16, 4) : NULL;
    if (!s) { qi_model_free(m); return; }
    CHECK(qi_session_logits(s) == NULL, "no logits before eval");
    int32_t tok;
    CHECK(qi_session_sample(s, &tok) == QI_ERR_INVALID_ARG, "sample before eval");
    int32_t ids[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    CHECK(qi_session_eval(s, ids, 10, NULL) == QI_OK, "eval 10");
    CHECK(qi_session_pos(s) == 10 && qi_session_capacity(s) == 16, "pos %d", qi_session_pos(s));
    float before[512];
    memcpy(before, qi_session_logits(s), sizeof before);

    int32_t bad[2] = {3, 512};
    CHECK(qi_session_eval(s, bad, 2, NULL) == QI_ERR_BAD_TOKEN, "id == n_vocab");
    CHECK(strstr(qi_session_errmsg(s), "512") != NULL, "message: %s", qi_session_errmsg(s));
    bad[1] = -1;
    CHECK(qi_session_eval(s, bad, 2, NULL) == QI_ERR_BAD_TOKEN, "negative id");
    CHECK(qi_session_eval(s, ids, 7, NULL) == QI_ERR_CONTEXT_FULL, "7 more do not fit in 16");
    CHECK(strstr(qi_session_errmsg(s), "context full") != NULL, "message: %s", qi_session_errmsg(s));
    CHECK(qi_session_eval(s, ids, -1, NULL) == QI_ERR_INVALID_ARG, "negative n");
    CHECK(qi_session_eval(s, NULL, 3, NULL) == QI_ERR_INVALID_ARG, "NULL ids");
    CHECK(qi_session_pos(s) == 10, "pos unchanged after failures");
    CHECK(!memcmp(before, qi_session_logits(s), sizeof before), "logits unchanged after failures");
    CHECK(qi_session_eval(s, ids, 0, NULL) == QI_OK, "n = 0 is a no-op");
    CHECK(qi_session_eval(s, ids, 6, NULL) == QI_OK, "exactly filling the cache works");
    CHECK(qi_session_errmsg(s)[0] == 0, "error message cleared on success");
    CHECK(qi_session_eval(s, ids, 1, NULL) == QI_ERR_CONTEXT_FULL, "full");
    CHECK(qi_session_rewind(s, 17) == QI_ERR_INVALID_ARG, "rewind past pos");
    CHECK(qi_session_rewind(s, -1) == QI_ERR_INVALID_ARG, "rewind negative");
    qi_session_free(s);
    qi_session_free(NULL);
    qi_model_free(m);
}

/* A prefix kept in the cache and a fresh session agree bit for bit, and two
 * sessions share one model. */
static void prefix_reuse(void) {
    qi_model *m = load_t2();
    qi_session *a = m ? new_session(m, 64, 5) : NULL, *b = m ? new_session(m, 64, 64) : NULL;
    if (!a || !b) { qi_session_free(a); qi_session_free(b); qi_model_free(m); return; }
    int32_t p[12] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, q[3] = {100, 200, 300};
    float la[512], lb[512];
    CHECK(qi_session_eval(a, p, 12, NULL) == QI_OK, "a prefix");
    CHECK(qi_session_eval(a, q, 3, NULL) == QI_OK, "a suffix 1");
    CHECK(qi_session_rewind(a, 12) == QI_OK && qi_session_logits(a) == NULL, "rewind drops logits");
    int32_t r[2] = {42, 43};
    CHECK(qi_session_eval(a, r, 2, NULL) == QI_OK, "a suffix 2");
    memcpy(la, qi_session_logits(a), sizeof la);
    CHECK(qi_session_eval(b, p, 12, NULL) == QI_OK && qi_session_eval(b, r, 2, NULL) == QI_OK, "b");
    memcpy(lb, qi_session_logits(b), sizeof lb);
    float d = 0;
    for (int i = 0; i < 512; i++) d = fmaxf(d, fabsf(la[i] - lb[i]));
    CHECK(d <= 1e-5f, "prefix reuse differs from a fresh run by %g", d);
    /* all_logits rows agree with the decode path's last logits */
    float *all = malloc(3 * 512 * sizeof(float));
    CHECK(qi_session_rewind(b, 0) == QI_OK && qi_session_eval(b, q, 3, all) == QI_OK, "all logits");
    CHECK(!memcmp(all + 2 * 512, qi_session_logits(b), 512 * sizeof(float)), "last row is the session's logits");
    free(all);
    qi_session_free(a);
    qi_session_free(b);
    qi_model_free(m);
}

/* The tuning knobs move work between threads and change prefetching, never
 * a logit: prefill and decode agree bit for bit with the defaults, and with
 * more threads than CPUs. isa picks
 * the level; the library reads no environment (QINFER_ISA changes nothing). */
static void tuning_knobs_keep_logits(void) {
    qi_model *m = load_t2();
    if (!m) return;
    int32_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = (i * 37 + 11) % 512;
    float ref[2][512];
    setenv("QINFER_ISA", "bogus", 1); /* only the CLI and bench read it */
    int oversubscribed = 2 * (int)sysconf(_SC_NPROCESSORS_ONLN) + 1; /* its spinners yield */
    if (oversubscribed > 64) oversubscribed = 64;
    for (int v = 0; v < 7; v++) {
        qi_config c;
        qi_config_default(&c);
        c.kv_capacity = 64;
        c.prefill_chunk = 32;
        c.n_threads = 2;
        c.decode_rows = c.prefill_rows = 0;
        c.decode_prefetch = -1;
        c.isa = QI_ISA_AUTO;
        if (v == 1) { c.decode_rows = 16; c.prefill_rows = 32; }
        if (v == 2) { c.decode_rows = 64; c.prefill_rows = 16; c.decode_prefetch = 0; }
        if (v == 3) { c.decode_prefetch = 4096; c.spin = 0; }
        if (v == 4) { c.spin = 1000000; c.decode_rows = 4096; }
        if (v == 5) c.n_threads = oversubscribed;
        if (v == 6) c.isa = QI_ISA_SCALAR;
        qi_session *s = NULL;
        char msg[256];
        CHECK(qi_session_new(m, &c, &s, msg, sizeof msg) == QI_OK, "variant %d: %s", v, msg);
        if (!s) continue;
        float got[2][512];
        CHECK(qi_session_eval(s, ids, 39, NULL) == QI_OK, "prefill");
        memcpy(got[0], qi_session_logits(s), sizeof got[0]);
        CHECK(qi_session_eval(s, ids + 39, 1, NULL) == QI_OK, "decode");
        memcpy(got[1], qi_session_logits(s), sizeof got[1]);
        if (v == 0) memcpy(ref, got, sizeof ref);
        else if (v < 6) CHECK(!memcmp(ref, got, sizeof ref), "variant %d changed the logits", v);
        else {
            CHECK(!strcmp(qi_session_isa(s), "scalar"), "isa = QI_ISA_SCALAR runs %s", qi_session_isa(s));
            float d = 0;
            for (int i = 0; i < 512; i++) d = fmaxf(d, fabsf(got[1][i] - ref[1][i]));
            CHECK(d < 0.5f, "scalar level is far from the default one: %g", d);
        }
        qi_session_free(s);
    }
    CHECK(qi_isa_parse("avx2") == QI_ISA_AVX2 && qi_isa_parse("nope") == -1 && !strcmp(qi_isa_name(QI_ISA_I8MM), "i8mm"),
          "isa names");
    unsetenv("QINFER_ISA");
    qi_model_free(m);
}

/* the progress callback: every chunk of a prompt reported; a cancel keeps
 * what was fed, and the same prompt again goes on from there to the logits
 * an uninterrupted prompt gives */
typedef struct progress_log { int calls, done[16], total, cancel_at; } progress_log;
static int on_progress(void *user, int done, int total) {
    progress_log *p = user;
    if (p->calls < 16) p->done[p->calls] = done;
    p->calls++;
    p->total = total;
    return p->cancel_at && done >= p->cancel_at;
}

static void progress_and_cancel(void) {
    qi_model *m = load_t2();
    if (!m) return;
    int32_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = (i * 53 + 7) % 512;
    qi_session *ref = new_session(m, 64, 8), *s = new_session(m, 64, 8);
    progress_log quiet = {0};
    CHECK(ref && s && qi_session_set_progress(ref, on_progress, &quiet) == QI_OK, "sessions");
    CHECK(qi_session_eval(ref, ids, 40, NULL) == QI_OK, "prompt");
    CHECK(quiet.calls == 5 && quiet.total == 40 && quiet.done[0] == 8 && quiet.done[4] == 40, "%d calls, last %d of %d",
          quiet.calls, quiet.done[4], quiet.total);
    quiet.calls = 0;
    int32_t one = 5;
    CHECK(qi_session_eval(ref, &one, 1, NULL) == QI_OK && quiet.calls == 0, "a decode step reports nothing");
    qi_session_rewind(ref, 40);
    CHECK(qi_session_eval(ref, ids + 39, 0, NULL) == QI_OK, "nothing to feed");

    progress_log stop = {.cancel_at = 16};
    qi_session_set_progress(s, on_progress, &stop);
    int reused = -1;
    CHECK(qi_session_prompt(s, ids, 40, &reused) == QI_ERR_CANCELLED, "cancelled");
    CHECK(qi_session_pos(s) == 16 && qi_session_logits(s) == NULL && stop.calls == 2, "kept %d ids, %d calls",
          qi_session_pos(s), stop.calls);
    int32_t t;
    CHECK(qi_session_sample(s, &t) == QI_ERR_INVALID_ARG, "no logits to sample after a cancel");
    qi_session_set_progress(s, NULL, NULL);
    CHECK(qi_session_prompt(s, ids, 40, &reused) == QI_OK && reused == 16, "the same prompt goes on (reused %d)", reused);
    qi_session_free(ref);
    ref = new_session(m, 64, 8);
    CHECK(ref && qi_session_eval(ref, ids, 40, NULL) == QI_OK, "reference");
    CHECK(ref && qi_session_logits(s) && !memcmp(qi_session_logits(s), qi_session_logits(ref), 512 * sizeof(float)),
          "resumed logits equal uninterrupted ones");
    progress_log last = {.cancel_at = 40};
    qi_session_set_progress(ref, on_progress, &last);
    qi_session_rewind(ref, 0);
    CHECK(qi_session_eval(ref, ids, 40, NULL) == QI_OK && qi_session_logits(ref), "a cancel at the last chunk is too late");
    CHECK(qi_session_set_progress(NULL, on_progress, NULL) == QI_ERR_INVALID_ARG, "NULL session");
    qi_session_free(ref);
    qi_session_free(s);
    qi_model_free(m);
}

int main(void) {
    RUN(version);
    RUN(knobs_are_the_reference);
    RUN(progress_and_cancel);
    RUN(status_strings);
    RUN(load_errors);
    RUN(model_errors);
    RUN(meta_and_info);
    RUN(config_errors);
    RUN(eval_errors_leave_session_unchanged);
    RUN(prefix_reuse);
    RUN(tuning_knobs_keep_logits);
    return TEST_EXIT();
}
