/*
 * wasi_p1.c — WASI preview 1 (`wasi_snapshot_preview1`, and the older
 * `wasi_unstable` where its ABI differs: fd_seek's whence numbering, the
 * filestat layout with a u32 nlink, the clock subscription layout): the
 * context and its fd table, arguments, environment, fd reads and writes,
 * fd status, seeking, clocks, randomness, poll_oneoff, proc_exit, and the
 * registration of every function of both module names. Path functions
 * and fd_readdir live in wasi_fs.c, sockets in wasi_sock.c (see wasi.h).
 *
 * Every host function follows the same shape:
 *   1. look the guest's fd up in the instance's fd table (EBADF if absent)
 *      and check the rights the call needs (ENOTCAPABLE if missing);
 *   2. turn every guest (pointer, length) into a host pointer through
 *      wasi_span() -> wm_memory_span(), the one checked path, *before* any
 *      host side effect (EFAULT if any range is out of bounds);
 *   3. do the host system call and translate errno to the WASI errno
 *      (the numbers of the preview 1 witx, not the host's).
 * Nothing is sized by guest values: iovecs go to the host in fixed chunks
 * of WASI_IOV_CHUNK, poll subscriptions are capped at WASI_POLL_MAX_FDS,
 * paths at WASI_PATH_MAX, the fd table at WASI_MAX_FDS.
 *
 * State: one wasi_ctx per wm_linker_define_wasi() call, allocated as a
 * store object of the linker's runtime (rt_object_new), so it lives as long
 * as any instance that imported these functions and is released (host fds
 * it owns closed, buffers freed) by wm_runtime_free.
 *
 * The fd table: 0-2 stdio (host fds from the config, never closed by us),
 * then the pre-opened directories in config order, then the pre-opened
 * listening sockets; later fds come from path_open, sock_accept and
 * sock_open (WasmEdge's extension, wasi_sock.c), always
 * in the lowest free slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi.h"

enum { WASI_WHENCE_SET = 0, WASI_WHENCE_CUR = 1, WASI_WHENCE_END = 2 };
/* wasi_unstable numbered whence differently. */
enum { WASI_UNSTABLE_WHENCE_CUR = 0, WASI_UNSTABLE_WHENCE_END = 1,
       WASI_UNSTABLE_WHENCE_SET = 2 };

enum {
    WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1,
    WASI_CLOCK_PROCESS_CPUTIME = 2, WASI_CLOCK_THREAD_CPUTIME = 3,
};

enum { WASI_EVENTTYPE_CLOCK = 0, WASI_EVENTTYPE_FD_READ = 1,
       WASI_EVENTTYPE_FD_WRITE = 2 };
#define WASI_SUBCLOCK_ABSTIME 1u
#define WASI_EVENT_FD_READWRITE_HANGUP 1u

/* ==== State ============================================================= */

/* Close a slot's host resources and mark it free. Returns close()'s
 * result for owned fds (0 otherwise). */
int wasi_fd_release(wasi_fd *f) {
    int r = 0;
    if (f->dir) closedir(f->dir);
    if (f->kind != WASI_FD_FREE && f->owned && f->host_fd >= 0)
        r = close(f->host_fd);
    free(f->preopen_name);
    memset(f, 0, sizeof *f);
    f->host_fd = -1;
    return r;
}

/* Store-object finaliser: close owned host fds, free buffers. The ctx
 * memory itself belongs to the runtime. */
static void wasi_ctx_fini(void *ptr) {
    wasi_ctx *c = ptr;
    for (uint32_t i = 0; i < c->n_fds; i++) wasi_fd_release(&c->fds[i]);
    free(c->fds);
    free(c->bind_grants);
    free(c->net_grants);
    c->bind_grants = c->net_grants = NULL;
    c->n_bind_grants = c->n_net_grants = 0;
    free(c->args.buf);
    free(c->env.buf);
    c->fds = NULL;
    c->n_fds = c->cap_fds = 0;
    c->args.buf = c->env.buf = NULL;
}

uint16_t wasi_fd_add(wasi_ctx *c, int host_fd, uint8_t kind,
                     uint64_t rights_base, uint64_t rights_inheriting,
                     uint32_t *out) {
    uint32_t i = 0;
    while (i < c->n_fds && c->fds[i].kind != WASI_FD_FREE) i++;
    if (i == c->n_fds) {
        if (c->n_fds == WASI_MAX_FDS) return WASI_EMFILE;
        if (c->n_fds == c->cap_fds) {
            uint32_t cap = c->cap_fds ? c->cap_fds * 2 : 8;
            if (cap > WASI_MAX_FDS) cap = WASI_MAX_FDS;
            wasi_fd *n = realloc(c->fds, cap * sizeof *n);
            if (!n) return WASI_ENOMEM;
            c->fds = n;
            c->cap_fds = cap;
        }
        c->n_fds++;
    }
    wasi_fd *f = &c->fds[i];
    memset(f, 0, sizeof *f);
    f->host_fd = host_fd;
    f->kind = kind;
    f->owned = true;
    f->rights_base = rights_base;
    f->rights_inheriting = rights_inheriting;
    *out = i;
    return WASI_ESUCCESS;
}

/* Copy n C strings into the packed form. WM_ERR_LIMIT beyond the caps. */
static wm_status wasi_strings_init(wasi_strings *s, int n,
                                   const char *const *v, const char *what,
                                   wm_error *err) {
    if (n < 0 || (n > 0 && !v) || (uint32_t)n > WASI_MAX_STRINGS)
        return wm_errf(err, WM_ERR_LIMIT, "wasi: too many %s (max %u)", what,
                       WASI_MAX_STRINGS);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!v[i])
            return wm_errf(err, WM_ERR_ARG, "wasi: %s[%d] is NULL", what, i);
        size_t len = strlen(v[i]) + 1;
        if (len > WASI_MAX_STRING_BYTES - total)
            return wm_errf(err, WM_ERR_LIMIT,
                           "wasi: %s exceed %zu bytes", what,
                           WASI_MAX_STRING_BYTES);
        total += len;
    }
    s->n = (uint32_t)n;
    s->n_bytes = (uint32_t)total;
    if (total == 0) return WM_OK;
    s->buf = malloc(total);
    if (!s->buf) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        memcpy(s->buf + off, v[i], len);
        off += len;
    }
    return WM_OK;
}

/* ==== Helpers =========================================================== */

