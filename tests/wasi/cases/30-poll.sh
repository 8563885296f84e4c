# 30-poll.sh — poll_oneoff (poll.c): clocks, and stdin readiness through
# real pipes: data that arrives after ~200 ms (then the writer closes:
# hang-up), and a writer that stays silent (the timeout wins).

wasi_case poll.clocks 0 poll_clocks.out -- "$(wasm poll)" clocks
CASE_STDIN=<(sleep 0.2; printf 'ping\n') wasi_case poll.stdin-ready 0 \
    poll_stdin_ready.out -- "$(wasm poll)" stdin-ready
CASE_STDIN=<(sleep 2) wasi_case poll.stdin-timeout 0 \
    '=ok silent.poll\nok silent.clock' -- "$(wasm poll)" stdin-timeout
