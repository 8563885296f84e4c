#!/usr/bin/env bash
# run-unit.sh [BUILD [SUB]] — run every test binary BUILD/tests[/SUB]/t_*
# (default build/tests; SUB=llm for the engine tests) and sum their "N passed, N failed" lines (tests/harness.h prints one).
# A binary that crashes or prints no count counts as one failure. Ends
# with "N passed, N failed"; exit status 1 if anything failed.
set -uo pipefail

dir=${1:-build}/tests${2:+/$2}
passed=0 failed=0 n=0
shopt -s nullglob
for t in "$dir"/t_*; do
    [[ -x $t && ! $t == *.d ]] || continue
    n=$((n + 1))
    log=$(mktemp)
    "$t" >"$log" 2>&1
    rc=$?
    counts=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [[ $counts =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
        if ((rc != 0 && f == 0)); then f=1; fi
    else
        p=0 f=1
    fi
    passed=$((passed + p)) failed=$((failed + f))
    if ((f > 0)); then
        echo "$(basename "$t"): $p passed, $f failed (exit status $rc)"
        tail -n 20 "$log" | sed 's/^/    /'
    else
        echo "$(basename "$t"): $p passed, 0 failed"
    fi
    rm -f "$log"
done
if ((n == 0)); then
    echo "run-unit: no unit tests in $dir" >&2
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
((failed == 0))
