/*
 * test_jformat.c - the journal's segment format: framing round trip, a
 * flipped byte costs exactly its entry, a torn tail is found where it starts,
 * a foreign header is refused, short files are empty.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "crc32c.h"
#include "jformat.h"

#define N 20

static size_t starts[N + 1];

/* A segment of N entries "record <i>" with receive time 1000 + i. */
static void build(struct sp_buf *b)
{
    sp_buf_reset(b);
    sp_buf_add(b, SP_JSEG_MAGIC, SP_JSEG_HDR);
    for (int i = 0; i < N; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "{\"type\":\"log\",\"body\":\"record %d\"}", i);
        starts[i] = b->len;
        CHECK(sp_jformat_frame(b, 0, line, (size_t)n, 1000u + (uint64_t)i) == 0);
    }
    starts[N] = b->len;
}

static int count(const struct sp_buf *b, size_t end, int *first_missing)
{
    size_t off = SP_JSEG_HDR;
    struct sp_jentry e;
    int skipped, n = 0, expect = 0;
    *first_missing = -1;
    while (sp_jformat_next(b->p, end, &off, &e, &skipped)) {
        int i = (int)(e.recv_ns - 1000u);
        if (i != expect && *first_missing < 0) {
            *first_missing = expect;
        }
        expect = i + 1;
        n++;
    }
    return n;
}

/* The largest payload the length word holds round-trips with its codec; one
 * byte more is refused (at exactly 16 MiB the length once spilled into the
 * codec byte: codec 0 came back as 1 with an empty payload). */
static void test_largest_entry(void)
{
    struct sp_buf b;
    sp_buf_init(&b, 40u << 20);
    char *big = malloc((size_t)SP_JENTRY_MAX_PAYLOAD + 1u);
    CHECK(big != NULL);
    if (big == NULL) {
        return;
    }
    memset(big, 'x', (size_t)SP_JENTRY_MAX_PAYLOAD + 1u);
    sp_buf_add(&b, SP_JSEG_MAGIC, SP_JSEG_HDR);
    CHECK(sp_jformat_frame(&b, 0, big, (size_t)SP_JENTRY_MAX_PAYLOAD + 1u, 7) == -E2BIG);
    CHECK_EQ_INT(b.len, SP_JSEG_HDR);
    CHECK(sp_jformat_frame(&b, 16, big, SP_JENTRY_MAX_PAYLOAD, 7) == 0);
    CHECK(sp_jformat_frame(&b, 0, "{}", 2, 8) == 0);
    size_t off = SP_JSEG_HDR;
    struct sp_jentry e;
    int skipped;
    CHECK(sp_jformat_next(b.p, b.len, &off, &e, &skipped) == 1);
    CHECK_EQ_INT(e.len, SP_JENTRY_MAX_PAYLOAD);
    CHECK_EQ_INT(e.codec, 16);
    CHECK(sp_jformat_next(b.p, b.len, &off, &e, &skipped) == 1);
    CHECK_EQ_INT(e.len, 2);
    CHECK_EQ_INT(skipped, 0);
    free(big);
    sp_buf_free(&b);
}

