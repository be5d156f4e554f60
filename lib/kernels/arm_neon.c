/* AArch64 NEON kernels. This file is the baseline (armv8-a) table; it is
 * also compiled again by arm_dotprod.c (QI_ARM_DOTPROD: sdot) and by
 * arm_i8mm.c (QI_ARM_I8MM: sdot + smmla), which swap the int8 product steps
 * and add a register-tiled prefill path.
 *
 * Every block product is an exact integer sum, converted to float once and
 * scaled by d_w * d_x; only the order of the float additions differs from
 * the scalar reference. Q4_0 nibbles q (0..15) multiply the activations
 * directly and -8 * sum(y) ("bias") is added per activation block; Q8_0
 * weights are plain int8.
 *
 *  - decode (1-2 columns on dotprod/i8mm, every column count on baseline
 *    NEON, 4 columns per pass): the weights are streamed row by row (two rows
 *    at a time), 4 blocks per step; the 4 lanes of partial sums of each block
 *    are reduced with pairwise adds so one lane holds one block's exact sum
 *    before a single cvt + fma. Baseline: vmull/vmlal into int16 (4 nibble
 *    products or 2 int8 products per lane, no overflow for activations in
 *    -127..127, what quantize_q8_0 produces) then vpadal; dotprod: sdot.
 *  - tiled, dotprod: 4 rows x 8 columns per register tile. A tile of 4 rows x
 *    32 blocks is transposed once into an L1 scratch so that lane i holds
 *    the 4 weights of row i that meet one activation dword, and reused by up
 *    to 64 columns; sdot by element (one activation dword) updates 4 rows.
 *  - tiled, i8mm: 4 rows x 8 columns as 2 x 4 tiles of 2 rows x 2 columns;
 *    smmla multiplies 2 rows x 8 bytes by 2 columns x 8 bytes, giving the
 *    exact block sums of a 2 x 2 tile after 4 steps. Row pairs and column
 *    pairs are interleaved once (per 32 blocks, per 32 columns) and reused.
 *
 *  - the unpacked kinds (Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K; simd.h): quants
 *    0..63 in the Q8_0 lane layout, then Q4_0's / Q8_0's integer products.
 *    Decode: 4 blocks per wquad (a superblock kind: a group of 8, two
 *    wquads, DEC_STEP_OF); Q5_0's offset in the bias, Q6_K's taken off the
 *    quants (signed products) and its scales per 16 applied to the half
 *    sums; mins as their scale times d_x * sum(y). Tiled from 5 columns:
 *    each row unpacked once per tile, then transposed (dotprod) or
 *    interleaved (i8mm) as Q8_0; offsets in the bias, Q6_K's halves apart.
 *
 * This file holds those pieces (decode groups, tiles, repacks) and quantize
 * / dot; the loops around them, the entry points and the table are
 * driver.h's, shared by every level. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

#include "kernels.h"
#include "generic.h"
#include "simd.h"

#if defined(QI_ARM_I8MM)
#define QI_TABLE qi_kernels_i8mm
#define QI_NAME "i8mm"
#define QI_DOT 1
#define QI_MMLA 1
#elif defined(QI_ARM_DOTPROD)
#define QI_TABLE qi_kernels_dotprod
#define QI_NAME "dotprod"
#define QI_DOT 1
#define QI_MMLA 0
#else
#define QI_TABLE qi_kernels_neon
#define QI_NAME "neon"
#define QI_DOT 0
#define QI_MMLA 0
#endif
#define QI_KINDS QI_KINDS_ALL

/* ---- quantize ------------------------------------------------------------- */

static void quantize_q8_0(const float *x, block_q8_0 *y, int n) {
    for (int i = 0; i < n / QK8_0; i++) {
        float32x4_t v[8];
        UNROLL
        for (int k = 0; k < 8; k++) v[k] = vld1q_f32(x + i * 32 + 4 * k);
        /* maxnm ignores NaN like fmaxf */
        float32x4_t m = vabsq_f32(v[0]);
        UNROLL
        for (int k = 1; k < 8; k++) m = vmaxnmq_f32(m, vabsq_f32(v[k]));
        float amax = vmaxnmvq_f32(m);
        float d = amax / 127.0f;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        float32x4_t vid = vdupq_n_f32(id);
        int16x8_t h[4];
        UNROLL
        for (int k = 0; k < 4; k++) {
            /* fcvtas: round to nearest, ties away from zero, like roundf */
            int32x4_t a = vcvtaq_s32_f32(vmulq_f32(v[2 * k], vid));
            int32x4_t b = vcvtaq_s32_f32(vmulq_f32(v[2 * k + 1], vid));
            h[k] = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
        }
        vst1q_s8(y[i].qs, vcombine_s8(vmovn_s16(h[0]), vmovn_s16(h[1])));
        vst1q_s8(y[i].qs + 16, vcombine_s8(vmovn_s16(h[2]), vmovn_s16(h[3])));
    }
}

/* ---- f32 / f16 helpers ------------------------------------------------------ */

static float dot_f32_k(const float *a, const float *b, int n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float t = 0;
    for (; i < n; i++) t += a[i] * b[i];
    return vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3))) + t;
}

/* ---- int8 products ----------------------------------------------------------- */

/* sum of the 32 int8 of an activation block */
INLINE int32_t ysum32(const int8_t *q) { return (int32_t)vaddlvq_s8(vld1q_s8(q)) + vaddlvq_s8(vld1q_s8(q + 16)); }

/* One Q4_0 block: nibbles lo (weights 0..15), hi (16..31) against y[0..15],
 * y[16..31]; 4 lanes of partial sums of sum q*y. Also the unpacked kinds'
 * quants (0..63). */
INLINE int32x4_t dot_q4(int8x16_t lo, int8x16_t hi, int8x16_t ya, int8x16_t yb) {
#if QI_DOT
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo, ya), hi, yb);
#else
    /* 4 products of a quant and an int8 per int16 lane: <= 4 * 63 * 127 */
    int16x8_t p = vmull_s8(vget_low_s8(lo), vget_low_s8(ya));
    p = vmlal_high_s8(p, lo, ya);
    p = vmlal_s8(p, vget_low_s8(hi), vget_low_s8(yb));
    p = vmlal_high_s8(p, hi, yb);
    return vpaddlq_s16(p);
