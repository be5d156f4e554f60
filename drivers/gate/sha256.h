/* SHA-256 (FIPS 180-4), for the judge's caches: a model's reference logits
 * and builds are keyed by the hash of what they were made from. */
#ifndef QINFER_GATE_SHA256_H
#define QINFER_GATE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t n;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_hex(sha256_ctx *c, char out[65]); /* finishes the hash */
/* a file's hash as 64 hex digits; -1 if unreadable */
int sha256_file(const char *path, char out[65]);

#endif
