/*
 * poll.c — poll_oneoff: clock subscriptions (relative, absolute, several
 * at once, bad clocks), fd subscriptions (stdout writable, stdin pipe
 * readiness with nbytes, hang-up), error events, the wasi_unstable
 * subscription layout. argv[1]: "clocks", "stdin-ready" (stdin: a pipe
 * that gets "ping\n" after ~200 ms, then closes), "stdin-timeout" (stdin:
 * a pipe that stays silent).
 */
#include <unistd.h>

#include "wasi_check.h"

int32_t un_poll_oneoff(int32_t in, int32_t out, int32_t n, int32_t nev)
    WC_IMPORT("wasi_unstable", poll_oneoff);

static uint64_t now_ns(__wasi_clockid_t id) {
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(id, 1, &t)) return 0;
    return t;
}

static __wasi_subscription_t clock_sub(uint64_t ud, __wasi_clockid_t id,
                                       uint64_t timeout, int abs) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = id;
    s.u.u.clock.timeout = timeout;
    s.u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME
                            : 0;
    return s;
}

static __wasi_subscription_t fd_sub(uint64_t ud, __wasi_eventtype_t type,
                                    __wasi_fd_t fd) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = type;
    s.u.u.fd_read.file_descriptor = fd;
    return s;
}

static void clocks(void) {
    __wasi_subscription_t sub[4];
    __wasi_event_t ev[4];
    __wasi_size_t n = 0;
    const __wasi_clockid_t MONO = __WASI_CLOCKID_MONOTONIC;

    uint64_t t0 = now_ns(MONO);
    sub[0] = clock_sub(11, MONO, 30000000, 0);
    wc_eq("rel", __wasi_poll_oneoff(sub, ev, 1, &n), 0);
    uint64_t dt = now_ns(MONO) - t0;
    wc_true("rel.waited", dt >= 30000000, "returned early");
    wc_true("rel.event", n == 1 && ev[0].userdata == 11 && ev[0].error == 0 &&
                             ev[0].type == __WASI_EVENTTYPE_CLOCK,
            "wrong event");

    t0 = now_ns(MONO);
    sub[0] = clock_sub(12, MONO, t0 + 20000000, 1);
    wc_eq("abs", __wasi_poll_oneoff(sub, ev, 1, &n), 0);
    wc_true("abs.waited", now_ns(MONO) >= t0 + 20000000, "returned early");
    wc_true("abs.event", n == 1 && ev[0].userdata == 12, "wrong event");

    sub[0] = clock_sub(13, __WASI_CLOCKID_REALTIME, 1000, 1);   /* 1970 */
    t0 = now_ns(MONO);
    wc_eq("abs.past", __wasi_poll_oneoff(sub, ev, 1, &n), 0);
    wc_true("abs.past.immediate",
            n == 1 && ev[0].userdata == 13 && now_ns(MONO) - t0 < 500000000,
            "did not fire at once");

    /* Two clocks: the sooner fires alone. */
    sub[0] = clock_sub(21, MONO, 2000000000, 0);
    sub[1] = clock_sub(22, MONO, 10000000, 0);
    t0 = now_ns(MONO);
    wc_eq("two", __wasi_poll_oneoff(sub, ev, 2, &n), 0);
    wc_true("two.sooner", n == 1 && ev[0].userdata == 22, "wrong events");
    wc_true("two.no-wait-for-later", now_ns(MONO) - t0 < 1000000000,
            "waited for the later clock");
    /* Both already expired: both reported. */
    sub[0] = clock_sub(31, MONO, 0, 1);
    sub[1] = clock_sub(32, __WASI_CLOCKID_REALTIME, 0, 1);
    wc_eq("both", __wasi_poll_oneoff(sub, ev, 2, &n), 0);
    wc_true("both.events", n == 2 && ev[0].userdata + ev[1].userdata == 63,
            "expected two events");

    /* Subscriptions that fail on their own: events with errors. */
    sub[0] = clock_sub(41, __WASI_CLOCKID_PROCESS_CPUTIME_ID, 1000, 0);
    sub[1] = clock_sub(42, 9, 1000, 0);
    sub[2] = fd_sub(43, __WASI_EVENTTYPE_FD_READ, 77);
    sub[3] = clock_sub(44, MONO, 5000000000ull, 0);
    sub[3].u.tag = 7;
    wc_eq("errors", __wasi_poll_oneoff(sub, ev, 4, &n), 0);
    int ok = n == 4;
    for (__wasi_size_t i = 0; ok && i < n; i++) {
        __wasi_errno_t want = ev[i].userdata == 43 ? __WASI_ERRNO_BADF
                                                   : __WASI_ERRNO_INVAL;
        ok = ev[i].error == want;
    }
    wc_true("errors.events", ok, "wrong error events");

    /* stdout (a file in the test) is writable at once. */
    sub[0] = fd_sub(51, __WASI_EVENTTYPE_FD_WRITE, 1);
    sub[1] = clock_sub(52, MONO, 5000000000ull, 0);
    t0 = now_ns(MONO);
    wc_eq("stdout.write", __wasi_poll_oneoff(sub, ev, 2, &n), 0);
    wc_true("stdout.write.event",
            n == 1 && ev[0].userdata == 51 && ev[0].error == 0 &&
                ev[0].type == __WASI_EVENTTYPE_FD_WRITE &&
                now_ns(MONO) - t0 < 1000000000,
            "no fd_write event");
    /* A read subscription on stdout: no FD_READ right. */
    sub[0] = fd_sub(53, __WASI_EVENTTYPE_FD_READ, 1);
    wc_eq("stdout.read", __wasi_poll_oneoff(sub, ev, 1, &n) == 0 && n == 1 &&
                             ev[0].error == __WASI_ERRNO_NOTCAPABLE, 1);

    wc_eq("zero", __wasi_poll_oneoff(sub, ev, 0, &n), __WASI_ERRNO_INVAL);
    wc_eq("efault.in", __wasi_poll_oneoff(BAD_PTR, ev, 1, &n),
          __WASI_ERRNO_FAULT);
    wc_eq("efault.out", __wasi_poll_oneoff(sub, BAD_PTR, 1, &n),
          __WASI_ERRNO_FAULT);
    wc_eq("efault.n", __wasi_poll_oneoff(sub, ev, 1, BAD_PTR),
          __WASI_ERRNO_FAULT);
    wc_eq("efault.count", __wasi_poll_oneoff(sub, ev, 0x10000000, &n),
          __WASI_ERRNO_FAULT);

    /* wasi_unstable: the clock has an extra u64 identifier first. */
    uint8_t us[56];
    memset(us, 0, sizeof us);
    uint64_t ud = 61, timeout = 10000000;
    uint32_t id = MONO;
    memcpy(us, &ud, 8);
    us[8] = 0;
    memcpy(us + 24, &id, 4);
    memcpy(us + 32, &timeout, 8);
    t0 = now_ns(MONO);
    wc_eq("unstable", un_poll_oneoff((int32_t)us, (int32_t)ev, 1,
                                     (int32_t)&n), 0);
    wc_true("unstable.event", n == 1 && ev[0].userdata == 61 &&
                                  ev[0].error == 0 &&
                                  now_ns(MONO) - t0 >= 10000000,
            "wrong event");
}

