/*
 * fs_basic.c — the file-system functions of WASI preview 1 on the
 * pre-opened directory fd 3, with their error cases, through raw
 * __wasi_* calls (and the wasi_unstable ABI differences at the end).
 * The host tree (made by cases/10-fs.sh): hello.txt = "hello world\n",
 * dir/{a,b,c}, link-hello -> hello.txt, dangling -> nowhere.
 */
#include "wasi_check.h"

#define D 3

/* wasi_unstable: whence CUR=0 END=1 SET=2; filestat with a u32 nlink. */
int32_t un_fd_seek(int32_t fd, int64_t off, int32_t whence, int32_t out)
    WC_IMPORT("wasi_unstable", fd_seek);
int32_t un_fd_filestat_get(int32_t fd, int32_t out)
    WC_IMPORT("wasi_unstable", fd_filestat_get);
int32_t un_path_filestat_get(int32_t fd, int32_t flags, int32_t path,
                             int32_t len, int32_t out)
    WC_IMPORT("wasi_unstable", path_filestat_get);

static void prestat(void) {
    __wasi_prestat_t ps;
    wc_eq("prestat.get", __wasi_fd_prestat_get(D, &ps), 0);
    wc_eq("prestat.len", ps.u.dir.pr_name_len, 5);
    char name[8] = {0};
    wc_eq("prestat.name", __wasi_fd_prestat_dir_name(D, (uint8_t *)name, 5),
          0);
    wc_true("prestat.name.value", strcmp(name, "/data") == 0, name);
    wc_eq("prestat.name.short",
          __wasi_fd_prestat_dir_name(D, (uint8_t *)name, 4),
          __WASI_ERRNO_NAMETOOLONG);
    wc_eq("prestat.name.efault",
          __wasi_fd_prestat_dir_name(D, BAD_PTR, 5), __WASI_ERRNO_FAULT);
    wc_eq("prestat.efault", __wasi_fd_prestat_get(D, BAD_PTR),
          __WASI_ERRNO_FAULT);
    wc_eq("prestat.stdio", __wasi_fd_prestat_get(1, &ps), __WASI_ERRNO_BADF);
    wc_eq("prestat.end", __wasi_fd_prestat_get(D + 1, &ps),
          __WASI_ERRNO_BADF);
    __wasi_fdstat_t st;
    wc_eq("preopen.fdstat", __wasi_fd_fdstat_get(D, &st), 0);
    wc_eq("preopen.filetype", st.fs_filetype, __WASI_FILETYPE_DIRECTORY);
    wc_true("preopen.rights",
            (st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN) &&
                (st.fs_rights_base & __WASI_RIGHTS_PATH_CREATE_FILE) &&
                (st.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE),
            "missing rights");
}

