# apps.sh — the example apps over a scratch tree (sourced by run.sh).
#
# wctool (apps/wctool.c): built natively here with gcc, and the native
# binary is the oracle: for each argument list, `wctool ARGS` run natively
# (cwd = the scratch dir, so paths read "tree/...") and `wasmind run --dir
# TREE::tree wctool.wasm ARGS` must agree on stdout, stderr and exit status,
# and the exit status must be the one written here. The line/byte counts of
# the whole tree are also checked against coreutils wc, so a bug shared by
# both builds of wctool is caught too. Sandbox cases (paths leaving the
# pre-open) run under wasmind only.
#
# notes (apps/notes.rs): a fixed sequence of commands on an empty store;
# the transcript (commands, stdout, stderr, exit codes, then the store's
# files as the host sees them) must equal expected/notes.out.
#
# The apps are built by `make apps` into $WASMDIR/../apps (make wasi-test
# builds them first).

APPS_WASM=$(cd "$WASMDIR/../apps" 2>/dev/null && pwd)
APPS_SRC=$(cd "$WASI_DIR/../../apps" && pwd)

# ==== wctool ================================================================

WCT=$(fresh_dir apps-wctool)
WCT_NATIVE=$WCT/wctool-native
WCT_OK=1
if [[ ! -f $APPS_WASM/wctool.wasm ]]; then
    check_fail wctool.build "missing $WASMDIR/../apps/wctool.wasm (make apps)"
    WCT_OK=0
elif ! command -v gcc >/dev/null; then
    skip_case wctool "gcc not installed (needed for the native oracle)"
    WCT_OK=0
elif ! gcc -std=c11 -O2 -Wall -Wextra -Werror "$APPS_SRC/wctool.c" \
        -o "$WCT_NATIVE" 2>"$WCT/gcc.err"; then
    check_fail wctool.native-build "gcc failed: $(head -c 500 "$WCT/gcc.err")"
    WCT_OK=0
fi

# The tree: text in several directories, an empty file, a last line
# without newline, CRLF, a binary file, a 300 KB file and a 100 KB line
# (both cross 64 KiB read chunks), a name with spaces, a hidden file, a
# symbolic link (skipped by the walk), a file outside the pre-open.
_wct_tree() {
    local t=$WCT/tree
    mkdir -p "$t/src/util" "$t/docs" "$t/space dir" "$t/empty-dir"
    printf '# Demo\n\nwasmind runs WASI programs.\nThe WASI sandbox: --dir.\n' \
        >"$t/README.md"
    printf 'int main(void) {\n\treturn 0;   /* wasi */\n}\n' >"$t/src/main.c"
    printf 'char *dup(const char *s);\n  \n\n' >"$t/src/util/strs.h"
    printf 'one two  three\tfour\n\n  five\n' >"$t/docs/notes.txt"
    : >"$t/empty.txt"
    printf 'first\nlast line has no newline wasi' >"$t/noeol.txt"
    printf 'dos line\r\nwasi line\r\n' >"$t/crlf.txt"
    printf 'bin\000ary\001\377 wasi\000\n\000\000x' >"$t/binary.bin"
    awk 'BEGIN { for (i = 1; i <= 20000; i++)
                   printf "%05d lorem ipsum dolor%s\n", i,
                          (i % 997 == 0 ? " WaSi" : "") }' >"$t/docs/big.txt"
    awk 'BEGIN { for (i = 0; i < 10000; i++) printf "abcdefghi ";
                 printf "wasi-at-the-end\nshort\n" }' >"$t/long.txt"
    printf 'in a dir with spaces\n' >"$t/space dir/file name.txt"
    printf 'hidden wasi\n' >"$t/.hidden"
    ln -s README.md "$t/link-to-readme"
    printf 'secret wasi\n' >"$WCT/secret.txt"
}

# _wct_run OUTPREFIX CMD...: run with stdin $WCT_STDIN (default /dev/null),
# cwd $WCT; OUTPREFIX.out/.err/.rc. When WCT_NOCAPS is set and we are root,
# the command runs without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH so that
# file modes are enforced.
_wct_run() {
    local p=$1
    shift
    local -a pre=()
    if [[ -n ${WCT_NOCAPS:-} && $(id -u) == 0 ]]; then
        pre=(setpriv --bounding-set=-dac_override,-dac_read_search)
    fi
    (cd "$WCT" && timeout -k 2 20 ${pre[@]+"${pre[@]}"} "$@" \
        <"${WCT_STDIN:-/dev/null}" >"$p.out" 2>"$p.err")
    echo $? >"$p.rc"
}

