/* AVX-512 kernels (F, BW, VL, DQ; vpmaddubsw for the int8 products). The
 * VNNI table is this same code compiled again with QI_AVX512_VNNI defined
 * (x86_avx512vnni.c): only the int8 dot-product step differs, vpdpbusd there.
 *
 * Every block product is an exact integer sum, converted to float once and
 * scaled by d_w * d_x, as in the scalar reference; only the order in which
 * the per-block float terms are added differs.
 *
 * Q4_0 weights are used as unsigned nibbles q in 0..15 against signed int8
 * activations y: sum (q - 8) y = sum q y - 8 sum y, and the -8 sum y term
 * ("bias") depends on the activation block only, so it is computed once per
 * activation block and added in integer. Q8_0 weights go through
 * w ^ 0x80 = w + 128 (unsigned) with the bias -128 sum y (VNNI tiles; without
 * VNNI the tiles split w + 128 into two nibbles), or through the sign trick
 * |w| * (y with the sign of w) in the decode path without VNNI, which needs
 * y != -128: quantize_q8_0 produces -127..127.
 *
 * Two paths per weight type:
 *  - decode (fewer than 5 activation columns): the weight matrix is streamed
 *    row by row (two rows at a time), 16 blocks per step, with software
 *    prefetch; each activation column is re-laid out once so that a 512-bit
 *    product covers 4 (Q4_0) or 2 (Q8_0) blocks, and the partial sums are
 *    reduced across registers so each lane ends up with one block's exact
 *    integer sum (then one cvt + one fma per 16 blocks). The 16 scales come
 *    out of the loaded bytes with word permutes, not a gather.
 *  - tiled (prefill): 16 weight rows x 8 activation columns per register
 *    tile. A tile of 16 rows x 32 blocks is first transposed into an L1
 *    scratch ("repacked") so that lane i of a vector holds the 4 weight bytes
 *    of row i that meet one activation dword; that is reused by up to 64
 *    columns. Each activation dword is an embedded broadcast and one product
 *    step updates 16 rows, so a lane accumulates the exact block sum of its
 *    row; each weight vector is reused for 8 columns in registers.
 *
 * The unpacked kinds (Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K; simd.h) become, per
 * row and 16 blocks (2 superblocks), unsigned quants 0..63 in weight order,
 * the Q8_0 layout, so they share its reduction; Q5's fifth bits come in as
 * byte masks. Offsets (Q5_0's -16) go in the per-block bias; Q6_K's -32
 * meets its scales per 16 (vpmaddwd by the scales, then their product with
 * the activations' half sums); mins are d_x * sum(y) times the row's min.
 * Their tiles unpack each row once and transpose it as Q8_0.
 *
 * This file holds those pieces (decode groups, tile, repack) and quantize /
 * dot; the loops around them, the entry points and the table are driver.h's,
 * shared by every level. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kernels.h"
#include "generic.h"
#include "simd.h"
#include "x86_common.h"

#ifdef QI_AVX512_VNNI
#define QI_TABLE qi_kernels_avx512vnni
#define QI_NAME "avx512vnni"
#define QI_VNNI 1
#else
#define QI_TABLE qi_kernels_avx512
#define QI_NAME "avx512"
#define QI_VNNI 0
#endif
#define QI_KINDS QI_KINDS_ALL

/* ---- quantize ------------------------------------------------------------- */

/* roundf(): round half away from zero, exactly (t = trunc(v); v - t is exact) */
INLINE __m512 round_away(__m512 v) {
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m512 frac = _mm512_abs_ps(_mm512_sub_ps(v, t));
    __mmask16 up = _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    __m512 one = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    return _mm512_mask_add_ps(t, up, t, one);
}

static void quantize_q8_0(const float *x, block_q8_0 *y, int n) {
    for (int i = 0; i < n / QK8_0; i++) {
        __m512 v0 = _mm512_loadu_ps(x + i * 32), v1 = _mm512_loadu_ps(x + i * 32 + 16);
        /* max(|x|, acc) keeps acc when x is NaN, like fmaxf */
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 127.0f;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        __m512 vid = _mm512_set1_ps(id);
        __m512i q0 = _mm512_cvttps_epi32(round_away(_mm512_mul_ps(v0, vid)));
        __m512i q1 = _mm512_cvttps_epi32(round_away(_mm512_mul_ps(v1, vid)));
        _mm_storeu_si128((__m128i *)y[i].qs, _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(y[i].qs + 16), _mm512_cvtepi32_epi8(q1));
    }
}

/* ---- f32 / f16 helpers ------------------------------------------------------ */

static inline __mmask16 tail_mask(int k) { return (__mmask16)((1u << k) - 1); }

static float dot_f32_k(const float *a, const float *b, int n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* ---- shared pieces of the quantized products ------------------------------- */

/* Four registers of per-128-bit-lane partial sums -> one: lane 4L+g gets the
 * sum of lane L of register g. */
INLINE __m512i reduce4(__m512i a, __m512i b, __m512i c, __m512i d) {
    __m512i s0 = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    __m512i s1 = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(s0, s1), _mm512_unpackhi_epi64(s0, s1));
}

/* Eight registers, each two blocks of 8 partial lanes -> one: lane 4M+j gets
 * block 2j (M=0), 2j+1 (M=1) of s[j], block 2j (M=2), 2j+1 (M=3) of s[4+j]
 * (blocks numbered 2j, 2j+1 in s[j] and 8+2j, 9+2j in s[4+j]). */
INLINE __m512i reduce8(const __m512i *s) {
    __m512i q0 = _mm512_add_epi32(_mm512_unpacklo_epi32(s[0], s[1]), _mm512_unpackhi_epi32(s[0], s[1]));
    __m512i q1 = _mm512_add_epi32(_mm512_unpacklo_epi32(s[2], s[3]), _mm512_unpackhi_epi32(s[2], s[3]));
    __m512i q2 = _mm512_add_epi32(_mm512_unpacklo_epi32(s[4], s[5]), _mm512_unpackhi_epi32(s[4], s[5]));
    __m512i q3 = _mm512_add_epi32(_mm512_unpacklo_epi32(s[6], s[7]), _mm512_unpackhi_epi32(s[6], s[7]));
    __m512i r0 = _mm512_add_epi32(_mm512_unpacklo_epi64(q0, q1), _mm512_unpackhi_epi64(q0, q1));
    __m512i r1 = _mm512_add_epi32(_mm512_unpacklo_epi64(q2, q3), _mm512_unpackhi_epi64(q2, q3));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(r0, r1, 0x88), _mm512_shuffle_i32x4(r0, r1, 0xdd));
}

