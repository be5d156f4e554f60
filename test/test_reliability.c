/* Bad input, each with its own result code and a message, nothing crashing
 * and nothing of the caller's changed: the rows of README's Reliability
 * table that test_gguf, test_api and the CLI tests do not already hold.
 * The hostile files are the fuzz seeds named bad-*.gguf, which
 * test/fuzz/make_seeds.py writes into build/fuzz-seeds/gguf (make seeds). */
#include <string.h>

#include "qinfer.h"
#include "test.h"

#define SEEDS "build/fuzz-seeds/gguf/" /* make seeds writes them */

static void refused(const char *file, qi_status want, const char *needle) {
    qi_model *m = (qi_model *)1;
    char msg[256] = "";
    qi_status st = qi_model_load(file, &m, msg, sizeof msg);
    CHECK(st == want && m == NULL, "%s: got %d (%s), want %d (%s)", file, st, msg, want, qi_status_str(want));
    CHECK(strstr(msg, needle) != NULL, "%s: message '%s' should name '%s'", file, msg, needle);
}

static void hostile_files(void) {
    refused(SEEDS "bad-nan-norm.gguf", QI_ERR_MODEL_VALUES, "output_norm.weight");
    refused(SEEDS "bad-inf-scale.gguf", QI_ERR_MODEL_VALUES, "blk.0.ffn_up.weight");
    refused(SEEDS "bad-shape.gguf", QI_ERR_MODEL_TENSOR, "token_embd.weight");
    refused(SEEDS "bad-vocab-rows.gguf", QI_ERR_TOKENIZER, "262 entries");
    qi_model *m = NULL;
    char msg[256];
    CHECK(qi_model_load(SEEDS "f32-w8.gguf", &m, msg, sizeof msg) == QI_OK, "the unharmed file loads: %s", msg);
    qi_model_free(m);
    CHECK(qi_model_load(SEEDS "q8_0-w32.gguf", &m, msg, sizeof msg) == QI_OK, "the unharmed Q8_0 file loads: %s", msg);
    qi_model_free(m);
}

static qi_session *session(const qi_model *m, int capacity) {
    qi_config c;
    qi_config_default(&c);
    c.n_threads = 1;
    c.kv_capacity = capacity;
    qi_session *s = NULL;
    char msg[256];
    CHECK(qi_session_new(m, &c, &s, msg, sizeof msg) == QI_OK, "%s", msg);
    return s;
}

static void prompts(void) {
    qi_model *m = NULL;
    char msg[256];
    if (qi_model_load(SEEDS "f32-w8.gguf", &m, msg, sizeof msg)) { CHECK(0, "%s", msg); return; }
    /* invalid UTF-8: the byte-level vocabulary has every byte, so it is
     * encoded byte by byte; decoding shows each bad byte as U+FFFD */
    int32_t ids[16];
    int n = 0;
    CHECK(qi_tokenize(m, "a\xff\xfe", 3, 0, ids, 16, &n) == QI_OK && n == 3, "invalid UTF-8: %d ids", n);
    qi_detok d = {0};
    char out[QI_DETOK_MAX * 4];
    size_t o = 0, k;
    for (int i = 0; i < n; i++) {
        CHECK(qi_detok_feed(m, &d, ids[i], out + o, &k) == QI_OK, "feed");
        o += k;
    }
    CHECK(qi_detok_flush(&d, out + o, &k) == QI_OK, "flush");
    o += k;
    CHECK(o == 7 && !memcmp(out, "a\xef\xbf\xbd\xef\xbf\xbd", 7), "decoded %zu bytes", o);
    /* empty: no ids; evaluating none changes nothing; sampling before any is refused */
    CHECK(qi_tokenize(m, "", 0, 1, ids, 16, &n) == QI_OK && n == 0, "empty text: %d ids", n);
    qi_session *s = session(m, 16);
    if (s) {
        int32_t t;
        CHECK(qi_session_eval(s, ids, 0, NULL) == QI_OK && qi_session_pos(s) == 0, "no ids");
        CHECK(qi_session_sample(s, &t) == QI_ERR_INVALID_ARG, "sampling before any id");
        /* longer than the context: refused whole, the session as it was */
        int32_t many[20];
        for (int i = 0; i < 20; i++) many[i] = i;
        CHECK(qi_session_eval(s, many, 20, NULL) == QI_ERR_CONTEXT_FULL, "20 ids into 16");
        CHECK(qi_session_pos(s) == 0 && strstr(qi_session_errmsg(s), "context full"), "pos %d: %s", qi_session_pos(s),
              qi_session_errmsg(s));
        CHECK(qi_session_eval(s, many, 16, NULL) == QI_OK, "then 16 fit");
        qi_session_free(s);
    }
    qi_model_free(m);
}

int main(void) {
    RUN(hostile_files);
    RUN(prompts);
    return TEST_EXIT();
}
