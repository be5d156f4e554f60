#!/bin/sh
# bench: its options, each bad value refused (exit 2, the value named), and
# its tables and JSON on the tiny id-only model (speeds are printed, never
# asserted: machines are noisy).
. test/lib.sh
BENCH=$BIN/bench/bench
T2=$SHARED/golden/tiny-gqa7-q4_0.gguf
OUT=$TMP/out
ERR=$TMP/err

check "--help exits 0 with the usage and --prefetch" sh -c "$BENCH --help >$OUT && grep -q 'usage: bench' $OUT && grep -q -- '--prefetch' $OUT"
check "no model: exit 2, says so" sh -c "$BENCH -p 8 >$OUT 2>$ERR; [ \$? -eq 2 ] && grep -q 'no model given' $ERR"
check "unknown option: exit 2, named" sh -c "$BENCH -m $T2 --bogus 1 2>$ERR; [ \$? -eq 2 ] && grep -q -- \"unknown option '--bogus'\" $ERR"
check "an option without its value: exit 2" sh -c "$BENCH -m $T2 -r 2>$ERR; [ \$? -eq 2 ] && grep -q -- '-r needs a value' $ERR"
for bad in "-r 0" "-r 65" "-o xml" "--kv f8" "--chunk 0" "--prefetch 100" "--prefetch x" "--prefetch -2" \
    "--prefetch 70000" "--prefetch 64x" "-t 0" "-p x"; do
    opt=${bad% *} val=${bad#* }
    check "bad value: $bad is refused, exit 2" \
        sh -c "$BENCH -m $T2 $bad -p 8 -n 0 -r 1 -t 1 >$OUT 2>$ERR; [ \$? -eq 2 ] && grep -q -- \"bad value '$val' for $opt\" $ERR"
done
check "a model that is not there: exit 1, named" sh -c "$BENCH -m $TMP/none.gguf -p 8 2>$ERR; [ \$? -eq 1 ] && grep -q none.gguf $ERR"

# the markdown table: one row per test and thread count
check "md: a pp8 and a tg4 row" sh -c "$BENCH -m $T2 -p 8 -n 4 -r 1 -t 1 >$OUT 2>$ERR && grep -Eq '\\| +pp8 \\| +[0-9.]+ ±' $OUT && grep -Eq '\\| +tg4 \\| +[0-9.]+ ±' $OUT"
check "--prefetch 4096 and 0 run" sh -c "$BENCH -m $T2 -p 0 -n 4 -r 1 -t 1 --prefetch 4096 >$OUT 2>$ERR && grep -q tg4 $OUT &&
    $BENCH -m $T2 -p 0 -n 4 -r 1 -t 1 --prefetch 0 >$OUT 2>$ERR && grep -q tg4 $OUT"
check "-b: the read bandwidth and a roof column" sh -c "$BENCH -m $T2 -p 0 -n 4 -r 1 -t 1 -b >$OUT 2>$ERR && grep -q 'read bandwidth' $ERR && grep -q 'roof' $OUT && grep -Eq '\\| +[0-9]+% \\|' $OUT"
# JSON: llama-bench's fields, one object per test, as compare-llamacpp.sh reads them
json_ok() {
    $BENCH -m "$T2" -p 8 -n 4 -r 2 -t 1 -o json >"$OUT" 2>"$ERR" || return 1
    python3 - "$OUT" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
assert len(runs) == 2, runs
pp, tg = runs
assert (pp["n_prompt"], pp["n_gen"], tg["n_prompt"], tg["n_gen"]) == (8, 0, 0, 4)
for r in runs:
    assert r["n_threads"] == 1 and len(r["samples_ts"]) == 2 and r["avg_ts"] > 0, r
PY
}
check "json: two objects with llama-bench's fields" json_ok
summary
