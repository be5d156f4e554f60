#include "threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct qi_pool {
    int n;                      /* threads including the caller */
    int spin;                   /* rounds to spin before sleeping */
    int yield;                  /* more threads than CPUs: spinners yield now and then */
    pthread_t *tids;
    qi_pool_fn fn;
    void *arg;
    atomic_int generation;      /* bumped once per job */
    atomic_int pending;         /* workers still busy with the current job */
    atomic_int sleepers;
    atomic_int quit;
    pthread_mutex_t mu;
    pthread_cond_t wake;
};

typedef struct worker_arg {
    qi_pool *p;
    int id;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A spinner that shares its CPU with another of the pool's threads hands the
 * CPU over now and then: else the thread it waits for may not run for a whole
 * time slice (4 threads on 2 CPUs: decode 11 -> 68 tok/s, Q4_0). With a CPU
 * each, never: a yield would hand it to another process instead (one busy
 * process beside a 2-thread pool on 2 CPUs: decode 22 -> 9-14 tok/s). */
static inline void spin_once(const qi_pool *p, int spins) {
    if (p->yield && spins % 64 == 0) sched_yield();
    else cpu_relax();
}

/* CPUs this process may run on */
static int cpus_allowed(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void *worker(void *argp) {
    worker_arg wa = *(worker_arg *)argp;
    free(argp);
    qi_pool *p = wa.p;
    int seen = 0;
    for (;;) {
        int g;
        int spins = 0;
        while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->quit)) {
            if (++spins < p->spin) { spin_once(p, spins); continue; }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->quit)) pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->quit)) return NULL;
        seen = g;
        p->fn(p->arg, wa.id, p->n);
        atomic_fetch_sub(&p->pending, 1);
    }
}

size_t pool_bytes(int n_threads) {
    return sizeof(qi_pool) + (size_t)n_threads * sizeof(pthread_t) + (size_t)(n_threads - 1) * sizeof(worker_arg);
}

qi_status pool_new(int n_threads, int spin, qi_pool **out) {
    *out = NULL;
    if (n_threads < 1) return QI_ERR_INVALID_ARG;
    qi_pool *p = calloc(1, sizeof *p);
    if (!p) return QI_ERR_NOMEM;
    p->n = n_threads;
    p->spin = spin;
    p->yield = n_threads > cpus_allowed();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->tids = calloc((size_t)n_threads, sizeof *p->tids);
    if (!p->tids) { pool_free(p); return QI_ERR_NOMEM; }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) { p->n = i; pool_free(p); return QI_ERR_NOMEM; }
        wa->p = p;
        wa->id = i;
        if (pthread_create(&p->tids[i], NULL, worker, wa) != 0) {
            free(wa);
            p->n = i; /* join only the ones that started */
            pool_free(p);
            return QI_ERR_NOMEM;
        }
    }
    *out = p;
    return QI_OK;
}

void pool_free(qi_pool *p) {
    if (!p) return;
    atomic_store(&p->quit, 1);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n && p->tids; i++) pthread_join(p->tids[i], NULL); /* tids NULL: its allocation failed */
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p->tids);
    free(p);
}

int pool_threads(const qi_pool *p) { return p ? p->n : 1; }

void pool_run(qi_pool *p, qi_pool_fn fn, void *arg) {
    if (!p || p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->pending, p->n - 1);
    atomic_fetch_add(&p->generation, 1); /* publishes fn/arg to the workers */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, p->n);
    for (int spins = 1; atomic_load(&p->pending) > 0; spins++) spin_once(p, spins);
}

void split_range(int n, int align, int part, int n_parts, int *lo, int *hi) {
    int units = (n + align - 1) / align;
    int a = (int)((long long)units * part / n_parts), b = (int)((long long)units * (part + 1) / n_parts);
    *lo = a * align < n ? a * align : n;
    *hi = b * align < n ? b * align : n;
}

/* Count distinct (physical id, core id) pairs in /proc/cpuinfo; fall back
 * to the online CPU count. */
int physical_cores(void) {
    int logical = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (logical < 1) logical = 1;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return logical;
    char line[256];
    int phys = -1, pairs[1024][2], n = 0;
    while (fgets(line, sizeof line, f)) {
        int v;
        if (sscanf(line, "physical id : %d", &v) == 1) phys = v;
        else if (sscanf(line, "core id : %d", &v) == 1) {
            int seen = 0;
            for (int i = 0; i < n; i++) seen |= pairs[i][0] == phys && pairs[i][1] == v;
            if (!seen && n < 1024) { pairs[n][0] = phys; pairs[n][1] = v; n++; }
        }
    }
    fclose(f);
    return n > 0 && n <= logical ? n : logical;
}
