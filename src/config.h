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

/* POSIX threads for the engine's pool (src/llm/threads.c) and its
 * one-time kernel-table set-up (quant.c). 0: the pool is
 * src/llm/threads_single.c instead (every task on the calling thread,
 * nth == 1; the engine's results do not depend on the thread count) and
 * threads.c is left out of the build. wasi-libc without wasi-threads
 * (Debian's wasm32-wasi, the guest build of src/llm in apps/llm-wasm)
 * has no pthreads. */
#ifndef WM_ENABLE_THREADS
#if defined(__wasi__) && !defined(_REENTRANT)
#define WM_ENABLE_THREADS 0
#else
#define WM_ENABLE_THREADS 1
#endif
#endif

/* mmap(2) for GGUF files (src/llm/gguf.c: tensors point into a read-only
 * mapping). 0: the file is read into one heap buffer instead, same
 * parser. wasi-libc has no mmap (only an emulation that copies anyway). */
#ifndef WM_ENABLE_MMAP
#if defined(__wasi__)
#define WM_ENABLE_MMAP 0
#else
#define WM_ENABLE_MMAP 1
#endif
#endif

#endif
