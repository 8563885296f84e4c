/*
 * wasi_check.h — shared by the C guests of tests/wasi: one line per check
 * ("ok NAME" or "FAIL NAME: got X, want Y"), so run.sh compares stdout
 * with tests/wasi/expected/NAME.out and a failing or missing check fails
 * the case; wc_done() exits 0 when every check passed, else 1.
 *
 * RAW(name) declares a direct import of a wasi_snapshot_preview1
 * function with every pointer as a plain i32, for calls libc (and
 * wasi/api.h, which takes NUL-terminated paths) cannot make: out-of-range
 * pointers, paths with an embedded NUL, exact lengths.
 */
#ifndef WASI_CHECK_H
#define WASI_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static int wc_failed;

static void wc_eq(const char *name, long long got, long long want) {
    if (got == want) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: got %lld, want %lld\n", name, got, want);
        wc_failed++;
    }
}

static void wc_true(const char *name, int cond, const char *detail) {
    if (cond) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s\n", name, detail);
        wc_failed++;
    }
}

static int wc_done(void) {
    fflush(stdout);
    return wc_failed ? 1 : 0;
}

/* An address past the end of any memory these guests have. */
#define BAD_PTR ((void *)0xfffffff0u)
#define BAD_I32 ((int32_t)0xfffffff0u)

#define WC_IMPORT(mod, fn)                                                  \
    __attribute__((import_module(mod), import_name(#fn)))

/* (ptr, len) forms of the path calls. */
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path,
                      int32_t path_len, int32_t oflags, int64_t base,
                      int64_t inh, int32_t fdflags, int32_t out)
    WC_IMPORT("wasi_snapshot_preview1", path_open);
int32_t raw_path_filestat_get(int32_t fd, int32_t flags, int32_t path,
                              int32_t path_len, int32_t out)
    WC_IMPORT("wasi_snapshot_preview1", path_filestat_get);
int32_t raw_path_symlink(int32_t old, int32_t old_len, int32_t fd,
                         int32_t path, int32_t path_len)
    WC_IMPORT("wasi_snapshot_preview1", path_symlink);

#define RIGHTS_ALL ((__wasi_rights_t)0x3fffffff)
#define RIGHTS_RW                                                           \
    (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | \
     __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET |                \
     __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES \
     | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_ADVISE |                \
     __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_DATASYNC |                    \
     __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_POLL_FD_READWRITE)

/* Open path beneath dir fd with rights; returns the errno, fd in *out. */
static __wasi_errno_t wc_open(__wasi_fd_t dir, const char *path,
                              __wasi_oflags_t of, __wasi_rights_t rights,
                              __wasi_fdflags_t ff, __wasi_fd_t *out) {
    return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, of,
                            rights, RIGHTS_ALL, ff, out);
}

#endif
