'use strict';
// Traces as an on-call engineer opens them (issue 9, items 6 to 9): the complete example of
// docs/protocol.md fed as it is written, the workflow span's resource, a dead letter sent after
// its invocation ended, and events exported as log records (OTLP event_name), all decoded at the
// sink (protobuf) or read back from the file exporter (OTLP/JSON).

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup, testConfig, needBinary } = require('./lib/harness');
const { startAgent } = require('./lib/agent');
const { connect } = require('./lib/client');
const r = require('./lib/records');
const ids = require('./lib/ids');
const otlp = require('./lib/otlp');
const { uid, waitUntil, sleep } = require('./lib/util');
const { spansOfTrace, workflowSpans, metricPoints, nanosToSec, assertNear } = require('./lib/find');

const PROTOCOL_MD = path.join(__dirname, '../../docs/protocol.md');

/** The record lines and the stated reply of docs/protocol.md's "A complete example". */
function docsExample() {
  const doc = fs.readFileSync(PROTOCOL_MD, 'utf8');
  const at = doc.indexOf('\n## A complete example');
  assert.ok(at >= 0, 'docs/protocol.md has "A complete example"');
  const section = doc.slice(at);
  const block = /```jsonl\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'the example has a jsonl block');
  const lines = block[1].split('\n').filter((l) => l.trim());
  const reply = /The agent replies\s*`(\{[^`]*\})`/.exec(section);
  assert.ok(reply, 'the example states the reply');
  return { lines, records: lines.map((l) => JSON.parse(l)), reply: JSON.parse(reply[1]) };
}

/** Seconds since the epoch of an RFC 3339 string or a number, as the protocol reads them. */
const toSec = (t) => (typeof t === 'number' ? t : Date.parse(t) / 1000);

describe('traces as on-call opens them', needBinary, () => {
  const toClose = [];
  after(async () => {
    for (const x of toClose.reverse()) await x();
  });

  test('the complete example of docs/protocol.md: one trace, times and durations as written', { timeout: 30000 }, async () => {
    const { lines, records, reply } = docsExample();
    // Every record of the example has its own time (item 9): no record falls back to the
    // receive time, which would stretch spans and durations from 2025 to today.
    for (const rec of records) {
      if (rec.type === 'flush') continue;
      assert.ok(rec.ts !== undefined || (rec.start !== undefined && rec.end !== undefined),
        `the example's record has a time: ${JSON.stringify(rec)}`);
    }
    const h = await setup({ config: { metrics: { interval: '300ms' } } });
    toClose.push(() => h.close());
    const c = await h.connect();
    const flush = records.find((x) => x.type === 'flush');
    assert.ok(flush, 'the example ends with a flush');
    const ack = c.waitForLine((v) => v && v.ack === flush.id, 5000, 'the example\'s ack');
    await c.send(`${lines.join('\n')}\n`);
    assert.deepEqual(await ack, reply, 'the reply the docs state');

    const T = '0e5b073b0ebc6fd35dba979f58beeee3';
    const W = 'b77d3f462ad75805';
    const I1 = ids.invocationSpanIdFor('order-7731', 'inv-0001');
    const I2 = ids.invocationSpanIdFor('order-7731', 'inv-0002');
    await h.sink.waitFor((s) => spansOfTrace(s, T).some((x) => x.span.spanId === W), 8000, 'the workflow span');
    await h.sink.waitFor((s) => metricPoints(s, 'faas.invoke_duration').some((m) => Number(m.point.count) === 2),
      8000, 'faas.invoke_duration with both invocations');
    await sleep(300);

    const spans = spansOfTrace(h.sink, T);
    assert.equal(spans.length, 4, `4 spans: ${spans.map((x) => x.span.name).join(', ')}`);
    const byId = Object.fromEntries(spans.map((x) => [x.span.spanId, x]));
    const dur = (x) => nanosToSec(x.span.endTimeUnixNano) - nanosToSec(x.span.startTimeUnixNano);

    // The workflow span: the workflow's name as its service (item 7), 12:00:00 to 12:00:01.5.
    const wf = byId[W];
    assert.ok(wf, 'the workflow span');
    assert.equal(wf.span.name, 'checkout');
    assert.equal(wf.resource['service.name'], 'checkout', 'not unknown_function');
    assert.equal(wf.resource['faas.name'], undefined, 'a workflow is not a function');
    assert.equal(nanosToSec(wf.span.startTimeUnixNano), toSec('2025-03-01T12:00:00Z'));
    assertNear(nanosToSec(wf.span.endTimeUnixNano), 1740830401.5, 1e-6, 'workflow end');
    assertNear(dur(wf), 1.5, 1e-6, 'workflow span duration (s)');

    // Every span lies inside the workflow's 1.5 s; the invocations last what the docs say.
    for (const x of spans) {
      assert.ok(dur(x) >= 0 && dur(x) <= 1.5, `${x.span.name} lasts ${dur(x)} s`);
      assert.ok(nanosToSec(x.span.startTimeUnixNano) >= 1740830400, `${x.span.name} starts in the workflow`);
      assert.ok(nanosToSec(x.span.endTimeUnixNano) <= 1740830401.5 + 1e-6, `${x.span.name} ends in the workflow`);
    }
    assert.equal(byId[I1].resource['service.name'], 'charge-card');
    assertNear(dur(byId[I1]), 0.24, 1e-6, 'inv-0001 duration (s)');
    assertNear(dur(byId[I2]), 0.4, 1e-6, 'inv-0002 duration (s)');
    assert.ok(byId[I1].span.events.some((e) => e.name === 'cold_start'), 'cold_start on inv-0001');
    assert.ok(byId[I2].span.events.some((e) => e.name === 'retry'), 'retry on inv-0002');
    assertNear(dur(byId['5f1c0a2b3c4d5e6f']), 0.084, 1e-6, 'POST /v1/charges duration (s)');

    const log = h.sink.logs().find((l) => l.log.body === 'issuer returned 502');
    assert.ok(log, 'the log line');
    assert.equal(log.log.spanId, '5f1c0a2b3c4d5e6f');
    assertNear(nanosToSec(log.log.timeUnixNano), toSec('2025-03-01T12:00:00.205Z'), 1e-6, 'log time');

    // Derived durations are those of the example, not months (item 9).
    const latest = (name) => {
      const pts = metricPoints(h.sink, name).filter((m) => m.resource['service.name'] === 'charge-card');
      return pts[pts.length - 1].point;
    };
    const inv = latest('faas.invoke_duration');
    assert.equal(Number(inv.count), 2);
    assertNear(Number(inv.sum), 0.64, 1e-6, 'faas.invoke_duration sum (s)');
    assert.ok(Number(inv.max) <= 1.5, `faas.invoke_duration max ${inv.max} s`);
    const init = latest('faas.init_duration');
    assertNear(Number(init.sum), 0.3124, 1e-6, 'faas.init_duration sum (s)');
  });

  test('a configured service name (OTEL_SERVICE_NAME) names the workflow span\'s resource', { timeout: 20000 }, async () => {
    const h = await setup({ env: { OTEL_SERVICE_NAME: 'shop' } });
    toClose.push(() => h.close());
    const c = await h.connect();
    const cid = uid('svc');
    const gw = uid('gw');
    await c.sendAll([
      r.workflowStart(cid, { workflow: 'checkout' }),
      r.workflowEnd(cid),
      r.workflowStart(gw, { workflow: 'checkout', function: 'gateway' }),
      r.workflowEnd(gw),
    ]);
    assert.equal((await c.flush()).accepted, 4);
    await h.sink.waitFor((s) => workflowSpans(s, cid).length === 1 && workflowSpans(s, gw).length === 1,
      8000, 'both workflow spans');
    const wf = workflowSpans(h.sink, cid)[0];
    assert.equal(wf.span.name, 'checkout');
    assert.equal(wf.resource['service.name'], 'shop');
    assert.equal(wf.resource['faas.name'], undefined);
    // A function on workflow_start stays the resource, as for any record.
    const g = workflowSpans(h.sink, gw)[0];
    assert.equal(g.resource['service.name'], 'gateway');
    assert.equal(g.resource['faas.name'], 'gateway');
  });

  test('a dead letter after its invocation ended: the trace opened from the DeadLetter alert shows it', { timeout: 20000 }, async () => {
    const h = await setup();
    toClose.push(() => h.close());
    const c = await h.connect();
    const cid = uid('dl');
    const I = ids.invocationSpanIdFor(cid, 'inv-1');
    await c.sendAll([
      r.workflowStart(cid, { workflow: 'orders' }),
      r.invocationStart(cid, 'inv-1', { function: 'ship' }),
      r.invocationEnd(cid, 'inv-1', { function: 'ship', status: 'error', error: 'carrier down' }),
    ]);
    assert.equal((await c.flush()).accepted, 3);
    await h.sink.waitFor((s) => s.spans().some((x) => x.span.spanId === I), 5000, 'the invocation span');
    await c.sendAll([
      r.event(cid, 'dead_letter', { invocation_id: 'inv-1', function: 'ship', queue: 'orders-dlq', reason: 'gave up', message_id: 'm-1' }),
      r.workflowEnd(cid),
    ]);
    assert.equal((await c.flush()).accepted, 2);

    const isAlert = (l) => l.log.attributes['alert.name'] === 'DeadLetter' && l.log.attributes['spindle.correlation_id'] === cid;
    await h.sink.waitFor((s) => s.logs().some(isAlert) && workflowSpans(s, cid).length === 1, 8000,
      'the DeadLetter alert record and the workflow span');
    await sleep(300);
    const alert = h.sink.logs().find(isAlert).log;
    // Open the alert's trace, at the span it points to: the dead letter is there.
    const target = spansOfTrace(h.sink, alert.traceId).find((x) => x.span.spanId === alert.spanId);
    assert.ok(target, `the alert's span ${alert.spanId} is in its trace`);
    const ev = target.span.events.filter((e) => e.name === 'dead_letter');
    assert.equal(ev.length, 1, `one dead_letter event on ${target.span.name}: ${target.span.events.map((e) => e.name)}`);
    assert.equal(ev[0].attributes['messaging.destination.name'], 'orders-dlq');
    assert.equal(ev[0].attributes['messaging.message.id'], 'm-1');
    assert.equal(ev[0].attributes['spindle.reason'], 'gave up');
    assert.equal(ev[0].attributes['faas.invocation_id'], 'inv-1', 'names its invocation');
    assert.equal(target.span.attributes['spindle.workflow.dead_letters'], 1n);
    // ...and not as a stray log record beside the trace.
    assert.equal(h.sink.logs().filter((l) => l.log.attributes['spindle.correlation_id'] === cid
      && l.log.body === 'dead_letter').length, 0, 'no dead_letter log record');
    assert.equal(alert.eventName, 'spindle.alert', 'the alert record is an event too');
  });

  test('an event exported as a log record carries OTLP event_name (protobuf) and the event.name attribute', { timeout: 20000 }, async () => {
    // No workflow span of this agent's to live on: the event becomes a log record.
    const h = await setup({ config: { correlation: { root_without_start: false, idle_timeout: '300ms' } } });
    toClose.push(() => h.close());
    const c = await h.connect();
    const cid = uid('ev');
    await c.sendAll([r.event(cid, 'cache_miss', { invocation_id: 'inv-x', attributes: { key: 'customer:88' } })]);
    assert.equal((await c.flush()).accepted, 1);
    await h.sink.waitFor((s) => s.logs().some((l) => l.log.attributes['spindle.correlation_id'] === cid), 8000, 'the event');
    const l = h.sink.logs().find((x) => x.log.attributes['spindle.correlation_id'] === cid).log;
    assert.equal(l.eventName, 'cache_miss', 'LogRecord.event_name decoded by the official definitions');
    assert.equal(l.attributes['event.name'], 'cache_miss');
    assert.equal(l.body, 'cache_miss');
    assert.equal(l.attributes.key, 'customer:88');
    assert.equal(l.traceId, ids.traceIdFor(cid));
    assert.equal(l.spanId, ids.invocationSpanIdFor(cid, 'inv-x'));
  });

  test('an event exported as a log record carries eventName in OTLP/JSON (file exporter)', { timeout: 20000 }, async () => {
    const a = await startAgent({
      config: testConfig(undefined, {
        file: { directory: './out' },
        correlation: { root_without_start: false, idle_timeout: '300ms' },
      }),
    });
    toClose.push(() => a.stop());
    const c = await connect(a.socketPath);
    const cid = uid('evj');
    await c.sendAll([r.event(cid, 'cache_miss', { attributes: { key: 'k' } })]);
    assert.equal((await c.flush()).accepted, 1);
    c.destroy();
    const file = path.join(a.dir, 'out', 'logs.jsonl');
    const rec = await waitUntil(() => {
      if (!fs.existsSync(file)) return undefined;
      const reqs = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1).map((x) => JSON.parse(x));
      for (const req of reqs) {
        for (const rl of req.resourceLogs || []) {
          for (const sl of rl.scopeLogs || []) {
            for (const lr of sl.logRecords || []) {
              if (otlp.attrs(lr.attributes)['spindle.correlation_id'] === cid) return lr;
            }
          }
        }
      }
      return undefined;
    }, { timeoutMs: 8000, what: 'the event in logs.jsonl' });
    assert.equal(rec.eventName, 'cache_miss');
    assert.equal(otlp.attrs(rec.attributes)['event.name'], 'cache_miss');
  });
});
