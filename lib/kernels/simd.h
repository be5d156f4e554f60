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

/* Weight types with SIMD products. QI_KINDS_ALL(X) expands X(kind, name)
 * for each: name is the suffix of its qi_kernels field (gemm_<name>); a
 * level defines QI_KINDS (driver.h) as the list it implements, the others
 * go to the scalar reference (kernels_gemm). In the hot code a kind is
 * always a compile-time constant: every kernel is inlined and specialised
 * per kind.
 *
 * A block (unit) holds kind_qk(kind) weights: 32, one Q8_0 activation block,
 * or 256 for the k-quants' superblocks, which span 8 activation blocks. The
 * driver counts in activation blocks; kind_span turns a count of them into
 * weight bytes (for a superblock kind the count is a multiple of 8).
 *
 * The "unpacked" kinds (all but Q4_0 and Q8_0) are taken, as in scalar.c,
 * as unsigned quants q (0..63) per 32-weight group g with
 *     w = d[g] * sub * (q - kind_offset) + m[g]
 * (sub: Q6_K's integer scale per 16, else 1; m: the kinds with a min). */
enum { KQ4 = 0, KQ8 = 1, KQ4_1, KQ5_0, KQ5_1, KQ4K, KQ5K, KQ6K };
#define QI_KINDS_BASE(X) X(KQ4, q4_0) X(KQ8, q8_0)
#define QI_KINDS_UNPACKED(X)                                                                                    \
    X(KQ4_1, q4_1) X(KQ5_0, q5_0) X(KQ5_1, q5_1) X(KQ4K, q4_k) X(KQ5K, q5_k) X(KQ6K, q6_k)
#define QI_KINDS_ALL(X) QI_KINDS_BASE(X) QI_KINDS_UNPACKED(X)

INLINE size_t kind_bytes(int kind) {
    switch (kind) {
    case KQ4: return sizeof(block_q4_0);
    case KQ8: return sizeof(block_q8_0);
    case KQ4_1: return sizeof(block_q4_1);
    case KQ5_0: return sizeof(block_q5_0);
    case KQ5_1: return sizeof(block_q5_1);
    case KQ4K: return sizeof(block_q4_K);
    case KQ5K: return sizeof(block_q5_K);
    default: return sizeof(block_q6_K);
    }
}
INLINE int kind_super(int kind) { return kind == KQ4K || kind == KQ5K || kind == KQ6K; }
INLINE int kind_qk(int kind) { return kind_super(kind) ? QK_K : QK8_0; }
/* bytes of the weights that meet nb activation blocks */
INLINE size_t kind_span(int kind, int nb) { return (size_t)(nb / (kind_qk(kind) / QK8_0)) * kind_bytes(kind); }
#define KIND_MAX_BYTES sizeof(block_q6_K)
/* the unpacked kinds' integer offset and whether they have a float min */
INLINE int kind_offset(int kind) { return kind == KQ5_0 ? 16 : kind == KQ6K ? 32 : 0; }
INLINE int kind_has_min(int kind) { return kind == KQ4_1 || kind == KQ5_1 || kind == KQ4K || kind == KQ5K; }
INLINE int kind_unpacked(int kind) { return kind != KQ4 && kind != KQ8; }

INLINE int32_t load_i32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The 8 6-bit scales and mins of a Q4_K/Q5_K superblock (its 12 scale bytes
 * at s), one byte per group in group order: kq_scale_min, 4 at a time. */
INLINE void kq_scales8(const uint8_t *s, uint64_t *sc, uint64_t *m) {
    uint32_t u0 = (uint32_t)load_i32(s), u1 = (uint32_t)load_i32(s + 4), u2 = (uint32_t)load_i32(s + 8);
    *sc = (uint64_t)(u0 & 0x3f3f3f3f) | (uint64_t)((u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030)) << 32;
    *m = (uint64_t)(u1 & 0x3f3f3f3f) | (uint64_t)(((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030)) << 32;
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
 * k-chunk, at [c * TILE_K + b]: bias = TILE_BIAS(kind) * sum(y) and d = d_x.
 * For an unpacked kind, on a level that tiles them (TILE_UNPACKED):
 * bias = -kind_offset * sum(y), dys = d_x * sum(y) (the min term), and for
 * Q6_K, whose scales are per 16, bias = -32 * sum(y[0..15]) and
 * bias_hi = -32 * sum(y[16..31]). */
typedef struct {
    const int32_t *bias;
    const float *d;
    const int32_t *bias_hi;
    const float *dys;
} tile_terms;

#endif
