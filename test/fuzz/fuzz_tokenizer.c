/* The tokenizer both ways, on the tiny chat model's real Qwen2 pipeline.
 * The first byte picks the mode:
 *   even: the rest is text. Encoding (plain and with special tokens) gives
 *         ids in range; an exact-size buffer gets the same ids; plain ASCII
 *         text (NFC leaves it alone) decodes back to itself byte for byte.
 *   odd:  the rest is int32 ids, any values: decoding takes each in range
 *         or refuses it with QI_ERR_BAD_TOKEN, and never writes past its
 *         buffer. */
#include <string.h>

#include "fuzz.h"

static void roundtrip(const qi_model *m, const char *text, size_t len, int special) {
    int n = 0;
    qi_status st = qi_tokenize(m, text, len, special, NULL, 0, &n);
    if (st != QI_OK && st != QI_ERR_BUFFER_TOO_SMALL) return; /* refused: said so */
    FUZZ_ASSERT(n >= 0 && (size_t)n <= 3 * len + 1); /* NFC may lengthen a little */
    int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    int n2 = -1;
    FUZZ_ASSERT(ids && qi_tokenize(m, text, len, special, ids, n, &n2) == QI_OK && n2 == n);
    qi_model_info info;
    qi_model_get_info(m, &info);
    int ascii = 1;
    for (size_t i = 0; i < len; i++) ascii &= (unsigned char)text[i] < 0x80 && text[i] != 0;
    char *back = malloc(len * 4 + QI_DETOK_MAX + 1);
    size_t o = 0, k;
    qi_detok d = {0};
    for (int i = 0; i < n; i++) {
        FUZZ_ASSERT(ids[i] >= 0 && ids[i] < info.n_vocab);
        FUZZ_ASSERT(qi_detok_feed(m, &d, ids[i], back + o, &k) == QI_OK && k <= QI_DETOK_MAX);
        o += k;
    }
    FUZZ_ASSERT(qi_detok_flush(&d, back + o, &k) == QI_OK);
    o += k;
    if (ascii && !special) FUZZ_ASSERT(o == len && !memcmp(back, text, len));
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const qi_model *m = fuzz_model();
    if (size < 1 || size > 4096) return 0;
    if (data[0] % 2 == 0) {
        roundtrip(m, (const char *)data + 1, size - 1, 0);
        roundtrip(m, (const char *)data + 1, size - 1, 1);
        return 0;
    }
    qi_model_info info;
    qi_model_get_info(m, &info);
    qi_detok d = {0};
    char out[QI_DETOK_MAX];
    for (size_t i = 1; i + 4 <= size; i += 4) {
        int32_t id;
        memcpy(&id, data + i, 4);
        size_t k = 0;
        qi_status st = qi_detok_feed(m, &d, id, out, &k);
        FUZZ_ASSERT(id >= 0 && id < info.n_vocab ? st == QI_OK : st == QI_ERR_BAD_TOKEN);
        FUZZ_ASSERT(k <= QI_DETOK_MAX);
        char piece[8]; /* short on purpose: a long token is cut, and says how long it is */
        size_t len = 0;
        st = qi_token_bytes(m, id, piece, sizeof piece, &len);
        if (id >= 0 && id < info.n_vocab) FUZZ_ASSERT(st == QI_OK || (st == QI_ERR_BUFFER_TOO_SMALL && len > sizeof piece));
        else FUZZ_ASSERT(st == QI_ERR_BAD_TOKEN);
    }
    size_t k;
    FUZZ_ASSERT(qi_detok_flush(&d, out, &k) == QI_OK);
    return 0;
}
