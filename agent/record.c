/*
 * record.c - parse and validate one protocol record (the acceptance table of
 * docs/protocol.md). Order of checks: JSON and UTF-8, `v`, `type`, then
 * common fields, then the type's own fields; the first failure decides the
 * reason, and `*field` names the field for the rate-limited log line.
 */
#include "record.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "caps.h"
#include "emf.h"
#include "ids.h"
#include "json.h"

const char *sp_reason_name(int reason)
{
    static const char *names[] = {"ok",
#define X(E, s) #s,
                                  SP_REASONS(X)
#undef X
    };
    if (reason < 0 || reason >= SP_R_COUNT) {
        return "unknown";
    }
    return names[reason];
}

struct ctx {
    struct sp_arena *a;
    const struct sp_record_limits *lim;
    const char **field;
};

#define FAIL(reason, name)                                                                      \
    do {                                                                                        \
        if (c->field) {                                                                         \
            *c->field = (name);                                                                 \
        }                                                                                       \
        return (reason);                                                                        \
    } while (0)

static int str_is(struct sp_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

/* Optional string field: absent leaves *out untouched. */
static int opt_str(struct ctx *c, const struct sp_json *o, const char *key, struct sp_str *out)
{
    const struct sp_json *v = sp_json_get(o, key);
    if (v == NULL) {
        return SP_R_OK;
    }
    if (v->type != SPJ_STRING) {
        FAIL(SP_R_BAD_TYPE, key);
    }
    *out = v->s;
    return SP_R_OK;
}

static int req_str(struct ctx *c, const struct sp_json *o, const char *key, struct sp_str *out)
{
    if (sp_json_get(o, key) == NULL) {
        FAIL(SP_R_MISSING_FIELD, key);
    }
    return opt_str(c, o, key, out);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm: proleptic Gregorian date to days since 1970. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

int sp_time_parse_rfc3339(const char *p, size_t n, uint64_t *ns)
{
    int Y, M, D, h, m, s;
    if (n < 20 || digits(p, 4, &Y) || p[4] != '-' || digits(p + 5, 2, &M) || p[7] != '-' ||
        digits(p + 8, 2, &D) || (p[10] != 'T' && p[10] != 't') ||
        digits(p + 11, 2, &h) || p[13] != ':' || digits(p + 14, 2, &m) || p[16] != ':' ||
        digits(p + 17, 2, &s)) {
        return -EINVAL;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || s > 60) {
        return -EINVAL;
    }
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0)) {
        return -EINVAL;
    }
    size_t i = 19;
    uint64_t frac = 0;
    if (i < n && p[i] == '.') {
        i++;
        size_t start = i;
        uint64_t scale = 100000000;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            frac += (uint64_t)(p[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start || i - start > 9) {
            return -EINVAL; /* nanoseconds are the finest OTLP carries */
        }
    }
    int64_t off = 0;
    if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i < n && (p[i] == '+' || p[i] == '-')) {
        int oh, om;
        if (n - i != 6 || digits(p + i + 1, 2, &oh) || p[i + 3] != ':' ||
            digits(p + i + 4, 2, &om) || oh > 23 || om > 59) {
            return -EINVAL;
        }
        off = (oh * 60 + om) * 60 * (p[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -EINVAL; /* RFC 3339 requires a zone */
    }
    if (i != n) {
        return -EINVAL;
    }
    if (s == 60) {
        s = 59; /* leap second: fold onto the last second of the minute */
    }
    int64_t secs = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + s -
                   off;
    if (secs < 0 || (uint64_t)secs >= SP_MAX_TIME_S) {
        return -EINVAL;
    }
    *ns = (uint64_t)secs * 1000000000u + frac;
    return 0;
}

static int parse_time(struct ctx *c, const struct sp_json *v, const char *key, uint64_t *ns)
{
    if (v->type == SPJ_NUMBER) {
        /* >= 1e11 s would be the year 5138: it is milliseconds sent by mistake. */
        if (v->d < 0 || v->d >= 1e11 || v->d >= (double)SP_MAX_TIME_S) {
            FAIL(SP_R_BAD_VALUE, key);
        }
        if (v->is_int) {
            *ns = (uint64_t)v->i * 1000000000u;
        } else {
            double sec = floor(v->d);
            *ns = (uint64_t)sec * 1000000000u + (uint64_t)llround((v->d - sec) * 1e9);
        }
        return SP_R_OK;
    }
    if (v->type == SPJ_STRING) {
        if (sp_time_parse_rfc3339(v->s.p, v->s.len, ns)) {
            FAIL(SP_R_BAD_VALUE, key);
        }
        return SP_R_OK;
    }
    FAIL(SP_R_BAD_TYPE, key);
}

/* --- attributes ---------------------------------------------------------- */

struct attr_out {
    struct sp_attr *v;
    uint32_t n;
    uint32_t cap;
    uint32_t dropped;
};

static int scalar_value(const struct sp_json *j, struct sp_value *out)
{
    switch (j->type) {
    case SPJ_STRING:
        out->type = SP_VAL_STR;
        out->u.s = j->s;
        return 0;
    case SPJ_NUMBER:
        if (j->is_int) {
            out->type = SP_VAL_INT;
            out->u.i = j->i;
        } else {
            out->type = SP_VAL_DOUBLE;
            out->u.d = j->d;
        }
        return 0;
    case SPJ_TRUE:
    case SPJ_FALSE:
        out->type = SP_VAL_BOOL;
        out->u.b = j->type == SPJ_TRUE;
        return 0;
    default:
        return -1;
    }
}

/* JSON kind for homogeneity checks: numbers of both forms are one kind. */
static int kind_of(const struct sp_json *j)
{
    return j->type == SPJ_FALSE ? SPJ_TRUE : j->type;
}

static int add_attrs(struct ctx *c, struct attr_out *ao, const struct sp_json *obj,
                     const char *prefix, size_t plen, unsigned depth)
{
    for (const struct sp_json *m = obj->child; m; m = m->next) {
        size_t klen = plen ? plen + 1 + m->key.len : m->key.len;
        if (m->type == SPJ_OBJECT) {
            if (depth >= SP_MAX_ATTR_DEPTH) {
                ao->dropped++;
                continue;
            }
            char *k = sp_arena_alloc(c->a, klen + 1);
            if (k == NULL) {
                FAIL(SP_R_TOO_LARGE, "attributes");
            }
            if (plen) {
                memcpy(k, prefix, plen);
                k[plen] = '.';
                memcpy(k + plen + 1, m->key.p, m->key.len);
            } else {
                memcpy(k, m->key.p, m->key.len);
            }
            int rc = add_attrs(c, ao, m, k, klen, depth + 1);
            if (rc) {
                return rc;
            }
            continue;
        }
        struct sp_value val;
        if (m->type == SPJ_ARRAY) {
            val.type = SP_VAL_ARRAY;
            val.u.arr.n = m->n;
            val.u.arr.v = sp_arena_alloc(c->a, sizeof(struct sp_value) * (m->n ? m->n : 1));
            if (val.u.arr.v == NULL) {
                FAIL(SP_R_TOO_LARGE, "attributes");
            }
            uint32_t i = 0;
            int kind = m->child ? kind_of(m->child) : 0;
            for (const struct sp_json *e = m->child; e; e = e->next, i++) {
                if (scalar_value(e, &val.u.arr.v[i]) || kind_of(e) != kind) {
                    FAIL(SP_R_BAD_TYPE, "attributes");
                }
                if (e->type == SPJ_STRING && e->s.len > c->lim->max_attr_value_bytes) {
                    ao->dropped++;
                    goto next;
                }
            }
        } else if (scalar_value(m, &val)) {
            FAIL(SP_R_BAD_TYPE, "attributes"); /* null */
        } else if (val.type == SP_VAL_STR && val.u.s.len > c->lim->max_attr_value_bytes) {
            ao->dropped++;
            continue;
        }
        if (ao->n >= ao->cap) {
            ao->dropped++;
            continue;
        }
        struct sp_attr *at = &ao->v[ao->n++];
        if (plen) {
            char *k = sp_arena_alloc(c->a, klen);
            if (k == NULL) {
                FAIL(SP_R_TOO_LARGE, "attributes");
            }
            memcpy(k, prefix, plen);
            k[plen] = '.';
            memcpy(k + plen + 1, m->key.p, m->key.len);
            at->key.p = k;
            at->key.len = klen;
        } else {
            at->key = m->key;
        }
        at->val = val;
    next:;
    }
    return SP_R_OK;
}

static int parse_attrs(struct ctx *c, const struct sp_json *o, struct sp_attrs *out)
{
    memset(out, 0, sizeof(*out));
    const struct sp_json *v = sp_json_get(o, "attributes");
    if (v == NULL) {
        return SP_R_OK;
    }
    if (v->type != SPJ_OBJECT) {
        FAIL(SP_R_BAD_TYPE, "attributes");
    }
    struct attr_out ao = {.cap = c->lim->max_attributes};
    ao.v = sp_arena_alloc(c->a, sizeof(struct sp_attr) * (ao.cap ? ao.cap : 1));
    if (ao.v == NULL) {
        FAIL(SP_R_TOO_LARGE, "attributes");
    }
    int rc = add_attrs(c, &ao, v, NULL, 0, 0);
    if (rc) {
        return rc;
    }
    out->v = ao.v;
    out->n = ao.n;
    out->dropped = ao.dropped;
    return SP_R_OK;
}

/* A log body: any JSON value. */
static int any_value(struct ctx *c, const struct sp_json *j, struct sp_value *out, unsigned depth)
{
    if (depth > SP_MAX_JSON_DEPTH) {
        FAIL(SP_R_MALFORMED_JSON, "body");
    }
    if (j->type == SPJ_NULL) {
        out->type = SP_VAL_EMPTY;
        return SP_R_OK;
    }
    if (scalar_value(j, out) == 0) {
        return SP_R_OK;
    }
    if (j->type == SPJ_ARRAY) {
        out->type = SP_VAL_ARRAY;
        out->u.arr.n = j->n;
        out->u.arr.v = sp_arena_calloc(c->a, sizeof(struct sp_value) * (j->n ? j->n : 1));
        if (out->u.arr.v == NULL) {
            FAIL(SP_R_TOO_LARGE, "body");
        }
        uint32_t i = 0;
        for (const struct sp_json *e = j->child; e; e = e->next, i++) {
            int rc = any_value(c, e, &out->u.arr.v[i], depth + 1);
            if (rc) {
                return rc;
            }
        }
        return SP_R_OK;
    }
    out->type = SP_VAL_KVLIST;
    out->u.kv.n = j->n;
    out->u.kv.v = sp_arena_calloc(c->a, sizeof(struct sp_attr) * (j->n ? j->n : 1));
    if (out->u.kv.v == NULL) {
        FAIL(SP_R_TOO_LARGE, "body");
    }
    uint32_t i = 0;
    for (const struct sp_json *e = j->child; e; e = e->next, i++) {
        out->u.kv.v[i].key = e->key;
        int rc = any_value(c, e, &out->u.kv.v[i].val, depth + 1);
        if (rc) {
            return rc;
        }
    }
    return SP_R_OK;
}

/* --- record types -------------------------------------------------------- */

static int span_id_field(struct ctx *c, const struct sp_json *o, const char *key, uint8_t *has,
                         uint8_t id[8])
{
    const struct sp_json *v = sp_json_get(o, key);
    if (v == NULL) {
        return SP_R_OK;
    }
    if (v->type != SPJ_STRING) {
        FAIL(SP_R_BAD_TYPE, key);
    }
    if (sp_hex_decode(v->s.p, v->s.len, id, 8)) {
        FAIL(SP_R_BAD_VALUE, key);
    }
    *has = 1;
    return SP_R_OK;
}

static int enum_field(struct ctx *c, const struct sp_json *o, const char *key,
                      const char *const *names, const uint8_t *values, size_t n, uint8_t *out)
{
    const struct sp_json *v = sp_json_get(o, key);
    if (v == NULL) {
        return SP_R_OK;
    }
    if (v->type != SPJ_STRING) {
        FAIL(SP_R_BAD_TYPE, key);
    }
    for (size_t i = 0; i < n; i++) {
        if (str_is(v->s, names[i])) {
            *out = values[i];
            return SP_R_OK;
        }
    }
    FAIL(SP_R_BAD_VALUE, key);
}

static int parse_span(struct ctx *c, const struct sp_json *o, struct sp_record *r)
{
    int rc;
    if ((rc = req_str(c, o, "name", &r->name))) {
        return rc;
    }
    const struct sp_json *start = sp_json_get(o, "start");
    if (start == NULL) {
        FAIL(SP_R_MISSING_FIELD, "start");
    }
    if ((rc = parse_time(c, start, "start", &r->start_ns))) {
        return rc;
    }
    const struct sp_json *end = sp_json_get(o, "end");
    const struct sp_json *dur = sp_json_get(o, "duration_ms");
    if (end) {
        if ((rc = parse_time(c, end, "end", &r->end_ns))) {
            return rc;
        }
        if (r->end_ns < r->start_ns) {
            FAIL(SP_R_BAD_VALUE, "end");
        }
    } else if (dur) {
        if (dur->type != SPJ_NUMBER) {
            FAIL(SP_R_BAD_TYPE, "duration_ms");
        }
        if (dur->d < 0 || dur->d > 1e12) {
            FAIL(SP_R_BAD_VALUE, "duration_ms");
        }
        /* The end is a time too: past the end of time it would wrap around
         * 2^64 ns and land before its start. */
        uint64_t dur_ns = (uint64_t)llround(dur->d * 1e6);
        if (dur_ns >= SP_MAX_TIME_S * 1000000000ull - r->start_ns) {
            FAIL(SP_R_BAD_VALUE, "duration_ms");
        }
        r->end_ns = r->start_ns + dur_ns;
    } else {
        FAIL(SP_R_MISSING_FIELD, "end");
    }
    static const char *const st_names[] = {"ok", "error", "unset"};
    static const uint8_t st_vals[] = {SP_STATUS_OK, SP_STATUS_ERROR, SP_STATUS_UNSET};
    if ((rc = enum_field(c, o, "status", st_names, st_vals, 3, &r->status))) {
        return rc;
    }
    if ((rc = opt_str(c, o, "status_message", &r->status_message))) {
        return rc;
    }
    static const char *const k_names[] = {"internal", "server", "client", "producer", "consumer"};
    static const uint8_t k_vals[] = {SP_KIND_INTERNAL, SP_KIND_SERVER, SP_KIND_CLIENT,
                                     SP_KIND_PRODUCER, SP_KIND_CONSUMER};
    r->kind = SP_KIND_INTERNAL;
    if ((rc = enum_field(c, o, "kind", k_names, k_vals, 5, &r->kind))) {
        return rc;
    }
    if ((rc = span_id_field(c, o, "span_id", &r->has_span_id, r->span_id)) ||
        (rc = span_id_field(c, o, "parent_span_id", &r->has_parent_span_id, r->parent_span_id))) {
        return rc;
    }
    const struct sp_json *ev = sp_json_get(o, "events");
    if (ev) {
        if (ev->type != SPJ_ARRAY) {
            FAIL(SP_R_BAD_TYPE, "events");
        }
        uint32_t keep = ev->n < SP_MAX_SPAN_EVENTS ? ev->n : SP_MAX_SPAN_EVENTS;
        r->events = sp_arena_calloc(c->a, sizeof(struct sp_span_event) * (keep ? keep : 1));
        if (r->events == NULL) {
            FAIL(SP_R_TOO_LARGE, "events");
        }
        for (const struct sp_json *e = ev->child; e; e = e->next) {
            if (e->type != SPJ_OBJECT) {
                FAIL(SP_R_BAD_TYPE, "events");
            }
            struct sp_span_event tmp = {0};
            if ((rc = req_str(c, e, "name", &tmp.name))) {
                return rc;
            }
            tmp.ts_ns = r->start_ns;
            const struct sp_json *ts = sp_json_get(e, "ts");
            if (ts && (rc = parse_time(c, ts, "events.ts", &tmp.ts_ns))) {
                return rc;
            }
            if ((rc = parse_attrs(c, e, &tmp.attrs))) {
                return rc;
            }
            if (r->n_events < keep) {
                r->events[r->n_events++] = tmp;
            } else {
                r->dropped_events++;
            }
        }
    }
    return SP_R_OK;
}

static int parse_severity(struct ctx *c, const struct sp_json *v, struct sp_record *r)
{
    static const struct {
        const char *name;
        uint8_t num;
    } names[] = {{"trace", 1}, {"debug", 5},   {"info", 9},  {"warn", 13},
                 {"warning", 13}, {"error", 17}, {"fatal", 21}};
    static const char *const canon[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    if (v->type == SPJ_STRING) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (v->s.len == strlen(names[i].name) &&
                strncasecmp(v->s.p, names[i].name, v->s.len) == 0) {
                r->severity_number = names[i].num;
                r->severity_text = v->s;
                return SP_R_OK;
            }
        }
        FAIL(SP_R_BAD_VALUE, "severity");
    }
    if (v->type == SPJ_NUMBER) {
        if (!v->is_int || v->i < 1 || v->i > 24) {
            FAIL(SP_R_BAD_VALUE, "severity");
        }
        r->severity_number = (uint8_t)v->i;
        const char *t = canon[(v->i - 1) / 4];
        r->severity_text.p = t;
        r->severity_text.len = strlen(t);
        return SP_R_OK;
    }
    FAIL(SP_R_BAD_TYPE, "severity");
}

static int parse_log(struct ctx *c, const struct sp_json *o, struct sp_record *r)
{
    const struct sp_json *body = sp_json_get(o, "body");
    if (body == NULL) {
        body = sp_json_get(o, "message");
    }
    if (body == NULL) {
        body = sp_json_get(o, "msg");
    }
    if (body == NULL) {
        FAIL(SP_R_MISSING_FIELD, "body");
    }
    int rc = any_value(c, body, &r->body, 0);
    if (rc) {
        return rc;
    }
    const struct sp_json *sev = sp_json_get(o, "severity");
    if (sev && (rc = parse_severity(c, sev, r))) {
        return rc;
    }
    return span_id_field(c, o, "span_id", &r->has_span_id, r->span_id);
}

static int parse_metric(struct ctx *c, const struct sp_json *o, struct sp_record *r)
{
    int rc;
    if ((rc = req_str(c, o, "name", &r->name))) {
        return rc;
    }
    if (r->name.len == 0) {
        FAIL(SP_R_BAD_VALUE, "name");
    }
    if (sp_json_get(o, "kind") == NULL) {
        FAIL(SP_R_MISSING_FIELD, "kind");
    }
    static const char *const names[] = {"counter", "gauge", "histogram"};
    static const uint8_t vals[] = {SP_METRIC_COUNTER, SP_METRIC_GAUGE, SP_METRIC_HISTOGRAM};
    if ((rc = enum_field(c, o, "kind", names, vals, 3, &r->metric_kind))) {
        return rc;
    }
    const struct sp_json *v = sp_json_get(o, "value");
    if (v == NULL) {
        FAIL(SP_R_MISSING_FIELD, "value");
    }
    if (v->type != SPJ_NUMBER) {
        FAIL(SP_R_BAD_TYPE, "value");
    }
    if (!isfinite(v->d) || (r->metric_kind == SP_METRIC_COUNTER && v->d < 0)) {
        FAIL(SP_R_BAD_VALUE, "value");
    }
    r->value = v->d;
    return opt_str(c, o, "unit", &r->unit);
}

static int int_field(struct ctx *c, const struct sp_json *o, const char *key, int64_t min,
                     int64_t *out)
{
    const struct sp_json *v = sp_json_get(o, key);
    if (v == NULL) {
        return SP_R_OK;
    }
    if (v->type != SPJ_NUMBER) {
        FAIL(SP_R_BAD_TYPE, key);
    }
    if (!v->is_int || v->i < min) {
        FAIL(SP_R_BAD_VALUE, key);
    }
    *out = v->i;
    return SP_R_OK;
}

static int parse_event(struct ctx *c, const struct sp_json *o, struct sp_record *r)
{
    static const struct {
        const char *name;
        uint8_t kind;
    } kinds[] = {{"invocation_start", SP_EV_INVOCATION_START},
                 {"invocation_end", SP_EV_INVOCATION_END},
                 {"cold_start", SP_EV_COLD_START},
                 {"throttle", SP_EV_THROTTLE},
                 {"retry", SP_EV_RETRY},
                 {"dead_letter", SP_EV_DEAD_LETTER},
                 {"workflow_start", SP_EV_WORKFLOW_START},
                 {"workflow_end", SP_EV_WORKFLOW_END}};
    static const char *const st_names[] = {"ok", "error", "timeout"};
    static const uint8_t st_vals[] = {SP_INV_OK, SP_INV_ERROR, SP_INV_TIMEOUT};
    int rc;
    if ((rc = req_str(c, o, "name", &r->name))) {
        return rc;
    }
    if (r->name.len == 0) {
        FAIL(SP_R_BAD_VALUE, "name");
    }
    r->event = SP_EV_OTHER;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (str_is(r->name, kinds[i].name)) {
            r->event = kinds[i].kind;
        }
    }
    switch (r->event) {
    case SP_EV_INVOCATION_START: {
        if (r->invocation_id.len == 0) {
            FAIL(SP_R_MISSING_FIELD, "invocation_id");
        }
        const struct sp_json *cs = sp_json_get(o, "cold_start");
        if (cs) {
            if (cs->type != SPJ_TRUE && cs->type != SPJ_FALSE) {
                FAIL(SP_R_BAD_TYPE, "cold_start");
            }
            r->cold_start = cs->type == SPJ_TRUE;
        }
        const struct sp_json *tr = sp_json_get(o, "trigger");
        if (tr) {
            static const char *const trig[] = {"http", "pubsub", "datasource", "timer", "other"};
            if (tr->type != SPJ_STRING) {
                FAIL(SP_R_BAD_TYPE, "trigger");
            }
            int ok = 0;
            for (size_t i = 0; i < 5; i++) {
                ok |= str_is(tr->s, trig[i]);
            }
            if (!ok) {
                FAIL(SP_R_BAD_VALUE, "trigger");
            }
            r->trigger = tr->s;
        }
        return int_field(c, o, "attempt", 1, &r->attempt);
    }
    case SP_EV_INVOCATION_END:
        if (r->invocation_id.len == 0) {
            FAIL(SP_R_MISSING_FIELD, "invocation_id");
        }
        if (sp_json_get(o, "status") == NULL) {
            FAIL(SP_R_MISSING_FIELD, "status");
        }
        if ((rc = enum_field(c, o, "status", st_names, st_vals, 3, &r->inv_status))) {
            return rc;
        }
        return opt_str(c, o, "error", &r->error);
    case SP_EV_COLD_START: {
        const struct sp_json *d = sp_json_get(o, "init_duration_ms");
        if (d) {
            if (d->type != SPJ_NUMBER) {
                FAIL(SP_R_BAD_TYPE, "init_duration_ms");
            }
            if (d->d < 0) {
                FAIL(SP_R_BAD_VALUE, "init_duration_ms");
            }
            r->init_duration_ms = d->d;
        }
        return SP_R_OK;
    }
    case SP_EV_THROTTLE:
        return opt_str(c, o, "reason", &r->reason);
    case SP_EV_RETRY:
        if (sp_json_get(o, "attempt") == NULL) {
            FAIL(SP_R_MISSING_FIELD, "attempt");
        }
        if ((rc = int_field(c, o, "attempt", 2, &r->attempt))) {
            return rc;
        }
        return opt_str(c, o, "reason", &r->reason);
    case SP_EV_DEAD_LETTER:
        if ((rc = req_str(c, o, "queue", &r->queue))) {
            return rc;
        }
        if ((rc = opt_str(c, o, "reason", &r->reason))) {
            return rc;
        }
        return opt_str(c, o, "message_id", &r->message_id);
    case SP_EV_WORKFLOW_END:
        /* ok | error (docs/protocol.md): a timeout belongs to an invocation. */
        return enum_field(c, o, "status", st_names, st_vals, 2, &r->inv_status);
    default:
        return SP_R_OK;
    }
}

