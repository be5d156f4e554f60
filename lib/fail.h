/* Filling a caller's message buffer on the way out of a failing call. */
#ifndef QINFER_FAIL_H
#define QINFER_FAIL_H

#include <stddef.h>
#include "qinfer.h"

/* printf into msg (if msg is not NULL and n > 0), then return st */
qi_status fail_msg(char *msg, size_t n, qi_status st, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
