'use strict';
// 6. Correlation rules: a workflow closes on workflow_end + grace and on idle timeout; late
//    records keep the trace and never make a second workflow span; open workflows are bounded.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { uid, nowSec, sleep } = require('./lib/util');
const {
  workflowSpans, spanById, spansNamed, logsWithBody, delta, nanosToSec, assertNear,
} = require('./lib/find');

const wfFound = (cid) => (s) => { const w = workflowSpans(s, cid); return w.length ? w[0] : null; };

describe('closing on workflow_end, and late records', needBinary, () => {
  let h;
  before(async () => {
    h = await setup({ config: { correlation: { grace_period: '200ms', idle_timeout: '10s' } } });
  });
  after(async () => { if (h) await h.close(); });
  const cid = uid('ends');
  const T = ids.traceIdFor(cid);
  const W = ids.workflowSpanIdFor(cid);
  const I1 = ids.invocationSpanIdFor(cid, 'i1');

  test('the workflow span is emitted after workflow_end and the grace period, not before', { timeout: 15000 }, async () => {
    const c = await h.connect();
    await c.sendAll([r.workflowStart(cid, { workflow: 'ends' }), r.invocationStart(cid, 'i1', { function: 'f' }), r.invocationEnd(cid, 'i1', { function: 'f' })]);
    await c.flush();
    await h.sink.waitFor((s) => spanById(s, I1), 5000, 'invocation span');
    await sleep(600); // > grace + batch delay: nothing closes without workflow_end
    assert.equal(workflowSpans(h.sink, cid).length, 0, 'no workflow span while the workflow is open');
    const endTs = nowSec();
    const t0 = Date.now();
    await c.send(r.workflowEnd(cid, { ts: endTs }));
    await c.flush();
    const wf = await h.sink.waitFor(wfFound(cid), 3000, 'workflow span after workflow_end');
    const took = Date.now() - t0;
    assert.ok(took >= 150, `emitted after the grace period (took ${took} ms)`);
    assert.ok(took < 3000, 'long before the idle timeout');
    assert.equal(wf.span.spanId, W);
    assert.equal(wf.span.traceId, T);
    assertNear(nanosToSec(wf.span.endTimeUnixNano), endTs, 0.002, 'workflow end time');
    c.destroy();
  });

  test('a record within the grace period is not late', { timeout: 15000 }, async () => {
    const cid2 = uid('grace');
    const c = await h.connect();
    const before = await c.stats();
    await c.sendAll([r.workflowStart(cid2), r.workflowEnd(cid2), r.log(cid2, `in grace ${cid2}`)]);
    await c.flush();
    await h.sink.waitFor(wfFound(cid2), 3000, 'workflow span');
    const after = await c.stats();
    assert.equal(delta(before, after, 'accepted_with.late_record'), 0);
    const l = await h.sink.waitFor((s) => logsWithBody(s, `in grace ${cid2}`)[0], 3000, 'log');
    assert.equal(l.log.spanId, ids.workflowSpanIdFor(cid2));
    c.destroy();
  });

  test('late records go to the same trace, are counted, and make no second workflow span', { timeout: 15000 }, async () => {
    await h.sink.waitFor(wfFound(cid), 3000, 'the closed workflow');
    const c = await h.connect();
    const before = await c.stats();
    const late = [
      r.span(cid, `late-span-${cid}`, { invocation_id: 'i1', function: 'f' }),
      r.log(cid, `late log ${cid}`, { invocation_id: 'i1', function: 'f' }),
      r.log(cid, `late wf log ${cid}`),
      r.invocationStart(cid, 'i-late', { function: 'f' }),
      r.invocationEnd(cid, 'i-late', { function: 'f' }),
      r.workflowStart(cid),
      r.workflowEnd(cid),
    ];
    await c.sendAll(late);
    const ack = await c.flush();
    assert.equal(ack.accepted, late.length);
    const sp = await h.sink.waitFor((s) => spansNamed(s, `late-span-${cid}`)[0], 5000, 'late span');
    assert.equal(sp.span.traceId, T);
    assert.equal(sp.span.parentSpanId, I1);
    const l = await h.sink.waitFor((s) => logsWithBody(s, `late log ${cid}`)[0], 5000, 'late log');
    assert.equal(l.log.traceId, T);
    assert.equal(l.log.spanId, I1);
    const lw = await h.sink.waitFor((s) => logsWithBody(s, `late wf log ${cid}`)[0], 5000, 'late workflow log');
    assert.equal(lw.log.spanId, W);
    const inv = await h.sink.waitFor((s) => spanById(s, ids.invocationSpanIdFor(cid, 'i-late')), 5000, 'late invocation span');
    assert.equal(inv.span.traceId, T);
    assert.equal(inv.span.parentSpanId, W);
    await sleep(800); // > grace + batch delay
    assert.equal(workflowSpans(h.sink, cid).length, 1, 'exactly one workflow span');
    assert.equal(h.sink.spans().filter((s) => s.span.spanId === W).length, 1);
    const after = await c.stats();
    assert.equal(delta(before, after, 'accepted_with.late_record'), late.length, 'every record after the close counts as late_record');
    c.destroy();
  });
});

