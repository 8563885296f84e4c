# 10-fs.sh — the file-system calls (fs_basic.c) on a scratch pre-open,
# with both path resolvers: openat2 and wasmind's own openat walk
# (WASMIND_WASI_NO_OPENAT2=1). Afterwards the tree must be as it was made.

fs_tree() {
    local d
    d=$(fresh_dir "$1")
    mkdir -p "$d/dir"
    printf 'hello world\n' >"$d/hello.txt"
    : >"$d/dir/a"
    : >"$d/dir/b"
    : >"$d/dir/c"
    ln -s hello.txt "$d/link-hello"
    ln -s nowhere "$d/dangling"
    printf '%s\n' "$d"
}

for mode in openat2 walk; do
    FSD=$(fs_tree "fs-$mode")
    env=""
    [[ $mode == walk ]] && env="WASMIND_WASI_NO_OPENAT2=1"
    CASE_ENV=$env wasi_case "fs.$mode" 0 fs_basic.out -- \
        --dir "$FSD::/data" "$(wasm fs_basic)"
    check "fs.$mode.tree" test "$(cd "$FSD" && find . | LC_ALL=C sort |
        tr '\n' ' ')" = ". ./dangling ./dir ./dir/a ./dir/b ./dir/c ./hello.txt ./link-hello "
    check "fs.$mode.hello-intact" test "$(cat "$FSD/hello.txt")" = "hello world"
done

# A --dir that does not exist: error before the guest runs.
wasi_case fs.dir-missing 1 - -- --dir "$SCRATCH/no-such-dir" "$(wasm fs_basic)"
check fs.dir-missing.msg grep -q 'no-such-dir' "$CASE_ERR"
wasi_case fs.dir-usage 2 - -- --dir "::/x" "$(wasm fs_basic)"
