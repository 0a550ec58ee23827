/*
 * json.c - strict JSON parser into an arena. See json.h.
 *
 * Recursive descent bounded by SP_MAX_JSON_DEPTH. UTF-8 is validated inside
 * strings only (the rest of the grammar is ASCII), so a line is scanned once.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "scan.h"

struct parser {
    const char *p;
    const char *end;
    struct sp_arena *a;
    int err;
    unsigned depth;
};

static void ws(struct parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

/* Length of the valid UTF-8 sequence at p (1-4), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    if (c < 0x80) {
        return 1;
    }
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) {
        return 0;
    }
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

int sp_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t l = utf8_seq(p, end);
        if (l == 0) {
            return 0;
        }
        p += l;
    }
    return 1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote. Strings without escapes point into the input. */
static int parse_string(struct parser *ps, struct sp_str *out)
{
    const char *start = ++ps->p;
    int escaped = 0;
    while (ps->p < ps->end) {
        ps->p += sp_scan_json_plain(ps->p, (size_t)(ps->end - ps->p), 1);
        if (ps->p >= ps->end) {
            break;
        }
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return SPJ_ESYNTAX;
        }
        if (c == '\\') {
            /* Only the escapes JSON defines; anything else is a syntax error,
             * checked here so a multibyte character after a stray backslash is
             * not misread as invalid UTF-8. */
            if (ps->p + 1 >= ps->end || !strchr("\"\\/bfnrtu", ps->p[1]) || ps->p[1] == 0) {
                return SPJ_ESYNTAX;
            }
            escaped = 1;
            ps->p += 2;
            continue;
        }
        size_t l = utf8_seq((const unsigned char *)ps->p, (const unsigned char *)ps->end);
        if (l == 0) {
            return SPJ_EUTF8;
        }
        ps->p += l;
    }
    if (ps->p >= ps->end) {
        return SPJ_ESYNTAX;
    }
    const char *stop = ps->p++; /* past the closing quote */
    if (!escaped) {
        out->p = start;
        out->len = (size_t)(stop - start);
        return SPJ_OK;
    }
    /* Unescaping never makes a string longer. */
    char *d = sp_arena_alloc(ps->a, (size_t)(stop - start) + 1);
    if (d == NULL) {
        return SPJ_ENOMEM;
    }
    size_t o = 0;
    for (const char *s = start; s < stop;) {
        if (*s != '\\') {
            d[o++] = *s++;
            continue;
        }
        s++;
        switch (*s) {
        case '"': d[o++] = '"'; s++; break;
        case '\\': d[o++] = '\\'; s++; break;
        case '/': d[o++] = '/'; s++; break;
        case 'b': d[o++] = '\b'; s++; break;
        case 'f': d[o++] = '\f'; s++; break;
        case 'n': d[o++] = '\n'; s++; break;
        case 'r': d[o++] = '\r'; s++; break;
        case 't': d[o++] = '\t'; s++; break;
        case 'u': {
            unsigned cp;
            if (stop - s < 5 || hex4(s + 1, &cp)) {
                return SPJ_ESYNTAX;
            }
            s += 5;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (stop - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    return SPJ_EUTF8; /* a lone surrogate has no UTF-8 form */
                }
                s += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return SPJ_EUTF8;
            }
            o += put_utf8(d + o, cp);
            break;
        }
        default:
            return SPJ_ESYNTAX;
        }
    }
    d[o] = 0;
    out->p = d;
    out->len = o;
    return SPJ_OK;
}

