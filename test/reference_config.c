/* The configuration the test suite asserts on, spelled out here: every test
 * program (and the test builds of qinfer, bench and the gate worker) links
 * this in place of lib/inference_config.c, so that an edit of the knob file
 * (the optimisation loop edits it) never changes what the suite checks.
 * These are the values the suite was written against. */
#include "qinfer.h"

const qi_config qi_inference_config = {
    .n_threads = 0,          /* 0 = physical cores */
    .prefill_chunk = 64,     /* prompt tokens per matrix-matrix pass */
    .kv_capacity = 4096,     /* tokens; 0 = the model's trained context */
    .kv_type = QI_KV_F32,    /* faithful to the reference arithmetic */
    .compute = QI_COMPUTE_Q8,/* 8-bit activations, integer dot products */
    .huge_pages = 1,         /* weights on 2 MiB pages: about +10% decode speed */
    .output_q4_0 = 0,        /* keep the file's 8-bit output head */
    .isa = QI_ISA_AUTO,      /* the widest kernel level the CPU runs */
    .decode_prefetch = -1,   /* the kernel level's own prefetch distance */
    .decode_rows = 0,        /* one equal share of rows per thread */
    .prefill_rows = 0,
    .spin = 20000,           /* worker spin rounds before sleeping */
    /* sampling: Qwen2.5-Instruct's generation_config.json */
    .temperature = 0.7f,
    .top_k = 20,
    .top_p = 0.8f,
    .min_p = 0.0f,
    .repeat_penalty = 1.05f,
    .repeat_last_n = 64,     /* the penalty's window */
    .seed = 42,
};
