/*
 * test_crypto.c - lib/crypto.c (libcrypto loaded on first use) against
 * published vectors: SHA-256 (FIPS 180-2 appendix B), HMAC-SHA256 (RFC 4231
 * test cases 1 and 2), base64 (RFC 4648 section 10); first use from two
 * threads at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "harness.h"

static int hex_is(const uint8_t *p, size_t n, const char *want)
{
    char got[2 * SP_SHA256_LEN + 1];
    for (size_t i = 0; i < n; i++) {
        snprintf(got + 2 * i, 3, "%02x", p[i]);
    }
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "  got %s want %s\n", got, want);
        return 0;
    }
    return 1;
}

static void *first_use(void *arg)
{
    uint8_t *md = arg;
    const struct sp_iov abc = {"abc", 3};
    return (void *)(long)sp_sha256(&abc, 1, md);
}

/* Two threads make the first call at once: both get the digest. */
static void test_first_use_from_two_threads(void)
{
    uint8_t md[2][SP_SHA256_LEN];
    pthread_t t[2];
    void *rc[2];
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_create(&t[i], NULL, first_use, md[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_join(t[i], &rc[i]) == 0);
        CHECK(rc[i] == NULL);
        CHECK(hex_is(md[i], SP_SHA256_LEN,
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    }
    char err[64];
    CHECK(sp_crypto_load(err, sizeof(err)) == 0);
}

static void test_sha256(void)
{
    uint8_t md[SP_SHA256_LEN];
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    const struct sp_iov whole = {two, strlen(two)};
    CHECK(sp_sha256(&whole, 1, md) == 0);
    CHECK(hex_is(md, SP_SHA256_LEN,
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    /* The same bytes in parts, one of them empty: the same digest. */
    const struct sp_iov parts[] = {{two, 5}, {"", 0}, {two + 5, 50}, {two + 55, strlen(two) - 55}};
    memset(md, 0, sizeof(md));
    CHECK(sp_sha256(parts, 4, md) == 0);
    CHECK(hex_is(md, SP_SHA256_LEN,
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    CHECK(sp_sha256(NULL, 0, md) == 0);
    CHECK(hex_is(md, SP_SHA256_LEN,
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

static void test_hmac_sha256(void)
{
    uint8_t mac[SP_SHA256_LEN];
    uint8_t key1[20];
    memset(key1, 0x0b, sizeof(key1));
    const struct sp_iov hi = {"Hi There", 8};
    CHECK(sp_hmac_sha256(key1, sizeof(key1), &hi, 1, mac) == 0);
    CHECK(hex_is(mac, SP_SHA256_LEN,
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
    const struct sp_iov what[] = {{"what do ya want ", 16}, {"for nothing?", 12}};
    CHECK(sp_hmac_sha256("Jefe", 4, what, 2, mac) == 0);
    CHECK(hex_is(mac, SP_SHA256_LEN,
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
}

static void test_base64(void)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                      "Zm9vYmFy"};
    char buf[16];
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        memset(buf, 'x', sizeof(buf));
        CHECK(sp_base64(in[i], strlen(in[i]), buf, sizeof(buf)) == 0);
        CHECK(strcmp(buf, out[i]) == 0);
    }
    /* "foobar" needs 9 bytes with its NUL. */
    CHECK(sp_base64("foobar", 6, buf, 8) == -ENOBUFS);
    CHECK(sp_base64("foobar", 6, buf, 9) == 0);
}

int main(void)
{
    test_first_use_from_two_threads();
    test_sha256();
    test_hmac_sha256();
    test_base64();
    return th_report("test_crypto");
}
