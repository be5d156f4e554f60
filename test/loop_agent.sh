#!/bin/sh
# A scripted agent for test/test_loop.sh: each run applies the next scenario
# from $LOOP_SCENARIOS (one name per line) to the copy it runs in, or the same
# one again when loop.sh says the last change did not build. It writes its
# description to $QINFER_DESCRIPTION_FILE, as program.md asks.
set -e
state=$LOOP_SCENARIOS.cur
if grep -q "did not build" "$QINFER_INSTRUCTIONS" 2>/dev/null && [ -f "$state" ]; then
    s=$(cat "$state")
else
    s=$(head -n 1 "$LOOP_SCENARIOS")
    sed -i '1d' "$LOOP_SCENARIOS"
    echo "$s" >"$state"
fi
S=lib/sample.c
C=lib/inference_config.c
# insert C code at the top of sampler_sample's body
at_sampler_start() {
    awk -v code="$1" '{ print } /^qi_status sampler_sample\(/ { f = 1 } f && /\{$/ { print code; f = 0 }' $S >$S.new && mv $S.new $S
}
case $s in
improve)        sed -i 's/QI_COMPUTE_F32/QI_COMPUTE_Q8/' $C; d="compute F32 -> Q8: 8-bit activations, integer dot products" ;;
full_softmax)   at_sampler_start '    qi_config c2_ = *cfg; c2_.top_k = 0; c2_.top_p = 1.0f; c2_.min_p = 0.0f; cfg = &c2_;'
                d="drop top-k and top-p: fewer steps per token" ;;
other_file)     echo "faster" >>README.md; d="edit README" ;;
untracked_lib)  echo "int qinfer_extra;" >lib/extra.c; d="a helper file" ;;
build_break)    echo "this is not C" >>$S; d="a broken sampler" ;;
eos_at_once)    at_sampler_start '    if (sp->n_vocab > 3071) { *out = 3071; return QI_OK; }'; d="end every answer at once" ;;
greedy)         at_sampler_start '    qi_config c2_ = *cfg; c2_.temperature = 0; cfg = &c2_;'; d="greedy is faster than sampling" ;;
clock)          printf '%s\n' 'struct qi_ts_ { long s, ns; };' 'static long qi_fake_ns_;' \
                    'int clock_gettime(int clk, struct qi_ts_ *t) { (void)clk; qi_fake_ns_ += 1000; t->s = 0; t->ns = qi_fake_ns_; return 0; }' >>$S
                d="a faster clock" ;;
ctor)           printf '%s\n' 'static void __attribute__((constructor)) qi_boot_(void) {}' >>$S; d="warm up at load" ;;
libfunc)        printf '%s\n' 'const char *qi_status_str(qi_status s) { (void)s; return "ok"; }' >>$S; d="a shorter status text" ;;
session_include) sed -i 's/#include "session\/sample.h"/&\n#include "session\/session.h"/' $S; d="look at the session" ;;
session_reach)  at_sampler_start "    if (n_recent > 60) { char *sess_ = (char *)sp - $OFF_SAMPLER; char *model_ = *(char **)(sess_ + $OFF_MODEL); *(int *)(model_ + $OFF_NLAYER) = 1; }"
                d="one layer is enough" ;;
hang)           at_sampler_start '    for (volatile unsigned qi_spin_ = 1; qi_spin_; qi_spin_ |= 1) {}'; d="think harder before each token" ;;
grab)           at_sampler_start '    for (;;) { volatile char *qi_p_ = malloc(1 << 20); qi_p_[0] = 1; }'; d="a bigger cache" ;;
spin)           sed -i 's/\.spin = [0-9]*/.spin = 5000/' $C; d="spin 5000: sleep sooner" ;;
nothing)        d="no change" ;;
slow)           sleep 60; sed -i 's/\.spin = [0-9]*/.spin = 5000/' $C; d="spin 5000, after a long think" ;;
*)              echo "loop_agent: unknown scenario '$s'" >&2; exit 1 ;;
esac
echo "$d ($s)" >"$QINFER_DESCRIPTION_FILE"