static int parse_trace_context(struct ctx *c, const struct sp_json *o, struct sp_record *r)
{
    const struct sp_json *tp = sp_json_get(o, "traceparent");
    const struct sp_json *xr = sp_json_get(o, "xray_trace_id");
    if (tp && tp->type != SPJ_STRING) {
        FAIL(SP_R_BAD_TYPE, "traceparent");
    }
    if (xr && xr->type != SPJ_STRING) {
        FAIL(SP_R_BAD_TYPE, "xray_trace_id");
    }
    if (tp) {
        if (sp_traceparent_parse(tp->s.p, tp->s.len, r->tp_trace_id, r->tp_parent_id) == 0) {
            r->has_traceparent = 1;
            r->tp_has_parent = 1;
        } else {
            r->bad_traceparent = 1;
        }
    } else if (xr) {
        int has_parent;
        if (sp_xray_parse(xr->s.p, xr->s.len, r->tp_trace_id, r->tp_parent_id, &has_parent) ==
            0) {
            r->has_traceparent = 1;
            r->tp_has_parent = (uint8_t)has_parent;
        } else {
            r->bad_traceparent = 1;
        }
    }
    return SP_R_OK;
}

/* --- lines without a type: Powertools' and Lambda's JSON log lines ----- */

static struct sp_str jstr(const struct sp_json *o, const char *key)
{
    const struct sp_json *v = sp_json_getn(o, key, strlen(key));
    return v && v->type == SPJ_STRING ? v->s : (struct sp_str){NULL, 0};
}

