/*
 * scan.h - the run of bytes JSON strings carry as they are, found eight bytes
 * at a time. Reading and writing JSON strings spends most of its time walking
 * plain ASCII to the next byte that needs a look: '"', '\\', a control byte
 * (< 0x20) and, for a reader that validates UTF-8, any byte >= 0x80.
 *
 * Word at a time: for each kind of stop byte, the classic "has a zero byte"
 * test ((x - 0x01..) & ~x & 0x80..) on x with the stop value xor-ed out. It
 * can also flag bytes above a real hit (the borrow runs upward), never below
 * one, so on a little-endian load the lowest flag is the first stop byte.
 * Callers then look at that byte themselves.
 */
#ifndef SP_SCAN_H
#define SP_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SP_SCAN_ONES 0x0101010101010101ull
#define SP_SCAN_HIGHS 0x8080808080808080ull

static inline uint64_t sp_scan_zero_bytes(uint64_t x)
{
    return (x - SP_SCAN_ONES) & ~x & SP_SCAN_HIGHS;
}

/* Index of the first byte of p[0..n) that is '"', '\\' or < 0x20, or (when
 * `high`) >= 0x80; n when there is none. */
static inline size_t sp_scan_json_plain(const char *p, size_t n, int high)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        /* bytes < 0x20: (x - 0x20..) & ~x & 0x80.., exact for the lowest hit */
        uint64_t m = ((x - 0x2020202020202020ull) & ~x & SP_SCAN_HIGHS) |
                     sp_scan_zero_bytes(x ^ 0x2222222222222222ull) |
                     sp_scan_zero_bytes(x ^ 0x5c5c5c5c5c5c5c5cull);
        if (high) {
            m |= x & SP_SCAN_HIGHS;
        }
        if (m) {
            return i + (size_t)(__builtin_ctzll(m) >> 3);
        }
    }
#endif
    for (; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == '"' || c == '\\' || (high && c >= 0x80)) {
            return i;
        }
    }
    return n;
}

#endif
