/*
 * sock_ext.c — WasmEdge's socket extension (apps/lib/wasmedge_sock.h)
 * from a guest; cases/70-sock-ext.sh drives it.
 *
 *   sock_ext server PORT   (--allow-bind 127.0.0.1:PORT
 *                           --allow-bind 127.0.0.1:0)
 *       argument checks, options, getaddrinfo, sandbox refusals; a TCP
 *       conversation with itself over an ephemeral listener (non-blocking
 *       accept/connect/recv + poll_oneoff, v1/v2/fallback imports); UDP
 *       send_to/recv_from; then an echo server on 127.0.0.1:PORT that
 *       answers the script's "ping\n" with "PING\n". Exit 3 when PORT is
 *       taken (the script retries another).
 *   sock_ext client PORT   (--allow-net 127.0.0.1:PORT)
 *       resolves localhost:PORT, is refused elsewhere, connects to the
 *       host listener on PORT (wasmind --listen + sock.wasm), sends
 *       "hello\n" and expects "HELLO\n".
 *   sock_ext denied PORT   (--allow-net none)
 *       even loopback connects are refused.
 *   sock_ext grants PORT   (--allow-bind 127.0.0.1:* --allow-bind [::]:0
 *                           --allow-net *:PORT)
 *       wildcard ports and addresses in grants.
 *
 * One line per check (wasi_check.h); everything waits at most ~10 s.
 */
#include <ctype.h>
#include <stdbool.h>

#include "../../apps/lib/wasmedge_sock.h"
#include "wasi_check.h"

/* The 8-parameter sock_recv_from as wasmedge_wasi_socket declares it:
 * the host binds it to sock_recv_from_v2 (type fallback). */
__attribute__((import_module("wasi_snapshot_preview1"),
               import_name("sock_recv_from")))
int32_t fb_sock_recv_from(uint32_t fd, const wes_iovec *iovs, uint32_t n,
                          wes_address *addr, uint32_t riflags,
                          uint32_t *port, uint32_t *len, uint32_t *roflags);

/* Close, ignoring the result (the checks that matter use wc_eq). */
static void xclose(uint32_t fd) {
    if (__wasi_fd_close(fd)) {
    }
}

static uint8_t LO4[4] = {127, 0, 0, 1};
static uint8_t LO6[16] = {[15] = 1};

static wes_address addr_of(uint8_t *ip, uint32_t len) {
    wes_address a = {ip, len};
    return a;
}

/* The flags of the last fd event wait_fd saw. */
static __wasi_eventrwflags_t last_flags;

/* Wait up to ms for fd (tag 1 read, 2 write): 1 ready, 0 timeout,
 * -1 error. ms alone (fd < 0): sleep. */
