# 70-sock-ext.sh — WasmEdge's socket extension (sock_ext.c) and the
# network sandbox (--allow-bind / --allow-net):
#   server   the guest binds 127.0.0.1:PORT itself, runs its own checks
#            (options, getaddrinfo, refusals, a TCP conversation with
#            itself, UDP), then answers this script's "ping\n" (bash
#            /dev/tcp) with "PING\n";
#   client   the guest connects to a host listener (wasmind --listen with
#            sock.wasm, the preview 1 server of 40-sock.sh) and trades
#            "hello\n" / "HELLO\n";
#   denied / grants / bad grants / a mistyped import.
# Ports are random on 127.0.0.1, retried when taken; every wait is bounded.

sockx_port() { printf '%d\n' $((20000 + RANDOM % 40000)); }

# Is 127.0.0.1:$1 in LISTEN state (from /proc/net/tcp)?
sockx_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    grep -q "^ *[0-9]*: 0100007F:$hex [0-9A-F:]* 0A " /proc/net/tcp
}

sockx_server() {
    local port out err pid fd reply="" tries
    out=$SCRATCH/sockx.out
    err=$SCRATCH/sockx.err
    CASE_RC=1
    for tries in 1 2 3 4 5; do
        port=$(sockx_port)
        timeout -k 2 30 "$CLI" run --allow-bind "127.0.0.1:$port" \
            --allow-bind 127.0.0.1:0 "$(wasm sock_ext)" server "$port" \
            >"$out" 2>"$err" </dev/null &
        pid=$!
        fd=""
        for _ in $(seq 200); do
            if sockx_listening "$port" &&
                { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
                break
            fi
            fd=""
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if [[ -n $fd ]]; then
            printf 'ping\n' >&"$fd"
            read -t 10 -r reply <&"$fd"
            exec {fd}>&-
        fi
        wait "$pid"
        CASE_RC=$?
        ((CASE_RC == 3)) || break   # 3: the port was taken, try another
    done
    if [[ $CASE_RC == 0 && $reply == PING ]] &&
        cmp -s "$out" "$WASI_DIR/expected/sock_ext_server.out"; then
        check_pass sockx.server
    else
        check_fail sockx.server "exit $CASE_RC, reply '$reply'"
        diff "$WASI_DIR/expected/sock_ext_server.out" "$out" | head -n 20 |
            sed 's/^/    /'
        _excerpt "$err"
    fi
}
sockx_server

sockx_client() {
    local port sout serr spid tries ready=""
    sout=$SCRATCH/sockx-srv.out
    serr=$SCRATCH/sockx-srv.err
    for tries in 1 2 3 4 5; do
        port=$(sockx_port)
        timeout -k 2 30 "$CLI" run --listen "127.0.0.1:$port" \
            "$(wasm sock)" >"$sout" 2>"$serr" </dev/null &
        spid=$!
        for _ in $(seq 200); do
            kill -0 "$spid" 2>/dev/null || break
            if sockx_listening "$port"; then
                ready=1
                break
            fi
            sleep 0.05
        done
        [[ -n $ready ]] && break
        wait "$spid"
    done
    if [[ -z $ready ]]; then
        check_fail sockx.client "no host listener"
        return
    fi
    wasi_case sockx.client 0 sock_ext_client.out -- \
        --allow-net "127.0.0.1:$port" "$(wasm sock_ext)" client "$port"
    wait "$spid"
    local src=$?
    if [[ $src == 0 ]] && cmp -s "$sout" "$WASI_DIR/expected/sock.out"; then
        check_pass sockx.client.host-server
    else
        check_fail sockx.client.host-server "host server exit $src"
        _excerpt "$sout"
        _excerpt "$serr"
    fi
}
sockx_client

# --allow-net none: not even loopback; no --allow-bind: no binds.
wasi_case sockx.denied 0 '=ok denied.connect\nok denied.bind' -- \
    --allow-net none "$(wasm sock_ext)" denied 9

# Wildcards: any port on 127.0.0.1, [::] covering ::1, *:PORT replacing
# the loopback default.
if grep -q '^0\{31\}1 .* lo$' /proc/net/if_inet6 2>/dev/null; then
    p=$(sockx_port)
    wasi_case sockx.grants 0 sock_ext_grants.out -- \
        --allow-bind '127.0.0.1:*' --allow-bind '[::]:0' \
        --allow-net "*:$p" "$(wasm sock_ext)" grants "$p"
else
    skip_case sockx.grants "no IPv6 loopback"
fi

# Malformed grants fail before the guest runs (exit 1, message).
for g in 'example.com:80' '0.0.0.0:80' '127.0.0.1:x' '127.0.0.1' \
    '[::1:80' '127.0.0.1:65536'; do
    wasi_case "sockx.bad-net.$g" 1 '=' -- --allow-net "$g" \
        "$(wasm sock_ext)" denied 9
    check "sockx.bad-net.$g.msg" grep -q 'allow-net' "$CASE_ERR"
done
wasi_case sockx.bad-bind 1 '=' -- --allow-bind 'nowhere:1' \
    "$(wasm sock_ext)" denied 9
check sockx.bad-bind.msg grep -q 'allow-bind' "$CASE_ERR"

# An import of sock_accept whose type is neither v1's nor v2's is not
# bound by the type fallback.
wasi_case sockx.badimport 1 '=' -- "$(wasm sock_badimport)"
check sockx.badimport.msg grep -q 'incompatible import type.*sock_accept' \
    "$CASE_ERR"