/* Lane of the reduced vector that holds block i (0..15) of a decode group. */
static inline int lane_q4(int i) { return 4 * (i % 4) + i / 4; }
static inline int lane_q8(int i) { return 4 * ((i % 2) + 2 * (i / 8)) + (i % 8) / 2; }

/* acc + sum over (u8 a) x (s8 b) in groups of 4 bytes, twice. Without VNNI
 * this is only valid for a <= 15 (Q4_0 nibbles): no int16 saturation. */
INLINE __m512i dp2_u4(__m512i acc, __m512i a1, __m512i b1, __m512i a2, __m512i b2) {
#if QI_VNNI
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc, a1, b1), a2, b2);
#else
    __m512i s = _mm512_add_epi16(_mm512_maddubs_epi16(a1, b1), _mm512_maddubs_epi16(a2, b2));
    return _mm512_add_epi32(acc, _mm512_madd_epi16(s, _mm512_set1_epi16(1)));
#endif
}

/* ---- decode path: few columns, weights streamed row by row ------------------- */

#define DEC_COLS 4      /* columns handled together in the decode path */
#define DEC_STEP 16     /* blocks per activation group */
#define DEC_GROUPS 16   /* 16-block groups per k-chunk: 256 blocks, 8192 weights */
#define DEC_K (DEC_STEP * DEC_GROUPS)
#define DEC_PAIR_NC 2   /* row pairs for up to two columns */
/* bytes ahead in the weight stream: the hardware prefetchers stop at 4 KiB
 * page ends; with the weights on 2 MiB pages 12 KiB measured best on Zen
 * (decode +6-8% over 6 KiB, 1 thread; tried 2, 6, 8, 12, 16, 24 KiB), 2 KiB
 * on the Intel Xeon (AMX, 480 MiB L3) development machine (decode at 1 / 2
 * threads over 4 KiB: Q4_0 +8% / +6%, Q8_0 +12% / +11%, Q4_K_M +10% / +6%,
 * Q6_K +10% / +6%, F16 even; Q8_0 drops 6% at 2.5 KiB; tried 0.5-16 KiB,
 * interleaved; `bench --prefetch`; 3 KiB: Q4_0 -2% / -1%, Q8_0 -3% / -4%),
 * but 4 KiB on the 16-core Emerald Rapids `device` (Q4_0 decode over 2 KiB,
 * 4 interleaved rounds, means at 1 / 2 / 4 / 8 / 16 threads: +6% / +15% /
 * +13% / +19% / +6%, ahead in 17 of 20 pairs; two earlier calls agreed) */
#define DEC_PREFETCH (kernels_cpu() == CPU_INTEL_SPR ? 4096 : kernels_cpu() == CPU_INTEL ? 2048 : 12288)
#define DEC_PREFETCH_UNROLL /* empty: a group's prefetches stay a loop on this level */
#define DEC_MASKED 1    /* groups are read whole; dec_mask zeroes the scales of blocks past the row end */

/* One activation column, one 16-block group, laid out for the decode path.
 * Q4_0: y[a] (a < 4) holds, in 128-bit lane L, qs[0..15] of block 4a+L and
 * y[4+a] its qs[16..31]. Q8_0: y[j] holds blocks 2j and 2j+1. bias and dx
 * follow the lane order of reduce4 / reduce8. Blocks past the end are 0. */
typedef struct {
    __m512i y[8];
    __m512i bias;
    __m512 dx;
} dgroup;

/* What the unpacked kinds (simd.h) take of the same column and group, in
 * the Q8_0 lane order: dys = dx * sum(y), for the min term; ys16 (Q6_K):
 * words 2L, 2L+1 the sums of y[0..15] and y[16..31] of the block in lane L. */
typedef struct {
    __m512 dys;
    __m512i ys16;
} dgroup_x;

typedef struct {
    dgroup g[DEC_COLS * DEC_GROUPS];
    dgroup_x gx[DEC_COLS * DEC_GROUPS];
} dec_cols;
typedef __m512 dec_acc;
typedef __mmask16 dec_mask;
#define DEC_MASK_ALL ((__mmask16)0xffff)

static void dec_prepare(int kind, const block_q8_0 *x, int kc, int c, dec_cols *dc) {
    dgroup *g = dc->g + c * DEC_GROUPS;
    dgroup_x *gx = dc->gx + c * DEC_GROUPS;
    int ng = (kc + 15) / 16;
    for (int gi = 0; gi < ng; gi++) {
        uint8_t *yb = (uint8_t *)g[gi].y;
        int32_t bias[16];
        float dx[16], dys[16];
        int16_t ys16[32];
        memset(yb, 0, sizeof g[gi].y);
        for (int i = 0; i < 16; i++) {
            int b = gi * 16 + i, lane = kind == KQ4 ? lane_q4(i) : lane_q8(i);
            if (b >= kc) {
                bias[lane] = 0;
                dx[lane] = dys[lane] = 0;
                ys16[2 * lane] = ys16[2 * lane + 1] = 0;
                continue;
            }
            if (kind_unpacked(kind)) {
                const block_q8_0 *xb = x + b;
                memcpy(yb + (i / 2) * 64 + (i % 2) * 32, xb->qs, 32);
                int32_t lo = 0, hi = 0;
                for (int j = 0; j < 16; j++) lo += xb->qs[j], hi += xb->qs[16 + j];
                /* Q6_K's offset meets its scales per 16: added in dec_group_unpacked */
                bias[lane] = kind == KQ6K ? 0 : -kind_offset(kind) * (lo + hi);
                dx[lane] = h2f(xb->d);
                dys[lane] = dx[lane] * (float)(lo + hi);
                ys16[2 * lane] = (int16_t)lo;
                ys16[2 * lane + 1] = (int16_t)hi;
                continue;
            }
            const block_q8_0 *xb = x + b;
            if (kind == KQ4) {
                memcpy(yb + (i / 4) * 64 + (i % 4) * 16, xb->qs, 16);
                memcpy(yb + (4 + i / 4) * 64 + (i % 4) * 16, xb->qs + 16, 16);
            } else {
                memcpy(yb + (i / 2) * 64 + (i % 2) * 32, xb->qs, 32);
            }
            int32_t ys = ysum32(xb->qs);
            bias[lane] = kind == KQ4 ? -8 * ys : (QI_VNNI ? -128 * ys : 0);
            dx[lane] = h2f(xb->d);
        }
        g[gi].bias = _mm512_loadu_si512(bias);
        g[gi].dx = _mm512_loadu_ps(dx);
        if (kind_unpacked(kind)) {
            gx[gi].dys = _mm512_loadu_ps(dys);
            gx[gi].ys16 = _mm512_loadu_si512(ys16);
        }
    }
}

