#!/usr/bin/env bash
# run.sh CLI WASMDIR — the WASI test suite (`make wasi-test`).
#
# CLI is the wasmind binary, WASMDIR holds the guests built from
# tests/wasi/*.c and *.rs (NAME.wasm). The script makes a fresh scratch
# tree (mktemp -d, removed at exit), then sources every tests/wasi/cases/*.sh
# in sorted order. Each case file registers checks through the helpers
# below; a failed check prints one line (with details indented under it).
# The last line is exactly "N passed, N failed"; exit status 1 if any failed.
#
# Helpers for case files (all defined before the case files are sourced):
#
#   $CLI $WASMDIR     as given (absolute paths)
#   $SCRATCH          fresh empty directory for this run (deleted at exit);
#                     make your own subdirectory in it (see fresh_dir)
#   $WASI_DIR         tests/wasi (source dir: expected outputs live in
#                     $WASI_DIR/expected/)
#   wasm NAME         prints "$WASMDIR/NAME.wasm"
#   fresh_dir NAME    (re)creates "$SCRATCH/NAME" empty and prints its path
#
#   wasi_case NAME EXPECT_EXIT EXPECT_STDOUT -- RUN_ARGS...
#       Runs `$CLI run RUN_ARGS...` (stdin from $CASE_STDIN, default
#       /dev/null; killed after $CASE_TIMEOUT seconds, default 20) and
#       checks the exit status against EXPECT_EXIT and stdout against
#       EXPECT_STDOUT, which is one of:
#           -          stdout is not compared
#           =TEXT      stdout must equal TEXT (printf %b escapes, e.g. \n;
#                      a trailing newline of stdout is ignored as in $(...))
#           ~REGEX     stdout must match the extended REGEX (grep -E)
#           FILE       stdout must equal the file's contents (relative
#                      paths are taken from $WASI_DIR/expected/)
#       Counts one pass or one failure. Afterwards $CASE_RC, $CASE_OUT
#       (stdout file) and $CASE_ERR (stderr file) describe the run, for
#       extra checks. Set CASE_STDIN / CASE_TIMEOUT / CASE_ENV (a string of
#       VAR=VALUE words put in the host environment of the run) for one
#       call with `CASE_STDIN=f wasi_case ...`.
#
#   check NAME CMD...           pass if CMD succeeds, else fail
#   check_pass NAME             count a pass
#   check_fail NAME MSG         count a failure and print "FAIL NAME: MSG"
#   skip_case NAME WHY          say why a case did not run (not counted)
#
# CLI flags the cases use (see `wasmind --help`): --dir HOST[::GUEST],
# --dir-ro HOST[::GUEST] (read-only pre-open), --listen ADDR:PORT,
# --env K=V, --max-memory BYTES[K|M|G]. WASMIND_WASI_NO_OPENAT2=1 in the
# run's environment (CASE_ENV) forces wasmind's own openat path walk
# instead of openat2, so cases can cover both resolvers.
set -uo pipefail

if (($# != 2)); then
    echo "usage: $0 CLI WASMDIR" >&2
    exit 2
fi
abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$PWD" "$(basename "$1")"); }
CLI=$(abspath "$1")
WASMDIR=$(cd "$2" && pwd) || { echo "run.sh: no directory $2" >&2; exit 2; }
WASI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wasmind-wasi.XXXXXX") || exit 2
export CLI WASMDIR WASI_DIR SCRATCH
trap 'chmod -R u+rwx "$SCRATCH" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

N_PASS=0
N_FAIL=0
CASE_RC=0
CASE_OUT=$SCRATCH/.case.out
CASE_ERR=$SCRATCH/.case.err

wasm() { printf '%s/%s.wasm\n' "$WASMDIR" "$1"; }

fresh_dir() {
    local d=$SCRATCH/$1
    chmod -R u+rwx "$d" 2>/dev/null
    rm -rf "$d" && mkdir -p "$d" && printf '%s\n' "$d"
}

check_pass() { N_PASS=$((N_PASS + 1)); }

check_fail() {
    N_FAIL=$((N_FAIL + 1))
    echo "FAIL $1: $2"
}

check() {
    local name=$1
    shift
    if "$@" >/dev/null 2>&1; then
        check_pass "$name"
    else
        local cmd="$*"
        ((${#cmd} > 300)) && cmd="${cmd:0:300}..."
        check_fail "$name" "command failed: $cmd"
    fi
}

skip_case() { echo "skip $1: $2"; }

# Indented excerpt of a file for failure details.
_excerpt() { head -c 2000 "$1" | head -n 15 | sed 's/^/    | /'; }

wasi_case() {
    if (($# < 4)) || [[ $4 != -- ]]; then
        check_fail "${1:-?}" "wasi_case: usage NAME EXIT STDOUT -- ARGS..."
        return
    fi
    local name=$1 want_rc=$2 want_out=$3
    shift 4
    local stdin=${CASE_STDIN:-/dev/null} tmo=${CASE_TIMEOUT:-20}
    local -a envw=()
    [[ -n ${CASE_ENV:-} ]] && read -r -a envw <<<"$CASE_ENV"
    env ${envw[@]+"${envw[@]}"} timeout -k 2 "$tmo" "$CLI" run "$@" \
        <"$stdin" >"$CASE_OUT" 2>"$CASE_ERR"
    CASE_RC=$?
    local why=""
    if [[ $CASE_RC != "$want_rc" ]]; then
        why="exit status $CASE_RC, expected $want_rc"
        ((CASE_RC == 124)) && why+=" (timed out after ${tmo}s)"
    fi
    if [[ -z $why && $want_out != - ]]; then
        case $want_out in
        =*)
            local want got
            want=$(printf '%b' "${want_out#=}")
            got=$(cat "$CASE_OUT")
            [[ $got == "$want" ]] ||
                why="stdout differs: expected '$(printf %q "$want")'"
            ;;
        \~*)
            grep -Eq -- "${want_out#\~}" "$CASE_OUT" ||
                why="stdout does not match /${want_out#\~}/"
            ;;
        *)
            local f=$want_out
            [[ $f == /* ]] || f=$WASI_DIR/expected/$f
            if [[ ! -f $f ]]; then
                why="missing expected-output file $f"
            elif ! cmp -s "$f" "$CASE_OUT"; then
                why="stdout differs from $f:"$'\n'"$(diff "$f" "$CASE_OUT" |
                    head -n 20 | sed 's/^/    /')"
            fi
            ;;
        esac
    fi
    if [[ -z $why ]]; then
        check_pass "$name"
    else
        check_fail "$name" "$why"
        echo "    command: wasmind run $*"
        if [[ -s $CASE_OUT ]]; then echo "    stdout:"; _excerpt "$CASE_OUT"; fi
        if [[ -s $CASE_ERR ]]; then echo "    stderr:"; _excerpt "$CASE_ERR"; fi
    fi
}

shopt -s nullglob
for f in "$WASI_DIR"/cases/*.sh; do
    # shellcheck source=/dev/null
    source "$f"
done

echo "$N_PASS passed, $N_FAIL failed"
((N_FAIL == 0))