uint8_t sp_record_level_severity(struct sp_str lv)
{
    static const struct {
        const char *name;
        uint8_t n;
    } lv_map[] = {{"TRACE", 1},  {"DEBUG", 5},     {"INFO", 9},  {"WARN", 13}, {"WARNING", 13},
                  {"ERROR", 17}, {"CRITICAL", 21}, {"FATAL", 21}};
    for (size_t i = 0; i < sizeof(lv_map) / sizeof(lv_map[0]); i++) {
        if (lv.len == strlen(lv_map[i].name) && strncasecmp(lv.p, lv_map[i].name, lv.len) == 0) {
            return lv_map[i].n;
        }
    }
    return 0;
}

/* RFC 3339 (TypeScript, Lambda) or Python's "2024-01-02 03:04:05,678+0000". */
static int json_log_time(struct sp_str t, uint64_t *ns)
{
    if (t.len == 0) {
        return -1;
    }
    if (sp_time_parse_rfc3339(t.p, t.len, ns) == 0) {
        return 0;
    }
    char b[40];
    if (t.len < 19 || t.len > 30) {
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < t.len; i++) {
        char ch = t.p[i];
        if (i == 10 && ch == ' ') {
            ch = 'T';
        } else if (i == 19 && ch == ',') {
            ch = '.';
        }
        b[n++] = ch;
        /* "+0000" -> "+00:00" */
        if (i == t.len - 3 && (t.p[t.len - 5] == '+' || t.p[t.len - 5] == '-')) {
            b[n++] = ':';
        }
    }
    return sp_time_parse_rfc3339(b, n, ns) == 0 ? 0 : -1;
}

