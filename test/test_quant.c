/* Block formats and conversions against independent references. */
#include <math.h>
#include <string.h>

#include "formats/gguf.h"
#include "formats/quant.h"
#include "test.h"

/* Reference f16 -> f32 by arithmetic, not bit manipulation. */
static double half_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static void f16_to_f32_all(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        double want = half_value((uint16_t)h);
        float got = fp16_to_fp32((uint16_t)h);
        if (isnan(want) ? !isnan(got) : ((double)got != want || !signbit(got) != !signbit(want))) bad++;
    }
    CHECK(bad == 0, "%d of 65536 halves convert wrongly", bad);
}

static void f32_to_f16_round_trip(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if (((h >> 10) & 31) == 31 && (h & 1023)) continue; /* NaN payloads */
        if (fp32_to_fp16(fp16_to_fp32((uint16_t)h)) != h) bad++;
    }
    CHECK(bad == 0, "%d halves do not round-trip", bad);
}

/* Nearest, ties to even: check against the two neighbouring halves. */
static void f32_to_f16_rounding(void) {
    uint64_t x = 88172645463325252ull;
    int bad = 0;
    for (int i = 0; i < 2000000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        uint32_t bits = (uint32_t)x;
        /* keep magnitudes within f16 range, including subnormals and ties */
        bits = (bits & 0x80000000u) | ((0x30000000u + (bits & 0x0fffffffu)) & 0x7fffffffu);
        if (i % 4 == 0) bits &= ~0xfffu; /* many exact ties */
        float f;
        memcpy(&f, &bits, 4);
        if (fabsf(f) >= 65520.0f) continue;
        uint16_t h = fp32_to_fp16(f);
        double got = half_value(h), err = fabs(got - (double)f);
        /* the neighbour on the other side must not be closer, and on a tie the mantissa is even */
        uint16_t other = (uint16_t)(fabs(got) < fabs((double)f) ? h + 1 : h - 1);
        if ((h & 0x7fff) == 0 && fabs(got) > fabs((double)f)) other = h; /* zero has no smaller neighbour */
        double oerr = fabs(half_value(other) - (double)f);
        if (oerr < err || (oerr == err && other != h && (h & 1))) bad++;
    }
    CHECK(bad == 0, "%d of 2M floats rounded wrongly", bad);
    CHECK(fp32_to_fp16(65520.0f) == 0x7c00 && fp32_to_fp16(-1e9f) == 0xfc00, "overflow to inf");
    CHECK(fp32_to_fp16(65504.0f) == 0x7bff, "largest half");
    CHECK((fp32_to_fp16(NAN) & 0x7c00) == 0x7c00 && (fp32_to_fp16(NAN) & 0x3ff), "nan stays nan");
}

static void bf16(void) {
    CHECK(bf16_to_fp32(0x3f80) == 1.0f && bf16_to_fp32(0xc000) == -2.0f, "bf16");
}

/* Q4_0: weight j in the low nibble of qs[j], weight j+16 in the high one. */
static void q4_0_layout(void) {
    block_q4_0 b;
    b.d = fp32_to_fp16(0.5f);
    for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    float out[32];
    dequantize_row(GGML_Q4_0, &b, out, 32);
    int bad = 0;
    for (int j = 0; j < 16; j++) {
        if (out[j] != 0.5f * (j - 8)) bad++;
        if (out[j + 16] != 0.5f * (15 - j - 8)) bad++;
    }
    CHECK(bad == 0, "%d values misplaced", bad);
    /* quantize: the largest magnitude maps to -8 (ggml's reference) */
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    quantize_row_q4_0(x, &b, 32);
    CHECK(fp16_to_fp32(b.d) == 2.0f, "d = max / -8 = %g", fp16_to_fp32(b.d));
    CHECK((b.qs[0] & 15) == 0 && (b.qs[0] >> 4) == 8, "x[0] = -16 -> 0, x[16] = 0 -> 8 (got %d %d)", b.qs[0] & 15, b.qs[0] >> 4);
    dequantize_row(GGML_Q4_0, &b, out, 32);
    float e = 0;
    for (int j = 0; j < 32; j++) e = fmaxf(e, fabsf(out[j] - x[j]));
    CHECK(e <= 1.0f, "error %g > d/2", e);
}

static void q8_0_layout(void) {
    float x[64], out[64];
    for (int j = 0; j < 64; j++) x[j] = sinf((float)j) * (j < 32 ? 1.0f : 100.0f);
    block_q8_0 b[2];
    quantize_row_q8_0(x, b, 64);
    dequantize_row(GGML_Q8_0, b, out, 64);
    for (int k = 0; k < 2; k++) {
        float amax = 0, e = 0, d = fp16_to_fp32(b[k].d);
        for (int j = 0; j < 32; j++) {
            amax = fmaxf(amax, fabsf(x[k * 32 + j]));
            e = fmaxf(e, fabsf(out[k * 32 + j] - x[k * 32 + j]));
            if (out[k * 32 + j] != d * b[k].qs[j]) e = INFINITY;
        }
        CHECK(fabsf(d - amax / 127) <= amax / 127 * 1e-3f, "block %d: d %g vs amax/127 %g", k, d, amax / 127);
        CHECK(e <= d * 0.5f + amax * 1e-3f, "block %d: error %g", k, e);
    }
    float z[32] = {0};
    quantize_row_q8_0(z, b, 32);
    CHECK(b[0].d == 0 && b[0].qs[5] == 0, "zero block");
}

static void sizes(void) {
    CHECK(row_bytes(GGML_Q4_0, 896) == 28 * 18, "q4_0 row");
    CHECK(row_bytes(GGML_Q8_0, 896) == 28 * 34, "q8_0 row");
    CHECK(row_bytes(GGML_F16, 10) == 20 && row_bytes(GGML_F32, 10) == 40, "float rows");
    CHECK(row_bytes(GGML_Q5_0, 896) == 28 * 22 && row_bytes(GGML_Q5_1, 896) == 28 * 24 && row_bytes(GGML_Q4_1, 896) == 28 * 20,
          "q4_1/q5_0/q5_1 rows");
    CHECK(row_bytes(GGML_Q4_K, 4864) == 19 * 144 && row_bytes(GGML_Q5_K, 4864) == 19 * 176 &&
              row_bytes(GGML_Q6_K, 4864) == 19 * 210, "k-quant rows");
    /* the types of the official files run; the 2- and 3-bit k-quants do not (yet) */
    CHECK(weight_type_supported(GGML_Q4_0) && weight_type_supported(GGML_Q4_K) && weight_type_supported(GGML_Q6_K) &&
              weight_type_supported(GGML_BF16) && !weight_type_supported(GGML_Q3_K) && !weight_type_supported(GGML_Q2_K) &&
              !weight_type_supported(GGML_Q8_1),
          "supported types");
}

static void dot(void) {
    float a[37], b[37];
    double want = 0;
    for (int i = 0; i < 37; i++) { a[i] = (float)i * 0.25f - 3; b[i] = 1.0f / (float)(i + 1); want += (double)a[i] * b[i]; }
    CHECK(fabs(dot_f32(a, b, 37) - want) < 1e-5, "dot %g vs %g", dot_f32(a, b, 37), want);
}

int main(void) {
    RUN(f16_to_f32_all);
    RUN(f32_to_f16_round_trip);
    RUN(f32_to_f16_rounding);
    RUN(bf16);
    RUN(q4_0_layout);
    RUN(q8_0_layout);
    RUN(sizes);
    RUN(dot);
    return TEST_EXIT();
}
