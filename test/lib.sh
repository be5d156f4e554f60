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
# native_gate_only NAME: the gate and loop scripts exit here, skipped, under
# qemu or a sanitizer build: ./gate builds its own judge and workers, natively
# and without the sanitizer, so there is nothing of this build to test
native_gate_only() {
    if [ -n "${RUNNER:-}" ] || [ -n "${QINFER_SANITIZER:-}" ]; then
        echo "SKIP $1: native, unsanitized builds only (./gate builds its own judge and workers)"
        echo "# 0 passed, 0 failed, 1 skipped"
        exit 0
    fi
}
# clone_tree: a temporary clone ($R) holding this working tree (committed or
# not) as one commit, with a test identity; the shell moves into it
clone_tree() {
    root=$(pwd)
    R=$TMP/repo
    git clone -q --no-hardlinks "$root" "$R"
    git ls-files -z | tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$R"
    cd "$R" || exit 1
    export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.invalid GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.invalid
    git add -A && git commit -qm "the tree under test" || true
}
