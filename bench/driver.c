/*
 * driver.c — `make bench`: runs each benchmark program natively and under
 * wasmind in the same invocation, best of N runs each, checks that both
 * print the same output (each program prints a checksum), and prints a
 * table of times and wasmind/native ratios with their geometric mean;
 * then the start-up time of a WASI hello world (hyperfine when
 * installed, else measured here the same way: mean of many runs).
 *
 *   driver [--runs N] --wasmind PATH --dir DIR [--hello FILE.wasm]
 *          [--input NAME=SIZE]... NAME...
 *
 * DIR holds NAME (native, gcc -O2) and NAME.wasm (clang --target=wasm32-
 * wasi -O2) for each NAME. Exit status: 0 when every program ran and the
 * outputs agreed, 1 otherwise.
 *
 * --input NAME=SIZE (SIZE in bytes, with an optional K/M/G suffix, powers
 * of 1024) gives program NAME an input file: DIR/NAME.input, SIZE bytes of
 * a fixed pseudo-random stream (xorshift64*, seed 1). The driver writes it
 * once and reuses it on later runs when its size and first megabyte are
 * what the generator makes. The native program gets the file's host path as
 * argv[1]; under wasmind DIR is pre-opened as /bench (`wasmind run --dir
 * DIR::/bench NAME.wasm /bench/NAME.input`). Such programs measure I/O, not
 * compute, so they are left out of the geometric mean; their line shows
 * the throughput instead. The file is read once before timing, so both
 * sides read from the page cache, and they run at least IO_MIN_RUNS times
 * (a 100 MiB read takes ~20 ms, so one run's noise is a large fraction).
 *
 * Times are the child's CPU time (user + system, from wait4), not wall
 * clock: every program is single-threaded, so on an idle machine the two
 * agree, and on a shared one CPU time does not count the time the program
 * waited for a core. The start-up figure is wall clock (hyperfine).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define OUT_MAX ((size_t)1 << 20)   /* captured stdout per run */

typedef struct run_result {
    double secs;               /* wall clock */
    double cpu_secs;           /* user + system CPU time of the child */
    int status;                /* exit status, or 128+signal, or -1 */
    char *out;                 /* captured stdout (NUL-terminated) */
    size_t out_len;
} run_result;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Spawn argv with stdout captured (when capture) or sent to /dev/null,
 * stderr inherited (or sent to /dev/null when quiet); wait; fill r. */
static void run(char *const argv[], bool capture, bool quiet,
                run_result *r) {
    memset(r, 0, sizeof *r);
    r->status = -1;
    int pfd[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (capture) {
        if (pipe2(pfd, O_CLOEXEC) != 0) goto done;
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    }
    if (quiet)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double t0 = now_s();
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    if (capture) close(pfd[1]);
    if (e != 0) {
        fprintf(stderr, "driver: cannot run %s: %s\n", argv[0], strerror(e));
        goto done;
    }
    if (capture) {
        size_t cap = 4096;
        r->out = malloc(cap);
        for (;;) {
            if (!r->out) break;
            if (r->out_len + 1 == cap) {
                if (cap >= OUT_MAX) break;
                char *n = realloc(r->out, cap * 2);
                if (!n) break;
                r->out = n;
                cap *= 2;
            }
            ssize_t k = read(pfd[0], r->out + r->out_len, cap - 1 - r->out_len);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) break;
            r->out_len += (size_t)k;
        }
        if (r->out) r->out[r->out_len] = 0;
    }
    int ws = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &ws, 0, &ru) < 0 && errno == EINTR) {}
    r->secs = now_s() - t0;
    r->cpu_secs = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                  ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) *
                      1e-6;
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws)
              : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
done:
    if (pfd[0] >= 0) close(pfd[0]);
    posix_spawn_file_actions_destroy(&fa);
}

/* Start-up time of `wasmind run hello.wasm` via hyperfine's CSV export
 * (mean, min in seconds). False if hyperfine is missing or failed. */
