/*
 * wasmedge_sock.h — guest side of WasmEdge's socket extension (imported
 * from `wasi_snapshot_preview1`, see /work/shared/specs/sockets.md), for C
 * programs built with clang --target=wasm32-wasi. wasi-libc declares only
 * the preview1 four (sock_accept with flags, sock_recv, sock_send,
 * sock_shutdown); this header declares every WasmEdge function exactly as
 * the host exports it: each parameter an i32, the result a WASI errno
 * (0 success, WES_EAGAIN when a non-blocking socket would block, ...).
 * Header only: nothing to link.
 *
 *     uint32_t fd, conn;
 *     uint8_t ip[4] = {127, 0, 0, 1};
 *     wes_address a = { ip, 4 };
 *     int one = 1;
 *     if (wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd) ||
 *         wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_REUSEADDR,
 *                             &one, sizeof one) ||
 *         wes_sock_bind(fd, &a, 8080) ||       // port in host order
 *         wes_sock_listen(fd, 128) ||
 *         wes_sock_accept(fd, &conn))          // v1: no flags, blocking fd
 *         ...;
 *     char buf[512]; wes_iovec iov = { buf, sizeof buf };
 *     uint32_t n, roflags;
 *     wes_sock_recv(conn, &iov, 1, 0, &n, &roflags);
 *     ...
 *     wes_sock_shutdown(conn, WES_SHUT_RDWR);
 *     close(conn);                              // fd_close
 *
 * Non-blocking mode: fcntl(fd, F_SETFL, O_NONBLOCK) (= fd_fdstat_set_flags
 * with nonblock), then accept/recv/send return WES_EAGAIN; wait with
 * poll() (= poll_oneoff fd_read / fd_write subscriptions).
 *
 * v1 and v2: the host registers `sock_X` and `sock_X_v2`; a guest
 * importing `sock_X` with v2's type is bound to `sock_X_v2` (WasmEdge's
 * linker rule, which wasmind reproduces). The `_v2` declarations below
 * import the `_v2` names directly. v2 address buffers may be the 128-byte
 * storage form (WES_ADDR_STORAGE_LEN): u16 family (WES_AF_*) at byte 0,
 * the IP bytes from byte 2.
 *
 * Sandbox (wasmind): sock_bind only where an `--allow-bind HOST:PORT`
 * grant matches (an HTTP server on 0.0.0.0:8080 needs
 * `--allow-bind 0.0.0.0:8080`); sock_listen only on a bound socket;
 * sock_connect / sock_send_to only to `--allow-net HOST:PORT` grants,
 * or to loopback when there are none. Refusals are WES_EACCES. `--listen
 * ADDR:PORT` pre-opens a listener instead (preview 1 sock_accept). See
 * `wasmind run --help` and wm_wasi_config in include/wasmind.h.
 */
#ifndef WASMEDGE_SOCK_H
#define WASMEDGE_SOCK_H

#include <stdint.h>

/* ==== errno (WASI preview1 numbering, WasmEdge's ai* additions) ======== */
enum {
    WES_ESUCCESS = 0,
    WES_EACCES = 2,
    WES_EADDRINUSE = 3,
    WES_EADDRNOTAVAIL = 4,  /* also: misaligned pointer argument */
    WES_EAFNOSUPPORT = 5,
    WES_EAGAIN = 6,
    WES_EALREADY = 7,
    WES_EBADF = 8,
    WES_ECONNABORTED = 13,
    WES_ECONNREFUSED = 14,
    WES_ECONNRESET = 15,
    WES_EFAULT = 21,
    WES_EINPROGRESS = 26,
    WES_EINTR = 27,
    WES_EINVAL = 28,
    WES_EISCONN = 30,
    WES_ENETUNREACH = 40,
    WES_ENOBUFS = 42,
    WES_ENOPROTOOPT = 50,
    WES_ENOSYS = 52,
    WES_ENOTCONN = 53,
    WES_ENOTSOCK = 57,
    WES_ENOTSUP = 58,
    WES_EPIPE = 64,
    WES_ETIMEDOUT = 73,
    WES_ENOTCAPABLE = 76,
    WES_EAI_ADDRFAMILY = 77,
    WES_EAI_AGAIN = 78,
    WES_EAI_BADFLAG = 79,
    WES_EAI_FAIL = 80,
    WES_EAI_FAMILY = 81,
    WES_EAI_MEMORY = 82,
    WES_EAI_NODATA = 83,
    WES_EAI_NONAME = 84,
    WES_EAI_SERVICE = 85,
    WES_EAI_SOCKTYPE = 86,
    WES_EAI_SYSTEM = 87,
};

