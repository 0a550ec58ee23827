'use strict';
// Self-tests of the e2e library (no spindle needed): the sink decodes what the reference
// encoder produced, the client speaks the framing, the agent launcher waits and stops.

const path = require('node:path');
process.env.SPINDLE_BIN = process.env.SPINDLE_E2E_FAKE_BIN || path.join(__dirname, 'fixtures', 'fake-agent.js');

const { test, describe, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const zlib = require('node:zlib');
const fs = require('node:fs');

const { startSink } = require('./lib/sink');
const { connect } = require('./lib/client');
const { startAgent, runSpindle } = require('./lib/agent');
const otlp = require('./lib/otlp');
const ids = require('./lib/ids');
const { makeTempDir, toYaml, merge, waitUntil } = require('./lib/util');

function post(url, pathName, body, headers) {
  return new Promise((resolve, reject) => {
    const u = new URL(pathName, url);
    const req = http.request(u, { method: 'POST', headers: { 'content-length': body.length, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const PARENT = 'eee19b7ec3c1b173';

function traceRequest() {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
      scopeSpans: [{
        scope: { name: 'spindle', version: '0.1.0' },
        spans: [{
          traceId: Buffer.from(TRACE, 'hex'),
          spanId: Buffer.from(SPAN, 'hex'),
          parentSpanId: Buffer.from(PARENT, 'hex'),
          name: 'db.query',
          kind: 2,
          startTimeUnixNano: '1700000000000000000',
          endTimeUnixNano: '1700000000250000000',
          attributes: [
            { key: 'i', value: { intValue: '9007199254740993' } },
            { key: 'd', value: { doubleValue: 2 } },
            { key: 'b', value: { boolValue: false } },
            { key: 's', value: { stringValue: '' } },
            { key: 'a', value: { arrayValue: { values: [{ intValue: 1 }, { intValue: 2 }] } } },
          ],
          droppedAttributesCount: 3,
          status: { code: 2, message: 'boom' },
          links: [{ traceId: Buffer.from(TRACE, 'hex'), spanId: Buffer.from(SPAN, 'hex') }],
        }],
      }],
    }],
  };
}

describe('sink', () => {
  let sink;
  after(async () => { if (sink) await sink.close(); });

  test('decodes gzip protobuf traces with hex ids and typed attributes', { timeout: 5000 }, async () => {
    sink = await startSink();
    const body = zlib.gzipSync(otlp.encodeProtobuf('traces', traceRequest()));
    const res = await post(sink.url, '/v1/traces', body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    // The empty body is a valid (empty) ExportTraceServiceResponse.
    otlp.proto.collector.trace.v1.ExportTraceServiceResponse.decode(res.body);
    const spans = sink.spans();
    assert.equal(spans.length, 1);
    const { span, resource, scope } = spans[0];
    assert.deepEqual(resource, { 'service.name': 'api' });
    assert.equal(scope.name, 'spindle');
    assert.equal(scope.version, '0.1.0');
    assert.equal(span.traceId, TRACE);
    assert.equal(span.spanId, SPAN);
    assert.equal(span.parentSpanId, PARENT);
    assert.equal(span.kind, otlp.SpanKind.SERVER);
    assert.equal(span.startTimeUnixNano, '1700000000000000000');
    assert.deepEqual(span.attributes, { i: 9007199254740993n, d: 2, b: false, s: '', a: [1n, 2n] });
    assert.equal(span.droppedAttributesCount, 3);
    assert.deepEqual(span.status, { code: 2, message: 'boom' });
    assert.equal(span.links[0].traceId, TRACE);
    assert.equal(span.links[0].spanId, SPAN);
    assert.equal(sink.requests[0].headers['content-encoding'], 'gzip');
  });

  test('decodes logs and metrics, plain protobuf', { timeout: 5000 }, async () => {
    sink.clear();
    const logs = {
      resourceLogs: [{
        resource: { attributes: [] },
        scopeLogs: [{
          scope: { name: 'spindle' },
          logRecords: [{ traceId: Buffer.from(TRACE, 'hex'), spanId: Buffer.from(SPAN, 'hex'), severityNumber: 9, body: { kvlistValue: { values: [{ key: 'k', value: { doubleValue: 1.5 } }] } } }],
        }],
      }],
    };
    const metrics = {
      resourceMetrics: [{
        scopeMetrics: [{
          metrics: [
            { name: 'c', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asDouble: 6.5, attributes: [{ key: 'r', value: { stringValue: 'eu' } }], exemplars: [{ asDouble: 1, traceId: Buffer.from(TRACE, 'hex'), spanId: Buffer.from(SPAN, 'hex') }] }] } },
            { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ count: '4', sum: 3106, bucketCounts: ['1', '3'], explicitBounds: [1] }] } },
          ],
        }],
      }],
    };
    let r = await post(sink.url, '/v1/logs', otlp.encodeProtobuf('logs', logs), { 'content-type': 'application/x-protobuf' });
    assert.equal(r.status, 200);
    r = await post(sink.url, '/v1/metrics', otlp.encodeProtobuf('metrics', metrics), { 'content-type': 'application/x-protobuf' });
    assert.equal(r.status, 200);
    const [l] = sink.logs();
    assert.equal(l.log.traceId, TRACE);
    assert.equal(l.log.spanId, SPAN);
    assert.deepEqual(l.log.body, { k: 1.5 });
    const m = sink.metrics();
    assert.equal(m.length, 2);
    assert.equal(m[0].type, 'sum');
    assert.equal(m[0].monotonic, true);
    assert.equal(m[0].temporality, otlp.AggregationTemporality.CUMULATIVE);
    assert.equal(otlp.pointValue(m[0].point), 6.5);
    assert.equal(m[0].point.exemplars[0].traceId, TRACE);
    assert.deepEqual(m[0].point.attributes, { r: 'eu' });
    assert.equal(m[1].type, 'histogram');
    assert.equal(m[1].point.count, '4');
    assert.deepEqual(m[1].point.bucketCounts, ['1', '3']);
    assert.equal(m[1].point.sum, 3106);
  });

  test('accepts OTLP/JSON and per-signal custom paths', { timeout: 5000 }, async () => {
    sink.clear();
    const json = {
      resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'x' } }] },
        scopeSpans: [{ scope: { name: 'spindle' }, spans: [{ traceId: TRACE, spanId: SPAN, name: 'n', kind: 1, attributes: [{ key: 'i', value: { intValue: '7' } }] }] }] }],
    };
    const r = await post(sink.url, '/custom/traces', Buffer.from(JSON.stringify(json)), { 'content-type': 'application/json' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), '{}');
    const [s] = sink.spans();
    assert.equal(s.span.traceId, TRACE);
    assert.deepEqual(s.span.attributes, { i: 7n });
    assert.equal(s.request.path, '/custom/traces');
    assert.equal(s.request.format, 'json');
  });

  test('respond override and waitFor', { timeout: 5000 }, async () => {
    const s2 = await startSink({ respond: (rec) => (rec.signal === 'logs' ? { status: 503, headers: { 'retry-after': '1' } } : undefined) });
    try {
      const r = await post(s2.url, '/v1/logs', otlp.encodeProtobuf('logs', { resourceLogs: [] }), { 'content-type': 'application/x-protobuf' });
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '1');
      const bad = await post(s2.url, '/v1/traces', Buffer.from('garbage\xff'), { 'content-type': 'application/x-protobuf' });
      assert.equal(bad.status, 400);
      assert.equal(s2.errors().length, 1);
      setTimeout(() => post(s2.url, '/v1/traces', otlp.encodeProtobuf('traces', traceRequest()), { 'content-type': 'application/x-protobuf' }), 50);
      const found = await s2.waitFor((s) => s.spans().find((x) => x.span.name === 'db.query'), 2000);
      assert.equal(found.span.spanId, SPAN);
      await assert.rejects(s2.waitFor(() => false, 100, 'never'), /timed out after 100 ms waiting for never/);
    } finally {
      await s2.close();
    }
  });
});

