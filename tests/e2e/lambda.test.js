'use strict';
// spindle as an AWS Lambda extension (issue 12), driven by a stand-in for the Extensions and
// Telemetry APIs (lib/lambda-api.js): registration and subscription as AWS documents them,
// Telemetry API events turned into the invocation's spans and logs at the sink, export of an
// invocation before the next event/next (flush in step with the lifecycle), SHUTDOWN within its
// deadline with exit 0, and the counters.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { startSink } = require('./lib/sink');
const { startAgent, runSpindle } = require('./lib/agent');
const { connect } = require('./lib/client');
const { startLambdaApi } = require('./lib/lambda-api');
const { startReceiver, alertsYaml } = require('./lib/alerting');
const { testConfig, needBinary } = require('./lib/harness');
const { waitUntil, makeTempDir } = require('./lib/util');
const path = require('node:path');

const XRAY = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
const iso = (ms) => new Date(ms).toISOString();

async function lambdaSetup(extra = {}, { env = {}, sinkOpts = {}, api: apiOpts = {} } = {}) {
  const sink = await startSink(sinkOpts);
  const api = await startLambdaApi(apiOpts);
  // batch_delay 10s and metrics every 10 min: only the flush in step (or shutdown) brings an
  // invocation's telemetry to the sink within the test's waits.
  const config = testConfig(sink.url, { export: { batch_delay: '10s' }, metrics: { interval: '10m' }, ...extra });
  const agent = await startAgent({ config, env: { AWS_LAMBDA_RUNTIME_API: api.address, AWS_LAMBDA_FUNCTION_NAME: 'fn-orders', ...env } });
  return { sink, api, agent };
}