#endif
}

/* One Q8_0 block: weights wa (0..15), wb (16..31); 4 lanes of partial sums. */
INLINE int32x4_t dot_q8(int8x16_t wa, int8x16_t wb, int8x16_t ya, int8x16_t yb) {
#if QI_DOT
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), wa, ya), wb, yb);
#else
    /* 2 int8 products per int16 lane: <= 2 * 128 * 127 for y in -127..127 */
    int16x8_t p = vmull_s8(vget_low_s8(wa), vget_low_s8(ya));
    p = vmlal_high_s8(p, wa, ya);
    int16x8_t q = vmull_s8(vget_low_s8(wb), vget_low_s8(yb));
    q = vmlal_high_s8(q, wb, yb);
    return vpadalq_s16(vpaddlq_s16(p), q);
#endif
}

/* 16 weights (-32..31: Q6_K's, offset taken off) against 16 activations; 4
 * lanes of partial sums */
INLINE int32x4_t dot16(int8x16_t w, int8x16_t y) {
#if QI_DOT
    return vdotq_s32(vdupq_n_s32(0), w, y);
#else
    return vpaddlq_s16(vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(y)), w, y));
#endif
}

static inline float h2f(uint16_t h) { return fp16_to_fp32(h); }

/* ---- the unpacked kinds (simd.h): quants 0..63 in the Q8_0 lane layout ------- */

/* 0x10 in lane l where bit l + 16 * hi of h is set: bit 4 of 16 weights */
INLINE uint8x16_t bit4_of(uint32_t h, int hi) {
    uint8x16_t sel = vqtbl1q_u8(vreinterpretq_u8_u32(vdupq_n_u32(h)),
                                vcombine_u8(vdup_n_u8((uint8_t)(2 * hi)), vdup_n_u8((uint8_t)(2 * hi + 1))));
    uint8x16_t bits = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
    return vandq_u8(vtstq_u8(sel, bits), vdupq_n_u8(0x10));
}

/* One block of Q4_1, Q5_0 or Q5_1 at b: quants of weights 0..15 (a), 16..31 */
INLINE void unpack_block32(const int kind, const uint8_t *b, int8x16_t *a, int8x16_t *hi) {
    const int qs_at = kind == KQ4_1 ? 4 : kind == KQ5_0 ? 6 : 8;
    uint8x16_t v = vld1q_u8(b + qs_at);
    uint8x16_t lo = vandq_u8(v, vdupq_n_u8(0x0f)), up = vshrq_n_u8(v, 4);
    if (kind != KQ4_1) {
        uint32_t h;
        memcpy(&h, b + qs_at - 4, 4);
        lo = vorrq_u8(lo, bit4_of(h, 0));
        up = vorrq_u8(up, bit4_of(h, 1));
    }
    *a = vreinterpretq_s8_u8(lo);
    *hi = vreinterpretq_s8_u8(up);
}

/* Blocks 4h..4h+3 of the superblock (Q4_K, Q5_K, Q6_K) at p: a[i], b[i] the
 * quants of block 4h+i as unpack_block32's; d, m: per block, as scalar.c's
 * d * sc and -(dmin * m) (Q6_K: d alone; sc the scales of the 16-weight
 * halves, [lo, hi] of blocks 0, 1 in sc[0], of blocks 2, 3 in sc[1]) */
INLINE void unpack_super_half(const int kind, const uint8_t *p, const int h, int8x16_t *a, int8x16_t *b,
                              float32x4_t *d, float32x4_t *m, int32x4_t *sc) {
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    if (kind == KQ6K) {
        const uint8_t *ql = p + 64 * h, *qh = p + 128 + 32 * h;
        uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
        UNROLL
        for (int i = 0; i < 4; i++) { /* group 4h+i: nibbles of ql[32(i%2)..], qh bits 2i, 2i+1 */
            uint8x16_t l0 = vld1q_u8(ql + 32 * (i % 2)), l1 = vld1q_u8(ql + 32 * (i % 2) + 16);
            if (i < 2) l0 = vandq_u8(l0, m4), l1 = vandq_u8(l1, m4);
            else l0 = vshrq_n_u8(l0, 4), l1 = vshrq_n_u8(l1, 4);
            const int8x16_t sh = vdupq_n_s8((int8_t)(4 - 2 * i)); /* bits 2i, 2i+1 to 4, 5 */
            a[i] = vreinterpretq_s8_u8(vorrq_u8(l0, vandq_u8(vshlq_u8(h0, sh), vdupq_n_u8(0x30))));
            b[i] = vreinterpretq_s8_u8(vorrq_u8(l1, vandq_u8(vshlq_u8(h1, sh), vdupq_n_u8(0x30))));
        }
        uint16_t dh;
        memcpy(&dh, p + offsetof(block_q6_K, d), 2);
        *d = vdupq_n_f32(h2f(dh));
        int16x8_t s16 = vmovl_s8(vld1_s8((const int8_t *)p + offsetof(block_q6_K, scales) + 8 * h));
        sc[0] = vmovl_s16(vget_low_s16(s16));
        sc[1] = vmovl_high_s16(s16);
        return;
    }
    const uint8_t *qs = p + (kind == KQ5K ? 48 : 16) + 64 * h;
    UNROLL
    for (int j = 0; j < 2; j++) { /* blocks 2j, 2j+1: low, high nibbles of qs[32j..32j+31] */
        uint8x16_t v0 = vld1q_u8(qs + 32 * j), v1 = vld1q_u8(qs + 32 * j + 16);
        a[2 * j] = vreinterpretq_s8_u8(vandq_u8(v0, m4));
        b[2 * j] = vreinterpretq_s8_u8(vandq_u8(v1, m4));
        a[2 * j + 1] = vreinterpretq_s8_u8(vshrq_n_u8(v0, 4));
        b[2 * j + 1] = vreinterpretq_s8_u8(vshrq_n_u8(v1, 4));
    }
    if (kind == KQ5K) {
        uint8x16_t h0 = vld1q_u8(p + 16), h1 = vld1q_u8(p + 32);
        UNROLL
        for (int i = 0; i < 4; i++) { /* bit g = 4h+i of qh[l] to bit 4 of weight l */
            const int8x16_t sh = vdupq_n_s8((int8_t)(4 - (4 * h + i)));
            a[i] = vorrq_s8(a[i], vreinterpretq_s8_u8(vandq_u8(vshlq_u8(h0, sh), vdupq_n_u8(0x10))));
            b[i] = vorrq_s8(b[i], vreinterpretq_s8_u8(vandq_u8(vshlq_u8(h1, sh), vdupq_n_u8(0x10))));
        }
    }
    uint64_t sc8, m8;
    kq_scales8(p + 4, &sc8, &m8);
    uint16_t dh, mh;
    memcpy(&dh, p, 2);
    memcpy(&mh, p + 2, 2);
    uint16x8_t s16 = vmovl_u8(vcreate_u8(sc8)), m16 = vmovl_u8(vcreate_u8(m8));
    uint32x4_t s32 = h ? vmovl_high_u16(s16) : vmovl_u16(vget_low_u16(s16));
    uint32x4_t m32 = h ? vmovl_high_u16(m16) : vmovl_u16(vget_low_u16(m16));
    *d = vmulq_n_f32(vcvtq_f32_u32(s32), h2f(dh));
    *m = vnegq_f32(vmulq_n_f32(vcvtq_f32_u32(m32), h2f(mh)));
}

