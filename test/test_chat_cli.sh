# The text side of the command line: chat driven by a stdin script,
# generation with seeds, tokenize/detokenize on the vocabulary-only GGUF,
# bad settings refused, and Ctrl-C stopping a generation cleanly.
. test/lib.sh
Q=$BIN/qinfer
G=$SHARED/golden
T1=$G/tiny-qwen2-q4_0.gguf
V=$SHARED/vocab/qwen2/qwen2.5-vocab.gguf

printf 'Hello there\nWhat is 2+2?\n' > $TMP/script
check "chat: two turns from a stdin script" sh -c "$Q chat -m $T1 -n 6 --temp 0 < $TMP/script > $TMP/chat.out 2> $TMP/chat.err"
check "chat: two replies" sh -c "[ \$(grep -c '^\[prompt' $TMP/chat.err) -eq 2 ]"
check "chat: the second turn reuses the cache" sh -c "grep '^\[prompt' $TMP/chat.err | sed -n 2p | grep -qE 'prompt ([0-9]+) tokens \(([0-9]|1[0-9]|2[0-9]) new\)'"
printf 'Hi\n/reset\nHi\n/exit\nnot read\n' > $TMP/script2
check "chat: /reset and /exit" sh -c "$Q chat -m $T1 -n 4 --temp 0 < $TMP/script2 > $TMP/c2.out 2> $TMP/c2.err && grep -q 'conversation reset' $TMP/c2.err && [ \$(grep -c '^\[prompt' $TMP/c2.err) -eq 2 ]"
check "chat: after /reset the same question gets the same answer" sh -c "[ \$(sed -n 1p $TMP/c2.out | od -c | md5sum | cut -c1-8) = \$(sed -n 2p $TMP/c2.out | od -c | md5sum | cut -c1-8) ]"

# a full context drops the oldest turns (the system message stays) and the chat
# goes on: every later line is read, /reset included
# greedy, and every setting that moves its text pinned (lib/inference_config.c may change)
GREEDY="--temp 0 --repeat-penalty 1 --kv f32 --chunk 64"
SYS='You answer in one word.'
n_sys=$($Q tokenize -m $T1 --special "$(printf '<|im_start|>system\n%s<|im_end|>\n' "$SYS")" | wc -l)
printf 'Hello there\nWhat is 2+2?\nAnd another question here\n/reset\nHi\n' > $TMP/script3
check "chat: a full context drops the oldest turns and goes on" sh -c "$Q chat -m $T1 -s '$SYS' -c 64 -n 20 $GREEDY < $TMP/script3 > $TMP/c3.out 2> $TMP/c3.err && grep -q '^\[context full: dropped the 1 oldest turn to make room (context 64 tokens, -c); the system message stays\]' $TMP/c3.err && [ \$(grep -c '^\[prompt' $TMP/c3.err) -eq 4 ] && grep -q 'conversation reset' $TMP/c3.err"
kept_system() {
    # after each drop, the next prompt reuses at least the system message's tokens
    grep -A1 '^\[context full' $TMP/c3.err | grep '^\[prompt' | sed -E 's/^\[prompt ([0-9]+) tokens \(([0-9]+) new\).*/\1 \2/' >$TMP/c3.n &&
        [ -s $TMP/c3.n ] && while read -r total new; do [ $((total - new)) -ge "$n_sys" ] || return 1; done <$TMP/c3.n
}
check "chat: the system message stays when turns are dropped" kept_system
check "chat: nothing is dropped while the conversation fits" sh -c "$Q chat -m $T1 -s '$SYS' -c 1024 -n 20 $GREEDY < $TMP/script3 > /dev/null 2> $TMP/c4.err && ! grep -q 'dropped' $TMP/c4.err && [ \$(grep -c '^\[prompt' $TMP/c4.err) -eq 4 ]"
check "chat: a reply cut by a full context is a stop reason, the chat goes on" sh -c "printf 'Hello there\nHi\n' | $Q chat -m $T1 -s '$SYS' -c 40 -n 100 $GREEDY > /dev/null 2> $TMP/c5.err && [ \$(grep -c '| stop: context full |' $TMP/c5.err) -eq 2 ] && grep -q 'dropped the 1 oldest turn' $TMP/c5.err"
printf 'Hi\n%s\nHi\n' "$(printf 'word %.0s' $(seq 60))" > $TMP/script6
check "chat: a message too long for the context is not sent, nothing is dropped" sh -c "$Q chat -m $T1 -s '$SYS' -c 64 -n 8 $GREEDY < $TMP/script6 > /dev/null 2> $TMP/c6.err && grep -q 'more than the context holds (64; -c sets it): not sent' $TMP/c6.err && ! grep -q dropped $TMP/c6.err && [ \$(grep -c '^\[prompt' $TMP/c6.err) -eq 2 ]"
check "generate: a full context is a stop reason, exit 0" sh -c "$Q -m $T1 -p 'Hello there' -c 40 -n 100 $GREEDY > /dev/null 2> $TMP/err && grep -q '| stop: context full |' $TMP/err"

