/* GGUF reader tests: hand-made files, built in memory (a few also written to a
 * temporary directory to go through gguf_open). Every broken file must give
 * its own status and a message that names the field at fault; every prefix of
 * a valid file must be refused without reading past its end (each parse gets
 * a heap copy of exactly that many bytes, so ASan/valgrind see any overread). */
#include "formats/gguf.h"
#include "test.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- building files ------------------------------------------------------------ */

typedef struct gb { uint8_t *p; size_t n, cap; } gb;

static void gb_raw(gb *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void gb_le(gb *b, uint64_t v, int n) {
    uint8_t t[8];
    for (int i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    gb_raw(b, t, (size_t)n);
}
static void gb_u8(gb *b, uint8_t v) { gb_le(b, v, 1); }
static void gb_u32(gb *b, uint32_t v) { gb_le(b, v, 4); }
static void gb_u64(gb *b, uint64_t v) { gb_le(b, v, 8); }
static void gb_str(gb *b, const char *s) { gb_u64(b, strlen(s)); gb_raw(b, s, strlen(s)); }
static void gb_align(gb *b, size_t a) { while (b->n % a) gb_u8(b, 0); }
static void gb_free(gb *b) { free(b->p); memset(b, 0, sizeof *b); }

static void hdr(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_raw(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}
static void kv_u32(gb *b, const char *key, uint32_t v) { gb_str(b, key); gb_u32(b, GGUF_UINT32); gb_u32(b, v); }
static void kv_str(gb *b, const char *key, const char *v) { gb_str(b, key); gb_u32(b, GGUF_STRING); gb_str(b, v); }
static void tinfo(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) gb_u64(b, ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t f64_bits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }

/* A valid file with every metadata value type and three tensors; the last
 * tensor's data ends exactly at the end of the file. */
typedef struct layout {
    uint64_t data_offset;        /* where the data section starts */
    uint64_t off[3];             /* tensor offsets in it */
    size_t arr_i32_at, arr_str_at; /* file offsets of the first array elements */
    size_t str_at;               /* file offset of the string value's bytes */
} layout;

#define N_VALID_KV 18
static const char *const STRS[] = {"alpha", "", "gamma \xe2\x9c\x93"};
static const int32_t I32S[] = {1, -2, INT32_MAX, INT32_MIN};
static const double F64S[] = {0.1, -0.0, DBL_MAX, 5e-324};
static const char UTF8[] = "h\xc3\xa9llo w\xc3\xb6rld";

static void make_valid(gb *b, uint32_t version, uint32_t alignment, layout *L) {
    memset(L, 0, sizeof *L);
    uint64_t a = alignment ? alignment : 32;
    hdr(b, version, 3, N_VALID_KV + (alignment ? 1 : 0));
    if (alignment) kv_u32(b, "general.alignment", alignment);
    gb_str(b, "t.u8"); gb_u32(b, GGUF_UINT8); gb_u8(b, 0xab);
    gb_str(b, "t.i8"); gb_u32(b, GGUF_INT8); gb_u8(b, 0x80);                      /* -128 */
    gb_str(b, "t.u16"); gb_u32(b, GGUF_UINT16); gb_le(b, 0xbeef, 2);
    gb_str(b, "t.i16"); gb_u32(b, GGUF_INT16); gb_le(b, (uint16_t)-12345, 2);
    gb_str(b, "t.u32"); gb_u32(b, GGUF_UINT32); gb_u32(b, 0xdeadbeefu);
    gb_str(b, "t.i32"); gb_u32(b, GGUF_INT32); gb_u32(b, (uint32_t)INT32_MIN);
    gb_str(b, "t.f32"); gb_u32(b, GGUF_FLOAT32); gb_u32(b, f32_bits(0.1f));
    gb_str(b, "t.bool"); gb_u32(b, GGUF_BOOL); gb_u8(b, 1);
    gb_str(b, "t.str"); gb_u32(b, GGUF_STRING); gb_u64(b, strlen(UTF8));
    L->str_at = b->n; gb_raw(b, UTF8, strlen(UTF8));
    gb_str(b, "t.u64"); gb_u32(b, GGUF_UINT64); gb_u64(b, UINT64_MAX);
    gb_str(b, "t.i64"); gb_u32(b, GGUF_INT64); gb_u64(b, (uint64_t)INT64_MIN);
    gb_str(b, "t.f64"); gb_u32(b, GGUF_FLOAT64); gb_u64(b, f64_bits(-3.141592653589793));
    gb_str(b, "t.arr_i32"); gb_u32(b, GGUF_ARRAY); gb_u32(b, GGUF_INT32); gb_u64(b, 4);
    L->arr_i32_at = b->n;
    for (int i = 0; i < 4; i++) gb_u32(b, (uint32_t)I32S[i]);
    gb_str(b, "t.arr_f64"); gb_u32(b, GGUF_ARRAY); gb_u32(b, GGUF_FLOAT64); gb_u64(b, 4);
    for (int i = 0; i < 4; i++) gb_u64(b, f64_bits(F64S[i]));
    gb_str(b, "t.arr_str"); gb_u32(b, GGUF_ARRAY); gb_u32(b, GGUF_STRING); gb_u64(b, 3);
    L->arr_str_at = b->n;
    for (int i = 0; i < 3; i++) gb_str(b, STRS[i]);
    gb_str(b, "t.arr_empty"); gb_u32(b, GGUF_ARRAY); gb_u32(b, GGUF_UINT64); gb_u64(b, 0);
    gb_str(b, "t.arr_u8"); gb_u32(b, GGUF_ARRAY); gb_u32(b, GGUF_UINT8); gb_u64(b, 3);
    gb_u8(b, 0); gb_u8(b, 7); gb_u8(b, 255);
    gb_str(b, "t.f32_inf"); gb_u32(b, GGUF_FLOAT32); gb_u32(b, f32_bits(-INFINITY));

    /* tensors: F32 [5] (20 bytes, padded to the alignment), Q4_0 [64 x 2], F16 [3 x 1 x 2] */
    const uint64_t ne_a[1] = {5}, ne_b[2] = {64, 2}, ne_c[3] = {3, 1, 2};
    L->off[0] = 0;
    L->off[1] = (20 + a - 1) / a * a;
    L->off[2] = L->off[1] + (4 * 18 + a - 1) / a * a;
    tinfo(b, "a.f32", 1, ne_a, GGML_F32, L->off[0]);
    tinfo(b, "b.q4_0", 2, ne_b, GGML_Q4_0, L->off[1]);
    tinfo(b, "c.f16", 3, ne_c, GGML_F16, L->off[2]);
    gb_align(b, (size_t)a);
    L->data_offset = b->n;
    for (int i = 0; i < 5; i++) gb_u32(b, f32_bits((float)i + 0.5f));
    while (b->n < L->data_offset + L->off[1]) gb_u8(b, 0xee);
    for (int i = 0; i < 4 * 18; i++) gb_u8(b, (uint8_t)i);
    while (b->n < L->data_offset + L->off[2]) gb_u8(b, 0xee);
    for (int i = 0; i < 6; i++) gb_le(b, 0x3c00u + (unsigned)i, 2);
}

/* ---- parsing helpers -------------------------------------------------------------- */

static char msg[1024];

/* Parse a heap copy of exactly n bytes of p. */
static qi_status parse_copy(const uint8_t *p, size_t n, gguf_file *g, uint8_t **copy) {
    *copy = malloc(n ? n : 1);
    if (!*copy) { fprintf(stderr, "out of memory\n"); exit(2); }
    if (n) memcpy(*copy, p, n);
    msg[0] = 0;
    return gguf_parse(*copy, n, g, msg, sizeof msg);
}

/* Expect status st and a message containing want (if not NULL). */
#define EXPECT(b, st, want) expect_(__LINE__, (b)->p, (b)->n, st, want)
static void expect_(int line, const uint8_t *p, size_t n, qi_status want_st, const char *want) {
    gguf_file g;
    uint8_t *copy;
    memset(&g, 0x5a, sizeof g);
    qi_status st = parse_copy(p, n, &g, &copy);
    CHECK(st == want_st, "line %d: status %d, expected %d (%s)", line, (int)st, (int)want_st, msg);
    if (want) CHECK(strstr(msg, want) != NULL, "line %d: message '%s' does not mention '%s'", line, msg, want);
    if (st != QI_OK) {
        CHECK(g.kv == NULL && g.tensors == NULL, "line %d: a failed parse must free its index", line);
        CHECK(g.n_kv == 0 && g.n_tensors == 0 && g.base == NULL && g.size == 0 && g.version == 0,
                  "a failed parse leaves fields set (line %d: n_kv %llu, n_tensors %llu, version %u)", line,
                  (unsigned long long)g.n_kv, (unsigned long long)g.n_tensors, g.version);
        CHECK(msg[0] != 0, "line %d: empty message", line);
    } else {
        gguf_close(&g);
    }
    free(copy);
}

/* ---- positive cases ------------------------------------------------------------------- */

static void check_valid(const gguf_file *g, const uint8_t *base, const layout *L, uint32_t version, uint64_t align) {
    uint64_t u;
    double f;
    gguf_str s;
    const gguf_kv *kv;
    CHECK(g->version == version, "version %u", g->version);
    CHECK(g->n_tensors == 3, "n_tensors %llu", (unsigned long long)g->n_tensors);
    CHECK(g->alignment == align, "alignment %llu", (unsigned long long)g->alignment);
    CHECK(g->data_offset == L->data_offset, "data_offset %llu, expected %llu",
          (unsigned long long)g->data_offset, (unsigned long long)L->data_offset);
    CHECK(g->data_offset % align == 0, "data offset not aligned");

#define KV(name, t) ((kv = gguf_find_kv(g, name)) != NULL && kv->type == (t))
    CHECK(KV("t.u8", GGUF_UINT8) && kv->v.u == 0xab, "u8");
    CHECK(KV("t.i8", GGUF_INT8) && kv->v.i == -128, "i8");
    CHECK(KV("t.u16", GGUF_UINT16) && kv->v.u == 0xbeef, "u16");
    CHECK(KV("t.i16", GGUF_INT16) && kv->v.i == -12345, "i16");
    CHECK(KV("t.u32", GGUF_UINT32) && kv->v.u == 0xdeadbeefu, "u32");
    CHECK(KV("t.i32", GGUF_INT32) && kv->v.i == INT32_MIN, "i32");
    CHECK(KV("t.f32", GGUF_FLOAT32) && (float)kv->v.f == 0.1f && kv->v.f == (double)0.1f, "f32 %.17g", kv ? kv->v.f : 0);
    CHECK(KV("t.f32_inf", GGUF_FLOAT32) && isinf(kv->v.f) && kv->v.f < 0, "f32 -inf");
    CHECK(KV("t.bool", GGUF_BOOL) && kv->v.u == 1, "bool");
    CHECK(KV("t.str", GGUF_STRING) && kv->v.s.len == strlen(UTF8) && memcmp(kv->v.s.ptr, UTF8, strlen(UTF8)) == 0,
          "string");
    CHECK(kv && (const uint8_t *)kv->v.s.ptr == base + L->str_at, "string points into the buffer");
    CHECK(KV("t.u64", GGUF_UINT64) && kv->v.u == UINT64_MAX, "u64");
    CHECK(KV("t.i64", GGUF_INT64) && kv->v.i == INT64_MIN, "i64");
    CHECK(KV("t.f64", GGUF_FLOAT64) && f64_bits(kv->v.f) == f64_bits(-3.141592653589793), "f64");

    CHECK(KV("t.arr_i32", GGUF_ARRAY) && kv->v.arr.type == GGUF_INT32 && kv->v.arr.n == 4, "i32 array");
    if (kv && kv->type == GGUF_ARRAY) {
        CHECK(kv->v.arr.data == base + L->arr_i32_at, "array data pointer");
        for (int i = 0; i < 4; i++) {
            int32_t x;
            memcpy(&x, kv->v.arr.data + 4 * i, 4);
            CHECK(x == I32S[i], "i32 array[%d] = %d", i, x);
        }
    }
    CHECK(KV("t.arr_f64", GGUF_ARRAY) && kv->v.arr.type == GGUF_FLOAT64 && kv->v.arr.n == 4, "f64 array");
    if (kv && kv->type == GGUF_ARRAY)
        for (int i = 0; i < 4; i++) {
            uint64_t x;
            memcpy(&x, kv->v.arr.data + 8 * i, 8);
            CHECK(x == f64_bits(F64S[i]), "f64 array[%d]", i);
        }
    CHECK(KV("t.arr_u8", GGUF_ARRAY) && kv->v.arr.type == GGUF_UINT8 && kv->v.arr.n == 3 &&
          kv->v.arr.data[0] == 0 && kv->v.arr.data[1] == 7 && kv->v.arr.data[2] == 255, "u8 array");
    CHECK(KV("t.arr_empty", GGUF_ARRAY) && kv->v.arr.type == GGUF_UINT64 && kv->v.arr.n == 0, "empty array");
    kv = gguf_get_arr(g, "t.arr_str", GGUF_STRING);
    CHECK(kv && kv->v.arr.n == 3, "string array");
    if (kv) {
        const uint8_t *p = kv->v.arr.data;
        CHECK(p == base + L->arr_str_at, "string array data pointer");
        for (int i = 0; i < 3; i++) {
            p = gguf_arr_next_str(p, &s);
            CHECK(gguf_str_eq(s, STRS[i]), "string array[%d] = '%.*s'", i, (int)s.len, s.ptr);
        }
    }
#undef KV
    /* getters */
    CHECK(gguf_get_u64(g, "t.u32", &u) && u == 0xdeadbeefu, "get_u64 u32");
    CHECK(gguf_get_u64(g, "t.bool", &u) && u == 1, "get_u64 bool");
    CHECK(!gguf_get_u64(g, "t.i8", &u), "get_u64 of a negative int must fail");
    CHECK(!gguf_get_u64(g, "t.str", &u), "get_u64 of a string must fail");
    CHECK(!gguf_get_u64(g, "no.such.key", &u), "get_u64 of a missing key must fail");
    CHECK(gguf_get_f64(g, "t.u16", &f) && f == 0xbeef, "get_f64 of an int");
    CHECK(gguf_get_f64(g, "t.f64", &f) && f == -3.141592653589793, "get_f64");
    CHECK(gguf_get_str(g, "t.str", &s) && gguf_str_eq(s, UTF8), "get_str");
    CHECK(!gguf_get_str(g, "t.u8", &s), "get_str of a number must fail");
    CHECK(gguf_get_arr(g, "t.arr_str", GGUF_INT32) == NULL, "get_arr with the wrong element type");
    CHECK(gguf_get_arr(g, "t.u8", GGUF_UINT8) == NULL, "get_arr of a scalar");

    /* tensors */
    const gguf_tensor *t = gguf_find_tensor(g, "a.f32");
    CHECK(t && t->type == GGML_F32 && t->n_dims == 1 && t->ne[0] == 5 && t->ne[1] == 1 && t->ne[2] == 1 &&
          t->ne[3] == 1 && t->n_elems == 5 && t->n_bytes == 20 && t->offset == L->off[0], "tensor a.f32");
    CHECK(t && t->data == base + L->data_offset + L->off[0], "a.f32 data pointer");
    if (t) {
        float x;
        memcpy(&x, (const uint8_t *)t->data + 8, 4);
        CHECK(x == 2.5f, "a.f32[2] = %g", x);
    }
    t = gguf_find_tensor(g, "b.q4_0");
    CHECK(t && t->type == GGML_Q4_0 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 2 && t->n_elems == 128 &&
          t->n_bytes == 72 && t->offset == L->off[1], "tensor b.q4_0");
    CHECK(t && t->data == base + L->data_offset + L->off[1], "b.q4_0 data pointer");
    CHECK(t && ((const uint8_t *)t->data)[71] == 71, "b.q4_0 last byte");
    t = gguf_find_tensor(g, "c.f16");
    CHECK(t && t->type == GGML_F16 && t->n_dims == 3 && t->ne[0] == 3 && t->ne[1] == 1 && t->ne[2] == 2 &&
          t->ne[3] == 1 && t->n_elems == 6 && t->n_bytes == 12 && t->offset == L->off[2], "tensor c.f16");
    CHECK(t && (const uint8_t *)t->data + t->n_bytes == base + g->size, "c.f16 ends at the end of the file");
    CHECK(gguf_find_tensor(g, "a.f3") == NULL && gguf_find_tensor(g, "a.f32x") == NULL, "find_tensor exact match");
    for (uint64_t i = 0; i < g->n_tensors; i++)
        CHECK((uintptr_t)((const uint8_t *)g->tensors[i].data - base) % align == 0, "tensor %llu data misaligned",
              (unsigned long long)i);
}

static void roundtrip(uint32_t version, uint32_t alignment) {
    gb b = {0};
    layout L;
    make_valid(&b, version, alignment, &L);
    gguf_file g;
    uint8_t *copy;
    qi_status st = parse_copy(b.p, b.n, &g, &copy);
    CHECK(st == QI_OK, "v%u alignment %u: status %d: %s", version, alignment, (int)st, msg);
    if (st == QI_OK) {
        CHECK(g.n_kv == N_VALID_KV + (alignment ? 1u : 0u), "n_kv %llu", (unsigned long long)g.n_kv);
        CHECK(g.base == copy && g.size == b.n && !g.mapped, "base/size/mapped");
        check_valid(&g, copy, &L, version, alignment ? alignment : 32);
        gguf_close(&g);
        CHECK(g.kv == NULL && g.tensors == NULL, "gguf_close clears the struct");
    }
    free(copy);
    gb_free(&b);
}

static void roundtrip_v3(void) { roundtrip(3, 0); }
static void roundtrip_v2(void) { roundtrip(2, 0); }
static void custom_alignment(void) {
    roundtrip(3, 64);
    roundtrip(3, 256);
    roundtrip(2, 1);
    roundtrip(3, 32); /* stated explicitly */
}

static void empty_file_in_memory(void) {
    gb b = {0};
    hdr(&b, 3, 0, 0);
    gguf_file g;
    uint8_t *copy;
    CHECK(parse_copy(b.p, b.n, &g, &copy) == QI_OK, "header only: %s", msg);
    CHECK(g.n_kv == 0 && g.n_tensors == 0 && gguf_find_kv(&g, "x") == NULL && gguf_find_tensor(&g, "x") == NULL,
          "nothing inside");
    gguf_close(&g);
    free(copy);
    gb_free(&b);
}

/* ---- broken files ---------------------------------------------------------------------- */

static void bad_magic(void) {
    gb b = {0};
    hdr(&b, 3, 0, 0);
    b.p[0] = 'g';
    EXPECT(&b, QI_ERR_GGUF_MAGIC, "magic");
    memcpy(b.p, "GGUF", 4);
    b.p[3] = 'X';
    EXPECT(&b, QI_ERR_GGUF_MAGIC, "magic");
    b.n = 3; /* shorter than the magic */
    EXPECT(&b, QI_ERR_GGUF_MAGIC, "3 bytes");
    b.n = 0;
    EXPECT(&b, QI_ERR_GGUF_MAGIC, NULL);
    gb_free(&b);
}

static void bad_version(void) {
    static const uint32_t versions[] = {0, 1, 4, 0x03000000u /* big-endian v3 */, 0xffffffffu};
    for (int i = 0; i < 5; i++) {
        gb b = {0};
        hdr(&b, versions[i], 0, 0);
        EXPECT(&b, QI_ERR_GGUF_VERSION, "version");
        gb_free(&b);
    }
}

static void truncated_header(void) {
    gb b = {0};
    hdr(&b, 3, 0, 0);
    b.n = 6; /* inside the version */
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "header version");
    b.n = 12; /* inside the tensor count */
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "header tensor count");
    b.n = 20; /* inside the metadata count */
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "header metadata count");
    gb_free(&b);
}

