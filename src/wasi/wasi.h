/*
 * wasi.h — the contract between the WASI preview 1 files:
 *
 *   wasi_p1.c    context, fd table, args/env, clocks, random, fd_* I/O,
 *                poll_oneoff, proc_*, registration of both module names
 *   wasi_fs.c    path resolution beneath a directory fd (openat2 with
 *                RESOLVE_BENEATH, or our own openat(O_NOFOLLOW) walk),
 *                path_*, fd_readdir, filestat setters, pre-opens
 *   wasi_sock.c  pre-opened listening sockets and sock_*
 *
 * One fd table per wasi_ctx. Guest memory is reached only through
 * wasi_span() (-> wm_memory_span, the one checked path); each host function
 * checks every guest range it will touch before any host side effect.
 */
#ifndef WM_WASI_H
#define WM_WASI_H

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include "../util/common.h"
#include "../wasm/runtime.h"

/* ==== WASI preview 1 constants (witx numbering) ========================= */

enum {
    WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EADDRINUSE = 3,
    WASI_EADDRNOTAVAIL = 4, WASI_EAFNOSUPPORT = 5, WASI_EAGAIN = 6,
    WASI_EALREADY = 7, WASI_EBADF = 8, WASI_EBADMSG = 9, WASI_EBUSY = 10,
    WASI_ECANCELED = 11, WASI_ECHILD = 12, WASI_ECONNABORTED = 13,
    WASI_ECONNREFUSED = 14, WASI_ECONNRESET = 15, WASI_EDEADLK = 16,
    WASI_EDESTADDRREQ = 17, WASI_EDOM = 18, WASI_EDQUOT = 19,
    WASI_EEXIST = 20, WASI_EFAULT = 21, WASI_EFBIG = 22,
    WASI_EHOSTUNREACH = 23, WASI_EIDRM = 24, WASI_EILSEQ = 25,
    WASI_EINPROGRESS = 26, WASI_EINTR = 27, WASI_EINVAL = 28, WASI_EIO = 29,
    WASI_EISCONN = 30, WASI_EISDIR = 31, WASI_ELOOP = 32, WASI_EMFILE = 33,
    WASI_EMLINK = 34, WASI_EMSGSIZE = 35, WASI_EMULTIHOP = 36,
    WASI_ENAMETOOLONG = 37, WASI_ENETDOWN = 38, WASI_ENETRESET = 39,
    WASI_ENETUNREACH = 40, WASI_ENFILE = 41, WASI_ENOBUFS = 42,
    WASI_ENODEV = 43, WASI_ENOENT = 44, WASI_ENOEXEC = 45, WASI_ENOLCK = 46,
    WASI_ENOLINK = 47, WASI_ENOMEM = 48, WASI_ENOMSG = 49,
    WASI_ENOPROTOOPT = 50, WASI_ENOSPC = 51, WASI_ENOSYS = 52,
    WASI_ENOTCONN = 53, WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55,
    WASI_ENOTRECOVERABLE = 56, WASI_ENOTSOCK = 57, WASI_ENOTSUP = 58,
    WASI_ENOTTY = 59, WASI_ENXIO = 60, WASI_EOVERFLOW = 61,
    WASI_EOWNERDEAD = 62, WASI_EPERM = 63, WASI_EPIPE = 64, WASI_EPROTO = 65,
    WASI_EPROTONOSUPPORT = 66, WASI_EPROTOTYPE = 67, WASI_ERANGE = 68,
    WASI_EROFS = 69, WASI_ESPIPE = 70, WASI_ESRCH = 71, WASI_ESTALE = 72,
    WASI_ETIMEDOUT = 73, WASI_ETXTBSY = 74, WASI_EXDEV = 75,
    WASI_ENOTCAPABLE = 76,
};

