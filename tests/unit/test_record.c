/*
 * test_record.c - sp_record_parse against the acceptance table and the field
 * rules of docs/protocol.md, with the default limits {128, 4096}.
 *
 * Records are written with ' for " to stay readable; rec() swaps them before
 * parsing (records that need a literal ' use rec_raw()).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "emf.h"
#include "harness.h"
#include "ids.h"
#include "record.h"

#define NOW_NS UINT64_C(1700000000123456789)

static struct sp_arena A;
static const struct sp_record_limits LIM = {.max_attributes = 128, .max_attr_value_bytes = 4096};
static struct sp_record R;
static const char *F;
static char *LINE; /* the record's strings point into it: valid until the next parse */
static size_t LINE_CAP = 1u << 20;

static int rec_raw_n(const char *line, size_t n)
{
    sp_arena_reset(&A);
    if (n + 1 > LINE_CAP) {
        LINE_CAP = n + 1;
        LINE = realloc(LINE, LINE_CAP);
    }
    memcpy(LINE, line, n);
    LINE[n] = 0;
    F = "(not touched)";
    return sp_record_parse(LINE, n, &A, &LIM, NOW_NS, &R, &F);
}

static int rec_raw(const char *line)
{
    return rec_raw_n(line, strlen(line));
}

/* ' -> " */
static int rec(const char *line)
{
    size_t n = strlen(line);
    char *tmp = malloc(n + 1);
    for (size_t i = 0; i <= n; i++) {
        tmp[i] = line[i] == '\'' ? '"' : line[i];
    }
    int rc = rec_raw_n(tmp, n);
    free(tmp);
    return rc;
}

static int field_is(const char *want)
{
    if (want == NULL) {
        return F == NULL;
    }
    return F != NULL && strcmp(F, want) == 0;
}

static void expect_at(int ln, int raw, const char *line, int reason, const char *field)
{
    int rc = raw ? rec_raw(line) : rec(line);
    if (rc == reason && field_is(field)) {
        th_passed++;
        return;
    }
    th_failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n    want %s field=%s, got %s field=%s\n", __FILE__, ln, line,
            sp_reason_name(reason), field ? field : "(null)", sp_reason_name(rc),
            F ? F : "(null)");
}

#define EXPECT(line, reason, field) expect_at(__LINE__, 0, (line), (reason), (field))
#define EXPECT_RAW(line, reason, field) expect_at(__LINE__, 1, (line), (reason), (field))
#define ACCEPT(line) expect_at(__LINE__, 0, (line), SP_R_OK, NULL)

static int s_is(struct sp_str s, const char *lit)
{
    return s.len == strlen(lit) && (s.len == 0 || memcmp(s.p, lit, s.len) == 0);
}

static const struct sp_attr *attr(const struct sp_attrs *a, const char *key)
{
    for (uint32_t i = 0; i < a->n; i++) {
        if (s_is(a->v[i].key, key)) {
            return &a->v[i];
        }
    }
    return NULL;
}

static int hex_eq(const uint8_t *p, size_t n, const char *hex)
{
    uint8_t want[32];
    if (sp_hex_decode(hex, strlen(hex), want, n)) {
        return 0;
    }
    return memcmp(p, want, n) == 0;
}

/* --- acceptance table ----------------------------------------------------- */

static void test_malformed_json(void)
{
    EXPECT("{'type':'log',", SP_R_MALFORMED_JSON, NULL);
    EXPECT("[1,2]", SP_R_MALFORMED_JSON, NULL);
    EXPECT("'log'", SP_R_MALFORMED_JSON, NULL);
    EXPECT("42", SP_R_MALFORMED_JSON, NULL);
    EXPECT("null", SP_R_MALFORMED_JSON, NULL);
    EXPECT("", SP_R_MALFORMED_JSON, NULL);
    EXPECT("not json", SP_R_MALFORMED_JSON, NULL);
    EXPECT("{'type':'log','correlation_id':'c','body':'x',}", SP_R_MALFORMED_JSON, NULL);
    EXPECT("{'type':'log','correlation_id':'c','body':'x'} x", SP_R_MALFORMED_JSON, NULL);
    EXPECT("{'type':'log','correlation_id':'c','body':01}", SP_R_MALFORMED_JSON, NULL);
    EXPECT("{'type':'log','correlation_id':'c','body':'a\x01'}", SP_R_MALFORMED_JSON, NULL);

    /* a document nested more than 64 levels deep is malformed_json */
    char line[1024];
    for (int depth = 63; depth <= 64; depth++) {
        size_t o = (size_t)snprintf(line, sizeof(line), "{'type':'log','correlation_id':'c','body':");
        for (int i = 0; i < depth; i++) {
            line[o++] = '[';
        }
        for (int i = 0; i < depth; i++) {
            line[o++] = ']';
        }
        line[o++] = '}';
        line[o] = 0;
        /* the record object itself is one level: 63 arrays = 64 levels */
        if (depth == 63) {
            ACCEPT(line);
            CHECK(R.body.type == SP_VAL_ARRAY);
        } else {
            EXPECT(line, SP_R_MALFORMED_JSON, NULL);
        }
    }
}

static void test_missing_field(void)
{
    /* common */
    EXPECT("{'type':'log','body':'x'}", SP_R_MISSING_FIELD, "correlation_id");
    EXPECT("{'correlation_id':'c','body':'x'}", SP_R_MISSING_FIELD, "type");
    /* level without message, message without level: still not a log line */
    EXPECT("{'correlation_id':'c','level':'INFO'}", SP_R_MISSING_FIELD, "type");
    EXPECT("{'correlation_id':'c','message':'x'}", SP_R_MISSING_FIELD, "type");
    EXPECT("{'type':'span','name':'n','start':1,'end':2}", SP_R_MISSING_FIELD, "correlation_id");
    EXPECT("{'type':'event','name':'x'}", SP_R_MISSING_FIELD, "correlation_id");
    /* span */
    EXPECT("{'type':'span','correlation_id':'c','start':1,'end':2}", SP_R_MISSING_FIELD, "name");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','end':2}", SP_R_MISSING_FIELD, "start");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1}", SP_R_MISSING_FIELD, "end");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'events':[{'ts':1}]}",
           SP_R_MISSING_FIELD, "name");
    /* log */
    EXPECT("{'type':'log','correlation_id':'c'}", SP_R_MISSING_FIELD, "body");
    EXPECT("{'type':'log','correlation_id':'c','Body':'x'}", SP_R_MISSING_FIELD, "body");
    /* metric */
    EXPECT("{'type':'metric','kind':'counter','value':1}", SP_R_MISSING_FIELD, "name");
    EXPECT("{'type':'metric','name':'m','value':1}", SP_R_MISSING_FIELD, "kind");
    EXPECT("{'type':'metric','name':'m','kind':'gauge'}", SP_R_MISSING_FIELD, "value");
    /* event */
    EXPECT("{'type':'event','correlation_id':'c'}", SP_R_MISSING_FIELD, "name");
    EXPECT("{'type':'event','name':'invocation_start','correlation_id':'c'}", SP_R_MISSING_FIELD,
           "invocation_id");
    EXPECT("{'type':'event','name':'invocation_end','correlation_id':'c','status':'ok'}",
           SP_R_MISSING_FIELD, "invocation_id");
    EXPECT("{'type':'event','name':'invocation_end','correlation_id':'c','invocation_id':'i'}",
           SP_R_MISSING_FIELD, "status");
    EXPECT("{'type':'event','name':'retry','correlation_id':'c'}", SP_R_MISSING_FIELD, "attempt");
    EXPECT("{'type':'event','name':'dead_letter','correlation_id':'c'}", SP_R_MISSING_FIELD,
           "queue");
    /* control records */
    EXPECT("{'type':'flush'}", SP_R_MISSING_FIELD, "id");
    EXPECT("{'type':'stats'}", SP_R_MISSING_FIELD, "id");
    /* events without extra required fields do not need them */
    ACCEPT("{'type':'event','name':'cold_start','correlation_id':'c'}");
    ACCEPT("{'type':'event','name':'throttle','correlation_id':'c'}");
    ACCEPT("{'type':'event','name':'workflow_start','correlation_id':'c'}");
    ACCEPT("{'type':'event','name':'workflow_end','correlation_id':'c'}");
    ACCEPT("{'type':'event','name':'cache_miss','correlation_id':'c'}");
}