static void truncated_string(void) {
    gb b = {0};
    hdr(&b, 3, 0, 1);
    kv_str(&b, "some.key", "a string value");
    size_t full = b.n;
    /* inside the value's 8-byte length */
    b.n = 24 + 8 + 8 + 4 + 5;
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "some.key");
    /* inside the value's bytes: a plausible length, the file was cut */
    b.n = full - 3;
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "some.key");
    gb_free(&b);
    /* inside the key itself: its length says 8, 5 bytes follow */
    hdr(&b, 3, 0, 1);
    gb_u64(&b, 8);
    gb_raw(&b, "some.", 5);
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "metadata key #0");
    gb_free(&b);
}

static void truncated_tensor_data(void) {
    gb b = {0};
    layout L;
    make_valid(&b, 3, 0, &L);
    b.n -= 1; /* the last tensor loses its last byte */
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "c.f16");
    b.n = (size_t)L.data_offset + 10; /* inside the first tensor: the later ones start past the end */
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "a.f32");
    b.n = (size_t)L.data_offset - 1; /* inside the padding before the data */
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "data");
    gb_free(&b);
}

static void huge_counts(void) {
    gb b = {0};
    hdr(&b, 3, 0, UINT64_MAX);
    kv_u32(&b, "k", 1);
    EXPECT(&b, QI_ERR_GGUF_COUNT, "header metadata count");
    gb_free(&b);
    hdr(&b, 3, 0, 2); /* two keys announced, room for one */
    kv_u32(&b, "k", 1);
    EXPECT(&b, QI_ERR_GGUF_COUNT, "header metadata count");
    gb_free(&b);
    hdr(&b, 3, 1ull << 62, 0);
    EXPECT(&b, QI_ERR_GGUF_COUNT, "header tensor count");
    gb_free(&b);
}

