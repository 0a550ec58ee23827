/*
 * door.c - the one door into the core. See door.h.
 *
 * Order, for every payload whatever input it came from: parse and validate
 * (a rejection is counted by reason and logged, rate-limited), count the
 * accepted record, journal the payload as received with its codec tag and
 * receive time (so that replay parses it again to the same record), then
 * route it: metrics to the aggregator, everything else to the correlator.
 * The record's origin (journal segment, receive time, replayed or not)
 * travels with it as an argument, not as state on struct spindle.
 *
 * Replay comes through sp_door_replay() with the same steps, except that it
 * is counted `replayed` instead of `accepted` and is journaled again only
 * when its segment was damaged.
 */
#include "door.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "alert.h"
#include "dsd_parse.h"
#include "emf.h"
#include "flow.h"
#include "hmap.h"
#include "journal.h"
#include "log.h"
#include "otlp_in.h"
#include "telemetry_api.h"

void sp_door_reject(struct spindle *sp, const struct sp_peer *peer, int reason, const char *field)
{
    sp->stats.rejected[reason]++;
    sp->stats.rejected_total++;
    SP_LOG_RL(SP_LOG_WARN, "record rejected", "reason=%s field=%s pid=%ld",
              sp_reason_name(reason), field ? field : "-", peer->pid);
}

/* The dlq.depth gauge by queue feeds the queue rules; the point's workflow,
 * when it names one, becomes the alert's exemplar. */
static void dlq_depth(struct spindle *sp, const struct sp_record *r, const struct sp_origin *o)
{
    struct alert_obs ob = {.signal = ALERT_SIG_DLQ_DEPTH,
                           .function = r->function,
                           .cid = r->correlation_id,
                           .value = r->value,
                           .replay_ns = o->replayed ? o->recv_ns : 0};
    for (uint32_t i = 0; i < r->attrs.n; i++) {
        const struct sp_attr *a = &r->attrs.v[i];
        if (a->key.len == 5 && memcmp(a->key.p, "queue", 5) == 0 && a->val.type == SP_VAL_STR) {
            ob.queue = a->val.u.s;
        }
    }
    uint8_t tid[16];
    if (ob.cid.len) {
        sp_id_trace(ob.cid.p, ob.cid.len, tid);
        ob.trace_id = tid;
    }
    alert_observe(sp->alerts, &ob);
}

static void dogstatsd(struct spindle *sp, const struct sp_peer *peer, struct sp_arena *scratch,
                      const char *p, size_t n, const struct sp_origin *o);

static void route(struct spindle *sp, const struct sp_record *r, const struct sp_origin *o)
{
    if (r->type == SP_REC_METRIC) {
        sp_metrics_record(sp->metrics, r, o);
        const char *dlq = sp->cfg.dlq_depth_metric;
        if (r->name.len == strlen(dlq) && memcmp(r->name.p, dlq, r->name.len) == 0) {
            dlq_depth(sp, r, o);
        }
    } else {
        corr_record(sp->corr, r, o);
    }
}

/* An EMF line (SP_REC_EMF): its points go to the aggregator one by one. */
struct emf_ctx {
    struct spindle *sp;
    const struct sp_origin *o;
};

static void emf_point(void *arg, const struct sp_record *r)
{
    struct emf_ctx *x = arg;
    route(x->sp, r, x->o);
}

static void route_line(struct spindle *sp, struct sp_arena *a, const struct sp_record *r,
                       const struct sp_origin *o)
{
    if (r->type != SP_REC_EMF) {
        route(sp, r, o);
        return;
    }
    struct emf_ctx x = {sp, o};
    sp_emf_each(r->json, a, &sp->limits, r, emf_point, &x);
}

void sp_peer_origin(const struct sp_peer *peer, struct sp_origin *o)
{
    o->has_peer = peer->pid >= 0 && peer->uid >= 0;
    o->pid = o->has_peer ? (int32_t)peer->pid : 0;
    o->uid = o->has_peer ? (int32_t)peer->uid : 0;
}

static void put32(char *b, long v)
{
    uint32_t u = (uint32_t)(int32_t)v;
    for (int i = 0; i < 4; i++) {
        b[i] = (char)(u >> (8 * i));
    }
}

