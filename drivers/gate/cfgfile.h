/* lib/inference_config.c as the judge reads it: the knob file must be one
 * initializer of literal values and nothing else:
 *
 *   comments, at most one  #include "qinfer.h",  and exactly one
 *   const qi_config qi_inference_config = { .field = VALUE, ... };
 *
 * where every field is a knob of KNOBS (each at most once) and VALUE is a
 * number (sign, digits, '.', exponent, f/u/l suffixes) or one of the knob's
 * enum constants. The judge refuses anything else as a protocol violation,
 * prints every knob that differs from the anchor with its trade-off, and the
 * builtin proposer rewrites one value in place. */
#ifndef QINFER_GATE_CFGFILE_H
#define QINFER_GATE_CFGFILE_H

#include <stddef.h>

typedef struct knob {
    const char *name;
    const char *tradeoff;       /* one line: what the knob trades */
    const char *const *enums;   /* allowed constants, or NULL for numbers */
    const char *const *try_values; /* what the builtin proposer may set, or NULL: never */
} knob;

extern const knob KNOBS[];
const knob *knob_find(const char *name);

#define CFG_MAX_FIELDS 40

typedef struct cfg_field {
    const knob *k;
    char value[48];             /* the literal as written */
    size_t v_start, v_end;      /* its bytes in the file */
} cfg_field;

typedef struct cfg_file {
    char *text;                 /* the whole file */
    cfg_field f[CFG_MAX_FIELDS];
    int n;
} cfg_file;

/* 0, or -1 with why ("line N: ..."). */
int cfg_parse_text(const char *text, cfg_file *c, char *why, size_t why_size);
int cfg_load(const char *path, cfg_file *c, char *why, size_t why_size);
void cfg_free(cfg_file *c);

/* the field's value as written, or NULL when the file does not set it */
const char *cfg_get(const cfg_file *c, const char *name);
/* equal values: numbers compared as numbers, constants as text */
int cfg_values_equal(const char *a, const char *b);
/* a new file text with name's value replaced (NULL if the field is absent) */
char *cfg_with_value(const cfg_file *c, const char *name, const char *value);

#endif
