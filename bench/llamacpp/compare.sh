#!/bin/sh
# compare.sh WASMIND LLAMACPP_BENCH "THREADS" REPS SANITY_MODEL MODEL...
# The body of `make bench-llamacpp`:
#   1. sanity: greedy 64 tokens from SANITY_MODEL (stories260K) by
#      llama.cpp and by `wasmind llm generate --temp 0` must be the same text;
#   2. per MODEL and thread count, llama.cpp (llamacpp_bench, llama-bench's
#      method) then `wasmind llm bench`, back to back in the same run, both
#      pp128 / tg64 t/s mean ± sd over REPS, and the ratios wasmind/llama.cpp.
set -u
wm=$1 lc=$2 threads=$3 reps=$4 sanity=$5
shift 5

field() {   # field NAME JSON-LINE
    echo "$2" | sed -n "s/.*\"$1\": \"*\([^,\"}]*\)\"*[,}].*/\1/p"
}

"$lc" --info | sed -n 's/^cpu_variant: /llama.cpp CPU backend: libggml-cpu-/p;
                       s/^features: /llama.cpp CPU features: /p'
echo "llama.cpp: $(cat "$(dirname "$lc")/include/LLAMA_COMMIT")" \
     "(node-llama-cpp prebuilt), flash-attn off, KV F16, mmap"

if [ -f "$sanity" ]; then
    b=""
    a=$("$lc" -m "$sanity" --gen "Once upon a time" -n 64 -t 1) &&
    b=$("$wm" llm generate -m "$sanity" -p "Once upon a time" --temp 0 \
            -n 64 --no-echo -t 1 2>/dev/null) || a="(failed)"
    if [ "$a" = "$b" ]; then
        echo "greedy output on $(basename "$sanity"): identical"
    else
        echo "greedy output on $(basename "$sanity"): DIFFERS"
        echo "  llama.cpp: $a"
        echo "  wasmind:   $b"
    fi
fi

printf '\n%-26s %-5s %3s  %-29s  %-29s  %s\n' model type thr \
       "llama.cpp pp128 / tg64 t/s" "wasmind pp128 / tg64 t/s" \
       "wasmind/llama.cpp pp / tg"
raw=$(dirname "$lc")/last-run.jsonl   # both engines' JSON, this run
: >"$raw"
rc=0
for m in "$@"; do
    for t in $threads; do
        l=$("$lc" -m "$m" -t "$t" -p 128 -n 64 -r "$reps" --json) &&
        w=$("$wm" llm bench -m "$m" -t "$t" -p 128 -n 64 -r "$reps" \
                --no-bw --json) || { rc=1; continue; }
        printf '%s\n%s\n' "$l" "$w" >>"$raw"
        lpp=$(field pp_tps "$l") lpps=$(field pp_tps_sd "$l")
        ltg=$(field tg_tps "$l") ltgs=$(field tg_tps_sd "$l")
        wpp=$(field pp_tps "$w") wpps=$(field pp_tps_sd "$w")
        wtg=$(field tg_tps "$w") wtgs=$(field tg_tps_sd "$w")
        awk -v m="$(basename "$m")" -v ty="$(field type "$w")" -v t="$t" \
            -v lpp="$lpp" -v lpps="$lpps" -v ltg="$ltg" -v ltgs="$ltgs" \
            -v wpp="$wpp" -v wpps="$wpps" -v wtg="$wtg" -v wtgs="$wtgs" \
            'BEGIN {
                f = "%-26s %-5s %3d  %6.2f ±%5.2f / %6.2f ±%5.2f"
                f = f "  %6.2f ±%5.2f / %6.2f ±%5.2f  %5.2fx / %5.2fx\n"
                rpp = lpp > 0 ? wpp / lpp : 0
                rtg = ltg > 0 ? wtg / ltg : 0
                printf f, m, ty, t, lpp, lpps, ltg, ltgs, wpp, wpps, wtg,
                       wtgs, rpp, rtg
            }'
    done
done
echo "(raw JSON of both engines: $raw)"
exit $rc
