/*
 * jformat.h - the journal's on-disk format, apart from the engine so that it
 * can be unit-tested and fuzzed alone (docs/internals/journal.md):
 *
 *     segment: "SPJRNL01" entry*
 *     entry:   u32 magic 0x314a5053 ("SPJ1")  u32 length  u32 crc32c  u64 receive time (ns)  line
 *
 * little-endian; the CRC-32C covers the receive time and the line. The
 * per-entry magic lets a reader find the next entry after a damaged one, so a
 * flipped byte costs one record, not the rest of its segment.
 */
#ifndef SP_JFORMAT_H
#define SP_JFORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SP_JSEG_MAGIC "SPJRNL01"
#define SP_JSEG_HDR 8u
#define SP_JENTRY_MAGIC 0x314a5053u
#define SP_JENTRY_HDR 20u

struct sp_jentry {
    const char *line;
    size_t len;
    uint64_t recv_ns;
};

/* Appends one framed entry to `out`. 0 or -ENOBUFS. */
int sp_jformat_frame(struct sp_buf *out, const char *line, size_t n, uint64_t recv_ns);

/* The first intact entry at or after *off and before `end`: 1 and *off past
 * it, or 0 (none; *off = end). *skipped tells whether damaged bytes were
 * stepped over to reach it. */
int sp_jformat_next(const char *b, size_t end, size_t *off, struct sp_jentry *e, int *skipped);

/* Checks a whole segment image. -EINVAL when the header is not ours. Else 0
 * with: *end = where intact data ends (len when the last entry is intact),
 * *entries = intact entries, *damaged = damaged stretches, *torn = 1 when
 * the bytes after *end are a write that never finished (too short for a
 * header, an entry running past the end of the file, or zeros, which is what
 * a power loss leaves), 0 when they are damage (then counted in *damaged).
 * A file shorter than the header has end = len and no entries. */
int sp_jformat_check(const char *b, size_t len, size_t *end, uint64_t *entries,
                     uint64_t *damaged, int *torn);

#endif
