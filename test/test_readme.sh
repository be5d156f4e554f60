# The C example in README.md compiles against the library and runs. It is
# compiled with the build's compiler and flags (TEST_CC, TEST_CFLAGS: `make
# test` passes CC and EXTRA_CFLAGS, `make asan` clang and -fsanitize=address),
# since a library built with a sanitizer links only into a program built with it.
. test/lib.sh
awk '/^```c$/{on=1; next} /^```$/{on=0} on' README.md > $TMP/example.c
LIBA=lib/libqinfer.a
[ "$B" = build/native ] || LIBA=$B/libqinfer.a
check "README example is present" test -s $TMP/example.c
check "README example is under 20 lines of code" sh -c "[ \$(grep -cvE '^\s*(\$|#include|/\*)' $TMP/example.c) -lt 20 ]"
COMPILE="${TEST_CC:-${CROSS:-}gcc} ${TEST_CFLAGS:-} -std=c11 -Wall -Wextra -Werror -Ilib $TMP/example.c $LIBA -lm -pthread -o $TMP/example"
echo "    $COMPILE"
check "README example compiles warning-free" sh -c "$COMPILE"
check "README example runs on a golden model" sh -c "$RUN $TMP/example $SHARED/golden/tiny-qwen2-q4_0.gguf > $TMP/out && [ \$(grep -cE '^[0-9]+\$' $TMP/out) -eq 8 ]"
check "README example reports a bad path" sh -c "! $RUN $TMP/example /nonexistent.gguf 2>$TMP/err && grep -q nonexistent $TMP/err"
summary
