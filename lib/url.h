/*
 * url.h - what spindle checks and shows of a URL (export endpoints,
 * Alertmanager URLs). A leaf: the configuration and the alert rules both use
 * it without using each other.
 */
#ifndef SP_URL_H
#define SP_URL_H

#include <stddef.h>

/* 1 when `url` is http:// or https:// with a host. */
int sp_url_ok(const char *url);
/* "https://user:pw@host:8443/p?key=x" -> "https://host:8443": the only part
 * of a URL that logs and error messages show (the rest may hold secrets). */
void sp_url_origin(const char *url, char *out, size_t cap);

#endif
