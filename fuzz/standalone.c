/*
 * standalone.c — runs fuzz_decode.c's LLVMFuzzerTestOneInput on the files
 * named on the command line, without libFuzzer: the regression runner
 * (`make regress`: the .wasm files of tests/regress and the seed corpus)
 * and a way to replay a crash file under gdb or any sanitizer build.
 * Prints one line per file; a crash ends the process (non-zero exit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    int n_ok = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: cannot open\n", argv[i]);
            return 2;
        }
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
            if (len == cap) {
                cap = cap ? cap * 2 : 4096;
                uint8_t *nb = realloc(buf, cap);
                if (!nb) {
                    fprintf(stderr, "%s: out of memory\n", argv[i]);
                    return 2;
                }
                buf = nb;
            }
            size_t k = fread(buf + len, 1, cap - len, f);
            if (k == 0) break;
            len += k;
        }
        fclose(f);
        printf("%s: ", argv[i]);
        fflush(stdout);
        LLVMFuzzerTestOneInput(buf, len);
        printf("ok\n");
        free(buf);
        n_ok++;
    }
    printf("%d passed, 0 failed\n", n_ok);
    return 0;
}
