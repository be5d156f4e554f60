# Helpers for shell tests: ok/fail counting, the same summary line as test.h.
# Scripts get BIN (where the executables are) and B (the build dir) from run.sh.
SHARED=${QINFER_SHARED:-../shared}
BIN=${BIN:-.}
B=${B:-build/native}
T_PASS=0
T_FAIL=0
TMP=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"' EXIT
# Under emulation (RUNNER="qemu-aarch64 ..."), the executables are reached
# through wrappers, so that scripts can call $BIN/qinfer as usual.
RUN=${RUNNER:-}
if [ -n "$RUN" ]; then
    mkdir -p "$TMP/wrap/bench" "$TMP/wrap/tools"
    wrap() { printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$RUN" "$(pwd)/$1" > "$TMP/wrap/$2"; chmod +x "$TMP/wrap/$2"; }
    wrap "$BIN/qinfer" qinfer
    wrap "$BIN/bench/bench" bench/bench
    wrap "$B/tools/synth" tools/synth
    BIN=$TMP/wrap
    SYNTH_BIN=$TMP/wrap/tools/synth
fi
ok()   { T_PASS=$((T_PASS + 1)); echo "ok   $1"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $1"; }
# check NAME COMMAND...: passes when the command exits 0
check() { name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
summary() { echo "# $T_PASS passed, $T_FAIL failed"; [ "$T_FAIL" -eq 0 ]; }
