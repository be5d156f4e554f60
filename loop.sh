#!/usr/bin/env bash
# loop.sh: the autonomous optimisation cycle. An agent edits only
# lib/inference_config.c and lib/sample.c (in a throwaway copy of the tree);
# ./gate judges; the loop keeps the commit or resets to the incumbent, logs
# one row per gate run to results.tsv, and goes on until its budget ends or it
# is told to stop (Ctrl-C, SIGTERM), always stopping at a clean point.
#
#   ./loop.sh --tag TAG [--agent builtin|"CMD"] [--iterations N] [--hours H] [--model PATH]
#   ./loop.sh --resume [--iterations N] [--hours H]
#   ./loop.sh --report          draw results.tsv into results.svg
#
# --tag TAG      make branch autoresearch/TAG from HEAD (refused if it exists), record
#                HEAD as the anchor, measure it, then iterate
# --agent CMD    run CMD (bash -c) in the copy once per iteration; its stdin and
#                $QINFER_INSTRUCTIONS hold program.md and the tail of results.tsv; it
#                writes one line saying what it changed and why to
#                $QINFER_DESCRIPTION_FILE. Default: builtin, the project's own proposer.
# --iterations N, --hours H   the budget (default: no limit; stop with Ctrl-C)
# --model PATH   default: the official q4_0 file if present, else the synthetic one
# Exit status: 0 the budget is spent, 130 stopped by a signal, 74 a row could not
# be appended to results.tsv (a full disk: free space, then --resume), 64 usage or setup.
set -uo pipefail

repo=$(git rev-parse --show-toplevel 2>/dev/null) || { echo "loop: run it inside the qinfer repository" >&2; exit 64; }
cd "$repo"
gitdir=$(git rev-parse --absolute-git-dir)
state=$gitdir/qinfer/loop
results=$repo/results.tsv
header=$'commit\tavg_generation_tps\tavg_prompt_tps\tavg_ttft_ms\tavg_peak_memory_gb\tavg_perplexity\tkl_divergence\ttop1_agreement\tsanity_check\tsampler_fidelity\tquality_pass\tspeedup\tspeedup_ci_low\tspeedup_ci_high\tstatus\tdescription'
EDIT=(lib/inference_config.c lib/sample.c)

usage() { sed -n '2,/^[^#]/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }
die() { echo "loop: $*" >&2; exit 64; }
say() { echo "loop: $*" >&2; }

tag="" agent=builtin iterations=0 hours=0 model="" resume=0 report=0
while [ $# -gt 0 ]; do
    case $1 in
        --tag) tag=${2:?}; shift 2 ;;
        --agent) agent=${2:?}; shift 2 ;;
        --iterations) iterations=${2:?}; shift 2 ;;
        --hours) hours=${2:?}; shift 2 ;;
        --model) model=${2:?}; shift 2 ;;
        --resume) resume=1; shift ;;
        --report) report=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ $iterations =~ ^[0-9]+$ ]] || die "--iterations needs a whole number"
