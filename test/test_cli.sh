# The qinfer command line: info, logits (prefill and --step) against the
# golden logits, generation on the synthetic model, and clean failures.
. test/lib.sh
Q=$BIN/qinfer
G=$SHARED/golden
T2=$G/tiny-gqa7-q4_0.gguf

check "help exits 0" sh -c "$Q --help | grep -q 'usage: qinfer'"
check "unknown option fails" sh -c "! $Q info --bogus 2>$TMP/err && grep -q bogus $TMP/err"
# a bare qinfer is a usage error like any other: the usage on stderr, exit 2
check "no arguments: usage on stderr, exit 2" sh -c "$Q >$TMP/out 2>$TMP/err; [ \$? -eq 2 ] && [ ! -s $TMP/out ] && grep -q 'usage: qinfer' $TMP/err && grep -q -- '--model' $TMP/err"
check "unknown command: exit 2" sh -c "$Q frobnicate -m $T2 2>$TMP/err; [ \$? -eq 2 ] && grep -q frobnicate $TMP/err"
check "logits without --ids: exit 2" sh -c "$Q logits -m $T2 --out $TMP/x 2>$TMP/err; [ \$? -eq 2 ] && grep -q -- '--ids' $TMP/err"

# threads: at most 4 per online CPU (and 256): more only wait for one another
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
tmax=$((4 * ncpu)); [ $tmax -gt 256 ] && tmax=256
check "-t 1000 is refused, with the limit" sh -c "$Q info -m $T2 -t 1000 >/dev/null 2>$TMP/err; [ \$? -eq 2 ] && grep -q 'too many threads: at most $tmax here' $TMP/err"
check "-t $((tmax + 1)) is refused" sh -c "$Q info -m $T2 -t $((tmax + 1)) >/dev/null 2>$TMP/err; [ \$? -eq 2 ] && grep -q 'too many threads' $TMP/err"
check "-t $tmax is accepted" sh -c "$Q info -m $T2 -t $tmax >/dev/null"
check "-t 0 (one per core) is accepted" sh -c "$Q info -m $T2 -t 0 >/dev/null"
check "help gives the thread limit" sh -c "$Q --help | grep -q 'at most $tmax here'"

check "info on a golden model" sh -c "$Q info -m $T2 >$TMP/info && grep -q 'architecture   qwen2' $TMP/info && grep -q 'Q4_0: 22' $TMP/info && grep -q 'Q8_0: 1' $TMP/info && grep -q 'vocab 512 (ids only' $TMP/info"
check "info on the f16 model" sh -c "$Q info -m $G/tiny-qwen2-f16.gguf | grep -q 'tied to token_embd'"
check "info on a missing file fails, says how to get a model" sh -c "$Q info -m $TMP/nope.gguf 2>$TMP/err; [ \$? -eq 1 ] && grep -q 'nope.gguf: no such file' $TMP/err && grep -q 'make model   downloads the official' $TMP/err && grep -q 'make synth   writes a synthetic one' $TMP/err"
check "generate on a missing model says how to get one" sh -c "! $Q -m $TMP/nope.gguf -p Hi 2>$TMP/err && grep -q 'make model' $TMP/err && grep -q 'make synth' $TMP/err"
check "a file that exists but does not load gets no download hint" sh -c "! $Q info -m $G 2>$TMP/err && ! grep -q 'make model' $TMP/err"
printf 'hello' > $TMP/notgguf
check "info on a non-GGUF file fails" sh -c "! $Q info -m $TMP/notgguf 2>$TMP/err && grep -q 'not a GGUF' $TMP/err"
check "info without -m: exit 2" sh -c "$Q info 2>$TMP/err; [ \$? -eq 2 ] && grep -q 'no model' $TMP/err"
# a vocabulary-only file: says so, and shows no empty shape, head or tensor fields
V=$SHARED/vocab/qwen2/qwen2.5-vocab.gguf
check "info on a vocabulary-only file says what it is" sh -c "$Q info -m $V >$TMP/vinfo && grep -q '^contents       a vocabulary-only file: no weights' $TMP/vinfo && grep -q '^tokenizer      gpt2, vocab 151936' $TMP/vinfo"
check "info on a vocabulary-only file prints no empty fields" sh -c "! grep -qE '^(layers|embedding|heads|output head|tensor types)' $TMP/vinfo && ! grep -qE '(run as|:) *\$' $TMP/vinfo"
check "info on a model has no 'vocabulary-only' line" sh -c "! $Q info -m $T2 | grep -q 'vocabulary-only'"

