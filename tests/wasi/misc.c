/*
 * misc.c — the small calls and the process boundary. argv[1]:
 *   calls         clocks, random_get, sched_yield, proc_raise, args/environ
 *                 EFAULTs, fd_* on closed and stdio fds
 *   exit N        proc_exit(N) from inside a call chain
 *   trap          unreachable
 *   memory BYTES  memory.grow up to exactly BYTES (the --max-memory cap)
 *                 succeeds, one page more returns -1, as does malloc
 *   grow PAGES    memory.grow(PAGES) must succeed
 */
#include <unistd.h>

#include "wasi_check.h"

int32_t raw_args_get(int32_t argv, int32_t buf)
    WC_IMPORT("wasi_snapshot_preview1", args_get);
int32_t raw_proc_raise(int32_t sig)
    WC_IMPORT("wasi_snapshot_preview1", proc_raise);
int32_t raw_environ_sizes_get(int32_t n, int32_t size)
    WC_IMPORT("wasi_snapshot_preview1", environ_sizes_get);

static void calls(void) {
    __wasi_timestamp_t a = 0, b = 0, res = 0;
    wc_eq("clock.mono", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &a),
          0);
    (void)__wasi_sched_yield();
    wc_eq("clock.mono2",
          __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &b), 0);
    wc_true("clock.mono.order", b >= a, "went backwards");
    wc_eq("clock.realtime",
          __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 0, &a), 0);
    wc_true("clock.realtime.after-2020", a > 1577836800000000000ull,
            "before 2020");
    wc_eq("clock.res", __wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res), 0);
    wc_true("clock.res.value", res > 0 && res <= 1000000000, "resolution");
    wc_eq("clock.thread",
          __wasi_clock_time_get(__WASI_CLOCKID_THREAD_CPUTIME_ID, 1, &a), 0);
    wc_eq("clock.bad", __wasi_clock_time_get(4, 1, &a), __WASI_ERRNO_INVAL);
    wc_eq("clock.res.bad", __wasi_clock_res_get(17, &a), __WASI_ERRNO_INVAL);
    wc_eq("clock.efault",
          __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, BAD_PTR),
          __WASI_ERRNO_FAULT);
    uint8_t r1[32] = {0}, r2[32] = {0};
    wc_eq("random", __wasi_random_get(r1, sizeof r1) |
                        __wasi_random_get(r2, sizeof r2), 0);
    wc_true("random.differs", memcmp(r1, r2, sizeof r1) != 0, "same bytes");
    wc_eq("random.zero", __wasi_random_get(r1, 0), 0);
    wc_eq("random.efault", __wasi_random_get(BAD_PTR, 64),
          __WASI_ERRNO_FAULT);
    wc_eq("sched_yield", __wasi_sched_yield(), 0);
    wc_eq("proc_raise", raw_proc_raise(15 /* SIGTERM */),
          __WASI_ERRNO_NOTSUP);
    wc_eq("args.efault", raw_args_get(BAD_I32, BAD_I32), __WASI_ERRNO_FAULT);
    wc_eq("environ.efault", raw_environ_sizes_get(BAD_I32, 0),
          __WASI_ERRNO_FAULT);
    /* stdio: stdin (/dev/null) is not writable, fd 2 can be closed. */
    size_t n;
    __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
    wc_eq("stdin.write", __wasi_fd_write(0, &iov, 1, &n),
          __WASI_ERRNO_NOTCAPABLE);
    wc_eq("stderr.close", __wasi_fd_close(2), 0);
    wc_eq("stderr.closed", __wasi_fd_write(2, &iov, 1, &n),
          __WASI_ERRNO_BADF);
    __wasi_fdstat_t st;
    wc_eq("fdstat.efault", __wasi_fd_fdstat_get(1, BAD_PTR),
          __WASI_ERRNO_FAULT);
    wc_eq("fdstat.badf", __wasi_fd_fdstat_get(1000000, &st),
          __WASI_ERRNO_BADF);
    wc_eq("readdir.badf", __wasi_fd_readdir(55, (uint8_t *)&st, 8, 0, &n),
          __WASI_ERRNO_BADF);
    wc_eq("path.badf", __wasi_path_create_directory(55, "x"),
          __WASI_ERRNO_BADF);
    wc_eq("path.notdir", __wasi_path_create_directory(1, "x"),
          __WASI_ERRNO_NOTDIR);
    wc_eq("advise.notcap", __wasi_fd_advise(0, 0, 0, 0) == 0 ||
                               __wasi_fd_advise(0, 0, 0, 0) ==
                                   __WASI_ERRNO_NOTCAPABLE, 1);
}

__attribute__((noinline)) static void deep_exit(int depth, int code) {
    if (depth == 0) __wasi_proc_exit((__wasi_exitcode_t)code);
    deep_exit(depth - 1, code);
    printf("not reached\n");
}

static void memory(unsigned long cap_bytes) {
    unsigned long cap = cap_bytes / 65536;
    unsigned long now = __builtin_wasm_memory_size(0);
    wc_true("mem.below-cap", now < cap, "initial memory above the cap");
    wc_eq("mem.grow-to-cap", __builtin_wasm_memory_grow(0, cap - now),
          (long long)now);
    wc_eq("mem.size", __builtin_wasm_memory_size(0), (long long)cap);
    wc_eq("mem.grow-past", (long)__builtin_wasm_memory_grow(0, 1), -1);
    wc_eq("mem.grow-zero", __builtin_wasm_memory_grow(0, 0), (long long)cap);
    void *volatile p = malloc(cap_bytes);   /* volatile: keep the call */
    wc_true("mem.malloc-fails", p == NULL, "malloc worked");
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "calls") == 0) {
        calls();
    } else if (strcmp(mode, "exit") == 0 && argc > 2) {
        fflush(stdout);
        deep_exit(10, atoi(argv[2]));
    } else if (strcmp(mode, "trap") == 0) {
        __builtin_trap();
    } else if (strcmp(mode, "memory") == 0 && argc > 2) {
        memory(strtoul(argv[2], NULL, 0));
    } else if (strcmp(mode, "grow") == 0 && argc > 2) {
        wc_true("grow", __builtin_wasm_memory_grow(0, atoi(argv[2])) !=
                            (unsigned long)-1, "memory.grow failed");
    } else {
        wc_true("mode", 0, mode);
    }
    return wc_done();
}