static bool hello_hyperfine(const char *wasmind, const char *hello,
                            double *mean, double *sd, double *min, int runs) {
    char csv[] = "/tmp/wasmind-bench-XXXXXX";
    int fd = mkstemp(csv);
    if (fd < 0) return false;
    close(fd);
    char cmd[4096], nruns[32];
    snprintf(cmd, sizeof cmd, "%s run %s", wasmind, hello);
    snprintf(nruns, sizeof nruns, "%d", runs);
    char *argv[] = {"/usr/bin/env", "hyperfine", "-N", "--style", "none",
                    "--warmup", "20", "--runs", nruns, "--export-csv", csv,
                    cmd, NULL};
    run_result r;
    run(argv, false, true, &r);   /* hyperfine's warnings: not ours */
    bool ok = false;
    FILE *f = r.status == 0 ? fopen(csv, "r") : NULL;
    if (f) {
        char line[1024];
        /* header: command,mean,stddev,median,user,system,min,max */
        if (fgets(line, sizeof line, f) && fgets(line, sizeof line, f)) {
            char *p = strrchr(line, '"');   /* command may be quoted */
            p = p ? p + 1 : strchr(line, ',');
            double med, user, sys;
            if (p && sscanf(p, ",%lf,%lf,%lf,%lf,%lf,%lf", mean, sd, &med,
                            &user, &sys, min) == 6)
                ok = true;
        }
        fclose(f);
    }
    unlink(csv);
    return ok;
}

static void hello_manual(const char *wasmind, const char *hello,
                         double *mean, double *sd, double *min, int runs) {
    char *argv[] = {(char *)wasmind, "run", (char *)hello, NULL};
    double sum = 0, sum2 = 0;
    *min = 1e9;
    run_result r;
    for (int i = 0; i < 20; i++) run(argv, false, false, &r);   /* warm-up */
    for (int i = 0; i < runs; i++) {
        run(argv, false, false, &r);
        sum += r.secs;
        sum2 += r.secs * r.secs;
        if (r.secs < *min) *min = r.secs;
    }
    *mean = sum / runs;
    double var = sum2 / runs - *mean * *mean;
    *sd = var > 0 ? sqrt(var) : 0;
}

/* ==== Input files (--input NAME=SIZE) ==================================== */

#define MAX_INPUTS 16
#define IO_MIN_RUNS 10   /* at least this many runs for --input programs */
#define GEN_BLOCK ((size_t)1 << 20)   /* generator / check block */

typedef struct input_spec {
    char name[256];            /* program name */
    uint64_t size_bytes;
} input_spec;

/* "NAME=SIZE[K|M|G]" -> spec. False when malformed or SIZE is 0. */
static bool parse_input(const char *arg, input_spec *out) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof out->name)
        return false;
    memcpy(out->name, arg, (size_t)(eq - arg));
    out->name[eq - arg] = 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(eq + 1, &end, 10);
    unsigned shift = 0;
    if (*end == 'K') shift = 10, end++;
    else if (*end == 'M') shift = 20, end++;
    else if (*end == 'G') shift = 30, end++;
    if (errno || *end || end == eq + 1 || v == 0 || v > (1ull << 40) >> shift)
        return false;
    out->size_bytes = (uint64_t)v << shift;
    return true;
}

/* The generator: xorshift64* (seed 1), little-endian 64-bit words. Fills
 * the next GEN_BLOCK bytes of the stream; *state carries on from the
 * previous block, so blocks are made in order. */
static void gen_block(uint64_t *state, unsigned char *p) {
    for (size_t k = 0; k < GEN_BLOCK; k += 8) {
        uint64_t x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        uint64_t w = x * 0x2545f4914f6cdd1dull;
        for (int b = 0; b < 8; b++) p[k + (size_t)b] = (unsigned char)(w >> (8 * b));
    }
}

