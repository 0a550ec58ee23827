'use strict';
// 2. One workflow end to end: one trace, one workflow span with counts, invocation spans with
//    FaaS attributes, span records and logs parented right, typed attributes, resources.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const { setup, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { SpanKind, StatusCode } = require('./lib/otlp');
const { uid, nowSec, sleep } = require('./lib/util');
const {
  spansOfTrace, logsOfTrace, workflowSpans, spanById, spansNamed, nanosToSec, assertNear,
  assertUniqueSpanIds, userAttributes, HEX16,
} = require('./lib/find');

describe('one workflow end to end', needBinary, () => {
  let h;
  before(async () => { h = await setup({ config: { correlation: { grace_period: '200ms' } } }); });
  after(async () => { if (h) await h.close(); });

  test('workflow, two invocations (cold start, error), span records and logs', { timeout: 20000 }, async () => {
    const cid = uid('checkout');
    const T = ids.traceIdFor(cid);
    const W = ids.workflowSpanIdFor(cid);
    const IA = ids.invocationSpanIdFor(cid, 'inv-a');
    const IB = ids.invocationSpanIdFor(cid, 'inv-b');
    const explicit = ids.randomHex(8);
    const t0 = nowSec(-2000);
    const at = (ms) => t0 + ms / 1000;
    const records = [
      r.workflowStart(cid, { ts: at(0), workflow: 'checkout', function: 'gateway' }),
      r.invocationStart(cid, 'inv-a', { ts: at(10), function: 'api', cold_start: true, trigger: 'http' }),
      r.span(cid, 'db.query', {
        function: 'api', invocation_id: 'inv-a', kind: 'client', start: at(20), end: at(70),
        attributes: { 'db.system': 'postgresql', rows: 3, ratio: 0.25, cached: false, tags: ['a', 'b'], db: { statement: { kind: 'select' } } },
      }),
      r.log(cid, 'charging card', { ts: at(80), function: 'api', invocation_id: 'inv-a', severity: 'info', attributes: { amount: 1299 } }),
      r.invocationEnd(cid, 'inv-a', { ts: at(100), function: 'api', status: 'ok' }),
      r.invocationStart(cid, 'inv-b', { ts: at(200), function: 'charge', trigger: 'pubsub', attempt: 1 }),
      r.span(cid, 'stripe.call', {
        function: 'charge', invocation_id: 'inv-b', span_id: explicit, start: at(210), end: undefined, duration_ms: 250,
        status: 'error', status_message: 'declined', kind: 'client',
      }),
      r.log(cid, 'declined by issuer', { ts: at(470), function: 'charge', invocation_id: 'inv-b', span_id: explicit, severity: 'ERROR' }),
      r.log(cid, 'workflow note', { ts: at(480), severity: 'warn' }),
      r.invocationEnd(cid, 'inv-b', { ts: at(500), function: 'charge', status: 'error', error: 'card declined' }),
      r.workflowEnd(cid, { ts: at(600), function: 'gateway' }),
    ];
    const c = await h.connect();
    await c.sendAll(records);
    const ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: records.length, rejected: 0, first_error: null });

    // The workflow closes after workflow_end + grace; then everything is in the sink.
    await h.sink.waitFor((s) => workflowSpans(s, cid).length === 1 && spansOfTrace(s, T).length >= 5
      && logsOfTrace(s, T).length >= 3, 8000, 'workflow span, 4 more spans and 3 logs');
    await sleep(500); // anything emitted twice would show up by now

    const spans = spansOfTrace(h.sink, T);
    assert.equal(spans.length, 5, `one trace with 5 spans: ${spans.map((s) => s.span.name).join(', ')}`);
    assertUniqueSpanIds(h.sink.spans());
    assert.equal(h.sink.spans().filter((s) => s.span.attributes['spindle.correlation_id'] === cid
      && s.span.traceId !== T).length, 0, 'nothing of this workflow in another trace');

    for (const s of spans) {
      assert.equal(s.scope.name, 'spindle');
      assert.equal(s.scope.version, '0.1.0');
      assert.equal(s.resource['host.name'], os.hostname());
      assert.equal(typeof s.resource['service.instance.id'], 'string');
      assert.ok(s.resource['service.instance.id'].length > 0);
    }
    assert.equal(new Set(spans.map((s) => s.resource['service.instance.id'])).size, 1, 'one instance id per agent');

    // The workflow span.
    const wfs = workflowSpans(h.sink, cid);
    assert.equal(wfs.length, 1, 'exactly one workflow span');
    const wf = wfs[0].span;
    assert.equal(wf.spanId, W);
    assert.equal(wf.parentSpanId, '');
    assert.equal(wf.name, 'checkout');
    assert.equal(wf.kind, SpanKind.INTERNAL);
    assert.equal(wf.status.code, StatusCode.ERROR, 'an invocation failed');
    assert.equal(wf.attributes['spindle.correlation_id'], cid);
    assert.equal(wf.attributes['spindle.workflow.invocations'], 2n);
    assert.equal(wf.attributes['spindle.workflow.retries'], 0n);
    assert.equal(wf.attributes['spindle.workflow.throttles'], 0n);
    assert.equal(wf.attributes['spindle.workflow.cold_starts'], 1n);
    assert.equal(wf.attributes['spindle.workflow.dead_letters'], 0n);
    assertNear(nanosToSec(wf.startTimeUnixNano), at(0), 0.002, 'workflow start = workflow_start ts');
    assertNear(nanosToSec(wf.endTimeUnixNano), at(600), 0.002, 'workflow end = workflow_end ts');

    // Invocation spans.
    const a = spanById(h.sink, IA);
    assert.ok(a, 'invocation span inv-a');
    assert.equal(a.span.traceId, T);
    assert.equal(a.span.parentSpanId, W);
    assert.equal(a.span.name, 'api');
    assert.equal(a.span.kind, SpanKind.SERVER);
    assert.equal(a.span.attributes['faas.invocation_id'], 'inv-a');
    assert.equal(a.span.attributes['faas.coldstart'], true);
    assert.equal(a.span.attributes['faas.trigger'], 'http');
    assert.notEqual(a.span.status.code, StatusCode.ERROR);
    assert.equal(a.resource['service.name'], 'api');
    assert.equal(a.resource['faas.name'], 'api');
    assertNear(nanosToSec(a.span.startTimeUnixNano), at(10), 0.002, 'inv-a start');
    assertNear(nanosToSec(a.span.endTimeUnixNano), at(100), 0.002, 'inv-a end');

    const b = spanById(h.sink, IB);
    assert.ok(b, 'invocation span inv-b');
    assert.equal(b.span.traceId, T);
    assert.equal(b.span.parentSpanId, W);
    assert.equal(b.span.name, 'charge');
    assert.equal(b.span.kind, SpanKind.SERVER);
    assert.equal(b.span.attributes['faas.invocation_id'], 'inv-b');
    assert.equal(b.span.attributes['faas.coldstart'], false);
    assert.equal(b.span.attributes['faas.trigger'], 'pubsub');
    assert.equal(b.span.attributes['spindle.attempt'], 1n);
    assert.equal(b.span.status.code, StatusCode.ERROR);
    assert.equal(b.resource['service.name'], 'charge');
    assert.equal(b.resource['faas.name'], 'charge');

    // Span records.
    const q = spans.find((s) => s.span.name === 'db.query');
    assert.ok(q);
    assert.equal(q.span.parentSpanId, IA);
    assert.match(q.span.spanId, HEX16);
    assert.equal(q.span.kind, SpanKind.CLIENT);
    assert.equal(q.resource['service.name'], 'api');
    assertNear(nanosToSec(q.span.startTimeUnixNano), at(20), 0.002, 'db.query start');
    assertNear(nanosToSec(q.span.endTimeUnixNano), at(70), 0.002, 'db.query end');
    assert.deepEqual(userAttributes(q.span.attributes), {
      'db.system': 'postgresql', rows: 3n, ratio: 0.25, cached: false, tags: ['a', 'b'], 'db.statement.kind': 'select',
    });

    const st = spans.find((s) => s.span.name === 'stripe.call');
    assert.ok(st);
    assert.equal(st.span.spanId, explicit, 'an explicit span_id is kept');
    assert.equal(st.span.parentSpanId, IB);
    assert.equal(st.span.status.code, StatusCode.ERROR);
    assert.equal(st.span.status.message, 'declined');
    assert.equal(st.resource['service.name'], 'charge');
    const dur = nanosToSec(st.span.endTimeUnixNano) - nanosToSec(st.span.startTimeUnixNano);
    assertNear(dur, 0.25, 0.001, 'duration_ms 250');

    // Logs.
    const logs = logsOfTrace(h.sink, T);
    assert.equal(logs.length, 3);
    const la = logs.find((l) => l.log.body === 'charging card');
    assert.equal(la.log.spanId, IA, 'log → its invocation span');
    assert.equal(la.log.severityNumber, 9);
    assert.equal(la.log.attributes.amount, 1299n);
    assert.equal(la.resource['service.name'], 'api');
    assertNear(nanosToSec(la.log.timeUnixNano), at(80), 0.002, 'log time');
    const lb = logs.find((l) => l.log.body === 'declined by issuer');
    assert.equal(lb.log.spanId, explicit, 'log → its explicit span_id');
    assert.equal(lb.log.severityNumber, 17, 'severity is case-insensitive');
    const lw = logs.find((l) => l.log.body === 'workflow note');
    assert.equal(lw.log.spanId, W, 'log without invocation → the workflow span');
    assert.equal(lw.log.severityNumber, 13);
    assert.equal(lw.resource['service.name'], 'unknown_function');
    for (const l of logs) assert.equal(l.scope.name, 'spindle');
    c.destroy();
  });

  test('numbers: integers vs doubles, nested objects flattened, arrays', { timeout: 15000 }, async () => {
    const cid = uid('typing');
    const now = nowSec();
    // Written by hand: JSON.stringify cannot produce 2.0 or 1e3, and loses 2^53+1.
    const line = `{"type":"span","correlation_id":${JSON.stringify(cid)},"name":"typing","start":${now - 0.01},"end":${now},`
      + '"attributes":{"int":42,"neg":-7,"zero":0,"big":9007199254740993,"max":9223372036854775807,'
      + '"overflow":9223372036854775808,"dbl":1.5,"dblint":2.0,"exp":1e3,"negexp":-2.5e-3,'
      + '"t":true,"f":false,"s":"x","empty":"","ints":[1,2,3],"strs":["a","b"],"bools":[true,false],"dbls":[0.5,1.5],'
      + '"nested":{"a":{"b":"c"},"k":1}}}\n';
    const c = await h.connect();
    await c.send(line);
    const ack = await c.flush();
    assert.equal(ack.accepted, 1, JSON.stringify(ack));
    const T = ids.traceIdFor(cid);
    const s = await h.sink.waitFor((x) => x.spans().find((y) => y.span.name === 'typing' && y.span.traceId === T), 5000, 'typing span');
    const at = s.span.attributes;
    const expect = {
      int: 42n, neg: -7n, zero: 0n, big: 9007199254740993n, max: 9223372036854775807n,
      overflow: 9223372036854775808, dbl: 1.5, dblint: 2, exp: 1000, negexp: -0.0025,
      t: true, f: false, s: 'x', empty: '', ints: [1n, 2n, 3n], strs: ['a', 'b'], bools: [true, false], dbls: [0.5, 1.5],
      'nested.a.b': 'c', 'nested.k': 1n,
    };
    for (const [k, v] of Object.entries(expect)) {
      assert.deepEqual(at[k], v, `attribute ${k}: expected ${typeof v} ${String(v)}, got ${typeof at[k]} ${String(at[k])}`);
    }
    assert.equal(at.nested, undefined, 'nested objects are flattened, not kept as maps');
    // Typed on the wire too: int attributes use intValue, doubles doubleValue.
    const kv = Object.fromEntries(s.span.attributeList.map((x) => [x.key, x.value]));
    assert.ok('doubleValue' in kv.dblint, `2.0 is a double: ${JSON.stringify(kv.dblint)}`);
    assert.ok('doubleValue' in kv.exp, `1e3 is a double: ${JSON.stringify(kv.exp)}`);
    assert.ok('intValue' in kv.int, `42 is an int: ${JSON.stringify(kv.int)}`);
    c.destroy();
  });

  test('when a span has both end and duration_ms, end wins', { timeout: 10000 }, async () => {
    const cid = uid('endwins');
    const start = nowSec(-1000);
    const c = await h.connect();
    await c.send(r.span(cid, `endwins-${cid}`, { start, end: start + 0.1, duration_ms: 5000 }));
    assert.equal((await c.flush()).accepted, 1);
    const s = await h.sink.waitFor((x) => spansNamed(x, `endwins-${cid}`)[0], 5000, 'span');
    assertNear(nanosToSec(s.span.endTimeUnixNano) - nanosToSec(s.span.startTimeUnixNano), 0.1, 0.001, 'duration');
    c.destroy();
  });

  test('other events become span events; counts are idempotent', { timeout: 20000 }, async () => {
    const cid = uid('events');
    const IA = ids.invocationSpanIdFor(cid, 'e1');
    const W = ids.workflowSpanIdFor(cid);
    const c = await h.connect();
    await c.sendAll([
      r.workflowStart(cid, { workflow: 'events' }),
      r.invocationStart(cid, 'e1', { function: 'worker', cold_start: true, attempt: 2 }),
      r.event(cid, 'cold_start', { invocation_id: 'e1', function: 'worker', init_duration_ms: 120 }),
      r.event(cid, 'retry', { invocation_id: 'e1', function: 'worker', attempt: 2, reason: 'timeout' }),
      r.event(cid, 'throttle', { invocation_id: 'e1', function: 'worker', reason: 'concurrency' }),
      r.event(cid, 'cache_miss', { invocation_id: 'e1', function: 'worker', attributes: { key: 'user:1' } }),
      r.invocationEnd(cid, 'e1', { function: 'worker', status: 'timeout' }),
      r.event(cid, 'dead_letter', { queue: 'orders-dlq', reason: 'max retries', message_id: 'm-1' }),
      r.event(cid, 'custom_marker', { attributes: { step: 3 } }),
      r.workflowEnd(cid),
    ]);
    const ack = await c.flush();
    assert.equal(ack.accepted, 10, JSON.stringify(ack));
    const [wf] = await h.sink.waitFor((s) => { const w = workflowSpans(s, cid); return w.length ? w : null; }, 5000, 'workflow span');
    const inv = await h.sink.waitFor((s) => spanById(s, IA), 5000, 'invocation span');
    assert.equal(wf.span.spanId, W);
    assert.equal(wf.span.attributes['spindle.workflow.invocations'], 1n);
    assert.equal(wf.span.attributes['spindle.workflow.cold_starts'], 1n, 'cold start counted once (flag + event)');
    assert.equal(wf.span.attributes['spindle.workflow.retries'], 1n, 'retry counted once (attempt 2 + retry event)');
    assert.equal(wf.span.attributes['spindle.workflow.throttles'], 1n);
    assert.equal(wf.span.attributes['spindle.workflow.dead_letters'], 1n);
    assert.equal(wf.span.status.code, StatusCode.ERROR, 'dead letter / timed-out invocation → error');
    assert.equal(inv.span.status.code, StatusCode.ERROR, 'invocation_end timeout → error');
    assert.equal(inv.span.attributes['spindle.attempt'], 2n);
    const invEvents = inv.span.events.map((e) => e.name);
    for (const n of ['cold_start', 'retry', 'throttle', 'cache_miss']) assert.ok(invEvents.includes(n), `invocation span has event ${n}: ${invEvents}`);
    const miss = inv.span.events.find((e) => e.name === 'cache_miss');
    assert.equal(miss.attributes.key, 'user:1');
    const wfEvents = wf.span.events.map((e) => e.name);
    for (const n of ['dead_letter', 'custom_marker']) assert.ok(wfEvents.includes(n), `workflow span has event ${n}: ${wfEvents}`);
    assert.equal(spansNamed(h.sink, 'cache_miss').length, 0, 'events are not spans');
    c.destroy();
  });
});

