#include <stdarg.h>
#include <stdio.h>

#include "fail.h"

qi_status fail_msg(char *msg, size_t n, qi_status st, const char *fmt, ...) {
    if (msg && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, n, fmt, ap);
        va_end(ap);
    }
    return st;
}