static long get32(const char *b)
{
    uint32_t u = 0;
    for (int i = 0; i < 4; i++) {
        u |= (uint32_t)(uint8_t)b[i] << (8 * i);
    }
    return (long)(int32_t)u;
}

/* The longest record the journal holds: one entry with its peer prefix. */
#define JOURNAL_MAX_RECORD (SP_JENTRY_MAX_PAYLOAD - SP_JPEER_BYTES)

/* Journals the payload; with a known peer, behind its struct sp_jpeer
 * (`codec` is then the _PEER one), so that replay gives the records the
 * same process.pid and spindle.peer.uid. Sets o->jseq. */
static void journal(struct spindle *sp, const struct sp_peer *peer, struct sp_arena *scratch,
                    unsigned codec, const char *p, size_t n, uint64_t now_ns,
                    struct sp_origin *o)
{
    if (sp->journal == NULL) {
        return;
    }
    int rc;
    if (codec == SP_CODEC_NDJSON && !o->has_peer) {
        rc = sp_journal_append(sp->journal, codec, p, n, now_ns);
    } else {
        char *b = sp_arena_alloc(scratch, SP_JPEER_BYTES + n);
        if (b == NULL) {
            return;
        }
        put32(b, peer->pid);
        put32(b + 4, peer->uid);
        put32(b + 8, peer->gid);
        memcpy(b + SP_JPEER_BYTES, p, n);
        if (codec == SP_CODEC_NDJSON) {
            codec = SP_CODEC_NDJSON_PEER;
        }
        rc = sp_journal_append(sp->journal, codec, b, SP_JPEER_BYTES + n, now_ns);
    }
    if (rc > 0) {
        sp_flow_check(sp); /* the disk is behind: the next record waits */
    }
    o->jseq = sp_journal_seq(sp->journal);
}

void sp_door_ndjson(struct spindle *sp, const struct sp_peer *peer, struct sp_arena *scratch,
                    const char *p, size_t n, struct sp_door_out *out)
{
    struct sp_record r;
    out->field = NULL;
    out->control = 0;
    sp_arena_reset(scratch);
    uint64_t now_ns = sp_now_ns();
    /* Too long for a journal entry (socket.max_record_bytes allows 16 MiB):
     * refused, not acknowledged unjournaled. */
    int reason = sp->journal && n > JOURNAL_MAX_RECORD
                     ? SP_R_TOO_LARGE
                     : sp_record_parse(p, n, scratch, &sp->limits, now_ns, &r, &out->field);
    out->reason = reason;
    if (reason) {
        sp_door_reject(sp, peer, reason, out->field);
        return;
    }
    if (r.type == SP_REC_FLUSH || r.type == SP_REC_STATS) {
        /* Control records are the input's to answer, and never counted. */
        out->control = r.type;
        out->id = r.id;
        out->id_too_long = r.id_too_long;
        return;
    }
    sp->stats.accepted++;
    if (r.bad_traceparent) {
        sp->stats.bad_traceparent++;
        SP_LOG_RL(SP_LOG_INFO, "invalid traceparent ignored", "pid=%ld", peer->pid);
    }
    if (r.attrs.dropped) {
        sp->stats.attributes_dropped += r.attrs.dropped;
    }
    if (sp->tap) {
        sp->tap(sp, p, n);
    }
    struct sp_origin o = {.recv_ns = now_ns};
    sp_peer_origin(peer, &o);
    /* The line as received and the time that stands in for a missing ts:
     * replay parses it again to the same record. */
    journal(sp, peer, scratch, SP_CODEC_NDJSON, p, n, now_ns, &o);
    route_line(sp, scratch, &r, &o);
}

/* --- DogStatsD ------------------------------------------------------------ */

static void dsd_count(struct spindle *sp, const struct sp_peer *peer, int reason)
{
    switch (reason) {
    case DSD_R_UNKNOWN_TYPE: sp->stats.statsd_unknown_type++; break;
    case DSD_R_BAD_VALUE: sp->stats.statsd_bad_value++; break;
    case DSD_R_BAD_UTF8: sp->stats.statsd_bad_utf8++; break;
    default: sp->stats.statsd_bad_line++; break;
    }
    /* The line itself stays out of the log: it may be any bytes at all. */
    SP_LOG_RL(SP_LOG_WARN, "statsd line rejected", "reason=%s pid=%ld", dsd_reason_name(reason),
              peer->pid);
}

