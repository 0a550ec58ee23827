/*
 * clock.c - wall-clock time. See clock.h.
 */
#include <time.h>

#include "clock.h"

uint64_t sp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