/* The keys mapped below (their lengths taken at compile time: this runs for
 * every key of every line); the correlation keys (limits) are mapped too. */
#define K(s) {s, sizeof(s) - 1}
static const struct sp_str json_log_keys[] = {
    K("level"),         K("message"),       K("timestamp"),     K("function_request_id"),
    K("requestId"),     K("xray_trace_id"), K("function_name"), K("cold_start"),
    K("service"),       K("error"),         K("exception"),     K("exception_name"),
    K("errorType"),     K("errorMessage")};
#undef K

static const struct sp_str dflt_cid_key = {"correlation_id", sizeof("correlation_id") - 1};

void sp_record_limits_keys(struct sp_record_limits *l, char *const *keys, size_t n)
{
    l->n_cid_keys = 0;
    for (size_t i = 0; i < n && i < SP_MAX_LOG_CORRELATION_KEYS; i++) {
        l->cid_keys[l->n_cid_keys++] = sp_cstr(keys[i]);
    }
}

static int json_log_key(const struct sp_record_limits *lim, struct sp_str k)
{
    for (size_t i = 0; i < sizeof(json_log_keys) / sizeof(json_log_keys[0]); i++) {
        if (k.len == json_log_keys[i].len && memcmp(k.p, json_log_keys[i].p, k.len) == 0) {
            return 1;
        }
    }
    /* A correlation key is the workflow (spindle.correlation_id), not also an
     * attribute of its own; one configured but absent from the list is the
     * user's, like any other key. */
    const struct sp_str *ck = lim->n_cid_keys ? lim->cid_keys : &dflt_cid_key;
    for (uint32_t i = 0, n = lim->n_cid_keys ? lim->n_cid_keys : 1; i < n; i++) {
        if (k.len == ck[i].len && memcmp(k.p, ck[i].p, k.len) == 0) {
            return 1;
        }
    }
    return 0;
}

