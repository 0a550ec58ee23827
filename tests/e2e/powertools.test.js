'use strict';
// AWS Lambda Powertools (issue 12): what @aws-lambda-powertools/logger and /metrics 2.36.0 really
// print (fixtures/powertools-print.js, run in node) fed to spindle on the stream socket (lines
// without a `type`) and as function log lines of the Telemetry API stand-in; the sink decodes
// log records in their workflow with severity and attributes, and EMF as metric points only,
// under an instrumentation scope named after the namespace (one ScopeMetrics per namespace in the
// function's ResourceMetrics, in the OTLP/protobuf request and in the JSON file alike).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { setup, testConfig, needBinary } = require('./lib/harness');
const { startSink } = require('./lib/sink');
const { startAgent } = require('./lib/agent');
const { startLambdaApi } = require('./lib/lambda-api');
const { connect } = require('./lib/client');
const { waitUntil } = require('./lib/util');
const otlp = require('./lib/otlp');

const XROOT = '1-5759e988-bd862e3fe1be46a994272793';
const iso = (ms) => new Date(ms).toISOString();

/** The lines Powertools prints (stdout and stderr), as strings. */
function powertoolsLines(requestId, correlationId) {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'powertools-print.js'), requestId, correlationId],
    { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('{'));
  assert.equal(lines.length, 4, `two log lines and two EMF blobs:\n${r.stdout}${r.stderr}`);
  return lines;
}

function pointValue(m) {
  if (m.type === 'histogram') return Number(m.point.count);
  return Number(m.point.asInt !== undefined ? m.point.asInt : m.point.asDouble);
}

/** What both paths must show at the sink. */
function checkSink(sink, { correlationId, requestId }) {
  const logs = sink.logs().filter((l) => l.log.attributes['service.name'] === 'orders');
  assert.equal(logs.length, 2, `two log records, none for the EMF blob\n${sink.summary()}`);
  const info = logs.find((l) => l.log.body === 'order placed');
  const err = logs.find((l) => l.log.body === 'card declined');
  assert.ok(info && err, 'both log lines, their message as the body');
  assert.equal(info.log.severityNumber, 9);
  assert.equal(info.log.severityText, 'INFO');
  assert.equal(err.log.severityNumber, 17);
  assert.equal(Number(info.log.attributes.orderId), 7, 'extra keys are attributes');
  assert.equal(info.log.attributes['customer.tier'], 'gold', 'nested extra keys are flattened');
  assert.equal(info.log.attributes['faas.invocation_id'], requestId);
  assert.equal(info.log.attributes['faas.coldstart'], false);
  assert.equal(info.log.attributes.function_arn, 'arn:aws:lambda:eu-west-1:123456789012:function:fn-orders');
  assert.equal(info.log.attributes.level, undefined, 'mapped keys are not repeated as attributes');
  assert.equal(err.log.attributes['exception.type'], 'Error');
  assert.equal(err.log.attributes['exception.message'], 'issuer said no');
  assert.match(err.log.attributes['exception.stacktrace'], /^Error: issuer said no\n/);
  // Both in the workflow of the correlation id: its trace is the X-Ray trace of the line.
  assert.equal(info.log.traceId, XROOT.replace(/-/g, '').slice(1), 'the X-Ray trace id is the trace');
  assert.equal(err.log.traceId, info.log.traceId);
  assert.equal(info.log.attributes['spindle.correlation_id'] || correlationId, correlationId);

  const pts = sink.metrics().filter((m) => m.metric.name === 'orders' || m.metric.name === 'latency');
  const orders = pts.filter((m) => m.metric.name === 'orders');
  const latency = pts.filter((m) => m.metric.name === 'latency');
  assert.ok(orders.length >= 1 && latency.length >= 1, `EMF points at the sink\n${sink.summary()}`);
  const o = orders.filter((m) => m.scope.name === 'Shop').pop();
  const l = latency[latency.length - 1];
  assert.ok(o, `orders under the scope Shop\n${sink.summary()}`);
  assert.equal(o.type, 'sum', 'a Count is a counter');
  assert.equal(pointValue(o), 1);
  assert.equal(o.metric.unit, '1');
  assert.equal(l.type, 'histogram', 'Milliseconds are samples');
  assert.equal(pointValue(l), 2, 'an array of values is one point each');
  assert.equal(Number(l.point.sum), 42);
  assert.equal(l.metric.unit, 'ms');
  for (const m of [o, l]) {
    assert.equal(m.point.attributes.env, 'prod', 'dimensions are attributes');
    assert.equal(m.point.attributes.service, 'orders');
    assert.equal(m.scope.name, 'Shop', 'the namespace names the scope');
    assert.equal(m.scope.version, '', 'the namespace has no version');
    assert.equal(m.point.attributes['aws.cloudwatch.namespace'], undefined, 'the namespace is not an attribute as well');
  }
  // The same name in another namespace is another series, under its own scope.
  const b = orders.filter((m) => m.scope.name === 'Billing').pop();
  assert.ok(b, `orders under the scope Billing\n${sink.summary()}`);
  assert.equal(pointValue(b), 5, 'not added to Shop\'s orders');
  assert.equal(pointValue(o), 1);
  assert.equal(Number(b.point.attributes['aws.cloudwatch.storage_resolution']), 1);
  assert.equal(o.resource['service.name'], b.resource['service.name']);
  // Both in one ResourceMetrics of one request: two ScopeMetrics.
  assert.ok(sink.requestsFor('metrics').some((r) => r.status === 200 && scopesTogether(r.body)),
    `a ResourceMetrics with ScopeMetrics Shop and Billing\n${sink.summary()}`);
}

