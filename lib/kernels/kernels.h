/* Compute kernels behind one dispatch point.
 *
 * Every ISA fills a qi_kernels table; kernels_select() picks the best one the
 * CPU can run (cpuid/xgetbv on x86, getauxval on aarch64), once, when a
 * session is created. qi_config.isa forces a level (one this CPU or build
 * cannot run is an error, not a fallback; the CLI and bench take it from
 * QINFER_ISA).
 *
 * The quantized path follows ggml: an activation row is quantized to Q8_0
 * once, then every weight block contributes an integer dot product times
 * one float scale product. scalar.c is the reference; each SIMD level
 * (x86_*.c, arm_*.c) brings its inner tiles, repacking and decode rows to
 * the GEMM driver written once in driver.h, and each is tested against the
 * reference on random inputs of awkward sizes (test/test_kernels.c). */
#ifndef QINFER_KERNELS_H
#define QINFER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/quant.h"
#include "qinfer.h"

/* W (n_rows rows of n elements, row stride w_stride bytes, of one block
 * type) times X (n_cols activation rows, each n/32 contiguous block_q8_0,
 * row stride x_stride blocks):
 *     out[c * out_stride + r] = dot(W[r], X[c])     r < n_rows, c < n_cols
 * n is a multiple of the type's block (32, or 256 for the k-quants). Activations must lie in -127..127, as quantize_q8_0
 * makes them (the SIMD sign tricks rely on it); weights may use all of int8.
 * Implementations block rows x columns in registers, with up to ~100 KiB of
 * stack for a repacked tile. prefetch: bytes ahead in the weight stream that
 * the few-column (decode) path prefetches; -1 = the level's own distance,
 * 0 = none (a hint: results do not depend on it; levels without software
 * prefetch ignore it). */
typedef void (*qi_gemm_fn)(int n, const void *w, size_t w_stride, int n_rows,
                           const block_q8_0 *x, size_t x_stride, int n_cols,
                           float *out, size_t out_stride, int prefetch);

typedef struct qi_kernels {
    const char *name;
    /* x[n] -> n/32 blocks, ggml's reference rounding (round half away from zero) */
    void (*quantize_q8_0)(const float *x, block_q8_0 *y, int n);
    qi_gemm_fn gemm_q4_0;
    qi_gemm_fn gemm_q8_0;
    /* the other block types; a level that has no kernel of its own for one
     * leaves it NULL, and kernels_gemm() gives the scalar one */
    qi_gemm_fn gemm_q4_1, gemm_q5_0, gemm_q5_1, gemm_q4_k, gemm_q5_k, gemm_q6_k;
    /* Q4_0 and Q8_0 weights interleaved in 16s (quant.h: row16), n_rows a
     * multiple of 16; NULL on a level without them (kernels_gemm_row16
     * serves every level). row16: 1 where they are ahead of the file
     * layout's at every column count, so that interleaving at load pays */
    qi_gemm_fn gemm_q4_0_r16, gemm_q8_0_r16;
    int row16;
    /* f32 dot product, for the exact (dequantized-weight) path */
    float (*dot_f32)(const float *a, const float *b, int n);
    /* tiled attention's inner loops, one row against one block of keys,
     * and the SwiGLU activation (lib/kernels/generic.h: every level builds
     * the same C for its own instruction set) */
    void (*att_scores)(float *sc, const float *q, const float *kt, int hd, int nj, int nr, int stride, float scale);
    float (*att_exp)(float *p, int nj, float max);                    /* p = exp(p - max); sum */
    void (*att_accum)(float *o, const float *p, const float *vb, int nj, int hd, int nr, int pstride);
    void (*swiglu)(float *gate, const float *up, int n);              /* gate = silu(gate) * up */
    /* F16 and BF16 weights times f32 activations (x: n_cols rows of n floats,
     * stride x_stride), out as for the quantized products: the default path
     * for half-precision files (the exact path dequantizes rows instead) */
    void (*gemm_f16)(int n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride, int n_cols,
                     float *out, size_t out_stride);
    void (*gemm_bf16)(int n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride, int n_cols,
                      float *out, size_t out_stride);
} qi_kernels;

extern const qi_kernels qi_kernels_scalar;

/* The best table for this CPU (force NULL), or the one force names. NULL with
 * a message in err if it names a level this CPU or build cannot run. */
const qi_kernels *kernels_select(const char *force, char *err, size_t err_size);

/* The product of weight type t (enum ggml_type) with Q8_0 activations on
 * level k, the scalar one where k has none; NULL for a type that has no
 * quantized product (F32, F16, BF16: they take the exact path). */
qi_gemm_fn kernels_gemm(const qi_kernels *k, uint32_t t);

/* The product of a row16 matrix of type t (n_rows a multiple of 16) on
 * level k, arguments as qi_gemm_fn's: the level's row16 kernel, or on a
 * level without one, the rows unpacked, ROW16_CHUNK at a time, into scratch
 * (ROW16_CHUNK rows of ws bytes) for its product of the file's layout. */
#define ROW16_CHUNK 64
void kernels_gemm_row16(const qi_kernels *k, uint32_t t, int n, const void *w, size_t ws, int n_rows,
                        const block_q8_0 *x, size_t xs, int n_cols, float *out, size_t os, int prefetch,
                        uint8_t *scratch);
/* 1 if the level kernels_select(force) picks has row16 set: the weights
 * are worth interleaving at load */
int kernels_row16_native(const char *force);

/* Every table this build has and this CPU can run, best last; n_out gets
 * the count. For tests that compare each level with the scalar one. */
int kernels_available(const qi_kernels **out, int cap);

/* The CPUs whose decode prefetch distance was measured apart (x86_avx512.c,
 * x86_avx2.c): Intel's Sapphire and Emerald Rapids (family 6, models 0x8F
 * and 0xCF), other Intel CPUs, and the rest (AMD). cpu_kind_of() reads it
 * from cpuid's vendor test and leaf 1 EAX; kernels_cpu() is this CPU's,
 * asked once (cpuid can trap to a hypervisor, and this is asked per product). */
typedef enum { CPU_OTHER, CPU_INTEL, CPU_INTEL_SPR } cpu_kind;
cpu_kind cpu_kind_of(int intel, unsigned leaf1_eax);
#if defined(__x86_64__)
cpu_kind kernels_cpu(void);
#endif

#endif
