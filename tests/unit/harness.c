/* harness.c - counters and the closing line of a unit-test binary. */
#include "harness.h"

int th_passed, th_failed;

int th_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, th_passed, th_failed);
    return th_failed ? 1 : 0;
}
