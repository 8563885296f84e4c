#!/usr/bin/env bash
# wasm_llm.sh CLI APPDIR RUNS MODEL:N [MODEL:N ...] — `make bench-wasm-llm`:
# why the tensor layer belongs in native code. One model at a time, the
# same greedy generation (prompt "Once upon a time", N tokens) four ways,
# alternating RUNS times, best of each:
#
#   native        `wasmind llm generate` (default threads, SIMD kernels)
#   native -t 1   the same on one thread
#   wasi-nn       APPDIR/llama-simple.wasm, the guest driving the native
#                 engine through WASI-NN (--nn-preload)
#   pure wasm     APPDIR/llm-wasm.wasm, the engine itself compiled to
#                 wasm32-wasi (scalar kernels, one thread) and interpreted
#
# Prints prompt and generation tokens/s of each, each rate as a share of
# native's, and whether the three stdouts are equal (they are on a real
# model; a synthetic one's near-tied random logits may let scalar and SIMD
# rounding pick different tokens). Exit 1 if a run fails.
set -uo pipefail
if (($# < 4)); then
    echo "usage: $0 CLI APPDIR RUNS MODEL:N [MODEL:N ...]" >&2
    exit 2
fi
CLI=$1 APPDIR=$2 RUNS=$3
shift 3
PROMPT="Once upon a time"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# rates <stderr-file>: "PROMPT_TPS GEN_TPS" from a stats line.
rates() {
    sed -n 's/^prompt: [0-9]* tokens in [0-9.]* ms (\([0-9.]*\) t\/s); generation: [0-9]* tokens in [0-9.]* ms (\([0-9.]*\) t\/s).*/\1 \2/p' "$1" | tail -n 1
}
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }

for spec in "$@"; do
    model=${spec%:*} n=${spec##*:}
    [[ -s $model && $n =~ ^[0-9]+$ ]] || { echo "bench-wasm-llm: bad model spec '$spec'" >&2; exit 2; }
    dir=$(cd "$(dirname "$model")" && pwd) base=$(basename "$model")
    echo "model: $base ($(du -h "$model" | cut -f1)), $n tokens, greedy, best of $RUNS"
    names=(native native-t1 wasi-nn wasm)
    declare -A pp=() tg=()
    for ((r = 1; r <= RUNS; r++)); do
        for w in "${names[@]}"; do
            case $w in
            native) "$CLI" llm generate -m "$model" -p "$PROMPT" -n "$n" \
                --temp 0 ;;
            native-t1) "$CLI" llm generate -m "$model" -p "$PROMPT" -n "$n" \
                --temp 0 -t 1 ;;
            wasi-nn) "$CLI" run --nn-preload "default:GGML:AUTO:$model" \
                "$APPDIR/llama-simple.wasm" -n "$n" --temp 0 "$PROMPT" ;;
            wasm) "$CLI" run --dir-ro "$dir::/models" "$APPDIR/llm-wasm.wasm" \
                -m "/models/$base" -p "$PROMPT" -n "$n" --temp 0 ;;
            esac >"$TMP/$w.out" 2>"$TMP/$w.err"
            read -r a b <<<"$(rates "$TMP/$w.err")"
            if [[ -z ${a:-} || -z ${b:-} ]]; then
                echo "bench-wasm-llm: $w run failed:" >&2
                tail -n 3 "$TMP/$w.err" >&2
                exit 1
            fi
            pp[$w]+="$a " tg[$w]+="$b "
        done
    done
    # shellcheck disable=SC2086
    nat_tg=$(best ${tg[native]})
    thr=$(sed -n 's/.*; \([0-9]*\) threads.*/\1/p' "$TMP/native.err")
    printf '  %-34s %12s %12s %10s\n' "" "prompt t/s" "gen t/s" "gen/native"
    for w in "${names[@]}"; do
        case $w in
        native) label="native llm generate ($thr threads)" ;;
        native-t1) label="native llm generate (1 thread)" ;;
        wasi-nn) label="wasi-nn (llama-simple.wasm)" ;;
        wasm) label="pure wasm (llm-wasm.wasm, scalar)" ;;
        esac
        # shellcheck disable=SC2086
        awk -v l="$label" -v p="$(best ${pp[$w]})" -v g="$(best ${tg[$w]})" \
            -v n="$nat_tg" \
            'BEGIN { printf "  %-34s %12.2f %12.2f %10.4f\n", l, p, g, g / n }'
    done
    # shellcheck disable=SC2086
    awk -v n="$nat_tg" -v n1="$(best ${tg[native-t1]})" \
        -v nn="$(best ${tg[wasi-nn]})" -v w="$(best ${tg[wasm]})" 'BEGIN {
        printf "  generation: native is %.1fx pure wasm (%.1fx on one thread); wasi-nn is %.1fx pure wasm, %.3f of native\n",
            n / w, n1 / w, nn / w, nn / n }'
    same() { cmp -s "$TMP/$1.out" "$TMP/native.out" && echo same || echo DIFFERS; }
    echo "  stdout vs native: wasi-nn $(same wasi-nn), pure wasm $(same wasm)"
    echo
    unset pp tg
done
