/*
 * flow.c - flow control in one place: the memory budget (limits.max_memory),
 * the export queues' limit (export.queue_max_bytes) and the journal's write
 * backlog decide whether input pauses; pausing and resuming call every
 * input's slot, and over the budget the parts that do not shrink by
 * themselves while input is paused (open workflows, metric series) are shed.
 *
 * Nobody below calls up into this file by name: the pipeline signals
 * pressure through sp->pressure (a hook the agent sets to sp_flow_check), the
 * door checks after each read an input hands over and when the journal falls
 * behind, and a check handle runs the decision once per loop turn, so what
 * frees memory anywhere (a delivery, a closed workflow, a hang-up seen while
 * paused) is seen without the part that freed it knowing about flow control.
 */
#include "flow.h"

#include <malloc.h>

#include "agent.h"
#include "caps.h"
#include "journal.h"
#include "log.h"
#include "rss.h"

/* What the allocator really holds beyond the start, sampled. The accounting
 * above counts live allocations; malloc also keeps what was freed (glibc
 * returns only the top of its heap to the system) and its per-chunk
 * overhead: with 4 clients of many unique workflows, spans, logs and
 * histograms, a 32 MiB budget measured 24-30 MB in use but 10-15 MB more
 * free inside malloc's arenas, 44 MB anonymous RSS (54 MB peak RSS with the
 * 10 MB of mapped libraries). When the allocator holds much more than is
 * counted, malloc_trim() gives the free pages back (MADV_DONTNEED; measured
 * 1.2-3.5 ms with 24 MB free in 40,000 fragmented chunks on this kind of
 * machine, so at most every SP_TRIM_MS: under 2% of the loop's time). What is still
 * held after that counts against the budget like the rest.
 * MALLOC_ARENA_MAX=1 or 2 and a fixed mmap threshold (32 or 64 KiB) were
 * measured on the same mix too: peaks of 53-56 MB against 54, no gain, so
 * neither is set. */
static size_t memory_over(struct spindle *sp, size_t accounted)
{
    uint64_t now = uv_now(sp->loop);
    /* Far below the budget a stale sample does no harm: read rarely. */
    uint64_t every = accounted >= sp->cfg.max_memory / 4 ? SP_RSS_SAMPLE_MS : 100u;
    if (sp->mem.rss_base == 0 || (sp->mem.rss_ms && now - sp->mem.rss_ms < every)) {
        return sp->mem.over; /* measured against the accounting of its time */
    }
    sp->mem.rss_ms = now;
    size_t a = sp_rss_anon();
    sp->mem.rss = a > sp->mem.rss_base ? a - sp->mem.rss_base : 0;
    if (sp->mem.rss > accounted + sp->cfg.max_memory / 8 &&
        sp->mem.rss > sp->cfg.max_memory / 2 && now - sp->mem.trim_ms >= SP_TRIM_MS) {
        sp->mem.trim_ms = now;
        malloc_trim(0);
        a = sp_rss_anon();
        sp->mem.rss = a > sp->mem.rss_base ? a - sp->mem.rss_base : 0;
    }
    sp->mem.over = sp->mem.rss > accounted ? sp->mem.rss - accounted : 0;
    return sp->mem.over;
}

/* Backpressure. Input pauses when any queue holds export.queue_max_bytes, or
 * when everything limits.max_memory covers passes it; it resumes when every
 * queue is below half and memory below three quarters. Connection buffers
 * count towards the pause but not against the resume: while paused they
 * shrink only by being read (or by their clients hanging up), so counting
 * them could keep input paused for ever. Over the memory
 * budget, the longest-idle open workflows first close early (emitted, counted
 * evicted): they are the part that does not shrink by itself while input is
 * paused. Paused clients are pushed back by the kernel; their acks wait. */
