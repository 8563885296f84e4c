/*
 * wasi_sock.c — sockets. Two layers share the one fd table:
 *
 *  - WASI preview 1: the embedder pre-opens listening TCP sockets
 *    (wm_wasi_config.listen, `wasmind run --listen ADDR:PORT`); the guest
 *    accepts with sock_accept and talks with sock_recv / sock_send (or
 *    fd_read / fd_write), sock_shutdown and poll_oneoff (fd_read readiness
 *    on a listener = a connection is waiting).
 *  - WasmEdge's socket extension, also in `wasi_snapshot_preview1`
 *    (specs/sockets.md, guest declarations in apps/lib/wasmedge_sock.h):
 *    sock_open, sock_bind, sock_listen, sock_accept (v1: no flags),
 *    sock_connect, sock_recv_from, sock_send_to, sock_getlocaladdr,
 *    sock_getpeeraddr, sock_getsockopt, sock_setsockopt,
 *    sock_getaddrinfo, and the `_v2` variants. Both names are defined;
 *    an import of `sock_X` whose type is not v1's binds to `sock_X_v2`
 *    (lk_define_fallback), so preview 1's 3-parameter sock_accept (Rust
 *    std, wasi-libc) reaches sock_accept_v2 and wasmedge_wasi_socket's
 *    8-parameter sock_recv_from reaches sock_recv_from_v2.
 *
 * The sandbox (see wm_wasi_config in wasmind.h): sock_bind only where an
 * allow_bind grant matches, sock_listen only on a bound socket,
 * sock_connect / sock_send_to only to allow_net destinations (loopback
 * when there are no grants). Refusals are EACCES: the POSIX answer for
 * "not permitted to use this address" (and what wasi:sockets'
 * access-denied maps to), which guests report as "permission denied".
 *
 * Guest pointers: every (pointer, length) goes through sk_span() ->
 * wasi_span() before any host side effect. The extension functions
 * also require pointers aligned to their pointee (EADDRNOTAVAIL
 * otherwise, as WasmEdge answers); the preview 1 functions (sock_recv,
 * sock_send, sock_shutdown, 3-parameter sock_accept) keep preview 1's
 * rule (EFAULT for out of bounds only), as wasi-libc expects.
 *
 * Address forms: the extension's `address` struct is { u32 buf; u32
 * buf_len } (8 bytes, align 4). buf_len 4 = IPv4 bytes, 16 = IPv6 bytes
 * (network order); v2 also takes 128 bytes: u16 family (1 inet4, 2 inet6,
 * 3 unix) at 0, the address bytes from 2. Ports travel separately, as
 * host-order integers. AF_UNIX is not offered (ENOSYS).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "wasi.h"

enum { WASI_RIFLAG_PEEK = 1, WASI_RIFLAG_WAITALL = 2 };
enum { WASI_ROFLAG_TRUNCATED = 1 };
enum { WASI_SDFLAG_RD = 1, WASI_SDFLAG_WR = 2 };

/* WasmEdge's enumerations (specs/sockets.md §3). */
enum { SK_AF_UNSPEC = 0, SK_AF_INET4 = 1, SK_AF_INET6 = 2, SK_AF_UNIX = 3 };
enum { SK_TYPE_ANY = 0, SK_TYPE_DGRAM = 1, SK_TYPE_STREAM = 2 };
enum { SK_PROTO_IP = 0, SK_PROTO_TCP = 1, SK_PROTO_UDP = 2 };
enum { SK_SOL_SOCKET = 0 };
enum {
    SK_SO_REUSEADDR = 0, SK_SO_TYPE = 1, SK_SO_ERROR = 2,
    SK_SO_DONTROUTE = 3, SK_SO_BROADCAST = 4, SK_SO_SNDBUF = 5,
    SK_SO_RCVBUF = 6, SK_SO_KEEPALIVE = 7, SK_SO_OOBINLINE = 8,
    SK_SO_LINGER = 9, SK_SO_RCVLOWAT = 10, SK_SO_RCVTIMEO = 11,
    SK_SO_SNDTIMEO = 12, SK_SO_ACCEPTCONN = 13, SK_SO_BINDTODEVICE = 14,
};
enum {
    SK_AI_PASSIVE = 1, SK_AI_CANONNAME = 2, SK_AI_NUMERICHOST = 4,
    SK_AI_NUMERICSERV = 8, SK_AI_V4MAPPED = 16, SK_AI_ALL = 32,
    SK_AI_ADDRCONFIG = 64,
};
#define SK_AI_ALL_FLAGS 0x7fu
/* WasmEdge's getaddrinfo errnos (its api.hpp, after notcapable = 76). */
enum {
    SK_EAI_ADDRFAMILY = 77, SK_EAI_AGAIN = 78, SK_EAI_BADFLAG = 79,
    SK_EAI_FAIL = 80, SK_EAI_FAMILY = 81, SK_EAI_MEMORY = 82,
    SK_EAI_NODATA = 83, SK_EAI_NONAME = 84, SK_EAI_SERVICE = 85,
    SK_EAI_SOCKTYPE = 86, SK_EAI_SYSTEM = 87,
};

/* Backlog of each pre-opened listening socket. */
#define WASI_LISTEN_BACKLOG 128
/* Most iovecs one extension call takes (WasmEdge kIOVMax; EINVAL above). */
#define SK_IOV_MAX 1024u
/* The v2 address storage: family u16 at 0, address bytes from 2. */
#define SK_STORAGE_LEN 128u
/* Guest struct sizes: address, addrinfo, sockaddr (wasm32). */
#define SK_ADDRESS_SIZE 8u
#define SK_ADDRINFO_SIZE 28u
#define SK_SOCKADDR_SIZE 12u
/* Longest node / service string sock_getaddrinfo accepts. */
#define SK_NODE_MAX 255u
#define SK_SERVICE_MAX 32u

/* An IP endpoint, family-tagged (4 or 6), address in network order. */
typedef struct sk_addr {
    uint8_t family;            /* 4 or 6 */
    uint8_t ip[16];            /* 4 bytes used for IPv4 */
    uint16_t port;             /* host order */
} sk_addr;

static uint32_t sk_ip_len(const sk_addr *a) {
    return a->family == 4 ? 4u : 16u;
}

/* ==== Guest memory ====================================================== */

/* The host pointer for [gptr, gptr+len), which must also be aligned to
 * `align` (a power of two); else NULL with *e = EFAULT (out of bounds) or
 * EADDRNOTAVAIL (misaligned, as WasmEdge answers). */
static uint8_t *sk_span(wm_call *call, uint32_t gptr, uint64_t len,
                        uint32_t align, uint16_t *e) {
    uint8_t *p = wasi_span(call, gptr, len);
    if (!p) {
        *e = WASI_EFAULT;
        return NULL;
    }
    if (gptr & (align - 1)) {
        *e = WASI_EADDRNOTAVAIL;
        return NULL;
    }
    return p;
}

/* ==== Addresses ========================================================= */

static socklen_t sk_to_host(const sk_addr *a, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (a->family == 4) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(a->port);
        memcpy(&v4->sin_addr, a->ip, 4);
        return sizeof *v4;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(a->port);
    memcpy(&v6->sin6_addr, a->ip, 16);
    return sizeof *v6;
}

/* false for families other than IPv4/IPv6. */
static bool sk_from_host(const struct sockaddr_storage *ss, sk_addr *a) {
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        a->family = 4;
        a->port = ntohs(v4->sin_port);
        memcpy(a->ip, &v4->sin_addr, 4);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        a->family = 6;
        a->port = ntohs(v6->sin6_port);
        memcpy(a->ip, &v6->sin6_addr, 16);
        return true;
    }
    return false;
}

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) as the IPv4 address it stands for;
 * other addresses unchanged. Grants are matched on the result. */
