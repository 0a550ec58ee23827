/*
 * buf.h - growable byte buffer with a hard cap (curl's dynbuf idea).
 * Every append checks the cap and fails with -ENOBUFS instead of growing past it.
 */
#ifndef SP_BUF_H
#define SP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sp_buf {
    char *p;      /* heap memory, NULL until the first append */
    size_t len;   /* bytes used */
    size_t alloc; /* bytes allocated */
    size_t cap;   /* never grow beyond this many bytes */
};

void sp_buf_init(struct sp_buf *b, size_t cap);
void sp_buf_free(struct sp_buf *b);
void sp_buf_reset(struct sp_buf *b); /* len = 0, memory kept */
/* Gives back the allocation beyond len (a buffer that will not grow again). */
void sp_buf_fit(struct sp_buf *b);
int sp_buf_reserve(struct sp_buf *b, size_t extra);
int sp_buf_add_slow(struct sp_buf *b, const void *p, size_t n);

/* Appends are on the encoders' hottest path: the common case (room left) is
 * inline; growth and the cap check live in sp_buf_add_slow(). */
static inline int sp_buf_add(struct sp_buf *b, const void *p, size_t n)
{
    if (n && b->alloc - b->len >= n) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
        return 0;
    }
    return n ? sp_buf_add_slow(b, p, n) : 0;
}

static inline int sp_buf_addc(struct sp_buf *b, char c)
{
    if (b->len < b->alloc) {
        b->p[b->len++] = c;
        return 0;
    }
    return sp_buf_add_slow(b, &c, 1);
}

/* NUL-terminated; with a literal the length folds at compile time. */
static inline int sp_buf_adds(struct sp_buf *b, const char *s)
{
    return sp_buf_add(b, s, __builtin_strlen(s));
}

/* Decimal, without printf. */
int sp_buf_add_u64(struct sp_buf *b, uint64_t v);
int sp_buf_add_i64(struct sp_buf *b, int64_t v);
int sp_buf_printf(struct sp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* JSON string with quotes, escaping per RFC 8259; input must be valid UTF-8. */
int sp_buf_add_json_str(struct sp_buf *b, const char *p, size_t n);
/* lowercase hex of n bytes */
int sp_buf_add_hex(struct sp_buf *b, const uint8_t *p, size_t n);

#endif
