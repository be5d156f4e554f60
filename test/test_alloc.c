/* Memory, as SQLite tests it: this program replaces malloc and friends (the
 * library's calls and the C library's own reach them), counts every block,
 * and can make the n-th allocation fail.
 *   - every allocation of load, session, tokenize, prompt, generate and chat
 *     rendering is failed in turn: each failure is a result code
 *     (QI_ERR_NOMEM), never a crash, and nothing is leaked;
 *   - qi_session_bytes(model, cfg) bounds what a session allocates, measured
 *     as the peak of live bytes from qi_session_new to qi_session_free.
 * Skipped under AddressSanitizer, which replaces malloc itself. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "qinfer.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif

#ifndef NO_INTERPOSE
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

typedef struct hdr {
    void *base;
    size_t size;
    size_t magic;
} hdr;
#define MAGIC 0x51494e46u
#define ROOM 64 /* bytes before each block: the header, and room to align to 64 */

static long fail_at = -1, calls;  /* fail the call numbered fail_at (from arming), -1: never */
static int failed;
static size_t live_bytes, peak_bytes;
static long live_blocks;

static void *take(size_t n, size_t align) {
    if (fail_at >= 0 && __atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST) == fail_at) {
        __atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
        errno = ENOMEM;
        return NULL;
    }
    if (align < 16) align = 16;
    if (n > SIZE_MAX - ROOM - align) return NULL;
    char *base = __libc_malloc(n + ROOM + align);
    if (!base) return NULL;
    uintptr_t u = ((uintptr_t)base + ROOM + align - 1) & ~(uintptr_t)(align - 1);
    hdr *h = (hdr *)u - 1;
    h->base = base;
    h->size = n;
    h->magic = MAGIC;
    size_t now = __atomic_add_fetch(&live_bytes, n, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&live_blocks, 1, __ATOMIC_SEQ_CST);
    size_t pk = __atomic_load_n(&peak_bytes, __ATOMIC_SEQ_CST);
    while (now > pk && !__atomic_compare_exchange_n(&peak_bytes, &pk, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return (void *)u;
}

void free(void *p) {
    if (!p) return;
    hdr *h = (hdr *)p - 1;
    if (h->magic != MAGIC) abort(); /* not ours: a bug in this test */
    h->magic = 0;
    __atomic_sub_fetch(&live_bytes, h->size, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&live_blocks, 1, __ATOMIC_SEQ_CST);
    __libc_free(h->base);
}
void *malloc(size_t n) { return take(n, 16); }
void *calloc(size_t a, size_t b) {
    if (b && a > SIZE_MAX / b) return NULL;
    void *p = take(a * b, 16);
    if (p) memset(p, 0, a * b);
    return p;
}
void *realloc(void *p, size_t n) {
    if (!p) return malloc(n);
    if (!n) { free(p); return NULL; }
    void *q = malloc(n);
    if (!q) return NULL;
    size_t old = ((hdr *)p - 1)->size;
    memcpy(q, p, old < n ? old : n);
    free(p);
    return q;
}
void *memalign(size_t align, size_t n) { return take(n, align); }
void *aligned_alloc(size_t align, size_t n) { return take(n, align); }
int posix_memalign(void **out, size_t align, size_t n) {
    void *p = take(n, align);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void *valloc(size_t n) { return take(n, 4096); }
void *pvalloc(size_t n) { return take((n + 4095) & ~(size_t)4095, 4096); }
size_t malloc_usable_size(void *p) { return p ? ((hdr *)p - 1)->size : 0; }

static const char *MODEL = "data/tiny-chat/tiny-chat-q8_0.gguf";

static qi_config small_config(void) {
    qi_config c;
    qi_config_default(&c);
    c.n_threads = 2;
    c.kv_capacity = 256;
    c.temperature = 0;
    return c;
}

/* everything a program does with the library, once; returns the first failure */
static qi_status cycle(void) {
    char msg[256];
    qi_model *m = NULL;
    qi_session *s = NULL;
    qi_status st = qi_model_load(MODEL, &m, msg, sizeof msg);
    qi_config c = small_config();
    if (!st) st = qi_session_new(m, &c, &s, msg, sizeof msg);
    char text[1024];
    size_t len = 0;
    qi_chat_msg msgs[2] = {{"system", "Be brief."}, {"user", "What is 17 + 31?"}};
    if (!st) st = qi_chat_render(msgs, 2, 1, text, sizeof text, &len);
    int32_t ids[256];
    int n = 0;
    if (!st) st = qi_tokenize(m, text, len, 1, ids, 256, &n);
    if (!st) st = qi_session_prompt(s, ids, n, NULL);
    if (!st) st = qi_generate(s, 8, NULL, NULL, NULL);
    qi_sampler *sp = NULL;
    if (!st) st = qi_sampler_new(&c, 16, &sp);
    qi_sampler_free(sp);
    qi_session_free(s);
    qi_model_free(m);
    return st;
}

static void every_allocation_fails_cleanly(void) {
    CHECK(cycle() == QI_OK, "the cycle works");
    long base_blocks = live_blocks;
    int injected = 0, codes_ok = 1, leaks = 0;
    for (long k = 0; k < 100000; k++) {
        calls = 0;
        failed = 0;
        fail_at = k;
        qi_status st = cycle();
        fail_at = -1;
        if (!failed) { CHECK(st == QI_OK, "no failure injected, yet status %d", st); break; }
        injected++;
        if (st != QI_ERR_NOMEM) { codes_ok = 0; printf("    allocation %ld failed: status %d (%s)\n", k, st, qi_status_str(st)); }
        if (live_blocks != base_blocks) { leaks++; printf("    allocation %ld failed: %ld blocks left\n", k, live_blocks - base_blocks); }
    }
    printf("    %d allocations failed in turn\n", injected);
    CHECK(injected > 20, "only %d allocations", injected);
    CHECK(codes_ok, "a failure gave another code than QI_ERR_NOMEM");
    CHECK(!leaks, "%d failures leaked", leaks);
}

static void session_bytes_bound_the_session(void) {
    char msg[256];
    qi_model *m = NULL;
    if (qi_model_load(MODEL, &m, msg, sizeof msg)) { CHECK(0, "%s", msg); return; }
    qi_config c = small_config();
    qi_config kinds[3] = {c, c, c};
    kinds[1].kv_type = QI_KV_F16, kinds[1].kv_capacity = 1024, kinds[1].n_threads = 1;
    kinds[2].kv_type = QI_KV_Q8_0, kinds[2].prefill_chunk = 7;
    for (int i = 0; i < 3; i++) {
        size_t want = qi_session_bytes(m, &kinds[i]);
        size_t before = live_bytes;
        peak_bytes = live_bytes;
        qi_session *s = NULL;
        CHECK(qi_session_new(m, &kinds[i], &s, msg, sizeof msg) == QI_OK, "%s", msg);
        int32_t ids[40];
        for (int k = 0; k < 40; k++) ids[k] = k + 100;
        CHECK(qi_session_prompt(s, ids, 40, NULL) == QI_OK && qi_generate(s, 16, NULL, NULL, NULL) == QI_OK, "run");
        qi_session_free(s);
        size_t used = peak_bytes - before;
        printf("    config %d: qi_session_bytes %zu, peak %zu\n", i, want, used);
        CHECK(want > 0 && used <= want, "config %d: the session took %zu bytes, more than the %zu announced", i, used, want);
        CHECK(used * 10 >= want * 9, "config %d: announced %zu, took only %zu: the estimate is loose", i, want, used);
    }
    qi_config bad = c;
    bad.top_p = 2;
    CHECK(qi_session_bytes(m, &bad) == 0 && qi_session_bytes(NULL, &c) == 0, "refused configs: 0");
    qi_model_free(m);
}
#endif

int main(void) {
#ifdef NO_INTERPOSE
    SKIP(alloc, "a sanitizer replaces malloc itself");
#else
    RUN(every_allocation_fails_cleanly);
    RUN(session_bytes_bound_the_session);
#endif
    return TEST_EXIT();
}