static void open_read(void) {
    __wasi_fd_t fd;
    char buf[64];
    size_t n = 0;
    wc_eq("open.read", wc_open(D, "hello.txt", 0, RIGHTS_RW, 0, &fd), 0);
    __wasi_iovec_t iov[2] = {{(uint8_t *)buf, 5}, {(uint8_t *)buf + 5, 50}};
    wc_eq("read.iovecs", __wasi_fd_read(fd, iov, 2, &n), 0);
    wc_eq("read.count", n, 12);
    wc_true("read.data", memcmp(buf, "hello world\n", 12) == 0, "data");
    wc_eq("read.eof", __wasi_fd_read(fd, iov, 1, &n), 0);
    wc_eq("read.eof.count", n, 0);
    __wasi_filesize_t pos = 99;
    wc_eq("tell", __wasi_fd_tell(fd, &pos), 0);
    wc_eq("tell.value", pos, 12);
    wc_eq("seek.set", __wasi_fd_seek(fd, 6, __WASI_WHENCE_SET, &pos), 0);
    wc_eq("seek.set.value", pos, 6);
    wc_eq("seek.cur", __wasi_fd_seek(fd, -1, __WASI_WHENCE_CUR, &pos), 0);
    wc_eq("seek.cur.value", pos, 5);
    wc_eq("seek.end", __wasi_fd_seek(fd, -2, __WASI_WHENCE_END, &pos), 0);
    wc_eq("seek.end.value", pos, 10);
    wc_eq("seek.negative", __wasi_fd_seek(fd, -100, __WASI_WHENCE_SET, &pos),
          __WASI_ERRNO_INVAL);
    wc_eq("seek.whence", __wasi_fd_seek(fd, 0, 3, &pos), __WASI_ERRNO_INVAL);
    wc_eq("seek.efault", __wasi_fd_seek(fd, 0, 0, BAD_PTR),
          __WASI_ERRNO_FAULT);
    wc_eq("pread", __wasi_fd_pread(fd, iov, 1, 6, &n), 0);
    wc_true("pread.data", n == 5 && memcmp(buf, "world", 5) == 0, "data");
    wc_eq("pread.keeps-pos", __wasi_fd_tell(fd, &pos) == 0 && pos == 10, 1);
    /* fd_read into memory out of range: EFAULT, nothing read. */
    __wasi_iovec_t bad = {BAD_PTR, 100};
    wc_eq("read.efault.buf", __wasi_fd_read(fd, &bad, 1, &n),
          __WASI_ERRNO_FAULT);
    wc_eq("read.efault.iovs", __wasi_fd_read(fd, BAD_PTR, 1, &n),
          __WASI_ERRNO_FAULT);
    wc_eq("read.efault.nread", __wasi_fd_read(fd, iov, 1, BAD_PTR),
          __WASI_ERRNO_FAULT);
    /* Rights: drop FD_READ, then reading is ENOTCAPABLE; rights can't
     * come back. */
    __wasi_fdstat_t st;
    wc_eq("fdstat.file", __wasi_fd_fdstat_get(fd, &st), 0);
    wc_eq("fdstat.file.type", st.fs_filetype, __WASI_FILETYPE_REGULAR_FILE);
    wc_true("fdstat.file.rights",
            (st.fs_rights_base & __WASI_RIGHTS_FD_READ) &&
                !(st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN),
            "file got dir rights or lacks read");
    wc_eq("set_rights.drop",
          __wasi_fd_fdstat_set_rights(fd, st.fs_rights_base &
                                              ~(__WASI_RIGHTS_FD_READ |
                                                __WASI_RIGHTS_FD_WRITE), 0),
          0);
    wc_eq("read.notcapable", __wasi_fd_read(fd, iov, 1, &n),
          __WASI_ERRNO_NOTCAPABLE);
    wc_eq("set_rights.regain",
          __wasi_fd_fdstat_set_rights(fd, st.fs_rights_base, 0),
          __WASI_ERRNO_NOTCAPABLE);
    wc_eq("write.notcapable",
          __wasi_fd_write(fd, (__wasi_ciovec_t *)iov, 1, &n),
          __WASI_ERRNO_NOTCAPABLE);
    wc_eq("close", __wasi_fd_close(fd), 0);
    wc_eq("close.again", __wasi_fd_close(fd), __WASI_ERRNO_BADF);
    wc_eq("read.closed", __wasi_fd_read(fd, iov, 1, &n), __WASI_ERRNO_BADF);
}