/* Word indices that gather the 16 f16 scales of a group, in reduce4 / reduce8
 * lane order, out of pairs of 64-byte loads (see dec_scales_*). */
static const uint16_t q4_didx[2][32] __attribute__((aligned(64))) = {
    {0, 36, 0, 0, 9, 45, 0, 0, 18, 54, 0, 0, 27, 63, 0, 0},
    {0, 0, 0, 36, 0, 0, 9, 45, 0, 0, 18, 54, 0, 0, 27, 63}};
static const uint16_t q8_didx[4][32] __attribute__((aligned(64))) = {
    {0, 34, 0, 0, 17, 51},
    {0, 0, 4, 38, 0, 0, 21, 55},
    {0, 0, 0, 0, 0, 0, 0, 0, 8, 42, 0, 0, 25, 59},
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 46, 0, 0, 29, 63}};

/* the 16 block scales of a Q4_0 group (288 bytes at p), reduce4 order */
INLINE __m512 dec_scales_q4(const uint8_t *p) {
    __m512i d0 = _mm512_permutex2var_epi16(_mm512_loadu_si512(p), _mm512_load_si512(q4_didx[0]),
                                           _mm512_loadu_si512(p + 64));
    __m512i d1 = _mm512_permutex2var_epi16(_mm512_loadu_si512(p + 144), _mm512_load_si512(q4_didx[1]),
                                           _mm512_loadu_si512(p + 208));
    return _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_mask_mov_epi16(d0, 0xcccc, d1)));
}

/* the 16 block scales of a Q8_0 group (544 bytes at p), reduce8 order */
INLINE __m512 dec_scales_q8(const uint8_t *p) {
    static const __mmask32 m[4] = {0, 0xcc, 0x3300, 0xcc00};
    __m512i d = _mm512_permutex2var_epi16(_mm512_loadu_si512(p), _mm512_load_si512(q8_didx[0]),
                                          _mm512_loadu_si512(p + 64));
    UNROLL
    for (int s = 1; s < 4; s++)
        d = _mm512_mask_mov_epi16(d, m[s],
                                  _mm512_permutex2var_epi16(_mm512_loadu_si512(p + 128 * s),
                                                            _mm512_load_si512(q8_didx[s]),
                                                            _mm512_loadu_si512(p + 128 * s + 64)));
    return _mm512_cvtph_ps(_mm512_castsi512_si256(d));
}

/* 16 Q4_0 blocks (288 bytes at p[r]) of nr rows against nc prepared
 * columns: acc[r][c] += per-block float terms. Lanes outside dmask (blocks
 * past the end of the row) get a zero scale; their products are zero anyway
 * since the prepared activations are zero there. */
INLINE void dec_group_q4(const int nr, const int nc, const uint8_t *const *p, const dgroup *g, size_t gstride,
                         __m512 (*acc)[DEC_COLS], __mmask16 dmask) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    UNROLL
    for (int r = 0; r < nr; r++) {
        __m512i lo[4], hi[4];
        UNROLL
        for (int a = 0; a < 4; a++) {
            const uint8_t *q = p[r] + a * 72 + 2;
            __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)q));
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(q + 18)), 1);
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(q + 36)), 2);
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(q + 54)), 3);
            lo[a] = _mm512_and_si512(z, m4);
            hi[a] = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
        }
        __m512 dw = _mm512_maskz_mov_ps(dmask, dec_scales_q4(p[r]));
        UNROLL
        for (int c = 0; c < nc; c++) {
            const dgroup *gc = g + c * gstride;
            __m512i s[4];
            UNROLL
            for (int a = 0; a < 4; a++) s[a] = dp2_u4(_mm512_setzero_si512(), lo[a], gc->y[a], hi[a], gc->y[4 + a]);
            __m512i t = _mm512_add_epi32(reduce4(s[0], s[1], s[2], s[3]), gc->bias);
            acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_mul_ps(dw, gc->dx), acc[r][c]);
        }
    }
}

/* 16 Q8_0 blocks (544 bytes at p[r]) of nr rows against nc prepared columns. */
INLINE void dec_group_q8(const int nr, const int nc, const uint8_t *const *p, const dgroup *g, size_t gstride,
                         __m512 (*acc)[DEC_COLS], __mmask16 dmask) {
    UNROLL
    for (int r = 0; r < nr; r++) {
        __m512i wv[8];
#if !QI_VNNI
        __mmask64 neg[8];
#endif
        UNROLL
        for (int j = 0; j < 8; j++) {
            const uint8_t *q = p[r] + j * 68 + 2;
            __m512i z = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)q));
            z = _mm512_inserti64x4(z, _mm256_loadu_si256((const __m256i *)(q + 34)), 1);
#if QI_VNNI
            wv[j] = _mm512_xor_si512(z, _mm512_set1_epi8((char)0x80));
#else
            wv[j] = _mm512_abs_epi8(z);
            neg[j] = _mm512_movepi8_mask(z);
