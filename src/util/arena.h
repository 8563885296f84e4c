/*
 * arena.h — bump allocator for phase data (a decoded module, a compile
 * pass). Blocks are chained; everything is released at once by
 * arena_free(). arena_alloc returns zeroed, 16-byte-aligned memory, or NULL
 * when out of memory or when the request would exceed the arena's cap.
 */
#ifndef WM_ARENA_H
#define WM_ARENA_H

#include "common.h"

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head;         /* current block (newest first) */
    size_t used_bytes;         /* total handed out, for the cap */
    size_t cap_bytes;          /* 0: no cap */
} arena;

WM_INTERNAL void *arena_alloc(arena *a, size_t size);
/* n * size with overflow check. */
WM_INTERNAL void *arena_calloc(arena *a, size_t n, size_t size);
WM_INTERNAL void *arena_dup(arena *a, const void *src, size_t size);
WM_INTERNAL void arena_free(arena *a);

#endif
