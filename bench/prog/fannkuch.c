/*
 * fannkuch.c — the Benchmarks Game fannkuch-redux: permutations and
 * prefix reversals over small int arrays (integer, branchy). Runs n=10
 * `reps` times (n=11 would take 12x as long).
 */
#include <stdio.h>
#include <stdlib.h>

static int fannkuch(int n, int *out_max_flips) {
    int perm[16], perm1[16], count[16];
    int max_flips = 0, checksum = 0, perm_count = 0, r = n;
    for (int i = 0; i < n; i++) perm1[i] = i;
    for (;;) {
        while (r != 1) {
            count[r - 1] = r;
            r--;
        }
        for (int i = 0; i < n; i++) perm[i] = perm1[i];
        int flips = 0, k;
        while ((k = perm[0]) != 0) {
            for (int i = 0, j = k; i < j; i++, j--) {
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            flips++;
        }
        if (flips > max_flips) max_flips = flips;
        checksum += perm_count % 2 == 0 ? flips : -flips;
        for (;;) {
            if (r == n) {
                *out_max_flips = max_flips;
                return checksum;
            }
            int p0 = perm1[0];
            for (int i = 0; i < r; i++) perm1[i] = perm1[i + 1];
            perm1[r] = p0;
            if (--count[r] > 0) break;
            r++;
        }
        perm_count++;
    }
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    const int n = 10;
    int checksum = 0, max_flips = 0;
    for (int r = 0; r < reps; r++) checksum += fannkuch(n, &max_flips);
    printf("%d\nPfannkuchen(%d) = %d\n", checksum, n, max_flips);
    return 0;
}
