/*
 * wasitest.c — a self-checking guest for wasmind's WASI preview 1. Calls
 * the raw __wasi_* imports (and libc on top of them), printing "ok NAME"
 * or "FAIL NAME: detail" per check and exiting with status 7 through
 * proc_exit when all pass (so the runner also checks the exit code path),
 * 1 otherwise. Expected invocation (see `make wasi-check`):
 *
 *   printf 'hello stdin\n' | wasmind run --env WASITEST=1 \
 *       build/apps/wasitest.wasm alpha 'b e t a'
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static int failures;

static void check(int cond, const char *name, const char *detail,
                  long long v) {
    if (cond) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s (%lld)\n", name, detail, v);
        failures++;
    }
}

/* An address far beyond any memory this small program has. */
#define BAD_PTR ((void *)(uintptr_t)0xfffffff0u)

int main(int argc, char **argv) {
    /* Arguments and environment (through libc's startup). */
    check(argc == 3, "args.count", "argc", argc);
    check(argc == 3 && strcmp(argv[1], "alpha") == 0 &&
              strcmp(argv[2], "b e t a") == 0,
          "args.values", "argv mismatch", 0);
    const char *e = getenv("WASITEST");
    check(e && strcmp(e, "1") == 0, "environ", "WASITEST", 0);
    __wasi_size_t n_args = 0, args_bytes = 0;
    check(__wasi_args_sizes_get(&n_args, &args_bytes) == 0 && n_args == 3,
          "args_sizes_get", "n", (long long)n_args);
    check(__wasi_args_sizes_get(BAD_PTR, &args_bytes) == __WASI_ERRNO_FAULT,
          "args_sizes_get.efault", "errno", 0);

    /* Clocks. */
    __wasi_timestamp_t t0 = 0, t1 = 0, res = 0, rt = 0;
    check(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0) == 0,
          "clock.monotonic", "errno", 0);
    check(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &rt) == 0 &&
              rt > 1600000000ull * 1000000000ull,
          "clock.realtime", "ns", (long long)rt);
    check(__wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res) == 0 &&
              res > 0 && res <= 1000000,
          "clock.res", "ns", (long long)res);
    __wasi_timestamp_t cpu = 0;
    check(__wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1,
                                &cpu) == 0,
          "clock.cputime", "errno", 0);
    check(__wasi_clock_time_get(99, 1, &t1) == __WASI_ERRNO_INVAL,
          "clock.einval", "errno", 0);

    /* poll_oneoff: a 20 ms relative sleep. */
    __wasi_subscription_t sub;
    memset(&sub, 0, sizeof sub);
    sub.userdata = 0x1234;
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = 20000000;
    __wasi_event_t ev;
    __wasi_size_t n_ev = 0;
    __wasi_errno_t r = __wasi_poll_oneoff(&sub, &ev, 1, &n_ev);
    if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1) != 0) t1 = 0;
    check(r == 0 && n_ev == 1 && ev.userdata == 0x1234 &&
              ev.type == __WASI_EVENTTYPE_CLOCK && ev.error == 0,
          "poll.clock", "errno", r);
    check(t1 - t0 >= 20000000, "poll.slept", "ns", (long long)(t1 - t0));
    check(__wasi_poll_oneoff(&sub, &ev, 0, &n_ev) == __WASI_ERRNO_INVAL,
          "poll.zero", "errno", 0);

    /* Randomness. */
    uint8_t rnd[64] = {0};
    int nonzero = 0;
    check(__wasi_random_get(rnd, sizeof rnd) == 0, "random_get", "errno", 0);
    for (size_t i = 0; i < sizeof rnd; i++) nonzero |= rnd[i];
    check(nonzero != 0, "random.nonzero", "all zero", 0);
    check(__wasi_random_get(BAD_PTR, 100) == __WASI_ERRNO_FAULT,
          "random.efault", "errno", 0);

    /* fd_write: more iovecs than one host chunk, then bad pointers. */
    fflush(stdout);
    char line[80];
    __wasi_ciovec_t iov[80];
    for (int i = 0; i < 79; i++) {
        line[i] = (char)('a' + i % 26);
        iov[i].buf = (const uint8_t *)&line[i];
        iov[i].buf_len = 1;
    }
    line[79] = '\n';
    iov[79].buf = (const uint8_t *)&line[79];
    iov[79].buf_len = 1;
    __wasi_size_t nw = 0;
    r = __wasi_fd_write(1, iov, 80, &nw);
    check(r == 0 && nw == 80, "fd_write.iovecs", "written", (long long)nw);
    __wasi_ciovec_t bad = {BAD_PTR, 100};
    check(__wasi_fd_write(1, &bad, 1, &nw) == __WASI_ERRNO_FAULT,
          "fd_write.efault", "errno", 0);
    check(__wasi_fd_write(1, iov, 1, BAD_PTR) == __WASI_ERRNO_FAULT,
          "fd_write.efault_out", "errno", 0);
    check(__wasi_fd_write(42, iov, 1, &nw) == __WASI_ERRNO_BADF,
          "fd_write.ebadf", "errno", 0);

    /* fd status and pre-opens. */
    __wasi_fdstat_t st;
    check(__wasi_fd_fdstat_get(1, &st) == 0 &&
              (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE),
          "fdstat.stdout", "rights", (long long)st.fs_rights_base);
    check(__wasi_fd_fdstat_get(0, &st) == 0, "fdstat.stdin", "errno", 0);
    /* Seekable as the host says (files, /dev/null), not pipes/ttys. */
    int stdin_seekable = (st.fs_rights_base & __WASI_RIGHTS_FD_SEEK) != 0;
    check(__wasi_fd_fdstat_get(99, &st) == __WASI_ERRNO_BADF,
          "fdstat.ebadf", "errno", 0);
    __wasi_prestat_t ps;
    check(__wasi_fd_prestat_get(3, &ps) == __WASI_ERRNO_BADF,
          "prestat.none", "errno", 0);
    __wasi_filesize_t pos = 0;
    r = __wasi_fd_seek(0, 0, __WASI_WHENCE_CUR, &pos);
    check(stdin_seekable ? r == 0 : r == __WASI_ERRNO_SPIPE, "seek.stdin",
          "errno", r);
    check(__wasi_fd_seek(0, 0, 9, &pos) == __WASI_ERRNO_INVAL,
          "seek.einval", "errno", 0);

    /* poll_oneoff on stdin with a 5 s timeout: the data is (or soon
     * will be) there, so the fd event comes first. */
    __wasi_subscription_t subs[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 1;
    subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[0].u.u.fd_read.file_descriptor = 0;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 5000000000ull;
    __wasi_event_t evs[2];
    r = __wasi_poll_oneoff(subs, evs, 2, &n_ev);
    check(r == 0 && n_ev >= 1 && evs[0].userdata == 1 &&
              evs[0].type == __WASI_EVENTTYPE_FD_READ && evs[0].error == 0 &&
              (stdin_seekable || evs[0].fd_readwrite.nbytes >= 1),
          "poll.fd_read", "errno", r);
    subs[0].u.u.fd_read.file_descriptor = 77;
    r = __wasi_poll_oneoff(subs, evs, 1, &n_ev);
    check(r == 0 && n_ev == 1 && evs[0].error == __WASI_ERRNO_BADF,
          "poll.ebadf", "errno", r);

    /* fd_read: everything on stdin. */
    char in[256];
    size_t got = 0;
    for (;;) {
        __wasi_iovec_t riov = {(uint8_t *)in + got, sizeof in - 1 - got};
        __wasi_size_t nr = 0;
        r = __wasi_fd_read(0, &riov, 1, &nr);
        if (r || nr == 0) break;
        got += nr;
        if (got == sizeof in - 1) break;
    }
    in[got] = 0;
    check(r == 0 && strcmp(in, "hello stdin\n") == 0, "fd_read.stdin",
          "bytes", (long long)got);

    check(__wasi_sched_yield() == 0, "sched_yield", "errno", 0);

    /* Closing stderr removes it from the table. */
    check(__wasi_fd_close(2) == 0, "fd_close", "errno", 0);
    check(__wasi_fd_write(2, iov, 1, &nw) == __WASI_ERRNO_BADF,
          "fd_close.gone", "errno", 0);
    check(__wasi_fd_close(2) == __WASI_ERRNO_BADF, "fd_close.twice",
          "errno", 0);

    printf("%s: %d failed\n", failures ? "FAILED" : "PASSED", failures);
    fflush(stdout);
    __wasi_proc_exit(failures ? 1 : 7);
}
