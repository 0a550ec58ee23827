/*
 * http_parse.c - struct sp_http_parse over libhttp-parser 2.9.
 *
 * The parser is paused from on_message_complete so that one feed never runs
 * past the end of a message: the server answers pipelined requests in order
 * and must stop reading ahead when too many wait. http_parser's own header
 * ceiling (HTTP_MAX_HEADER_SIZE, 80 KiB, process-wide) is left alone: the
 * server enforces its own, smaller cap per request on what it stores.
 */
#include "http_parse.h"

#include <errno.h>
#include <http_parser.h>
#include <stdlib.h>

struct sp_http_parse {
    http_parser hp;                    /* hp.data points back here */
    const struct sp_http_parse_cbs *cbs;
    void *ud;
    int done;                          /* on_message_complete ran in this feed */
};

static struct sp_http_parse *self(http_parser *hp)
{
    return hp->data;
}

static int on_begin(http_parser *hp)
{
    struct sp_http_parse *p = self(hp);
    return p->cbs->on_begin(p->ud);
}

static int on_url(http_parser *hp, const char *at, size_t n)
{
    struct sp_http_parse *p = self(hp);
    return p->cbs->on_url(p->ud, at, n);
}

static int on_field(http_parser *hp, const char *at, size_t n)
{
    struct sp_http_parse *p = self(hp);
    return p->cbs->on_header_field(p->ud, at, n);
}

static int on_value(http_parser *hp, const char *at, size_t n)
{
    struct sp_http_parse *p = self(hp);
    return p->cbs->on_header_value(p->ud, at, n);
}

static int on_headers(http_parser *hp)
{
    struct sp_http_parse *p = self(hp);
    struct sp_http_parse_info info = {
        .method = http_method_str((enum http_method)hp->method),
        .http_major = hp->http_major,
        .http_minor = hp->http_minor,
        .keep_alive = http_should_keep_alive(hp),
        .chunked = (hp->flags & F_CHUNKED) != 0,
        .has_length = (hp->flags & F_CONTENTLENGTH) != 0,
        .content_length = (hp->flags & F_CONTENTLENGTH) ? hp->content_length : 0,
        .upgrade = hp->upgrade || hp->method == HTTP_CONNECT,
    };
    /* A non-zero return here would mean "no body" to http_parser (it is the
     * one callback whose return value is not an error flag): map ours to -1,
     * which http_parser treats as an error. */
    return p->cbs->on_headers(p->ud, &info) ? -1 : 0;
}

static int on_body(http_parser *hp, const char *at, size_t n)
{
    struct sp_http_parse *p = self(hp);
    return p->cbs->on_body(p->ud, at, n);
}

static int on_complete(http_parser *hp)
{
    struct sp_http_parse *p = self(hp);
    p->done = 1;
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

int sp_http_parse_new(struct sp_http_parse **out, const struct sp_http_parse_cbs *cbs, void *ud)
{
    struct sp_http_parse *p = calloc(1, sizeof(*p));
    if (!p) {
        return -ENOMEM;
    }
    http_parser_init(&p->hp, HTTP_REQUEST);
    p->hp.data = p;
    p->cbs = cbs;
    p->ud = ud;
    *out = p;
    return 0;
}

void sp_http_parse_free(struct sp_http_parse *p)
{
    free(p);
}

int sp_http_parse_feed(struct sp_http_parse *p, const char *data, size_t n, size_t *used)
{
    if (HTTP_PARSER_ERRNO(&p->hp) == HPE_PAUSED) {
        http_parser_pause(&p->hp, 0);
    }
    p->done = 0;
    *used = http_parser_execute(&p->hp, &settings, data, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
    if (p->done && (e == HPE_PAUSED || e == HPE_OK)) {
        return SP_HTTP_PARSE_DONE;
    }
    switch (e) {
    case HPE_OK:
        /* An upgrade stops the parser before the end of the data without an
         * error; it only happens after a complete message (handled above). */
        return SP_HTTP_PARSE_MORE;
    case HPE_HEADER_OVERFLOW:
        return SP_HTTP_PARSE_EHEADERS;
    case HPE_CB_message_begin:
    case HPE_CB_url:
    case HPE_CB_header_field:
    case HPE_CB_header_value:
    case HPE_CB_headers_complete:
    case HPE_CB_body:
        return SP_HTTP_PARSE_ECALLBACK;
    default:
        return SP_HTTP_PARSE_EMALFORMED;
    }
}

const char *sp_http_parse_error(const struct sp_http_parse *p)
{
    return http_errno_name(HTTP_PARSER_ERRNO(&p->hp));
}