static void test_bad_type(void)
{
    EXPECT("{'type':'log','correlation_id':'c','body':'x','function':7}", SP_R_BAD_TYPE, "function");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','invocation_id':1}", SP_R_BAD_TYPE,
           "invocation_id");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','workflow':true}", SP_R_BAD_TYPE,
           "workflow");
    EXPECT("{'type':5,'correlation_id':'c','body':'x'}", SP_R_BAD_TYPE, "type");
    EXPECT("{'type':null,'correlation_id':'c','body':'x'}", SP_R_BAD_TYPE, "type");
    EXPECT("{'type':'log','correlation_id':5,'body':'x'}", SP_R_BAD_TYPE, "correlation_id");
    EXPECT("{'type':'log','correlationId':['c'],'body':'x'}", SP_R_BAD_TYPE, "correlationId");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':true}", SP_R_BAD_TYPE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':{}}", SP_R_BAD_TYPE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':null}", SP_R_BAD_TYPE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','attributes':[]}", SP_R_BAD_TYPE,
           "attributes");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','attributes':'a=b'}", SP_R_BAD_TYPE,
           "attributes");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','attributes':{'a':null}}", SP_R_BAD_TYPE,
           "attributes");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','attributes':{'a':[1,'x']}}",
           SP_R_BAD_TYPE, "attributes");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','attributes':{'a':[{'b':1}]}}",
           SP_R_BAD_TYPE, "attributes");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','attributes':{'a':[[1]]}}", SP_R_BAD_TYPE,
           "attributes");
    /* v must be a number */
    EXPECT("{'v':'1','type':'log','correlation_id':'c','body':'x'}", SP_R_BAD_TYPE, "v");
    EXPECT("{'v':true,'type':'log','correlation_id':'c','body':'x'}", SP_R_BAD_TYPE, "v");
    /* span */
    EXPECT("{'type':'span','correlation_id':'c','name':5,'start':1,'end':2}", SP_R_BAD_TYPE, "name");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':true,'end':2}", SP_R_BAD_TYPE,
           "start");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':[2]}", SP_R_BAD_TYPE,
           "end");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'duration_ms':'5'}",
           SP_R_BAD_TYPE, "duration_ms");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'status':1}",
           SP_R_BAD_TYPE, "status");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'status_message':1}",
           SP_R_BAD_TYPE, "status_message");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'kind':2}",
           SP_R_BAD_TYPE, "kind");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'span_id':1234}",
           SP_R_BAD_TYPE, "span_id");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'parent_span_id':null}",
           SP_R_BAD_TYPE, "parent_span_id");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'events':{}}",
           SP_R_BAD_TYPE, "events");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'events':['e']}",
           SP_R_BAD_TYPE, "events");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'events':[{'name':'e','ts':false}]}",
           SP_R_BAD_TYPE, "events.ts");
    /* log */
    EXPECT("{'type':'log','correlation_id':'c','body':'x','severity':true}", SP_R_BAD_TYPE,
           "severity");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','severity':{}}", SP_R_BAD_TYPE,
           "severity");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','span_id':5}", SP_R_BAD_TYPE, "span_id");
    /* metric */
    EXPECT("{'type':'metric','name':1,'kind':'gauge','value':1}", SP_R_BAD_TYPE, "name");
    EXPECT("{'type':'metric','name':'m','kind':1,'value':1}", SP_R_BAD_TYPE, "kind");
    EXPECT("{'type':'metric','name':'m','kind':'gauge','value':'1'}", SP_R_BAD_TYPE, "value");
    EXPECT("{'type':'metric','name':'m','kind':'gauge','value':null}", SP_R_BAD_TYPE, "value");
    EXPECT("{'type':'metric','name':'m','kind':'gauge','value':1,'unit':1}", SP_R_BAD_TYPE, "unit");
    /* events */
    EXPECT("{'type':'event','correlation_id':'c','name':7}", SP_R_BAD_TYPE, "name");
    EXPECT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'cold_start':'yes'}",
           SP_R_BAD_TYPE, "cold_start");
    EXPECT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'cold_start':1}",
           SP_R_BAD_TYPE, "cold_start");
    EXPECT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'trigger':1}",
           SP_R_BAD_TYPE, "trigger");
    EXPECT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'attempt':'2'}",
           SP_R_BAD_TYPE, "attempt");
    EXPECT("{'type':'event','name':'invocation_end','correlation_id':'c','invocation_id':'i',"
           "'status':true}",
           SP_R_BAD_TYPE, "status");
    EXPECT("{'type':'event','name':'invocation_end','correlation_id':'c','invocation_id':'i',"
           "'status':'error','error':{}}",
           SP_R_BAD_TYPE, "error");
    EXPECT("{'type':'event','name':'cold_start','correlation_id':'c','init_duration_ms':'3'}",
           SP_R_BAD_TYPE, "init_duration_ms");
    EXPECT("{'type':'event','name':'throttle','correlation_id':'c','reason':5}", SP_R_BAD_TYPE,
           "reason");
    EXPECT("{'type':'event','name':'retry','correlation_id':'c','attempt':'2'}", SP_R_BAD_TYPE,
           "attempt");
    EXPECT("{'type':'event','name':'retry','correlation_id':'c','attempt':2,'reason':1}",
           SP_R_BAD_TYPE, "reason");
    EXPECT("{'type':'event','name':'dead_letter','correlation_id':'c','queue':1}", SP_R_BAD_TYPE,
           "queue");
    EXPECT("{'type':'event','name':'dead_letter','correlation_id':'c','queue':'q','message_id':1}",
           SP_R_BAD_TYPE, "message_id");
    EXPECT("{'type':'event','name':'workflow_end','correlation_id':'c','status':0}", SP_R_BAD_TYPE,
           "status");
    EXPECT("{'type':'flush','id':5}", SP_R_BAD_TYPE, "id");
    EXPECT("{'type':'stats','id':null}", SP_R_BAD_TYPE, "id");
}

static void test_bad_value_times(void)
{
    /* milliseconds by mistake */
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':1740830400000}", SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':100000000000}", SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':1e11}", SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':1740830400000.5}", SP_R_BAD_VALUE,
           "ts");
    /* negative */
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':-1}", SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':-0.5}", SP_R_BAD_VALUE, "ts");
    /* bad RFC 3339 */
    static const char *const bad[] = {
        "2025-03-01T12:00:00",              /* no zone */
        "2025-03-01T12:00:00.5",            /* no zone */
        "2025-03-01 12:00:00Z",             /* space instead of T */
        "2025-03-01T12:00:00.1234567891Z",  /* 10 fraction digits */
        "2025-03-01T12:00:00.Z",            /* empty fraction */
        "2025-02-30T12:00:00Z",             /* impossible date */
        "2025-02-29T12:00:00Z",             /* not a leap year */
        "1900-02-29T12:00:00Z",
        "2025-13-01T12:00:00Z",
        "2025-00-01T12:00:00Z",
        "2025-04-31T12:00:00Z",
        "2025-03-00T12:00:00Z",
        "2025-03-01T24:00:00Z",
        "2025-03-01T12:60:00Z",
        "2025-03-01T12:00:61Z",
        "2025-03-01T12:00:00+0100",         /* offset without colon */
        "2025-03-01T12:00:00+01",
        "2025-03-01T12:00:00+24:00",
        "2025-03-01T12:00:00+01:60",
        "2025-03-01T12:00:00Zjunk",
        "2025-03-01T12:00:00+01:00 ",
        "2025-3-01T12:00:00Z",
        "25-03-01T12:00:00Z",
        "2025/03/01T12:00:00Z",
        "2025-03-01T12.00.00Z",
        "now",
        "",
        "1740830400",                       /* a number in a string is not a time */
    };
    char line[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line), "{'type':'log','correlation_id':'c','body':'x','ts':'%s'}",
                 bad[i]);
        EXPECT(line, SP_R_BAD_VALUE, "ts");
    }
    /* the same rules for span start / end and event ts */
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':'2025-03-01T12:00:00','end':2}",
           SP_R_BAD_VALUE, "start");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':1740830400000}",
           SP_R_BAD_VALUE, "end");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'events':[{'name':'e','ts':'yesterday'}]}",
           SP_R_BAD_VALUE, "events.ts");
    /* end < start */
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1740830401,'end':1740830400}",
           SP_R_BAD_VALUE, "end");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':'2025-03-01T12:00:00.000000002Z',"
           "'end':'2025-03-01T12:00:00.000000001Z'}",
           SP_R_BAD_VALUE, "end");
    /* end == start is fine */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':1740830400,'end':1740830400}");
    /* negative duration */
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'duration_ms':-1}",
           SP_R_BAD_VALUE, "duration_ms");
    /* an end past the end of time (2^64 ns would wrap to 1970 + x) */
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':18446744000,'duration_ms':1e12}",
           SP_R_BAD_VALUE, "duration_ms");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':'2554-07-21T23:34:00Z',"
           "'duration_ms':33000}",
           SP_R_BAD_VALUE, "duration_ms");
    /* the last nanosecond before the end of time is still a time */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':18446744072,'duration_ms':999.999999}");
    CHECK(R.end_ns == 18446744072999999999ull && R.end_ns > R.start_ns);
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':18446744072,'duration_ms':1000}",
           SP_R_BAD_VALUE, "duration_ms");
}