#endif
        }
        __m512 dw = _mm512_maskz_mov_ps(dmask, dec_scales_q8(p[r]));
        UNROLL
        for (int c = 0; c < nc; c++) {
            const dgroup *gc = g + c * gstride;
            __m512i s[8];
            UNROLL
            for (int j = 0; j < 8; j++) {
#if QI_VNNI
                s[j] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv[j], gc->y[j]);
#else
                /* sign trick: |w| * (y with w's sign); |.| <= 2 * 128 * 127 fits int16 */
                __m512i ys = _mm512_mask_sub_epi8(gc->y[j], neg[j], _mm512_setzero_si512(), gc->y[j]);
                s[j] = _mm512_madd_epi16(_mm512_maddubs_epi16(wv[j], ys), _mm512_set1_epi16(1));
#endif
            }
            __m512i t = _mm512_add_epi32(reduce8(s), gc->bias);
            acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_mul_ps(dw, gc->dx), acc[r][c]);
        }
    }
}

/* ---- unpacked kinds: 16 blocks (or 2 superblocks) of one row at a time ------ */

/* The block in each lane of reduce8's order (the inverse of lane_q8). */
#define LANE_BLOCKS(B) 0 * (B), 2 * (B), 4 * (B), 6 * (B), 1 * (B), 3 * (B), 5 * (B), 7 * (B), \
                       8 * (B), 10 * (B), 12 * (B), 14 * (B), 9 * (B), 11 * (B), 13 * (B), 15 * (B)

/* One row's group, unpacked: q[j] the quants (0..63) of blocks 2j, 2j+1 in
 * weight order, as the activations are laid out; d, m per block (lane
 * order). Q6_K: sub[j] the 16-weight scale of each word of a maddubs
 * result of q[j]; subb words 2L, 2L+1: -32 * the scales of the block in
 * lane L (its offset, against ys16). */
typedef struct {
    __m512i q[8];
    __m512 d, m;
    __m512i sub[8], subb;
} ugroup;

/* 16 blocks of 32 weights (Q4_1, Q5_0, Q5_1) */
INLINE void unpack_32(const int kind, const uint8_t *p, ugroup *u) {
    const size_t bsz = kind_bytes(kind);
    const int has_m = kind_has_min(kind), five = kind != KQ4_1;
    const size_t qh_at = has_m ? 4 : 2, qs_at = qh_at + (five ? 4 : 0);
    const __m512i m4 = _mm512_set1_epi8(0x0f), hi_half = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
    UNROLL
    for (int j = 0; j < 8; j++) {
        const uint8_t *a = p + 2 * j * bsz, *b = a + bsz;
        /* 128-bit lanes qs(a), qs(a), qs(b), qs(b): low, high nibbles */
        __m512i z = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(a + qs_at)))),
            _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b + qs_at))), 1);
        __m512i q = _mm512_and_si512(_mm512_srlv_epi64(z, hi_half), m4);
        if (five) { /* bit t of qh is bit 4 of weight t */
            __mmask64 h = _cvtu64_mask64((uint64_t)(uint32_t)load_i32(a + qh_at) |
                                         (uint64_t)(uint32_t)load_i32(b + qh_at) << 32);
            q = _mm512_mask_add_epi8(q, h, q, _mm512_set1_epi8(16));
        }
        u->q[j] = q;
    }
    /* d (and m) of the 16 blocks, one dword each, in lane order */
    const int32_t at[16] = {LANE_BLOCKS((int32_t)bsz)};
    __m512i dm = _mm512_i32gather_epi32(_mm512_loadu_si512(at), p, 1);
    u->d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dm));
    if (has_m) u->m = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dm, 16)));
}

/* per-group byte values of 2 superblocks (8 each, group order) -> 16 floats
 * in lane order */
INLINE __m512 kq_lanes(uint64_t v0, uint64_t v1) {
    static const int8_t order[16] = {LANE_BLOCKS(1)};
    __m128i v = _mm_shuffle_epi8(_mm_set_epi64x((long long)v1, (long long)v0), _mm_loadu_si128((const __m128i *)order));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v));
}

/* an f16 field of 2 superblocks (at p + at, p + bsz + at): 8 lanes each */
INLINE __m512 kq_halves(const uint8_t *p, size_t bsz, size_t at) {
    uint16_t h0, h1;
    memcpy(&h0, p + at, 2);
    memcpy(&h1, p + bsz + at, 2);
    return _mm512_insertf32x8(_mm512_set1_ps(h2f(h0)), _mm256_set1_ps(h2f(h1)), 1);
}

