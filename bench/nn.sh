#!/usr/bin/env bash
# nn.sh CLI LLAMA_SIMPLE_WASM MODEL N RUNS — `make bench-nn`: generation
# tokens/s of llama-simple.wasm through WASI-NN vs `wasmind llm generate`,
# greedy, same prompt, N tokens, alternating RUNS times; prints the best
# of each and the ratio (wasi-nn / native).
set -uo pipefail
CLI=$1 WASM=$2 MODEL=$3 N=$4 RUNS=$5
PROMPT="Once upon a time"
tps() { sed -n 's/.*generation: [0-9]* tokens in [0-9.]* ms (\([0-9.]*\) t\/s).*/\1/p' | tail -n 1; }
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
echo "model: $MODEL ($(du -h "$MODEL" | cut -f1)), $N tokens, greedy, best of $RUNS"
nat=() nn=()
for ((r = 1; r <= RUNS; r++)); do
    a=$("$CLI" llm generate -m "$MODEL" -p "$PROMPT" -n "$N" --temp 0 \
        2>&1 >/dev/null | tps)
    b=$("$CLI" run --nn-preload "default:GGML:AUTO:$MODEL" "$WASM" \
        -n "$N" --temp 0 "$PROMPT" 2>&1 >/dev/null | tps)
    [[ -n $a && -n $b ]] || { echo "bench-nn: a run failed" >&2; exit 1; }
    echo "run $r: native $a t/s, wasi-nn $b t/s"
    nat+=("$a") nn+=("$b")
done
A=$(best "${nat[@]}") B=$(best "${nn[@]}")
awk -v a="$A" -v b="$B" 'BEGIN { printf "native %.2f t/s, wasi-nn %.2f t/s, ratio %.3f (%+.1f%%)\n", a, b, b / a, (b / a - 1) * 100 }'
