# This build's judge (drivers/gate/judge) doing all it does for the loop: a
# baseline gate run and one builtin iteration (code checks, worker builds,
# fidelity, sanity, KL, timed runs, propose), then the report. ./gate builds
# its own judge from the anchor; here that judge is replaced by this build's,
# so that under `make asan` LeakSanitizer and AddressSanitizer watch it (a
# report goes to a file named san.*, and any one fails the test) and under
# `make ubsan` UndefinedBehaviorSanitizer does. Its workers are built by the
# judge as usual (gcc, static, sandboxed). Native only: not under qemu.
. test/lib.sh
if [ -n "${RUNNER:-}" ]; then
    echo "SKIP judge run: native only (the gate builds and runs its workers natively)"
    echo "# 0 passed, 0 failed, 1 skipped"
    exit 0
fi
own_judge=$(pwd)/$B/drivers/gate/judge
clone_tree
M=data/tiny-chat/tiny-chat-q4_0.gguf
judge=$(./gate --judge-path 2>"$TMP/build.err")
check "./gate builds the anchor's judge" [ -x "$judge" ]
cp "$own_judge" "$judge"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:log_path=$TMP/san"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1:log_path=$TMP/san"
./loop.sh --tag judge --iterations 1 --model $M >"$TMP/loop.out" 2>"$TMP/loop.err"
rc=$?
check "the loop runs the baseline and one builtin iteration with this build's judge (exit $rc)" \
    sh -c "[ $rc -eq 0 ] && [ \$(grep -c '' results.tsv) -eq 3 ]"
check "the rows have the figures the judge took (speed for the baseline, KL for both)" \
    sh -c "awk -F'\t' 'NR == 2 && \$2 == \"-\" { exit 1 } NR > 1 && \$7 == \"-\" { exit 1 }' results.tsv"
./loop.sh --report >"$TMP/report.out" 2>&1
check "the judge draws the report" sh -c "grep -q '<svg' results.svg"
reports=$(ls "$TMP"/san.* 2>/dev/null)
check "no sanitizer report from the judge (${QINFER_SANITIZER:-none built in})" [ -z "$reports" ]
[ -n "$reports" ] && head -n 40 $reports
summary
