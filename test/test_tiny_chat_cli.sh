# The tiny chat model through the command line, as README shows it: a fresh
# clone answers "What is 17 + 31?" with 48. Every sampling and compute flag is
# given, so an edit of lib/inference_config.c cannot change what this asserts.
. test/lib.sh
Q=$BIN/qinfer
M=data/tiny-chat/tiny-chat-q4_0.gguf
PIN="--temp 0.7 --top-k 20 --top-p 0.8 --min-p 0 --repeat-penalty 1.05 --repeat-last-n 64 --seed 42 -t 2 -c 4096 --chunk 64 --kv f32"
check "17 + 31 = 48 (Q4_0, Qwen2.5 sampling)" sh -c "$Q -m $M -p 'What is 17 + 31?' $PIN -q >$TMP/a && grep -q '\\b48\\b' $TMP/a"
check "17 + 31 = 48 (Q8_0, greedy)" sh -c "$Q -m data/tiny-chat/tiny-chat-q8_0.gguf -p 'What is 17 + 31?' $PIN --temp 0 -q >$TMP/b && grep -q '\\b48\\b' $TMP/b"
check "a poem has four lines" sh -c "$Q -m $M -p 'Write a four-line poem about the river.' $PIN -q >$TMP/c && [ \$(grep -c . $TMP/c) -eq 4 ] && grep -qi river $TMP/c"
check "a chat keeps context across turns" sh -c "printf 'Hello!\nReverse these words: moon, river, stone.\n/exit\n' | $Q chat -m $M $PIN -q >$TMP/d 2>&1 && grep -q 'stone, river, moon' $TMP/d"
check "info names the workload" sh -c "$Q info -m $M | grep -q 'tiny-chat'"
summary
