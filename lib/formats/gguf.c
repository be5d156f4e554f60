/* GGUF v2/v3 reader. Every read goes through a cursor that knows where the
 * file ends, so a truncated or hostile file yields a status and a message
 * that names the field, never an out-of-bounds read. */
#include "gguf.h"
#include "base/fail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
#define NAME_BUF 256 /* a key or tensor name as messages print it (at most 200 bytes of it) */

static const struct { const char *name; int block, size; } type_table[GGML_TYPE_COUNT] = {
    [GGML_F32] = {"F32", 1, 4},      [GGML_F16] = {"F16", 1, 2},
    [GGML_Q4_0] = {"Q4_0", 32, 18},  [GGML_Q4_1] = {"Q4_1", 32, 20},
    [GGML_Q5_0] = {"Q5_0", 32, 22},  [GGML_Q5_1] = {"Q5_1", 32, 24},
    [GGML_Q8_0] = {"Q8_0", 32, 34},  [GGML_Q8_1] = {"Q8_1", 32, 36},
    [GGML_Q2_K] = {"Q2_K", 256, 84}, [GGML_Q3_K] = {"Q3_K", 256, 110},
    [GGML_Q4_K] = {"Q4_K", 256, 144},[GGML_Q5_K] = {"Q5_K", 256, 176},
    [GGML_Q6_K] = {"Q6_K", 256, 210},[GGML_Q8_K] = {"Q8_K", 256, 292},
    [GGML_I8] = {"I8", 1, 1},        [GGML_I16] = {"I16", 1, 2},
    [GGML_I32] = {"I32", 1, 4},      [GGML_I64] = {"I64", 1, 8},
    [GGML_F64] = {"F64", 1, 8},      [GGML_BF16] = {"BF16", 1, 2},
};

const char *ggml_type_name(uint32_t t) { return t < GGML_TYPE_COUNT ? type_table[t].name : NULL; }
int ggml_type_block(uint32_t t) { return t < GGML_TYPE_COUNT ? type_table[t].block : 0; }
int ggml_type_size(uint32_t t) { return t < GGML_TYPE_COUNT ? type_table[t].size : 0; }

static const int vtype_size[GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *const vtype_names[GGUF_VTYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64"};

const char *gguf_vtype_name(uint32_t t) { return t < GGUF_VTYPE_COUNT ? vtype_names[t] : "?"; }

/* ---- bounded cursor -------------------------------------------------------- */

typedef struct cursor {
    const uint8_t *base;
    uint64_t pos, size;
    char *err;
    size_t err_size;
} cursor;

static uint64_t left(const cursor *c) { return c->size - c->pos; }

static qi_status need(cursor *c, uint64_t n, const char *what) {
    if (n > left(c))
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_TRUNCATED,
                        "truncated: %s needs %llu bytes at offset %llu, file has %llu", what, (unsigned long long)n,
                        (unsigned long long)c->pos, (unsigned long long)c->size);
    return QI_OK;
}

static uint64_t rd_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static qi_status rd_u32(cursor *c, uint32_t *v, const char *what) {
    qi_status st = need(c, 4, what);
    if (st) return st;
    *v = (uint32_t)rd_le(c->base + c->pos, 4);
    c->pos += 4;
    return QI_OK;
}

static qi_status rd_u64(cursor *c, uint64_t *v, const char *what) {
    qi_status st = need(c, 8, what);
    if (st) return st;
    *v = rd_le(c->base + c->pos, 8);
    c->pos += 8;
    return QI_OK;
}

static qi_status rd_str(cursor *c, gguf_str *s, const char *what) {
    uint64_t len;
    qi_status st = rd_u64(c, &len, what);
    if (st) return st;
    /* longer than the whole file: a corrupt length; else the file was cut short */
    if (len > c->size)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_COUNT,
                        "%s: string length %llu at offset %llu exceeds the file size %llu", what, (unsigned long long)len,
                        (unsigned long long)(c->pos - 8), (unsigned long long)c->size);
    if (len > left(c))
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_TRUNCATED,
                        "truncated: %s: a %llu-byte string at offset %llu runs past the end of the file (%llu bytes left)",
                        what, (unsigned long long)len, (unsigned long long)c->pos, (unsigned long long)left(c));
    s->ptr = (const char *)c->base + c->pos;
    s->len = len;
    c->pos += len;
    return QI_OK;
}

