'use strict';
// The OTLP/HTTP receiver (collectors/otlp): the official OpenTelemetry JS SDK, configured only by
// OTEL_EXPORTER_OTLP_ENDPOINT, exports to spindle; what reaches the sink is decoded
// independently (lib/otlp.js). Spans naming a workflow join its trace with their span ids and a
// link to their old trace, their children follow, unrelated spans keep their ids.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const zlib = require('node:zlib');
const { setup, testConfig, needBinary } = require('./lib/harness');
const { startSink } = require('./lib/sink');
const { agentEnv, startAgent, runSpindle } = require('./lib/agent');
const { encodeProtobuf } = require('./lib/otlp');
const rec = require('./lib/records');
const ids = require('./lib/ids');
const { uid, sleep, makeTempDir, waitUntil, merge } = require('./lib/util');

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
  const h = await setup({ ...opts, config: merge({ otlp: { listen: '127.0.0.1:0' } }, extra) });
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

/** An OTLP/JSON traces body: a span naming workflow `cid`, its child, and an unrelated span. */
function jsonTraces(cid) {
  const t1 = ids.randomHex(16), t2 = ids.randomHex(16);
  const a = ids.randomHex(8), b = ids.randomHex(8), c = ids.randomHex(8);
  const now = BigInt(Date.now()) * 1000000n;
  const span = (traceId, spanId, name, extra = {}) => ({
    traceId, spanId, name, kind: 2, startTimeUnixNano: String(now - 1000000n), endTimeUnixNano: String(now), ...extra,
  });
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-fn' } }, { key: 'app.correlation_id', value: { stringValue: cid } }] },
      scopeSpans: [{
        scope: { name: 'json-lib', version: '0.1' },
        spans: [span(t1, a, 'handler', { attributes: [{ key: 'n', value: { intValue: '9007199254740993' } }] }),
          span(t1, b, 'child', { parentSpanId: a })],
      }],
    }, {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-other' } }] },
      scopeSpans: [{ scope: { name: 'json-lib' }, spans: [span(t2, c, 'unrelated')] }],
    }],
  };
  return { body, t1, t2, a, b, c };
}

