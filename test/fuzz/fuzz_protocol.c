/* The pipe, both ways. The input is what a worker wrote on its stdout (the
 * worker is untrusted, so anything it writes must be read safely), or what
 * a judge wrote on the worker's stdin: the judge's line reader (runner.c)
 * splits it, and every reply parser and the worker's command parser
 * (protocol.c) read each line. A parser that accepts a line must have got
 * numbers in range: ids below n_vocab, counts that add up to the draws. */
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../drivers/gate/protocol.h"
#include "../../drivers/gate/runner.h"
#include "fuzz.h"

enum { N_VOCAB = 3072, DRAWS = 100 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz.pipe", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    lseek(fd, 0, SEEK_SET);
    static worker w;
    memset(&w, 0, sizeof w);
    w.pid = -1;
    w.to = -1;
    w.from = fd;
    static int counts[N_VOCAB];
    char line[4096];
    while (worker_line(&w, line, sizeof line, NULL, now_s() + 5) == 0) {
        int v = proto_ready(line);
        FUZZ_ASSERT(v == -1 || (v >= 1 && line[0] == 'R'));
        int32_t id = proto_token(line, N_VOCAB);
        FUZZ_ASSERT(id == -1 || (id >= 0 && id < N_VOCAB && line[0] == 't'));
        int e = proto_end(line);
        FUZZ_ASSERT(e == -1 || (e == 0 && !strcmp(line, "e 0")) || (e > 0 && line[0] == 'e'));
        FUZZ_ASSERT(proto_logits(line, N_VOCAB) == -1 || line[0] == 'l');
        if (proto_hist(line, N_VOCAB, counts, DRAWS) == 0) {
            long total = 0;
            for (int i = 0; i < N_VOCAB; i++) { FUZZ_ASSERT(counts[i] >= 0); total += counts[i]; }
            FUZZ_ASSERT(total == DRAWS);
        }
        proto_cmd cmd;
        if (proto_command(line, N_VOCAB, &cmd) == 0) {
            FUZZ_ASSERT(strchr("GFSQ", cmd.op) && cmd.op);
            FUZZ_ASSERT(cmd.n_ids >= 0 && (cmd.op != 'G' || (cmd.n_ids >= 1 && (cmd.mode == 'T' || cmd.mode == 'N'))));
            for (int i = 0; i < cmd.n_ids; i++) FUZZ_ASSERT(cmd.ids[i] >= 0 && cmd.ids[i] < N_VOCAB);
            FUZZ_ASSERT(cmd.op != 'S' || (cmd.draws >= 1 && cmd.draws <= 10000000));
            FUZZ_ASSERT(cmd.sampling.top_k >= 0 && isfinite(cmd.sampling.temperature) && isfinite(cmd.sampling.top_p));
            proto_cmd_free(&cmd);
        } else
            FUZZ_ASSERT(!cmd.ids);
    }
    close(fd);
    return 0;
}
