/* The pipe (drivers/gate/protocol.c), both ways: the judge's reading of a
 * worker's replies (the worker is untrusted, so only exact lines with
 * numbers in range pass) and the worker's reading of the judge's commands
 * (as judge.c writes them; anything else is refused, nothing leaks). */
#include <stdint.h>
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

static void commands(void) {
    proto_cmd c;
    /* as judge.c writes them: "%.9g %d %.9g %.9g %.9g %d %llu" */
    CHECK(proto_command("G T 128 0.699999988 20 0.800000012 0 1.04999995 64 18446744073709551615 3 1 2 9", 10, &c) == 0, "G");
    CHECK(c.op == 'G' && c.mode == 'T' && c.n_max == 128 && c.n_ids == 3 && c.ids[2] == 9, "G fields");
    CHECK(c.sampling.top_k == 20 && c.sampling.repeat_last_n == 64 && c.sampling.seed == UINT64_MAX, "G sampling");
    CHECK(c.sampling.temperature > 0.6999f && c.sampling.temperature < 0.7001f && c.sampling.repeat_penalty > 1.049f, "G floats");
    proto_cmd_free(&c);
    CHECK(proto_command("G N 0 0 0 1 0 1 0 42 1 0", 10, &c) == 0 && c.mode == 'N' && c.n_max == 0 && c.sampling.seed == 42, "G N");
    proto_cmd_free(&c);
    CHECK(proto_command("F 1e-05 0 1 0 1 0 7 2 4 5", 10, &c) == 0 && c.op == 'F' && c.n_ids == 2 && c.ids[1] == 5, "F");
    proto_cmd_free(&c);
    CHECK(proto_command("S 1 0 1 0 1 0 7 10000 0", 10, &c) == 0 && c.op == 'S' && c.draws == 10000 && c.n_ids == 0, "S");
    proto_cmd_free(&c);
    CHECK(proto_command("Q", 10, &c) == 0 && c.op == 'Q' && !c.ids, "Q");
    const char *bad[] = {
        "G T 8 0 0 1 0 1 0 42 0",             /* G without ids */
        "G T 8 0 0 1 0 1 0 42 1 10",          /* id past the vocabulary */
        "G T 8 0 0 1 0 1 0 42 2 1",           /* fewer ids than said */
        "G T 8 0 0 1 0 1 0 42 1 1 2",         /* more ids than said */
        "G T 8 0 0 1 0 1 0 42 1 1 ",          /* trailing space */
        "G T 8 0 0 1 0 1 0 42 1000000 1",     /* a count the line cannot hold */
        "G X 8 0 0 1 0 1 0 42 1 1",           /* unknown mode */
        "G T -8 0 0 1 0 1 0 42 1 1",          /* negative count */
        "G T 8 nan 0 1 0 1 0 42 1 1",         /* a float that is not finite */
        "G T 8 1e99 0 1 0 1 0 42 1 1",        /* out of float range */
        "G T 8 0x1p3 0 1 0 1 0 42 1 1",       /* hex */
        "G T 8 0 -1 1 0 1 0 42 1 1",          /* negative top_k */
        "G T 8 0 0 1 0 1 0 18446744073709551616 1 1", /* seed past uint64 */
        "G T 8 0 0 1 0 1 0 042 1 1",          /* leading zero */
        "G T 8 0  0 1 0 1 0 42 1 1",          /* two spaces */
        "S 1 0 1 0 1 0 7 0 0",                /* no draws */
        "S 1 0 1 0 1 0 7 10000001 0",         /* too many draws */
        "F 1 0 1 0 1 0 7",                    /* no id count */
        "Q ", "Qx", "X", "", "G", "F", "S",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(proto_command(bad[i], 10, &c) == -1, "'%s' accepted", bad[i]);
        CHECK(!c.ids, "'%s' left ids allocated", bad[i]);
    }
}

int main(void) {
    RUN(token_lines);
    RUN(other_lines);
    RUN(histograms);
    RUN(commands);
    return TEST_EXIT();
}