[[ $hours =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--hours needs a number"

judge_path() { ./gate --judge-path; }

if [ $report = 1 ]; then
    [ -f "$results" ] || die "no results.tsv here"
    j=$(judge_path) || exit 64
    "$j" report "$results" "$repo/results.svg" && say "wrote results.svg"
    exit $?
fi

# ---- results.tsv: only appended, one write per row; a torn last line is cut off --------
# It is the user's record: something in its place that is not a readable,
# writable file stops the loop before anything runs, and nothing is moved.
check_results() {
    if [ -e "$results" ] && { [ ! -f "$results" ] || [ ! -r "$results" ] || [ ! -w "$results" ]; }; then
        die "results.tsv is not a readable, writable file ($(ls -ld "$results" 2>&1)): move it away or fix it"
    fi
    if [ -s "$results" ] && [ "$(head -n 1 "$results")" != "$header" ]; then
        die "results.tsv does not start with the loop's header: it is not a loop's record; move it away"
    fi
    return 0
}
repair_results() {
    check_results
    [ -s "$results" ] || { printf '%s\n' "$header" >"$results" || die "cannot write results.tsv"; return; }
    if [ "$(tail -c 1 "$results" | od -An -c | tr -d ' ')" != '\n' ]; then
        local keep
        keep=$(grep -c '' "$results")
        say "results.tsv ends in a torn line: dropping it"
        head -n $((keep - 1)) "$results" >"$results.tmp" && mv "$results.tmp" "$results"
    fi
}
clean_field() { printf '%s' "$1" | tr '\t\r\n' '   ' | tr -cd '[:print:]' | cut -c1-300; }
# row COMMIT STATUS DESCRIPTION [JSON]
row() {
    local commit=$1 status=$2 desc fields=() k v
    desc=$(clean_field "$3")
    for k in avg_generation_tps avg_prompt_tps avg_ttft_ms avg_peak_memory_gb avg_perplexity kl_divergence \
             top1_agreement sanity_check sampler_fidelity quality_pass speedup speedup_ci_low speedup_ci_high; do
        v=-
        if [ -n "${4:-}" ] && [ -f "$4" ]; then
            v=$(sed -n "s/^ *\"$k\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$4" | head -n 1)
            [ -n "$v" ] || v=-
        fi
        fields+=("$(clean_field "$v")")
    done
    if [ ! -e "$results" ]; then
        say "results.tsv vanished: a new one starts here (every kept commit is on the branch; the incumbent is ${incumbent:0:12})"
        printf '%s\n' "$header" >"$results"
    fi
    local IFS=$'\t' line
    line=$(printf '%s\t%s\t%s\t%s' "$commit" "${fields[*]}" "$status" "$desc")
    # one write of the whole row; a failed one (a full disk) stops the loop at a
    # clean point, and --resume cuts off whatever part of it reached the file
    if ! printf '%s\n' "$line" >>"$results"; then
        say "cannot append to results.tsv (disk full?): stopping; the row was: $line"
        stop=1 append_failed=1
        return 1
    fi
    [ "$status" = keep ] && echo "$commit" >"$state/incumbent.tmp" && mv "$state/incumbent.tmp" "$state/incumbent"
    return 0
}

# ---- stopping at a clean point ---------------------------------------------------------------
stop=0 child=0 work="" incumbent="" append_failed=0
on_signal() {
    stop=1
    say "stopping: finishing at a clean point"
    [ "$child" -gt 0 ] && kill -TERM -- "-$child" 2>/dev/null
}
trap on_signal INT TERM
cleanup() {
    if [ -n "$incumbent" ]; then git reset -q --hard "$incumbent" 2>/dev/null; fi
    [ -n "$work" ] && rm -rf "$work"
    work=""
}
# start_group CMD...: CMD in a session (and process group) of its own, in the
# background, as $child. Before it runs CMD it writes its group and start time
# to $state/child itself: a --resume after a SIGKILL stops it, and only it
# (never a later process that got the same pid), even when loop.sh died the
# moment after the fork, before it could have written them
start_group() {
    setsid -w bash -c 'echo "$$ $(cut -d " " -f 22 /proc/$$/stat)" >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
        "$state/child" "$@" &
    child=$!
}
# wait_group: wait for $child; a signal meanwhile kills its group (on_signal)
wait_group() {
    wait $child
    local rc=$?
    while kill -0 $child 2>/dev/null; do wait $child; rc=$?; done
    child=0
    return $rc
}
# run a command in its own process group, waiting for it
run_group() {
    start_group "$@"
    wait_group
}
# run_gate LOG ARGS...: ./gate in its own group, stderr into LOG (complete when
# it returns) and shown as it comes; stdout dropped (the figures are in --json)
run_gate() {
    local log=$1
    shift
    : >"$log"
    start_group ./gate "$@" 2>"$log" >/dev/null
    tail --pid=$child -n +1 -f "$log" >&2 &
    local tailer=$!
    wait_group
    local rc=$?
    wait $tailer 2>/dev/null
    return $rc
}

# ---- start or resume --------------------------------------------------------------------------
check_results
mkdir -p "$state"
if [ $resume = 1 ]; then
    [ -f "$state/tag" ] || die "nothing to resume (no $state/tag)"
    tag=$(cat "$state/tag")
    agent=$(cat "$state/agent")
    [ -n "$model" ] || model=$(cat "$state/model")
    branch=autoresearch/$tag
    # a loop.sh killed outright leaves its agent or gate running in their own
    # process group: they go first
    if [ -f "$state/child" ]; then
        read -r old_pid old_start <"$state/child"
        if [ -n "$old_start" ] && [ "$(awk '{ print $22 }' "/proc/$old_pid/stat" 2>/dev/null)" = "$old_start" ]; then
            kill -KILL -- "-$old_pid" 2>/dev/null && say "stopped the agent or gate that a killed loop left running"
        fi
        rm -f "$state/child"
    fi
    if [ -f "$state/work" ]; then
        old_work=$(cat "$state/work")
        case $old_work in */qinfer-loop.*) rm -rf "$old_work" ;; esac
        rm -f "$state/work"
    fi
    git checkout -q -f "$branch" || die "cannot check out $branch"
    repair_results
    anchor=$(cat "$gitdir/qinfer/anchor")
    incumbent=$(awk -F'\t' 'NR > 1 && $15 == "keep" && $1 != "" { c = $1 } END { print c }' "$results")
    # results.tsv lost or replaced: the last keep the loop recorded itself
    [ -n "$incumbent" ] || { [ -f "$state/incumbent" ] && incumbent=$(cat "$state/incumbent"); }
    [ -n "$incumbent" ] || incumbent=$anchor
    incumbent=$(git rev-parse --verify -q "$incumbent^{commit}") || die "the last kept commit is gone"
    git reset -q --hard "$incumbent"
    say "resuming $branch at the last kept commit ${incumbent:0:12} (anchor ${anchor:0:12})"
else
    [ -n "$tag" ] || die "--tag TAG is required (or --resume, --report)"
    [[ $tag =~ ^[A-Za-z0-9._-]+$ ]] || die "a tag is letters, digits, '.', '_' and '-'"
    branch=autoresearch/$tag
    git show-ref --verify -q "refs/heads/$branch" && die "branch $branch exists: pick another tag, or --resume"
    [ -z "$(git status --porcelain)" ] || die "the working tree has changes: commit or stash them first"
    if [ -z "$model" ]; then
        for m in models/qwen2.5-0.5b-instruct-q4_0.gguf models/qwen2.5-0.5b-synth-q4_0.gguf; do
            [ -f "$m" ] && { model=$m; break; }
        done
    fi
    [ -n "$model" ] && [ -f "$model" ] || die "no model: make model (or make synth), or --model PATH"
    model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
    git checkout -q -b "$branch" || die "cannot create $branch"
    anchor=$(git rev-parse HEAD)
    echo "$anchor" >"$gitdir/qinfer/anchor"
    echo "$tag" >"$state/tag"
    echo "$agent" >"$state/agent"
    echo "$model" >"$state/model"
    rm -f "$state/incumbent"
    incumbent=$anchor
    repair_results
    say "branch $branch, anchor ${anchor:0:12}, model $model, agent $agent"
    say "measuring the anchor (an A/A gate run)"
    run_gate "$state/gate-baseline.log" -m "$model" --json "$state/gate.json"
    rc=$?
    if [ $stop = 1 ]; then cleanup; exit 130; fi
    case $rc in 0|1) row "${anchor:0:12}" keep "baseline" "$state/gate.json" ;;
                *) row "${anchor:0:12}" crash "baseline (gate exit $rc)" "$state/gate.json"; die "the anchor does not pass the gate (exit $rc): see $state/gate-baseline.log" ;;
    esac
