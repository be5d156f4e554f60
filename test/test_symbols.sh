# Only the public API is exported. Every global symbol libqinfer.a defines is
# a function lib/qinfer.h declares, and each of those is defined. A program
# that defines every other name the library uses inside (forward, row_bytes,
# split_range, pool_new, fail_msg, ggml_type_name, gguf_open, ... each as a
# function that aborts) links against it and runs the README example to the
# same ids as the example alone: the library never calls the program's.
. test/lib.sh
LIBA=lib/libqinfer.a
[ "$B" = build/native ] || LIBA=$B/libqinfer.a
CC_=${TEST_CC:-${CROSS:-}gcc}
NM=${CROSS:-}nm
$NM -g --defined-only "$LIBA" | awk 'NF == 3 { print $3 }' | sort -u >"$TMP/exported"
grep -o 'qi_[a-z0-9_]*(' lib/qinfer.h | tr -d '(' | sort -u >"$TMP/declared"
check "libqinfer.a exports only what qinfer.h declares (extra: $(comm -23 "$TMP/exported" "$TMP/declared" | tr '\n' ' '))" \
    sh -c "[ -z \"\$(comm -23 $TMP/exported $TMP/declared)\" ]"
check "every function qinfer.h declares is in libqinfer.a (missing: $(comm -13 "$TMP/exported" "$TMP/declared" | tr '\n' ' '))" \
    sh -c "[ -z \"\$(comm -13 $TMP/exported $TMP/declared)\" ]"
# the library's own names: what its objects define globally, less the API
$NM -g --defined-only "$B/libqinfer-internal.a" | awk 'NF == 3 { print $3 }' | sort -u | comm -23 - "$TMP/declared" >"$TMP/internal"
check "the library has internal names to collide with ($(grep -c '' "$TMP/internal"), forward among them)" grep -qx forward "$TMP/internal"
{ echo '#include <stdlib.h>'; sed 's/.*/void &(void) { abort(); }/' "$TMP/internal"; } >"$TMP/mine.c"
awk '/^```c$/{on=1; next} /^```$/{on=0} on' README.md >"$TMP/example.c"
check "the example links alone" $CC_ ${TEST_CFLAGS:-} -std=c11 -Ilib "$TMP/example.c" "$LIBA" -lm -pthread -o "$TMP/alone"
check "the example links with a file that defines all $(grep -c '' "$TMP/internal") internal names" \
    $CC_ ${TEST_CFLAGS:-} -std=c11 -Ilib "$TMP/example.c" "$TMP/mine.c" "$LIBA" -lm -pthread -o "$TMP/both"
M=$SHARED/golden/tiny-qwen2-q4_0.gguf
check "both run to the same ids" sh -c "$RUN $TMP/alone $M >$TMP/a.out && $RUN $TMP/both $M >$TMP/b.out && [ -s $TMP/a.out ] && cmp -s $TMP/a.out $TMP/b.out"
summary