enum {
    WASI_FILETYPE_UNKNOWN = 0, WASI_FILETYPE_BLOCK_DEVICE = 1,
    WASI_FILETYPE_CHARACTER_DEVICE = 2, WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4, WASI_FILETYPE_SOCKET_DGRAM = 5,
    WASI_FILETYPE_SOCKET_STREAM = 6, WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

enum {
    WASI_FDFLAG_APPEND = 1, WASI_FDFLAG_DSYNC = 2, WASI_FDFLAG_NONBLOCK = 4,
    WASI_FDFLAG_RSYNC = 8, WASI_FDFLAG_SYNC = 16,
};
#define WASI_FDFLAGS_ALL 0x1fu

enum { WASI_OFLAG_CREAT = 1, WASI_OFLAG_DIRECTORY = 2, WASI_OFLAG_EXCL = 4,
       WASI_OFLAG_TRUNC = 8 };
#define WASI_OFLAGS_ALL 0xfu
#define WASI_LOOKUP_SYMLINK_FOLLOW 1u

enum { WASI_FST_ATIM = 1, WASI_FST_ATIM_NOW = 2, WASI_FST_MTIM = 4,
       WASI_FST_MTIM_NOW = 8 };

#define WASI_RIGHT(n) ((uint64_t)1 << (n))
#define WASI_RIGHT_FD_DATASYNC           WASI_RIGHT(0)
#define WASI_RIGHT_FD_READ               WASI_RIGHT(1)
#define WASI_RIGHT_FD_SEEK               WASI_RIGHT(2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS   WASI_RIGHT(3)
#define WASI_RIGHT_FD_SYNC               WASI_RIGHT(4)
#define WASI_RIGHT_FD_TELL               WASI_RIGHT(5)
#define WASI_RIGHT_FD_WRITE              WASI_RIGHT(6)
#define WASI_RIGHT_FD_ADVISE             WASI_RIGHT(7)
#define WASI_RIGHT_FD_ALLOCATE           WASI_RIGHT(8)
#define WASI_RIGHT_PATH_CREATE_DIRECTORY WASI_RIGHT(9)
#define WASI_RIGHT_PATH_CREATE_FILE      WASI_RIGHT(10)
#define WASI_RIGHT_PATH_LINK_SOURCE      WASI_RIGHT(11)
#define WASI_RIGHT_PATH_LINK_TARGET      WASI_RIGHT(12)
#define WASI_RIGHT_PATH_OPEN             WASI_RIGHT(13)
#define WASI_RIGHT_FD_READDIR            WASI_RIGHT(14)
#define WASI_RIGHT_PATH_READLINK         WASI_RIGHT(15)
#define WASI_RIGHT_PATH_RENAME_SOURCE    WASI_RIGHT(16)
#define WASI_RIGHT_PATH_RENAME_TARGET    WASI_RIGHT(17)
#define WASI_RIGHT_PATH_FILESTAT_GET     WASI_RIGHT(18)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE WASI_RIGHT(19)
#define WASI_RIGHT_PATH_FILESTAT_SET_TIMES WASI_RIGHT(20)
#define WASI_RIGHT_FD_FILESTAT_GET       WASI_RIGHT(21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE  WASI_RIGHT(22)
#define WASI_RIGHT_FD_FILESTAT_SET_TIMES WASI_RIGHT(23)
#define WASI_RIGHT_PATH_SYMLINK          WASI_RIGHT(24)
#define WASI_RIGHT_PATH_REMOVE_DIRECTORY WASI_RIGHT(25)
#define WASI_RIGHT_PATH_UNLINK_FILE      WASI_RIGHT(26)
#define WASI_RIGHT_POLL_FD_READWRITE     WASI_RIGHT(27)
#define WASI_RIGHT_SOCK_SHUTDOWN         WASI_RIGHT(28)
#define WASI_RIGHT_SOCK_ACCEPT           WASI_RIGHT(29)

/* The rights that mean something for each kind of object. path_open
 * silently drops requested rights outside the opened object's set (the
 * witx allows exactly that) and refuses the rest unless the directory's
 * inheriting rights hold them. */
#define WASI_RIGHTS_FILE                                                   \
    (WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK |   \
     WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC |                \
     WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ADVISE |    \
     WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_FILESTAT_GET |                \
     WASI_RIGHT_FD_FILESTAT_SET_SIZE | WASI_RIGHT_FD_FILESTAT_SET_TIMES | \
     WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_DIR_MUTATE                                             \
    (WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |     \
     WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET |          \
     WASI_RIGHT_PATH_RENAME_SOURCE | WASI_RIGHT_PATH_RENAME_TARGET |      \
     WASI_RIGHT_PATH_FILESTAT_SET_SIZE |                                  \
     WASI_RIGHT_PATH_FILESTAT_SET_TIMES | WASI_RIGHT_PATH_SYMLINK |       \
     WASI_RIGHT_PATH_REMOVE_DIRECTORY | WASI_RIGHT_PATH_UNLINK_FILE |     \
     WASI_RIGHT_FD_FILESTAT_SET_TIMES)
#define WASI_RIGHTS_DIR                                                    \
    (WASI_RIGHTS_DIR_MUTATE | WASI_RIGHT_PATH_OPEN |                      \
     WASI_RIGHT_FD_READDIR | WASI_RIGHT_PATH_READLINK |                   \
     WASI_RIGHT_PATH_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_GET |          \
     WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC |                \
     WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_ADVISE |                      \
     WASI_RIGHT_POLL_FD_READWRITE)
/* What a read-only pre-open may hand down: no writing, resizing,
 * allocating or time-setting of files opened beneath it. */
#define WASI_RIGHTS_FILE_WRITE                                             \
    (WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_DATASYNC \
     | WASI_RIGHT_FD_FILESTAT_SET_SIZE | WASI_RIGHT_FD_FILESTAT_SET_TIMES)
#define WASI_RIGHTS_SOCK                                                   \
    (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE |                           \
     WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET |        \
     WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_SOCK_SHUTDOWN)
#define WASI_RIGHTS_LISTEN                                                 \
    (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_FDSTAT_SET_FLAGS |                \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE |          \
     WASI_RIGHT_SOCK_SHUTDOWN | WASI_RIGHT_SOCK_ACCEPT)

/*
 * Guest structure layouts (little-endian, offsets in bytes):
 *
 *   iovec / ciovec     { u32 buf @0; u32 buf_len @4 }            size 8
 *   fdstat             { u8 filetype @0; u16 flags @2;
 *                        u64 rights_base @8; u64 rights_inh @16 } size 24
 *   filestat (p1)      { u64 dev @0; u64 ino @8; u8 filetype @16;
 *                        u64 nlink @24; u64 size @32; u64 atim @40;
 *                        u64 mtim @48; u64 ctim @56 }            size 64
 *   filestat (unstable){ ...; u8 filetype @16; u32 nlink @20;
 *                        u64 size @24; atim @32; mtim @40; ctim @48 } 56
 *   dirent (both)      { u64 d_next @0; u64 d_ino @8; u32 d_namlen @16;
 *                        u8 d_type @20 } size 24, then the name (no NUL)
 *   prestat            { u8 tag @0 (0 = dir); u32 name_len @4 }  size 8
 *   subscription (p1)  { u64 userdata @0; u8 tag @8;
 *                        clock: u32 id @16; u64 timeout @24;
 *                               u64 precision @32; u16 flags @40
 *                        fd:    u32 fd @16 }                     size 48
 *   subscription (unstable) clock: u64 identifier @16; u32 id @24;
 *                        u64 timeout @32; u64 precision @40;
 *                        u16 flags @48                           size 56
 *   event              { u64 userdata @0; u16 error @8; u8 type @10;
 *                        u64 nbytes @16; u16 flags @24 }         size 32
 */
#define WASI_IOVEC_SIZE 8u
#define WASI_FDSTAT_SIZE 24u
#define WASI_FILESTAT_SIZE 64u
#define WASI_FILESTAT_UNSTABLE_SIZE 56u
#define WASI_DIRENT_SIZE 24u
#define WASI_SUB_SIZE 48u
#define WASI_SUB_UNSTABLE_SIZE 56u
#define WASI_EVENT_SIZE 32u

/* Host iovecs handed to readv/writev per system call (stack array). */
#define WASI_IOV_CHUNK 64
/* Most fd subscriptions one poll_oneoff may wait on (stack array). */
#define WASI_POLL_MAX_FDS 256
/* Caps on what a config may pass in, so every size fits the guest's u32. */
#define WASI_MAX_STRINGS 65536u
#define WASI_MAX_STRING_BYTES ((size_t)64 << 20)
/* Most WASI fds an instance may hold open (EMFILE beyond). */
#define WASI_MAX_FDS 4096u
/* Longest guest path (and symlink target) accepted: ENAMETOOLONG beyond. */
#define WASI_PATH_MAX 4096u
/* Symlinks one resolution may follow before ELOOP (Linux: 40). */
#define WASI_MAX_SYMLINKS 40
/* Directory depth the openat walk keeps open fds for (ENAMETOOLONG). */
#define WASI_WALK_MAX_DEPTH 128

/* ==== State ============================================================= */

typedef enum wasi_fd_kind {
    WASI_FD_FREE = 0,          /* slot unused: EBADF */
    WASI_FD_STDIO,             /* a host stdio fd, never closed by us */
    WASI_FD_FILE,              /* opened by path_open: not a directory */
    WASI_FD_DIR,               /* pre-opens and directories from path_open */
    WASI_FD_SOCKET,            /* a connection from sock_accept */
    WASI_FD_LISTEN,            /* a pre-opened listening socket */
} wasi_fd_kind;

typedef struct wasi_fd {
    int host_fd;               /* -1 when the slot is free */
    uint8_t kind;              /* wasi_fd_kind */
    bool owned;                /* fd_close / teardown closes host_fd */
    uint64_t rights_base;      /* WASI_RIGHT_* the guest holds */
    uint64_t rights_inheriting;
    char *preopen_name;        /* pre-opened directories: guest path */
    /* fd_readdir state (directories): a second open of the directory and
     * its current offset (the cookie of the entry readdir() returns next). */
    DIR *dir;
    uint64_t dir_pos;
} wasi_fd;

/*
 * Arguments and environment are kept in the exact form args_get /
 * environ_get hand to the guest: NUL-terminated strings back to back
 * (`buf`, `n_bytes` long), so the calls are one memcpy plus n pointers.
 */
typedef struct wasi_strings {
    uint32_t n;                /* number of strings */
    uint32_t n_bytes;          /* total bytes incl. the NULs */
    char *buf;                 /* malloc'd, n_bytes long (NULL when 0) */
} wasi_strings;

/* A network grant (wasi_sock.c; syntax and rules in wasmind.h). */
typedef struct wasi_grant wasi_grant;

typedef struct wasi_ctx {
    wasi_strings args;
    wasi_strings env;
    wasi_fd *fds;              /* malloc'd, cap_fds entries */
    uint32_t n_fds;            /* slots in use or free below this bound */
    uint32_t cap_fds;
    bool no_openat2;           /* resolve with the openat walk only */
    bool net_no_loopback;      /* WM_WASI_NET_NO_LOOPBACK */
    wasi_grant *bind_grants;   /* malloc'd: where sock_bind may bind */
    uint32_t n_bind_grants;
    wasi_grant *net_grants;    /* malloc'd: where sock_connect/send_to go */
    uint32_t n_net_grants;
} wasi_ctx;

/* ==== Helpers shared by the files ======================================= */

/* Host pointer for the guest range [gptr, gptr+len) of the caller's
 * memory 0, or NULL (the caller answers EFAULT). The only way the WASI
 * files reach guest memory. */
static inline uint8_t *wasi_span(wm_call *call, uint32_t gptr, uint64_t len) {
    wm_memory *mem = wm_call_memory(call);
    return mem ? wm_memory_span(mem, gptr, len) : NULL;
}

/* Unaligned little-endian accessors for guest structures. */
static inline uint16_t ld16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t ld32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t ld64(const uint8_t *p) {
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}
static inline void st16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void st32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void st64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#define A32(i) ((uint32_t)slots[i])
#define A64(i) (slots[i])
#define CTX() ((wasi_ctx *)wm_call_userdata(call))

/* Every WASI function returns its errno in result slot 0. */
static inline wm_status wasi_ret(uint64_t *slots, uint16_t e) {
    slots[0] = e;
    return WM_OK;
}

/* wasi_p1.c */
WM_INTERNAL uint16_t wasi_errno_from_host(int e);
WM_INTERNAL uint8_t wasi_filetype_of_mode(int host_fd, mode_t mode);
WM_INTERNAL uint64_t wasi_ts_ns(const struct timespec *ts);
/* The open fd `fd`, or NULL (EBADF). */
WM_INTERNAL wasi_fd *wasi_fd_get(wasi_ctx *c, uint32_t fd);
/* Put host_fd in the lowest free slot; its index in *out. On failure
 * (EMFILE, ENOMEM) returns the WASI errno and leaves host_fd open. */
WM_INTERNAL uint16_t wasi_fd_add(wasi_ctx *c, int host_fd, uint8_t kind,
                                 uint64_t rights_base,
                                 uint64_t rights_inheriting, uint32_t *out);
/* Release a slot's host resources (closing owned fds) and free it. */
WM_INTERNAL int wasi_fd_release(wasi_fd *f);
/* Write struct stat in the preview 1 (or wasi_unstable) filestat layout;
 * p must span WASI_FILESTAT_SIZE (WASI_FILESTAT_UNSTABLE_SIZE) bytes. */
WM_INTERNAL void wasi_put_filestat(uint8_t *p, const struct stat *st,
                                   uint8_t filetype, bool unstable);
/* I/O over guest iovecs: fd_read/fd_write/fd_pread/fd_pwrite and
 * sock_send (sock_recv needs one host call per datagram: wasi_sock.c). */
typedef enum wasi_io_op {
    WASI_IO_READ, WASI_IO_WRITE, WASI_IO_PREAD, WASI_IO_PWRITE,
    WASI_IO_SEND,
} wasi_io_op;
WM_INTERNAL uint16_t wasi_rw(wm_call *call, wasi_fd *f, uint32_t g_iovs,
                             uint32_t n_iovs, wasi_io_op op, uint64_t pos,
                             int msg_flags, uint32_t *out_n);

/* wasi_fs.c: pre-opens and the path functions. */
WM_INTERNAL wm_status wasi_preopen_add(wasi_ctx *c, const char *host_path,
                                       const char *guest_path, bool read_only,
                                       wm_error *err);
WM_INTERNAL wm_status wasi_path_open(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_path_create_directory(wm_call *call,
                                                 uint64_t *slots);
WM_INTERNAL wm_status wasi_path_remove_directory(wm_call *call,
                                                 uint64_t *slots);
WM_INTERNAL wm_status wasi_path_unlink_file(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_path_rename(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_path_link(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_path_symlink(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_path_readlink(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_path_filestat_get(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_unstable_path_filestat_get(wm_call *call,
                                                      uint64_t *slots);
WM_INTERNAL wm_status wasi_path_filestat_set_times(wm_call *call,
                                                   uint64_t *slots);
WM_INTERNAL wm_status wasi_fd_readdir(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_fd_filestat_set_size(wm_call *call,
                                                uint64_t *slots);
WM_INTERNAL wm_status wasi_fd_filestat_set_times(wm_call *call,
                                                 uint64_t *slots);
WM_INTERNAL wm_status wasi_fd_allocate(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_fd_advise(wm_call *call, uint64_t *slots);

/* wasi_sock.c */
WM_INTERNAL wm_status wasi_listen_add(wasi_ctx *c, const char *addr,
                                      int *port_out,
                                      wm_error *err);
/* Parse cfg's allow_bind / allow_net grants into c (WM_ERR_ARG when one
 * is malformed); c->bind_grants / net_grants are freed with c. */
WM_INTERNAL wm_status wasi_grants_init(wasi_ctx *c, const wm_wasi_config *cfg,
                                       wm_error *err);
/* Define WasmEdge's socket extension (sock_open ... sock_getaddrinfo and
 * the _v2 names) in `wasi_snapshot_preview1`, with the v1 -> v2 fallbacks.
 * The preview 1 functions must be defined already. */
WM_INTERNAL wm_status wasi_sock_define(wm_linker *lk, wasi_ctx *c,
                                       wm_error *err);
WM_INTERNAL wm_status wasi_sock_accept(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_sock_recv(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_sock_send(wm_call *call, uint64_t *slots);
WM_INTERNAL wm_status wasi_sock_shutdown(wm_call *call, uint64_t *slots);

#endif
