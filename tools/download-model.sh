#!/bin/sh
# Download the official Qwen2.5-0.5B-Instruct Q4_0 GGUF into models/ (or
# $MODEL_DIR), resumably, and keep it only once its size and sha256 check out.
#
#   sh tools/download-model.sh        (what `make model` runs)
#
# Environment overrides (for mirrors and for testing with file:// URLs):
#   MODEL_URL     where to fetch from (default: the Hugging Face repository
#                 Qwen/Qwen2.5-0.5B-Instruct-GGUF)
#   MODEL_DIR     where the model goes (default: models)
#   MODEL_SIZE    expected size in bytes   (default: 428730208)
#   MODEL_SHA256  expected sha256          (default: the official file's)
#
# The download goes to NAME.part (curl -C - resumes it); NAME appears only
# after verification. A file that fails verification is deleted, so a
# rerun starts clean. Exit status: 0 when the verified model is in place.
set -u

NAME=qwen2.5-0.5b-instruct-q4_0.gguf
URL=${MODEL_URL:-https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/$NAME}
DIR=${MODEL_DIR:-models}
SIZE=${MODEL_SIZE:-428730208}
SHA=${MODEL_SHA256:-7671c0c304e6ce5a7fc577bcb12aba01e2c155cc2efd29b2213c95b18edaf6ed}
DEST=$DIR/$NAME
PART=$DEST.part

say() { echo "download-model: $*" >&2; }

offline() {
    say "could not download $URL ($1)."
    say "This machine seems offline (or the server cannot be reached)."
    say "For speed measurement without the real model, \`make synth\` builds a synthetic"
    say "model with the same tensor shapes and types (random weights, real tokenizer)."
    exit 1
}

file_size() { wc -c <"$1" | tr -d ' \t'; }

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    else
        say "neither sha256sum nor shasum is installed: cannot verify $1"
        return 1
    fi
}

# verify FILE: 0 when size and checksum match; 1 when they do not (and says
# why); 2 when no checksum tool is installed
verify() {
    got=$(file_size "$1") || return 1
    if [ "$got" != "$SIZE" ]; then
        say "verification failed, size mismatch: $1 has $got bytes, expected $SIZE"
        return 1
    fi
    sum=$(sha256_of "$1") || return 2
    if [ "$sum" != "$SHA" ]; then
        say "verification failed, checksum mismatch: sha256 of $1 is $sum, expected $SHA"
        return 1
    fi
    return 0
}

mkdir -p "$DIR" || { say "cannot create directory $DIR"; exit 1; }

if [ -f "$DEST" ]; then
    say "$DEST is present; verifying it"
    verify "$DEST"
    case $? in
    0) say "$DEST is already in place and verified; nothing to download"; exit 0 ;;
    2) exit 1 ;;
    esac
    say "the existing $DEST is not the official file; removing it and downloading again"
    rm -f "$DEST"
fi

command -v curl >/dev/null 2>&1 || { say "curl is not installed"; offline "no curl"; }

# A .part as large as the model is complete (or wrong): verify rather than ask
# the server for bytes past the end, which it answers with an error.
if [ -f "$PART" ]; then
    have=$(file_size "$PART")
    if [ "$have" -ge "$SIZE" ] 2>/dev/null; then
        [ "$have" -gt "$SIZE" ] && { say "$PART is larger than the model; starting over"; rm -f "$PART"; }
    else
        say "resuming $PART at $have bytes"
    fi
fi

if [ ! -f "$PART" ] || [ "$(file_size "$PART")" != "$SIZE" ]; then
    say "downloading $URL"
    curl -fL --retry 3 --retry-delay 2 --connect-timeout 20 -C - -o "$PART" "$URL"
    rc=$?
    if [ "$rc" -eq 33 ]; then # the server cannot resume: start over once
        say "the server cannot resume $PART; downloading from the start"
        rm -f "$PART"
        curl -fL --retry 3 --retry-delay 2 --connect-timeout 20 -o "$PART" "$URL"
        rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        # keep a partial download for the next attempt to resume, unless empty
        [ -f "$PART" ] && [ ! -s "$PART" ] && rm -f "$PART"
        offline "curl exit status $rc"
    fi
fi

verify "$PART"
rc=$?
if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 1 ]; then
        rm -f "$PART"
        say "the download is not the official $NAME; it was deleted, nothing was kept"
    fi
    exit 1
fi
mv -f "$PART" "$DEST" || { say "cannot move $PART to $DEST"; exit 1; }
say "verified and in place: $DEST ($SIZE bytes, sha256 $SHA)"
exit 0