int main(void)
{
    test_largest_entry();
    struct sp_buf b;
    sp_buf_init(&b, 1u << 20);
    size_t end;
    uint64_t entries, damaged;
    int missing, torn;

    build(&b);
    CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(end, b.len);
    CHECK_EQ_INT(entries, N);
    CHECK_EQ_INT(damaged, 0);
    CHECK_EQ_INT(count(&b, end, &missing), N);
    CHECK_EQ_INT(missing, -1);
    {
        size_t off = SP_JSEG_HDR;
        struct sp_jentry e;
        int skipped;
        CHECK(sp_jformat_next(b.p, b.len, &off, &e, &skipped) == 1);
        CHECK(e.len == strlen("{\"type\":\"log\",\"body\":\"record 0\"}") &&
              memcmp(e.line, "{\"type\":\"log\",\"body\":\"record 0\"}", e.len) == 0);
        CHECK_EQ_INT(e.recv_ns, 1000);
        CHECK_EQ_INT(skipped, 0);
    }

    /* One flipped bit in entry 7's line, then in entry 12's header. */
    build(&b);
    b.p[starts[7] + SP_JENTRY_HDR + 5] ^= 0x01;
    CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(entries, N - 1);
    CHECK_EQ_INT(damaged, 1);
    CHECK_EQ_INT(end, b.len);
    CHECK_EQ_INT(count(&b, end, &missing), N - 1);
    CHECK_EQ_INT(missing, 7);
    b.p[starts[12] + 5] ^= 0x40; /* its length field */
    CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(entries, N - 2);
    CHECK_EQ_INT(damaged, 2);

    /* Torn tails: cut inside the last entry, at every byte of it. */
    int torn_ok = 1;
    for (size_t cut = starts[N - 1] + 1; cut < starts[N]; cut++) {
        build(&b);
        torn_ok &= sp_jformat_check(b.p, cut, &end, &entries, &damaged, &torn) == 0 &&
                   end == starts[N - 1] && entries == N - 1 && damaged == 0 && torn == 1;
    }
    CHECK(torn_ok);
    /* A cut exactly between entries is no tear. */
    build(&b);
    CHECK(sp_jformat_check(b.p, starts[N - 1], &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(end, starts[N - 1]);
    CHECK_EQ_INT(entries, N - 1);
    /* Damage and a torn tail together. */
    build(&b);
    b.p[starts[3] + SP_JENTRY_HDR] ^= 0x20;
    CHECK(sp_jformat_check(b.p, starts[N] - 3, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(entries, N - 2);
    CHECK_EQ_INT(damaged, 1);
    CHECK_EQ_INT(end, starts[N - 1]);

    /* A flipped bit in the last entry, which is whole: damage, not a tear. */
    build(&b);
    b.p[starts[N - 1] + SP_JENTRY_HDR + 3] ^= 0x08;
    CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(torn, 0);
    CHECK_EQ_INT(damaged, 1);
    CHECK_EQ_INT(entries, N - 1);
    CHECK_EQ_INT(end, starts[N - 1]);
    /* Zeros after the last entry (a power loss on some file systems): a tear. */
    build(&b);
    memset(b.p + starts[N - 1], 0, starts[N] - starts[N - 1]);
    CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(torn, 1);
    CHECK_EQ_INT(damaged, 0);
    CHECK_EQ_INT(end, starts[N - 1]);
    /* No tail at all. */
    build(&b);
    CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(torn, 0);

    /* Not ours; too short to say; header only. */
    build(&b);
    b.p[0] = 'X';
    CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == -EINVAL);
    CHECK(sp_jformat_check(b.p, 5, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(entries, 0);
    build(&b);
    CHECK(sp_jformat_check(b.p, SP_JSEG_HDR, &end, &entries, &damaged, &torn) == 0);
    CHECK_EQ_INT(entries, 0);
    CHECK_EQ_INT(end, SP_JSEG_HDR);

    /* Entries written before codecs ("SPJ1": a plain length, the CRC over
     * the receive time and the line) still read, as codec 0 (NDJSON); this
     * is a segment an earlier spindle wrote, byte for byte. */
    {
        static const char line[] = "{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"old\"}";
        size_t n = sizeof(line) - 1;
        unsigned char h[SP_JENTRY_HDR];
        uint64_t t = 1740830400123456789ull;
        uint32_t w[3] = {SP_JENTRY_MAGIC_V1, (uint32_t)n, 0};
        for (int i = 0; i < 4; i++) {
            h[i] = (unsigned char)(w[0] >> (8 * i));
            h[4 + i] = (unsigned char)(w[1] >> (8 * i));
        }
        for (int i = 0; i < 8; i++) {
            h[12 + i] = (unsigned char)(t >> (8 * i));
        }
        uint32_t crc = sp_crc32c(sp_crc32c(0, h + 12, 8), line, n);
        for (int i = 0; i < 4; i++) {
            h[8 + i] = (unsigned char)(crc >> (8 * i));
        }
        sp_buf_reset(&b);
        sp_buf_add(&b, SP_JSEG_MAGIC, SP_JSEG_HDR);
        sp_buf_add(&b, (const char *)h, sizeof(h));
        sp_buf_add(&b, line, n);
        CHECK(sp_jformat_frame(&b, 7, "tagged", 6, 42) == 0); /* a new entry after it */
        CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == 0);
        CHECK_EQ_INT(entries, 2);
        CHECK_EQ_INT(damaged, 0);
        size_t off = SP_JSEG_HDR;
        int skipped;
        struct sp_jentry e;
        CHECK(sp_jformat_next(b.p, b.len, &off, &e, &skipped) == 1);
        CHECK(e.codec == 0 && e.len == n && memcmp(e.line, line, n) == 0 && e.recv_ns == t);
        CHECK(sp_jformat_next(b.p, b.len, &off, &e, &skipped) == 1);
        CHECK(e.codec == 7 && e.len == 6 && memcmp(e.line, "tagged", 6) == 0 && e.recv_ns == 42);
        /* The codec is covered by the CRC: a flipped tag is damage, not a misroute. */
        b.p[off - 6 - SP_JENTRY_HDR + 7] ^= 0x01;
        CHECK(sp_jformat_check(b.p, b.len, &end, &entries, &damaged, &torn) == 0);
        CHECK_EQ_INT(entries, 1);
        CHECK(sp_jformat_frame(&b, 256, "x", 1, 0) == -EINVAL);
    }

    /* Write the fuzz corpus seeds when asked (tests/fuzz/corpus_jformat). */
    const char *seed_dir = getenv("SP_WRITE_SEEDS");
    if (seed_dir) {
        const char *names[] = {"intact", "damaged", "torn", "damaged_and_torn"};
        for (int k = 0; k < 4; k++) {
            build(&b);
            size_t len = b.len;
            if (k == 1 || k == 3) {
                b.p[starts[4] + SP_JENTRY_HDR + 2] ^= 0x04;
            }
            if (k >= 2) {
                len -= 7;
            }
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", seed_dir, names[k]);
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(b.p, 1, len, f);
                fclose(f);
            }
        }
    }
    sp_buf_free(&b);
    return th_report("test_jformat");
}
