/*
 * record.h - the protocol's record model and its parser: one NDJSON line in,
 * one struct sp_record out, or the rejection reason of the acceptance table
 * (docs/protocol.md). The parser allocates from the caller's arena and leaves
 * strings pointing into the line, so line and arena must outlive the record.
 */
#ifndef SP_RECORD_H
#define SP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "caps.h"
#include "model.h"

/* The closed list of rejection reasons (a new one is a protocol change). */
#define SP_REASONS(X)                                                                           \
    X(MALFORMED_JSON, malformed_json)                                                           \
    X(TOO_LARGE, too_large)                                                                     \
    X(MISSING_FIELD, missing_field)                                                             \
    X(BAD_TYPE, bad_type)                                                                       \
    X(BAD_VALUE, bad_value)                                                                     \
    X(UNKNOWN_TYPE, unknown_type)                                                               \
    X(UNSUPPORTED_VERSION, unsupported_version)                                                 \
    X(BAD_UTF8, bad_utf8)                                                                       \
    X(INCOMPLETE, incomplete)

enum sp_reason {
    SP_R_OK = 0,
#define X(E, s) SP_R_##E,
    SP_REASONS(X)
#undef X
    SP_R_COUNT
};

const char *sp_reason_name(int reason);

/* SP_REC_EMF: a line without `type` holding a CloudWatch EMF blob; `json` is
 * its parsed object, for the door to expand into metric records (emf.h). */
enum sp_rec_type {
    SP_REC_SPAN,
    SP_REC_LOG,
    SP_REC_METRIC,
    SP_REC_EVENT,
    SP_REC_FLUSH,
    SP_REC_STATS,
    SP_REC_EMF
};

enum sp_event_kind {
    SP_EV_OTHER = 0,
    SP_EV_INVOCATION_START,
    SP_EV_INVOCATION_END,
    SP_EV_COLD_START,
    SP_EV_THROTTLE,
    SP_EV_RETRY,
    SP_EV_DEAD_LETTER,
    SP_EV_WORKFLOW_START,
    SP_EV_WORKFLOW_END
};

enum sp_inv_status { SP_INV_UNSET = 0, SP_INV_OK, SP_INV_ERROR, SP_INV_TIMEOUT };

struct sp_record_limits {
    uint32_t max_attributes;
    uint32_t max_attr_value_bytes;
    /* Lines without a type: the top-level keys naming the workflow, tried in
     * order (records.log_correlation_keys); none set: `correlation_id`. Set
     * by sp_record_limits_keys() at start and on reload, so that a record
     * costs a lookup per key, never a strlen or a walk of the configuration. */
    uint32_t n_cid_keys;
    struct sp_str cid_keys[SP_MAX_LOG_CORRELATION_KEYS];
};

/* Points `l`'s correlation keys at `keys` (NUL-terminated strings the caller
 * keeps alive as long as `l` is used); at most SP_MAX_LOG_CORRELATION_KEYS. */
void sp_record_limits_keys(struct sp_record_limits *l, char *const *keys, size_t n);

/* Where an accepted record came from, handed with it from the door to the
 * correlator and the metric aggregator (instead of state set on struct
 * spindle by one part and read by another). */
struct sp_origin {
    uint64_t jseq;     /* the journal segment holding it, 0 none */
    uint64_t recv_ns;  /* wall time the agent first received it */
    uint8_t replayed;  /* replayed from the journal at start-up */
    uint8_t has_peer;  /* the kernel named the sender: pid and uid below */
    int32_t pid;       /* process.pid of the spans and log records it produces */
    int32_t uid;       /* spindle.peer.uid, likewise */
};

struct sp_record {
    uint8_t type;             /* enum sp_rec_type */
    struct sp_str correlation_id; /* len 0: none */
    struct sp_str function;
    struct sp_str invocation_id;
    struct sp_str workflow;
    uint64_t ts_ns;           /* `ts`, else time received */

