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
#include "record.h"

struct spindle;

/* How a journaled payload is read again: the tag of its journal entry. 0 is
 * what every entry written before tags existed holds. */
enum sp_codec {
    SP_CODEC_NDJSON = 0,      /* one protocol v1 record line (docs/protocol.md) */
    SP_CODEC_NDJSON_PEER = 1, /* the same, after a struct sp_jpeer: who sent it */
    SP_CODEC_DOGSTATSD = 2,   /* one DogStatsD datagram, after a struct sp_jpeer */
    /* An OTLP/HTTP request body, decompressed (collectors/otlp): one codec per
     * signal and encoding, protobuf then JSON, so the body is journaled as it
     * arrived. Numbered from 16 to leave room for other inputs' codecs. */
    SP_CODEC_OTLP_FIRST = 16,
    SP_CODEC_OTLP_TRACES_PB = 16,
    SP_CODEC_OTLP_LOGS_PB = 17,
    SP_CODEC_OTLP_METRICS_PB = 18,
    SP_CODEC_OTLP_TRACES_JSON = 19,
    SP_CODEC_OTLP_LOGS_JSON = 20,
    SP_CODEC_OTLP_METRICS_JSON = 21,
    SP_CODEC_OTLP_LAST = 21,
    SP_CODEC_LAMBDA_TELEMETRY = 3, /* one AWS Lambda Telemetry API batch (docs/lambda.md) */
};

/* Who sent what the door takes, as the kernel says (SO_PEERCRED,
 * SCM_CREDENTIALS): for log lines, for process.pid and spindle.peer.uid on
 * the spans and log records the sender's records produce (never on metric
 * points), and for the allowed_uids checks. */
struct sp_peer {
    long pid; /* -1 unknown */
    long uid; /* -1 unknown */
    long gid; /* -1 unknown */
};

/* The peer as journaled in front of a SP_CODEC_NDJSON_PEER or
 * SP_CODEC_DOGSTATSD payload (little-endian, -1 unknown), so that replay
 * gives the records the same origin. */
#define SP_JPEER_BYTES 12u

/* The origin a peer gives its records. */
void sp_peer_origin(const struct sp_peer *peer, struct sp_origin *o);

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
/* One DogStatsD datagram (collectors/dogstatsd/): metrics, events and
 * service checks, newline separated. Bad lines are counted by reason
 * (stats group `statsd`) and logged, rate-limited; the good ones are routed
 * to the metric aggregator (metrics) or the pipeline (events and service
 * checks, as log records). Journaled whole (SP_CODEC_DOGSTATSD) when at least
 * one line was good. */
void sp_door_dogstatsd(struct spindle *sp, const struct sp_peer *peer, struct sp_arena *scratch,
                       const char *p, size_t n);
/* Whether `peer` is one of `uids` (an allowed_uids list; empty: everyone).
 * A refusal is counted peer_not_allowed and logged, rate-limited. */
int sp_door_peer_allowed(struct spindle *sp, char *const *uids, size_t n_uids,
                         const struct sp_peer *peer, const char *input);
/* What the door made of one OTLP request body (the HTTP answer). */
struct sp_door_otlp_out {
    int undecodable;     /* 1: not an Export*ServiceRequest (400); nothing taken */
    const char *err;     /* ... why (static) */
    uint32_t items;      /* spans / log records / data points taken */
    uint32_t rejected;   /* left out (partial_success) ... */
    const char *why;     /* ... the first reason (static), or NULL */
    int not_journaled;   /* 1: the journal could not take the body (its backlog full):
                          * nothing taken, the client must send it again (503) */
};

/* One OTLP/HTTP request body of `signal` (enum sp_signal), decompressed;
 * `json`: the OTLP JSON mapping, else protobuf. Decoded, counted, journaled
 * (codec SP_CODEC_OTLP_*) and routed before this returns: joined to the
 * workflows its correlation attributes name (otlp.correlation_keys), then to
 * the pipeline with the resource and scope it was sent with. */
void sp_door_otlp(struct spindle *sp, int signal, int json, const uint8_t *body, size_t n,
                  struct sp_door_otlp_out *out);
/* Frees the door's OTLP state (agent shutdown). */
void sp_door_otlp_free(struct spindle *sp);

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
