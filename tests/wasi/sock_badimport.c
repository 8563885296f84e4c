/*
 * sock_badimport.c — imports sock_accept with a type that is neither
 * WasmEdge's v1 (fd, fd_out) nor v2 / preview 1 (fd, flags, fd_out): the
 * type fallback must not bind it, so instantiation fails with
 * "incompatible import type" (cases/70-sock-ext.sh).
 */
#include <stdint.h>

__attribute__((import_module("wasi_snapshot_preview1"),
               import_name("sock_accept")))
int32_t bad_sock_accept(int32_t fd);

int main(void) {
    return bad_sock_accept(3) == 0 ? 0 : 1;
}
