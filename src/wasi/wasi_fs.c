/*
 * wasi_fs.c — WASI preview 1 file-system calls: pre-opened directories,
 * path resolution beneath a directory fd, path_*, fd_readdir and the
 * fd calls that change a file (size, times, allocation, advice).
 *
 * The sandbox rule: a guest path is always relative to a directory fd the
 * guest holds, and resolving it may never leave that directory. Absolute
 * paths, `..` past the directory, and symlinks (absolute, or relative ones
 * that climb out) all fail with ENOTCAPABLE. Two resolvers give the same
 * answers:
 *
 *   - openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) (Linux >= 5.6): the
 *     kernel walks the path and refuses every escape (EXDEV, which we
 *     report as ENOTCAPABLE). Used for path_open and for the parent
 *     directory of every other call.
 *   - wasi_walk(): our own walk, one component at a time with
 *     openat(O_PATH | O_NOFOLLOW), keeping a stack of the directories
 *     passed so `..` pops (and fails at the root), expanding symlinks by
 *     readlinkat() into the rest of the path (absolute target:
 *     ENOTCAPABLE; more than WASI_MAX_SYMLINKS: ELOOP). Used when the
 *     kernel lacks openat2 (ENOSYS, remembered per context), when it asks
 *     us to retry (EAGAIN), when the last component is a symlink to be
 *     followed, and always with WM_WASI_NO_OPENAT2.
 *
 * Either way a call ends with (directory fd, last component), where the
 * last component is never a symlink that the call should have followed,
 * never "..", and is "." when the path named a directory through "." or
 * "..". The *at() system calls then act on that pair without following
 * anything, so nothing the guest controls is looked up by the host with
 * symlink following outside our own resolution.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define WASI_HAVE_OPENAT2 1
#else
#define WASI_HAVE_OPENAT2 0
#endif

#include "wasi.h"

/* A resolved path: an O_PATH fd of the directory that holds the last
 * component (owned by the struct), and that component. */
typedef struct wasi_at {
    int dirfd;
    char name[NAME_MAX + 2];   /* component, '/' appended if the path had a
                                  trailing slash; "." for the dir itself */
} wasi_at;

static void wasi_at_close(wasi_at *at) {
    if (at->dirfd >= 0) close(at->dirfd);
    at->dirfd = -1;
}

/* errno after a failed resolution step: EXDEV from RESOLVE_BENEATH means
 * the path tried to leave the directory. */
static uint16_t wasi_resolve_errno(int e) {
    return e == EXDEV ? WASI_ENOTCAPABLE : wasi_errno_from_host(e);
}

/*
 * Copy the guest path (gptr, len) into buf (WASI_PATH_MAX + 1 bytes) as a
 * C string. EFAULT out of bounds, ENAMETOOLONG over WASI_PATH_MAX, EINVAL
 * for an embedded NUL (it could not name anything), ENOENT when empty.
 */
static uint16_t wasi_path_copy(wm_call *call, uint32_t gptr, uint32_t len,
                               char *buf) {
    const uint8_t *p = wasi_span(call, gptr, len);
    if (!p) return WASI_EFAULT;
    if (len > WASI_PATH_MAX) return WASI_ENAMETOOLONG;
    if (memchr(p, 0, len)) return WASI_EINVAL;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return len ? WASI_ESUCCESS : WASI_ENOENT;
}

/* ==== Resolution: openat2 =============================================== */