/* Make sure path holds the first size bytes of the stream: reuse the file
 * when its size and first block match, else write it (to path.tmp, then
 * rename). Then read it once so it is in the page cache for both sides.
 * False (with a message) on any I/O error. */
static bool input_ensure(const char *path, uint64_t size) {
    unsigned char *want = malloc(GEN_BLOCK), *have = malloc(GEN_BLOCK);
    bool ok = false;
    int fd = -1;
    char tmp[4200];
    tmp[0] = 0;
    if (!want || !have) goto done;
    uint64_t st = 1;
    gen_block(&st, want);
    size_t first = size < GEN_BLOCK ? (size_t)size : GEN_BLOCK;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        off_t len = lseek(fd, 0, SEEK_END);
        if (len == (off_t)size && pread(fd, have, first, 0) == (ssize_t)first &&
            memcmp(have, want, first) == 0)
            ok = true;
        close(fd);
        fd = -1;
    }
    if (!ok) {
        fprintf(stderr, "driver: writing %s (%.0f MiB)\n", path,
                (double)size / 1048576.0);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) goto io_fail;
        st = 1;
        for (uint64_t off = 0; off < size; off += GEN_BLOCK) {
            gen_block(&st, want);
            size_t n = size - off < GEN_BLOCK ? (size_t)(size - off)
                                              : GEN_BLOCK;
            for (size_t put = 0; put < n;) {
                ssize_t k = write(fd, want + put, n - put);
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0) goto io_fail;
                put += (size_t)k;
            }
        }
        if (close(fd) != 0) { fd = -1; goto io_fail; }
        fd = -1;
        if (rename(tmp, path) != 0) goto io_fail;
        tmp[0] = 0;
    }
    /* warm the page cache */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) goto io_fail;
    while (read(fd, have, GEN_BLOCK) > 0) {}
    ok = true;
    goto done;
io_fail:
    fprintf(stderr, "driver: %s: %s\n", tmp[0] ? tmp : path,
            strerror(errno));
    ok = false;
    if (tmp[0]) unlink(tmp);
done:
    if (fd >= 0) close(fd);
    free(want);
    free(have);
    return ok;
}

