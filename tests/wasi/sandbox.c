/*
 * sandbox.c — every way out of a pre-opened directory the guest can try,
 * through the raw WASI calls; each must be refused (ENOTCAPABLE, or ELOOP
 * for loops / not following). The host tree (cases/20-sandbox.sh) is
 * $S/box (pre-opened as /box, fd 3) next to $S/outside with secret.txt
 * and dir/; inside box: inside.txt, sub/f.txt, abs-link -> $S/outside/
 * secret.txt, abs-dir -> $S/outside, rel-link -> ../outside/secret.txt,
 * up-link -> .., sub/deep-link -> ../../outside/secret.txt, loop1 <->
 * loop2, self -> self, dangling-out -> ../outside/created.txt.
 * The script checks afterwards that nothing outside was read, changed or
 * created; the guest prints one line per attempt.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "wasi_check.h"

#define D 3
#define NC __WASI_ERRNO_NOTCAPABLE
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static __wasi_errno_t open_at(__wasi_fd_t dir, const char *p,
                              __wasi_lookupflags_t lf, __wasi_oflags_t of,
                              __wasi_rights_t r) {
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(dir, lf, p, of, r, r, 0, &fd);
    if (e == 0) (void)__wasi_fd_close(fd);
    return e;
}

static void opens(void) {
    const __wasi_rights_t R = __WASI_RIGHTS_FD_READ;
    const __wasi_rights_t W = __WASI_RIGHTS_FD_WRITE;
    wc_eq("control.inside", open_at(D, "inside.txt", 0, 0, R), 0);
    wc_eq("control.sub-dotdot", open_at(D, "sub/../inside.txt", 0, 0, R), 0);
    wc_eq("control.dot", open_at(D, ".", 0, 0, R), 0);
    wc_eq("control.sub-up", open_at(D, "sub/..", 0, 0, R), 0);
    wc_eq("dotdot", open_at(D, "..", 0, 0, R), NC);
    wc_eq("dotdot.file", open_at(D, "../outside/secret.txt", 0, 0, R), NC);
    wc_eq("dotdot.chain",
          open_at(D, "sub/../../outside/secret.txt", 0, 0, R), NC);
    wc_eq("dotdot.deep", open_at(D, "sub/../sub/../../box/inside.txt", 0, 0,
                                 R), NC);
    wc_eq("dotdot.many",
          open_at(D, "../../../../../../../../etc/passwd", 0, 0, R), NC);
    wc_eq("absolute", open_at(D, "/etc/passwd", 0, 0, R), NC);
    wc_eq("absolute.root", open_at(D, "/", 0, 0, R), NC);
    wc_eq("absolute.creat", open_at(D, "/tmp/wasmind-escape", 0,
                                    __WASI_OFLAGS_CREAT, W), NC);
    wc_eq("abs-link.follow", open_at(D, "abs-link", FOLLOW, 0, R), NC);
    wc_eq("abs-link.nofollow", open_at(D, "abs-link", 0, 0, R),
          __WASI_ERRNO_LOOP);
    wc_eq("abs-dir.through", open_at(D, "abs-dir/secret.txt", 0, 0, R), NC);
    wc_eq("rel-link.follow", open_at(D, "rel-link", FOLLOW, 0, R), NC);
    wc_eq("rel-link.write", open_at(D, "rel-link", FOLLOW,
                                    __WASI_OFLAGS_TRUNC, W), NC);
    wc_eq("up-link.through",
          open_at(D, "up-link/outside/secret.txt", 0, 0, R), NC);
    wc_eq("up-link.dir", open_at(D, "up-link", FOLLOW,
                                 __WASI_OFLAGS_DIRECTORY, R), NC);
    wc_eq("up-link.back-in", open_at(D, "up-link/box/inside.txt", 0, 0, R),
          NC);
    wc_eq("deep-link", open_at(D, "sub/deep-link", FOLLOW, 0, R), NC);
    wc_eq("loop", open_at(D, "loop1", FOLLOW, 0, R), __WASI_ERRNO_LOOP);
    wc_eq("loop.through", open_at(D, "loop1/x", 0, 0, R), __WASI_ERRNO_LOOP);
    wc_eq("self-loop", open_at(D, "self", FOLLOW, 0, R), __WASI_ERRNO_LOOP);
    /* Creating through a dangling symlink that points out. */
    wc_eq("dangling-out.creat", open_at(D, "dangling-out", FOLLOW,
                                        __WASI_OFLAGS_CREAT, W), NC);
    wc_eq("dangling-out.creat-nofollow",
          open_at(D, "dangling-out", 0, __WASI_OFLAGS_CREAT, W),
          __WASI_ERRNO_LOOP);
    /* A directory fd opened beneath the pre-open is a root of its own. */
    __wasi_fd_t sub;
    wc_eq("subfd.open",
          __wasi_path_open(D, 0, "sub", __WASI_OFLAGS_DIRECTORY, RIGHTS_ALL,
                           RIGHTS_ALL, 0, &sub), 0);
    wc_eq("subfd.inside", open_at(sub, "f.txt", 0, 0, R), 0);
    wc_eq("subfd.dotdot", open_at(sub, "../inside.txt", 0, 0, R), NC);
    wc_eq("subfd.deep-link", open_at(sub, "deep-link", FOLLOW, 0, R), NC);
    (void)__wasi_fd_close(sub);
}