# a line that starts with / and is no command is not sent; //text sends /text
printf 'Hi\n/xyz\n/rest\n/help\n//hello\n/exit\n' > $TMP/script7
check "chat: an unknown /command is refused, not sent" sh -c "$Q chat -m $T1 -n 4 $GREEDY < $TMP/script7 > $TMP/c7.out 2> $TMP/c7.err && grep -q '^unknown command /xyz; commands: /reset /exit /quit /help' $TMP/c7.err && grep -q '^unknown command /rest;' $TMP/c7.err && [ \$(grep -c '^\[prompt' $TMP/c7.err) -eq 2 ]"
check "chat: /help lists the commands" grep -q '^commands: /reset starts over' $TMP/c7.err
check "chat: //text sends /text" sh -c "printf '//hello\n' | $Q chat -m $T1 -n 6 $GREEDY --seed 1 > $TMP/c8.out 2> $TMP/c8.err && $Q -m $T1 -p '/hello' -n 6 $GREEDY --seed 1 > $TMP/c9.out 2> $TMP/c9.err && cmp -s $TMP/c8.out $TMP/c9.out && [ \"\$(grep -o 'prompt [0-9]* tokens' $TMP/c8.err)\" = \"\$(grep -o 'prompt [0-9]* tokens' $TMP/c9.err)\" ]"

check "generate: a seed reproduces a run" sh -c "$Q -m $T1 -p 'Tell me a story' -n 24 --temp 0.9 --seed 11 -q > $TMP/a && $Q -m $T1 -p 'Tell me a story' -n 24 --temp 0.9 --seed 11 -q > $TMP/b && cmp -s $TMP/a $TMP/b"
check "generate: another seed, another run" sh -c "$Q -m $T1 -p 'Tell me a story' -n 24 --temp 0.9 --seed 12 -q > $TMP/c && ! cmp -s $TMP/a $TMP/c"
# without --seed each run has a fresh seed, printed; --seed N repeats that run
SAMPLE="--temp 0.9 --top-k 0 --top-p 1 --min-p 0 --repeat-penalty 1"
seed_of() { sed -nE 's/.*\| seed ([0-9]+)\]$/\1/p' "$1"; }
fresh_seeds() {
    $Q -m $T1 -p 'Tell me a story' -n 24 $SAMPLE > $TMP/f1 2> $TMP/f1.err &&
        $Q -m $T1 -p 'Tell me a story' -n 24 $SAMPLE > $TMP/f2 2> $TMP/f2.err &&
        s1=$(seed_of $TMP/f1.err) && s2=$(seed_of $TMP/f2.err) && [ -n "$s1" ] && [ -n "$s2" ] &&
        [ "$s1" != "$s2" ] && ! cmp -s $TMP/f1 $TMP/f2
}
check "generate: without --seed, a fresh seed each run, printed" fresh_seeds
replay() {
    $Q -m $T1 -p 'Tell me a story' -n 24 $SAMPLE --seed "$(seed_of $TMP/f1.err)" > $TMP/f3 2> $TMP/f3.err &&
        cmp -s $TMP/f1 $TMP/f3 && [ "$(seed_of $TMP/f3.err)" = "$(seed_of $TMP/f1.err)" ]
}
check "generate: --seed with the printed seed repeats the run" replay
for bad in -1 -5 +3 abc 1x 18446744073709551616 ''; do
    check "refused: --seed '$bad'" sh -c "$Q -m $T1 -p x -n 1 --seed '$bad' 2>$TMP/err; [ \$? -eq 2 ] && grep -q 'seed needs an integer from 0 to 18446744073709551615' $TMP/err"
done
check "accepted: --seed 0 and --seed 18446744073709551615" sh -c "$Q -m $T1 -p x -n 1 --seed 0 -q >/dev/null && $Q -m $T1 -p x -n 1 --seed 18446744073709551615 2>&1 >/dev/null | grep -q '| seed 18446744073709551615\]'"

