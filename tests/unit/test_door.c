/*
 * test_door.c - the one door into the core and flow control, with the real
 * agent in process (no exporter: what is routed is seen in the correlator,
 * the aggregator and the counters):
 *   - every rejection reason is counted, accepted records are counted, and a
 *     rejected record is neither journaled nor routed;
 *   - an accepted record is journaled before it is routed (the workflow it
 *     opens already holds the journal segment the record went to);
 *   - control records are handed back to the input, never counted;
 *   - replay goes through the same door (counted replayed, routed), and an
 *     entry of an unknown codec is counted, not routed;
 *   - flow control calls pause and resume on every input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "agent.h"
#include "door.h"
#include "flow.h"
#include "harness.h"
#include "journal.h"
#include "record.h"

static uv_loop_t LOOP;
static struct spindle SP;
static char DIR_[64];

/* A fake input that counts the slots the core calls. */
struct fake {
    int inits, starts, pauses, resumes, durables, stops, closes;
    uint64_t last_pos;
};
static struct fake FAKES[2];

static struct fake *fake_of(struct sp_input *in)
{
    return in->priv;
}

static int f_init(struct sp_input *in)
{
    in->priv = &FAKES[in - in->sp->inputs];
    fake_of(in)->inits++;
    return 0;
}

static int f_start(struct sp_input *in)
{
    fake_of(in)->starts++;
    return 0;
}

static void f_pause(struct sp_input *in)
{
    fake_of(in)->pauses++;
}

static void f_resume(struct sp_input *in)
{
    fake_of(in)->resumes++;
}

static void f_durable(struct sp_input *in, uint64_t pos)
{
    fake_of(in)->durables++;
    fake_of(in)->last_pos = pos;
}

static void f_stop(struct sp_input *in)
{
    fake_of(in)->stops++;
}

static void f_close(struct sp_input *in)
{
    fake_of(in)->closes++;
}

static const struct sp_input_ops fake_ops = {
    .name = "fake",
    .init = f_init,
    .start = f_start,
    .pause = f_pause,
    .resume = f_resume,
    .durable = f_durable,
    .stop_accepting = f_stop,
    .close = f_close,
};

/* An input that uses every default slot it can. */
static const struct sp_input_ops minimal_ops = {
    .name = "minimal",
    .init = sp_input_init_none,
    .start = sp_input_init_none,
    .pause = sp_input_nop,
    .resume = sp_input_nop,
    .durable = sp_input_durable_none,
    .stop_accepting = sp_input_nop,
    .close = sp_input_nop,
};

static void agent_up(int journal)
{
    memset(&SP, 0, sizeof(SP));
    memset(FAKES, 0, sizeof(FAKES));
    sp_config_defaults(&SP.cfg);
    SP.cfg.file_enabled = 0;
    snprintf(DIR_, sizeof(DIR_), "/tmp/spindle-door-XXXXXX");
    CHECK(mkdtemp(DIR_) != NULL);
    free(SP.cfg.state_dir);
    SP.cfg.state_dir = strdup(DIR_);
    if (journal) {
        char p[128];
        snprintf(p, sizeof(p), "%s/journal", DIR_);
        free(SP.cfg.storage_path);
        SP.cfg.storage_path = strdup(p);
    }
    char err[256] = "";
    CHECK_EQ_INT(sp_config_finish(&SP.cfg, err, sizeof(err)), 0);
    CHECK_EQ_INT(uv_loop_init(&LOOP), 0);
    CHECK_EQ_INT(sp_agent_add_input(&SP, &fake_ops), 0);
    CHECK_EQ_INT(sp_agent_add_input(&SP, &fake_ops), 0);
    CHECK_EQ_INT(sp_agent_add_input(&SP, &minimal_ops), 0);
    static const struct sp_exporter_ops *const none[] = {NULL};
    CHECK_EQ_INT(sp_agent_init(&SP, &LOOP, none), 0);
    CHECK_EQ_INT(sp_agent_start(&SP), 0);
}

static void agent_down(void)
{
    sp_agent_stop(&SP);
    uv_run(&LOOP, UV_RUN_DEFAULT);
    CHECK_EQ_INT(uv_loop_close(&LOOP), 0);
    sp_agent_free(&SP);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", DIR_);
    CHECK_EQ_INT(system(cmd), 0);
}