static void huge_string_length(void) {
    gb b = {0};
    hdr(&b, 3, 0, 1);
    gb_str(&b, "big.string");
    gb_u32(&b, GGUF_STRING);
    gb_u64(&b, UINT64_MAX - 3);
    gb_raw(&b, "abcd", 4);
    EXPECT(&b, QI_ERR_GGUF_COUNT, "big.string");
    gb_free(&b);
    hdr(&b, 3, 0, 1); /* the key's own length */
    gb_u64(&b, 1ull << 40);
    gb_raw(&b, "keykeykey", 9);
    EXPECT(&b, QI_ERR_GGUF_COUNT, "metadata key #0");
    gb_free(&b);
    hdr(&b, 3, 1, 0); /* a tensor name's length */
    gb_u64(&b, 1ull << 63);
    gb_raw(&b, "0123456789012345678901234567890123456789", 40);
    EXPECT(&b, QI_ERR_GGUF_COUNT, "tensor info #0");
    gb_free(&b);
}

static void huge_array_count(void) {
    static const uint32_t types[] = {GGUF_UINT8, GGUF_UINT32, GGUF_FLOAT64, GGUF_STRING, GGUF_BOOL};
    for (int i = 0; i < 5; i++) {
        gb b = {0};
        hdr(&b, 3, 0, 1);
        gb_str(&b, "big.array");
        gb_u32(&b, GGUF_ARRAY);
        gb_u32(&b, types[i]);
        gb_u64(&b, i == 0 ? 1000 : UINT64_MAX / 2 + 1); /* n * size wraps for 8-byte types */
        gb_u64(&b, 0);
        EXPECT(&b, QI_ERR_GGUF_COUNT, "big.array");
        gb_free(&b);
    }
    /* a string array whose count fits but whose strings do not */
    gb b = {0};
    hdr(&b, 3, 0, 1);
    gb_str(&b, "str.array");
    gb_u32(&b, GGUF_ARRAY);
    gb_u32(&b, GGUF_STRING);
    gb_u64(&b, 2);
    gb_str(&b, "ok");
    gb_u64(&b, 40); /* less than the file, more than what is left */
    gb_raw(&b, "short", 5);
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "str.array");
    gb_free(&b);
}

