/*
 * units.c - durations and sizes as the configuration writes them. See units.h.
 */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sp_parse_duration_ms(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isdigit((unsigned char)s[0])) {
        return -EINVAL;
    }
    double mul;
    if (strcmp(end, "ms") == 0) {
        mul = 1;
    } else if (strcmp(end, "s") == 0) {
        mul = 1000;
    } else if (strcmp(end, "m") == 0) {
        mul = 60000;
    } else if (strcmp(end, "h") == 0) {
        mul = 3600000;
    } else if (strcmp(end, "us") == 0) {
        mul = 0.001;
    } else {
        return -EINVAL; /* a bare number is ambiguous: the unit is required */
    }
    double ms = v * mul;
    if (ms > 1e15) {
        return -EINVAL;
    }
    *out = (uint64_t)(ms + 0.5);
    return 0;
}

int sp_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isdigit((unsigned char)s[0])) {
        return -EINVAL;
    }
    static const struct {
        const char *sfx;
        double mul;
    } units[] = {{"", 1},       {"B", 1},       {"KiB", 1024.0},       {"MiB", 1048576.0},
                 {"GiB", 1073741824.0}, {"KB", 1000.0}, {"MB", 1e6},    {"GB", 1e9},
                 {"k", 1000.0}, {"K", 1024.0},  {"M", 1048576.0},      {"G", 1073741824.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].sfx) == 0) {
            double b = v * units[i].mul;
            if (b > 1e15 || b != (double)(uint64_t)b) {
                return -EINVAL;
            }
            *out = (uint64_t)b;
            return 0;
        }
    }
    return -EINVAL;
}
