/* Runs a fuzz target once on each file given (see fuzz.h). */
#include <string.h>

#include "fuzz.h"

int main(int argc, char **argv) {
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { fprintf(stderr, "replay: cannot open %s\n", argv[i]); return 1; }
        size_t cap = 1 << 16, len = 0;
        uint8_t *buf = malloc(cap);
        size_t k;
        while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
            len += k;
            if (len == cap) buf = realloc(buf, cap *= 2);
        }
        fclose(f);
        if (!buf) return 1;
        /* an exact-size copy, so that a read past the input is seen by the sanitizers */
        uint8_t *in = malloc(len ? len : 1);
        memcpy(in, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(in, len);
        free(in);
        n++;
    }
    printf("replayed %d inputs\n", n);
    return 0;
}
