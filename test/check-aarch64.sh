#!/bin/sh
# Run the whole suite on the aarch64 build under qemu, on two CPUs: "max"
# (NEON with dotprod and i8mm) and cortex-a53 (plain NEON), and add up.
# Ends with the single line "N passed, M failed".
B=build/aarch64-linux-gnu
pass=0
fail=0
for cpu in max cortex-a53; do
    echo "=== aarch64 under qemu, -cpu $cpu"
    log=$(mktemp)
    QINFER_EMULATED=1 RUNNER="$QEMU -cpu $cpu" CROSS=aarch64-linux-gnu- QINFER_SHARED=${SHARED:-../shared} \
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