# logits, exact arithmetic (tier A): one prefill, and one token at a time through the KV cache
check "logits prefill" $Q logits -m $T2 --ids $G/tiny-gqa7.S2.ids.txt --out $TMP/pre.f32 --exact
check "logits prefill matches golden (1e-3)" python3 test/cmp_f32.py $TMP/pre.f32 $G/tiny-gqa7-q4_0.S2.logits.f32 1e-3
check "logits --step" $Q logits -m $T2 --ids $G/tiny-gqa7.S2.ids.txt --out $TMP/step.f32 --step --exact
check "logits --step matches golden (1e-3)" python3 test/cmp_f32.py $TMP/step.f32 $G/tiny-gqa7-q4_0.S2.logits.f32 1e-3
check "logits --step matches prefill (1e-5)" python3 test/cmp_f32.py $TMP/step.f32 $TMP/pre.f32 1e-5
check "logits --kv f16 within tier B (0.1)" sh -c "$Q logits -m $T2 --ids $G/tiny-gqa7.S3.ids.txt --out $TMP/kv16.f32 --kv f16 --chunk 50 --exact && python3 test/cmp_f32.py $TMP/kv16.f32 $G/tiny-gqa7-q4_0.S3.logits.f32 0.1"
# the default 8-bit activations: near the golden logits (tier C is checked properly in test_golden)
# SIMD tiles and the one-column path may sum blocks in another order, and a
# rounding flip in an 8-bit activation moves logits by up to a few tenths;
# the scalar kernels run the same arithmetic for both and agree exactly
check "logits, 8-bit activations, prefill vs --step (0.5)" sh -c "$Q logits -m $T2 --ids $G/tiny-gqa7.S2.ids.txt --out $TMP/q8.f32 && $Q logits -m $T2 --ids $G/tiny-gqa7.S2.ids.txt --out $TMP/q8s.f32 --step && python3 test/cmp_f32.py $TMP/q8.f32 $TMP/q8s.f32 0.5"
check "logits, 8-bit activations, scalar: prefill == --step" sh -c "QINFER_ISA=scalar $Q logits -m $T2 --ids $G/tiny-gqa7.S2.ids.txt --out $TMP/q8a.f32 && QINFER_ISA=scalar $Q logits -m $T2 --ids $G/tiny-gqa7.S2.ids.txt --out $TMP/q8b.f32 --step && python3 test/cmp_f32.py $TMP/q8a.f32 $TMP/q8b.f32 0"
check "logits, 8-bit activations, within 1.0 of golden" python3 test/cmp_f32.py $TMP/q8.f32 $G/tiny-gqa7-q4_0.S2.logits.f32 1.0

printf '1\n2\nfoo\n' > $TMP/bad.ids
check "non-numeric id fails with its line" sh -c "! $Q logits -m $T2 --ids $TMP/bad.ids --out $TMP/x.f32 2>$TMP/err && grep -q ':3:' $TMP/err && [ ! -e $TMP/x.f32 ]"
printf '1\n600\n' > $TMP/big.ids
check "id >= n_vocab fails, no output left" sh -c "! $Q logits -m $T2 --ids $TMP/big.ids --out $TMP/x.f32 2>$TMP/err && grep -q 'outside' $TMP/err && [ ! -e $TMP/x.f32 ] && [ ! -e $TMP/x.f32.tmp ]"
: > $TMP/empty.ids
check "empty ids file fails" sh -c "! $Q logits -m $T2 --ids $TMP/empty.ids --out $TMP/x.f32 2>/dev/null"
check "logits without --out fails" sh -c "! $Q logits -m $T2 --ids $G/tiny-gqa7.S1.ids.txt 2>/dev/null"
# a full context ends a generation like the token limit does: a stop reason, exit 0
check "context full is a stop reason, not a failure" sh -c "$Q -m $T2 --ids $G/tiny-gqa7.S2.ids.txt -n 10 -c 66 >$TMP/out 2>$TMP/err && grep -q '| stop: context full |' $TMP/err && [ \$(wc -l < $TMP/out) -eq 3 ]"
check "the token limit is a stop reason" sh -c "$Q -m $T2 --ids $G/tiny-gqa7.S2.ids.txt -n 2 -c 66 >$TMP/out 2>$TMP/err && grep -q '| generated 2 tokens, .* | stop: max tokens |' $TMP/err"
check "a prompt longer than the context fails, says -c" sh -c "$Q -m $T2 --ids $G/tiny-gqa7.S2.ids.txt -n 10 -c 32 >$TMP/out 2>$TMP/err; [ \$? -eq 1 ] && grep -q 'more than the context holds (32; -c sets it)' $TMP/err"

# generation by ids: the golden greedy continuation of S2
check "generate 32 ids greedily (golden greedy32)" sh -c "$Q -m $G/tiny-gqa7-f32.gguf --ids $G/tiny-gqa7.S2.ids.txt -n 32 --temp 0 --repeat-penalty 1 >$TMP/gen 2>/dev/null && diff -q $TMP/gen $G/tiny-gqa7-f32.greedy32.txt >/dev/null"

