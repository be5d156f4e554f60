/* The text API and ChatML: the template byte for byte, the golden
 * conversations reproduced exactly, tokenize/detokenize through the public
 * API, and multi-turn sessions that re-evaluate only new tokens. */
#include <math.h>
#include <string.h>

#include "fixtures.h"
#include "qinfer.h"
#include "test.h"

static char *render(const qi_chat_msg *m, int n, int gen) {
    size_t len = 0;
    qi_status st = qi_chat_render(m, n, gen, NULL, 0, &len);
    CHECK(st == QI_ERR_BUFFER_TOO_SMALL && len > 0, "size query: %d", st);
    char *buf = malloc(len + 1);
    size_t len2 = 0;
    st = qi_chat_render(m, n, gen, buf, len + 1, &len2);
    CHECK(st == QI_OK && len2 == len && strlen(buf) == len, "render: %d", st);
    return buf;
}

static void template_turns(void) {
    qi_chat_msg m[4] = {{"system", "You are terse."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "Bye\nnow"}};
    char *got = render(m, 4, 1);
    const char *want = "<|im_start|>system\nYou are terse.<|im_end|>\n"
                       "<|im_start|>user\nHi!<|im_end|>\n"
                       "<|im_start|>assistant\nHello.<|im_end|>\n"
                       "<|im_start|>user\nBye\nnow<|im_end|>\n"
                       "<|im_start|>assistant\n";
    CHECK(!strcmp(got, want), "got:\n%s", got);
    free(got);
    got = render(m + 1, 1, 0); /* no system message: the default one; no generation prompt */
    CHECK(!strcmp(got, "<|im_start|>system\n" QI_DEFAULT_SYSTEM "<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"), "got:\n%s", got);
    free(got);
    got = render(NULL, 0, 1);
    CHECK(!strcmp(got, "<|im_start|>system\n" QI_DEFAULT_SYSTEM "<|im_end|>\n<|im_start|>assistant\n"), "empty: %s", got);
    free(got);
    /* a later system message is rendered in place; tool results group into one user turn */
    qi_chat_msg t[5] = {{"user", "q"}, {"system", "s2"}, {"tool", "r1"}, {"tool", "r2"}, {"assistant", "a"}};
    got = render(t, 5, 0);
    CHECK(!strcmp(got, "<|im_start|>system\n" QI_DEFAULT_SYSTEM "<|im_end|>\n<|im_start|>user\nq<|im_end|>\n"
                       "<|im_start|>system\ns2<|im_end|>\n<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n"
                       "<tool_response>\nr2\n</tool_response><|im_end|>\n<|im_start|>assistant\na<|im_end|>\n"),
          "tools: %s", got);
    free(got);
    qi_chat_msg bad[1] = {{"narrator", "x"}};
    size_t len;
    CHECK(qi_chat_render(bad, 1, 1, NULL, 0, &len) == QI_ERR_INVALID_ARG, "unknown role refused");
    CHECK(qi_chat_render(m, -1, 1, NULL, 0, &len) == QI_ERR_INVALID_ARG, "negative count");
    char small[8];
    CHECK(qi_chat_render(m, 4, 1, small, sizeof small, &len) == QI_ERR_BUFFER_TOO_SMALL && len > 8, "short buffer");
}

/* The golden S2 and S3 are the template's rendering of these conversations
 * (from ../shared/golden/make_fixtures.py). */
static void template_golden(void) {
    qi_chat_msg s2[1] = {{"user", "Explain in two short paragraphs why the sky looks blue during the day but red at "
                                  "sunset. Keep the explanation simple enough for a curious ten-year-old to follow quite easily."}};
    qi_chat_msg s3[5] = {
        {"user", "What is the capital of France, and what is it famous for?"},
        {"assistant", "The capital of France is Paris. It is famous for the Eiffel Tower, the Louvre museum, its "
                      "cafés and bakeries, fashion houses, and the river Seine, which flows through the middle of "
                      "the city. About 2.1 million people live in Paris itself, and more than 12 million in the "
                      "wider metropolitan area."},
        {"user", "Write a Python function that returns the n-th Fibonacci number without recursion."},
        {"assistant", "```python\ndef fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, "
                      "a + b\n    return a\n```\nIt runs in O(n) time, uses O(1) memory, and fib(10) returns 55."},
        {"user", "Thanks! Now translate \"Good morning, my friend\" into German, Spanish and Japanese (おはよう), and "
                 "tell me which version is the most polite. Answer in a short list of 3 items, at most 40 words, and "
                 "add one fun fact about each language. Finally, explain how to pronounce the Japanese greeting, "
                 "syllable by syllable, for a beginner."},
    };
    const qi_chat_msg *conv[2] = {s2, s3};
    int n[2] = {1, 5};
    for (int k = 0; k < 2; k++) {
        size_t len;
        char *want = manifest_text(k + 2, &len);
        CHECK(want != NULL, "MANIFEST text S%d", k + 2);
        char *got = render(conv[k], n[k], 1);
        CHECK(want && !strcmp(got, want), "S%d differs:\n%s", k + 2, got);
        free(got);
        free(want);
    }
}

