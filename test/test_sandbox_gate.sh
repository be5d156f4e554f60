# The sandbox at the gate: candidates whose sample.c tries, from a constructor
# and from the sampler, to write results.tsv, change a tracked file, run git,
# open a socket, or fork a helper that outlives the run. As loop.sh runs the
# gate, the code checks refuse each before it runs; with
# --unsafe-skip-code-checks (only to reach the sandbox) each attempt is killed
# by the sandbox and reported as a violation. Either way results.tsv and the
# tree stay as they were, no figure is reported and nothing is left running.
# Native only: not under qemu.
. test/lib.sh
native_gate_only "sandbox gate tests"
if ! grep -q Seccomp: /proc/self/status; then
    echo "SKIP sandbox gate tests: this kernel has no seccomp filters (the gate says so and runs without)"
    echo "# 0 passed, 0 failed, 1 skipped"
    exit 0
fi
clone_tree
head=$(git rev-parse HEAD)
M=data/tiny-chat/tiny-chat-q4_0.gguf
printf 'commit\tstatus\nabc\tkeep\n' >results.tsv
cp results.tsv "$TMP/results.before"
chmod 666 results.tsv README.md # writable by anyone: only the sandbox stands in the way
cp lib/sample.c "$TMP/sample.c"
tag=qinfer-sandbox-helper-$$

attack() { # NAME: the body of qi_attack_
    case $1 in
    write_results) printf "%s\n" "int fd = open(\"$R/results.tsv\", O_WRONLY | O_APPEND); if (fd >= 0) (void)!write(fd, \"x\\tkeep\\n\", 7);" ;;
    edit_tracked)  printf "%s\n" "int fd = open(\"$R/README.md\", O_WRONLY | O_APPEND); if (fd >= 0) (void)!write(fd, \"faster\\n\", 7);" ;;
    run_git)       printf "%s\n" "(void)!system(\"git -C $R commit -q --allow-empty -m pwned\");" ;;
    socket)        printf "%s\n" "int s = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(9); if (s >= 0) (void)connect(s, (struct sockaddr *)&a, sizeof a);" ;;
    fork_helper)   printf "%s\n" "if (fork() == 0) { setsid(); execl(\"/bin/sleep\", \"$tag\", \"60\", (char *)0); for (;;) sleep(1); }" ;;
    esac
}
# WHERE (ctor|sampler) NAME: write the hostile sample.c
hostile() {
    { printf '#include <fcntl.h>\n#include <unistd.h>\n#include <stdlib.h>\n#include <netinet/in.h>\n#include <sys/socket.h>\n'
      cat "$TMP/sample.c"
      printf 'static void qi_attack_(void) { %s }\n' "$(attack $2)"
      [ "$1" = ctor ] && printf 'static void __attribute__((constructor)) qi_attack_ctor_(void) { qi_attack_(); }\n'
    } >lib/sample.c
    if [ "$1" = sampler ]; then
        awk '{ print } /^qi_status sampler_sample\(/ { f = 1 } f && /\{$/ { print "    qi_attack_();"; f = 0 }' lib/sample.c >lib/sample.c.new
        printf 'static void qi_attack_(void);\n' | cat - lib/sample.c.new >lib/sample.c && rm lib/sample.c.new
    fi
}
untouched() {
    cmp -s results.tsv "$TMP/results.before" && git diff --quiet HEAD -- README.md &&
        [ "$(git rev-parse HEAD)" = "$head" ] && ! pgrep -f "$tag" >/dev/null
}

# as loop.sh runs it: the code checks refuse before anything runs
hostile ctor write_results
./gate -m $M -q --json "$TMP/j.json" >"$TMP/out" 2>"$TMP/err"
rc=$?
check "checked: a hostile sample.c is a violation before it runs (exit $rc)" sh -c "[ $rc -eq 2 ] && grep -q 'decision: violation' $TMP/out && ! grep -q 'sandbox killed' $TMP/err"
check "checked: nothing changed" untouched

for where in ctor sampler; do
    for a in write_results edit_tracked run_git socket fork_helper; do
        hostile $where $a
        ./gate -m $M -q --unsafe-skip-code-checks --json "$TMP/j.json" >"$TMP/out" 2>"$TMP/err"
        rc=$?
        check "$a from the $where: killed by the sandbox, a violation (exit $rc)" sh -c \
            "[ $rc -eq 2 ] && grep -q \"the sandbox killed the candidate's worker\" $TMP/err && grep -q '\"decision\": \"violation\"' $TMP/j.json"
        check "$a from the $where: no figures" sh -c "grep -q '^avg_generation_tps: -' $TMP/out && grep -q '^speedup: -' $TMP/out"
        check "$a from the $where: results.tsv, README, HEAD unchanged, nothing left running" untouched
    done
done
cp "$TMP/sample.c" lib/sample.c
pkill -f "$tag" 2>/dev/null
summary
