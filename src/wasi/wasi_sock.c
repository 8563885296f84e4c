/*
 * wasi_sock.c — WASI preview 1 sockets: the embedder pre-opens listening
 * TCP sockets (wm_wasi_config.listen, `wasmind run --listen ADDR:PORT`);
 * the guest accepts connections with sock_accept and talks over them with
 * sock_recv / sock_send (or fd_read / fd_write), sock_shutdown, and
 * poll_oneoff (fd_read readiness on a listening socket = a connection is
 * waiting). Preview 1 has no way to create, bind or connect sockets, so
 * the guest can reach no address the embedder did not hand it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasi.h"

enum { WASI_RIFLAG_PEEK = 1, WASI_RIFLAG_WAITALL = 2 };
enum { WASI_SDFLAG_RD = 1, WASI_SDFLAG_WR = 2 };

/* Backlog of each pre-opened listening socket. */
#define WASI_LISTEN_BACKLOG 128

/*
 * Parse "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080", "localhost:80",
 * ":80" = all IPv4 interfaces) without name resolution. false when
 * malformed.
 */
static bool wasi_parse_addr(const char *s, struct sockaddr_storage *ss,
                            socklen_t *len) {
    char host[64];
    const char *port;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
            return false;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host) return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    unsigned long p = strtoul(port, &end, 10);
    if (!port[0] || *end || errno || p > 65535 || port[0] == '-' ||
        port[0] == '+')
        return false;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (s[0] != '[') {
        if (!host[0]) strcpy(host, "0.0.0.0");
        else if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &v4->sin_addr) != 1) return false;
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        *len = sizeof *v4;
    } else {
        if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1) return false;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        *len = sizeof *v6;
    }
    return true;
}

wm_status wasi_listen_add(wasi_ctx *c, const char *addr, wm_error *err) {
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
    uint32_t idx;
    if (wasi_fd_add(c, fd, WASI_FD_LISTEN, WASI_RIGHTS_LISTEN,
                    WASI_RIGHTS_SOCK, &idx)) {
        close(fd);
        return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    return WM_OK;
}

/* (fd, flags, fd_out): flags may only hold NONBLOCK (for the new fd). A
 * non-blocking listening socket with nothing pending answers EAGAIN. */
wm_status wasi_sock_accept(wm_call *call, uint64_t *slots) {
    wasi_ctx *c = CTX();
    wasi_fd *f = wasi_fd_get(c, A32(0));
    if (!f) return wasi_ret(slots, WASI_EBADF);
    if (!(f->rights_base & WASI_RIGHT_SOCK_ACCEPT))
        return wasi_ret(slots, f->kind == WASI_FD_LISTEN ? WASI_ENOTCAPABLE
                                                         : WASI_ENOTSOCK);
    uint32_t flags = A32(1) & 0xffff;
    if (flags & ~(uint32_t)WASI_FDFLAG_NONBLOCK)
        return wasi_ret(slots, WASI_EINVAL);
    uint8_t *pout = wasi_span(call, A32(2), 4);
    if (!pout) return wasi_ret(slots, WASI_EFAULT);
    int hf = SOCK_CLOEXEC | (flags & WASI_FDFLAG_NONBLOCK ? SOCK_NONBLOCK : 0);
    int fd;
    do {
        fd = accept4(f->host_fd, NULL, NULL, hf);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return wasi_ret(slots, wasi_errno_from_host(errno));
    uint32_t idx;
    uint16_t e = wasi_fd_add(c, fd, WASI_FD_SOCKET,
                             f->rights_inheriting & WASI_RIGHTS_SOCK, 0,
                             &idx);
    if (e) {
        close(fd);
        return wasi_ret(slots, e);
    }
    st32(pout, idx);
    return wasi_ret(slots, WASI_ESUCCESS);
}

/* (fd, ri_data, ri_data_len, ri_flags, ro_datalen_ptr, ro_flags_ptr).
 * ro_flags is always 0: stream sockets never truncate a message. */
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
    int mf = (ri & WASI_RIFLAG_PEEK ? MSG_PEEK : 0) |
             (ri & WASI_RIFLAG_WAITALL ? MSG_WAITALL : 0);
    uint32_t n = 0;
    uint16_t e = wasi_rw(call, f, A32(1), A32(2), WASI_IO_RECV, 0, mf, &n);
    if (e == WASI_ESUCCESS) {
        st32(plen, n);
        st16(pfl, 0);
    }
    return wasi_ret(slots, e);
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