/* 4 f16 scales at p[0], p[s], p[2s], p[3s] (bytes) */
INLINE float32x4_t scales4(const uint8_t *p, size_t s0, size_t s1, size_t s2, size_t s3) {
    uint16x4_t h = vld1_dup_u16((const uint16_t *)(p + s0));
    h = vld1_lane_u16((const uint16_t *)(p + s1), h, 1);
    h = vld1_lane_u16((const uint16_t *)(p + s2), h, 2);
    h = vld1_lane_u16((const uint16_t *)(p + s3), h, 3);
    return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

/* ---- decode path: few columns, weights streamed row by row ------------------- */

#define DEC_COLS 4
#define DEC_K 512      /* blocks per k-chunk (size of the per-column tables) */
#define DEC_STEP 4     /* blocks per group: one wquad per row */
#define DEC_STEP_OF(kind) (kind_super(kind) ? 8 : DEC_STEP) /* a superblock: two wquads */
#define DEC_PAIR_NC 2  /* row pairs for up to two columns */

/* Columns c of a k-chunk: xc[c] its activations, bias, dx and (kinds with
 * a min) dys = dx * sum(y) per block (stride DEC_K). */
typedef struct {
    const block_q8_0 *xc[DEC_COLS];
    int32_t bias[DEC_COLS * DEC_K];
    float dx[DEC_COLS * DEC_K];
    float dys[DEC_COLS * DEC_K];
} dec_cols;

/* v: per lane, the terms of one block of each group; t: the last 1..3
 * blocks of a row, added one at a time */
typedef struct {
    float32x4_t v;
    float t;
} dec_acc;

/* The 4 blocks i0..i0+3 of one row, unpacked; m: the kinds with a min; sc:
 * Q6_K's scales (unpack_super_half), whose quants here are signed (the
 * offset taken off: sdot multiplies signed by signed). */
typedef struct {
    int8x16_t a[4], b[4];
    float32x4_t d, m;
    int32x4_t sc[2];
} wquad;

/* The 4 blocks at p, or for a superblock kind blocks 4h..4h+3 of the one at p */
INLINE void load_quad(const int kind, const uint8_t *p, const int h, wquad *q) {
    const size_t bsz = kind_bytes(kind);
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    if (kind_super(kind)) {
        unpack_super_half(kind, p, h, q->a, q->b, &q->d, &q->m, q->sc);
        if (kind == KQ6K) {
            UNROLL
            for (int i = 0; i < 4; i++) q->a[i] = vsubq_s8(q->a[i], vdupq_n_s8(32)), q->b[i] = vsubq_s8(q->b[i], vdupq_n_s8(32));
        }
        return;
    }
    if (kind_unpacked(kind)) {
        UNROLL
        for (int i = 0; i < 4; i++) unpack_block32(kind, p + i * bsz, &q->a[i], &q->b[i]);
        q->d = scales4(p, 0, bsz, 2 * bsz, 3 * bsz);
        if (kind_has_min(kind)) q->m = scales4(p + 2, 0, bsz, 2 * bsz, 3 * bsz);
        return;
    }
    UNROLL
    for (int i = 0; i < 4; i++) {
        const uint8_t *b = p + i * bsz + 2;
        if (kind == KQ4) {
            uint8x16_t v = vld1q_u8(b);
            q->a[i] = vreinterpretq_s8_u8(vandq_u8(v, m4));
            q->b[i] = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
        } else {
            q->a[i] = vld1q_s8((const int8_t *)b);
            q->b[i] = vld1q_s8((const int8_t *)b + 16);
        }
    }
    q->d = scales4(p, 0, bsz, 2 * bsz, 3 * bsz);
}

INLINE int32x4_t dot_block(const int kind, int8x16_t a, int8x16_t b, int8x16_t ya, int8x16_t yb) {
    return kind == KQ8 ? dot_q8(a, b, ya, yb) : dot_q4(a, b, ya, yb);
}

INLINE void dec_prepare(const int kind, const block_q8_0 *x, int kc, int c, dec_cols *dc) {
    dc->xc[c] = x;
    for (int b = 0; b < kc; b++) {
        /* Q4_0's and Q5_0's offsets meet the activations' sum */
        const int offset = kind == KQ4 ? 8 : kind == KQ5_0 ? 16 : 0;
        const int32_t ys = offset || kind_has_min(kind) ? ysum32(x[b].qs) : 0;
        const float dx = h2f(x[b].d);
        dc->bias[c * DEC_K + b] = -offset * ys;
        dc->dx[c * DEC_K + b] = dx;
        if (kind_has_min(kind)) dc->dys[c * DEC_K + b] = dx * (float)ys;
    }
}

INLINE dec_acc dec_zero(void) { return (dec_acc){vdupq_n_f32(0), 0}; }
INLINE float dec_sum(dec_acc a) { return vaddvq_f32(a.v) + a.t; }

/* Q6_K: the exact sums of 4 blocks, each half times its scale */
INLINE int32x4_t dot_quad_q6(const wquad *q, const int8x16_t *ya, const int8x16_t *yb) {
    int32x4_t hs[2];
    UNROLL
    for (int j = 0; j < 2; j++) { /* [lo, hi] of blocks 2j, 2j+1 */
        int32x4_t l0 = dot16(q->a[2 * j], ya[2 * j]), h0 = dot16(q->b[2 * j], yb[2 * j]);
        int32x4_t l1 = dot16(q->a[2 * j + 1], ya[2 * j + 1]), h1 = dot16(q->b[2 * j + 1], yb[2 * j + 1]);
        hs[j] = vmulq_s32(vpaddq_s32(vpaddq_s32(l0, h0), vpaddq_s32(l1, h1)), q->sc[j]);
    }
    return vpaddq_s32(hs[0], hs[1]);
}

/* Group gi of nr rows against nc columns: blocks b..b+3, or for a
 * superblock kind b..b+7, 4 at a time (one wquad a row). */
INLINE void dec_group(const int kind, const int nr, const int nc, const uint8_t *const *p, const dec_cols *dc, int gi,
                      dec_acc (*acc)[DEC_COLS]) {
    const int step = DEC_STEP_OF(kind);
    UNROLL
    for (int h = 0; h < step / 4; h++) {
        const int b = gi * step + 4 * h;
        wquad q[2];
        UNROLL
        for (int r = 0; r < nr; r++) load_quad(kind, p[r], h, &q[r]);
        UNROLL
        for (int c = 0; c < nc; c++) {
            int8x16_t ya[4], yb[4];
            UNROLL
            for (int i = 0; i < 4; i++) {
                ya[i] = vld1q_s8(dc->xc[c][b + i].qs);
                yb[i] = vld1q_s8(dc->xc[c][b + i].qs + 16);
            }
            int32x4_t bv = vld1q_s32(dc->bias + c * DEC_K + b);
            float32x4_t dv = vld1q_f32(dc->dx + c * DEC_K + b);
            UNROLL
            for (int r = 0; r < nr; r++) {
                int32x4_t t;
                if (kind == KQ6K) {
                    t = dot_quad_q6(&q[r], ya, yb);
                } else {
                    int32x4_t s0 = dot_block(kind, q[r].a[0], q[r].b[0], ya[0], yb[0]);
                    int32x4_t s1 = dot_block(kind, q[r].a[1], q[r].b[1], ya[1], yb[1]);
                    int32x4_t s2 = dot_block(kind, q[r].a[2], q[r].b[2], ya[2], yb[2]);
                    int32x4_t s3 = dot_block(kind, q[r].a[3], q[r].b[3], ya[3], yb[3]);
                    /* lane i = exact sum of block b+i */
                    t = vaddq_s32(vpaddq_s32(vpaddq_s32(s0, s1), vpaddq_s32(s2, s3)), bv);
                }
                acc[r][c].v = vfmaq_f32(acc[r][c].v, vcvtq_f32_s32(t), vmulq_f32(q[r].d, dv));
                if (kind_has_min(kind))
                    acc[r][c].v = vfmaq_f32(acc[r][c].v, q[r].m, vld1q_f32(dc->dys + c * DEC_K + b));
            }
        }
    }
}

/* The last rem (1..3) blocks of the chunk, in group gi, one at a time (never
 * a superblock kind: its chunks hold whole groups). */
INLINE void dec_rest(const int kind, const int nr, const int nc, const uint8_t *const *p, const dec_cols *dc, int gi,
                     int rem, const uint8_t *limit, dec_acc (*acc)[DEC_COLS]) {
    (void)limit; /* reads stay inside the blocks */
    if (kind_super(kind)) __builtin_unreachable();
    const size_t bsz = kind_bytes(kind);
    for (int i = 0; i < rem; i++) {
        const int b = gi * DEC_STEP + i;
        UNROLL
        for (int r = 0; r < nr; r++) {
            const uint8_t *pb = p[r] + (size_t)i * bsz;
            int8x16_t a, bb;
            if (kind_unpacked(kind)) {
                unpack_block32(kind, pb, &a, &bb);
            } else if (kind == KQ4) {
                uint8x16_t v = vld1q_u8(pb + 2);
                a = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f)));
                bb = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
            } else {
                a = vld1q_s8((const int8_t *)pb + 2);
                bb = vld1q_s8((const int8_t *)pb + 18);
            }
            uint16_t dh;
            memcpy(&dh, pb, 2);
            float dw = fp16_to_fp32(dh);
            UNROLL
            for (int c = 0; c < nc; c++) {
                int32_t is =
                    vaddvq_s32(dot_block(kind, a, bb, vld1q_s8(dc->xc[c][b].qs), vld1q_s8(dc->xc[c][b].qs + 16)));
                is += dc->bias[c * DEC_K + b];
                acc[r][c].t += dw * dc->dx[c * DEC_K + b] * (float)is;
                if (kind_has_min(kind)) {
                    uint16_t mh;
                    memcpy(&mh, pb + 2, 2);
                    acc[r][c].t += fp16_to_fp32(mh) * dc->dys[c * DEC_K + b];
                }
            }
        }
    }
}

