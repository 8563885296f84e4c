#!/usr/bin/env bash
# run.sh CLI APPDIR MODELS_DIR TMPDIR — the API server suite (`make
# server-test`): `wasmind serve` runs APPDIR/llama-api-server.wasm with
# stories260K on 127.0.0.1 (a random free port, retried when taken), and
# curl / python clients check, each bounded by a timeout:
#   1. health, models, CORS preflight, static files (+ traversal refused);
#   2. chat and completions, non-streaming and streaming: the content
#      equals `wasmind llm generate` greedy output on the rendered prompt,
#      the streamed deltas concatenate to the non-streamed content, SSE
#      shape, [DONE] last, usage; embeddings equal `wasmind llm embed`
#      (JSON floats and base64), and chat is unchanged after them;
#   3. bad requests: malformed JSON, wrong types, missing fields, oversized
#      bodies (Content-Length and chunked), huge headers, unknown routes,
#      wrong methods, garbage request lines — each an OpenAI-shaped error
#      with the right status;
#   4. connections: keep-alive, pipelining, chunked request bodies, HTTP/1.0,
#      a slow client (408 after --timeout, others served meanwhile), a
#      half-closed client, a client disconnecting mid-stream (generation
#      stopped at once), a full queue (503); load: 50 clients x 5 requests
#      at once, twice (250 results a round, each 200 with a whole body or
#      503 queue_full), and the server's VmRSS after round 2 less than
#      1 MiB above its VmRSS after round 1 (an ASan build gets a server of
#      its own for this, with quarantine_size_mb=0);
#   5. npm clients, each pinned by a committed package-lock.json and
#      installed with `npm ci` into TMPDIR/npm-<lock checksum> once (one
#      shell function, npm_install):
#      a. the official `openai` client (tests/server/openai): models, chat,
#         streaming, completions, embeddings, an API error (not run without
#         npm); the web page's own SSE reader under node's fetch;
#      b. the web chat page (GET /) in headless Chromium (/usr/bin/chromium)
#         driven by playwright-core (tests/server/web, web_page.mjs): a
#         typed message streams the greedy chat content, growing in place;
#         a second turn equals the non-streaming answer; no page errors; a
#         screenshot in TMPDIR/web-page.png; the browser killed afterwards.
#         Without Chromium or npm this fails;
#   6. `wasmind serve` errors; the server's own socket (--socket-addr,
#      WasmEdge's socket extension);
# and after every group the server must still answer /health. Ends with
# "N passed, N failed"; exit status 1 if any check failed.
set -uo pipefail
if (($# != 4)); then
    echo "usage: $0 CLI APPDIR MODELS_DIR TMPDIR" >&2
    exit 2
fi
CLI=$1 APPDIR=$2 MODELS=$3 BASE_TMP=$4
WEB=$(cd "$(dirname "$0")/../../apps/web" && pwd)
STORIES=$MODELS/stories260K.gguf
# Files of this run in a directory of its own (several runs may share the
# tree: concurrent `make test`s); the npm install is shared, see below.
mkdir -p "$BASE_TMP"
TMP=$(mktemp -d "$BASE_TMP/run.XXXXXX") || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; }
check() {   # NAME COND-EXIT-STATUS [details...]
    local name=$1 st=$2
    shift 2
    if ((st == 0)); then ok; else bad "$name" "$@"; fi
}
PY=$(command -v python3 || true)
if ! command -v curl >/dev/null || [[ -z $PY ]]; then
    echo "server tests need curl and python3"
    echo "0 passed, 1 failed"
    exit 1
fi

SRV_PID= PORT= LOG=$TMP/server.log
# start_server [server args after --]: wasmind serve on a free port.
start_server() {
    local try
    for try in 1 2 3 4 5 6 7 8; do
        PORT=$((20000 + RANDOM % 40000))
        "$CLI" serve "$STORIES" --port "$PORT" --template plain \
            --app "$APPDIR/llama-api-server.wasm" --web "$WEB" \
            -- "$@" >"$LOG" 2>&1 &
        SRV_PID=$!
        local i
        for i in $(seq 1 100); do
            if curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/health"; then
                return 0
            fi
            kill -0 "$SRV_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        grep -q "Address already in use" "$LOG" || break
    done
    echo "server did not start: $(tail -n 5 "$LOG")"
    return 1
}
stop_server() {
    if [[ -n $SRV_PID ]]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
    fi
    SRV_PID=
}
trap 'stop_server; rm -rf "$TMP"' EXIT

U() { echo "http://127.0.0.1:$PORT$1"; }
# req METHOD PATH [curl args...]: status code in $code, body in $TMP/body.
req() {
    local m=$1 p=$2
    shift 2
    code=$(curl -s -m 20 -X "$m" -o "$TMP/body" -w '%{http_code}' \
        "$@" "$(U "$p")")
}
# jq-like: py EXPR — evaluate a Python expression over j = the JSON body.
py() { "$PY" -c "import json,sys; j=json.load(open('$TMP/body')); print($1)" 2>/dev/null; }
alive() {   # NAME: the server still answers /health
    req GET /health
    if [[ $code == 200 ]] && kill -0 "$SRV_PID" 2>/dev/null; then ok; else
        bad "server alive after $1" "status $code" "$(tail -n 5 "$LOG")"; fi
}
# expect_error NAME STATUS CODE METHOD PATH [curl args]: an OpenAI-shaped
# error with that HTTP status and error.code.
expect_error() {
    local name=$1 st=$2 ecode=$3
    shift 3
    req "$@"
    local got
    got=$(py "j['error']['code'], isinstance(j['error']['message'], str) and len(j['error']['message']) > 0, j['error']['type']")
    if [[ $code == "$st" && $got == "$ecode True "* ]]; then ok; else
        bad "$name: want $st $ecode" "got $code: $(head -c 300 "$TMP/body")"; fi
}

GEN() {   # PROMPT N [extra]: greedy text of the native engine (no echo;
          # without the newline the CLI ends its output with)
    local t
    t=$("$CLI" llm generate -m "$STORIES" -p "$1" -n "$2" --temp 0 \
        --no-echo "${@:3}" 2>/dev/null; echo x)
    t=${t%x}
    printf '%s' "${t%$'\n'}"
}

if ! start_server --timeout 2 --queue 3 --max-body 65536; then
    echo "$pass passed, $((fail + 1)) failed"
    exit 1
fi

# ---- 1. health, models, CORS, static files ---------------------------
req GET /health
[[ $code == 200 && $(py "j['status']") == ok ]]
check "GET /health" $? "$code $(cat "$TMP/body")"
req GET /v1/models
[[ $code == 200 && $(py "j['object'], j['data'][0]['id'], j['data'][0]['object']") == "list stories260K.gguf model" ]]
check "GET /v1/models" $? "$code $(cat "$TMP/body")"
hdr=$(curl -s -m 5 -i -X OPTIONS -H 'Origin: http://example.com' \
    -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type, authorization' \
    "$(U /v1/chat/completions)" | tr -d '\r')
grep -q '^HTTP/1.1 204' <<<"$hdr" &&
    grep -qi '^Access-Control-Allow-Origin: \*' <<<"$hdr" &&
    grep -qi '^Access-Control-Allow-Methods: .*POST' <<<"$hdr" &&
    grep -qi '^Access-Control-Allow-Headers: content-type, authorization' <<<"$hdr"
check "CORS preflight" $? "$hdr"
hdr=$(curl -s -m 5 -i -H 'Origin: http://x' "$(U /health)" | tr -d '\r')
grep -qi '^Access-Control-Allow-Origin: \*' <<<"$hdr"
check "CORS header on responses" $? "$hdr"
for p in / /static/index.html; do
    ct=$(curl -s -m 5 -o "$TMP/page" -w '%{http_code} %{content_type}' "$(U "$p")")
    [[ $ct == "200 text/html; charset=utf-8" ]] && cmp -s "$TMP/page" "$WEB/index.html"
    check "GET $p: the web page" $? "$ct"
done
for p in /static/../../../etc/passwd /static/%2e%2e/%2e%2e/etc/passwd \
    /static/..%2fMakefile /static/nope.css /static/ /static//etc/passwd; do
    c=$(curl -s -m 5 --path-as-is -o "$TMP/body" -w '%{http_code}' "$(U "$p")")
    [[ $c == 404 ]] && ! grep -q root: "$TMP/body"
    check "GET $p refused" $? "$c $(head -c 200 "$TMP/body")"
done
expect_error "unknown route" 404 not_found GET /v1/nothing
expect_error "GET on a POST route" 405 method_not_allowed GET /v1/chat/completions
expect_error "POST on a GET route" 405 method_not_allowed POST /v1/models -d '{}'
expect_error "GET on /v1/embeddings" 405 method_not_allowed GET /v1/embeddings

# ---- 2. generation equals the native engine ----------------------------
CHAT='{"model": "stories", "messages": [{"role": "user", "content": "Once upon a time"}], "temperature": 0, "max_tokens": 48'
want=$(GEN $'User: Once upon a time\nAssistant:' 48 --stop $'\nUser:'; echo x)
want=${want%x}
req POST /v1/chat/completions -H 'Content-Type: application/json' -d "$CHAT}"
got=$(py "j['choices'][0]['message']['content']"; echo x)
got=${got%$'\n'x}
shape=$(py "j['object'], j['choices'][0]['message']['role'], j['choices'][0]['finish_reason'] in ('stop', 'length'), j['usage']['prompt_tokens'] > 5, j['usage']['completion_tokens'] > 0, j['usage']['total_tokens'] == j['usage']['prompt_tokens'] + j['usage']['completion_tokens'], j['id'].startswith('chatcmpl-')")
[[ $code == 200 && $shape == "chat.completion assistant True True True True True" ]]
check "chat: response shape" $? "$code $shape $(head -c 400 "$TMP/body")"
[[ -n $got && $got == "$want" ]]
check "chat: content = greedy native output on the rendered prompt" $? \
    "server: $(printf %q "$got")" "native: $(printf %q "$want")"
chat_content=$got

sse_check() {   # NAME KIND(chat|text) EXPECTED-CONTENT: parse $TMP/body as SSE
    "$PY" - "$TMP/body" "$2" "$3" <<'EOF'
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
kind, want = sys.argv[2], sys.argv[3]
events = [e for e in raw.split("\n\n") if e.strip()]
assert raw.endswith("\n\n"), "stream does not end with a blank line"
assert all(e.startswith("data: ") for e in events), "event without data:"
assert events[-1] == "data: [DONE]", "last event is not [DONE]: " + events[-1]
chunks = [json.loads(e[6:]) for e in events[:-1]]
text, finish, usage = "", None, None
for c in chunks:
    assert c["object"] == ("chat.completion.chunk" if kind == "chat" else "text_completion")
    assert c["id"] == chunks[0]["id"]
    if c.get("usage"):
        usage = c["usage"]
        assert c["choices"] == []
        continue
    ch = c["choices"][0]
    assert finish is None, "content after finish_reason"
    if kind == "chat":
        text += ch["delta"].get("content", "")
    else:
        text += ch["text"]
    finish = ch["finish_reason"]
assert finish in ("stop", "length"), finish
assert usage and usage["completion_tokens"] > 0 and usage["prompt_tokens"] > 0
assert text == want, (text, want)
if kind == "chat":
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"
print("ok", len(chunks))
EOF
}
ct=$(curl -s -m 20 -N -o "$TMP/body" -w '%{http_code} %{content_type}' \
    "$(U /v1/chat/completions)" \
    -d "$CHAT, \"stream\": true, \"stream_options\": {\"include_usage\": true}}")
out=$(sse_check chat chat "$chat_content" 2>&1)
[[ $ct == "200 text/event-stream" && $out == ok* ]]
check "chat stream: SSE shape, deltas = non-streamed content, [DONE] last" $? \
    "$ct" "$out" "$(head -c 300 "$TMP/body")"

want=$(GEN "The dog" 30; echo x)
want=${want%x}
req POST /v1/completions -d '{"prompt": "The dog", "max_tokens": 30, "temperature": 0}'
got=$(py "j['choices'][0]['text']"; echo x)
got=${got%$'\n'x}
[[ $code == 200 && $(py "j['object'], j['choices'][0]['finish_reason'], j['usage']['completion_tokens']") == "text_completion length 30" ]]
check "completions: shape, 30 tokens" $? "$code $(head -c 300 "$TMP/body")"
[[ -n $got && $got == "$want" ]]
check "completions: text = greedy native output" $? \
    "server: $(printf %q "$got")" "native: $(printf %q "$want")"
cmpl_content=$want
curl -s -m 20 -N -o "$TMP/body" "$(U /v1/completions)" \
    -d '{"prompt": ["The dog"], "max_tokens": 30, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}'
out=$(sse_check text text "$want" 2>&1)
[[ $out == ok* ]]
check "completions stream = non-streamed text" $? "$out"
# Stop strings (string and array): the text ends before the stop.
stop=${want:6:3}
req POST /v1/completions -d "{\"prompt\": \"The dog\", \"max_tokens\": 30, \"temperature\": 0, \"stop\": [\"zzzz\", $(printf '%s' "$stop" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')]}"
got=$(py "j['choices'][0]['text']"; echo x)
got=${got%$'\n'x}
want_stop=${want%%"$stop"*}
[[ $code == 200 && $got == "$want_stop" && $(py "j['choices'][0]['finish_reason']") == stop ]]
check "completions: stop string cuts the text" $? "stop=$(printf %q "$stop")" \
    "server: $(printf %q "$got")" "want: $(printf %q "$want_stop")"
# A system message and a multi-turn conversation render with the template.
req POST /v1/chat/completions -d '{"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": [{"type": "text", "text": "Tell"}, {"type": "text", "text": " me"}]}], "temperature": 0, "max_tokens": 20}'
want=$(GEN $'Be kind.\n\nUser: Hi\nAssistant: Hello\nUser: Tell me\nAssistant:' 20 --stop $'\nUser:'; echo x)
want=${want%x}
got=$(py "j['choices'][0]['message']['content']"; echo x)
got=${got%$'\n'x}
[[ $code == 200 && $got == "$want" ]]
check "chat: system + multi-turn + content parts rendered" $? \
    "server: $(printf %q "$got")" "native: $(printf %q "$want")"
# Seeded sampling is reproducible.
S='{"prompt": "Once", "max_tokens": 20, "temperature": 0.9, "seed": 42}'
req POST /v1/completions -d "$S"
a=$(py "j['choices'][0]['text']")
req POST /v1/completions -d "$S"
b=$(py "j['choices'][0]['text']")
[[ -n $a && $a == "$b" ]]
check "same seed, same text" $? "$a" "$b"
# Embeddings: each vector equals `wasmind llm embed` (same digits), in
# input order; base64 is the same float32 values; usage counts tokens.
native_embd() { "$CLI" llm embed -m "$STORIES" -p "$1" 2>&1; }
E1=$(native_embd "Once upon a time") E2=$(native_embd "The dog ran")
req POST /v1/embeddings -d '{"model": "stories", "input": ["Once upon a time", "The dog ran"]}'
out=$("$PY" - "$TMP/body" "$E1" "$E2" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
w = [json.loads(a)["embedding"] for a in sys.argv[2:]]
assert j["object"] == "list" and j["model"] == "stories260K.gguf", j
d = j["data"]
assert [x["index"] for x in d] == [0, 1] and all(x["object"] == "embedding" for x in d)
assert d[0]["embedding"] == w[0] and d[1]["embedding"] == w[1], "vectors differ from native"
assert abs(sum(x * x for x in w[0]) - 1) < 1e-5, "not unit length"
u = j["usage"]
assert u["prompt_tokens"] == u["total_tokens"] and u["prompt_tokens"] >= 6, u
print("ok")
PYEOF
)
[[ $code == 200 && $out == ok ]]
check "embeddings: vectors = \`wasmind llm embed\`, order, usage" $? "$code $out" "$(head -c 300 "$TMP/body")"
req POST /v1/embeddings -d '{"input": "Once upon a time", "encoding_format": "base64"}'
out=$("$PY" - "$TMP/body" "$E1" <<'PYEOF'
import base64, json, struct, sys
j = json.load(open(sys.argv[1]))
w = json.loads(sys.argv[2])["embedding"]
raw = base64.b64decode(j["data"][0]["embedding"])
v = struct.unpack("<%df" % (len(raw) // 4), raw)
assert len(v) == len(w) and all(struct.pack("<f", a) == struct.pack("<f", b) for a, b in zip(v, w)), "base64 differs"
print("ok")
PYEOF
)
[[ $code == 200 && $out == ok ]]
check "embeddings: base64 = the same float32 values" $? "$code $out" "$(head -c 300 "$TMP/body")"
# Generation after an embedding: unchanged (the cache was reset).
req POST /v1/chat/completions -d "$CHAT}"
got=$(py "j['choices'][0]['message']['content']"; echo x)
got=${got%$'\n'x}
[[ $code == 200 && $got == "$chat_content" ]]
check "chat after embeddings = the same greedy content" $? "$(printf %q "$got")"
alive "generation"

# ---- 3. bad requests -----------------------------------------------------
P=/v1/chat/completions
expect_error "malformed JSON" 400 invalid_json POST $P -d '{"messages": [}'
expect_error "trailing comma" 400 invalid_json POST $P -d '{"messages": [],}'
expect_error "invalid UTF-8" 400 invalid_json POST $P --data-binary $'{"messages": "\xff"}'
expect_error "empty body" 400 invalid_json POST $P
expect_error "body not an object" 400 invalid_type POST $P -d '[1, 2]'
expect_error "missing messages" 400 missing_field POST $P -d '{"model": "x"}'
expect_error "messages not an array" 400 invalid_type POST $P -d '{"messages": "hi"}'
expect_error "empty messages" 400 invalid_type POST $P -d '{"messages": []}'
expect_error "bad role" 400 invalid_value POST $P -d '{"messages": [{"role": "wizard", "content": "x"}]}'
expect_error "missing content" 400 missing_field POST $P -d '{"messages": [{"role": "user"}]}'
expect_error "content a number" 400 invalid_type POST $P -d '{"messages": [{"role": "user", "content": 5}]}'
M='"messages": [{"role": "user", "content": "x"}]'
expect_error "temperature a string" 400 invalid_value POST $P -d "{$M, \"temperature\": \"hot\"}"
[[ $(py "j['error']['param']") == temperature ]]
check "error names the param" $? "$(cat "$TMP/body")"
expect_error "temperature out of range" 400 invalid_value POST $P -d "{$M, \"temperature\": 7}"
expect_error "max_tokens a float" 400 invalid_value POST $P -d "{$M, \"max_tokens\": 1.5}"
expect_error "max_tokens zero" 400 invalid_value POST $P -d "{$M, \"max_tokens\": 0}"
expect_error "stream a string" 400 invalid_type POST $P -d "{$M, \"stream\": \"yes\"}"
expect_error "stop a number" 400 invalid_type POST $P -d "{$M, \"stop\": 5}"
expect_error "stop: 5 strings" 400 invalid_type POST $P -d "{$M, \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}"
expect_error "seed negative" 400 invalid_value POST $P -d "{$M, \"seed\": -3}"
expect_error "n = 2" 400 invalid_value POST $P -d "{$M, \"n\": 2}"
expect_error "model a number" 400 invalid_type POST $P -d "{$M, \"model\": 1}"
expect_error "completions: missing prompt" 400 missing_field POST /v1/completions -d '{}'
expect_error "completions: prompt a number" 400 invalid_type POST /v1/completions -d '{"prompt": 3}'
E=/v1/embeddings
expect_error "embeddings: missing input" 400 missing_field POST $E -d '{"model": "x"}'
expect_error "embeddings: input a number" 400 invalid_type POST $E -d '{"input": 5}'
expect_error "embeddings: token arrays" 400 invalid_type POST $E -d '{"input": [1, 2, 3]}'
expect_error "embeddings: empty string" 400 invalid_value POST $E -d '{"input": ""}'
expect_error "embeddings: empty array" 400 invalid_value POST $E -d '{"input": []}'
expect_error "embeddings: array with a null" 400 invalid_value POST $E -d '{"input": ["a", null]}'
expect_error "embeddings: bad encoding_format" 400 invalid_value POST $E -d '{"input": "a", "encoding_format": "hex"}'
expect_error "embeddings: dimensions" 400 invalid_value POST $E -d '{"input": "a", "dimensions": 8}'
expect_error "embeddings: model a number" 400 invalid_type POST $E -d '{"input": "a", "model": 1}'
expect_error "deep nesting" 400 invalid_json POST $P -d "$(printf '%.0s[' $(seq 1 200))"
head -c 70000 /dev/zero | tr '\0' 'a' >"$TMP/big"
expect_error "oversized body (Content-Length)" 413 request_too_large POST $P --data-binary @"$TMP/big"
expect_error "oversized body (chunked)" 413 request_too_large POST $P -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big"
expect_error "oversized headers" 431 bad_request GET /health -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' 'b')"
# A prompt longer than the context: 400 context_length_exceeded.
long=$(printf 'Once upon a time there was a dog. %.0s' $(seq 1 500))
expect_error "prompt longer than the context" 400 context_length_exceeded POST /v1/completions -d "{\"prompt\": \"$long\"}"
expect_error "embedding input longer than the context" 400 context_length_exceeded POST /v1/embeddings -d "{\"input\": [\"short\", \"$long\"]}"
alive "bad requests"

# Raw bytes over a socket: RAW NAME EXPECTED-STATUS-LINE-REGEX PYTHON-SEND-STEPS
raw() {
    "$PY" - "$PORT" "$1" <<'EOF'
import socket, sys, time
port, script = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
data = b""
def post(path, body, extra=b""):
    return b"POST %s HTTP/1.1\r\nContent-Length: %d\r\n%s\r\n%s" % (
        path.encode(), len(body), extra, body)
def recv_all():
    global data
    while True:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        data += b
exec(script)
sys.stdout.write(data.decode("utf-8", "replace"))
EOF
}
out=$(raw 's.sendall(b"GARBAGE\r\n\r\n"); recv_all()')
[[ $out == "HTTP/1.1 400 "* ]]
check "garbage request line: 400 and close" $? "$(head -c 200 <<<"$out")"
out=$(raw 's.sendall(b"GET /health HTTP/2.0\r\n\r\n"); recv_all()')
[[ $out == "HTTP/1.1 505 "* ]]
check "HTTP/2.0 request line: 505" $? "$(head -c 200 <<<"$out")"
out=$(raw 's.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"); recv_all()')
[[ $out == "HTTP/1.1 400 "* ]]
check "Content-Length with chunked: 400" $? "$(head -c 200 <<<"$out")"
out=$(raw 's.sendall(b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"); recv_all()')
[[ $out == "HTTP/1.1 400 "* ]]
check "malformed chunk size: 400" $? "$(head -c 200 <<<"$out")"
alive "raw garbage"

# ---- 4. connections ------------------------------------------------------
n=$(curl -s -m 10 -o /dev/null -o /dev/null -w '%{num_connects} ' "$(U /health)" "$(U /v1/models)")
[[ $n == "1 0 " ]]
check "keep-alive: two requests, one connection" $? "num_connects: $n"
out=$(raw 's.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); recv_all()')
[[ $(grep -o 'HTTP/1.1 200' <<<"$out" | wc -l) == 2 && $out == *'"status":"ok"'*'HTTP/1.1 200'*'"object":"list"'* ]]
check "pipelined requests: both answered in order" $? "$(head -c 300 <<<"$out")"
out=$(raw 's.sendall(b"GET /health HTTP/1.0\r\n\r\n"); recv_all()')
[[ $out == "HTTP/1.1 200 "* && $out == *"Connection: close"* && $out == *'"status":"ok"'* ]]
check "HTTP/1.0: answered, then closed" $? "$(head -c 300 <<<"$out")"
printf '{"prompt": "The dog", "max_tokens": 5, "temperature": 0}' >"$TMP/small.json"
req POST /v1/completions -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/small.json"
[[ $code == 200 && $(py "j['usage']['completion_tokens']") == 5 ]]
check "chunked request body" $? "$code $(head -c 300 "$TMP/body")"
# Expect: 100-continue (curl sends it for bodies over 1 KiB).
pad=$(head -c 3000 /dev/zero | tr '\0' ' ')
req POST /v1/completions -H 'Expect: 100-continue' -d "{\"prompt\": \"The dog\",$pad \"max_tokens\": 3}"
[[ $code == 200 ]]
check "Expect: 100-continue" $? "$code"

# Half-closed client: sends the request, shuts down its write side, reads.
out=$(raw 's.sendall(post("/v1/completions", b"{\"prompt\": \"The dog\", \"max_tokens\": 4}")); s.shutdown(socket.SHUT_WR); recv_all()')
[[ $out == "HTTP/1.1 200 "* && $out == *'"completion_tokens":4'* ]]
check "half-closed client still gets its answer" $? "$(head -c 300 <<<"$out")"

# Slow client: half a request, then silence: 408 after --timeout (2 s),
# while another client is served meanwhile.
"$PY" - "$PORT" >"$TMP/slow.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-Le")
t0 = time.time()
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(round(time.time() - t0, 1), data.decode().split("\r\n")[0])
EOF
slow=$!
sleep 0.5
t0=$(date +%s%N)
req GET /health
t1=$(date +%s%N)
[[ $code == 200 ]] && (((t1 - t0) < 1000000000))
check "served while a slow client stalls" $? "$code $(((t1 - t0) / 1000000)) ms"
wait "$slow"
out=$(cat "$TMP/slow.out")
[[ $out =~ ^[1-4](\.[0-9])?\ HTTP/1.1\ 408 ]]
check "slow client: 408 after the timeout, connection closed" $? "$out"
# Idle keep-alive connection: closed after the timeout without a reply.
out=$(raw 's.settimeout(8); t=time.time(); recv_all(); data=("%d " % round(time.time()-t)).encode() + data')
[[ $out =~ ^[1-4]\ $ ]]
check "idle connection closed after the timeout" $? "$out"
alive "slow clients"

# Disconnect in the middle of a stream: the generation stops at once and
# the next request is served.
out=$(raw 's.sendall(post("/v1/completions", b"{\"prompt\": \"Once\", \"stream\": true, \"ignore_eos\": true, \"max_tokens\": 100000}"))
while b"data: {" not in data:
    data += s.recv(4096)
s.close()')
[[ $out == *"data: {"* ]]
check "stream started before the disconnect" $? "$(head -c 200 <<<"$out")"
sleep 0.5
line=$(grep 'client gone after' "$LOG" | tail -n 1)
ntok=$(sed -n 's/.*client gone after \([0-9]*\) tokens.*/\1/p' <<<"$line")
[[ -n $ntok ]] && ((ntok < 400))
check "disconnect mid-stream stops the generation" $? "log: $line"
req POST /v1/completions -d '{"prompt": "The dog", "max_tokens": 30, "temperature": 0}'
[[ $code == 200 && $(py "j['usage']['completion_tokens']") == 30 ]]
check "served after a mid-stream disconnect" $? "$code"

# A full queue answers 503: five long generations at once with --queue 3:
# one runs, three wait, one is refused; the waiting ones all complete.
LONG='{"prompt": "Once", "ignore_eos": true, "max_tokens": 2000}'
pids=()
for i in 1 2 3 4 5; do
    curl -s -m 60 -o "$TMP/q$i" -w '%{http_code}\n' "$(U /v1/completions)" \
        -d "$LONG" >"$TMP/q$i.code" &
    pids+=($!)
done
sleep 0.3
req GET /health
busy=$(py "j['busy'], j['queued']")
wait "${pids[@]}"
codes=$(sort "$TMP"/q[1-5].code | tr '\n' ' ')
[[ $codes == "200 200 200 200 503 " ]]
check "full queue: four answered, one 503" $? "$codes (health: $busy)"
grep -q '"code":"queue_full"' "$TMP"/q[1-5]
check "full queue: error code queue_full" $?
[[ $busy == "True 3" ]]
check "health reports busy and the queue length" $? "$busy"

# Load: 50 clients x 5 requests at once, two identical rounds (odd
# clients stream, even ones do not; max_tokens 4; python threads, one
# process instead of 250 curls a round): every request is
# answered 200 with a complete body or 503 queue_full — exactly 250 results
# a round — and the server's memory is flat: its VmRSS after round 2 at
# most RSS_BOUND_KB above its VmRSS after round 1 (round 1 is the warm-up:
# the guest's linear memory only grows, buffers reach their sizes). SRV_PID
# is the `wasmind serve` process itself (checked), which runs the guest.
RSS_BOUND_KB=1024
srv_cmd=$(tr '\0' ' ' <"/proc/$SRV_PID/cmdline" 2>/dev/null)
[[ $srv_cmd == "$CLI serve "* ]]
check "SRV_PID is the wasmind serve process" $? "$srv_cmd"
# An ASan build keeps freed blocks in its quarantine (256 MiB by default),
# so its RSS grows with every free(): for this group a server with the same
# options and quarantine_size_mb=0 (the suite's server stopped first, its
# log checked for a crash, as at the end of the run).
if grep -qa __asan_init "$CLI"; then
    stop_server
    if grep -qiE 'trap|sanitizer|segmentation|panic' "$LOG"; then
        bad "server log shows a crash" "$(grep -iE 'trap|sanitizer' "$LOG" | head -3)"
    else ok; fi
    LOG=$TMP/server-load.log
    if ! ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=0 \
        start_server --timeout 2 --queue 3 --max-body 65536; then
        echo "$pass passed, $((fail + 1)) failed"
        exit 1
    fi
fi
# load_round: 50 client threads x 5 requests (each on a new connection,
# bounded by a 60 s socket timeout), then each status with its body: 200 a
# whole completion (a stream ends with [DONE]), 503 an OpenAI error
# queue_full, nothing else. Prints "ok N-200 N-503".
load_round() {
    "$PY" - "$PORT" <<'EOF'
import http.client, json, sys, threading
port = int(sys.argv[1])
res = [[None] * 5 for _ in range(50)]
def client(i):
    stream = "true" if i % 2 else "false"
    for k in range(5):
        body = ('{"messages": [{"role": "user", "content": "Hi %d"}], '
                '"max_tokens": 4, "stream": %s}' % (k + 1, stream))
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", "/v1/chat/completions", body,
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            res[i][k] = (r.status, r.read().decode("utf-8"))
            c.close()
        except Exception as e:
            res[i][k] = (0, repr(e))
threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
for t in threads:
    t.start()
for t in threads:
    t.join()
n = {200: 0, 503: 0}
for i in range(50):
    for k, (st, body) in enumerate(res[i]):
        where = "client %d request %d: %s %r" % (i, k + 1, st, body[-200:])
        if st == 200 and i % 2:
            assert body.startswith("data: {") and body.endswith("data: [DONE]\n\n"), where
        elif st == 200:
            j = json.loads(body)
            assert j["choices"][0]["message"]["role"] == "assistant", where
            assert 0 < j["usage"]["completion_tokens"] <= 4, where
        elif st == 503:
            assert json.loads(body)["error"]["code"] == "queue_full", where
        else:
            raise AssertionError(where)
        n[st] += 1
assert n[200] + n[503] == 250 and n[200] >= 4, n
print("ok", n[200], n[503])
EOF
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SRV_PID/status" 2>/dev/null; }
t0=$SECONDS
r1=$(load_round 2>&1)
check "load round 1: 50 clients x 5 requests, 250 results, all 200/503" $? \
    "$(tail -n 3 <<<"$r1")"
rss1=$(rss_kb)
r2=$(load_round 2>&1)
check "load round 2: 50 clients x 5 requests, 250 results, all 200/503" $? \
    "$(tail -n 3 <<<"$r2")"
rss2=$(rss_kb)
[[ -n $rss1 && -n $rss2 ]] && ((rss2 - rss1 < RSS_BOUND_KB))
check "load: memory flat (VmRSS +$((${rss2:-0} - ${rss1:-0})) kB from round 1 to 2, bound $RSS_BOUND_KB kB)" $? \
    "VmRSS after round 1: $rss1 kB, after round 2: $rss2 kB"
echo "load: $((SECONDS - t0)) s; VmRSS after round 1 $rss1 kB, after round 2 $rss2 kB;" \
    "200/503 counts: round 1 ${r1#ok }, round 2 ${r2#ok }"
alive "load"

# ---- 5. npm clients: the official openai client, the web page in Chromium
# npm_install DIR PACKAGE: `npm ci` of DIR's package.json/package-lock.json
# into BASE_TMP/npm-<lock checksum> once, shared by later runs (built aside
# in this run's dir and renamed into place whole, so concurrent runs never
# see half an install). Sets NPM_DIR; fails, with the reason in NPM_WHY,
# without node/npm or the registry.
npm_install() {
    local src=$1 pkg=$2 b=$TMP/npm-$2
    NPM_DIR=$BASE_TMP/npm-$(cksum <"$src/package-lock.json" | cut -d' ' -f1)
    NPM_WHY=
    [[ -f $NPM_DIR/node_modules/$pkg/package.json ]] && return 0
    if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
        NPM_WHY="no node/npm on PATH"
        return 1
    fi
    mkdir -p "$b"
    cp "$src/package.json" "$src/package-lock.json" "$b/"
    (cd "$b" && timeout 180 npm ci --ignore-scripts --no-audit \
        --no-fund >npm.log 2>&1) && mv -T "$b" "$NPM_DIR" 2>/dev/null
    [[ -f $NPM_DIR/node_modules/$pkg/package.json ]] && return 0
    NPM_WHY="npm ci failed: $(tail -n 2 "$b/npm.log" 2>/dev/null)"
    return 1
}

# 5a. The official `openai` npm client (version pinned by
# tests/server/openai/package-lock.json); without npm or the registry this
# group is reported as not run.
OAI=$(dirname "$0")/openai
if npm_install "$OAI" openai; then
    # The script runs from the install (node resolves `openai` from the
    # script's directory); a per-run copy, so runs never share a file.
    cp "$OAI/client.mjs" "$NPM_DIR/client-$$.mjs"
    out=$(cd "$NPM_DIR" && WANT_CHAT=$chat_content WANT_CMPL=$cmpl_content \
        WANT_EMBD=$E1 \
        timeout 60 node "client-$$.mjs" "$(U /v1)" 2>&1)
    rm -f "$NPM_DIR/client-$$.mjs"
    n_ok=$(grep -c '^ok ' <<<"$out")
    n_bad=$(grep -c '^FAIL ' <<<"$out")
    pass=$((pass + n_ok)) fail=$((fail + n_bad))
    grep '^FAIL ' <<<"$out" | sed 's/^/[openai] /'
    ((n_ok + n_bad == 8)) || bad "openai client did not finish" "$(tail -n 5 <<<"$out")"
else
    echo "openai npm client: not run ($NPM_WHY)"
fi
alive "openai client"
if command -v node >/dev/null; then
    out=$(WANT_CHAT=$chat_content timeout 30 node "$(dirname "$0")/web_sse.mjs" \
        "$WEB/index.html" "$(U "")" 2>&1)
    [[ $out == ok ]]
    check "web page's SSE reader (node fetch) streams the chat" $? "$out"
fi

# 5b. The web page in headless Chromium (tests/server/web_page.mjs, driven
# by playwright-core pinned in tests/server/web/package-lock.json and
# installed like the openai client): the page is loaded, a message typed
# and sent, the streamed answer must equal the greedy chat content and grow
# in place, a second turn must match the non-streaming answer, and a
# screenshot is kept as BASE_TMP/web-page.png (this run's dir is removed at
# exit). Without Chromium ($CHROMIUM, else /usr/bin/chromium, which
# scripts/install-deps.sh installs), node or npm this is a failure, not a
# skip. The browser runs
# with TMPDIR (and XDG_CONFIG_HOME, XDG_CACHE_HOME: its crash-report and
# dconf dirs) = $TMP/chromium, where playwright puts its profile: whatever is
# left of it afterwards (processes named by that --user-data-dir and their
# sessions: playwright starts the browser as a session leader) is killed.
CHROME_TMP=$(cd "$TMP" && pwd)/chromium
chrome_pids() {
    ps -eo pid=,sid=,args= | D="--user-data-dir=$CHROME_TMP/" ME=$(ps -o sid= $$) awk '
        { sid[$1] = $2 }
        index($0, ENVIRON["D"]) && $2 != ENVIRON["ME"] + 0 { s[$2] = 1 }
        END { for (p in sid) if (sid[p] in s) print p }'
}
t0=$SECONDS
shot=$TMP/web-page.png
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
    bad "web page in Chromium: no $CHROMIUM (scripts/install-deps.sh installs it)"
elif ! npm_install "$(dirname "$0")/web" playwright-core; then
    bad "web page in Chromium: playwright-core not installed" "$NPM_WHY"
else
    mkdir -p "$CHROME_TMP"
    out=$(CHROMIUM=$CHROMIUM TMPDIR=$CHROME_TMP XDG_CONFIG_HOME=$CHROME_TMP \
        XDG_CACHE_HOME=$CHROME_TMP WANT_CHAT=$chat_content timeout -k 5 60 \
        node "$(dirname "$0")/web_page.mjs" "$NPM_DIR/node_modules" "$(U "")" \
        "$shot" 2>&1)
    left=$(chrome_pids)
    if [[ -n $left ]]; then
        kill $left 2>/dev/null
        sleep 1
        kill -9 $(chrome_pids) 2>/dev/null
    fi
    n_ok=$(grep -c '^ok ' <<<"$out")
    n_bad=$(grep -c '^FAIL ' <<<"$out")
    pass=$((pass + n_ok)) fail=$((fail + n_bad))
    grep '^FAIL ' <<<"$out" | sed 's/^/[web page] /'
    ((n_ok + n_bad == 9)) || bad "web page test did not finish" "$(tail -n 5 <<<"$out")"
    [[ -z $(chrome_pids) ]]
    check "Chromium gone after the page test" $? "left: $left; now: $(chrome_pids)"
    if [[ -s $shot ]] && mv -f "$shot" "$BASE_TMP/web-page.png"; then
        echo "web page: screenshot $(cd "$BASE_TMP" && pwd)/web-page.png"
    fi
fi
echo "web page: $((SECONDS - t0)) s"
alive "web page"

# ---- 6. the CLI ------------------------------------------------------------
"$CLI" serve "$STORIES" --port "$PORT" --app "$APPDIR/llama-api-server.wasm" \
    >"$TMP/serve2.out" 2>&1
rc=$?
((rc == 1)) && grep -q 'Address already in use' "$TMP/serve2.out"
check "serve: port in use is an error" $? "exit $rc: $(cat "$TMP/serve2.out")"
"$CLI" serve "$TMP/none.gguf" >"$TMP/serve2.out" 2>&1
(($? == 1))
check "serve: missing model is an error" $? "$(cat "$TMP/serve2.out")"
"$CLI" serve >/dev/null 2>&1
(($? == 2))
check "serve: no model is a usage error" $?
grep -q "serving stories260K.gguf at http://127.0.0.1:$PORT/" "$LOG"
check "serve prints the URL" $? "$(head -n 3 "$LOG")"
# Port 0: a free port, and the URL printed is the one that answers.
"$CLI" serve "$STORIES" --port 0 --app "$APPDIR/llama-api-server.wasm" \
    >"$TMP/serve0.log" 2>&1 &
P0_PID=$!
P0=
for i in $(seq 1 50); do
    P0=$(sed -n 's|^wasmind: serving .* at http://127.0.0.1:\([0-9]*\)/ .*|\1|p' "$TMP/serve0.log")
    [[ -n $P0 ]] && curl -s -m 1 -o /dev/null "http://127.0.0.1:$P0/health" && break
    sleep 0.1
done
[[ -n $P0 && $P0 != 0 ]] && [[ $(curl -s -m 5 "http://127.0.0.1:$P0/health") == *'"status":"ok"'* ]]
check "serve --port 0: the printed URL answers" $? "$(head -n 3 "$TMP/serve0.log")"
kill "$P0_PID" 2>/dev/null
wait "$P0_PID" 2>/dev/null
out=$("$CLI" run --listen 127.0.0.1:0 "$APPDIR/hello.wasm" 2>&1 >/dev/null)
[[ $out =~ ^wasmind:\ listening\ on\ 127\.0\.0\.1:[1-9][0-9]*$ ]]
check "run --listen ADDR:0 reports the port it got" $? "$out"

# WasmEdge's socket extension: the server binds its own socket
# (--socket-addr, as LlamaEdge's server does) when the runtime grants it.
P2=$((20000 + RANDOM % 40000))
"$CLI" run --allow-bind "127.0.0.1:$P2" \
    --nn-preload "default:GGML:AUTO:$STORIES" "$APPDIR/llama-api-server.wasm" \
    --socket-addr "127.0.0.1:$P2" --template plain >"$TMP/sockext.log" 2>&1 &
P2_PID=$!
for i in $(seq 1 50); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$P2/health" && break
    sleep 0.1
done
code=$(curl -s -m 20 -o "$TMP/body" -w '%{http_code}' \
    "http://127.0.0.1:$P2/v1/chat/completions" -d "$CHAT}")
got=$(py "j['choices'][0]['message']['content']"; echo x)
got=${got%$'\n'x}
kill "$P2_PID" 2>/dev/null
wait "$P2_PID" 2>/dev/null
[[ $code == 200 && $got == "$chat_content" ]]
check "--socket-addr: own socket via sock_open/bind/listen" $? "$code" \
    "$(tail -n 3 "$TMP/sockext.log")"
"$CLI" run --nn-preload "default:GGML:AUTO:$STORIES" \
    "$APPDIR/llama-api-server.wasm" --socket-addr "127.0.0.1:$P2" \
    >"$TMP/sockext.log" 2>&1
rc=$?
((rc == 1)) && grep -q 'sock_bind 127.0.0.1:[0-9]*: not allowed' "$TMP/sockext.log"
check "--socket-addr without --allow-bind: refused" $? "exit $rc" \
    "$(cat "$TMP/sockext.log")"

stop_server
if grep -qiE 'trap|sanitizer|segmentation|panic' "$LOG"; then
    bad "server log shows a crash" "$(grep -iE 'trap|sanitizer' "$LOG" | head -3)"
else ok; fi
echo "$pass passed, $fail failed"
((fail == 0))
