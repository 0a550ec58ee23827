/*
 * test_crc32c.c - CRC-32C against published check values (RFC 3720 B.4 and
 * the "123456789" check value of the Castagnoli polynomial), the hardware and
 * table paths against each other, and incremental use.
 */
#include <stdint.h>
#include <string.h>

#include "crc32c.h"
#include "harness.h"

int main(void)
{
    CHECK_EQ_INT(sp_crc32c(0, "123456789", 9), 0xe3069283u);
    CHECK_EQ_INT(sp_crc32c_portable(0, "123456789", 9), 0xe3069283u);
    CHECK_EQ_INT(sp_crc32c(0, "", 0), 0);

    /* RFC 3720 B.4: 32 bytes of zeros, of ones, increasing, decreasing. */
    uint8_t b[32];
    memset(b, 0, sizeof(b));
    CHECK_EQ_INT(sp_crc32c(0, b, 32), 0x8a9136aau);
    memset(b, 0xff, sizeof(b));
    CHECK_EQ_INT(sp_crc32c(0, b, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++) {
        b[i] = (uint8_t)i;
    }
    CHECK_EQ_INT(sp_crc32c(0, b, 32), 0x46dd794eu);
    CHECK_EQ_INT(sp_crc32c_portable(0, b, 32), 0x46dd794eu);
    for (int i = 0; i < 32; i++) {
        b[i] = (uint8_t)(31 - i);
    }
    CHECK_EQ_INT(sp_crc32c(0, b, 32), 0x113fdb5cu);

    /* Every length and alignment: both paths agree, and a CRC can be continued. */
    uint8_t buf[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    int agree = 1, cont = 1;
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n + off <= sizeof(buf); n += 7) {
            uint32_t a = sp_crc32c(0, buf + off, n);
            agree &= a == sp_crc32c_portable(0, buf + off, n);
            size_t half = n / 3;
            cont &= a == sp_crc32c(sp_crc32c(0, buf + off, half), buf + off + half, n - half);
        }
    }
    CHECK(agree);
    CHECK(cont);
    /* One flipped bit changes the value. */
    uint32_t before = sp_crc32c(0, buf, 200);
    buf[100] ^= 0x10;
    CHECK(sp_crc32c(0, buf, 200) != before);
    return th_report("test_crc32c");
}