static void test_bad_value_other(void)
{
    /* hex span ids */
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'span_id':'xyz'}",
           SP_R_BAD_VALUE, "span_id");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'span_id':'5f1c0a2b3c4d5e6'}",
           SP_R_BAD_VALUE, "span_id");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'span_id':'5f1c0a2b3c4d5e6f0'}",
           SP_R_BAD_VALUE, "span_id");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'span_id':'5f1c0a2b3c4d5e6g'}",
           SP_R_BAD_VALUE, "span_id");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'span_id':'0000000000000000'}",
           SP_R_BAD_VALUE, "span_id");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'parent_span_id':'00f067aa0ba902'}",
           SP_R_BAD_VALUE, "parent_span_id");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'parent_span_id':'0000000000000000'}",
           SP_R_BAD_VALUE, "parent_span_id");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','span_id':''}", SP_R_BAD_VALUE, "span_id");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','span_id':'0000000000000000'}",
           SP_R_BAD_VALUE, "span_id");
    /* severity */
    static const char *const sev[] = {"'loud'", "0", "25", "9.5", "9.0", "-1", "9e0", "''",
                                      "'warn '", "'information'"};
    char line[256];
    for (size_t i = 0; i < sizeof(sev) / sizeof(sev[0]); i++) {
        snprintf(line, sizeof(line), "{'type':'log','correlation_id':'c','body':'x','severity':%s}",
                 sev[i]);
        EXPECT(line, SP_R_BAD_VALUE, "severity");
    }
    /* enums */
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'status':'fine'}",
           SP_R_BAD_VALUE, "status");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'status':'OK'}",
           SP_R_BAD_VALUE, "status");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'kind':'db'}",
           SP_R_BAD_VALUE, "kind");
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'kind':'Server'}",
           SP_R_BAD_VALUE, "kind");
    EXPECT("{'type':'metric','name':'m','kind':'summary','value':1}", SP_R_BAD_VALUE, "kind");
    EXPECT("{'type':'metric','name':'m','kind':'Counter','value':1}", SP_R_BAD_VALUE, "kind");
    EXPECT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'trigger':'cron'}",
           SP_R_BAD_VALUE, "trigger");
    EXPECT("{'type':'event','name':'invocation_end','correlation_id':'c','invocation_id':'i',"
           "'status':'fine'}",
           SP_R_BAD_VALUE, "status");
    EXPECT("{'type':'event','name':'workflow_end','correlation_id':'c','status':'fine'}",
           SP_R_BAD_VALUE, "status");
    /* workflow_end's status is ok | error only (docs/protocol.md event table,
     * protocol.schema.json); timeout belongs to invocation_end */
    EXPECT("{'type':'event','name':'workflow_end','correlation_id':'c','status':'timeout'}",
           SP_R_BAD_VALUE, "status");
    /* counter < 0 */
    EXPECT("{'type':'metric','name':'m','kind':'counter','value':-1}", SP_R_BAD_VALUE, "value");
    EXPECT("{'type':'metric','name':'m','kind':'counter','value':-0.001}", SP_R_BAD_VALUE, "value");
    ACCEPT("{'type':'metric','name':'m','kind':'counter','value':0}");
    ACCEPT("{'type':'metric','name':'m','kind':'gauge','value':-5}");
    ACCEPT("{'type':'metric','name':'m','kind':'histogram','value':-5}");
    /* a non-finite number is not a value */
    EXPECT("{'type':'metric','name':'m','kind':'gauge','value':1e400}", SP_R_BAD_VALUE, "value");
    EXPECT("{'type':'metric','name':'','kind':'gauge','value':1}", SP_R_BAD_VALUE, "name");
    /* attempt */
    EXPECT("{'type':'event','name':'retry','correlation_id':'c','attempt':1}", SP_R_BAD_VALUE,
           "attempt");
    EXPECT("{'type':'event','name':'retry','correlation_id':'c','attempt':0}", SP_R_BAD_VALUE,
           "attempt");
    EXPECT("{'type':'event','name':'retry','correlation_id':'c','attempt':2.0}", SP_R_BAD_VALUE,
           "attempt");
    EXPECT("{'type':'event','name':'retry','correlation_id':'c','attempt':2e0}", SP_R_BAD_VALUE,
           "attempt");
    ACCEPT("{'type':'event','name':'retry','correlation_id':'c','attempt':2}");
    EXPECT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'attempt':0}",
           SP_R_BAD_VALUE, "attempt");
    EXPECT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'attempt':1.5}",
           SP_R_BAD_VALUE, "attempt");
    ACCEPT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'attempt':1}");
    EXPECT("{'type':'event','name':'cold_start','correlation_id':'c','init_duration_ms':-1}",
           SP_R_BAD_VALUE, "init_duration_ms");
    EXPECT("{'type':'event','name':'','correlation_id':'c'}", SP_R_BAD_VALUE, "name");

    /* correlation_id: 1-256 bytes */
    EXPECT("{'type':'log','correlation_id':'','body':'x'}", SP_R_BAD_VALUE, "correlation_id");
    EXPECT("{'type':'log','correlationId':'','body':'x'}", SP_R_BAD_VALUE, "correlationId");
    EXPECT("{'type':'metric','name':'m','kind':'gauge','value':1,'correlation_id':''}",
           SP_R_BAD_VALUE, "correlation_id");
    char cid[600], big[800];
    memset(cid, 'x', 257);
    cid[257] = 0;
    snprintf(big, sizeof(big), "{'type':'log','correlation_id':'%s','body':'x'}", cid);
    EXPECT(big, SP_R_BAD_VALUE, "correlation_id");
    cid[256] = 0;
    snprintf(big, sizeof(big), "{'type':'log','correlation_id':'%s','body':'x'}", cid);
    ACCEPT(big);
    CHECK_EQ_INT(R.correlation_id.len, 256);
    /* bytes, not characters: 128 x U+00E9 = 256 bytes ok, 129 = 258 bytes not */
    size_t o = 0;
    for (int i = 0; i < 129; i++) {
        cid[o++] = (char)0xc3;
        cid[o++] = (char)0xa9;
    }
    cid[o] = 0;
    snprintf(big, sizeof(big), "{'type':'log','correlation_id':'%s','body':'x'}", cid);
    EXPECT(big, SP_R_BAD_VALUE, "correlation_id");
    cid[256] = 0;
    snprintf(big, sizeof(big), "{'type':'log','correlation_id':'%s','body':'x'}", cid);
    ACCEPT(big);
    CHECK_EQ_INT(R.correlation_id.len, 256);
    /* escapes count after unescaping: 256 x \u0041 is 256 bytes */
    o = (size_t)snprintf(big, sizeof(big), "{'type':'log','body':'x','correlation_id':'");
    char *esc = malloc(4096);
    memcpy(esc, big, o);
    for (int i = 0; i < 256; i++) {
        memcpy(esc + o, "\\u0041", 6);
        o += 6;
    }
    memcpy(esc + o, "'}", 3);
    ACCEPT(esc);
    CHECK_EQ_INT(R.correlation_id.len, 256);
    free(esc);
    /* flush id: at most 256 bytes; a longer one is still a control record
     * (never counted), marked for an error reply */
    memset(cid, 'f', 257);
    cid[257] = 0;
    snprintf(big, sizeof(big), "{'type':'flush','id':'%s'}", cid);
    ACCEPT(big);
    CHECK(R.type == SP_REC_FLUSH && R.id_too_long && R.id.len == 0);
    snprintf(big, sizeof(big), "{'type':'stats','id':'%s'}", cid);
    ACCEPT(big);
    CHECK(R.type == SP_REC_STATS && R.id_too_long && R.id.len == 0);
    cid[256] = 0;
    snprintf(big, sizeof(big), "{'type':'flush','id':'%s'}", cid);
    ACCEPT(big);
    CHECK(!R.id_too_long && R.id.len == 256);
}

static void test_unknown_type_and_version(void)
{
    EXPECT("{'type':'trace','correlation_id':'c'}", SP_R_UNKNOWN_TYPE, "type");
    EXPECT("{'type':'Span','correlation_id':'c','name':'n','start':1,'end':2}", SP_R_UNKNOWN_TYPE,
           "type");
    EXPECT("{'type':'','correlation_id':'c'}", SP_R_UNKNOWN_TYPE, "type");
    EXPECT("{'type':'logs','correlation_id':'c','body':'x'}", SP_R_UNKNOWN_TYPE, "type");
    /* keys are case-sensitive: Type is not type */
    EXPECT("{'Type':'log','correlation_id':'c','body':'x'}", SP_R_MISSING_FIELD, "type");

    EXPECT("{'v':2,'type':'log','correlation_id':'c','body':'x'}", SP_R_UNSUPPORTED_VERSION, "v");
    EXPECT("{'v':0,'type':'log','correlation_id':'c','body':'x'}", SP_R_UNSUPPORTED_VERSION, "v");
    EXPECT("{'v':-1,'type':'log','correlation_id':'c','body':'x'}", SP_R_UNSUPPORTED_VERSION, "v");
    /* v is checked before type */
    EXPECT("{'v':2,'type':'trace'}", SP_R_UNSUPPORTED_VERSION, "v");
    EXPECT("{'v':'1','type':'log','correlation_id':'c','body':'x'}", SP_R_BAD_TYPE, "v");
    ACCEPT("{'v':1,'type':'log','correlation_id':'c','body':'x'}");
    ACCEPT("{'type':'log','correlation_id':'c','body':'x'}");
}

static void test_bad_utf8(void)
{
    /* a Latin-1 e-acute (0xE9) inside a string */
    EXPECT_RAW("{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"caf\xe9\"}", SP_R_BAD_UTF8,
               NULL);
    EXPECT_RAW("{\"type\":\"log\",\"correlation_id\":\"c\xc0\x80\",\"body\":\"x\"}", SP_R_BAD_UTF8,
               NULL);
    EXPECT_RAW("{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"\xed\xa0\x80\"}",
               SP_R_BAD_UTF8, NULL);
    EXPECT_RAW("{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"\xf5\x80\x80\x80\"}",
               SP_R_BAD_UTF8, NULL);
    EXPECT_RAW("{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"\xe2\x82\"}", SP_R_BAD_UTF8,
               NULL);
    /* in a key */
    EXPECT_RAW("{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"x\",\"k\xff\":1}",
               SP_R_BAD_UTF8, NULL);
    /* a lone surrogate escape */
    EXPECT("{'type':'log','correlation_id':'c','body':'\\ud800'}", SP_R_BAD_UTF8, NULL);
    /* invalid UTF-8 wins over a syntax error later in the line */
    EXPECT_RAW("{\"type\":\"log\",\"correlation_id\":\"c\xe9\",", SP_R_BAD_UTF8, NULL);
    /* valid UTF-8 everywhere is fine */
    ACCEPT("{'type':'log','correlation_id':'caf\xc3\xa9','body':'\xf0\x9f\x98\x80'}");
    CHECK(s_is(R.correlation_id, "caf\xc3\xa9"));
}