static int wait_fd(int fd, int tag, uint64_t ms) {
    __wasi_subscription_t sub[2];
    memset(sub, 0, sizeof sub);
    sub[0].userdata = 1;
    sub[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    sub[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub[0].u.u.clock.timeout = ms * 1000000ull;
    sub[1].userdata = 2;
    sub[1].u.tag = (uint8_t)tag;
    sub[1].u.u.fd_read.file_descriptor = (__wasi_fd_t)fd;
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    if (__wasi_poll_oneoff(sub, ev, fd < 0 ? 1 : 2, &n) != 0) return -1;
    for (__wasi_size_t i = 0; i < n; i++)
        if (ev[i].userdata == 2) {
            last_flags = ev[i].fd_readwrite.flags;
            return ev[i].error ? -1 : 1;
        }
    return 0;
}

static uint32_t local_port(uint32_t fd) {
    uint8_t ip[16];
    wes_address a = addr_of(ip, 16);
    uint32_t type = 0, port = 0;
    if (wes_sock_getlocaladdr(fd, &a, &type, &port)) return 0;
    return port;
}

static int32_t send_str(uint32_t fd, const char *s) {
    wes_ciovec v = {s, (uint32_t)strlen(s)};
    uint32_t n = 0;
    int32_t e = wes_sock_send(fd, &v, 1, 0, &n);
    return e ? e : n == strlen(s) ? 0 : -1;
}

/* Receive up to a newline (or cap-1 bytes, EOF, 10 s) into buf. */
static size_t recv_line(uint32_t fd, char *buf, size_t cap) {
    size_t have = 0;
    while (have + 1 < cap && (have == 0 || buf[have - 1] != '\n')) {
        if (wait_fd((int)fd, 1, 10000) != 1) break;
        wes_iovec v = {buf + have, (uint32_t)(cap - 1 - have)};
        uint32_t n = 0, ro = 0;
        int32_t e = wes_sock_recv(fd, &v, 1, 0, &n, &ro);
        if (e == WES_EAGAIN) continue;
        if (e || n == 0) break;
        have += n;
    }
    buf[have] = 0;
    return have;
}

static bool fd_nonblocking(uint32_t fd) {
    __wasi_fdstat_t st;
    return __wasi_fd_fdstat_get(fd, &st) == 0 &&
           (st.fs_flags & __WASI_FDFLAGS_NONBLOCK);
}

/* ==== Arguments, options, getaddrinfo =================================== */

static void check_args(void) {
    static uint8_t scratch[64] __attribute__((aligned(8)));
    uint32_t fd = 0;
    wc_eq("open.misaligned",
          wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM,
                        (uint32_t *)(scratch + 1)), WES_EADDRNOTAVAIL);
    wc_eq("open.efault", wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM,
                                       BAD_PTR), WES_EFAULT);
    wc_eq("open.family", wes_sock_open(9, WES_SOCK_STREAM, &fd), WES_EINVAL);
    wc_eq("open.unix", wes_sock_open_v2(WES_AF_UNIX, WES_SOCK_STREAM, &fd),
          WES_ENOSYS);
    wc_eq("open.type", wes_sock_open(WES_AF_INET4, 7, &fd), WES_EINVAL);
    wc_eq("bind.badf", wes_sock_bind(99, NULL, 0), WES_EBADF);
    wes_address a = addr_of(LO4, 4);
    wc_eq("bind.notsock", wes_sock_bind(1, &a, 0), WES_ENOTSOCK);
    wc_eq("listen.notsock", wes_sock_listen(0, 1), WES_ENOTSOCK);

    wc_eq("open", wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd), 0);
    wc_true("open.fdstat", !fd_nonblocking(fd), "non-blocking");
    __wasi_fdstat_t st;
    wc_true("open.filetype", __wasi_fd_fdstat_get(fd, &st) == 0 &&
                                 st.fs_filetype ==
                                     __WASI_FILETYPE_SOCKET_STREAM,
            "not a stream socket");
    wes_address bad = addr_of(LO4, 5);
    wc_eq("bind.addrlen", wes_sock_bind(fd, &bad, 0), WES_EINVAL);
    wc_eq("bind.address.efault",
          wes_sock_bind(fd, (wes_address *)BAD_PTR, 0), WES_EFAULT);
    wc_eq("bind.address.misaligned",
          wes_sock_bind(fd, (wes_address *)(scratch + 2), 0),
          WES_EADDRNOTAVAIL);
    wes_address oob = {(uint8_t *)BAD_PTR, 16};
    wc_eq("bind.buf.efault", wes_sock_bind(fd, &oob, 0), WES_EFAULT);
    wc_eq("bind.port", wes_sock_bind(fd, &a, 70000), WES_EINVAL);
    uint8_t st4[128] = {0};
    st4[0] = 9;
    wes_address sa = addr_of(st4, 128);
    wc_eq("bind.storage.v1", wes_sock_bind(fd, &sa, 0), WES_EINVAL);
    wc_eq("bind_v2.storage.family", wes_sock_bind_v2(fd, &sa, 0),
          WES_EINVAL);

    /* Options. */
    int32_t v = 1, got = 0;
    uint32_t len = 4;
    wc_eq("opt.type", wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_TYPE,
                                          &got, &len), 0);
    wc_true("opt.type.value", got == WES_SOCK_STREAM && len == 4, "type");
    wc_eq("opt.reuseaddr.set",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_REUSEADDR, &v, 4),
          0);
    len = 4;
    got = 0;
    wc_eq("opt.reuseaddr.get",
          wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_REUSEADDR, &got,
                              &len), 0);
    wc_true("opt.reuseaddr.value", got != 0 && len == 4, "not set");
    wc_eq("opt.keepalive.set",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_KEEPALIVE, &v, 4),
          0);
    len = 4;
    got = 0;
    wc_eq("opt.keepalive.get",
          wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_KEEPALIVE, &got,
                              &len), 0);
    wc_true("opt.keepalive.value", got != 0, "not set");
    v = 0;
    wc_eq("opt.keepalive.clear",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_KEEPALIVE, &v, 4),
          0);
    len = 4;
    got = 1;
    wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_KEEPALIVE, &got, &len);
    wc_eq("opt.keepalive.cleared", got, 0);
    wes_timeval tv = {5, 250000}, tv2 = {0, 0};
    wc_eq("opt.rcvtimeo.set",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_RCVTIMEO, &tv,
                              sizeof tv), 0);
    len = sizeof tv2;
    wc_eq("opt.rcvtimeo.get",
          wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_RCVTIMEO, &tv2,
                              &len), 0);
    wc_true("opt.rcvtimeo.value",
            tv2.tv_sec == 5 && tv2.tv_usec >= 248000 &&
                tv2.tv_usec <= 252000 && len == 16,
            "timeout differs");
    wc_eq("opt.sndtimeo.set",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_SNDTIMEO, &tv,
                              sizeof tv), 0);
    wes_timeval badtv = {1, 1000000};
    wc_eq("opt.timeo.range",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_SNDTIMEO, &badtv,
                              sizeof badtv), WES_EINVAL);
    wes_linger lg = {1, 3}, lg2 = {0, 0};
    wc_eq("opt.linger.set",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_LINGER, &lg,
                              sizeof lg), 0);
    len = sizeof lg2;
    wc_eq("opt.linger.get",
          wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_LINGER, &lg2,
                              &len), 0);
    wc_true("opt.linger.value", lg2.l_onoff == 1 && lg2.l_linger == 3,
            "linger differs");
    len = 4;
    got = -1;
    wc_eq("opt.error", wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_ERROR,
                                           &got, &len), 0);
    wc_eq("opt.error.value", got, 0);
    len = 4;
    got = -1;
    wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_ACCEPTCONN, &got, &len);
    wc_eq("opt.acceptconn.value", got, 0);
    len = 4;
    wc_eq("opt.unknown", wes_sock_getsockopt(fd, WES_SOL_SOCKET, 99, &got,
                                             &len), WES_ENOPROTOOPT);
    wc_eq("opt.level", wes_sock_getsockopt(fd, 6, WES_SO_TYPE, &got, &len),
          WES_EINVAL);
    len = 2;
    wc_eq("opt.short", wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_TYPE,
                                           &got, &len), WES_EINVAL);
    wc_eq("opt.set.size",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_REUSEADDR, &v, 8),
          WES_EINVAL);
    wc_eq("opt.bindtodevice",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_BINDTODEVICE, "lo",
                              3), WES_EACCES);
    wc_eq("opt.set.type",
          wes_sock_setsockopt(fd, WES_SOL_SOCKET, WES_SO_TYPE, &v, 4),
          WES_ENOPROTOOPT);
    len = 4;
    wc_eq("opt.len.misaligned",
          wes_sock_getsockopt(fd, WES_SOL_SOCKET, WES_SO_TYPE, &got,
                              (uint32_t *)(scratch + 1)), WES_EADDRNOTAVAIL);

    /* Sandbox: listening on a socket never bound, binding elsewhere. */
    wc_eq("listen.unbound", wes_sock_listen(fd, 4), WES_EACCES);
    wc_eq("close", __wasi_fd_close(fd), 0);
    wc_eq("closed.badf", wes_sock_listen(fd, 4), WES_EBADF);
}

