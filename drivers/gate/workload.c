/* Reading a workload file; see workload.h. */
#include "workload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void defaults(workload *w) {
    memset(w, 0, sizeof *w);
    w->gen_tokens = 64;
    w->kl_tokens = 256;
    w->sanity_seeds = 3;
    w->sanity_max_tokens = 256;
    w->sanity_min = 0.8;
    w->samp = (sampling){.temperature = 0.7, .top_p = 0.8, .min_p = 0, .repeat_penalty = 1.05, .top_k = 20,
                         .repeat_last_n = 64, .seed = 1234};
    w->kl_max = 0.02;
    w->top1_min = 0.9;
    w->ppl_ratio_max = 1.02;
    w->fidelity_draws = 10000;
    w->min_pairs = 8;
    w->max_pairs = 24;
    w->run_timeout_s = 300;
}

int workload_load(const char *root, const char *rel, workload *w, char *why, size_t why_size) {
    defaults(w);
    snprintf(w->path, sizeof w->path, "%s/%s", root, rel);
    FILE *f = fopen(w->path, "r");
    if (!f) { snprintf(why, why_size, "cannot open the workload %s", w->path); return -1; }
    char line[2048];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (*s == '#' || !*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) { snprintf(why, why_size, "%s:%d: want key = value", w->path, ln); fclose(f); return -1; }
        char *k = s, *v = eq + 1, *e = eq;
        while (e > k && isspace((unsigned char)e[-1])) e--;
        *e = 0;
        while (isspace((unsigned char)*v)) v++;
        e = v + strlen(v);
        while (e > v && isspace((unsigned char)e[-1])) e--;
        *e = 0;
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", root, v);
        double x = atof(v);
#define NUM(key, field) else if (!strcmp(k, key)) w->field = x
#define STR(key, field) else if (!strcmp(k, key)) snprintf(w->field, sizeof w->field, "%s", path)
        if (!strcmp(k, "name")) snprintf(w->name, sizeof w->name, "%s", v);
        STR("prompts", prompts);
        STR("sanity_prompts", sanity_prompts);
        STR("eval_text", eval_text);
        NUM("sanity_limit", sanity_limit);
        NUM("gen_tokens", gen_tokens);
        NUM("kl_tokens", kl_tokens);
        NUM("sanity_seeds", sanity_seeds);
        NUM("sanity_max_tokens", sanity_max_tokens);
        NUM("sanity_min", sanity_min);
        NUM("sanity_always", sanity);
        NUM("temperature", samp.temperature);
        NUM("top_k", samp.top_k);
        NUM("top_p", samp.top_p);
        NUM("min_p", samp.min_p);
        NUM("repeat_penalty", samp.repeat_penalty);
        NUM("repeat_last_n", samp.repeat_last_n);
        NUM("seed", samp.seed);
        NUM("kl_max", kl_max);
        NUM("top1_min", top1_min);
        NUM("ppl_ratio_max", ppl_ratio_max);
        NUM("fidelity_draws", fidelity_draws);
        NUM("min_pairs", min_pairs);
        NUM("max_pairs", max_pairs);
        NUM("run_timeout_s", run_timeout_s);
        else { snprintf(why, why_size, "%s:%d: unknown key '%s'", w->path, ln, k); fclose(f); return -1; }
#undef NUM
#undef STR
    }
    fclose(f);
    if (!w->prompts[0] || !w->eval_text[0]) { snprintf(why, why_size, "%s: needs prompts and eval_text", w->path); return -1; }
    if (!w->sanity_prompts[0]) snprintf(w->sanity_prompts, sizeof w->sanity_prompts, "%s", w->prompts);
    if (w->gen_tokens < 2 || w->kl_tokens < 8 || w->min_pairs < 3 || w->max_pairs < w->min_pairs || w->sanity_seeds < 1) {
        snprintf(why, why_size, "%s: gen_tokens >= 2, kl_tokens >= 8, 3 <= min_pairs <= max_pairs, sanity_seeds >= 1", w->path);
        return -1;
    }
    if (!w->name[0]) snprintf(w->name, sizeof w->name, "%s", rel);
    return 0;
}
