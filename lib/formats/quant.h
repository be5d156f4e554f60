/* Block formats, bit for bit as ggml stores them, and the scalar reference
 * kernels every SIMD kernel is tested against. */
#ifndef QINFER_QUANT_H
#define QINFER_QUANT_H

#include <stddef.h>
#include <stdint.h>

#define QK4_0 32
#define QK8_0 32

/* 32 weights: w[j] = d * ((qs[j] & 15) - 8), w[j+16] = d * ((qs[j] >> 4) - 8) */
typedef struct {
    uint16_t d;            /* f16 scale */
    uint8_t qs[QK4_0 / 2];
} block_q4_0;

/* 32 weights: w[j] = d * qs[j] */
typedef struct {
    uint16_t d;            /* f16 scale */
    int8_t qs[QK8_0];
} block_q8_0;

/* 32 weights: w[j] = d * (qs[j] & 15) + m, w[j+16] = d * (qs[j] >> 4) + m */
typedef struct {
    uint16_t d, m;         /* f16 scale and offset */
    uint8_t qs[QK4_0 / 2];
} block_q4_1;

/* 32 weights of 5 bits: the low 4 as in Q4_0, bit 4 of weight j is bit j of
 * qh (little-endian u32); w = d * (q - 16) */
typedef struct {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[QK4_0 / 2];
} block_q5_0;

/* as Q5_0 with an offset: w = d * q + m */
typedef struct {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[QK4_0 / 2];
} block_q5_1;

/* The k-quants: superblocks of 256 weights. */
#define QK_K 256
#define K_SCALE_SIZE 12

/* 8 groups of 32: w = d * sc[g] * q - dmin * m[g], q in 0..15; the 6-bit
 * sc and m are packed in scales[12] (kq_scale_min); group 2i takes the low
 * nibbles of qs[32i..32i+31], group 2i+1 the high ones. */
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;

/* as Q4_K with a fifth bit: bit 2i of qh[l] is bit 4 of weight l of group
 * 2i, bit 2i+1 that of weight l of group 2i+1; q in 0..31. */
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;

/* 16 groups of 16: w = d * scales[g] * (q - 32), q of 6 bits: 4 in ql, 2 in
 * qh (see dequantize_row for the order, ggml's). */
typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
} block_q6_K;

_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 18 bytes like ggml's");
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 34 bytes like ggml's");
_Static_assert(sizeof(block_q4_1) == 20, "block_q4_1 must be 20 bytes like ggml's");
_Static_assert(sizeof(block_q5_0) == 22, "block_q5_0 must be 22 bytes like ggml's");
_Static_assert(sizeof(block_q5_1) == 24, "block_q5_1 must be 24 bytes like ggml's");
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K must be 144 bytes like ggml's");
_Static_assert(sizeof(block_q5_K) == 176, "block_q5_K must be 176 bytes like ggml's");
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K must be 210 bytes like ggml's");

/* The 6-bit scale and min of group j (0..7) of a Q4_K/Q5_K superblock. */
static inline void kq_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* The f16 fields of one block of type t (enum ggml_type) that must be
 * finite: their byte offsets in the block, and how many (0..2). */
int block_f16_fields(uint32_t t, int offsets[2]);

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);     /* round to nearest even, like F16C */
float bf16_to_fp32(uint16_t h);

/* Dequantize n elements (a multiple of the block size) of a row of type t
 * (enum ggml_type). Exact: every value is representable in f32. */
void dequantize_row(uint32_t t, const void *src, float *dst, int64_t n);

/* Quantize with ggml's reference rounding (quantize_row_q*_ref). */
void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t n);
void quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t n);

/* Bytes of one row of n elements of type t. */
size_t row_bytes(uint32_t t, int64_t n);

/* Rows interleaved in 16s ("row16"), for kernels that take 16 rows per
 * vector lane: Q4_0 and Q8_0 only, n_out a multiple of 16. Group g (rows
 * 16g..16g+15) takes the bytes the 16 rows take in the file, block by block:
 * block b is the 16 rows' f16 scales (row i at 2i), then their quants in
 * 4-byte pieces, piece k of row i at 32 + 64k + 4i (4 pieces for Q4_0, 8 for
 * Q8_0). A vector load of piece k then holds one activation dword's weights
 * for all 16 rows. The size is the file's, so is every row range's offset
 * that starts at a multiple of 16. */
#define ROW16 16
int row16_type(uint32_t t);                  /* 1 for the types that have the layout */
/* rows: 16 rows of n elements, stride row_bytes; group: their row16 bytes */
void row16_pack(uint32_t t, const uint8_t *rows, size_t row_bytes, uint8_t *group, int64_t n);
/* row lane (0..15) of a row16 group, in the file's layout */
void row16_unpack(uint32_t t, const uint8_t *group, int lane, uint8_t *row, int64_t n);
/* all 16 rows of a group, stride row_bytes */
void row16_unpack_group(uint32_t t, const uint8_t *group, uint8_t *rows, size_t row_bytes, int64_t n);

/* 1 if we have kernels for this weight type */
int weight_type_supported(uint32_t t);

/* f32 dot product, 8 independent partial sums (vectorisable, and a fixed
 * summation order so results do not depend on the compiler's whims). */
float dot_f32(const float *a, const float *b, int n);

#endif