static void open_flags(void) {
    __wasi_fd_t fd, fd2;
    size_t n;
    wc_eq("open.enoent", wc_open(D, "missing.txt", 0, RIGHTS_RW, 0, &fd),
          __WASI_ERRNO_NOENT);
    wc_eq("open.creat", wc_open(D, "new.txt", __WASI_OFLAGS_CREAT, RIGHTS_RW,
                                0, &fd), 0);
    __wasi_ciovec_t w = {(const uint8_t *)"abcdef", 6};
    wc_eq("write", __wasi_fd_write(fd, &w, 1, &n), 0);
    wc_eq("write.count", n, 6);
    wc_eq("pwrite", __wasi_fd_pwrite(fd, &w, 1, 10, &n), 0);
    __wasi_filestat_t fs;
    wc_eq("filestat", __wasi_fd_filestat_get(fd, &fs), 0);
    wc_eq("filestat.size", fs.size, 16);
    wc_eq("filestat.type", fs.filetype, __WASI_FILETYPE_REGULAR_FILE);
    wc_eq("filestat.nlink", fs.nlink, 1);
    wc_eq("set_size", __wasi_fd_filestat_set_size(fd, 3), 0);
    wc_eq("set_size.check",
          __wasi_fd_filestat_get(fd, &fs) == 0 && fs.size == 3, 1);
    wc_eq("allocate", __wasi_fd_allocate(fd, 0, 4096), 0);
    wc_eq("allocate.size",
          __wasi_fd_filestat_get(fd, &fs) == 0 && fs.size == 4096, 1);
    wc_eq("advise", __wasi_fd_advise(fd, 0, 10, __WASI_ADVICE_SEQUENTIAL), 0);
    wc_eq("advise.einval", __wasi_fd_advise(fd, 0, 10, 9),
          __WASI_ERRNO_INVAL);
    wc_eq("sync", __wasi_fd_sync(fd), 0);
    wc_eq("datasync", __wasi_fd_datasync(fd), 0);
    wc_eq("set_times", __wasi_fd_filestat_set_times(
                           fd, 1000000000ull * 1000, 1000000000ull * 2000,
                           __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM), 0);
    wc_eq("set_times.check", __wasi_fd_filestat_get(fd, &fs) == 0 &&
                                 fs.atim == 1000000000ull * 1000 &&
                                 fs.mtim == 1000000000ull * 2000, 1);
    wc_eq("set_times.einval",
          __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM |
                                                     __WASI_FSTFLAGS_ATIM_NOW),
          __WASI_ERRNO_INVAL);
    wc_eq("filestat.efault", __wasi_fd_filestat_get(fd, BAD_PTR),
          __WASI_ERRNO_FAULT);
    wc_eq("set_size.notcap",
          __wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ, 0) == 0 &&
              __wasi_fd_filestat_set_size(fd, 0) == __WASI_ERRNO_NOTCAPABLE,
          1);
    wc_eq("sync.notcap", __wasi_fd_sync(fd), __WASI_ERRNO_NOTCAPABLE);
    wc_eq("seek.notcap", __wasi_fd_seek(fd, 0, 0, &fs.size),
          __WASI_ERRNO_NOTCAPABLE);
    (void)__wasi_fd_close(fd);

    wc_eq("open.excl", wc_open(D, "new.txt",
                               __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL,
                               RIGHTS_RW, 0, &fd), __WASI_ERRNO_EXIST);
    wc_eq("open.trunc", wc_open(D, "new.txt", __WASI_OFLAGS_TRUNC, RIGHTS_RW,
                                0, &fd), 0);
    wc_eq("open.trunc.size",
          __wasi_fd_filestat_get(fd, &fs) == 0 && fs.size == 0, 1);
    (void)__wasi_fd_close(fd);
    /* APPEND: writes land at the end whatever the position. */
    wc_eq("open.append", wc_open(D, "new.txt", 0, RIGHTS_RW,
                                 __WASI_FDFLAGS_APPEND, &fd), 0);
    __wasi_fdstat_t st;
    wc_eq("fdstat.append", __wasi_fd_fdstat_get(fd, &st) == 0 &&
                               (st.fs_flags & __WASI_FDFLAGS_APPEND), 1);
    (void)__wasi_fd_write(fd, &w, 1, &n);
    __wasi_filesize_t pos;
    (void)__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
    (void)__wasi_fd_write(fd, &w, 1, &n);
    wc_eq("append.size",
          __wasi_fd_filestat_get(fd, &fs) == 0 && fs.size == 12, 1);
    wc_eq("set_flags.clear", __wasi_fd_fdstat_set_flags(fd, 0), 0);
    wc_eq("set_flags.cleared", __wasi_fd_fdstat_get(fd, &st) == 0 &&
                                   !(st.fs_flags & __WASI_FDFLAGS_APPEND), 1);
    wc_eq("set_flags.nonblock",
          __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK), 0);
    wc_eq("set_flags.einval", __wasi_fd_fdstat_set_flags(fd, 0x100),
          __WASI_ERRNO_INVAL);
    /* renumber: fd moves onto fd2's number, fd2's file is closed. */
    wc_eq("open.second", wc_open(D, "hello.txt", 0, RIGHTS_RW, 0, &fd2), 0);
    wc_eq("renumber", __wasi_fd_renumber(fd, fd2), 0);
    wc_eq("renumber.from-closed", __wasi_fd_fdstat_get(fd, &st),
          __WASI_ERRNO_BADF);
    wc_eq("renumber.to-is-new",
          __wasi_fd_filestat_get(fd2, &fs) == 0 && fs.size == 12, 1);
    wc_eq("renumber.badf", __wasi_fd_renumber(fd2, 77), __WASI_ERRNO_BADF);
    (void)__wasi_fd_close(fd2);
    /* DSYNC / SYNC opens. */
    wc_eq("open.dsync", wc_open(D, "new.txt", 0, RIGHTS_RW,
                                __WASI_FDFLAGS_DSYNC | __WASI_FDFLAGS_SYNC,
                                &fd), 0);
    (void)__wasi_fd_close(fd);
    /* Directory oflag on a file; creat+directory; unknown oflags. */
    wc_eq("open.directory.notdir",
          wc_open(D, "hello.txt", __WASI_OFLAGS_DIRECTORY, RIGHTS_RW, 0, &fd),
          __WASI_ERRNO_NOTDIR);
    wc_eq("open.creat-directory",
          wc_open(D, "x", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_DIRECTORY,
                  RIGHTS_RW, 0, &fd), __WASI_ERRNO_INVAL);
    wc_eq("open.bad-oflags", wc_open(D, "hello.txt", 0x40, RIGHTS_RW, 0, &fd),
          __WASI_ERRNO_INVAL);
    wc_eq("open.write-dir", wc_open(D, "dir", 0, RIGHTS_RW, 0, &fd),
          __WASI_ERRNO_ISDIR);
    wc_eq("open.via-file", wc_open(D, "hello.txt/x", 0, RIGHTS_RW, 0, &fd),
          __WASI_ERRNO_NOTDIR);
    wc_eq("open.dirfd-is-file",
          wc_open(1, "hello.txt", 0, RIGHTS_RW, 0, &fd), __WASI_ERRNO_NOTDIR);
    wc_eq("open.badf", wc_open(99, "hello.txt", 0, RIGHTS_RW, 0, &fd),
          __WASI_ERRNO_BADF);
    wc_eq("open.empty", wc_open(D, "", 0, RIGHTS_RW, 0, &fd),
          __WASI_ERRNO_NOENT);
    /* Raw (ptr, len): bad pointers, NUL inside, exact length. */
    static const char p[] = "hello.txtJUNK";
    static __wasi_fd_t out;
    wc_eq("open.len", raw_path_open(D, 0, (int32_t)p, 9, 0,
                                    __WASI_RIGHTS_FD_READ, 0, 0,
                                    (int32_t)&out), 0);
    (void)__wasi_fd_close(out);
    wc_eq("open.efault.path", raw_path_open(D, 0, BAD_I32, 9, 0, 0, 0, 0,
                                            (int32_t)&out),
          __WASI_ERRNO_FAULT);
    wc_eq("open.efault.out", raw_path_open(D, 0, (int32_t)p, 9, 0, 0, 0, 0,
                                           BAD_I32), __WASI_ERRNO_FAULT);
    static const char nul[] = "hello\0.txt";
    wc_eq("open.nul", raw_path_open(D, 0, (int32_t)nul, 10, 0, 0, 0, 0,
                                    (int32_t)&out), __WASI_ERRNO_INVAL);
    static char longp[5000];
    memset(longp, 'a', sizeof longp);
    wc_eq("open.toolong", raw_path_open(D, 0, (int32_t)longp, 5000, 0, 0, 0,
                                        0, (int32_t)&out),
          __WASI_ERRNO_NAMETOOLONG);
    longp[300] = 0;
    wc_eq("open.name-toolong", wc_open(D, longp, 0, RIGHTS_RW, 0, &fd),
          __WASI_ERRNO_NAMETOOLONG);
    /* A file opened without rights in the request gets none. */
    wc_eq("open.norights", wc_open(D, "hello.txt", 0, 0, 0, &fd), 0);
    __wasi_fdstat_t st2;
    wc_eq("open.norights.base",
          __wasi_fd_fdstat_get(fd, &st2) == 0 && st2.fs_rights_base == 0, 1);
    (void)__wasi_fd_close(fd);
}

