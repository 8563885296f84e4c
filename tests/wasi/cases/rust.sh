# rust.sh — the Rust std guest tests/wasi/rs_fs.rs (sourced by run.sh).
#
# rs_fs prints one "ok NAME" / "FAIL NAME: detail" line per check; stdout
# must equal expected/rs_fs.out (or rs_fs_ro.out), so a check that fails or
# goes missing fails the case. The host side is checked afterwards: nothing
# was created or changed outside the pre-opened directory, and what the
# guest left inside is what it should have left.

RS=$(fresh_dir rust)
RSW=$(wasm rs_fs)

# The sandbox and its surroundings (the files a sandbox escape would hit).
mkdir -p "$RS/sandbox/sub"
printf 'inside\n' >"$RS/sandbox/inside.txt"
printf 'kept\n' >"$RS/sandbox/sub/kept.txt"
ln -s inside.txt "$RS/sandbox/link-in"
ln -s ../outside.txt "$RS/sandbox/link-out"
ln -s .. "$RS/sandbox/link-up"
printf 'outside\n' >"$RS/outside.txt"
mkdir -p "$RS/ro"
printf 'read only\n' >"$RS/ro/data.txt"

wasi_case rust.fs 0 rs_fs.out -- --dir "$RS/sandbox::/sandbox" \
    --env RS_TEST=yes --env RS_EQ=a=b --env OTHER=1 \
    "$RSW" fs /sandbox one 'two words' ünïcode
check rust.fs.stderr grep -qx 'rs_fs: stderr line' "$CASE_ERR"
# Nothing escaped: no new entries next to the sandbox, outside.txt intact.
check rust.fs.no-escape test "$(cd "$RS" && ls -A | LC_ALL=C sort |
    tr '\n' ' ')" = "outside.txt ro sandbox "
check rust.fs.outside-intact test "$(cat "$RS/outside.txt")" = outside
# What the guest leaves: it removed everything it made.
check rust.fs.leftovers test "$(cd "$RS/sandbox" && find . | LC_ALL=C sort |
    tr '\n' ' ')" = ". ./big.bin ./inside.txt ./link-in ./link-out ./link-up ./sub ./sub/kept.txt "
check rust.fs.big-size test "$(wc -c <"$RS/sandbox/big.bin")" = 1000

# The same guest path through a read-only pre-open.
wasi_case rust.ro 0 rs_fs_ro.out -- --dir-ro "$RS/ro::/ro" "$RSW" ro /ro
check rust.ro.intact test "$(cd "$RS/ro" && ls -A)" = data.txt
check rust.ro.content test "$(cat "$RS/ro/data.txt")" = "read only"

# stdin -> stdout, stderr.
printf 'Hello, stdin!\nsecond line\n\tend' >"$RS/stdin.txt"
CASE_STDIN=$RS/stdin.txt wasi_case rust.cat 0 \
    '=HELLO, STDIN!\nSECOND LINE\n\tEND30 bytes, 2 lines' -- "$RSW" cat
check rust.cat.stderr grep -qx 'cat done' "$CASE_ERR"
CASE_STDIN=/dev/null wasi_case rust.cat-empty 0 '=0 bytes, 0 lines' -- \
    "$RSW" cat

# Exit codes, a panic (Rust aborts: the guest traps), usage.
wasi_case rust.exit-0 0 '=' -- "$RSW" exit 0
wasi_case rust.exit-42 42 '=' -- "$RSW" exit 42
wasi_case rust.exit-255 255 '=' -- "$RSW" exit 255
wasi_case rust.panic 134 '=' -- "$RSW" panic
check rust.panic.message grep -q 'deliberate panic' "$CASE_ERR"
wasi_case rust.usage 2 '=' -- "$RSW"

# Without any pre-open the fs checks cannot even see their root.
wasi_case rust.no-preopen 1 - -- "$RSW" fs /sandbox one 'two words' ünïcode
check rust.no-preopen.fails grep -q '^FAIL root.is_dir' "$CASE_OUT"
