/*
 * test_scan.c - the word-at-a-time JSON string scanner (lib/scan.h) against
 * a byte-at-a-time reference, at every length and alignment, with every byte
 * value; sp_buf_add_json_str (which uses it) against a plain escaper; and the
 * two-digits-at-a-time integer writer against printf.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "scan.h"

static size_t ref_scan(const char *p, size_t n, int high)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == '"' || c == '\\' || (high && c >= 0x80)) {
            return i;
        }
    }
    return n;
}

static void ref_escape(const char *p, size_t n, char *out, size_t *len)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        default: break;
        }
        if (e) {
            memcpy(out + o, e, 2);
            o += 2;
        } else if (c < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    *len = o;
}

int main(void)
{
    static char buf[256 + 16];
    uint32_t x = 1;
    int scans = 1, escapes = 1;
    struct sp_buf b;
    sp_buf_init(&b, 1u << 20);
    static char want[256 * 6 + 2];
    for (int round = 0; round < 4000; round++) {
        /* Mostly plain ASCII with a stop byte or two placed anywhere. */
        size_t n = (size_t)(round % 97);
        size_t off = (size_t)(round % 8);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[off + i] = (char)(0x20 + (x >> 16) % 0x5e);
            if (buf[off + i] == '"' || buf[off + i] == '\\') {
                buf[off + i] = 'a';
            }
        }
        for (int k = 0; k < round % 3 && n; k++) {
            x = x * 1103515245u + 12345u;
            buf[off + (x >> 8) % n] = (char)((x >> 16) & 0xff); /* any byte value */
        }
        for (int high = 0; high < 2; high++) {
            scans &= sp_scan_json_plain(buf + off, n, high) == ref_scan(buf + off, n, high);
        }
        size_t wl;
        ref_escape(buf + off, n, want, &wl);
        sp_buf_reset(&b);
        escapes &= sp_buf_add_json_str(&b, buf + off, n) == 0 && b.len == wl &&
                   memcmp(b.p, want, wl) == 0;
    }
    CHECK(scans);
    CHECK(escapes);
    /* Each stop value alone, at each position of a 16-byte run. */
    int each = 1;
    const unsigned char stops[] = {0x00, 0x01, 0x1f, '"', '\\', 0x80, 0xc3, 0xff};
    for (size_t s = 0; s < sizeof(stops); s++) {
        for (size_t pos = 0; pos < 16; pos++) {
            memset(buf, 'x', 16);
            buf[pos] = (char)stops[s];
            for (int high = 0; high < 2; high++) {
                each &= sp_scan_json_plain(buf, 16, high) == ref_scan(buf, 16, high);
            }
        }
    }
    CHECK(each);
    /* Bytes just above each boundary are plain. */
    memset(buf, 0x20, 16);
    buf[3] = 0x21;
    buf[4] = 0x23;
    buf[5] = 0x5b;
    buf[6] = 0x5d;
    buf[7] = 0x7f;
    CHECK_EQ_INT(sp_scan_json_plain(buf, 16, 1), 16);
    /* sp_buf_add_u64 / _i64 against printf, at every power of ten and randomly. */
    int ints = 1;
    for (int k = 0; k < 20000; k++) {
        uint64_t v;
        if (k < 64) {
            v = k < 20 ? (uint64_t)k : 0;
            for (int p = 0; k >= 20 && p < (k - 20) % 20; p++) {
                v = v * 10 + 9;
            }
        } else {
            x = x * 1103515245u + 12345u;
            v = ((uint64_t)x << 32 | (x * 2654435761u)) >> (k % 64);
        }
        char want2[32];
        sp_buf_reset(&b);
        ints &= sp_buf_add_u64(&b, v) == 0;
        int wn = snprintf(want2, sizeof(want2), "%llu", (unsigned long long)v);
        ints &= b.len == (size_t)wn && memcmp(b.p, want2, b.len) == 0;
        int64_t sv = (int64_t)v * (k % 2 ? -1 : 1);
        sp_buf_reset(&b);
        ints &= sp_buf_add_i64(&b, sv) == 0;
        wn = snprintf(want2, sizeof(want2), "%lld", (long long)sv);
        ints &= b.len == (size_t)wn && memcmp(b.p, want2, b.len) == 0;
    }
    sp_buf_reset(&b);
    ints &= sp_buf_add_u64(&b, UINT64_MAX) == 0 && b.len == 20 &&
            memcmp(b.p, "18446744073709551615", 20) == 0;
    sp_buf_reset(&b);
    ints &= sp_buf_add_i64(&b, INT64_MIN) == 0 && b.len == 20 &&
            memcmp(b.p, "-9223372036854775808", 20) == 0;
    CHECK(ints);
    sp_buf_free(&b);
    return th_report("test_scan");
}
