/*
 * emf.c - CloudWatch Embedded Metric Format blobs (what Powertools' Metrics
 * prints) to metric records. See emf.h; docs/protocol.md ("Lines without a
 * type") has the mapping. The stream socket (door.c, a line without `type`
 * that record.c hands back as SP_REC_EMF) and the Telemetry API's function
 * log lines (telemetry_api.c) both come here, so both give the same points.
 */
#include "emf.h"

#include <math.h>
#include <string.h>

static struct sp_str jstr(const struct sp_json *o, const char *key)
{
    const struct sp_json *v = sp_json_getn(o, key, strlen(key));
    return v && v->type == SPJ_STRING ? v->s : (struct sp_str){NULL, 0};
}

int sp_emf_is(const struct sp_json *o)
{
    const struct sp_json *aws = o->type == SPJ_OBJECT ? sp_json_get(o, "_aws") : NULL;
    return aws && aws->type == SPJ_OBJECT && sp_json_get(aws, "CloudWatchMetrics");
}

/* EMF units to UCUM (the OTLP convention); unknown ones pass as they are. */
static struct sp_str emf_unit(struct sp_str u)
{
    static const char *const map[][2] = {
        {"Seconds", "s"},        {"Microseconds", "us"},   {"Milliseconds", "ms"},
        {"Bytes", "By"},         {"Kilobytes", "kBy"},     {"Megabytes", "MBy"},
        {"Gigabytes", "GBy"},    {"Terabytes", "TBy"},     {"Bits", "bit"},
        {"Kilobits", "kbit"},    {"Megabits", "Mbit"},     {"Gigabits", "Gbit"},
        {"Terabits", "Tbit"},    {"Percent", "%"},         {"Count", "1"},
        {"Bytes/Second", "By/s"}, {"Kilobytes/Second", "kBy/s"},
        {"Megabytes/Second", "MBy/s"}, {"Gigabytes/Second", "GBy/s"},
        {"Terabytes/Second", "TBy/s"}, {"Bits/Second", "bit/s"},
        {"Kilobits/Second", "kbit/s"}, {"Megabits/Second", "Mbit/s"},
        {"Gigabits/Second", "Gbit/s"}, {"Terabits/Second", "Tbit/s"},
        {"Count/Second", "1/s"},  {"None", ""}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (u.len == strlen(map[i][0]) && memcmp(u.p, map[i][0], u.len) == 0) {
            return sp_cstr(map[i][1]);
        }
    }
    return u;
}

int sp_emf_each(const struct sp_json *o, struct sp_arena *a, const struct sp_record_limits *lim,
              const struct sp_record *base, sp_emf_emit_fn emit, void *arg)
{
    const struct sp_json *aws = sp_json_get(o, "_aws");
    const struct sp_json *cwm = aws ? sp_json_get(aws, "CloudWatchMetrics") : NULL;
    if (cwm == NULL || cwm->type != SPJ_ARRAY) {
        return -1;
    }
    uint64_t ts = base->ts_ns;
    const struct sp_json *t = sp_json_get(aws, "Timestamp");
    if (t && t->type == SPJ_NUMBER && t->d > 0 && t->d < 1e14) {
        ts = (uint64_t)t->d * 1000000ull; /* EMF: milliseconds since the epoch */
    }
    int points = 0;
    for (const struct sp_json *d = cwm->child; d; d = d->next) {
        if (d->type != SPJ_OBJECT) {
            continue;
        }
        const struct sp_json *ms = sp_json_get(d, "Metrics");
        if (ms == NULL || ms->type != SPJ_ARRAY) {
            continue;
        }
        /* The dimensions, every set's keys once, with their values at the
         * root. The namespace is not among them: it names the points'
         * instrumentation scope (r.scope), as it scopes them in CloudWatch. */
        uint32_t cap = lim->max_attributes;
        struct sp_attrs at = {.v = sp_arena_calloc(a, sizeof(struct sp_attr) * (cap + 1))};
        if (at.v == NULL) {
            return -1;
        }
        struct sp_str ns = jstr(d, "Namespace");
        const struct sp_json *dims = sp_json_get(d, "Dimensions");
        for (const struct sp_json *set = dims && dims->type == SPJ_ARRAY ? dims->child : NULL;
             set; set = set->next) {
            for (const struct sp_json *k = set->type == SPJ_ARRAY ? set->child : NULL; k;
                 k = k->next) {
                if (k->type != SPJ_STRING) {
                    continue;
                }
                int dup = 0;
                for (uint32_t i = 0; i < at.n; i++) {
                    dup |= sp_str_eq(at.v[i].key, k->s);
                }
                const struct sp_json *vj = sp_json_getn(o, k->s.p, k->s.len);
                if (dup || vj == NULL || vj->type != SPJ_STRING) {
                    continue;
                }
                if (at.n >= cap) {
                    at.dropped++;
                    continue;
                }
                struct sp_attr *x = &at.v[at.n++];
                x->key = k->s;
                x->val.type = SP_VAL_STR;
                x->val.u.s = vj->s;
            }
        }
        uint32_t base_n = at.n;
        for (const struct sp_json *m = ms->child; m; m = m->next) {
            struct sp_str name = jstr(m, "Name");
            const struct sp_json *val = name.len ? sp_json_getn(o, name.p, name.len) : NULL;
            if (val == NULL) {
                continue;
            }
            struct sp_record r = *base;
            r.type = SP_REC_METRIC;
            r.name = name;
            r.scope = ns;
            r.ts_ns = ts;
            struct sp_str unit = jstr(m, "Unit");
            r.unit = emf_unit(unit);
            /* A Count adds up; any other unit is a distribution of samples,
             * as CloudWatch keeps it. */
            r.metric_kind = unit.len == 0 || (unit.len == 5 && memcmp(unit.p, "Count", 5) == 0)
                                ? SP_METRIC_COUNTER
                                : SP_METRIC_HISTOGRAM;
            at.n = base_n;
            const struct sp_json *sr = sp_json_get(m, "StorageResolution");
            if (sr && sr->type == SPJ_NUMBER && at.n < cap + 1) {
                struct sp_attr *x = &at.v[at.n++];
                x->key = sp_cstr("aws.cloudwatch.storage_resolution");
                x->val.type = SP_VAL_INT;
                x->val.u.i = sr->is_int ? sr->i : (int64_t)sr->d;
            }
            r.attrs = at;
            const struct sp_json *one = val->type == SPJ_ARRAY ? val->child : val;
            for (; one; one = val->type == SPJ_ARRAY ? one->next : NULL) {
                if (one->type != SPJ_NUMBER || !isfinite(one->d) ||
                    (r.metric_kind == SP_METRIC_COUNTER && one->d < 0)) {
                    continue;
                }
                r.value = one->d;
                points++;
                if (emit) {
                    emit(arg, &r);
                }
            }
        }
    }
    return points;
}