    uint8_t has_traceparent;  /* traceparent or xray_trace_id, valid */
    uint8_t tp_has_parent;
    uint8_t tp_trace_id[16];
    uint8_t tp_parent_id[8];
    uint8_t bad_traceparent;  /* present but invalid: ignored, counted */

    struct sp_attrs attrs;    /* flattened, limited; attrs.dropped counts the excess */

    /* span, metric, event */
    struct sp_str name;
    /* span */
    uint64_t start_ns, end_ns;
    uint8_t status;           /* enum sp_status_code */
    uint8_t kind;             /* enum sp_span_kind */
    struct sp_str status_message;
    uint8_t has_span_id, has_parent_span_id;
    uint8_t span_id[8], parent_span_id[8];
    struct sp_span_event *events;
    uint32_t n_events;
    uint32_t dropped_events;
    /* log */
    struct sp_value body;
    uint8_t severity_number;
    struct sp_str severity_text;
    /* metric */
    uint8_t metric_kind;      /* enum sp_metric_kind */
    double value;
    struct sp_str unit;
    struct sp_str scope;      /* instrumentation scope's name (EMF: the Namespace); empty: spindle's */
    /* event */
    uint8_t event;            /* enum sp_event_kind */
    int8_t cold_start;        /* -1 absent, else 0/1 */
    struct sp_str trigger;
    int64_t attempt;          /* 0: absent */
    uint8_t inv_status;       /* enum sp_inv_status, invocation_end / workflow_end */
    struct sp_str error;
    struct sp_str reason;
    struct sp_str queue;
    struct sp_str message_id;
    double init_duration_ms;  /* < 0: absent */
    /* flush, stats */
    struct sp_str id;
    uint8_t id_too_long;      /* id over SP_MAX_ACK_ID_BYTES: not echoed; the reply is an error */
    /* emf */
    const struct sp_json *json; /* the line's object, in the parser's arena */
};

/* Parses one line (without its newline). `now_ns` is the receive time. Returns
 * SP_R_OK or a rejection reason; on rejection `*field` (may be NULL) names the
 * offending field for the log line. */
int sp_record_parse(const char *line, size_t n, struct sp_arena *a,
                    const struct sp_record_limits *lim, uint64_t now_ns, struct sp_record *out,
                    const char **field);

struct sp_json;
/* An object with `level` and `message`: a structured log line of AWS Lambda
 * Powertools (Python, TypeScript) or Lambda's JSON log format. */
int sp_record_is_json_log(const struct sp_json *o);
/* The workflow such a line names: the value of the first of `lim`'s
 * correlation keys that is a non-empty string, else empty. `*key` (may be
 * NULL) gets that key's name (NUL-terminated). */
struct sp_str sp_record_log_cid(const struct sp_json *o, const struct sp_record_limits *lim,
                                const char **key);
/* Such a line as a log record (docs/protocol.md, "Lines without a type"):
 * the stream socket's typeless lines and the Telemetry API's function log
 * lines. Its workflow: sp_record_log_cid(), else the root of `xray_trace_id`,
 * else the request id, else `dflt_cid` (may be empty: then missing_field).
 * SP_R_OK or a rejection reason, `*field` naming the field. */
int sp_record_json_log(const struct sp_json *o, struct sp_arena *a,
                       const struct sp_record_limits *lim, uint64_t now_ns,
                       struct sp_str dflt_cid, struct sp_record *r, const char **field);
/* OTel severity number of a level name (TRACE .. CRITICAL, any case), 0
 * unknown. */
uint8_t sp_record_level_severity(struct sp_str level);

/* Time parsing shared with tests: seconds since the epoch as a JSON number
 * (< 1e11) or RFC 3339 with a zone. 0 or -EINVAL. */
int sp_time_parse_rfc3339(const char *p, size_t n, uint64_t *ns);

#endif
