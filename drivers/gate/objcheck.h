/* The protocol checks on the two files an agent may edit, made before the
 * candidate is built into anything that runs:
 *
 * sample.c, source: #include only the allowed headers (SAMPLE_INCLUDES), no
 *   #pragma; after preprocessing, no asm, _Pragma or __attribute__ in the
 *   lines that come from sample.c itself.
 * sample.o, object (ELF64): every section is an ordinary one (code, data,
 *   read-only data, bss, debug, unwind, notes: no .init_array, .ctors or any
 *   other section that runs code at load); no IFUNC or GNU_UNIQUE symbols; its
 *   global definitions are a subset of the anchor's sample.o's; its undefined
 *   references are all in SAMPLE_ALLOWED_REFS.
 * inference_config.c: see cfgfile.h.
 * Every function returns 0 when the check passes, else -1 with a one-line
 * reason in why. */
#ifndef QINFER_GATE_OBJCHECK_H
#define QINFER_GATE_OBJCHECK_H

#include <stddef.h>

/* the headers sample.c may include, and the external symbols it may use */
extern const char *const SAMPLE_INCLUDES[];
extern const char *const SAMPLE_ALLOWED_REFS[];

/* the #include lines and #pragma of a source file */
int check_sample_source(const char *src_path, char *why, size_t why_size);
/* the preprocessor's output (cc -E) for that file, by its linemarkers */
int check_sample_preprocessed(const char *pp_path, const char *src_name, char *why, size_t why_size);
/* candidate object against the anchor's */
int check_sample_object(const char *cand_o, const char *anchor_o, char *why, size_t why_size);

typedef struct obj_syms {
    char **defined;   /* global or weak definitions */
    int n_defined;
    char **undefined; /* references */
    int n_undefined;
    char **sections;
    int n_sections;
    int has_ifunc, has_unique;
} obj_syms;

/* read an ELF64 relocatable object; 0 or -1 with why */
int obj_read(const char *path, obj_syms *o, char *why, size_t why_size);
void obj_free(obj_syms *o);

#endif
