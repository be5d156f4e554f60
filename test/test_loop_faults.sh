# loop.sh killed outright (SIGKILL) at many points of an iteration: as it
# starts the agent, while the agent thinks, right after the candidate's commit,
# as it starts the gate (between fork and exec), while the gate builds,
# while it checks the sampler, while it times runs, as it finishes. After each
# kill, --resume stops what the killed loop left running, finds the last kept
# commit, cleans the tree and goes on; results.tsv is only ever appended to
# (what it held before is still its beginning) and never holds a torn or
# short row. Then the disk fills while a row is appended (results.tsv on a
# filesystem of its own, full but for 40 bytes): the loop stops (exit 74) at
# the incumbent, and once there is room again --resume cuts off the torn
# line and runs an iteration to the end. Native only.
. test/lib.sh
native_gate_only "loop fault tests"
clone_tree
export LOOP_SCENARIOS=$TMP/scenarios
export TMPDIR=$TMP/tmpdir # where loop.sh makes the agent's copy
mkdir -p "$TMPDIR"
M=data/tiny-chat/tiny-chat-q4_0.gguf
printf 'nothing\n' >"$LOOP_SCENARIOS"
./loop.sh --tag faults --agent "sh $R/test/loop_agent.sh" --iterations 1 --model $M >/dev/null 2>"$TMP/start.err"
check "the loop starts (baseline measured)" sh -c "[ \$(grep -c '' results.tsv) -eq 2 ]"
incumbent=$(git rev-parse HEAD)

# wait_for LOG TEXT: until TEXT shows in LOG (at most 120 s)
wait_for() { n=0; while [ $n -lt 1200 ] && ! grep -q "$2" "$1" 2>/dev/null; do sleep 0.1; n=$((n + 1)); done; grep -q "$2" "$1"; }

# "@TEXT" kills at the fork itself: a setsid first on PATH kills loop.sh (its
# parent) as its first act when its arguments hold TEXT, then runs the real
# one. loop.sh is gone before it could note what it started (most times: its
# side of the fork races this one): the child must note itself.
mkdir -p "$TMP/forkkill"
cat >"$TMP/forkkill/setsid" <<EOF
#!/bin/sh
case " \$* " in *"\$KILL_AT_FORK"*) kill -KILL \$PPID ;; esac
exec $(command -v setsid) "\$@"
EOF
chmod +x "$TMP/forkkill/setsid"

for point in "slow:the agent thinks:-" "slow:the agent is started:@loop_agent" "spin:the candidate is committed:iteration [0-9]*:" \
             "spin:the gate is started:@./gate" "spin:the gate builds:building the" \
             "spin:the sampler is checked:sampler fidelity" "spin:runs are timed:pair  1" "spin:the gate finishes:speed-up"; do
    scenario=${point%%:*}
    rest=${point#*:}
    what=${rest%%:*}
    mark=${rest#*:}
    printf '%s\n' "$scenario" "$scenario" >"$LOOP_SCENARIOS"
    rm -f "$LOOP_SCENARIOS.cur"
    cp results.tsv "$TMP/before.tsv"
    # the logs go first: the shell truncates a redirection only once the
    # background child runs, and wait_for must not read the last point's
    # "resuming" (a SIGTERM then reaches a loop.sh that has no trap yet)
    rm -f "$TMP/run.err" "$TMP/resume.err"
    case $mark in
        @*) KILL_AT_FORK=${mark#@} PATH=$TMP/forkkill:$PATH ./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/run.err" &
            lp=$!
            wait $lp 2>/dev/null
            check "killed as $what: it was killed (by the setsid on PATH)" [ $? -eq 137 ]
            sleep 1 ;; # as a person would: not within the child's first milliseconds
        *)  ./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/run.err" &
            lp=$!
            if [ "$scenario" = slow ]; then sleep 3; else wait_for "$TMP/run.err" "$mark"; fi
            kill -KILL $lp
            wait $lp 2>/dev/null ;;
    esac
    # the resume that follows: stopped at once by SIGTERM, after its start
    ./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/resume.err" &
    lp=$!
    wait_for "$TMP/resume.err" "resuming"
    kill -TERM $lp
    wait $lp
    rc=$?
    sleep 0.5
    check "killed while $what: --resume starts and stops cleanly (exit $rc)" [ $rc -eq 130 ]
    case $scenario$mark in slow*|*@*) check "killed while $what: --resume stopped the agent or gate the killed loop left" \
        grep -q "stopped the agent or gate" "$TMP/resume.err" ;; esac
    check "killed while $what: the tree is clean at the last kept commit" sh -c \
        "[ \"\$(git rev-parse HEAD)\" = $incumbent ] && [ -z \"\$(git status --porcelain)\" ]"
    check "killed while $what: nothing of the killed loop is left running or lying about" sh -c \
        "! pgrep -f '^[.]/gate -m $M --incumbent|$R/([.]git/qinfer/cache|test/loop_agent[.]sh)' >/dev/null && [ -z \"\$(ls -A $TMPDIR)\" ]"
    check "killed while $what: results.tsv only appended to, no torn or short row" sh -c \
        "head -c \$(wc -c <$TMP/before.tsv) results.tsv | cmp -s - $TMP/before.tsv && [ \"\$(tail -c 1 results.tsv | od -An -c | tr -d ' ')\" = '\\n' ] && awk -F'\t' 'NF != 16 { exit 1 }' results.tsv"
