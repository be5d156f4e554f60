/* One loaded model shared by 4 sessions generating at once on 4 threads,
 * each session with its own pool of 2: every session's greedy tokens equal
 * those of the same prompt run alone. `make tsan` runs this under
 * ThreadSanitizer; `make test` runs it as it is. */
#include <pthread.h>
#include <string.h>

#include "qinfer.h"
#include "test.h"

#define N_SESS 4
#define N_GEN 40

static const char *const prompts[N_SESS] = {"What is 17 + 31?", "Repeat these words: apple river stone",
                                            "Write a short poem about the sea.", "What is the capital of France?"};
static qi_model *model;

typedef struct job {
    int which;
    int32_t out[N_GEN];
    int n;
    qi_status st;
} job;

static int collect(void *user, int32_t tok) {
    job *j = user;
    if (j->n < N_GEN) j->out[j->n++] = tok;
    return 0;
}

static void *run(void *arg) {
    job *j = arg;
    qi_config c;
    qi_config_default(&c);
    c.n_threads = 2;
    c.kv_capacity = 512;
    c.temperature = 0;
    char msg[256];
    qi_session *s = NULL;
    j->n = 0;
    if ((j->st = qi_session_new(model, &c, &s, msg, sizeof msg))) return NULL;
    qi_chat_msg m = {"user", prompts[j->which]};
    char text[1024];
    size_t len;
    int32_t ids[512];
    int n = 0;
    if (!(j->st = qi_chat_render(&m, 1, 1, text, sizeof text, &len)) &&
        !(j->st = qi_tokenize(model, text, len, 1, ids, 512, &n)) && !(j->st = qi_session_prompt(s, ids, n, NULL)))
        j->st = qi_generate(s, N_GEN, collect, j, NULL);
    qi_session_free(s);
    return NULL;
}

static void shared_model_four_sessions(void) {
    job alone[N_SESS], together[N_SESS];
    for (int i = 0; i < N_SESS; i++) {
        alone[i].which = together[i].which = i;
        run(&alone[i]);
        CHECK(alone[i].st == QI_OK && alone[i].n > 0, "prompt %d alone: status %d, %d tokens", i, alone[i].st, alone[i].n);
    }
    pthread_t t[N_SESS];
    for (int i = 0; i < N_SESS; i++) CHECK(!pthread_create(&t[i], NULL, run, &together[i]), "thread %d", i);
    for (int i = 0; i < N_SESS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < N_SESS; i++) {
        CHECK(together[i].st == QI_OK, "prompt %d together: status %d", i, together[i].st);
        CHECK(together[i].n == alone[i].n && !memcmp(together[i].out, alone[i].out, sizeof(int32_t) * (size_t)alone[i].n),
              "prompt %d: %d tokens together, %d alone, not the same", i, together[i].n, alone[i].n);
    }
}

int main(void) {
    char msg[256];
    if (qi_model_load("data/tiny-chat/tiny-chat-q8_0.gguf", &model, msg, sizeof msg)) {
        printf("cannot load the tiny model: %s\n", msg);
        return 1;
    }
    RUN(shared_model_four_sessions);
    qi_model_free(model);
    return TEST_EXIT();
}
