#!/usr/bin/env bash
# install-deps.sh — make sure the Debian packages the build and tests need
# are installed. As root, installs what is missing (apt-get update once,
# then apt-get install -y); otherwise prints what is missing and fails.
#
#   wabt                       wast2json / wat2wasm (spec tests, test inputs)
#   clang lld wasi-libc        guest programs for wasm32-wasi (apps, bench)
#   libclang-rt-14-dev-wasm32  compiler-rt builtins for wasm32
#   rustc libstd-rust-dev-wasm32  Rust guests (/usr/bin/rustc --target wasm32-wasi)
#   hyperfine                  start-up timing in make bench
#   curl python3               HTTP clients of the API-server tests
#   libsimde-dev               emulated AVX-512 kernel tests (tests/llm/t_quant)
#   chromium                   headless browser of the server tests' web-page
#                              check (driven by npm playwright-core)
#   nodejs npm                 the npm packages of the server tests (only
#                              when no npm is on PATH: a NodeSource node
#                              bundles its own npm and must not be replaced)
set -euo pipefail

pkgs=(wabt wasi-libc libclang-rt-14-dev-wasm32 lld clang rustc
      libstd-rust-dev-wasm32 hyperfine curl python3 libsimde-dev chromium)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: dpkg-query not found: this script expects Debian;" \
         "install the equivalents of: ${pkgs[*]}" >&2
    exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ! command -v npm >/dev/null 2>&1; then
    for p in nodejs npm; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || missing+=("$p")
    done
fi

if ((${#missing[@]} == 0)); then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}"
