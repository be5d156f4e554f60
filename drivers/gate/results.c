/* Reading results.tsv (loop.sh appends it; the chart and the builtin agent
 * read it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "util.h"

int results_read(const char *path, result_row **rows, char **buf) {
    *rows = NULL;
    *buf = NULL;
    char *b = read_file(path, 1u << 28, NULL);
    if (!b) return -1;
    int cap = 64, count = 0;
    result_row *r = malloc((size_t)cap * sizeof *r);
    int first = 1;
    for (char *line = b, *next; r && line && *line; line = next) {
        char *nl = strchr(line, '\n');
        if (!nl) break; /* a torn last line: not a row */
        *nl = 0;
        next = nl + 1;
        if (first) { first = 0; if (!strncmp(line, "commit\t", 7)) continue; }
        result_row row;
        int k = 0;
        for (char *p = line; k < N_COLS; k++) {
            row.col[k] = p;
            char *t = strchr(p, '\t');
            if (!t) { k++; break; }
            *t = 0;
            p = t + 1;
        }
        if (k != N_COLS) continue;
        if (count == cap) {
            cap *= 2;
            result_row *nr = realloc(r, (size_t)cap * sizeof *nr);
            if (!nr) break;
            r = nr;
        }
        r[count++] = row;
    }
    *rows = r;
    *buf = b;
    return count;
}
