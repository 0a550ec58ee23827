'use strict';
// 1. Trace and span ids: derived from the correlation id (pinned vectors), fixed by a
//    traceparent or an X-Ray header on the first record, kept on conflict.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { uid } = require('./lib/util');
const { workflowSpans, spanById, spansNamed, delta, HEX16 } = require('./lib/find');

// Vectors pinned independently of spindle (node:crypto SHA-256, see lib/ids.js).
const VECTORS = [
  {
    cid: 'order-42',
    inv: 'inv-1',
    trace: 'fb489cdc872d970ff061e08f2b1c34b8',
    workflow: '2ae9aec2e3cc9b09',
    invocation: 'aec7b4b8a8293900',
  },
  {
    cid: 'wf-ümlaut-✓', // UTF-8 bytes are hashed, not UTF-16 code units
    inv: 'inv-1',
    trace: '9f5a0c4305d1cf393881ca944264b69c',
    workflow: 'a45c9c1e7eac47ff',
    invocation: '694a4cc37c3b958c',
  },
];

test('the pinned vectors match the documented derivation', () => {
  for (const v of VECTORS) {
    assert.equal(ids.traceIdFor(v.cid), v.trace);
    assert.equal(ids.workflowSpanIdFor(v.cid), v.workflow);
    assert.equal(ids.invocationSpanIdFor(v.cid, v.inv), v.invocation);
  }
});