fi

t_start=$(date +%s)
done_iterations=0
program=$repo/program.md

# ---- one iteration ----------------------------------------------------------------------------
instructions() { # FILE [BUILD_LOG]
    {
        cat "$program"
        printf '\n## results.tsv (the last 20 rows)\n\n```\n'
        { head -n 1 "$results"; tail -n +2 "$results" | tail -n 20; } | column -t -s $'\t' 2>/dev/null || tail -n 21 "$results"
        printf '```\n'
        if [ -n "${2:-}" ]; then
            printf '\n## Your last change did not build. The log:\n\n```\n'
            tail -n 60 "$2"
            printf '```\nFix it (the copy holds your change).\n'
        fi
    } >"$1"
}

# 0: the copy differs from the incumbent only in the two files; else prints the first offender
check_copy() {
    local ref=$work/ref
    rm -rf "$ref"; mkdir -p "$ref"
    git archive "$incumbent" | tar -x -C "$ref"
    local line path
    while IFS= read -r line; do
        case $line in
            "Only in $work/tree"*)
                path=${line#Only in $work/tree}; path=${path#/}; path=${path/: //}; path=${path#/}
                [ "$path" = .git ] || [ "$path" = .qinfer-description ] && continue
                local probe=$path
                [ -d "$work/tree/$path" ] && probe=$path/
                git check-ignore -q --no-index -- "$probe" && continue
                echo "added $path"; return 1 ;;
            "Only in $ref"*)
                path=${line#Only in $ref}; path=${path#/}; path=${path/: //}; path=${path#/}
                echo "deleted $path"; return 1 ;;
            Files*)
                path=${line#Files $ref/}; path=${path%% and *}
                case $path in lib/inference_config.c|lib/sample.c) ;; *) echo "modified $path"; return 1 ;; esac ;;
            *) echo "$line"; return 1 ;;
        esac
    done < <(diff -rq --no-dereference -x .git "$ref" "$work/tree" 2>&1)
    return 0
}

