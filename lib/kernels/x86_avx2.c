/* AVX2 + FMA + F16C kernels.
 *
 * Same scheme as the AVX-512 file with 256-bit vectors: every block product
 * is an exact integer sum (vpmaddubsw + vpmaddwd), converted to float once
 * and scaled by d_w * d_x; only the order of the float additions differs
 * from the scalar reference.
 *
 * Q4_0 nibbles q (0..15) multiply the signed activations directly and the
 * -8 * sum(y) part is added per activation block ("bias"); Q8_0 weights use
 * the sign trick |w| * (y with the sign of w), which needs y != -128 (what
 * quantize_q8_0 produces: -127..127).
 *
 *  - decode (Q4_0 with 1-2 columns, Q8_0 always, 4 columns per pass): the
 *    weights are streamed row by row, 8 blocks per step, with software
 *    prefetch; each 256-bit product covers 16 bytes of 2 blocks, and the
 *    partial sums are reduced across registers to one exact block sum per
 *    lane (reduce4) before a single cvt + fma. Scales: 8 loads + blends.
 *  - tiled (Q4_0 prefill): 8 rows x 4 columns per register tile. A tile of
 *    8 rows x 32 blocks is transposed once into an L1 scratch so that lane i
 *    holds the 4 nibbles of row i that meet one activation dword, and reused
 *    by up to 64 columns; each broadcast activation dword feeds 8 rows. The
 *    int16 sums of the 8 products of a block stay below 2^15
 *    (8 * 2 * 15 * 128).
 *
 *  - the unpacked kinds (Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K; simd.h): each
 *    row's 8 blocks (one superblock) become unsigned quants 0..63 in weight
 *    order, one block per register, against activations in block order;
 *    offsets (Q5_0's -16) go in the per-block bias, Q6_K's -32 meets its
 *    scales per 16 (vpmaddwd by the scales, then their product with the
 *    activations' half sums), mins as d_x * sum(y) times the row's min.
 *    Tiled from 5 columns: rows unpacked once per tile, then transposed.
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

#define QI_TABLE qi_kernels_avx2
#define QI_NAME "avx2"
#define QI_KINDS QI_KINDS_ALL

INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---- quantize ------------------------------------------------------------- */

/* roundf(): round half away from zero, exactly (t = trunc(v); v - t is exact) */
INLINE __m256 round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

static void quantize_q8_0(const float *x, block_q8_0 *y, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int i = 0; i < n / QK8_0; i++) {
        __m256 v[4];
        UNROLL
        for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + i * 32 + 8 * k);
        /* max(|x|, acc) keeps acc when x is NaN, like fmaxf */
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
        float amax = hmax8(m);
        float d = amax / 127.0f;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        UNROLL
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[k], vid)));
        /* int32 -> int8 (|q| <= 127): the packs interleave 128-bit lanes, undo that */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[i].qs, p);
    }
}

/* ---- f32 / f16 helpers ------------------------------------------------------ */

static float dot_f32_k(const float *a, const float *b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float t = 0;
    for (; i < n; i++) t += a[i] * b[i];
    return hsum8(_mm256_add_ps(s0, s1)) + t;
}

/* ---- shared pieces of the quantized products ------------------------------- */

/* Four registers of per-128-bit-lane partial sums -> one: lane 4L+g gets the
 * sum of 128-bit lane L of register g. */
INLINE __m256i reduce4(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i s0 = _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
    __m256i s1 = _mm256_add_epi32(_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d));
    return _mm256_add_epi32(_mm256_unpacklo_epi64(s0, s1), _mm256_unpackhi_epi64(s0, s1));
}

/* 8 f16 scales, 4 bytes apart in the low half of each dword -> 8 floats */
INLINE __m256 scales8(__m256i v) {
    __m256i p = _mm256_packus_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0xffff)), _mm256_setzero_si256());
    p = _mm256_permute4x64_epi64(p, 0x08); /* qwords 0 and 2 -> low 128 bits */
    return _mm256_cvtph_ps(_mm256_castsi256_si128(p));
}

/* ---- decode path: few columns, weights streamed row by row ------------------- */