/* A getaddrinfo call over a preallocated chain of 4 records. */
typedef struct gai_buf {
    wes_addrinfo ai[4];
    wes_sockaddr sa[4];
    uint8_t data[4][26];
    char canon[4][16];
} gai_buf;

static int32_t gai(const char *node, const char *serv, int family, int type,
                   uint16_t flags, gai_buf *b, uint32_t max, uint32_t *n) {
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 4; i++) {
        b->sa[i].sa_data = b->data[i];
        b->sa[i].sa_data_len = 26;
        b->ai[i].ai_addr = &b->sa[i];
        b->ai[i].ai_canonname = b->canon[i];
        b->ai[i].ai_canonnamelen = sizeof b->canon[i];
        if (i < 3) b->ai[i].ai_next = &b->ai[i + 1];
    }
    wes_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = flags;
    hints.ai_family = (uint8_t)family;
    hints.ai_socktype = (uint8_t)type;
    wes_addrinfo *res = &b->ai[0];
    *n = 0;
    /* The Rust crate's form: strings with their NUL counted. */
    return wes_sock_getaddrinfo(node, (uint32_t)strlen(node) + 1, serv,
                                (uint32_t)strlen(serv) + 1, &hints, &res,
                                max, n);
}

static void check_getaddrinfo(void) {
    gai_buf b;
    uint32_t n = 0;
    wc_eq("gai.localhost", gai("localhost", "8080", WES_AF_INET4,
                               WES_SOCK_STREAM, 0, &b, 4, &n), 0);
    wc_true("gai.localhost.result",
            n == 1 && b.ai[0].ai_family == WES_AF_INET4 &&
                b.ai[0].ai_socktype == WES_SOCK_STREAM &&
                b.ai[0].ai_protocol == WES_IPPROTO_TCP &&
                b.ai[0].ai_addrlen == 16 && b.sa[0].family == WES_AF_INET4 &&
                b.sa[0].sa_data_len == 14 && b.data[0][0] == 0x1f &&
                b.data[0][1] == 0x90 && memcmp(b.data[0] + 2, LO4, 4) == 0,
            "not 127.0.0.1:8080/tcp");
    wc_eq("gai.localhost.any", gai("localhost", "", 0, 0, 0, &b, 4, &n), 0);
    wc_true("gai.localhost.any.result",
            n == 4 && b.ai[0].ai_family == WES_AF_INET4 &&
                b.ai[1].ai_socktype == WES_SOCK_DGRAM &&
                b.ai[1].ai_protocol == WES_IPPROTO_UDP &&
                b.ai[2].ai_family == WES_AF_INET6 &&
                b.ai[2].ai_addrlen == 28 &&
                memcmp(b.data[2] + 6, LO6, 16) == 0,
            "want v4 stream+dgram then v6");
    wc_eq("gai.max", gai("localhost", "80", 0, 0, 0, &b, 3, &n), 0);
    wc_eq("gai.max.count", n, 3);
    wc_eq("gai.numeric", gai("127.0.0.1", "http", 0, WES_SOCK_STREAM, 0, &b,
                             4, &n), 0);
    wc_true("gai.numeric.result",
            n == 1 && b.data[0][0] == 0 && b.data[0][1] == 80 &&
                memcmp(b.data[0] + 2, LO4, 4) == 0,
            "not 127.0.0.1:80");
    wc_eq("gai.v6", gai("::1", "443", 0, WES_SOCK_STREAM, 0, &b, 4, &n), 0);
    wc_true("gai.v6.result",
            n == 1 && b.ai[0].ai_family == WES_AF_INET6 &&
                b.data[0][0] == 1 && b.data[0][1] == 0xbb &&
                memcmp(b.data[0] + 6, LO6, 16) == 0,
            "not [::1]:443");
    wc_eq("gai.canon", gai("localhost", "1", WES_AF_INET4, WES_SOCK_STREAM,
                           WES_AI_CANONNAME, &b, 4, &n), 0);
    wc_true("gai.canon.name",
            n == 1 && b.ai[0].ai_canonnamelen == 9 &&
                memcmp(b.canon[0], "localhost", 9) == 0,
            "no canonname");
    wc_eq("gai.passive", gai("", "8080", WES_AF_INET4, WES_SOCK_STREAM,
                             WES_AI_PASSIVE, &b, 4, &n), 0);
    wc_true("gai.passive.result",
            n == 1 && b.data[0][2] == 0 && b.data[0][5] == 0, "not 0.0.0.0");
    wc_eq("gai.name", gai("example.com", "80", 0, 0, 0, &b, 4, &n),
          WES_EAI_NONAME);
    wc_eq("gai.empty", gai("", "", 0, 0, 0, &b, 4, &n), WES_EAI_NONAME);
    wc_eq("gai.max0", gai("localhost", "80", 0, 0, 0, &b, 0, &n),
          WES_EAI_MEMORY);
    wc_eq("gai.service", gai("localhost", "gopher", 0, 0, 0, &b, 4, &n),
          WES_EAI_SERVICE);
    wc_eq("gai.numericserv", gai("localhost", "http", 0, 0,
                                 WES_AI_NUMERICSERV, &b, 4, &n),
          WES_EAI_NONAME);
    wc_eq("gai.numerichost", gai("localhost", "80", 0, 0,
                                 WES_AI_NUMERICHOST, &b, 4, &n),
          WES_EAI_NONAME);
    wc_eq("gai.flags", gai("localhost", "80", 0, 0, 0x100, &b, 4, &n),
          WES_EAI_BADFLAG);
    wc_eq("gai.family", gai("localhost", "80", 7, 0, 0, &b, 4, &n),
          WES_EAI_FAMILY);
    wc_eq("gai.addrfamily", gai("127.0.0.1", "80", WES_AF_INET6, 0, 0, &b,
                                4, &n), WES_EAI_ADDRFAMILY);
    wes_addrinfo *res = &b.ai[0];
    wc_eq("gai.efault", wes_sock_getaddrinfo("localhost", 9, "80", 2, NULL,
                                             &res, 4, BAD_PTR), WES_EFAULT);
}

