/*
 * sieve.c — sieve of Eratosthenes over a byte array, repeated: memory
 * stores with strides, a tight counting loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    uint32_t limit = 16000000;
    int reps = argc > 1 ? atoi(argv[1]) : 10;
    uint8_t *composite = malloc(limit + 1);
    if (!composite) return 1;
    uint32_t count = 0;
    uint64_t sum = 0;
    for (int r = 0; r < reps; r++) {
        uint32_t lim = limit - (uint32_t)r * 1000;
        memset(composite, 0, lim + 1);
        for (uint32_t i = 2; (uint64_t)i * i <= lim; i++)
            if (!composite[i])
                for (uint32_t j = i * i; j <= lim; j += i) composite[j] = 1;
        count = 0;
        for (uint32_t i = 2; i <= lim; i++)
            if (!composite[i]) {
                count++;
                sum += i;
            }
    }
    printf("primes below %u: %u, sum %llu\n", limit - (uint32_t)(reps - 1) * 1000,
           count, (unsigned long long)sum);
    free(composite);
    return 0;
}
