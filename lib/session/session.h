/* The session: one conversation. It holds an engine (the model, kernels,
 * threads, KV cache, scratch and position that forward() runs on) and what
 * a conversation adds to it: the sampler, the ids fed so far, the last
 * logits and the text of the last error. Internal. */
#ifndef QINFER_SESSION_H
#define QINFER_SESSION_H

#include "engine/engine.h"
#include "qinfer.h"
#include "sample.h"

struct qi_session {
    qi_engine engine;
    qi_config cfg;             /* as created; the sampling fields as last set */
    float *logits;             /* [n_vocab]: the last token's */
    int has_logits;
    int32_t *history;          /* ids in the cache [capacity]: repetition penalty, prefix reuse */
    qi_sampler sampler;
    qi_progress_fn progress;   /* called between the chunks of a prompt; may cancel it */
    void *progress_user;
    char err[256];             /* the last failed call's message */
};

#endif
