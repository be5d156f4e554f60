/* Read bandwidth; see bandwidth.h. */
#include "bandwidth.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t bw_vec __attribute__((vector_size(16))); /* SSE2 or NEON, whichever builds it */
typedef struct bw_arg { const bw_vec *p; size_t n; int reps; bw_vec sum; } bw_arg;

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* four independent XOR chains of 16-byte loads: the loads set the pace; a
 * software prefetch BW_AHEAD bytes ahead, as the decode kernels have, so the
 * measure is what a streaming kernel can reach, not what the hardware
 * prefetcher alone gives */
#define BW_AHEAD 2048
static void *bw_thread(void *v) {
    bw_arg *a = v;
    bw_vec s0 = {0, 0}, s1 = {0, 0}, s2 = {0, 0}, s3 = {0, 0};
    for (int r = 0; r < a->reps; r++)
        for (size_t i = 0; i + 4 <= a->n; i += 4) {
            __builtin_prefetch((const char *)(a->p + i) + BW_AHEAD);
            s0 ^= a->p[i];
            s1 ^= a->p[i + 1];
            s2 ^= a->p[i + 2];
            s3 ^= a->p[i + 3];
        }
    a->sum = s0 ^ s1 ^ s2 ^ s3;
    return NULL;
}

double read_bandwidth(size_t bytes, int n_threads) {
    if (bytes < (1u << 20)) bytes = 1u << 20;
    size_t n = bytes / sizeof(bw_vec);
    n = (n + 3) & ~(size_t)3; /* aligned_alloc wants a multiple of the alignment */
    bw_vec *buf = aligned_alloc(64, n * sizeof(bw_vec));
    if (!buf) return 0;
    memset(buf, 0x5a, n * sizeof(bw_vec));
    int nt = n_threads > 0 ? n_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1) nt = 1;
    if (nt > 256) nt = 256;
    int reps = bytes < (64u << 20) ? (int)((64u << 20) / bytes) : 1;
    pthread_t th[256];
    bw_arg args[256];
    double best = 0;
    uint64_t sink = 0;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = seconds();
        int started = 0;
        for (int t = 0; t < nt; t++) {
            args[t] = (bw_arg){buf + n / (size_t)nt * (size_t)t, n / (size_t)nt, reps, {0, 0}};
            if (pthread_create(&th[t], NULL, bw_thread, &args[t]) != 0) break;
            started++;
        }
        for (int t = 0; t < started; t++) {
            pthread_join(th[t], NULL);
            sink ^= args[t].sum[0] ^ args[t].sum[1];
        }
        if (started < nt) break;
        double gbs = (double)(n / (size_t)nt * (size_t)nt * sizeof(bw_vec)) * reps / (seconds() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    free(buf);
    return sink == 42 ? best * (1 + 1e-12) : best; /* keep the sums alive */
}
