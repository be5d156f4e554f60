#!/bin/sh
# Run the suite on the aarch64 build under qemu, on two CPUs, and add up:
# all of it on "max" (NEON with dotprod and i8mm; the kernel and golden tests
# there also run every lower level: plain NEON and dotprod), and on
# cortex-a53 (plain NEON) the tests whose code paths depend on the CPU: that
# the level picked there runs, and nothing in them needs dotprod or i8mm.
# The rest (the CLI, the harness, ...) do not change with the CPU and would
# only double CI's time. Ends with the single line "N passed, M failed".
B=build/aarch64-linux-gnu
pass=0
fail=0
A53_TESTS="test_kernels test_kinds test_quant test_golden_kinds test_tiny_chat test_api"
for cpu in max cortex-a53; do
    echo "=== aarch64 under qemu, -cpu $cpu"
    log=$(mktemp)
    only=""
    [ "$cpu" = cortex-a53 ] && only=$A53_TESTS
    ONLY=$only QINFER_EMULATED=1 RUNNER="$QEMU -cpu $cpu" CROSS=aarch64-linux-gnu- QINFER_SHARED=${SHARED:-../shared} \
        sh test/run.sh "$B" "$B/test/bin" 2>&1 | tee "$log" | sed 's/^\([0-9]* passed, [0-9]* failed\)$/[-cpu '"$cpu"'] \1/'
    line=$(tail -n 1 "$log")
    rm -f "$log"
    p=$(echo "$line" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p')
    f=$(echo "$line" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p')
    if [ -z "$p" ]; then fail=$((fail + 1)); continue; fi
    pass=$((pass + p))
    fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