/* ==== enumerations ===================================================== */
/* address_family (u8) */
enum { WES_AF_UNSPEC = 0, WES_AF_INET4 = 1, WES_AF_INET6 = 2,
       WES_AF_UNIX = 3 };
/* sock_type (u8) */
enum { WES_SOCK_ANY = 0, WES_SOCK_DGRAM = 1, WES_SOCK_STREAM = 2 };
/* protocol (u8) */
enum { WES_IPPROTO_IP = 0, WES_IPPROTO_TCP = 1, WES_IPPROTO_UDP = 2 };
/* sock_opt_level (u32) */
enum { WES_SOL_SOCKET = 0 };
/* sock_opt_so (u32) */
enum {
    WES_SO_REUSEADDR = 0,
    WES_SO_TYPE = 1,          /* read-only; value is WES_SOCK_* */
    WES_SO_ERROR = 2,         /* read-only; value is a WASI errno, cleared */
    WES_SO_DONTROUTE = 3,
    WES_SO_BROADCAST = 4,
    WES_SO_SNDBUF = 5,
    WES_SO_RCVBUF = 6,
    WES_SO_KEEPALIVE = 7,
    WES_SO_OOBINLINE = 8,
    WES_SO_LINGER = 9,        /* value: wes_linger (8 bytes) */
    WES_SO_RCVLOWAT = 10,
    WES_SO_RCVTIMEO = 11,     /* value: wes_timeval (16 bytes) */
    WES_SO_SNDTIMEO = 12,     /* value: wes_timeval (16 bytes) */
    WES_SO_ACCEPTCONN = 13,   /* read-only */
    WES_SO_BINDTODEVICE = 14,
};
/* aiflags (u16) */
enum {
    WES_AI_PASSIVE = 1, WES_AI_CANONNAME = 2, WES_AI_NUMERICHOST = 4,
    WES_AI_NUMERICSERV = 8, WES_AI_V4MAPPED = 16, WES_AI_ALL = 32,
    WES_AI_ADDRCONFIG = 64,
};
/* riflags (u16), roflags (u16), sdflags (u8), fdflags nonblock (u16) */
enum { WES_RECV_PEEK = 1, WES_RECV_WAITALL = 2 };
enum { WES_RECV_DATA_TRUNCATED = 1 };
enum { WES_SHUT_RD = 1, WES_SHUT_WR = 2, WES_SHUT_RDWR = 3 };
enum { WES_FDFLAG_NONBLOCK = 4 };

/* sock_getlocaladdr/sock_getpeeraddr (v1) write the IP *version* as the
 * address type, not the enum above. */
enum { WES_ADDR_TYPE_V4 = 4, WES_ADDR_TYPE_V6 = 6 };

/* ==== structures (wasm32 layouts) ====================================== */

/* address: 8 bytes, align 4. buf holds the raw IP in network order;
 * buf_len 4 (IPv4) or 16 (IPv6); for v2 functions also
 * WES_ADDR_STORAGE_LEN (family u16 at 0, IP from byte 2). Ports are passed
 * separately, in host order. */
typedef struct wes_address {
    uint8_t *buf;
    uint32_t buf_len;
} wes_address;
#define WES_ADDR_STORAGE_LEN 128u

/* iovec / ciovec: 8 bytes (= __wasi_iovec_t / __wasi_ciovec_t). At most
 * 1024 per call. */
typedef struct wes_iovec {
    void *buf;
    uint32_t buf_len;
} wes_iovec;
typedef struct wes_ciovec {
    const void *buf;
    uint32_t buf_len;
} wes_ciovec;

/* sockaddr for sock_getaddrinfo: 12 bytes. The host writes family and
 * fills sa_data (capacity sa_data_len, 26 bytes suffice) with the host
 * sockaddr minus its family: port (u16, network order) at 0, then for
 * IPv4 the 4 address bytes at 2; for IPv6 flowinfo (4) at 2, the 16
 * address bytes at 6, scope id (4) at 22. */
typedef struct wes_sockaddr {
    uint8_t family;          /* WES_AF_* */
    uint32_t sa_data_len;    /* in: capacity of sa_data; out: bytes used */
    uint8_t *sa_data;
} wes_sockaddr;

