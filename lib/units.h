/*
 * units.h - durations ("500ms", "5s", "1m", "1h", "250us") and sizes ("64KiB",
 * "8MiB", "1GB", plain bytes) as the configuration writes them. A leaf, so
 * both the configuration and the alert rules parse them without depending on
 * each other.
 */
#ifndef SP_UNITS_H
#define SP_UNITS_H

#include <stdint.h>

/* A duration with its unit (a bare number is ambiguous and refused), in
 * milliseconds rounded to the nearest; at most 1e15 ms. 0 or -EINVAL. */
int sp_parse_duration_ms(const char *s, uint64_t *out);
/* A size in bytes, a whole number of them; at most 1e15. 0 or -EINVAL. */
int sp_parse_size(const char *s, uint64_t *out);

#endif