describe('ids', needBinary, () => {
  let h;
  before(async () => { h = await setup({ config: { correlation: { grace_period: '200ms' } } }); });
  after(async () => { if (h) await h.close(); });

  for (const v of VECTORS) {
    test(`derived ids for correlation id ${JSON.stringify(v.cid)}`, { timeout: 15000 }, async () => {
      const c = await h.connect();
      await c.sendAll([
        r.workflowStart(v.cid, { workflow: 'ids', function: 'api' }),
        r.invocationStart(v.cid, v.inv, { function: 'api' }),
        r.span(v.cid, `step-${v.workflow}`, { function: 'api', invocation_id: v.inv }),
        r.span(v.cid, `wfstep-${v.workflow}`, { function: 'api' }),
        r.invocationEnd(v.cid, v.inv, { function: 'api' }),
        r.workflowEnd(v.cid),
      ]);
      const ack = await c.flush();
      assert.equal(ack.accepted, 6);
      assert.equal(ack.rejected, 0);
      const [wf] = await h.sink.waitFor((s) => { const w = workflowSpans(s, v.cid); return w.length ? w : null; }, 5000, 'workflow span');
      assert.equal(wf.span.traceId, v.trace);
      assert.equal(wf.span.spanId, v.workflow);
      assert.equal(wf.span.parentSpanId, '', 'the workflow span is a root without a traceparent');

      const inv = await h.sink.waitFor((s) => spanById(s, v.invocation), 5000, 'invocation span');
      assert.equal(inv.span.traceId, v.trace);
      assert.equal(inv.span.parentSpanId, v.workflow);

      const step = await h.sink.waitFor((s) => spansNamed(s, `step-${v.workflow}`)[0], 5000, 'span record');
      assert.equal(step.span.traceId, v.trace);
      assert.equal(step.span.parentSpanId, v.invocation);
      assert.match(step.span.spanId, HEX16);
      assert.notEqual(step.span.spanId, '0000000000000000');
      assert.ok(![v.workflow, v.invocation].includes(step.span.spanId));

      const wfstep = await h.sink.waitFor((s) => spansNamed(s, `wfstep-${v.workflow}`)[0], 5000, 'span record without invocation');
      assert.equal(wfstep.span.traceId, v.trace);
      assert.equal(wfstep.span.parentSpanId, v.workflow);
      c.destroy();
    });
  }

  test('a traceparent on the first record fixes the trace id and the root\'s parent', { timeout: 15000 }, async () => {
    const cid = uid('tp');
    const tp = ids.traceparent();
    const c = await h.connect();
    await c.sendAll([
      r.workflowStart(cid, { traceparent: tp.header }),
      r.invocationStart(cid, 'i1', { function: 'api' }),
      r.span(cid, `tp-span-${cid}`, { invocation_id: 'i1' }),
      r.invocationEnd(cid, 'i1'),
      r.workflowEnd(cid),
    ]);
    await c.flush();
    const [wf] = await h.sink.waitFor((s) => { const w = workflowSpans(s, cid); return w.length ? w : null; }, 5000, 'workflow span');
    assert.equal(wf.span.traceId, tp.traceId);
    assert.notEqual(wf.span.traceId, ids.traceIdFor(cid));
    assert.equal(wf.span.spanId, ids.workflowSpanIdFor(cid));
    assert.equal(wf.span.parentSpanId, tp.parentId);
    const inv = await h.sink.waitFor((s) => spanById(s, ids.invocationSpanIdFor(cid, 'i1')), 5000, 'invocation span');
    assert.equal(inv.span.traceId, tp.traceId);
    assert.equal(inv.span.parentSpanId, ids.workflowSpanIdFor(cid));
    const sp = await h.sink.waitFor((s) => spansNamed(s, `tp-span-${cid}`)[0], 5000, 'span record');
    assert.equal(sp.span.traceId, tp.traceId);
    c.destroy();
  });

  test('an xray_trace_id on the first record fixes the trace id; traceparent wins over it', { timeout: 15000 }, async () => {
    const cid = uid('xray');
    const epoch = ids.randomHex(4);
    const rest = ids.randomHex(12);
    const parent = ids.randomHex(8);
    const xray = `Root=1-${epoch}-${rest};Parent=${parent};Sampled=1`;
    const cid2 = uid('both');
    const tp = ids.traceparent();
    const c = await h.connect();
    await c.sendAll([
      r.workflowStart(cid, { xray_trace_id: xray }),
      r.workflowEnd(cid),
      r.workflowStart(cid2, { traceparent: tp.header, xray_trace_id: xray }),
      r.workflowEnd(cid2),
    ]);
    const ack = await c.flush();
    assert.equal(ack.accepted, 4);
    const [wf] = await h.sink.waitFor((s) => { const w = workflowSpans(s, cid); return w.length ? w : null; }, 5000, 'workflow span (xray)');
    assert.equal(wf.span.traceId, `${epoch}${rest}`);
    assert.equal(wf.span.parentSpanId, parent);
    assert.equal(wf.span.spanId, ids.workflowSpanIdFor(cid));
    const [wf2] = await h.sink.waitFor((s) => { const w = workflowSpans(s, cid2); return w.length ? w : null; }, 5000, 'workflow span (both)');
    assert.equal(wf2.span.traceId, tp.traceId);
    assert.equal(wf2.span.parentSpanId, tp.parentId);
    c.destroy();
  });

  test('a later conflicting traceparent keeps the trace id, adds a link, counts trace_conflict', { timeout: 15000 }, async () => {
    const cid = uid('conflict');
    const a = ids.traceparent();
    const b = ids.traceparent();
    const c = await h.connect();
    const before = await c.stats();
    await c.sendAll([
      r.workflowStart(cid, { traceparent: a.header }),
      r.span(cid, `agreeing-${cid}`, { traceparent: a.header }),
      r.span(cid, `conflicting-${cid}`, { traceparent: b.header }),
      r.workflowEnd(cid),
    ]);
    const ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: 4, rejected: 0, first_error: null });
    const conflicting = await h.sink.waitFor((s) => spansNamed(s, `conflicting-${cid}`)[0], 5000, 'conflicting span');
    assert.equal(conflicting.span.traceId, a.traceId, 'the workflow keeps its first trace id');
    assert.equal(conflicting.span.parentSpanId, ids.workflowSpanIdFor(cid));
    const link = conflicting.span.links.find((l) => l.traceId === b.traceId);
    assert.ok(link, `a link to the other trace; links: ${JSON.stringify(conflicting.span.links)}`);
    assert.equal(link.spanId, b.parentId);
    const agreeing = await h.sink.waitFor((s) => spansNamed(s, `agreeing-${cid}`)[0], 5000, 'agreeing span');
    assert.equal(agreeing.span.traceId, a.traceId);
    assert.equal(agreeing.span.links.length, 0, 'an agreeing traceparent adds no link');
    const [wf] = await h.sink.waitFor((s) => { const w = workflowSpans(s, cid); return w.length ? w : null; }, 5000, 'workflow span');
    assert.equal(wf.span.traceId, a.traceId);
    const after = await c.stats();
    assert.equal(delta(before, after, 'accepted_with.trace_conflict'), 1);
    assert.equal(delta(before, after, 'accepted_with.bad_traceparent'), 0);
    c.destroy();
  });
});
