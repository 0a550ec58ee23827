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

struct spindle;
struct sp_journal;

/* Opens (creating) storage.path, locks it against a second agent, finds the
 * segments a previous run left, truncates torn tails, and opens a new active
 * segment. Replay starts with sp_journal_replay_start(). 0 or -errno (a
 * message is logged). */
int sp_journal_open(struct spindle *sp, struct sp_journal **out);
/* Replays the previous run's segments through the correlator, a bounded
 * number of entries per loop turn, pausing while input is paused. */
void sp_journal_replay_start(struct sp_journal *j);
/* Input resumed (backpressure): replay goes on. */
void sp_journal_resume(struct sp_journal *j);
int sp_journal_replaying(const struct sp_journal *j);

/* Frames one accepted record (its line and receive time). Written at the end
 * of the loop turn, with one write() for everything appended in it. */
int sp_journal_append(struct sp_journal *j, const char *p, size_t n, uint64_t recv_ns);
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
