/*
 * otlp_encode.h - OTLP protobuf encoding of batches (written directly, in
 * field-number order, the bytes protobuf-c would produce) and decoding of
 * export responses (protobuf-c, messages compiled from proto/ at build time).
 */
#ifndef SP_OTLP_ENCODE_H
#define SP_OTLP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "model.h"

/* Appends the Export{Trace,Logs,Metrics}ServiceRequest for the batch's signal
 * to `out`. Items are grouped by function into ResourceSpans/ResourceLogs/
 * ResourceMetrics (first-seen order), each with one ScopeX of scope
 * res->scope_name/scope_version. Metrics with the same name, unit and kind
 * within one resource share one Metric with several data points.
 * Returns 0, -ENOMEM, or -ENOBUFS when `out` would pass its cap. */
int otlp_encode_pb(const struct sp_batch *b, const struct sp_resource_info *res,
                   struct sp_buf *out);

/* Parses an Export*ServiceResponse (protobuf) for the given signal. Sets
 * *rejected to rejected_spans / rejected_log_records / rejected_data_points
 * (0 when there is no partial_success) and copies error_message, truncated
 * and NUL-terminated, into msg. An empty body is a valid response.
 * Returns 0 or -EBADMSG. */
int otlp_decode_response(int signal, const void *p, size_t n, int64_t *rejected, char *msg,
                         size_t msg_cap);

/* Halves an encoded Export*ServiceRequest (for a 413 answer): appends the two
 * halves to `a` and `b`. Returns 0, -EINVAL when it holds a single span / log
 * record / data point (nothing to halve), -EBADMSG when `p` does not parse,
 * or -ENOBUFS / -ENOMEM. *items_a and *items_b count each half's spans /
 * log records / data points. */
int otlp_split_pb(int signal, const void *p, size_t n, struct sp_buf *a, struct sp_buf *b,
                  uint32_t *items_a, uint32_t *items_b);

#endif