#if QI_DOT
/* ---- tiled path: 4 rows x 8 columns ------------------------------------------------ */

#define TILE_ROWS 4
#define TILE_COLS 8
#define TILE_K 32 /* blocks per k-chunk: a repacked row tile stays in L1 */
/* the unpacked kinds from 5 columns (up to 4 the decode path streams and
 * unpacks their weights once) */
#define TILED_MIN_COLS(kind) (3 + 2 * kind_unpacked(kind)) /* 3 or 5: no ?: of constants (clang warns) */
typedef size_t tile_off;

/* Weight bytes of one block of 4 rows (at p + off[i]), as 4 registers per
 * 16 weight bytes: r[k] lane i = dword k of row i (vtrn transpose). */
INLINE void transpose_rows(const uint8_t *p, const tile_off *off, uint8x16_t *r) {
    uint32x4_t a = vreinterpretq_u32_u8(vld1q_u8(p + off[0])), b = vreinterpretq_u32_u8(vld1q_u8(p + off[1]));
    uint32x4_t c = vreinterpretq_u32_u8(vld1q_u8(p + off[2])), d = vreinterpretq_u32_u8(vld1q_u8(p + off[3]));
    uint64x2_t t0 = vreinterpretq_u64_u32(vtrn1q_u32(a, b)), t1 = vreinterpretq_u64_u32(vtrn2q_u32(a, b));
    uint64x2_t t2 = vreinterpretq_u64_u32(vtrn1q_u32(c, d)), t3 = vreinterpretq_u64_u32(vtrn2q_u32(c, d));
    r[0] = vreinterpretq_u8_u64(vtrn1q_u64(t0, t2));
    r[1] = vreinterpretq_u8_u64(vtrn1q_u64(t1, t3));
    r[2] = vreinterpretq_u8_u64(vtrn2q_u64(t0, t2));
    r[3] = vreinterpretq_u8_u64(vtrn2q_u64(t1, t3));
}