static void unknown_value_type(void) {
    gb b = {0};
    hdr(&b, 3, 0, 1);
    gb_str(&b, "odd.type");
    gb_u32(&b, GGUF_VTYPE_COUNT);
    gb_u64(&b, 0);
    EXPECT(&b, QI_ERR_GGUF_TYPE, "odd.type");
    gb_free(&b);
    hdr(&b, 3, 0, 1);
    gb_str(&b, "odd.type2");
    gb_u32(&b, 0xffffffffu);
    gb_u64(&b, 0);
    EXPECT(&b, QI_ERR_GGUF_TYPE, "odd.type2");
    gb_free(&b);
    /* array of an unknown type, and a nested array */
    static const uint32_t elem[] = {13, 99, GGUF_ARRAY};
    for (int i = 0; i < 3; i++) {
        hdr(&b, 3, 0, 1);
        gb_str(&b, "odd.array");
        gb_u32(&b, GGUF_ARRAY);
        gb_u32(&b, elem[i]);
        gb_u64(&b, 0);
        gb_u64(&b, 0);
        EXPECT(&b, QI_ERR_GGUF_TYPE, "odd.array");
        gb_free(&b);
    }
}

/* one tensor described by the arguments, with enough data after it */
static void one_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset,
                       size_t data_bytes) {
    hdr(b, 3, 1, 0);
    tinfo(b, name, n_dims, ne, type, offset);
    gb_align(b, 32);
    for (size_t i = 0; i < data_bytes; i++) gb_u8(b, 0);
}