struct sp_str sp_record_log_cid(const struct sp_json *o, const struct sp_record_limits *lim,
                                const char **key)
{
    const struct sp_str *ck = lim->n_cid_keys ? lim->cid_keys : &dflt_cid_key;
    for (uint32_t i = 0, n = lim->n_cid_keys ? lim->n_cid_keys : 1; i < n; i++) {
        const struct sp_json *v = sp_json_getn(o, ck[i].p, ck[i].len);
        if (v && v->type == SPJ_STRING && v->s.len) {
            if (key) {
                *key = ck[i].p;
            }
            return v->s;
        }
    }
    return (struct sp_str){NULL, 0};
}

int sp_record_is_json_log(const struct sp_json *o)
{
    return o->type == SPJ_OBJECT && sp_json_get(o, "level") && sp_json_get(o, "message");
}

int sp_record_json_log(const struct sp_json *o, struct sp_arena *a,
                       const struct sp_record_limits *lim, uint64_t now_ns,
                       struct sp_str dflt_cid, struct sp_record *r, const char **field)
{
    struct ctx cx = {.a = a, .lim = lim, .field = field};
    struct ctx *c = &cx;
    if (field) {
        *field = NULL;
    }
    memset(r, 0, sizeof(*r));
    r->type = SP_REC_LOG;
    r->cold_start = -1;
    r->init_duration_ms = -1;
    r->ts_ns = now_ns;
    uint64_t ts;
    if (json_log_time(jstr(o, "timestamp"), &ts) == 0) {
        r->ts_ns = ts;
    }
    const struct sp_json *msg = sp_json_get(o, "message");
    int rc = any_value(c, msg, &r->body, 0);
    if (rc) {
        return rc;
    }
    const struct sp_json *lv = sp_json_get(o, "level");
    if (lv && lv->type == SPJ_STRING) {
        r->severity_text = lv->s;
        r->severity_number = sp_record_level_severity(lv->s);
    }
    r->function = jstr(o, "function_name");
    r->invocation_id = jstr(o, "function_request_id");
    if (r->invocation_id.len == 0) {
        r->invocation_id = jstr(o, "requestId");
    }
    struct sp_str xray = jstr(o, "xray_trace_id");
    struct sp_str xroot = {NULL, 0};
    if (xray.len) {
        /* Powertools prints the bare root "1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx". */
        char b[64];
        int has_parent;
        int n = snprintf(b, sizeof(b), "%s%.*s", memchr(xray.p, '=', xray.len) ? "" : "Root=",
                         (int)xray.len, xray.p);
        if (n > 0 && (size_t)n < sizeof(b) &&
            sp_xray_parse(b, (size_t)n, r->tp_trace_id, r->tp_parent_id, &has_parent) == 0) {
            r->has_traceparent = 1;
            r->tp_has_parent = (uint8_t)has_parent;
            xroot = xray;
        } else {
            r->bad_traceparent = 1;
        }
    }
    /* The workflow: the first correlation key present, else the X-Ray root
     * (as the Lambda extension keys an invocation without one), else the
     * request. */
    const char *cid_key = "correlation_id";
    r->correlation_id = sp_record_log_cid(o, lim, &cid_key);
    if (r->correlation_id.len == 0) {
        r->correlation_id = xroot.len ? xroot : r->invocation_id;
    }
    if (r->correlation_id.len == 0) {
        r->correlation_id = dflt_cid;
    }
    if (r->correlation_id.len == 0) {
        FAIL(SP_R_MISSING_FIELD, "correlation_id");
    }
    if (r->correlation_id.len > SP_MAX_CORRELATION_ID_BYTES) {
        FAIL(SP_R_BAD_VALUE, cid_key);
    }

