/*
 * dsd_parse.c - the DogStatsD line parser. See dsd_parse.h.
 *
 * Extension fields this build does not use (`|c:` container id, `|e:`
 * external data, `|card:` cardinality, `|T` timestamp of a metric) are
 * skipped, as the Datadog agent skips what it does not know, so a newer
 * client keeps working.
 */
#include "dsd_parse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char *const reason_names[] = {
    "ok",
#define X(E, s) #s,
    DSD_REASONS(X)
#undef X
};

const char *dsd_reason_name(int reason)
{
    return reason > 0 && reason < DSD_R_COUNT ? reason_names[reason] : "ok";
}

static struct sp_str str(const char *p, size_t n)
{
    return (struct sp_str){p, n};
}

static int is(struct sp_str s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.p, c, s.len) == 0;
}

/* A number the way statsd clients write it; no NUL in network input, so
 * it is copied. 0 or -1. */
static int number(const char *p, size_t n, double *out)
{
    char b[64];
    if (n == 0 || n >= sizeof(b)) {
        return -1;
    }
    memcpy(b, p, n);
    b[n] = 0;
    char *end;
    double v = strtod(b, &end);
    if (*end || !isfinite(v)) {
        return -1;
    }
    *out = v;
    return 0;
}

static int integer(const char *p, size_t n, int64_t *out)
{
    double v;
    if (number(p, n, &v) || v != floor(v) || fabs(v) > 9e15) {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/* `#k:v,k2,...`: the unified service tags and correlation_id apart, a tag
 * without a value as an empty string, a repeated key keeps its last value. */
static int tags(const char *p, size_t n, struct sp_arena *a, uint32_t max, struct dsd_line *l)
{
    uint32_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        cap += p[i] == ',';
    }
    cap = cap + 1 < max ? cap + 1 : max;
    l->tags.v = sp_arena_alloc(a, sizeof(struct sp_attr) * (cap + 1));
    if (l->tags.v == NULL) {
        return DSD_R_BAD_LINE;
    }
    size_t i = 0;
    while (i < n) {
        const char *e = memchr(p + i, ',', n - i);
        size_t end = e ? (size_t)(e - p) : n;
        const char *t = p + i;
        size_t tn = end - i;
        i = end + 1;
        if (tn == 0) {
            continue;
        }
        if (!sp_utf8_valid(t, tn)) {
            return DSD_R_BAD_UTF8;
        }
        const char *c = memchr(t, ':', tn);
        struct sp_str k = c ? str(t, (size_t)(c - t)) : str(t, tn);
        struct sp_str v = c ? str(c + 1, tn - (size_t)(c - t) - 1) : str("", 0);
        if (k.len == 0) {
            continue;
        }
        if (is(k, "service")) {
            l->service = v;
        } else if (is(k, "env")) {
            l->env = v;
        } else if (is(k, "version")) {
            l->version = v;
        } else if (is(k, "correlation_id")) {
            l->cid = v;
        } else if (is(k, "process.pid")) {
            continue;
        } else {
            uint32_t j = 0;
            while (j < l->tags.n && !sp_str_eq(l->tags.v[j].key, k)) {
                j++;
            }
            if (j == l->tags.n) {
                if (l->tags.n == cap) {
                    l->tags.dropped++;
                    continue;
                }
                l->tags.n++;
            }
            l->tags.v[j].key = k;
            l->tags.v[j].val.type = SP_VAL_STR;
            l->tags.v[j].val.u.s = v;
        }
    }
    return DSD_OK;
}

/* The `|`-separated fields after the first ones, shared by all three kinds. */
static int fields(const char *p, size_t n, struct sp_arena *a, uint32_t max, struct dsd_line *l)
{
    size_t i = 0;
    while (i < n) {
        const char *e = memchr(p + i, '|', n - i);
        size_t end = e ? (size_t)(e - p) : n;
        const char *f = p + i;
        size_t fn = end - i;
        i = end + 1;
        if (fn == 0) {
            continue;
        }
        int rc = DSD_OK;
        if (f[0] == '#') {
            rc = tags(f + 1, fn - 1, a, max, l);
        } else if (f[0] == '@' && l->kind == DSD_METRIC) {
            if (number(f + 1, fn - 1, &l->rate) || !(l->rate > 0) || l->rate > 1) {
                rc = DSD_R_BAD_VALUE;
            }
        } else if (fn >= 2 && f[1] == ':' && l->kind != DSD_METRIC) {
            struct sp_str v = str(f + 2, fn - 2);
            switch (f[0]) {
            case 'd':
                if (integer(v.p, v.len, &l->ts_s)) {
                    rc = DSD_R_BAD_VALUE;
                }
                break;
            case 'h': l->host = v; break;
            case 'p': l->priority = v; break;
            case 's': l->source = v; break;
            case 't': l->alert_type = v; break;
            case 'm': l->text = v; break; /* service checks: the message */
            default: break; /* k: aggregation key, c:, e:, card: */
            }
        }
        /* Anything else (`c:`, `e:`, `card:`, `T...` on a metric) is an
         * extension this build does not use. */
        if (rc) {
            return rc;
        }
    }
    return DSD_OK;
}

static int event(const char *p, size_t n, struct sp_arena *a, uint32_t max, struct dsd_line *l)
{
    /* _e{<title length>,<text length>}:<title>|<text>|... */
    l->kind = DSD_EVENT;
    const char *close = memchr(p, '}', n);
    const char *comma = memchr(p, ',', n);
    if (close == NULL || comma == NULL || comma > close || (size_t)(close - p) + 2 > n ||
        close[1] != ':') {
        return DSD_R_BAD_LINE;
    }
    int64_t tl, xl;
    if (integer(p + 3, (size_t)(comma - p - 3), &tl) ||
        integer(comma + 1, (size_t)(close - comma - 1), &xl) || tl <= 0 || xl < 0) {
        return DSD_R_BAD_LINE;
    }
    size_t at = (size_t)(close - p) + 2;
    if ((uint64_t)tl + (uint64_t)xl + 1 > n - at || p[at + (size_t)tl] != '|') {
        return DSD_R_BAD_LINE;
    }
    l->name = str(p + at, (size_t)tl);
    at += (size_t)tl + 1;
    l->text = str(p + at, (size_t)xl);
    at += (size_t)xl;
    if (!sp_utf8_valid(l->name.p, l->name.len) || !sp_utf8_valid(l->text.p, l->text.len)) {
        return DSD_R_BAD_UTF8;
    }
    if (at < n && p[at] != '|') {
        return DSD_R_BAD_LINE;
    }
    struct sp_str keep = l->text;
    int rc = fields(p + at, n - at, a, max, l);
    l->text = keep; /* m: is a service check's field */
    return rc;
}

static int service_check(const char *p, size_t n, struct sp_arena *a, uint32_t max,
                         struct dsd_line *l)
{
    /* _sc|<name>|<status>|... */
    l->kind = DSD_SERVICE_CHECK;
    size_t at = 4;
    const char *e = memchr(p + at, '|', n - at);
    if (e == NULL || e == p + at) {
        return DSD_R_BAD_LINE;
    }
    l->name = str(p + at, (size_t)(e - p - at));
    at = (size_t)(e - p) + 1;
    const char *e2 = memchr(p + at, '|', n - at);
    size_t send = e2 ? (size_t)(e2 - p) : n;
    int64_t st;
    if (integer(p + at, send - at, &st) || st < 0 || st > 3) {
        return DSD_R_BAD_VALUE;
    }
    l->status = (int)st;
    if (!sp_utf8_valid(l->name.p, l->name.len)) {
        return DSD_R_BAD_UTF8;
    }
    int rc = fields(p + send, n - send, a, max, l);
    if (rc == DSD_OK && !sp_utf8_valid(l->text.p, l->text.len)) {
        rc = DSD_R_BAD_UTF8;
    }
    return rc;
}

int dsd_parse_line(const char *p, size_t n, struct sp_arena *a, uint32_t max_tags,
                   struct dsd_line *out)
{
    memset(out, 0, sizeof(*out));
    out->rate = 1;
    if (n >= 3 && memcmp(p, "_e{", 3) == 0) {
        return event(p, n, a, max_tags, out);
    }
    if (n >= 4 && memcmp(p, "_sc|", 4) == 0) {
        return service_check(p, n, a, max_tags, out);
    }
    /* name:value|type[|field]... */
    const char *bar = memchr(p, '|', n);
    if (bar == NULL) {
        return DSD_R_BAD_LINE;
    }
    size_t head = (size_t)(bar - p);
    /* Names never contain ':'; a set's member may. */
    const char *colon = memchr(p, ':', head);
    if (colon == NULL || colon == p) {
        return DSD_R_BAD_LINE;
    }
    out->name = str(p, (size_t)(colon - p));
    struct sp_str val = str(colon + 1, head - out->name.len - 1);
    size_t at = head + 1;
    const char *e = memchr(p + at, '|', n - at);
    struct sp_str type = str(p + at, (e ? (size_t)(e - p) : n) - at);
    at += type.len;
    if (type.len == 0 || val.len == 0) {
        return DSD_R_BAD_LINE;
    }
    if (!sp_utf8_valid(out->name.p, out->name.len)) {
        return DSD_R_BAD_UTF8;
    }
    if (is(type, "c")) {
        out->type = DSD_COUNTER;
    } else if (is(type, "g")) {
        out->type = DSD_GAUGE;
    } else if (is(type, "ms")) {
        out->type = DSD_TIMER;
    } else if (is(type, "h")) {
        out->type = DSD_HISTOGRAM;
    } else if (is(type, "d")) {
        out->type = DSD_DISTRIBUTION;
    } else if (is(type, "s")) {
        out->type = DSD_SET;
    } else {
        return DSD_R_UNKNOWN_TYPE;
    }
    if (out->type == DSD_SET) {
        if (!sp_utf8_valid(val.p, val.len)) {
            return DSD_R_BAD_UTF8;
        }
        out->member = val;
    } else if (number(val.p, val.len, &out->value)) {
        return DSD_R_BAD_VALUE;
    }
    return fields(p + at, n - at, a, max_tags, out);
}