static void unknown_tensor_type(void) {
    static const uint32_t types[] = {4, 5, 16, 39, 40, 1000, 0xffffffffu};
    const uint64_t ne[1] = {32};
    for (int i = 0; i < 7; i++) {
        gb b = {0};
        one_tensor(&b, "weird.weight", 1, ne, types[i], 0, 256);
        EXPECT(&b, QI_ERR_GGUF_TYPE, "weird.weight");
        gb_free(&b);
    }
    /* a known type whose row is not a whole number of blocks */
    gb b = {0};
    const uint64_t ne2[2] = {33, 2};
    one_tensor(&b, "ragged.weight", 2, ne2, GGML_Q4_0, 0, 256);
    EXPECT(&b, QI_ERR_GGUF_SHAPE, "ragged.weight");
    gb_free(&b);
}

static void bad_dimensions(void) {
    gb b = {0};
    const uint64_t zero[2] = {32, 0};
    one_tensor(&b, "zero.dim", 2, zero, GGML_F32, 0, 256);
    EXPECT(&b, QI_ERR_GGUF_SHAPE, "zero.dim");
    gb_free(&b);
    const uint64_t huge[1] = {1ull << 41};
    one_tensor(&b, "huge.dim", 1, huge, GGML_F32, 0, 64);
    EXPECT(&b, QI_ERR_GGUF_SHAPE, "huge.dim");
    gb_free(&b);
    /* each dimension allowed alone, their product overflowing */
    const uint64_t prod[4] = {1ull << 20, 1ull << 20, 1ull << 20, 1ull << 20};
    one_tensor(&b, "overflow.dims", 4, prod, GGML_F32, 0, 64);
    EXPECT(&b, QI_ERR_GGUF_SHAPE, "overflow.dims");
    gb_free(&b);
    const uint64_t wrap[2] = {1ull << 32, (1ull << 32) + 1};
    one_tensor(&b, "wrap.dims", 2, wrap, GGML_F32, 0, 64);
    EXPECT(&b, QI_ERR_GGUF_SHAPE, "wrap.dims");
    gb_free(&b);
    const uint64_t five[5] = {1, 1, 1, 1, 1};
    one_tensor(&b, "five.dims", 5, five, GGML_F32, 0, 64);
    EXPECT(&b, QI_ERR_GGUF_SHAPE, "five.dims");
    gb_free(&b);
    one_tensor(&b, "no.dims", 0, five, GGML_F32, 0, 64);
    EXPECT(&b, QI_ERR_GGUF_SHAPE, "no.dims");
    gb_free(&b);
    hdr(&b, 3, 1, 0);
    gb_str(&b, "many.dims");
    gb_u32(&b, 0xffffffffu);
    for (int i = 0; i < 8; i++) gb_u64(&b, 1);
    EXPECT(&b, QI_ERR_GGUF_SHAPE, "many.dims");
    gb_free(&b);
    /* a large shape that is fine by itself but whose data is not in the file */
    const uint64_t big[2] = {4096, 4096};
    one_tensor(&b, "big.but.absent", 2, big, GGML_F32, 0, 64);
    EXPECT(&b, QI_ERR_GGUF_TRUNCATED, "big.but.absent");
    gb_free(&b);
}