static void put_attr(struct sp_attrs *a, const char *k, struct sp_str v)
{
    struct sp_attr *x = &a->v[a->n++];
    x->key = sp_cstr(k);
    x->val.type = SP_VAL_STR;
    x->val.u.s = v;
}

static void put_int(struct sp_attrs *a, const char *k, int64_t v)
{
    struct sp_attr *x = &a->v[a->n++];
    x->key = sp_cstr(k);
    x->val.type = SP_VAL_INT;
    x->val.u.i = v;
}

/* The unified service tags as resource attributes, and as one string that
 * groups the items sharing them (lengths in front: no separator can clash). */
static void dsd_resource(struct sp_arena *a, const struct dsd_line *l, struct sp_attrs *res,
                         struct sp_str *key)
{
    static struct sp_attr none[1];
    res->n = 0;
    res->dropped = 0;
    res->v = none;
    *key = (struct sp_str){"", 0};
    if (!l->service.len && !l->env.len && !l->version.len) {
        return;
    }
    res->v = sp_arena_alloc(a, sizeof(struct sp_attr) * 3);
    size_t kn = 3 * sizeof(uint32_t) + l->service.len + l->env.len + l->version.len;
    char *k = sp_arena_alloc(a, kn);
    if (res->v == NULL || k == NULL) {
        res->v = none;
        return;
    }
    struct sp_str parts[3] = {l->service, l->env, l->version};
    static const char *const names[3] = {"service.name", "deployment.environment.name",
                                         "service.version"};
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t len = (uint32_t)parts[i].len;
        memcpy(k + at, &len, sizeof(len));
        at += sizeof(len);
        memcpy(k + at, parts[i].p, parts[i].len);
        at += parts[i].len;
        if (parts[i].len) {
            put_attr(res, names[i], parts[i]);
        }
    }
    *key = (struct sp_str){k, kn};
}

static void dsd_metric(struct spindle *sp, const struct dsd_line *l, const struct sp_attrs *res,
                       struct sp_str res_key, const struct sp_origin *o)
{
    struct sp_point pt = {
        .name = l->name,
        .attrs = &l->tags,
        .value = l->value,
        .ts_ns = o->recv_ns,
        .cid = l->cid,
        .jseq = o->jseq,
        .statsd = 1,
        .res = res,
        .res_key = res_key,
    };
    switch (l->type) {
    case DSD_COUNTER:
        /* Sampled at `rate`: each one stands for 1/rate of them. */
        pt.kind = SP_METRIC_COUNTER;
        pt.value = l->value / l->rate;
        break;
    case DSD_GAUGE:
        pt.kind = SP_METRIC_GAUGE;
        break;
    case DSD_TIMER:
        pt.kind = SP_METRIC_HISTOGRAM;
        pt.unit = sp_cstr("ms");
        break;
    case DSD_SET:
        pt.kind = SP_METRIC_GAUGE;
        pt.distinct = 1;
        pt.member = sp_hash(l->member.p, l->member.len, 11);
        break;
    default: /* h, d: unitless histograms */
        pt.kind = SP_METRIC_HISTOGRAM;
        break;
    }
    sp_metrics_add(sp->metrics, &pt);
}

/* An event or a service check: a log record, on its workflow's trace when
 * it has a correlation_id tag. */