iteration() {
    incumbent=$(git rev-parse HEAD)
    # the name is on record before the folder exists: a --resume after a
    # SIGKILL removes it, wherever the kill fell
    work=$(mktemp -u "${TMPDIR:-/tmp}/qinfer-loop.XXXXXX")
    echo "$work" >"$state/work"
    mkdir -m 700 "$work" || { say "cannot make $work"; return 1; }
    git clone -q --no-hardlinks --branch "$branch" "$repo" "$work/tree" 2>/dev/null || { say "cannot copy the tree"; return 1; }
    local attempt=0 build_log="" desc="" rc status commit
    local n=$((done_iterations + 1))
    while :; do
        instructions "$work/instructions.md" "$build_log"
        : >"$work/tree/.qinfer-description"
        if [ "$agent" = builtin ]; then
            desc=$("$(judge_path)" propose --repo "$work/tree" --results "$results" 2>"$work/agent.log")
            rc=$?
            [ $rc = 3 ] && { say "the builtin agent has nothing left to try: stopping"; stop=1; return 0; }
        else
            QINFER_INSTRUCTIONS=$work/instructions.md QINFER_DESCRIPTION_FILE=$work/tree/.qinfer-description \
                run_group bash -c "cd '$work/tree' && $agent" <"$work/instructions.md" >"$state/agent-$n.log" 2>&1
            rc=$?
            desc=$(head -n 1 "$work/tree/.qinfer-description" 2>/dev/null)
        fi
        [ $stop = 1 ] && return 0
        [ -n "$desc" ] || desc="(the agent gave no description; it exited $rc)"
        local why
        if ! why=$(check_copy); then
            say "violation: $why"
            row "${incumbent:0:12}" violation "$desc [violation: $why]"
            return 0
        fi
        cp "$work/tree/lib/inference_config.c" lib/inference_config.c
        cp "$work/tree/lib/sample.c" lib/sample.c
        if git diff --quiet -- "${EDIT[@]}"; then
            say "the agent changed nothing: no gate run"
            return 0
        fi
        git commit -q -m "$(clean_field "$desc")" -- "${EDIT[@]}"
        commit=$(git rev-parse HEAD)
        say "iteration $n: ${commit:0:12} $desc"
        rm -f "$state/gate.json"
        run_gate "$state/gate-$n.log" -m "$model" --incumbent "$incumbent" --json "$state/gate.json"
        rc=$?
        [ $stop = 1 ] && return 0
        if [ $rc = 3 ] && [ $attempt -lt 2 ] && grep -q "build failed\|does not compile" "$state/gate-$n.log"; then
            attempt=$((attempt + 1))
            say "the build failed: back to the agent with the log (retry $attempt of 2)"
            build_log=$state/gate-$n.log
            git reset -q --hard "$incumbent"
            [ "$agent" = builtin ] && break
            continue
        fi
        break
    done
    case $rc in
        0) status=keep ;; 1) status=discard ;; 2) status=violation ;; 3|4) status=crash ;; 5) status=invalid ;;
        *) status=crash ;;
    esac
    if [ $status = crash ] || [ $status = invalid ]; then # the row says why
        local why
        why=$(sed -n 's/^ *"reason": "\(.*\)",\{0,1\}$/\1/p' "$state/gate.json" 2>/dev/null | head -n 1)
        [ -n "$why" ] && desc="$desc [$status: $why]"
    fi
    if ! row "${commit:0:12}" $status "$desc" "$state/gate.json"; then
        git reset -q --hard "$incumbent" # a keep that is not on record is not kept
        say "the row is not on record: back to ${incumbent:0:12}"
        return 0
    fi
    if [ $status = keep ]; then
        incumbent=$commit
        say "kept ${commit:0:12}"
    else
        git reset -q --hard "$incumbent"
        say "$status: back to ${incumbent:0:12}"
    fi
    return 0
}

while [ $stop = 0 ]; do
    if [ "$iterations" -gt 0 ] && [ $done_iterations -ge "$iterations" ]; then say "done: $done_iterations iterations"; break; fi
    if [ "$hours" != 0 ] && awk -v s="$t_start" -v h="$hours" -v now="$(date +%s)" 'BEGIN { exit !(now - s >= h * 3600) }'; then
        say "done: the $hours-hour budget is spent"; break
    fi
    iteration
    cleanup_rc=$?
    [ $cleanup_rc = 0 ] || stop=1
    done_iterations=$((done_iterations + 1))
    if [ $stop = 1 ]; then cleanup; incumbent=$(git rev-parse HEAD); fi
    [ -n "$work" ] && rm -rf "$work"
    work=""
done
cleanup
say "the tree is at the incumbent $(git rev-parse --short HEAD); results.tsv has $(($(grep -c '' "$results") - 1)) rows"
[ $append_failed = 1 ] && exit 74
[ $stop = 1 ] && exit 130
exit 0