/* addrinfo for sock_getaddrinfo: 28 bytes. The guest preallocates a
 * chain (ai_next) of max_results records, each with its wes_sockaddr and
 * data buffer and (optionally) a canonname buffer; the host fills them in
 * place. */
typedef struct wes_addrinfo {
    uint16_t ai_flags;       /* WES_AI_* (hints: request flags) */
    uint8_t ai_family;       /* WES_AF_* (hints: 0 = any) */
    uint8_t ai_socktype;     /* WES_SOCK_* (hints: 0 = any) */
    uint8_t ai_protocol;     /* WES_IPPROTO_* */
    uint32_t ai_addrlen;     /* out: host sockaddr length, 0 = none */
    wes_sockaddr *ai_addr;
    char *ai_canonname;      /* buffer, or NULL */
    uint32_t ai_canonnamelen;/* in: capacity; out: bytes written (no NUL) */
    struct wes_addrinfo *ai_next;
} wes_addrinfo;

/* SO_LINGER and SO_RCVTIMEO/SO_SNDTIMEO values. */
typedef struct wes_linger {
    int32_t l_onoff;
    int32_t l_linger;        /* seconds */
} wes_linger;
typedef struct wes_timeval {
    int64_t tv_sec;
    int64_t tv_usec;         /* both 0 = no timeout */
} wes_timeval;

#if defined(__wasm32__)
_Static_assert(sizeof(wes_address) == 8, "address layout");
_Static_assert(sizeof(wes_iovec) == 8, "iovec layout");
_Static_assert(sizeof(wes_sockaddr) == 12, "sockaddr layout");
_Static_assert(sizeof(wes_addrinfo) == 28, "addrinfo layout");
_Static_assert(__builtin_offsetof(wes_addrinfo, ai_addrlen) == 8,
               "addrinfo addrlen offset");
_Static_assert(__builtin_offsetof(wes_addrinfo, ai_next) == 24,
               "addrinfo next offset");
_Static_assert(sizeof(wes_linger) == 8, "linger layout");
_Static_assert(sizeof(wes_timeval) == 16, "timeval layout");
#endif

/* ==== imports ========================================================== */
#define WES_IMPORT(n) \
    __attribute__((import_module("wasi_snapshot_preview1"), import_name(n)))

/* New socket of family WES_AF_* and type WES_SOCK_*; *out_fd the new fd
 * (blocking). v2 also accepts WES_AF_UNIX (wasmind: ENOSYS). */
WES_IMPORT("sock_open")
int32_t wes_sock_open(uint32_t af, uint32_t type, uint32_t *out_fd);
WES_IMPORT("sock_open_v2")
int32_t wes_sock_open_v2(uint32_t af, uint32_t type, uint32_t *out_fd);

/* Bind / connect to address:port (port in host order). v1: 4/16-byte
 * address; v2: also the 128-byte storage form. */
WES_IMPORT("sock_bind")
int32_t wes_sock_bind(uint32_t fd, const wes_address *addr, uint32_t port);
WES_IMPORT("sock_bind_v2")
int32_t wes_sock_bind_v2(uint32_t fd, const wes_address *addr,
                         uint32_t port);
WES_IMPORT("sock_connect")
int32_t wes_sock_connect(uint32_t fd, const wes_address *addr,
                         uint32_t port);
WES_IMPORT("sock_connect_v2")
int32_t wes_sock_connect_v2(uint32_t fd, const wes_address *addr,
                            uint32_t port);

WES_IMPORT("sock_listen")
int32_t wes_sock_listen(uint32_t fd, uint32_t backlog);
WES_IMPORT("sock_listen_v2")
int32_t wes_sock_listen_v2(uint32_t fd, uint32_t backlog);

/* v1 accept: no flags, the new fd is blocking. v2 (= preview1
 * sock_accept): fdflags may hold WES_FDFLAG_NONBLOCK for the new fd. */
WES_IMPORT("sock_accept")
int32_t wes_sock_accept(uint32_t fd, uint32_t *out_fd);
WES_IMPORT("sock_accept_v2")
int32_t wes_sock_accept_v2(uint32_t fd, uint32_t fdflags, uint32_t *out_fd);

/* recv/send (= preview1). riflags WES_RECV_*; *out_roflags gets
 * WES_RECV_DATA_TRUNCATED (datagrams). 0 bytes received = peer closed. */
