/* Sanity checks on an answer's text, and the prompt files that carry them.
 * Part of the judge: built from the anchor, never from the tree under test.
 *
 * A prompt file is UTF-8 text, one prompt per line, '#' lines are comments:
 *   id <TAB> task <TAB> check <TAB> expected <TAB> prompt
 * The checks (tools/train_tiny/checks.py is the same in Python):
 *   number N     the last whole number in the answer is N ("-14" counts the sign)
 *   words W1 W2  the answer's words (ASCII letters, lower-cased) are exactly W1 W2 ..
 *   keyword A|B  one alternative occurs as a whole word, any case
 *   keywords A,B every comma-separated item occurs (each may be X|Y), any case
 *   python NAME  the code (first ``` block, else the whole answer) has the shape
 *                of Python and defines NAME (NAME "-" = any function)
 *   poem WORD    exactly four non-empty lines and WORD among them (WORD "-" = any)
 *   lines N      exactly N non-empty lines */
#ifndef QINFER_GATE_CHECKS_H
#define QINFER_GATE_CHECKS_H

#include <stddef.h>

/* 1 pass, 0 fail, -1 unknown check kind. */
int check_answer(const char *kind, const char *want, const char *answer);

/* 1 if code (NUL-terminated) has Python's block shape and defines a function
 * named name (any function if name is NULL or "-"). */
int python_shape_ok(const char *code, const char *name);

typedef struct prompt_row {
    int id;
    char *task, *check, *want, *prompt; /* point into the file's buffer */
} prompt_row;

typedef struct prompt_set {
    char *buf;
    prompt_row *rows;
    int n;
} prompt_set;

/* 0 on success; on failure -1 and err holds "file:line: why". */
int prompt_set_load(const char *path, prompt_set *ps, char *err, size_t err_size);
void prompt_set_free(prompt_set *ps);

#endif