static void dirs(void) {
    __wasi_fd_t fd;
    wc_eq("mkdir", __wasi_path_create_directory(D, "made"), 0);
    wc_eq("mkdir.exists", __wasi_path_create_directory(D, "made"),
          __WASI_ERRNO_EXIST);
    wc_eq("mkdir.enoent", __wasi_path_create_directory(D, "no/such"),
          __WASI_ERRNO_NOENT);
    wc_eq("mkdir.nested", __wasi_path_create_directory(D, "made/inner/"), 0);
    wc_eq("rmdir.notempty", __wasi_path_remove_directory(D, "made"),
          __WASI_ERRNO_NOTEMPTY);
    wc_eq("rmdir.file", __wasi_path_remove_directory(D, "hello.txt"),
          __WASI_ERRNO_NOTDIR);
    wc_eq("unlink.dir", __wasi_path_unlink_file(D, "made"),
          __WASI_ERRNO_ISDIR);
    wc_eq("unlink.trailing-slash", __wasi_path_unlink_file(D, "hello.txt/"),
          __WASI_ERRNO_NOTDIR);
    wc_eq("unlink.enoent", __wasi_path_unlink_file(D, "nothing"),
          __WASI_ERRNO_NOENT);
    wc_eq("rmdir.inner", __wasi_path_remove_directory(D, "made/inner"), 0);
    wc_eq("rmdir", __wasi_path_remove_directory(D, "made"), 0);
    wc_eq("rmdir.gone", __wasi_path_remove_directory(D, "made"),
          __WASI_ERRNO_NOENT);
    wc_eq("rmdir.dot", __wasi_path_remove_directory(D, "."),
          __WASI_ERRNO_INVAL);
    /* A directory fd from path_open: a new root for relative paths. */
    wc_eq("open.dir", wc_open(D, "dir", __WASI_OFLAGS_DIRECTORY,
                              __WASI_RIGHTS_FD_READDIR |
                                  __WASI_RIGHTS_PATH_OPEN |
                                  __WASI_RIGHTS_PATH_FILESTAT_GET,
                              0, &fd), 0);
    __wasi_filestat_t fs;
    wc_eq("subdir.stat", __wasi_path_filestat_get(fd, 0, "a", &fs), 0);
    wc_eq("subdir.mkdir.notcap", __wasi_path_create_directory(fd, "z"),
          __WASI_ERRNO_NOTCAPABLE);
    size_t n;
    __wasi_iovec_t iov = {(uint8_t *)&fs, 8};
    wc_eq("read.dir", __wasi_fd_read(fd, &iov, 1, &n), __WASI_ERRNO_ISDIR);

    /* fd_readdir: whole listing, then a tiny buffer with cookies. */
    uint8_t buf[1024];
    size_t used;
    wc_eq("readdir", __wasi_fd_readdir(fd, buf, sizeof buf, 0, &used), 0);
    int seen = 0, count = 0;
    for (size_t off = 0; off + sizeof(__wasi_dirent_t) <= used;) {
        __wasi_dirent_t de;
        memcpy(&de, buf + off, sizeof de);
        const char *nm = (const char *)buf + off + sizeof de;
        if (de.d_namlen == 1 && nm[0] >= 'a' && nm[0] <= 'c' &&
            de.d_type == __WASI_FILETYPE_REGULAR_FILE)
            seen |= 1 << (nm[0] - 'a');
        count++;
        off += sizeof de + de.d_namlen;
    }
    wc_eq("readdir.entries", count, 5);   /* . .. a b c */
    wc_eq("readdir.names", seen, 7);
    wc_true("readdir.complete", used < sizeof buf, "buffer filled");
    /* One entry at a time: cookie = previous d_next, buffer too small
     * for a whole entry -> truncated, bufused == buf_len. */
    __wasi_dircookie_t cookie = 0;
    int steps = 0, trunc_ok = 1;
    for (;;) {
        uint8_t small[sizeof(__wasi_dirent_t) + 1];
        if (__wasi_fd_readdir(fd, small, sizeof small, cookie, &used)) break;
        if (used == 0) break;
        __wasi_dirent_t de;
        memcpy(&de, small, sizeof de);
        if (used != sizeof small) trunc_ok = 0;
        if (de.d_namlen > 1) {   /* ".." does not fit: truncated */
            uint8_t big[sizeof(__wasi_dirent_t) + 8];
            /* Re-read from the same cookie with room for it: the whole
             * name now, and the buffer filled up with the next entry. */
            if (__wasi_fd_readdir(fd, big, sizeof big, cookie, &used) ||
                used != sizeof big ||
                memcmp(big + sizeof(__wasi_dirent_t), "..", 2) != 0)
                trunc_ok = 0;
        }
        cookie = de.d_next;
        if (++steps > 10) break;
    }
    wc_eq("readdir.cookies.steps", steps, 5);
    wc_eq("readdir.truncated", trunc_ok, 1);
    wc_eq("readdir.past-end",
          __wasi_fd_readdir(fd, buf, sizeof buf, cookie, &used) == 0 &&
              used == 0, 1);
    wc_eq("readdir.efault", __wasi_fd_readdir(fd, BAD_PTR, 100, 0, &used),
          __WASI_ERRNO_FAULT);
    wc_eq("readdir.file", __wasi_fd_readdir(1, buf, sizeof buf, 0, &used),
          __WASI_ERRNO_NOTDIR);
    (void)__wasi_fd_close(fd);
}

