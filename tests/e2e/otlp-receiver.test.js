'use strict';
// The OTLP/HTTP receiver (collectors/otlp): the official OpenTelemetry JS SDK, configured only by
// OTEL_EXPORTER_OTLP_ENDPOINT, exports to spindle; what reaches the sink is decoded
// independently (lib/otlp.js). Spans naming a workflow join its trace with their span ids and a
// link to their old trace, their children follow, unrelated spans keep their ids.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { setup, needBinary } = require('./lib/harness');
const { agentEnv } = require('./lib/agent');
const ids = require('./lib/ids');
const { uid, sleep } = require('./lib/util');

const APP = path.join(__dirname, 'fixtures', 'otel-app.js');

/** Runs the instrumented app: → {spans, exported}. */
function runApp(env, plan, timeoutMs = 40000) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [APP, JSON.stringify(plan)], { env: agentEnv(env), timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`otel-app failed: ${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      });
  });
}

/** The receiver's bound address from the start-up log line. */
async function receiverAddress(agent) {
  const line = await agent.waitForStderr(/OTLP receiver listening/);
  return /listen=(\S+)/.exec(line)[1];
}

async function startWithReceiver(extra = {}, opts = {}) {
  const h = await setup({ ...opts, config: { otlp: { listen: '127.0.0.1:0' }, ...extra } });
  h.addr = await receiverAddress(h.agent);
  return h;
}

function attr(attrs, key) {
  return attrs && Object.prototype.hasOwnProperty.call(attrs, key) ? attrs[key] : undefined;
}

/** What the issue promises for the app's five spans, checked at the sink. */
function checkTrace(h, app, cid) {
  const T = ids.traceIdFor(cid);
  const W = ids.workflowSpanIdFor(cid);
  const byId = new Map(h.sink.spans().map((s) => [s.span.spanId, s]));
  const sent = Object.fromEntries(app.spans.map((s) => [s.name, s]));
  for (const s of app.spans) assert.ok(byId.has(s.spanId), `span ${s.name} arrived with its own span id`);
  const root = byId.get(sent['handle-order'].spanId);
  assert.equal(root.span.traceId, T, 'the joined span is in the workflow trace');
  assert.equal(root.span.parentSpanId, W, 'a joined root hangs under the workflow span');
  assert.equal(attr(root.span.attributes, 'app.correlation_id'), cid, 'its correlation attribute stays');
  assert.deepEqual(root.span.links.map((l) => [l.traceId, l.spanId]),
    [[sent['handle-order'].traceId, sent['handle-order'].spanId]], 'a link to its old trace and own span id');
  assert.equal(root.resource['telemetry.sdk.language'], 'nodejs', 'the resource as sent');
  assert.equal(root.scope.name, 'checkout-lib', 'the scope as sent');
  assert.equal(root.scope.version, '1.2.3');
  for (const name of ['db.query', 'db.fetch', 'audit.write']) {
    const s = byId.get(sent[name].spanId);
    assert.equal(s.span.traceId, T, `${name} followed into the workflow trace`);
    assert.equal(s.span.parentSpanId, sent[name].parentSpanId, `${name} keeps its parent`);
    assert.equal((s.span.links || []).length, 0, `${name} gets no link`);
  }
  const other = byId.get(sent['background-job'].spanId);
  assert.equal(other.span.traceId, sent['background-job'].traceId, 'an unrelated span keeps its trace id');
  // The workflow span itself arrives when the workflow closes.
  return { T, W };
}

describe('OTLP/HTTP receiver with the OpenTelemetry JS SDK', needBinary, () => {
  for (const compression of ['none', 'gzip']) {
    test(`traces, logs and metrics over http/protobuf (compression ${compression})`, { timeout: 60000 }, async () => {
      const h = await startWithReceiver({ correlation: { idle_timeout: '500ms', grace_period: '100ms' } });
      try {
        const cid = uid('sdk');
        const app = await runApp({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://${h.addr}`, OTEL_EXPORTER_OTLP_COMPRESSION: compression },
          { cid, signals: ['traces', 'logs', 'metrics'] });
        for (const sig of ['traces', 'logs', 'metrics']) {
          assert.ok(app.exported[sig].length >= 1 && app.exported[sig].every((c) => c === 0), `the SDK saw success for ${sig}`);
        }
        const sent = app.spans.map((s) => s.spanId);
        await h.sink.waitFor((s) => sent.every((id) => s.spans().some((x) => x.span.spanId === id)), 15000);
        const { T, W } = checkTrace(h, app, cid);
        await h.sink.waitFor((s) => s.spans().some((x) => x.span.spanId === W && x.span.traceId === T), 15000);
        assert.equal(h.sink.spans().filter((x) => sent.includes(x.span.spanId)).length, 5, 'nothing lost, nothing twice');

        await h.sink.waitFor((s) => s.logs().filter((l) => /order placed|unrelated log/.test(String(l.log.body))).length >= 2, 15000);
        const joinedLog = h.sink.logs().find((l) => String(l.log.body) === `order placed ${cid}`);
        assert.equal(joinedLog.log.traceId, T, 'a joined log record takes the workflow trace id');
        const plainLog = h.sink.logs().find((l) => String(l.log.body) === 'unrelated log');
        assert.ok(!plainLog.log.traceId, 'a log record naming no workflow is left alone');
        assert.equal(plainLog.resource['telemetry.sdk.name'], 'opentelemetry');

        await h.sink.waitFor((s) => s.metrics().some((m) => m.metric.name === 'orders'), 15000);
        const pts = h.sink.metrics().filter((m) => m.metric.name === 'orders');
        const eu = pts.find((m) => m.point.attributes.region === 'eu');
        assert.equal(Number(eu.point.asDouble), 3);
        assert.ok((eu.point.exemplars || []).some((e) => e.traceId === T), 'an exemplar pointing at the workflow');
        const us = pts.find((m) => m.point.attributes.region === 'us');
        assert.equal((us.point.exemplars || []).length, 0, 'no exemplar without a correlation attribute');
        const lat = h.sink.metrics().find((m) => m.metric.name === 'latency');
        assert.equal(Number(lat.point.count), 2);
        assert.equal(lat.point.sum, 52.5);

        const c = await h.connect();
        const st = await c.stats(uid('s'));
        assert.equal(st.otlp_receiver.spans, 5);
        assert.equal(st.otlp_receiver.log_records, 2);
        assert.ok(st.otlp_receiver.requests_ok >= 4);
        assert.equal(st.listeners.otlp, h.addr, 'the bound address is in --stats');
      } finally {
        await h.close();
      }
    });
  }
});
