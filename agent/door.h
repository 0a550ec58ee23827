/*
 * door.h - the one door into the core. Every input hands what it received
 * here, and the journal's replay comes back through the same door, so the
 * sequence "parse and validate, count by reason, journal the accepted
 * payload, route it" is written once (door.c). docs/internals/architecture.md
 * draws it.
 */
#ifndef SP_DOOR_H
#define SP_DOOR_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "jformat.h"
#include "model.h"

struct spindle;

/* How a journaled payload is read again: the tag of its journal entry. 0 is
 * what every entry written before tags existed holds. */
enum sp_codec {
    SP_CODEC_NDJSON = 0, /* one protocol v1 record line (docs/protocol.md) */
    SP_CODEC_LAMBDA_TELEMETRY = 1, /* one AWS Lambda Telemetry API batch (docs/lambda.md) */
};

/* Who sent what the door takes: for log lines (and, later, for resource
 * attributes taken from the kernel). */
struct sp_peer {
    long pid; /* -1 unknown */
};

/* What the door made of one NDJSON record line. */
struct sp_door_out {
    int reason;         /* 0: accepted (or a control record); else the enum sp_reason it
                         * was rejected for, already counted and logged */
    const char *field;  /* the field a rejection names, or NULL */
    int control;        /* SP_REC_FLUSH or SP_REC_STATS for the input to answer, else 0 */
    int id_too_long;    /* ... whose id is over SP_MAX_ACK_ID_BYTES (never counted) */
    struct sp_str id;   /* ... its id, valid until the scratch arena is reset */
};

/* One record line, without its newline. `scratch` is the input's per-record
 * arena (reset here). Accepted records are counted, journaled (codec
 * SP_CODEC_NDJSON, with the receive time that stands in for a missing ts)
 * and routed to the correlator or the metric aggregator before this returns. */
void sp_door_ndjson(struct spindle *sp, const struct sp_peer *peer, struct sp_arena *scratch,
                    const char *p, size_t n, struct sp_door_out *out);
struct sp_tapi_result;
/* One Telemetry API batch (the body Lambda POSTs to the extension's
 * listener): journaled as received (codec SP_CODEC_LAMBDA_TELEMETRY), then
 * its events become records (telemetry_api.h) that are counted and routed like
 * socket records. `res` tells the input what the batch held (runtimeDone of
 * which request). 0, or -EINVAL when it is not a JSON array (counted
 * malformed_json). `scratch` is the input's arena (reset here). */
int sp_door_lambda(struct spindle *sp, struct sp_arena *scratch, const char *p, size_t n,
                   struct sp_tapi_result *res);
/* A rejection the input found itself (framing: too_large, incomplete):
 * counted and logged like the door's own. */
void sp_door_reject(struct spindle *sp, const struct sp_peer *peer, int reason,
                    const char *field);
/* The input handed over a read's worth: flow control decides now whether it
 * pauses (memory, queues and the journal grew meanwhile). */
void sp_door_done(struct spindle *sp);
/* The journal position an acknowledgement of everything taken so far must
 * wait for (the input's durable slot is called when it is reached), having
 * asked the journal to make it durable as storage.fsync says; 0: nothing to
 * wait for (no journal, or already durable). */
uint64_t sp_door_ack_pos(struct spindle *sp);
/* The journal's replay: one entry of a previous run, through the same parse,
 * count and route (counted replayed, filed at its first receive time). */
void sp_door_replay(struct spindle *sp, const struct sp_jentry *e, uint64_t jseq, int rejournal);

#endif
