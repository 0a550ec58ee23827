/*
 * journal.h - the write-ahead journal (storage.path): accepted records are
 * appended before their flush ack is sent, replayed through the correlator at
 * start-up, and a segment is deleted once everything built from it was
 * delivered or counted as dropped. Design: docs/internals/journal.md.
 *
 * Ownership: struct spindle owns the journal (sp->journal, NULL when
 * storage.path is unset). The journal owns its segment files, its append
 * buffer and the replay buffer.
 *
 * Segment sequence numbers start at 1; 0 means "no journal segment" wherever
 * a jseq is kept (workflows, batches, requests, metric series).
 */
#ifndef SP_JOURNAL_H
#define SP_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "jformat.h"

struct spindle;
struct sp_journal;

/* What the journal tells the parts above it, given when it is opened: the
 * journal calls nothing above it by name. */
struct sp_journal_hooks {
    void *arg;
    /* Everything appended up to `pos` is durable (acks waiting for it may go). */
    void (*durable)(void *arg, uint64_t pos);
    /* The oldest segment anything in memory above the journal (workflows,
     * metric series, open batches) derives from, 0 none. */
    uint64_t (*oldest_held)(void *arg);
    /* The journal is full and evicted segments <= seq: drop what is queued
     * from them (counted journal_full); returns the items dropped. */
    uint64_t (*drop_upto)(void *arg, uint64_t seq);
    /* One entry of a previous run, to go through the door again. `jseq` is
     * the segment it derives from now; `rejournal`: it comes from a damaged
     * segment and must be appended again before that one is set aside. */
    void (*replay)(void *arg, const struct sp_jentry *e, uint64_t jseq, int rejournal);
    /* Replay is paused (input is paused, or shutdown began) when this says so. */
    int (*hold_replay)(void *arg);
};

/* Opens (creating) storage.path, locks it against a second agent, finds the
 * segments a previous run left, truncates torn tails, and opens a new active
 * segment. Replay starts with sp_journal_replay_start(). 0 or -errno (a
 * message is logged). */
int sp_journal_open(struct spindle *sp, const struct sp_journal_hooks *hooks,
                    struct sp_journal **out);
/* Replays the previous run's segments through the replay hook, a bounded
 * number of entries per loop turn, pausing while hold_replay() says so. */
void sp_journal_replay_start(struct sp_journal *j);
/* Input resumed (backpressure): replay goes on. */
void sp_journal_resume(struct sp_journal *j);
int sp_journal_replaying(const struct sp_journal *j);

/* Frames one accepted payload (its codec, bytes and receive time). Written at
 * the end of the loop turn, with one write() for everything appended in it.
 * 0, 1 when the backlog of unwritten bytes passed SP_JOURNAL_MAX_BACKLOG
 * (input should pause until the disk catches up), or -ENOBUFS. */
int sp_journal_append(struct sp_journal *j, unsigned codec, const char *p, size_t n,
                      uint64_t recv_ns);
/* The active segment: what the record being appended now derives from. */
uint64_t sp_journal_seq(const struct sp_journal *j);
/* Logical positions (bytes appended since start): an ack for the records up
 * to `pos` may go out once sp_journal_durable() >= pos. */
uint64_t sp_journal_pos(const struct sp_journal *j);
uint64_t sp_journal_durable(const struct sp_journal *j);
/* An ack waits for `pos`: make it durable as storage.fsync says. */
void sp_journal_want(struct sp_journal *j, uint64_t pos);
/* Appended bytes not yet written (backpressure). */
size_t sp_journal_backlog(const struct sp_journal *j);

/* An export request built from segments >= seq exists / is gone. */
void sp_journal_hold(struct sp_journal *j, uint64_t seq);
void sp_journal_release(struct sp_journal *j, uint64_t seq);
/* `seq`, or the oldest segment left when `seq` was evicted. */
uint64_t sp_journal_clamp(const struct sp_journal *j, uint64_t seq);
/* 1 when segment `seq` went because the journal was full. */
int sp_journal_evicted(const struct sp_journal *j, uint64_t seq);
/* Deletes the segments nothing in memory derives from any more. */
void sp_journal_collect(struct sp_journal *j);

/* Shutdown: writes and syncs what is appended, deletes every segment when
 * nothing is left undelivered (`all_delivered`), else keeps the segments the
 * undelivered data derives from for the next start; frees the journal. */
void sp_journal_close(struct sp_journal *j, int all_delivered);

/* jseq bookkeeping shared by the parts that hold data: keep the oldest. */
static inline void sp_jseq_min(uint64_t *held, uint64_t seq)
{
    if (seq && (*held == 0 || seq < *held)) {
        *held = seq;
    }
}

#endif