static void test_traceparent(void)
{
    /* invalid: accepted, flagged, ignored */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','traceparent':'00-xyz'}");
    CHECK_EQ_INT(R.bad_traceparent, 1);
    CHECK_EQ_INT(R.has_traceparent, 0);
    ACCEPT("{'type':'log','correlation_id':'c','body':'x',"
           "'traceparent':'00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'}");
    CHECK_EQ_INT(R.bad_traceparent, 1);
    CHECK_EQ_INT(R.has_traceparent, 0);
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'traceparent':'00-00000000000000000000000000000000-00f067aa0ba902b7-01'}");
    CHECK_EQ_INT(R.bad_traceparent, 1);
    CHECK_EQ_INT(R.has_traceparent, 0);
    ACCEPT("{'type':'event','name':'x','correlation_id':'c','xray_trace_id':'Root=2-zz'}");
    CHECK_EQ_INT(R.bad_traceparent, 1);
    CHECK_EQ_INT(R.has_traceparent, 0);

    /* valid */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x',"
           "'traceparent':'00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'}");
    CHECK_EQ_INT(R.bad_traceparent, 0);
    CHECK_EQ_INT(R.has_traceparent, 1);
    CHECK_EQ_INT(R.tp_has_parent, 1);
    CHECK(hex_eq(R.tp_trace_id, 16, "4bf92f3577b34da6a3ce929d0e0e4736"));
    CHECK(hex_eq(R.tp_parent_id, 8, "00f067aa0ba902b7"));

    /* X-Ray */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','xray_trace_id':"
           "'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'}");
    CHECK_EQ_INT(R.bad_traceparent, 0);
    CHECK_EQ_INT(R.has_traceparent, 1);
    CHECK_EQ_INT(R.tp_has_parent, 1);
    CHECK(hex_eq(R.tp_trace_id, 16, "5759e988bd862e3fe1be46a994272793"));
    CHECK(hex_eq(R.tp_parent_id, 8, "53995c3f42cd8ad8"));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','xray_trace_id':"
           "'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1'}");
    CHECK_EQ_INT(R.has_traceparent, 1);
    CHECK_EQ_INT(R.tp_has_parent, 0);
    CHECK(hex_eq(R.tp_trace_id, 16, "5759e988bd862e3fe1be46a994272793"));

    /* traceparent wins when both are present */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x',"
           "'traceparent':'00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',"
           "'xray_trace_id':'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8'}");
    CHECK(hex_eq(R.tp_trace_id, 16, "4bf92f3577b34da6a3ce929d0e0e4736"));
    CHECK(hex_eq(R.tp_parent_id, 8, "00f067aa0ba902b7"));
    /* no trace context at all */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x'}");
    CHECK_EQ_INT(R.has_traceparent, 0);
    CHECK_EQ_INT(R.bad_traceparent, 0);
    /* metric can carry one too */
    ACCEPT("{'type':'metric','name':'m','kind':'gauge','value':1,'traceparent':'junk'}");
    CHECK_EQ_INT(R.bad_traceparent, 1);
}

static void test_correlation_alias(void)
{
    ACCEPT("{'type':'log','correlationId':'order-1','body':'x'}");
    CHECK(s_is(R.correlation_id, "order-1"));
    ACCEPT("{'type':'log','correlationId':'alias','correlation_id':'main','body':'x'}");
    CHECK(s_is(R.correlation_id, "main"));
    ACCEPT("{'type':'log','correlation_id':'main','correlationId':'alias','body':'x'}");
    CHECK(s_is(R.correlation_id, "main"));
    /* the ignored alias is not even type-checked */
    ACCEPT("{'type':'log','correlation_id':'main','correlationId':5,'body':'x'}");
    CHECK(s_is(R.correlation_id, "main"));
    /* a duplicate key: the first wins */
    ACCEPT("{'type':'log','correlation_id':'first','correlation_id':'second','body':'x'}");
    CHECK(s_is(R.correlation_id, "first"));
}

static void test_log_body(void)
{
    ACCEPT("{'type':'log','correlation_id':'c','body':'hello'}");
    CHECK(R.type == SP_REC_LOG);
    CHECK(R.body.type == SP_VAL_STR && s_is(R.body.u.s, "hello"));
    CHECK_EQ_INT(R.severity_number, 0); /* absent: unspecified */
    ACCEPT("{'type':'log','correlation_id':'c','message':'m'}");
    CHECK(R.body.type == SP_VAL_STR && s_is(R.body.u.s, "m"));
    ACCEPT("{'type':'log','correlation_id':'c','msg':'short'}");
    CHECK(R.body.type == SP_VAL_STR && s_is(R.body.u.s, "short"));
    /* body > message > msg */
    ACCEPT("{'type':'log','correlation_id':'c','msg':'3','message':'2','body':'1'}");
    CHECK(s_is(R.body.u.s, "1"));
    ACCEPT("{'type':'log','correlation_id':'c','msg':'3','message':'2'}");
    CHECK(s_is(R.body.u.s, "2"));
    /* structured bodies */
    ACCEPT("{'type':'log','correlation_id':'c','body':{'k':'v','n':2,'a':[1,2.5,true,null]}}");
    CHECK(R.body.type == SP_VAL_KVLIST && R.body.u.kv.n == 3);
    if (R.body.type == SP_VAL_KVLIST && R.body.u.kv.n == 3) {
        CHECK(s_is(R.body.u.kv.v[0].key, "k") && R.body.u.kv.v[0].val.type == SP_VAL_STR);
        CHECK(s_is(R.body.u.kv.v[1].key, "n") && R.body.u.kv.v[1].val.type == SP_VAL_INT &&
              R.body.u.kv.v[1].val.u.i == 2);
        const struct sp_value *a = &R.body.u.kv.v[2].val;
        CHECK(a->type == SP_VAL_ARRAY && a->u.arr.n == 4);
        if (a->type == SP_VAL_ARRAY && a->u.arr.n == 4) {
            CHECK(a->u.arr.v[0].type == SP_VAL_INT);
            CHECK(a->u.arr.v[1].type == SP_VAL_DOUBLE && a->u.arr.v[1].u.d == 2.5);
            CHECK(a->u.arr.v[2].type == SP_VAL_BOOL && a->u.arr.v[2].u.b == 1);
            CHECK(a->u.arr.v[3].type == SP_VAL_EMPTY);
        }
    }
    ACCEPT("{'type':'log','correlation_id':'c','body':[1,'two']}");
    CHECK(R.body.type == SP_VAL_ARRAY && R.body.u.arr.n == 2);
    ACCEPT("{'type':'log','correlation_id':'c','body':42}");
    CHECK(R.body.type == SP_VAL_INT && R.body.u.i == 42);
    ACCEPT("{'type':'log','correlation_id':'c','body':false}");
    CHECK(R.body.type == SP_VAL_BOOL && R.body.u.b == 0);
    /* escapes in the body are unescaped */
    ACCEPT("{'type':'log','correlation_id':'c','body':'line1\\nline2 caf\\u00e9'}");
    CHECK(s_is(R.body.u.s, "line1\nline2 caf\xc3\xa9"));
    /* span_id on a log */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','span_id':'5f1c0a2b3c4d5e6f'}");
    CHECK_EQ_INT(R.has_span_id, 1);
    CHECK(hex_eq(R.span_id, 8, "5f1c0a2b3c4d5e6f"));
}

