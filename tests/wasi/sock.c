/*
 * sock.c — sockets on a pre-opened listener (`--listen 127.0.0.1:PORT`):
 * wait for a connection with poll_oneoff, sock_accept it, sock_recv
 * "hello\n" (peeking first), sock_send "HELLO\n" back, sock_shutdown; and
 * the error cases. The listener is the first fd from 3 whose fdstat says
 * SOCKET_STREAM. cases/40-sock.sh is the client (bash /dev/tcp).
 */
#include <ctype.h>

#include "wasi_check.h"

static __wasi_fd_t find_listener(void) {
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_fdstat_t st;
        if (__wasi_fd_fdstat_get(fd, &st) == 0 &&
            st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM)
            return fd;
    }
    return (__wasi_fd_t)-1;
}

int main(void) {
    __wasi_fd_t ls = find_listener(), conn = 0, conn2 = 0;
    wc_true("listener", ls != (__wasi_fd_t)-1, "no socket fd");
    __wasi_fdstat_t st;
    wc_true("listener.rights", __wasi_fd_fdstat_get(ls, &st) == 0 &&
                                   (st.fs_rights_base &
                                    __WASI_RIGHTS_SOCK_ACCEPT),
            "no SOCK_ACCEPT");
    __wasi_prestat_t ps;
    wc_eq("listener.not-prestat", __wasi_fd_prestat_get(ls, &ps),
          __WASI_ERRNO_BADF);
    wc_eq("accept.badf", __wasi_sock_accept(99, 0, &conn), __WASI_ERRNO_BADF);
    wc_eq("accept.notsock", __wasi_sock_accept(1, 0, &conn),
          __WASI_ERRNO_NOTSOCK);
    wc_eq("accept.flags", __wasi_sock_accept(ls, 0x10, &conn),
          __WASI_ERRNO_INVAL);
    wc_eq("accept.efault", __wasi_sock_accept(ls, 0, BAD_PTR),
          __WASI_ERRNO_FAULT);

    /* Wait (at most 10 s) for the client. */
    __wasi_subscription_t sub[2];
    memset(sub, 0, sizeof sub);
    sub[0].userdata = 1;
    sub[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    sub[0].u.u.fd_read.file_descriptor = ls;
    sub[1].userdata = 2;
    sub[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    sub[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub[1].u.u.clock.timeout = 10000000000ull;
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    wc_true("poll.listener", __wasi_poll_oneoff(sub, ev, 2, &n) == 0 &&
                                 n == 1 && ev[0].userdata == 1,
            "no connection within 10 s");
    wc_eq("accept", __wasi_sock_accept(ls, 0, &conn), 0);
    wc_true("conn.fdstat",
            __wasi_fd_fdstat_get(conn, &st) == 0 &&
                st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM &&
                (st.fs_rights_base & __WASI_RIGHTS_SOCK_SHUTDOWN) &&
                !(st.fs_rights_base & __WASI_RIGHTS_SOCK_ACCEPT),
            "bad fdstat");
    /* A second accept on a non-blocking listener: nothing pending. */
    wc_eq("listener.nonblock",
          __wasi_fd_fdstat_set_flags(ls, __WASI_FDFLAGS_NONBLOCK), 0);
    wc_eq("accept.again.nonblock",
          __wasi_sock_accept(ls, __WASI_FDFLAGS_NONBLOCK, &conn2),
          __WASI_ERRNO_AGAIN);

    /* Wait for data, peek, then read the line. */
    sub[0].u.u.fd_read.file_descriptor = conn;
    wc_true("poll.conn", __wasi_poll_oneoff(sub, ev, 2, &n) == 0 && n == 1 &&
                             ev[0].userdata == 1 &&
                             ev[0].fd_readwrite.nbytes >= 1,
            "no data within 10 s");
    char buf[64];
    __wasi_iovec_t iov = {(uint8_t *)buf, 1};
    __wasi_size_t got = 0;
    __wasi_roflags_t rof = 9;
    wc_eq("recv.peek", __wasi_sock_recv(conn, &iov, 1,
                                        __WASI_RIFLAGS_RECV_PEEK, &got, &rof),
          0);
    wc_true("recv.peek.data", got == 1 && buf[0] == 'h' && rof == 0, "data");
    wc_eq("recv.badflags", __wasi_sock_recv(conn, &iov, 1, 0x10, &got, &rof),
          __WASI_ERRNO_INVAL);
    wc_eq("recv.efault", __wasi_sock_recv(conn, &iov, 1, 0, BAD_PTR, &rof),
          __WASI_ERRNO_FAULT);
    size_t have = 0;
    while (have < 6) {
        __wasi_iovec_t v = {(uint8_t *)buf + have, sizeof buf - 1 - have};
        if (__wasi_sock_recv(conn, &v, 1, 0, &got, &rof) || got == 0) break;
        have += got;
    }
    buf[have] = 0;
    wc_true("recv.line", have == 6 && strcmp(buf, "hello\n") == 0, buf);
    for (size_t i = 0; i < have; i++) buf[i] = (char)toupper(buf[i]);
    __wasi_ciovec_t out[2] = {{(uint8_t *)buf, 3},
                              {(uint8_t *)buf + 3, have - 3}};
    wc_eq("send.flags", __wasi_sock_send(conn, out, 2, 1, &got),
          __WASI_ERRNO_INVAL);
    wc_eq("send", __wasi_sock_send(conn, out, 2, 0, &got), 0);
    wc_eq("send.count", got, 6);
    wc_eq("shutdown.how", __wasi_sock_shutdown(conn, 0), __WASI_ERRNO_INVAL);
    wc_eq("shutdown.notsock", __wasi_sock_shutdown(3 + 100, 2),
          __WASI_ERRNO_BADF);
    wc_eq("shutdown.wr", __wasi_sock_shutdown(conn, __WASI_SDFLAGS_WR), 0);
    wc_eq("send.after-shutdown", __wasi_sock_send(conn, out, 1, 0, &got),
          __WASI_ERRNO_PIPE);
    wc_eq("close", __wasi_fd_close(conn), 0);
    return wc_done();
}
