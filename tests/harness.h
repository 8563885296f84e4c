/*
 * harness.h — the tiny test harness (Redis testhelp.h style).
 *
 *   CHECK(cond)                 count a check, print file:line on failure
 *   CHECK_EQ_INT(a, b)          integers, both values printed on failure
 *   CHECK_EQ_F32(a, b, tol)     |a - b| <= tol
 *   return TEST_REPORT();       prints "N passed, N failed", exit status
 */
#ifndef WM_HARNESS_H
#define WM_HARNESS_H

#include <math.h>
#include <stdio.h>

static int t_passed, t_failed;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (cond) t_passed++;                                               \
        else { t_failed++;                                                  \
               fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__,   \
                       #cond); }                                            \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                  \
    do {                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                 \
        if (a_ == b_) t_passed++;                                           \
        else { t_failed++;                                                  \
               fprintf(stderr, "%s:%d: FAILED: %s == %s (%lld vs %lld)\n",  \
                       __FILE__, __LINE__, #a, #b, a_, b_); }               \
    } while (0)

#define CHECK_EQ_F32(a, b, tol)                                             \
    do {                                                                    \
        double a_ = (double)(a), b_ = (double)(b);                          \
        if (fabs(a_ - b_) <= (tol)) t_passed++;                             \
        else { t_failed++;                                                  \
               fprintf(stderr, "%s:%d: FAILED: %s ~ %s (%g vs %g)\n",       \
                       __FILE__, __LINE__, #a, #b, a_, b_); }               \
    } while (0)

#define TEST_REPORT()                                                       \
    (printf("%s: %d passed, %d failed\n", __FILE__, t_passed, t_failed),    \
     t_failed ? 1 : 0)

#endif
