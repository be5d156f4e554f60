/* What the x86 levels (x86_avx2.c, x86_avx512.c, x86_amx.c) share besides
 * driver.h: the f16 scale conversion and the sum of an activation block,
 * both in instructions every x86 level has (F16C, AVX2), and on the AVX-512
 * levels a 16 x 16 float transpose. */
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

#ifdef __AVX512F__
/* v[i] lane j -> v[j] lane i */
static inline __attribute__((always_inline)) void transpose16(__m512 *v) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) { /* per 128-bit lane: a0 b0 a1 b1, a2 b2 a3 b3 */
        t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* u[4i + j], 128-bit lane L: element 4L + j of rows 4i..4i+3 */
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        v[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        v[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        v[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        v[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int j = 0; j < 4; j++) { /* the four row groups' lanes side by side */
        __m512 ab_lo = _mm512_shuffle_f32x4(v[j], v[4 + j], 0x44), ab_hi = _mm512_shuffle_f32x4(v[j], v[4 + j], 0xee);
        __m512 cd_lo = _mm512_shuffle_f32x4(v[8 + j], v[12 + j], 0x44);
        __m512 cd_hi = _mm512_shuffle_f32x4(v[8 + j], v[12 + j], 0xee);
        t[j] = _mm512_shuffle_f32x4(ab_lo, cd_lo, 0x88);
        t[4 + j] = _mm512_shuffle_f32x4(ab_lo, cd_lo, 0xdd);
        t[8 + j] = _mm512_shuffle_f32x4(ab_hi, cd_hi, 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(ab_hi, cd_hi, 0xdd);
    }
    for (int i = 0; i < 16; i++) v[i] = t[i];
}
#endif

#endif