/* 2 superblocks (Q4_K, Q5_K, Q6_K) */
INLINE void unpack_k(const int kind, const uint8_t *p, ugroup *u) {
    const size_t bsz = kind_bytes(kind);
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    UNROLL
    for (int j = 0; j < 8; j++) {
        const uint8_t *sb = p + (j / 4) * bsz;
        const int i = j % 4; /* groups 2i, 2i+1 of the superblock */
        if (kind == KQ6K) {
            /* groups 2i, 2i+1: ql[64h..] nibbles s and qh[32h..] bits s, s+2 */
            const int h = i / 2, sh = 4 * (i % 2);
            __m512i lo = _mm512_and_si512(_mm512_srli_epi16(_mm512_loadu_si512(sb + 64 * h), sh), m4);
            __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(sb + 128 + 32 * h)));
            __m512i hb = _mm512_and_si512(_mm512_srlv_epi64(qh, _mm512_setr_epi64(sh, sh, sh, sh, sh + 2, sh + 2,
                                                                                   sh + 2, sh + 2)),
                                          _mm512_set1_epi8(3));
            u->q[j] = _mm512_or_si512(lo, _mm512_slli_epi16(hb, 4));
        } else {
            /* groups 2i, 2i+1: low, high nibbles of qs[32i..32i+31] */
            const uint8_t *qs = sb + (kind == KQ5K ? 48 : 16) + 32 * i;
            __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qs));
            __m512i q = _mm512_and_si512(_mm512_srlv_epi64(v, _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4)), m4);
            if (kind == KQ5K) { /* bit g of qh[l]: bit 4 of weight l of group g */
                __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(sb + 16)));
                __m512i sel = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * i))),
                                                 _mm256_set1_epi8((char)(1 << (2 * i + 1))), 1);
                q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(qh, sel), q, _mm512_set1_epi8(16));
            }
            u->q[j] = q;
        }
    }
    if (kind == KQ6K) {
        u->d = kq_halves(p, bsz, offsetof(block_q6_K, d));
        /* word k: scale of 16-weight part k (k < 16: first superblock) */
        __m512i sc = _mm512_cvtepi8_epi16(_mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p + offsetof(block_q6_K, scales)))),
            _mm_loadu_si128((const __m128i *)(p + bsz + offsetof(block_q6_K, scales))), 1));
        /* word t of a maddubs result of q[j] belongs to part 4j + t / 8 */
        static const uint16_t part[32] __attribute__((aligned(64))) = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                                       2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
        UNROLL
        for (int j = 0; j < 8; j++)
            u->sub[j] = _mm512_permutexvar_epi16(_mm512_add_epi16(_mm512_load_si512(part), _mm512_set1_epi16((short)(4 * j))), sc);
        static const uint16_t lane_parts[32] __attribute__((aligned(64))) = {
            0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15, 16, 17, 20, 21, 24, 25, 28, 29, 18, 19, 22, 23, 26, 27, 30, 31};
        u->subb = _mm512_mullo_epi16(_mm512_permutexvar_epi16(_mm512_load_si512(lane_parts), sc), _mm512_set1_epi16(-32));
    } else {
        uint64_t sc0, m0, sc1, m1;
        kq_scales8(p + 4, &sc0, &m0);
        kq_scales8(p + bsz + 4, &sc1, &m1);
        /* exact products, as scalar.c's d * sc and -(dmin * m) */
        u->d = _mm512_mul_ps(kq_halves(p, bsz, 0), kq_lanes(sc0, sc1));
        u->m = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(kq_halves(p, bsz, 2), kq_lanes(m0, m1)));
    }
}

/* 16 blocks of an unpacked kind, nr rows, against nc prepared columns */
INLINE void dec_group_unpacked(const int kind, const int nr, const int nc, const uint8_t *const *p, const dgroup *g,
                               const dgroup_x *gx, size_t gstride, __m512 (*acc)[DEC_COLS], __mmask16 dmask) {
    UNROLL
    for (int r = 0; r < nr; r++) {
        ugroup u;
        if (kind_super(kind)) unpack_k(kind, p[r], &u);
        else unpack_32(kind, p[r], &u);
        __m512 dw = _mm512_maskz_mov_ps(dmask, u.d);
        __m512 mw = kind_has_min(kind) ? _mm512_maskz_mov_ps(dmask, u.m) : _mm512_setzero_ps();
        UNROLL
        for (int c = 0; c < nc; c++) {
            const dgroup *gc = g + c * gstride;
            __m512i s[8];
            UNROLL
            for (int j = 0; j < 8; j++) {
                /* quants <= 63: a maddubs pair stays below 2^15 */
                if (kind == KQ6K) s[j] = _mm512_madd_epi16(_mm512_maddubs_epi16(u.q[j], gc->y[j]), u.sub[j]);
                else if (QI_VNNI) s[j] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u.q[j], gc->y[j]);
                else s[j] = _mm512_madd_epi16(_mm512_maddubs_epi16(u.q[j], gc->y[j]), _mm512_set1_epi16(1));
            }
            __m512i t = _mm512_add_epi32(reduce8(s), gc->bias);
            if (kind == KQ6K) t = _mm512_add_epi32(t, _mm512_madd_epi16(u.subb, gx[c * gstride].ys16));
            acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_mul_ps(dw, gc->dx), acc[r][c]);
            if (kind_has_min(kind)) acc[r][c] = _mm512_fmadd_ps(mw, gx[c * gstride].dys, acc[r][c]);
        }
    }
}

/* 16 blocks of nr rows (group gi) against nc prepared columns */
INLINE void dec_group_masked(const int kind, const int nr, const int nc, const uint8_t *const *p, const dec_cols *dc,
                             int gi, dec_acc (*acc)[DEC_COLS], dec_mask dmask) {
    if (kind == KQ4) dec_group_q4(nr, nc, p, dc->g + gi, DEC_GROUPS, acc, dmask);
    else if (kind == KQ8) dec_group_q8(nr, nc, p, dc->g + gi, DEC_GROUPS, acc, dmask);
    else dec_group_unpacked(kind, nr, nc, p, dc->g + gi, dc->gx + gi, DEC_GROUPS, acc, dmask);
}

/* the lanes of the first rem blocks of a group */
INLINE dec_mask dec_rest_mask(const int kind, int rem) {
    __mmask16 dmask = 0;
    for (int i = 0; i < rem; i++) dmask |= (__mmask16)(1u << (kind == KQ4 ? lane_q4(i) : lane_q8(i)));
    return dmask;
}

INLINE dec_acc dec_zero(void) { return _mm512_setzero_ps(); }
INLINE float dec_sum(dec_acc a) { return _mm512_reduce_add_ps(a); }

/* ---- tiled path: 16 rows x 8 columns ------------------------------------------ */

#define TILE_ROWS 16
#define TILE_COLS 8
#define TILE_K 32       /* blocks per k-chunk: a repacked row tile stays in L1 */
#define SUPER_COLS 64   /* columns that share one repacked row tile */
/* below this many columns the decode path (weights streamed once per 4
 * columns) beats the tiled one, whose repacking then serves too few columns */
#define TILED_MIN_COLS(kind) 5
#define TILE_BIAS(kind) ((kind) == KQ4 ? -8 : -128)
#define TILE_UNPACKED 1 /* the unpacked kinds are tiled too: the driver prepares their terms */

/* Registers per repacked block: lane i of w[k] holds the 4 weight bytes of
 * row i that meet activation dword k (k < 8). Q8_0 without VNNI keeps the
 * low nibbles of w + 128 in w[0..7] and the high ones in w[8..15]. */
#define WREGS(kind) ((kind) == KQ8 && !QI_VNNI ? 16 : 8)