# --help shows the defaults of this build's qi_config_default(): given
# explicitly they must change nothing (whatever lib/inference_config.c holds)
help_default() { $Q --help | sed -nE "s/^  (-., )?$1 .*\(default ([^);]+)[);].*/\2/p"; }
help_defaults() {
    flags=""
    for f in --temp --top-k --top-p --min-p --repeat-penalty --repeat-last-n --chunk --kv --ctx --threads; do
        v=$(help_default "$f") && [ -n "$v" ] || { echo "    no default shown for $f"; return 1; }
        flags="$flags $f $v"
    done
    echo "    defaults from --help:$flags"
    $Q -m $T1 -p 'Tell me a story' -n 24 --seed 7 -q > $TMP/d1 || return 1
    $Q -m $T1 -p 'Tell me a story' -n 24 --seed 7 -q $flags > $TMP/d2 && cmp -s $TMP/d1 $TMP/d2 || return 1
    # and other values do change the text (so the flags are not ignored)
    other="--temp 1.5 --top-k 0 --top-p 1 --min-p 0"
    case "$flags" in *"--temp 1.5 --top-k 0 --top-p 1 --min-p 0 "*) other="--temp 0" ;; esac
    $Q -m $T1 -p 'Tell me a story' -n 24 --seed 7 -q $flags $other > $TMP/d3 && ! cmp -s $TMP/d1 $TMP/d3
}
check "help: the defaults shown are the ones that run" help_defaults
check "help: -n shows its default" sh -c "$Q --help | grep -qE -- '--max-tokens N .*\(default [0-9]+'"

check "generate: stats line on stderr" sh -c "$Q -m $T1 -p 'Hi' -n 4 2>&1 >/dev/null | grep -qE 'prompt [0-9]+ tokens .* tok/s \| generated [0-9]+ tokens, .* tok/s \| first token'"
check "generate: --raw skips the template" sh -c "$Q -m $T1 -p 'Hi' --raw -n 2 2>&1 >/dev/null | grep -q 'prompt 1 tokens'"
check "generate: text on an id-only model is refused" sh -c "! $Q -m $G/tiny-gqa7-q4_0.gguf -p 'Hi' 2>$TMP/err && grep -q 'no vocabulary' $TMP/err"
check "generate: no prompt is a usage error (exit 2)" sh -c "$Q -m $T1 2>$TMP/err; [ \$? -eq 2 ] && grep -q 'exactly one of' $TMP/err"
for bad in "--temp -1" "--top-p 1.5" "--top-p 0" "--min-p 1" "--top-k -2" "--repeat-penalty 0" "--temp abc"; do
    check "refused: $bad" sh -c "$Q -m $T1 -p x $bad 2>$TMP/err; [ \$? -eq 2 ] && [ -s $TMP/err ]"
done
check "help lists the sampler flags" sh -c "$Q --help | grep -q -- '--top-p' && $Q --help | grep -q -- '--seed' && $Q --help | grep -q -- '--system'"

check "tokenize on the vocab-only GGUF" sh -c "[ \"\$($Q tokenize -m $V 'Hello world' | tr '\n' ' ')\" = '9707 1879 ' ]"
check "tokenize --special" sh -c "[ \"\$($Q tokenize -m $V --special '<|im_start|>user' | tr '\n' ' ')\" = '151644 872 ' ]"
printf 'Caf\303\251 \360\237\246\231 na\303\257ve\n\tcode();' > $TMP/text
check "tokenize --file / detokenize round trip" sh -c "$Q tokenize -m $V --file $TMP/text > $TMP/ids && $Q detokenize -m $V --ids $TMP/ids > $TMP/back && cmp -s $TMP/text $TMP/back"
printf '9707\n999999\n' > $TMP/badids
check "detokenize: a bad id is reported" sh -c "! $Q detokenize -m $V --ids $TMP/badids 2>$TMP/err >/dev/null && grep -q '999999' $TMP/err"
check "logits on the vocab-only GGUF is refused" sh -c "! $Q logits -m $V --ids $G/tiny-qwen2.S1.ids.txt --out $TMP/x 2>$TMP/err && grep -q 'vocabulary' $TMP/err"

# Ctrl-C: the generation stops, the stats line is printed, the exit is clean
# (an id-only model has no end-of-text token, so only Ctrl-C can end this early)
if [ -z "$RUN" ]; then
    $Q -m $G/tiny-gqa7-q4_0.gguf --ids $G/tiny-gqa7.S1.ids.txt -n 30000 -c 32768 > $TMP/long 2> $TMP/long.err &
    pid=$!
    sleep 2
    kill -INT $pid
    wait $pid
    rc=$?
    check "Ctrl-C stops generation cleanly" sh -c "[ $rc -eq 0 ] && grep -q 'stopped' $TMP/long.err && grep -q '^\[prompt' $TMP/long.err && [ \$(wc -l < $TMP/long) -lt 30000 ]"
fi
summary
