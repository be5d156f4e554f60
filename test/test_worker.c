/* The gate's worker (drivers/gate/worker.c) of this build (with the tests'
 * knobs: build/.../test/worker), spoken to as the
 * judge speaks to it, but outside the sandbox and with this environment, so
 * that a sanitizer build checks it too (under `make asan`, LeakSanitizer
 * runs at its exit: a leak is a non-zero exit, which fails quit_cleanly).
 * What it reports must be what the library gives in this process: the same
 * greedy tokens, the same logits, a histogram of exactly the draws asked;
 * a malformed command gets an error reply, never a crash. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../drivers/gate/protocol.h"
#include "../drivers/gate/runner.h"
#include "qinfer.h"
#include "test.h"

static const char *model_path = "data/tiny-chat/tiny-chat-q8_0.gguf";
static char exe[4096];
static worker w;
static qi_model *model;
static int n_vocab;
static const int32_t prompt[] = {1, 100, 200, 300, 42, 7};
enum { N_PROMPT = sizeof prompt / sizeof *prompt, N_GEN = 12 };

static int start(void) {
    int in[2], out[2];
    if (pipe(in) || pipe(out)) return -1;
    memset(&w, 0, sizeof w);
    w.pid = fork();
    if (w.pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execl(exe, "worker", model_path, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    w.to = in[1];
    w.from = out[0];
    return w.pid > 0 ? 0 : -1;
}

static int line(char *b, size_t cap) { return worker_line(&w, b, cap, NULL, now_s() + 60); }

static int send_text(const char *s) { return worker_send(&w, s, strlen(s)); }

/* the command head followed by " n id..." and a newline */
static int send_ids(const char *head, const int32_t *ids, int n) {
    char b[512];
    int o = snprintf(b, sizeof b, "%s %d", head, n);
    for (int i = 0; i < n; i++) o += snprintf(b + o, sizeof b - (size_t)o, " %d", ids[i]);
    snprintf(b + o, sizeof b - (size_t)o, "\n");
    return send_text(b);
}

static qi_session *greedy_session(void) {
    qi_config c;
    qi_config_default(&c);
    c.temperature = 0;
    qi_session *s = NULL;
    qi_session_new(model, &c, &s, NULL, 0);
    return s;
}

static void ready(void) {
    char b[256];
    CHECK(!line(b, sizeof b) && proto_ready(b) == n_vocab, "ready line '%s'", b);
}

static void greedy_tokens_match(void) {
    qi_session *s = greedy_session();
    int32_t want[N_GEN];
    CHECK(s && !qi_session_eval(s, prompt, N_PROMPT, NULL), "in-process prefill");
    for (int i = 0; s && i < N_GEN; i++) {
        qi_session_sample(s, &want[i]);
        if (i + 1 < N_GEN) qi_session_eval(s, &want[i], 1, NULL);
    }
    qi_session_free(s);
    char head[128];
    snprintf(head, sizeof head, "G T %d 0 0 1 0 1 0 42", N_GEN);
    CHECK(!send_ids(head, prompt, N_PROMPT), "send");
    char b[256];
    for (int i = 0; i < N_GEN; i++) {
        CHECK(!line(b, sizeof b), "token %d: no line", i);
        int32_t t = proto_token(b, n_vocab);
        CHECK(t == want[i], "token %d: worker '%s', library %d", i, b, want[i]);
    }
    CHECK(!line(b, sizeof b) && proto_end(b) == 0, "end: '%s'", b);
}