/* Read one scalar or string value into kv->v. */
static qi_status rd_value(cursor *c, uint32_t type, gguf_kv *kv, const char *what) {
    if (type == GGUF_STRING) return rd_str(c, &kv->v.s, what);
    int n = vtype_size[type];
    qi_status st = need(c, (uint64_t)n, what);
    if (st) return st;
    const uint8_t *p = c->base + c->pos;
    uint64_t raw = rd_le(p, n);
    c->pos += (uint64_t)n;
    switch (type) {
    case GGUF_INT8: kv->v.i = (int8_t)raw; break;
    case GGUF_INT16: kv->v.i = (int16_t)raw; break;
    case GGUF_INT32: kv->v.i = (int32_t)raw; break;
    case GGUF_INT64: kv->v.i = (int64_t)raw; break;
    case GGUF_FLOAT32: { uint32_t b = (uint32_t)raw; float f; memcpy(&f, &b, 4); kv->v.f = f; break; }
    case GGUF_FLOAT64: { double d; memcpy(&d, &raw, 8); kv->v.f = d; break; }
    default: kv->v.u = raw; break; /* unsigned ints, bool */
    }
    return QI_OK;
}

/* Element type and count already read; check that the elements fit and
 * skip over them (strings are walked one by one). */
static qi_status rd_array(cursor *c, gguf_kv *kv, const char *key) {
    uint32_t et = kv->v.arr.type;
    uint64_t n = kv->v.arr.n;
    kv->v.arr.data = c->base + c->pos;
    if (et == GGUF_STRING) {
        /* each string needs at least its 8-byte length */
        if (n > c->size / 8)
            return fail_msg(c->err, c->err_size, QI_ERR_GGUF_COUNT,
                            "metadata '%s': array count %llu exceeds what the file can hold", key, (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            gguf_str s;
            qi_status st = rd_str(c, &s, key);
            if (st) return st;
        }
        return QI_OK;
    }
    uint64_t es = (uint64_t)vtype_size[et];
    if (n > c->size / es)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_COUNT,
                        "metadata '%s': array count %llu of %s exceeds what the file can hold", key, (unsigned long long)n,
                        vtype_names[et]);
    if (n > left(c) / es)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_TRUNCATED,
                        "truncated: metadata '%s': %llu %s values need %llu bytes, %llu left", key, (unsigned long long)n,
                        vtype_names[et], (unsigned long long)(n * es), (unsigned long long)left(c));
    c->pos += n * es;
    return QI_OK;
}

static int str_eq(gguf_str a, gguf_str b) { return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0; }

int gguf_str_eq(gguf_str s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && memcmp(s.ptr, z, n) == 0;
}

/* Hash of a name, for duplicate detection in O(n). */
static uint64_t str_hash(gguf_str s) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < s.len; i++) h = (h ^ (uint8_t)s.ptr[i]) * 1099511628211ull;
    return h;
}

/* A name for a message: at most 200 bytes of it. */
static void print_name(char *buf, size_t n, gguf_str s) {
    size_t len = s.len < 200 ? (size_t)s.len : 200;
    snprintf(buf, n, "%.*s", (int)len, s.ptr);
}

/* The i-th name of a list of structs stride bytes apart. */
static gguf_str name_at(const gguf_str *names, size_t stride, uint64_t i) {
    return *(const gguf_str *)((const char *)names + i * stride);
}

