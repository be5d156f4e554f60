/* GGUF files from anyone: the reader over a buffer, then the whole loader
 * (header, metadata, tensors, tokenizer) on the same bytes as a file. Any
 * outcome but a crash, a leak or a sanitizer report is fine; a file that
 * loads must answer its info and tensor queries. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "formats/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file g;
    char err[256];
    if (gguf_parse(data, size, &g, err, sizeof err) == QI_OK) gguf_close(&g);

    int fd = memfd_create("fuzz.gguf", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    qi_model *m = NULL;
    qi_status st = qi_model_load(path, &m, err, sizeof err);
    FUZZ_ASSERT((st == QI_OK) == (m != NULL));
    FUZZ_ASSERT(st == QI_OK || err[0]); /* a refusal says why */
    if (m) {
        qi_model_info info;
        qi_model_get_info(m, &info);
        FUZZ_ASSERT(info.n_vocab >= 0 && info.n_layer >= 0);
        qi_tensor_info t;
        for (uint64_t i = 0; qi_model_tensor(m, i, &t) == QI_OK; i++) {}
        char buf[64];
        qi_model_meta(m, "general.name", buf, sizeof buf);
        qi_model_free(m);
    }
    close(fd);
    return 0;
}
