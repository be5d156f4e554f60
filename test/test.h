/* Minimal test harness: CHECK records a failure and goes on; RUN counts a
 * test as failed if any CHECK inside it failed. Each binary ends with the
 * line "# N passed, M failed" that test/run.sh adds up. */
#ifndef QINFER_TEST_H
#define QINFER_TEST_H
#include <stdio.h>
#include <stdlib.h>

static int t_checks_failed, t_passed, t_failed, t_skipped;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            t_checks_failed++;                                             \
            printf("    check failed %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
        }                                                                  \
    } while (0)

#define RUN(fn)                                                            \
    do {                                                                   \
        int before_ = t_checks_failed;                                     \
        fn();                                                              \
        fflush(stdout);                                                    \
        if (t_checks_failed == before_) { t_passed++; printf("ok   %s\n", #fn); } \
        else { t_failed++; printf("FAIL %s\n", #fn); }                     \
    } while (0)

/* a test that does not run here says so, and is counted as skipped, not passed */
#define SKIP(fn, why) (t_skipped++, printf("SKIP %s: %s\n", #fn, why))
/* RUN where what it needs is here, else SKIP saying why */
#define RUN_OR_SKIP(here, fn, why)                                         \
    do {                                                                   \
        if (here) RUN(fn);                                                 \
        else SKIP(fn, why);                                                \
    } while (0)

#define TEST_EXIT()                                                                                  \
    (t_skipped ? printf("# %d passed, %d failed, %d skipped\n", t_passed, t_failed, t_skipped)        \
               : printf("# %d passed, %d failed\n", t_passed, t_failed),                            \
     t_failed ? 1 : 0)

/* set by test/check-aarch64.sh: the suite runs under qemu, about 30x slower */
static inline int emulated(void) {
    const char *e = getenv("QINFER_EMULATED");
    return e && *e && *e != '0';
}

/* set by make asan / ubsan (test/run.sh's QINFER_SANITIZER): several times slower */
static inline int sanitized(void) {
    const char *e = getenv("QINFER_SANITIZER");
    return e && *e;
}

/* qemu or a sanitizer: long runs that reach no code the rest does not are cut */
static inline int slow_runner(void) { return emulated() || sanitized(); }

/* Where ../shared lives (QINFER_SHARED overrides). */
static inline const char *shared_dir(void) {
    const char *s = getenv("QINFER_SHARED");
    return s && *s ? s : "../shared";
}
#endif