/** A ResourceMetrics of the request holds one ScopeMetrics named Shop and one named Billing. */
function scopesTogether(body) {
  return (body.resourceMetrics || []).some((rm) => {
    const names = (rm.scopeMetrics || []).map((sm) => (sm.scope && sm.scope.name) || '');
    return names.filter((n) => n === 'Shop').length === 1 && names.filter((n) => n === 'Billing').length === 1;
  });
}

describe('AWS Lambda Powertools logs and EMF metrics', needBinary, () => {
  test('on the stream socket: lines without a type', { timeout: 30000 }, async () => {
    const lines = powertoolsLines('req-sock-1', 'order-sock-42');
    const h = await setup({ config: { file: { enabled: true, directory: './files' } } });
    try {
      const c = await h.connect();
      await c.sendAll(lines.map((l) => `${l}\n`));
      // Still rejected: a typeless line that is neither.
      await c.sendAll(['{"level":"INFO","note":"no message"}\n']);
      const ack = await c.flush();
      assert.equal(ack.accepted, 4, JSON.stringify(ack));
      assert.equal(ack.rejected, 1);
      assert.equal(ack.first_error, 'missing_field');
      await h.sink.waitFor((s) => s.logs().length >= 2 && s.metrics().some((m) => m.metric.name === 'latency') &&
        s.requestsFor('metrics').some((r) => r.status === 200 && scopesTogether(r.body)), 10000, 'logs and EMF metrics');
      checkSink(h.sink, { correlationId: 'order-sock-42', requestId: 'req-sock-1' });
      // The JSON file exporter groups alike (otlp_group.c serves both writers).
      const file = path.join(h.agent.dir, 'files', 'metrics.jsonl');
      const reqs = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(0, -1).map((x) => JSON.parse(x)) : []);
      await waitUntil(() => reqs().some(scopesTogether), { timeoutMs: 10000, what: 'Shop and Billing ScopeMetrics in metrics.jsonl' });
      const pts = reqs().flatMap((q) => otlp.flattenMetrics(q)).filter((m) => m.metric.name === 'orders');
      assert.equal(pointValue(pts.filter((m) => m.scope.name === 'Billing').pop()), 5);
      assert.equal(pointValue(pts.filter((m) => m.scope.name === 'Shop').pop()), 1);
    } finally {
      await h.close();
    }
  });

  test('through the Telemetry API: function log lines; the invocation joins the workflow of its correlation_id', { timeout: 30000 }, async () => {
    const lines = powertoolsLines('req-pt-1', 'order-pt-42');
    const sink = await startSink();
    const api = await startLambdaApi();
    const config = testConfig(sink.url, { export: { batch_delay: '10s' }, metrics: { interval: '10m' }, lambda: { flush_budget: '10s' } });
    const agent = await startAgent({ config, env: { AWS_LAMBDA_RUNTIME_API: api.address, AWS_LAMBDA_FUNCTION_NAME: 'fn-orders' } });
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'the first event/next' });
      api.invoke('req-pt-1');
      const t0 = Date.now();
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.start', record: { requestId: 'req-pt-1', version: '$LATEST', tracing: { spanId: '53995c3f42cd8ad8', type: 'X-Amzn-Trace-Id', value: `Root=${XROOT};Parent=53995c3f42cd8ad8;Sampled=1` } } },
        // The Text log format: each line as printed; the JSON log format passes objects through.
        { time: iso(t0 + 5), type: 'function', record: `${lines[0]}\n` },
        { time: iso(t0 + 6), type: 'function', record: JSON.parse(lines[1]) },
        { time: iso(t0 + 7), type: 'function', record: `${lines[2]}\n` },
        { time: iso(t0 + 8), type: 'function', record: JSON.parse(lines[3]) },
        { time: iso(t0 + 50), type: 'platform.runtimeDone', record: { requestId: 'req-pt-1', status: 'success', metrics: { durationMs: 50, producedBytes: 2 } } },
      ]), 200);
      await waitUntil(() => api.nextCalls().length === 2, { timeoutMs: 5000, what: 'event/next after the invocation' });
      api.shutdown(3000);
      const info = await agent.exited;
      assert.equal(info.code, 0, agent.stderr().slice(-2000));
      checkSink(sink, { correlationId: 'order-pt-42', requestId: 'req-pt-1' });
      const inv = sink.spans().find((s) => s.span.attributes['faas.invocation_id'] === 'req-pt-1' && s.span.kind === 2);
      assert.ok(inv, `the invocation span\n${sink.summary()}`);
      const logs = sink.logs().filter((l) => l.log.attributes['service.name'] === 'orders');
      assert.equal(logs[0].log.traceId, inv.span.traceId, 'the logs are on the invocation\'s trace');
      const invs = sink.spans().filter((s) => s.span.attributes['faas.invocation_id'] === 'req-pt-1' && s.span.kind === 2);
      assert.equal(invs.length, 1, `one invocation span, in one workflow\n${sink.summary()}`);
      assert.equal(inv.span.attributes['spindle.correlation_id'], 'order-pt-42', 'the invocation joined the workflow of its correlation_id');
      const wf = sink.spans().find((s) => s.span.name === 'workflow' && s.span.attributes['spindle.correlation_id'] === 'order-pt-42');
      assert.ok(wf && inv.span.parentSpanId === wf.span.spanId, `the invocation under that workflow's span\n${sink.summary()}`);
      assert.equal(sink.spans().filter((s) => s.span.name === 'workflow').length, 1, 'no second workflow keyed by the X-Ray root');
      assert.equal(inv.span.attributes['faas.trigger'], undefined, 'no lambda.trigger: the trigger is unknown, no faas.trigger');
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  // records.log_correlation_keys: the keys that name the workflow, tried in order.
  const logBody = (sink, body) => sink.logs().find((l) => l.log.body === body);

  test('records.log_correlation_keys on the stream socket: the first configured key present names the workflow; the default is unchanged', { timeout: 30000 }, async () => {
    const lines = [
      { level: 'INFO', message: 'both keys', orderRef: 'ord-77', correlation_id: 'cid-x', function_request_id: 'r-1', item: 1 },
      { level: 'INFO', message: 'second key only', correlation_id: 'cid-y', item: 2 },
      { level: 'INFO', message: 'empty first key', orderRef: '', correlation_id: 'cid-z' },
      { level: 'INFO', message: 'too long', orderRef: 'o'.repeat(300) },
      // An EMF blob naming the workflow by the configured key: its point links to it (an exemplar).
      { _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'Shop', Dimensions: [['service']], Metrics: [{ Name: 'ck_orders', Unit: 'Count' }] }] },
        service: 'orders', ck_orders: 1, orderRef: 'ord-77' },
    ].map((o) => `${JSON.stringify(o)}\n`);
    let h = await setup({ config: { records: { log_correlation_keys: ['orderRef', 'correlation_id'] } } });
    try {
      const c = await h.connect();
      await c.sendAll(lines);
      const ack = await c.flush();
      assert.equal(ack.accepted, 4, JSON.stringify(ack));
      assert.equal(ack.rejected, 1, 'an id over 256 bytes under a configured key is bad_value, as correlation_id');
      assert.equal(ack.first_error, 'bad_value');
      await h.sink.waitFor((s) => s.logs().length >= 3 && s.metrics().some((m) => m.metric.name === 'ck_orders'), 10000, 'three log records and the EMF point');
      const both = logBody(h.sink, 'both keys');
      const second = logBody(h.sink, 'second key only');
      const empty = logBody(h.sink, 'empty first key');
      assert.equal(both.log.attributes['spindle.correlation_id'], 'ord-77', `the first configured key wins\n${h.sink.summary()}`);
      assert.equal(second.log.attributes['spindle.correlation_id'], 'cid-y', 'then the next key');
      assert.equal(empty.log.attributes['spindle.correlation_id'], 'cid-z', 'an empty value is skipped');
      assert.notEqual(both.log.traceId, second.log.traceId, 'two workflows, two traces');
      for (const l of [both, second]) {
        assert.equal(l.log.attributes.orderRef, undefined, 'a configured key is not repeated as an attribute');
        assert.equal(l.log.attributes.correlation_id, undefined);
      }
      assert.equal(Number(both.log.attributes.item), 1, 'other keys stay attributes');
      const emf = h.sink.metrics().filter((m) => m.metric.name === 'ck_orders');
      assert.ok(emf.some((m) => m.point.exemplars.some((e) => e.traceId === both.log.traceId)),
        `the EMF point's exemplar is on the workflow its orderRef names\n${JSON.stringify(emf.map((m) => m.point.exemplars))}`);
    } finally {
      await h.close();
    }
    // The default ([correlation_id]): orderRef is the user's key, an attribute like any other.
    h = await setup();
    try {
      const c = await h.connect();
      await c.sendAll([lines[0]]);
      const ack = await c.flush();
      assert.equal(ack.accepted, 1, JSON.stringify(ack));
      await h.sink.waitFor((s) => s.logs().length >= 1, 10000, 'the log record');
      const l = logBody(h.sink, 'both keys');
      assert.equal(l.log.attributes['spindle.correlation_id'], 'cid-x');
      assert.equal(l.log.attributes.orderRef, 'ord-77');
      assert.equal(l.log.attributes.correlation_id, undefined);
    } finally {
      await h.close();
    }
  });

  test('through the Telemetry API: the invocation joins the workflow of a configured key; lambda.trigger is its faas.trigger', { timeout: 30000 }, async () => {
    const sink = await startSink();
    const api = await startLambdaApi();
    const config = testConfig(sink.url, {
      export: { batch_delay: '10s' }, metrics: { interval: '10m' },
      records: { log_correlation_keys: ['orderRef'] },
      lambda: { flush_budget: '10s', trigger: 'pubsub' },
    });
    const agent = await startAgent({ config, env: { AWS_LAMBDA_RUNTIME_API: api.address, AWS_LAMBDA_FUNCTION_NAME: 'fn-orders' } });
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'the first event/next' });
      api.invoke('req-ck-1');
      const t0 = Date.now();
      const xray = `Root=${XROOT};Parent=53995c3f42cd8ad8;Sampled=1`;
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.start', record: { requestId: 'req-ck-1', version: '$LATEST', tracing: { spanId: '53995c3f42cd8ad8', type: 'X-Amzn-Trace-Id', value: xray } } },
        // Lambda's JSON log format passes the object through; the Text format, a string holding it.
        { time: iso(t0 + 5), type: 'function', record: { timestamp: iso(t0 + 5), level: 'INFO', message: 'order in', requestId: 'req-ck-1', orderRef: 'ord-lambda-9', correlation_id: 'not-configured' } },
        { time: iso(t0 + 6), type: 'function', record: `${JSON.stringify({ level: 'WARN', message: 'order slow', requestId: 'req-ck-1', orderRef: 'ord-lambda-9' })}\n` },
        { time: iso(t0 + 50), type: 'platform.runtimeDone', record: { requestId: 'req-ck-1', status: 'success', metrics: { durationMs: 50, producedBytes: 2 } } },
      ]), 200);
      await waitUntil(() => api.nextCalls().length === 2, { timeoutMs: 5000, what: 'event/next after the invocation' });
      api.shutdown(3000);
      const info = await agent.exited;
      assert.equal(info.code, 0, agent.stderr().slice(-2000));
      const invs = sink.spans().filter((s) => s.span.attributes['faas.invocation_id'] === 'req-ck-1' && s.span.kind === 2);
      assert.equal(invs.length, 1, `one invocation span\n${sink.summary()}`);
      const inv = invs[0];
      assert.equal(inv.span.attributes['spindle.correlation_id'], 'ord-lambda-9', 'the invocation joined the workflow its configured key names');
      assert.equal(inv.span.attributes['faas.trigger'], 'pubsub', 'lambda.trigger');
      const wf = sink.spans().find((s) => s.span.name === 'workflow' && s.span.attributes['spindle.correlation_id'] === 'ord-lambda-9');
      assert.ok(wf && inv.span.parentSpanId === wf.span.spanId, `the invocation under that workflow's span\n${sink.summary()}`);
      assert.equal(sink.spans().filter((s) => s.span.name === 'workflow').length, 1, 'no second workflow keyed by the X-Ray root');
      for (const body of ['order in', 'order slow']) {
        const l = logBody(sink, body);
        assert.ok(l, `the log line '${body}'\n${sink.summary()}`);
        assert.equal(l.log.attributes['spindle.correlation_id'], 'ord-lambda-9');
        assert.equal(l.log.traceId, inv.span.traceId, 'on the invocation\'s trace');
        assert.equal(l.log.attributes.orderRef, undefined, 'the configured key is not repeated as an attribute');
      }
      assert.equal(logBody(sink, 'order in').log.attributes.correlation_id, 'not-configured',
        'correlation_id, not among the configured keys, is the user\'s attribute');
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });
});
