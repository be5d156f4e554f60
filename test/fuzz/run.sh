#!/bin/sh
# make fuzz: run each libFuzzer target (build/fuzz/fuzz_T) for FUZZ_TIME
# seconds from its seed corpus, then report its executions and whether it
# found anything. usage: test/fuzz/run.sh T...
t_all=$*
fails=0
for t in $t_all; do
    mkdir -p build/fuzz/corpus-$t
    log=build/fuzz/fuzz_$t.log
    echo "== fuzz_$t for ${FUZZ_TIME:-60} s"
    build/fuzz/fuzz_$t -max_total_time="${FUZZ_TIME:-60}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix=build/fuzz/crash-$t- \
        build/fuzz/corpus-$t $(ls -d test/fuzz/corpus/$t build/fuzz-seeds/$t 2>/dev/null) >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ $rc -eq 0 ]; then
        echo "   fuzz_$t: ${runs:-?} executions, nothing found"
    else
        fails=$((fails + 1))
        tail -n 30 "$log"
        echo "   fuzz_$t: FOUND something after ${runs:-?} executions: $(ls build/fuzz/crash-$t-* 2>/dev/null | tr '\n' ' ')"
        echo "   copy it into test/fuzz/regress/$t/ and fix it"
    fi
done
[ $fails -eq 0 ]