static void dsd_log(struct spindle *sp, const struct dsd_line *l, const struct sp_attrs *res,
                    struct sp_str res_key, const struct sp_origin *o)
{
    struct sp_batch *b = sp_pipe_batch(sp, SP_SIG_LOGS);
    if (b == NULL) {
        return;
    }
    struct sp_arena *a = &b->arena;
    struct sp_logrec *r = sp_arena_calloc(a, sizeof(*r));
    if (r == NULL || sp_attrs_dup(a, &r->attrs, &l->tags, 8) ||
        (res->n && sp_attrs_dup(a, &r->res, res, 0))) {
        return;
    }
    r->res_key = sp_str_dup(a, res_key);
    r->ts_ns = l->ts_s > 0 ? (uint64_t)l->ts_s * 1000000000ull : o->recv_ns;
    r->observed_ns = o->recv_ns;
    int sev;
    if (l->kind == DSD_EVENT) {
        sp->stats.statsd_events += !o->replayed;
        struct sp_str t = l->alert_type;
        sev = sp_str_eq(t, sp_cstr("error")) ? 17 : sp_str_eq(t, sp_cstr("warning")) ? 13 : 9;
        r->event_name = sp_str_dup(a, l->name);
        r->body.type = SP_VAL_STR;
        r->body.u.s = sp_str_dup(a, l->text);
        put_attr(&r->attrs, "dogstatsd.event.title", r->event_name);
        if (t.len) {
            put_attr(&r->attrs, "dogstatsd.event.alert_type", sp_str_dup(a, t));
        }
        if (l->priority.len) {
            put_attr(&r->attrs, "dogstatsd.event.priority", sp_str_dup(a, l->priority));
        }
        if (l->source.len) {
            put_attr(&r->attrs, "dogstatsd.event.source_type_name", sp_str_dup(a, l->source));
        }
    } else {
        sp->stats.statsd_service_checks += !o->replayed;
        static const int sevs[4] = {9, 13, 17, 13}; /* OK, WARNING, CRITICAL, UNKNOWN */
        static const char *const names[4] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
        sev = sevs[l->status];
        r->event_name = sp_cstr("dogstatsd.service_check");
        r->body.type = SP_VAL_STR;
        r->body.u.s = sp_str_dup(a, l->text.len ? l->text : l->name);
        put_attr(&r->attrs, "dogstatsd.check.name", sp_str_dup(a, l->name));
        put_attr(&r->attrs, "dogstatsd.check.status", sp_cstr(names[l->status]));
    }
    r->severity_number = (uint8_t)sev;
    r->severity_text = sp_cstr(sev >= 17 ? "ERROR" : sev >= 13 ? "WARN" : "INFO");
    if (l->host.len) {
        put_attr(&r->attrs, "host.name", sp_str_dup(a, l->host));
    }
    if (l->cid.len) {
        put_attr(&r->attrs, "spindle.correlation_id", sp_str_dup(a, l->cid));
        struct sp_str none = {"", 0};
        corr_link(sp->corr, l->cid, none, r->trace_id, r->span_id);
        r->has_trace = 1;
    }
    if (o->has_peer) {
        put_int(&r->attrs, "process.pid", o->pid);
        put_int(&r->attrs, "spindle.peer.uid", o->uid);
    }
    sp_pipe_commit(sp, SP_SIG_LOGS, r, 128 + l->text.len + r->attrs.n * 32u, o->jseq);
}

/* Parses every line of a datagram; with `o`, routes the good ones, else only
 * counts the bad ones (first pass). Returns the number of good lines. */
static uint32_t dogstatsd_lines(struct spindle *sp, const struct sp_peer *peer,
                                struct sp_arena *scratch, const char *p, size_t n,
                                const struct sp_origin *o)
{
    uint32_t good = 0;
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - p) : n;
        size_t len = end - i;
        const char *line = p + i;
        i = end + 1;
        if (len && line[len - 1] == '\r') {
            len--;
        }
        if (len == 0) {
            continue;
        }
        struct dsd_line l;
        int rc = dsd_parse_line(line, len, scratch, (uint32_t)sp->cfg.max_attributes, &l);
        if (rc) {
            if (o == NULL) {
                dsd_count(sp, peer, rc);
            }
            continue;
        }
        good++;
        if (o == NULL) {
            continue;
        }
        if (!o->replayed) {
            sp->stats.statsd_tags_dropped += l.tags.dropped;
        }
        struct sp_attrs res;
        struct sp_str res_key;
        dsd_resource(scratch, &l, &res, &res_key);
        if (l.kind == DSD_METRIC) {
            sp->stats.statsd_metrics += !o->replayed;
            dsd_metric(sp, &l, &res, res_key, o);
        } else {
            dsd_log(sp, &l, &res, res_key, o);
        }
    }
    return good;
}