static void links(void) {
    __wasi_filestat_t fs, fs2;
    char buf[64];
    size_t n;
    wc_eq("stat.follow", __wasi_path_filestat_get(
                             D, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                             "link-hello", &fs), 0);
    wc_eq("stat.follow.type", fs.filetype, __WASI_FILETYPE_REGULAR_FILE);
    wc_eq("stat.nofollow", __wasi_path_filestat_get(D, 0, "link-hello", &fs),
          0);
    wc_eq("stat.nofollow.type", fs.filetype, __WASI_FILETYPE_SYMBOLIC_LINK);
    wc_eq("stat.dangling.follow",
          __wasi_path_filestat_get(D, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                   "dangling", &fs), __WASI_ERRNO_NOENT);
    wc_eq("stat.dir", __wasi_path_filestat_get(D, 0, "dir", &fs) == 0 &&
                          fs.filetype == __WASI_FILETYPE_DIRECTORY, 1);
    wc_eq("stat.dot", __wasi_path_filestat_get(D, 0, ".", &fs) == 0 &&
                          fs.filetype == __WASI_FILETYPE_DIRECTORY, 1);
    wc_eq("stat.efault", __wasi_path_filestat_get(D, 0, "dir", BAD_PTR),
          __WASI_ERRNO_FAULT);
    wc_eq("readlink", __wasi_path_readlink(D, "link-hello", (uint8_t *)buf,
                                           sizeof buf, &n), 0);
    wc_true("readlink.value", n == 9 && memcmp(buf, "hello.txt", 9) == 0,
            "content");
    wc_eq("readlink.short", __wasi_path_readlink(D, "link-hello",
                                                 (uint8_t *)buf, 4, &n), 0);
    wc_eq("readlink.short.len", n, 4);
    wc_eq("readlink.notlink",
          __wasi_path_readlink(D, "hello.txt", (uint8_t *)buf, 64, &n),
          __WASI_ERRNO_INVAL);
    wc_eq("readlink.efault",
          __wasi_path_readlink(D, "link-hello", BAD_PTR, 64, &n),
          __WASI_ERRNO_FAULT);
    wc_eq("symlink", __wasi_path_symlink("dir/a", D, "sl"), 0);
    wc_eq("symlink.exists", __wasi_path_symlink("dir/a", D, "sl"),
          __WASI_ERRNO_EXIST);
    wc_eq("symlink.resolves",
          __wasi_path_filestat_get(D, 1, "sl", &fs) == 0 &&
              __wasi_path_filestat_get(D, 0, "dir/a", &fs2) == 0 &&
              fs.ino == fs2.ino, 1);
    wc_eq("link", __wasi_path_link(D, 0, "hello.txt", D, "hard"), 0);
    wc_eq("link.nlink", __wasi_path_filestat_get(D, 0, "hard", &fs) == 0 &&
                            fs.nlink == 2, 1);
    wc_eq("link.exists", __wasi_path_link(D, 0, "hello.txt", D, "hard"),
          __WASI_ERRNO_EXIST);
    wc_eq("link.enoent", __wasi_path_link(D, 0, "nope", D, "hard2"),
          __WASI_ERRNO_NOENT);
    wc_eq("link.follow", __wasi_path_link(D, 1, "sl", D, "hard-a"), 0);
    wc_eq("link.follow.is-file",
          __wasi_path_filestat_get(D, 0, "hard-a", &fs) == 0 &&
              fs.filetype == __WASI_FILETYPE_REGULAR_FILE, 1);
    wc_eq("rename", __wasi_path_rename(D, "hard", D, "dir/moved"), 0);
    wc_eq("rename.gone", __wasi_path_filestat_get(D, 0, "hard", &fs),
          __WASI_ERRNO_NOENT);
    wc_eq("rename.enoent", __wasi_path_rename(D, "hard", D, "x"),
          __WASI_ERRNO_NOENT);
    wc_eq("rename.dir-over-file",
          __wasi_path_create_directory(D, "rd") == 0 &&
              __wasi_path_rename(D, "rd", D, "hello.txt") ==
                  __WASI_ERRNO_NOTDIR, 1);
    wc_eq("rename.into-nonempty",
          __wasi_path_rename(D, "rd", D, "dir"), __WASI_ERRNO_NOTEMPTY);
    wc_eq("set_times.path",
          __wasi_path_filestat_set_times(D, 0, "dir/moved", 5000000000ull, 0,
                                         __WASI_FSTFLAGS_ATIM |
                                             __WASI_FSTFLAGS_MTIM_NOW), 0);
    wc_eq("set_times.path.check",
          __wasi_path_filestat_get(D, 0, "dir/moved", &fs) == 0 &&
              fs.atim == 5000000000ull && fs.mtim > 5000000000ull, 1);
    wc_eq("set_times.path.nofollow",
          __wasi_path_filestat_set_times(D, 0, "sl", 7000000000ull,
                                         7000000000ull,
                                         __WASI_FSTFLAGS_ATIM |
                                             __WASI_FSTFLAGS_MTIM), 0);
    wc_eq("set_times.path.nofollow.check",
          __wasi_path_filestat_get(D, 0, "sl", &fs) == 0 &&
              fs.mtim == 7000000000ull &&
              __wasi_path_filestat_get(D, 0, "dir/a", &fs2) == 0 &&
              fs2.mtim != 7000000000ull, 1);
    /* Clean up what this test made. */
    wc_eq("cleanup",
          __wasi_path_unlink_file(D, "sl") | __wasi_path_unlink_file(D, "hard-a")
              | __wasi_path_unlink_file(D, "dir/moved") |
              __wasi_path_remove_directory(D, "rd") |
              __wasi_path_unlink_file(D, "new.txt"), 0);
}

