# 50-misc.sh — clocks, random, proc_exit/proc_raise, traps, exit codes and
# --max-memory (misc.c).

wasi_case misc.calls 0 misc_calls.out -- "$(wasm misc)" calls
wasi_case misc.exit-42 42 '=' -- "$(wasm misc)" exit 42
wasi_case misc.exit-0 0 '=' -- "$(wasm misc)" exit 0
wasi_case misc.trap 134 '=' -- "$(wasm misc)" trap
check misc.trap.msg grep -q 'unreachable' "$CASE_ERR"

# --max-memory: growing up to the cap works, past it memory.grow gives -1.
wasi_case mem.cap-4M 0 misc_memory.out -- --max-memory 4M \
    "$(wasm misc)" memory 4194304
wasi_case mem.cap-bytes 0 misc_memory.out -- --max-memory 8388608 \
    "$(wasm misc)" memory 8388608
wasi_case mem.cap-k 0 misc_memory.out -- --max-memory=2048K \
    "$(wasm misc)" memory 2097152
wasi_case mem.uncapped 0 '=ok grow' -- "$(wasm misc)" grow 1000
wasi_case mem.capped 1 '=FAIL grow: memory.grow failed' -- \
    --max-memory 1M "$(wasm misc)" grow 1000
# A module whose initial memory exceeds the cap does not start.
wasi_case mem.below-initial 1 '=' -- --max-memory 64K "$(wasm misc)" calls
check mem.below-initial.msg grep -q 'limit' "$CASE_ERR"
for bad in 0 5G abc 1.5M -1 4X; do
    wasi_case "mem.usage.$bad" 2 '=' -- --max-memory "$bad" "$(wasm misc)"
done