typedef struct {
    __m512i w[TILE_K * WREGS(KQ8)]; /* WREGS(kind) per block */
    __m512 d[TILE_K];               /* the 16 rows' scales per block */
    __m512 m[TILE_K];               /* unpacked kinds: their mins (Q6_K: the scales of weights 16..31) */
} tile_rows;
typedef int32_t tile_off; /* the scale gather's indices */

/* 4 registers, 128-bit lane L of register j = 16 bytes at p + off[4L+j] */
INLINE void load_rows4x4(const uint8_t *p, const int32_t *off, __m512i *z) {
    UNROLL
    for (int j = 0; j < 4; j++) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p + off[j])));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + off[4 + j])), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + off[8 + j])), 2);
        z[j] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + off[12 + j])), 3);
    }
}

/* z from load_rows4x4 -> r[k], lane i = dword k of row i */
INLINE void transpose4(const __m512i *z, __m512i *r) {
    __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    r[0] = _mm512_unpacklo_epi64(t0, t2);
    r[1] = _mm512_unpackhi_epi64(t0, t2);
    r[2] = _mm512_unpacklo_epi64(t1, t3);
    r[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* kc blocks of one row of an unpacked kind at p: quants (0..63) in weight
 * order at q, 32 bytes a block; scale and min (Q6_K: the scales of each
 * half) of block b at d[16 b], m[16 b] */
INLINE void unpack_row(const int kind, const uint8_t *p, int kc, uint8_t *q, float *d, float *m) {
    static const int8_t lane_block[16] = {LANE_BLOCKS(1)};
    for (int b0 = 0; b0 < kc; b0 += 16) {
        const int nblk = kc - b0 < 16 ? kc - b0 : 16;
        const uint8_t *src = p + kind_span(kind, b0);
        uint8_t buf[2 * KIND_MAX_BYTES > 16 * sizeof(block_q5_1) ? 2 * KIND_MAX_BYTES : 16 * sizeof(block_q5_1)];
        if (nblk < 16) { /* the row's last blocks: read no further */
            memset(buf, 0, sizeof buf);
            memcpy(buf, src, kind_span(kind, nblk));
            src = buf;
        }
        ugroup u;
        if (kind_super(kind)) unpack_k(kind, src, &u);
        else unpack_32(kind, src, &u);
        UNROLL
        for (int j = 0; j < 8; j++) _mm512_storeu_si512(q + (size_t)(b0 + 2 * j) * 32, u.q[j]);
        if (kind == KQ6K) {
            for (int sb = 0; sb < nblk / 8; sb++) {
                const block_q6_K *k6 = (const block_q6_K *)(const void *)(src + sb * sizeof(block_q6_K));
                float dk = h2f(k6->d);
                for (int i = 0; i < 8; i++) {
                    d[16 * (b0 + 8 * sb + i)] = dk * (float)k6->scales[2 * i];
                    m[16 * (b0 + 8 * sb + i)] = dk * (float)k6->scales[2 * i + 1];
                }
            }
            continue;
        }
        float dl[16], ml[16];
        _mm512_storeu_ps(dl, u.d);
        _mm512_storeu_ps(ml, kind_has_min(kind) ? u.m : _mm512_setzero_ps());
        for (int l = 0; l < 16; l++)
            if (lane_block[l] < nblk) d[16 * (b0 + lane_block[l])] = dl[l], m[16 * (b0 + lane_block[l])] = ml[l];
    }
}

/* Transposes kc blocks of 16 rows (wb + off[i]) into rt. */
INLINE void tile_repack(const int kind, int kc, const uint8_t *wb, const tile_off *off, tile_rows *rt) {
    if (kind_unpacked(kind)) { /* each row unpacked once, then transposed as Q8_0 */
        uint8_t q[16][TILE_K * 32] __attribute__((aligned(64)));
        static const int32_t qoff[16] = {0 * TILE_K * 32, 1 * TILE_K * 32, 2 * TILE_K * 32, 3 * TILE_K * 32,
                                         4 * TILE_K * 32, 5 * TILE_K * 32, 6 * TILE_K * 32, 7 * TILE_K * 32,
                                         8 * TILE_K * 32, 9 * TILE_K * 32, 10 * TILE_K * 32, 11 * TILE_K * 32,
                                         12 * TILE_K * 32, 13 * TILE_K * 32, 14 * TILE_K * 32, 15 * TILE_K * 32};
        for (int i = 0; i < 16; i++) unpack_row(kind, wb + off[i], kc, q[i], (float *)rt->d + i, (float *)rt->m + i);
        for (int b = 0; b < kc; b++) {
            __m512i *w = rt->w + (size_t)b * 8, z[4];
            UNROLL
            for (int h = 0; h < 2; h++) {
                load_rows4x4(&q[0][0] + 32 * b + 16 * h, qoff, z);
                transpose4(z, w + 4 * h);
            }
        }
        return;
    }
    const size_t bsz = kind_bytes(kind);
    const int nw = WREGS(kind);
    const __m512i vidx = _mm512_loadu_si512(off);
    const __m512i m4 = _mm512_set1_epi8(0x0f), x80 = _mm512_set1_epi8((char)0x80);
    for (int b = 0; b < kc; b++) {
        const uint8_t *p = wb + (size_t)b * bsz;
        __m512i *w = rt->w + (size_t)b * nw;
        __m512i z[4], r[4];
        if (kind == KQ4) {
            load_rows4x4(p + 2, off, z);
            transpose4(z, r);
            UNROLL
            for (int k = 0; k < 4; k++) {
                w[k] = _mm512_and_si512(r[k], m4);
                w[4 + k] = _mm512_and_si512(_mm512_srli_epi16(r[k], 4), m4);
            }
        } else {
            UNROLL
            for (int h = 0; h < 2; h++) {
                load_rows4x4(p + 2 + 16 * h, off, z);
                transpose4(z, r);
                UNROLL
                for (int k = 0; k < 4; k++) {
                    __m512i u = _mm512_xor_si512(r[k], x80);
                    if (nw == 8) {
                        w[4 * h + k] = u;
                    } else {
                        w[4 * h + k] = _mm512_and_si512(u, m4);
                        w[8 + 4 * h + k] = _mm512_and_si512(_mm512_srli_epi16(u, 4), m4);
                    }
                }
            }
        }
        rt->d[b] = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(vidx, p, 1)));
    }
}