// More invocations than a workflow tracks (4,096): the ones past the cap are still counted and
// still get a span (from their invocation_start, so that their children's parent exists even
// when no end comes); their end's status arrives as a log record on that span.
describe('a workflow with more invocations than the per-workflow cap', needBinary, () => {
  let h;
  before(async () => { h = await setup({ config: { correlation: { grace_period: '200ms', idle_timeout: '60s' } } }); });
  after(async () => { if (h) await h.close(); });

  test('4,096 tracked, 3 past the cap: counted, each with its span, failures kept', { timeout: 60000 }, async () => {
    const cid = uid('fanout');
    const T = ids.traceIdFor(cid);
    const c = await h.connect();
    const CAP = 4096;
    let lines = [r.workflowStart(cid, { workflow: 'fanout' })];
    for (let i = 0; i < CAP; i++) {
      lines.push(r.invocationStart(cid, `t-${i}`, { function: 'worker' }), r.invocationEnd(cid, `t-${i}`, { function: 'worker' }));
      if (lines.length >= 1000) { c.sendAll(lines); lines = []; }
    }
    const t0 = nowSec();
    lines.push(
      r.invocationStart(cid, 'u-ended', { function: 'worker', trigger: 'pubsub', ts: t0 }),
      r.invocationEnd(cid, 'u-ended', { function: 'worker', status: 'error', error: 'boom', ts: t0 + 0.5 }),
      r.invocationStart(cid, 'u-open', { function: 'worker', ts: t0 + 1 }), // no end ever comes
      r.span(cid, 'child of u-open', { invocation_id: 'u-open', function: 'worker' }),
      r.invocationStart(cid, 'u-third', { function: 'worker', ts: t0 + 2 }),
      r.invocationEnd(cid, 'u-third', { function: 'worker', ts: t0 + 3 }),
      r.workflowEnd(cid),
    );
    c.sendAll(lines);
    const ack = await c.flush(uid('f'), 20000);
    assert.equal(ack.accepted, 1 + 2 * CAP + 7);
    assert.equal(ack.rejected, 0);
    const wf = (await h.sink.waitFor((s) => workflowSpans(s, cid)[0], 20000, 'the workflow span')).span;
    assert.equal(wf.attributes['spindle.workflow.invocations'], BigInt(CAP + 3), 'the true number of invocations');
    assert.equal(wf.attributes['spindle.workflow.invocations_untracked'], 3n, 'marked: 3 past the cap');
    assert.equal(wf.status.code, StatusCode.ERROR, 'an untracked invocation failed');

    for (const inv of ['u-ended', 'u-open', 'u-third']) {
      const id = ids.invocationSpanIdFor(cid, inv);
      const s = (await h.sink.waitFor((x) => spanById(x, id), 10000, `span of ${inv}`)).span;
      assert.equal(s.traceId, T);
      assert.equal(s.parentSpanId, ids.workflowSpanIdFor(cid));
      assert.equal(s.attributes['faas.invocation_id'], inv);
      assert.equal(s.attributes['spindle.invocation.untracked'], true);
      assert.equal(spansOfTrace(h.sink, T).filter((x) => x.span.spanId === id).length, 1, `one span for ${inv}`);
    }
    const uEnded = spanById(h.sink, ids.invocationSpanIdFor(cid, 'u-ended')).span;
    assert.equal(uEnded.attributes['faas.trigger'], 'pubsub');
    assertNear(nanosToSec(uEnded.startTimeUnixNano), t0, 0.01, 'starts at its invocation_start');
    const child = spansNamed(h.sink, 'child of u-open').find((s) => s.span.traceId === T);
    assert.ok(child, 'the child span of an untracked invocation');
    assert.equal(child.span.parentSpanId, ids.invocationSpanIdFor(cid, 'u-open'), 'its parent exists');
    const end = await h.sink.waitFor((s) => logsOfTrace(s, T).find((l) => l.log.body === 'invocation_end'
      && l.log.spanId === ids.invocationSpanIdFor(cid, 'u-ended')), 10000, 'the untracked end as a log record');
    assert.equal(end.log.attributes['spindle.invocation.status'], 'error');
    assert.equal(end.log.attributes['spindle.invocation.error'], 'boom');
    c.destroy();
  });
});