/* No name of the list twice (what: "metadata key" or "tensor"). */
static qi_status check_unique(cursor *c, const gguf_str *names, size_t stride, uint64_t n, const char *what) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    uint64_t *slots = calloc(cap, sizeof *slots); /* 0 = empty, else index + 1 */
    if (!slots) return fail_msg(c->err, c->err_size, QI_ERR_NOMEM, "out of memory");
    qi_status st = QI_OK;
    for (uint64_t i = 0; i < n && !st; i++) {
        gguf_str s = name_at(names, stride, i);
        uint64_t h = str_hash(s) & (cap - 1);
        while (slots[h] && !str_eq(name_at(names, stride, slots[h] - 1), s)) h = (h + 1) & (cap - 1);
        if (slots[h]) {
            char name[NAME_BUF];
            print_name(name, sizeof name, s);
            st = fail_msg(c->err, c->err_size, QI_ERR_GGUF_DUPLICATE, "%s '%s' appears twice", what, name);
        }
        slots[h] = i + 1;
    }
    free(slots);
    return st;
}

static int by_offset(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Two tensors must not share bytes: sort by offset, compare neighbours. */
static qi_status check_overlaps(const gguf_file *g, cursor *c) {
    if (g->n_tensors < 2) return QI_OK;
    const gguf_tensor **order = malloc(g->n_tensors * sizeof *order);
    if (!order) return fail_msg(c->err, c->err_size, QI_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, g->n_tensors, sizeof *order, by_offset);
    qi_status st = QI_OK;
    for (uint64_t i = 1; i < g->n_tensors && !st; i++) {
        const gguf_tensor *a = order[i - 1], *b = order[i];
        if (b->offset < a->offset + a->n_bytes) {
            char na[128], nb[128];
            print_name(na, sizeof na, a->name);
            print_name(nb, sizeof nb, b->name);
            st = fail_msg(c->err, c->err_size, QI_ERR_GGUF_OFFSET,
                          "tensor '%s' at offset %llu overlaps tensor '%s' [%llu, %llu)", nb, (unsigned long long)b->offset,
                          na, (unsigned long long)a->offset, (unsigned long long)(a->offset + a->n_bytes));
        }
    }
    free(order);
    return st;
}

/* ---- the steps of gguf_parse ------------------------------------------------ */

/* Magic, version, and the two counts, each checked against the bytes left
 * before anything is allocated for it: a key needs at least 8 (length) + 4
 * (type) + 1 bytes, a tensor info at least 8 + 4 + 8 + 4 + 8. */
static qi_status read_header(cursor *c, gguf_file *g) {
    if (c->size < 4)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_MAGIC, "not a GGUF file: only %llu bytes",
                        (unsigned long long)c->size);
    if ((uint32_t)rd_le(c->base, 4) != GGUF_MAGIC)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_MAGIC,
                        "not a GGUF file: magic is %02x %02x %02x %02x, expected 'GGUF'", c->base[0], c->base[1],
                        c->base[2], c->base[3]);
    c->pos = 4;
    qi_status st = rd_u32(c, &g->version, "header version");
    if (st) return st;
    if (g->version != 2 && g->version != 3)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_VERSION,
                        "header version: GGUF version %u is not supported (2 or 3)", g->version);
    if ((st = rd_u64(c, &g->n_tensors, "header tensor count")) || (st = rd_u64(c, &g->n_kv, "header metadata count")))
        return st;
    if (g->n_kv > left(c) / 13)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_COUNT,
                        "header metadata count %llu exceeds what a %llu-byte file can hold", (unsigned long long)g->n_kv,
                        (unsigned long long)c->size);
    if (g->n_tensors > left(c) / 32)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_COUNT,
                        "header tensor count %llu exceeds what a %llu-byte file can hold",
                        (unsigned long long)g->n_tensors, (unsigned long long)c->size);
    return QI_OK;
}

/* The index of keys and tensors, as many as the header says (at least one
 * each, so that an empty list is still an array). */
