# loop.sh killed outright (SIGKILL) at many points of an iteration: while the
# agent thinks, right after the candidate's commit, while the gate builds,
# while it checks the sampler, while it times runs, as it finishes. After each
# kill, --resume stops what the killed loop left running, finds the last kept
# commit, cleans the tree and goes on; results.tsv is only ever appended to
# (what it held before is still its beginning) and never holds a torn or
# short row. Then one resume runs an iteration to the end. Native only.
. test/lib.sh
native_gate_only "loop fault tests"
clone_tree
export LOOP_SCENARIOS=$TMP/scenarios
export TMPDIR=$TMP/tmpdir # where loop.sh makes the agent's copy
mkdir -p "$TMPDIR"
M=data/tiny-chat/tiny-chat-q4_0.gguf
printf 'nothing\n' >"$LOOP_SCENARIOS"
./loop.sh --tag faults --agent "sh $R/test/loop_agent.sh" --iterations 1 --model $M >/dev/null 2>"$TMP/start.err"
check "the loop starts (baseline measured)" sh -c "[ \$(grep -c '' results.tsv) -eq 2 ]"
incumbent=$(git rev-parse HEAD)

# wait_for LOG TEXT: until TEXT shows in LOG (at most 120 s)
wait_for() { n=0; while [ $n -lt 1200 ] && ! grep -q "$2" "$1" 2>/dev/null; do sleep 0.1; n=$((n + 1)); done; grep -q "$2" "$1"; }

for point in "slow:the agent thinks:-" "spin:the candidate is committed:iteration [0-9]*:" "spin:the gate builds:building the" \
             "spin:the sampler is checked:sampler fidelity" "spin:runs are timed:pair  1" "spin:the gate finishes:speed-up"; do
    scenario=${point%%:*}
    rest=${point#*:}
    what=${rest%%:*}
    mark=${rest#*:}
    printf '%s\n' "$scenario" "$scenario" >"$LOOP_SCENARIOS"
    rm -f "$LOOP_SCENARIOS.cur"
    cp results.tsv "$TMP/before.tsv"
    ./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/run.err" &
    lp=$!
    if [ "$scenario" = slow ]; then sleep 3; else wait_for "$TMP/run.err" "$mark"; fi
    kill -KILL $lp
    wait $lp 2>/dev/null
    # the resume that follows: stopped at once by SIGTERM, after its start
    ./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/resume.err" &
    lp=$!
    wait_for "$TMP/resume.err" "resuming"
    kill -TERM $lp
    wait $lp
    rc=$?
    sleep 0.5
    check "killed while $what: --resume starts and stops cleanly (exit $rc)" [ $rc -eq 130 ]
    [ "$scenario" = slow ] && check "killed while $what: --resume stopped the agent the killed loop left" \
        grep -q "stopped the agent or gate" "$TMP/resume.err"
    check "killed while $what: the tree is clean at the last kept commit" sh -c \
        "[ \"\$(git rev-parse HEAD)\" = $incumbent ] && [ -z \"\$(git status --porcelain)\" ]"
    check "killed while $what: nothing of the killed loop is left running or lying about" sh -c \
        "! pgrep -f '$R/[.]git/qinfer/cache|loop_agent[.]sh' >/dev/null && [ -z \"\$(ls -A $TMPDIR)\" ]"
    check "killed while $what: results.tsv only appended to, no torn or short row" sh -c \
        "head -c \$(wc -c <$TMP/before.tsv) results.tsv | cmp -s - $TMP/before.tsv && [ \"\$(tail -c 1 results.tsv | od -An -c | tr -d ' ')\" = '\\n' ] && awk -F'\t' 'NF != 16 { exit 1 }' results.tsv"
done
printf '%s\n' spin >"$LOOP_SCENARIOS"
rm -f "$LOOP_SCENARIOS.cur"
rows=$(grep -c '' results.tsv)
./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/final.err"
rc=$?
check "after all that, --resume runs an iteration to the end (exit $rc)" sh -c "[ $rc -eq 0 ] && [ \$(grep -c '' results.tsv) -eq $((rows + 1)) ]"
summary
