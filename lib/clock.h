/*
 * clock.h - wall-clock time for record receive times. A leaf: it depends on
 * nothing of spindle's.
 */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <stdint.h>

/* Wall-clock now in ns since the Unix epoch (CLOCK_REALTIME). */
uint64_t sp_now_ns(void);

#endif
