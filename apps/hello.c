/*
 * hello.c — the smallest WASI guest: greets, echoes its arguments and the
 * WASI environment variable NAME, exits with status 0.
 *   make apps && build/wasmind run --env NAME=you build/apps/hello.wasm a b
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const char *name = getenv("NAME");
    printf("Hello, %s!\n", name ? name : "world");
    for (int i = 0; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
    return 0;
}
