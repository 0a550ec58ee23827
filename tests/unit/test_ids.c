/*
 * test_ids.c - derived ids against the test vectors of docs/protocol.md
 * ("Derived ids" / "Test vectors"), W3C traceparent, X-Ray, hex.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "ids.h"

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int hex_is(const uint8_t *p, size_t n, const char *want)
{
    char got[128];
    to_hex(p, n, got);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "  got %s want %s\n", got, want);
        return 0;
    }
    return 1;
}

/* The table of docs/protocol.md, hard-coded. */
static void test_vectors(void)
{
    uint8_t t[16], s[8];
    /* order-7731 (6f726465722d37373331) */
    const char *c1 = "\x6f\x72\x64\x65\x72\x2d\x37\x37\x33\x31";
    CHECK(strcmp(c1, "order-7731") == 0);
    sp_id_trace(c1, strlen(c1), t);
    CHECK(hex_is(t, 16, "0e5b073b0ebc6fd35dba979f58beeee3"));
    sp_id_workflow_span(c1, strlen(c1), s);
    CHECK(hex_is(s, 8, "b77d3f462ad75805"));

    /* a (61) / inv-1 */
    sp_id_trace("a", 1, t);
    CHECK(hex_is(t, 16, "ca2611f8ef52c1fa0e0462a9f295c9b0"));
    sp_id_workflow_span("a", 1, s);
    CHECK(hex_is(s, 8, "ed50383da781cafc"));
    sp_id_invocation_span("a", 1, "inv-1", 5, s);
    CHECK(hex_is(s, 8, "4f20f85178b3b15c"));

    /* café-1 with precomposed U+00E9 (636166c3a92d31) */
    const char *c3 = "\x63\x61\x66\xc3\xa9\x2d\x31";
    sp_id_trace(c3, strlen(c3), t);
    CHECK(hex_is(t, 16, "f09cc994922ecc364d2e85f3e03af5a8"));
    sp_id_workflow_span(c3, strlen(c3), s);
    CHECK(hex_is(s, 8, "9283596ecc01d8e5"));

    /* bytes as they arrived: the decomposed form (e + U+0301) is another id */
    const char *c3d = "cafe\xcc\x81-1";
    uint8_t t3[16];
    sp_id_trace(c3, strlen(c3), t3);
    sp_id_trace(c3d, strlen(c3d), t);
    CHECK(memcmp(t, t3, 16) != 0);

    /* no case folding, no trimming */
    sp_id_trace("Order-7731", 10, t);
    CHECK(memcmp(t, "\x0e\x5b\x07\x3b", 4) != 0);
    sp_id_trace("order-7731 ", 11, t);
    CHECK(memcmp(t, "\x0e\x5b\x07\x3b", 4) != 0);

    /* the three derivations are separated by their prefixes, and the NUL
     * separator keeps (cid, inv) pairs apart: ("a","b-c") != ("a-b","c") */
    uint8_t s1[8], s2[8];
    sp_id_invocation_span("a", 1, "bc", 2, s1);
    sp_id_invocation_span("ab", 2, "c", 1, s2);
    CHECK(memcmp(s1, s2, 8) != 0);
    uint8_t w[8], tr[16];
    sp_id_workflow_span("x", 1, w);
    sp_id_trace("x", 1, tr);
    CHECK(memcmp(w, tr, 8) != 0);

    /* deterministic and non-zero; long ids (heap path) work */
    char big[3000];
    memset(big, 'z', sizeof(big));
    uint8_t b1[8], b2[8];
    sp_id_invocation_span("cid", 3, big, sizeof(big), b1);
    sp_id_invocation_span("cid", 3, big, sizeof(big), b2);
    CHECK(memcmp(b1, b2, 8) == 0);
    CHECK(!sp_id_is_zero(b1, 8));
    uint8_t b3[8];
    sp_id_invocation_span("cid", 3, big, sizeof(big) - 1, b3);
    CHECK(memcmp(b1, b3, 8) != 0);
    /* empty invocation id still has its separator */
    uint8_t e1[8], e2[8];
    sp_id_invocation_span("a", 1, "", 0, e1);
    sp_id_workflow_span("a", 1, e2);
    CHECK(memcmp(e1, e2, 8) != 0);
}

static void test_traceparent(void)
{
    uint8_t t[16], p[8];
    const char *ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    memset(t, 0, 16);
    memset(p, 0, 8);
    CHECK_EQ_INT(sp_traceparent_parse(ok, strlen(ok), t, p), 0);
    CHECK(hex_is(t, 16, "4bf92f3577b34da6a3ce929d0e0e4736"));
    CHECK(hex_is(p, 8, "00f067aa0ba902b7"));
    /* flags 00 is fine */
    const char *f0 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    CHECK_EQ_INT(sp_traceparent_parse(f0, strlen(f0), t, p), 0);

    /* future version with extra fields: valid, the first four are used */
    const char *fut = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz";
    memset(t, 0, 16);
    CHECK_EQ_INT(sp_traceparent_parse(fut, strlen(fut), t, p), 0);
    CHECK(hex_is(t, 16, "4bf92f3577b34da6a3ce929d0e0e4736"));
    CHECK(hex_is(p, 8, "00f067aa0ba902b7"));
    const char *fut2 = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    CHECK_EQ_INT(sp_traceparent_parse(fut2, strlen(fut2), t, p), 0);
    /* future version, something after flags that is not "-": invalid */
    const char *fut3 = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01xyz";
    CHECK(sp_traceparent_parse(fut3, strlen(fut3), t, p) != 0);

    static const char *const bad[] = {
        /* upper-case hex */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* version ff is forbidden */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* all-zero ids */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* version 00 with extra fields */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        /* wrong lengths and separators */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        /* non-hex */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00-xyz",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = sp_traceparent_parse(bad[i], strlen(bad[i]), t, p);
        if (rc == 0) {
            fprintf(stderr, "  traceparent #%zu <%s> accepted\n", i, bad[i]);
        }
        CHECK(rc != 0);
    }
}