describe('client', () => {
  let server;
  let dir;
  after(() => new Promise((r) => (server ? server.close(r) : r())));

  test('frames records and resolves flush/stats answers', { timeout: 5000 }, async () => {
    dir = makeTempDir();
    const sockPath = path.join(dir, 'fake.sock');
    const received = [];
    server = net.createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        let i;
        while ((i = buf.indexOf(10)) >= 0) {
          const line = buf.subarray(0, i); buf = buf.subarray(i + 1);
          received.push(line);
          let r; try { r = JSON.parse(line.toString()); } catch (_) { continue; }
          // answer in two chunks to exercise line reassembly
          if (r.type === 'flush') { const s = JSON.stringify({ ack: r.id, accepted: 2, rejected: 1, first_error: 'malformed_json' }); c.write(s.slice(0, 5)); setTimeout(() => c.write(`${s.slice(5)}\n`), 10); }
          if (r.type === 'stats') c.write(`${JSON.stringify({ stats: r.id, records: { accepted: 2 } })}\n\n`);
        }
      });
    });
    await new Promise((r) => server.listen(sockPath, r));
    const c = await connect(sockPath);
    await c.send({ type: 'log', correlation_id: 'a', body: 'x' });
    await c.send('not json\n');
    await c.send(Buffer.from([0x7b, 0xff, 0x7d, 0x0a]));
    const ack = await c.flush('f1');
    assert.deepEqual(ack, { ack: 'f1', accepted: 2, rejected: 1, first_error: 'malformed_json' });
    const st = await c.stats('s1');
    assert.equal(st.stats, 's1');
    assert.equal(received[0].toString(), '{"type":"log","correlation_id":"a","body":"x"}');
    assert.equal(received[1].toString(), 'not json');
    assert.deepEqual([...received[2]], [0x7b, 0xff, 0x7d]);
    await c.close();
    await assert.rejects(connect(path.join(dir, 'nope.sock')), /ENOENT/);
  });

  test('a flush with no answer times out', { timeout: 5000 }, async () => {
    const s2path = path.join(dir, 'mute.sock');
    const mute = net.createServer((c) => { c.resume(); c.on('error', () => {}); });
    await new Promise((r) => mute.listen(s2path, r));
    const c = await connect(s2path);
    await assert.rejects(c.flush('x', 100), /timed out after 100 ms waiting for flush ack x/);
    c.destroy();
    await new Promise((r) => mute.close(r));
  });
});