# the README example is compiled with the build's compiler and flags (TEST_CC,
# TEST_CFLAGS: make asan passes clang and -fsanitize=address), so a bogus one fails it
check "README test compiles with TEST_CC" sh -c "! TEST_CC=false sh test/test_readme.sh >$TMP/rout 2>&1 && grep -q 'FAIL README example compiles' $TMP/rout"
check "README test compiles with TEST_CFLAGS" sh -c "! TEST_CFLAGS=--no-such-flag sh test/test_readme.sh >$TMP/rout 2>&1 && grep -q 'FAIL README example compiles' $TMP/rout"

# make synth never writes a model without the vocabulary's tokenizer: a missing
# vocabulary stops it (naming the path) and leaves nothing; a vocab-less model
# already at the path is written again with it (make runs only in a native build)
VOCAB=$SHARED/vocab/qwen2/qwen2.5-vocab.gguf
SYNTH_TOOL=${SYNTH_BIN:-$B/tools/synth}
mkdir -p $TMP/s0
check "synth: a missing --vocab is an error, nothing written" sh -c "! $SYNTH_TOOL -q --vocab $TMP/none.gguf -o $TMP/s0/m.gguf 2>$TMP/err && grep -q \"error: vocab file '$TMP/none.gguf' does not exist\" $TMP/err && [ -z \"\$(ls -A $TMP/s0)\" ]"
if [ -z "$RUN" ] && [ -z "${QINFER_SANITIZER:-}" ] && [ -x build/native/tools/synth ]; then
    # a make of its own (not the jobserver of the make running the tests); synth as built
    mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -o build/native/tools/synth "$@" >$TMP/out 2>&1; }
    no_vocab() {
        ! mk synth SHARED=$TMP/noshared SYNTH=$TMP/s/m.gguf &&
            grep -q "$TMP/noshared/vocab/qwen2/qwen2.5-vocab.gguf is missing" $TMP/out && [ -z "$(ls -A $TMP/s)" ]
    }
    vocabless_rebuilt() {
        build/native/tools/synth -q -o $TMP/s/m.gguf 2>/dev/null &&
            ! build/native/tools/synth -q --check $TMP/s/m.gguf --vocab $VOCAB 2>/dev/null &&
            mk synth SHARED=$SHARED SYNTH=$TMP/s/m.gguf && grep -q 'does not carry the tokenizer' $TMP/out &&
            build/native/tools/synth -q --check $TMP/s/m.gguf --vocab $VOCAB && [ "$(ls -A $TMP/s)" = m.gguf ]
    }
    mkdir -p $TMP/s
    check "make synth without the vocabulary fails, names it, writes nothing" no_vocab
    check "make synth writes a vocab-less model again, with the tokenizer" vocabless_rebuilt
    rm -rf $TMP/s
fi

SYNTH=models/qwen2.5-0.5b-synth-q4_0.gguf
if [ -f $SYNTH ]; then
    check "synthetic model: info" sh -c "$Q info -m $SYNTH >$TMP/sinfo && grep -q 'synthetic' $TMP/sinfo && grep -q 'Q4_0: 169' $TMP/sinfo && grep -q 'F32: 121' $TMP/sinfo && grep -q 'Q8_0: 1' $TMP/sinfo"
    check "synthetic model: generate 32 tokens" sh -c "$Q -m $SYNTH -p 'Hello' -n 32 --temp 0 >$TMP/sgen 2>$TMP/serr && grep -q 'generated 32 tokens' $TMP/serr"
    cat $TMP/serr
    # Ctrl-C while a long prompt is read stops it between chunks (the progress
    # callback); Ctrl-C comes every half second (for up to 10 minutes, as under
    # qemu), so one lands after the model loads
    awk 'BEGIN { for (i = 0; i < 1500; i++) printf "word "; print "" }' >$TMP/long.txt
    $Q -m $SYNTH --raw --file $TMP/long.txt -n 4 --seed 1 -c 2048 >/dev/null 2>$TMP/cerr &
    qp=$!
    k=0
    while kill -0 $qp 2>/dev/null && [ $k -lt 1200 ]; do sleep 0.5; kill -INT $qp 2>/dev/null; k=$((k + 1)); done
    wait $qp
    crc=$?
    check "Ctrl-C while a long prompt is read: stops there, exit 0 ($crc)" sh -c \
        "[ $crc -eq 0 ] && grep -q 'stopped while reading the prompt: [0-9]* of 1501 tokens' $TMP/cerr"
else
    fail "synthetic model missing: run make synth"
fi
# the library reads no environment; the CLI takes the kernel level from QINFER_ISA
check "QINFER_ISA names an unknown level: refused (exit 2)" sh -c "QINFER_ISA=bogus $BIN/qinfer info -m $SHARED/golden/tiny-qwen2-q4_0.gguf >/dev/null 2>$TMP/isa.err; [ \$? -eq 2 ] && grep -q 'QINFER_ISA=bogus' $TMP/isa.err"
check "QINFER_ISA=scalar runs the scalar level" sh -c "QINFER_ISA=scalar $BIN/qinfer -m $SHARED/golden/tiny-qwen2-q4_0.gguf --raw -p hi -n 2 --seed 1 2>&1 >/dev/null | grep -q scalar"
summary