static void dogstatsd(struct spindle *sp, const struct sp_peer *peer, struct sp_arena *scratch,
                      const char *p, size_t n, const struct sp_origin *o)
{
    dogstatsd_lines(sp, peer, scratch, p, n, o);
}

void sp_door_dogstatsd(struct spindle *sp, const struct sp_peer *peer, struct sp_arena *scratch,
                       const char *p, size_t n)
{
    sp_arena_reset(scratch);
    uint64_t now_ns = sp_now_ns();
    /* First pass: count what is refused; a datagram with nothing good in it
     * is not journaled. */
    if (dogstatsd_lines(sp, peer, scratch, p, n, NULL) == 0) {
        return;
    }
    struct sp_origin o = {.recv_ns = now_ns};
    sp_peer_origin(peer, &o);
    journal(sp, peer, scratch, SP_CODEC_DOGSTATSD, p, n, now_ns, &o);
    sp_arena_reset(scratch);
    dogstatsd_lines(sp, peer, scratch, p, n, &o);
}

int sp_door_peer_allowed(struct spindle *sp, char *const *uids, size_t n_uids,
                         const struct sp_peer *peer, const char *input)
{
    if (n_uids == 0) {
        return 1;
    }
    for (size_t i = 0; peer->uid >= 0 && i < n_uids; i++) {
        if (strtol(uids[i], NULL, 10) == peer->uid) {
            return 1;
        }
    }
    sp->stats.peer_not_allowed++;
    SP_LOG_RL(SP_LOG_WARN, "sender not in allowed_uids; refused", "input=%s pid=%ld uid=%ld",
              input, peer->pid, peer->uid);
    return 0;
}

/* The Telemetry API codec's records, counted and routed like socket records. */
struct tapi_ctx {
    struct spindle *sp;
    const struct sp_origin *o;
};

static void tapi_emit(void *arg, const struct sp_record *r)
{
    struct tapi_ctx *x = arg;
    if (x->o->replayed) {
        x->sp->stats.replayed++;
    } else {
        x->sp->stats.accepted++;
    }
    route(x->sp, r, x->o);
}

/* Translates one batch; the codec's state lives as long as the agent. */
static int tapi_run(struct spindle *sp, struct sp_arena *scratch, const char *p, size_t n,
                    const struct sp_origin *o, struct sp_tapi_result *res)
{
    if (sp->tapi == NULL && sp_tapi_new(&sp->tapi, getenv("AWS_LAMBDA_FUNCTION_NAME")) != 0) {
        return -ENOMEM;
    }
    sp_tapi_configure(sp->tapi, &sp->limits, sp->cfg.lambda_trigger);
    struct tapi_ctx x = {.sp = sp, .o = o};
    int rc = sp_tapi_batch(sp->tapi, p, n, scratch, o->recv_ns, tapi_emit, &x, res);
    if (rc) {
        sp->stats.rejected[SP_R_MALFORMED_JSON]++;
        sp->stats.rejected_total++;
        SP_LOG_RL(SP_LOG_WARN, "Telemetry API batch rejected", "reason=malformed_json bytes=%zu",
                  n);
        return rc;
    }
    sp->stats.lambda_batches++;
    sp->stats.lambda_events += res->events;
    sp->stats.lambda_unknown += res->unknown;
    sp->stats.drop_lambda_logs += res->logs_dropped;
    sp->stats.lambda_logs_unattributed += res->logs_unattributed;
    sp->stats.lambda_requests_evicted += res->requests_evicted;
    if (res->logs_dropped) {
        SP_LOG_RL(SP_LOG_WARN, "Lambda dropped log records before they reached spindle",
                  "dropped=%llu", (unsigned long long)res->logs_dropped);
    }
    return 0;
}

int sp_door_lambda(struct spindle *sp, struct sp_arena *scratch, const char *p, size_t n,
                   struct sp_tapi_result *res)
{
    sp_arena_reset(scratch);
    struct sp_origin o = {.recv_ns = sp_now_ns()};
    if (sp->journal) {
        /* Journaled before it is translated, so that replay walks the same
         * events through the same codec state; a batch that turns out not to
         * be JSON is rejected again on replay. */
        if (sp_journal_append(sp->journal, SP_CODEC_LAMBDA_TELEMETRY, p, n, o.recv_ns) > 0) {
            sp_flow_check(sp);
        }
        o.jseq = sp_journal_seq(sp->journal);
    }
    return tapi_run(sp, scratch, p, n, &o, res);
}