static void test_severity(void)
{
    static const struct {
        const char *json;
        int num;
    } names[] = {{"'trace'", 1},   {"'TRACE'", 1},  {"'tRaCe'", 1},  {"'debug'", 5},
                 {"'Debug'", 5},   {"'info'", 9},   {"'INFO'", 9},   {"'warn'", 13},
                 {"'WARN'", 13},   {"'warning'", 13}, {"'Warning'", 13}, {"'WARNING'", 13},
                 {"'error'", 17},  {"'ERROR'", 17}, {"'fatal'", 21}, {"'Fatal'", 21}};
    char line[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(line, sizeof(line), "{'type':'log','correlation_id':'c','body':'x','severity':%s}",
                 names[i].json);
        ACCEPT(line);
        CHECK_EQ_INT(R.severity_number, names[i].num);
        CHECK(R.severity_text.len > 0);
    }
    static const char *const canon[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    for (int n = 1; n <= 24; n++) {
        snprintf(line, sizeof(line), "{'type':'log','correlation_id':'c','body':'x','severity':%d}",
                 n);
        ACCEPT(line);
        CHECK_EQ_INT(R.severity_number, n);
        CHECK(s_is(R.severity_text, canon[(n - 1) / 4]));
    }
}

static void test_attributes(void)
{
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','attributes':{"
           "'s':'str','i':3,'d':3.0,'e':3e0,'neg':-7,'big':9007199254740993,'t':true,'f':false,"
           "'as':['a','b'],'ai':[1,2,3],'ad':[1.5,2.5],'ab':[true,false],'empty':[]}}");
    CHECK_EQ_INT(R.attrs.n, 13);
    CHECK_EQ_INT(R.attrs.dropped, 0);
    const struct sp_attr *a;
    a = attr(&R.attrs, "s");
    CHECK(a && a->val.type == SP_VAL_STR && s_is(a->val.u.s, "str"));
    a = attr(&R.attrs, "i");
    CHECK(a && a->val.type == SP_VAL_INT && a->val.u.i == 3);
    a = attr(&R.attrs, "d");
    CHECK(a && a->val.type == SP_VAL_DOUBLE && a->val.u.d == 3.0);
    a = attr(&R.attrs, "e");
    CHECK(a && a->val.type == SP_VAL_DOUBLE && a->val.u.d == 3.0);
    a = attr(&R.attrs, "neg");
    CHECK(a && a->val.type == SP_VAL_INT && a->val.u.i == -7);
    a = attr(&R.attrs, "big");
    CHECK(a && a->val.type == SP_VAL_INT && a->val.u.i == INT64_C(9007199254740993));
    a = attr(&R.attrs, "t");
    CHECK(a && a->val.type == SP_VAL_BOOL && a->val.u.b == 1);
    a = attr(&R.attrs, "f");
    CHECK(a && a->val.type == SP_VAL_BOOL && a->val.u.b == 0);
    a = attr(&R.attrs, "as");
    CHECK(a && a->val.type == SP_VAL_ARRAY && a->val.u.arr.n == 2 &&
          a->val.u.arr.v[0].type == SP_VAL_STR && s_is(a->val.u.arr.v[1].u.s, "b"));
    a = attr(&R.attrs, "ai");
    CHECK(a && a->val.type == SP_VAL_ARRAY && a->val.u.arr.n == 3 &&
          a->val.u.arr.v[2].type == SP_VAL_INT && a->val.u.arr.v[2].u.i == 3);
    a = attr(&R.attrs, "ad");
    CHECK(a && a->val.type == SP_VAL_ARRAY && a->val.u.arr.n == 2 &&
          a->val.u.arr.v[0].type == SP_VAL_DOUBLE && a->val.u.arr.v[0].u.d == 1.5);
    a = attr(&R.attrs, "ab");
    CHECK(a && a->val.type == SP_VAL_ARRAY && a->val.u.arr.n == 2 &&
          a->val.u.arr.v[0].type == SP_VAL_BOOL && a->val.u.arr.v[0].u.b == 1 &&
          a->val.u.arr.v[1].u.b == 0);
    a = attr(&R.attrs, "empty");
    CHECK(a && a->val.type == SP_VAL_ARRAY && a->val.u.arr.n == 0);
    /* document order is kept */
    CHECK(R.attrs.n >= 2 && s_is(R.attrs.v[0].key, "s") && s_is(R.attrs.v[1].key, "i"));

    /* nested objects are flattened with '.' */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','attributes':{"
           "'http':{'route':'/pay','status':200},'a':{'b':{'c':1}},'top':'t'}}");
    CHECK_EQ_INT(R.attrs.n, 4);
    a = attr(&R.attrs, "http.route");
    CHECK(a && a->val.type == SP_VAL_STR && s_is(a->val.u.s, "/pay"));
    a = attr(&R.attrs, "http.status");
    CHECK(a && a->val.type == SP_VAL_INT && a->val.u.i == 200);
    a = attr(&R.attrs, "a.b.c");
    CHECK(a && a->val.type == SP_VAL_INT && a->val.u.i == 1);
    CHECK(attr(&R.attrs, "top") != NULL);
    CHECK(attr(&R.attrs, "http") == NULL && attr(&R.attrs, "a") == NULL);
    /* an empty nested object contributes nothing */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','attributes':{'o':{}}}");
    CHECK_EQ_INT(R.attrs.n, 0);
    CHECK_EQ_INT(R.attrs.dropped, 0);

    /* nesting deeper than the flattening limit is dropped and counted */
    char line[4096];
    size_t o = (size_t)snprintf(line, sizeof(line),
                                "{'type':'log','correlation_id':'c','body':'x','attributes':{'ok':1,");
    for (int i = 0; i < 20; i++) {
        o += (size_t)snprintf(line + o, sizeof(line) - o, "'l%d':{", i);
    }
    o += (size_t)snprintf(line + o, sizeof(line) - o, "'leaf':1");
    for (int i = 0; i < 20; i++) {
        line[o++] = '}';
    }
    snprintf(line + o, sizeof(line) - o, "}}");
    ACCEPT(line);
    CHECK(attr(&R.attrs, "ok") != NULL);
    CHECK_EQ_INT(R.attrs.n, 1);
    CHECK(R.attrs.dropped >= 1);
}

static void test_attribute_limits(void)
{
    /* 200 attributes: the first 128 kept in document order, 72 dropped */
    size_t cap = 16384;
    char *line = malloc(cap);
    size_t o = (size_t)snprintf(line, cap, "{'type':'log','correlation_id':'c','body':'x','attributes':{");
    for (int i = 0; i < 200; i++) {
        o += (size_t)snprintf(line + o, cap - o, "%s'k%d':%d", i ? "," : "", i, i);
    }
    snprintf(line + o, cap - o, "}}");
    ACCEPT(line);
    CHECK_EQ_INT(R.attrs.n, 128);
    CHECK_EQ_INT(R.attrs.dropped, 72);
    int order_ok = R.attrs.n == 128;
    for (uint32_t i = 0; order_ok && i < 128; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%u", i);
        order_ok = s_is(R.attrs.v[i].key, k) && R.attrs.v[i].val.u.i == (int64_t)i;
    }
    CHECK(order_ok);
    CHECK(attr(&R.attrs, "k128") == NULL);

    /* exactly 128: nothing dropped */
    o = (size_t)snprintf(line, cap, "{'type':'log','correlation_id':'c','body':'x','attributes':{");
    for (int i = 0; i < 128; i++) {
        o += (size_t)snprintf(line + o, cap - o, "%s'k%d':%d", i ? "," : "", i, i);
    }
    snprintf(line + o, cap - o, "}}");
    ACCEPT(line);
    CHECK_EQ_INT(R.attrs.n, 128);
    CHECK_EQ_INT(R.attrs.dropped, 0);

    /* the count applies after flattening */
    o = (size_t)snprintf(line, cap, "{'type':'log','correlation_id':'c','body':'x','attributes':{'n':{");
    for (int i = 0; i < 130; i++) {
        o += (size_t)snprintf(line + o, cap - o, "%s'k%d':%d", i ? "," : "", i, i);
    }
    snprintf(line + o, cap - o, "}}}");
    ACCEPT(line);
    CHECK_EQ_INT(R.attrs.n, 128);
    CHECK_EQ_INT(R.attrs.dropped, 2);
    CHECK(R.attrs.n > 0 && s_is(R.attrs.v[0].key, "n.k0"));
    free(line);

    /* a string value over 4096 bytes is dropped whole, not truncated */
    cap = 20000;
    line = malloc(cap);
    char *val = malloc(5000);
    memset(val, 'v', 4097);
    val[4097] = 0;
    snprintf(line, cap,
             "{'type':'log','correlation_id':'c','body':'x','attributes':{'a':1,'long':'%s','z':2}}",
             val);
    ACCEPT(line);
    CHECK_EQ_INT(R.attrs.n, 2);
    CHECK_EQ_INT(R.attrs.dropped, 1);
    CHECK(attr(&R.attrs, "long") == NULL);
    CHECK(attr(&R.attrs, "a") != NULL && attr(&R.attrs, "z") != NULL);
    /* exactly 4096 is kept */
    val[4096] = 0;
    snprintf(line, cap, "{'type':'log','correlation_id':'c','body':'x','attributes':{'long':'%s'}}",
             val);
    ACCEPT(line);
    CHECK_EQ_INT(R.attrs.n, 1);
    CHECK_EQ_INT(R.attrs.dropped, 0);
    const struct sp_attr *a = attr(&R.attrs, "long");
    CHECK(a && a->val.u.s.len == 4096);
    /* in an array: the whole attribute goes */
    val[4096] = 'v';
    val[4097] = 0;
    snprintf(line, cap,
             "{'type':'log','correlation_id':'c','body':'x','attributes':{'arr':['s','%s'],'k':1}}",
             val);
    ACCEPT(line);
    CHECK(attr(&R.attrs, "arr") == NULL);
    CHECK_EQ_INT(R.attrs.n, 1);
    CHECK_EQ_INT(R.attrs.dropped, 1);
    /* the log body has no such limit */
    snprintf(line, cap, "{'type':'log','correlation_id':'c','body':'%s'}", val);
    ACCEPT(line);
    CHECK(R.body.type == SP_VAL_STR && R.body.u.s.len == 4097);
    free(val);
    free(line);

    /* attributes on span events are parsed and limited too */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,"
           "'events':[{'name':'e','attributes':{'x':{'y':'z'}}}]}");
    CHECK_EQ_INT(R.n_events, 1);
    if (R.n_events == 1) {
        a = attr(&R.events[0].attrs, "x.y");
        CHECK(a && s_is(a->val.u.s, "z"));
    }
}

static void test_unknown_fields(void)
{
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','region':'eu-west-1',"
           "'extra':{'deep':[1,{'x':null}]},'nothing':null}");
    CHECK(s_is(R.body.u.s, "x"));
    CHECK_EQ_INT(R.attrs.n, 0);
    ACCEPT("{'type':'flush','id':'f1','unknown':true}");
    CHECK(s_is(R.id, "f1"));
}