#define DEC_COLS 4      /* columns handled together */
#define DEC_STEP 8      /* blocks per activation group */
#define DEC_GROUPS 32   /* 8-block groups per k-chunk: 256 blocks, 8192 weights */
#define DEC_K (DEC_STEP * DEC_GROUPS)
#define DEC_PAIR_NC 1   /* row pairs for one column only */
/* bytes ahead in the weight stream: 6 KiB on Zen; 2 KiB on the Intel Xeon
 * development machine (Q4_0 decode at 1 thread +16-20% over 6 KiB) */
#define DEC_PREFETCH (kernels_cpu() != CPU_OTHER ? 2048 : 6144)
#define DEC_MASKED 1    /* groups are read whole; dec_mask zeroes the scales of blocks past the row end */

/* Block i of a group lives in 128-bit lane i % 2 of register i / 2, so the
 * reduced lane of block i is 4 * (i % 2) + i / 2. */
static inline int lane_of(int i) { return 4 * (i % 2) + i / 2; }

/* One activation column, one 8-block group: y[a] holds qs[0..15] of blocks
 * 2a (low 128 bits) and 2a+1 (high), y[4+a] their qs[16..31]; bias and dx
 * in reduce4 lane order. Blocks past the end are 0. */
typedef struct {
    __m256i y[8];
    __m256i bias;
    __m256 dx;
} dgroup;

/* What the unpacked kinds (simd.h) take of the same column and group. Their
 * y, bias, dx (and these) are in block order instead: y[i] is block i,
 * lane i its terms. dys = dx * sum(y), for the min term; ys16 (Q6_K): words
 * 2i, 2i+1 the sums of y[0..15] and y[16..31] of block i. */
typedef struct {
    __m256 dys;
    __m256i ys16;
} dgroup_x;

typedef struct {
    dgroup g[DEC_COLS * DEC_GROUPS];
    dgroup_x gx[DEC_COLS * DEC_GROUPS];
} dec_cols;
typedef __m256 dec_acc;
typedef __m256 dec_mask;
#define DEC_MASK_ALL _mm256_castsi256_ps(_mm256_set1_epi32(-1))

static void dec_prepare(int kind, const block_q8_0 *x, int kc, int c, dec_cols *dc) {
    dgroup *g = dc->g + c * DEC_GROUPS;
    dgroup_x *gx = dc->gx + c * DEC_GROUPS;
    int ng = (kc + 7) / 8;
    for (int gi = 0; gi < ng; gi++) {
        uint8_t *yb = (uint8_t *)g[gi].y;
        int32_t bias[8];
        float dx[8], dys[8];
        int16_t ys16[16];
        memset(yb, 0, sizeof g[gi].y);
        for (int i = 0; i < 8; i++) {
            int b = gi * 8 + i, lane = kind_unpacked(kind) ? i : lane_of(i);
            if (b >= kc) {
                bias[lane] = 0;
                dx[lane] = dys[lane] = 0;
                ys16[2 * lane] = ys16[2 * lane + 1] = 0;
                continue;
            }
            if (kind_unpacked(kind)) {
                const block_q8_0 *xb = x + b;
                memcpy(yb + 32 * i, xb->qs, 32);
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
            memcpy(yb + (i / 2) * 32 + (i % 2) * 16, xb->qs, 16);
            memcpy(yb + (4 + i / 2) * 32 + (i % 2) * 16, xb->qs + 16, 16);
            bias[lane] = kind == KQ4 ? -8 * ysum32(xb->qs) : 0;
            dx[lane] = h2f(xb->d);
        }
        g[gi].bias = _mm256_loadu_si256((const __m256i *)bias);
        g[gi].dx = _mm256_loadu_ps(dx);
        if (kind_unpacked(kind)) {
            gx[gi].dys = _mm256_loadu_ps(dys);
            gx[gi].ys16 = _mm256_loadu_si256((const __m256i *)ys16);
        }
    }
}

/* The 8 f16 scales of a group in reduce4 lane order (blocks 0,2,4,6,1,3,5,7):
 * each is loaded so that it lands in word m of an xmm register, then the 8
 * registers are blended; every load stays inside the group. */
INLINE __m256 dec_scales(const int kind, const uint8_t *p) {
    const size_t bsz = kind_bytes(kind);
#define DLOAD(m, blk) _mm_loadu_si128((const __m128i *)(p + (blk) * bsz - 2 * (m)))
    __m128i v = DLOAD(0, 0);
    v = _mm_blend_epi16(v, DLOAD(1, 2), 0x02);
    v = _mm_blend_epi16(v, DLOAD(2, 4), 0x04);
    v = _mm_blend_epi16(v, DLOAD(3, 6), 0x08);
    v = _mm_blend_epi16(v, DLOAD(4, 1), 0x10);
    v = _mm_blend_epi16(v, DLOAD(5, 3), 0x20);
    v = _mm_blend_epi16(v, DLOAD(6, 5), 0x40);
    v = _mm_blend_epi16(v, DLOAD(7, 7), 0x80);
#undef DLOAD
    return _mm256_cvtph_ps(v);
}

INLINE dec_acc dec_zero(void) { return _mm256_setzero_ps(); }
INLINE float dec_sum(dec_acc a) { return hsum8(a); }

/* the lanes of the first rem blocks of a group */
INLINE dec_mask dec_rest_mask(const int kind, int rem) {
    int32_t m[8];
    for (int i = 0; i < 8; i++) m[kind_unpacked(kind) ? i : lane_of(i)] = i < rem ? -1 : 0;
    return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)m));
}

