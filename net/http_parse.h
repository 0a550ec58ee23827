/*
 * http_parse.h - the seam between spindle's HTTP server and the HTTP/1.x
 * request parser underneath it.
 *
 * Today the parser is Debian's libhttp-parser (2.9, node's former parser:
 * archived upstream but stable). Only http_parse.c includes its header, so
 * replacing it (llhttp, picohttpparser, our own) touches that one file.
 *
 * The parser is incremental: it may be fed a request split at any byte. It
 * stops after each complete message (sp_http_parse_feed() returns
 * SP_HTTP_PARSE_DONE), so the caller can answer pipelined requests one at a
 * time and keep the rest of its buffer for later. Chunked bodies arrive
 * decoded through on_body. Data passed to callbacks points into the caller's
 * buffer and is valid only during the call.
 */
#ifndef SP_HTTP_PARSE_H
#define SP_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct sp_http_parse;

/* What the request line and headers said, given once per message. */
struct sp_http_parse_info {
    const char *method;      /* upper case, NUL-terminated, static */
    unsigned http_major;
    unsigned http_minor;
    int keep_alive;          /* the connection may carry another request after this one */
    int chunked;             /* Transfer-Encoding: chunked */
    int has_length;          /* a Content-Length was given ... */
    uint64_t content_length; /* ... with this value */
    int upgrade;             /* Upgrade or CONNECT: the bytes after this message are not HTTP */
};

/* Every callback returns 0 to go on, non-zero to stop the parser (feed then
 * returns SP_HTTP_PARSE_ECALLBACK). Field and value bytes may arrive in
 * several calls: a field call after a value call starts a new header. */
struct sp_http_parse_cbs {
    int (*on_begin)(void *ud);
    int (*on_url)(void *ud, const char *p, size_t n);
    int (*on_header_field)(void *ud, const char *p, size_t n);
    int (*on_header_value)(void *ud, const char *p, size_t n);
    int (*on_headers)(void *ud, const struct sp_http_parse_info *info);
    int (*on_body)(void *ud, const char *p, size_t n);
};

enum {
    SP_HTTP_PARSE_MORE = 0,        /* everything consumed; the message is not complete */
    SP_HTTP_PARSE_DONE = 1,        /* one message complete; *used says where it ended */
    SP_HTTP_PARSE_EMALFORMED = -1, /* not HTTP/1.x, or framing that could smuggle */
    SP_HTTP_PARSE_EHEADERS = -2,   /* headers longer than the parser's own ceiling */
    SP_HTTP_PARSE_ECALLBACK = -3,  /* a callback returned non-zero */
};

/* 0, or -ENOMEM. The callbacks and ud are kept (not copied: cbs must outlive p). */
int sp_http_parse_new(struct sp_http_parse **out, const struct sp_http_parse_cbs *cbs, void *ud);
void sp_http_parse_free(struct sp_http_parse *p);

/* Feeds n > 0 bytes. *used is set to the bytes consumed: all of them for
 * SP_HTTP_PARSE_MORE, up to the end of the message for SP_HTTP_PARSE_DONE.
 * After an error the parser is dead (the connection must be closed). */
int sp_http_parse_feed(struct sp_http_parse *p, const char *data, size_t n, size_t *used);

/* A short name of the last error, for logs. */
const char *sp_http_parse_error(const struct sp_http_parse *p);

#endif
