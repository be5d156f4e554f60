/* What every SIMD level's file (x86_*.c, arm_*.c) uses before its own code:
 * the attributes the hot loops rely on, the weight kinds, and the switch
 * that turns a run-time count into calls with a constant one. The loops
 * that are the same on every level are in driver.h, which each such file
 * includes last. */
#ifndef QINFER_KERNELS_SIMD_H
#define QINFER_KERNELS_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "formats/quant.h"

#define INLINE static inline __attribute__((always_inline))
/* small fixed-count loops over registers must be unrolled (the build is -O2) */
#define UNROLL _Pragma("GCC unroll 16")

/* Weight types with SIMD products. QI_KINDS(X) expands X(kind, name) for
 * each: name is the suffix of its qi_kernels field (gemm_<name>). In the hot
 * code a kind is always a compile-time constant: every kernel is inlined
 * and specialised per kind. A block holds kind_qk(kind) weights, the 32 of
 * one Q8_0 activation block for every kind so far. */
enum { KQ4 = 0, KQ8 = 1 };
#define QI_KINDS(X) X(KQ4, q4_0) X(KQ8, q8_0)
INLINE size_t kind_bytes(int kind) { return kind == KQ4 ? sizeof(block_q4_0) : sizeof(block_q8_0); }
INLINE int kind_qk(int kind) { return kind == KQ4 ? QK4_0 : QK8_0; }
#define KIND_MAX_BYTES sizeof(block_q8_0)

INLINE int32_t load_i32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* SPECIALIZE(v, n, CALL, a): CALL(a, k) with the constant k equal to v for
 * 1 <= v < n, CALL(a, n) for any other v (n <= 8), so that each count gets
 * its own copy of an inlined kernel with its loops fully unrolled. The cases
 * at or past n are dead code the compiler drops. */
#define SPEC_CASE(k, n, CALL, a)                                                                                \
    case k:                                                                                                     \
        if ((k) < (n)) {                                                                                        \
            CALL(a, ((k) < (n) ? (k) : (n)));                                                                   \
            break;                                                                                              \
        }                                                                                                       \
        __attribute__((fallthrough));
#define SPECIALIZE(v, n, CALL, a)                                                                               \
    do {                                                                                                        \
        _Static_assert((n) >= 1 && (n) <= 8, "SPECIALIZE handles counts 1..8");                                 \
        switch (v) {                                                                                            \
            SPEC_CASE(1, n, CALL, a) SPEC_CASE(2, n, CALL, a) SPEC_CASE(3, n, CALL, a)                          \
            SPEC_CASE(4, n, CALL, a) SPEC_CASE(5, n, CALL, a) SPEC_CASE(6, n, CALL, a)                          \
            SPEC_CASE(7, n, CALL, a)                                                                            \
        default: CALL(a, (n)); break;                                                                           \
        }                                                                                                       \
    } while (0)

/* What a tile of a level that defines TILE_BIAS (driver.h) gets of its
 * columns: from its first column on, per column c and block b of the
 * k-chunk, bias[c * TILE_K + b] = TILE_BIAS(kind) * sum(y) and
 * d[c * TILE_K + b] = d_x. */
typedef struct {
    const int32_t *bias;
    const float *d;
} tile_terms;

#endif
