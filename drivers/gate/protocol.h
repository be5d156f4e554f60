/* The pipe between judge and worker (worker.c lists the protocol), both
 * ways, parsed strictly. The worker's replies: the worker is built from the
 * tree under test, so a line is exactly what the protocol says, with every
 * number in range, or it is refused. The judge's commands: read by the
 * worker with the same care, so that no line can make it misbehave. */
#ifndef QINFER_GATE_PROTOCOL_H
#define QINFER_GATE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "qinfer.h"

/* "R n_vocab isa threads": n_vocab, or -1 */
int proto_ready(const char *line);
/* "t ID" with 0 <= ID < n_vocab: the id, or -1 */
int32_t proto_token(const char *line, int n_vocab);
/* "e 0": 0; "e CODE text" with CODE > 0: CODE; anything else -1 */
int proto_end(const char *line);
/* "l N": 0 when N == n_vocab, else -1 */
int proto_logits(const char *line, int n_vocab);
/* "h K id count ...": exactly K distinct ids in range with counts >= 1 that
 * add up to draws; counts[n_vocab] is filled (zeroed first). 0, or -1 */
int proto_hist(const char *line, int n_vocab, int *counts, long draws);

/* a judge's command line, as the worker reads it */
typedef struct proto_cmd {
    char op;            /* 'G' generate, 'F' force, 'S' sample, 'Q' quit */
    char mode;          /* G: 'T' (exactly n_max tokens) or 'N' (stop at end of generation) */
    long n_max;         /* G: tokens to generate, 0..1<<24 */
    long draws;         /* S: draws from one sampler, 1..1e7 */
    qi_config sampling; /* G, F, S: qi_config_default() with the line's sampling fields */
    int32_t *ids;       /* G, F: the ids to feed (G: at least one); S: the recent ids. malloc'd */
    int n_ids;
} proto_cmd;
/* 0 with *cmd filled (free its ids with proto_cmd_free), or -1 with nothing
 * allocated: an unknown op, a missing or extra field, a number out of
 * range, an id outside [0, n_vocab), a count the line cannot hold */
int proto_command(const char *line, int n_vocab, proto_cmd *cmd);
void proto_cmd_free(proto_cmd *cmd);

#endif