static qi_status alloc_index(cursor *c, gguf_file *g) {
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) return fail_msg(c->err, c->err_size, QI_ERR_NOMEM, "out of memory for the GGUF index");
    return QI_OK;
}

/* general.alignment, when kv is that key: a uint32 power of two. */
static qi_status read_alignment(cursor *c, const gguf_kv *kv, uint64_t *alignment) {
    if (!gguf_str_eq(kv->key, "general.alignment")) return QI_OK;
    if (kv->type != GGUF_UINT32)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_ALIGNMENT, "metadata 'general.alignment' must be a uint32, not %s",
                        gguf_vtype_name(kv->type));
    if (kv->v.u == 0 || (kv->v.u & (kv->v.u - 1)))
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_ALIGNMENT,
                        "metadata 'general.alignment' = %llu is not a power of two", (unsigned long long)kv->v.u);
    *alignment = kv->v.u;
    return QI_OK;
}

/* The name that starts entry i of a list: messages call it "<kind> #i"
 * until it is read, then by the name itself (printed into name). */
static qi_status rd_name(cursor *c, const char *kind, uint64_t i, gguf_str *s, char name[NAME_BUF]) {
    snprintf(name, NAME_BUF, "%s #%llu", kind, (unsigned long long)i);
    qi_status st = rd_str(c, s, name);
    if (!st) print_name(name, NAME_BUF, *s);
    return st;
}

/* Key i: its name, its type, its value (an array is checked and skipped). */
static qi_status read_kv(cursor *c, uint64_t i, gguf_kv *kv) {
    char name[NAME_BUF];
    qi_status st = rd_name(c, "metadata key", i, &kv->key, name);
    if (st) return st;
    if ((st = rd_u32(c, &kv->type, name))) return st;
    if (kv->type >= GGUF_VTYPE_COUNT)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_TYPE, "metadata '%s': unknown value type %u", name, kv->type);
    if (kv->type != GGUF_ARRAY) return rd_value(c, kv->type, kv, name);
    if ((st = rd_u32(c, &kv->v.arr.type, name))) return st;
    if (kv->v.arr.type >= GGUF_VTYPE_COUNT || kv->v.arr.type == GGUF_ARRAY)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_TYPE, "metadata '%s': unknown or nested array element type %u",
                        name, kv->v.arr.type);
    if ((st = rd_u64(c, &kv->v.arr.n, name))) return st;
    return rd_array(c, kv, name);
}

static qi_status read_metadata(cursor *c, gguf_file *g) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        qi_status st = read_kv(c, i, &g->kv[i]);
        if (!st) st = read_alignment(c, &g->kv[i], &g->alignment);
        if (st) return st;
    }
    return check_unique(c, &g->kv[0].key, sizeof(gguf_kv), g->n_kv, "metadata key");
}

/* Tensor info i: name, dimensions, type and data offset; its element and
 * byte counts follow. */
static qi_status read_tensor_info(cursor *c, uint64_t i, gguf_tensor *t) {
    char name[NAME_BUF];
    qi_status st = rd_name(c, "tensor info", i, &t->name, name);
    if (st) return st;
    if ((st = rd_u32(c, &t->n_dims, name))) return st;
    if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_SHAPE, "tensor '%s': %u dimensions (1 to %d allowed)", name,
                        t->n_dims, GGUF_MAX_DIMS);
    t->n_elems = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims) continue;
        if ((st = rd_u64(c, &t->ne[d], name))) return st;
        /* the product must stay far below 2^63 so that byte sizes cannot overflow */
        if (t->ne[d] == 0 || t->ne[d] > (1ull << 40) || t->n_elems > (1ull << 50) / t->ne[d])
            return fail_msg(c->err, c->err_size, QI_ERR_GGUF_SHAPE, "tensor '%s': dimension %u is %llu (zero or too large)",
                            name, d, (unsigned long long)t->ne[d]);
        t->n_elems *= t->ne[d];
    }
    if ((st = rd_u32(c, &t->type, name))) return st;
    if (!ggml_type_name(t->type))
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_TYPE, "tensor '%s': unknown tensor type %u", name, t->type);
    uint64_t blk = (uint64_t)ggml_type_block(t->type);
    if (t->ne[0] % blk)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_SHAPE,
                        "tensor '%s': row length %llu is not a multiple of the %s block size %llu", name,
                        (unsigned long long)t->ne[0], ggml_type_name(t->type), (unsigned long long)blk);
    t->n_bytes = t->n_elems / blk * (uint64_t)ggml_type_size(t->type);
    return rd_u64(c, &t->offset, name);
}

