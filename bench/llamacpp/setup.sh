#!/bin/sh
# setup.sh DIR — make DIR (build/llamacpp) hold the llama.cpp reference of
# `make bench-llamacpp`, from the npm registry only, once:
#   DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/
#       prebuilt libllama, libggml, libggml-base and the per-ISA CPU
#       backends (npm ci of this folder's package.json + package-lock.json,
#       install scripts off: nothing is compiled or downloaded at run time);
#   DIR/include/llama.h, ggml/include/*.h
#       the headers of the exact llama.cpp those libraries were built from:
#       node-llama-cpp (same version) ships that source as a git bundle,
#       llama/gitRelease.bundle; its commit is checked against LLAMA_COMMIT
#       and its release tag against the prebuilt's build metadata.
# Exit 0 when ready; otherwise prints "llama.cpp reference unavailable:
# REASON" and exits 1 (the make target then skips the comparison).
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
NLC_VERSION=3.22.1
NLC_INTEGRITY=\
sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw==
LLAMA_COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6
bins=$dir/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64

unavailable() {
    echo "llama.cpp reference unavailable: $*"
    exit 1
}

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] ||
    unavailable "prebuilt libraries only for Linux x86-64 here"
command -v npm >/dev/null 2>&1 || unavailable "npm not installed"
command -v git >/dev/null 2>&1 || unavailable "git not installed"
mkdir -p "$dir" || unavailable "cannot create $dir"

if [ ! -f "$bins/libggml-base.so" ] ||
   ! cmp -s "$here/package-lock.json" "$dir/package-lock.json"; then
    cp "$here/package.json" "$here/package-lock.json" "$dir/" || exit 1
    echo "npm ci @node-llama-cpp/linux-x64 into $dir"
    if ! log=$(cd "$dir" && timeout 600 npm ci --ignore-scripts --no-audit \
                   --no-fund 2>&1); then
        rm -f "$dir/package-lock.json"   # retried next time
        unavailable "npm ci failed: $(echo "$log" | grep -m1 -i err)"
    fi
fi
[ -f "$bins/libggml-base.so" ] || unavailable "no libraries in $bins"

if [ ! -f "$dir/include/llama.h" ]; then
    tmp=$dir/tmp-headers
    rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
    echo "npm pack node-llama-cpp@$NLC_VERSION (llama.cpp source bundle)"
    if ! out=$(cd "$tmp" && timeout 600 npm pack --json \
                   "node-llama-cpp@$NLC_VERSION" 2>&1); then
        rm -rf "$tmp"
        unavailable "npm pack failed: $(echo "$out" | grep -m1 -i err)"
    fi
    echo "$out" | grep -q "\"integrity\": \"$NLC_INTEGRITY\"" || {
        rm -rf "$tmp"
        unavailable "node-llama-cpp-$NLC_VERSION.tgz: integrity mismatch"
    }
    tar -xzf "$tmp/node-llama-cpp-$NLC_VERSION.tgz" -C "$tmp" \
        package/llama/gitRelease.bundle package/llama/llama.cpp.info.json ||
        exit 1
    tag=$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' \
              "$tmp/package/llama/llama.cpp.info.json")
    grep -q "\"release\":\"$tag\"" "$bins/_nlcBuildMetadata.json" || {
        rm -rf "$tmp"
        unavailable "source bundle ($tag) is not the prebuilt's release"
    }
    git clone -q --bare "$tmp/package/llama/gitRelease.bundle" \
        "$tmp/src.git" || exit 1
    head=$(git --git-dir="$tmp/src.git" rev-parse HEAD)
    [ "$head" = "$LLAMA_COMMIT" ] || {
        rm -rf "$tmp"
        unavailable "source bundle is at $head, expected $LLAMA_COMMIT"
    }
    mkdir -p "$tmp/include" || exit 1
    for h in include/llama.h $(git --git-dir="$tmp/src.git" ls-tree \
                                   --name-only HEAD ggml/include/); do
        git --git-dir="$tmp/src.git" show "HEAD:$h" \
            >"$tmp/include/$(basename "$h")" || exit 1
    done
    echo "$tag $head" >"$tmp/include/LLAMA_COMMIT"
    rm -rf "$dir/include" && mv "$tmp/include" "$dir/include" &&
        rm -rf "$tmp" || exit 1
fi
exit 0