static void test_xray(void)
{
    uint8_t t[16], p[8];
    int hp = -1;
    const char *h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    CHECK_EQ_INT(sp_xray_parse(h, strlen(h), t, p, &hp), 0);
    CHECK(hex_is(t, 16, "5759e988bd862e3fe1be46a994272793"));
    CHECK(hex_is(p, 8, "53995c3f42cd8ad8"));
    CHECK_EQ_INT(hp, 1);

    /* no Parent */
    hp = -1;
    const char *np = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0";
    CHECK_EQ_INT(sp_xray_parse(np, strlen(np), t, p, &hp), 0);
    CHECK(hex_is(t, 16, "5759e988bd862e3fe1be46a994272793"));
    CHECK_EQ_INT(hp, 0);
    const char *only = "Root=1-5759e988-bd862e3fe1be46a994272793";
    CHECK_EQ_INT(sp_xray_parse(only, strlen(only), t, p, &hp), 0);
    CHECK_EQ_INT(hp, 0);

    /* other order, unknown keys, spaces after ';' */
    const char *ord = "Sampled=1; Parent=53995c3f42cd8ad8; Lineage=a87bd80c:1|68fd508a:5; "
                      "Root=1-5759e988-bd862e3fe1be46a994272793";
    memset(t, 0, 16);
    CHECK_EQ_INT(sp_xray_parse(ord, strlen(ord), t, p, &hp), 0);
    CHECK(hex_is(t, 16, "5759e988bd862e3fe1be46a994272793"));
    CHECK(hex_is(p, 8, "53995c3f42cd8ad8"));
    CHECK_EQ_INT(hp, 1);

    static const char *const bad[] = {
        "",
        "Parent=53995c3f42cd8ad8;Sampled=1",                         /* no Root */
        "Root=2-5759e988-bd862e3fe1be46a994272793",                  /* version 2 */
        "Root=1-5759e98-bd862e3fe1be46a994272793",                   /* short epoch */
        "Root=1-5759e988-bd862e3fe1be46a99427279",                   /* short random */
        "Root=1-5759e988-bd862e3fe1be46a9942727933",                 /* long random */
        "Root=1-5759e988_bd862e3fe1be46a994272793",                  /* separator */
        "Root=1-5759e98x-bd862e3fe1be46a994272793",                  /* non-hex */
        "Root=1-00000000-000000000000000000000000",                  /* zero trace id */
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f",  /* short parent */
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8adx",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = sp_xray_parse(bad[i], strlen(bad[i]), t, p, &hp);
        if (rc == 0) {
            fprintf(stderr, "  xray #%zu <%s> accepted\n", i, bad[i]);
        }
        CHECK(rc != 0);
    }
}

static void test_hex(void)
{
    uint8_t out[8];
    CHECK_EQ_INT(sp_hex_decode("0123456789abcdef", 16, out, 8), 0);
    CHECK(memcmp(out, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8) == 0);
    CHECK_EQ_INT(sp_hex_decode("0123456789ABCDEF", 16, out, 8), 0); /* upper case accepted */
    CHECK(memcmp(out, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8) == 0);
    CHECK_EQ_INT(sp_hex_decode("5f1c0a2b3c4d5e6f", 16, out, 8), 0);
    CHECK(hex_is(out, 8, "5f1c0a2b3c4d5e6f"));
    CHECK_EQ_INT(sp_hex_decode("0000000000000001", 16, out, 8), 0);
    CHECK(out[7] == 1 && sp_id_is_zero(out, 7));
    CHECK(sp_hex_decode("0000000000000000", 16, out, 8) != 0); /* all zero */
    CHECK(sp_hex_decode("0123456789abcde", 15, out, 8) != 0);  /* odd length */
    CHECK(sp_hex_decode("0123456789abcdef0", 17, out, 8) != 0);
    CHECK(sp_hex_decode("0123456789abcdef01", 18, out, 8) != 0); /* too long */
    CHECK(sp_hex_decode("0123456789abcdeg", 16, out, 8) != 0);   /* non-hex */
    CHECK(sp_hex_decode("0123456789abcde ", 16, out, 8) != 0);
    CHECK(sp_hex_decode("-123456789abcdef", 16, out, 8) != 0);
    CHECK(sp_hex_decode("", 0, out, 8) != 0);
    uint8_t one[1];
    CHECK_EQ_INT(sp_hex_decode("ff", 2, one, 1), 0);
    CHECK(one[0] == 0xff);

    CHECK(sp_id_is_zero((const uint8_t *)"\0\0\0", 3));
    CHECK(!sp_id_is_zero((const uint8_t *)"\0\0\1", 3));
}

static void test_rng(void)
{
    struct sp_rng r;
    sp_rng_seed(&r);
    uint8_t ids[64][8];
    for (int i = 0; i < 64; i++) {
        sp_rng_span_id(&r, ids[i]);
        CHECK(!sp_id_is_zero(ids[i], 8));
    }
    int dup = 0;
    for (int i = 0; i < 64; i++) {
        for (int j = i + 1; j < 64; j++) {
            dup += memcmp(ids[i], ids[j], 8) == 0;
        }
    }
    CHECK_EQ_INT(dup, 0);
}

int main(void)
{
    test_vectors();
    test_traceparent();
    test_xray();
    test_hex();
    test_rng();
    return th_report("test_ids");
}
