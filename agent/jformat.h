/*
 * jformat.h - the journal's on-disk format, apart from the engine so that it
 * can be unit-tested and fuzzed alone (docs/internals/journal.md):
 *
 *     segment: "SPJRNL01" entry*
 *     entry:   u32 magic 0x324a5053 ("SPJ2")  u32 length | codec << 24  u32 crc32c
 *              u64 receive time (ns)  payload
 *
 * little-endian; the CRC-32C covers the length word, the receive time and the
 * payload. The codec says which input's parser reads the payload again on
 * replay (enum sp_codec: 0 is an NDJSON record line). Entries written before
 * codecs existed ("SPJ1": the same header, the length word a plain length, the
 * CRC over the receive time and the line) are still read, as NDJSON lines.
 * The per-entry magic lets a reader find the next entry after a damaged one,
 * so a flipped byte costs one record, not the rest of its segment.
 */
#ifndef SP_JFORMAT_H
#define SP_JFORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SP_JSEG_MAGIC "SPJRNL01"
#define SP_JSEG_HDR 8u
#define SP_JENTRY_MAGIC 0x324a5053u    /* "SPJ2": tagged with a codec */
#define SP_JENTRY_MAGIC_V1 0x314a5053u /* "SPJ1": before codecs; always NDJSON */
#define SP_JENTRY_HDR 20u
#define SP_JCODEC_MAX 255u
/* The largest payload: the length word's low 24 bits. */
#define SP_JENTRY_MAX_PAYLOAD 0x00ffffffu

struct sp_jentry {
    const char *line;  /* the payload */
    size_t len;
    uint64_t recv_ns;
    uint8_t codec;     /* enum sp_codec */
};

/* Appends one framed entry to `out`. 0, -EINVAL (codec), -E2BIG (over
 * SP_JENTRY_MAX_PAYLOAD), or -ENOBUFS. */
int sp_jformat_frame(struct sp_buf *out, unsigned codec, const char *line, size_t n,
                     uint64_t recv_ns);

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
