#!/bin/sh
# tools/synth and tools/download-model.sh. The 430 MB synthetic model itself is
# built by `make synth` before the tests run; here it is only checked. The
# download script is tried offline only, through file:// URLs.
. test/lib.sh

SYNTH=${SYNTH_BIN:-$B/tools/synth}
MODEL=models/qwen2.5-0.5b-synth-q4_0.gguf
VOCAB=$SHARED/vocab/qwen2/qwen2.5-vocab.gguf
OFFICIAL=428730208
OUT=$TMP/out.txt

size_of() { wc -c <"$1" | tr -d ' \t'; }
# nothing in directory $1
empty_dir() { [ -z "$(ls -A "$1")" ]; }
# the last command's output mentions $1
said() { grep -q -- "$1" "$OUT"; }

# ---- the synthetic model ----------------------------------------------------
check "synth model exists ($MODEL)" test -s "$MODEL"
if [ -f "$VOCAB" ]; then
    model_size_ok() {
        s=$(size_of "$MODEL") || return 1
        d=$((s - OFFICIAL))
        echo "    $MODEL: $s bytes, $d from the official file"
        [ "$d" -le 1000 ] && [ "$d" -ge -1000 ]
    }
    check "synth model within 1000 bytes of $OFFICIAL" model_size_ok
    check "synth model: 291 tensors, shapes, types, tokenizer = vocab's" \
        "$SYNTH" -q --check "$MODEL" --vocab "$VOCAB"
else
    check "synth model: 291 tensors, shapes, types" "$SYNTH" -q --check "$MODEL"
fi

