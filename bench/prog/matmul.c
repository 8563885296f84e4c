/*
 * matmul.c — f32 matrix multiply, 256x256, repeated: float, memory-bound
 * inner loop (i-k-j order, so each C element sums in a fixed order and the
 * result is bit-identical native and in Wasm). Prints a checksum.
 * gcc 12 -O2 vectorizes the inner loop (4 floats per SSE op) while the
 * wasm32 build is scalar, so this ratio is the widest of the set; the
 * repetition count is kept lower (~0.15 s native) to bound the run time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 256

static float A[N][N], B[N][N], C[N][N];

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 80;
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            seed = seed * 1664525u + 1013904223u;
            A[i][j] = (float)(seed >> 8) / 16777216.0f - 0.5f;
            seed = seed * 1664525u + 1013904223u;
            B[i][j] = (float)(seed >> 8) / 16777216.0f - 0.5f;
        }
    double check = 0;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) C[i][j] = 0.0f;
            for (int k = 0; k < N; k++) {
                float a = A[i][k];
                for (int j = 0; j < N; j++) C[i][j] += a * B[k][j];
            }
        }
        /* Feed the result back so no repetition can be skipped. */
        A[r % N][(r * 7) % N] = C[(r * 3) % N][(r * 5) % N] * 0.5f;
        check += C[r % N][(r * 11) % N];
    }
    double sum = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) sum += C[i][j];
    printf("matmul %dx%d x%d: sum %.6f check %.6f\n", N, N, reps, sum, check);
    return 0;
}
