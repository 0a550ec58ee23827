'use strict';
// Derived metrics (issue 4, signals): per function, counted from the lifecycle records as the
// protocol says (cold starts and retries idempotent), named after the OTel FaaS semantic
// conventions where one exists, durations in seconds, exemplars pointing at the workflow trace.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const ids = require('./lib/ids');
const { pointValue } = require('./lib/otlp');
const { uid, nowSec } = require('./lib/util');

describe('derived FaaS metrics', needBinary, () => {
  test('invocations, cold starts, errors, timeouts, durations, retries, throttles, dead letters', { timeout: 20000 }, async () => {
    const h = await setup({ config: { metrics: { interval: '300ms' } } });
    try {
      const c = await h.connect();
      const cid = uid('faas');
      const t0 = Math.floor(nowSec()) - 10;
      const ev = (name, extra) => ({ type: 'event', name, correlation_id: cid, ...extra });
      const fn = (n) => `${cid}-${n}`; // function names unique to this test
      [
        ev('workflow_start', { ts: t0 }),
        ev('invocation_start', { invocation_id: 'i1', function: fn('charge'), cold_start: true, trigger: 'http', ts: t0 }),
        ev('cold_start', { invocation_id: 'i1', function: fn('charge'), init_duration_ms: 250, ts: t0 }),
        ev('invocation_end', { invocation_id: 'i1', function: fn('charge'), status: 'ok', ts: t0 + 0.3 }),
        ev('invocation_start', { invocation_id: 'i2', function: fn('charge'), attempt: 2, ts: t0 + 1 }),
        ev('retry', { invocation_id: 'i2', function: fn('charge'), attempt: 2, ts: t0 + 1 }),
        ev('throttle', { function: fn('charge'), ts: t0 + 1.01 }),
        ev('invocation_end', { invocation_id: 'i2', function: fn('charge'), status: 'error', ts: t0 + 1.05 }),
        ev('dead_letter', { function: fn('charge'), queue: 'orders-dlq', ts: t0 + 1.1 }),
        ev('invocation_start', { invocation_id: 'i3', function: fn('ship'), ts: t0 + 2 }),
        ev('invocation_end', { invocation_id: 'i3', function: fn('ship'), status: 'timeout', ts: t0 + 5 }),
        ev('workflow_end', { ts: t0 + 5 }),
      ].forEach((r) => c.send(r));
      await c.flush(uid('f'));
      const pts = (name, f) => h.sink.metrics().filter((m) => m.metric.name === name && m.resource['service.name'] === f);
      // Cumulative: the latest point of each series, summed over series.
      const total = (name, f) => {
        const latest = new Map();
        for (const m of pts(name, f)) latest.set(JSON.stringify(m.point.attributes), m);
        return [...latest.values()].reduce((a, m) => a + (m.type === 'histogram' ? Number(m.point.count) : pointValue(m.point)), 0);
      };
      await h.sink.waitFor(() => total('faas.timeouts', fn('ship')) >= 1 && total('spindle.dead_letters', fn('charge')) >= 1, 5000);
      assert.equal(total('faas.invocations', fn('charge')), 2);
      assert.equal(total('faas.invocations', fn('ship')), 1);
      assert.equal(total('faas.coldstarts', fn('charge')), 1, 'flag and event count once');
      assert.equal(total('faas.errors', fn('charge')), 1);
      assert.equal(total('faas.errors', fn('ship')), 0);
      assert.equal(total('faas.timeouts', fn('ship')), 1);
      assert.equal(total('spindle.retries', fn('charge')), 1, 'attempt 2 and the retry event count once');
      assert.equal(total('spindle.throttles', fn('charge')), 1);
      const dl = pts('spindle.dead_letters', fn('charge')).pop();
      assert.equal(dl.point.attributes.queue, 'orders-dlq');
      const dur = pts('faas.invoke_duration', fn('charge')).pop();
      assert.equal(dur.type, 'histogram');
      assert.equal(dur.metric.unit, 's');
      assert.equal(Number(dur.point.count), 2);
      assert.ok(Math.abs(dur.point.sum - 0.35) < 1e-6, `sum of 0.3 s and 0.05 s, got ${dur.point.sum}`);
      assert.equal(dur.point.explicitBounds[0], 0.005, 'second-scale buckets');
      const init = pts('faas.init_duration', fn('charge')).pop();
      assert.ok(Math.abs(init.point.sum - 0.25) < 1e-9, '250 ms as seconds');
      const inv = pts('faas.invocations', fn('charge')).find((m) => m.point.attributes['faas.trigger'] === 'http');
      assert.ok(inv, 'faas.trigger on the invocation count');
      const err = pts('faas.errors', fn('charge')).pop();
      assert.ok(err.point.exemplars.length >= 1, 'the error count carries an exemplar');
      assert.equal(err.point.exemplars[0].traceId, ids.traceIdFor(cid), 'pointing at the workflow trace');
      assert.equal(err.point.exemplars[0].spanId, ids.invocationSpanIdFor(cid, "i2"), 'and the failed invocation');
    } finally {
      await h.close();
    }
  });
});
