#!/bin/sh
# The tiny chat model's exporter (tools/train_tiny), checked without a GPU:
# a random model written by its export() must load in qinfer and give the
# logits of an independent numpy forward pass (tier A, --exact).
. test/lib.sh
PY=
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import numpy' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
    echo "SKIP exporter self-test: no python3 with numpy (apt-get install python3-numpy)"
    echo "# 0 passed, 0 failed, 1 skipped"
    exit 0
fi
out=$("$PY" tools/train_tiny/selftest.py "$BIN/qinfer" "$TMP" 2>&1)
echo "$out" | grep -v "^# "
n_ok=$(echo "$out" | grep -c '^ok ')
n_bad=$(echo "$out" | grep -c '^FAIL ')
T_PASS=$n_ok
T_FAIL=$n_bad
[ "$n_ok" -ge 12 ] || fail "selftest ran $n_ok checks, expected 12"
summary