/* ==== Sandbox refusals ================================================== */

static void check_sandbox(uint32_t port) {
    uint32_t fd = 0, fd6 = 0;
    wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd);
    wes_address lo = addr_of(LO4, 4);
    uint8_t any4[4] = {0, 0, 0, 0}, far4[4] = {10, 1, 2, 3};
    wes_address any = addr_of(any4, 4), far = addr_of(far4, 4);
    wc_eq("sandbox.bind.port", wes_sock_bind(fd, &lo, port + 1),
          WES_EACCES);
    wc_eq("sandbox.bind.any", wes_sock_bind(fd, &any, port), WES_EACCES);
    uint8_t st[128] = {0};
    st[0] = WES_AF_INET4;
    memcpy(st + 2, far4, 4);
    wes_address farv2 = addr_of(st, 128);
    wc_eq("sandbox.bind_v2", wes_sock_bind_v2(fd, &farv2, port),
          WES_EACCES);
    wc_eq("sandbox.connect", wes_sock_connect(fd, &far, 80), WES_EACCES);
    wc_eq("sandbox.connect_v2", wes_sock_connect_v2(fd, &farv2, 80),
          WES_EACCES);
    wes_ciovec cv = {"x", 1};
    uint32_t n = 0;
    wc_eq("sandbox.send_to", wes_sock_send_to(fd, &cv, 1, &far, 80, 0, &n),
          WES_EACCES);
    /* IPv4-mapped IPv6 is matched as the IPv4 address it stands for. */
    wc_eq("open6", wes_sock_open(WES_AF_INET6, WES_SOCK_STREAM, &fd6), 0);
    uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, 10, 1, 2, 3};
    wes_address m = addr_of(mapped, 16);
    wc_eq("sandbox.connect.mapped", wes_sock_connect(fd6, &m, 80),
          WES_EACCES);
    uint8_t glob6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    wes_address g6 = addr_of(glob6, 16);
    wc_eq("sandbox.connect.v6", wes_sock_connect(fd6, &g6, 80), WES_EACCES);
    wc_eq("sandbox.bind.v6", wes_sock_bind(fd6, &g6, port), WES_EACCES);
    xclose(fd);
    xclose(fd6);
}

/* ==== TCP with itself =================================================== */