async function post(addr, pathName, body, headers = {}) {
  const res = await fetch(`http://${addr}${pathName}`, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

describe('OTLP/HTTP receiver: OTLP/JSON, answers, unix: listener', needBinary, () => {
  test('OTLP/JSON bodies: joined by a resource attribute, int64 as strings, hex ids; 200 {}', { timeout: 30000 }, async () => {
    const h = await startWithReceiver();
    try {
      const cid = uid('json');
      const j = jsonTraces(cid);
      const r = await post(h.addr, '/v1/traces', JSON.stringify(j.body), { 'Content-Type': 'application/json' });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /application\/json/);
      assert.deepEqual(JSON.parse(r.body.toString()), {});
      await h.sink.waitFor((s) => [j.a, j.b, j.c].every((id) => s.spans().some((x) => x.span.spanId === id)), 10000);
      const by = (id) => h.sink.spans().find((x) => x.span.spanId === id);
      const T = ids.traceIdFor(cid);
      assert.equal(by(j.a).span.traceId, T, 'joined through its resource attribute');
      assert.equal(by(j.a).span.parentSpanId, ids.workflowSpanIdFor(cid));
      assert.deepEqual(by(j.a).span.links.map((l) => [l.traceId, l.spanId]), [[j.t1, j.a]]);
      assert.equal(by(j.a).span.attributes.n, 9007199254740993n, 'an int64 beyond 2^53 kept exactly');
      assert.equal(by(j.b).span.traceId, T, 'its child follows');
      assert.equal(by(j.b).span.parentSpanId, j.a);
      assert.equal(by(j.c).span.traceId, j.t2, 'unrelated: unchanged');
      assert.equal(by(j.c).resource['service.name'], 'json-other', 'resource as sent');
      assert.equal(by(j.a).scope.name, 'json-lib');
    } finally {
      await h.close();
    }
  });

  test('a joined root hangs under its invocation span when spindle tracks the invocation', { timeout: 30000 }, async () => {
    const h = await startWithReceiver();
    try {
      const cid = uid('inv');
      const c = await h.connect();
      c.send(rec.invocationStart(cid, 'inv-9', { function: 'api' }));
      await c.flush(uid('f'));
      const mk = (inv) => {
        const j = jsonTraces(cid);
        j.body.resourceSpans[0].scopeSpans[0].spans[0].attributes = [{ key: 'faas.invocation_id', value: { stringValue: inv } }];
        return j;
      };
      const known = mk('inv-9');
      const unknown = mk('inv-unknown');
      for (const j of [known, unknown]) {
        const r = await post(h.addr, '/v1/traces', JSON.stringify(j.body), { 'Content-Type': 'application/json' });
        assert.equal(r.status, 200);
      }
      await h.sink.waitFor((s) => [known.a, unknown.a].every((id) => s.spans().some((x) => x.span.spanId === id)), 10000);
      const by = (id) => h.sink.spans().find((x) => x.span.spanId === id);
      assert.equal(by(known.a).span.parentSpanId, ids.invocationSpanIdFor(cid, 'inv-9'), 'under the tracked invocation');
      assert.equal(by(unknown.a).span.parentSpanId, ids.workflowSpanIdFor(cid), 'an invocation spindle does not know: the workflow span');
    } finally {
      await h.close();
    }
  });

  test('joined traces are remembered up to a bound; the forgotten are counted and pass through', { timeout: 60000 }, async () => {
    const h = await startWithReceiver();
    try {
      const cid = uid('many');
      const N = 10001; // one more than the receiver remembers
      const now = String(BigInt(Date.now()) * 1000000n);
      const traces = Array.from({ length: N }, () => ids.randomHex(16));
      const spans = traces.map((t) => ({ traceId: t, spanId: ids.randomHex(8), name: 'h', startTimeUnixNano: now, endTimeUnixNano: now,
        attributes: [{ key: 'correlation_id', value: { stringValue: cid } }] }));
      let r = await post(h.addr, '/v1/traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }), { 'Content-Type': 'application/json' });
      assert.equal(r.status, 200);
      // Later children of the first (forgotten) and the last (remembered) trace.
      const early = { traceId: traces[0], spanId: ids.randomHex(8), parentSpanId: spans[0].spanId, name: 'late-early', startTimeUnixNano: now, endTimeUnixNano: now };
      const last = { traceId: traces[N - 1], spanId: ids.randomHex(8), parentSpanId: spans[N - 1].spanId, name: 'late-last', startTimeUnixNano: now, endTimeUnixNano: now };
      r = await post(h.addr, '/v1/traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [early, last] }] }] }), { 'Content-Type': 'application/json' });
      assert.equal(r.status, 200);
      await h.sink.waitFor((s) => [early.spanId, last.spanId].every((id) => s.spans().some((x) => x.span.spanId === id)), 20000);
      const by = (id) => h.sink.spans().find((x) => x.span.spanId === id);
      assert.equal(by(last.spanId).span.traceId, ids.traceIdFor(cid), 'a remembered trace is followed');
      assert.equal(by(early.spanId).span.traceId, traces[0], 'a forgotten one passes through unchanged');
      const c = await h.connect();
      const st = await c.stats(uid('s'));
      assert.equal(st.otlp_receiver.traces_forgotten, 1);
      assert.equal(st.otlp_receiver.joined, N);
      assert.equal(st.otlp_receiver.followed, 1);
    } finally {
      await h.close();
    }
  });

  test('partial_success, 400 with a Status, 415, 404, 405', { timeout: 30000 }, async () => {
    const h = await startWithReceiver();
    try {
      const now = String(BigInt(Date.now()) * 1000000n);
      const delta = { resourceMetrics: [{ scopeMetrics: [{ metrics: [
        { name: 'ok.gauge', gauge: { dataPoints: [{ timeUnixNano: now, asDouble: 1.5 }] } },
        { name: 'delta.sum', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: now, asInt: '4' }] } },
      ] }] }] };
      let r = await post(h.addr, '/v1/metrics', JSON.stringify(delta), { 'Content-Type': 'application/json; charset=utf-8' });
      assert.equal(r.status, 200);
      const ps = JSON.parse(r.body.toString()).partialSuccess;
      assert.equal(ps.rejectedDataPoints, '1', 'one point rejected, named as an int64 string');
      assert.match(ps.errorMessage, /delta/);
      await h.sink.waitFor((s) => s.metrics().some((m) => m.metric.name === 'ok.gauge'), 10000);
      assert.ok(!h.sink.metrics().some((m) => m.metric.name === 'delta.sum'));

      r = await post(h.addr, '/v1/traces', '{"resourceSpans":[', { 'Content-Type': 'application/json' });
      assert.equal(r.status, 400);
      const st = JSON.parse(r.body.toString());
      assert.equal(st.code, 3);
      assert.ok(st.message.length > 0);
      r = await post(h.addr, '/v1/traces', Buffer.from([0x0a, 0x05, 0x01]), { 'Content-Type': 'application/x-protobuf' });
      assert.equal(r.status, 400, 'truncated protobuf');
      assert.equal(r.body[0], 0x08, 'a google.rpc.Status: field 1 (code)');
      assert.equal(r.body[1], 3);
      r = await post(h.addr, '/v1/traces', 'hello', { 'Content-Type': 'text/plain' });
      assert.equal(r.status, 415);
      r = await post(h.addr, '/v1/nothing', '{}', { 'Content-Type': 'application/json' });
      assert.equal(r.status, 404);
      const g = await fetch(`http://${h.addr}/v1/traces`);
      assert.equal(g.status, 405);
      const c = await h.connect();
      const s = await c.stats(uid('s'));
      assert.equal(s.otlp_receiver.rejected_undecodable, 2);
      assert.equal(s.otlp_receiver.rejected_content_type, 1);
      assert.equal(s.otlp_receiver.items_rejected, 1);
      await waitUntil(async () => {
        const x = await c.stats(uid('s'));
        return x.otlp_receiver.rejected_not_found === 1 && x.otlp_receiver.rejected_method === 1;
      }, { timeoutMs: 3000, what: '404 and 405 counted' });
    } finally {
      await h.close();
    }
  });

  test('the SDK over the unix: listener', { timeout: 60000 }, async () => {
    const dir = makeTempDir();
    const sock = path.join(dir, 'otlp.sock');
    const h = await startWithReceiver({ otlp: { listen: `unix:${sock}` } });
    try {
      assert.equal(h.addr, `unix:${sock}`);
      const cid = uid('unix');
      const app = await runApp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost' }, { cid, socketPath: sock, signals: ['traces'] });
      assert.ok(app.exported.traces.every((c) => c === 0));
      const sent = app.spans.map((s) => s.spanId);
      await h.sink.waitFor((s) => sent.every((id) => s.spans().some((x) => x.span.spanId === id)), 15000);
      checkTrace(h, app, cid);
    } finally {
      await h.close();
    }
  });
});

