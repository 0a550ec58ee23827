/*
 * harness.h - a minimal unit-test harness: CHECK records a failure with its
 * line and goes on; each test binary prints "N passed, N failed" and exits
 * non-zero on any failure, so meson (and ./test.sh) see it.
 */
#ifndef SP_HARNESS_H
#define SP_HARNESS_H

#include <stdio.h>

extern int th_passed, th_failed;

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (cond) {                                                                             \
            th_passed++;                                                                        \
        } else {                                                                                \
            th_failed++;                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
        }                                                                                       \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                      \
    do {                                                                                        \
        long long a_ = (long long)(a), b_ = (long long)(b);                                     \
        if (a_ == b_) {                                                                         \
            th_passed++;                                                                        \
        } else {                                                                                \
            th_failed++;                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a,    \
                    #b, a_, b_);                                                                \
        }                                                                                       \
    } while (0)

int th_report(const char *name);

#endif