static struct sp_door_out feed(const char *line)
{
    static struct sp_arena a;
    static int ready;
    if (!ready) {
        sp_arena_init(&a, 4096);
        ready = 1;
    }
    struct sp_peer peer = {.pid = 4242};
    struct sp_door_out out;
    memset(&out, 0x5a, sizeof(out)); /* every field the door answers is set by it */
    sp_door_ndjson(&SP, &peer, &a, line, strlen(line), &out);
    return out;
}

static void test_reasons_counted(void)
{
    agent_up(0);
    static const struct {
        const char *line;
        int reason;
    } bad[] = {
        {"{", SP_R_MALFORMED_JSON},
        {"{\"v\":2,\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"x\"}", SP_R_UNSUPPORTED_VERSION},
        {"{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"\xff\"}", SP_R_BAD_UTF8},
        {"{\"type\":\"log\",\"body\":\"x\"}", SP_R_MISSING_FIELD},
        {"{\"type\":\"nope\",\"correlation_id\":\"c\"}", SP_R_UNKNOWN_TYPE},
        {"{\"type\":\"log\",\"correlation_id\":7,\"body\":\"x\"}", SP_R_BAD_TYPE},
        {"{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"x\",\"ts\":1e12}", SP_R_BAD_VALUE},
    };
    uint64_t total = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t before = SP.stats.rejected[bad[i].reason];
        struct sp_door_out o = feed(bad[i].line);
        CHECK_EQ_INT(o.reason, bad[i].reason);
        CHECK_EQ_INT(o.control, 0);
        CHECK_EQ_INT(SP.stats.rejected[bad[i].reason], before + 1);
        total++;
    }
    CHECK_EQ_INT(SP.stats.rejected_total, total);
    CHECK_EQ_INT(SP.stats.accepted, 0);
    CHECK_EQ_INT(SP.stats.wf_open, 0); /* nothing rejected was routed */

    /* A framing rejection an input found itself counts the same way. */
    struct sp_peer peer = {.pid = 1};
    sp_door_reject(&SP, &peer, SP_R_TOO_LARGE, NULL);
    CHECK_EQ_INT(SP.stats.rejected[SP_R_TOO_LARGE], 1);
    CHECK_EQ_INT(SP.stats.rejected_total, total + 1);

    /* Control records go back to the input, uncounted. */
    struct sp_door_out o = feed("{\"type\":\"flush\",\"id\":\"f1\"}");
    CHECK_EQ_INT(o.reason, 0);
    CHECK_EQ_INT(o.control, SP_REC_FLUSH);
    CHECK(o.id.len == 2 && memcmp(o.id.p, "f1", 2) == 0);
    CHECK_EQ_INT(o.id_too_long, 0);
    o = feed("{\"type\":\"stats\",\"id\":\"s\"}");
    CHECK_EQ_INT(o.control, SP_REC_STATS);
    CHECK_EQ_INT(SP.stats.accepted, 0);
    CHECK_EQ_INT(SP.stats.rejected_total, total + 1);

    /* Accepted: counted and routed (a log opens its workflow; a metric a series). */
    o = feed("{\"type\":\"log\",\"correlation_id\":\"door-1\",\"body\":\"hello\"}");
    CHECK_EQ_INT(o.reason, 0);
    CHECK_EQ_INT(o.control, 0);
    CHECK_EQ_INT(SP.stats.accepted, 1);
    CHECK_EQ_INT(SP.stats.wf_open, 1);
    o = feed("{\"type\":\"metric\",\"name\":\"m\",\"kind\":\"counter\",\"value\":1}");
    CHECK_EQ_INT(o.reason, 0);
    CHECK_EQ_INT(SP.stats.accepted, 2);
    CHECK(SP.mem.series > 0); /* the aggregator holds a series for it */
    CHECK_EQ_INT(SP.stats.journaled, 0); /* no journal configured */
    CHECK_EQ_INT(sp_door_ack_pos(&SP), 0); /* nothing to wait for */
    agent_down();
}