/* ---- unpacked kinds: 8 blocks (or one superblock) of one row at a time ----- */

/* One row's group, unpacked: q[i] the quants (0..63) of block i in weight
 * order; d, m per block. Q6_K: sub[i] the 16-weight scale of each word of a
 * maddubs result of q[i]; subb words 2i, 2i+1: -32 * the scales of block i
 * (its offset, against ys16). */
typedef struct {
    __m256i q[8];
    __m256 d, m;
    __m256i sub[8], subb;
} ugroup;

/* 32 bits -> 32 bytes, 16 where the bit is set */
INLINE __m256i bits_to_16(uint32_t h) {
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), _mm256_setr_epi64x(0, 0x0101010101010101ll,
                                                                                  0x0202020202020202ll,
                                                                                  0x0303030303030303ll));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(16));
}

/* 8 blocks of 32 weights (Q4_1, Q5_0, Q5_1) */
INLINE void unpack_32(const int kind, const uint8_t *p, ugroup *u) {
    const int bsz = (int)kind_bytes(kind);
    const int has_m = kind_has_min(kind), five = kind != KQ4_1;
    const int qh_at = has_m ? 4 : 2, qs_at = qh_at + (five ? 4 : 0);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    UNROLL
    for (int i = 0; i < 8; i++) {
        const uint8_t *b = p + i * bsz;
        /* low nibbles: weights 0..15, high: 16..31 */
        __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b + qs_at)));
        __m256i q = _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_setr_epi64x(0, 0, 4, 4)), m4);
        if (five) q = _mm256_or_si256(q, bits_to_16((uint32_t)load_i32(b + qh_at)));
        u->q[i] = q;
    }
    __m256i dm = _mm256_i32gather_epi32((const int *)p, _mm256_setr_epi32(0, bsz, 2 * bsz, 3 * bsz, 4 * bsz, 5 * bsz,
                                                                          6 * bsz, 7 * bsz), 1);
    u->d = scales8(dm);
    if (has_m) u->m = scales8(_mm256_srli_epi32(dm, 16));
}

