/*
 * otlp_json.h - the OTLP/JSON encoding (protobuf JSON mapping as the OTLP
 * specification constrains it), written by hand: protobuf-c has none.
 */
#ifndef SP_OTLP_JSON_H
#define SP_OTLP_JSON_H

#include "buf.h"
#include "model.h"

/* Appends the Export*ServiceRequest of the batch as one line of JSON, without
 * the trailing newline. Grouping is the same as otlp_encode_pb(). Rules:
 * lowerCamelCase field names; traceId/spanId/parentSpanId as lowercase hex;
 * 64-bit integers (times, intValue, counts) as decimal strings; enums as
 * integers; doubles that are not finite are written as the strings "NaN",
 * "Infinity", "-Infinity". Returns 0, -ENOMEM or -ENOBUFS. */
int otlp_encode_json(const struct sp_batch *b, const struct sp_resource_info *res,
                     struct sp_buf *out);

#endif