static void test_times(void)
{
    uint64_t ns = 0;
    const char *t = "2024-01-02T03:04:05.123456789+01:00";
    /* 2024-01-02T02:04:05.123456789Z: 1704153600 (2024-01-02) + 2h4m5s */
    CHECK_EQ_INT(sp_time_parse_rfc3339(t, strlen(t), &ns), 0);
    CHECK(ns == UINT64_C(1704161045123456789));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2024-01-02T03:04:05.123456789+01:00'}");
    CHECK(R.ts_ns == UINT64_C(1704161045123456789));
    /* Z, z, t */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2024-01-02T03:04:05Z'}");
    CHECK(R.ts_ns == UINT64_C(1704164645000000000));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2024-01-02t03:04:05z'}");
    CHECK(R.ts_ns == UINT64_C(1704164645000000000));
    /* negative offset, short fraction */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2024-01-01T21:34:05.5-05:30'}");
    CHECK(R.ts_ns == UINT64_C(1704164645500000000));
    /* docs example: 13:00+01:00 == 12:00Z on 2025-03-01 == 1740830400 */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2025-03-01T13:00:00.123456789+01:00'}");
    CHECK(R.ts_ns == UINT64_C(1740830400123456789));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2025-03-01T12:00:00Z'}");
    CHECK(R.ts_ns == UINT64_C(1740830400000000000));
    /* fraction digits are a decimal fraction: .1 = 100 ms, .000000001 = 1 ns */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2025-03-01T12:00:00.1Z'}");
    CHECK(R.ts_ns == UINT64_C(1740830400100000000));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2025-03-01T12:00:00.000000001Z'}");
    CHECK(R.ts_ns == UINT64_C(1740830400000000001));
    /* leap day of a leap year, and the epoch */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2024-02-29T00:00:00Z'}");
    CHECK(R.ts_ns == UINT64_C(1709164800000000000));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'1970-01-01T00:00:00Z'}");
    CHECK(R.ts_ns == 0);
    /* a date across the offset: 2024-03-01T00:30+01:00 is Feb 29 23:30Z */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2024-03-01T00:30:00+01:00'}");
    CHECK(R.ts_ns == UINT64_C(1709249400000000000));

    /* numbers: seconds, fractions allowed */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':1740830400}");
    CHECK(R.ts_ns == UINT64_C(1740830400000000000));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':1740830400.25}");
    CHECK(R.ts_ns == UINT64_C(1740830400250000000));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':1740830401.5}");
    CHECK(R.ts_ns == UINT64_C(1740830401500000000));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':0}");
    CHECK(R.ts_ns == 0);
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':1.5}");
    CHECK(R.ts_ns == UINT64_C(1500000000));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':1.74083040e9}");
    CHECK(R.ts_ns == UINT64_C(1740830400000000000));
    /* the last second that fits uint64 nanoseconds (docs/protocol.md, Times) */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':18446744072}");
    CHECK(R.ts_ns == UINT64_C(18446744072000000000));
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':18446744072.5}");
    CHECK(R.ts_ns == UINT64_C(18446744072500000000));
    /* no ts: the receive time */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x'}");
    CHECK(R.ts_ns == NOW_NS);

    /* Times at or after 18446744073 s (2554-07-21) do not fit OTLP's uint64
     * nanoseconds: bad_value, never a wrapped-around time. */
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':18446744073}", SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':20000000000}", SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':99999999999}", SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':2e10}", SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':'9999-12-31T23:59:59Z'}",
           SP_R_BAD_VALUE, "ts");
    EXPECT("{'type':'log','correlation_id':'c','body':'x','ts':'2554-07-21T23:34:33Z'}",
           SP_R_BAD_VALUE, "ts");
    /* 2554-07-21T23:34:32Z = 18446744072 s: the last accepted second */
    ACCEPT("{'type':'log','correlation_id':'c','body':'x','ts':'2554-07-21T23:34:32.999999999Z'}");
    CHECK(R.ts_ns == UINT64_C(18446744072999999999));
    EXPECT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':20000000000}",
           SP_R_BAD_VALUE, "end");
    uint64_t big = 0;
    CHECK(sp_time_parse_rfc3339("9999-12-31T23:59:59Z", 20, &big) != 0);
}

static void test_span(void)
{
    ACCEPT("{'type':'span','correlation_id':'order-7731','invocation_id':'inv-0001',"
           "'function':'charge-card','workflow':'checkout','name':'POST /v1/charges',"
           "'kind':'client','start':'2025-03-01T12:00:00.120Z','duration_ms':84.5,"
           "'status':'ok','status_message':'fine','span_id':'5f1c0a2b3c4d5e6f',"
           "'parent_span_id':'00f067aa0ba902b7','attributes':{'http':{'method':'POST','status_code':200}}}");
    CHECK(R.type == SP_REC_SPAN);
    CHECK(s_is(R.correlation_id, "order-7731"));
    CHECK(s_is(R.invocation_id, "inv-0001"));
    CHECK(s_is(R.function, "charge-card"));
    CHECK(s_is(R.workflow, "checkout"));
    CHECK(s_is(R.name, "POST /v1/charges"));
    CHECK_EQ_INT(R.kind, SP_KIND_CLIENT);
    CHECK_EQ_INT(R.status, SP_STATUS_OK);
    CHECK(s_is(R.status_message, "fine"));
    CHECK(R.start_ns == UINT64_C(1740830400120000000));
    CHECK(R.end_ns == UINT64_C(1740830400120000000) + UINT64_C(84500000));
    CHECK_EQ_INT(R.has_span_id, 1);
    CHECK(hex_eq(R.span_id, 8, "5f1c0a2b3c4d5e6f"));
    CHECK_EQ_INT(R.has_parent_span_id, 1);
    CHECK(hex_eq(R.parent_span_id, 8, "00f067aa0ba902b7"));
    CHECK(attr(&R.attrs, "http.method") && attr(&R.attrs, "http.status_code"));
    CHECK(R.ts_ns == NOW_NS);

    /* defaults: kind internal, status unset, no ids */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':10,'end':11.5}");
    CHECK_EQ_INT(R.kind, SP_KIND_INTERNAL);
    CHECK_EQ_INT(R.status, SP_STATUS_UNSET);
    CHECK_EQ_INT(R.has_span_id, 0);
    CHECK_EQ_INT(R.has_parent_span_id, 0);
    CHECK(R.start_ns == UINT64_C(10000000000) && R.end_ns == UINT64_C(11500000000));
    CHECK_EQ_INT(R.n_events, 0);
    /* every kind and status */
    static const char *const kinds[] = {"internal", "server", "client", "producer", "consumer"};
    static const int kv[] = {SP_KIND_INTERNAL, SP_KIND_SERVER, SP_KIND_CLIENT, SP_KIND_PRODUCER,
                             SP_KIND_CONSUMER};
    char line[256];
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof(line),
                 "{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'kind':'%s'}",
                 kinds[i]);
        ACCEPT(line);
        CHECK_EQ_INT(R.kind, kv[i]);
    }
    static const char *const sts[] = {"ok", "error", "unset"};
    static const int sv[] = {SP_STATUS_OK, SP_STATUS_ERROR, SP_STATUS_UNSET};
    for (int i = 0; i < 3; i++) {
        snprintf(line, sizeof(line),
                 "{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'status':'%s'}",
                 sts[i]);
        ACCEPT(line);
        CHECK_EQ_INT(R.status, sv[i]);
    }
    /* end wins over duration_ms */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':100,'end':101,'duration_ms':5000}");
    CHECK(R.end_ns == UINT64_C(101000000000));
    /* duration 0 */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':100,'duration_ms':0}");
    CHECK(R.end_ns == R.start_ns);
    /* fractional milliseconds */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':100,'duration_ms':0.001}");
    CHECK(R.end_ns == UINT64_C(100000001000));
    /* upper-case hex ids are decoded */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'span_id':'5F1C0A2B3C4D5E6F'}");
    CHECK(hex_eq(R.span_id, 8, "5f1c0a2b3c4d5e6f"));

    /* events: name, ts (default: start), attributes */
    ACCEPT("{'type':'span','correlation_id':'c','name':'n','start':100,'end':200,'events':["
           "{'name':'e1'},{'name':'e2','ts':150.5,'attributes':{'k':'v'}}]}");
    CHECK_EQ_INT(R.n_events, 2);
    CHECK_EQ_INT(R.dropped_events, 0);
    if (R.n_events == 2) {
        CHECK(s_is(R.events[0].name, "e1"));
        CHECK(R.events[0].ts_ns == UINT64_C(100000000000));
        CHECK(s_is(R.events[1].name, "e2"));
        CHECK(R.events[1].ts_ns == UINT64_C(150500000000));
        CHECK(attr(&R.events[1].attrs, "k") != NULL);
    }
    /* more than 128 events: 128 kept, the rest counted */
    size_t cap = 16384;
    char *big = malloc(cap);
    size_t o = (size_t)snprintf(big, cap,
                                "{'type':'span','correlation_id':'c','name':'n','start':1,'end':2,'events':[");
    for (int i = 0; i < 130; i++) {
        o += (size_t)snprintf(big + o, cap - o, "%s{'name':'e%d'}", i ? "," : "", i);
    }
    snprintf(big + o, cap - o, "]}");
    ACCEPT(big);
    CHECK_EQ_INT(R.n_events, 128);
    CHECK_EQ_INT(R.dropped_events, 2);
    CHECK(R.n_events == 128 && s_is(R.events[127].name, "e127"));
    free(big);
}

static void test_metric(void)
{
    ACCEPT("{'type':'metric','function':'charge-card','name':'charges.amount','kind':'histogram',"
           "'unit':'{EUR}','value':42.5,'correlation_id':'order-7731','attributes':{'currency':'EUR'}}");
    CHECK(R.type == SP_REC_METRIC);
    CHECK_EQ_INT(R.metric_kind, SP_METRIC_HISTOGRAM);
    CHECK(R.value == 42.5);
    CHECK(s_is(R.unit, "{EUR}"));
    CHECK(s_is(R.name, "charges.amount"));
    CHECK(s_is(R.correlation_id, "order-7731"));
    CHECK(s_is(R.function, "charge-card"));
    CHECK(attr(&R.attrs, "currency") != NULL);
    /* without correlation_id */
    ACCEPT("{'type':'metric','name':'dlq.depth','kind':'gauge','value':3,'attributes':{'queue':'orders-dlq'}}");
    CHECK_EQ_INT(R.metric_kind, SP_METRIC_GAUGE);
    CHECK(R.value == 3.0);
    CHECK_EQ_INT(R.correlation_id.len, 0);
    ACCEPT("{'type':'metric','name':'c','kind':'counter','value':7}");
    CHECK_EQ_INT(R.metric_kind, SP_METRIC_COUNTER);
    CHECK(R.value == 7.0);
    CHECK_EQ_INT(R.unit.len, 0);
    ACCEPT("{'type':'metric','name':'c','kind':'counter','value':0.25,'correlationId':'x'}");
    CHECK(R.value == 0.25 && s_is(R.correlation_id, "x"));
}