static void tensor_offsets(void) {
    gb b = {0};
    const uint64_t ne[1] = {8}; /* 32 bytes of F32 */
    one_tensor(&b, "past.end", 1, ne, GGML_F32, 64, 64);
    EXPECT(&b, QI_ERR_GGUF_OFFSET, "past.end");
    gb_free(&b);
    one_tensor(&b, "far.past.end", 1, ne, GGML_F32, UINT64_MAX - 31, 64); /* offset + size wraps */
    EXPECT(&b, QI_ERR_GGUF_OFFSET, "far.past.end");
    gb_free(&b);
    one_tensor(&b, "exact.fit", 1, ne, GGML_F32, 32, 64);
    EXPECT(&b, QI_OK, NULL);
    gb_free(&b);
    one_tensor(&b, "misaligned", 1, ne, GGML_F32, 4, 64);
    EXPECT(&b, QI_ERR_GGUF_OFFSET, "misaligned");
    gb_free(&b);
    one_tensor(&b, "misaligned.odd", 1, ne, GGML_F32, 33, 128);
    EXPECT(&b, QI_ERR_GGUF_OFFSET, "alignment");
    gb_free(&b);
    /* with general.alignment = 64, an offset of 32 is misaligned */
    hdr(&b, 3, 1, 1);
    kv_u32(&b, "general.alignment", 64);
    tinfo(&b, "needs.64", 1, ne, GGML_F32, 32);
    gb_align(&b, 64);
    for (int i = 0; i < 128; i++) gb_u8(&b, 0);
    EXPECT(&b, QI_ERR_GGUF_OFFSET, "needs.64");
    gb_free(&b);
}

/* Overlapping tensor data is refused with QI_ERR_GGUF_OFFSET. */
static void overlapping_tensors(void) {
    gb b = {0};
    const uint64_t ne[1] = {16};
    hdr(&b, 3, 2, 0);
    tinfo(&b, "first", 1, ne, GGML_F32, 0);
    tinfo(&b, "second", 1, ne, GGML_F32, 32); /* first spans [0, 64) */
    gb_align(&b, 32);
    for (int i = 0; i < 96; i++) gb_u8(&b, 0);
    gguf_file g;
    uint8_t *copy;
    qi_status st = parse_copy(b.p, b.n, &g, &copy);
    CHECK(st != QI_OK, "overlapping tensor data is accepted (qinfer.h says QI_ERR_GGUF_OFFSET)");
    if (st == QI_OK) {
        gguf_close(&g);
    } else {
        CHECK(st == QI_ERR_GGUF_OFFSET, "status %d (%s)", (int)st, msg);
        CHECK(strstr(msg, "second") || strstr(msg, "first"), "message '%s' names neither tensor", msg);
    }
    free(copy);
    gb_free(&b);
}