    uint32_t cap = lim->max_attributes;
    r->attrs.v = sp_arena_calloc(a, sizeof(struct sp_attr) * (cap ? cap : 1));
    if (r->attrs.v == NULL) {
        FAIL(SP_R_TOO_LARGE, "attributes");
    }
    sp_attrs_put_str(&r->attrs, cap, "service.name", jstr(o, "service"));
    const struct sp_json *cs = sp_json_get(o, "cold_start");
    if (cs && (cs->type == SPJ_TRUE || cs->type == SPJ_FALSE)) {
        if (r->attrs.n < cap) {
            struct sp_attr *x = &r->attrs.v[r->attrs.n++];
            x->key = sp_cstr("faas.coldstart");
            x->val.type = SP_VAL_BOOL;
            x->val.u.b = cs->type == SPJ_TRUE;
        } else {
            r->attrs.dropped++;
        }
    }
    /* Errors: TypeScript's `error` object, Python's `exception` string
     * (the traceback) and `exception_name`, Lambda's errorType/errorMessage. */
    const struct sp_json *err = sp_json_get(o, "error");
    if (err && err->type == SPJ_OBJECT) {
        sp_attrs_put_str(&r->attrs, cap, "exception.type", jstr(err, "name"));
        sp_attrs_put_str(&r->attrs, cap, "exception.message", jstr(err, "message"));
        sp_attrs_put_str(&r->attrs, cap, "exception.stacktrace", jstr(err, "stack"));
        sp_attrs_put_str(&r->attrs, cap, "code.location", jstr(err, "location"));
    } else if (err && err->type == SPJ_STRING) {
        sp_attrs_put_str(&r->attrs, cap, "exception.message", err->s);
    }
    sp_attrs_put_str(&r->attrs, cap, "exception.stacktrace", jstr(o, "exception"));
    sp_attrs_put_str(&r->attrs, cap, "exception.type", jstr(o, "exception_name"));
    sp_attrs_put_str(&r->attrs, cap, "exception.type", jstr(o, "errorType"));
    sp_attrs_put_str(&r->attrs, cap, "exception.message", jstr(o, "errorMessage"));

