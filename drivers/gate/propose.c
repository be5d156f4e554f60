/* The builtin agent: one knob change at a time, guided by results.tsv, never
 * a change already tried, so that the loop runs unattended with no language
 * model. It reads the incumbent's lib/inference_config.c in the agent's copy
 * of the tree, writes the changed file there and prints the description.
 *
 * A change is (knob, from, to); its description is "builtin: KNOB FROM -> TO
 * (why)". Each candidate change is scored: the knob's rank (the ones that move
 * decode speed on a memory-bound CPU first), one step from the current value
 * before two, a bonus for going on in a direction that was kept, a penalty
 * for a direction that came out slower. Ties go to the earlier knob. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "gate.h"

/* bytes per token first (decode streams every weight once per token), then
 * how the threads share the work, then the rest */
static const char *const ORDER[] = {"output_q4_0", "decode_rows", "kv_type", "spin", "decode_prefetch", "n_threads",
                                    "prefill_rows", "prefill_chunk", "huge_pages", "isa", "compute", NULL};

typedef struct tried {
    char knob[48], from[48], to[48], status[16];
    double speedup;
} tried;

static int parse_desc(const char *d, tried *t) {
    return sscanf(d, "builtin: %47s %47s -> %47s", t->knob, t->from, t->to) == 3;
}

static int index_of(const char *const *vals, const char *v) {
    for (int i = 0; vals[i]; i++)
        if (cfg_values_equal(vals[i], v)) return i;
    return -1;
}

int cmd_propose(int argc, char **argv) {
    const char *repo = NULL, *results = NULL;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--repo")) repo = argv[i + 1];
        else if (!strcmp(argv[i], "--results")) results = argv[i + 1];
    }
    if (!repo || !results) {
        fprintf(stderr, "usage: judge propose --repo DIR --results RESULTS.tsv\n");
        return 64;
    }
    char path[4200], why[256];
    snprintf(path, sizeof path, "%s/lib/inference_config.c", repo);
    cfg_file c;
    if (cfg_load(path, &c, why, sizeof why)) {
        fprintf(stderr, "propose: %s\n", why);
        return 1;
    }
    result_row *rows = NULL;
    char *buf = NULL;
    int n = results_read(results, &rows, &buf);
    tried *t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
    int nt = 0;
    for (int i = 0; i < n && t; i++)
        if (parse_desc(rows[i].col[COL_DESC], &t[nt])) {
            snprintf(t[nt].status, sizeof t[nt].status, "%s", rows[i].col[COL_STATUS]);
            char *end;
            t[nt].speedup = strtod(rows[i].col[COL_SPEEDUP], &end);
            if (*end || end == rows[i].col[COL_SPEEDUP]) t[nt].speedup = NAN;
            nt++;
        }
    double best = -1e9;
    const knob *bk = NULL;
    const char *bv = NULL, *bcur = NULL;
    char bwhy[160] = "";
    for (int r = 0; ORDER[r]; r++) {
        const knob *k = knob_find(ORDER[r]);
        const char *cur = cfg_get(&c, k->name);
        if (!k || !k->try_values || !cur) continue;
        int ci = index_of(k->try_values, cur);
        for (int vi = 0; k->try_values[vi]; vi++) {
            const char *v = k->try_values[vi];
            if (cfg_values_equal(v, cur)) continue;
            int done = 0, dir = ci < 0 ? 0 : (vi > ci ? 1 : -1);
            double score = 100 - 6.0 * r;
            const char *reason = "next knob in order";
            int steps = ci < 0 ? 1 : abs(vi - ci);
            score -= 15.0 * (steps - 1);
            for (int j = 0; j < nt; j++) {
                if (strcmp(t[j].knob, k->name)) continue;
                if (cfg_values_equal(t[j].from, cur) && cfg_values_equal(t[j].to, v)) done = 1;
                int fi = index_of(k->try_values, t[j].from), ti = index_of(k->try_values, t[j].to);
                int tdir = fi < 0 || ti < 0 ? 0 : (ti > fi ? 1 : -1);
                if (!strcmp(t[j].status, "keep") && tdir && tdir == dir && cfg_values_equal(t[j].to, cur)) {
                    score += 40;
                    reason = "goes on in a direction that was kept";
                } else if (strcmp(t[j].status, "keep") && tdir && tdir == dir && cfg_values_equal(t[j].from, cur) &&
                           !(t[j].speedup > 1.0)) {
                    score -= 45;
                    reason = "that direction was slower; trying further anyway";
                }
            }
            if (done) continue;
            if (score > best) {
                best = score;
                bk = k;
                bv = v;
                bcur = cur;
                snprintf(bwhy, sizeof bwhy, "%s", reason);
            }
        }
    }
    int rc = 0;
    if (!bk) {
        fprintf(stderr, "propose: every change the builtin agent knows has been tried from this configuration\n");
        rc = 3;
    } else {
        char *text = cfg_with_value(&c, bk->name, bv);
        FILE *f = text ? fopen(path, "w") : NULL;
        if (!f || fputs(text, f) < 0 || fclose(f)) {
            fprintf(stderr, "propose: cannot write %s\n", path);
            rc = 1;
        } else {
            printf("builtin: %s %s -> %s (%s; %s)\n", bk->name, bcur, bv, bwhy, bk->tradeoff);
        }
        free(text);
    }
    cfg_free(&c);
    free(t);
    free(rows);
    free(buf);
    return rc;
}
