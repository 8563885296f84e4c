# 20-sandbox.sh — escape attempts (sandbox.c) with both resolvers. After
# each run the files outside the pre-open must be untouched: same listing,
# same contents, and (atime set to 2000-01-01 first, which any read would
# move forward under relatime or strictatime) not read.

sandbox_tree() {
    local s
    s=$(fresh_dir "$1")
    mkdir -p "$s/box/sub" "$s/outside/dir"
    printf 'inside\n' >"$s/box/inside.txt"
    printf 'f\n' >"$s/box/sub/f.txt"
    printf 'secret\n' >"$s/outside/secret.txt"
    ln -s "$s/outside/secret.txt" "$s/box/abs-link"
    ln -s "$s/outside" "$s/box/abs-dir"
    ln -s ../outside/secret.txt "$s/box/rel-link"
    ln -s .. "$s/box/up-link"
    ln -s ../../outside/secret.txt "$s/box/sub/deep-link"
    ln -s loop2 "$s/box/loop1"
    ln -s loop1 "$s/box/loop2"
    ln -s self "$s/box/self"
    ln -s ../outside/created.txt "$s/box/dangling-out"
    touch -a -d '2000-01-01 00:00:00' "$s/outside/secret.txt"
    touch -m -d '2001-01-01 00:00:00' "$s/outside/secret.txt"
    printf '%s\n' "$s"
}

for mode in openat2 walk; do
    SBX=$(sandbox_tree "sandbox-$mode")
    env=""
    [[ $mode == walk ]] && env="WASMIND_WASI_NO_OPENAT2=1"
    CASE_ENV=$env wasi_case "sandbox.$mode" 0 sandbox.out -- \
        --dir "$SBX/box::/box" "$(wasm sandbox)"
    check "sandbox.$mode.outside-listing" test "$(cd "$SBX" && find outside |
        LC_ALL=C sort | tr '\n' ' ')" = "outside outside/dir outside/secret.txt "
    check "sandbox.$mode.secret-not-read" \
        test "$(stat -c %X "$SBX/outside/secret.txt")" = \
        "$(date -d '2000-01-01 00:00:00' +%s)"
    check "sandbox.$mode.secret-not-written" \
        test "$(stat -c %Y "$SBX/outside/secret.txt")" = \
        "$(date -d '2001-01-01 00:00:00' +%s)"
    # (read last: reading moves the atime checked above)
    check "sandbox.$mode.secret-content" \
        test "$(cat "$SBX/outside/secret.txt")" = secret
    check "sandbox.$mode.box-listing" test "$(cd "$SBX/box" && ls -A |
        tr '\n' ' ')" = "abs-dir abs-link dangling-out inside.txt loop1 loop2 rel-link self sub up-link "
    check "sandbox.$mode.nothing-in-tmp" test ! -e /tmp/wasmind-escape
done