static sk_addr sk_unmap(const sk_addr *a) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0xff, 0xff};
    sk_addr r = *a;
    if (a->family == 6 && memcmp(a->ip, mapped, 12) == 0) {
        memset(r.ip, 0, sizeof r.ip);
        memcpy(r.ip, a->ip + 12, 4);
        r.family = 4;
    }
    return r;
}

static bool sk_is_unspecified(const sk_addr *a) {
    static const uint8_t zero[16];
    return memcmp(a->ip, zero, sk_ip_len(a)) == 0;
}

static bool sk_is_loopback(const sk_addr *a) {
    static const uint8_t one[16] = {[15] = 1};
    return a->family == 4 ? a->ip[0] == 127 : memcmp(a->ip, one, 16) == 0;
}

/*
 * Read the guest `address` struct at g into *out (port left 0): buf_len
 * 4 or 16 are raw IP bytes; with v2 also the 128-byte storage form.
 * EINVAL for other lengths or families, ENOSYS for AF_UNIX.
 */
static uint16_t sk_read_address(wm_call *call, uint32_t g, bool v2,
                                sk_addr *out) {
    uint16_t e;
    const uint8_t *p = sk_span(call, g, SK_ADDRESS_SIZE, 4, &e);
    if (!p) return e;
    uint32_t buf = ld32(p), len = ld32(p + 4);
    memset(out, 0, sizeof *out);
    if (len == 4 || len == 16) {
        const uint8_t *b = sk_span(call, buf, len, 1, &e);
        if (!b) return e;
        out->family = len == 4 ? 4 : 6;
        memcpy(out->ip, b, len);
        return WASI_ESUCCESS;
    }
    if (!v2 || len != SK_STORAGE_LEN) return WASI_EINVAL;
    const uint8_t *b = sk_span(call, buf, SK_STORAGE_LEN, 1, &e);
    if (!b) return e;
    switch (ld16(b)) {
    case SK_AF_INET4:
        out->family = 4;
        memcpy(out->ip, b + 2, 4);
        return WASI_ESUCCESS;
    case SK_AF_INET6:
        out->family = 6;
        memcpy(out->ip, b + 2, 16);
        return WASI_ESUCCESS;
    case SK_AF_UNIX: return WASI_ENOSYS;
    default: return WASI_EINVAL;
    }
}

/*
 * Where an address result goes: the guest `address` struct at g, checked
 * (bounds and capacity) before the host call so nothing is lost after it.
 * v1: the buffer takes the raw IP (needs `ip_len` bytes); v2: the
 * 128-byte storage form.
 */
typedef struct sk_addr_out {
    uint8_t *buf;
    uint32_t cap;
    bool v2;
} sk_addr_out;

static uint16_t sk_addr_out_init(wm_call *call, uint32_t g, bool v2,
                                 uint32_t ip_len, sk_addr_out *o) {
    uint16_t e;
    const uint8_t *p = sk_span(call, g, SK_ADDRESS_SIZE, 4, &e);
    if (!p) return e;
    uint32_t buf = ld32(p), len = ld32(p + 4);
    if (v2 ? len < SK_STORAGE_LEN : len < ip_len) return WASI_EINVAL;
    o->cap = v2 ? SK_STORAGE_LEN : ip_len;
    o->v2 = v2;
    o->buf = sk_span(call, buf, o->cap, 1, &e);
    return o->buf ? WASI_ESUCCESS : e;
}

/* Write a (NULL: unknown, all zeros) into o. */
static void sk_addr_put(const sk_addr_out *o, const sk_addr *a) {
    memset(o->buf, 0, o->cap);
    if (!a) return;
    uint32_t n = sk_ip_len(a);
    if (o->v2) {
        st16(o->buf, a->family == 4 ? SK_AF_INET4 : SK_AF_INET6);
        memcpy(o->buf + 2, a->ip, n);
    } else {
        memcpy(o->buf, a->ip, n <= o->cap ? n : o->cap);
    }
}

/* The host socket's domain (AF_INET / AF_INET6 / ...), or -1. */
static int sk_domain(int host_fd) {
    int d = -1;
    socklen_t len = sizeof d;
    if (getsockopt(host_fd, SOL_SOCKET, SO_DOMAIN, &d, &len) != 0) return -1;
    return d;
}

/* ==== Grants ============================================================ */

/* One allow_bind / allow_net grant. */
typedef struct wasi_grant {
    uint8_t family;            /* 4 or 6; 0 = any address (HOST `*`) */
    bool wild;                 /* 0.0.0.0 / [::] (allow_bind): any address
                                  of the family, the wildcard included */
    bool any_port;             /* PORT `*` */
    uint16_t port;
    uint8_t ip[16];
} wasi_grant;

/*
 * Parse "HOST:PORT" into 1 or 2 grants (`localhost` is both loopbacks);
 * returns how many, 0 when malformed. HOST as documented in wasmind.h;
 * `bind` allows the empty HOST and the wildcard addresses.
 */
static int sk_grant_parse(const char *s, bool bind, wasi_grant out[2]) {
    char host[64];
    const char *port;
    bool v6 = s[0] == '[';
    if (v6) {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
            return 0;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host) return 0;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    wasi_grant g;
    memset(&g, 0, sizeof g);
    if (strcmp(port, "*") == 0) {
        g.any_port = true;
    } else {
        char *end;
        errno = 0;
        unsigned long p = strtoul(port, &end, 10);
        if (!port[0] || *end || errno || p > 65535 || port[0] == '-' ||
            port[0] == '+' || port[0] == ' ')
            return 0;
        g.port = (uint16_t)p;
    }
    if (!v6 && strcmp(host, "*") == 0) {
        out[0] = g;                    /* family 0: any address */
        return 1;
    }
    if (!v6 && strcmp(host, "localhost") == 0) {
        out[0] = out[1] = g;
        out[0].family = 4;
        out[0].ip[0] = 127;
        out[0].ip[3] = 1;
        out[1].family = 6;
        out[1].ip[15] = 1;
        return 2;
    }
    if (!v6 && !host[0]) {
        if (!bind) return 0;
        strcpy(host, "0.0.0.0");
    }
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, g.ip) != 1) return 0;
    g.family = v6 ? 6 : 4;
    sk_addr a = {.family = g.family};
    memcpy(a.ip, g.ip, 16);
    a = sk_unmap(&a);
    g.family = a.family;
    memcpy(g.ip, a.ip, 16);
    if (sk_is_unspecified(&a)) {
        if (!bind) return 0;   /* not a destination: use `*` */
        g.wild = true;
    }
    out[0] = g;
    return 1;
}

static wm_status sk_grants_init(wasi_grant **out, uint32_t *n_out, int n,
                                const char *const *v, bool bind,
                                wm_error *err) {
    const char *what = bind ? "allow-bind" : "allow-net";
    if (n < 0 || (n > 0 && !v) || n > 65536)
        return wm_errf(err, WM_ERR_ARG, "wasi: bad %s list", what);
    if (n == 0) return WM_OK;
    wasi_grant *g = calloc((size_t)n * 2, sizeof *g);
    if (!g) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    uint32_t k = 0;
    for (int i = 0; i < n; i++) {
        int got = v[i] ? sk_grant_parse(v[i], bind, g + k) : 0;
        if (!got) {
            free(g);
            return wm_errf(err, WM_ERR_ARG,
                           "wasi: %s `%s`: expected HOST:PORT (HOST: IPv4, "
                           "[IPv6], localhost or *%s; PORT: number or *)",
                           what, v[i] ? v[i] : "(null)",
                           bind ? "; empty = 0.0.0.0" : "; not 0.0.0.0/[::]");
        }
        k += (uint32_t)got;
    }
    *out = g;
    *n_out = k;
    return WM_OK;
}