static void entries(void) {
    __wasi_filestat_t fs;
    wc_eq("stat.dotdot", __wasi_path_filestat_get(D, 0, "../outside", &fs),
          NC);
    wc_eq("stat.rel-link.follow",
          __wasi_path_filestat_get(D, FOLLOW, "rel-link", &fs), NC);
    wc_eq("stat.rel-link.nofollow",
          __wasi_path_filestat_get(D, 0, "rel-link", &fs), 0);
    wc_eq("stat.abs-link.follow",
          __wasi_path_filestat_get(D, FOLLOW, "abs-link", &fs), NC);
    wc_eq("stat.up-link.dotdot",
          __wasi_path_filestat_get(D, FOLLOW, "sub/..", &fs), 0);
    wc_eq("stat.trailing-slash-link",
          __wasi_path_filestat_get(D, 0, "up-link/", &fs), NC);
    wc_eq("mkdir.out", __wasi_path_create_directory(D, "../outside/new"), NC);
    wc_eq("mkdir.via-link",
          __wasi_path_create_directory(D, "up-link/outside/new"), NC);
    wc_eq("mkdir.abs", __wasi_path_create_directory(D, "/tmp/escape"), NC);
    wc_eq("rmdir.out", __wasi_path_remove_directory(D, "../outside/dir"), NC);
    wc_eq("rmdir.preopen-dotdot", __wasi_path_remove_directory(D, ".."), NC);
    wc_eq("unlink.out", __wasi_path_unlink_file(D, "../outside/secret.txt"),
          NC);
    wc_eq("unlink.via-link",
          __wasi_path_unlink_file(D, "abs-dir/secret.txt"), NC);
    wc_eq("rename.out",
          __wasi_path_rename(D, "inside.txt", D, "../outside/moved.txt"), NC);
    wc_eq("rename.in",
          __wasi_path_rename(D, "../outside/secret.txt", D, "stolen.txt"),
          NC);
    wc_eq("rename.via-link",
          __wasi_path_rename(D, "inside.txt", D, "up-link/outside/m.txt"),
          NC);
    wc_eq("rename.over-link-target",
          __wasi_path_rename(D, "inside.txt", D, "abs-dir/secret.txt"), NC);
    wc_eq("link.out",
          __wasi_path_link(D, 0, "inside.txt", D, "../outside/hard"), NC);
    wc_eq("link.in",
          __wasi_path_link(D, 0, "../outside/secret.txt", D, "hard-in"), NC);
    wc_eq("link.follow-out",
          __wasi_path_link(D, FOLLOW, "rel-link", D, "hard-rel"), NC);
    wc_eq("link.via-abs-dir",
          __wasi_path_link(D, 0, "abs-dir/secret.txt", D, "hard-abs"), NC);
    wc_eq("symlink.absolute",
          __wasi_path_symlink("/etc/passwd", D, "new-abs-link"), NC);
    wc_eq("symlink.create-outside",
          __wasi_path_symlink("x", D, "../outside/evil-link"), NC);
    /* An outward relative symlink may be made, but not followed. */
    wc_eq("symlink.rel-out.create",
          __wasi_path_symlink("../outside/secret.txt", D, "made-link"), 0);
    wc_eq("symlink.rel-out.open",
          open_at(D, "made-link", FOLLOW, 0, __WASI_RIGHTS_FD_READ), NC);
    wc_eq("symlink.rel-out.creat-through",
          __wasi_path_symlink("../outside/made.txt", D, "made-link2") ||
              open_at(D, "made-link2", FOLLOW, __WASI_OFLAGS_CREAT,
                      __WASI_RIGHTS_FD_WRITE) != NC, 0);
    char buf[64];
    size_t n = 0;
    wc_eq("symlink.rel-out.readlink",
          __wasi_path_readlink(D, "made-link", (uint8_t *)buf, sizeof buf,
                               &n) == 0 && n == 21, 1);
    wc_eq("readlink.out",
          __wasi_path_readlink(D, "up-link/box/rel-link", (uint8_t *)buf,
                               sizeof buf, &n), NC);
    wc_eq("set_times.out",
          __wasi_path_filestat_set_times(D, 0, "../outside/secret.txt", 1, 1,
                                         __WASI_FSTFLAGS_ATIM |
                                             __WASI_FSTFLAGS_MTIM), NC);
    wc_eq("set_times.follow-out",
          __wasi_path_filestat_set_times(D, FOLLOW, "rel-link", 1, 1,
                                         __WASI_FSTFLAGS_MTIM), NC);
    wc_eq("cleanup", __wasi_path_unlink_file(D, "made-link") |
                         __wasi_path_unlink_file(D, "made-link2"), 0);
}

/* The same through wasi-libc, which maps /box/... onto fd 3. */
static void libc(void) {
    int fd = open("/box/../outside/secret.txt", O_RDONLY);
    wc_eq("libc.dotdot", fd < 0 ? errno : 0, ENOTCAPABLE);
    fd = open("/box/rel-link", O_RDONLY);
    wc_eq("libc.rel-link", fd < 0 ? errno : 0, ENOTCAPABLE);
    fd = open("/box/up-link/outside/x", O_WRONLY | O_CREAT, 0644);
    wc_eq("libc.creat-via-link", fd < 0 ? errno : 0, ENOTCAPABLE);
    FILE *f = fopen("/box/inside.txt", "r");
    char line[32] = {0};
    wc_true("libc.control",
            f && fgets(line, sizeof line, f) && strcmp(line, "inside\n") == 0,
            "cannot read inside.txt");
    if (f) fclose(f);
    wc_eq("libc.rename-out",
          rename("/box/inside.txt", "/box/../outside/x") ? errno : 0,
          ENOTCAPABLE);
}

int main(void) {
    opens();
    entries();
    libc();
    return wc_done();
}
