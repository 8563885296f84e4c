# 40-sock.sh — sockets (sock.c): wasmind listens on 127.0.0.1:PORT
# (--listen), this script connects with bash's /dev/tcp, sends "hello\n"
# and must get "HELLO\n" back; the guest checks accept/recv/send/shutdown
# and their errors. A random port is retried when it is taken; everything
# is bounded by timeouts.

sock_run() {
    local port out err pid fd reply="" tries
    out=$SCRATCH/sock.out
    err=$SCRATCH/sock.err
    for tries in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 40000))
        timeout -k 2 20 "$CLI" run --listen "127.0.0.1:$port" \
            "$(wasm sock)" >"$out" 2>"$err" </dev/null &
        pid=$!
        fd=""
        for _ in $(seq 100); do
            if { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
                break
            fi
            fd=""
            kill -0 "$pid" 2>/dev/null || break   # bind failed: port taken
            sleep 0.05
        done
        if [[ -n $fd ]]; then
            printf 'hello\n' >&"$fd"
            read -t 10 -r reply <&"$fd"
            exec {fd}>&-
            wait "$pid"
            CASE_RC=$?
            break
        fi
        wait "$pid"
        CASE_RC=$?
        grep -q 'bind' "$err" || break
    done
    if [[ $CASE_RC == 0 ]] && cmp -s "$out" "$WASI_DIR/expected/sock.out" &&
        [[ $reply == HELLO ]]; then
        check_pass sock.echo
    else
        check_fail sock.echo "exit $CASE_RC, reply '$reply'"
        _excerpt "$out"
        _excerpt "$err"
    fi
}
sock_run

# Bad --listen values: usage (2) is not for these, they fail to bind (1).
wasi_case sock.bad-addr 1 - -- --listen 'nonsense' "$(wasm sock)"
check sock.bad-addr.msg grep -q 'ADDR:PORT' "$CASE_ERR"
wasi_case sock.bad-port 1 - -- --listen '127.0.0.1:99999' "$(wasm sock)"