wm_status wasi_grants_init(wasi_ctx *c, const wm_wasi_config *cfg,
                           wm_error *err) {
    wm_status st = sk_grants_init(&c->bind_grants, &c->n_bind_grants,
                                  cfg->n_allow_bind, cfg->allow_bind, true,
                                  err);
    if (st) return st;
    st = sk_grants_init(&c->net_grants, &c->n_net_grants, cfg->n_allow_net,
                        cfg->allow_net, false, err);
    if (st) return st;
    c->net_no_loopback = (cfg->flags & WM_WASI_NET_NO_LOOPBACK) != 0;
    return WM_OK;
}

static bool sk_grant_matches(const wasi_grant *g, const sk_addr *a) {
    if (!g->any_port && g->port != a->port) return false;
    if (g->family == 0) return true;
    if (g->family != a->family) return false;
    return g->wild || memcmp(g->ip, a->ip, sk_ip_len(a)) == 0;
}

/* May the guest bind to a? */
static bool sk_bind_allowed(const wasi_ctx *c, const sk_addr *addr) {
    sk_addr a = sk_unmap(addr);
    for (uint32_t i = 0; i < c->n_bind_grants; i++)
        if (sk_grant_matches(&c->bind_grants[i], &a)) return true;
    return false;
}

/* May the guest connect / send to a? The unspecified address is where
 * the kernel really connects: loopback. */
static bool sk_connect_allowed(const wasi_ctx *c, const sk_addr *addr) {
    sk_addr a = sk_unmap(addr);
    if (sk_is_unspecified(&a)) {
        memset(a.ip, 0, sizeof a.ip);
        if (a.family == 4) a.ip[0] = 127, a.ip[3] = 1;
        else a.ip[15] = 1;
    }
    if (c->n_net_grants == 0)
        return !c->net_no_loopback && sk_is_loopback(&a);
    for (uint32_t i = 0; i < c->n_net_grants; i++)
        if (sk_grant_matches(&c->net_grants[i], &a)) return true;
    return false;
}

/* ==== Pre-opened listeners ============================================== */

/*
 * Parse "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080", "localhost:80",
 * ":80" = all IPv4 interfaces) without name resolution. false when
 * malformed.
 */
static bool wasi_parse_addr(const char *s, struct sockaddr_storage *ss,
                            socklen_t *len) {
    wasi_grant g[2];
    if (s[0] == '*' || sk_grant_parse(s, true, g) == 0 || g[0].any_port)
        return false;
    sk_addr a = {.family = g[0].family, .port = g[0].port};
    memcpy(a.ip, g[0].ip, 16);
    if (s[0] == '[' && a.family == 4) {   /* [::ffff:a.b.c.d] as given */
        a.family = 6;
        memset(a.ip, 0, 16);
        a.ip[10] = a.ip[11] = 0xff;
        memcpy(a.ip + 12, g[0].ip, 4);
    }
    *len = sk_to_host(&a, ss);
    return true;
}

wm_status wasi_listen_add(wasi_ctx *c, const char *addr, int *port_out,
                          wm_error *err) {
    struct sockaddr_storage ss;
    socklen_t len;
    if (!addr || !wasi_parse_addr(addr, &ss, &len))
        return wm_errf(err, WM_ERR_ARG,
                       "wasi: listen address `%s`: expected ADDR:PORT",
                       addr ? addr : "(null)");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wm_errf(err, WM_ERR_IO, "wasi: listen %s: socket: %s", addr,
                       strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const char *what = NULL;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) what = "bind";
    else if (listen(fd, WASI_LISTEN_BACKLOG) != 0) what = "listen";
    if (what) {
        int saved = errno;
        close(fd);
        return wm_errf(err, WM_ERR_IO, "wasi: listen %s: %s: %s", addr, what,
                       strerror(saved));
    }
    if (port_out) {
        struct sockaddr_storage bound;
        socklen_t bl = sizeof bound;
        *port_out = 0;
        if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
            *port_out = ntohs(bound.ss_family == AF_INET6
                                  ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                  : ((struct sockaddr_in *)&bound)->sin_port);
    }
    uint32_t idx;
    if (wasi_fd_add(c, fd, WASI_FD_LISTEN, WASI_RIGHTS_LISTEN,
                    WASI_RIGHTS_SOCK, &idx)) {
        close(fd);
        return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    return WM_OK;
}

/* ==== Preview 1 ========================================================= */

static uint16_t sk_iovs(wm_call *call, uint32_t g, uint32_t n,
                        uint32_t align, struct iovec *hv);

/* Accept on f; the new fd's index goes to pout. flags may only hold
 * NONBLOCK (for the new fd). A non-blocking listening socket with nothing
 * pending answers EAGAIN. */
static uint16_t sk_accept(wasi_ctx *c, wasi_fd *f, uint32_t flags,
                          uint8_t *pout) {
    int hf = SOCK_CLOEXEC | (flags & WASI_FDFLAG_NONBLOCK ? SOCK_NONBLOCK : 0);
    int fd;
    do {
        fd = accept4(f->host_fd, NULL, NULL, hf);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return wasi_errno_from_host(errno);
    uint32_t idx;
    uint16_t e = wasi_fd_add(c, fd, WASI_FD_SOCKET,
                             f->rights_inheriting & WASI_RIGHTS_SOCK, 0,
                             &idx);
    if (e) {
        close(fd);
        return e;
    }
    st32(pout, idx);
    return WASI_ESUCCESS;
}

/* The fd for sock_accept (either version): EBADF / ENOTSOCK /
 * ENOTCAPABLE as the fd deserves. */
static wasi_fd *sk_accept_fd(wasi_ctx *c, uint32_t fd, uint16_t *e) {
    wasi_fd *f = wasi_fd_get(c, fd);
    if (!f) {
        *e = WASI_EBADF;
        return NULL;
    }
    if (!(f->rights_base & WASI_RIGHT_SOCK_ACCEPT)) {
        *e = f->kind == WASI_FD_LISTEN ? WASI_ENOTCAPABLE : WASI_ENOTSOCK;
        return NULL;
    }
    return f;
}

/* (fd, flags, fd_out): preview 1's sock_accept = WasmEdge's
 * sock_accept_v2. */
wm_status wasi_sock_accept(wm_call *call, uint64_t *slots) {
    wasi_ctx *c = CTX();
    uint16_t e;
    wasi_fd *f = sk_accept_fd(c, A32(0), &e);
    if (!f) return wasi_ret(slots, e);
    uint32_t flags = A32(1) & 0xffff;
    if (flags & ~(uint32_t)WASI_FDFLAG_NONBLOCK)
        return wasi_ret(slots, WASI_EINVAL);
    uint8_t *pout = wasi_span(call, A32(2), 4);
    if (!pout) return wasi_ret(slots, WASI_EFAULT);
    return wasi_ret(slots, sk_accept(c, f, flags, pout));
}

/* (fd, ri_data, ri_data_len, ri_flags, ro_datalen_ptr, ro_flags_ptr):
 * one recvmsg over at most SK_IOV_MAX iovecs (EINVAL beyond, as
 * WasmEdge), so a datagram is never split across host calls; ro_flags
 * gets RECV_DATA_TRUNCATED when a datagram did not fit. */
wm_status wasi_sock_recv(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_FD_READ))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    uint32_t ri = A32(3) & 0xffff;
    if (ri & ~(uint32_t)(WASI_RIFLAG_PEEK | WASI_RIFLAG_WAITALL))
        return wasi_ret(slots, WASI_EINVAL);
    uint8_t *plen = wasi_span(call, A32(4), 4);
    uint8_t *pfl = wasi_span(call, A32(5), 2);
    if (!plen || !pfl) return wasi_ret(slots, WASI_EFAULT);
    struct iovec hv[SK_IOV_MAX];   /* 16 KiB: fixed, not guest-sized */
    uint16_t e = sk_iovs(call, A32(1), A32(2), 1, hv);
    if (e) return wasi_ret(slots, e);
    struct msghdr mh = {.msg_iov = hv, .msg_iovlen = A32(2)};
    int mf = (ri & WASI_RIFLAG_PEEK ? MSG_PEEK : 0) |
             (ri & WASI_RIFLAG_WAITALL ? MSG_WAITALL : 0);
    ssize_t r;
    do {
        r = recvmsg(f->host_fd, &mh, mf);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return wasi_ret(slots, wasi_errno_from_host(errno));
    st32(plen, (uint32_t)r);
    st16(pfl, mh.msg_flags & MSG_TRUNC ? WASI_ROFLAG_TRUNCATED : 0);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (fd, si_data, si_data_len, si_flags, so_datalen_ptr); no si_flags are
 * defined, so any bit set is EINVAL. Never raises SIGPIPE (EPIPE). */
wm_status wasi_sock_send(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_FD_WRITE))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    if (A32(3) & 0xffff) return wasi_ret(slots, WASI_EINVAL);
    uint8_t *plen = wasi_span(call, A32(4), 4);
    if (!plen) return wasi_ret(slots, WASI_EFAULT);
    uint32_t n = 0;
    uint16_t e = wasi_rw(call, f, A32(1), A32(2), WASI_IO_SEND, 0, 0, &n);
    if (e == WASI_ESUCCESS) st32(plen, n);
    return wasi_ret(slots, e);
}

