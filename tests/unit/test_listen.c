/*
 * test_listen.c - the listen-address syntax (lib/listen.h): what is taken,
 * what is refused and why.
 */
#include <string.h>

#include "harness.h"
#include "listen_addr.h"

int main(void)
{
    struct sp_listen_addr a;
    const char *why = NULL;
    CHECK(sp_listen_addr_parse("off", &a, &why) == 0 && a.kind == SP_LISTEN_OFF);
    CHECK(sp_listen_addr_parse("127.0.0.1:9464", &a, &why) == 0 && a.kind == SP_LISTEN_TCP &&
          strcmp(a.host, "127.0.0.1") == 0 && a.port == 9464);
    CHECK(sp_listen_addr_parse("0.0.0.0:0", &a, &why) == 0 && a.port == 0);
    CHECK(sp_listen_addr_parse("localhost:65535", &a, &why) == 0 && a.port == 65535);
    CHECK(sp_listen_addr_parse("[::1]:80", &a, &why) == 0 && strcmp(a.host, "::1") == 0 && a.port == 80);
    CHECK(sp_listen_addr_parse("unix:/run/s.sock", &a, &why) == 0 && a.kind == SP_LISTEN_UNIX &&
          strcmp(a.path, "/run/s.sock") == 0);
    /* refused */
    CHECK(sp_listen_addr_parse("127.0.0.1:65536", &a, &why) != 0 && strstr(why, "port"));
    CHECK(sp_listen_addr_parse("127.0.0.1:", &a, &why) != 0);
    CHECK(sp_listen_addr_parse("127.0.0.1:-1", &a, &why) != 0);
    CHECK(sp_listen_addr_parse("127.0.0.1:80x", &a, &why) != 0);
    CHECK(sp_listen_addr_parse(":9464", &a, &why) != 0);
    CHECK(sp_listen_addr_parse("9464", &a, &why) != 0);
    CHECK(sp_listen_addr_parse("example.com:80", &a, &why) != 0 && strstr(why, "numeric"));
    CHECK(sp_listen_addr_parse("::1:80", &a, &why) != 0 && strstr(why, "brackets"));
    CHECK(sp_listen_addr_parse("unix:", &a, &why) != 0);
    char longp[200] = "unix:/";
    memset(longp + 6, 'a', 150);
    longp[156] = 0;
    CHECK(sp_listen_addr_parse(longp, &a, &why) != 0 && strstr(why, "longer"));
    CHECK(sp_listen_addr_parse("OFF", &a, &why) != 0);
    return th_report("test_listen");
}
