/*
 * binarytrees.c — the Benchmarks Game binary-trees: allocate and walk many
 * short-lived trees with malloc/free (allocator, pointers, recursion).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct node { struct node *l, *r; } node;

static node *make(int d) {
    node *n = malloc(sizeof *n);
    if (!n) exit(1);
    if (d > 0) {
        n->l = make(d - 1);
        n->r = make(d - 1);
    } else {
        n->l = n->r = NULL;
    }
    return n;
}

static uint32_t check(const node *n) {
    return n->l ? 1 + check(n->l) + check(n->r) : 1;
}

static void release(node *n) {
    if (n->l) {
        release(n->l);
        release(n->r);
    }
    free(n);
}

int main(int argc, char **argv) {
    int max_depth = argc > 1 ? atoi(argv[1]) : 17;
    int min_depth = 4;
    if (max_depth < min_depth + 2) max_depth = min_depth + 2;
    node *stretch = make(max_depth + 1);
    printf("stretch tree of depth %d\t check: %u\n", max_depth + 1,
           check(stretch));
    release(stretch);
    node *long_lived = make(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        uint32_t iters = 1u << (max_depth - d + min_depth), sum = 0;
        for (uint32_t i = 0; i < iters; i++) {
            node *t = make(d);
            sum += check(t);
            release(t);
        }
        printf("%u\t trees of depth %d\t check: %u\n", iters, d, sum);
    }
    printf("long lived tree of depth %d\t check: %u\n", max_depth,
           check(long_lived));
    release(long_lived);
    return 0;
}