/* kc blocks of one row of an unpacked kind at p: quants (0..63) at q, 32
 * bytes a block; scale and min (Q6_K: the scales of each half) of block b
 * at d[4 b], m[4 b] */
INLINE void unpack_row(const int kind, const uint8_t *p, int kc, int8_t *q, float *d, float *m) {
    if (!kind_super(kind)) {
        const size_t bsz = kind_bytes(kind);
        for (int b = 0; b < kc; b++) {
            const uint8_t *pb = p + (size_t)b * bsz;
            int8x16_t lo, hi;
            unpack_block32(kind, pb, &lo, &hi);
            vst1q_s8(q + 32 * b, lo);
            vst1q_s8(q + 32 * b + 16, hi);
            uint16_t dh, mh;
            memcpy(&dh, pb, 2);
            memcpy(&mh, pb + 2, 2);
            d[4 * b] = h2f(dh);
            m[4 * b] = kind_has_min(kind) ? h2f(mh) : 0.0f;
        }
        return;
    }
    for (int b0 = 0; b0 < kc; b0 += 8) { /* kc holds whole superblocks */
        const uint8_t *ps = p + kind_span(kind, b0);
        UNROLL
        for (int h = 0; h < 2; h++) {
            int8x16_t a[4], b[4];
            float32x4_t dv, mv = vdupq_n_f32(0);
            int32x4_t sc[2];
            unpack_super_half(kind, ps, h, a, b, &dv, &mv, sc);
            float dl[4], ml[4];
            if (kind == KQ6K) { /* [lo, hi] of blocks 2j, 2j+1 in sc[j] */
                float s[8];
                vst1q_f32(s, vmulq_f32(dv, vcvtq_f32_s32(sc[0])));
                vst1q_f32(s + 4, vmulq_f32(dv, vcvtq_f32_s32(sc[1])));
                for (int i = 0; i < 4; i++) dl[i] = s[2 * i], ml[i] = s[2 * i + 1];
            } else {
                vst1q_f32(dl, dv);
                vst1q_f32(ml, mv);
            }
            UNROLL
            for (int i = 0; i < 4; i++) {
                const int blk = b0 + 4 * h + i;
                vst1q_s8(q + 32 * blk, a[i]);
                vst1q_s8(q + 32 * blk + 16, b[i]);
                d[4 * blk] = dl[i], m[4 * blk] = ml[i];
            }
        }
    }
}

#if !QI_MMLA
#define SUPER_COLS 64 /* columns that share one repacked row tile */
#define TILE_BIAS(kind) ((kind) == KQ4 ? -8 : 0)
#define TILE_UNPACKED 1 /* the driver prepares the unpacked kinds' terms */

/* kc blocks of 4 rows, 8 registers per block: lane i of w[k] holds the 4
 * weights (or unpacked quants) of row i that meet activation dword k (k < 4:
 * bytes 0..15 of the activations, k >= 4: bytes 16..31); d: the 4 rows'
 * scales; m: the unpacked kinds' mins (Q6_K: the scales of weights 16..31) */
typedef struct {
    int8x16_t w[TILE_K * 8];
    float32x4_t d[TILE_K];
    float32x4_t m[TILE_K];
} tile_rows;

/* Unpacks kc blocks of 4 rows (wb + off[i]) into rt: each row once, then
 * transposed as Q8_0's weights. */
INLINE void tile_repack_unpacked(const int kind, int kc, const uint8_t *wb, const tile_off *off, tile_rows *rt) {
    int8_t q[4][TILE_K * 32] __attribute__((aligned(16)));
    const tile_off qoff[4] = {0, sizeof q[0], 2 * sizeof q[0], 3 * sizeof q[0]};
    for (int i = 0; i < 4; i++) unpack_row(kind, wb + off[i], kc, q[i], (float *)rt->d + i, (float *)rt->m + i);
    for (int b = 0; b < kc; b++)
        UNROLL
        for (int h = 0; h < 2; h++) {
            uint8x16_t r[4];
            transpose_rows((const uint8_t *)q[0] + 32 * b + 16 * h, qoff, r);
            UNROLL
            for (int k = 0; k < 4; k++) rt->w[(size_t)b * 8 + 4 * h + k] = vreinterpretq_s8_u8(r[k]);
        }
}

/* Repacks kc blocks of 4 rows (wb + off[i]) into rt. */
INLINE void tile_repack(const int kind, int kc, const uint8_t *wb, const tile_off *off, tile_rows *rt) {
    if (kind_unpacked(kind)) {
        tile_repack_unpacked(kind, kc, wb, off, rt);
        return;
    }
    const size_t bsz = kind_bytes(kind);
    for (int b = 0; b < kc; b++) {
        const uint8_t *p = wb + (size_t)b * bsz;
        int8x16_t *w = rt->w + (size_t)b * 8;
        uint8x16_t r[4];
        transpose_rows(p + 2, off, r);
        UNROLL
        for (int k = 0; k < 4; k++) {
            if (kind == KQ4) {
                w[k] = vreinterpretq_s8_u8(vandq_u8(r[k], vdupq_n_u8(0x0f)));
                w[4 + k] = vreinterpretq_s8_u8(vshrq_n_u8(r[k], 4));
            } else {
                w[k] = vreinterpretq_s8_u8(r[k]);
            }
        }
        if (kind == KQ8) {
            transpose_rows(p + 18, off, r);
            UNROLL
            for (int k = 0; k < 4; k++) w[4 + k] = vreinterpretq_s8_u8(r[k]);
        }
        rt->d[b] = scales4(p, off[0], off[1], off[2], off[3]);
    }
}

