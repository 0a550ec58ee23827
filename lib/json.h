/*
 * json.h - strict RFC 8259 parser for one record line into an arena.
 *
 * Why not cJSON on this path: it cannot tell 3 from 3.0, loses integers above
 * 2^53, passes invalid UTF-8 through, matches keys case-insensitively by
 * default and allocates per node. This parser fixes all of that, allocates
 * only from the caller's arena, and leaves unescaped strings pointing into the
 * input, which must outlive the tree.
 */
#ifndef SP_JSON_H
#define SP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "model.h"

enum sp_json_type { SPJ_NULL, SPJ_FALSE, SPJ_TRUE, SPJ_NUMBER, SPJ_STRING, SPJ_ARRAY, SPJ_OBJECT };

struct sp_json {
    uint8_t type;
    uint8_t is_int;          /* number without fraction/exponent that fits int64 */
    uint32_t n;              /* children of an array or object */
    struct sp_str key;       /* set on members of an object */
    struct sp_json *next;    /* next sibling */
    struct sp_json *child;   /* first child of an array or object */
    struct sp_str s;         /* string value, unescaped, valid UTF-8 */
    double d;                /* every number */
    int64_t i;               /* when is_int */
};

enum { SPJ_OK = 0, SPJ_ESYNTAX = 1, SPJ_EUTF8 = 2, SPJ_ENOMEM = 3, SPJ_EDEPTH = 4 };

/* Parses exactly one JSON value (surrounding whitespace allowed). */
int sp_json_parse(struct sp_arena *a, const char *p, size_t n, struct sp_json **out);
/* Member of an object by exact (case-sensitive) key; the first when repeated. */
const struct sp_json *sp_json_getn(const struct sp_json *obj, const char *key, size_t len);
/* With a string literal the length is a compile-time constant: no strlen per
 * lookup on the record path. */
#define sp_json_get(obj, key) sp_json_getn((obj), (key), __builtin_strlen(key))
/* 1 when p..p+n is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int sp_utf8_valid(const char *p, size_t n);

#endif