    /* Every other key is the user's: a copy of the object without the keys
     * mapped above, flattened like the protocol's `attributes`. */
    struct sp_json rest = {.type = SPJ_OBJECT};
    struct sp_json **tail = &rest.child;
    for (const struct sp_json *m = o->child; m; m = m->next) {
        if (json_log_key(lim, m->key) || m->type == SPJ_NULL) {
            continue;
        }
        struct sp_json *cp = sp_arena_alloc(a, sizeof(*cp));
        if (cp == NULL) {
            FAIL(SP_R_TOO_LARGE, "attributes");
        }
        *cp = *m;
        cp->next = NULL;
        *tail = cp;
        tail = &cp->next;
        rest.n++;
    }
    if (rest.n) {
        struct attr_out ao = {.v = r->attrs.v, .n = r->attrs.n, .cap = cap,
                              .dropped = r->attrs.dropped};
        if ((rc = add_attrs(c, &ao, &rest, NULL, 0, 0))) {
            return rc;
        }
        r->attrs.n = ao.n;
        r->attrs.dropped = ao.dropped;
    }
    return SP_R_OK;
}


/* A line without `type` (the caller saw it missing): an EMF blob goes back
 * whole for the door to expand (one line, many points); a line with `level`
 * and `message` is a log line; anything else is still missing its type. */