/* acc + the products of 4 repacked weight registers with the 4 dwords of y */
INLINE int32x4_t dot4_lanes(int32x4_t acc, const int8x16_t *w, int8x16_t y) {
    acc = vdotq_laneq_s32(acc, w[0], y, 0);
    acc = vdotq_laneq_s32(acc, w[1], y, 1);
    acc = vdotq_laneq_s32(acc, w[2], y, 2);
    return vdotq_laneq_s32(acc, w[3], y, 3);
}

/* tile() for an unpacked kind */
INLINE void tile_unpacked(const int kind, const int nc, int kc, const tile_rows *rt, tile_terms cv,
                          const block_q8_0 *x0, size_t xs, float32x4_t *acc) {
    for (int b = 0; b < kc; b++) {
        const int8x16_t *w = rt->w + (size_t)b * 8;
        int8x16_t wr[8];
        UNROLL
        for (int k = 0; k < 8; k++) wr[k] = w[k];
        float32x4_t dw = rt->d[b], mw = rt->m[b];
        UNROLL
        for (int c = 0; c < nc; c++) {
            const int8_t *yq = (x0 + (size_t)c * xs + b)->qs;
            const int t = c * TILE_K + b;
            int32x4_t is = dot4_lanes(vdupq_n_s32(cv.bias[t]), wr, vld1q_s8(yq));
            if (kind == KQ6K) { /* a scale per 16 weights: the halves apart */
                int32x4_t ih = dot4_lanes(vdupq_n_s32(cv.bias_hi[t]), wr + 4, vld1q_s8(yq + 16));
                acc[c] = vfmaq_f32(acc[c], vcvtq_f32_s32(is), vmulq_n_f32(dw, cv.d[t]));
                acc[c] = vfmaq_f32(acc[c], vcvtq_f32_s32(ih), vmulq_n_f32(mw, cv.d[t]));
                continue;
            }
            is = dot4_lanes(is, wr + 4, vld1q_s8(yq + 16));
            acc[c] = vfmaq_f32(acc[c], vcvtq_f32_s32(is), vmulq_n_f32(dw, cv.d[t]));
            if (kind_has_min(kind)) acc[c] = vfmaq_n_f32(acc[c], mw, cv.dys[t]);
        }
    }
}

/* One 4-row x nc-column tile over kc repacked blocks. x0: column 0 at the
 * k-chunk; cv: its terms (stride TILE_K per column). */
INLINE void tile(const int kind, const int nc, int kc, const tile_rows *rt, tile_terms cv, const block_q8_0 *x0,
                 size_t xs, float *out, size_t os, int rr, int ncols, int accum) {
    (void)ncols;
    float32x4_t acc[TILE_COLS];
    UNROLL
    for (int c = 0; c < nc; c++) acc[c] = vdupq_n_f32(0);
    if (kind_unpacked(kind)) tile_unpacked(kind, nc, kc, rt, cv, x0, xs, acc);
    else for (int b = 0; b < kc; b++) {
        const int8x16_t *w = rt->w + (size_t)b * 8;
        int8x16_t wr[8];
        UNROLL
        for (int k = 0; k < 8; k++) wr[k] = w[k];
        float32x4_t dw = rt->d[b];
        UNROLL
        for (int c = 0; c < nc; c++) {
            const int8_t *yq = (x0 + (size_t)c * xs + b)->qs;
            int8x16_t ya = vld1q_s8(yq), yb = vld1q_s8(yq + 16);
            int32x4_t is = vdupq_n_s32(cv.bias[c * TILE_K + b]);
            is = vdotq_laneq_s32(is, wr[0], ya, 0);
            is = vdotq_laneq_s32(is, wr[1], ya, 1);
            is = vdotq_laneq_s32(is, wr[2], ya, 2);
            is = vdotq_laneq_s32(is, wr[3], ya, 3);
            is = vdotq_laneq_s32(is, wr[4], yb, 0);
            is = vdotq_laneq_s32(is, wr[5], yb, 1);
            is = vdotq_laneq_s32(is, wr[6], yb, 2);
            is = vdotq_laneq_s32(is, wr[7], yb, 3);
            acc[c] = vfmaq_f32(acc[c], vcvtq_f32_s32(is), vmulq_n_f32(dw, cv.d[c * TILE_K + b]));
        }
    }
    UNROLL
    for (int c = 0; c < nc; c++) {
        float *o = out + (size_t)c * os;
        if (rr == TILE_ROWS) {
            vst1q_f32(o, accum ? vaddq_f32(vld1q_f32(o), acc[c]) : acc[c]);
        } else {
            float v[4];
            vst1q_f32(v, acc[c]);
            for (int i = 0; i < rr; i++) o[i] = accum ? o[i] + v[i] : v[i];
        }
    }
}

#else /* QI_MMLA */
#define SUPER_COLS 32 /* columns that share one repacked row tile */
#define PAIRS (TILE_COLS / 2)
/* a tile is built for its column pairs */
#define TILE_SPECS PAIRS
#define TILE_SPEC(nc) (((nc) + 1) / 2)

/* Two activation columns of one block interleaved for smmla: b[s] holds
 * bytes 8s..8s+7 of the first column, then those of the second; bias and dx
 * in the layout of a 2x2 result [r0c0, r0c1, r1c0, r1c1]. */
typedef struct {
    int8x16_t b[4];
    int32x4_t bias;
    float32x4_t dx;
} colpair;