/* openat2 beneath dirfd; -1 with errno. ENOSYS where unsupported. */
static int wasi_openat2(int dirfd, const char *path, int flags, mode_t mode) {
#if WASI_HAVE_OPENAT2 && defined(SYS_openat2)
    struct open_how how = {
        .flags = (uint64_t)(unsigned)flags,
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long r;
    do {
        r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (r < 0 && errno == EINTR);
    return (int)r;
#else
    (void)dirfd, (void)path, (void)flags, (void)mode;
    errno = ENOSYS;
    return -1;
#endif
}

/* ==== Resolution: the openat walk ======================================= */

/*
 * Resolve `path` (relative, non-empty, at most WASI_PATH_MAX bytes)
 * beneath root without the kernel's help; see the file comment. The last
 * component is followed if it is a symlink and follow_last is set, or the
 * path ends in '/' (as POSIX resolves "link/"). On success out->dirfd is
 * a new fd the caller closes.
 */
static uint16_t wasi_walk(int root, const char *path, bool follow_last,
                          wasi_at *out) {
    char buf[2 * WASI_PATH_MAX + 2], tmp[2 * WASI_PATH_MAX + 2];
    char target[WASI_PATH_MAX + 1];
    int stack[WASI_WALK_MAX_DEPTH + 1];
    int depth = 0, n_links = 0;
    uint16_t e = WASI_ESUCCESS;
    size_t len = strlen(path);
    stack[0] = root;
    out->dirfd = -1;
    if (len >= sizeof buf) return WASI_ENAMETOOLONG;
    if (path[0] == '/') return WASI_ENOTCAPABLE;
    memcpy(buf, path, len + 1);
    char *p = buf;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) {                          /* ended on a directory */
            strcpy(out->name, ".");
            break;
        }
        char *comp = p;
        while (*p && *p != '/') p++;
        size_t clen = (size_t)(p - comp);
        char *rest = p;                     /* "" or "/..." */
        const char *q = rest;
        while (*q == '/') q++;
        bool is_last = *q == '\0', trailing = is_last && *rest == '/';
        if (clen > NAME_MAX) {
            e = WASI_ENAMETOOLONG;
            goto out;
        }
        char name[NAME_MAX + 1];
        memcpy(name, comp, clen);
        name[clen] = '\0';
        int cur = stack[depth];
        if (strcmp(name, ".") == 0) {
            if (is_last) {
                strcpy(out->name, ".");
                break;
            }
            continue;
        }
        if (strcmp(name, "..") == 0) {
            if (depth == 0) {
                e = WASI_ENOTCAPABLE;
                goto out;
            }
            close(stack[depth--]);
            if (is_last) {
                strcpy(out->name, ".");
                break;
            }
            continue;
        }
        if (is_last && !follow_last && !trailing) {
            strcpy(out->name, name);
            break;
        }
        int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT && is_last) {   /* to be created */
                snprintf(out->name, sizeof out->name, "%s%s", name,
                         trailing ? "/" : "");
                break;
            }
            e = wasi_errno_from_host(errno);
            goto out;
        }
        struct stat st;
        if (fstat(fd, &st) != 0) {
            e = wasi_errno_from_host(errno);
            close(fd);
            goto out;
        }
        if (S_ISLNK(st.st_mode)) {
            close(fd);
            if (++n_links > WASI_MAX_SYMLINKS) {
                e = WASI_ELOOP;
                goto out;
            }
            ssize_t tl = readlinkat(cur, name, target, sizeof target);
            if (tl < 0) {
                e = wasi_errno_from_host(errno);
                goto out;
            }
            if ((size_t)tl >= sizeof target) {
                e = WASI_ENAMETOOLONG;
                goto out;
            }
            if (tl == 0) {
                e = WASI_ENOENT;
                goto out;
            }
            if (target[0] == '/') {
                e = WASI_ENOTCAPABLE;
                goto out;
            }
            /* Continue with target + rest, still relative to cur. */
            size_t rl = strlen(rest);
            if ((size_t)tl + rl >= sizeof tmp) {
                e = WASI_ENAMETOOLONG;
                goto out;
            }
            memcpy(tmp, target, (size_t)tl);
            memcpy(tmp + tl, rest, rl + 1);
            memcpy(buf, tmp, (size_t)tl + rl + 1);
            p = buf;
            continue;
        }
        if (is_last) {
            close(fd);
            snprintf(out->name, sizeof out->name, "%s%s", name,
                     trailing ? "/" : "");
            break;
        }
        if (!S_ISDIR(st.st_mode)) {
            close(fd);
            e = WASI_ENOTDIR;
            goto out;
        }
        if (depth == WASI_WALK_MAX_DEPTH) {
            close(fd);
            e = WASI_ENAMETOOLONG;
            goto out;
        }
        stack[++depth] = fd;
    }
    out->dirfd = fcntl(stack[depth], F_DUPFD_CLOEXEC, 0);
    if (out->dirfd < 0) e = wasi_errno_from_host(errno);