/* The host errno as a WASI errno. */
uint16_t wasi_errno_from_host(int e) {
    switch (e) {
    case 0: return WASI_ESUCCESS;
    case E2BIG: return WASI_E2BIG;
    case EACCES: return WASI_EACCES;
    case EADDRINUSE: return WASI_EADDRINUSE;
    case EADDRNOTAVAIL: return WASI_EADDRNOTAVAIL;
    case EAFNOSUPPORT: return WASI_EAFNOSUPPORT;
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EAGAIN: return WASI_EAGAIN;
    case EALREADY: return WASI_EALREADY;
    case EBADF: return WASI_EBADF;
    case EBADMSG: return WASI_EBADMSG;
    case EBUSY: return WASI_EBUSY;
    case ECANCELED: return WASI_ECANCELED;
    case ECHILD: return WASI_ECHILD;
    case ECONNABORTED: return WASI_ECONNABORTED;
    case ECONNREFUSED: return WASI_ECONNREFUSED;
    case ECONNRESET: return WASI_ECONNRESET;
    case EDEADLK: return WASI_EDEADLK;
    case EDESTADDRREQ: return WASI_EDESTADDRREQ;
    case EDOM: return WASI_EDOM;
    case EDQUOT: return WASI_EDQUOT;
    case EEXIST: return WASI_EEXIST;
    case EFAULT: return WASI_EFAULT;
    case EFBIG: return WASI_EFBIG;
    case EHOSTUNREACH: return WASI_EHOSTUNREACH;
    case EIDRM: return WASI_EIDRM;
    case EILSEQ: return WASI_EILSEQ;
    case EINPROGRESS: return WASI_EINPROGRESS;
    case EINTR: return WASI_EINTR;
    case EINVAL: return WASI_EINVAL;
    case EIO: return WASI_EIO;
    case EISCONN: return WASI_EISCONN;
    case EISDIR: return WASI_EISDIR;
    case ELOOP: return WASI_ELOOP;
    case EMFILE: return WASI_EMFILE;
    case EMLINK: return WASI_EMLINK;
    case EMSGSIZE: return WASI_EMSGSIZE;
    case EMULTIHOP: return WASI_EMULTIHOP;
    case ENAMETOOLONG: return WASI_ENAMETOOLONG;
    case ENETDOWN: return WASI_ENETDOWN;
    case ENETRESET: return WASI_ENETRESET;
    case ENETUNREACH: return WASI_ENETUNREACH;
    case ENFILE: return WASI_ENFILE;
    case ENOBUFS: return WASI_ENOBUFS;
    case ENODEV: return WASI_ENODEV;
    case ENOENT: return WASI_ENOENT;
    case ENOEXEC: return WASI_ENOEXEC;
    case ENOLCK: return WASI_ENOLCK;
    case ENOLINK: return WASI_ENOLINK;
    case ENOMEM: return WASI_ENOMEM;
    case ENOMSG: return WASI_ENOMSG;
    case ENOPROTOOPT: return WASI_ENOPROTOOPT;
    case ENOSPC: return WASI_ENOSPC;
    case ENOSYS: return WASI_ENOSYS;
    case ENOTCONN: return WASI_ENOTCONN;
    case ENOTDIR: return WASI_ENOTDIR;
    case ENOTEMPTY: return WASI_ENOTEMPTY;
    case ENOTRECOVERABLE: return WASI_ENOTRECOVERABLE;
    case ENOTSOCK: return WASI_ENOTSOCK;
#if ENOTSUP != EOPNOTSUPP
    case EOPNOTSUPP:
#endif
    case ENOTSUP: return WASI_ENOTSUP;
    case ENOTTY: return WASI_ENOTTY;
    case ENXIO: return WASI_ENXIO;
    case EOVERFLOW: return WASI_EOVERFLOW;
    case EOWNERDEAD: return WASI_EOWNERDEAD;
    case EPERM: return WASI_EPERM;
    case EPIPE: return WASI_EPIPE;
    case EPROTO: return WASI_EPROTO;
    case EPROTONOSUPPORT: return WASI_EPROTONOSUPPORT;
    case EPROTOTYPE: return WASI_EPROTOTYPE;
    case ERANGE: return WASI_ERANGE;
    case EROFS: return WASI_EROFS;
    case ESPIPE: return WASI_ESPIPE;
    case ESRCH: return WASI_ESRCH;
    case ESTALE: return WASI_ESTALE;
    case ETIMEDOUT: return WASI_ETIMEDOUT;
    case ETXTBSY: return WASI_ETXTBSY;
    case EXDEV: return WASI_EXDEV;
    default: return WASI_EIO;
    }
}

