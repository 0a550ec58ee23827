/*
 * url.c - what spindle checks and shows of a URL. See url.h.
 */
#include "url.h"

#include <stdio.h>
#include <string.h>

void sp_url_origin(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    const char *host = p ? p + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    /* The last '@' of the authority ends the user information. */
    for (const char *a = host; a < end; a++) {
        if (*a == '@') {
            host = a + 1;
        }
    }
    snprintf(out, cap, "%.*s%.*s", p ? (int)(p + 3 - url) : 0, url, (int)(end - host), host);
}

int sp_url_ok(const char *u)
{
    const char *host = strncmp(u, "http://", 7) == 0    ? u + 7
                       : strncmp(u, "https://", 8) == 0 ? u + 8
                                                        : NULL;
    return host && *host && !strchr("/?#@", *host);
}
