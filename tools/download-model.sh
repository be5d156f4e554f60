#!/bin/sh
# Download an official Qwen2.5-0.5B-Instruct GGUF into models/ (or $MODEL_DIR),
# resumably, and keep it only once its size and sha256 check out.
#
#   sh tools/download-model.sh [KIND]     (what `make model [TYPE=KIND]` runs)
#
# KIND is one of the official files below (default q4_0). Their sizes and
# sha256 sums are those of Qwen/Qwen2.5-0.5B-Instruct-GGUF at revision
# 9217f5db79a29953eb74d5343926648285ec7e67, as published by Hugging Face.
#
# Environment overrides (for mirrors and for testing with file:// URLs):
#   MODEL_URL     where to fetch from (default: the Hugging Face repository
#                 Qwen/Qwen2.5-0.5B-Instruct-GGUF)
#   MODEL_DIR     where the model goes (default: models)
#   MODEL_SIZE    expected size in bytes   (default: the official file's)
#   MODEL_SHA256  expected sha256          (default: the official file's)
#
# The download goes to NAME.part (curl -C - resumes it); NAME appears only
# after verification. A file that fails verification is deleted, so a
# rerun starts clean. Exit status: 0 when the verified model is in place,
# 2 for an unknown KIND.
set -u

KIND=${1:-q4_0}
case $KIND in
q4_0)   size=428730208  sha=7671c0c304e6ce5a7fc577bcb12aba01e2c155cc2efd29b2213c95b18edaf6ed ;;
q4_k_m) size=491400032  sha=74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db ;;
q5_k_m) size=522186592  sha=041474553fcabfc2a2d67903f9d2c2e50bd92528e670da4f33b5d0ce6e59fd55 ;;
q6_k)   size=650379104  sha=2f82233630c349ccf6b8daccf48f9a7865713d9f08a2eadfa456cebe9b97c7f5 ;;
q8_0)   size=675710816  sha=ca59ca7f13d0e15a8cfa77bd17e65d24f6844b554a7b6c12e07a5f89ff76844e ;;
fp16|f16) KIND=fp16; size=1266425696 sha=8e0ae26000627ed62de0e78e41860af70094558b9d2913385c842a6aa06cf3fc ;;
*)
    echo "download-model: unknown kind '$KIND' (one of: q4_0 q4_k_m q5_k_m q6_k q8_0 fp16)" >&2
    exit 2 ;;
esac
NAME=qwen2.5-0.5b-instruct-$KIND.gguf
URL=${MODEL_URL:-https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/9217f5db79a29953eb74d5343926648285ec7e67/$NAME}
DIR=${MODEL_DIR:-models}
SIZE=${MODEL_SIZE:-$size}
SHA=${MODEL_SHA256:-$sha}
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
