#!/bin/sh
# Run every test binary in BUILD/test and every test/test_*.sh script; add up their
# "# N passed, M failed[, K skipped]" lines. A program that dies without that line counts
# as one failure. Ends with the single line "N passed, M failed".
# Every test runs under a time limit: 300 s (the loop scripts 600 s; TEST_TIMEOUT
# sets another), ten times that under emulation and three times under a
# sanitizer. A test past its limit is killed and counts as failed (timeout
# --foreground: the test stays in this script's process group, as the loop
# tests, which manage process groups of their own, expect). Skipped tests are counted and shown as skipped, never as passed.
# usage: test/run.sh BUILD_DIR BIN_DIR   (RUNNER="qemu-aarch64 ..." to emulate;
# ONLY="test_a test_b.sh ..." runs just those, and says which it left out)
B=${1:?build dir}
BIN=${2:?bin dir}
pass=0
fail=0
skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
limit_for() {
    case $1 in test_loop.sh|test_loop_faults.sh) l=600 ;; *) l=300 ;; esac
    [ -n "${TEST_TIMEOUT:-}" ] && l=$TEST_TIMEOUT
    [ -n "${QINFER_EMULATED:-}" ] && l=$((l * 10))
    [ -n "${QINFER_SANITIZER:-}" ] && l=$((l * 3))
    echo "$l"
}
only_skipped=0
ran=""
run_one() {
    name=$1; shift
    if [ -n "${ONLY:-}" ] && ! echo " $ONLY " | grep -q " $name "; then
        only_skipped=$((only_skipped + 1))
        return
    fi
    ran="$ran $name"
    echo "== $name"
    t0=$(date +%s)
    limit=$(limit_for "$name")
    timeout --foreground -k 10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    echo "   ($name: $(($(date +%s) - t0)) s)"
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "FAIL $name: killed at its time limit of $limit s"
        fail=$((fail + 1))
        return
    fi
    line=$(grep -E '^# [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL $name: exited $rc without a summary line"
        fail=$((fail + 1))
        return
    fi
    p=$(echo "$line" | sed -E 's/^# ([0-9]+) passed, ([0-9]+) failed.*/\1/')
    f=$(echo "$line" | sed -E 's/^# ([0-9]+) passed, ([0-9]+) failed.*/\2/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exit status $rc"
        f=1
    fi
    k=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    pass=$((pass + p))
    fail=$((fail + f))
    skip=$((skip + ${k:-0}))
}
for t in "$B"/test/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.o) continue ;; esac
    run_one "$(basename "$t")" $RUNNER "$t"
done
for s in test/test_*.sh; do
    [ -f "$s" ] || continue
    run_one "$(basename "$s")" env BIN="$BIN" B="$B" sh "$s"
done
for name in ${ONLY:-}; do # a name in ONLY that is not a test here is a failure, not silence
    echo " $ran " | grep -q " $name " || { echo "FAIL $name: named in ONLY, not found"; fail=$((fail + 1)); }
done
[ "$only_skipped" -eq 0 ] || echo "$only_skipped test programs not run here (ONLY=$ONLY)"
[ "$skip" -eq 0 ] || echo "$skip skipped (not counted as passed; see SKIP lines above)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
