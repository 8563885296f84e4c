/*
 * quicksort.c — recursive quicksort (median of three, insertion sort for
 * short ranges) of pseudo-random 32-bit keys: compares, swaps, recursion.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void isort(uint32_t *a, int32_t n) {
    for (int32_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        int32_t j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void qsort_u32(uint32_t *a, int32_t n) {
    while (n > 16) {
        uint32_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint32_t p = x < y ? (y < z ? y : (x < z ? z : x))
                           : (x < z ? x : (y < z ? z : y));
        int32_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i >= j) break;
            uint32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* Recurse into the smaller side, loop on the larger. */
        if (j + 1 < n - j - 1) {
            qsort_u32(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            qsort_u32(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    isort(a, n);
}

int main(int argc, char **argv) {
    int32_t n = 2000000;
    int reps = argc > 1 ? atoi(argv[1]) : 4;
    uint32_t *a = malloc((size_t)n * sizeof *a);
    if (!a) return 1;
    uint32_t seed = 42;
    uint64_t check = 0;
    for (int r = 0; r < reps; r++) {
        for (int32_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            a[i] = seed ^ (seed >> 15);
        }
        qsort_u32(a, n);
        for (int32_t i = 1; i < n; i++)
            if (a[i - 1] > a[i]) {
                printf("not sorted at %d\n", (int)i);
                return 1;
            }
        for (int32_t i = 0; i < n; i += 997) check = check * 31 + a[i];
    }
    printf("sorted %d x%d, check %llu\n", (int)n, reps,
           (unsigned long long)check);
    free(a);
    return 0;
}