static void check_tcp_loop(void) {
    uint32_t ls = 0, c = 0, s = 0;
    wes_address lo = addr_of(LO4, 4);
    wc_eq("loop.open", wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &ls), 0);
    wc_eq("loop.bind", wes_sock_bind(ls, &lo, 0), 0);
    uint32_t lport = local_port(ls);
    wc_true("loop.port", lport != 0, "no port");
    uint8_t ip[16] = {0};
    wes_address a = addr_of(ip, 16);
    uint32_t type = 0, port = 0;
    wc_eq("loop.getlocaladdr", wes_sock_getlocaladdr(ls, &a, &type, &port),
          0);
    wc_true("loop.getlocaladdr.value",
            type == WES_ADDR_TYPE_V4 && port == lport &&
                memcmp(ip, LO4, 4) == 0,
            "not 127.0.0.1");
    uint8_t st[128];
    memset(st, 0xee, sizeof st);
    wes_address sa = addr_of(st, 128);
    port = 0;
    wc_eq("loop.getlocaladdr_v2", wes_sock_getlocaladdr_v2(ls, &sa, &port),
          0);
    wc_true("loop.getlocaladdr_v2.value",
            st[0] == WES_AF_INET4 && st[1] == 0 && port == lport &&
                memcmp(st + 2, LO4, 4) == 0 && st[6] == 0,
            "storage form differs");
    wes_address small = addr_of(ip, 4);
    wc_eq("loop.getlocaladdr_v2.short",
          wes_sock_getlocaladdr_v2(ls, &small, &port), WES_EINVAL);
    wc_eq("loop.getpeeraddr.notconn",
          wes_sock_getpeeraddr(ls, &a, &type, &port), WES_ENOTCONN);
    wc_eq("loop.listen", wes_sock_listen(ls, 8), 0);
    int32_t got = 0;
    uint32_t len = 4;
    wes_sock_getsockopt(ls, WES_SOL_SOCKET, WES_SO_ACCEPTCONN, &got, &len);
    wc_true("loop.acceptconn", got != 0, "not listening");

    /* Non-blocking listener: nothing pending. */
    wc_eq("loop.nonblock",
          __wasi_fd_fdstat_set_flags(ls, __WASI_FDFLAGS_NONBLOCK), 0);
    wc_eq("loop.accept.again", wes_sock_accept(ls, &s), WES_EAGAIN);
    wc_eq("loop.poll.idle", wait_fd((int)ls, 1, 50), 0);

    /* Non-blocking connect, completed through poll + SO_ERROR. */
    wc_eq("loop.client.open",
          wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &c), 0);
    wc_eq("loop.client.nonblock",
          __wasi_fd_fdstat_set_flags(c, __WASI_FDFLAGS_NONBLOCK), 0);
    int32_t e = wes_sock_connect(c, &lo, lport);
    wc_true("loop.connect", e == 0 || e == WES_EINPROGRESS, "connect");
    wc_eq("loop.connect.writable", wait_fd((int)c, 2, 10000), 1);
    got = -1;
    len = 4;
    wc_eq("loop.connect.so_error",
          wes_sock_getsockopt(c, WES_SOL_SOCKET, WES_SO_ERROR, &got, &len),
          0);
    wc_eq("loop.connect.so_error.value", got, 0);
    wc_eq("loop.poll.listener", wait_fd((int)ls, 1, 10000), 1);
    /* v2 accept with NONBLOCK for the new fd. */
    wc_eq("loop.accept_v2",
          wes_sock_accept_v2(ls, WES_FDFLAG_NONBLOCK, &s), 0);
    wc_true("loop.accept_v2.nonblock", fd_nonblocking(s), "blocking");
    wc_true("loop.peer.port",
            wes_sock_getpeeraddr(c, &a, &type, &port) == 0 &&
                port == lport && type == WES_ADDR_TYPE_V4,
            "client's peer is not the listener");
    uint32_t cport = local_port(c);
    port = 0;
    memset(st, 0, sizeof st);
    wc_true("loop.peer_v2",
            wes_sock_getpeeraddr_v2(s, &sa, &port) == 0 && port == cport &&
                st[0] == WES_AF_INET4 && memcmp(st + 2, LO4, 4) == 0,
            "server's peer is not the client");

    /* Data both ways; EAGAIN on an empty non-blocking socket. */
    char buf[64];
    wes_iovec iv = {buf, sizeof buf};
    uint32_t n = 0, ro = 9;
    wc_eq("loop.recv.again", wes_sock_recv(s, &iv, 1, 0, &n, &ro),
          WES_EAGAIN);
    wc_eq("loop.send", send_str(c, "abc"), 0);
    wc_eq("loop.poll.data", wait_fd((int)s, 1, 10000), 1);
    wc_eq("loop.recv", wes_sock_recv(s, &iv, 1, 0, &n, &ro), 0);
    wc_true("loop.recv.data", n == 3 && memcmp(buf, "abc", 3) == 0 &&
                                  ro == 0, "data");
    wc_eq("loop.send.back", send_str(s, "xyz"), 0);
    wc_eq("loop.poll.data2", wait_fd((int)c, 1, 10000), 1);
    /* recv_from on a stream: the sender is the peer. v1 fills the IP. */
    memset(ip, 0, sizeof ip);
    wes_address from = addr_of(ip, 4);
    wc_eq("loop.recv_from", wes_sock_recv_from(c, &iv, 1, &from, 0, &n, &ro),
          0);
    wc_true("loop.recv_from.value",
            n == 3 && memcmp(buf, "xyz", 3) == 0 &&
                memcmp(ip, LO4, 4) == 0,
            "data or sender");
    /* The 8-parameter import reaches sock_recv_from_v2 (port too). */
    wc_eq("loop.send.again", send_str(s, "qq"), 0);
    wait_fd((int)c, 1, 10000);
    memset(st, 0, sizeof st);
    port = 0;
    wc_eq("loop.recv_from.fallback",
          fb_sock_recv_from(c, &iv, 1, &sa, WES_RECV_PEEK, &port, &n, &ro),
          0);
    wc_true("loop.recv_from.fallback.value",
            n == 2 && st[0] == WES_AF_INET4 && port == lport &&
                memcmp(st + 2, LO4, 4) == 0,
            "v2 storage / port");
    wc_eq("loop.recv_from_v2.short",
          wes_sock_recv_from_v2(c, &iv, 1, &from, 0, &port, &n, &ro),
          WES_EINVAL);
    wc_eq("loop.recv.drain", wes_sock_recv(c, &iv, 1, 0, &n, &ro), 0);
    wc_eq("loop.recv.drained", n, 2);
    wes_iovec many[1025];
    for (int i = 0; i < 1025; i++) many[i] = iv;
    wc_eq("loop.recv_from.iovmax",
          wes_sock_recv_from(c, many, 1025, &from, 0, &n, &ro), WES_EINVAL);

    /* The peer's shutdown: readable, EOF (0 bytes), no hangup yet (as
     * WasmEdge on Linux); hangup once both directions are closed. */
    wc_eq("loop.shutdown", wes_sock_shutdown(c, WES_SHUT_WR), 0);
    wc_eq("loop.poll.data.nohangup", last_flags, 0);
    wc_eq("loop.poll.eof", wait_fd((int)s, 1, 10000), 1);
    wc_eq("loop.poll.eof.nohangup", last_flags, 0);
    wc_eq("loop.recv.eof", wes_sock_recv(s, &iv, 1, 0, &n, &ro), 0);
    wc_eq("loop.recv.eof.count", n, 0);
    wc_eq("loop.shutdown.both", wes_sock_shutdown(s, WES_SHUT_WR), 0);
    wc_eq("loop.poll.hangup", wait_fd((int)s, 1, 10000), 1);
    wc_eq("loop.poll.hangup.flag", last_flags,
          __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP);

    /* A second client accepted through preview 1's sock_accept (3
     * parameters, bound to sock_accept_v2) via wasi-libc's import. */
    uint32_t c2 = 0;
    wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &c2);
    wc_eq("loop.connect.blocking", wes_sock_connect(c2, &lo, lport), 0);
    wait_fd((int)ls, 1, 10000);
    __wasi_fd_t p1 = 0;
    wc_eq("loop.accept.preview1", __wasi_sock_accept(ls, 0, &p1), 0);
    wc_true("loop.accept.preview1.blocking", !fd_nonblocking(p1),
            "non-blocking");
    wc_eq("loop.fd_write", send_str(p1, "hi"), 0);
    char b2[8];
    __wasi_iovec_t fv = {(uint8_t *)b2, sizeof b2};
    __wasi_size_t fn = 0;
    wc_true("loop.fd_read", __wasi_fd_read(c2, &fv, 1, &fn) == 0 &&
                                fn == 2 && memcmp(b2, "hi", 2) == 0,
            "fd_read");

    /* 0.0.0.0 is where the kernel connects to loopback: allowed by the
     * loopback default. */
    uint32_t c3 = 0;
    uint8_t any4[4] = {0};
    wes_address any = addr_of(any4, 4);
    wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &c3);
    wc_eq("loop.connect.unspecified", wes_sock_connect(c3, &any, lport), 0);
    xclose(c3);

    /* Refused connection: a bound, non-listening port. */
    uint32_t d = 0, d2 = 0;
    wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &d);
    wes_sock_bind(d, &lo, 0);
    wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &d2);
    wc_eq("loop.connect.refused", wes_sock_connect(d2, &lo, local_port(d)),
          WES_ECONNREFUSED);

    uint32_t fds[] = {ls, c, s, c2, p1, d, d2};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        xclose(fds[i]);
}

