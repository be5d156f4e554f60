# loop.sh and the gate end to end, on the tiny chat model, in a temporary
# clone, with a scripted agent (test/loop_agent.sh): from a deliberately
# slowed baseline a real improvement is kept; a quality break, a sampler that
# ends every answer at once, one that draws greedily under top-p and one that
# reaches into the session are discarded; an edit of another file and a new
# untracked lib/ file are violations; a build break ends as crash after two
# retries; a sampler that replaces clock_gettime, runs a constructor, defines
# a library function or includes the session's header is refused; a sampler
# that hangs or allocates without bound is stopped (a crash row) and the loop
# goes on. results.tsv rows and the final git state are asserted. Native
# only: not under qemu.
. test/lib.sh
native_gate_only "loop tests"
clone_tree
# the deliberately slowed baseline: exact f32 products
sed -i 's/\.compute = QI_COMPUTE_Q8,/.compute = QI_COMPUTE_F32,/' lib/inference_config.c
# and a worker that stops answering is stopped after 10 s, not 60
sed -i 's/^run_timeout_s = .*/run_timeout_s = 10/' data/tiny-chat/workload.conf
git commit -qam "slowed baseline: compute = QI_COMPUTE_F32; run_timeout_s = 10"
slowed=$(git rev-parse HEAD)

# offsets for the agent that reaches into the session from the sampler
cat >"$TMP/off.c" <<'C'
#include <stddef.h>
#include <stdio.h>
#include "session/session.h"
int main(void) { printf("%zu %zu %zu\n", offsetof(qi_session, sampler), offsetof(qi_session, engine.model), offsetof(qi_model, n_layer)); return 0; }
C
set -- $(cc -std=c11 -D_GNU_SOURCE -Ilib "$TMP/off.c" -o "$TMP/off" && "$TMP/off")
export OFF_SAMPLER=$1 OFF_MODEL=$2 OFF_NLAYER=$3
export LOOP_SCENARIOS=$TMP/scenarios
printf '%s\n' improve full_softmax other_file untracked_lib build_break eos_at_once greedy clock ctor libfunc \
    session_include session_reach hang grab >"$LOOP_SCENARIOS"
M=data/tiny-chat/tiny-chat-q4_0.gguf
./loop.sh --tag t1 --agent "sh $R/test/loop_agent.sh" --iterations 14 --model $M >"$TMP/loop.out" 2>"$TMP/loop.err"
rc=$?
check "loop.sh ends well after 14 iterations (exit $rc)" [ $rc -eq 0 ]
status() { awk -F'\t' -v d="$1" 'index($16, d) { print $15 }' results.tsv | tail -n 1; }
expect() { # SCENARIO STATUS
    got=$(status "($1)")
    check "$1 -> $2 (got '${got:-no row}')" [ "$got" = "$2" ]
}
check "results.tsv: header, baseline and 14 rows" sh -c "[ \$(grep -c '' results.tsv) -eq 16 ] && head -n 1 results.tsv | grep -q '^commit	avg_generation_tps	'"
check "every row has 16 columns" sh -c "awk -F'\t' 'NF != 16 { exit 1 }' results.tsv"
check "the baseline row" sh -c "awk -F'\t' 'NR == 2 && \$15 == \"keep\" && \$16 == \"baseline\"' results.tsv | grep -q ."
expect improve keep
expect full_softmax discard
expect other_file violation
expect untracked_lib violation
expect build_break crash
expect eos_at_once discard
expect greedy discard
expect clock violation
expect ctor violation
expect libfunc violation
expect session_include violation
expect session_reach discard
expect hang crash
expect grab crash
check "the hang was stopped at the workload's limit, and its row says so" \
    sh -c "awk -F'\t' 'index(\$16, \"(hang)\")' results.tsv | grep -q 'no answer within 10 s'"
check "the unbounded allocation's row says the worker died" \
    sh -c "awk -F'\t' 'index(\$16, \"(grab)\")' results.tsv | grep -q 'output ended'"
check "the kept row measured a speed-up above 1.5" sh -c "awk -F'\t' 'index(\$16, \"(improve)\") && \$12 + 0 > 1.5' results.tsv | grep -q ."
check "quality failures say so" sh -c "awk -F'\t' 'index(\$16, \"(full_softmax)\") && \$11 == \"false\"' results.tsv | grep -q ."
check "violations carry no figures" sh -c "awk -F'\t' 'index(\$16, \"(other_file)\") && \$2 == \"-\" && \$12 == \"-\"' results.tsv | grep -q ."
check "the build break was retried twice" sh -c "[ \$(grep -c 'retry' $TMP/loop.err) -eq 2 ]"
check "the branch holds the baseline and the kept change only" sh -c "[ \$(git rev-list --count $slowed..HEAD) -eq 1 ] && git log -1 --format=%s | grep -q '(improve)'"
check "the tree is clean at the incumbent" sh -c "[ -z \"\$(git status --porcelain)\" ] && grep -q QI_COMPUTE_Q8 lib/inference_config.c && ! grep -q qi_boot_ lib/sample.c"
check "the kept commit is what results.tsv names" sh -c "awk -F'\t' '\$15 == \"keep\" { c = \$1 } END { print c }' results.tsv | grep -q \"^\$(git rev-parse --short=12 HEAD)\""
check "the anchor is recorded" sh -c "[ \"\$(cat .git/qinfer/anchor)\" = $slowed ]"
check "a second loop with the same tag is refused" sh -c "! ./loop.sh --tag t1 --iterations 1 --model $M 2>$TMP/again && grep -q exists $TMP/again"
check "the chart is drawn" sh -c "./loop.sh --report 2>/dev/null && grep -q '<svg' results.svg && grep -q 'quality failed' results.svg"

