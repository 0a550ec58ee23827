/*
 * test_json.c - sp_json_parse / sp_json_get / sp_utf8_valid: every value kind,
 * integers vs doubles, escapes, UTF-8 validation, syntax errors, depth.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "harness.h"
#include "json.h"

static struct sp_arena A;

/* Parses a NUL-terminated document; returns the error code. */
static int parse(const char *s, struct sp_json **out)
{
    struct sp_json *dummy;
    return sp_json_parse(&A, s, strlen(s), out ? out : &dummy);
}

/* Parses exactly n bytes (for documents with embedded NULs or raw bytes). */
static int parse_n(const char *s, size_t n, struct sp_json **out)
{
    struct sp_json *dummy;
    return sp_json_parse(&A, s, n, out ? out : &dummy);
}

static int str_eq(struct sp_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static int str_eq_n(struct sp_str s, const char *lit, size_t n)
{
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static void test_scalars(void)
{
    struct sp_json *v = NULL;
    CHECK_EQ_INT(parse("null", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_NULL);
    CHECK_EQ_INT(parse("true", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_TRUE);
    CHECK_EQ_INT(parse("false", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_FALSE);
    CHECK_EQ_INT(parse("\"hi\"", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_STRING && str_eq(v->s, "hi"));
    CHECK_EQ_INT(parse("\"\"", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_STRING && v->s.len == 0);
    CHECK_EQ_INT(parse("42", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_NUMBER && v->is_int && v->i == 42 && v->d == 42.0);
    /* surrounding whitespace of all four JSON kinds is allowed */
    CHECK_EQ_INT(parse(" \t\r\n 7 \n\t\r ", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_NUMBER && v->i == 7);
}

static void test_containers(void)
{
    struct sp_json *v = NULL;
    CHECK_EQ_INT(parse("[]", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_ARRAY && v->n == 0 && v->child == NULL);
    CHECK_EQ_INT(parse("{}", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_OBJECT && v->n == 0 && v->child == NULL);
    CHECK_EQ_INT(parse("[ ]", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_ARRAY && v->n == 0);
    CHECK_EQ_INT(parse("{ }", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_OBJECT && v->n == 0);

    CHECK_EQ_INT(parse("[1, \"two\", true, false, null, 2.5, [3], {\"k\":\"v\"}]", &v), SPJ_OK);
    if (v && v->type == SPJ_ARRAY) {
        CHECK_EQ_INT(v->n, 8);
        const struct sp_json *e = v->child;
        CHECK(e && e->type == SPJ_NUMBER && e->is_int && e->i == 1);
        e = e ? e->next : NULL;
        CHECK(e && e->type == SPJ_STRING && str_eq(e->s, "two"));
        e = e ? e->next : NULL;
        CHECK(e && e->type == SPJ_TRUE);
        e = e ? e->next : NULL;
        CHECK(e && e->type == SPJ_FALSE);
        e = e ? e->next : NULL;
        CHECK(e && e->type == SPJ_NULL);
        e = e ? e->next : NULL;
        CHECK(e && e->type == SPJ_NUMBER && !e->is_int && e->d == 2.5);
        e = e ? e->next : NULL;
        CHECK(e && e->type == SPJ_ARRAY && e->n == 1 && e->child && e->child->i == 3);
        e = e ? e->next : NULL;
        CHECK(e && e->type == SPJ_OBJECT && e->n == 1);
        if (e && e->type == SPJ_OBJECT) {
            const struct sp_json *k = sp_json_get(e, "k");
            CHECK(k && k->type == SPJ_STRING && str_eq(k->s, "v"));
        }
        CHECK(e && e->next == NULL);
    } else {
        CHECK(!"array expected");
    }

    CHECK_EQ_INT(parse("{\"a\":1,\"b\":{\"c\":[true]},\"d\":\"x\"}", &v), SPJ_OK);
    if (v && v->type == SPJ_OBJECT) {
        CHECK_EQ_INT(v->n, 3);
        /* members keep document order and carry their key */
        CHECK(v->child && str_eq(v->child->key, "a"));
        CHECK(v->child && v->child->next && str_eq(v->child->next->key, "b"));
        const struct sp_json *b = sp_json_get(v, "b");
        CHECK(b && b->type == SPJ_OBJECT);
        const struct sp_json *c = sp_json_get(b, "c");
        CHECK(c && c->type == SPJ_ARRAY && c->n == 1 && c->child->type == SPJ_TRUE);
        CHECK(sp_json_get(v, "c") == NULL); /* not found at the top level */
        const struct sp_json *d = sp_json_get(v, "d");
        CHECK(d && str_eq(d->s, "x") && str_eq(d->key, "d"));
    } else {
        CHECK(!"object expected");
    }
    /* sp_json_get on a non-object is NULL, never a crash */
    CHECK_EQ_INT(parse("[1]", &v), SPJ_OK);
    CHECK(sp_json_get(v, "a") == NULL);
    CHECK(sp_json_get(NULL, "a") == NULL);
}

static void test_numbers(void)
{
    struct sp_json *v = NULL;
    CHECK_EQ_INT(parse("3", &v), SPJ_OK);
    CHECK(v && v->is_int == 1 && v->i == 3 && v->d == 3.0);
    CHECK_EQ_INT(parse("3.0", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_NUMBER && v->is_int == 0 && v->d == 3.0);
    CHECK_EQ_INT(parse("3e0", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_NUMBER && v->is_int == 0 && v->d == 3.0);
    CHECK_EQ_INT(parse("3E+0", &v), SPJ_OK);
    CHECK(v && v->is_int == 0 && v->d == 3.0);
    CHECK_EQ_INT(parse("4.2e1", &v), SPJ_OK);
    CHECK(v && v->is_int == 0 && fabs(v->d - 42.0) < 1e-12);
    CHECK_EQ_INT(parse("25e-1", &v), SPJ_OK);
    CHECK(v && v->is_int == 0 && v->d == 2.5);
    CHECK_EQ_INT(parse("0", &v), SPJ_OK);
    CHECK(v && v->is_int && v->i == 0);
    CHECK_EQ_INT(parse("-7", &v), SPJ_OK);
    CHECK(v && v->is_int && v->i == -7 && v->d == -7.0);
    CHECK_EQ_INT(parse("-0.5", &v), SPJ_OK);
    CHECK(v && !v->is_int && v->d == -0.5);
    /* 2^53 + 1: exact as int64, not representable as a double */
    CHECK_EQ_INT(parse("9007199254740993", &v), SPJ_OK);
    CHECK(v && v->is_int == 1 && v->i == INT64_C(9007199254740993));
    CHECK_EQ_INT(parse("9223372036854775807", &v), SPJ_OK);
    CHECK(v && v->is_int == 1 && v->i == INT64_MAX);
    CHECK_EQ_INT(parse("-9223372036854775808", &v), SPJ_OK);
    CHECK(v && v->is_int == 1 && v->i == INT64_MIN);
    /* around the 15-digit fast path */
    CHECK_EQ_INT(parse("123456789012345", &v), SPJ_OK);
    CHECK(v && v->is_int && v->i == INT64_C(123456789012345) && v->d == 123456789012345.0);
    CHECK_EQ_INT(parse("-123456789012345", &v), SPJ_OK);
    CHECK(v && v->is_int && v->i == INT64_C(-123456789012345) && v->d == -123456789012345.0);
    CHECK_EQ_INT(parse("1234567890123456", &v), SPJ_OK);
    CHECK(v && v->is_int && v->i == INT64_C(1234567890123456) && v->d == 1234567890123456.0);
    CHECK_EQ_INT(parse("-1234567890123456", &v), SPJ_OK);
    CHECK(v && v->is_int && v->i == INT64_C(-1234567890123456));
    CHECK_EQ_INT(parse("999999999999999", &v), SPJ_OK);
    CHECK(v && v->is_int && v->i == INT64_C(999999999999999));
    CHECK_EQ_INT(parse("[12,-3,0]", &v), SPJ_OK);
    CHECK(v && v->n == 3 && v->child->i == 12 && v->child->next->i == -3 &&
          v->child->next->next->i == 0 && v->child->next->next->is_int);
    CHECK_EQ_INT(parse("-0", &v), SPJ_OK);
    CHECK(v && v->is_int && v->i == 0);
    /* one past int64: a double */
    CHECK_EQ_INT(parse("9223372036854775808", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_NUMBER && v->is_int == 0 && v->d == 9223372036854775808.0);
    CHECK_EQ_INT(parse("-9223372036854775809", &v), SPJ_OK);
    CHECK(v && v->type == SPJ_NUMBER && v->is_int == 0);
    /* a very long number still parses (takes the arena path) */
    CHECK_EQ_INT(parse("1.00000000000000000000000000000000000000000000000000000000000000000001", &v),
                 SPJ_OK);
    CHECK(v && !v->is_int && v->d == 1.0);
    /* numbers inside containers */
    CHECK_EQ_INT(parse("{\"i\":3,\"d\":3.0,\"e\":3e0}", &v), SPJ_OK);
    CHECK(sp_json_get(v, "i") && sp_json_get(v, "i")->is_int == 1);
    CHECK(sp_json_get(v, "d") && sp_json_get(v, "d")->is_int == 0);
    CHECK(sp_json_get(v, "e") && sp_json_get(v, "e")->is_int == 0);
}

static void test_escapes(void)
{
    struct sp_json *v = NULL;
    CHECK_EQ_INT(parse("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"", &v), SPJ_OK);
    CHECK(v && str_eq(v->s, "a\"b\\c/d\be\ff\ng\rh\ti"));
    CHECK_EQ_INT(parse("\"caf\\u00e9\"", &v), SPJ_OK);
    CHECK(v && str_eq(v->s, "caf\xc3\xa9"));
    CHECK_EQ_INT(parse("\"\\u00E9\"", &v), SPJ_OK); /* upper-case hex digits are fine */
    CHECK(v && str_eq(v->s, "\xc3\xa9"));
    CHECK_EQ_INT(parse("\"\\u0041\"", &v), SPJ_OK);
    CHECK(v && str_eq(v->s, "A"));
    CHECK_EQ_INT(parse("\"\\u20ac\"", &v), SPJ_OK); /* euro sign, 3 bytes */
    CHECK(v && str_eq(v->s, "\xe2\x82\xac"));
    /* surrogate pair -> U+1F600 */
    CHECK_EQ_INT(parse("\"\\uD83D\\uDE00\"", &v), SPJ_OK);
    CHECK(v && str_eq(v->s, "\xf0\x9f\x98\x80"));
    CHECK_EQ_INT(parse("\"x\\ud83d\\ude00y\"", &v), SPJ_OK);
    CHECK(v && str_eq(v->s, "x\xf0\x9f\x98\x80y"));
    /* U+0000 is a valid escape: one zero byte inside the string */
    CHECK_EQ_INT(parse("\"a\\u0000b\"", &v), SPJ_OK);
    CHECK(v && str_eq_n(v->s, "a\0b", 3));
    /* escapes in keys */
    CHECK_EQ_INT(parse("{\"k\\u00e9y\":1}", &v), SPJ_OK);
    CHECK(sp_json_get(v, "k\xc3\xa9y") != NULL);
    /* raw (unescaped) UTF-8 passes through */
    CHECK_EQ_INT(parse("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", &v), SPJ_OK);
    CHECK(v && str_eq(v->s, "caf\xc3\xa9 \xf0\x9f\x98\x80"));

    /* lone surrogates have no UTF-8 form */
    CHECK_EQ_INT(parse("\"\\uD83D\"", NULL), SPJ_EUTF8);
    CHECK_EQ_INT(parse("\"\\uDE00\"", NULL), SPJ_EUTF8);
    CHECK_EQ_INT(parse("\"\\uD83Dx\"", NULL), SPJ_EUTF8);
    CHECK_EQ_INT(parse("\"\\uD83D\\u0041\"", NULL), SPJ_EUTF8);
    CHECK_EQ_INT(parse("\"\\uD83D\\uD83D\"", NULL), SPJ_EUTF8);

    /* bad escapes are syntax errors */
    CHECK_EQ_INT(parse("\"\\x\"", NULL), SPJ_ESYNTAX);
    CHECK_EQ_INT(parse("\"\\u12\"", NULL), SPJ_ESYNTAX);
    CHECK_EQ_INT(parse("\"\\u12g4\"", NULL), SPJ_ESYNTAX);
    CHECK_EQ_INT(parse("\"\\U0041\"", NULL), SPJ_ESYNTAX);
    CHECK_EQ_INT(parse("\"\\'\"", NULL), SPJ_ESYNTAX);
    /* A backslash before a (valid) multi-byte character is an invalid escape in
     * a line that is valid UTF-8: a syntax error, not a UTF-8 error. */
    CHECK(sp_utf8_valid("\"\\\xc3\xa9\"", 5));
    CHECK_EQ_INT(parse("\"\\\xc3\xa9\"", NULL), SPJ_ESYNTAX);
}

static void test_utf8(void)
{
    /* invalid bytes inside a string */
    CHECK_EQ_INT(parse("\"\xc0\x80\"", NULL), SPJ_EUTF8);             /* overlong NUL */
    CHECK_EQ_INT(parse("\"\xc1\xbf\"", NULL), SPJ_EUTF8);             /* overlong */
    CHECK_EQ_INT(parse("\"\xe0\x80\xaf\"", NULL), SPJ_EUTF8);         /* overlong 3-byte */
    CHECK_EQ_INT(parse("\"\xf0\x80\x80\xaf\"", NULL), SPJ_EUTF8);     /* overlong 4-byte */
    CHECK_EQ_INT(parse("\"\xed\xa0\x80\"", NULL), SPJ_EUTF8);         /* U+D800 */
    CHECK_EQ_INT(parse("\"\xed\xbf\xbf\"", NULL), SPJ_EUTF8);         /* U+DFFF */
    CHECK_EQ_INT(parse("\"\xf4\x90\x80\x80\"", NULL), SPJ_EUTF8);     /* > U+10FFFF */
    CHECK_EQ_INT(parse("\"\xf5\x80\x80\x80\"", NULL), SPJ_EUTF8);     /* F5 */
    CHECK_EQ_INT(parse("\"\xf8\x88\x80\x80\x80\"", NULL), SPJ_EUTF8); /* F8 */
    CHECK_EQ_INT(parse("\"\xff\"", NULL), SPJ_EUTF8);
    CHECK_EQ_INT(parse("\"\xfe\"", NULL), SPJ_EUTF8);
    CHECK_EQ_INT(parse("\"\x80\"", NULL), SPJ_EUTF8);                 /* lone continuation */
    CHECK_EQ_INT(parse("\"\xe9\"", NULL), SPJ_EUTF8);                 /* Latin-1 e-acute */
    CHECK_EQ_INT(parse("\"caf\xe9\"", NULL), SPJ_EUTF8);
    CHECK_EQ_INT(parse("\"\xc3\"", NULL), SPJ_EUTF8);                 /* truncated 2-byte */
    CHECK_EQ_INT(parse("\"\xe2\x82\"", NULL), SPJ_EUTF8);             /* truncated 3-byte */
    CHECK_EQ_INT(parse("\"\xf0\x9f\x98\"", NULL), SPJ_EUTF8);         /* truncated 4-byte */
    CHECK_EQ_INT(parse_n("\"\xf0\x9f\x98", 4, NULL), SPJ_EUTF8);      /* truncated at the end */
    CHECK_EQ_INT(parse("{\"k\xff\":1}", NULL), SPJ_EUTF8);            /* in a key */
    CHECK_EQ_INT(parse("[\"ok\", \"\xc0\x80\"]", NULL), SPJ_EUTF8);
    /* invalid UTF-8 outside strings is reported as UTF-8, not syntax */
    CHECK_EQ_INT(parse("{\"a\":1}\xff", NULL), SPJ_EUTF8);
    CHECK_EQ_INT(parse("[1,\xe9]", NULL), SPJ_EUTF8);
    /* boundaries that are valid */
    struct sp_json *v = NULL;
    CHECK_EQ_INT(parse("\"\xc2\x80\"", &v), SPJ_OK);         /* U+0080 */
    CHECK_EQ_INT(parse("\"\xef\xbf\xbf\"", &v), SPJ_OK);     /* U+FFFF */
    CHECK_EQ_INT(parse("\"\xee\x80\x80\"", &v), SPJ_OK);     /* U+E000 */
    CHECK_EQ_INT(parse("\"\xf4\x8f\xbf\xbf\"", &v), SPJ_OK); /* U+10FFFF */
    CHECK(v && v->s.len == 4);

    CHECK(sp_utf8_valid("", 0));
    CHECK(sp_utf8_valid("abc", 3));
    CHECK(sp_utf8_valid("caf\xc3\xa9", 5));
    CHECK(!sp_utf8_valid("caf\xe9", 4));
    CHECK(!sp_utf8_valid("\xc0\x80", 2));
    CHECK(!sp_utf8_valid("\xed\xa0\x80", 3));
    CHECK(!sp_utf8_valid("\xf5\x80\x80\x80", 4));
    CHECK(!sp_utf8_valid("\xe2\x82", 2));
    CHECK(!sp_utf8_valid("\xf4\x90\x80\x80", 4));
}

static void test_syntax(void)
{
    static const char *const bad[] = {
        "",
        "   ",
        "{\"a\":1,}",        /* trailing comma in object */
        "[1,2,]",            /* trailing comma in array */
        "[,1]",
        "{,}",
        "01",                /* leading zero */
        "[01]",
        "-01",
        "{\"a\":01}",
        "-",                 /* bare minus */
        "[-]",
        "+1",
        ".5",
        "1.",
        "1.e3",
        "1e",
        "1e+",
        "--1",
        "0x10",
        "NaN",
        "Infinity",
        "\"abc",             /* unterminated string */
        "\"abc\\\"",         /* escaped closing quote: still unterminated */
        "\"a\\",             /* backslash at the very end */
        "[\"a\"",            /* unterminated array */
        "{\"a\":1",          /* unterminated object */
        "{\"a\"",
        "{\"a\":}",
        "{\"a\" 1}",
        "{a:1}",             /* unquoted key */
        "{'a':1}",
        "{1:1}",
        "[1 2]",
        "{\"a\":1 \"b\":2}",
        "tru",
        "nul",
        "True",
        "nulll",
        "{\"a\":1}x",        /* trailing garbage */
        "{\"a\":1}}",
        "1 2",
        "[] []",
        "\f1",               /* form feed is not JSON whitespace */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(bad[i], NULL);
        if (rc != SPJ_ESYNTAX) {
            fprintf(stderr, "  input #%zu <%s> gave %d\n", i, bad[i], rc);
        }
        CHECK_EQ_INT(rc, SPJ_ESYNTAX);
    }
    /* control characters inside a string must be escaped */
    CHECK_EQ_INT(parse("\"a\nb\"", NULL), SPJ_ESYNTAX);
    CHECK_EQ_INT(parse("\"a\tb\"", NULL), SPJ_ESYNTAX);
    CHECK_EQ_INT(parse("\"a\x01z\"", NULL), SPJ_ESYNTAX);
    CHECK_EQ_INT(parse("\"a\x1fz\"", NULL), SPJ_ESYNTAX);
    CHECK_EQ_INT(parse_n("\"a\0b\"", 5, NULL), SPJ_ESYNTAX); /* raw NUL */
    CHECK_EQ_INT(parse_n("1\0", 2, NULL), SPJ_ESYNTAX);       /* NUL after the value */
    /* DEL (0x7f) is not a control character in JSON */
    CHECK_EQ_INT(parse("\"a\x7f\"", NULL), SPJ_OK);
}

static void nest(char *buf, int depth, char open, char close)
{
    for (int i = 0; i < depth; i++) {
        buf[i] = open;
    }
    for (int i = 0; i < depth; i++) {
        buf[depth + i] = close;
    }
    buf[2 * depth] = 0;
}

static void test_depth(void)
{
    char buf[1024];
    nest(buf, 64, '[', ']');
    CHECK_EQ_INT(parse(buf, NULL), SPJ_OK);
    nest(buf, 65, '[', ']');
    int rc = parse(buf, NULL);
    CHECK(rc != SPJ_OK);
    CHECK_EQ_INT(rc, SPJ_EDEPTH);
    nest(buf, 300, '[', ']');
    CHECK(parse(buf, NULL) != SPJ_OK);

    /* objects count too: {"a":{"a":...}} */
    char obj[2048];
    size_t o = 0;
    for (int i = 0; i < 65; i++) {
        memcpy(obj + o, "{\"a\":", 5);
        o += 5;
    }
    obj[o++] = '1';
    for (int i = 0; i < 65; i++) {
        obj[o++] = '}';
    }
    obj[o] = 0;
    CHECK(parse(obj, NULL) != SPJ_OK);
    /* exactly 64 levels of objects is fine */
    o = 0;
    for (int i = 0; i < 64; i++) {
        memcpy(obj + o, "{\"a\":", 5);
        o += 5;
    }
    obj[o++] = '1';
    for (int i = 0; i < 64; i++) {
        obj[o++] = '}';
    }
    obj[o] = 0;
    CHECK_EQ_INT(parse(obj, NULL), SPJ_OK);
    /* depth is about nesting, not count: many siblings at depth 2 are fine */
    char wide[4096];
    o = 0;
    wide[o++] = '[';
    for (int i = 0; i < 500; i++) {
        if (i) {
            wide[o++] = ',';
        }
        wide[o++] = '[';
        wide[o++] = ']';
    }
    wide[o++] = ']';
    wide[o] = 0;
    struct sp_json *v = NULL;
    CHECK_EQ_INT(parse(wide, &v), SPJ_OK);
    CHECK(v && v->n == 500);
}

static void test_get(void)
{
    struct sp_json *v = NULL;
    CHECK_EQ_INT(parse("{\"type\":\"log\",\"Type\":\"span\",\"TYPE\":1}", &v), SPJ_OK);
    const struct sp_json *t = sp_json_get(v, "type");
    CHECK(t && t->type == SPJ_STRING && str_eq(t->s, "log"));
    const struct sp_json *T = sp_json_get(v, "Type");
    CHECK(T && T->type == SPJ_STRING && str_eq(T->s, "span"));
    const struct sp_json *TT = sp_json_get(v, "TYPE");
    CHECK(TT && TT->type == SPJ_NUMBER);
    CHECK(sp_json_get(v, "tYpe") == NULL);
    CHECK(sp_json_get(v, "typ") == NULL);
    CHECK(sp_json_get(v, "types") == NULL);

    /* duplicates: the first one wins, and all are kept as members */
    CHECK_EQ_INT(parse("{\"a\":1,\"b\":2,\"a\":3}", &v), SPJ_OK);
    const struct sp_json *a = sp_json_get(v, "a");
    CHECK(a && a->is_int && a->i == 1);
    CHECK_EQ_INT(v->n, 3);
    /* a prefix of a key, or a key with an embedded NUL, does not match */
    CHECK_EQ_INT(parse("{\"ab\":1,\"a\\u0000b\":2}", &v), SPJ_OK);
    CHECK(sp_json_get(v, "a") == NULL);
    const struct sp_json *ab = sp_json_get(v, "ab");
    CHECK(ab && ab->i == 1);
    /* empty key */
    CHECK_EQ_INT(parse("{\"\":5}", &v), SPJ_OK);
    const struct sp_json *e = sp_json_get(v, "");
    CHECK(e && e->i == 5);
}

static void test_strings_point_into_input(void)
{
    /* Unescaped strings point into the caller's input (json.h contract). */
    const char *doc = "{\"k\":\"plain\"}";
    struct sp_json *v = NULL;
    CHECK_EQ_INT(parse(doc, &v), SPJ_OK);
    const struct sp_json *k = sp_json_get(v, "k");
    CHECK(k && k->s.p >= doc && k->s.p < doc + strlen(doc));
}

int main(void)
{
    sp_arena_init(&A, 4096);
    test_scalars();
    test_containers();
    test_numbers();
    test_escapes();
    test_utf8();
    test_syntax();
    test_depth();
    test_get();
    test_strings_point_into_input();
    sp_arena_free(&A);
    return th_report("test_json");
}