# wct_same NAME WANT_RC ARGS...: native and wasm agree, exit WANT_RC.
wct_same() {
    local name=wctool.$1 want=$2 n=$WCT/$1.native w=$WCT/$1.wasm why=""
    shift 2
    ((WCT_OK)) || return
    _wct_run "$n" "$WCT_NATIVE" "$@"
    _wct_run "$w" "$CLI" run --dir "$WCT/tree::tree" \
        "$APPS_WASM/wctool.wasm" "$@"
    local rn rw
    rn=$(cat "$n.rc")
    rw=$(cat "$w.rc")
    if [[ $rn != "$want" ]]; then
        why="native exit $rn, expected $want"
    elif [[ $rw != "$want" ]]; then
        why="wasmind exit $rw, expected $want"
    elif ! cmp -s "$n.out" "$w.out"; then
        why="stdout differs (< native, > wasmind):"$'\n'"$(diff "$n.out" \
            "$w.out" | head -n 12 | sed 's/^/    /')"
    elif ! cmp -s "$n.err" "$w.err"; then
        why="stderr differs (< native, > wasmind):"$'\n'"$(diff "$n.err" \
            "$w.err" | head -n 12 | sed 's/^/    /')"
    elif [[ $want == 0 && ! -s $n.out ]]; then
        why="no output at all"
    fi
    if [[ -z $why ]]; then
        check_pass "$name"
    else
        check_fail "$name" "$why"
        echo "    args: $*"
    fi
    WCT_LAST=$n   # for extra checks on the (identical) output
}

# wct_expect NAME WHAT PATTERN: the last run's WHAT (out|err) matches the
# extended regex PATTERN (a check that does not trust the native build).
wct_expect() {
    ((WCT_OK)) || return
    if grep -Eq -- "$3" "$WCT_LAST.$2"; then
        check_pass "wctool.$1"
    else
        check_fail "wctool.$1" "$2 does not match /$3/:"$'\n'"$(head -n 5 \
            "$WCT_LAST.$2" | sed 's/^/    | /')"
    fi
}

