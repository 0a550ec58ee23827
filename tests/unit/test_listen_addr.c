/*
 * test_listen_addr.c - the listener address syntax (net/listen_addr.h) and
 * the check that refuses an export URL reaching one of spindle's listeners.
 */
#include <string.h>

#include "harness.h"
#include "listen_addr.h"

static int parses(const char *s, int kind)
{
    struct sp_listen_addr a;
    const char *why;
    return sp_listen_addr_parse(s, &a, &why) == 0 && a.kind == kind;
}

static int reaches(const char *listen, const char *url)
{
    struct sp_listen_addr a;
    const char *why;
    return sp_listen_addr_parse(listen, &a, &why) == 0 && sp_listen_addr_reaches_url(&a, url);
}

int main(void)
{
    CHECK(parses("off", SP_LISTEN_OFF));
    CHECK(parses("127.0.0.1:4318", SP_LISTEN_TCP));
    CHECK(parses("0.0.0.0:0", SP_LISTEN_TCP));
    CHECK(parses("[::1]:4318", SP_LISTEN_TCP));
    CHECK(parses("localhost:4318", SP_LISTEN_TCP));
    CHECK(parses("unix:/run/spindle/otlp.sock", SP_LISTEN_UNIX));
    const char *bad[] = {"", "4318", ":4318", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                         "127.0.0.1:+5", "example.com:80", "::1:4318", "[::1:4318", "unix:",
                         "127.0.0.1:43x8", "OFF"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_listen_addr a;
        const char *why = NULL;
        int rc = sp_listen_addr_parse(bad[i], &a, &why);
        CHECK(rc != 0 && why != NULL);
        if (rc == 0) {
            fprintf(stderr, "  accepted: '%s'\n", bad[i]);
        }
    }
    struct sp_listen_addr a;
    const char *why;
    CHECK(sp_listen_addr_parse("localhost:4318", &a, &why) == 0 && strcmp(a.host, "127.0.0.1") == 0);

    CHECK(reaches("127.0.0.1:4318", "http://127.0.0.1:4318"));
    CHECK(reaches("127.0.0.1:4318", "http://localhost:4318/v1/traces"));
    CHECK(reaches("127.0.0.1:4318", "https://user:pw@localhost:4318?x=1"));
    CHECK(reaches("0.0.0.0:4318", "http://127.0.0.2:4318"));
    CHECK(reaches("[::]:4400", "http://[::1]:4400"));
    CHECK(reaches("127.0.0.1:80", "http://127.0.0.1/"));
    CHECK(!reaches("127.0.0.1:4318", "http://127.0.0.1:4319"));
    CHECK(!reaches("127.0.0.1:4318", "http://collector:4318"));
    CHECK(!reaches("127.0.0.1:0", "http://127.0.0.1:0"));
    CHECK(!reaches("off", "http://127.0.0.1:4318"));
    CHECK(!reaches("unix:/tmp/x.sock", "http://localhost:4318"));
    CHECK(!reaches("10.0.0.1:4318", "http://127.0.0.1:4318"));
    return th_report("test_listen_addr");
}