/* one superblock (Q4_K, Q5_K, Q6_K) */
INLINE void unpack_k(const int kind, const uint8_t *p, ugroup *u) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    if (kind == KQ6K) {
        UNROLL
        for (int i = 0; i < 4; i++) { /* groups 2i, 2i+1: ql[64h..] nibbles s, qh[32h..] bits s, s+2 */
            const int h = i / 2, sh = 4 * (i % 2);
            __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h));
            UNROLL
            for (int e = 0; e < 2; e++) {
                __m256i ql = _mm256_loadu_si256((const __m256i *)(p + 64 * h + 32 * e));
                __m256i lo = _mm256_and_si256(_mm256_srli_epi16(ql, sh), m4);
                __m256i hb = _mm256_and_si256(_mm256_srli_epi16(qh, sh + 2 * e), _mm256_set1_epi8(3));
                u->q[2 * i + e] = _mm256_or_si256(lo, _mm256_slli_epi16(hb, 4));
            }
        }
        uint16_t d;
        memcpy(&d, p + offsetof(block_q6_K, d), 2);
        u->d = _mm256_set1_ps(h2f(d));
        /* words 2i, 2i+1: the scales of block i's two halves */
        __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + offsetof(block_q6_K, scales))));
        const __m256i spread = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3,
                                                2, 3, 2, 3, 2, 3, 2, 3);
        UNROLL
        for (int i = 0; i < 8; i++)
            u->sub[i] = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc, _mm256_set1_epi32(i)), spread);
        u->subb = _mm256_mullo_epi16(sc, _mm256_set1_epi16(-32));
        return;
    }
    const uint8_t *qs = p + (kind == KQ5K ? 48 : 16);
    __m256i qh = kind == KQ5K ? _mm256_loadu_si256((const __m256i *)(p + 16)) : _mm256_setzero_si256();
    UNROLL
    for (int i = 0; i < 4; i++) { /* groups 2i, 2i+1: low, high nibbles of qs[32i..32i+31] */
        __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * i));
        u->q[2 * i] = _mm256_and_si256(v, m4);
        u->q[2 * i + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    }
    if (kind == KQ5K) {
        UNROLL
        for (int g = 0; g < 8; g++) { /* bit g of qh[l] to bit 4: bit 4 of weight l of group g */
            __m256i hb = g < 4 ? _mm256_slli_epi16(qh, 4 - g) : _mm256_srli_epi16(qh, g - 4);
            u->q[g] = _mm256_or_si256(u->q[g], _mm256_and_si256(hb, _mm256_set1_epi8(16)));
        }
    }
    uint64_t sc, m;
    kq_scales8(p + 4, &sc, &m);
    uint16_t d, dmin;
    memcpy(&d, p, 2);
    memcpy(&dmin, p + 2, 2);
    /* exact products, as scalar.c's d * sc and -(dmin * m) */
    u->d = _mm256_mul_ps(_mm256_set1_ps(h2f(d)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sc))));
    u->m = _mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(_mm256_set1_ps(h2f(dmin)),
                                                            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(
                                                                _mm_cvtsi64_si128((long long)m)))));
}

/* 8 registers of per-block partial sums (block i in s[i]) -> lane i: block i's sum */
INLINE __m256i reduce8(const __m256i *s) {
    __m256i a = reduce4(s[0], s[1], s[2], s[3]), b = reduce4(s[4], s[5], s[6], s[7]);
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

/* 8 blocks of an unpacked kind, nr rows, against nc prepared columns */
INLINE void dec_group_unpacked(const int kind, const int nr, const int nc, const uint8_t *const *p, const dgroup *g,
                               const dgroup_x *gx, dec_acc (*acc)[DEC_COLS], dec_mask dmask) {
    const __m256i ones = _mm256_set1_epi16(1);
    UNROLL
    for (int r = 0; r < nr; r++) {
        ugroup u;
        if (kind_super(kind)) unpack_k(kind, p[r], &u);
        else unpack_32(kind, p[r], &u);
        __m256 dw = _mm256_and_ps(u.d, dmask);
        __m256 mw = kind_has_min(kind) ? _mm256_and_ps(u.m, dmask) : _mm256_setzero_ps();
        UNROLL
        for (int c = 0; c < nc; c++) {
            const dgroup *gc = g + c * DEC_GROUPS;
            __m256i s[8];
            UNROLL
            for (int i = 0; i < 8; i++) /* quants <= 63: a maddubs pair stays below 2^15 */
                s[i] = _mm256_madd_epi16(_mm256_maddubs_epi16(u.q[i], gc->y[i]), kind == KQ6K ? u.sub[i] : ones);
            __m256i t = _mm256_add_epi32(reduce8(s), gc->bias);
            if (kind == KQ6K) t = _mm256_add_epi32(t, _mm256_madd_epi16(u.subb, gx[c * DEC_GROUPS].ys16));
            acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_mul_ps(dw, gc->dx), acc[r][c]);
            if (kind_has_min(kind)) acc[r][c] = _mm256_fmadd_ps(mw, gx[c * DEC_GROUPS].dys, acc[r][c]);
        }
    }
}

/* 8 blocks (8 * bsz bytes at p[r]) of nr rows against nc prepared columns
 * (group gi): acc[r][c] += per-block float terms. Blocks outside dmask (past
 * the end of the row) get a zero scale; their products are zero (zero
 * activations). */