uint8_t wasi_filetype_of_mode(int host_fd, mode_t mode) {
    if (S_ISREG(mode)) return WASI_FILETYPE_REGULAR_FILE;
    if (S_ISDIR(mode)) return WASI_FILETYPE_DIRECTORY;
    if (S_ISCHR(mode)) return WASI_FILETYPE_CHARACTER_DEVICE;
    if (S_ISBLK(mode)) return WASI_FILETYPE_BLOCK_DEVICE;
    if (S_ISLNK(mode)) return WASI_FILETYPE_SYMBOLIC_LINK;
    if (S_ISSOCK(mode)) {
        int type = 0;
        socklen_t len = sizeof type;
        if (getsockopt(host_fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
            type == SOCK_DGRAM)
            return WASI_FILETYPE_SOCKET_DGRAM;
        return WASI_FILETYPE_SOCKET_STREAM;
    }
    return WASI_FILETYPE_UNKNOWN;   /* FIFOs have no WASI file type */
}

/*
 * The rights a stdio fd gets: reading/writing as the host fd was opened,
 * seek/tell and the file operations only where the host says the object
 * is seekable (lseek succeeds: files, block devices, /dev/null; not pipes,
 * sockets or terminals). wasi-libc's isatty() relies on this: a character
 * device *without* FD_SEEK/FD_TELL is a terminal, and gets line buffering.
 */
static uint64_t wasi_stdio_rights(int host_fd) {
    uint64_t r = WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET |
                 WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_FD_SYNC |
                 WASI_RIGHT_FD_DATASYNC;
    int fl = fcntl(host_fd, F_GETFL);
    int acc = fl < 0 ? O_RDWR : (fl & O_ACCMODE);
    if (acc == O_RDONLY || acc == O_RDWR) r |= WASI_RIGHT_FD_READ;
    if (acc == O_WRONLY || acc == O_RDWR) r |= WASI_RIGHT_FD_WRITE;
    if (lseek(host_fd, 0, SEEK_CUR) >= 0)
        r |= WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_ADVISE |
             WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_FILESTAT_SET_SIZE |
             WASI_RIGHT_FD_FILESTAT_SET_TIMES;
    return r;
}

wasi_fd *wasi_fd_get(wasi_ctx *c, uint32_t fd) {
    if (fd >= c->n_fds || c->fds[fd].kind == WASI_FD_FREE) return NULL;
    return &c->fds[fd];
}

/* The errno for a missing seek right: stdio and sockets lack it because
 * the object cannot seek (ESPIPE, as on the host); anything else had it
 * taken away (ENOTCAPABLE). */
static uint16_t wasi_no_seek_errno(const wasi_fd *f) {
    return f->kind == WASI_FD_STDIO || f->kind == WASI_FD_SOCKET ||
                   f->kind == WASI_FD_LISTEN
               ? WASI_ESPIPE : WASI_ENOTCAPABLE;
}

/* Map a WASI clock id to the host's; false for unknown ids. */
static bool wasi_clock_host(uint32_t id, clockid_t *out) {
    switch (id) {
    case WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return true;
    case WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return true;
    case WASI_CLOCK_PROCESS_CPUTIME: *out = CLOCK_PROCESS_CPUTIME_ID;
        return true;
    case WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID;
        return true;
    default: return false;
    }
}

uint64_t wasi_ts_ns(const struct timespec *ts) {
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

static uint64_t wasi_now_ns(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return 0;
    return wasi_ts_ns(&ts);
}

void wasi_put_filestat(uint8_t *p, const struct stat *st, uint8_t filetype,
                       bool unstable) {
    uint32_t size = unstable ? WASI_FILESTAT_UNSTABLE_SIZE
                             : WASI_FILESTAT_SIZE;
    memset(p, 0, size);
    st64(p + 0, (uint64_t)st->st_dev);
    st64(p + 8, (uint64_t)st->st_ino);
    p[16] = filetype;
    uint32_t o = 24;
    if (unstable) {
        st32(p + 20, (uint32_t)st->st_nlink);
    } else {
        st64(p + 24, (uint64_t)st->st_nlink);
        o = 32;
    }
    st64(p + o, (uint64_t)st->st_size);
    st64(p + o + 8, wasi_ts_ns(&st->st_atim));
    st64(p + o + 16, wasi_ts_ns(&st->st_mtim));
    st64(p + o + 24, wasi_ts_ns(&st->st_ctim));
}

/* ==== Arguments and environment ========================================= */

static wm_status wasi_strings_sizes(wm_call *call, uint64_t *slots,
                                    const wasi_strings *s) {
    uint8_t *pn = wasi_span(call, A32(0), 4);
    uint8_t *pb = wasi_span(call, A32(1), 4);
    if (!pn || !pb) return wasi_ret(slots, WASI_EFAULT);
    st32(pn, s->n);
    st32(pb, s->n_bytes);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (argv_ptr, argv_buf_ptr): argv[i] = argv_buf + offset of string i. */
static wm_status wasi_strings_get(wm_call *call, uint64_t *slots,
                                  const wasi_strings *s) {
    uint32_t gv = A32(0), gbuf = A32(1);
    uint8_t *pv = wasi_span(call, gv, (uint64_t)s->n * 4);
    uint8_t *pb = wasi_span(call, gbuf, s->n_bytes);
    if (!pv || !pb) return wasi_ret(slots, WASI_EFAULT);
    if (s->n_bytes) memcpy(pb, s->buf, s->n_bytes);
    /* gbuf + n_bytes <= memory size <= 4 GiB was checked above, so the
     * u32 sums below cannot wrap. */
    uint32_t off = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        st32(pv + 4 * (size_t)i, gbuf + off);
        off += (uint32_t)strlen(s->buf + off) + 1;
    }
    return wasi_ret(slots, WASI_ESUCCESS);
}

static wm_status wasi_args_sizes_get(wm_call *call, uint64_t *slots) {
    return wasi_strings_sizes(call, slots, &CTX()->args);
}
static wm_status wasi_args_get(wm_call *call, uint64_t *slots) {
    return wasi_strings_get(call, slots, &CTX()->args);
}
static wm_status wasi_environ_sizes_get(wm_call *call, uint64_t *slots) {
    return wasi_strings_sizes(call, slots, &CTX()->env);
}
static wm_status wasi_environ_get(wm_call *call, uint64_t *slots) {
    return wasi_strings_get(call, slots, &CTX()->env);
}

/* ==== Reading and writing =============================================== */

/* One host scatter/gather call for op; -1 with errno on failure. */
static ssize_t wasi_rw_host(int fd, struct iovec *hv, int k, wasi_io_op op,
                            uint64_t at, int msg_flags) {
    struct msghdr mh = {.msg_iov = hv, .msg_iovlen = (size_t)k};
    switch (op) {
    case WASI_IO_READ: return readv(fd, hv, k);
    case WASI_IO_WRITE: return writev(fd, hv, k);
    case WASI_IO_PREAD: return preadv(fd, hv, k, (off_t)at);
    case WASI_IO_PWRITE: return pwritev(fd, hv, k, (off_t)at);
    case WASI_IO_SEND: return sendmsg(fd, &mh, msg_flags | MSG_NOSIGNAL);
    }
    errno = EINVAL;
    return -1;
}

/*
 * Scatter/gather I/O for fd_read/fd_write/fd_pread/fd_pwrite/sock_send
 * over the guest iovec array at g_iovs. All iovecs are checked before any
 * I/O, then handed to the host WASI_IOV_CHUNK at a time; a short transfer
 * ends the call (as readv/writev may). Errors after some bytes moved are
 * reported as success with the count, as POSIX does. The total is capped
 * at UINT32_MAX because the guest receives it as a u32.
 */
uint16_t wasi_rw(wm_call *call, wasi_fd *f, uint32_t g_iovs, uint32_t n_iovs,
                 wasi_io_op op, uint64_t pos, int msg_flags,
                 uint32_t *out_n) {
    const uint8_t *iov = wasi_span(call, g_iovs,
                                   (uint64_t)n_iovs * WASI_IOVEC_SIZE);
    if (!iov) return WASI_EFAULT;
    for (uint32_t i = 0; i < n_iovs; i++) {
        const uint8_t *e = iov + (size_t)i * WASI_IOVEC_SIZE;
        if (!wasi_span(call, ld32(e), ld32(e + 4))) return WASI_EFAULT;
    }
    bool positional = op == WASI_IO_PREAD || op == WASI_IO_PWRITE;
    if (positional && pos > (uint64_t)INT64_MAX) return WASI_EINVAL;

    uint64_t total = 0;
    uint32_t i = 0;
    while (i < n_iovs && total < UINT32_MAX) {
        struct iovec hv[WASI_IOV_CHUNK];
        int k = 0;
        uint64_t want = 0;
        for (; i < n_iovs && k < WASI_IOV_CHUNK; i++) {
            const uint8_t *e = iov + (size_t)i * WASI_IOVEC_SIZE;
            uint64_t len = ld32(e + 4);
            if (len > UINT32_MAX - total - want)
                len = UINT32_MAX - total - want;
            if (len == 0) continue;
            hv[k].iov_base = wasi_span(call, ld32(e), len);
            hv[k].iov_len = (size_t)len;
            want += len;
            k++;
        }
        if (k == 0) break;
        ssize_t r;
        do {
            r = wasi_rw_host(f->host_fd, hv, k, op, pos + total, msg_flags);
        } while (r < 0 && errno == EINTR);
        if (r < 0) {
            if (total) break;
            return wasi_errno_from_host(errno);
        }
        total += (uint64_t)r;
        if ((uint64_t)r < want) break;
    }
    *out_n = (uint32_t)total;
    return WASI_ESUCCESS;
}

static wm_status wasi_rw_call(wm_call *call, uint64_t *slots,
                              wasi_io_op op) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    bool write = op == WASI_IO_WRITE || op == WASI_IO_PWRITE;
    bool positional = op == WASI_IO_PREAD || op == WASI_IO_PWRITE;
    if (f->kind == WASI_FD_DIR) return wasi_ret(slots, WASI_EISDIR);
    uint64_t need = write ? WASI_RIGHT_FD_WRITE : WASI_RIGHT_FD_READ;
    if (!(f->rights_base & need)) return wasi_ret(slots, WASI_ENOTCAPABLE);
    if (positional && !(f->rights_base & WASI_RIGHT_FD_SEEK))
        return wasi_ret(slots, wasi_no_seek_errno(f));
    uint32_t out_idx = positional ? 4 : 3;
    uint8_t *pout = wasi_span(call, A32(out_idx), 4);
    if (!pout) return wasi_ret(slots, WASI_EFAULT);
    uint32_t n = 0;
    uint16_t e = wasi_rw(call, f, A32(1), A32(2), op,
                         positional ? A64(3) : 0, 0, &n);
    if (e == WASI_ESUCCESS) st32(pout, n);
    return wasi_ret(slots, e);
}

static wm_status wasi_fd_write(wm_call *call, uint64_t *slots) {
    return wasi_rw_call(call, slots, WASI_IO_WRITE);
}
static wm_status wasi_fd_read(wm_call *call, uint64_t *slots) {
    return wasi_rw_call(call, slots, WASI_IO_READ);
}
static wm_status wasi_fd_pwrite(wm_call *call, uint64_t *slots) {
    return wasi_rw_call(call, slots, WASI_IO_PWRITE);
}
static wm_status wasi_fd_pread(wm_call *call, uint64_t *slots) {
    return wasi_rw_call(call, slots, WASI_IO_PREAD);
}

/* ==== File descriptors ================================================== */

/* (fd, buf): the fd's type (from the host object now), flags, rights. */
static wm_status wasi_fd_fdstat_get(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    uint8_t *p = wasi_span(call, A32(1), WASI_FDSTAT_SIZE);
    if (!p) return wasi_ret(slots, WASI_EFAULT);
    struct stat st;
    if (fstat(f->host_fd, &st) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    int fl = fcntl(f->host_fd, F_GETFL);
    if (fl < 0) return wasi_ret(slots, wasi_errno_from_host(errno));
    uint16_t flags = 0;
    if (fl & O_APPEND) flags |= WASI_FDFLAG_APPEND;
    if (fl & O_NONBLOCK) flags |= WASI_FDFLAG_NONBLOCK;
    if ((fl & O_SYNC) == O_SYNC) flags |= WASI_FDFLAG_SYNC;
    else if (fl & O_DSYNC) flags |= WASI_FDFLAG_DSYNC;
    memset(p, 0, WASI_FDSTAT_SIZE);
    p[0] = wasi_filetype_of_mode(f->host_fd, st.st_mode);
    st16(p + 2, flags);
    st64(p + 8, f->rights_base);
    st64(p + 16, f->rights_inheriting);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (fd, flags): APPEND and NONBLOCK go to the host fd (F_SETFL); the
 * synchronous-I/O flags cannot be changed after open on Linux. */
static wm_status wasi_fd_fdstat_set_flags(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    uint32_t flags = A32(1) & 0xffff;
    if (!(f->rights_base & WASI_RIGHT_FD_FDSTAT_SET_FLAGS))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    if (flags & ~WASI_FDFLAGS_ALL) return wasi_ret(slots, WASI_EINVAL);
    if (flags & (WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC))
        return wasi_ret(slots, WASI_ENOTSUP);
    int fl = fcntl(f->host_fd, F_GETFL);
    if (fl < 0) return wasi_ret(slots, wasi_errno_from_host(errno));
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & WASI_FDFLAG_APPEND) fl |= O_APPEND;
    if (flags & WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
    if (fcntl(f->host_fd, F_SETFL, fl) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (fd, rights_base, rights_inheriting): rights can only be dropped. */
static wm_status wasi_fd_fdstat_set_rights(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    uint64_t base = A64(1), inh = A64(2);
    if ((base & ~f->rights_base) || (inh & ~f->rights_inheriting))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    f->rights_base = base;
    f->rights_inheriting = inh;
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* lseek on the host fd. FD_SEEK is needed, except that a pure position
 * query (offset 0 from the current position) is fd_tell, which needs only
 * FD_TELL. The OS decides the rest (ESPIPE for pipes, EINVAL for a
 * negative result). */
static uint16_t wasi_seek(wm_call *call, uint32_t fd, int64_t off,
                          int whence, uint32_t g_out) {
    wasi_fd *f = wasi_fd_get(CTX(), fd);
    if (!f) return WASI_EBADF;
    uint64_t need = whence == SEEK_CUR && off == 0
                        ? WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_SEEK
                        : WASI_RIGHT_FD_SEEK;
    if (!(f->rights_base & need)) return wasi_no_seek_errno(f);
    uint8_t *p = wasi_span(call, g_out, 8);
    if (!p) return WASI_EFAULT;
    off_t r = lseek(f->host_fd, (off_t)off, whence);
    if (r < 0) return wasi_errno_from_host(errno);
    st64(p, (uint64_t)r);
    return WASI_ESUCCESS;
}

/* (fd, offset: i64, whence: u8, newoffset_ptr) */
static wm_status wasi_fd_seek(wm_call *call, uint64_t *slots) {
    static const int host_whence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    uint32_t w = A32(2) & 0xff;
    if (!wasi_fd_get(CTX(), A32(0))) return wasi_ret(slots, WASI_EBADF);
    if (w > WASI_WHENCE_END) return wasi_ret(slots, WASI_EINVAL);
    return wasi_ret(slots, wasi_seek(call, A32(0), (int64_t)A64(1),
                                     host_whence[w], A32(3)));
}

/* wasi_unstable numbers whence CUR=0, END=1, SET=2. */
static wm_status wasi_unstable_fd_seek(wm_call *call, uint64_t *slots) {
    static const int host_whence[] = {SEEK_CUR, SEEK_END, SEEK_SET};
    uint32_t w = A32(2) & 0xff;
    if (!wasi_fd_get(CTX(), A32(0))) return wasi_ret(slots, WASI_EBADF);
    if (w > WASI_UNSTABLE_WHENCE_SET) return wasi_ret(slots, WASI_EINVAL);
    return wasi_ret(slots, wasi_seek(call, A32(0), (int64_t)A64(1),
                                     host_whence[w], A32(3)));
}

static wm_status wasi_fd_tell(wm_call *call, uint64_t *slots) {
    return wasi_ret(slots, wasi_seek(call, A32(0), 0, SEEK_CUR, A32(1)));
}

/* Closing a stdio fd removes it from the guest's table only: the host's
 * stdio stays open for the embedder. */
static wm_status wasi_fd_close(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    int r = wasi_fd_release(f);
    return wasi_ret(slots, r != 0 && errno != EINTR
                               ? wasi_errno_from_host(errno)
                               : WASI_ESUCCESS);
}

/* (from, to): atomically replace `to` with `from`, closing `to`; both
 * must be open (EBADF otherwise, as the witx says). */
static wm_status wasi_fd_renumber(wm_call *call, uint64_t *slots) {
    wasi_ctx *c = CTX();
    wasi_fd *from = wasi_fd_get(c, A32(0)), *to = wasi_fd_get(c, A32(1));
    if (!from || !to) return wasi_ret(slots, WASI_EBADF);
    if (from == to) return wasi_ret(slots, WASI_ESUCCESS);
    wasi_fd_release(to);
    *to = *from;
    memset(from, 0, sizeof *from);
    from->host_fd = -1;
    return wasi_ret(slots, WASI_ESUCCESS);
}

static wm_status wasi_fd_sync_common(wm_call *call, uint64_t *slots,
                                     bool data_only) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    uint64_t need = data_only ? WASI_RIGHT_FD_DATASYNC : WASI_RIGHT_FD_SYNC;
    if (!(f->rights_base & need)) return wasi_ret(slots, WASI_ENOTCAPABLE);
    int r = data_only ? fdatasync(f->host_fd) : fsync(f->host_fd);
    return wasi_ret(slots, r ? wasi_errno_from_host(errno) : WASI_ESUCCESS);
}
static wm_status wasi_fd_sync(wm_call *call, uint64_t *slots) {
    return wasi_fd_sync_common(call, slots, false);
}
static wm_status wasi_fd_datasync(wm_call *call, uint64_t *slots) {
    return wasi_fd_sync_common(call, slots, true);
}

/* (fd, buf[, unstable]): fstat of the host object in WASI's layout. */
static wm_status wasi_filestat_common(wm_call *call, uint64_t *slots,
                                      bool unstable) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_FD_FILESTAT_GET))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    uint32_t size = unstable ? WASI_FILESTAT_UNSTABLE_SIZE
                             : WASI_FILESTAT_SIZE;
    uint8_t *p = wasi_span(call, A32(1), size);
    if (!p) return wasi_ret(slots, WASI_EFAULT);
    struct stat st;
    if (fstat(f->host_fd, &st) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    wasi_put_filestat(p, &st, wasi_filetype_of_mode(f->host_fd, st.st_mode),
                      unstable);
    return wasi_ret(slots, WASI_ESUCCESS);
}
static wm_status wasi_fd_filestat_get(wm_call *call, uint64_t *slots) {
    return wasi_filestat_common(call, slots, false);
}
static wm_status wasi_unstable_fd_filestat_get(wm_call *call,
                                               uint64_t *slots) {
    return wasi_filestat_common(call, slots, true);
}

/* (fd, buf): pre-opened directories only; EBADF for every other fd ends
 * wasi-libc's pre-open scan. */
static wm_status wasi_fd_prestat_get(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f || !f->preopen_name) return wasi_ret(slots, WASI_EBADF);
    uint8_t *p = wasi_span(call, A32(1), 8);
    if (!p) return wasi_ret(slots, WASI_EFAULT);
    memset(p, 0, 8);   /* tag 0 = preopentype dir */
    st32(p + 4, (uint32_t)strlen(f->preopen_name));
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (fd, path, path_len): the name without a NUL; ENAMETOOLONG when the
 * buffer is shorter than the name. */
static wm_status wasi_fd_prestat_dir_name(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f || !f->preopen_name) return wasi_ret(slots, WASI_EBADF);
    size_t len = strlen(f->preopen_name);
    if (A32(2) < len) return wasi_ret(slots, WASI_ENAMETOOLONG);
    uint8_t *p = wasi_span(call, A32(1), len);
    if (!p) return wasi_ret(slots, WASI_EFAULT);
    memcpy(p, f->preopen_name, len);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* ==== Clocks, randomness, scheduling, exit ============================== */

/* (clock_id, resolution_ptr) */
static wm_status wasi_clock_res_get(wm_call *call, uint64_t *slots) {
    clockid_t id;
    if (!wasi_clock_host(A32(0), &id)) return wasi_ret(slots, WASI_EINVAL);
    uint8_t *p = wasi_span(call, A32(1), 8);
    if (!p) return wasi_ret(slots, WASI_EFAULT);
    struct timespec ts;
    if (clock_getres(id, &ts) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    st64(p, wasi_ts_ns(&ts));
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (clock_id, precision: i64, time_ptr) */
static wm_status wasi_clock_time_get(wm_call *call, uint64_t *slots) {
    clockid_t id;
    if (!wasi_clock_host(A32(0), &id)) return wasi_ret(slots, WASI_EINVAL);
    uint8_t *p = wasi_span(call, A32(2), 8);
    if (!p) return wasi_ret(slots, WASI_EFAULT);
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    st64(p, wasi_ts_ns(&ts));
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (buf, len): the kernel's CSPRNG, looping over short reads. */
static wm_status wasi_random_get(wm_call *call, uint64_t *slots) {
    uint32_t len = A32(1);
    uint8_t *p = wasi_span(call, A32(0), len);
    if (!p) return wasi_ret(slots, WASI_EFAULT);
    size_t done = 0;
    while (done < len) {
        ssize_t r = getrandom(p + done, len - done, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return wasi_ret(slots, wasi_errno_from_host(errno));
        }
        done += (size_t)r;
    }
    return wasi_ret(slots, WASI_ESUCCESS);
}

static wm_status wasi_sched_yield(wm_call *call, uint64_t *slots) {
    sched_yield();
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (code): end the program; wm_func_call returns WM_EXIT with the code. */
static wm_status wasi_proc_exit(wm_call *call, uint64_t *slots) {
    return wm_call_exit(call, (int)A32(0));
}

/* (signal): raising signals in the host is not something a sandboxed
 * guest may do; the call reports ENOTSUP ("not supported") and changes
 * nothing, for every signal number. */
static wm_status wasi_proc_raise(wm_call *call, uint64_t *slots) {
    return wasi_ret(slots, WASI_ENOTSUP);
}

/* ==== poll_oneoff ======================================================= */

/*
 * (in, out, nsubscriptions, nevents_ptr). Clock subscriptions (relative or
 * ABSTIME, on the realtime or monotonic clock) become a timeout; fd
 * subscriptions become host poll() entries, so reading stdin or accepting
 * with a timeout works. Subscriptions that fail on their own (bad fd,
 * missing rights, CPU-time clocks, which cannot be waited on) produce an
 * event with the error immediately, as the witx says. Waits until at
 * least one event occurred, then reports every subscription that is ready
 * at that moment: all ready fds, every clock whose deadline has passed.
 * fd_read events carry nbytes (bytes ready to read, 0 when unknown) and
 * the hangup flag (POLLHUP).
 */
static void wasi_put_event(uint8_t *ev, uint64_t userdata, uint16_t error,
                           uint8_t type, uint64_t nbytes, uint16_t flags) {
    memset(ev, 0, WASI_EVENT_SIZE);
    st64(ev, userdata);
    st16(ev + 8, error);
    ev[10] = type;
    st64(ev + 16, nbytes);
    st16(ev + 24, flags);
}

/* A clock subscription decoded: its host clock and absolute deadline
 * (relative timeouts counted from t0, the call's start on that clock). */
static bool wasi_sub_clock(const uint8_t *cs, const uint64_t t0[2],
                           clockid_t *id, uint64_t *deadline) {
    uint32_t wid = ld32(cs);
    if (wid != WASI_CLOCK_REALTIME && wid != WASI_CLOCK_MONOTONIC)
        return false;
    wasi_clock_host(wid, id);
    uint64_t timeout = ld64(cs + 8);
    if (ld16(cs + 24) & WASI_SUBCLOCK_ABSTIME) {
        *deadline = timeout;
    } else {
        uint64_t now = t0[wid];
        *deadline = timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
    }
    return true;
}

static wm_status wasi_poll_common(wm_call *call, uint64_t *slots,
                                  bool unstable) {
    wasi_ctx *c = CTX();
    uint32_t g_in = A32(0), g_out = A32(1), n = A32(2);
    uint32_t sub_size = unstable ? WASI_SUB_UNSTABLE_SIZE : WASI_SUB_SIZE;
    uint32_t clk_off = unstable ? 24 : 16;   /* clock id within sub */
    if (n == 0) return wasi_ret(slots, WASI_EINVAL);
    const uint8_t *in = wasi_span(call, g_in, (uint64_t)n * sub_size);
    uint8_t *out = wasi_span(call, g_out, (uint64_t)n * WASI_EVENT_SIZE);
    uint8_t *pn = wasi_span(call, A32(3), 4);
    if (!in || !out || !pn) return wasi_ret(slots, WASI_EFAULT);

    struct pollfd pfd[WASI_POLL_MAX_FDS];
    uint32_t pfd_sub[WASI_POLL_MAX_FDS];
    uint32_t n_pfd = 0, n_ev = 0;
    const uint64_t t0[2] = {wasi_now_ns(CLOCK_REALTIME),
                            wasi_now_ns(CLOCK_MONOTONIC)};
    bool have_clock = false;
    clockid_t soon_id = CLOCK_MONOTONIC;
    uint64_t soon_deadline = 0, soon_left = UINT64_MAX;

    /* Pass 1: decode, fail bad subscriptions at once, find the soonest
     * deadline (compared as time left, since the clocks differ). */
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = in + (size_t)i * sub_size;
        uint64_t ud = ld64(s);
        uint8_t tag = s[8];
        if (tag == WASI_EVENTTYPE_CLOCK) {
            clockid_t id;
            uint64_t deadline;
            if (!wasi_sub_clock(s + clk_off, t0, &id, &deadline)) {
                wasi_put_event(out + (size_t)n_ev++ * WASI_EVENT_SIZE, ud,
                               WASI_EINVAL, tag, 0, 0);
                continue;
            }
            uint64_t now = t0[id == CLOCK_REALTIME ? 0 : 1];
            uint64_t left = deadline > now ? deadline - now : 0;
            if (!have_clock || left < soon_left) {
                soon_id = id;
                soon_deadline = deadline;
                soon_left = left;
            }
            have_clock = true;
        } else if (tag == WASI_EVENTTYPE_FD_READ ||
                   tag == WASI_EVENTTYPE_FD_WRITE) {
            wasi_fd *f = wasi_fd_get(c, ld32(s + 16));
            uint64_t need = tag == WASI_EVENTTYPE_FD_READ
                                ? WASI_RIGHT_FD_READ : WASI_RIGHT_FD_WRITE;
            uint16_t e = !f ? WASI_EBADF
                       : (f->rights_base & WASI_RIGHT_POLL_FD_READWRITE) &&
                                 (f->rights_base & need)
                             ? WASI_ESUCCESS
                             : WASI_ENOTCAPABLE;
            if (e == WASI_ESUCCESS && n_pfd == WASI_POLL_MAX_FDS)
                e = WASI_ENOBUFS;
            if (e != WASI_ESUCCESS) {
                wasi_put_event(out + (size_t)n_ev++ * WASI_EVENT_SIZE, ud, e,
                               tag, 0, 0);
                continue;
            }
            pfd[n_pfd].fd = f->host_fd;
            pfd[n_pfd].events =
                tag == WASI_EVENTTYPE_FD_READ ? POLLIN : POLLOUT;
            pfd[n_pfd].revents = 0;
            pfd_sub[n_pfd] = i;
            n_pfd++;
        } else {
            wasi_put_event(out + (size_t)n_ev++ * WASI_EVENT_SIZE, ud,
                           WASI_EINVAL, tag, 0, 0);
        }
    }

    /* Wait: not at all if something already happened, else until an fd
     * is ready or the soonest clock expires (re-checked on its own clock,
     * looping over early wake-ups and signals). */
    bool any_ready = false;
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (have_clock) {
            uint64_t now = wasi_now_ns(soon_id);
            uint64_t left = soon_deadline > now ? soon_deadline - now : 0;
            ts.tv_sec = (time_t)(left / 1000000000u);
            ts.tv_nsec = (long)(left % 1000000000u);
            tsp = &ts;
        }
        if (n_ev) {
            ts.tv_sec = 0;
            ts.tv_nsec = 0;
            tsp = &ts;
        }
        int r = 0;
        if (n_pfd == 0) {
            if (tsp && (tsp->tv_sec || tsp->tv_nsec)) {
                int e = clock_nanosleep(soon_id, 0, tsp, NULL);
                if (e && e != EINTR)
                    return wasi_ret(slots, wasi_errno_from_host(e));
            }
        } else {
            r = ppoll(pfd, n_pfd, tsp, NULL);
            if (r < 0 && errno != EINTR)
                return wasi_ret(slots, wasi_errno_from_host(errno));
        }
        any_ready = r > 0;
        if (any_ready || n_ev || !have_clock) break;
        if (wasi_now_ns(soon_id) >= soon_deadline) break;
    }

    /* Pass 2: report ready fds, then every expired clock. */
    for (uint32_t k = 0; any_ready && k < n_pfd; k++) {
        short re = pfd[k].revents;
        if (!re) continue;
        const uint8_t *s = in + (size_t)pfd_sub[k] * sub_size;
        uint16_t e = WASI_ESUCCESS, fl = 0;
        uint64_t nbytes = 0;
        if (re & POLLNVAL) e = WASI_EBADF;
        else if ((re & POLLERR) && !(re & (POLLIN | POLLOUT))) e = WASI_EIO;
        /* Hangup is POLLHUP only, as WasmEdge reports it on Linux (and
         * as wasi-libc's poll() turns it back into POLLHUP): a stream
         * whose peer merely shut down its writing is readable (EOF), not
         * hung up; both directions closed is. */
        if (re & POLLHUP) fl |= WASI_EVENT_FD_READWRITE_HANGUP;
        if (e == WASI_ESUCCESS && s[8] == WASI_EVENTTYPE_FD_READ) {
            int avail = 0;
            if (ioctl(pfd[k].fd, FIONREAD, &avail) == 0 && avail > 0)
                nbytes = (uint64_t)avail;
        }
        wasi_put_event(out + (size_t)n_ev++ * WASI_EVENT_SIZE, ld64(s), e,
                       s[8], nbytes, fl);
    }
    if (have_clock) {
        const uint64_t now[2] = {wasi_now_ns(CLOCK_REALTIME),
                                 wasi_now_ns(CLOCK_MONOTONIC)};
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *s = in + (size_t)i * sub_size;
            clockid_t id;
            uint64_t deadline;
            if (s[8] != WASI_EVENTTYPE_CLOCK ||
                !wasi_sub_clock(s + clk_off, t0, &id, &deadline))
                continue;
            if (now[id == CLOCK_REALTIME ? 0 : 1] >= deadline)
                wasi_put_event(out + (size_t)n_ev++ * WASI_EVENT_SIZE,
                               ld64(s), WASI_ESUCCESS, WASI_EVENTTYPE_CLOCK,
                               0, 0);
        }
    }
    st32(pn, n_ev);
    return wasi_ret(slots, WASI_ESUCCESS);
}

static wm_status wasi_poll_oneoff(wm_call *call, uint64_t *slots) {
    return wasi_poll_common(call, slots, false);
}
static wm_status wasi_unstable_poll_oneoff(wm_call *call, uint64_t *slots) {
    return wasi_poll_common(call, slots, true);
}

/* ==== Registration ====================================================== */

/* The functions whose ABI is the same in both versions. */
#define WASI_COMMON_DEFS                                                  \
    {"args_get", "(ii)i", wasi_args_get},                                 \
    {"args_sizes_get", "(ii)i", wasi_args_sizes_get},                     \
    {"environ_get", "(ii)i", wasi_environ_get},                           \
    {"environ_sizes_get", "(ii)i", wasi_environ_sizes_get},               \
    {"clock_res_get", "(ii)i", wasi_clock_res_get},                       \
    {"clock_time_get", "(iIi)i", wasi_clock_time_get},                    \
    {"fd_advise", "(iIIi)i", wasi_fd_advise},                             \
    {"fd_allocate", "(iII)i", wasi_fd_allocate},                          \
    {"fd_close", "(i)i", wasi_fd_close},                                  \
    {"fd_datasync", "(i)i", wasi_fd_datasync},                            \
    {"fd_fdstat_get", "(ii)i", wasi_fd_fdstat_get},                       \
    {"fd_fdstat_set_flags", "(ii)i", wasi_fd_fdstat_set_flags},           \
    {"fd_fdstat_set_rights", "(iII)i", wasi_fd_fdstat_set_rights},        \
    {"fd_filestat_set_size", "(iI)i", wasi_fd_filestat_set_size},         \
    {"fd_filestat_set_times", "(iIIi)i", wasi_fd_filestat_set_times},     \
    {"fd_pread", "(iiiIi)i", wasi_fd_pread},                              \
    {"fd_prestat_get", "(ii)i", wasi_fd_prestat_get},                     \
    {"fd_prestat_dir_name", "(iii)i", wasi_fd_prestat_dir_name},          \
    {"fd_pwrite", "(iiiIi)i", wasi_fd_pwrite},                            \
    {"fd_read", "(iiii)i", wasi_fd_read},                                 \
    {"fd_readdir", "(iiiIi)i", wasi_fd_readdir},                          \
    {"fd_renumber", "(ii)i", wasi_fd_renumber},                           \
    {"fd_sync", "(i)i", wasi_fd_sync},                                    \
    {"fd_tell", "(ii)i", wasi_fd_tell},                                   \
    {"fd_write", "(iiii)i", wasi_fd_write},                               \
    {"path_create_directory", "(iii)i", wasi_path_create_directory},      \
    {"path_filestat_set_times", "(iiiiIIi)i",                             \
     wasi_path_filestat_set_times},                                       \
    {"path_link", "(iiiiiii)i", wasi_path_link},                          \
    {"path_open", "(iiiiiIIii)i", wasi_path_open},                        \
    {"path_readlink", "(iiiiii)i", wasi_path_readlink},                   \
    {"path_remove_directory", "(iii)i", wasi_path_remove_directory},      \
    {"path_rename", "(iiiiii)i", wasi_path_rename},                       \
    {"path_symlink", "(iiiii)i", wasi_path_symlink},                      \
    {"path_unlink_file", "(iii)i", wasi_path_unlink_file},                \
    {"proc_exit", "(i)", wasi_proc_exit},                                 \
    {"proc_raise", "(i)i", wasi_proc_raise},                              \
    {"random_get", "(ii)i", wasi_random_get},                             \
    {"sched_yield", "()i", wasi_sched_yield},                             \
    {"sock_recv", "(iiiiii)i", wasi_sock_recv},                           \
    {"sock_send", "(iiiii)i", wasi_sock_send},                            \
    {"sock_shutdown", "(ii)i", wasi_sock_shutdown}

static const wm_host_func_def wasi_p1_defs[] = {
    WASI_COMMON_DEFS,
    {"fd_seek", "(iIii)i", wasi_fd_seek},
    {"fd_filestat_get", "(ii)i", wasi_fd_filestat_get},
    {"path_filestat_get", "(iiiii)i", wasi_path_filestat_get},
    {"poll_oneoff", "(iiii)i", wasi_poll_oneoff},
    /* sock_accept: (iii)i is WasmEdge's sock_accept_v2; both names and
     * the rest of WasmEdge's socket extension: wasi_sock_define(). */
};

static const wm_host_func_def wasi_unstable_defs[] = {
    WASI_COMMON_DEFS,
    {"fd_seek", "(iIii)i", wasi_unstable_fd_seek},
    {"fd_filestat_get", "(ii)i", wasi_unstable_fd_filestat_get},
    {"path_filestat_get", "(iiiii)i", wasi_unstable_path_filestat_get},
    {"poll_oneoff", "(iiii)i", wasi_unstable_poll_oneoff},
};

/*
 * Build the context (arguments, environment, the fd table: stdio, then
 * the pre-opened directories, then the listening sockets) as a store
 * object of the linker's runtime and define both module names. Host stdio
 * fds are taken from cfg (0/1/2 when all three are 0); a negative host fd
 * leaves that WASI fd closed.
 */
wm_status wm_linker_define_wasi(wm_linker *lk, const wm_wasi_config *cfg,
                                wm_error *err) {
    wm_status st;
    wm_error_clear(err);
    if (!lk) return wm_errf(err, WM_ERR_ARG, "wasi: no linker");
    wm_wasi_config none = {0};
    if (!cfg) cfg = &none;
    if (cfg->n_preopens < 0 || (cfg->n_preopens > 0 && !cfg->preopens) ||
        cfg->n_listen < 0 || (cfg->n_listen > 0 && !cfg->listen))
        return wm_errf(err, WM_ERR_ARG, "wasi: bad pre-open list");
    if ((uint64_t)cfg->n_preopens + (uint64_t)cfg->n_listen >
        WASI_MAX_FDS - 3)
        return wm_errf(err, WM_ERR_LIMIT, "wasi: too many pre-opens (max %u)",
                       WASI_MAX_FDS - 3);
    wasi_ctx *c = rt_object_new(wm_linker_runtime(lk), sizeof *c,
                                wasi_ctx_fini);
    if (!c) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    c->no_openat2 = (cfg->flags & WM_WASI_NO_OPENAT2) != 0;
    if ((st = wasi_grants_init(c, cfg, err)) ||
        (st = wasi_strings_init(&c->args, cfg->argc, cfg->argv, "arguments",
                                err)) ||
        (st = wasi_strings_init(&c->env, cfg->envc, cfg->envp,
                                "environment strings", err)))
        goto fail;

    c->cap_fds = 8;
    c->fds = calloc(c->cap_fds, sizeof *c->fds);
    if (!c->fds) {
        st = wm_errf(err, WM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int host[3] = {cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd};
    if (!host[0] && !host[1] && !host[2]) host[1] = 1, host[2] = 2;
    for (uint32_t i = 0; i < 3; i++) {
        wasi_fd *f = &c->fds[i];
        f->host_fd = host[i];
        if (host[i] < 0) continue;   /* closed for the guest */
        f->kind = WASI_FD_STDIO;
        f->rights_base = wasi_stdio_rights(host[i]);
    }
    c->n_fds = 3;
    for (int i = 0; i < cfg->n_preopens; i++) {
        const wm_wasi_preopen *p = &cfg->preopens[i];
        if ((st = wasi_preopen_add(c, p->host_path, p->guest_path,
                                   p->read_only != 0, err)))
            goto fail;
    }
    for (int i = 0; i < cfg->n_listen; i++)
        if ((st = wasi_listen_add(c, cfg->listen[i],
                                  cfg->listen_ports ? &cfg->listen_ports[i]
                                                    : NULL,
                                  err)))
            goto fail;

    if ((st = wm_linker_define_host(lk, "wasi_snapshot_preview1",
                                    wasi_p1_defs, WM_ARRAY_LEN(wasi_p1_defs),
                                    c, err)) ||
        (st = wasi_sock_define(lk, c, err)) ||
        (st = wm_linker_define_host(lk, "wasi_unstable", wasi_unstable_defs,
                                    WM_ARRAY_LEN(wasi_unstable_defs), c,
                                    err)))
        goto fail;
    return WM_OK;
fail:
    /* c stays a store object and is released (its fds closed) with the
     * runtime; close what was opened now so a failed call holds nothing. */
    wasi_ctx_fini(c);
    return st;
}