/* What the unpacked kinds take of a column pair besides, in the same
 * layout: bias_hi (Q6_K: its offset on the high half, whose scale differs)
 * and dys = dx * sum(y) (the min term). colpair's bias: the offset's term
 * (Q6_K: on the low half). */
typedef struct {
    int32x4_t bias_hi;
    float32x4_t dys;
} colpair_x;

/* 2 rows of one block interleaved for smmla: a[s] holds weights 8s..8s+7
 * of the first row, then those of the second; d = [d0, d0, d1, d1]. */
typedef struct {
    int8x16_t a[4];
    float32x4_t d;
} rowpair;

typedef struct {
    colpair p[(SUPER_COLS / 2) * TILE_K];
    colpair_x x[(SUPER_COLS / 2) * TILE_K];
} tile_cols;
typedef struct {
    const colpair *p;
    const colpair_x *x;
} tile_view;
/* m: the unpacked kinds' mins (Q6_K: the scales of weights 16..31) as d */
typedef struct {
    rowpair p[2 * TILE_K];
    float32x4_t m[2 * TILE_K];
} tile_rows;

/* columns [0, nc) of x0 as column pairs (a missing partner is zero); cx:
 * the unpacked kinds' terms */
static void prepare_pairs(int kind, const block_q8_0 *x0, size_t xs, int nc, int kc, colpair *cp, colpair_x *cx) {
    for (int q = 0; q < (nc + 1) / 2; q++) {
        for (int b = 0; b < kc; b++) {
            const block_q8_0 *y0 = x0 + (size_t)(2 * q) * xs + b;
            const block_q8_0 *y1 = 2 * q + 1 < nc ? x0 + (size_t)(2 * q + 1) * xs + b : NULL;
            int64x2_t a0 = vreinterpretq_s64_s8(vld1q_s8(y0->qs)), a1 = vreinterpretq_s64_s8(vld1q_s8(y0->qs + 16));
            int64x2_t c0 = y1 ? vreinterpretq_s64_s8(vld1q_s8(y1->qs)) : vdupq_n_s64(0);
            int64x2_t c1 = y1 ? vreinterpretq_s64_s8(vld1q_s8(y1->qs + 16)) : vdupq_n_s64(0);
            colpair *p = &cp[q * TILE_K + b];
            p->b[0] = vreinterpretq_s8_s64(vzip1q_s64(a0, c0));
            p->b[1] = vreinterpretq_s8_s64(vzip2q_s64(a0, c0));
            p->b[2] = vreinterpretq_s8_s64(vzip1q_s64(a1, c1));
            p->b[3] = vreinterpretq_s8_s64(vzip2q_s64(a1, c1));
            int32_t b0 = kind == KQ4 ? -8 * ysum32(y0->qs) : 0, b1 = y1 && kind == KQ4 ? -8 * ysum32(y1->qs) : 0;
            float d0 = fp16_to_fp32(y0->d), d1 = y1 ? fp16_to_fp32(y1->d) : 0;
            if (kind_unpacked(kind)) {
                /* the halves' sums of each column */
                int32_t lo0 = vaddlvq_s8(vld1q_s8(y0->qs)), hi0 = vaddlvq_s8(vld1q_s8(y0->qs + 16));
                int32_t lo1 = y1 ? vaddlvq_s8(vld1q_s8(y1->qs)) : 0, hi1 = y1 ? vaddlvq_s8(vld1q_s8(y1->qs + 16)) : 0;
                const int q6 = kind == KQ6K, off = kind_offset(kind);
                b0 = q6 ? -32 * lo0 : -off * (lo0 + hi0);
                b1 = q6 ? -32 * lo1 : -off * (lo1 + hi1);
                int32_t hv[4] = {-32 * hi0, -32 * hi1, -32 * hi0, -32 * hi1};
                float e0 = d0 * (float)(lo0 + hi0), e1 = d1 * (float)(lo1 + hi1);
                float ev[4] = {e0, e1, e0, e1};
                cx[q * TILE_K + b].bias_hi = vld1q_s32(hv);
                cx[q * TILE_K + b].dys = vld1q_f32(ev);
            }
            int32_t bv[4] = {b0, b1, b0, b1};
            float dv[4] = {d0, d1, d0, d1};
            p->bias = vld1q_s32(bv);
            p->dx = vld1q_f32(dv);
        }
    }
}

INLINE void tile_prepare(const int kind, const block_q8_0 *x, size_t xs, int ns, int kc, tile_cols *tc) {
    prepare_pairs(kind, x, xs, ns, kc, tc->p, tc->x);
}

/* the column pairs from column c0 on */
INLINE tile_view tile_cols_at(const tile_cols *tc, int c0) {
    return (tile_view){tc->p + (c0 / 2) * TILE_K, tc->x + (c0 / 2) * TILE_K};
}

/* Unpacks kc blocks of 4 rows (wb + off[i]) into rt: each row once, then
 * interleaved in pairs as Q8_0's weights. */
INLINE void tile_repack_unpacked(const int kind, int kc, const uint8_t *wb, const tile_off *off, tile_rows *rt) {
    int8_t q[4][TILE_K * 32] __attribute__((aligned(16)));
    float d[TILE_K * 4], m[TILE_K * 4];
    for (int i = 0; i < 4; i++) unpack_row(kind, wb + off[i], kc, q[i], d + i, m + i);
    for (int b = 0; b < kc; b++)
        UNROLL
        for (int p = 0; p < 2; p++) {
            rowpair *o = &rt->p[2 * b + p];
            const int8_t *r0 = q[2 * p] + 32 * b, *r1 = q[2 * p + 1] + 32 * b;
            UNROLL
            for (int h = 0; h < 2; h++) {
                int64x2_t u = vreinterpretq_s64_s8(vld1q_s8(r0 + 16 * h)), v = vreinterpretq_s64_s8(vld1q_s8(r1 + 16 * h));
                o->a[2 * h] = vreinterpretq_s8_s64(vzip1q_s64(u, v));
                o->a[2 * h + 1] = vreinterpretq_s8_s64(vzip2q_s64(u, v));
            }
            const float *dr = d + 4 * b + 2 * p, *mr = m + 4 * b + 2 * p;
            const float dv[4] = {dr[0], dr[0], dr[1], dr[1]}, mv[4] = {mr[0], mr[0], mr[1], mr[1]};
            o->d = vld1q_f32(dv);
            rt->m[2 * b + p] = vld1q_f32(mv);
        }
}

