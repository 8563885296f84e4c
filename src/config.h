/*
 * config.h — compile-time feature switches, in one place (0/1, test with #if).
 */
#ifndef WM_CONFIG_H
#define WM_CONFIG_H

/* Computed-goto dispatch in the interpreter (GNU C labels as values);
 * 0 selects the portable switch loop. */
#ifndef WM_USE_JUMPTABLE
#if defined(__GNUC__)
#define WM_USE_JUMPTABLE 1
#else
#define WM_USE_JUMPTABLE 0
#endif
#endif

/* Linear memory as a 8 GiB reservation + guard pages, so in-bounds
 * accesses need no explicit check (64-bit hosts only). 0 selects explicit
 * bounds checks on every access. */
#ifndef WM_ENABLE_GUARD_PAGES
#if UINTPTR_MAX > 0xffffffffu && defined(__linux__)
#define WM_ENABLE_GUARD_PAGES 1
#else
#define WM_ENABLE_GUARD_PAGES 0
#endif
#endif

/* Extra invariant checks (stack heights, slot ranges). */
#ifndef WM_DEBUG
#define WM_DEBUG 0
#endif

#endif
