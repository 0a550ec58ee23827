'use strict';
// 7. Two agents seeing parts of one workflow (root_without_start off): one trace, exactly one
//    workflow span (from the agent that saw workflow_start), no span id emitted twice.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSink } = require('./lib/sink');
const { startAgent } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { uid, sleep } = require('./lib/util');
const { workflowSpans, spanById, logsWithBody, assertUniqueSpanIds } = require('./lib/find');

describe('two agents, one workflow', needBinary, () => {
  let sink;
  let a;
  let b;
  before(async () => {
    sink = await startSink();
    const cfg = testConfig(sink.url, { correlation: { root_without_start: false, idle_timeout: '500ms', grace_period: '200ms' } });
    [a, b] = await Promise.all([startAgent({ config: cfg, name: 'agent-A' }), startAgent({ config: cfg, name: 'agent-B' })]);
  });
  after(async () => {
    await Promise.all([a && a.stop(), b && b.stop()]);
    if (sink) await sink.close();
  });

  test('one trace, one workflow span, unique span ids', { timeout: 20000 }, async () => {
    const cid = uid('fleet');
    const T = ids.traceIdFor(cid);
    const W = ids.workflowSpanIdFor(cid);
    const I1 = ids.invocationSpanIdFor(cid, 'inv-1');
    const I2 = ids.invocationSpanIdFor(cid, 'inv-2');
    const ca = await connect(a.socketPath);
    const cb = await connect(b.socketPath);

    await ca.sendAll([
      r.workflowStart(cid, { workflow: 'fleet', function: 'front' }),
      r.invocationStart(cid, 'inv-1', { function: 'front', cold_start: true }),
      r.span(cid, 'front.work', { function: 'front', invocation_id: 'inv-1' }),
      r.log(cid, `from A ${cid}`, { function: 'front', invocation_id: 'inv-1' }),
      r.invocationEnd(cid, 'inv-1', { function: 'front' }),
    ]);
    assert.equal((await ca.flush()).accepted, 5);
    await sleep(50);
    await cb.sendAll([
      r.invocationStart(cid, 'inv-2', { function: 'back' }),
      r.span(cid, 'back.work', { function: 'back', invocation_id: 'inv-2' }),
      r.log(cid, `from B ${cid}`, { function: 'back', invocation_id: 'inv-2' }),
      r.log(cid, `from B, workflow level ${cid}`, { function: 'back' }),
      r.invocationEnd(cid, 'inv-2', { function: 'back', status: 'ok' }),
      r.workflowEnd(cid, { function: 'back' }),
    ]);
    assert.equal((await cb.flush()).accepted, 6);

    // A closes the workflow on idle (it never sees workflow_end), B after workflow_end + grace.
    await sink.waitFor((s) => workflowSpans(s, cid).length >= 1 && spanById(s, I1) && spanById(s, I2), 6000,
      'workflow span and both invocation spans');
    ca.destroy();
    cb.destroy();
    // Stop both agents so that anything still pending is flushed, then look at everything.
    const [ea, eb] = await Promise.all([a.stop(), b.stop()]);
    assert.equal(ea.code, 0);
    assert.equal(eb.code, 0);

    const all = sink.spans();
    const mine = all.filter((s) => s.span.traceId === T);
    assert.equal(all.filter((s) => s.span.attributes['spindle.correlation_id'] === cid && s.span.traceId !== T).length, 0,
      'one trace id');
    const wfs = workflowSpans(sink, cid);
    assert.equal(wfs.length, 1, 'exactly one workflow span');
    assert.equal(mine.filter((s) => s.span.spanId === W).length, 1, 'the root span id appears once');
    assertUniqueSpanIds(all);

    const inv1 = spanById(sink, I1);
    const inv2 = spanById(sink, I2);
    assert.equal(inv1.span.parentSpanId, W);
    assert.equal(inv2.span.parentSpanId, W);
    assert.equal(inv1.span.traceId, T);
    assert.equal(inv2.span.traceId, T);
    // The workflow span came from A (the agent that saw workflow_start).
    const instA = inv1.resource['service.instance.id'];
    const instB = inv2.resource['service.instance.id'];
    assert.notEqual(instA, instB, 'each agent has its own service.instance.id');
    assert.equal(wfs[0].resource['service.instance.id'], instA, 'the workflow span was emitted by agent A');
    for (const name of ['front.work', 'back.work']) {
      const s = mine.filter((x) => x.span.name === name);
      assert.equal(s.length, 1, `${name} exported once`);
    }
    assert.equal(mine.find((x) => x.span.name === 'back.work').span.parentSpanId, I2);
    const lb = logsWithBody(sink, `from B, workflow level ${cid}`)[0];
    assert.equal(lb.log.traceId, T);
    assert.equal(lb.log.spanId, W, 'B links a workflow-level log to the root span A emits');
    assert.equal(logsWithBody(sink, `from A ${cid}`)[0].log.spanId, I1);
  });
});
