/*
 * arena.c — see arena.h. Blocks grow geometrically (64 KiB, then at least
 * the request), so a module with N items costs O(log N) mallocs.
 */
#include <stdlib.h>

#include "arena.h"

struct arena_block {
    arena_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_MIN_BLOCK ((size_t)64 << 10)

void *arena_alloc(arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    if (a->cap_bytes && (size > a->cap_bytes - a->used_bytes ||
                         a->used_bytes > a->cap_bytes))
        return NULL;
    arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t bsize = b ? b->size * 2 : ARENA_MIN_BLOCK;
        if (bsize < size) bsize = size;
        /* 1 TiB; half the address space on 32-bit targets (wasm32). */
        if (bsize > ((size_t)1 << (sizeof(size_t) > 4 ? 40 : 31)))
            return NULL;
        b = malloc(sizeof(*b) + bsize);
        if (!b) return NULL;
        b->size = bsize;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->used_bytes += size;
    memset(p, 0, size);
    return p;
}

void *arena_calloc(arena *a, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    return arena_alloc(a, n * size);
}

void *arena_dup(arena *a, const void *src, size_t size) {
    void *p = arena_alloc(a, size);
    if (p && size) memcpy(p, src, size);
    return p;
}

void arena_free(arena *a) {
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_bytes = 0;
}