describe('Lambda extension', needBinary, () => {
  test('--help names --lambda-extension and AWS_LAMBDA_RUNTIME_API', async () => {
    const res = await runSpindle(['--help']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /--lambda-extension/);
    assert.match(res.stdout, /AWS_LAMBDA_RUNTIME_API/);
  });

  test('--lambda-extension without AWS_LAMBDA_RUNTIME_API exits 1 saying so', async () => {
    const res = await runSpindle(['--lambda-extension', '--socket', path.join(makeTempDir(), 's.sock')], { env: { AWS_LAMBDA_RUNTIME_API: undefined } });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /AWS_LAMBDA_RUNTIME_API/);
  });

  for (const [lib, soname] of [['libcurl', 'libcurl.so.4'], ['libcrypto', 'libcrypto.so.3']]) {
    test(`the register request goes out before ${lib} is loaded (start-up: a ${lib} that cannot load still sees it arrive)`, { timeout: 20000 }, async () => {
      // An empty library first on the library path: loading it fails, and spindle exits naming
      // it. The register request must have reached the Extensions API by then: Lambda waits for
      // every extension's registration before it goes on, so it is sent before the slow parts.
      const api = await startLambdaApi();
      try {
        const dir = makeTempDir();
        require('node:fs').writeFileSync(path.join(dir, soname), '');
        const res = await runSpindle(['--socket', path.join(dir, 's.sock')],
          { env: { AWS_LAMBDA_RUNTIME_API: api.address, LD_LIBRARY_PATH: dir } });
        assert.notEqual(res.code, 0, `${lib} did not load`);
        assert.match(res.stderr, /cannot load lib/);
        assert.ok(res.stderr.includes(soname), `the error names ${soname}\n${res.stderr}`);
        await waitUntil(() => api.callsTo('/2020-01-01/extension/register').length === 1,
          { timeoutMs: 3000, what: `the register request, sent before ${lib} loads` });
        const reg = api.callsTo('/2020-01-01/extension/register')[0];
        assert.equal(reg.headers['lambda-extension-name'], 'spindle');
        assert.deepEqual(JSON.parse(reg.body).events, ['INVOKE', 'SHUTDOWN']);
      } finally {
        await api.close();
      }
    });
  }

  test('register, subscribe, a cold and a warm invocation flushed before event/next, SHUTDOWN within its deadline', { timeout: 30000 }, async () => {
    // A budget far above what a loaded machine needs: the order is then deterministic (the budget
    // itself is the slow-backend test's).
    const { sink, api, agent } = await lambdaSetup({ lambda: { flush_budget: '10s' } });
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'the first event/next' });
      const reg = api.callsTo('/2020-01-01/extension/register')[0];
      assert.equal(reg.headers['lambda-extension-name'], 'spindle');
      assert.deepEqual(JSON.parse(reg.body).events, ['INVOKE', 'SHUTDOWN']);
      const sub = api.subscription();
      assert.equal(sub.schemaVersion, '2025-01-29');
      assert.deepEqual(sub.types, ['platform', 'function']);
      assert.deepEqual(sub.buffering, { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 });
      assert.equal(sub.destination.protocol, 'HTTP');
      assert.match(sub.destination.URI, /^http:\/\/sandbox\.localdomain:[1-9][0-9]*\/telemetry$/);
      assert.equal(api.nextCalls()[0].headers['lambda-extension-identifier'], api.extId);

      // Init, then the first (cold) invocation.
      const t0 = Date.now() - 2000;
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.initStart', record: { initializationType: 'on-demand', phase: 'init', runtimeVersion: 'nodejs:20' } },
        { time: iso(t0 + 240), type: 'platform.initRuntimeDone', record: { initializationType: 'on-demand', phase: 'init', status: 'success' } },
        { time: iso(t0 + 250), type: 'platform.initReport', record: { initializationType: 'on-demand', phase: 'init', status: 'success', metrics: { durationMs: 250.5 } } },
      ]), 200);
      api.invoke('req-1');
      await waitUntil(() => api.nextCalls().length === 1 && api.calls.length >= 3, { timeoutMs: 1000 });
      assert.equal(await api.telemetry([
        { time: iso(t0 + 300), type: 'platform.start', record: { requestId: 'req-1', version: '$LATEST', tracing: { spanId: '53995c3f42cd8ad8', type: 'X-Amzn-Trace-Id', value: XRAY } } },
        { time: iso(t0 + 310), type: 'function', record: 'hello from req-1\n' },
        { time: iso(t0 + 320), type: 'function', record: { timestamp: iso(t0 + 320), level: 'ERROR', message: 'card declined', requestId: 'req-1' } },
        { time: iso(t0 + 400), type: 'platform.runtimeDone', record: { requestId: 'req-1', status: 'success', metrics: { durationMs: 100, producedBytes: 12 },
          spans: [{ name: 'responseLatency', start: iso(t0 + 300), durationMs: 90 }, { name: 'responseDuration', start: iso(t0 + 390), durationMs: 5 }] } },
      ]), 200);
      // Flush in step: the invocation's span reaches the sink before spindle asks for the next event.
      await waitUntil(() => api.nextCalls().length === 2, { timeoutMs: 3000, what: 'event/next after req-1' });
      const next2 = api.nextCalls()[1].time;
      const inv1 = sink.spans().find((s) => s.span.attributes['faas.invocation_id'] === 'req-1' && s.span.kind === 2);
      assert.ok(inv1, `req-1's invocation span at the sink before the next event/next\n${sink.summary()}`);
      assert.ok(inv1.request.time <= next2, 'delivered before event/next');
      const logs1 = sink.logs().filter((l) => l.log.traceId === inv1.span.traceId);
      assert.ok(logs1.some((l) => l.log.body === 'hello from req-1'), 'the function log, on the invocation\'s trace');
      assert.ok(logs1.some((l) => l.log.severityNumber === 17 && l.log.body === 'card declined'), 'a JSON log line with its severity');

      // A warm invocation that times out, with a report, dropped logs and an event type from the future.
      api.invoke('req-2');
      await waitUntil(() => api.calls.filter((c) => c.path.endsWith('event/next')).length === 2, { timeoutMs: 1000 });
      const t1 = Date.now();
      assert.equal(await api.telemetry([
        { time: iso(t1), type: 'platform.start', record: { requestId: 'req-2', version: '$LATEST' } },
        { time: iso(t1 + 5), type: 'platform.logsDropped', record: { reason: 'Consumer seems to have fallen behind', droppedRecords: 3, droppedBytes: 300 } },
        { time: iso(t1 + 6), type: 'platform.somethingNew', record: {} },
        { time: iso(t1 + 50), type: 'platform.runtimeDone', record: { requestId: 'req-2', status: 'timeout', metrics: { durationMs: 50, producedBytes: 0 } } },
      ]), 200);
      await waitUntil(() => api.nextCalls().length === 3, { timeoutMs: 3000, what: 'event/next after req-2' });
      const inv2 = sink.spans().find((s) => s.span.attributes['faas.invocation_id'] === 'req-2' && s.span.kind === 2);
      assert.ok(inv2 && inv2.request.time <= api.nextCalls()[2].time, 'req-2 delivered before its event/next');
      assert.equal(inv2.span.attributes['faas.coldstart'], false);
      assert.equal(inv2.span.status.code, 2, 'a timeout is an error status');

      const c = await connect(agent.socketPath);
      const st = await c.stats();
      c.destroy();
      assert.equal(st.dropped.lambda_logs_dropped, 3);
      assert.equal(st.lambda.unknown_events, 1);
      assert.equal(st.lambda.invokes, 2);
      assert.equal(st.lambda.telemetry_batches, 3);
      assert.equal(st.lambda.flushes_over_budget, 0);

      // The cold start: on the first invocation only, with the init span under it.
      assert.equal(inv1.span.attributes['faas.coldstart'], true);
      assert.equal(inv1.resource['service.name'], 'fn-orders');
      assert.equal(inv1.span.traceId, '5759e988bd862e3fe1be46a994272793', 'the X-Ray trace id is the trace id');
      const init = sink.spans().find((s) => s.span.name === 'init');
      assert.ok(init, 'an init span');
      assert.equal(init.span.parentSpanId, inv1.span.spanId);
      assert.equal(init.span.attributes['faas.init.type'], 'on-demand');
      assert.equal(Number(BigInt(String(init.span.endTimeUnixNano)) - BigInt(String(init.span.startTimeUnixNano))) / 1e6, 250.5);
      const rl = sink.spans().find((s) => s.span.name === 'responseLatency');
      assert.ok(rl && rl.span.parentSpanId === inv1.span.spanId, 'runtimeDone spans are children of the invocation');

      // SHUTDOWN: everything delivered within the deadline, exit 0.
      const t2 = Date.now();
      api.shutdown(1500);
      const info = await agent.exited;
      const took = Date.now() - t2;
      assert.equal(info.code, 0, agent.stderr().slice(-2000));
      assert.ok(took < 1500, `exited ${took} ms after SHUTDOWN (deadline 1500 ms)`);
      const cold = sink.metrics().filter((m) => m.metric.name === 'faas.coldstarts' && m.resource['service.name'] === 'fn-orders');
      assert.ok(cold.length >= 1 && cold.every((m) => Number(m.point.asInt || m.point.asDouble) === 1), 'one cold start counted');
      assert.equal(api.callsTo('/2020-01-01/extension/exit/error').length, 0);
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });
  const invSpan = (sink, id) => sink.spans().find((s) => s.span.attributes['faas.invocation_id'] === id && s.span.kind === 2);
  async function coldInvocation(api, type, id, { restore = false } = {}) {
    await waitUntil(() => api.nextCalls().length >= 1, { timeoutMs: 5000, what: 'the first event/next' });
    const t0 = Date.now() - 1000;
    const ev = [{ time: iso(t0), type: 'platform.initStart', record: { initializationType: type, phase: 'init' } },
      { time: iso(t0 + 100), type: 'platform.initRuntimeDone', record: { initializationType: type, phase: 'init', status: 'success' } },
      { time: iso(t0 + 100), type: 'platform.initReport', record: { initializationType: type, phase: 'init', metrics: { durationMs: 100 } } }];
    if (restore) {
      ev.push({ time: iso(t0 + 500), type: 'platform.restoreStart', record: { runtimeVersion: 'java:21' } },
        { time: iso(t0 + 540), type: 'platform.restoreRuntimeDone', record: { status: 'success' } },
        { time: iso(t0 + 540), type: 'platform.restoreReport', record: { status: 'success', metrics: { durationMs: 40 } } });
    }
    assert.equal(await api.telemetry(ev), 200);
    const n = api.nextCalls().length;
    api.invoke(id);
    assert.equal(await api.telemetry([
      { time: iso(t0 + 600), type: 'platform.start', record: { requestId: id } },
      { time: iso(t0 + 700), type: 'platform.runtimeDone', record: { requestId: id, status: 'error', errorType: 'Runtime.Unknown', metrics: { durationMs: 100 } } },
    ]), 200);
    await waitUntil(() => api.nextCalls().length === n + 1, { timeoutMs: 3000, what: `event/next after ${id}` });
  }

  test('provisioned concurrency: an init span but no cold start; an error from runtimeDone', { timeout: 20000 }, async () => {
    const { sink, api, agent } = await lambdaSetup();
    try {
      await coldInvocation(api, 'provisioned-concurrency', 'pc-1');
      const inv = invSpan(sink, 'pc-1');
      assert.ok(inv, sink.summary());
      assert.equal(inv.span.attributes['faas.coldstart'], false, 'a provisioned init is not a cold start');
      assert.equal(inv.span.status.code, 2);
      const init = sink.spans().find((s) => s.span.name === 'init');
      assert.equal(init.span.parentSpanId, inv.span.spanId);
      assert.equal(init.span.attributes['faas.init.type'], 'provisioned-concurrency');
      api.shutdown(1000);
      assert.equal((await agent.exited).code, 0);
      const metric = (name) => sink.metrics().filter((m) => m.metric.name === name && m.resource['service.name'] === 'fn-orders');
      assert.equal(metric('faas.coldstarts').length, 0, 'no cold start counted');
      assert.ok(metric('faas.errors').length >= 1, 'the error counted');
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  test('SnapStart: a restore span and faas.restores with its duration, no cold start', { timeout: 20000 }, async () => {
    const { sink, api, agent } = await lambdaSetup();
    try {
      await coldInvocation(api, 'snap-start', 'ss-1', { restore: true });
      const inv = invSpan(sink, 'ss-1');
      assert.ok(inv, sink.summary());
      assert.equal(inv.span.attributes['faas.coldstart'], false);
      const restore = sink.spans().find((s) => s.span.name === 'restore');
      assert.ok(restore && restore.span.parentSpanId === inv.span.spanId, 'restore span under the invocation');
      api.shutdown(1000);
      assert.equal((await agent.exited).code, 0);
      const metric = (name) => sink.metrics().filter((m) => m.metric.name === name && m.resource['service.name'] === 'fn-orders');
      assert.ok(metric('faas.restores').length >= 1, 'restores counted');
      const d = metric('faas.restore_duration').pop();
      assert.ok(d && Math.abs(d.point.sum - 0.04) < 1e-9, 'restore duration 40 ms');
      assert.equal(metric('faas.coldstarts').length, 0);
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  test('cloud.* and faas.* resource attributes from the environment (faas.max_memory in bytes), on the function\'s telemetry', { timeout: 20000 }, async () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_VERSION: '7', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/06/[7]0123456789abcdef0123456789abcdef' };
    const { sink, api, agent } = await lambdaSetup({}, { env });
    try {
      await coldInvocation(api, 'on-demand', 'res-1');
      const inv = invSpan(sink, 'res-1');
      assert.ok(inv, sink.summary());
      const r = inv.resource;
      assert.equal(r['cloud.provider'], 'aws');
      assert.equal(r['cloud.region'], 'eu-west-1');
      assert.equal(r['faas.name'], 'fn-orders');
      assert.equal(r['faas.version'], '7');
      assert.equal(r['faas.max_memory'], 256n * 1024n * 1024n, 'an int, in bytes');
      assert.equal(r['faas.instance'], env.AWS_LAMBDA_LOG_STREAM_NAME);
      assert.equal(r['service.name'], 'fn-orders');
      api.shutdown(1000);
      assert.equal((await agent.exited).code, 0);
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  test('alerts from a lifecycle: a slow on-demand init (InitDurationHigh) and errors and timeouts from runtimeDone, with a link to the invocation\'s trace', { timeout: 30000 }, async () => {
    const sink = await startSink();
    const api = await startLambdaApi();
    const rec = await startReceiver();
    const config = (dir) => testConfig(sink.url, { export: { batch_delay: '10s' }, metrics: { interval: '10m' }, lambda: { flush_budget: '10s' } })(dir) +
      alertsYaml({ evaluation_interval: '100ms', resend_interval: '300ms', trace_url: 'http://jaeger.test/trace/{{trace_id}}', webhook: { url: rec.url } }, [
        { name: 'InitDurationHigh', window: '10s', min_samples: 1, keep_firing_for: '0s' },
        { name: 'LambdaFailures', signal: 'errors', scope: 'function', window: '10s', condition: 'count >= 1', keep_firing_for: '0s', severity: 'critical', summary: '{{function}}: {{value}} failed invocations' },
        { name: 'LambdaTimeouts', signal: 'timeouts', scope: 'function', window: '10s', condition: 'count >= 1', keep_firing_for: '0s', severity: 'warning', summary: '{{function}}: {{value}} timeouts' },
      ]);
    const agent = await startAgent({ config, env: { AWS_LAMBDA_RUNTIME_API: api.address, AWS_LAMBDA_FUNCTION_NAME: 'fn-alerts' } });
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'the first event/next' });
      const t0 = Date.now() - 5000;
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.initStart', record: { initializationType: 'on-demand', phase: 'init' } },
        { time: iso(t0 + 2400), type: 'platform.initReport', record: { initializationType: 'on-demand', phase: 'init', status: 'success', metrics: { durationMs: 2400 } } },
      ]), 200);
      const XR2 = 'Root=1-5759e988-0000000000000000000000a2;Parent=53995c3f42cd8ad8;Sampled=1';
      api.invoke('al-1');
      assert.equal(await api.telemetry([
        { time: iso(t0 + 2500), type: 'platform.start', record: { requestId: 'al-1', tracing: { type: 'X-Amzn-Trace-Id', value: XRAY } } },
        { time: iso(t0 + 2600), type: 'platform.runtimeDone', record: { requestId: 'al-1', status: 'error', errorType: 'Runtime.HandlerError', metrics: { durationMs: 100 } } },
      ]), 200);
      await waitUntil(() => api.nextCalls().length === 2, { timeoutMs: 5000, what: 'event/next after al-1' });
      api.invoke('al-2');
      assert.equal(await api.telemetry([
        { time: iso(t0 + 3000), type: 'platform.start', record: { requestId: 'al-2', tracing: { type: 'X-Amzn-Trace-Id', value: XR2 } } },
        { time: iso(t0 + 4000), type: 'platform.runtimeDone', record: { requestId: 'al-2', status: 'timeout', metrics: { durationMs: 1000 } } },
      ]), 200);
      const firing = (name) => rec.alerts().filter((a) => a.labels.alertname === name && a.status === 'firing');
      await waitUntil(() => ['InitDurationHigh', 'LambdaFailures', 'LambdaTimeouts'].every((n) => firing(n).length > 0),
        { timeoutMs: 8000, what: `the three alerts at the webhook: ${JSON.stringify(rec.alerts().map((a) => a.labels.alertname))}` });
      const init = firing('InitDurationHigh')[0];
      assert.equal(init.labels.function, 'fn-alerts');
      assert.equal(init.annotations.value, '2.4', 'the init duration in seconds');
      assert.equal(init.generatorURL, 'http://jaeger.test/trace/5759e988bd862e3fe1be46a994272793', 'the cold invocation\'s trace (its X-Ray trace)');
      const err = firing('LambdaFailures')[0];
      assert.equal(err.labels.function, 'fn-alerts');
      assert.equal(err.generatorURL, 'http://jaeger.test/trace/5759e988bd862e3fe1be46a994272793', 'the failed invocation\'s trace');
      const to = firing('LambdaTimeouts')[0];
      assert.equal(to.generatorURL, 'http://jaeger.test/trace/5759e9880000000000000000000000a2', 'the timed-out invocation\'s trace');
      const c = await connect(agent.socketPath);
      const st = await c.stats();
      c.destroy();
      assert.ok(st.alerts.fired >= 3, `fired ${st.alerts.fired}`);
      api.shutdown(1000);
      assert.equal((await agent.exited).code, 0);
    } finally {
      await agent.stop();
      await api.close();
      await rec.close();
      await sink.close();
    }
  });

  test('Lambda Managed Instances: registers for SHUTDOWN only', { timeout: 20000 }, async () => {
    const { sink, api, agent } = await lambdaSetup({}, { env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' } });
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'event/next' });
      assert.deepEqual(JSON.parse(api.callsTo('/2020-01-01/extension/register')[0].body).events, ['SHUTDOWN']);
      api.shutdown(1000);
      assert.equal((await agent.exited).code, 0);
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  test('Lambda Managed Instances: overlapping invocations in one environment, delivered by the batch timer, SHUTDOWN with telemetry queued', { timeout: 30000 }, async () => {
    // No INVOKE events under LMI: the one event/next stays open until SHUTDOWN, so nothing can
    // flush in step; export.batch_delay (500 ms here) brings the invocations to the sink.
    const { sink, api, agent } = await lambdaSetup({ export: { batch_delay: '500ms' } },
      { env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' } });
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'event/next' });
      assert.deepEqual(JSON.parse(api.callsTo('/2020-01-01/extension/register')[0].body).events, ['SHUTDOWN']);
      const X = { A: '1-6759e988-aaaaaaaaaaaaaaaaaaaaaaaa', B: '1-6759e988-bbbbbbbbbbbbbbbbbbbbbbbb', D: '1-6759e988-dddddddddddddddddddddddd' };
      const xray = (root) => ({ spanId: '53995c3f42cd8ad8', type: 'X-Amzn-Trace-Id', value: `Root=${root};Parent=53995c3f42cd8ad8;Sampled=1` });
      // Lambda's JSON log format, the only one under LMI: the runtime's logger adds requestId.
      const jlog = (t, requestId, level, message) => ({ time: iso(t), type: 'function', record: { timestamp: iso(t), level, requestId, message } });
      const t0 = Date.now() - 3000;
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.initStart', record: { initializationType: 'lambda-managed-instances', phase: 'init', runtimeVersion: 'nodejs:22' } },
        { time: iso(t0 + 100), type: 'platform.initRuntimeDone', record: { initializationType: 'lambda-managed-instances', phase: 'init', status: 'success' } },
        { time: iso(t0 + 100), type: 'platform.initReport', record: { initializationType: 'lambda-managed-instances', phase: 'init', status: 'success', metrics: { durationMs: 100 } } },
      ]), 200);
      // Four invocations overlap: all started before any ends; B logs first; a plain-text line
      // without a request id (a print from a background task) while all four run.
      assert.equal(await api.telemetry([
        { time: iso(t0 + 200), type: 'platform.start', record: { requestId: 'lmi-A', version: '$LATEST', tracing: xray(X.A) } },
        { time: iso(t0 + 210), type: 'platform.start', record: { requestId: 'lmi-B', version: '$LATEST', tracing: xray(X.B) } },
        jlog(t0 + 215, 'lmi-B', 'INFO', 'b-1'),
        { time: iso(t0 + 220), type: 'platform.start', record: { requestId: 'lmi-C', version: '$LATEST' } },
        jlog(t0 + 225, 'lmi-A', 'INFO', 'a-1'),
        { time: iso(t0 + 230), type: 'platform.start', record: { requestId: 'lmi-D', version: '$LATEST', tracing: xray(X.D) } },
        { time: iso(t0 + 235), type: 'function', record: 'background tick\n' },
        jlog(t0 + 240, 'lmi-C', 'WARN', 'c-1'),
        jlog(t0 + 245, 'lmi-D', 'ERROR', 'd-1'),
      ]), 200);
      // They end out of order; under LMI platform.report carries only durationMs.
      const report = (t, requestId, status, durationMs) => ({ time: iso(t), type: 'platform.report', record: { requestId, status, metrics: { durationMs } } });
      assert.equal(await api.telemetry([
        { time: iso(t0 + 300), type: 'platform.runtimeDone', record: { requestId: 'lmi-C', status: 'success', metrics: { durationMs: 80, producedBytes: 10 } } },
        report(t0 + 301, 'lmi-C', 'success', 80),
        jlog(t0 + 310, 'lmi-B', 'INFO', 'b-2'),
        { time: iso(t0 + 320), type: 'platform.runtimeDone', record: { requestId: 'lmi-A', status: 'error', errorType: 'Runtime.HandlerError', metrics: { durationMs: 120 },
          spans: [{ name: 'responseLatency', start: iso(t0 + 200), durationMs: 110 }] } },
        report(t0 + 321, 'lmi-A', 'error', 120),
        { time: iso(t0 + 400), type: 'platform.runtimeDone', record: { requestId: 'lmi-D', status: 'timeout', metrics: { durationMs: 170 } } },
        report(t0 + 401, 'lmi-D', 'timeout', 170),
        { time: iso(t0 + 410), type: 'platform.runtimeDone', record: { requestId: 'lmi-B', status: 'success', metrics: { durationMs: 200 } } },
        report(t0 + 411, 'lmi-B', 'success', 200),
      ]), 200);
      const ids = ['lmi-A', 'lmi-B', 'lmi-C', 'lmi-D'];
      await sink.waitFor((s) => ids.every((id) => invSpan(s, id)) &&
        ['a-1', 'b-1', 'b-2', 'c-1', 'd-1', 'background tick'].every((b) => s.logs().some((l) => l.log.body === b)), 5000, 'the four invocations, by the batch timer');
      assert.equal(api.nextCalls().length, 1, 'no event/next stepped: there are no INVOKE events');

      const inv = Object.fromEntries(ids.map((id) => [id, invSpan(sink, id)]));
      const ns = (ms) => BigInt(ms) * 1000000n;
      const big = (v) => BigInt(String(v));
      const want = { 'lmi-A': [200, 320, 2], 'lmi-B': [210, 410, 1], 'lmi-C': [220, 300, 1], 'lmi-D': [230, 400, 2] };
      for (const id of ids) {
        const s = inv[id].span;
        assert.equal(sink.spans().filter((x) => x.span.attributes['faas.invocation_id'] === id && x.span.kind === 2).length, 1, `one invocation span for ${id}`);
        assert.equal(s.attributes['faas.coldstart'], false, `${id}: an LMI init is not a cold start`);
        assert.equal(big(s.startTimeUnixNano), ns(t0 + want[id][0]), `${id} starts at its platform.start`);
        assert.equal(big(s.endTimeUnixNano), ns(t0 + want[id][1]), `${id} ends at its runtimeDone`);
        assert.equal(s.status.code, want[id][2], `${id} status`);
      }
      assert.equal(inv['lmi-A'].span.traceId, X.A.slice(2).replace('-', ''));
      assert.equal(inv['lmi-B'].span.traceId, X.B.slice(2).replace('-', ''));
      assert.equal(inv['lmi-D'].span.traceId, X.D.slice(2).replace('-', ''));
      assert.equal(new Set(ids.map((id) => inv[id].span.traceId)).size, 4, 'four traces');

      // The init span: once, under the first invocation to start (A), not the first to log (B).
      const inits = sink.spans().filter((s) => s.span.name === 'init');
      assert.equal(inits.length, 1, 'one init span');
      assert.equal(inits[0].span.parentSpanId, inv['lmi-A'].span.spanId, 'the init under the first invocation');
      assert.equal(inits[0].span.traceId, inv['lmi-A'].span.traceId);
      assert.equal(inits[0].span.attributes['faas.init.type'], 'lambda-managed-instances');
      const rl = sink.spans().find((s) => s.span.name === 'responseLatency');
      assert.ok(rl && rl.span.parentSpanId === inv['lmi-A'].span.spanId, 'A\'s runtimeDone span under A');

      // Every log line on its own invocation's trace and span.
      const owner = { 'a-1': 'lmi-A', 'b-1': 'lmi-B', 'b-2': 'lmi-B', 'c-1': 'lmi-C', 'd-1': 'lmi-D' };
      for (const [body, id] of Object.entries(owner)) {
        const l = sink.logs().filter((x) => x.log.body === body);
        assert.equal(l.length, 1, `${body} once`);
        assert.equal(l[0].log.traceId, inv[id].span.traceId, `${body} on ${id}'s trace`);
        assert.equal(l[0].log.spanId, inv[id].span.spanId, `${body} on ${id}'s span`);
      }
      assert.equal(sink.logs().find((x) => x.log.body === 'd-1').log.severityNumber, 17);
      // The line without a request id is no invocation's: nothing tells which one wrote it.
      const bg = sink.logs().find((x) => x.log.body === 'background tick');
      for (const id of ids) assert.notEqual(bg.log.traceId, inv[id].span.traceId, `background line not on ${id}'s trace`);
      assert.equal(bg.log.attributes['faas.invocation_id'], undefined);
      const c = await connect(agent.socketPath);
      const st = await c.stats();
      c.destroy();
      assert.equal(st.lambda.invokes, 0);
      assert.equal(st.lambda.telemetry_batches, 3);
      assert.equal(st.lambda.telemetry_events, 3 + 9 + 9);
      assert.equal(st.lambda.unknown_events, 0);
      assert.equal(st.lambda.flushes_over_budget, 0);
      assert.equal(st.lambda.logs_unattributed, 1, 'the line without a request id, counted');
      assert.equal(st.lambda.requests_evicted, 0);

      // A fifth invocation, then SHUTDOWN at once: its telemetry is still in the 500 ms batch.
      const t1 = Date.now();
      assert.equal(await api.telemetry([
        { time: iso(t1), type: 'platform.start', record: { requestId: 'lmi-E' } },
        jlog(t1 + 5, 'lmi-E', 'INFO', 'e-1'),
        { time: iso(t1 + 10), type: 'platform.runtimeDone', record: { requestId: 'lmi-E', status: 'success', metrics: { durationMs: 10 } } },
        report(t1 + 11, 'lmi-E', 'success', 10),
      ]), 200);
      const t2 = Date.now();
      api.shutdown(2000);
      const info = await agent.exited;
      const took = Date.now() - t2;
      assert.equal(info.code, 0, agent.stderr().slice(-2000));
      assert.ok(took < 2000, `exited ${took} ms after SHUTDOWN (deadline 2000 ms)`);
      const e = invSpan(sink, 'lmi-E');
      assert.ok(e, `lmi-E delivered at SHUTDOWN\n${sink.summary()}`);
      assert.ok(sink.logs().some((l) => l.log.body === 'e-1' && l.log.spanId === e.span.spanId), 'its log line too');
      assert.doesNotMatch(agent.stderr(), /dropped_shutdown=[1-9]/);
      // platform.report (after the invocation's span went out: an event of its workflow's root
      // span, or a log record on the invocation's span): durationMs only under LMI.
      inv['lmi-E'] = e;
      for (const id of [...ids, 'lmi-E']) {
        const r = [...sink.spans().flatMap((x) => x.span.events.filter((ev) => ev.name === 'platform.report').map((ev) => ({ a: ev.attributes, trace: x.span.traceId }))),
          ...sink.logs().filter((x) => x.log.body === 'platform.report').map((x) => ({ a: x.log.attributes, trace: x.log.traceId }))]
          .filter((x) => x.a['faas.invocation_id'] === id);
        assert.equal(r.length, 1, `${id}'s report, once`);
        assert.equal(r[0].trace, inv[id].span.traceId, `${id}'s report in its trace`);
        assert.ok(r[0].a['faas.duration_ms'] > 0);
        assert.equal(r[0].a['faas.billed_duration_ms'], undefined, 'no billing figures under LMI');
      }
      const metric = (name) => sink.metrics().filter((m) => m.metric.name === name && m.resource['service.name'] === 'fn-orders');
      assert.equal(metric('faas.coldstarts').length, 0, 'no cold start counted under LMI');
      const sum = (name) => metric(name).reduce((n, m) => Math.max(n, Number(m.point.asInt ?? m.point.asDouble ?? 0)), 0);
      assert.equal(sum('faas.errors'), 1, 'A\'s error');
      assert.equal(sum('faas.timeouts'), 1, 'D\'s timeout');
      assert.equal(api.callsTo('/2020-01-01/extension/exit/error').length, 0);
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  test('Lambda Managed Instances: more invocations open at once than the request map holds: the oldest let go, counted, none lost or split', { timeout: 60000 }, async () => {
    // SP_LAMBDA_REQUEST_MAP (lib/caps.h) is 1024: 1030 open at once let the 6 oldest go.
    const N = 1030;
    const { sink, api, agent } = await lambdaSetup({ export: { batch_delay: '200ms' } },
      { env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' } });
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'event/next' });
      const t0 = Date.now() - 5000;
      const id = (i) => `ev-${String(i).padStart(4, '0')}`;
      const root = (i) => `1-6759e988-${String(i).padStart(24, '0')}`;
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.initStart', record: { initializationType: 'lambda-managed-instances', phase: 'init' } },
      ]), 200);
      const starts = [];
      for (let i = 0; i < N; i++) {
        starts.push({ time: iso(t0 + 1000 + i), type: 'platform.start', record: { requestId: id(i), tracing: { type: 'X-Amzn-Trace-Id', value: `Root=${root(i)};Parent=53995c3f42cd8ad8;Sampled=1` } } });
        // A line at once: the invocation's workflow is chosen (and its start sent) before the
        // map overflows, so an evicted one must still find that workflow for its end.
        starts.push({ time: iso(t0 + 2000 + i), type: 'function', record: { timestamp: iso(t0 + 2000 + i), level: 'INFO', requestId: id(i), message: `early ${id(i)}` } });
      }
      assert.equal(await api.telemetry(starts), 200);
      const ends = [];
      for (let i = 0; i < N; i++) {
        ends.push({ time: iso(t0 + 3000 + i), type: 'function', record: { timestamp: iso(t0 + 3000 + i), level: 'INFO', requestId: id(i), message: `line of ${id(i)}` } },
          { time: iso(t0 + 4000 + i), type: 'platform.runtimeDone', record: { requestId: id(i), status: 'success', metrics: { durationMs: 1 } } });
      }
      assert.equal(await api.telemetry(ends), 200);
      const c = await connect(agent.socketPath);
      const st = await c.stats();
      c.destroy();
      api.shutdown(5000);
      assert.equal((await agent.exited).code, 0, agent.stderr().slice(-2000));
      const spans = new Map();
      for (const s of sink.spans()) {
        if (s.span.kind !== 2) continue;
        const k = s.span.attributes['faas.invocation_id'];
        assert.ok(!spans.has(k), `one span for ${k}`);
        spans.set(k, s.span);
      }
      const logs = new Map(sink.logs().filter((l) => /^line of /.test(l.log.body)).map((l) => [l.log.body.slice(8), l.log]));
      const early = new Map(sink.logs().filter((l) => /^early /.test(l.log.body)).map((l) => [l.log.body.slice(6), l.log]));
      for (let i = 0; i < N; i++) {
        const s = spans.get(id(i));
        assert.ok(s, `${id(i)}'s invocation span`);
        assert.equal(BigInt(String(s.startTimeUnixNano)), BigInt(t0 + 1000 + i) * 1000000n, `${id(i)} starts at its platform.start`);
        assert.equal(BigInt(String(s.endTimeUnixNano)), BigInt(t0 + 4000 + i) * 1000000n, `${id(i)} ends at its runtimeDone`);
        assert.equal(s.status.code, 1, `${id(i)} ok`);
        assert.equal(s.traceId, root(i).slice(2).replace('-', ''), `${id(i)}: the X-Ray trace`);
        const l = logs.get(id(i));
        assert.ok(l && l.traceId === s.traceId && l.spanId === s.spanId, `${id(i)}'s log line on its span`);
        const e = early.get(id(i));
        assert.ok(e && e.traceId === s.traceId && e.spanId === s.spanId, `${id(i)}'s early log line on its span`);
      }
      assert.equal(st.lambda.requests_evicted, N - 1024, 'the oldest open ones let go, counted');
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  test('a refused Telemetry API subscription is reported to init/error and spindle exits 1', { timeout: 20000 }, async () => {
    const { sink, api, agent } = await lambdaSetup({}, { api: { subscribeStatus: 400 } });
    try {
      const info = await agent.exited;
      assert.equal(info.code, 1);
      const e = api.callsTo('/2020-01-01/extension/init/error');
      assert.equal(e.length, 1);
      assert.equal(e[0].headers['lambda-extension-function-error-type'], 'Extension.TelemetrySubscriptionFailed');
      assert.equal(api.nextCalls().length, 0);
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  test('a slow backend: event/next after lambda.flush_budget (counted), then SHUTDOWN: exit 0 within the deadline, what is left counted shutdown_deadline', { timeout: 20000 }, async () => {
    let slow = false;
    const { sink, api, agent } = await lambdaSetup({ export: { batch_delay: '10s', shutdown_timeout: '30s' } },
      { sinkOpts: { respond: async () => { if (slow) await new Promise((r) => setTimeout(r, 5000)); } } });
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'event/next' });
      slow = true;
      const t0 = Date.now() - 500;
      api.invoke('late-1');
      const sent = Date.now();
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.start', record: { requestId: 'late-1' } },
        { time: iso(t0 + 10), type: 'function', record: 'queued when the backend slowed down' },
        { time: iso(t0 + 20), type: 'platform.runtimeDone', record: { requestId: 'late-1', status: 'success' } },
      ]), 200);
      // The budget is 100 ms; the backend takes 5 s: the next event is asked for long before.
      await waitUntil(() => api.nextCalls().length === 2, { timeoutMs: 3000, what: 'event/next after the budget' });
      const waited = api.nextCalls()[1].time - sent;
      assert.ok(waited >= 90 && waited < 2500, `event/next ${waited} ms after runtimeDone (budget 100 ms)`);
      const c = await connect(agent.socketPath);
      const st = await c.stats();
      c.destroy();
      assert.equal(st.lambda.flushes_over_budget, 1);
      const t = Date.now();
      api.shutdown(800);
      const info = await agent.exited;
      const took = Date.now() - t;
      assert.equal(info.code, 0);
      assert.ok(took < 800, `exited ${took} ms after SHUTDOWN, deadline 800 ms (export.shutdown_timeout 30s loses to it)`);
      const m = /dropped_shutdown=(\d+)/.exec(agent.stderr());
      assert.ok(m && Number(m[1]) >= 1, `leftovers counted shutdown_deadline\n${agent.stderr().slice(-1500)}`);
    } finally {
      await agent.stop();
      await api.close();
      await sink.close();
    }
  });

  test('Telemetry API batches are journaled and replayed after kill -9', { timeout: 30000 }, async () => {
    const jdir = path.join(makeTempDir(), 'journal');
    const sink = await startSink({ respond: () => ({ status: 503 }) });
    const api = await startLambdaApi();
    const config = testConfig(sink.url, { storage: { path: jdir, fsync: 'always' }, export: { batch_delay: '10s' } });
    const a1 = await startAgent({ config, env: { AWS_LAMBDA_RUNTIME_API: api.address, AWS_LAMBDA_FUNCTION_NAME: 'fn-journal' } });
    let a2;
    const sink2 = await startSink();
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 5000, what: 'event/next' });
      const t0 = Date.now() - 500;
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.start', record: { requestId: 'jr-1' } },
        { time: iso(t0 + 10), type: 'function', record: 'journaled line' },
        { time: iso(t0 + 20), type: 'platform.runtimeDone', record: { requestId: 'jr-1', status: 'success' } },
      ]), 200);
      await new Promise((r) => setTimeout(r, 300));
      await a1.kill();
      // Restarted outside Lambda: the journal replays through the same codec.
      a2 = await startAgent({ config: testConfig(sink2.url, { storage: { path: jdir } }), env: { AWS_LAMBDA_FUNCTION_NAME: 'fn-journal' } });
      await sink2.waitFor((s) => invSpan(s, 'jr-1') && s.logs().some((l) => l.log.body === 'journaled line'), 8000, 'the replayed invocation');
      const c = await connect(a2.socketPath);
      const st = await c.stats();
      c.destroy();
      assert.ok(st.journal.replayed >= 3, `replayed ${st.journal.replayed}`);
    } finally {
      await a1.stop();
      if (a2) await a2.stop();
      await api.close();
      await sink.close();
      await sink2.close();
    }
  });
});
