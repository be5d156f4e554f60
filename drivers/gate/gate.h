/* The judge's subcommands besides run (judge.c): the chart and the builtin
 * agent. Each returns a process exit status. */
#ifndef QINFER_GATE_GATE_H
#define QINFER_GATE_GATE_H

/* results.tsv's columns, in order (loop.sh writes them) */
#define RESULTS_HEADER "commit\tavg_generation_tps\tavg_prompt_tps\tavg_ttft_ms\tavg_peak_memory_gb\tavg_perplexity\t" \
                       "kl_divergence\ttop1_agreement\tsanity_check\tsampler_fidelity\tquality_pass\tspeedup\t"          \
                       "speedup_ci_low\tspeedup_ci_high\tstatus\tdescription"
enum { COL_COMMIT, COL_GEN, COL_PROMPT, COL_TTFT, COL_MEM, COL_PPL, COL_KL, COL_TOP1, COL_SANITY, COL_FID,
       COL_QUALITY, COL_SPEEDUP, COL_LO, COL_HI, COL_STATUS, COL_DESC, N_COLS };

typedef struct result_row {
    char *col[N_COLS];
} result_row;

/* rows of a results.tsv (header checked, torn or short lines skipped); -1 if unreadable */
int results_read(const char *path, result_row **rows, char **buf);

int cmd_report(int argc, char **argv);
int cmd_propose(int argc, char **argv);

#endif
