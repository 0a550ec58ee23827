/*
 * jformat.c - the journal's on-disk format. See jformat.h.
 */
#include "jformat.h"

#include <errno.h>
#include <string.h>

#include "crc32c.h"

static void put32(char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (char)(v >> (8 * i));
    }
}

static uint32_t get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

/* The length word holds the payload length in its low 24 bits and the codec
 * in the top byte. An "SPJ1" entry's word was a plain length of up to 16 MiB
 * (the record cap then), which is what a reader accepts. */
#define LEN_MASK SP_JENTRY_MAX_PAYLOAD
#define READ_MAX (16u * 1024u * 1024u)

int sp_jformat_frame(struct sp_buf *out, unsigned codec, const char *line, size_t n,
                     uint64_t recv_ns)
{
    if (codec > SP_JCODEC_MAX) {
        return -EINVAL;
    }
    if (n > SP_JENTRY_MAX_PAYLOAD) {
        return -E2BIG;
    }
    if (sp_buf_reserve(out, SP_JENTRY_HDR + n)) {
        return -ENOBUFS;
    }
    char *h = out->p + out->len;
    put32(h, SP_JENTRY_MAGIC);
    put32(h + 4, (uint32_t)n | (uint32_t)codec << 24);
    put32(h + 12, (uint32_t)recv_ns);
    put32(h + 16, (uint32_t)(recv_ns >> 32));
    memcpy(h + SP_JENTRY_HDR, line, n);
    /* Length word, then receive time and payload: one CRC over both runs. */
    put32(h + 8, sp_crc32c(sp_crc32c(0, h + 4, 4), h + 12, 8u + n));
    out->len += SP_JENTRY_HDR + n;
    return 0;
}

static int is_magic(uint32_t m)
{
    return m == SP_JENTRY_MAGIC || m == SP_JENTRY_MAGIC_V1;
}

/* The payload length an entry header at `p` claims. */
static uint32_t entry_len(const char *p)
{
    uint32_t w = get32(p + 4);
    return get32(p) == SP_JENTRY_MAGIC ? w & LEN_MASK : w;
}

/* 1 when a whole, intact entry starts at `off`. */
static int entry_at(const char *b, size_t end, size_t off, struct sp_jentry *e)
{
    if (end - off < SP_JENTRY_HDR || !is_magic(get32(b + off))) {
        return 0;
    }
    int v2 = get32(b + off) == SP_JENTRY_MAGIC;
    uint32_t n = entry_len(b + off);
    if (n > READ_MAX || end - off - SP_JENTRY_HDR < n) {
        return 0;
    }
    uint32_t crc = v2 ? sp_crc32c(0, b + off + 4, 4) : 0;
    if (sp_crc32c(crc, b + off + 12, 8u + n) != get32(b + off + 8)) {
        return 0;
    }
    e->recv_ns = (uint64_t)get32(b + off + 12) | (uint64_t)get32(b + off + 16) << 32;
    e->line = b + off + SP_JENTRY_HDR;
    e->len = n;
    e->codec = v2 ? (uint8_t)(get32(b + off + 4) >> 24) : 0;
    return 1;
}

int sp_jformat_next(const char *b, size_t end, size_t *off, struct sp_jentry *e, int *skipped)
{
    *skipped = 0;
    for (size_t i = *off; i < end; i++) {
        /* The first byte of the magic is a cheap filter before the CRC. */
        if ((unsigned char)b[i] == (SP_JENTRY_MAGIC & 0xffu) && entry_at(b, end, i, e)) {
            *off = i + SP_JENTRY_HDR + e->len;
            return 1;
        }
        *skipped = 1;
    }
    *off = end;
    return 0;
}

/* After the last intact entry: an unfinished write, or damage? */
static int unfinished(const char *b, size_t len, size_t at)
{
    if (len - at < SP_JENTRY_HDR) {
        return 1;
    }
    uint32_t n = entry_len(b + at);
    if (is_magic(get32(b + at)) && n <= READ_MAX &&
        len - at - SP_JENTRY_HDR < n) {
        return 1;
    }
    for (size_t i = at; i < len; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

int sp_jformat_check(const char *b, size_t len, size_t *end, uint64_t *entries,
                     uint64_t *damaged, int *torn)
{
    *entries = 0;
    *damaged = 0;
    *torn = 0;
    *end = len;
    if (len < SP_JSEG_HDR) {
        return 0;
    }
    if (memcmp(b, SP_JSEG_MAGIC, SP_JSEG_HDR) != 0) {
        return -EINVAL;
    }
    size_t off = SP_JSEG_HDR;
    struct sp_jentry e;
    int skipped;
    for (;;) {
        size_t at = off;
        if (!sp_jformat_next(b, len, &off, &e, &skipped)) {
            if (at < len) {
                *end = at; /* nothing intact follows */
                *torn = unfinished(b, len, at);
                *damaged += (uint64_t)!*torn;
            }
            return 0;
        }
        if (skipped) {
            (*damaged)++;
        }
        (*entries)++;
    }
}