void sp_flow_check(struct spindle *sp)
{
    if (sp->in_backpressure) {
        return; /* shedding emits spans, which signals pressure again */
    }
    sp->in_backpressure = 1;
    size_t most = 0;
    for (int i = 0; i < sp->n_exporters; i++) {
        for (int s = 0; s < SP_SIG_COUNT; s++) {
            if (sp->exporters[i]->q[s].bytes > most) {
                most = sp->exporters[i]->q[s].bytes;
            }
        }
    }
    size_t budget = sp->cfg.max_memory;
    size_t low = budget / 4 * 3;
    size_t used = sp_memory_used(sp);
    /* What malloc holds beyond what is counted counts too: shedding makes
     * room for it, and it pauses input like the rest. */
    size_t over = memory_over(sp, used);
    if (used + over > budget && sp->corr) {
        size_t other = used - sp->mem.workflows + over;
        corr_shed(sp->corr, low > other ? low - other : 0);
        used = sp_memory_used(sp);
    }
    if (used + over > budget && sp->metrics) {
        /* Series never shrink while input is paused (their TTL counts from
         * their last point): shed them until what does not drain by itself
         * fits under three quarters. Queues drain (delivered or given up)
         * and connection buffers are not held against the resume, so
         * neither makes series go. */
        size_t other = used - sp->mem.series - sp->mem.conns + over;
        for (int i = 0; i < sp->n_exporters; i++) {
            for (int s = 0; s < SP_SIG_COUNT; s++) {
                other -= sp->exporters[i]->q[s].bytes;
            }
        }
        sp_metrics_shed(sp->metrics, low > other ? low - other : 0);
        used = sp_memory_used(sp);
    }
    sp->stats.mem_used = used;
    size_t backlog = sp->journal ? sp_journal_backlog(sp->journal) : 0;
    /* Resuming needs what does not drain by itself under three quarters, or
     * nothing left to shed: waiting would not lower what malloc keeps, and
     * neither pausing does then (it would only slow every client down). */
    size_t kept = used - sp->mem.conns;
    int sheddable = kept > budget / 8;
    int mem_ok = kept + over <= low || !sheddable;
    if (!sp->paused && (most >= sp->cfg.queue_max_bytes || used >= budget ||
                        (sheddable && used + over >= budget) || backlog >= SP_JOURNAL_MAX_BACKLOG)) {
        sp->paused = 1;
        sp->stats.input_pauses++;
        SP_LOG_RL(SP_LOG_WARN, "input paused until exports drain",
                  "reason=%s queued_bytes=%zu queue_max_bytes=%llu memory_used=%zu max_memory=%zu",
                  most >= sp->cfg.queue_max_bytes ? "queue_full"
                  : used + over >= budget         ? "memory_limit"
                                                  : "journal_backlog",
                  most, (unsigned long long)sp->cfg.queue_max_bytes, used + over, budget);
        for (int i = 0; i < sp->n_inputs; i++) {
            sp->inputs[i].ops->pause(&sp->inputs[i]);
        }
    } else if (sp->paused && most <= sp->cfg.queue_max_bytes / 2 && mem_ok &&
               backlog <= SP_JOURNAL_MAX_BACKLOG / 2) {
        sp->paused = 0;
        SP_LOG_RL(SP_LOG_INFO, "input resumed", "queued_bytes=%zu memory_used=%zu", most, used);
        for (int i = 0; i < sp->n_inputs; i++) {
            sp->inputs[i].ops->resume(&sp->inputs[i]);
        }
        if (sp->journal) {
            sp_journal_resume(sp->journal);
        }
    }
    sp->in_backpressure = 0;
}

static void turn_cb(uv_check_t *h)
{
    sp_flow_check(h->data);
}

void sp_flow_init(struct spindle *sp)
{
    uv_check_init(sp->loop, &sp->flow_turn);
    sp->flow_turn.data = sp;
    uv_check_start(&sp->flow_turn, turn_cb);
    uv_unref((uv_handle_t *)&sp->flow_turn); /* never what keeps the loop alive */
}