static qi_model *load(const char *rel) {
    char path[1024], msg[256];
    snprintf(path, sizeof path, "%s/%s", shared_dir(), rel);
    qi_model *m = NULL;
    CHECK(qi_model_load(path, &m, msg, sizeof msg) == QI_OK, "%s: %s", rel, msg);
    return m;
}

static void tokenize_api(void) {
    qi_model *m = load("vocab/qwen2/qwen2.5-vocab.gguf");
    if (!m) return;
    int32_t ids[16];
    int n;
    CHECK(qi_tokenize(m, "Hello world", 11, 0, ids, 16, &n) == QI_OK && n == 2 && ids[0] == 9707 && ids[1] == 1879, "Hello world");
    CHECK(qi_tokenize(m, "Hello world", 11, 0, ids, 1, &n) == QI_ERR_BUFFER_TOO_SMALL && n == 2, "short buffer gives the count");
    CHECK(qi_tokenize(m, "", 0, 0, ids, 16, &n) == QI_OK && n == 0, "empty");
    CHECK(qi_tokenize(m, "<|im_end|>", 10, 1, ids, 16, &n) == QI_OK && n == 1 && ids[0] == 151645, "special on");
    CHECK(qi_tokenize(m, "<|im_end|>", 10, 0, ids, 16, &n) == QI_OK && n > 1, "special off: plain text (%d ids)", n);
    CHECK(qi_token_id(m, "<|im_end|>") == 151645 && qi_token_id(m, "no such token") == -1, "token id");
    CHECK(qi_token_is_eog(m, 151645) && qi_token_is_eog(m, 151643) && !qi_token_is_eog(m, 9707), "end-of-generation ids");
    char buf[64];
    size_t len;
    CHECK(qi_token_bytes(m, 1879, buf, sizeof buf, &len) == QI_OK && len == 6 && !memcmp(buf, " world", 6), "piece");
    CHECK(qi_token_bytes(m, 200000, buf, sizeof buf, &len) == QI_ERR_BAD_TOKEN, "bad id");
    /* "é" split over two byte tokens: held back, then whole */
    int32_t e[8];
    CHECK(qi_tokenize(m, "caf\xC3\xA9!", 6, 0, e, 8, &n) == QI_OK, "café");
    qi_detok d = {0};
    char out[QI_DETOK_MAX], text[64] = "";
    size_t tl = 0;
    for (int i = 0; i < n; i++) {
        CHECK(qi_detok_feed(m, &d, e[i], out, &len) == QI_OK, "feed");
        memcpy(text + tl, out, len);
        tl += len;
    }
    CHECK(qi_detok_flush(&d, out, &len) == QI_OK, "flush");
    memcpy(text + tl, out, len);
    tl += len;
    CHECK(tl == 6 && !memcmp(text, "caf\xC3\xA9!", 6), "stream round trip (%zu bytes)", tl);
    qi_model_free(m);
    qi_model *t2 = load("golden/tiny-gqa7-q4_0.gguf");
    if (t2) {
        CHECK(qi_tokenize(t2, "x", 1, 0, ids, 16, &n) == QI_ERR_NO_VOCAB, "id-only model refuses text");
        CHECK(qi_detok_feed(t2, &d, 1, out, &len) == QI_ERR_NO_VOCAB, "id-only model refuses detok");
        qi_model_free(t2);
    }
}

/* A follow-up turn re-evaluates only its new tokens, and gives the same
 * logits as a fresh session fed the whole conversation. */
