/* ChatML rendering: the input is split at NUL bytes into role, content,
 * role, content, ...; the first byte says whether to add the generation
 * prompt. Asking the size, then rendering into exactly that many bytes (and
 * one short of it), gives the same text, NUL-terminated, and never writes
 * past the buffer. */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 8192) return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    qi_chat_msg msgs[16];
    int n = 0;
    char *fields[32];
    int nf = 0;
    for (char *p = text; nf < 32; ) {
        fields[nf++] = p;
        char *z = memchr(p, 0, (size_t)(text + size - 1 - p) + 1);
        if (!z || z >= text + size - 1) break;
        p = z + 1;
    }
    for (int i = 0; i + 1 < nf && n < 16; i += 2) msgs[n++] = (qi_chat_msg){fields[i], fields[i + 1]};
    int gen = data[0] & 1;
    size_t need = 0;
    qi_status st = qi_chat_render(msgs, n, gen, NULL, 0, &need);
    if (st != QI_ERR_BUFFER_TOO_SMALL && st != QI_OK) { free(text); return 0; } /* refused: a bad role */
    char *a = malloc(need + 1), *b = malloc(need ? need : 1);
    size_t len = 0;
    FUZZ_ASSERT(qi_chat_render(msgs, n, gen, a, need + 1, &len) == QI_OK && len == need && a[need] == 0);
    if (need) {
        st = qi_chat_render(msgs, n, gen, b, need, &len); /* no room for the NUL */
        FUZZ_ASSERT(st == QI_ERR_BUFFER_TOO_SMALL && len == need);
    }
    free(a);
    free(b);
    free(text);
    return 0;
}
