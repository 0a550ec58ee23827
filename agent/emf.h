/*
 * emf.h - CloudWatch Embedded Metric Format (`_aws.CloudWatchMetrics`: what
 * AWS Lambda Powertools' Metrics prints) to metric records: shared by the
 * stream socket (a line without `type`) and the Telemetry API's function log
 * lines. docs/protocol.md has the mapping.
 */
#ifndef SP_EMF_H
#define SP_EMF_H

#include <stdint.h>

#include "arena.h"
#include "json.h"
#include "record.h"

/* An object with `_aws.CloudWatchMetrics`. */
int sp_emf_is(const struct sp_json *o);

typedef void (*sp_emf_emit_fn)(void *arg, const struct sp_record *r);
/* Every value of every metric of the EMF blob `o` as a metric record, on top
 * of `base` (its function, correlation id; its ts when _aws.Timestamp is
 * missing): dimensions as attributes, the namespace as the record's scope, a Count a counter,
 * any other unit a histogram. `emit` may be NULL (count only). Returns the
 * number of points, or -1 when `o` is not EMF or out of memory. */
int sp_emf_each(const struct sp_json *o, struct sp_arena *a, const struct sp_record_limits *lim,
                const struct sp_record *base, sp_emf_emit_fn emit, void *arg);

#endif