WES_IMPORT("sock_recv")
int32_t wes_sock_recv(uint32_t fd, const wes_iovec *iovs, uint32_t n_iovs,
                      uint32_t riflags, uint32_t *out_len,
                      uint32_t *out_roflags);
WES_IMPORT("sock_send")
int32_t wes_sock_send(uint32_t fd, const wes_ciovec *iovs, uint32_t n_iovs,
                      uint32_t siflags, uint32_t *out_len);

/* recv_from v1: addr->buf (4 or 16 bytes) gets the sender's IP, no port.
 * v2: addr->buf must be 128 bytes (storage form), *out_port the port. */
WES_IMPORT("sock_recv_from")
int32_t wes_sock_recv_from(uint32_t fd, const wes_iovec *iovs,
                           uint32_t n_iovs, wes_address *addr,
                           uint32_t riflags, uint32_t *out_len,
                           uint32_t *out_roflags);
WES_IMPORT("sock_recv_from_v2")
int32_t wes_sock_recv_from_v2(uint32_t fd, const wes_iovec *iovs,
                              uint32_t n_iovs, wes_address *addr,
                              uint32_t riflags, uint32_t *out_port,
                              uint32_t *out_len, uint32_t *out_roflags);
WES_IMPORT("sock_send_to")
int32_t wes_sock_send_to(uint32_t fd, const wes_ciovec *iovs,
                         uint32_t n_iovs, const wes_address *addr,
                         uint32_t port, uint32_t siflags,
                         uint32_t *out_len);
WES_IMPORT("sock_send_to_v2")
int32_t wes_sock_send_to_v2(uint32_t fd, const wes_ciovec *iovs,
                            uint32_t n_iovs, const wes_address *addr,
                            uint32_t port, uint32_t siflags,
                            uint32_t *out_len);

/* sdflags WES_SHUT_*. */
WES_IMPORT("sock_shutdown")
int32_t wes_sock_shutdown(uint32_t fd, uint32_t sdflags);

/* Options: level WES_SOL_SOCKET, name WES_SO_*. Int options take a
 * 4-byte int; LINGER a wes_linger; RCVTIMEO/SNDTIMEO a wes_timeval.
 * getsockopt: *inout_len is the capacity in, bytes written out. */
WES_IMPORT("sock_getsockopt")
int32_t wes_sock_getsockopt(uint32_t fd, uint32_t level, uint32_t name,
                            void *value, uint32_t *inout_len);
WES_IMPORT("sock_setsockopt")
int32_t wes_sock_setsockopt(uint32_t fd, uint32_t level, uint32_t name,
                            const void *value, uint32_t len);

/* v1: addr->buf of 4 or 16 bytes gets the IP, *out_type 4 or 6
 * (WES_ADDR_TYPE_*), *out_port the port (host order). v2: addr->buf of
 * 128 bytes (storage form: family at byte 0), *out_port. */
WES_IMPORT("sock_getlocaladdr")
int32_t wes_sock_getlocaladdr(uint32_t fd, wes_address *addr,
                              uint32_t *out_type, uint32_t *out_port);
WES_IMPORT("sock_getpeeraddr")
int32_t wes_sock_getpeeraddr(uint32_t fd, wes_address *addr,
                             uint32_t *out_type, uint32_t *out_port);
WES_IMPORT("sock_getlocaladdr_v2")
int32_t wes_sock_getlocaladdr_v2(uint32_t fd, wes_address *addr,
                                 uint32_t *out_port);
WES_IMPORT("sock_getpeeraddr_v2")
int32_t wes_sock_getpeeraddr_v2(uint32_t fd, wes_address *addr,
                                uint32_t *out_port);

/* Resolve node/service (length-delimited; a trailing NUL counted in the
 * length is allowed). *res holds the address of the first preallocated
 * wes_addrinfo; max_results records are chained through ai_next;
 * *out_count gets how many were filled. wasmind resolves numeric hosts
 * and "localhost" only (no DNS: EAI_NONAME otherwise) and numeric
 * services or "http"/"https". */
WES_IMPORT("sock_getaddrinfo")
int32_t wes_sock_getaddrinfo(const char *node, uint32_t node_len,
                             const char *service, uint32_t service_len,
                             const wes_addrinfo *hints,
                             wes_addrinfo **res, uint32_t max_results,
                             uint32_t *out_count);

#endif