describe('OTLP/HTTP receiver: backpressure and crashes', needBinary, () => {
  test('a paused spindle answers 503 with Retry-After: 1, and the SDK\'s own retry delivers', { timeout: 60000 }, async () => {
    let failing = true;
    const h = await startWithReceiver({
      export: { queue_max_bytes: '2KiB', batch_max_items: 5, batch_delay: '20ms', retry_initial: '100ms', retry_max: '200ms' },
      otlp: { compression: 'none' },
    }, { sinkOpts: { respond: () => (failing ? { status: 503 } : undefined) } });
    try {
      // Fill the export queue through the socket until flow control pauses input.
      const c = await h.connect();
      const tag = uid('fill');
      let paused = false;
      for (let i = 0; i < 200 && !paused; i++) {
        for (let k = 0; k < 20; k++) c.send({ type: 'log', correlation_id: `${tag}-${k}`, body: 'x'.repeat(200) });
        await sleep(20);
        const r = await post(h.addr, '/v1/traces', '{}', { 'Content-Type': 'application/json' });
        if (r.status === 503) {
          assert.equal(r.headers.get('retry-after'), '1');
          paused = true;
        }
      }
      assert.ok(paused, 'the receiver answered 503 while input was paused');
      const cid = uid('retry');
      const appRun = runApp({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://${h.addr}` }, { cid, signals: ['traces'] });
      await sleep(1500);
      failing = false; // the sink recovers: queues drain, input resumes
      const app = await appRun;
      assert.ok(app.exported.traces.every((x) => x === 0), `the SDK succeeded in the end: ${JSON.stringify(app.exported)}`);
      const sent = app.spans.map((s) => s.spanId);
      await h.sink.waitFor((s) => sent.every((id) => s.spans().some((x) => x.span.spanId === id)), 20000);
      checkTrace(h, app, cid);
      const st = await c.stats(uid('s'), 10000);
      assert.ok(st.otlp_receiver.rejected_paused >= 2, `503s counted: ${st.otlp_receiver.rejected_paused}`);
    } finally {
      await h.close();
    }
  });

  test('kill -9 after the SDK got its 200 with the journal on: everything arrives after restart', { timeout: 60000 }, async () => {
    const store = makeTempDir();
    let failing = true;
    const h = await startWithReceiver({ storage: { path: store, fsync: 'always' } },
      { sinkOpts: { respond: () => (failing ? { status: 503 } : undefined) } });
    let agent2;
    try {
      const cid = uid('crash');
      const app = await runApp({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://${h.addr}` }, { cid, signals: ['traces', 'logs'] });
      assert.ok(app.exported.traces.every((x) => x === 0) && app.exported.logs.every((x) => x === 0), 'the SDK got its 200s');
      await h.agent.kill();
      assert.equal(h.sink.spans().filter((x) => app.spans.some((s) => s.spanId === x.span.spanId)).length, 0,
        'nothing was delivered before the crash');
      failing = false;
      agent2 = await startAgent({ config: testConfig(h.sink.url, { otlp: { listen: '127.0.0.1:0' }, storage: { path: store } }) });
      const sent = app.spans.map((s) => s.spanId);
      await h.sink.waitFor((s) => sent.every((id) => s.spans().some((x) => x.span.spanId === id)), 20000);
      checkTrace(h, app, cid);
      await h.sink.waitFor((s) => s.logs().some((l) => String(l.log.body) === `order placed ${cid}`), 10000);
      const log = h.sink.logs().find((l) => String(l.log.body) === `order placed ${cid}`);
      assert.equal(log.log.traceId, ids.traceIdFor(cid));
    } finally {
      if (agent2) await agent2.stop();
      await h.close();
    }
  });
});

/** A raw HTTP client: writes `chunks` (with pauses), returns everything read until close or ms. */
function raw(addr, chunks, { gapMs = 0, ms = 5000 } = {}) {
  const [host, port] = addr.split(':');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host);
    const got = [];
    let done = false;
    const finish = (closed) => { if (!done) { done = true; s.destroy(); resolve({ text: Buffer.concat(got).toString('latin1'), closed }); } };
    s.on('data', (d) => got.push(d));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    setTimeout(() => finish(false), ms);
    s.on('connect', async () => {
      for (const c of chunks) {
        if (done) return;
        s.write(c);
        if (gapMs) await sleep(gapMs);
      }
    });
  });
}

function jsonRequest(body, extra = '') {
  return `POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

describe('OTLP/HTTP receiver: bad input is refused, counted, and everyone else is served', needBinary, () => {
  test('truncated protobuf, short and long bodies, a gzip bomb, slowloris, byte-split pipelining', { timeout: 60000 }, async () => {
    const h = await startWithReceiver({ otlp: { max_request_bytes: '1MiB', header_timeout: '1s', idle_timeout: '1s' } });
    try {
      const tag = uid('bad');
      const logBody = (n) => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `${tag}:${n}` } }] }] }] });
      // Truncated protobuf: a real request cut short.
      const pb = encodeProtobuf('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `${tag}:pb` } }] }] }] });
      const r1 = await post(h.addr, '/v1/logs', pb.subarray(0, pb.length - 3), { 'Content-Type': 'application/x-protobuf' });
      assert.equal(r1.status, 400);
      // A gzip bomb: 64 MiB of zeros in a few dozen KiB.
      const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
      const r2 = await post(h.addr, '/v1/logs', bomb, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' });
      assert.equal(r2.status, 413);
      // A body shorter than its Content-Length: the connection is closed after the idle time.
      const short = await raw(h.addr, ['POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"resou'], { ms: 5000 });
      assert.ok(short.closed, 'the connection of a body that never completes is closed');
      assert.equal(short.text, '', 'and nothing is taken from it');
      // Longer than its Content-Length: the excess is a malformed next request (400, closed).
      const long = await raw(h.addr, [jsonRequest(logBody('long')) + 'GARBAGE\r\n\r\n'], { ms: 5000 });
      assert.match(long.text, /^HTTP\/1\.1 200/, 'the request itself is served');
      assert.match(long.text, /HTTP\/1\.1 400/, 'the excess is answered 400');
      assert.ok(long.closed);
      // Slowloris: a header byte every 200 ms; the headers must be in within 1 s.
      const hdr = 'POST /v1/logs HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(40);
      const slow = await raw(h.addr, [...hdr], { gapMs: 200, ms: 8000 });
      assert.match(slow.text, /^HTTP\/1\.1 408/);
      assert.ok(slow.closed);
      // Two pipelined requests written one byte at a time: both answered, in order.
      const two = jsonRequest(logBody('p1')) + jsonRequest(logBody('p2'), 'Connection: close\r\n');
      const piped = await raw(h.addr, [...two].map((ch) => Buffer.from(ch, 'latin1')), { ms: 20000 });
      assert.equal((piped.text.match(/HTTP\/1\.1 200/g) || []).length, 2);
      // Everyone else is served.
      const ok = await post(h.addr, '/v1/logs', logBody('ok'), { 'Content-Type': 'application/json' });
      assert.equal(ok.status, 200);
      await h.sink.waitFor((s) => ['long', 'p1', 'p2', 'ok'].every((n) => s.logs().some((l) => String(l.log.body) === `${tag}:${n}`)), 10000);
      assert.ok(!h.sink.logs().some((l) => String(l.log.body) === `${tag}:pb`), 'nothing of the truncated body');
      const c = await h.connect();
      await waitUntil(async () => {
        const st = (await c.stats(uid('s'))).otlp_receiver;
        return st.rejected_undecodable === 1 && st.rejected_decompressed_too_large === 1 &&
          st.rejected_idle_timeout === 1 && st.rejected_malformed === 1 && st.rejected_header_timeout === 1;
      }, { timeoutMs: 5000, what: 'every rejection counted by reason' });
      assert.match(h.agent.stderr(), /OTLP request rejected: decompressed body over the limit/);
    } finally {
      await h.close();
    }
  });
});

describe('listener addresses', needBinary, () => {
  test('a configured address that is taken: exit 1 naming it', { timeout: 20000 }, async () => {
    const busy = net.createServer();
    await new Promise((r) => busy.listen(0, '127.0.0.1', r));
    const port = busy.address().port;
    const dir = makeTempDir();
    try {
      const r = await runSpindle(['--socket', path.join(dir, 's.sock'), '--otlp-listen', `127.0.0.1:${port}`], { cwd: dir });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`otlp.listen 127\\.0\\.0\\.1:${port}: address already in use`));
    } finally {
      busy.close();
    }
  });

  test('the default address taken: a warning, the receiver stays off, spindle runs', { timeout: 20000 }, async () => {
    const busy = net.createServer();
    // Ours if free; if someone else holds 4318 it is just as taken.
    await new Promise((r) => { busy.once('error', () => r()); busy.listen(4318, '127.0.0.1', r); });
    try {
      const a = await startAgent({ config: 'file: {enabled: false}\n' });
      try {
        await a.waitForStderr(/OTLP receiver off: its default address is taken.*listen=127\.0\.0\.1:4318/);
        assert.doesNotMatch(a.stderr(), /OTLP receiver listening/);
        const c = await require('./lib/client').connect(a.socketPath);
        const st = await c.stats(uid('s'));
        c.destroy();
        assert.equal(st.listeners.otlp, undefined);
      } finally {
        await a.stop();
      }
    } finally {
      busy.close();
    }
  });

  test('an export endpoint that is spindle\'s own receiver is refused; bad addresses are named', { timeout: 20000 }, async () => {
    const dir = makeTempDir();
    let r = await runSpindle(['--socket', path.join(dir, 's.sock'), '--otlp-listen', '127.0.0.1:4319', '--otlp-endpoint', 'http://localhost:4319'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /spindle's own OTLP receiver/);
    const f = path.join(dir, 'c.yaml');
    fs.writeFileSync(f, 'otlp:\n  listen: localhost:4400\n  endpoint: http://127.0.0.1:4400/\n');
    r = await runSpindle(['--check-config', f]);
    assert.equal(r.code, 1, 'a configured listener and an endpoint reaching it');
    assert.match(r.stderr, /would loop/);
    // At the default address, an endpoint is a collector already there: the receiver stays off.
    fs.writeFileSync(f, 'otlp:\n  endpoint: http://127.0.0.1:4318/\n');
    r = await runSpindle(['--check-config', f]);
    assert.equal(r.code, 0, r.stderr);
    const a = await startAgent({ config: 'otlp:\n  endpoint: http://127.0.0.1:4318/\n' });
    try {
      await a.waitForStderr(/OTLP receiver off: the export endpoint is its default address/);
      assert.doesNotMatch(a.stderr(), /OTLP receiver listening/);
    } finally {
      await a.stop();
    }
    fs.writeFileSync(f, 'otlp:\n  listen: "[::]:4400"\n  endpoint: http://[::1]:4400\n');
    r = await runSpindle(['--check-config', f]);
    assert.equal(r.code, 1, 'a wildcard listener reaches loopback');
    fs.writeFileSync(f, 'otlp:\n  listen: off\n  endpoint: http://127.0.0.1:4318\n');
    r = await runSpindle(['--check-config', f]);
    assert.equal(r.code, 0, `off: nothing to loop into (${r.stderr})`);
    fs.writeFileSync(f, 'log:\n  level: info\notlp:\n  listen: example.com:80\n');
    r = await runSpindle(['--check-config', f]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /c\.yaml:4.*otlp\.listen/);
    r = await runSpindle(['--otlp-listen', 'nonsense']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--otlp-listen 'nonsense'/);
  });
});

// The heavy bodies: 15 MiB of empty gzip members back to back (legal: concatenated members).
// Nothing comes out, so no cap is hit, but inflating one costs ~0.1 s of CPU; twelve completing in
// the same loop turn would block the loop for about a second if it inflated them itself.
const HEAVY_N = 12;

/** HEAVY_N connections send all of `heavy` but its last byte; then the last bytes go together, so
 * that the bodies complete in the same loop turn (t.t0: when). → the answers' text. */
async function sendHeavy(addr, heavy, t) {
  const i = addr.lastIndexOf(':');
  const [host, port] = [addr.slice(0, i), Number(addr.slice(i + 1))];
  const head = Buffer.from(`POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n` +
    `Content-Encoding: gzip\r\nConnection: close\r\nContent-Length: ${heavy.length}\r\n\r\n`);
  const socks = await Promise.all(Array.from({ length: HEAVY_N }, () => new Promise((resolve, reject) => {
    const c = net.connect(port, host, () => resolve(c));
    c.on('error', reject);
  })));
  const answers = socks.map((c) => new Promise((resolve) => {
    let text = '';
    c.on('data', (d) => { text += d.toString('latin1'); });
    c.on('error', () => {});
    c.on('close', () => resolve(text));
  }));
  await Promise.all(socks.map((c) => new Promise((resolve) => c.write(Buffer.concat([head, heavy.subarray(0, heavy.length - 1)]), resolve))));
  await sleep(500); // spindle reads what the kernel holds
  t.t0 = Date.now();
  for (const c of socks) c.write(heavy.subarray(heavy.length - 1));
  return answers;
}

describe('OTLP/HTTP receiver: gzip off the loop, 200 after the journal', needBinary, () => {
  test('large gzip bodies inflate in the thread pool: small requests on another connection are answered meanwhile', { timeout: 120000 }, async (t) => {
    const h = await startWithReceiver();
    try {
      const tag = uid('pool');
      const small = (i) => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `${tag}:${i}` } }] }] }] });
      // Warm up the probe's connection.
      assert.equal((await post(h.addr, '/v1/logs', small('warm'), { 'Content-Type': 'application/json' })).status, 200);
      const member = zlib.gzipSync(Buffer.alloc(0));
      const n = Math.floor((15 * 1024 * 1024) / member.length);
      const heavy = Buffer.alloc(n * member.length);
      for (let i = 0; i < n; i++) member.copy(heavy, i * member.length);
      const t0Ref = {};
      const answers = await sendHeavy(h.addr, heavy, t0Ref);
      const t0 = t0Ref.t0;
      let done = false;
      const heavyAll = Promise.all(answers).finally(() => { done = true; });
      const lat = [];
      // The probe: one small request at a time, each timed, until every heavy body is answered.
      for (let i = 0; !done && i < 2000; i++) {
        const s = Date.now();
        const r = await post(h.addr, '/v1/logs', small(i), { 'Content-Type': 'application/json' });
        assert.equal(r.status, 200);
        lat.push(Date.now() - s);
        await sleep(10);
      }
      const rs = await heavyAll;
      const T = Date.now() - t0;
      assert.deepEqual(rs.map((x) => x.slice(0, 12)), Array(HEAVY_N).fill('HTTP/1.1 200'), 'every heavy (empty) request is accepted');
      const max = Math.max(...lat);
      t.diagnostic(`heavy ${T} ms, ${lat.length} probes, slowest ${max} ms`);
      assert.ok(T >= 200, `the heavy bodies took ${T} ms: too fast for the check to mean anything`);
      // Inflated on the loop, the probe waits behind all of them (seen: 1 probe, max ~T; in the
      // pool: 14-31 probes, max 14-80 ms of T 260-950 ms).
      assert.ok(max < T / 3, `the slowest small request took ${max} ms while the gzip bodies took ${T} ms`);
      assert.ok(lat.length >= 5, `${lat.length} small requests answered while ${T} ms of gzip went on`);
      // Stopping while twelve bodies inflate: each is answered (200, or 503 if the pool gave it
      // back after the stop) or its connection closed, and spindle exits 0.
      const answers2 = await sendHeavy(h.addr, heavy, {});
      await sleep(50);
      const info = await h.agent.stop('SIGTERM', 20000);
      assert.equal(info.code, 0, `exit code ${info.code} signal ${info.signal}`);
      for (const x of await Promise.all(answers2)) assert.match(x, /^(HTTP\/1\.1 (200|503)|$)/);
    } finally {
      await h.close();
    }
  });

  test('a 200 waits for the journal: no 200 while it cannot be written, the 200 once it can', { timeout: 60000 }, async () => {
    const sink = await startSink();
    const jdir = path.join(makeTempDir(), 'journal');
    let a;
    try {
      // Files may not grow past 64 KiB (soft limit; the hard one stays unlimited, so that the
      // test can lift it): the journal's writes fail (EFBIG) past that.
      a = await startAgent({
        dir: makeTempDir(),
        config: testConfig(sink.url, { otlp: { listen: '127.0.0.1:0' }, storage: { path: jdir, fsync: 'always' } }),
        prefix: ['prlimit', '--fsize=65536:unlimited'],
      });
      const addr = await receiverAddress(a);
      const tag = uid('durable');
      const logs = (k, count, pad) => encodeProtobuf('logs', { resourceLogs: [{ scopeLogs: [{ logRecords:
        Array.from({ length: count }, (_, i) => ({ body: { stringValue: `${tag}:${k}:${i}:${pad}` } })) }] }] });
      const pb = { 'Content-Type': 'application/x-protobuf' };
      const r1 = await post(addr, '/v1/logs', logs('fits', 1, ''), pb);
      assert.equal(r1.status, 200, 'a body the journal can hold is answered');
      // ~100 KiB: the segment cannot grow that far.
      const pending = post(addr, '/v1/logs', logs('big', 100, 'y'.repeat(1000)), pb);
      const early = await Promise.race([pending.then((r) => `answered ${r.status}`), sleep(3000).then(() => 'waiting')]);
      assert.equal(early, 'waiting', 'no 200 while the journal cannot write the body');
      await a.waitForStderr(/cannot write the journal; acks wait/);
      // The disk "recovers": the journal's retry writes the body, and the 200 comes.
      execFileSyncP('prlimit', ['--pid', String(a.pid), '--fsize=unlimited']);
      const r2 = await Promise.race([pending, sleep(20000).then(() => ({ status: 'no answer within 20 s' }))]);
      assert.equal(r2.status, 200, 'answered once the journal holds the body');
      await sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith(`${tag}:big:`)).length === 100, 15000);
    } finally {
      if (a) await a.kill();
      await sink.close();
    }
  });
});

describe('OTLP receiver: the journal backlog', needBinary, () => {
  test('bodies the journal cannot take are answered 503, never 200: every 200 is a journaled body', { timeout: 90000 }, async () => {
    // The journal cannot write (file size limit), so what it is given stays in its backlog,
    // which holds 2 x 16 MiB plus one entry. Six gzip bodies of ~15.9 MiB each, sent at once,
    // inflate in the thread pool and reach the door together, after flow control has paused
    // input: the backlog overflows. A body it cannot hold must not be answered as durable.
    const sink = await startSink({ respond: () => ({ status: 503 }) });
    const jdir = path.join(makeTempDir(), 'journal');
    let a;
    try {
      a = await startAgent({
        dir: makeTempDir(),
        config: testConfig(sink.url, { otlp: { listen: '127.0.0.1:0' }, storage: { path: jdir, fsync: 'always', max_bytes: '1GiB' },
          limits: { max_memory: '1GiB' } }),
        prefix: ['prlimit', '--fsize=65536:unlimited'],
      });
      const addr = await receiverAddress(a);
      const stats = async () => { const c = await require('./lib/client').connect(a.socketPath); try { return await c.stats(); } finally { c.destroy(); } };
      const before = (await stats()).journal.journaled;
      const big = (k) => zlib.gzipSync(encodeProtobuf('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [
        { body: { stringValue: `${k}:${'x'.repeat(15.9 * 1024 * 1024)}` } }] }] }] }), { level: 1 });
      const bodies = Array.from({ length: 6 }, (_, k) => big(k));
      const hdr = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' };
      const answers = bodies.map((b) => post(addr, '/v1/logs', b, hdr));
      // Answers that come while the journal cannot write are refusals only.
      await sleep(3000);
      execFileSyncP('prlimit', ['--pid', String(a.pid), '--fsize=unlimited']);
      const got = await Promise.race([Promise.all(answers), sleep(60000).then(() => null)]);
      assert.ok(got, 'every request answered');
      const status = got.map((r) => r.status);
      const ok = status.filter((x) => x === 200).length;
      assert.ok(status.every((x) => x === 200 || x === 503), `200 or 503 only: ${status}`);
      assert.ok(status.includes(503), `the backlog overflowed: some body was refused (${status})`);
      const st = await stats();
      assert.equal(st.journal.journaled - before, ok, `every 200 is a journaled body (answers ${status}, journaled ${st.journal.journaled - before})`);
      assert.ok(st.otlp_receiver.rejected_paused >= status.filter((x) => x === 503).length);
    } finally {
      if (a) await a.kill();
      await sink.close();
    }
  });
});

function execFileSyncP(cmd, args) {
  require('node:child_process').execFileSync(cmd, args, { timeout: 10000 });
}