# stopping: SIGTERM while the gate runs ends at a clean point, --resume goes on
rows_before=$(grep -c '' results.tsv)
kept=$(git rev-parse HEAD)
printf '%s\n' spin spin >"$LOOP_SCENARIOS"
rm -f "$LOOP_SCENARIOS.cur"
./loop.sh --resume --iterations 1 >"$TMP/stop.out" 2>"$TMP/stop.err" &
lp=$!
n=0
while [ $n -lt 600 ] && ! grep -q "measurement 1\|sampler fidelity" "$TMP/stop.err" 2>/dev/null; do sleep 0.2; n=$((n + 1)); done
kill -TERM $lp
wait $lp
rc=$?
check "SIGTERM during a gate run: loop.sh stops (exit $rc)" [ $rc -eq 130 ]
check "no half row was written" [ "$(grep -c '' results.tsv)" -eq "$rows_before" ]
check "the tree is back at the incumbent, clean" sh -c "[ \"\$(git rev-parse HEAD)\" = $kept ] && [ -z \"\$(git status --porcelain)\" ]"
sleep 0.5
check "no judge or worker is left running" sh -c "! pgrep -f '$R/[.]git/qinfer/cache|$R/dat[a]/tiny-chat' >/dev/null"
printf 'garbage without a newline' >>results.tsv
./loop.sh --resume --iterations 1 >"$TMP/resume.out" 2>"$TMP/resume.err"
rc=$?
check "--resume runs one more iteration (exit $rc)" [ $rc -eq 0 ]
check "--resume dropped the torn last line" grep -q "torn line" "$TMP/resume.err"
check "--resume added one row" [ "$(grep -c '' results.tsv)" -eq $((rows_before + 1)) ]
check "the resumed row is the spin change" sh -c "tail -n 1 results.tsv | grep -q '(spin)'"

# results.tsv gone: --resume finds the last kept commit in the loop's own record
kept=$(git rev-parse HEAD)
mv results.tsv "$TMP/results.saved"
printf '%s\n' nothing >"$LOOP_SCENARIOS"
rm -f "$LOOP_SCENARIOS.cur"
./loop.sh --resume --iterations 1 >"$TMP/gone.out" 2>"$TMP/gone.err"
rc=$?
check "results.tsv gone: --resume goes on from the last kept commit (exit $rc)" sh -c \
    "[ $rc -eq 0 ] && grep -q 'resuming .* at the last kept commit $(git rev-parse --short=12 "$kept")' $TMP/gone.err && [ \"\$(git rev-parse HEAD)\" = $kept ]"
check "results.tsv gone: a new one, with the header" sh -c "[ \$(grep -c '' results.tsv) -eq 1 ] && head -n 1 results.tsv | grep -q '^commit	avg_generation_tps	'"
# something else in its place: refused before anything runs, nothing moved
rm -f results.tsv
mkdir results.tsv
./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/dir.err"
rc=$?
check "results.tsv a folder: refused (exit $rc), left in place" sh -c "[ $rc -eq 64 ] && grep -q 'not a readable, writable file' $TMP/dir.err && [ -d results.tsv ]"
rmdir results.tsv
printf 'my\tnotes\n' >results.tsv
./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/foreign.err"
rc=$?
check "results.tsv someone else's: refused (exit $rc), unchanged" sh -c "[ $rc -eq 64 ] && grep -q \"loop's header\" $TMP/foreign.err && [ \"\$(cat results.tsv)\" = \"\$(printf 'my\tnotes')\" ]"
mv "$TMP/results.saved" results.tsv

# the gate's own command line
check "gate without a model: usage, exit 64" sh -c "./gate >/dev/null 2>$TMP/g1; [ \$? -eq 64 ] && grep -q usage $TMP/g1"
check "gate with an unknown anchor: exit 64" sh -c "./gate --anchor nope -m $M >/dev/null 2>$TMP/g2; [ \$? -eq 64 ] && grep -q 'no such anchor' $TMP/g2"
git reset -q --hard
sed -i 's/\.temperature = [0-9.]*f/.temperature = 0.0f/' lib/inference_config.c
./gate -m $M --sampling config --json "$TMP/cfg.json" >"$TMP/cfg.out" 2>"$TMP/cfg.err"
check "--sampling config says what changed" grep -q "sampling: the candidate's config (temperature 0" "$TMP/cfg.err"
check "the change monitor names the knob" grep -q "knob temperature: 0.7f -> 0.0f" "$TMP/cfg.err"
check "--json holds every figure" sh -c "for k in avg_generation_tps kl_divergence sampler_fidelity decision; do grep -q \"\\\"\$k\\\":\" $TMP/cfg.json || exit 1; done"
check "stdout holds one line per figure" sh -c "for k in avg_generation_tps avg_prompt_tps avg_ttft_ms avg_peak_memory_gb avg_perplexity kl_divergence top1_agreement sanity_check sampler_fidelity quality_pass speedup speedup_ci_low speedup_ci_high decision; do [ \$(grep -c \"^\$k: \" $TMP/cfg.out) -eq 1 ] || exit 1; done"
check "per-prompt figures with their spread" sh -c "grep -q 'incumbent median \[min-max\]' $TMP/cfg.err && grep -q '\"per_prompt\"' $TMP/cfg.json"
check "the answers' perplexity is printed, marked unused" grep -q "^answer_perplexity: .* (not used)" "$TMP/cfg.out"
git checkout -q lib/inference_config.c
echo "stray" >README.extra
./gate -m $M >/dev/null 2>"$TMP/viol.err"
rc=$?
check "an untracked file is a protocol violation (exit $rc)" sh -c "[ $rc -eq 2 ] && grep -q 'untracked file README.extra' $TMP/viol.err"
rm -f README.extra
summary
