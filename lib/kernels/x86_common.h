/* What the x86 levels (x86_avx2.c, x86_avx512.c) share besides driver.h:
 * the f16 scale conversion and the sum of an activation block, both in
 * instructions every x86 level has (F16C, AVX2). */
#ifndef QINFER_KERNELS_X86_COMMON_H
#define QINFER_KERNELS_X86_COMMON_H

#include <immintrin.h>

#include "simd.h"

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

/* sum of the 32 int8 of an activation block */
INLINE int32_t ysum32(const int8_t *q) {
    __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)q), _mm256_set1_epi8((char)0x80));
    __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi64(t, _mm_unpackhi_epi64(t, t));
    return _mm_cvtsi128_si32(t) - 32 * 128;
}

#endif
