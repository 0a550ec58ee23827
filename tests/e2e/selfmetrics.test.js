'use strict';
// The agent's own counters travel as OTLP metrics (spindle.*) with its own resource
// (service.name "spindle"): accepted, rejected by reason, dropped by reason.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const { pointValue } = require('./lib/otlp');
const { uid } = require('./lib/util');

describe('spindle.* self metrics', needBinary, () => {
  test('accepted and rejected-by-reason counters reach the backend under the agent\'s resource', { timeout: 20000 }, async () => {
    const h = await setup({ config: { metrics: { interval: '300ms' } } });
    try {
      const c = await h.connect();
      for (let i = 0; i < 7; i++) c.send(`not json ${i}\n`);
      for (let i = 0; i < 3; i++) c.send({ type: 'log', body: 'no correlation id' });
      for (let i = 0; i < 5; i++) c.send({ type: 'log', correlation_id: uid('ok'), body: 'fine' });
      await c.flush(uid('f'));
      const latest = (name, reason) => {
        const pts = h.sink.metrics().filter((m) => m.metric.name === name &&
          (reason === undefined || m.point.attributes.reason === reason));
        return pts.length ? pts[pts.length - 1] : null;
      };
      await h.sink.waitFor(() => {
        const p = latest('spindle.records.rejected', 'malformed_json');
        return p && pointValue(p.point) >= 7;
      }, 5000);
      const mal = latest('spindle.records.rejected', 'malformed_json');
      assert.equal(pointValue(mal.point), 7);
      assert.equal(pointValue(latest('spindle.records.rejected', 'missing_field').point), 3);
      assert.equal(pointValue(latest('spindle.records.accepted').point), 5);
      assert.equal(mal.type, 'sum');
      assert.equal(mal.monotonic, true);
      assert.equal(mal.resource['service.name'], 'spindle');
      assert.equal(mal.resource['faas.name'], undefined, 'the agent is not a function');
      const reasons = new Set(h.sink.metrics().filter((m) => m.metric.name === 'spindle.records.dropped')
        .map((m) => m.point.attributes.reason));
      for (const r of ['queue_full', 'non_retryable', 'retries_exhausted', 'shutdown_deadline', 'partial_success', 'memory_limit',
        'journal_full', 'journal_corrupt']) {
        assert.ok(reasons.has(r), `dropped counter with reason ${r}`);
      }
      // User metrics keep their own resources.
      const st = await c.stats(uid('s'));
      assert.equal(st.export.metric_points, 0, 'the agent\'s own points are not counted as exported records');
    } finally {
      await h.close();
    }
  });
});
