/*
 * buf.c - capped growable byte buffer. See buf.h.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

void sp_buf_init(struct sp_buf *b, size_t cap)
{
    b->p = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void sp_buf_free(struct sp_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->alloc = 0;
}

void sp_buf_reset(struct sp_buf *b)
{
    b->len = 0;
}

void sp_buf_fit(struct sp_buf *b)
{
    if (b->p == NULL || b->alloc == b->len) {
        return;
    }
    if (b->len == 0) {
        sp_buf_free(b);
        return;
    }
    char *p = realloc(b->p, b->len);
    if (p) { /* a failed shrink keeps the buffer as it was */
        b->p = p;
        b->alloc = b->len;
    }
}

int sp_buf_reserve(struct sp_buf *b, size_t extra)
{
    if (extra > b->cap || b->len > b->cap - extra) {
        return -ENOBUFS;
    }
    size_t need = b->len + extra;
    if (need <= b->alloc) {
        return 0;
    }
    size_t n = b->alloc ? b->alloc : 256;
    while (n < need) {
        n *= 2;
    }
    if (n > b->cap) {
        n = b->cap;
    }
    char *p = realloc(b->p, n);
    if (p == NULL) {
        return -ENOMEM;
    }
    b->p = p;
    b->alloc = n;
    return 0;
}

int sp_buf_add_slow(struct sp_buf *b, const void *p, size_t n)
{
    int rc = sp_buf_reserve(b, n);
    if (rc) {
        return rc;
    }
    if (n) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    return 0;
}

/* "00" .. "99": two digits per division; timestamps are 19 digits and the
 * JSON encoder writes several per item. */
static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

int sp_buf_add_u64(struct sp_buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        tmp[--i] = digits2[d + 1];
        tmp[--i] = digits2[d];
    }
    if (v >= 10) {
        tmp[--i] = digits2[v * 2 + 1];
        tmp[--i] = digits2[v * 2];
    } else {
        tmp[--i] = (char)('0' + v);
    }
    return sp_buf_add(b, tmp + i, sizeof(tmp) - i);
}

int sp_buf_add_i64(struct sp_buf *b, int64_t v)
{
    if (v < 0) {
        int rc = sp_buf_addc(b, '-');
        /* -(v + 1) + 1 avoids overflowing INT64_MIN. */
        return rc ? rc : sp_buf_add_u64(b, (uint64_t)(-(v + 1)) + 1u);
    }
    return sp_buf_add_u64(b, (uint64_t)v);
}

int sp_buf_printf(struct sp_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -EINVAL;
    }
    if ((size_t)n < sizeof(tmp)) {
        return sp_buf_add(b, tmp, (size_t)n);
    }
    int rc = sp_buf_reserve(b, (size_t)n + 1);
    if (rc) {
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* The bytes JSON strings must escape: controls, '"' and '\\' (found by
 * sp_scan_json_plain, eight bytes at a time). */
int sp_buf_add_json_str(struct sp_buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Room for the common case (nothing to escape); escapes grow further. */
    int rc = sp_buf_reserve(b, n + 2);
    if (rc) {
        return rc;
    }
    b->p[b->len++] = '"';
    if (n == 0) {
        b->p[b->len++] = '"';
        return 0;
    }
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < n; i++) {
        i += sp_scan_json_plain(p + i, n - i, 0);
        if (i == n) {
            break;
        }
        unsigned char c = (unsigned char)p[i];
        if ((rc = sp_buf_add(b, p + run, i - run))) {
            return rc;
        }
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t el = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        if ((rc = sp_buf_add(b, esc, el))) {
            return rc;
        }
    }
    if ((rc = sp_buf_add(b, p + run, n - run))) {
        return rc;
    }
    return sp_buf_addc(b, '"');
}

int sp_buf_add_hex(struct sp_buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = sp_buf_reserve(b, 2 * n);
    if (rc) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        b->p[b->len++] = hex[p[i] >> 4];
        b->p[b->len++] = hex[p[i] & 15];
    }
    return 0;
}