INLINE void dec_group_masked(const int kind, const int nr, const int nc, const uint8_t *const *p, const dec_cols *dc,
                             int gi, dec_acc (*acc)[DEC_COLS], dec_mask dmask) {
    if (kind_unpacked(kind)) {
        dec_group_unpacked(kind, nr, nc, p, dc->g + gi, dc->gx + gi, acc, dmask);
        return;
    }
    const dgroup *g = dc->g + gi;
    const size_t bsz = kind_bytes(kind);
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    UNROLL
    for (int r = 0; r < nr; r++) {
        __m256i wl[4], wh[4];
        UNROLL
        for (int a = 0; a < 4; a++) {
            const uint8_t *q = p[r] + 2 * a * bsz + 2;
            if (kind == KQ4) {
                __m256i z = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q)),
                                                    _mm_loadu_si128((const __m128i *)(q + bsz)), 1);
                wl[a] = _mm256_and_si256(z, m4);
                wh[a] = _mm256_and_si256(_mm256_srli_epi16(z, 4), m4);
            } else {
                wl[a] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q)),
                                                _mm_loadu_si128((const __m128i *)(q + bsz)), 1);
                wh[a] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(q + 16))),
                                                _mm_loadu_si128((const __m128i *)(q + bsz + 16)), 1);
            }
        }
        __m256 dw = _mm256_and_ps(dec_scales(kind, p[r]), dmask);
        __m256i aw[8];
        if (kind == KQ8) {
            UNROLL
            for (int a = 0; a < 4; a++) {
                aw[a] = _mm256_sign_epi8(wl[a], wl[a]);
                aw[4 + a] = _mm256_sign_epi8(wh[a], wh[a]);
            }
        }
        UNROLL
        for (int c = 0; c < nc; c++) {
            const dgroup *gc = g + c * DEC_GROUPS;
            __m256i s[4];
            UNROLL
            for (int a = 0; a < 4; a++) {
                if (kind == KQ4) {
                    /* nibble products: 2 * 2 * 15 * 128 fits int16 */
                    __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(wl[a], gc->y[a]),
                                                 _mm256_maddubs_epi16(wh[a], gc->y[4 + a]));
                    s[a] = _mm256_madd_epi16(t, ones);
                } else {
                    __m256i t0 = _mm256_maddubs_epi16(aw[a], _mm256_sign_epi8(gc->y[a], wl[a]));
                    __m256i t1 = _mm256_maddubs_epi16(aw[4 + a], _mm256_sign_epi8(gc->y[4 + a], wh[a]));
                    s[a] = _mm256_add_epi32(_mm256_madd_epi16(t0, ones), _mm256_madd_epi16(t1, ones));
                }
            }
            __m256i t = _mm256_add_epi32(reduce4(s[0], s[1], s[2], s[3]), gc->bias);
            acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_mul_ps(dw, gc->dx), acc[r][c]);
        }
    }
}

/* ---- tiled path (Q4_0, unpacked kinds): 8 rows x 4 columns ------------------- */

#define TILE_ROWS 8
#define TILE_COLS 4
#define TILE_K 32       /* blocks per k-chunk: a repacked row tile stays in L1 */
#define SUPER_COLS 64   /* columns that share one repacked row tile */
/* Q8_0 is not tiled here; the unpacked kinds from 5 columns (up to 4 the
 * decode path streams their weights once) */
#define TILED_MIN_COLS(kind) ((kind) == KQ4 ? 3 : (kind) == KQ8 ? 0 : 5)
#define TILE_BIAS(kind) (-8)
#define TILE_UNPACKED 1 /* the driver prepares the unpacked kinds' terms */

/* kc blocks of 8 rows, 8 registers per block: lane i of w[k] holds the
 * nibbles (Q4_0) or quants (unpacked kinds) of row i that meet activation
 * dword k; d: the 8 rows' scales; m: the unpacked kinds' mins (Q6_K: the
 * scales of weights 16..31) */
typedef struct {
    __m256i w[TILE_K * 8];
    __m256 d[TILE_K];
    __m256 m[TILE_K];
} tile_rows;
typedef int32_t tile_off; /* the scale gather's indices */

/* 16 bytes of 8 rows (row j at p[j]) -> r[k], lane i = dword k of row i */
INLINE void transpose8x4(const uint8_t *const *p, __m256i *r) {
    /* z[j]: row j in the low 128 bits, row 4+j in the high ones */
    __m256i z[4];
    UNROLL
    for (int j = 0; j < 4; j++)
        z[j] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p[j])),
                                       _mm_loadu_si128((const __m128i *)p[4 + j]), 1);
    __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
    __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
    r[0] = _mm256_unpacklo_epi64(t0, t2);
    r[1] = _mm256_unpackhi_epi64(t0, t2);
    r[2] = _mm256_unpacklo_epi64(t1, t3);
    r[3] = _mm256_unpackhi_epi64(t1, t3);
}