/* ==== UDP =============================================================== */

static void check_udp(void) {
    uint32_t u1 = 0, u2 = 0;
    wes_address lo = addr_of(LO4, 4);
    wc_eq("udp.open", wes_sock_open(WES_AF_INET4, WES_SOCK_DGRAM, &u1), 0);
    int32_t got = 0;
    uint32_t len = 4;
    wes_sock_getsockopt(u1, WES_SOL_SOCKET, WES_SO_TYPE, &got, &len);
    wc_eq("udp.type", got, WES_SOCK_DGRAM);
    wc_eq("udp.bind", wes_sock_bind(u1, &lo, 0), 0);
    uint32_t p1 = local_port(u1);
    wc_eq("udp.open2", wes_sock_open(WES_AF_INET4, WES_SOCK_DGRAM, &u2), 0);
    wes_ciovec cv[2] = {{"dgr", 3}, {"am1", 3}};
    uint32_t n = 0;
    wc_eq("udp.send_to", wes_sock_send_to(u2, cv, 2, &lo, p1, 0, &n), 0);
    wc_eq("udp.send_to.count", n, 6);
    uint32_t p2 = local_port(u2);
    wc_eq("udp.poll", wait_fd((int)u1, 1, 10000), 1);
    char buf[16];
    wes_iovec iv = {buf, sizeof buf};
    uint8_t st[128];
    memset(st, 0, sizeof st);
    wes_address sa = addr_of(st, 128);
    uint32_t port = 0, ro = 9;
    wc_eq("udp.recv_from_v2",
          wes_sock_recv_from_v2(u1, &iv, 1, &sa, 0, &port, &n, &ro), 0);
    wc_true("udp.recv_from_v2.value",
            n == 6 && memcmp(buf, "dgram1", 6) == 0 && ro == 0 &&
                port == p2 && st[0] == WES_AF_INET4 &&
                memcmp(st + 2, LO4, 4) == 0,
            "datagram or sender");
    /* A datagram larger than the buffer: truncated flag. */
    uint8_t st2[128] = {WES_AF_INET4, 0, 127, 0, 0, 1};
    wes_address lov2 = addr_of(st2, 128);
    wc_eq("udp.send_to_v2", wes_sock_send_to_v2(u2, cv, 2, &lov2, p1, 0, &n),
          0);
    wait_fd((int)u1, 1, 10000);
    wes_iovec small = {buf, 4};
    uint8_t ip[4];
    wes_address from = addr_of(ip, 4);
    wc_eq("udp.recv_from.trunc",
          wes_sock_recv_from(u1, &small, 1, &from, 0, &n, &ro), 0);
    wc_true("udp.recv_from.trunc.value",
            n == 4 && ro == WES_RECV_DATA_TRUNCATED &&
                memcmp(ip, LO4, 4) == 0,
            "not truncated");
    /* sock_recv (preview 1's) reports truncation too. */
    wc_eq("udp.send_to.again", wes_sock_send_to(u2, cv, 2, &lo, p1, 0, &n),
          0);
    wait_fd((int)u1, 1, 10000);
    ro = 0;
    wc_eq("udp.recv.trunc", wes_sock_recv(u1, &small, 1, 0, &n, &ro), 0);
    wc_true("udp.recv.trunc.value",
            n == 4 && ro == WES_RECV_DATA_TRUNCATED &&
                memcmp(buf, "dgra", 4) == 0,
            "not truncated");
    wc_eq("udp.send_to.flags", wes_sock_send_to(u2, cv, 2, &lo, p1, 1, &n),
          WES_EINVAL);
    xclose(u1);
    xclose(u2);
}

