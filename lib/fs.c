/*
 * fs.c - file-system helpers. See fs.h.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fs.h"

int sp_mkdirs(const char *dir, unsigned mode)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                return -errno;
            }
            *s = '/';
        }
    }
    if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}