/* kc blocks of one row of an unpacked kind at p: quants (0..63) in weight
 * order at q, 32 bytes a block; scale and min (Q6_K: the scales of each
 * half) of block b at d[8 b], m[8 b] */
INLINE void unpack_row(const int kind, const uint8_t *p, int kc, uint8_t *q, float *d, float *m) {
    for (int b0 = 0; b0 < kc; b0 += 8) {
        const int nblk = kc - b0 < 8 ? kc - b0 : 8;
        const uint8_t *src = p + kind_span(kind, b0);
        uint8_t buf[KIND_MAX_BYTES];
        if (nblk < 8) { /* the row's last blocks: read no further */
            memset(buf, 0, sizeof buf);
            memcpy(buf, src, kind_span(kind, nblk));
            src = buf;
        }
        ugroup u;
        if (kind_super(kind)) unpack_k(kind, src, &u);
        else unpack_32(kind, src, &u);
        UNROLL
        for (int i = 0; i < 8; i++) _mm256_storeu_si256((__m256i *)(q + (size_t)(b0 + i) * 32), u.q[i]);
        float dl[8], ml[8];
        if (kind == KQ6K) {
            const block_q6_K *k6 = (const block_q6_K *)(const void *)src;
            float dk = h2f(k6->d);
            for (int i = 0; i < 8; i++) dl[i] = dk * (float)k6->scales[2 * i], ml[i] = dk * (float)k6->scales[2 * i + 1];
        } else {
            _mm256_storeu_ps(dl, u.d);
            _mm256_storeu_ps(ml, kind_has_min(kind) ? u.m : _mm256_setzero_ps());
        }
        for (int i = 0; i < nblk; i++) d[8 * (b0 + i)] = dl[i], m[8 * (b0 + i)] = ml[i];
    }
}

/* Unpacks kc blocks of 8 rows (wb + off[i]) into rt: each row once, then
 * transposed. */
INLINE void tile_repack_unpacked(const int kind, int kc, const uint8_t *wb, const tile_off *off, tile_rows *rt) {
    uint8_t q[8][TILE_K * 32] __attribute__((aligned(32)));
    for (int i = 0; i < 8; i++) unpack_row(kind, wb + off[i], kc, q[i], (float *)rt->d + i, (float *)rt->m + i);
    for (int b = 0; b < kc; b++)
        UNROLL
        for (int h = 0; h < 2; h++) {
            const uint8_t *rows[8];
            for (int i = 0; i < 8; i++) rows[i] = q[i] + 32 * b + 16 * h;
            transpose8x4(rows, rt->w + (size_t)b * 8 + 4 * h);
        }
}

/* Transposes kc Q4_0 blocks of 8 rows (wb + off[i]) into rt. */
static void tile_repack_q4(int kc, const uint8_t *wb, const tile_off *off, tile_rows *rt) {
    const __m256i vidx = _mm256_loadu_si256((const __m256i *)off);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int b = 0; b < kc; b++) {
        const uint8_t *p = wb + (size_t)b * sizeof(block_q4_0);
        __m256i *w = rt->w + (size_t)b * 8;
        /* z[j]: row j in the low 128 bits, row 4+j in the high ones */
        __m256i z[4];
        UNROLL
        for (int j = 0; j < 4; j++)
            z[j] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p + 2 + off[j]))),
                                           _mm_loadu_si128((const __m128i *)(p + 2 + off[4 + j])), 1);
        __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
        __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
        __m256i r[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2), _mm256_unpacklo_epi64(t1, t3),
                        _mm256_unpackhi_epi64(t1, t3)};
        UNROLL
        for (int k = 0; k < 4; k++) {
            w[k] = _mm256_and_si256(r[k], m4);
            w[4 + k] = _mm256_and_si256(_mm256_srli_epi16(r[k], 4), m4);
        }
        rt->d[b] = scales8(_mm256_i32gather_epi32((const int *)p, vidx, 1));
    }
}

INLINE void tile_repack(const int kind, int kc, const uint8_t *wb, const tile_off *off, tile_rows *rt) {
    if (kind_unpacked(kind)) tile_repack_unpacked(kind, kc, wb, off, rt);
    else tile_repack_q4(kc, wb, off, rt);
}