/* One 16-row x nc-column tile over kc repacked blocks. x0: column 0 at the
 * k-chunk, cv: its terms (stride TILE_K per column). */
/* acc + the dword products of 4 weight registers (quants <= 63) with 4
 * broadcast activation dwords */
INLINE __m512i dot4_u6(__m512i acc, const __m512i *w, const int8_t *y) {
#if QI_VNNI
    UNROLL
    for (int k = 0; k < 4; k++) acc = _mm512_dpbusd_epi32(acc, w[k], _mm512_set1_epi32(load_i32(y + 4 * k)));
    return acc;
#else
    /* two maddubs pairs: <= 4 * 63 * 127 fits int16 */
    const __m512i ones = _mm512_set1_epi16(1);
    UNROLL
    for (int k = 0; k < 4; k += 2) {
        __m512i s = _mm512_add_epi16(_mm512_maddubs_epi16(w[k], _mm512_set1_epi32(load_i32(y + 4 * k))),
                                     _mm512_maddubs_epi16(w[k + 1], _mm512_set1_epi32(load_i32(y + 4 * k + 4))));
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(s, ones));
    }
    return acc;
#endif
}

#if QI_VNNI
/* acc + w (u8) dot the s8 dword at y broadcast: the broadcast rides in the
 * instruction's memory operand (one fused uop), which compilers do not
 * emit from _mm512_set1_epi32 */
INLINE __m512i dpbusd_bcast(__m512i acc, __m512i w, const int8_t *y) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t *)(const void *)y));
    return acc;
}
#endif

/* tile() for an unpacked kind */
INLINE void tile_unpacked(const int kind, const int nc, int kc, const tile_rows *rt, tile_terms cv,
                          const block_q8_0 *x0, size_t xs, __m512 *acc) {
    for (int b = 0; b < kc; b++) {
        __m512i wl[8];
        UNROLL
        for (int k = 0; k < 8; k++) wl[k] = _mm512_load_si512(rt->w + (size_t)b * 8 + k);
        __m512 dw = rt->d[b], mw = rt->m[b];
        UNROLL
        for (int c = 0; c < nc; c++) {
            const int8_t *yq = (x0 + (size_t)c * xs + b)->qs;
            const int t = c * TILE_K + b;
            __m512 dx = _mm512_set1_ps(cv.d[t]);
            __m512i is = dot4_u6(_mm512_set1_epi32(cv.bias[t]), wl, yq);
            if (kind == KQ6K) { /* a scale per 16 weights: the halves apart */
                __m512i ih = dot4_u6(_mm512_set1_epi32(cv.bias_hi[t]), wl + 4, yq + 16);
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, dx), acc[c]);
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ih), _mm512_mul_ps(mw, dx), acc[c]);
                continue;
            }
            is = dot4_u6(is, wl + 4, yq + 16);
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, dx), acc[c]);
            if (kind_has_min(kind)) acc[c] = _mm512_fmadd_ps(mw, _mm512_set1_ps(cv.dys[t]), acc[c]);
        }
    }
}

INLINE void tile(const int kind, const int nc, int kc, const tile_rows *rt, tile_terms cv, const block_q8_0 *x0,
                 size_t xs, float *out, size_t os, int rr, int ncols, int accum) {
    (void)ncols;
    const int nw = WREGS(kind);
    __m512 acc[TILE_COLS];
    UNROLL
    for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();
    if (kind_unpacked(kind)) tile_unpacked(kind, nc, kc, rt, cv, x0, xs, acc);
    else for (int b = 0; b < kc; b++) {
        const __m512i *w = rt->w + (size_t)b * nw;
        __m512i wl[8];
        UNROLL
        for (int k = 0; k < 8; k++) wl[k] = _mm512_load_si512(w + k);
#if !QI_VNNI
        __m512i wh[8];
        if (kind == KQ8) {
            UNROLL
            for (int k = 0; k < 8; k++) wh[k] = _mm512_load_si512(w + 8 + k);
        }
#endif
        __m512 dw = rt->d[b];
#if QI_VNNI
        /* weight dword k meets every column before k + 1: nc independent
         * dpbusd chains side by side hide the instruction's latency, which
         * one column's chain of 8 would wait on */
        __m512i is[TILE_COLS];
        UNROLL
        for (int c = 0; c < nc; c++) is[c] = _mm512_set1_epi32(cv.bias[c * TILE_K + b]);
        UNROLL
        for (int k = 0; k < 8; k++)
            UNROLL
            for (int c = 0; c < nc; c++)
                is[c] = dpbusd_bcast(is[c], wl[k], (x0 + (size_t)c * xs + b)->qs + 4 * k);
        UNROLL
        for (int c = 0; c < nc; c++)
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[c]), _mm512_mul_ps(dw, _mm512_set1_ps(cv.d[c * TILE_K + b])),
                                     acc[c]);
#else
        UNROLL
        for (int c = 0; c < nc; c++) {
            const int8_t *yq = (x0 + (size_t)c * xs + b)->qs;
            __m512i is = _mm512_set1_epi32(cv.bias[c * TILE_K + b]);
            /* 8 products of nibbles <= 15: |sum| <= 8 * 2 * 15 * 128 fits int16 */
            __m512i s = _mm512_setzero_si512(), sh = _mm512_setzero_si512();
            UNROLL
            for (int k = 0; k < 8; k++) {
                __m512i yb = _mm512_set1_epi32(load_i32(yq + 4 * k));
                s = _mm512_add_epi16(s, _mm512_maddubs_epi16(wl[k], yb));
                if (kind == KQ8) sh = _mm512_add_epi16(sh, _mm512_maddubs_epi16(wh[k], yb));
            }
            is = _mm512_add_epi32(is, _mm512_madd_epi16(s, _mm512_set1_epi16(1)));
            if (kind == KQ8) is = _mm512_add_epi32(is, _mm512_madd_epi16(sh, _mm512_set1_epi16(16)));
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, _mm512_set1_ps(cv.d[c * TILE_K + b])),
                                     acc[c]);
        }
