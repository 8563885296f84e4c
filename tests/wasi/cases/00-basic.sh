# 00-basic.sh — arguments, environment, exit status (args_env.c).

wasi_case args-env 0 '=argc=3\narg[1]=0\narg[2]=b c\nenv A=1\nenv B=x=y' -- \
    --env A=1 --env B=x=y "$(wasm args_env)" 0 'b c'
wasi_case exit-status-3 3 '=argc=2\narg[1]=3' -- "$(wasm args_env)" 3
wasi_case exit-status-255 255 - -- "$(wasm args_env)" 255
wasi_case no-env 0 '=argc=1' -- "$(wasm args_env)"
wasi_case usage-missing-file 2 - -- --env A=1
