/*
 * rss.h - the process's anonymous resident memory (heap, stacks), read from
 * /proc/self/statm: what flow control compares with what the parts account
 * for (agent/flow.c). A leaf.
 */
#ifndef SP_RSS_H
#define SP_RSS_H

#include <stddef.h>

/* Anonymous resident bytes, 0 when unknown. */
size_t sp_rss_anon(void);

#endif
