'use strict';
// Queries over what the sink received, and small assertion helpers.

const assert = require('node:assert/strict');
const ids = require('./ids');

/** Spans (from sink.spans()) whose trace id is `traceId`. */
const spansOfTrace = (sink, traceId) => sink.spans().filter((s) => s.span.traceId === traceId);

/** Log records (from sink.logs()) whose trace id is `traceId`. */
const logsOfTrace = (sink, traceId) => sink.logs().filter((l) => l.log.traceId === traceId);

/**
 * Workflow (root) spans for a correlation id: spans carrying spindle.correlation_id = cid and
 * the spindle.workflow.invocations count (so invocation spans never match).
 */
const workflowSpans = (sink, cid) => sink.spans().filter((s) => s.span.attributes['spindle.correlation_id'] === cid
  && s.span.attributes['spindle.workflow.invocations'] !== undefined);

/** The one span with this span id, or undefined. */
const spanById = (sink, spanId) => sink.spans().find((s) => s.span.spanId === spanId);

/** Spans (any trace) named `name`. */
const spansNamed = (sink, name) => sink.spans().filter((s) => s.span.name === name);

/** Log records whose body is `body`. */
const logsWithBody = (sink, body) => sink.logs().filter((l) => l.log.body === body);

/** Metric points named `name`, optionally with every attribute in `attrs`, in arrival order. */
function metricPoints(sink, name, attrs) {
  return sink.metrics().filter((m) => m.metric.name === name && (!attrs
    || Object.entries(attrs).every(([k, v]) => m.point.attributes[k] === v)));
}

/** The latest point named `name` (optionally matching attrs), or undefined. */
function latestPoint(sink, name, attrs) {
  const pts = metricPoints(sink, name, attrs);
  return pts[pts.length - 1];
}

/** Attributes without the ones the agent adds itself (spindle.*, faas.*, the sender's process.pid). */
function userAttributes(attributes) {
  return Object.fromEntries(Object.entries(attributes).filter(([k]) => !k.startsWith('spindle.') && !k.startsWith('faas.')
    && k !== 'process.pid'));
}

/** Dotted path lookup: get(obj, 'a.b.c'). */
function get(obj, p) {
  return p.split('.').reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
}

/** Difference of a numeric counter between two stats objects. */
function delta(before, after, p) {
  const a = get(after, p);
  const b = get(before, p);
  assert.equal(typeof a, 'number', `stats field ${p} is a number (got ${JSON.stringify(a)})`);
  return a - (b || 0);
}

/** Nanoseconds since the epoch (decimal string) to seconds (float). */
const nanosToSec = (ns) => Number(BigInt(ns)) / 1e9;

/** Asserts |a - b| <= tol, with a message. */
function assertNear(a, b, tol, msg) {
  assert.ok(Math.abs(a - b) <= tol, `${msg || 'value'}: ${a} is not within ${tol} of ${b}`);
}

const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/** Asserts no span id occurs twice among `spans` (from sink.spans()). */
function assertUniqueSpanIds(spans) {
  const seen = new Map();
  for (const s of spans) {
    const k = `${s.span.traceId}/${s.span.spanId}`;
    assert.ok(!seen.has(k), `span id ${s.span.spanId} (${s.span.name}) emitted twice (first as ${seen.get(k)})`);
    seen.set(k, s.span.name);
  }
}

module.exports = {
  ids, spansOfTrace, logsOfTrace, workflowSpans, spanById, spansNamed, logsWithBody,
  metricPoints, latestPoint, userAttributes, get, delta, nanosToSec, assertNear, HEX16, HEX32, assertUniqueSpanIds,
};
