/*
 * driver.c — `make bench`: runs each benchmark program natively and under
 * wasmind in the same invocation, best of N runs each, checks that both
 * print the same output (each program prints a checksum), and prints a
 * table of times and wasmind/native ratios with their geometric mean;
 * then the start-up time of a WASI hello world (hyperfine when
 * installed, else measured here the same way: mean of many runs).
 *
 *   driver [--runs N] --wasmind PATH --dir DIR [--hello FILE.wasm] NAME...
 *
 * DIR holds NAME (native, gcc -O2) and NAME.wasm (clang --target=wasm32-
 * wasi -O2) for each NAME. Exit status: 0 when every program ran and the
 * outputs agreed, 1 otherwise.
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

int main(int argc, char **argv) {
    int runs = 3;
    const char *wasmind = NULL, *dir = NULL, *hello = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (i + 1 >= argc) break;
        if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--wasmind") == 0) wasmind = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0) dir = argv[++i];
        else if (strcmp(argv[i], "--hello") == 0) hello = argv[++i];
        else break;
    }
    if (!wasmind || !dir || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: driver [--runs N] --wasmind PATH --dir DIR "
                        "[--hello FILE.wasm] NAME...\n");
        return 2;
    }
    int failures = 0, n_ratio = 0;
    double log_sum = 0;
    printf("%-12s %10s %11s %8s  %s   (CPU seconds, best of %d runs)\n",
           "program", "native s", "wasmind s", "ratio", "output", runs);
    fflush(stdout);
    for (; i < argc; i++) {
        char native[4096], wasm[4096];
        snprintf(native, sizeof native, "%s/%s", dir, argv[i]);
        snprintf(wasm, sizeof wasm, "%s/%s.wasm", dir, argv[i]);
        char *nargv[] = {native, NULL};
        char *wargv[] = {(char *)wasmind, "run", wasm, NULL};
        double best_n = 1e300, best_w = 1e300;
        const char *verdict = "same";
        unsigned long iters = 0;   /* "iterations N" in the output */
        for (int k = 0; k < runs; k++) {
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
            log_sum += log(ratio);
            n_ratio++;
            printf("%-12s %10.3f %11.3f %7.1fx  %s", argv[i], best_n,
                   best_w, ratio, verdict);
            if (iters)   /* CoreMark-style score */
                printf(" (%.0f vs %.0f iterations/s)", (double)iters / best_n,
                       (double)iters / best_w);
            printf("\n");
        } else {
            printf("%-12s %10.3f %11.3f %8s  %s\n", argv[i], best_n, best_w,
                   "-", verdict);
        }
        fflush(stdout);
    }
    if (n_ratio)
        printf("%-12s %10s %11s %7.1fx  (%d programs)\n", "geomean", "", "",
               exp(log_sum / n_ratio), n_ratio);
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
