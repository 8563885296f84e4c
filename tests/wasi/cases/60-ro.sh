# 60-ro.sh — a read-only pre-open (ro.c), with both resolvers; the tree
# must be exactly as made afterwards.

for mode in openat2 walk; do
    ROD=$(fresh_dir "ro-$mode")
    mkdir -p "$ROD/sub"
    printf 'read only\n' >"$ROD/data.txt"
    touch -d '2001-01-01 00:00:00' "$ROD/data.txt" "$ROD/sub" "$ROD"
    env=""
    [[ $mode == walk ]] && env="WASMIND_WASI_NO_OPENAT2=1"
    CASE_ENV=$env wasi_case "ro.$mode" 0 ro.out -- --dir-ro "$ROD::/ro" \
        "$(wasm ro)"
    check "ro.$mode.listing" test "$(cd "$ROD" && find . | LC_ALL=C sort |
        tr '\n' ' ')" = ". ./data.txt ./sub "
    check "ro.$mode.mtimes" test "$(stat -c %Y "$ROD" "$ROD/sub" \
        "$ROD/data.txt" | sort -u)" = "$(date -d '2001-01-01 00:00:00' +%s)"
    check "ro.$mode.content" test "$(cat "$ROD/data.txt")" = "read only"
done