out:
    while (depth > 0) close(stack[depth--]);
    return e;
}

/* ==== Resolution: entry point =========================================== */

/*
 * Resolve path beneath root to (directory, last component), with openat2
 * for the directory part when the context may use it, else the walk (see
 * the file comment for when the walk takes over).
 */
static uint16_t wasi_resolve(wasi_ctx *c, int root, const char *path,
                             bool follow_last, wasi_at *out) {
    out->dirfd = -1;
    if (path[0] == '/') return WASI_ENOTCAPABLE;
    if (!c->no_openat2) {
        size_t len = strlen(path), end = len;
        while (end > 0 && path[end - 1] == '/') end--;
        bool trailing = end < len;
        size_t s = end;
        while (s > 0 && path[s - 1] != '/') s--;
        size_t last_len = end - s;
        if (last_len > NAME_MAX) return WASI_ENAMETOOLONG;
        bool dots = (last_len == 1 && path[s] == '.') ||
                    (last_len == 2 && path[s] == '.' && path[s + 1] == '.');
        char parent[WASI_PATH_MAX + 1], last[NAME_MAX + 1];
        memcpy(last, path + s, last_len);
        last[last_len] = '\0';
        if (dots) {                 /* "a/.." names a directory itself */
            memcpy(parent, path, end);
            parent[end] = '\0';
            strcpy(out->name, ".");
        } else {
            if (s == 0) strcpy(parent, ".");
            else {
                memcpy(parent, path, s);
                parent[s] = '\0';
            }
            snprintf(out->name, sizeof out->name, "%s%s", last,
                     trailing ? "/" : "");
        }
        int fd = wasi_openat2(root, parent, O_PATH | O_DIRECTORY | O_CLOEXEC,
                              0);
        if (fd >= 0) {
            struct stat st;
            if (!dots && (follow_last || trailing) &&
                fstatat(fd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode)) {
                close(fd);          /* a symlink to follow: walk it */
                return wasi_walk(root, path, follow_last, out);
            }
            out->dirfd = fd;
            return WASI_ESUCCESS;
        }
        if (errno == ENOSYS) c->no_openat2 = true;
        else if (errno != EAGAIN) return wasi_resolve_errno(errno);
    }
    return wasi_walk(root, path, follow_last, out);
}

/*
 * The common prologue of the path calls: the directory fd `fd` (EBADF;
 * ENOTDIR if it is not a directory), the rights `need` on it
 * (ENOTCAPABLE), the guest path, then resolution.
 */
static uint16_t wasi_path_at(wm_call *call, uint32_t fd, uint64_t need,
                             uint32_t g_path, uint32_t path_len, bool follow,
                             wasi_at *at) {
    wasi_ctx *c = CTX();
    at->dirfd = -1;
    wasi_fd *d = wasi_fd_get(c, fd);
    if (!d) return WASI_EBADF;
    if (d->kind != WASI_FD_DIR) return WASI_ENOTDIR;
    if ((d->rights_base & need) != need) return WASI_ENOTCAPABLE;
    char path[WASI_PATH_MAX + 1];
    uint16_t e = wasi_path_copy(call, g_path, path_len, path);
    if (e) return e;
    return wasi_resolve(c, d->host_fd, path, follow, at);
}

/* ==== Pre-opens ========================================================= */

