/* The worker's side of the pipe, as the judge reads it: the worker is
 * untrusted, so anything it writes must be read safely. The input is what a
 * worker wrote on its stdout; the judge's line reader (runner.c) splits it
 * and every reply parser (protocol.c) reads each line. A parser that
 * accepts a line must have got numbers in range: ids below n_vocab, counts
 * that add up to the draws. */
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
    }
    close(fd);
    return 0;
}