static int parse_number(struct parser *ps, struct sp_json *v)
{
    const char *s = ps->p;
    const char *p = s;
    int is_int = 1;
    if (p < ps->end && *p == '-') {
        p++;
    }
    if (p >= ps->end) {
        return SPJ_ESYNTAX;
    }
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < ps->end && *p >= '0' && *p <= '9') {
            p++;
        }
    } else {
        return SPJ_ESYNTAX;
    }
    if (p < ps->end && *p == '.') {
        is_int = 0;
        p++;
        if (p >= ps->end || *p < '0' || *p > '9') {
            return SPJ_ESYNTAX;
        }
        while (p < ps->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        p++;
        if (p < ps->end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= ps->end || *p < '0' || *p > '9') {
            return SPJ_ESYNTAX;
        }
        while (p < ps->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    size_t n = (size_t)(p - s);
    v->type = SPJ_NUMBER;
    if (is_int && n <= 16) {
        /* Up to 15 digits (and a sign): exact in int64 and in a double, so
         * neither strtoll nor strtod is needed for the common case. */
        const char *q = s;
        int neg = *q == '-';
        q += neg;
        int64_t x = 0;
        while (q < p) {
            x = x * 10 + (*q++ - '0');
        }
        if (p - s - neg <= 15) {
            v->i = neg ? -x : x;
            v->d = (double)v->i;
            v->is_int = 1;
            ps->p = p;
            return SPJ_OK;
        }
    }
    char tmp[64];
    char *z = tmp;
    if (n >= sizeof(tmp)) {
        z = sp_arena_alloc(ps->a, n + 1);
        if (z == NULL) {
            return SPJ_ENOMEM;
        }
    }
    memcpy(z, s, n);
    z[n] = 0;
    v->d = strtod(z, NULL);
    if (is_int) {
        errno = 0;
        long long ll = strtoll(z, NULL, 10);
        if (errno == 0) {
            v->is_int = 1;
            v->i = ll;
        }
    }
    ps->p = p;
    return SPJ_OK;
}

static int parse_value(struct parser *ps, struct sp_json *v);

static int parse_container(struct parser *ps, struct sp_json *v, int object)
{
    if (++ps->depth > SP_MAX_JSON_DEPTH) {
        return SPJ_EDEPTH;
    }
    char close = object ? '}' : ']';
    v->type = object ? SPJ_OBJECT : SPJ_ARRAY;
    ps->p++;
    ws(ps);
    struct sp_json **tail = &v->child;
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return SPJ_OK;
    }
    for (;;) {
        struct sp_json *c = sp_arena_calloc(ps->a, sizeof(*c));
        if (c == NULL) {
            return SPJ_ENOMEM;
        }
        int rc;
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                return SPJ_ESYNTAX;
            }
            if ((rc = parse_string(ps, &c->key))) {
                return rc;
            }
            ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                return SPJ_ESYNTAX;
            }
            ps->p++;
            ws(ps);
        }
        if ((rc = parse_value(ps, c))) {
            return rc;
        }
        *tail = c;
        tail = &c->next;
        v->n++;
        ws(ps);
        if (ps->p >= ps->end) {
            return SPJ_ESYNTAX;
        }
        if (*ps->p == ',') {
            ps->p++;
            ws(ps);
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            ps->depth--;
            return SPJ_OK;
        }
        return SPJ_ESYNTAX;
    }
}

static int literal(struct parser *ps, const char *lit, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0) {
        return SPJ_ESYNTAX;
    }
    ps->p += n;
    return SPJ_OK;
}

static int parse_value(struct parser *ps, struct sp_json *v)
{
    if (ps->p >= ps->end) {
        return SPJ_ESYNTAX;
    }
    switch (*ps->p) {
    case '{':
        return parse_container(ps, v, 1);
    case '[':
        return parse_container(ps, v, 0);
    case '"':
        v->type = SPJ_STRING;
        return parse_string(ps, &v->s);
    case 't':
        v->type = SPJ_TRUE;
        return literal(ps, "true", 4);
    case 'f':
        v->type = SPJ_FALSE;
        return literal(ps, "false", 5);
    case 'n':
        v->type = SPJ_NULL;
        return literal(ps, "null", 4);
    default:
        return parse_number(ps, v);
    }
}

int sp_json_parse(struct sp_arena *a, const char *p, size_t n, struct sp_json **out)
{
    struct parser ps = {.p = p, .end = p + n, .a = a};
    struct sp_json *v = sp_arena_calloc(a, sizeof(*v));
    if (v == NULL) {
        return SPJ_ENOMEM;
    }
    ws(&ps);
    int rc = parse_value(&ps, v);
    if (rc) {
        /* Report invalid UTF-8 anywhere in a line as bad_utf8 rather than as a
         * syntax error, whichever the parser met first. */
        if (rc == SPJ_ESYNTAX && !sp_utf8_valid(p, n)) {
            return SPJ_EUTF8;
        }
        return rc;
    }
    ws(&ps);
    if (ps.p != ps.end) {
        return sp_utf8_valid(p, n) ? SPJ_ESYNTAX : SPJ_EUTF8;
    }
    *out = v;
    return SPJ_OK;
}

const struct sp_json *sp_json_getn(const struct sp_json *obj, const char *key, size_t kl)
{
    if (obj == NULL || obj->type != SPJ_OBJECT) {
        return NULL;
    }
    for (const struct sp_json *c = obj->child; c; c = c->next) {
        if (c->key.len == kl && memcmp(c->key.p, key, kl) == 0) {
            return c;
        }
    }
    return NULL;
}