/* (fd, how): RD = 1, WR = 2, both = 3. */
wm_status wasi_sock_shutdown(wm_call *call, uint64_t *slots) {
    wasi_fd *f = wasi_fd_get(CTX(), A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_SOCK_SHUTDOWN))
        return wasi_ret(slots, f->kind == WASI_FD_FILE ||
                                       f->kind == WASI_FD_DIR
                                   ? WASI_ENOTSOCK : WASI_ENOTCAPABLE);
    uint32_t how = A32(1) & 0xff;
    int h;
    switch (how) {
    case WASI_SDFLAG_RD: h = SHUT_RD; break;
    case WASI_SDFLAG_WR: h = SHUT_WR; break;
    case WASI_SDFLAG_RD | WASI_SDFLAG_WR: h = SHUT_RDWR; break;
    default: return wasi_ret(slots, WASI_EINVAL);
    }
    if (shutdown(f->host_fd, h) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* ==== WasmEdge extension: lifecycle ===================================== */

/* The socket fd `fd`: EBADF when not open, ENOTSOCK when not a socket the
 * guest may configure (stdio stays out even when the host's is one). */
static wasi_fd *sk_get(wasi_ctx *c, uint32_t fd, uint16_t *e) {
    wasi_fd *f = wasi_fd_get(c, fd);
    if (!f) {
        *e = WASI_EBADF;
        return NULL;
    }
    if (f->kind != WASI_FD_SOCKET && f->kind != WASI_FD_LISTEN) {
        *e = WASI_ENOTSOCK;
        return NULL;
    }
    return f;
}

/* (af, type, fd_out): a new socket, blocking, unbound. Type `any` is a
 * stream socket. v2 would also open AF_UNIX, which wasmind does not
 * offer (ENOSYS, as WasmEdge without --allow-af-unix). */
static wm_status sk_open(wm_call *call, uint64_t *slots) {
    wasi_ctx *c = CTX();
    uint32_t af = A32(0) & 0xff, type = A32(1) & 0xff;
    uint16_t e;
    uint8_t *pout = sk_span(call, A32(2), 4, 4, &e);
    if (!pout) return wasi_ret(slots, e);
    int hd, ht;
    switch (af) {
    case SK_AF_INET4: hd = AF_INET; break;
    case SK_AF_INET6: hd = AF_INET6; break;
    case SK_AF_UNIX: return wasi_ret(slots, WASI_ENOSYS);
    default: return wasi_ret(slots, WASI_EINVAL);
    }
    switch (type) {
    case SK_TYPE_ANY:
    case SK_TYPE_STREAM: ht = SOCK_STREAM; break;
    case SK_TYPE_DGRAM: ht = SOCK_DGRAM; break;
    default: return wasi_ret(slots, WASI_EINVAL);
    }
    int fd = socket(hd, ht | SOCK_CLOEXEC, 0);
    if (fd < 0) return wasi_ret(slots, wasi_errno_from_host(errno));
    uint32_t idx;
    e = wasi_fd_add(c, fd, WASI_FD_SOCKET,
                    WASI_RIGHTS_SOCK | WASI_RIGHT_SOCK_ACCEPT,
                    WASI_RIGHTS_SOCK, &idx);
    if (e) {
        close(fd);
        return wasi_ret(slots, e);
    }
    st32(pout, idx);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* The (fd, address, port) arguments of bind and connect: the socket, and
 * the guest's address with the port. */
static uint16_t sk_fd_addr(wm_call *call, const uint64_t *slots, bool v2,
                           wasi_fd **f, sk_addr *a) {
    uint16_t e;
    if (!(*f = sk_get(CTX(), A32(0), &e))) return e;
    if ((e = sk_read_address(call, A32(1), v2, a))) return e;
    if (A32(2) > 65535) return WASI_EINVAL;
    a->port = (uint16_t)A32(2);
    return WASI_ESUCCESS;
}

/* (fd, address, port): bind where an allow_bind grant matches. */
static wm_status sk_bind_common(wm_call *call, uint64_t *slots, bool v2) {
    wasi_ctx *c = CTX();
    wasi_fd *f;
    sk_addr a;
    uint16_t e = sk_fd_addr(call, slots, v2, &f, &a);
    if (e) return wasi_ret(slots, e);
    if (!sk_bind_allowed(c, &a)) return wasi_ret(slots, WASI_EACCES);
    struct sockaddr_storage ss;
    socklen_t len = sk_to_host(&a, &ss);
    if (bind(f->host_fd, (struct sockaddr *)&ss, len) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    return wasi_ret(slots, WASI_ESUCCESS);
}
static wm_status sk_bind(wm_call *call, uint64_t *slots) {
    return sk_bind_common(call, slots, false);
}
static wm_status sk_bind_v2(wm_call *call, uint64_t *slots) {
    return sk_bind_common(call, slots, true);
}

/* (fd, backlog): only a bound socket may listen (listen() on an unbound
 * one would bind it to a random port on every interface: EACCES). */
static wm_status sk_listen(wm_call *call, uint64_t *slots) {
    uint16_t e;
    wasi_fd *f = sk_get(CTX(), A32(0), &e);
    if (!f) return wasi_ret(slots, e);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    sk_addr a;
    if (getsockname(f->host_fd, (struct sockaddr *)&ss, &len) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    if (!sk_from_host(&ss, &a) || a.port == 0)
        return wasi_ret(slots, WASI_EACCES);
    int backlog = A32(1) > (uint32_t)SOMAXCONN ? SOMAXCONN : (int)A32(1);
    if (listen(f->host_fd, backlog) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (fd, fd_out): v1 accept, no flags: the new fd is blocking. */
static wm_status sk_accept_v1(wm_call *call, uint64_t *slots) {
    wasi_ctx *c = CTX();
    uint16_t e;
    wasi_fd *f = sk_accept_fd(c, A32(0), &e);
    if (!f) return wasi_ret(slots, e);
    uint8_t *pout = sk_span(call, A32(1), 4, 4, &e);
    if (!pout) return wasi_ret(slots, e);
    return wasi_ret(slots, sk_accept(c, f, 0, pout));
}

/*
 * (fd, address, port): connect where allow_net permits. A non-blocking
 * socket answers EINPROGRESS; the guest waits for fd_write readiness and
 * reads SO_ERROR. A blocking connect interrupted by a signal is finished
 * the same way here, so the guest never sees EINTR/EALREADY.
 */
static wm_status sk_connect_common(wm_call *call, uint64_t *slots, bool v2) {
    wasi_ctx *c = CTX();
    wasi_fd *f;
    sk_addr a;
    uint16_t e = sk_fd_addr(call, slots, v2, &f, &a);
    if (e) return wasi_ret(slots, e);
    if (!sk_connect_allowed(c, &a)) return wasi_ret(slots, WASI_EACCES);
    struct sockaddr_storage ss;
    socklen_t len = sk_to_host(&a, &ss);
    if (connect(f->host_fd, (struct sockaddr *)&ss, len) == 0)
        return wasi_ret(slots, WASI_ESUCCESS);
    if (errno != EINTR) return wasi_ret(slots, wasi_errno_from_host(errno));
    struct pollfd pfd = {.fd = f->host_fd, .events = POLLOUT};
    while (poll(&pfd, 1, -1) < 0)
        if (errno != EINTR)
            return wasi_ret(slots, wasi_errno_from_host(errno));
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(f->host_fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    return wasi_ret(slots, wasi_errno_from_host(soerr));
}
static wm_status sk_connect(wm_call *call, uint64_t *slots) {
    return sk_connect_common(call, slots, false);
}
static wm_status sk_connect_v2(wm_call *call, uint64_t *slots) {
    return sk_connect_common(call, slots, true);
}

/* ==== WasmEdge extension: datagrams ===================================== */

/* Host iovecs for the guest (c)iovec array at g (n entries, at most
 * SK_IOV_MAX), every buffer checked; the array aligned to `align`. */
static uint16_t sk_iovs(wm_call *call, uint32_t g, uint32_t n,
                        uint32_t align, struct iovec *hv) {
    if (n > SK_IOV_MAX) return WASI_EINVAL;
    uint16_t e;
    const uint8_t *iov = sk_span(call, g, (uint64_t)n * WASI_IOVEC_SIZE,
                                 align, &e);
    if (!iov) return e;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = iov + (size_t)i * WASI_IOVEC_SIZE;
        uint32_t len = ld32(p + 4);
        /* The guest gets the count as a u32: cap the total there. */
        if (len > UINT32_MAX - total) len = (uint32_t)(UINT32_MAX - total);
        uint8_t *b = wasi_span(call, ld32(p), ld32(p + 4));
        if (!b) return WASI_EFAULT;
        hv[i].iov_base = b;
        hv[i].iov_len = len;
        total += len;
    }
    return WASI_ESUCCESS;
}

/*
 * v1 (fd, iovs, n, address, riflags, len_out, roflags_out): the sender's
 * IP into the address buffer (4 or 16 bytes, the socket's family), no
 * port. v2 (fd, iovs, n, address, riflags, port_out, len_out,
 * roflags_out): the 128-byte storage form and the port. One recvmsg; a
 * datagram larger than the buffers sets roflags' truncated bit. On a
 * connected stream socket the sender is the peer.
 */
static wm_status sk_recv_from_common(wm_call *call, uint64_t *slots,
                                     bool v2) {
    uint16_t e;
    wasi_fd *f = sk_get(CTX(), A32(0), &e);
    if (!f) return wasi_ret(slots, e);
    if (!(f->rights_base & WASI_RIGHT_FD_READ))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    uint32_t ri = A32(4) & 0xffff;
    if (ri & ~(uint32_t)(WASI_RIFLAG_PEEK | WASI_RIFLAG_WAITALL))
        return wasi_ret(slots, WASI_EINVAL);
    uint32_t i_len = v2 ? 6 : 5, i_fl = v2 ? 7 : 6;
    uint8_t *pport = NULL;
    if (v2 && !(pport = sk_span(call, A32(5), 4, 4, &e)))
        return wasi_ret(slots, e);
    uint8_t *plen = sk_span(call, A32(i_len), 4, 4, &e);
    if (!plen) return wasi_ret(slots, e);
    uint8_t *pfl = sk_span(call, A32(i_fl), 2, 2, &e);
    if (!pfl) return wasi_ret(slots, e);
    sk_addr_out ao;
    if ((e = sk_addr_out_init(call, A32(3), v2,
                              sk_domain(f->host_fd) == AF_INET ? 4 : 16,
                              &ao)))
        return wasi_ret(slots, e);
    struct iovec hv[SK_IOV_MAX];   /* 16 KiB: fixed, not guest-sized */
    if ((e = sk_iovs(call, A32(1), A32(2), 4, hv)))
        return wasi_ret(slots, e);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct msghdr mh = {.msg_name = &ss, .msg_namelen = sizeof ss,
                        .msg_iov = hv, .msg_iovlen = A32(2)};
    int mf = (ri & WASI_RIFLAG_PEEK ? MSG_PEEK : 0) |
             (ri & WASI_RIFLAG_WAITALL ? MSG_WAITALL : 0);
    ssize_t r;
    do {
        r = recvmsg(f->host_fd, &mh, mf);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return wasi_ret(slots, wasi_errno_from_host(errno));
    sk_addr a;
    bool known = mh.msg_namelen > 0 && sk_from_host(&ss, &a);
    if (!known) {
        socklen_t sl = sizeof ss;
        known = getpeername(f->host_fd, (struct sockaddr *)&ss, &sl) == 0 &&
                sk_from_host(&ss, &a);
    }
    sk_addr_put(&ao, known ? &a : NULL);
    if (pport) st32(pport, known ? a.port : 0);
    st32(plen, (uint32_t)r);
    st16(pfl, mh.msg_flags & MSG_TRUNC ? WASI_ROFLAG_TRUNCATED : 0);
    return wasi_ret(slots, WASI_ESUCCESS);
}
static wm_status sk_recv_from(wm_call *call, uint64_t *slots) {
    return sk_recv_from_common(call, slots, false);
}
static wm_status sk_recv_from_v2(wm_call *call, uint64_t *slots) {
    return sk_recv_from_common(call, slots, true);
}

/* (fd, iovs, n, address, port, siflags, len_out): one sendmsg to the
 * address, where allow_net permits. */
static wm_status sk_send_to_common(wm_call *call, uint64_t *slots, bool v2) {
    wasi_ctx *c = CTX();
    uint16_t e;
    wasi_fd *f = sk_get(c, A32(0), &e);
    if (!f) return wasi_ret(slots, e);
    if (!(f->rights_base & WASI_RIGHT_FD_WRITE))
        return wasi_ret(slots, WASI_ENOTCAPABLE);
    if (A32(5) & 0xffff) return wasi_ret(slots, WASI_EINVAL);
    uint8_t *plen = sk_span(call, A32(6), 4, 4, &e);
    if (!plen) return wasi_ret(slots, e);
    sk_addr a;
    if ((e = sk_read_address(call, A32(3), v2, &a)))
        return wasi_ret(slots, e);
    if (A32(4) > 65535) return wasi_ret(slots, WASI_EINVAL);
    a.port = (uint16_t)A32(4);
    struct iovec hv[SK_IOV_MAX];
    if ((e = sk_iovs(call, A32(1), A32(2), 4, hv)))
        return wasi_ret(slots, e);
    if (!sk_connect_allowed(c, &a)) return wasi_ret(slots, WASI_EACCES);
    struct sockaddr_storage ss;
    socklen_t len = sk_to_host(&a, &ss);
    struct msghdr mh = {.msg_name = &ss, .msg_namelen = len,
                        .msg_iov = hv, .msg_iovlen = A32(2)};
    ssize_t r;
    do {
        r = sendmsg(f->host_fd, &mh, MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return wasi_ret(slots, wasi_errno_from_host(errno));
    st32(plen, (uint32_t)r);
    return wasi_ret(slots, WASI_ESUCCESS);
}
static wm_status sk_send_to(wm_call *call, uint64_t *slots) {
    return sk_send_to_common(call, slots, false);
}
static wm_status sk_send_to_v2(wm_call *call, uint64_t *slots) {
    return sk_send_to_common(call, slots, true);
}

/* ==== WasmEdge extension: addresses ===================================== */

/*
 * v1 (fd, address, type_out, port_out): the IP into the address buffer
 * (at least 4 / 16 bytes), type_out 4 or 6 (the IP *version*, WasmEdge's
 * quirk), the port. v2 (fd, address, port_out): the 128-byte storage form
 * (family at byte 0). ENOTCONN for the peer of an unconnected socket.
 */
static wm_status sk_getaddr_common(wm_call *call, uint64_t *slots, bool v2,
                                   bool peer) {
    uint16_t e;
    wasi_fd *f = sk_get(CTX(), A32(0), &e);
    if (!f) return wasi_ret(slots, e);
    uint8_t *ptype = NULL, *pport;
    if (!v2 && !(ptype = sk_span(call, A32(2), 4, 4, &e)))
        return wasi_ret(slots, e);
    if (!(pport = sk_span(call, A32(v2 ? 2 : 3), 4, 4, &e)))
        return wasi_ret(slots, e);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int r = peer ? getpeername(f->host_fd, (struct sockaddr *)&ss, &len)
                 : getsockname(f->host_fd, (struct sockaddr *)&ss, &len);
    if (r != 0) return wasi_ret(slots, wasi_errno_from_host(errno));
    sk_addr a;
    if (!sk_from_host(&ss, &a)) return wasi_ret(slots, WASI_EAFNOSUPPORT);
    sk_addr_out ao;
    if ((e = sk_addr_out_init(call, A32(1), v2, sk_ip_len(&a), &ao)))
        return wasi_ret(slots, e);
    sk_addr_put(&ao, &a);
    if (ptype) st32(ptype, a.family);
    st32(pport, a.port);
    return wasi_ret(slots, WASI_ESUCCESS);
}
static wm_status sk_getlocaladdr(wm_call *call, uint64_t *slots) {
    return sk_getaddr_common(call, slots, false, false);
}
static wm_status sk_getpeeraddr(wm_call *call, uint64_t *slots) {
    return sk_getaddr_common(call, slots, false, true);
}
static wm_status sk_getlocaladdr_v2(wm_call *call, uint64_t *slots) {
    return sk_getaddr_common(call, slots, true, false);
}
static wm_status sk_getpeeraddr_v2(wm_call *call, uint64_t *slots) {
    return sk_getaddr_common(call, slots, true, true);
}

/* ==== WasmEdge extension: options ======================================= */

/* The value shapes of the options. */
enum { SK_VAL_INT, SK_VAL_LINGER, SK_VAL_TIMEVAL, SK_VAL_NAME };

/* WasmEdge option number -> host SOL_SOCKET option and value shape;
 * false for unknown numbers. */
static bool sk_opt_host(uint32_t so, int *name, int *shape) {
    static const int map[] = {
        [SK_SO_REUSEADDR] = SO_REUSEADDR, [SK_SO_TYPE] = SO_TYPE,
        [SK_SO_ERROR] = SO_ERROR, [SK_SO_DONTROUTE] = SO_DONTROUTE,
        [SK_SO_BROADCAST] = SO_BROADCAST, [SK_SO_SNDBUF] = SO_SNDBUF,
        [SK_SO_RCVBUF] = SO_RCVBUF, [SK_SO_KEEPALIVE] = SO_KEEPALIVE,
        [SK_SO_OOBINLINE] = SO_OOBINLINE, [SK_SO_LINGER] = SO_LINGER,
        [SK_SO_RCVLOWAT] = SO_RCVLOWAT, [SK_SO_RCVTIMEO] = SO_RCVTIMEO,
        [SK_SO_SNDTIMEO] = SO_SNDTIMEO, [SK_SO_ACCEPTCONN] = SO_ACCEPTCONN,
        [SK_SO_BINDTODEVICE] = SO_BINDTODEVICE,
    };
    if (so >= WM_ARRAY_LEN(map)) return false;
    *name = map[so];
    *shape = so == SK_SO_LINGER ? SK_VAL_LINGER
           : so == SK_SO_RCVTIMEO || so == SK_SO_SNDTIMEO ? SK_VAL_TIMEVAL
           : so == SK_SO_BINDTODEVICE ? SK_VAL_NAME
           : SK_VAL_INT;
    return true;
}

/* Guest size of each value shape: int 4; linger {i32 onoff, i32 linger}
 * 8; timeval {i64 sec, i64 usec} 16 (wasi-libc's struct timeval). */
static uint32_t sk_opt_size(int shape) {
    return shape == SK_VAL_LINGER ? 8u : shape == SK_VAL_TIMEVAL ? 16u : 4u;
}

/*
 * (fd, level, name, value, len_inout): level SOL_SOCKET (0) only
 * (EINVAL otherwise), names 0-14 (ENOPROTOOPT otherwise). *len_inout is
 * the capacity in (EINVAL when smaller than the value), the size out.
 * SO_TYPE answers WasmEdge's sock_type (1 dgram, 2 stream), SO_ERROR a
 * WASI errno (and clears the error), SO_BINDTODEVICE the interface name
 * with its NUL (size 0: none).
 */
static wm_status sk_getsockopt(wm_call *call, uint64_t *slots) {
    uint16_t e;
    wasi_fd *f = sk_get(CTX(), A32(0), &e);
    if (!f) return wasi_ret(slots, e);
    int name, shape;
    if (A32(1) != SK_SOL_SOCKET) return wasi_ret(slots, WASI_EINVAL);
    if (!sk_opt_host(A32(2), &name, &shape))
        return wasi_ret(slots, WASI_ENOPROTOOPT);
    uint8_t *plen = sk_span(call, A32(4), 4, 4, &e);
    if (!plen) return wasi_ret(slots, e);
    uint32_t cap = ld32(plen);
    uint32_t size = shape == SK_VAL_NAME ? (cap < IFNAMSIZ ? cap : IFNAMSIZ)
                                         : sk_opt_size(shape);
    if (cap < size) return wasi_ret(slots, WASI_EINVAL);
    uint8_t *p = sk_span(call, A32(3), size, shape == SK_VAL_NAME ? 1 : 4,
                         &e);
    if (!p) return wasi_ret(slots, e);
    union {
        int i;
        struct linger l;
        struct timeval tv;
        char name[IFNAMSIZ];
    } v;
    memset(&v, 0, sizeof v);
    socklen_t hl = shape == SK_VAL_NAME ? (socklen_t)IFNAMSIZ
                 : shape == SK_VAL_LINGER ? (socklen_t)sizeof v.l
                 : shape == SK_VAL_TIMEVAL ? (socklen_t)sizeof v.tv
                 : (socklen_t)sizeof v.i;
    if (getsockopt(f->host_fd, SOL_SOCKET, name, &v, &hl) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    switch (shape) {
    case SK_VAL_INT: {
        int32_t x = v.i;
        if (name == SO_TYPE)
            x = v.i == SOCK_DGRAM ? SK_TYPE_DGRAM
              : v.i == SOCK_STREAM ? SK_TYPE_STREAM : SK_TYPE_ANY;
        else if (name == SO_ERROR)
            x = wasi_errno_from_host(v.i);
        st32(p, (uint32_t)x);
        break;
    }
    case SK_VAL_LINGER:
        st32(p, (uint32_t)v.l.l_onoff);
        st32(p + 4, (uint32_t)v.l.l_linger);
        break;
    case SK_VAL_TIMEVAL:
        st64(p, (uint64_t)(int64_t)v.tv.tv_sec);
        st64(p + 8, (uint64_t)(int64_t)v.tv.tv_usec);
        break;
    default:
        if (hl > size) return wasi_ret(slots, WASI_EINVAL);
        size = (uint32_t)hl;
        memcpy(p, v.name, size);
        break;
    }
    st32(plen, size);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (fd, level, name, value, len): len must be the value's size (EINVAL
 * otherwise). SO_BINDTODEVICE is refused (EACCES: choosing interfaces
 * is outside the sandbox); read-only options fail as the host says. */
static wm_status sk_setsockopt(wm_call *call, uint64_t *slots) {
    uint16_t e;
    wasi_fd *f = sk_get(CTX(), A32(0), &e);
    if (!f) return wasi_ret(slots, e);
    int name, shape;
    if (A32(1) != SK_SOL_SOCKET) return wasi_ret(slots, WASI_EINVAL);
    if (!sk_opt_host(A32(2), &name, &shape))
        return wasi_ret(slots, WASI_ENOPROTOOPT);
    if (shape == SK_VAL_NAME) return wasi_ret(slots, WASI_EACCES);
    uint32_t size = sk_opt_size(shape);
    if (A32(4) != size) return wasi_ret(slots, WASI_EINVAL);
    const uint8_t *p = sk_span(call, A32(3), size, 4, &e);
    if (!p) return wasi_ret(slots, e);
    union {
        int i;
        struct linger l;
        struct timeval tv;
    } v;
    memset(&v, 0, sizeof v);
    socklen_t hl;
    switch (shape) {
    case SK_VAL_INT:
        v.i = (int32_t)ld32(p);
        hl = sizeof v.i;
        break;
    case SK_VAL_LINGER:
        v.l.l_onoff = (int32_t)ld32(p);
        v.l.l_linger = (int32_t)ld32(p + 4);
        hl = sizeof v.l;
        break;
    default: {
        int64_t sec = (int64_t)ld64(p), usec = (int64_t)ld64(p + 8);
        if (sec < 0 || usec < 0 || usec >= 1000000)
            return wasi_ret(slots, WASI_EINVAL);
        v.tv.tv_sec = (time_t)sec;
        v.tv.tv_usec = (suseconds_t)usec;
        hl = sizeof v.tv;
        break;
    }
    }
    if (setsockopt(f->host_fd, SOL_SOCKET, name, &v, hl) != 0)
        return wasi_ret(slots, wasi_errno_from_host(errno));
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* ==== WasmEdge extension: sock_getaddrinfo ============================== */

/* A length-delimited guest string (one trailing NUL allowed, none
 * inside) copied to buf (cap bytes incl. the NUL). false when malformed
 * or too long. */
static bool sk_gstr(const uint8_t *p, uint32_t len, char *buf, size_t cap) {
    if (len && p[len - 1] == '\0') len--;
    if (len >= cap || memchr(p, '\0', len)) return false;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return true;
}

/* Service name or number -> port; -1 unknown (EAI_SERVICE), -2 a name
 * under NUMERICSERV (EAI_NONAME). Names: the two LlamaEdge-style clients
 * use; no services database in a static binary. */
static int sk_service_port(const char *s, bool numeric_only) {
    if (!s[0]) return 0;
    if (s[0] >= '0' && s[0] <= '9') {
        char *end;
        errno = 0;
        unsigned long p = strtoul(s, &end, 10);
        return *end || errno || p > 65535 ? -1 : (int)p;
    }
    if (numeric_only) return -2;
    if (strcmp(s, "http") == 0) return 80;
    if (strcmp(s, "https") == 0) return 443;
    return -1;
}

/*
 * (node, node_len, service, service_len, hints, res, max, count_out).
 * Resolution without a resolver (wasmind is a static binary: no NSS, and
 * a guest must not reach DNS servers behind the sandbox's back): numeric
 * IPv4 / IPv6 nodes, `localhost` (127.0.0.1 then ::1), and an empty node
 * (the wildcard with AI_PASSIVE, else loopback); any other name is
 * EAI_NONAME. Services: numbers, `http`, `https`. hints (0: none) select
 * the family (0 any, 1, 2) and socket type (0 = one stream and one dgram
 * record per address). The results fill the guest's preallocated chain
 * (res -> u32 address of the first addrinfo, linked by ai_next), at most
 * `max` records; *count_out gets how many. Each record: flags (the
 * hints'), family, socktype, protocol, ai_addrlen (host sockaddr size),
 * its sockaddr's family and sa_data = port (big-endian) + address as in
 * the host's sockaddr_in/in6 minus the family, truncated to sa_data_len
 * (which is set to the bytes written), and with AI_CANONNAME the node
 * name into the canonname buffer (its length field is the capacity in,
 * the bytes written out).
 */
static wm_status sk_getaddrinfo(wm_call *call, uint64_t *slots) {
    uint16_t e;
    const uint8_t *pnode = wasi_span(call, A32(0), A32(1));
    const uint8_t *pserv = wasi_span(call, A32(2), A32(3));
    if (!pnode || !pserv) return wasi_ret(slots, WASI_EFAULT);
    uint8_t *pres = sk_span(call, A32(5), 4, 4, &e);
    if (!pres) return wasi_ret(slots, e);
    uint8_t *pcount = sk_span(call, A32(7), 4, 4, &e);
    if (!pcount) return wasi_ret(slots, e);
    uint32_t max = A32(6);
    uint32_t flags = 0, hfam = 0, htype = 0;
    if (A32(4)) {
        const uint8_t *h = sk_span(call, A32(4), SK_ADDRINFO_SIZE, 4, &e);
        if (!h) return wasi_ret(slots, e);
        flags = ld16(h);
        hfam = h[2];
        htype = h[3];
    }
    char node[SK_NODE_MAX + 1], serv[SK_SERVICE_MAX + 1];
    if (!sk_gstr(pnode, A32(1), node, sizeof node) ||
        !sk_gstr(pserv, A32(3), serv, sizeof serv))
        return wasi_ret(slots, SK_EAI_NONAME);
    if (!node[0] && !serv[0]) return wasi_ret(slots, SK_EAI_NONAME);
    if (flags & ~SK_AI_ALL_FLAGS) return wasi_ret(slots, SK_EAI_BADFLAG);
    if (hfam > SK_AF_INET6) return wasi_ret(slots, SK_EAI_FAMILY);
    if (htype > SK_TYPE_STREAM) return wasi_ret(slots, SK_EAI_SOCKTYPE);
    if (max == 0) return wasi_ret(slots, SK_EAI_MEMORY);
    int port = sk_service_port(serv, flags & SK_AI_NUMERICSERV);
    if (port == -2) return wasi_ret(slots, SK_EAI_NONAME);
    if (port < 0) return wasi_ret(slots, SK_EAI_SERVICE);

    /* The addresses, IPv4 first. */
    sk_addr addrs[2];
    uint32_t n_addrs = 0;
    memset(addrs, 0, sizeof addrs);
    if (!node[0] || strcmp(node, "localhost") == 0) {
        if (strcmp(node, "localhost") == 0 && (flags & SK_AI_NUMERICHOST))
            return wasi_ret(slots, SK_EAI_NONAME);
        bool wild = !node[0] && (flags & SK_AI_PASSIVE);
        addrs[0].family = 4;
        if (!wild) addrs[0].ip[0] = 127, addrs[0].ip[3] = 1;
        addrs[1].family = 6;
        if (!wild) addrs[1].ip[15] = 1;
        n_addrs = 2;
    } else if (inet_pton(AF_INET, node, addrs[0].ip) == 1) {
        addrs[0].family = 4;
        n_addrs = 1;
    } else if (inet_pton(AF_INET6, node, addrs[0].ip) == 1) {
        addrs[0].family = 6;
        n_addrs = 1;
    } else {
        return wasi_ret(slots, SK_EAI_NONAME);
    }
    /* Results: addresses of the requested family x socket types. */
    struct {
        const sk_addr *a;
        uint8_t type;
    } res[4];
    uint32_t n_res = 0;
    for (uint32_t i = 0; i < n_addrs; i++) {
        uint8_t fam = addrs[i].family == 4 ? SK_AF_INET4 : SK_AF_INET6;
        if (hfam && hfam != fam) continue;
        for (uint8_t t = SK_TYPE_STREAM; t >= SK_TYPE_DGRAM; t--) {
            if (htype && htype != t) continue;
            res[n_res].a = &addrs[i];
            res[n_res++].type = t;
        }
    }
    if (n_res == 0)
        return wasi_ret(slots, n_addrs == 1 ? SK_EAI_ADDRFAMILY
                                            : SK_EAI_NODATA);

    /* Check the whole chain before writing anything. */
    uint8_t *rec[4], *sa[4], *data[4], *canon[4];
    uint32_t data_cap[4], canon_cap[4];
    uint32_t n = n_res < max ? n_res : max;
    uint32_t g = ld32(pres);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && (g = ld32(rec[i - 1] + 24)) == 0) {
            n = i;              /* the chain is shorter than `max` */
            break;
        }
        if (!(rec[i] = sk_span(call, g, SK_ADDRINFO_SIZE, 4, &e)) ||
            !(sa[i] = sk_span(call, ld32(rec[i] + 12), SK_SOCKADDR_SIZE, 4,
                              &e)))
            return wasi_ret(slots, e);
        data_cap[i] = ld32(sa[i] + 4);
        if (data_cap[i] > 26) data_cap[i] = 26;
        if (!(data[i] = wasi_span(call, ld32(sa[i] + 8), data_cap[i])))
            return wasi_ret(slots, WASI_EFAULT);
        canon[i] = NULL;
        canon_cap[i] = 0;
        if ((flags & SK_AI_CANONNAME) && ld32(rec[i] + 16)) {
            canon_cap[i] = ld32(rec[i] + 20);
            if (!(canon[i] = wasi_span(call, ld32(rec[i] + 16),
                                       canon_cap[i])))
                return wasi_ret(slots, WASI_EFAULT);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        sk_addr a = *res[i].a;
        a.port = (uint16_t)port;
        uint8_t d[26];
        memset(d, 0, sizeof d);
        d[0] = (uint8_t)(a.port >> 8);
        d[1] = (uint8_t)a.port;
        uint32_t dlen;
        if (a.family == 4) {
            memcpy(d + 2, a.ip, 4);
            dlen = 14;
        } else {
            memcpy(d + 6, a.ip, 16);   /* after flowinfo; scope id 0 */
            dlen = 26;
        }
        if (dlen > data_cap[i]) dlen = data_cap[i];
        memcpy(data[i], d, dlen);
        st16(rec[i], (uint16_t)flags);
        rec[i][2] = a.family == 4 ? SK_AF_INET4 : SK_AF_INET6;
        rec[i][3] = res[i].type;
        rec[i][4] = res[i].type == SK_TYPE_STREAM ? SK_PROTO_TCP
                                                  : SK_PROTO_UDP;
        st32(rec[i] + 8, a.family == 4 ? (uint32_t)sizeof(struct sockaddr_in)
                                       : (uint32_t)sizeof(struct sockaddr_in6));
        sa[i][0] = rec[i][2];
        st32(sa[i] + 4, dlen);
        if (canon[i]) {
            uint32_t cl = (uint32_t)strlen(node);
            if (cl > canon_cap[i]) cl = canon_cap[i];
            memcpy(canon[i], node, cl);
            st32(rec[i] + 20, cl);
        }
    }
    st32(pcount, n);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* ==== Registration ====================================================== */

/* WasmEdge's extension, v1 and v2 names (sock_recv/sock_send/
 * sock_shutdown/sock_accept-with-flags are preview 1's, in wasi_p1.c;
 * their _v2 names are defined here). */
static const wm_host_func_def sk_defs[] = {
    {"sock_open", "(iii)i", sk_open},
    {"sock_open_v2", "(iii)i", sk_open},
    {"sock_bind", "(iii)i", sk_bind},
    {"sock_bind_v2", "(iii)i", sk_bind_v2},
    {"sock_connect", "(iii)i", sk_connect},
    {"sock_connect_v2", "(iii)i", sk_connect_v2},
    {"sock_listen", "(ii)i", sk_listen},
    {"sock_listen_v2", "(ii)i", sk_listen},
    {"sock_accept", "(ii)i", sk_accept_v1},
    {"sock_accept_v2", "(iii)i", wasi_sock_accept},
    {"sock_recv_v2", "(iiiiii)i", wasi_sock_recv},
    {"sock_send_v2", "(iiiii)i", wasi_sock_send},
    {"sock_recv_from", "(iiiiiii)i", sk_recv_from},
    {"sock_recv_from_v2", "(iiiiiiii)i", sk_recv_from_v2},
    {"sock_send_to", "(iiiiiii)i", sk_send_to},
    {"sock_send_to_v2", "(iiiiiii)i", sk_send_to_v2},
    {"sock_getlocaladdr", "(iiii)i", sk_getlocaladdr},
    {"sock_getpeeraddr", "(iiii)i", sk_getpeeraddr},
    {"sock_getlocaladdr_v2", "(iii)i", sk_getlocaladdr_v2},
    {"sock_getpeeraddr_v2", "(iii)i", sk_getpeeraddr_v2},
    {"sock_getsockopt", "(iiiii)i", sk_getsockopt},
    {"sock_setsockopt", "(iiiii)i", sk_setsockopt},
    {"sock_getaddrinfo", "(iiiiiiii)i", sk_getaddrinfo},
};

/* The 11 names WasmEdge's linker falls back from (specs/sockets.md
 * §1.1). */
static const char *const sk_fallbacks[] = {
    "sock_open", "sock_bind", "sock_connect", "sock_listen", "sock_accept",
    "sock_recv", "sock_recv_from", "sock_send", "sock_send_to",
    "sock_getlocaladdr", "sock_getpeeraddr",
};

wm_status wasi_sock_define(wm_linker *lk, wasi_ctx *c, wm_error *err) {
    wm_status st = wm_linker_define_host(lk, "wasi_snapshot_preview1",
                                         sk_defs, WM_ARRAY_LEN(sk_defs), c,
                                         err);
    for (size_t i = 0; !st && i < WM_ARRAY_LEN(sk_fallbacks); i++) {
        char alt[40];
        snprintf(alt, sizeof alt, "%s_v2", sk_fallbacks[i]);
        st = lk_define_fallback(lk, "wasi_snapshot_preview1",
                                sk_fallbacks[i], alt, err);
    }
    return st;
}
