# Every fuzz target (test/fuzz) replayed on its seed corpus and on each input
# a fuzzer once crashed on (test/fuzz/regress/T): each must run them all.
. test/lib.sh
for t in gguf tokenizer chat protocol; do
    set --
    for f in test/fuzz/corpus/$t/* build/fuzz-seeds/$t/* test/fuzz/regress/$t/*; do [ -f "$f" ] && set -- "$@" "$f"; done
    out=$($RUN "$B/test/fuzz/fuzz_$t" "$@" 2>&1)
    rc=$?
    check "fuzz_$t replays its $# inputs (exit $rc)" sh -c "[ $rc -eq 0 ] && [ \"$(echo "$out" | tail -n 1)\" = 'replayed $# inputs' ]"
    [ $rc -eq 0 ] || echo "$out" | tail -n 5
done
summary
