/*
 * telemetry_api.h - the AWS Lambda Telemetry API codec: one batch (the JSON
 * array Lambda POSTs to the extension's listener) in, protocol records out,
 * handed to `emit` in event order. The door calls it for live batches and for
 * replayed ones (codec SP_CODEC_LAMBDA_TELEMETRY), so both make the same records.
 *
 * It keeps what spans events: the pending init (its type, start and
 * duration: the first invocation after it carries the `init` span and, for
 * on-demand inits only, the cold start), a pending SnapStart restore, and
 * which correlation id each recent request id was given (platform.start
 * picks it; later events of the request name only the request id).
 * docs/lambda.md says how each event maps.
 */
#ifndef SP_TELEMETRY_API_H
#define SP_TELEMETRY_API_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "record.h"

struct sp_tapi;

#define SP_TAPI_MAX_REQUEST_ID 64

/* What one batch held, for the extension's lifecycle and the counters. */
struct sp_tapi_result {
    uint32_t events;            /* every event in the batch */
    uint32_t unknown;           /* of a type this build does not know */
    uint64_t logs_dropped;      /* platform.logsDropped: droppedRecords */
    uint32_t runtime_done;      /* platform.runtimeDone events */
    char done_request[SP_TAPI_MAX_REQUEST_ID + 1]; /* the last one's request id */
    uint32_t logs_unattributed; /* LMI: function log lines naming no request (no invocation's) */
    uint32_t requests_evicted;  /* open requests let go: more than SP_LAMBDA_REQUEST_MAP open */
};

typedef void (*sp_tapi_emit_fn)(void *arg, const struct sp_record *r);

/* `function`: AWS_LAMBDA_FUNCTION_NAME (copied; may be ""). 0 or -ENOMEM. */
int sp_tapi_new(struct sp_tapi **out, const char *function);
/* What the configuration says (copied; the strings `keys` points to must
 * outlive the next batch): the correlation keys of function log lines
 * (records.log_correlation_keys, in an sp_record_limits) and lambda.trigger
 * (NULL or "": unknown). The door calls it before each batch, so a reload
 * applies from the next one. */
void sp_tapi_configure(struct sp_tapi *t, const struct sp_record_limits *keys,
                       const char *trigger);
/* 0, or -EINVAL when the batch is not a JSON array (nothing emitted then).
 * Records and their strings live in `scratch` until the caller resets it. */
int sp_tapi_batch(struct sp_tapi *t, const char *p, size_t n, struct sp_arena *scratch,
                  uint64_t now_ns, sp_tapi_emit_fn emit, void *arg, struct sp_tapi_result *res);
void sp_tapi_free(struct sp_tapi *t);

#endif
