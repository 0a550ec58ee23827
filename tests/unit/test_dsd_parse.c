/*
 * test_dsd_parse.c - the DogStatsD line parser (collectors/dogstatsd/dsd_parse.c): every
 * metric type, sample rates, tags (valueless, repeated, unified service tags, correlation_id,
 * process.pid), extension fields skipped, events and service checks, and each refusal reason.
 */
#include <string.h>

#include "harness.h"
#include "dsd_parse.h"

static struct sp_arena a;

static int parse(const char *s, struct dsd_line *l)
{
    sp_arena_reset(&a);
    return dsd_parse_line(s, strlen(s), &a, 8, l);
}

static int eq(struct sp_str s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.p, c, s.len) == 0;
}

int main(void)
{
    struct dsd_line l;
    sp_arena_init(&a, 4096);

    CHECK_EQ_INT(parse("page.views:2|c|@0.25|#region:eu,flag,region:us|c:abc|card:high|T17", &l), 0);
    CHECK(l.kind == DSD_METRIC && l.type == DSD_COUNTER && eq(l.name, "page.views"));
    CHECK(l.value == 2 && l.rate == 0.25);
    CHECK_EQ_INT(l.tags.n, 2); /* region once (last value), flag */
    CHECK(eq(l.tags.v[0].key, "region") && eq(l.tags.v[0].val.u.s, "us"));
    CHECK(eq(l.tags.v[1].key, "flag") && l.tags.v[1].val.u.s.len == 0);

    CHECK_EQ_INT(parse("lat:12.5|ms|#service:web,env:prod,version:1.2,correlation_id:wf,process.pid:9", &l), 0);
    CHECK(l.type == DSD_TIMER && l.value == 12.5 && l.tags.n == 0);
    CHECK(eq(l.service, "web") && eq(l.env, "prod") && eq(l.version, "1.2") && eq(l.cid, "wf"));

    CHECK_EQ_INT(parse("g:-3|g", &l), 0);
    CHECK(l.type == DSD_GAUGE && l.value == -3);
    CHECK_EQ_INT(parse("h:1|h", &l), 0);
    CHECK(l.type == DSD_HISTOGRAM);
    CHECK_EQ_INT(parse("d:1|d", &l), 0);
    CHECK(l.type == DSD_DISTRIBUTION);
    CHECK_EQ_INT(parse("u:a:b|s", &l), 0);
    CHECK(l.type == DSD_SET && eq(l.member, "a:b"));

    /* Tags over the cap are counted, not kept. */
    CHECK_EQ_INT(parse("m:1|c|#a,b,c,d,e,f,g,h,i,j", &l), 0);
    CHECK(l.tags.n == 8 && l.tags.dropped == 2);

    CHECK_EQ_INT(parse("_e{5,11}:title|hello|world|t:error|p:low|#service:api,correlation_id:w1", &l),
                 0);
    CHECK(l.kind == DSD_EVENT && eq(l.name, "title") && eq(l.text, "hello|world"));
    CHECK(eq(l.alert_type, "error") && eq(l.priority, "low") && eq(l.service, "api"));
    CHECK_EQ_INT(parse("_sc|db|1|d:1700000000|h:box|#k:v|m:slow", &l), 0);
    CHECK(l.kind == DSD_SERVICE_CHECK && eq(l.name, "db") && l.status == 1 && l.ts_s == 1700000000);
    CHECK(eq(l.host, "box") && eq(l.text, "slow") && l.tags.n == 1);

    CHECK_EQ_INT(parse("garbage", &l), DSD_R_BAD_LINE);
    CHECK_EQ_INT(parse(":1|c", &l), DSD_R_BAD_LINE);
    CHECK_EQ_INT(parse("x:|c", &l), DSD_R_BAD_LINE);
    CHECK_EQ_INT(parse("x:1|", &l), DSD_R_BAD_LINE);
    CHECK_EQ_INT(parse("x:1|zz", &l), DSD_R_UNKNOWN_TYPE);
    CHECK_EQ_INT(parse("x:abc|c", &l), DSD_R_BAD_VALUE);
    CHECK_EQ_INT(parse("x:nan|g", &l), DSD_R_BAD_VALUE);
    CHECK_EQ_INT(parse("x:1|c|@0", &l), DSD_R_BAD_VALUE);
    CHECK_EQ_INT(parse("x:1|c|@2", &l), DSD_R_BAD_VALUE);
    CHECK_EQ_INT(parse("x\xc3(:1|c", &l), DSD_R_BAD_UTF8);
    CHECK_EQ_INT(parse("x:1|c|#k:\xff", &l), DSD_R_BAD_UTF8);
    CHECK_EQ_INT(parse("_e{50,1}:t|x", &l), DSD_R_BAD_LINE);
    CHECK_EQ_INT(parse("_e{1,1}t|x", &l), DSD_R_BAD_LINE);
    CHECK_EQ_INT(parse("_sc|db|7", &l), DSD_R_BAD_VALUE);
    CHECK_EQ_INT(parse("_sc||0", &l), DSD_R_BAD_LINE);

    sp_arena_free(&a);
    return th_report("test_dsd_parse");
}