describe('agent launcher (fake binary)', () => {
  test('waits for the socket, captures stderr, stops with SIGTERM', { timeout: 10000 }, async () => {
    const a = await startAgent({ config: 'log:\n  level: info\n', env: { FAKE_START_DELAY_MS: 200 } });
    try {
      assert.ok(fs.statSync(a.socketPath).isSocket());
      assert.equal(path.dirname(a.socketPath), a.dir);
      assert.ok(a.args.includes('--config'));
      const c = await connect(a.socketPath);
      await c.send({ type: 'log', correlation_id: 'a', body: 'x' });
      await c.send('junk\n');
      const ack = await c.flush('a1');
      assert.equal(ack.accepted, 1);
      assert.equal(ack.rejected, 1);
      await a.waitForStderr(/reason=malformed_json/, 2000);
      c.destroy();
    } finally {
      const info = await a.stop();
      assert.deepEqual(info, { code: 0, signal: null });
    }
    assert.match(a.stderr(), /msg="bye"/);
  });

  test('a failing start rejects with the exit code and stderr', { timeout: 10000 }, async () => {
    await assert.rejects(startAgent({ config: null, args: ['--bad'] }), /exit code 1[\s\S]*unknown flag --bad/);
    const r = await runSpindle(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), 'spindle 0.1.0');
  });

  test('env given to the agent drops the caller\'s OTEL_* variables', () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://example.invalid';
    const { agentEnv } = require('./lib/agent');
    const env = agentEnv({ OTEL_SERVICE_NAME: 'svc' });
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
    assert.equal(env.OTEL_SERVICE_NAME, 'svc');
  });
});

describe('util and ids', () => {
  test('id derivation vectors', () => {
    assert.equal(ids.traceIdFor('order-42'), 'fb489cdc872d970ff061e08f2b1c34b8');
    assert.equal(ids.workflowSpanIdFor('order-42'), '2ae9aec2e3cc9b09');
    assert.equal(ids.invocationSpanIdFor('order-42', 'inv-1'), 'aec7b4b8a8293900');
    assert.match(ids.traceparent().header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  test('toYaml / merge', () => {
    const y = toYaml(merge({ a: { b: '1s', c: 2 }, d: true }, { a: { c: 3 }, e: { f: { g: 'x"y' } }, u: undefined }));
    assert.equal(y, 'a:\n  b: "1s"\n  c: 3\nd: true\ne:\n  f:\n    g: "x\\"y"\n');
  });

  test('waitUntil is bounded', async () => {
    await assert.rejects(waitUntil(() => false, { timeoutMs: 50, what: 'nothing' }), /timed out after 50 ms waiting for nothing/);
    assert.equal(await waitUntil(() => 7), 7);
  });
});