done
printf '%s\n' spin spin >"$LOOP_SCENARIOS"
rm -f "$LOOP_SCENARIOS.cur"

# A full disk: a row that ends 40 bytes before a page boundary pads
# results.tsv (so the next row is cut there), which then lies on a tmpfs of
# exactly its own pages, bound over results.tsv in a mount namespace.
size=$(wc -c <results.tsv)
base=$(printf '%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\tdiscard\t' 000000000000 | wc -c)
need=$(( (4096 - 40 - size % 4096 + 8192) % 4096 ))
[ $need -lt $((base + 2)) ] && need=$((need + 4096))
pad=$(head -c $((need - base - 1)) /dev/zero | tr '\0' p)
printf '%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\tdiscard\t%s\n' 000000000000 "$pad" >>results.tsv
cp results.tsv "$TMP/before.tsv"
pages=$(( ($(wc -c <results.tsv) + 4095) / 4096 ))
mkdir -p "$TMP/small"
unshare -m --propagation private sh -c '
    mount -t tmpfs -o size=$(($3 * 4096)) qinfer-full "$1" 2>/dev/null || exit 99
    cp results.tsv "$1/results.tsv" && mount --bind "$1/results.tsv" results.tsv || exit 99
    ./loop.sh --resume --iterations 1 >/dev/null 2>"$2/full.err"
    rc=$?
    cp "$1/results.tsv" "$2/full.tsv"
    exit $rc' sh "$TMP/small" "$TMP" "$pages" 2>/dev/null
rc=$?
if [ ! -f "$TMP/full.tsv" ]; then # the loop never ran there
    echo "SKIP a full disk: no mount namespace here (unshare -m and tmpfs need root)"
    skipped=1
else
    skipped=0
    check "a full disk: the loop stops, saying why (exit $rc)" sh -c "[ $rc -eq 74 ] && grep -q 'cannot append to results.tsv' $TMP/full.err"
    check "a full disk: the tree is clean at the last kept commit" sh -c \
        "[ \"\$(git rev-parse HEAD)\" = $incumbent ] && [ -z \"\$(git status --porcelain)\" ]"
    check "a full disk: what reached the disk is the old rows and a torn line" sh -c \
        "head -c \$(wc -c <$TMP/before.tsv) $TMP/full.tsv | cmp -s - $TMP/before.tsv && [ \$(wc -c <$TMP/full.tsv) -eq \$((\$(wc -c <$TMP/before.tsv) + 40)) ]"
    cp "$TMP/full.tsv" results.tsv # room again: the disk holds what the loop wrote
fi
rm -f "$LOOP_SCENARIOS.cur"
printf '%s\n' spin >"$LOOP_SCENARIOS"
rows=$(wc -l <"$TMP/before.tsv")
./loop.sh --resume --iterations 1 >/dev/null 2>"$TMP/final.err"
rc=$?
[ $skipped = 0 ] && check "a full disk, then room: --resume cuts off the torn line" grep -q "torn line" "$TMP/final.err"
check "after all that, --resume runs an iteration to the end (exit $rc)" sh -c \
    "[ $rc -eq 0 ] && [ \$(grep -c '' results.tsv) -eq $((rows + 1)) ] && head -c \$(wc -c <$TMP/before.tsv) results.tsv | cmp -s - $TMP/before.tsv"
if [ $skipped = 1 ]; then
    echo "# $T_PASS passed, $T_FAIL failed, 1 skipped"
    [ "$T_FAIL" -eq 0 ]
    exit
fi
summary