wm_status wasi_preopen_add(wasi_ctx *c, const char *host_path,
                           const char *guest_path, bool read_only,
                           wm_error *err) {
    if (!host_path || !host_path[0])
        return wm_errf(err, WM_ERR_ARG, "wasi: pre-open without a host path");
    const char *name = guest_path ? guest_path : host_path;
    if (strlen(name) > WASI_PATH_MAX)
        return wm_errf(err, WM_ERR_LIMIT, "wasi: pre-open name too long");
    int fd = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return wm_errf(err, WM_ERR_IO, "wasi: pre-open %s: %s", host_path,
                       strerror(errno));
    char *dup = strdup(name);
    uint64_t base = WASI_RIGHTS_DIR;
    uint64_t inh = WASI_RIGHTS_DIR | WASI_RIGHTS_FILE;
    if (read_only) {
        base &= ~WASI_RIGHTS_DIR_MUTATE;
        inh &= ~(WASI_RIGHTS_DIR_MUTATE | WASI_RIGHTS_FILE_WRITE);
    }
    uint32_t idx;
    if (!dup || wasi_fd_add(c, fd, WASI_FD_DIR, base, inh, &idx)) {
        free(dup);
        close(fd);
        return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    c->fds[idx].preopen_name = dup;
    return WM_OK;
}

/* ==== path_open ========================================================= */

/*
 * (fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting,
 * fdflags, fd_out). The directory needs PATH_OPEN, plus PATH_CREATE_FILE
 * for CREAT and PATH_FILESTAT_SET_SIZE for TRUNC (ENOTCAPABLE). The new
 * fd gets the requested rights that the directory may hand down (its
 * inheriting rights) and that apply to what was opened; the rest are
 * dropped silently, which is what guests expect (Rust's std asks for a
 * fixed superset, wasi-libc masks with the inheriting rights itself).
 * Two exceptions fail with ENOTCAPABLE instead, so that opening for
 * writing beneath a read-only pre-open fails at the open, as in wasmtime:
 * asking for FD_WRITE, and a sync fdflag, when the directory cannot hand
 * down that right. (wasi-libc, which masks first, gets an fd without
 * FD_WRITE whose writes then fail with ENOTCAPABLE.) The host open mode
 * follows the
 * granted rights: FD_READ or FD_READDIR read, FD_WRITE / FD_ALLOCATE /
 * FD_FILESTAT_SET_SIZE write.
 */
wm_status wasi_path_open(wm_call *call, uint64_t *slots) {
    wasi_ctx *c = CTX();
    uint32_t dirflags = A32(1), oflags = A32(4) & 0xffff;
    uint32_t fdflags = A32(7) & 0xffff;
    uint64_t base = A64(5), inh = A64(6);
    wasi_fd *d = wasi_fd_get(c, A32(0));
    if (!d) return wasi_ret(slots, WASI_EBADF);
    if (d->kind != WASI_FD_DIR) return wasi_ret(slots, WASI_ENOTDIR);
    if ((oflags & ~WASI_OFLAGS_ALL) || (fdflags & ~WASI_FDFLAGS_ALL) ||
        ((oflags & WASI_OFLAG_CREAT) && (oflags & WASI_OFLAG_DIRECTORY)))
        return wasi_ret(slots, WASI_EINVAL);
    uint64_t need = WASI_RIGHT_PATH_OPEN;
    if (oflags & WASI_OFLAG_CREAT) need |= WASI_RIGHT_PATH_CREATE_FILE;
    if (oflags & WASI_OFLAG_TRUNC) need |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
    if ((d->rights_base & need) != need)
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    if ((fdflags & WASI_FDFLAG_DSYNC) &&
        !(d->rights_inheriting & WASI_RIGHT_FD_DATASYNC))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    if ((fdflags & (WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC)) &&
        !(d->rights_inheriting & WASI_RIGHT_FD_SYNC))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    /* DIRECTORY says what will be opened: file rights do not apply. */
    if (oflags & WASI_OFLAG_DIRECTORY) base &= WASI_RIGHTS_DIR;
    if ((base & WASI_RIGHT_FD_WRITE) &&
        !(d->rights_inheriting & WASI_RIGHT_FD_WRITE))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    base &= d->rights_inheriting;
    inh &= d->rights_inheriting;
    uint8_t *pout = wasi_span(call, A32(8), 4);
    if (!pout) return wasi_ret(slots, WASI_EFAULT);
    char path[WASI_PATH_MAX + 1];
    uint16_t e = wasi_path_copy(call, A32(2), A32(3), path);
    if (e) return wasi_ret(slots, e);

    bool rd = base & (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR);
    bool wr = base & (WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE |
                      WASI_RIGHT_FD_FILESTAT_SET_SIZE);
    int hf = O_CLOEXEC | O_NOCTTY | (wr ? (rd ? O_RDWR : O_WRONLY)
                                        : O_RDONLY);
    if (oflags & WASI_OFLAG_CREAT) hf |= O_CREAT;
    if (oflags & WASI_OFLAG_DIRECTORY) hf |= O_DIRECTORY;
    if (oflags & WASI_OFLAG_EXCL) hf |= O_EXCL;
    if (oflags & WASI_OFLAG_TRUNC) hf |= O_TRUNC;
    if (fdflags & WASI_FDFLAG_APPEND) hf |= O_APPEND;
    if (fdflags & WASI_FDFLAG_DSYNC) hf |= O_DSYNC;
    if (fdflags & WASI_FDFLAG_NONBLOCK) hf |= O_NONBLOCK;
    if (fdflags & WASI_FDFLAG_RSYNC) hf |= O_RSYNC;
    if (fdflags & WASI_FDFLAG_SYNC) hf |= O_SYNC;
    bool follow = dirflags & WASI_LOOKUP_SYMLINK_FOLLOW;

    int fd = -1;
    bool done = false;
    if (!c->no_openat2) {
        fd = wasi_openat2(d->host_fd, path, hf | (follow ? 0 : O_NOFOLLOW),
                          0666);
        if (fd >= 0) done = true;
        else if (errno == ENOSYS) c->no_openat2 = true;
        else if (errno != EAGAIN)
            return wasi_ret(slots, wasi_resolve_errno(errno));
    }
    if (!done) {
        wasi_at at;
        e = wasi_resolve(c, d->host_fd, path, follow, &at);
        if (e) return wasi_ret(slots, e);
        fd = openat(at.dirfd, at.name, hf | O_NOFOLLOW, 0666);
        int saved = errno;
        wasi_at_close(&at);
        if (fd < 0) return wasi_ret(slots, wasi_errno_from_host(saved));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        e = wasi_errno_from_host(errno);
        close(fd);
        return wasi_ret(slots, e);
    }
    bool is_dir = S_ISDIR(st.st_mode);
    uint32_t idx;
    e = wasi_fd_add(c, fd, is_dir ? WASI_FD_DIR : WASI_FD_FILE,
                    base & (is_dir ? WASI_RIGHTS_DIR : WASI_RIGHTS_FILE),
                    is_dir ? inh : 0, &idx);
    if (e) {
        close(fd);
        return wasi_ret(slots, e);
    }
    st32(pout, idx);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* ==== Directory entries: create, remove, rename, link ================== */

/* (fd, path, path_len) */
wm_status wasi_path_create_directory(wm_call *call, uint64_t *slots) {
    wasi_at at;
    uint16_t e = wasi_path_at(call, A32(0), WASI_RIGHT_PATH_CREATE_DIRECTORY,
                              A32(1), A32(2), false, &at);
    if (!e && mkdirat(at.dirfd, at.name, 0777) != 0)
        e = wasi_errno_from_host(errno);
    wasi_at_close(&at);
    return wasi_ret(slots, e);
}

/* (fd, path, path_len) */
wm_status wasi_path_remove_directory(wm_call *call, uint64_t *slots) {
    wasi_at at;
    uint16_t e = wasi_path_at(call, A32(0), WASI_RIGHT_PATH_REMOVE_DIRECTORY,
                              A32(1), A32(2), false, &at);
    if (!e && unlinkat(at.dirfd, at.name, AT_REMOVEDIR) != 0)
        e = wasi_errno_from_host(errno);
    wasi_at_close(&at);
    return wasi_ret(slots, e);
}

/* (fd, path, path_len); a directory gives EISDIR (Linux's answer). */
wm_status wasi_path_unlink_file(wm_call *call, uint64_t *slots) {
    wasi_at at;
    uint16_t e = wasi_path_at(call, A32(0), WASI_RIGHT_PATH_UNLINK_FILE,
                              A32(1), A32(2), false, &at);
    if (!e && unlinkat(at.dirfd, at.name, 0) != 0)
        e = wasi_errno_from_host(errno);
    wasi_at_close(&at);
    return wasi_ret(slots, e);
}

/* (fd, old_path, old_len, new_fd, new_path, new_len): both sides resolved
 * beneath their own directory fds. */
wm_status wasi_path_rename(wm_call *call, uint64_t *slots) {
    wasi_at a, b;
    b.dirfd = -1;
    uint16_t e = wasi_path_at(call, A32(0), WASI_RIGHT_PATH_RENAME_SOURCE,
                              A32(1), A32(2), false, &a);
    if (!e)
        e = wasi_path_at(call, A32(3), WASI_RIGHT_PATH_RENAME_TARGET, A32(4),
                         A32(5), false, &b);
    if (!e && renameat(a.dirfd, a.name, b.dirfd, b.name) != 0)
        e = wasi_errno_from_host(errno);
    wasi_at_close(&a);
    wasi_at_close(&b);
    return wasi_ret(slots, e);
}

/* (old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len) */
wm_status wasi_path_link(wm_call *call, uint64_t *slots) {
    wasi_at a, b;
    b.dirfd = -1;
    uint16_t e = wasi_path_at(call, A32(0), WASI_RIGHT_PATH_LINK_SOURCE,
                              A32(2), A32(3),
                              A32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, &a);
    if (!e)
        e = wasi_path_at(call, A32(4), WASI_RIGHT_PATH_LINK_TARGET, A32(5),
                         A32(6), false, &b);
    if (!e && linkat(a.dirfd, a.name, b.dirfd, b.name, 0) != 0)
        e = wasi_errno_from_host(errno);
    wasi_at_close(&a);
    wasi_at_close(&b);
    return wasi_ret(slots, e);
}

/*
 * (old_path, old_len, fd, new_path, new_len): create new_path containing
 * old_path. The contents are not resolved now (a dangling or outward
 * relative symlink is harmless: following it is refused later), but an
 * absolute target is refused with ENOTCAPABLE so no link the guest plants
 * can lead a host program following it out of the pre-open either.
 */
wm_status wasi_path_symlink(wm_call *call, uint64_t *slots) {
    char target[WASI_PATH_MAX + 1];
    wasi_fd *d = wasi_fd_get(CTX(), A32(2));
    if (!d) return wasi_ret(slots, WASI_EBADF);
    uint16_t e = wasi_path_copy(call, A32(0), A32(1), target);
    if (e) return wasi_ret(slots, e);
    if (target[0] == '/') return wasi_ret(slots, WASI_ENOTCAPABLE);
    wasi_at at;
    e = wasi_path_at(call, A32(2), WASI_RIGHT_PATH_SYMLINK, A32(3), A32(4),
                     false, &at);
    if (!e && symlinkat(target, at.dirfd, at.name) != 0)
        e = wasi_errno_from_host(errno);
    wasi_at_close(&at);
    return wasi_ret(slots, e);
}

/* (fd, path, path_len, buf, buf_len, bufused_ptr): the link's contents,
 * truncated to buf_len as readlink() does. */
wm_status wasi_path_readlink(wm_call *call, uint64_t *slots) {
    uint32_t buf_len = A32(4);
    uint8_t *out = wasi_span(call, A32(3), buf_len);
    uint8_t *pused = wasi_span(call, A32(5), 4);
    if (!out || !pused) return wasi_ret(slots, WASI_EFAULT);
    wasi_at at;
    uint16_t e = wasi_path_at(call, A32(0), WASI_RIGHT_PATH_READLINK, A32(1),
                              A32(2), false, &at);
    if (!e) {
        char target[WASI_PATH_MAX + 1];
        ssize_t n = readlinkat(at.dirfd, at.name, target, sizeof target);
        if (n < 0) {
            e = wasi_errno_from_host(errno);
        } else {
            size_t k = (size_t)n < buf_len ? (size_t)n : buf_len;
            memcpy(out, target, k);
            st32(pused, (uint32_t)k);
        }
    }
    wasi_at_close(&at);
    return wasi_ret(slots, e);
}

/* ==== Status and times ================================================== */

static wm_status wasi_path_filestat_common(wm_call *call, uint64_t *slots,
                                           bool unstable) {
    uint32_t size = unstable ? WASI_FILESTAT_UNSTABLE_SIZE
                             : WASI_FILESTAT_SIZE;
    uint8_t *p = wasi_span(call, A32(4), size);
    if (!p) return wasi_ret(slots, WASI_EFAULT);
    wasi_at at;
    uint16_t e = wasi_path_at(call, A32(0), WASI_RIGHT_PATH_FILESTAT_GET,
                              A32(2), A32(3),
                              A32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, &at);
    struct stat st;
    if (!e) {
        if (fstatat(at.dirfd, at.name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            e = wasi_errno_from_host(errno);
        else
            wasi_put_filestat(p, &st, wasi_filetype_of_mode(-1, st.st_mode),
                              unstable);
    }
    wasi_at_close(&at);
    return wasi_ret(slots, e);
}

/* (fd, flags, path, path_len, buf) */
wm_status wasi_path_filestat_get(wm_call *call, uint64_t *slots) {
    return wasi_path_filestat_common(call, slots, false);
}
wm_status wasi_unstable_path_filestat_get(wm_call *call, uint64_t *slots) {
    return wasi_path_filestat_common(call, slots, true);
}

/* The two timespecs of utimensat/futimens from WASI's (atim, mtim,
 * fst_flags); EINVAL for unknown flags or both X and X_NOW. */
static uint16_t wasi_times(uint64_t atim, uint64_t mtim, uint32_t fl,
                           struct timespec ts[2]) {
    if (fl & ~0xfu) return WASI_EINVAL;
    if (((fl & WASI_FST_ATIM) && (fl & WASI_FST_ATIM_NOW)) ||
        ((fl & WASI_FST_MTIM) && (fl & WASI_FST_MTIM_NOW)))
        return WASI_EINVAL;
    const uint64_t t[2] = {atim, mtim};
    const uint32_t set[2] = {WASI_FST_ATIM, WASI_FST_MTIM};
    const uint32_t now[2] = {WASI_FST_ATIM_NOW, WASI_FST_MTIM_NOW};
    for (int i = 0; i < 2; i++) {
        ts[i].tv_sec = 0;
        if (fl & now[i]) {
            ts[i].tv_nsec = UTIME_NOW;
        } else if (fl & set[i]) {
            ts[i].tv_sec = (time_t)(t[i] / 1000000000u);
            ts[i].tv_nsec = (long)(t[i] % 1000000000u);
        } else {
            ts[i].tv_nsec = UTIME_OMIT;
        }
    }
    return WASI_ESUCCESS;
}

/* (fd, flags, path, path_len, atim, mtim, fst_flags) */
wm_status wasi_path_filestat_set_times(wm_call *call, uint64_t *slots) {
    struct timespec ts[2];
    uint16_t e = wasi_times(A64(4), A64(5), A32(6) & 0xffff, ts);
    if (e) return wasi_ret(slots, e);
    wasi_at at;
    e = wasi_path_at(call, A32(0), WASI_RIGHT_PATH_FILESTAT_SET_TIMES, A32(2),
                     A32(3), A32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, &at);
    if (!e && utimensat(at.dirfd, at.name, ts, AT_SYMLINK_NOFOLLOW) != 0)
        e = wasi_errno_from_host(errno);
    wasi_at_close(&at);
    return wasi_ret(slots, e);
}

/* (fd, atim, mtim, fst_flags) */
wm_status wasi_fd_filestat_set_times(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_FD_FILESTAT_SET_TIMES))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    struct timespec ts[2];
    uint16_t e = wasi_times(A64(1), A64(2), A32(3) & 0xffff, ts);
    if (!e && futimens(f->host_fd, ts) != 0) e = wasi_errno_from_host(errno);
    return wasi_ret(slots, e);
}

/* (fd, size) */
wm_status wasi_fd_filestat_set_size(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_FD_FILESTAT_SET_SIZE))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    if (A64(1) > (uint64_t)INT64_MAX) return wasi_ret(slots, WASI_EINVAL);
    if (ftruncate(f->host_fd, (off_t)A64(1)) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (fd, offset, len): make sure the range is backed by storage. */
wm_status wasi_fd_allocate(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_FD_ALLOCATE))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    uint64_t off = A64(1), len = A64(2);
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return wasi_ret(slots, WASI_EFBIG);
    if (len == 0) return wasi_ret(slots, WASI_EINVAL);
    int r = posix_fallocate(f->host_fd, (off_t)off, (off_t)len);
    return wasi_ret(slots, r ? wasi_errno_from_host(r) : WASI_ESUCCESS);
}

