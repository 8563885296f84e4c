/*
 * mandelbrot.c — a small compute guest for `make demo`: renders the
 * Mandelbrot set as ASCII art, then times a larger render with the WASI
 * monotonic clock and prints the rate. Arguments: [width] [max_iter].
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Escape iterations of c = (cr, ci), up to max_iter. */
static int escape(double cr, double ci, int max_iter) {
    double zr = 0, zi = 0;
    int n = 0;
    while (n < max_iter && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        n++;
    }
    return n;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int w = argc > 1 ? atoi(argv[1]) : 72;
    int max_iter = argc > 2 ? atoi(argv[2]) : 200;
    if (w < 8 || w > 400 || max_iter < 1 || max_iter > 100000) {
        fprintf(stderr, "usage: mandelbrot [width 8..400] [max_iter]\n");
        return 2;
    }
    static const char shade[] = " .:-=+*#%@";
    static const int band[8] = {2, 3, 5, 8, 13, 21, 34, 55};
    int h = w * 3 / 8;
    for (int y = 0; y < h; y++) {
        char line[402];
        for (int x = 0; x < w; x++) {
            int n = escape(-2.2 + 3.2 * x / w, -1.2 + 2.4 * y / h, max_iter);
            int k = 0;   /* shade by Fibonacci bands of the count */
            while (k < 8 && n > band[k]) k++;
            line[x] = n == max_iter ? '@' : shade[k];
        }
        line[w] = 0;
        puts(line);
    }

    /* Timed part: a 400x300 grid at 500 iterations. */
    const int tw = 400, th = 300, titer = 500;
    double t0 = now_s();
    long long total = 0;
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
            total += escape(-2.2 + 3.2 * x / tw, -1.2 + 2.4 * y / th, titer);
    double dt = now_s() - t0;
    printf("%dx%d pixels, %lld iterations in %.3f s: %.1f M iterations/s\n",
           tw, th, total, dt, (double)total / dt * 1e-6);
    return 0;
}