static void forced_logits_match(void) {
    qi_session *s = greedy_session();
    float *got = malloc((size_t)n_vocab * sizeof *got);
    CHECK(s && got && !send_ids("F 0 0 1 0 1 0 42", prompt, N_PROMPT), "send");
    char b[256];
    for (int i = 0; s && got && i < N_PROMPT; i++) {
        qi_session_eval(s, prompt + i, 1, NULL);
        CHECK(!line(b, sizeof b) && !proto_logits(b, n_vocab), "row %d: '%s'", i, b);
        CHECK(!worker_bytes(&w, got, (size_t)n_vocab * sizeof *got, now_s() + 60), "row %d: logits", i);
        CHECK(!memcmp(got, qi_session_logits(s), (size_t)n_vocab * sizeof *got), "row %d: logits differ from the library's", i);
    }
    CHECK(!line(b, sizeof b) && proto_end(b) == 0, "end: '%s'", b);
    free(got);
    qi_session_free(s);
}

static void histogram_adds_up(void) {
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    int *counts = malloc((size_t)n_vocab * sizeof *counts);
    for (int i = 0; logits && i < n_vocab; i++) logits[i] = (float)(i % 7) * 0.5f;
    const int32_t recent[] = {3, 4};
    CHECK(logits && counts && !send_ids("S 0.699999988 20 0.800000012 0 1.10000002 64 7 5000", recent, 2), "send");
    CHECK(logits && !worker_send(&w, logits, (size_t)n_vocab * sizeof *logits), "send logits");
    static char b[1 << 16];
    CHECK(!line(b, sizeof b) && counts && !proto_hist(b, n_vocab, counts, 5000), "histogram: '%.100s'", b);
    int support = 0;
    for (int i = 0; counts && i < n_vocab; i++) support += counts[i] > 0;
    CHECK(support >= 2 && support <= 20, "%d ids drawn (top_k 20)", support);
    CHECK(!line(b, sizeof b) && proto_end(b) == 0, "end: '%s'", b);
    free(logits);
    free(counts);
}

static void malformed_commands_get_errors(void) {
    const char *bad[] = {"X\n", "G T 4 0 0 1 0 1 0 1 1 999999\n", "G T 4 0 0 1 0 1 0 1 0\n", "F 0 0 1 0 1 0 1 3 1\n", "\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char b[512];
        CHECK(!send_text(bad[i]) && !line(b, sizeof b) && proto_end(b) > 0, "'%.*s' got '%s'", (int)strlen(bad[i]) - 1, bad[i], b);
    }
    greedy_tokens_match(); /* and it goes on answering */
}

static void quit_cleanly(void) {
    CHECK(!send_text("Q\n"), "send Q");
    int st = 0;
    double t0 = now_s();
    pid_t r;
    while ((r = waitpid(w.pid, &st, WNOHANG)) == 0 && now_s() - t0 < 30) usleep(10000);
    if (r == 0) { kill(w.pid, SIGKILL); waitpid(w.pid, &st, 0); }
    CHECK(r == w.pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "the worker's exit: %s %d (a sanitizer's report is a non-zero exit)", WIFEXITED(st) ? "status" : "signal",
          WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

int main(int argc, char **argv) {
    (void)argc;
    if (emulated()) { /* the worker would need qemu too; the gate is native only */
        SKIP(worker, "the gate's worker runs natively only");
        return TEST_EXIT();
    }
    snprintf(exe, sizeof exe, "%s", argv[0]);
    char *slash = strrchr(exe, '/');
    snprintf(slash ? slash + 1 : exe, sizeof exe - (size_t)(slash ? slash + 1 - exe : 0), "worker");
    signal(SIGPIPE, SIG_IGN);
    qi_config c;
    qi_config_default(&c);
    if (qi_model_load_cfg(model_path, &c, &model, NULL, 0) || start()) { printf("cannot load %s or start %s\n", model_path, exe); return 1; }
    qi_model_info info;
    qi_model_get_info(model, &info);
    n_vocab = info.n_vocab;
    RUN(ready);
    RUN(greedy_tokens_match);
    RUN(forced_logits_match);
    RUN(histogram_adds_up);
    RUN(malformed_commands_get_errors);
    RUN(quit_cleanly);
    qi_model_free(model);
    return TEST_EXIT();
}