int main(int argc, char **argv) {
    int runs = 3;
    const char *wasmind = NULL, *dir = NULL, *hello = NULL;
    input_spec inputs[MAX_INPUTS];
    int n_inputs = 0;
    bool bad_input = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (i + 1 >= argc) break;
        if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--wasmind") == 0) wasmind = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0) dir = argv[++i];
        else if (strcmp(argv[i], "--hello") == 0) hello = argv[++i];
        else if (strcmp(argv[i], "--input") == 0) {
            if (n_inputs == MAX_INPUTS ||
                !parse_input(argv[++i], &inputs[n_inputs]))
                bad_input = true;
            else
                n_inputs++;
        } else break;
    }
    if (!wasmind || !dir || runs < 1 || runs > 100 || bad_input) {
        fprintf(stderr, "usage: driver [--runs N] --wasmind PATH --dir DIR "
                        "[--hello FILE.wasm] [--input NAME=SIZE]... "
                        "NAME...\n");
        return 2;
    }
    int failures = 0, n_ratio = 0;
    double log_sum = 0;
    printf("%-12s %10s %11s %8s  %s   (CPU seconds, best of %d runs)\n",
           "program", "native s", "wasmind s", "ratio", "output", runs);
    fflush(stdout);
    for (; i < argc; i++) {
        char native[4096], wasm[4096], in_host[4096], in_guest[4096],
            preopen[4096];
        snprintf(native, sizeof native, "%s/%s", dir, argv[i]);
        snprintf(wasm, sizeof wasm, "%s/%s.wasm", dir, argv[i]);
        char *nargv[] = {native, NULL, NULL};
        char *wargv[] = {(char *)wasmind, "run", wasm, NULL, NULL, NULL,
                         NULL};
        const input_spec *in = NULL;
        for (int k = 0; k < n_inputs; k++)
            if (strcmp(inputs[k].name, argv[i]) == 0) in = &inputs[k];
        if (in) {
            snprintf(in_host, sizeof in_host, "%s/%s.input", dir, argv[i]);
            snprintf(in_guest, sizeof in_guest, "/bench/%s.input", argv[i]);
            snprintf(preopen, sizeof preopen, "%s::/bench", dir);
            if (!input_ensure(in_host, in->size_bytes)) {
                printf("%-12s %10s %11s %8s  %s\n", argv[i], "-", "-", "-",
                       "input FAILED");
                failures++;
                continue;
            }
            nargv[1] = in_host;
            char *w[] = {(char *)wasmind, "run", "--dir", preopen, wasm,
                         in_guest, NULL};
            memcpy(wargv, w, sizeof w);
        }
        double best_n = 1e300, best_w = 1e300;
        const char *verdict = "same";
        unsigned long iters = 0;   /* "iterations N" in the output */
        /* I/O programs take ~20 ms; more runs steady their best time */
        int n_runs = in && runs < IO_MIN_RUNS ? IO_MIN_RUNS : runs;
        for (int k = 0; k < n_runs; k++) {
            run_result rn, rw;
            run(nargv, true, false, &rn);
            run(wargv, true, false, &rw);
            if (rn.status != 0) verdict = "native FAILED";
            else if (rw.status != 0) verdict = "wasmind FAILED";
            else if (!rn.out || !rw.out || strcmp(rn.out, rw.out) != 0)
                verdict = "DIFFERENT";
            if (rn.cpu_secs < best_n) best_n = rn.cpu_secs;
            if (rw.cpu_secs < best_w) best_w = rw.cpu_secs;
            const char *it = rn.out ? strstr(rn.out, "iterations ") : NULL;
            if (it) iters = strtoul(it + 11, NULL, 10);
            free(rn.out);
            free(rw.out);
            if (strcmp(verdict, "same") != 0) break;
        }
        bool ok = strcmp(verdict, "same") == 0;
        if (!ok) failures++;
        double ratio = best_w / best_n;
        if (ok) {
            if (!in) {   /* I/O programs are not in the compute geomean */
                log_sum += log(ratio);
                n_ratio++;
            }
            printf("%-12s %10.3f %11.3f %7.2fx  %s", argv[i], best_n,
                   best_w, ratio, verdict);
            if (iters)   /* CoreMark-style score */
                printf(" (%.0f vs %.0f iterations/s)", (double)iters / best_n,
                       (double)iters / best_w);
            if (in)
                printf(" (%.0f vs %.0f MB/s, %.0f MiB input, best of %d)",
                       (double)in->size_bytes / 1e6 / best_n,
                       (double)in->size_bytes / 1e6 / best_w,
                       (double)in->size_bytes / 1048576.0, n_runs);
            printf("\n");
        } else {
            printf("%-12s %10.3f %11.3f %8s  %s\n", argv[i], best_n, best_w,
                   "-", verdict);
        }
        fflush(stdout);
    }
    if (n_ratio)
        printf("%-12s %10s %11s %7.2fx  (%d compute programs)\n", "geomean",
               "", "", exp(log_sum / n_ratio), n_ratio);
    fflush(stdout);
    if (hello) {
        double mean, sd, min;
        const int hruns = 300;
        bool hf = hello_hyperfine(wasmind, hello, &mean, &sd, &min, hruns);
        if (!hf) hello_manual(wasmind, hello, &mean, &sd, &min, hruns);
        printf("hello world start-up (%s, %d runs): mean %.2f ms "
               "± %.2f, min %.2f ms\n",
               hf ? "hyperfine -N" : "measured by driver", hruns,
               mean * 1e3, sd * 1e3, min * 1e3);
    }
    return failures ? 1 : 0;
}
