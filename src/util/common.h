/*
 * common.h — basics every file in src/ includes: fixed-width types, the
 * internal-visibility marker, branch hints and assertions.
 * Depends on nothing but libc and include/wasmind.h (for wm_status/wm_error).
 */
#ifndef WM_COMMON_H
#define WM_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wasmind.h"
#include "config.h"

/* Crosses files inside src/ but never leaks from a shared object. */
#if defined(__GNUC__) && !defined(_WIN32)
#define WM_INTERNAL __attribute__((visibility("hidden")))
#else
#define WM_INTERNAL
#endif

#if defined(__GNUC__)
#define wm_likely(x)   __builtin_expect(!!(x), 1)
#define wm_unlikely(x) __builtin_expect(!!(x), 0)
#define WM_NOINLINE    __attribute__((noinline))
#define WM_INLINE      static inline __attribute__((always_inline))
#define WM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define WM_NORETURN    __attribute__((noreturn))
#else
#define wm_likely(x)   (x)
#define wm_unlikely(x) (x)
#define WM_NOINLINE
#define WM_INLINE      static inline
#define WM_PRINTF(a, b)
#define WM_NORETURN
#endif

#define WM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Broken invariants only — never reachable from untrusted input. */
WM_INTERNAL WM_NORETURN void wm_assert_fail(const char *file, int line,
                                            const char *expr);
#define WM_ASSERT(x) \
    ((x) ? (void)0 : wm_assert_fail(__FILE__, __LINE__, #x))
#if WM_DEBUG
#define WM_DASSERT(x) WM_ASSERT(x)
#else
#define WM_DASSERT(x) ((void)0)
#endif

/*
 * Fill *err (may be NULL) with a code and a printf-formatted message and
 * return the code, so failures read `return wm_errf(err, WM_ERR_X, ...)`.
 * Location fields are left as they are; the boundary that knows the
 * location (decoder: byte offset; validator: function and instruction)
 * sets them with wm_error_at().
 */
WM_INTERNAL wm_status wm_errf(wm_error *err, wm_status code, const char *fmt,
                              ...) WM_PRINTF(3, 4);
WM_INTERNAL void wm_error_clear(wm_error *err);

#endif
