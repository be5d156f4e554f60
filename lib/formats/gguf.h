/* GGUF v2/v3 reader over mmap. Internal to libqinfer.
 *
 * gguf_parse() walks the whole header once and checks every count, length,
 * offset and size against the buffer before anything else touches it, so the
 * accessors below can trust what they read. Strings point into the mapping
 * and are not NUL-terminated. */
#ifndef QINFER_GGUF_H
#define QINFER_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include "qinfer.h"

enum gguf_vtype {
    GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3,
    GGUF_UINT32 = 4, GGUF_INT32 = 5, GGUF_FLOAT32 = 6, GGUF_BOOL = 7,
    GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_UINT64 = 10, GGUF_INT64 = 11,
    GGUF_FLOAT64 = 12, GGUF_VTYPE_COUNT
};

/* ggml tensor type ids, as stored in the file */
enum ggml_type {
    GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q4_1 = 3,
    GGML_Q5_0 = 6, GGML_Q5_1 = 7, GGML_Q8_0 = 8, GGML_Q8_1 = 9,
    GGML_Q2_K = 10, GGML_Q3_K = 11, GGML_Q4_K = 12, GGML_Q5_K = 13,
    GGML_Q6_K = 14, GGML_Q8_K = 15,
    GGML_I8 = 24, GGML_I16 = 25, GGML_I32 = 26, GGML_I64 = 27, GGML_F64 = 28,
    GGML_BF16 = 30, GGML_TYPE_COUNT = 40
};

typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    uint32_t type;               /* enum gguf_vtype */
    union {
        uint64_t u;              /* unsigned ints and bool */
        int64_t i;               /* signed ints */
        double f;                /* float32/float64 */
        gguf_str s;
        struct {
            uint32_t type;       /* element type (never ARRAY: nested arrays are refused) */
            uint64_t n;
            const uint8_t *data; /* first element in the file */
        } arr;
    } v;
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[4];              /* unused dims are 1 */
    uint32_t type;               /* enum ggml_type */
    uint64_t offset;             /* from the start of the data section */
    uint64_t n_elems, n_bytes;
    const void *data;
} gguf_tensor;

typedef struct gguf_file {
    const uint8_t *base;         /* the whole file */
    uint64_t size;
    int mapped;                  /* 1: base came from mmap and gguf_close unmaps it */
    uint64_t region_size;        /* bytes to unmap */
    int copied;                  /* 1: base is the private copy on 2 MiB pages (gguf_open_ex) */
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;
} gguf_file;

/* Map and parse a file. On failure everything is released and err says why. */
qi_status gguf_open(const char *path, gguf_file *g, char *err, size_t err_size);
/* The same; with huge_pages, the file is copied (piece by piece, through the
 * mapping) into read-only anonymous memory on 2 MiB pages. */
qi_status gguf_open_ex(const char *path, int huge_pages, gguf_file *g, char *err, size_t err_size);
/* Parse a buffer the caller owns (it must outlive g). */
qi_status gguf_parse(const void *buf, uint64_t size, gguf_file *g, char *err, size_t err_size);
void gguf_close(gguf_file *g);

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);
int gguf_str_eq(gguf_str s, const char *c);

/* Typed getters: 1 if the key exists with a compatible scalar type. */
int gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out);
int gguf_get_f64(const gguf_file *g, const char *key, double *out);
int gguf_get_str(const gguf_file *g, const char *key, gguf_str *out);
/* An array of the given element type, or NULL. */
const gguf_kv *gguf_get_arr(const gguf_file *g, const char *key, uint32_t elem_type);

/* Walk a string array (already validated by gguf_parse): returns the
 * position of the next element. */
const uint8_t *gguf_arr_next_str(const uint8_t *p, gguf_str *out);

/* Type tables */
const char *gguf_vtype_name(uint32_t t);
const char *ggml_type_name(uint32_t t);     /* NULL for unknown */
int ggml_type_block(uint32_t t);             /* elements per block; 0 if unknown */
int ggml_type_size(uint32_t t);              /* bytes per block; 0 if unknown */

#endif
