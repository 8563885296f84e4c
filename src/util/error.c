/*
 * error.c — status texts, error filling and formatting (see wasmind.h).
 * Low-level code fills code + message; the boundary that knows the
 * location fills where/byte_off/func_idx/instr_off, and wm_error_format
 * puts the location in front once, centrally.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

static const char *const status_text[] = {
#define WM_STATUS_TEXT_(code, text) text,
    WM_STATUS_LIST(WM_STATUS_TEXT_)
#undef WM_STATUS_TEXT_
};

const char *wm_status_str(wm_status st) {
    if ((unsigned)st >= WM_ARRAY_LEN(status_text)) return "unknown status";
    return status_text[st];
}

const char *wm_valtype_str(wm_valtype t) {
    switch (t) {
    case WM_I32: return "i32";
    case WM_I64: return "i64";
    case WM_F32: return "f32";
    case WM_F64: return "f64";
    case WM_V128: return "v128";
    case WM_FUNCREF: return "funcref";
    case WM_EXTERNREF: return "externref";
    }
    return "?";
}

void wm_error_clear(wm_error *err) {
    if (!err) return;
    err->code = WM_OK;
    err->msg[0] = 0;
    err->where[0] = 0;
    err->byte_off = -1;
    err->func_idx = -1;
    err->instr_off = -1;
    err->exit_code = 0;
    err->n_trace = 0;
}

wm_status wm_errf(wm_error *err, wm_status code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

char *wm_error_format(const wm_error *err, char *buf, size_t size) {
    if (!buf || size == 0) return buf;
    buf[0] = 0;
    if (!err) return buf;
    size_t n = 0;
#define PUT(...)                                                          \
    do {                                                                  \
        if (n < size) {                                                   \
            int k_ = snprintf(buf + n, size - n, __VA_ARGS__);            \
            if (k_ > 0) n += (size_t)k_;                                  \
        }                                                                 \
    } while (0)
    if (err->where[0]) PUT("%s:", err->where);
    if (err->byte_off >= 0) PUT("0x%llx:", (unsigned long long)err->byte_off);
    if (err->func_idx >= 0) {
        PUT("%sfunc %lld", n ? " " : "", (long long)err->func_idx);
        if (err->instr_off >= 0)
            PUT(" +0x%llx", (unsigned long long)err->instr_off);
        PUT(":");
    }
    PUT("%s%s", n ? " " : "",
        err->msg[0] ? err->msg : wm_status_str(err->code));
    for (uint32_t i = 0; i < err->n_trace && i < WM_TRACE_MAX; i++) {
        if (err->trace[i].name[0])
            PUT("\n  at #%u %s (func %u)", i, err->trace[i].name,
                err->trace[i].func_idx);
        else
            PUT("\n  at #%u func %u", i, err->trace[i].func_idx);
    }
#undef PUT
    return buf;
}

void wm_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "wasmind: %s:%d: assertion failed: %s\n", file, line,
            expr);
    abort();
}