/* acc + the dword products of 4 weight registers (quants <= 63) with 4
 * broadcast activation dwords; two maddubs pairs: <= 4 * 63 * 127 fits int16 */
INLINE __m256i dot4_u6(__m256i acc, const __m256i *w, const int8_t *y) {
    UNROLL
    for (int k = 0; k < 4; k += 2) {
        __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_load_si256(w + k), _mm256_set1_epi32(load_i32(y + 4 * k))),
                                     _mm256_maddubs_epi16(_mm256_load_si256(w + k + 1),
                                                          _mm256_set1_epi32(load_i32(y + 4 * k + 4))));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s, _mm256_set1_epi16(1)));
    }
    return acc;
}

/* tile() for an unpacked kind */
INLINE void tile_unpacked(const int kind, const int nc, int kc, const tile_rows *rt, tile_terms cv,
                          const block_q8_0 *x0, size_t xs, __m256 *acc) {
    for (int b = 0; b < kc; b++) {
        const __m256i *w = rt->w + (size_t)b * 8;
        __m256 dw = rt->d[b], mw = rt->m[b];
        UNROLL
        for (int c = 0; c < nc; c++) {
            const int8_t *yq = (x0 + (size_t)c * xs + b)->qs;
            const int t = c * TILE_K + b;
            __m256 dx = _mm256_set1_ps(cv.d[t]);
            __m256i is = dot4_u6(_mm256_set1_epi32(cv.bias[t]), w, yq);
            if (kind == KQ6K) { /* a scale per 16 weights: the halves apart */
                __m256i ih = dot4_u6(_mm256_set1_epi32(cv.bias_hi[t]), w + 4, yq + 16);
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, dx), acc[c]);
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ih), _mm256_mul_ps(mw, dx), acc[c]);
                continue;
            }
            is = dot4_u6(is, w + 4, yq + 16);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, dx), acc[c]);
            if (kind_has_min(kind)) acc[c] = _mm256_fmadd_ps(mw, _mm256_set1_ps(cv.dys[t]), acc[c]);
        }
    }
}

/* One 8-row x nc-column tile over kc repacked blocks. x0: column 0 at the
 * k-chunk, cv: its terms (stride TILE_K per column). */
INLINE void tile(const int kind, const int nc, int kc, const tile_rows *rt, tile_terms cv, const block_q8_0 *x0,
                 size_t xs, float *out, size_t os, int rr, int ncols, int accum) {
    (void)ncols;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[TILE_COLS];
    UNROLL
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
    if (kind_unpacked(kind)) tile_unpacked(kind, nc, kc, rt, cv, x0, xs, acc);
    else for (int b = 0; b < kc; b++) {
        const __m256i *w = rt->w + (size_t)b * 8;
        __m256 dw = rt->d[b];
        UNROLL
        for (int c = 0; c < nc; c++) {
            const int8_t *yq = (x0 + (size_t)c * xs + b)->qs;
            /* 8 nibble products per block and lane: <= 8 * 2 * 15 * 128 fits int16 */
            __m256i s = _mm256_maddubs_epi16(_mm256_load_si256(w), _mm256_set1_epi32(load_i32(yq)));
            UNROLL
            for (int k = 1; k < 8; k++)
                s = _mm256_add_epi16(
                    s, _mm256_maddubs_epi16(_mm256_load_si256(w + k), _mm256_set1_epi32(load_i32(yq + 4 * k))));
            __m256i is = _mm256_add_epi32(_mm256_madd_epi16(s, ones), _mm256_set1_epi32(cv.bias[c * TILE_K + b]));
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(dw, _mm256_set1_ps(cv.d[c * TILE_K + b])),
                                     acc[c]);
        }
    }
    UNROLL
    for (int c = 0; c < nc; c++) {
        float *o = out + (size_t)c * os;
        if (rr == TILE_ROWS) {
            _mm256_storeu_ps(o, accum ? _mm256_add_ps(_mm256_loadu_ps(o), acc[c]) : acc[c]);
        } else {
            float v[8];
            _mm256_storeu_ps(v, acc[c]);
            for (int i = 0; i < rr; i++) o[i] = accum ? o[i] + v[i] : v[i];
        }
    }
}

#include "driver.h"

#endif /* __x86_64__ */
