/*
 * test_lambda_register.c - the Lambda extension's register answer, read
 * without libcurl (collectors/lambda/register.c): a head split anywhere,
 * the identifier header in any case, a refusal, a missing identifier, and
 * what is no HTTP answer.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "register.h"

static const char ok[] = "HTTP/1.1 200 OK\r\n"
                         "Content-Type: application/json\r\n"
                         "lambda-extension-identifier:  ext-42 \r\n"
                         "Content-Length: 2\r\n\r\n{}";

int main(void)
{
    long st = 0;
    char id[64];
    /* Every split of the head is "more", then the whole is complete. */
    size_t head = strstr(ok, "\r\n\r\n") + 4 - ok;
    int more = 1;
    for (size_t n = 1; n < head; n++) {
        more &= lambda_register_parse(ok, n, &st, id, sizeof(id)) == 0;
    }
    CHECK(more);
    CHECK_EQ_INT(lambda_register_parse(ok, head, &st, id, sizeof(id)), 1);
    CHECK_EQ_INT(st, 200);
    CHECK(strcmp(id, "ext-42") == 0);
    CHECK_EQ_INT(lambda_register_parse(ok, sizeof(ok) - 1, &st, id, sizeof(id)), 1);

    static const char refused[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    CHECK_EQ_INT(lambda_register_parse(refused, strlen(refused), &st, id, sizeof(id)), 1);
    CHECK_EQ_INT(st, 403);
    CHECK(id[0] == '\0');

    static const char bad[] = "SSH-2.0-OpenSSH\r\n\r\n";
    CHECK_EQ_INT(lambda_register_parse(bad, strlen(bad), &st, id, sizeof(id)), -EBADMSG);
    static const char badst[] = "HTTP/1.1 2x0 OK\r\n\r\n";
    CHECK_EQ_INT(lambda_register_parse(badst, strlen(badst), &st, id, sizeof(id)), -EBADMSG);
    /* An identifier longer than the caller's buffer is refused, not cut. */
    CHECK_EQ_INT(lambda_register_parse(ok, head, &st, id, 4), -EBADMSG);

    /* Not a numeric address: the caller registers through libcurl instead. */
    CHECK_EQ_INT(lambda_register_send("localhost:9001", 0, 100), -EAFNOSUPPORT);
    CHECK_EQ_INT(lambda_register_send("127.0.0.1", 0, 100), -EAFNOSUPPORT);
    return th_report("test_lambda_register");
}