static void test_events(void)
{
    ACCEPT("{'type':'event','name':'invocation_start','correlation_id':'order-7731',"
           "'invocation_id':'inv-0001','function':'charge-card','trigger':'http','cold_start':true,"
           "'attempt':1,'ts':'2025-03-01T12:00:00.010Z'}");
    CHECK(R.type == SP_REC_EVENT);
    CHECK_EQ_INT(R.event, SP_EV_INVOCATION_START);
    CHECK_EQ_INT(R.cold_start, 1);
    CHECK(s_is(R.trigger, "http"));
    CHECK_EQ_INT(R.attempt, 1);
    CHECK(s_is(R.invocation_id, "inv-0001"));
    CHECK(R.ts_ns == UINT64_C(1740830400010000000));
    /* absent optional fields */
    ACCEPT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i'}");
    CHECK_EQ_INT(R.cold_start, -1);
    CHECK_EQ_INT(R.trigger.len, 0);
    CHECK_EQ_INT(R.attempt, 0);
    ACCEPT("{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
           "'cold_start':false,'attempt':3}");
    CHECK_EQ_INT(R.cold_start, 0);
    CHECK_EQ_INT(R.attempt, 3);
    static const char *const trig[] = {"http", "pubsub", "datasource", "timer", "other"};
    char line[256];
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof(line),
                 "{'type':'event','name':'invocation_start','correlation_id':'c','invocation_id':'i',"
                 "'trigger':'%s'}",
                 trig[i]);
        ACCEPT(line);
        CHECK(s_is(R.trigger, trig[i]));
    }
    static const char *const ist[] = {"ok", "error", "timeout"};
    static const int isv[] = {SP_INV_OK, SP_INV_ERROR, SP_INV_TIMEOUT};
    for (int i = 0; i < 3; i++) {
        snprintf(line, sizeof(line),
                 "{'type':'event','name':'invocation_end','correlation_id':'c','invocation_id':'i',"
                 "'status':'%s','error':'E'}",
                 ist[i]);
        ACCEPT(line);
        CHECK_EQ_INT(R.event, SP_EV_INVOCATION_END);
        CHECK_EQ_INT(R.inv_status, isv[i]);
        CHECK(s_is(R.error, "E"));
    }
    ACCEPT("{'type':'event','name':'cold_start','correlation_id':'c','init_duration_ms':312.4}");
    CHECK_EQ_INT(R.event, SP_EV_COLD_START);
    CHECK(R.init_duration_ms == 312.4);
    ACCEPT("{'type':'event','name':'cold_start','correlation_id':'c'}");
    CHECK(R.init_duration_ms < 0);
    ACCEPT("{'type':'event','name':'throttle','correlation_id':'c','reason':'rate'}");
    CHECK_EQ_INT(R.event, SP_EV_THROTTLE);
    CHECK(s_is(R.reason, "rate"));
    ACCEPT("{'type':'event','name':'retry','correlation_id':'c','invocation_id':'inv-2','attempt':2,"
           "'reason':'IssuerUnavailable'}");
    CHECK_EQ_INT(R.event, SP_EV_RETRY);
    CHECK_EQ_INT(R.attempt, 2);
    CHECK(s_is(R.reason, "IssuerUnavailable"));
    ACCEPT("{'type':'event','name':'dead_letter','correlation_id':'c','queue':'orders-dlq',"
           "'reason':'declined','message_id':'m-5521'}");
    CHECK_EQ_INT(R.event, SP_EV_DEAD_LETTER);
    CHECK(s_is(R.queue, "orders-dlq"));
    CHECK(s_is(R.reason, "declined"));
    CHECK(s_is(R.message_id, "m-5521"));
    ACCEPT("{'type':'event','name':'workflow_start','correlation_id':'c','workflow':'checkout'}");
    CHECK_EQ_INT(R.event, SP_EV_WORKFLOW_START);
    CHECK(s_is(R.workflow, "checkout"));
    ACCEPT("{'type':'event','name':'workflow_end','correlationId':'c','status':'error','ts':1740830401.5}");
    CHECK_EQ_INT(R.event, SP_EV_WORKFLOW_END);
    CHECK_EQ_INT(R.inv_status, SP_INV_ERROR);
    CHECK(R.ts_ns == UINT64_C(1740830401500000000));
    ACCEPT("{'type':'event','name':'workflow_end','correlation_id':'c','status':'ok'}");
    CHECK_EQ_INT(R.inv_status, SP_INV_OK);
    ACCEPT("{'type':'event','name':'workflow_end','correlation_id':'c'}");
    CHECK_EQ_INT(R.inv_status, SP_INV_UNSET);
    /* any other name */
    ACCEPT("{'type':'event','name':'cache_miss','correlation_id':'c','invocation_id':'i',"
           "'attributes':{'key':'customer:88'}}");
    CHECK_EQ_INT(R.event, SP_EV_OTHER);
    CHECK(s_is(R.name, "cache_miss"));
    CHECK(attr(&R.attrs, "key") != NULL);
    /* lifecycle names are case-sensitive: Invocation_Start is a free-form event */
    ACCEPT("{'type':'event','name':'Invocation_Start','correlation_id':'c'}");
    CHECK_EQ_INT(R.event, SP_EV_OTHER);
}

static void test_control(void)
{
    ACCEPT("{'type':'flush','id':'f-42'}");
    CHECK(R.type == SP_REC_FLUSH);
    CHECK(s_is(R.id, "f-42"));
    ACCEPT("{'type':'stats','id':'s1'}");
    CHECK(R.type == SP_REC_STATS);
    CHECK(s_is(R.id, "s1"));
    /* no correlation_id needed */
    ACCEPT("{'type':'flush','id':''}");
    CHECK(R.type == SP_REC_FLUSH && R.id.len == 0);
    char id[300], line[400];
    memset(id, 'f', 256);
    id[256] = 0;
    snprintf(line, sizeof(line), "{'type':'flush','id':'%s'}", id);
    ACCEPT(line);
    CHECK_EQ_INT(R.id.len, 256);
}

/* The complete example of docs/protocol.md: all 11 records and the flush parse. */
static void test_docs_example(void)
{
    static const char *const lines[] = {
        "{\"type\":\"event\",\"name\":\"workflow_start\",\"correlation_id\":\"order-7731\",\"workflow\":\"checkout\",\"ts\":\"2025-03-01T12:00:00Z\"}",
        "{\"type\":\"event\",\"name\":\"invocation_start\",\"correlation_id\":\"order-7731\",\"invocation_id\":\"inv-0001\",\"function\":\"charge-card\",\"trigger\":\"http\",\"cold_start\":true,\"ts\":\"2025-03-01T12:00:00.010Z\"}",
        "{\"type\":\"event\",\"name\":\"cold_start\",\"correlation_id\":\"order-7731\",\"invocation_id\":\"inv-0001\",\"function\":\"charge-card\",\"init_duration_ms\":312.4}",
        "{\"type\":\"span\",\"correlation_id\":\"order-7731\",\"invocation_id\":\"inv-0001\",\"function\":\"charge-card\",\"name\":\"POST /v1/charges\",\"kind\":\"client\",\"start\":\"2025-03-01T12:00:00.120Z\",\"end\":\"2025-03-01T12:00:00.204Z\",\"status\":\"error\",\"status_message\":\"502 from issuer\",\"span_id\":\"5f1c0a2b3c4d5e6f\"}",
        "{\"type\":\"log\",\"correlation_id\":\"order-7731\",\"invocation_id\":\"inv-0001\",\"function\":\"charge-card\",\"span_id\":\"5f1c0a2b3c4d5e6f\",\"severity\":\"error\",\"msg\":\"issuer returned 502\"}",
        "{\"type\":\"event\",\"name\":\"invocation_end\",\"correlation_id\":\"order-7731\",\"invocation_id\":\"inv-0001\",\"function\":\"charge-card\",\"status\":\"error\",\"error\":\"IssuerUnavailable\"}",
        "{\"type\":\"event\",\"name\":\"retry\",\"correlation_id\":\"order-7731\",\"invocation_id\":\"inv-0002\",\"function\":\"charge-card\",\"attempt\":2,\"reason\":\"IssuerUnavailable\"}",
        "{\"type\":\"event\",\"name\":\"invocation_start\",\"correlation_id\":\"order-7731\",\"invocation_id\":\"inv-0002\",\"function\":\"charge-card\",\"trigger\":\"http\",\"attempt\":2}",
        "{\"type\":\"metric\",\"function\":\"charge-card\",\"name\":\"charges.amount\",\"kind\":\"histogram\",\"unit\":\"{EUR}\",\"value\":42.5,\"correlation_id\":\"order-7731\"}",
        "{\"type\":\"event\",\"name\":\"invocation_end\",\"correlation_id\":\"order-7731\",\"invocation_id\":\"inv-0002\",\"function\":\"charge-card\",\"status\":\"ok\"}",
        "{\"type\":\"event\",\"name\":\"workflow_end\",\"correlationId\":\"order-7731\",\"status\":\"ok\",\"ts\":1740830401.5}",
        "{\"type\":\"flush\",\"id\":\"order-7731-done\"}",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        EXPECT_RAW(lines[i], SP_R_OK, NULL);
    }
    /* and the quick start's second line is bad_value */
    EXPECT("{'type':'log','correlation_id':'order-1','severity':'loud','body':'oops'}",
           SP_R_BAD_VALUE, "severity");
}

