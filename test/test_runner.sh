# test/run.sh itself, on a make-believe build: a test past its time limit is
# killed and counted as failed; a skipped test is
# counted as skipped, not passed; a test without a summary line fails; the
# last line adds up.
. test/lib.sh
R=$(pwd)
mkdir -p "$TMP/t/b/test" "$TMP/t/test"
cd "$TMP/t" || exit 1
tag=qinfer-runner-test-$$
printf '#!/bin/sh\nbash -c "exec -a %s sleep 60"\necho "# 1 passed, 0 failed"\n' "$tag" >b/test/test_slow
printf '#!/bin/sh\necho "SKIP x: not here"\necho "# 2 passed, 0 failed, 1 skipped"\n' >b/test/test_skip
printf '#!/bin/sh\necho "no summary"\n' >b/test/test_mute
chmod +x b/test/test_*
ONLY= TEST_TIMEOUT=2 QINFER_EMULATED= QINFER_SANITIZER= RUNNER= sh "$R/test/run.sh" b b >out 2>&1
rc=$?
check "the runner fails the run (exit $rc)" [ $rc -ne 0 ]
check "a test past its limit is killed and named" grep -q "FAIL test_slow: killed at its time limit of 2 s" out
pkill -f "[q]infer-runner-test-$$" # what the killed test started
check "a test without a summary line fails" grep -q "FAIL test_mute" out
check "skips are reported as skips" grep -q "^1 skipped" out
check "the last line adds up: 2 passed, 2 failed" sh -c "[ \"\$(tail -n 1 out)\" = '2 passed, 2 failed' ]"

# ONLY: just the named tests run, the others are counted as left out, and a
# name that is no test here fails the run rather than running nothing
ONLY="test_skip" TEST_TIMEOUT=2 QINFER_EMULATED= QINFER_SANITIZER= RUNNER= sh "$R/test/run.sh" b b >only 2>&1
rc=$?
check "ONLY=test_skip: passes (exit $rc) with just that test" \
    sh -c "[ $rc -eq 0 ] && [ \"\$(tail -n 1 only)\" = '2 passed, 0 failed' ] && ! grep -q '== test_slow' only"
check "ONLY: the others are said to be left out" grep -q "^2 test programs not run here" only
ONLY="test_skip test_nosuch" TEST_TIMEOUT=2 QINFER_EMULATED= QINFER_SANITIZER= RUNNER= sh "$R/test/run.sh" b b >only 2>&1
rc=$?
check "ONLY naming a missing test fails the run (exit $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'FAIL test_nosuch: named in ONLY, not found' only"
summary