/* ==== Modes ============================================================= */

static int server(uint32_t port) {
    check_args();
    check_getaddrinfo();
    check_sandbox(port);
    check_tcp_loop();
    check_udp();

    uint32_t ls = 0, conn = 0;
    wes_address lo = addr_of(LO4, 4);
    wc_eq("server.open", wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &ls),
          0);
    int32_t one = 1;
    wes_sock_setsockopt(ls, WES_SOL_SOCKET, WES_SO_REUSEADDR, &one, 4);
    int32_t e = wes_sock_bind(ls, &lo, port);
    if (e == WES_EADDRINUSE) {
        printf("port %u taken\n", (unsigned)port);
        fflush(stdout);
        return 3;
    }
    wc_eq("server.bind", e, 0);
    wc_eq("server.listen", wes_sock_listen_v2(ls, 4), 0);
    wc_eq("server.poll", wait_fd((int)ls, 1, 15000), 1);
    wc_eq("server.accept", wes_sock_accept(ls, &conn), 0);
    wc_true("server.accept.blocking", !fd_nonblocking(conn), "nonblocking");
    uint8_t ip[16] = {0};
    wes_address a = addr_of(ip, 16);
    uint32_t type = 0, pport = 0;
    wc_true("server.peer",
            wes_sock_getpeeraddr(conn, &a, &type, &pport) == 0 &&
                type == WES_ADDR_TYPE_V4 && pport != 0 &&
                memcmp(ip, LO4, 4) == 0,
            "peer is not 127.0.0.1");
    char buf[64];
    size_t n = recv_line(conn, buf, sizeof buf);
    wc_true("server.recv", n == 5 && strcmp(buf, "ping\n") == 0, buf);
    for (size_t i = 0; i < n; i++) buf[i] = (char)toupper(buf[i]);
    wc_eq("server.send", send_str(conn, buf), 0);
    wc_eq("server.shutdown", wes_sock_shutdown(conn, WES_SHUT_RDWR), 0);
    wc_eq("server.close", __wasi_fd_close(conn), 0);
    wc_eq("server.close.listener", __wasi_fd_close(ls), 0);
    return wc_done();
}

