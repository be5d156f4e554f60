/* A thread pool created once per session. pool_run() calls fn on every
 * thread (the caller is thread 0) and returns when all are done. Workers
 * spin briefly between jobs, because a decode step issues a few hundred
 * short jobs, then sleep on a condition variable so an idle session costs
 * nothing. A pool with more threads than the process has CPUs yields in its
 * spins, so that the thread it waits for gets to run. */
#ifndef QINFER_THREADS_H
#define QINFER_THREADS_H

#include "qinfer.h"

typedef struct qi_pool qi_pool;
typedef void (*qi_pool_fn)(void *arg, int thread, int n_threads);

/* spin: rounds an idle worker spins before it sleeps */
qi_status pool_new(int n_threads, int spin, qi_pool **out);
void pool_free(qi_pool *p);
/* what pool_new allocates (the C library's thread stacks aside) */
size_t pool_bytes(int n_threads);
int pool_threads(const qi_pool *p);
void pool_run(qi_pool *p, qi_pool_fn fn, void *arg);

/* Split [0, n) into n_parts pieces whose bounds are multiples of `align`;
 * part i gets [*lo, *hi). */
void split_range(int n, int align, int part, int n_parts, int *lo, int *hi);

/* Physical cores of this machine (logical CPUs when unknown), at least 1. */
int physical_cores(void);

#endif
