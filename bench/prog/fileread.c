/*
 * fileread.c — reads the file named by argv[1] ("-": stdin) to the end
 * with read() in 64 KiB chunks (under WASI: one fd_read with one iovec per
 * chunk) and prints the byte count and a checksum. `make bench` runs it on a 100 MB
 * file the driver creates (bench/driver.c --input), natively and under
 * `wasmind run --dir`, so the ratio measures the cost of WASI file reads.
 *
 * The checksum is FNV-1a over one byte per 4 KiB of the file (the byte at
 * every file offset that is a multiple of STRIDE), plus the length.
 * Sampling keeps the guest's own work small, so that the time is the time
 * of the reads, which is what this program measures (bench/prog/sha256.c
 * measures hashing). Measured on 100 MiB: with STRIDE 256 the interpreted
 * loop took ~4 ms of wasmind's ~25 ms (perf: `run` 18%) and the ratio was
 * 1.30x; at 4096 it is ~0.3 ms. The driver's input is a pseudo-random
 * stream, so a chunk read twice, skipped or misplaced still changes the
 * checksum. Sampling is by file offset, not by chunk, so short reads do
 * not change the result.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_BYTES (64 * 1024)
#define STRIDE 4096   /* bytes between sampled bytes (a power of two) */

static unsigned char buf[CHUNK_BYTES];

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fileread FILE\n");
        return 2;
    }
    int fd = strcmp(argv[1], "-") == 0 ? 0 : open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    uint64_t total = 0, h = 0xcbf29ce484222325ull;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            perror(argv[1]);
            return 1;
        }
        if (n == 0) break;
        /* first sampled offset in this chunk */
        uint64_t first = (STRIDE - (total & (STRIDE - 1))) & (STRIDE - 1);
        for (uint64_t i = first; i < (uint64_t)n; i += STRIDE) {
            h ^= buf[i];
            h *= 0x100000001b3ull;
        }
        total += (uint64_t)n;
    }
    close(fd);
    printf("%" PRIu64 " bytes, checksum %016" PRIx64 "\n", total, h ^ total);
    return 0;
}