static void stdin_ready(void) {
    __wasi_subscription_t sub[2] = {
        fd_sub(1, __WASI_EVENTTYPE_FD_READ, 0),
        clock_sub(2, __WASI_CLOCKID_MONOTONIC, 10000000000ull, 0),
    };
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    wc_eq("stdin.poll", __wasi_poll_oneoff(sub, ev, 2, &n), 0);
    wc_true("stdin.event", n == 1 && ev[0].userdata == 1 &&
                               ev[0].type == __WASI_EVENTTYPE_FD_READ &&
                               ev[0].error == 0,
            "no fd_read event");
    wc_eq("stdin.nbytes", ev[0].fd_readwrite.nbytes, 5);
    char buf[16];
    wc_eq("stdin.read", read(0, buf, sizeof buf), 5);
    /* The writer closes: readable again, with the hang-up flag. */
    wc_eq("stdin.poll2", __wasi_poll_oneoff(sub, ev, 2, &n), 0);
    wc_true("stdin.hangup", n == 1 && ev[0].userdata == 1 &&
                                (ev[0].fd_readwrite.flags &
                                 __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP),
            "no hang-up");
}

static void stdin_timeout(void) {
    __wasi_subscription_t sub[2] = {
        fd_sub(1, __WASI_EVENTTYPE_FD_READ, 0),
        clock_sub(2, __WASI_CLOCKID_MONOTONIC, 100000000, 0),
    };
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    wc_eq("silent.poll", __wasi_poll_oneoff(sub, ev, 2, &n), 0);
    wc_true("silent.clock", n == 1 && ev[0].userdata == 2 &&
                                ev[0].type == __WASI_EVENTTYPE_CLOCK,
            "expected only the clock");
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "clocks") == 0) clocks();
    else if (strcmp(mode, "stdin-ready") == 0) stdin_ready();
    else if (strcmp(mode, "stdin-timeout") == 0) stdin_timeout();
    else wc_true("mode", 0, mode);
    return wc_done();
}
