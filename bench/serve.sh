#!/usr/bin/env bash
# serve.sh CLI SERVER_WASM MODEL N RUNS — `make bench-serve`: streaming
# through the Wasm API server (`wasmind serve`, llama-api-server.wasm) vs
# native `wasmind llm generate`, on one model:
#   - generation rate: the same prompt, greedy, ignore-eos, N tokens; the
#     server's is measured by a python client reading the SSE stream of a
#     streaming /v1/completions, timestamping each event as it arrives:
#     (completion_tokens - 1) / (time from the first token's event to the
#     last token's), which is what native's "generation: N tokens in X ms"
#     measures (N - 1 decodes: from the first sample to the last; the
#     prompt excluded on both sides). Both generated texts must agree.
#   - time to first token for a 128-token prompt (BOS included, checked
#     against native's count and the server's usage.prompt_tokens): from
#     sending the request to the first token's event, next to native's
#     prompt evaluation time of the same prompt. (The server keeps its KV
#     cache between requests; consecutive prompts here share only BOS, so
#     it evaluates 127 of the 128 tokens. Its first token is sent once
#     compute_single returns, i.e. after that token's own decode too.)
# Native and server runs alternate RUNS times; best of each, the ratio
# server / native. Exit status 1 if any run fails.
set -uo pipefail
if (($# != 5)); then
    echo "usage: $0 CLI SERVER_WASM MODEL N RUNS" >&2
    exit 2
fi
CLI=$1 APP=$2 MODEL=$3 N=$4 RUNS=$5
PROMPT="Once upon a time"
# 127 two-letter lower-case words: one token each with the dummy prefix
# space in a llama (SentencePiece) vocabulary, BOS + 127 = 128.
PROMPT128=$(python3 -c 'w = "so we go up to an in my as it is by me".split()
print(" ".join(w[i % len(w)] for i in range(127)))')
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-serve.XXXXXX") || exit 1
SRV_PID= PORT= LOG=$TMP/server.log
fail() { echo "bench-serve: $*" >&2; exit 1; }
stop_server() {
    if [[ -n $SRV_PID ]]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
    fi
    SRV_PID=
}
trap 'stop_server; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# The client: `health PORT` (exit 0 once /health answers 200), or `stream
# PORT PROMPT MAX_TOKENS TEXT_OUT`: one streaming /v1/completions, greedy,
# ignore_eos, usage in the last chunk; prints "TTFT_MS GEN_MS
# COMPLETION_TOKENS PROMPT_TOKENS TEXT_EVENTS" and writes the text.
cat >"$TMP/client.py" <<'EOF'
import http.client, json, sys, time
port = int(sys.argv[2])
if sys.argv[1] == "health":
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/health")
        sys.exit(0 if c.getresponse().status == 200 else 1)
    except OSError:
        sys.exit(1)
prompt, n, out = sys.argv[3], int(sys.argv[4]), sys.argv[5]
body = json.dumps({"prompt": prompt, "max_tokens": n, "temperature": 0,
                   "ignore_eos": True, "stream": True,
                   "stream_options": {"include_usage": True}})
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
c.connect()
t0 = time.perf_counter()
c.request("POST", "/v1/completions", body=body,
          headers={"Content-Type": "application/json"})
r = c.getresponse()
if r.status != 200:
    sys.exit("status %d: %s" % (r.status, r.read()[:300]))
t_first = t_last = None
events = 0
text, usage, done = [], None, False
while True:
    line = r.readline()          # chunked decoding by http.client
    now = time.perf_counter()
    if not line:
        break
    line = line.rstrip(b"\r\n")
    if not line.startswith(b"data: "):
        continue
    data = line[6:]
    if data == b"[DONE]":
        done = True
        break
    j = json.loads(data)
    if "error" in j:
        sys.exit("error event: %s" % data[:300])
    if j.get("usage"):
        usage = j["usage"]
    for ch in j.get("choices", []):
        if ch.get("text"):
            text.append(ch["text"])
            events += 1
            if t_first is None:
                t_first = now
            t_last = now
        if ch.get("finish_reason"):
            # decided in the step that produced the last token
            t_last = now
            if t_first is None:
                t_first = now
if not done or usage is None or t_first is None:
    sys.exit("incomplete stream (done %s, usage %s)" % (done, usage))
open(out, "w").write("".join(text))
print("%.3f %.3f %d %d %d" % ((t_first - t0) * 1e3, (t_last - t_first) * 1e3,
                              usage["completion_tokens"],
                              usage["prompt_tokens"], events))
EOF
client() { python3 "$TMP/client.py" "$@"; }

start_server() {
    local try i
    for try in 1 2 3 4 5 6 7 8; do
        PORT=$((20000 + RANDOM % 40000))
        "$CLI" serve "$MODEL" --port "$PORT" --template plain --app "$APP" \
            --web none -- --quiet >"$LOG" 2>&1 &
        SRV_PID=$!
        for i in $(seq 1 600); do
            client health "$PORT" && return 0
            kill -0 "$SRV_PID" 2>/dev/null || break
            sleep 0.1
        done
        stop_server
        grep -q "Address already in use" "$LOG" || break
    done
    fail "the server did not start: $(tail -n 5 "$LOG")"
}

# native PROMPT N: "PROMPT_TOKENS PROMPT_MS GEN_TOKENS GEN_TPS"; stdout
# (the text, no echo) in $TMP/native.txt.
native() {
    "$CLI" llm generate -m "$MODEL" -p "$1" -n "$2" --temp 0 --ignore-eos \
        --no-echo 2>"$TMP/native.err" >"$TMP/native.txt" ||
        fail "native run failed: $(tail -n 3 "$TMP/native.err")"
    sed -n 's/^prompt: \([0-9]*\) tokens in \([0-9.]*\) ms.*generation: \([0-9]*\) tokens in [0-9.]* ms (\([0-9.]*\) t\/s).*/\1 \2 \3 \4/p' \
        "$TMP/native.err" | tail -n 1
}

best_max() { printf '%s\n' "$@" | sort -g | tail -n 1; }
best_min() { printf '%s\n' "$@" | sort -g | head -n 1; }

echo "model: $MODEL ($(du -h "$MODEL" | cut -f1)), $N tokens, greedy," \
     "best of $RUNS; TTFT prompt: 128 tokens"
start_server
# Warm-up: the engine context is built at the first request.
client stream "$PORT" "$PROMPT" 2 "$TMP/warm.txt" >/dev/null ||
    fail "warm-up request failed"
nat=() srv=() ttft=() pev=()
for ((r = 1; r <= RUNS; r++)); do
    read -r _ _ ng a <<<"$(native "$PROMPT" "$N")"
    [[ ${ng:-} == "$N" && -n ${a:-} ]] || fail "native run: no statistics"
    want=$(<"$TMP/native.txt")
    out=$(client stream "$PORT" "$PROMPT" "$N" "$TMP/srv.txt") ||
        fail "server run failed: $out"
    read -r _ gms ct _ ev <<<"$out"
    ((ct == N)) || fail "server generated $ct tokens, not $N"
    [[ $(<"$TMP/srv.txt") == "$want" ]] ||
        fail "server and native texts differ"
    b=$(awk -v n="$ct" -v ms="$gms" 'BEGIN { printf "%.2f", (n - 1) / (ms / 1e3) }')
    # TTFT, then native's prompt evaluation of the same 128 tokens.
    out=$(client stream "$PORT" "$PROMPT128" 4 "$TMP/srv128.txt") ||
        fail "server TTFT run failed: $out"
    read -r t _ _ pt _ <<<"$out"
    ((pt == 128)) || fail "the 128-token prompt is $pt tokens for the server"
    read -r np pms _ _ <<<"$(native "$PROMPT128" 1)"
    ((np == 128)) || fail "the 128-token prompt is $np tokens natively"
    note=
    ((ev == ct)) || note=" ($ev text events for $ct tokens)"
    printf 'run %d: native %s t/s, wasm server %s t/s%s; ttft %.1f ms, native prompt eval %s ms\n' \
        "$r" "$a" "$b" "$note" "$t" "$pms"
    nat+=("$a") srv+=("$b") ttft+=("$t") pev+=("$pms")
done
A=$(best_max "${nat[@]}") B=$(best_max "${srv[@]}")
T=$(best_min "${ttft[@]}") P=$(best_min "${pev[@]}")
echo "spread: native $(best_min "${nat[@]}")-$A t/s," \
     "wasm server $(best_min "${srv[@]}")-$B t/s"
awk -v a="$A" -v b="$B" 'BEGIN { printf "serve: native %.2f t/s, wasm server %.2f t/s, ratio %.3f (%+.1f%%)\n", a, b, b / a, (b / a - 1) * 100 }'
# One decode step (1000 / native t/s): what the server's first event
# waits for beyond the prompt (see the top).
awk -v t="$T" -v p="$P" -v a="$A" 'BEGIN { printf "ttft(128-token prompt): %.1f ms (native prompt eval %.1f ms; %+.1f ms, one native decode step %.1f ms)\n", t, p, t - p, 1000 / a }'