static int typeless(struct ctx *c, const struct sp_json *o, uint64_t now_ns,
                    struct sp_record *r)
{
    const struct sp_json *aws = sp_json_get(o, "_aws");
    if (aws && aws->type == SPJ_OBJECT && sp_json_get(aws, "CloudWatchMetrics")) {
        r->type = SP_REC_EMF;
        r->ts_ns = now_ns;
        r->json = o;
        /* Its points link to the workflow the blob names (exemplars). */
        r->correlation_id = sp_record_log_cid(o, c->lim, NULL);
        if (sp_emf_each(o, c->a, c->lim, r, NULL, NULL) <= 0) {
            FAIL(SP_R_BAD_VALUE, "_aws.CloudWatchMetrics"); /* not one value in it */
        }
        return SP_R_OK;
    }
    if (!sp_record_is_json_log(o)) {
        FAIL(SP_R_MISSING_FIELD, "type");
    }
    return sp_record_json_log(o, c->a, c->lim, now_ns, (struct sp_str){NULL, 0}, r, c->field);
}

int sp_record_parse(const char *line, size_t n, struct sp_arena *a,
                    const struct sp_record_limits *lim, uint64_t now_ns, struct sp_record *r,
                    const char **field)
{
    struct ctx cx = {.a = a, .lim = lim, .field = field};
    struct ctx *c = &cx;
    struct sp_json *o;
    int rc;

    memset(r, 0, sizeof(*r));
    r->cold_start = -1;
    r->init_duration_ms = -1;
    if (field) {
        *field = NULL;
    }
    rc = sp_json_parse(a, line, n, &o);
    if (rc == SPJ_EUTF8) {
        return SP_R_BAD_UTF8;
    }
    if (rc == SPJ_ENOMEM) {
        return SP_R_TOO_LARGE;
    }
    if (rc || o->type != SPJ_OBJECT) {
        return SP_R_MALFORMED_JSON;
    }

    const struct sp_json *v = sp_json_get(o, "v");
    if (v) {
        if (v->type != SPJ_NUMBER) {
            FAIL(SP_R_BAD_TYPE, "v");
        }
        if (!(v->is_int && v->i == 1)) {
            FAIL(SP_R_UNSUPPORTED_VERSION, "v");
        }
    }
    struct sp_str type = {0};
    if ((rc = req_str(c, o, "type", &type))) {
        if (rc == SP_R_MISSING_FIELD) {
            /* Not the protocol's: Powertools, Lambda's JSON log format, EMF. */
            return typeless(c, o, now_ns, r);
        }
        return rc;
    }
    static const struct {
        const char *name;
        uint8_t t;
    } types[] = {{"span", SP_REC_SPAN},   {"log", SP_REC_LOG},     {"metric", SP_REC_METRIC},
                 {"event", SP_REC_EVENT}, {"flush", SP_REC_FLUSH}, {"stats", SP_REC_STATS}};
    size_t ti = 0;
    while (ti < sizeof(types) / sizeof(types[0]) && !str_is(type, types[ti].name)) {
        ti++;
    }
    if (ti == sizeof(types) / sizeof(types[0])) {
        FAIL(SP_R_UNKNOWN_TYPE, "type");
    }
    r->type = types[ti].t;
    if (r->type == SP_REC_FLUSH || r->type == SP_REC_STATS) {
        if ((rc = req_str(c, o, "id", &r->id))) {
            return rc;
        }
        if (r->id.len > SP_MAX_ACK_ID_BYTES) {
            /* Still a control record (never counted): it is answered with
             * an error reply, since an echo of the id would be unbounded. */
            r->id = (struct sp_str){0};
            r->id_too_long = 1;
        }
        return SP_R_OK;
    }

    /* correlation_id wins over its alias when both are present. */
    const char *cid_key = "correlation_id";
    const struct sp_json *cid = sp_json_get(o, cid_key);
    if (cid == NULL) {
        cid_key = "correlationId";
        cid = sp_json_get(o, cid_key);
    }
    if (cid) {
        if (cid->type != SPJ_STRING) {
            FAIL(SP_R_BAD_TYPE, cid_key);
        }
        if (cid->s.len == 0 || cid->s.len > SP_MAX_CORRELATION_ID_BYTES) {
            FAIL(SP_R_BAD_VALUE, cid_key);
        }
        r->correlation_id = cid->s;
    } else if (r->type != SP_REC_METRIC) {
        FAIL(SP_R_MISSING_FIELD, "correlation_id");
    }

    r->ts_ns = now_ns;
    const struct sp_json *ts = sp_json_get(o, "ts");
    if (ts && (rc = parse_time(c, ts, "ts", &r->ts_ns))) {
        return rc;
    }
    if ((rc = opt_str(c, o, "function", &r->function)) ||
        (rc = opt_str(c, o, "invocation_id", &r->invocation_id)) ||
        (rc = opt_str(c, o, "workflow", &r->workflow)) ||
        (rc = parse_trace_context(c, o, r)) || (rc = parse_attrs(c, o, &r->attrs))) {
        return rc;
    }

    switch (r->type) {
    case SP_REC_SPAN:
        return parse_span(c, o, r);
    case SP_REC_LOG:
        return parse_log(c, o, r);
    case SP_REC_METRIC:
        return parse_metric(c, o, r);
    default:
        return parse_event(c, o, r);
    }
}
