#!/bin/sh
# Side-by-side speed: qinfer's bench and llama.cpp's llama-bench on the same
# model, run interleaved (alternating which goes first) so that both see the
# same machine noise. Prints the median tokens/s of each and their ratio.
#
#   LLAMA_BENCH=/path/to/llama-bench bench/compare-llamacpp.sh MODEL [ROUNDS]
#
# Environment: PP (prompt lengths, default 512), TG (generation lengths,
# default 128), THREADS (default 1,2), REPS (timed runs per round and tool,
# default 1), QINFER_BENCH (default ./bench/bench). LABEL_A and LABEL_B name the
# columns (qinfer, llama.cpp): with LLAMA_BENCH set to another build's
# bench/bench it compares two builds of qinfer, e.g. before and after a change.
set -eu
MODEL=${1:?usage: LLAMA_BENCH=... $0 MODEL [ROUNDS]}
ROUNDS=${2:-5}
PP=${PP:-512}
TG=${TG:-128}
THREADS=${THREADS:-1,2}
REPS=${REPS:-1}
QB=${QINFER_BENCH:-./bench/bench}
LABEL_A=${LABEL_A:-qinfer}
LABEL_B=${LABEL_B:-llama.cpp}
LB=${LLAMA_BENCH:?set LLAMA_BENCH to a llama-bench binary}
[ -x "$QB" ] || { echo "compare: $QB not found (run make)" >&2; exit 1; }
[ -x "$LB" ] || { echo "compare: $LB is not executable" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "compare: no model at $MODEL" >&2; exit 1; }
command -v python3 >/dev/null || { echo "compare: needs python3" >&2; exit 1; }

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run_q() { "$QB" -m "$MODEL" -p "$PP" -n "$TG" -t "$THREADS" -r "$REPS" -o json > "$OUT/q.$1.json" 2>/dev/null; }
run_l() { "$LB" -m "$MODEL" -p "$PP" -n "$TG" -t "$THREADS" -r "$REPS" -o json > "$OUT/l.$1.json" 2>/dev/null; }
i=1
while [ "$i" -le "$ROUNDS" ]; do
    echo "compare: round $i of $ROUNDS" >&2
    if [ $((i % 2)) -eq 1 ]; then run_q "$i"; run_l "$i"; else run_l "$i"; run_q "$i"; fi
    i=$((i + 1))
done

python3 - "$OUT" "$ROUNDS" "$LABEL_A" "$LABEL_B" <<'PY'
import json, statistics, sys
out, rounds, la, lb = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def collect(prefix):
    res = {}
    for i in range(1, rounds + 1):
        for t in json.load(open(f"{out}/{prefix}.{i}.json")):
            key = ("pp%d" % t["n_prompt"] if t["n_prompt"] else "tg%d" % t["n_gen"], t["n_threads"])
            res.setdefault(key, []).append(t["avg_ts"])
    return res
q, l = collect("q"), collect("l")
print(f"| test | threads | {la} t/s (median, min-max) | {lb} t/s (median, min-max) | ratio |")
print("| ---- | ------: | ---------------------------: | ------------------------------: | ----: |")
for key in sorted(q, key=lambda k: (k[0][:2], k[1])):
    if key not in l:
        continue
    mq, ml = statistics.median(q[key]), statistics.median(l[key])
    print(f"| {key[0]} | {key[1]} | {mq:.2f} ({min(q[key]):.2f}-{max(q[key]):.2f}) | "
          f"{ml:.2f} ({min(l[key]):.2f}-{max(l[key]):.2f}) | {mq / ml:.2f}x |")
print(f"({rounds} interleaved rounds, {len(next(iter(q.values())))} samples each)")
PY