describe('closing on idle timeout', needBinary, () => {
  let h;
  before(async () => {
    h = await setup({ config: { correlation: { idle_timeout: '500ms', grace_period: '5s' } } });
  });
  after(async () => { if (h) await h.close(); });

  test('activity keeps a workflow open; idleness closes it at the last activity', { timeout: 15000 }, async () => {
    const cid = uid('idle-wf');
    const c = await h.connect();
    await c.send(r.workflowStart(cid, { workflow: 'idle' }));
    await c.flush();
    let lastTs = 0;
    for (let i = 0; i < 6; i++) { // 6 × 200 ms of activity, each gap < idle timeout
      await sleep(200);
      lastTs = nowSec();
      await c.send(r.log(cid, `tick ${i}`, { ts: lastTs }));
      await c.flush();
      assert.equal(workflowSpans(h.sink, cid).length, 0, `still open after tick ${i}`);
    }
    const t0 = Date.now();
    const wf = await h.sink.waitFor(wfFound(cid), 4000, 'workflow span after idle timeout');
    const took = Date.now() - t0;
    assert.ok(took >= 350, `closed after the idle timeout, not before (${took} ms)`);
    assertNear(nanosToSec(wf.span.endTimeUnixNano), lastTs, 0.1, 'ends at the last activity');
    assert.equal(wf.span.spanId, ids.workflowSpanIdFor(cid));
    const st = await c.stats();
    assert.ok(st.workflows.closed >= 1);
    c.destroy();
  });

  test('a workflow without workflow_start closes on idle and emits its root (root_without_start on)', { timeout: 15000 }, async () => {
    const cid = uid('no-start');
    const c = await h.connect();
    await c.sendAll([r.invocationStart(cid, 'i', { function: 'f' }), r.invocationEnd(cid, 'i', { function: 'f' })]);
    await c.flush();
    const wf = await h.sink.waitFor(wfFound(cid), 4000, 'workflow span (root_without_start default on)');
    assert.equal(wf.span.spanId, ids.workflowSpanIdFor(cid));
    const inv = await h.sink.waitFor((s) => spanById(s, ids.invocationSpanIdFor(cid, 'i')), 3000, 'invocation span');
    assert.equal(inv.span.parentSpanId, wf.span.spanId);
    c.destroy();
  });
});

describe('bounded open workflows', needBinary, () => {
  let h;
  before(async () => {
    h = await setup({ config: { correlation: { max_open_workflows: 2, idle_timeout: '60s', grace_period: '200ms' } } });
  });
  after(async () => { if (h) await h.close(); });

  test('a third workflow evicts the longest-idle one', { timeout: 15000 }, async () => {
    const [w1, w2, w3] = [uid('w1'), uid('w2'), uid('w3')];
    const c = await h.connect();
    const before = await c.stats();
    await c.send(r.workflowStart(w1));
    await c.flush();
    await sleep(50);
    await c.send(r.workflowStart(w2));
    await c.flush();
    await sleep(50);
    await c.send(r.log(w1, 'w1 is active again')); // now w2 is the longest idle
    await c.flush();
    await sleep(50);
    await c.send(r.workflowStart(w3));
    await c.flush();
    const wf2 = await h.sink.waitFor(wfFound(w2), 4000, 'evicted workflow w2 emitted');
    assert.equal(wf2.span.spanId, ids.workflowSpanIdFor(w2));
    await sleep(500);
    assert.equal(workflowSpans(h.sink, w1).length, 0, 'w1 (recently active) stays open');
    assert.equal(workflowSpans(h.sink, w3).length, 0, 'w3 (new) stays open');
    const after = await c.stats();
    assert.equal(delta(before, after, 'workflows.evicted'), 1);
    assert.equal(delta(before, after, 'workflows.opened'), 3);
    assert.equal(after.workflows.open, 2);
    c.destroy();
  });
});