static int client(uint32_t port) {
    gai_buf b;
    uint32_t n = 0;
    char serv[8];
    snprintf(serv, sizeof serv, "%u", (unsigned)port);
    wc_eq("client.gai", gai("localhost", serv, WES_AF_INET4,
                            WES_SOCK_STREAM, 0, &b, 4, &n), 0);
    wc_true("client.gai.n", n == 1, "no result");
    uint32_t gport = (uint32_t)b.data[0][0] << 8 | b.data[0][1];
    wc_eq("client.gai.port", gport, port);
    wes_address dst = addr_of(b.data[0] + 2, 4);

    uint32_t fd = 0, fd6 = 0;
    wc_eq("client.open", wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd),
          0);
    wc_eq("client.refused.port", wes_sock_connect(fd, &dst, port + 1),
          WES_EACCES);
    wes_sock_open(WES_AF_INET6, WES_SOCK_STREAM, &fd6);
    wes_address lo6 = addr_of(LO6, 16);
    wc_eq("client.refused.v6", wes_sock_connect(fd6, &lo6, port),
          WES_EACCES);
    xclose(fd6);
    /* The host listener may still be starting: retry refusals (5 s). */
    int32_t e = WES_ECONNREFUSED;
    for (int i = 0; i < 100 && e == WES_ECONNREFUSED; i++) {
        e = wes_sock_connect(fd, &dst, port);
        if (e == WES_ECONNREFUSED) {
            xclose(fd);
            wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd);
            wait_fd(-1, 0, 50);
        }
    }
    wc_eq("client.connect", e, 0);
    uint8_t ip[4] = {0};
    wes_address a = addr_of(ip, 4);
    uint32_t type = 0, pport = 0;
    wc_true("client.peer",
            wes_sock_getpeeraddr(fd, &a, &type, &pport) == 0 &&
                pport == port && type == WES_ADDR_TYPE_V4 &&
                memcmp(ip, LO4, 4) == 0,
            "peer differs");
    wc_eq("client.send", send_str(fd, "hello\n"), 0);
    char buf[64];
    recv_line(fd, buf, sizeof buf);
    wc_true("client.reply", strcmp(buf, "HELLO\n") == 0, buf);
    wc_eq("client.close", __wasi_fd_close(fd), 0);
    return wc_done();
}

static int denied(uint32_t port) {
    uint32_t fd = 0;
    wes_address lo = addr_of(LO4, 4);
    wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd);
    wc_eq("denied.connect", wes_sock_connect(fd, &lo, port), WES_EACCES);
    wc_eq("denied.bind", wes_sock_bind(fd, &lo, port), WES_EACCES);
    return wc_done();
}

/* --allow-bind 127.0.0.1:* --allow-bind [::]:0 --allow-net *:PORT */
static int grants(uint32_t port) {
    uint32_t fd = 0, fd6 = 0, fd2 = 0;
    wes_address lo = addr_of(LO4, 4), lo6 = addr_of(LO6, 16);
    uint8_t any4[4] = {0};
    wes_address any = addr_of(any4, 4);
    wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd);
    wc_eq("grants.bind.wildport", wes_sock_bind(fd, &lo, 0), 0);
    wc_eq("grants.listen", wes_sock_listen(fd, 1), 0);
    wes_sock_open(WES_AF_INET4, WES_SOCK_STREAM, &fd2);
    wc_eq("grants.bind.any4", wes_sock_bind(fd2, &any, 0), WES_EACCES);
    wes_sock_open(WES_AF_INET6, WES_SOCK_STREAM, &fd6);
    wc_eq("grants.bind.v6.port", wes_sock_bind(fd6, &lo6, 1), WES_EACCES);
    wc_eq("grants.bind.v6.wild", wes_sock_bind(fd6, &lo6, 0), 0);
    /* allow-net *:PORT: any host on PORT, nothing else, and the grant
     * replaces the loopback default. */
    wc_eq("grants.connect.otherport",
          wes_sock_connect(fd2, &lo, local_port(fd)), WES_EACCES);
    wc_eq("grants.nonblock",
          __wasi_fd_fdstat_set_flags(fd2, __WASI_FDFLAGS_NONBLOCK), 0);
    int32_t e = wes_sock_connect(fd2, &lo, port);
    wc_true("grants.connect.port",
            e == 0 || e == WES_EINPROGRESS || e == WES_ECONNREFUSED,
            "refused by the sandbox");
    xclose(fd);
    xclose(fd2);
    xclose(fd6);
    return wc_done();
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: sock_ext server|client|denied|grants PORT\n");
        return 2;
    }
    uint32_t port = (uint32_t)strtoul(argv[2], NULL, 10);
    if (strcmp(argv[1], "server") == 0) return server(port);
    if (strcmp(argv[1], "client") == 0) return client(port);
    if (strcmp(argv[1], "denied") == 0) return denied(port);
    if (strcmp(argv[1], "grants") == 0) return grants(port);
    return 2;
}