static void test_journal_then_route(void)
{
    agent_up(1);
    CHECK(SP.journal != NULL);
    struct sp_door_out o = feed("{\"type\":\"log\",\"correlation_id\":\"c\",\"body\":\"x\",\"ts\":\"no\"}");
    CHECK(o.reason != 0);
    CHECK_EQ_INT(SP.stats.journaled, 0); /* rejected: never journaled */
    o = feed("{\"type\":\"log\",\"correlation_id\":\"door-j\",\"body\":\"kept\"}");
    CHECK_EQ_INT(o.reason, 0);
    CHECK_EQ_INT(SP.stats.journaled, 1);
    /* Routed after it was journaled: the workflow it opened already holds
     * the segment the record is in. */
    CHECK(corr_min_jseq(SP.corr) != 0);
    CHECK_EQ_INT(corr_min_jseq(SP.corr), sp_journal_seq(SP.journal));
    /* Acks wait for the journal: the position covers the record, and the
     * inputs' durable slots are called once it is reached. */
    uint64_t pos = sp_door_ack_pos(&SP);
    CHECK(pos > 0);
    for (int i = 0; i < 200 && FAKES[0].last_pos < pos; i++) {
        uv_run(&LOOP, UV_RUN_ONCE);
    }
    CHECK(FAKES[0].durables >= 1 && FAKES[0].last_pos >= pos);
    CHECK(FAKES[1].durables >= 1 && FAKES[1].last_pos >= pos);

    /* Replay through the same door: an entry of this codec is counted and
     * routed; one of a codec this build does not know is counted, not routed. */
    struct sp_jentry e = {.line = "{\"type\":\"log\",\"correlation_id\":\"door-r\",\"body\":\"old\"}",
                          .recv_ns = 1740830400000000000ull,
                          .codec = SP_CODEC_NDJSON};
    e.len = strlen(e.line);
    uint64_t open = SP.stats.wf_open;
    sp_door_replay(&SP, &e, 1, 0);
    CHECK_EQ_INT(SP.stats.replayed, 1);
    CHECK_EQ_INT(SP.stats.wf_open, open + 1);
    CHECK_EQ_INT(SP.stats.accepted, 1); /* replayed, not accepted again */
    e.codec = 9;
    e.line = "{\"type\":\"log\",\"correlation_id\":\"door-x\",\"body\":\"?\"}";
    e.len = strlen(e.line);
    sp_door_replay(&SP, &e, 1, 0);
    CHECK_EQ_INT(SP.stats.replayed, 1);
    CHECK_EQ_INT(SP.stats.drop_journal_corrupt, 1);
    CHECK_EQ_INT(SP.stats.wf_open, open + 1);
    agent_down();
}

static void test_flow_calls_every_input(void)
{
    agent_up(0);
    CHECK_EQ_INT(FAKES[0].inits, 1);
    CHECK_EQ_INT(FAKES[1].inits, 1);
    CHECK_EQ_INT(FAKES[0].starts, 1);
    CHECK_EQ_INT(FAKES[1].starts, 1);
    /* Over the budget: every input pauses, once. */
    SP.mem.batches += SP.cfg.max_memory;
    sp_flow_check(&SP);
    sp_flow_check(&SP);
    CHECK_EQ_INT(SP.paused, 1);
    CHECK_EQ_INT(FAKES[0].pauses, 1);
    CHECK_EQ_INT(FAKES[1].pauses, 1);
    CHECK_EQ_INT(SP.stats.input_pauses, 1);
    /* Still above three quarters: no resume yet. */
    SP.mem.batches -= SP.cfg.max_memory / 8;
    sp_flow_check(&SP);
    CHECK_EQ_INT(FAKES[0].resumes, 0);
    /* Below: every input resumes, once; the per-turn check sees it too. */
    SP.mem.batches -= SP.cfg.max_memory / 8 * 7;
    uv_run(&LOOP, UV_RUN_NOWAIT);
    CHECK_EQ_INT(SP.paused, 0);
    CHECK_EQ_INT(FAKES[0].resumes, 1);
    CHECK_EQ_INT(FAKES[1].resumes, 1);
    /* The pipeline signals pressure through its hook, which is flow control. */
    CHECK(SP.pressure == sp_flow_check);
    agent_down();
    /* Shutdown closes every input. */
    CHECK_EQ_INT(FAKES[0].closes, 1);
    CHECK_EQ_INT(FAKES[1].closes, 1);
}

int main(void)
{
    test_reasons_counted();
    test_journal_then_route();
    test_flow_calls_every_input();
    return th_report("test_door");
}
