'use strict';
// 3. Metrics: counters → cumulative monotonic sums, gauges → last value, histograms with
//    explicit buckets, exemplars linking to the workflow's trace; correlation ids never in keys.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { AggregationTemporality, pointValue } = require('./lib/otlp');
const { uid, sleep } = require('./lib/util');
const { metricPoints, latestPoint, nanosToSec } = require('./lib/find');

const FORBIDDEN_KEYS = ['correlation_id', 'correlationId', 'spindle.correlation_id', 'invocation_id', 'faas.invocation_id'];

/** The bucket index of value v for explicit bounds (OTel: bucket i is (b[i-1], b[i]]). */
function bucketOf(bounds, v) {
  for (let i = 0; i < bounds.length; i++) if (v <= bounds[i]) return i;
  return bounds.length;
}

describe('metrics', needBinary, () => {
  let h;
  const cid = uid('metrics-wf');
  const T = ids.traceIdFor(cid);
  const sfx = uid('m');
  const COUNTER = `orders.processed.${sfx}`;
  const GAUGE = `queue.depth.${sfx}`;
  const HIST = `request.latency.${sfx}`;

  before(async () => {
    h = await setup({ config: { metrics: { interval: '500ms' } } });
    const c = await h.connect();
    await c.sendAll([
      r.workflowStart(cid, { function: 'billing' }),
      r.metric(COUNTER, 'counter', 1, { function: 'billing', unit: '{order}', attributes: { region: 'eu' } }),
      r.metric(COUNTER, 'counter', 2, { function: 'billing', unit: '{order}', attributes: { region: 'eu' }, correlation_id: cid, invocation_id: 'inv-m1' }),
      r.metric(COUNTER, 'counter', 3.5, { function: 'billing', unit: '{order}', attributes: { region: 'eu' }, correlation_id: uid('other-wf') }),
      r.metric(COUNTER, 'counter', 10, { function: 'billing', unit: '{order}', attributes: { region: 'us' } }),
      r.metric(GAUGE, 'gauge', 5, { function: 'billing', attributes: { queue: 'q1' } }),
      r.metric(GAUGE, 'gauge', 7, { function: 'billing', attributes: { queue: 'q1' }, correlation_id: cid }),
      r.metric(GAUGE, 'gauge', 3, { function: 'billing', attributes: { queue: 'q1' } }),
      r.metric(HIST, 'histogram', 1, { function: 'billing', unit: 'ms' }),
      r.metric(HIST, 'histogram', 5, { function: 'billing', unit: 'ms', correlation_id: cid }),
      r.metric(HIST, 'histogram', 100, { function: 'billing', unit: 'ms' }),
      r.metric(HIST, 'histogram', 3000, { function: 'billing', unit: 'ms' }),
    ]);
    const ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: 12, rejected: 0, first_error: null });
    // Everything above is in the pipeline; wait for an export that reflects all of it.
    await h.sink.waitFor((s) => {
      const eu = latestPoint(s, COUNTER, { region: 'eu' });
      const g = latestPoint(s, GAUGE);
      const hi = latestPoint(s, HIST);
      return eu && pointValue(eu.point) === 6.5 && g && pointValue(g.point) === 3 && hi && hi.point.count === '4';
    }, 6000, 'metrics export with all records');
  });
  after(async () => { if (h) await h.close(); });

  test('a counter is a cumulative monotonic sum of the increments', { timeout: 10000 }, async () => {
    const eu = latestPoint(h.sink, COUNTER, { region: 'eu' });
    assert.equal(eu.type, 'sum');
    assert.equal(eu.monotonic, true);
    assert.equal(eu.temporality, AggregationTemporality.CUMULATIVE);
    assert.equal(eu.point.asDouble, 6.5, 'counters use asDouble');
    assert.equal(eu.metric.unit, '{order}');
    assert.deepEqual(eu.point.attributes, { region: 'eu' });
    assert.equal(eu.resource['service.name'], 'billing');
    assert.equal(eu.scope.name, 'spindle');
    const us = latestPoint(h.sink, COUNTER, { region: 'us' });
    assert.equal(pointValue(us.point), 10);

    // Correlation ids are not part of the series key: one point per attribute set per export.
    const req = eu.request;
    const inReq = metricPoints(h.sink, COUNTER).filter((m) => m.request === req);
    assert.deepEqual(inReq.map((m) => m.point.attributes.region).sort(), ['eu', 'us']);

    // Cumulative across intervals: same start time, value keeps growing.
    const c = await h.connect();
    await c.send(r.metric(COUNTER, 'counter', 1.5, { function: 'billing', unit: '{order}', attributes: { region: 'eu' } }));
    await c.flush();
    const later = await h.sink.waitFor((s) => {
      const p = latestPoint(s, COUNTER, { region: 'eu' });
      return p && pointValue(p.point) === 8 ? p : null;
    }, 4000, 'cumulative sum 8');
    assert.equal(later.point.startTimeUnixNano, eu.point.startTimeUnixNano, 'cumulative start time is stable');
    assert.ok(BigInt(later.point.timeUnixNano) > BigInt(eu.point.timeUnixNano));
    const values = metricPoints(h.sink, COUNTER, { region: 'eu' }).map((m) => pointValue(m.point));
    for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1], `monotonic: ${values}`);
    assert.ok(values.every((v) => v <= 8), `never more than the increments: ${values}`);
    c.destroy();
  });

  test('a gauge reports the last value', { timeout: 10000 }, () => {
    const g = latestPoint(h.sink, GAUGE);
    assert.equal(g.type, 'gauge');
    assert.equal(pointValue(g.point), 3);
    assert.deepEqual(g.point.attributes, { queue: 'q1' });
  });

  test('a histogram aggregates observations into explicit buckets', { timeout: 10000 }, () => {
    const hp = latestPoint(h.sink, HIST);
    assert.equal(hp.type, 'histogram');
    assert.equal(hp.temporality, AggregationTemporality.CUMULATIVE);
    assert.equal(hp.metric.unit, 'ms');
    const p = hp.point;
    assert.equal(p.count, '4');
    assert.equal(p.sum, 3106);
    if (p.min !== undefined) assert.equal(p.min, 1);
    if (p.max !== undefined) assert.equal(p.max, 3000);
    const bounds = p.explicitBounds || [];
    assert.ok(bounds.length > 0, 'explicit bounds present');
    for (let i = 1; i < bounds.length; i++) assert.ok(bounds[i] > bounds[i - 1], `bounds ascending: ${bounds}`);
    const counts = (p.bucketCounts || []).map(Number);
    assert.equal(counts.length, bounds.length + 1);
    const expected = new Array(bounds.length + 1).fill(0);
    for (const v of [1, 5, 100, 3000]) expected[bucketOf(bounds, v)] += 1;
    assert.deepEqual(counts, expected, `bucket counts for bounds ${bounds}`);
  });

  test('a point with a correlation_id carries an exemplar with the workflow\'s trace id', { timeout: 10000 }, () => {
    for (const name of [COUNTER, HIST]) {
      const withEx = metricPoints(h.sink, name).filter((m) => m.point.exemplars.some((e) => e.traceId === T));
      assert.ok(withEx.length > 0, `${name}: an exported point has an exemplar with trace ${T}`);
      const ex = withEx[0].point.exemplars.find((e) => e.traceId === T);
      if (ex.spanId) assert.match(ex.spanId, /^[0-9a-f]{16}$/);
      assert.ok(BigInt(ex.timeUnixNano || 0) > 0n, 'exemplar has a time');
      if (name === HIST) assert.equal(pointValue(ex), 5);
    }
  });

  test('correlation and invocation ids never appear in point attributes', { timeout: 10000 }, () => {
    const all = h.sink.metrics();
    assert.ok(all.length > 0);
    for (const m of all) {
      for (const k of FORBIDDEN_KEYS) {
        assert.ok(!(k in m.point.attributes), `${m.metric.name} point has attribute ${k}`);
      }
    }
  });

  test('metrics are exported every interval', { timeout: 10000 }, async () => {
    const n0 = h.sink.requestsFor('metrics').length;
    await sleep(1300);
    const n1 = h.sink.requestsFor('metrics').length;
    assert.ok(n1 - n0 >= 2, `at least 2 exports in 1.3 s at a 500 ms interval (got ${n1 - n0})`);
    const times = metricPoints(h.sink, GAUGE).map((m) => nanosToSec(m.point.timeUnixNano));
    assert.ok(times.length >= 2);
  });
});
