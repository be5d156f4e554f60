/* The one way the library writes an error message: into a caller's buffer
 * (msg and msg_size of a public call, a session's err, the GGUF reader's
 * err), on the way out of the failing call. */
#ifndef QINFER_FAIL_H
#define QINFER_FAIL_H

#include <stddef.h>
#include "qinfer.h"

/* printf into msg (if msg is not NULL and n > 0), then return st:
 *     return fail_msg(msg, n, QI_ERR_MODEL_KEY, "metadata '%s' is missing", key); */
qi_status fail_msg(char *msg, size_t n, qi_status st, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