static qi_status read_tensor_infos(cursor *c, gguf_file *g) {
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        qi_status st = read_tensor_info(c, i, &g->tensors[i]);
        if (st) return st;
    }
    return check_unique(c, &g->tensors[0].name, sizeof(gguf_tensor), g->n_tensors, "tensor");
}

/* The data section starts at the next multiple of the alignment after the
 * infos. Each tensor's data must be aligned, lie inside it and overlap no
 * other's; then it gets its address. */
static qi_status place_tensor_data(cursor *c, gguf_file *g) {
    uint64_t data = (c->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors && data > c->size)
        return fail_msg(c->err, c->err_size, QI_ERR_GGUF_TRUNCATED,
                        "truncated: tensor data section would start at %llu, file has %llu bytes",
                        (unsigned long long)data, (unsigned long long)c->size);
    g->data_offset = data;
    uint64_t avail = data <= c->size ? c->size - data : 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        char name[NAME_BUF];
        print_name(name, sizeof name, t->name);
        if (t->offset % g->alignment)
            return fail_msg(c->err, c->err_size, QI_ERR_GGUF_OFFSET,
                            "tensor '%s': data offset %llu is not a multiple of the alignment %llu", name,
                            (unsigned long long)t->offset, (unsigned long long)g->alignment);
        /* data starting past the end is a bad offset; data that starts inside
         * but runs past the end means the file was cut short */
        if (t->offset >= avail)
            return fail_msg(c->err, c->err_size, QI_ERR_GGUF_OFFSET,
                            "tensor '%s': data offset %llu lies past the end of the data section (%llu bytes)", name,
                            (unsigned long long)t->offset, (unsigned long long)avail);
        if (t->n_bytes > avail - t->offset)
            return fail_msg(c->err, c->err_size, QI_ERR_GGUF_TRUNCATED,
                            "truncated: tensor '%s' needs data up to byte %llu of the data section, which has %llu", name,
                            (unsigned long long)(t->offset + t->n_bytes), (unsigned long long)avail);
        t->data = c->base + data + t->offset;
    }
    return check_overlaps(g, c);
}

qi_status gguf_parse(const void *buf, uint64_t size, gguf_file *g, char *err, size_t err_size) {
    memset(g, 0, sizeof *g);
    if (err && err_size) err[0] = 0;
    g->base = buf;
    g->size = size;
    cursor c = {buf, 0, size, err, err_size};
    qi_status st = read_header(&c, g);
    if (!st) st = alloc_index(&c, g);
    if (!st) st = read_metadata(&c, g);
    if (!st) st = read_tensor_infos(&c, g);
    if (!st) st = place_tensor_data(&c, g);
    if (st) {
        free(g->kv);
        free(g->tensors);
        memset(g, 0, sizeof *g);
    }
    return st;
}

#define HUGE_PAGE (2u << 20)
#define COPY_STEP (32u << 20)

/* Copy the mapped file into anonymous memory on 2 MiB pages, dropping each
 * piece of the file mapping once copied so that resident memory never holds
 * both. Streaming the weights every token then takes far fewer TLB misses.
 * Returns NULL (and leaves the mapping alone) if the memory cannot be had. */
