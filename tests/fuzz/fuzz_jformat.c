/*
 * fuzz_jformat.c - libFuzzer target for the journal segment reader
 * (agent/jformat.c): whatever bytes a crash or a bad disk leaves, checking and
 * iterating a segment stays inside the buffer, agrees with itself, and every
 * entry it returns re-frames to the same bytes. Its corpus replays as the unit
 * test test_replay_jformat.
 *
 * Build and run (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iagent -Ilib -Ialert \
 *     tests/fuzz/fuzz_jformat.c agent/jformat.c lib/crc32c.c lib/buf.c -o /tmp/fuzz_jformat
 *   /tmp/fuzz_jformat -max_total_time=60 tests/fuzz/corpus_jformat
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jformat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    size_t end;
    uint64_t entries, damaged;
    int torn;
    if (sp_jformat_check(b, size, &end, &entries, &damaged, &torn) != 0) {
        return 0;
    }
    if (end > size || (size >= SP_JSEG_HDR && end < SP_JSEG_HDR) || (torn && end == size)) {
        __builtin_trap();
    }
    /* Iterating up to `end` finds exactly the entries the check counted. */
    size_t off = size < SP_JSEG_HDR ? size : SP_JSEG_HDR;
    uint64_t n = 0, stretches = 0;
    struct sp_jentry e;
    int skipped;
    struct sp_buf re;
    sp_buf_init(&re, 1u << 26);
    while (sp_jformat_next(b, end, &off, &e, &skipped)) {
        n++;
        stretches += (uint64_t)skipped;
        if (e.line < b || e.line + e.len > b + end || off > end) {
            __builtin_trap();
        }
        /* Framed again (as a tagged entry, whatever the original was), it
         * reads back the same. */
        sp_buf_reset(&re);
        struct sp_jentry e2;
        size_t off2 = 0;
        int sk2;
        if (sp_jformat_frame(&re, e.codec, e.line, e.len, e.recv_ns) != 0 ||
            sp_jformat_next(re.p, re.len, &off2, &e2, &sk2) != 1 || off2 != re.len || sk2 ||
            e2.codec != e.codec || e2.len != e.len || e2.recv_ns != e.recv_ns ||
            memcmp(e2.line, e.line, e.len) != 0) {
            __builtin_trap();
        }
    }
    sp_buf_free(&re);
    /* A damaged tail is a stretch the iteration (which stops at `end`) never sees. */
    uint64_t tail = end < size && !torn;
    if (n != entries || stretches + tail != damaged) {
        __builtin_trap();
    }
    return 0;
}
