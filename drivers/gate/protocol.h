/* The worker's replies (worker.c lists the protocol), parsed strictly: the
 * worker is built from the tree under test, so a line is exactly what the
 * protocol says, with every number in range, or it is refused. */
#ifndef QINFER_GATE_PROTOCOL_H
#define QINFER_GATE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
