/*
 * buf.h - growable byte buffer with a hard cap (curl's dynbuf idea).
 * Every append checks the cap and fails with -ENOBUFS instead of growing past it.
 */
#ifndef SP_BUF_H
#define SP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct sp_buf {
    char *p;      /* heap memory, NULL until the first append */
    size_t len;   /* bytes used */
    size_t alloc; /* bytes allocated */
    size_t cap;   /* never grow beyond this many bytes */
};

void sp_buf_init(struct sp_buf *b, size_t cap);
void sp_buf_free(struct sp_buf *b);
void sp_buf_reset(struct sp_buf *b); /* len = 0, memory kept */
int sp_buf_reserve(struct sp_buf *b, size_t extra);
int sp_buf_add(struct sp_buf *b, const void *p, size_t n);
int sp_buf_addc(struct sp_buf *b, char c);
int sp_buf_adds(struct sp_buf *b, const char *s); /* NUL-terminated */
int sp_buf_printf(struct sp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* JSON string with quotes, escaping per RFC 8259; input must be valid UTF-8. */
int sp_buf_add_json_str(struct sp_buf *b, const char *p, size_t n);
/* lowercase hex of n bytes */
int sp_buf_add_hex(struct sp_buf *b, const uint8_t *p, size_t n);
/* Removes the first n bytes. */
void sp_buf_consume(struct sp_buf *b, size_t n);

#endif