/* (fd, offset, len, advice): advice 0..5 = normal, sequential, random,
 * willneed, dontneed, noreuse (the POSIX order). */
wm_status wasi_fd_advise(wm_call *call, uint64_t *slots) {
    static const int host_advice[] = {
        POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
        POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE,
    };
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_FD_ADVISE))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    uint32_t adv = A32(3) & 0xff;
    uint64_t off = A64(1), len = A64(2);
    if (adv >= WM_ARRAY_LEN(host_advice) || off > (uint64_t)INT64_MAX ||
        len > (uint64_t)INT64_MAX)
        return wasi_ret(slots, WASI_EINVAL);
    int r = posix_fadvise(f->host_fd, (off_t)off, (off_t)len,
                          host_advice[adv]);
    return wasi_ret(slots, r ? wasi_errno_from_host(r) : WASI_ESUCCESS);
}

/* ==== fd_readdir ======================================================== */

static uint8_t wasi_filetype_of_dt(unsigned char t) {
    switch (t) {
    case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR: return WASI_FILETYPE_DIRECTORY;
    case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
    default: return WASI_FILETYPE_UNKNOWN;
    }
}

/*
 * (fd, buf, buf_len, cookie, bufused_ptr). Entries ("." and ".." included)
 * come in the order the host lists them. A cookie is the host's directory
 * offset (telldir/seekdir; d_off of the entry before): 0 is the start and
 * each dirent's d_next is the offset just after it. Unlike an entry
 * count, such offsets stay valid while the guest removes entries between
 * calls (Rust's remove_dir_all does). The directory is read through a
 * second open of it, kept in the fd with its current offset, so a call
 * that continues where the last one stopped needs no seek. The buffer is
 * filled completely when more entries exist: the last entry may be cut
 * off, as the witx allows (bufused == buf_len tells the guest to call
 * again from the last whole entry's d_next).
 */
