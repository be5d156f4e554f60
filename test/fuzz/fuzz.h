/* The fuzz targets' shared part. Each target defines
 * LLVMFuzzerTestOneInput; built with clang -fsanitize=fuzzer (make fuzz) it
 * is a libFuzzer program, built with replay.c (make, make test) it runs the
 * files named on its command line once each: the seed corpus and every
 * input a fuzzer ever crashed on (test/fuzz/regress/), so each crash stays a
 * regression test. A failed property aborts, as a crash would. */
#ifndef QINFER_FUZZ_H
#define QINFER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "qinfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                          \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* the tiny chat model (its tokenizer is the real Qwen2 pipeline), loaded
 * once; QINFER_FUZZ_MODEL overrides the path */
static inline const qi_model *fuzz_model(void) {
    static qi_model *m;
    if (!m) {
        const char *p = getenv("QINFER_FUZZ_MODEL");
        char msg[256];
        if (qi_model_load(p ? p : "data/tiny-chat/tiny-chat-q8_0.gguf", &m, msg, sizeof msg)) {
            fprintf(stderr, "fuzz: %s (run from the repository root)\n", msg);
            exit(2);
        }
    }
    return m;
}

#endif
