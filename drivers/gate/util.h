/* Small helpers the judge's files share. */
#ifndef QINFER_GATE_UTIL_H
#define QINFER_GATE_UTIL_H

#include <stddef.h>

/* A whole file, NUL-terminated (len, if not NULL, gets its size without
 * the NUL); NULL if it cannot be read or is larger than max bytes. */
char *read_file(const char *path, size_t max, size_t *len);

#endif
