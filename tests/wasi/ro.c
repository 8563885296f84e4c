/*
 * ro.c — a read-only pre-open (`--dir-ro HOST::/ro`, fd 3) with data.txt
 * and sub/: reading works, every change is refused with ENOTCAPABLE.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_check.h"

#define D 3
#define NC __WASI_ERRNO_NOTCAPABLE

int main(void) {
    __wasi_fdstat_t st;
    wc_eq("fdstat", __wasi_fd_fdstat_get(D, &st), 0);
    wc_true("rights.base", (st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN) &&
                               !(st.fs_rights_base &
                                 (__WASI_RIGHTS_PATH_CREATE_FILE |
                                  __WASI_RIGHTS_PATH_UNLINK_FILE)),
            "wrong base rights");
    wc_true("rights.inheriting",
            (st.fs_rights_inheriting & __WASI_RIGHTS_FD_READ) &&
                !(st.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE),
            "wrong inheriting rights");
    FILE *f = fopen("/ro/data.txt", "r");
    char line[32] = {0};
    wc_true("read", f && fgets(line, sizeof line, f) &&
                        strcmp(line, "read only\n") == 0, "cannot read");
    if (f) fclose(f);
    __wasi_fd_t fd;
    wc_eq("open.creat", wc_open(D, "new.txt", __WASI_OFLAGS_CREAT,
                                __WASI_RIGHTS_FD_READ, 0, &fd), NC);
    wc_eq("open.write", wc_open(D, "data.txt", 0, __WASI_RIGHTS_FD_WRITE, 0,
                                &fd), NC);
    wc_eq("open.trunc", wc_open(D, "data.txt", __WASI_OFLAGS_TRUNC,
                                __WASI_RIGHTS_FD_READ, 0, &fd), NC);
    wc_eq("open.dsync", wc_open(D, "data.txt", 0, __WASI_RIGHTS_FD_READ,
                                __WASI_FDFLAGS_DSYNC, &fd), NC);
    wc_eq("libc.fopen-w", fopen("/ro/data.txt", "w") ? 0 : errno,
          ENOTCAPABLE);
    wc_eq("libc.fopen-a", fopen("/ro/data.txt", "a") ? 0 : errno,
          ENOTCAPABLE);
    /* wasi-libc masks the rights itself: the open works, writes don't. */
    int wfd = open("/ro/data.txt", O_WRONLY);
    wc_true("libc.open-wronly", wfd >= 0, "open failed");
    /* (wasi-libc reports a missing FD_WRITE as EBADF, as POSIX does for
     * an fd not open for writing.) */
    wc_eq("libc.write", write(wfd, "x", 1) < 0 ? errno : 0, EBADF);
    size_t nw;
    __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
    wc_eq("raw.write", __wasi_fd_write(wfd, &iov, 1, &nw), NC);
    wc_eq("libc.ftruncate", ftruncate(wfd, 0) < 0 ? errno : 0, ENOTCAPABLE);
    close(wfd);
    wc_eq("open.read", wc_open(D, "data.txt", 0, RIGHTS_RW, 0, &fd), NC);
    wc_eq("open.read-only", wc_open(D, "data.txt", 0, __WASI_RIGHTS_FD_READ |
                                    __WASI_RIGHTS_FD_FILESTAT_SET_SIZE, 0,
                                    &fd), 0);
    wc_eq("set_size", __wasi_fd_filestat_set_size(fd, 0), NC);
    wc_eq("set_times.file", __wasi_fd_filestat_set_times(fd, 0, 0,
                                    __WASI_FSTFLAGS_MTIM_NOW), NC);
    (void)__wasi_fd_close(fd);
    wc_eq("set_times.dir", __wasi_fd_filestat_set_times(D, 0, 0,
                                   __WASI_FSTFLAGS_MTIM_NOW), NC);
    wc_eq("mkdir", __wasi_path_create_directory(D, "newdir"), NC);
    wc_eq("rmdir", __wasi_path_remove_directory(D, "sub"), NC);
    wc_eq("unlink", __wasi_path_unlink_file(D, "data.txt"), NC);
    wc_eq("rename", __wasi_path_rename(D, "data.txt", D, "moved.txt"), NC);
    wc_eq("link", __wasi_path_link(D, 0, "data.txt", D, "hard"), NC);
    wc_eq("symlink", __wasi_path_symlink("data.txt", D, "sl"), NC);
    wc_eq("path.set_times", __wasi_path_filestat_set_times(
                                D, 0, "data.txt", 0, 0,
                                __WASI_FSTFLAGS_MTIM_NOW), NC);
    wc_eq("libc.mkdir", mkdir("/ro/x", 0755) ? errno : 0, ENOTCAPABLE);
    wc_eq("libc.unlink", unlink("/ro/data.txt") ? errno : 0, ENOTCAPABLE);
    /* Subdirectories inherit the restriction. */
    __wasi_fd_t sub;
    wc_eq("sub.open", __wasi_path_open(D, 0, "sub", __WASI_OFLAGS_DIRECTORY,
                                       RIGHTS_ALL, RIGHTS_ALL, 0, &sub), 0);
    wc_eq("sub.creat", wc_open(sub, "n", __WASI_OFLAGS_CREAT,
                               __WASI_RIGHTS_FD_READ, 0, &fd), NC);
    wc_eq("sub.mkdir", __wasi_path_create_directory(sub, "n"), NC);
    (void)__wasi_fd_close(sub);
    /* Looking is fine. */
    __wasi_filestat_t fs;
    wc_eq("stat", __wasi_path_filestat_get(D, 0, "data.txt", &fs), 0);
    wc_eq("stat.size", fs.size, 10);
    uint8_t buf[256];
    size_t used;
    wc_eq("readdir", __wasi_fd_readdir(D, buf, sizeof buf, 0, &used), 0);
    wc_true("readdir.used", used > 0 && used < sizeof buf, "bad listing");
    return wc_done();
}