static void unstable(void) {
    __wasi_fd_t fd;
    uint64_t pos = 0;
    wc_eq("unstable.open", wc_open(D, "hello.txt", 0, RIGHTS_RW, 0, &fd), 0);
    wc_eq("unstable.seek.set", un_fd_seek(fd, 4, 2, (int32_t)&pos), 0);
    wc_eq("unstable.seek.set.value", pos, 4);
    wc_eq("unstable.seek.cur", un_fd_seek(fd, 2, 0, (int32_t)&pos), 0);
    wc_eq("unstable.seek.cur.value", pos, 6);
    wc_eq("unstable.seek.end", un_fd_seek(fd, -1, 1, (int32_t)&pos), 0);
    wc_eq("unstable.seek.end.value", pos, 11);
    wc_eq("unstable.seek.einval", un_fd_seek(fd, 0, 3, (int32_t)&pos),
          __WASI_ERRNO_INVAL);
    uint8_t st[56];
    memset(st, 0xee, sizeof st);
    wc_eq("unstable.filestat", un_fd_filestat_get(fd, (int32_t)st), 0);
    uint32_t nlink;
    uint64_t size;
    memcpy(&nlink, st + 20, 4);
    memcpy(&size, st + 24, 8);
    wc_eq("unstable.filestat.nlink", nlink, 1);
    wc_eq("unstable.filestat.size", size, 12);
    wc_eq("unstable.filestat.type", st[16], __WASI_FILETYPE_REGULAR_FILE);
    static const char p[] = "dir";
    wc_eq("unstable.path_filestat",
          un_path_filestat_get(D, 0, (int32_t)p, 3, (int32_t)st), 0);
    wc_eq("unstable.path_filestat.type", st[16], __WASI_FILETYPE_DIRECTORY);
    (void)__wasi_fd_close(fd);
}

/* Open one file until the fd table (or the host) says EMFILE; then close
 * them all, and opening works again. */
static void exhaust(void) {
    static __wasi_fd_t fds[6000];
    size_t n = 0;
    __wasi_errno_t e = 0;
    while (n < 6000 &&
           (e = wc_open(D, "hello.txt", 0, __WASI_RIGHTS_FD_READ, 0,
                        &fds[n])) == 0)
        n++;
    wc_eq("exhaust.emfile", e, __WASI_ERRNO_MFILE);
    wc_true("exhaust.many", n >= 500, "gave up early");
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= __wasi_fd_close(fds[i]);
    wc_eq("exhaust.closed", bad, 0);
    __wasi_fd_t fd;
    wc_eq("exhaust.reopen", wc_open(D, "hello.txt", 0, __WASI_RIGHTS_FD_READ,
                                    0, &fd), 0);
    wc_eq("exhaust.lowest", fd, D + 1);
    (void)__wasi_fd_close(fd);
}

int main(void) {
    prestat();
    open_read();
    open_flags();
    dirs();
    links();
    unstable();
    exhaust();
    return wc_done();
}