static void duplicates(void) {
    gb b = {0};
    hdr(&b, 3, 0, 3);
    kv_u32(&b, "dup.key", 1);
    kv_str(&b, "other", "x");
    kv_str(&b, "dup.key", "again"); /* same name, other type */
    EXPECT(&b, QI_ERR_GGUF_DUPLICATE, "dup.key");
    gb_free(&b);
    /* keys equal in a prefix only are not duplicates */
    hdr(&b, 3, 0, 3);
    kv_u32(&b, "a.b", 1);
    kv_u32(&b, "a.bc", 1);
    kv_u32(&b, "a.b\x01", 1);
    EXPECT(&b, QI_OK, NULL);
    gb_free(&b);
    const uint64_t ne[1] = {8};
    hdr(&b, 3, 3, 0);
    tinfo(&b, "t.dup", 1, ne, GGML_F32, 0);
    tinfo(&b, "t.other", 1, ne, GGML_F32, 32);
    tinfo(&b, "t.dup", 1, ne, GGML_F32, 64);
    gb_align(&b, 32);
    for (int i = 0; i < 96; i++) gb_u8(&b, 0);
    EXPECT(&b, QI_ERR_GGUF_DUPLICATE, "t.dup");
    gb_free(&b);
    /* many keys: the duplicate is found among them */
    hdr(&b, 3, 0, 1001);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "key.%d", i);
        kv_u32(&b, key, (uint32_t)i);
    }
    kv_u32(&b, "key.617", 0);
    EXPECT(&b, QI_ERR_GGUF_DUPLICATE, "key.617");
    gb_free(&b);
}

static void bad_alignment(void) {
    static const uint32_t values[] = {0, 3, 48, 0x80000001u};
    for (int i = 0; i < 4; i++) {
        gb b = {0};
        hdr(&b, 3, 0, 1);
        kv_u32(&b, "general.alignment", values[i]);
        EXPECT(&b, QI_ERR_GGUF_ALIGNMENT, "general.alignment");
        gb_free(&b);
    }
    /* a power of two of the wrong type */
    gb b = {0};
    hdr(&b, 3, 0, 1);
    gb_str(&b, "general.alignment");
    gb_u32(&b, GGUF_UINT64);
    gb_u64(&b, 64);
    EXPECT(&b, QI_ERR_GGUF_ALIGNMENT, "general.alignment");
    gb_free(&b);
    hdr(&b, 3, 0, 1);
    kv_str(&b, "general.alignment", "32");
    EXPECT(&b, QI_ERR_GGUF_ALIGNMENT, "general.alignment");
    gb_free(&b);
}

/* Every prefix of a valid file is refused; none is read past its end. */
static void every_truncation(void) {
    for (uint32_t version = 2; version <= 3; version++) {
        gb b = {0};
        layout L;
        make_valid(&b, version, version == 2 ? 64 : 0, &L);
        int accepted = 0;
        for (size_t n = 0; n < b.n; n++) {
            gguf_file g;
            uint8_t *copy;
            qi_status st = parse_copy(b.p, n, &g, &copy);
            if (st == QI_OK) {
                if (accepted++ < 5) printf("    cut at %zu of %zu accepted\n", n, b.n);
                gguf_close(&g);
            } else if (msg[0] == 0 || g.kv || g.tensors) {
                CHECK(0, "cut at %zu: status %d with an empty message or a non-empty struct", n, (int)st);
            }
            free(copy);
        }
        CHECK(accepted == 0, "v%u: %d of %zu truncations accepted", version, accepted, b.n);
        gb_free(&b);
    }
}

/* Random byte changes in a valid file: any status, but never a crash, and on
 * success every tensor lies inside the buffer. */
static void random_corruption(void) {
    gb b = {0};
    layout L;
    make_valid(&b, 3, 0, &L);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int ok = 0;
    for (int it = 0; it < 20000; it++) {
        uint8_t *p = malloc(b.n);
        memcpy(p, b.p, b.n);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            size_t at = (size_t)(s % b.n);
            p[at] = (uint8_t)(s >> 32);
        }
        gguf_file g;
        if (gguf_parse(p, b.n, &g, msg, sizeof msg) == QI_OK) {
            ok++;
            for (uint64_t i = 0; i < g.n_tensors; i++) {
                const gguf_tensor *t = &g.tensors[i];
                CHECK((const uint8_t *)t->data >= p && (const uint8_t *)t->data + t->n_bytes <= p + b.n,
                      "iteration %d: tensor %llu outside the buffer", it, (unsigned long long)i);
            }
            gguf_close(&g);
        }
        free(p);
    }
    CHECK(ok > 0, "no corrupted file parsed at all (the test is not exercising the success path)");
    gb_free(&b);
}

