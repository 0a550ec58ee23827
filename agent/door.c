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
#include "flow.h"
#include "journal.h"
#include "log.h"
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

void sp_door_ndjson(struct spindle *sp, const struct sp_peer *peer, struct sp_arena *scratch,
                    const char *p, size_t n, struct sp_door_out *out)
{
    struct sp_record r;
    out->field = NULL;
    out->control = 0;
    sp_arena_reset(scratch);
    uint64_t now_ns = sp_now_ns();
    int reason = sp_record_parse(p, n, scratch, &sp->limits, now_ns, &r, &out->field);
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
    struct sp_origin o = {.recv_ns = now_ns};
    if (sp->journal) {
        /* The line as received and the time that stands in for a missing
         * ts: replay parses it again to the same record. */
        if (sp_journal_append(sp->journal, SP_CODEC_NDJSON, p, n, now_ns) > 0) {
            sp_flow_check(sp); /* the disk is behind: the next record waits */
        }
        o.jseq = sp_journal_seq(sp->journal);
    }
    route(sp, &r, &o);
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
    if (e->codec != SP_CODEC_NDJSON) {
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
        sp_record_parse(e->line, e->len, &sp->replay_arena, &sp->limits, e->recv_ns, &r, &field);
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
    if (rejournal) {
        sp_journal_append(sp->journal, e->codec, e->line, e->len, e->recv_ns);
        o.jseq = sp_journal_seq(sp->journal);
    }
    sp->stats.replayed++;
    route(sp, &r, &o);
}