/* kc blocks of 4 rows (wb + off[i]) as 2 row pairs per block */
INLINE void tile_repack(const int kind, int kc, const uint8_t *wb, const tile_off *off, tile_rows *rt) {
    if (kind_unpacked(kind)) {
        tile_repack_unpacked(kind, kc, wb, off, rt);
        return;
    }
    rowpair *rp = rt->p;
    const size_t bsz = kind_bytes(kind);
    for (int b = 0; b < kc; b++) {
        const uint8_t *blk = wb + (size_t)b * bsz;
        UNROLL
        for (int p = 0; p < 2; p++) {
            rowpair *o = &rp[2 * b + p];
            const uint8_t *r0 = blk + off[2 * p], *r1 = blk + off[2 * p + 1];
            if (kind == KQ4) {
                uint64x2_t u = vreinterpretq_u64_u8(vld1q_u8(r0 + 2)), v = vreinterpretq_u64_u8(vld1q_u8(r1 + 2));
                uint8x16_t z1 = vreinterpretq_u8_u64(vzip1q_u64(u, v)), z2 = vreinterpretq_u8_u64(vzip2q_u64(u, v));
                o->a[0] = vreinterpretq_s8_u8(vandq_u8(z1, vdupq_n_u8(0x0f)));
                o->a[1] = vreinterpretq_s8_u8(vandq_u8(z2, vdupq_n_u8(0x0f)));
                o->a[2] = vreinterpretq_s8_u8(vshrq_n_u8(z1, 4));
                o->a[3] = vreinterpretq_s8_u8(vshrq_n_u8(z2, 4));
            } else {
                int64x2_t u0 = vreinterpretq_s64_s8(vld1q_s8((const int8_t *)r0 + 2));
                int64x2_t u1 = vreinterpretq_s64_s8(vld1q_s8((const int8_t *)r0 + 18));
                int64x2_t v0 = vreinterpretq_s64_s8(vld1q_s8((const int8_t *)r1 + 2));
                int64x2_t v1 = vreinterpretq_s64_s8(vld1q_s8((const int8_t *)r1 + 18));
                o->a[0] = vreinterpretq_s8_s64(vzip1q_s64(u0, v0));
                o->a[1] = vreinterpretq_s8_s64(vzip2q_s64(u0, v0));
                o->a[2] = vreinterpretq_s8_s64(vzip1q_s64(u1, v1));
                o->a[3] = vreinterpretq_s8_s64(vzip2q_s64(u1, v1));
            }
            o->d = scales4(blk, off[2 * p], off[2 * p], off[2 * p + 1], off[2 * p + 1]);
        }
    }
}

/* 4 rows (2 pairs) x np column pairs (cp) over kc blocks; result 2x2 tiles
 * acc[p][q] = [r(2p)c(2q), r(2p)c(2q+1), r(2p+1)c(2q), r(2p+1)c(2q+1)]. */
INLINE void tile(const int kind, const int np, int kc, const tile_rows *rt, tile_view cv, const block_q8_0 *x0,
                 size_t xs, float *out, size_t os, int rr, int nc, int accum) {
    (void)x0, (void)xs;
    const rowpair *rp = rt->p;
    float32x4_t acc[2][PAIRS];
    UNROLL
    for (int p = 0; p < 2; p++)
        UNROLL
        for (int q = 0; q < np; q++) acc[p][q] = vdupq_n_f32(0);
    for (int b = 0; b < kc; b++) {
        int8x16_t a[2][4];
        float32x4_t dw[2], mw[2];
        UNROLL
        for (int p = 0; p < 2; p++) {
            UNROLL
            for (int s = 0; s < 4; s++) a[p][s] = rp[2 * b + p].a[s];
            dw[p] = rp[2 * b + p].d;
            if (kind_unpacked(kind)) mw[p] = rt->m[2 * b + p];
        }
        UNROLL
        for (int q = 0; q < np; q++) {
            const colpair *c = &cv.p[q * TILE_K + b];
            const colpair_x *cx = &cv.x[q * TILE_K + b];
            UNROLL
            for (int p = 0; p < 2; p++) {
                int32x4_t is = c->bias;
                is = vmmlaq_s32(is, a[p][0], c->b[0]);
                is = vmmlaq_s32(is, a[p][1], c->b[1]);
                if (kind == KQ6K) { /* a scale per 16 weights: the halves apart */
                    int32x4_t ih = vmmlaq_s32(cx->bias_hi, a[p][2], c->b[2]);
                    ih = vmmlaq_s32(ih, a[p][3], c->b[3]);
                    acc[p][q] = vfmaq_f32(acc[p][q], vcvtq_f32_s32(is), vmulq_f32(dw[p], c->dx));
                    acc[p][q] = vfmaq_f32(acc[p][q], vcvtq_f32_s32(ih), vmulq_f32(mw[p], c->dx));
                    continue;
                }
                is = vmmlaq_s32(is, a[p][2], c->b[2]);
                is = vmmlaq_s32(is, a[p][3], c->b[3]);
                acc[p][q] = vfmaq_f32(acc[p][q], vcvtq_f32_s32(is), vmulq_f32(dw[p], c->dx));
                if (kind_has_min(kind)) acc[p][q] = vfmaq_f32(acc[p][q], mw[p], cx->dys);
            }
        }
    }
    UNROLL
    for (int p = 0; p < 2; p++)
        UNROLL
        for (int q = 0; q < np; q++) {
            float v[4];
            vst1q_f32(v, acc[p][q]);
            for (int e = 0; e < 4; e++) {
                int r = 2 * p + (e >> 1), c = 2 * q + (e & 1);
                if (r < rr && c < nc) {
                    float *o = out + (size_t)c * os + r;
                    *o = accum ? *o + v[e] : v[e];
                }
            }
        }
}

#endif /* QI_MMLA */

#endif /* QI_DOT */

#include "driver.h"

#endif /* __aarch64__ */
