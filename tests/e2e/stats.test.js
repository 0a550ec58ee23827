'use strict';
// 12. Stats: `spindle --stats --socket P` and the stats control record.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { setup, needBinary } = require('./lib/harness');
const { runSpindle } = require('./lib/agent');
const r = require('./lib/records');
const { uid, makeTempDir } = require('./lib/util');
const { get, workflowSpans } = require('./lib/find');

const SHAPE = {
  records: ['accepted', 'rejected'],
  rejected: ['malformed_json', 'too_large', 'missing_field', 'bad_type', 'bad_value', 'unknown_type',
    'unsupported_version', 'bad_utf8', 'incomplete'],
  accepted_with: ['bad_traceparent', 'attributes_dropped', 'trace_conflict', 'late_record', 'metric_scope_limit'],
  connections: ['accepted', 'open', 'closed_idle', 'refused_limit'],
  workflows: ['opened', 'open', 'closed', 'evicted'],
  export: ['spans', 'logs', 'metric_points', 'requests_ok', 'requests_failed', 'retries'],
  dropped: ['queue_full', 'non_retryable', 'retries_exhausted', 'shutdown_deadline', 'partial_success'],
};

function assertShape(st) {
  assert.equal(st.version, '0.1.0');
  for (const [group, keys] of Object.entries(SHAPE)) {
    for (const k of keys) {
      const v = get(st, `${group}.${k}`);
      assert.ok(Number.isInteger(v) && v >= 0, `${group}.${k} is a non-negative integer (got ${JSON.stringify(v)})`);
    }
  }
}

describe('stats', needBinary, () => {
  let h;
  const cid = uid('stats');
  before(async () => {
    // With the OTLP receiver on (a free port): its counters and address are in the reply.
    h = await setup({ config: { correlation: { grace_period: '200ms' }, otlp: { listen: '127.0.0.1:0' } } });
    const c = await h.connect();
    await c.sendAll([
      r.workflowStart(cid),
      r.log(cid, 'one'),
      r.workflowEnd(cid),
      'garbage\n',
      { type: 'nonsense', correlation_id: cid },
    ]);
    const ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: 3, rejected: 2, first_error: 'malformed_json' });
    await h.sink.waitFor((s) => workflowSpans(s, cid).length === 1 && s.logs().length >= 1, 5000, 'exports');
  });
  after(async () => { if (h) await h.close(); });

  test('spindle --stats --socket P prints the counters as JSON', { timeout: 15000 }, async () => {
    const res = await runSpindle(['--stats', '--socket', h.agent.socketPath]);
    assert.equal(res.code, 0, res.stderr);
    const st = JSON.parse(res.stdout);
    assertShape(st);
    assert.equal(st.records.accepted, 3);
    assert.equal(st.records.rejected, 2);
    assert.equal(st.rejected.malformed_json, 1);
    assert.equal(st.rejected.unknown_type, 1);
    assert.ok(st.connections.accepted >= 2, 'our client and --stats itself');
    assert.ok(st.connections.open >= 1);
    assert.equal(st.workflows.opened, 1);
    assert.equal(st.workflows.closed, 1);
    assert.equal(st.workflows.open, 0);
    assert.ok(st.export.spans >= 1);
    assert.ok(st.export.logs >= 1);
    assert.ok(st.export.requests_ok >= 2);
    assert.equal(st.export.requests_failed, 0);
  });

  test('the stats control record answers with the same object and its id', { timeout: 10000 }, async () => {
    const c = await h.connect();
    const st = await c.stats('my-stats-id');
    assert.equal(st.stats, 'my-stats-id');
    assertShape(st);
    assert.equal(st.records.accepted, 3, 'control records are not counted');
    c.destroy();
  });

  test('the reply has exactly the keys of the example in docs/protocol.md', { timeout: 10000 }, async () => {
    const fs = require('node:fs');
    const doc = fs.readFileSync(path.join(__dirname, '../../docs/protocol.md'), 'utf8');
    const line = doc.split('\n').find((l) => l.startsWith('{"stats":"'));
    assert.ok(line, 'docs/protocol.md shows a stats reply');
    const shape = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) =>
      [k, v && typeof v === 'object' ? shape(v) : typeof v]));
    const c = await h.connect();
    const st = await c.stats(uid('doc'));
    assert.deepEqual(shape(st), shape(JSON.parse(line)), 'the documented reply and the real one agree');
    c.destroy();
  });

  test('spindle --stats with no agent at the socket fails', { timeout: 10000 }, async () => {
    const res = await runSpindle(['--stats', '--socket', path.join(makeTempDir(), 'nobody.sock')]);
    assert.notEqual(res.code, 0);
    assert.ok(res.stderr.length > 0);
  });
});