wm_status wasi_fd_readdir(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (f->kind != WASI_FD_DIR) return wasi_ret(slots, WASI_ENOTDIR);
    if (!(f->rights_base & WASI_RIGHT_FD_READDIR))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    uint32_t buf_len = A32(2);
    uint64_t cookie = A64(3);
    uint8_t *out = wasi_span(call, A32(1), buf_len);
    uint8_t *pused = wasi_span(call, A32(4), 4);
    if (!out || !pused) return wasi_ret(slots, WASI_EFAULT);
    if (cookie > (uint64_t)LONG_MAX) return wasi_ret(slots, WASI_EINVAL);
    if (!f->dir) {
        int dfd = openat(f->host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) return wasi_ret(slots, wasi_errno_from_host(errno));
        f->dir = fdopendir(dfd);
        if (!f->dir) {
            int saved = errno;
            close(dfd);
            return wasi_ret(slots, wasi_errno_from_host(saved));
        }
        f->dir_pos = 0;
    }
    if (cookie != f->dir_pos) {
        if (cookie == 0) rewinddir(f->dir);
        else seekdir(f->dir, (long)cookie);
        f->dir_pos = cookie;
    }
    struct dirent *de;
    uint32_t used = 0;
    while (used < buf_len) {
        errno = 0;
        if (!(de = readdir(f->dir))) {
            if (errno) return wasi_ret(slots, wasi_errno_from_host(errno));
            break;
        }
        f->dir_pos = (uint64_t)de->d_off;
        size_t namlen = strlen(de->d_name);
        uint8_t type = wasi_filetype_of_dt(de->d_type);
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(f->dir), de->d_name, &st,
                        AT_SYMLINK_NOFOLLOW) == 0)
                type = wasi_filetype_of_mode(-1, st.st_mode);
        }
        uint8_t hdr[WASI_DIRENT_SIZE];
        memset(hdr, 0, sizeof hdr);
        st64(hdr, f->dir_pos);
        st64(hdr + 8, (uint64_t)de->d_ino);
        st32(hdr + 16, (uint32_t)namlen);
        hdr[20] = type;
        uint32_t k = buf_len - used < WASI_DIRENT_SIZE ? buf_len - used
                                                       : WASI_DIRENT_SIZE;
        memcpy(out + used, hdr, k);
        used += k;
        k = buf_len - used < namlen ? buf_len - used : (uint32_t)namlen;
        memcpy(out + used, de->d_name, k);
        used += k;
    }
    st32(pused, used);
    return wasi_ret(slots, WASI_ESUCCESS);
}