static void *copy_to_huge_pages(void *map, size_t size, size_t *region_size) {
    size_t sz = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    /* over-allocate by one huge page to align the start, then trim */
    uint8_t *raw = mmap(NULL, sz + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uint8_t *al = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (al > raw) munmap(raw, (size_t)(al - raw));
    if (al + sz < raw + sz + HUGE_PAGE) munmap(al + sz, (size_t)(raw + sz + HUGE_PAGE - (al + sz)));
#ifdef MADV_HUGEPAGE
    madvise(al, sz, MADV_HUGEPAGE);
#endif
    for (size_t off = 0; off < size; off += COPY_STEP) {
        size_t n = size - off < COPY_STEP ? size - off : COPY_STEP;
        memcpy(al + off, (uint8_t *)map + off, n);
        madvise((uint8_t *)map + off, n, MADV_DONTNEED);
    }
    mprotect(al, sz, PROT_READ);
    *region_size = sz;
    return al;
}

qi_status gguf_open(const char *path, gguf_file *g, char *err, size_t err_size) {
    return gguf_open_ex(path, 0, g, err, err_size);
}

qi_status gguf_open_ex(const char *path, int huge_pages, gguf_file *g, char *err, size_t err_size) {
    memset(g, 0, sizeof *g);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return fail_msg(err, err_size, QI_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fail_msg(err, err_size, QI_ERR_IO, "'%s' is not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return fail_msg(err, err_size, QI_ERR_GGUF_MAGIC, "not a GGUF file: '%s' is empty", path);
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file alive */
    if (p == MAP_FAILED) {
        return fail_msg(err, err_size, QI_ERR_IO, "cannot map '%s': %s", path, strerror(errno));
    }
    size_t region = (size_t)sb.st_size;
    int copied = 0;
    if (huge_pages) {
        void *copy = copy_to_huge_pages(p, (size_t)sb.st_size, &region);
        if (copy) {
            munmap(p, (size_t)sb.st_size);
            p = copy;
            copied = 1;
        } else {
            region = (size_t)sb.st_size; /* no memory for a copy: run from the mapping */
        }
    }
    qi_status st = gguf_parse(p, (uint64_t)sb.st_size, g, err, err_size);
    if (st) {
        munmap(p, region);
        return st;
    }
    g->mapped = 1;
    g->region_size = region;
    g->copied = copied;
    return QI_OK;
}

void gguf_close(gguf_file *g) {
    if (!g) return;
    if (g->mapped && g->base) munmap((void *)g->base, (size_t)g->region_size);
    free(g->kv);
    free(g->tensors);
    memset(g, 0, sizeof *g);
}

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (gguf_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (gguf_str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

int gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return 0;
    switch (kv->type) {
    case GGUF_UINT8: case GGUF_UINT16: case GGUF_UINT32: case GGUF_UINT64: case GGUF_BOOL:
        *out = kv->v.u; return 1;
    case GGUF_INT8: case GGUF_INT16: case GGUF_INT32: case GGUF_INT64:
        if (kv->v.i < 0) return 0;
        *out = (uint64_t)kv->v.i; return 1;
    default: return 0;
    }
}

int gguf_get_f64(const gguf_file *g, const char *key, double *out) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return 0;
    if (kv->type == GGUF_FLOAT32 || kv->type == GGUF_FLOAT64) { *out = kv->v.f; return 1; }
    uint64_t u;
    if (gguf_get_u64(g, key, &u)) { *out = (double)u; return 1; }
    return 0;
}

int gguf_get_str(const gguf_file *g, const char *key, gguf_str *out) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv || kv->type != GGUF_STRING) return 0;
    *out = kv->v.s;
    return 1;
}

const gguf_kv *gguf_get_arr(const gguf_file *g, const char *key, uint32_t elem_type) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv || kv->type != GGUF_ARRAY || kv->v.arr.type != elem_type) return NULL;
    return kv;
}

const uint8_t *gguf_arr_next_str(const uint8_t *p, gguf_str *out) {
    out->len = rd_le(p, 8);
    out->ptr = (const char *)p + 8;
    return p + 8 + out->len;
}