static void test_reason_names(void)
{
    CHECK(strcmp(sp_reason_name(SP_R_OK), "ok") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_MALFORMED_JSON), "malformed_json") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_TOO_LARGE), "too_large") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_MISSING_FIELD), "missing_field") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_BAD_TYPE), "bad_type") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_BAD_VALUE), "bad_value") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_UNKNOWN_TYPE), "unknown_type") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_UNSUPPORTED_VERSION), "unsupported_version") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_BAD_UTF8), "bad_utf8") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_INCOMPLETE), "incomplete") == 0);
    CHECK(strcmp(sp_reason_name(-1), "unknown") == 0);
    CHECK(strcmp(sp_reason_name(SP_R_COUNT), "unknown") == 0);
}

static struct sp_record EMF_OUT[8];
static int EMF_N;
static void emf_collect(void *arg, const struct sp_record *r)
{
    (void)arg;
    if (EMF_N < 8) {
        EMF_OUT[EMF_N++] = *r;
    }
}

/* Lines without a type: Powertools (TypeScript, Python), Lambda's JSON log
 * format, EMF (docs/protocol.md "Lines without a type"). */
static void test_typeless(void)
{
    /* @aws-lambda-powertools/logger 2.36.0, as printed */
    CHECK_EQ_INT(rec("{'level':'ERROR','message':'boom','timestamp':'2026-12-06T04:01:38.111Z',"
                     "'service':'orders','cold_start':true,'function_arn':'arn',"
                     "'function_memory_size':128,'function_name':'fn','function_request_id':"
                     "'req-1','sampling_rate':0,'correlation_id':'order-42','xray_trace_id':"
                     "'1-5759e988-bd862e3fe1be46a994272793','error':{'name':'Error','location':"
                     "'/x.js:10','message':'bad thing','stack':'Error: bad thing\\n  at x'},"
                     "'orderId':7,'nested':{'a':1}}"),
                 SP_R_OK);
    CHECK_EQ_INT(R.type, SP_REC_LOG);
    CHECK(sp_str_eq(R.correlation_id, sp_cstr("order-42")));
    CHECK(sp_str_eq(R.invocation_id, sp_cstr("req-1")));
    CHECK(sp_str_eq(R.function, sp_cstr("fn")));
    CHECK_EQ_INT(R.severity_number, 17);
    CHECK(sp_str_eq(R.severity_text, sp_cstr("ERROR")));
    CHECK(R.body.type == SP_VAL_STR && sp_str_eq(R.body.u.s, sp_cstr("boom")));
    CHECK(R.ts_ns == UINT64_C(1796529698111000000));
    CHECK_EQ_INT(R.has_traceparent, 1);
    CHECK_EQ_INT(R.tp_trace_id[0], 0x57);
    CHECK_EQ_INT(R.tp_trace_id[15], 0x93);
    const struct sp_attr *x = attr(&R.attrs, "exception.type");
    CHECK(x && sp_str_eq(x->val.u.s, sp_cstr("Error")));
    x = attr(&R.attrs, "exception.message");
    CHECK(x && sp_str_eq(x->val.u.s, sp_cstr("bad thing")));
    CHECK(attr(&R.attrs, "exception.stacktrace") != NULL);
    x = attr(&R.attrs, "service.name");
    CHECK(x && sp_str_eq(x->val.u.s, sp_cstr("orders")));
    x = attr(&R.attrs, "faas.coldstart");
    CHECK(x && x->val.type == SP_VAL_BOOL && x->val.u.b);
    x = attr(&R.attrs, "orderId");
    CHECK(x && x->val.type == SP_VAL_INT && x->val.u.i == 7);
    CHECK(attr(&R.attrs, "nested.a") != NULL);
    CHECK(attr(&R.attrs, "function_memory_size") != NULL);
    CHECK(attr(&R.attrs, "level") == NULL && attr(&R.attrs, "correlation_id") == NULL);

    /* Python: comma before the milliseconds, +0000; WARNING; exception string;
     * no correlation_id: the X-Ray root keys the workflow */
    CHECK_EQ_INT(rec("{'level':'WARNING','location':'handler:12','message':'slow',"
                     "'timestamp':'2026-12-06 04:01:38,250+0000','service':'py',"
                     "'xray_trace_id':'1-5759e988-bd862e3fe1be46a994272793',"
                     "'exception':'Traceback (most recent call last): ...',"
                     "'exception_name':'ValueError'}"),
                 SP_R_OK);
    CHECK(sp_str_eq(R.correlation_id, sp_cstr("1-5759e988-bd862e3fe1be46a994272793")));
    CHECK_EQ_INT(R.severity_number, 13);
    CHECK(R.ts_ns == UINT64_C(1796529698250000000));
    x = attr(&R.attrs, "exception.type");
    CHECK(x && sp_str_eq(x->val.u.s, sp_cstr("ValueError")));
    CHECK(attr(&R.attrs, "location") != NULL);

    /* Lambda's JSON log format: requestId keys it when nothing else does */
    CHECK_EQ_INT(rec("{'timestamp':'2026-12-06T04:01:38.300Z','level':'INFO','message':'hi',"
                     "'requestId':'79b4f56e-95b1-4643-9700-2807f4e68189'}"),
                 SP_R_OK);
    CHECK(sp_str_eq(R.correlation_id, sp_cstr("79b4f56e-95b1-4643-9700-2807f4e68189")));
    CHECK(sp_str_eq(R.invocation_id, sp_cstr("79b4f56e-95b1-4643-9700-2807f4e68189")));
    CHECK_EQ_INT(R.severity_number, 9);

    /* nothing to key it by; a bad X-Ray id is ignored and counted */
    EXPECT("{'level':'INFO','message':'x'}", SP_R_MISSING_FIELD, "correlation_id");
    CHECK_EQ_INT(rec("{'level':'INFO','message':'x','correlation_id':'c','xray_trace_id':'zz'}"),
                 SP_R_OK);
    CHECK_EQ_INT(R.bad_traceparent, 1);

    /* EMF, as @aws-lambda-powertools/metrics 2.36.0 prints it */
    CHECK_EQ_INT(rec("{'_aws':{'Timestamp':1796529698123,'CloudWatchMetrics':[{'Namespace':"
                     "'Shop','Dimensions':[['service','env']],'Metrics':[{'Name':'orders',"
                     "'Unit':'Count'},{'Name':'latency','Unit':'Milliseconds'}]}]},"
                     "'service':'orders','env':'prod','orders':1,'latency':[12,30]}"),
                 SP_R_OK);
    CHECK_EQ_INT(R.type, SP_REC_EMF);
    CHECK(R.json != NULL);
    EMF_N = 0;
    CHECK_EQ_INT(sp_emf_each(R.json, &A, &LIM, &R, emf_collect, NULL), 3);
    CHECK_EQ_INT(EMF_N, 3);
    CHECK_EQ_INT(EMF_OUT[0].type, SP_REC_METRIC);
    CHECK(sp_str_eq(EMF_OUT[0].name, sp_cstr("orders")));
    CHECK_EQ_INT(EMF_OUT[0].metric_kind, SP_METRIC_COUNTER);
    CHECK(sp_str_eq(EMF_OUT[0].unit, sp_cstr("1")));
    CHECK(EMF_OUT[0].ts_ns == UINT64_C(1796529698123000000));
    CHECK(sp_str_eq(EMF_OUT[1].name, sp_cstr("latency")));
    CHECK_EQ_INT(EMF_OUT[1].metric_kind, SP_METRIC_HISTOGRAM);
    CHECK(sp_str_eq(EMF_OUT[1].unit, sp_cstr("ms")));
    CHECK(EMF_OUT[1].value == 12 && EMF_OUT[2].value == 30);
    x = attr(&EMF_OUT[2].attrs, "env");
    CHECK(x && sp_str_eq(x->val.u.s, sp_cstr("prod")));
    x = attr(&EMF_OUT[2].attrs, "service");
    CHECK(x && sp_str_eq(x->val.u.s, sp_cstr("orders")));
    /* The namespace names the points' scope; it is not an attribute too. */
    CHECK(sp_str_eq(EMF_OUT[0].scope, sp_cstr("Shop")) && sp_str_eq(EMF_OUT[2].scope, sp_cstr("Shop")));
    CHECK(attr(&EMF_OUT[2].attrs, "aws.cloudwatch.namespace") == NULL);
    EXPECT("{'_aws':{'CloudWatchMetrics':[{'Namespace':'S','Metrics':[{'Name':'m'}]}]}}",
           SP_R_BAD_VALUE, "_aws.CloudWatchMetrics");
}

int main(void)
{
    sp_arena_init(&A, 8192);
    LINE = malloc(LINE_CAP);
    test_malformed_json();
    test_missing_field();
    test_typeless();
    test_bad_type();
    test_bad_value_times();
    test_bad_value_other();
    test_unknown_type_and_version();
    test_bad_utf8();
    test_traceparent();
    test_correlation_alias();
    test_log_body();
    test_severity();
    test_attributes();
    test_attribute_limits();
    test_unknown_fields();
    test_times();
    test_span();
    test_metric();
    test_events();
    test_control();
    test_docs_example();
    test_reason_names();
    sp_arena_free(&A);
    free(LINE);
    return th_report("test_record");
}
