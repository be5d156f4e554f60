#!/bin/sh
# make fuzz: run each libFuzzer target (build/fuzz/fuzz_T) for FUZZ_TIME
# seconds from its seed corpus, then report its executions and whether it
# found anything. FUZZ_JOBS targets run at once (default: the CPU count; each
# fuzzer is one process on one core, so each gets its FUZZ_TIME whole).
# usage: test/fuzz/run.sh T...
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
# one target; its report goes to build/fuzz/fuzz_T.report, its status to .rc
fuzz_one() {
    t=$1
    mkdir -p build/fuzz/corpus-$t
    log=build/fuzz/fuzz_$t.log
    build/fuzz/fuzz_$t -max_total_time="${FUZZ_TIME:-60}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix=build/fuzz/crash-$t- \
        build/fuzz/corpus-$t $(ls -d test/fuzz/corpus/$t build/fuzz-seeds/$t 2>/dev/null) >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    {
        if [ $rc -eq 0 ]; then
            echo "   fuzz_$t: ${runs:-?} executions, nothing found"
        else
            tail -n 30 "$log"
            echo "   fuzz_$t: FOUND something after ${runs:-?} executions: $(ls build/fuzz/crash-$t-* 2>/dev/null | tr '\n' ' ')"
            echo "   copy it into test/fuzz/regress/$t/ and fix it"
        fi
    } >build/fuzz/fuzz_$t.report
    echo $rc >build/fuzz/fuzz_$t.rc
}
fails=0
while [ $# -gt 0 ]; do
    batch=""
    n=0
    while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
        batch="$batch $1"
        shift
        n=$((n + 1))
    done
    for t in $batch; do
        echo "== fuzz_$t for ${FUZZ_TIME:-60} s"
        rm -f build/fuzz/fuzz_$t.rc
        fuzz_one "$t" &
    done
    wait
    for t in $batch; do
        cat build/fuzz/fuzz_$t.report 2>/dev/null
        [ "$(cat build/fuzz/fuzz_$t.rc 2>/dev/null)" = 0 ] || fails=$((fails + 1))
    done
done
[ $fails -eq 0 ]