# ---- every kind: the official file's tensor types, so its size to the byte ----
# The q4_0 file above is 224 bytes larger than the official one (our
# qinfer.synthetic keys and metadata values; README's Measuring speed). Each
# other kind must differ by exactly as much: any other difference would be a
# tensor whose type is not the official file's. Each is loaded and generates.
if [ -f "$VOCAB" ]; then
    q4_diff=$(( $(size_of "$MODEL") - OFFICIAL ))
    kinds="q4_k_m:491400032 q5_k_m:522186592 q6_k:650379104 q8_0:675710816 fp16:1266425696"
    # emulated or sanitized, two kinds are enough (each file is written by the slow build)
    [ -n "$RUN${QINFER_SANITIZER:-}" ] && kinds="q4_k_m:491400032 q6_k:650379104"
    for kind in $kinds; do
        k=${kind%%:*} official=${kind#*:}
        kind_ok() {
            "$SYNTH" -q --type "$k" --vocab "$VOCAB" -o "$TMP/$k.gguf" 2>"$OUT" &&
                "$SYNTH" -q --type "$k" --check "$TMP/$k.gguf" --vocab "$VOCAB" &&
                [ $(( $(size_of "$TMP/$k.gguf") - official )) -eq "$q4_diff" ] &&
                # generating is left to native runs (scalar kernels under qemu take minutes)
                { [ -n "$RUN" ] || { $BIN/qinfer -m "$TMP/$k.gguf" -p Hello -n 2 --seed 1 -t 2 >/dev/null 2>"$OUT" &&
                    said "generated 2 tokens"; }; }
        }
        check "synth --type $k: official size + $q4_diff bytes, loads and generates" kind_ok
        rm -f "$TMP/$k.gguf"
    done
fi
type_args() {
    ! "$SYNTH" --type q3_k_m -o "$TMP/d/x.gguf" >"$OUT" 2>&1 && said "unknown kind 'q3_k_m'" && said "q4_k_m" &&
        ! "$SYNTH" -q --type q6_k --check "$MODEL" >"$OUT" 2>&1 && said "type" && empty_dir "$TMP/d"
}
mkdir -p "$TMP/d"
check "synth: an unknown --type is refused; a file checked as another kind fails" type_args

# ---- synth's command line ---------------------------------------------------
help_ok() { "$SYNTH" --help >"$OUT" 2>&1 && said "usage:" && said "--seed" && said "--vocab"; }
check "synth --help" help_ok

bad_args() {
    ! "$SYNTH" --seed abc -o "$TMP/d/x.gguf" >"$OUT" 2>&1 && said "seed" &&
        ! "$SYNTH" --bogus >"$OUT" 2>&1 && said "unknown argument" &&
        ! "$SYNTH" -o >"$OUT" 2>&1 && empty_dir "$TMP/d"
}
mkdir -p "$TMP/d"
check "synth refuses bad arguments" bad_args

# an output path that cannot be written: a missing directory, a file as directory
unwritable() {
    mkdir -p "$TMP/w" && : >"$TMP/w/plain" &&
        ! "$SYNTH" -q --vocab "$VOCAB" -o "$TMP/w/missing/dir/model.gguf" >"$OUT" 2>&1 && said "error" &&
        ! "$SYNTH" -q --vocab "$VOCAB" -o "$TMP/w/plain/model.gguf" >"$OUT" 2>&1 && said "error" &&
        [ "$(ls -A "$TMP/w")" = plain ] && [ ! -s "$TMP/w/plain" ]
}
check "synth: unwritable output fails cleanly, leaves nothing" unwritable

# killed while writing: no file, or (if it had already finished) a whole one;
# never a partial file or a leftover temporary
interrupted() {
    mkdir -p "$TMP/k"
    "$SYNTH" -q --vocab "$VOCAB" -o "$TMP/k/model.gguf" 2>"$OUT" &
    pid=$!
    sleep 0.2
    kill -TERM "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    left=$(ls -A "$TMP/k")
    rm -rf "$TMP/k"
    echo "    after SIGTERM: [${left}]"
    [ -z "$left" ] || [ "$left" = model.gguf ]
}
check "synth: interrupted run leaves no partial file" interrupted

# ---- download-model.sh, offline ---------------------------------------------
offline() {
    ! MODEL_URL=file:///nonexistent/qwen.gguf MODEL_DIR="$TMP/dl" sh tools/download-model.sh >"$OUT" 2>&1 &&
        said "offline" && said "make synth" && empty_dir "$TMP/dl"
}
check "download: unreachable URL says offline, suggests make synth" offline

printf 'not a model\n' >"$TMP/small.gguf"
mismatch() {
    ! MODEL_URL="file://$TMP/small.gguf" MODEL_DIR="$TMP/dl2" sh tools/download-model.sh >"$OUT" 2>&1 &&
        said "mismatch" && empty_dir "$TMP/dl2"
}
check "download: size mismatch reported, nothing kept" mismatch

bad_sum() {
    ! MODEL_URL="file://$TMP/small.gguf" MODEL_DIR="$TMP/dl3" MODEL_SIZE=12 \
        MODEL_SHA256=0000000000000000000000000000000000000000000000000000000000000000 \
        sh tools/download-model.sh >"$OUT" 2>&1 &&
        said "checksum mismatch" && empty_dir "$TMP/dl3"
}
check "download: checksum mismatch reported, nothing kept" bad_sum

sum=$( (sha256sum "$TMP/small.gguf" 2>/dev/null || shasum -a 256 "$TMP/small.gguf") | cut -d ' ' -f 1)
good() {
    MODEL_URL="file://$TMP/small.gguf" MODEL_DIR="$TMP/dl4" MODEL_SIZE=12 MODEL_SHA256="$sum" \
        sh tools/download-model.sh >"$OUT" 2>&1 &&
        [ "$(ls -A "$TMP/dl4")" = qwen2.5-0.5b-instruct-q4_0.gguf ] &&
        cmp -s "$TMP/small.gguf" "$TMP/dl4/qwen2.5-0.5b-instruct-q4_0.gguf" &&
        # present and verified: no download attempted (the URL is unreachable)
        MODEL_URL=file:///nonexistent MODEL_DIR="$TMP/dl4" MODEL_SIZE=12 MODEL_SHA256="$sum" \
            sh tools/download-model.sh >"$OUT" 2>&1 && said "already"
}
check "download: verified file put in place, then not fetched again" good

resume() {
    mkdir -p "$TMP/dl5" && head -c 5 "$TMP/small.gguf" >"$TMP/dl5/qwen2.5-0.5b-instruct-q4_0.gguf.part" &&
        MODEL_URL="file://$TMP/small.gguf" MODEL_DIR="$TMP/dl5" MODEL_SIZE=12 MODEL_SHA256="$sum" \
            sh tools/download-model.sh >"$OUT" 2>&1 &&
        said "resuming" && cmp -s "$TMP/small.gguf" "$TMP/dl5/qwen2.5-0.5b-instruct-q4_0.gguf" &&
        [ ! -e "$TMP/dl5/qwen2.5-0.5b-instruct-q4_0.gguf.part" ]
}
check "download: a partial download is resumed" resume

kinds() {
    ! sh tools/download-model.sh q3_k_m >"$OUT" 2>&1 && said "unknown kind 'q3_k_m'" &&
        MODEL_URL="file://$TMP/small.gguf" MODEL_DIR="$TMP/dl6" MODEL_SIZE=12 MODEL_SHA256="$sum" \
            sh tools/download-model.sh q6_k >"$OUT" 2>&1 &&
        [ "$(ls -A "$TMP/dl6")" = qwen2.5-0.5b-instruct-q6_k.gguf ] &&
        ! MODEL_URL="file://$TMP/small.gguf" MODEL_DIR="$TMP/dl7" sh tools/download-model.sh q4_k_m >"$OUT" 2>&1 &&
        said "expected 491400032" && empty_dir "$TMP/dl7"
}
check "download: each kind its own name and official size; an unknown kind refused" kinds

summary