static void null_message_buffer(void) {
    gb b = {0};
    hdr(&b, 9, 0, 0);
    gguf_file g;
    CHECK(gguf_parse(b.p, b.n, &g, NULL, 0) == QI_ERR_GGUF_VERSION, "NULL message buffer");
    char tiny[4] = "xyz";
    CHECK(gguf_parse(b.p, b.n, &g, tiny, sizeof tiny) == QI_ERR_GGUF_VERSION && strlen(tiny) < 4,
          "a short message buffer is truncated, NUL-terminated");
    gb_free(&b);
}

/* ---- through gguf_open ---------------------------------------------------------------- */

static char tmpdir[256];

static const char *tmp_file(const char *name, const void *p, size_t n) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return path;
}

static void open_files(void) {
    gguf_file g;
    gb b = {0};
    layout L;
    make_valid(&b, 3, 0, &L);

    const char *path = tmp_file("valid.gguf", b.p, b.n);
    qi_status st = gguf_open(path, &g, msg, sizeof msg);
    CHECK(st == QI_OK, "valid file: %d %s", (int)st, msg);
    if (st == QI_OK) {
        CHECK(g.mapped == 1 && g.size == b.n, "mapped %d size %llu", g.mapped, (unsigned long long)g.size);
        check_valid(&g, g.base, &L, 3, 32);
        gguf_close(&g);
    }

    path = tmp_file("truncated.gguf", b.p, b.n - 5);
    st = gguf_open(path, &g, msg, sizeof msg);
    CHECK(st == QI_ERR_GGUF_TRUNCATED && strstr(msg, "c.f16"), "truncated file: %d %s", (int)st, msg);
    CHECK(g.base == NULL && g.kv == NULL, "failed open leaves the struct empty");

    b.p[1] = 'X';
    path = tmp_file("badmagic.gguf", b.p, b.n);
    st = gguf_open(path, &g, msg, sizeof msg);
    CHECK(st == QI_ERR_GGUF_MAGIC && strstr(msg, "magic"), "bad magic: %d %s", (int)st, msg);

    path = tmp_file("empty.gguf", "", 0);
    st = gguf_open(path, &g, msg, sizeof msg);
    CHECK(st == QI_ERR_GGUF_MAGIC && strstr(msg, "empty"), "empty file: %d %s", (int)st, msg);

    char missing[512];
    snprintf(missing, sizeof missing, "%s/does-not-exist.gguf", tmpdir);
    st = gguf_open(missing, &g, msg, sizeof msg);
    CHECK(st == QI_ERR_IO && strstr(msg, "does-not-exist.gguf"), "nonexistent file: %d %s", (int)st, msg);

    st = gguf_open(tmpdir, &g, msg, sizeof msg);
    CHECK(st == QI_ERR_IO, "a directory: %d %s", (int)st, msg);
    CHECK(gguf_open(missing, &g, NULL, 0) == QI_ERR_IO, "NULL message buffer");
    gb_free(&b);
}

/* The tensors of a real model file, if one is around (not required). */
static void vocab_file(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/qwen2/qwen2.5-vocab.gguf", shared_dir());
    if (access(path, R_OK) != 0) {
        printf("    skipped: %s not found\n", path);
        return;
    }
    gguf_file g;
    qi_status st = gguf_open(path, &g, msg, sizeof msg);
    CHECK(st == QI_OK, "%s: %s", path, msg);
    if (st) return;
    const gguf_kv *tok = gguf_get_arr(&g, "tokenizer.ggml.tokens", GGUF_STRING);
    CHECK(tok && tok->v.arr.n == 151936, "151936 tokens");
    const gguf_kv *merges = gguf_get_arr(&g, "tokenizer.ggml.merges", GGUF_STRING);
    CHECK(merges && merges->v.arr.n == 151387, "151387 merges");
    if (tok) {
        gguf_str s;
        const uint8_t *p = tok->v.arr.data;
        for (uint64_t i = 0; i <= 151643; i++) p = gguf_arr_next_str(p, &s);
        CHECK(gguf_str_eq(s, "<|endoftext|>"), "token 151643 is '%.*s'", (int)s.len, s.ptr);
    }
    gguf_close(&g);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/qinfer-test-gguf-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 2;
    }
    RUN(roundtrip_v3);
    RUN(roundtrip_v2);
    RUN(custom_alignment);
    RUN(empty_file_in_memory);
    RUN(bad_magic);
    RUN(bad_version);
    RUN(truncated_header);
    RUN(truncated_string);
    RUN(truncated_tensor_data);
    RUN(huge_counts);
    RUN(huge_string_length);
    RUN(huge_array_count);
    RUN(unknown_value_type);
    RUN(unknown_tensor_type);
    RUN(bad_dimensions);
    RUN(tensor_offsets);
    RUN(overlapping_tensors);
    RUN(duplicates);
    RUN(bad_alignment);
    RUN(every_truncation);
    RUN(random_corruption);
    RUN(null_message_buffer);
    RUN(open_files);
    RUN(vocab_file);
    static const char *const names[] = {"valid.gguf", "truncated.gguf", "badmagic.gguf", "empty.gguf"};
    char path[512];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return TEST_EXIT();
}