#endif
    }
    __mmask16 m = rr >= 16 ? (__mmask16)0xffff : tail_mask(rr);
    UNROLL
    for (int c = 0; c < nc; c++) {
        float *o = out + (size_t)c * os;
        __m512 v = accum ? _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), acc[c]) : acc[c];
        _mm512_mask_storeu_ps(o, m, v);
    }
}

#if QI_VNNI
/* ---- decode on row16 weights (quant.h): 16 rows a vector ---------------------- */

/* Rows interleaved in 16s at load (model.c) put in one vector the weights of
 * 16 rows that meet one activation dword: a block is 4 (Q4_0) or 8 (Q8_0)
 * plain loads and as many broadcast dpbusd, with no shuffles and no
 * reduction across lanes (the row-by-row path spends most of its time on
 * those). Lane i ends with row i's exact block sum, scaled as always. */
#define R16_K 512        /* activation blocks whose terms are prepared at once */
#define R16_PREFETCH 1024

/* 16 rows (p: their row16 blocks from the chunk's first) x nc columns */
INLINE void r16_group(const int kind, const int nc, const uint8_t *p, int kc, const block_q8_0 *x, size_t xs,
                      const int32_t *bias, const float *dx, float *out, size_t os, int accum, int pf) {
    const size_t bsz = ROW16 * kind_bytes(kind);
    const __m512i m4 = _mm512_set1_epi8(0x0f), flip = _mm512_set1_epi8((char)0x80);
    __m512 acc[DEC_COLS];
    UNROLL
    for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();
    for (int b = 0; b < kc; b++, p += bsz) {
        for (size_t o = 0; pf && o < bsz; o += 64) __builtin_prefetch(p + pf + o, 0, 3);
        /* two sums per column: two dpbusd chains in flight when nc is 1 */
        __m512i s[DEC_COLS], t[DEC_COLS];
        UNROLL
        for (int c = 0; c < nc; c++) {
            s[c] = _mm512_set1_epi32(bias[c * R16_K + b]);
            t[c] = _mm512_setzero_si512();
        }
        if (kind == KQ4) {
            UNROLL
            for (int k = 0; k < 4; k++) {
                __m512i z = _mm512_loadu_si512(p + 32 + 64 * k);
                __m512i lo = _mm512_and_si512(z, m4), hi = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
                UNROLL
                for (int c = 0; c < nc; c++) {
                    const int8_t *y = (x + (size_t)c * xs + b)->qs;
                    s[c] = dpbusd_bcast(s[c], lo, y + 4 * k);
                    t[c] = dpbusd_bcast(t[c], hi, y + 16 + 4 * k);
                }
            }
        } else {
            UNROLL
            for (int k = 0; k < 8; k++) {
                __m512i z = _mm512_xor_si512(_mm512_loadu_si512(p + 32 + 64 * k), flip);
                UNROLL
                for (int c = 0; c < nc; c++) {
                    const int8_t *y = (x + (size_t)c * xs + b)->qs + 4 * k;
                    if (k % 2) t[c] = dpbusd_bcast(t[c], z, y);
                    else s[c] = dpbusd_bcast(s[c], z, y);
                }
            }
        }
        __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        UNROLL
        for (int c = 0; c < nc; c++)
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s[c], t[c])),
                                     _mm512_mul_ps(dw, _mm512_set1_ps(dx[c * R16_K + b])), acc[c]);
    }
    UNROLL
    for (int c = 0; c < nc; c++) {
        float *o = out + (size_t)c * os;
        _mm512_storeu_ps(o, accum ? _mm512_add_ps(_mm512_loadu_ps(o), acc[c]) : acc[c]);
    }
}

/* n_rows (a multiple of 16) row16 rows x n_cols columns, DEC_COLS at a time */
static void gemm_r16(const int kind, int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs,
                     int n_cols, float *out, size_t os, int pf) {
    if (pf < 0) pf = R16_PREFETCH;
    const int nb = n / QK8_0;
    int32_t bias[DEC_COLS * R16_K];
    float dx[DEC_COLS * R16_K];
    for (int c0 = 0; c0 < n_cols; c0 += DEC_COLS) {
        const int nc = n_cols - c0 < DEC_COLS ? n_cols - c0 : DEC_COLS;
        for (int k0 = 0; k0 < nb; k0 += R16_K) {
            const int kc = nb - k0 < R16_K ? nb - k0 : R16_K;
            const block_q8_0 *xk = x + (size_t)c0 * xs + k0;
            for (int c = 0; c < nc; c++)
                for (int b = 0; b < kc; b++) {
                    const block_q8_0 *xb = xk + (size_t)c * xs + b;
                    bias[c * R16_K + b] = (kind == KQ4 ? -8 : -128) * ysum32(xb->qs);
                    dx[c * R16_K + b] = h2f(xb->d);
                }
            for (int r0 = 0; r0 < n_rows; r0 += ROW16) {
                const uint8_t *p = (const uint8_t *)w + (size_t)r0 * ws + ROW16 * kind_span(kind, k0);
                float *o = out + (size_t)c0 * os + r0;
#define R16_NC(K, NC) r16_group(K, NC, p, kc, xk, xs, bias, dx, o, os, k0 > 0, pf)
                if (kind == KQ4) SPECIALIZE(nc, DEC_COLS, R16_NC, KQ4);
                else SPECIALIZE(nc, DEC_COLS, R16_NC, KQ8);
#undef R16_NC
            }
        }
    }
}

static void gemm_q4_0_r16(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                          float *out, size_t os, int pf) {
    gemm_r16(KQ4, n, w, ws, n_rows, x, xs, n_cols, out, os, pf);
}

static void gemm_q8_0_r16(int n, const void *w, size_t ws, int n_rows, const block_q8_0 *x, size_t xs, int n_cols,
                          float *out, size_t os, int pf) {
    gemm_r16(KQ8, n, w, ws, n_rows, x, xs, n_cols, out, os, pf);
}
#define ROW16_GEMMS .gemm_q4_0_r16 = gemm_q4_0_r16, .gemm_q8_0_r16 = gemm_q8_0_r16,
#endif

#include "driver.h"

#endif /* __x86_64__ */