void sp_door_done(struct spindle *sp)
{
    sp_flow_check(sp);
}

uint64_t sp_door_ack_pos(struct spindle *sp)
{
    struct sp_journal *j = sp->journal;
    if (j == NULL) {
        return 0;
    }
    uint64_t pos = sp_journal_pos(j);
    if (sp_journal_durable(j) >= pos) {
        return 0;
    }
    sp_journal_want(j, pos);
    return pos;
}

void sp_door_replay(struct spindle *sp, const struct sp_jentry *e, uint64_t jseq, int rejournal)
{
    if (e->codec == SP_CODEC_LAMBDA_TELEMETRY) {
        struct sp_origin o = {.jseq = jseq, .recv_ns = e->recv_ns, .replayed = 1};
        struct sp_tapi_result res;
        sp_arena_reset(&sp->replay_arena);
        if (rejournal) {
            sp_journal_append(sp->journal, e->codec, e->line, e->len, e->recv_ns);
            o.jseq = sp_journal_seq(sp->journal);
        }
        tapi_run(sp, &sp->replay_arena, e->line, e->len, &o, &res);
        return;
    }
    if (e->codec >= SP_CODEC_OTLP_FIRST && e->codec <= SP_CODEC_OTLP_LAST) {
        sp_door_otlp_replay(sp, e, jseq, rejournal);
        return;
    }
    struct sp_peer peer = {-1, -1, -1};
    struct sp_jentry pe = *e;
    if (e->codec == SP_CODEC_NDJSON_PEER || e->codec == SP_CODEC_DOGSTATSD) {
        if (e->len < SP_JPEER_BYTES) {
            sp->stats.drop_journal_corrupt++;
            return;
        }
        peer = (struct sp_peer){get32(e->line), get32(e->line + 4), get32(e->line + 8)};
        pe.line += SP_JPEER_BYTES;
        pe.len -= SP_JPEER_BYTES;
    }
    if (e->codec == SP_CODEC_DOGSTATSD) {
        struct sp_origin o = {.jseq = jseq, .recv_ns = e->recv_ns, .replayed = 1};
        sp_peer_origin(&peer, &o);
        if (rejournal) {
            sp_journal_append(sp->journal, e->codec, e->line, e->len, e->recv_ns);
            o.jseq = sp_journal_seq(sp->journal);
        }
        sp_arena_reset(&sp->replay_arena);
        dogstatsd(sp, &peer, &sp->replay_arena, pe.line, pe.len, &o);
        return;
    }
    if (e->codec != SP_CODEC_NDJSON && e->codec != SP_CODEC_NDJSON_PEER) {
        /* Written by a later spindle with an input this one does not have. */
        sp->stats.drop_journal_corrupt++;
        SP_LOG_RL(SP_LOG_WARN, "journaled entry of an unknown codec; not replayed",
                  "codec=%u", (unsigned)e->codec);
        return;
    }
    struct sp_record r;
    const char *field = NULL;
    sp_arena_reset(&sp->replay_arena);
    int reason =
        sp_record_parse(pe.line, pe.len, &sp->replay_arena, &sp->limits, e->recv_ns, &r, &field);
    if (reason) {
        /* Accepted under the previous run's settings, refused under these. */
        sp->stats.rejected[reason]++;
        sp->stats.rejected_total++;
        SP_LOG_RL(SP_LOG_WARN, "journaled record rejected on replay", "reason=%s field=%s",
                  sp_reason_name(reason), field ? field : "-");
        return;
    }
    if (r.type == SP_REC_FLUSH || r.type == SP_REC_STATS) {
        return;
    }
    struct sp_origin o = {.jseq = jseq, .recv_ns = e->recv_ns, .replayed = 1};
    sp_peer_origin(&peer, &o);
    if (rejournal) {
        sp_journal_append(sp->journal, e->codec, e->line, e->len, e->recv_ns);
        o.jseq = sp_journal_seq(sp->journal);
    }
    sp->stats.replayed++;
    route_line(sp, &sp->replay_arena, &r, &o);
}
