/* The judge's reading of a worker's replies (drivers/gate/protocol.c): the
 * worker is untrusted, so only exact lines with numbers in range pass. */
#include <string.h>

#include "../drivers/gate/protocol.h"
#include "test.h"

static void token_lines(void) {
    CHECK(proto_token("t 0", 10) == 0, "t 0");
    CHECK(proto_token("t 9", 10) == 9, "t 9");
    const char *bad[] = {"t 10", "t -1", "t", "t ", "t  5", "t 5 ", "t 5x", "t 05", "t 0x5", "x 5", "t 99999999999999999999", "t +5", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(proto_token(bad[i], 10) == -1, "'%s' accepted", bad[i]);
}

static void other_lines(void) {
    CHECK(proto_ready("R 3072 avx2 2") == 3072, "ready");
    CHECK(proto_ready("R 3072") == -1 && proto_ready("R 0 x 1") == -1 && proto_ready("R") == -1, "bad ready");
    CHECK(proto_end("e 0") == 0 && proto_end("e 3 failed") == 3, "end");
    CHECK(proto_end("e 0 x") == -1 && proto_end("e -1") == -1 && proto_end("e") == -1 && proto_end("e 00") == -1, "bad end");
    CHECK(proto_logits("l 3072", 3072) == 0, "logits");
    CHECK(proto_logits("l 3071", 3072) == -1 && proto_logits("l 3072 ", 3072) == -1, "bad logits");
}

static void histograms(void) {
    int c[10];
    CHECK(proto_hist("h 2 1 60 7 40", 10, c, 100) == 0 && c[1] == 60 && c[7] == 40 && c[0] == 0, "hist");
    const char *bad[] = {
        "h 2 1 60 7 39",           /* draws do not add up */
        "h 2 1 60 1 40",           /* an id twice */
        "h 1 10 100",              /* id out of range */
        "h 2 1 100 7 0",           /* a zero count */
        "h 3 1 60 7 40",           /* fewer pairs than said */
        "h 1 1 60 7 40",           /* more pairs than said */
        "h 1 1 9223372036854775807", /* a count past any total */
        "h 2 1 60 7 40 ",          /* trailing space */
        "h 1 -1 100", "h", "h x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(proto_hist(bad[i], 10, c, 100) == -1, "'%s' accepted", bad[i]);
}

int main(void) {
    RUN(token_lines);
    RUN(other_lines);
    RUN(histograms);
    return TEST_EXIT();
}
