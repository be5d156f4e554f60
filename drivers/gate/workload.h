/* The workload: what the judge runs, read from data/ of the anchor's tree.
 * A file of "key = value" lines ('#' comments); paths are relative to the
 * tree's root. A model names its workload in its metadata
 * (qinfer.workload = tiny-chat -> data/tiny-chat/workload.conf); any other
 * model gets data/workload/qwen2.5.conf. */
#ifndef QINFER_GATE_WORKLOAD_H
#define QINFER_GATE_WORKLOAD_H

#include <stddef.h>

#include "checks.h"
#include "fidelity.h"

typedef struct workload {
    char name[64];
    char path[1024];
    char prompts[1024];         /* timed prompts, with checks */
    char sanity_prompts[1024];  /* naturally generated answers are checked on these */
    char eval_text[1024];       /* perplexity and KL text */
    int sanity_limit;           /* prompts of sanity_prompts used (0: all) */
    int gen_tokens;             /* tokens per prompt in a timed run */
    int kl_tokens;              /* evaluation-text tokens for KL and perplexity */
    int sanity_seeds;
    int sanity_max_tokens;
    double sanity_min;          /* share of (prompt, seed) answers that must pass */
    int sanity;                 /* 1: always applies; 0: only to the real instruct model */
    sampling samp;              /* the workload's sampling settings */
    double kl_max, top1_min, ppl_ratio_max;
    int fidelity_draws;
    int min_pairs, max_pairs;
    double run_timeout_s;
} workload;

/* 0, or -1 with why */
int workload_load(const char *root, const char *rel, workload *w, char *why, size_t why_size);

#endif
