/*
 * ids.h - trace and span ids: the version-stable derivation from correlation
 * ids (docs/protocol.md pins test vectors), W3C traceparent and X-Ray header
 * parsing, hex, and random span ids.
 */
#ifndef SP_IDS_H
#define SP_IDS_H

#include <stddef.h>
#include <stdint.h>

/* trace_id = SHA-256("spindle/v1/trace\0" || cid)[0..16) */
void sp_id_trace(const char *cid, size_t n, uint8_t out[16]);
/* workflow span id = SHA-256("spindle/v1/workflow\0" || cid)[0..8) */
void sp_id_workflow_span(const char *cid, size_t n, uint8_t out[8]);
/* invocation span id = SHA-256("spindle/v1/invocation\0" || cid || "\0" || inv)[0..8) */
void sp_id_invocation_span(const char *cid, size_t n, const char *inv, size_t m, uint8_t out[8]);
/* All-zero results (invalid in OTLP) get their last byte set to 1. */

/* W3C trace context: 0 and the ids, or -EINVAL. */
int sp_traceparent_parse(const char *p, size_t n, uint8_t trace_id[16], uint8_t parent_id[8]);
/* X-Ray "Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1": 0 or -EINVAL.
 * *has_parent is 0 when the header carries no Parent. */
int sp_xray_parse(const char *p, size_t n, uint8_t trace_id[16], uint8_t parent_id[8],
                  int *has_parent);
/* Exactly 2*len lowercase or uppercase hex digits, not all zero: 0 or -EINVAL. */
int sp_hex_decode(const char *p, size_t n, uint8_t *out, size_t len);
int sp_id_is_zero(const uint8_t *p, size_t n);

/* Random, non-zero span id from a per-agent xorshift state seeded from getrandom. */
struct sp_rng {
    uint64_t s[2];
};
void sp_rng_seed(struct sp_rng *r);
uint64_t sp_rng_next(struct sp_rng *r);
void sp_rng_span_id(struct sp_rng *r, uint8_t out[8]);

#endif