if ((WCT_OK)); then
    _wct_tree

    wct_same walk 0 -r tree
    # The whole-tree totals against coreutils (C locale), independent of
    # wctool: every regular file except the symbolic link. Lines and bytes
    # only: coreutils wc does not count control bytes as word characters
    # (binary.bin); words are checked on text files below.
    if ((WCT_OK)); then
        want=$(cd "$WCT" && find tree -type f -print0 | sort -z |
            LC_ALL=C xargs -0 cat | LC_ALL=C wc -l -c |
            awk '{ printf "%d %d", $1, $2 }')
        got=$(tail -n 1 "$WCT_LAST.out" | awk '{ printf "%d %d", $1, $3 }')
        if [[ $got == "$want" ]]; then
            check_pass wctool.walk.vs-coreutils
        else
            check_fail wctool.walk.vs-coreutils \
                "lines bytes '$got', coreutils '$want'"
        fi
        n_files=$(cd "$WCT" && find tree -type f | wc -l)
        if [[ $(($(wc -l <"$WCT_LAST.out") - 1)) == "$n_files" ]]; then
            check_pass wctool.walk.file-count
        else
            check_fail wctool.walk.file-count "expected $n_files file lines"
        fi
        # sorted by strcmp: "space dir" after "noeol.txt", ".hidden" first
        wct_expect walk.order out '^ +[0-9]+ +[0-9]+ +[0-9]+ tree/\.hidden$'
    fi

    wct_same text 0 -r tree/docs tree/src tree/README.md "tree/space dir"
    if ((WCT_OK)); then
        want=$(cd "$WCT" && cat tree/docs/* tree/src/main.c \
            tree/src/util/strs.h tree/README.md "tree/space dir"/* |
            LC_ALL=C wc -l -w -c | awk '{ printf "%8d %8d %8d total", $1, $2, $3 }')
        if [[ $(tail -n 1 "$WCT_LAST.out") == "$want" ]]; then
            check_pass wctool.text.vs-coreutils
        else
            check_fail wctool.text.vs-coreutils \
                "'$(tail -n 1 "$WCT_LAST.out")', coreutils '$want'"
        fi
    fi
    wct_same files 0 tree/README.md tree/empty.txt tree/noeol.txt \
        tree/crlf.txt tree/binary.bin tree/long.txt
    wct_expect files.noeol out '^ +1 +7 +35 tree/noeol.txt$'
    wct_same grep 0 -r -e wasi tree
    wct_expect grep.noeol out '^tree/noeol.txt:2:last line has no newline wasi$'
    wct_expect grep.long out '^tree/long.txt:1:abcdefghi abcdefghi .*wasi-at-the-end$'
    check wctool.grep.long-length awk -v want=$((16 + 100000 + 15)) \
        '/^tree\/long.txt:1:/ { n++; if (length($0) != want) exit 1 }
         END { exit n != 1 }' "$WCT_LAST.out"
    wct_same grep-icase 0 -r -i -e WASI tree/docs tree/README.md
    wct_expect grep-icase.big out '^tree/docs/big.txt:997:00997 lorem ipsum dolor WaSi$'
    wct_same grep-count 0 -c -i -e wasi -r tree
    wct_expect grep-count.big out '^tree/docs/big.txt:20$'
    wct_same grep-none 1 -r -e no-such-text tree/README.md tree/src
    wct_same missing 2 tree/README.md tree/no-such-file tree/noeol.txt
    wct_expect missing.msg err '^wctool: tree/no-such-file: No such file or directory$'
    wct_same is-dir 2 tree/src
    wct_expect is-dir.msg err '^wctool: tree/src: Is a directory$'
    wct_same not-dir 2 tree/README.md/x
    wct_expect not-dir.msg err '^wctool: tree/README.md/x: Not a directory$'
    wct_same empty-dir 0 -r tree/empty-dir tree/empty.txt
    wct_same usage 2
    wct_same usage-flag 2 -c tree/README.md
    WCT_STDIN=$WCT/tree/docs/notes.txt wct_same stdin 0 -
    wct_expect stdin.counts out '^ +3 +5 +28 -$'

    # Permission denied (with root's DAC override dropped when root).
    if [[ $(id -u) != 0 ]] || command -v setpriv >/dev/null; then
        printf 'locked wasi\n' >"$WCT/tree/locked.txt"
        mkdir -p "$WCT/tree/locked-dir" && : >"$WCT/tree/locked-dir/f"
        chmod 000 "$WCT/tree/locked.txt" "$WCT/tree/locked-dir"
        WCT_NOCAPS=1 wct_same permission 2 -r -e wasi tree/locked.txt \
            tree/locked-dir tree/README.md
        wct_expect permission.msg err '^wctool: tree/locked.txt: Permission denied$'
        chmod 755 "$WCT/tree/locked-dir"
        chmod 644 "$WCT/tree/locked.txt"
    else
        skip_case wctool.permission "root without setpriv: modes not enforced"
    fi

    # The sandbox: wasmind only (natively these paths do reach the file).
    # Refused: ENOTCAPABLE or EPERM (runtimes differ). Through the link
    # to a file, ".." fails as it does natively: ENOTDIR.
    denied='(Capabilities insufficient|Operation not permitted)'
    for pm in "tree/../secret.txt:$denied" \
        "tree/src/../../secret.txt:$denied" "/secret.txt:$denied" \
        'tree/link-to-readme/../../secret.txt:Not a directory'; do
        p=${pm%%:*}
        wasi_case "wctool.outside:$p" 2 '=' -- --dir "$WCT/tree::tree" \
            "$APPS_WASM/wctool.wasm" -e secret "$p"
        if grep -Eqx "wctool: $p: ${pm#*:}" "$CASE_ERR"; then
            check_pass "wctool.outside:$p.msg"
        else
            check_fail "wctool.outside:$p.msg" "stderr: $(head -c 300 "$CASE_ERR")"
        fi
    done
fi

# ==== notes =================================================================

NB=$(fresh_dir apps-notes)
if [[ ! -f $APPS_WASM/notes.wasm ]]; then
    check_fail notes.build "missing $WASMDIR/../apps/notes.wasm (make apps)"
else
    mkdir -p "$NB/store"
    T=$NB/transcript
    : >"$T"
    # _notes [STDIN_TEXT] -- ARGS...: one command into the transcript.
    _notes() {
        local in=/dev/null
        if [[ $1 != -- ]]; then
            printf '%s' "$1" >"$NB/stdin"
            in=$NB/stdin
            shift
        fi
        shift
        echo "\$ notes $*" >>"$T"
        timeout -k 2 20 "$CLI" run --dir "$NB/store::/data" \
            --env NOTES_DIR=/data --env NOTES_AUTHOR=ada \
            "$APPS_WASM/notes.wasm" "$@" <"$in" >>"$T" 2>"$NB/err"
        local rc=$?
        sed 's/^/stderr: /' "$NB/err" | head -n 3 >>"$T"
        echo "[exit $rc]" >>"$T"
    }
    _notes -- list
    _notes -- add "Buy milk!" 2 litres, semi-skimmed
    _notes $'Read the WASI preview 1 spec.\nThen fd_readdir.\n\n' -- \
        add "Read WASI spec" -
    _notes -- add "Fix bug #42" in fd_read
    _notes -- add "Ünïcode title ✓" body
    _notes -- list
    _notes -- done 2
    _notes -- done 2
    _notes -- show 2
    _notes -- find FD_READ
    _notes -- find nothing-like-this
    _notes -- rm 1
    _notes -- show 1
    _notes -- show x1
    _notes -- stats
    _notes -- export summary.md
    _notes -- --root /data/sub add "Other store" x
    _notes -- --root /elsewhere list
    _notes -- list
    _notes -- frobnicate
    echo "--- host view" >>"$T"
    (cd "$NB/store" && find . | LC_ALL=C sort) >>"$T"
    for f in next-id summary.md done/0002-read-wasi-spec.txt; do
        echo "--- $f" >>"$T"
        cat "$NB/store/$f" >>"$T" 2>&1
    done
    if cmp -s "$WASI_DIR/expected/notes.out" "$T"; then
        check_pass notes.transcript
    else
        check_fail notes.transcript "differs from expected/notes.out:"$'\n'"$(
            diff "$WASI_DIR/expected/notes.out" "$T" | head -n 20 |
                sed 's/^/    /')"
    fi
fi
