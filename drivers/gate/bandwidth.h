/* The machine's read bandwidth, as decode meets it: the judge bounds a
 * plausible decode rate with it, and bench reports each decode rate as a
 * share of it (the roofline). */
#ifndef QINFER_GATE_BANDWIDTH_H
#define QINFER_GATE_BANDWIDTH_H

#include <stddef.h>

/* GB/s: the best of seven reads, by n_threads threads (0: one per online
 * CPU), of a buffer of the given size (at least 1 MiB; read again and again
 * when small, for at least 64 MiB per read). Size it as what one decode step
 * reads, so that caches help the measure as much as they help decode. 0 if
 * the buffer cannot be allocated. */
double read_bandwidth(size_t bytes, int n_threads);

#endif
