/*
 * stats.h - the agent's counters. One struct, written only from the loop
 * thread; the stats control record and `spindle --stats` print it as JSON
 * with the names below (docs/protocol.md documents them).
 */
#ifndef SP_STATS_H
#define SP_STATS_H

#include <stdint.h>

#include "buf.h"
#include "record.h"
#include "model.h"

/* group, field, JSON name */
#define SP_STATS_FIELDS(X)                                                                      \
    X(accepted_with, bad_traceparent, "bad_traceparent")                                        \
    X(accepted_with, attributes_dropped, "attributes_dropped")                                  \
    X(accepted_with, trace_conflict, "trace_conflict")                                          \
    X(accepted_with, late_record, "late_record")                                                \
    X(accepted_with, metric_scope_limit, "metric_scope_limit")                                  \
    X(connections, conn_accepted, "accepted")                                                   \
    X(connections, conn_open, "open")                                                           \
    X(connections, conn_closed_idle, "closed_idle")                                             \
    X(connections, conn_refused_limit, "refused_limit")                                         \
    X(connections, input_pauses, "input_pauses")                                                \
    X(workflows, wf_opened, "opened")                                                           \
    X(workflows, wf_open, "open")                                                               \
    X(workflows, wf_closed, "closed")                                                           \
    X(workflows, wf_evicted, "evicted")                                                         \
    X(export, exp_spans, "spans")                                                               \
    X(export, exp_logs, "logs")                                                                 \
    X(export, exp_points, "metric_points")                                                      \
    X(export, req_ok, "requests_ok")                                                            \
    X(export, req_failed, "requests_failed")                                                    \
    X(export, retries, "retries")                                                               \
    X(export, splits, "splits")                                                                 \
    X(export, delivered, "delivered")                                                           \
    X(export, req_timed_out, "requests_timed_out")                                              \
    X(export, retry_after_capped, "retry_after_capped")                                         \
    X(dropped, drop_queue_full, "queue_full")                                                   \
    X(dropped, drop_non_retryable, "non_retryable")                                             \
    X(dropped, drop_retries_exhausted, "retries_exhausted")                                     \
    X(dropped, drop_shutdown_deadline, "shutdown_deadline")                                     \
    X(dropped, drop_partial_success, "partial_success")                                         \
    X(dropped, drop_memory_limit, "memory_limit")                                               \
    X(dropped, drop_series_limit, "metric_series_limit")                                        \
    X(dropped, drop_journal_full, "journal_full")                                               \
    X(dropped, drop_journal_corrupt, "journal_corrupt")                                         \
    X(dropped, drop_lambda_logs, "lambda_logs_dropped")                                         \
    X(memory, mem_used, "used_bytes")                                                           \
    X(journal, journaled, "journaled")                                                          \
    X(journal, replayed, "replayed")                                                            \
    X(journal, journal_bytes, "bytes")                                                          \
    X(journal, journal_max_bytes, "max_bytes")                                                  \
    X(journal, journal_segments, "segments")                                                    \
    X(journal, journal_truncated, "torn_tails")                                                 \
    X(journal, journal_quarantined, "segments_set_aside")                                       \
    X(alerts, alerts_firing, "firing")                                                          \
    X(alerts, alerts_fired, "fired")                                                            \
    X(alerts, alerts_resolved, "resolved")                                                      \
    X(alerts, alert_series, "series")                                                           \
    X(alerts, alert_series_evicted, "series_evicted")                                           \
    X(alerts, notify_sent, "notifications_sent")                                                \
    X(alerts, notify_retries, "notification_retries")                                           \
    X(alerts, notify_drop_queue_full, "dropped_queue_full")                                     \
    X(alerts, notify_drop_rejected, "dropped_rejected")                                         \
    X(alerts, notify_drop_retries_exhausted, "dropped_retries_exhausted")                       \
    X(alerts, notify_drop_shutdown, "dropped_shutdown")                                         \
    X(alerts, notify_retry_after_capped, "retry_after_capped")                                \
    X(inputs, dgram_received, "dgram_received")                                                 \
    X(inputs, dgram_dropped, "dgram_dropped")                                                   \
    X(inputs, dgram_kernel_dropped, "dgram_kernel_dropped")                                     \
    X(inputs, dgram_truncated, "dgram_truncated")                                               \
    X(inputs, peer_not_allowed, "peer_not_allowed")                                             \
    X(statsd, statsd_metrics, "metrics")                                                        \
    X(statsd, statsd_events, "events")                                                          \
    X(statsd, statsd_service_checks, "service_checks")                                          \
    X(statsd, statsd_bad_line, "bad_line")                                                      \
    X(statsd, statsd_unknown_type, "unknown_type")                                              \
    X(statsd, statsd_bad_value, "bad_value")                                                    \
    X(statsd, statsd_bad_utf8, "bad_utf8")                                                      \
    X(statsd, statsd_tags_dropped, "tags_dropped")                                              \
    X(statsd, statsd_series_limit, "series_limit")                                              \
    X(statsd, statsd_set_capped, "set_members_capped")                                         \
    X(otlp_receiver, otlp_requests, "requests_ok")                                              \
    X(otlp_receiver, otlp_spans, "spans")                                                       \
    X(otlp_receiver, otlp_logs, "log_records")                                                  \
    X(otlp_receiver, otlp_points, "data_points")                                                \
    X(otlp_receiver, otlp_items_rejected, "items_rejected")                                     \
    X(otlp_receiver, otlp_joined, "joined")                                                     \
    X(otlp_receiver, otlp_followed, "followed")                                                 \
    X(otlp_receiver, otlp_traces_forgotten, "traces_forgotten")                                 \
    X(otlp_receiver, otlp_rej_undecodable, "rejected_undecodable")                              \
    X(otlp_receiver, otlp_rej_content_type, "rejected_content_type")                            \
    X(otlp_receiver, otlp_rej_encoding, "rejected_content_encoding")                            \
    X(otlp_receiver, otlp_rej_gzip, "rejected_bad_gzip")                                        \
    X(otlp_receiver, otlp_rej_decompressed, "rejected_decompressed_too_large")                  \
    X(otlp_receiver, otlp_rej_paused, "rejected_paused")                                        \
    X(otlp_receiver, otlp_rej_body_too_large, "rejected_body_too_large")                        \
    X(otlp_receiver, otlp_rej_malformed, "rejected_malformed")                                  \
    X(otlp_receiver, otlp_rej_header_timeout, "rejected_header_timeout")                        \
    X(otlp_receiver, otlp_rej_idle_timeout, "rejected_idle_timeout")                            \
    X(otlp_receiver, otlp_rej_not_found, "rejected_not_found")                                  \
    X(otlp_receiver, otlp_rej_method, "rejected_method")                                        \
    X(otlp_receiver, otlp_rej_connections, "rejected_connections")                              \
    X(otlp_receiver, otlp_conn_accepted, "connections_accepted")                                \
    X(otlp_receiver, otlp_conn_open, "connections_open")                                        \
    X(lambda, lambda_batches, "telemetry_batches")                                              \
    X(lambda, lambda_events, "telemetry_events")                                                \
    X(lambda, lambda_unknown, "unknown_events")                                                 \
    X(lambda, lambda_invokes, "invokes")                                                        \
    X(lambda, lambda_flush_over_budget, "flushes_over_budget")                                  \
    X(lambda, lambda_logs_unattributed, "logs_unattributed")                                    \
    X(lambda, lambda_requests_evicted, "requests_evicted")

/* A listener's bound address, for --stats ("listeners":{"otlp":"127.0.0.1:43117"}). */
struct sp_stats_listener {
    char name[16];
    char addr[128];
};
#define SP_STATS_MAX_LISTENERS 8

struct sp_stats {
    /* export.delivered by signal (enum sp_signal), for /metrics' signal label. */
    uint64_t delivered_by_signal[3];
    struct sp_stats_listener listeners[SP_STATS_MAX_LISTENERS];
    int n_listeners;
    uint64_t accepted;
    uint64_t rejected_total;
    uint64_t rejected[SP_R_COUNT];
#define X(g, f, n) uint64_t f;
    SP_STATS_FIELDS(X)
#undef X
    const char *admin_address; /* the admin listener as bound ("127.0.0.1:9464"), NULL: off */
};

/* Records (or replaces) the bound address of listener `name`. */
void sp_stats_listener(struct sp_stats *s, const char *name, const char *addr);

/* Appends {"stats":"<id>","version":...,...}. */
int sp_stats_json(const struct sp_stats *s, struct sp_str id, uint64_t uptime_s,
                  struct sp_buf *out);

#endif
