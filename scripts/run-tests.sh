#!/usr/bin/env bash
# run-tests.sh — everything `make test` does, in order:
#
#   1. scripts/install-deps.sh (installs missing Debian packages as root)
#   2. build (make -j2): library, CLI, unit tests, spec runner, and the
#      wast2json conversion of the spec suite (only .wast files that changed)
#   3. unit tests, spec suite, WASI end-to-end checks (make wasi-check:
#      apps/wasitest.c built for wasm32-wasi and run by the CLI), and the
#      regression files (make regress: tests/regress/*.wasm and the fuzz
#      seeds through the fuzz target's code path), and the WASI-NN suite
#      (make nn-test: tests/nn/run.sh), and the API server suite (make
#      server-test: tests/server/run.sh)
#   4. the same four suites in an ASan+UBSan build (make
#      SAN=address,undefined, objects in build/san)
#
# and ends with one line "N passed, N failed" summing every suite. A build
# that fails or a suite that dies without a count is one failure. Exit
# status 1 if anything failed.
#
#   scripts/run-tests.sh          all of the above   (make test)
#   scripts/run-tests.sh --san    deps + step 4 only (make test-san)
#
# Environment: MAKE (make), SPEC_DIR (../shared/wasm-testsuite), JOBS (2).
set -uo pipefail
cd "$(dirname "$0")/.."

MAKE=${MAKE:-make}
SPEC_DIR=${SPEC_DIR:-../shared/wasm-testsuite}
MODELS_DIR=${MODELS_DIR:-../shared/models}
JOBS=${JOBS:-2}
SAN=address,undefined
mode=${1:-all}
case $mode in
all | --san) ;;
*) echo "usage: $0 [--san]" >&2; exit 2 ;;
esac

# Sanitizer runs: stop at the first report, with a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:allow_user_segv_handler=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export SPEC_JOBS=$JOBS

total_p=0 total_f=0
report=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS

# step NAME CMD...: run a build step; a failure counts as one failed test.
step() {
    local name=$1 t0=$SECONDS
    shift
    echo "==== $name: $*"
    if "$@"; then
        report+=("$name: ok ($((SECONDS - t0)) s)")
        return 0
    fi
    echo "==== $name: FAILED"
    report+=("$name: build failed (1 failed)")
    total_f=$((total_f + 1))
    return 1
}

# suite NAME CMD...: run a test suite whose output ends with
# "N passed, N failed"; add the counts to the totals.
suite() {
    local name=$1 p f rc line t0=$SECONDS
    shift
    echo "==== $name"
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
        ((rc != 0 && f == 0)) && f=1
    else
        p=0 f=1
    fi
    total_p=$((total_p + p)) total_f=$((total_f + f))
    report+=("$name: $p passed, $f failed ($((SECONDS - t0)) s)")
}

# wasi_suite [MAKE-ARGS...]: make wasi-check, its counts ("N WASI checks
# ok", one "FAIL name: ..." line per failed check) as "N passed, N failed".
wasi_suite() {
    local out rc p f
    out=$("$MAKE" -s "$@" wasi-check 2>&1)
    rc=$?
    echo "$out"
    p=$(grep -Eo '^[0-9]+ WASI checks ok' <<<"$out" | tail -n 1)
    f=$(grep -c '^FAIL ' <<<"$out")
    ((rc != 0 && f == 0)) && f=1
    p=${p%% *}
    echo "${p:-0} passed, $f failed"
    return "$rc"
}

skip_suites() {
    local s
    for s in "$@"; do report+=("$s: not run (build failed)"); done
}

if ! step "deps" scripts/install-deps.sh; then
    echo "$total_p passed, $total_f failed"
    exit 1
fi

if [[ $mode == all ]]; then
    if step "build" "$MAKE" -j"$JOBS" all unit-build spec-build \
        SPEC_DIR="$SPEC_DIR"; then
        suite "unit" scripts/run-unit.sh build
        suite "spec" scripts/run-spec.sh build/spec-runner build/spec \
            "$SPEC_DIR"
        suite "wasi" wasi_suite
        suite "wasi-suite" "$MAKE" -s wasi-test
        suite "llm" "$MAKE" -s llm-test MODELS_DIR="$MODELS_DIR"
        suite "nn" "$MAKE" -s nn-test MODELS_DIR="$MODELS_DIR"
        suite "server" "$MAKE" -s server-test MODELS_DIR="$MODELS_DIR"
        suite "regress" "$MAKE" -s regress
    else
        skip_suites unit spec wasi wasi-suite llm nn server regress
    fi
fi

if step "build (asan+ubsan)" "$MAKE" -j"$JOBS" SAN="$SAN" unit-build \
    spec-build SPEC_DIR="$SPEC_DIR"; then
    suite "unit (asan+ubsan)" scripts/run-unit.sh build/san
    suite "spec (asan+ubsan)" scripts/run-spec.sh build/san/spec-runner \
        build/spec "$SPEC_DIR"
    suite "wasi (asan+ubsan)" wasi_suite SAN="$SAN"
    suite "wasi-suite (asan+ubsan)" "$MAKE" -s SAN="$SAN" wasi-test
    suite "llm (asan+ubsan)" "$MAKE" -s SAN="$SAN" llm-test \
        MODELS_DIR="$MODELS_DIR"
    suite "nn (asan+ubsan)" "$MAKE" -s SAN="$SAN" nn-test \
        MODELS_DIR="$MODELS_DIR"
    suite "server (asan+ubsan)" "$MAKE" -s SAN="$SAN" server-test \
        MODELS_DIR="$MODELS_DIR"
    suite "regress (asan+ubsan)" "$MAKE" -s SAN="$SAN" regress
else
    skip_suites "unit (asan+ubsan)" "spec (asan+ubsan)" "wasi (asan+ubsan)" \
        "wasi-suite (asan+ubsan)" "llm (asan+ubsan)" "nn (asan+ubsan)" \
        "server (asan+ubsan)" "regress (asan+ubsan)"
fi

echo "==== summary ($((SECONDS - start)) s)"
printf '%s\n' "${report[@]}"
echo "$total_p passed, $total_f failed"
((total_f == 0))
