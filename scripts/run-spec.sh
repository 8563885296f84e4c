#!/usr/bin/env bash
# run-spec.sh — run the spec-test runner over every converted .wast file.
#
#   scripts/run-spec.sh RUNNER OUT_DIR SPEC_DIR
#
# RUNNER is build/spec-runner (or build/san/spec-runner), OUT_DIR holds the
# wast2json output (OUT_DIR/<name>/<name>.json, made by `make spec`), and
# SPEC_DIR the .wast files. Runs SPEC_JOBS files at a time (default 2),
# each under a SPEC_TIMEOUT (default 120 s), logs each to
# OUT_DIR/<name>/<tag>.log (tag: the runner's directory, e.g. "build"), and
# prints one line per file in name order, the first failures of any file
# that failed, the simd_*.wast files as skipped (SIMD is not implemented
# yet), and finally "N passed, N failed". A runner that crashes or times
# out counts as one failure for its file. Exit status 1 if anything failed.
set -uo pipefail

if (($# != 3)); then
    echo "usage: $0 RUNNER OUT_DIR SPEC_DIR" >&2
    exit 2
fi
runner=$1 out=$2 spec=$3
jobs=${SPEC_JOBS:-2}
limit=${SPEC_TIMEOUT:-120}
tag=$(dirname "$runner" | tr '/' '_')

if [[ ! -x $runner ]]; then
    echo "run-spec: no runner at $runner (make spec builds it)" >&2
    exit 2
fi
shopt -s nullglob
wasts=("$spec"/*.wast)
if ((${#wasts[@]} == 0)); then
    echo "run-spec: no .wast files in $spec (set SPEC_DIR)" >&2
    exit 2
fi

names=() simd=()
for w in "${wasts[@]}"; do
    n=$(basename "$w" .wast)
    if [[ $n == simd_* ]]; then simd+=("$n"); else names+=("$n"); fi
done

run_one() {
    local n=$1 json=$out/$1/$1.json log=$out/$1/$tag.log
    if [[ ! -f $json ]]; then
        echo "run-spec: $json missing (run make spec)" >"$log"
        echo 127 >"$log.rc"
        return
    fi
    timeout "$limit" "$runner" -v "$json" >"$log" 2>&1
    echo $? >"$log.rc"
}
export -f run_one
export out runner tag limit

printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}

passed=0 failed=0 skipped=0 bad_files=0
summary_re='^(.*): ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$'
for n in "${names[@]}"; do
    log=$out/$n/$tag.log
    rc=$(cat "$log.rc" 2>/dev/null || echo 127)
    line=$(tail -n 1 "$log" 2>/dev/null)
    if [[ $line =~ $summary_re ]] && ((rc <= 1)); then
        echo "$line"
        p=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]} s=${BASH_REMATCH[4]}
        passed=$((passed + p)) failed=$((failed + f))
        skipped=$((skipped + s))
        if ((f > 0)); then
            bad_files=$((bad_files + 1))
            grep -v -E "$summary_re" "$log" | head -n 10 | sed 's/^/    /'
            ((f > 10)) && echo "    ... (all of them in $log)"
        fi
    else
        case $rc in
        124) why="timed out after ${limit}s" ;;
        127) why="not run" ;;
        *) why="runner died (exit status $rc)" ;;
        esac
        echo "$n.wast: $why; counted as 1 failed"
        tail -n 15 "$log" 2>/dev/null | sed 's/^/    /'
        failed=$((failed + 1)) bad_files=$((bad_files + 1))
    fi
done
for n in "${simd[@]}"; do
    echo "$n.wast: skipped (SIMD not implemented yet)"
done
echo "spec: ${#names[@]} files run, $bad_files with failures," \
     "${#simd[@]} SIMD files skipped; $skipped commands skipped" \
     "(text-format modules, v128 values)"
echo "$passed passed, $failed failed"
((failed == 0))