static void multi_turn_reuse(void) {
    qi_model *m = load("golden/tiny-qwen2-q4_0.gguf");
    if (!m) return;
    qi_config c;
    qi_config_default(&c);
    c.kv_capacity = 512;
    c.temperature = 0;
    qi_session *s = NULL, *fresh = NULL;
    char msg[256];
    CHECK(qi_session_new(m, &c, &s, msg, sizeof msg) == QI_OK, "%s", msg);
    CHECK(qi_session_new(m, &c, &fresh, msg, sizeof msg) == QI_OK, "%s", msg);
    qi_chat_msg conv[3] = {{"user", "Hi there!"}, {"assistant", ""}, {"user", "And again?"}};
    char *t1 = render(conv, 1, 1);
    int32_t ids[512];
    int n1, n2, reused;
    CHECK(qi_tokenize(m, t1, strlen(t1), 1, ids, 512, &n1) == QI_OK, "tokenize 1");
    CHECK(qi_session_prompt(s, ids, n1, &reused) == QI_OK && reused == 0, "first prompt reuses nothing (%d)", reused);
    /* generate a reply and keep its text */
    char reply[4096] = "";
    size_t rl = 0;
    qi_detok d = {0};
    for (int i = 0; i < 6; i++) {
        int32_t tok;
        char out[QI_DETOK_MAX];
        size_t len;
        CHECK(qi_session_sample(s, &tok) == QI_OK, "sample");
        qi_detok_feed(m, &d, tok, out, &len);
        memcpy(reply + rl, out, len);
        rl += len;
        CHECK(qi_session_eval(s, &tok, 1, NULL) == QI_OK, "feed");
    }
    reply[rl] = 0;
    conv[1].content = reply;
    char *t2 = render(conv, 3, 1);
    CHECK(qi_tokenize(m, t2, strlen(t2), 1, ids, 512, &n2) == QI_OK, "tokenize 2");
    CHECK(qi_session_prompt(s, ids, n2, &reused) == QI_OK, "second prompt: %s", qi_session_errmsg(s));
    CHECK(reused >= n1, "second turn reused %d tokens, the first prompt alone had %d", reused, n1);
    printf("    turn 2: %d tokens, %d reused, %d evaluated\n", n2, reused, n2 - reused);
    CHECK(qi_session_prompt(fresh, ids, n2, &reused) == QI_OK && reused == 0, "fresh");
    const float *a = qi_session_logits(s), *b = qi_session_logits(fresh);
    float dmax = 0;
    for (int i = 0; a && b && i < 151936; i++) dmax = fmaxf(dmax, fabsf(a[i] - b[i]));
    CHECK(a && b && dmax < 1e-3f, "reused cache differs from a fresh one by %g", dmax);
    /* the same prompt again costs one token (the last, for its logits) */
    CHECK(qi_session_prompt(s, ids, n2, &reused) == QI_OK && reused == n2 - 1, "same prompt reuses all but one (%d)", reused);
    free(t1);
    free(t2);
    qi_session_free(s);
    qi_session_free(fresh);
    qi_model_free(m);
}

static int stop_after_3(void *user, int32_t tok) {
    (void)tok;
    return ++*(int *)user >= 3;
}

static void generate_api(void) {
    qi_model *m = load("golden/tiny-qwen2-q4_0.gguf");
    if (!m) return;
    qi_config c;
    qi_config_default(&c);
    c.kv_capacity = 80;
    c.temperature = 0.8f;
    c.seed = 7;
    qi_session *s = NULL;
    char msg[256];
    CHECK(qi_session_new(m, &c, &s, msg, sizeof msg) == QI_OK, "%s", msg);
    int32_t p[3] = {151644, 872, 198};
    qi_gen_stats gs;
    int count = 0;
    CHECK(qi_session_prompt(s, p, 3, NULL) == QI_OK, "prompt");
    CHECK(qi_generate(s, 50, stop_after_3, &count, &gs) == QI_ERR_CANCELLED && gs.n_gen == 3 && count == 3, "callback stops");
    /* seeds reproduce: two sessions, same seed, same tokens */
    qi_session *s2 = NULL;
    CHECK(qi_session_new(m, &c, &s2, msg, sizeof msg) == QI_OK, "%s", msg);
    qi_session_rewind(s, 0);
    qi_session_free(s);
    CHECK(qi_session_new(m, &c, &s, msg, sizeof msg) == QI_OK, "%s", msg);
    int32_t a[20], b[20];
    for (int k = 0; k < 2; k++) {
        qi_session *x = k ? s2 : s;
        int32_t *out = k ? b : a;
        qi_session_prompt(x, p, 3, NULL);
        for (int i = 0; i < 20; i++) {
            qi_session_sample(x, &out[i]);
            qi_session_eval(x, &out[i], 1, NULL);
        }
    }
    CHECK(!memcmp(a, b, sizeof a), "same seed, same tokens");
    /* a full context ends generation with its code, keeping what was made */
    qi_session_rewind(s, 0);
    qi_session_prompt(s, p, 3, NULL);
    qi_status st = qi_generate(s, 1000, NULL, NULL, &gs);
    CHECK((st == QI_ERR_CONTEXT_FULL && gs.n_gen == 78) || (st == QI_OK && gs.stopped_at_eog), "context full: %d after %d", st, gs.n_gen);
    qi_session_free(s);
    qi_session_free(s2);
    qi_model_free(m);
}

int main(void) {
    RUN(template_turns);
    RUN(template_golden);
    RUN(tokenize_api);
    RUN(multi_turn_reuse);
    RUN(generate_api);
    return TEST_EXIT();
}
