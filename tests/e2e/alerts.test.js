'use strict';
// Issue 4, alert engine: a scenario per default rule through the real socket. Each rule keeps
// its default definition and only its window/threshold timing is shortened in the test's config
// (exactly what a user does to change a threshold). Alerts are observed where a user sees them:
// the signed webhook (Alertmanager's webhook format), the agent's log, and the OTLP log record
// at the sink.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { startSink } = require('./lib/sink');
const { startAgent, runSpindle } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const { startReceiver, alertsYaml } = require('./lib/alerting');
const ids = require('./lib/ids');
const r = require('./lib/records');
const { uid, sleep, waitUntil } = require('./lib/util');

/** A sink, a webhook receiver and an agent with fast alert timers; `rules` override defaults. */
async function alertSetup({ rules = [], settings = {}, extra = {}, env, sinkOpts, webhookUrl } = {}) {
  const sink = await startSink(sinkOpts || {});
  const rec = await startReceiver();
  const base = {
    evaluation_interval: '100ms',
    resend_interval: '300ms',
    trace_url: 'http://jaeger.test/trace/{{trace_id}}',
    webhook: { url: webhookUrl ? webhookUrl(rec.url) : rec.url },
  };
  const s = { ...base, ...settings, webhook: { ...base.webhook, ...(settings.webhook || {}) } };
  const config = (dir) => testConfig(sink.url, extra)(dir) + alertsYaml(s, rules);
  let agent;
  try {
    agent = await startAgent({ config, env });
  } catch (e) {
    await sink.close();
    await rec.close();
    throw e;
  }
  const clients = [];
  return {
    sink, rec, agent,
    async connect() { const c = await connect(agent.socketPath); clients.push(c); return c; },
    async close() {
      for (const c of clients) c.destroy();
      await agent.stop('SIGTERM', 10000);
      await sink.close();
      await rec.close();
    },
  };
}

const named = (rec, name, key, value) => rec.alerts().filter((a) => a.labels.alertname === name && a.labels[key] === value);
const firingLines = (agent, name) => agent.stderr().split('\n').filter((l) => l.includes('alert firing') && l.includes(`alertname=${name}`));

/** Fired once, re-sent while it held (the same alert), resolved once, nothing after. */
async function assertLifecycle(h, name, key, value) {
  await sleep(400); // a few more evaluations after the resolve
  const got = named(h.rec, name, key, value);
  const firing = got.filter((a) => a.status === 'firing');
  assert.ok(firing.length >= 2, `${name}: re-sent while the condition held (${firing.length} firing notifications)`);
  assert.ok(firing.every((a) => a.startsAt === firing[0].startsAt), `${name}: one alert, re-sent`);
  assert.equal(got.filter((a) => a.status === 'resolved').length, 1, `${name}: resolved once`);
  assert.equal(got[got.length - 1].status, 'resolved', `${name}: nothing after the resolve`);
  assert.equal(firingLines(h.agent, name).length, 1, `${name}: one firing log line`);
}

describe('alert rules (default rules, shortened timers)', needBinary, () => {
  test('healthy traffic raises nothing', { timeout: 20000 }, async () => {
    const h = await alertSetup({
      rules: [
        { name: 'FunctionThrottled', window: '2s', condition: 'count >= 3' },
        { name: 'ColdStartRatioHigh', window: '2s', min_denominator: 4, for: '0s' },
        { name: 'InitDurationHigh', window: '2s', min_samples: 2 },
        { name: 'DeadLetterQueueGrowing', window: '2s' },
        { name: 'ExportFailing', window: '1s', for: '500ms' },
      ],
    });
    try {
      const c = await h.connect();
      const fn = uid('fn');
      for (let i = 0; i < 5; i++) {
        const cid = uid('ok');
        c.send(r.workflowStart(cid));
        c.send(r.invocationStart(cid, 'i', { function: fn, cold_start: i === 0 }));
        if (i === 0) c.send(r.event(cid, 'cold_start', { invocation_id: 'i', function: fn, init_duration_ms: 120 }));
        c.send(r.invocationEnd(cid, 'i', { function: fn }));
        c.send(r.workflowEnd(cid));
        c.send(r.metric('dlq.depth', 'gauge', 2, { function: fn, attributes: { queue: 'steady-dlq' } }));
      }
      await c.flush(uid('f'));
      await sleep(1500); // 15 evaluations, and the sink has answered exports
      assert.ok(h.sink.requests.length > 0, 'exports happened (so ExportFailing had data)');
      assert.deepEqual(h.rec.alerts(), [], 'no alert on healthy traffic');
      assert.equal(h.agent.stderr().includes('alert firing'), false, h.agent.stderr());
      const st = await c.stats(uid('s'));
      assert.equal(st.alerts.fired, 0);
      assert.ok(st.alerts.series >= 4, `the rules were fed (series ${st.alerts.series})`);
    } finally {
      await h.close();
    }
  });

  test('DeadLetter: the workflow and its trace, within 2 s, once; re-sent only when the count grows', { timeout: 20000 }, async () => {
    const h = await alertSetup();
    try {
      const c = await h.connect();
      const cid = uid('order');
      const fn = uid('charge');
      c.send(r.workflowStart(cid));
      c.send(r.invocationStart(cid, 'i1', { function: fn }));
      c.send(r.event(cid, 'dead_letter', { invocation_id: 'i1', function: fn, queue: 'orders-dlq' }));
      await c.flush(uid('f'));
      const t0 = Date.now();
      await waitUntil(() => named(h.rec, 'DeadLetter', 'correlation_id', cid).length > 0, { timeoutMs: 2000, what: 'DeadLetter at the webhook within 2 s' });
      const [a] = named(h.rec, 'DeadLetter', 'correlation_id', cid);
      assert.ok(Date.now() - t0 < 2000);
      const trace = ids.traceIdFor(cid);
      assert.deepEqual(a.labels, { alertname: 'DeadLetter', severity: 'critical', correlation_id: cid, function: fn, queue: 'orders-dlq' });
      assert.equal(a.status, 'firing');
      assert.equal(a.annotations.summary, `workflow ${cid} ended in dead-letter queue orders-dlq`);
      assert.ok(a.annotations.description.includes(fn) && a.annotations.description.includes(trace), a.annotations.description);
      assert.equal(a.annotations.trace_id, trace);
      assert.equal(a.generatorURL, `http://jaeger.test/trace/${trace}`);
      assert.equal(a.annotations.value, '1');
      const hold = Date.parse(a.endsAt) - Date.parse(a.startsAt);
      assert.equal(hold, 3600 * 1000, 'an event: endsAt = startsAt + event_hold (1 h)');

      await sleep(800); // 8 evaluations, 2 re-send intervals: still one notification at a webhook
      assert.equal(named(h.rec, 'DeadLetter', 'correlation_id', cid).length, 1, 'sent once (re-sends go to Alertmanager only)');
      assert.equal(firingLines(h.agent, 'DeadLetter').filter((l) => l.includes(cid)).length, 1, 'one log line');

      c.send(r.event(cid, 'dead_letter', { invocation_id: 'i1', function: fn, queue: 'orders-dlq' }));
      await c.flush(uid('f'));
      await waitUntil(() => named(h.rec, 'DeadLetter', 'correlation_id', cid).length === 2, { timeoutMs: 2000, what: 'the grown count re-sent' });
      const b = named(h.rec, 'DeadLetter', 'correlation_id', cid)[1];
      assert.equal(b.annotations.value, '2');
      assert.equal(b.startsAt, a.startsAt, 'the same alert');

      // The OTLP log record sits on the workflow's trace, at ERROR for a critical alert.
      await waitUntil(() => h.sink.logs().some((l) => l.log.attributes['alert.name'] === 'DeadLetter' && l.log.attributes['spindle.correlation_id'] === cid), { timeoutMs: 3000, what: 'the alert log record' });
      const lr = h.sink.logs().find((l) => l.log.attributes['alert.name'] === 'DeadLetter' && l.log.attributes['spindle.correlation_id'] === cid).log;
      assert.equal(lr.traceId, trace);
      assert.equal(lr.spanId, ids.workflowSpanIdFor(cid), 'on the workflow span');
      assert.equal(lr.severityNumber, 17);
      assert.equal(lr.severityText, 'ERROR');
      assert.equal(lr.attributes['alert.trace_url'], `http://jaeger.test/trace/${trace}`);
      assert.equal(lr.attributes['messaging.destination.name'], 'orders-dlq');
    } finally {
      await h.close();
    }
  });

  test('WorkflowRetries: nothing at 2 retries, fires at the 3rd (retries counted once each)', { timeout: 20000 }, async () => {
    const h = await alertSetup();
    try {
      const c = await h.connect();
      const cid = uid('wf');
      const fn = uid('pay');
      c.send(r.workflowStart(cid));
      for (const n of [2, 3]) {
        c.send(r.invocationStart(cid, `i${n}`, { function: fn, attempt: n }));
        c.send(r.event(cid, 'retry', { invocation_id: `i${n}`, function: fn, attempt: n })); // same retry: counted once
      }
      await c.flush(uid('f'));
      await sleep(600);
      assert.equal(named(h.rec, 'WorkflowRetries', 'correlation_id', cid).length, 0, 'two retries are below the threshold');
      c.send(r.invocationStart(cid, 'i4', { function: fn, attempt: 4 }));
      await c.flush(uid('f'));
      await waitUntil(() => named(h.rec, 'WorkflowRetries', 'correlation_id', cid).length > 0, { timeoutMs: 2000, what: 'WorkflowRetries within 2 s' });
      const [a] = named(h.rec, 'WorkflowRetries', 'correlation_id', cid);
      assert.deepEqual(a.labels, { alertname: 'WorkflowRetries', severity: 'warning', correlation_id: cid, function: fn },
        'the function of the retry that raised it (no queue: a retry names none)');
      assert.equal(a.annotations.value, '3');
      assert.equal(a.annotations.summary, `workflow ${cid} retried 3 times`);
      assert.equal(a.annotations.trace_id, ids.traceIdFor(cid));
      await waitUntil(() => h.sink.logs().some((l) => l.log.attributes['alert.name'] === 'WorkflowRetries' && l.log.attributes['spindle.correlation_id'] === cid), { timeoutMs: 3000, what: 'the alert log record' });
      const lr = h.sink.logs().find((l) => l.log.attributes['alert.name'] === 'WorkflowRetries' && l.log.attributes['spindle.correlation_id'] === cid).log;
      assert.equal(lr.severityText, 'WARN');
      assert.equal(lr.severityNumber, 13);
      assert.equal(lr.traceId, ids.traceIdFor(cid));
      assert.equal(lr.body, `workflow ${cid} retried 3 times`);
      assert.equal(h.rec.requests[0].headers['x-spindle-signature'], undefined, 'no secret: unsigned');
    } finally {
      await h.close();
    }
  });

  test('FunctionThrottled: fires once, re-sent while it holds (rolling endsAt), resolves after', { timeout: 20000 }, async () => {
    const h = await alertSetup({
      settings: { explicit_resolve: true },
      rules: [{ name: 'FunctionThrottled', window: '1s', condition: 'count >= 3', keep_firing_for: '0s' }],
    });
    try {
      const c = await h.connect();
      const fn = uid('busy');
      const quiet = uid('quiet');
      let last = '';
      const throttle = async (f) => { last = uid('wf'); c.send(r.event(last, 'throttle', { function: f })); };
      await throttle(quiet); // one throttle elsewhere: below the threshold
      const until = Date.now() + 1500;
      while (Date.now() < until) { // ~7 throttles a second, for 1.5 s
        await throttle(fn);
        await c.flush(uid('f'));
        await sleep(150);
      }
      const got = named(h.rec, 'FunctionThrottled', 'function', fn);
      assert.ok(got.length >= 2, `fired and re-sent while it held (${got.length})`);
      assert.ok(got.every((a) => a.status === 'firing' && a.startsAt === got[0].startsAt), 'one alert, re-sent');
      assert.deepEqual(got[0].labels, { alertname: 'FunctionThrottled', severity: 'warning', function: fn });
      assert.match(got[0].annotations.summary, new RegExp(`^${fn} was throttled \\d+ times in 1s$`), 'the window as configured');
      const ends = got.map((a) => Date.parse(a.endsAt));
      assert.ok(ends[ends.length - 1] > ends[0], 'endsAt rolls forward');
      assert.ok(Math.abs(Date.parse(got[0].endsAt) - (got[0].time + 1200)) < 1000, 'endsAt = now + 4 x resend_interval');
      // Still firing for up to a window after the last throttle: a re-send then carries the
      // trace of the latest contributing workflow (its exemplar).
      await waitUntil(() => named(h.rec, 'FunctionThrottled', 'function', fn).some((a) => a.annotations.trace_id === ids.traceIdFor(last)), { timeoutMs: 2000, what: 'the latest workflow as the exemplar' });
      assert.equal(firingLines(h.agent, 'FunctionThrottled').length, 1, 'fired once');
      await waitUntil(() => named(h.rec, 'FunctionThrottled', 'function', fn).some((a) => a.status === 'resolved'), { timeoutMs: 3000, what: 'resolution after the window passes' });
      const n = named(h.rec, 'FunctionThrottled', 'function', fn).length;
      await sleep(500);
      assert.equal(named(h.rec, 'FunctionThrottled', 'function', fn).length, n, 'nothing after the resolve');
      assert.equal(named(h.rec, 'FunctionThrottled', 'function', quiet).length, 0);
      assert.ok(h.agent.stderr().includes('alert cleared'), 'logged');
    } finally {
      await h.close();
    }
  });

  test('ColdStartRatioHigh: over the ratio with enough invocations fires; too few or a low ratio does not', { timeout: 20000 }, async () => {
    const h = await alertSetup({
      settings: { explicit_resolve: true },
      rules: [{ name: 'ColdStartRatioHigh', window: '1s', min_denominator: 4, for: '0s', keep_firing_for: '0s' }],
    });
    try {
      const c = await h.connect();
      const cold = uid('cold');
      const few = uid('few');
      const warm = uid('warm');
      const invoke = (fn, coldStart) => {
        const cid = uid('wf');
        c.send(r.invocationStart(cid, 'i', { function: fn, cold_start: coldStart }));
        c.send(r.invocationEnd(cid, 'i', { function: fn }));
      };
      for (let i = 0; i < 4; i++) invoke(cold, i < 2); // 2 of 4: 0.5 > 0.2
      for (let i = 0; i < 3; i++) invoke(few, true); // 3 of 3, but only 3 invocations
      for (let i = 0; i < 10; i++) invoke(warm, i === 0); // 1 of 10
      await c.flush(uid('f'));
      await waitUntil(() => named(h.rec, 'ColdStartRatioHigh', 'function', cold).length > 0, { timeoutMs: 2000, what: 'ColdStartRatioHigh' });
      assert.equal(named(h.rec, 'ColdStartRatioHigh', 'function', cold)[0].annotations.value, '0.5');
      await waitUntil(() => named(h.rec, 'ColdStartRatioHigh', 'function', cold).some((a) => a.status === 'resolved'), { timeoutMs: 3000, what: 'resolved once the window passed' });
      await assertLifecycle(h, 'ColdStartRatioHigh', 'function', cold);
      assert.equal(named(h.rec, 'ColdStartRatioHigh', 'function', few).length, 0, 'below min_denominator');
      assert.equal(named(h.rec, 'ColdStartRatioHigh', 'function', warm).length, 0, 'ratio 0.1');
      assert.equal(firingLines(h.agent, 'ColdStartRatioHigh').length, 1);
    } finally {
      await h.close();
    }
  });

  test('InitDurationHigh: p95 of init durations over 1 s fires; fast inits do not', { timeout: 20000 }, async () => {
    const h = await alertSetup({
      settings: { explicit_resolve: true },
      rules: [{ name: 'InitDurationHigh', window: '1s', min_samples: 3, keep_firing_for: '0s' }],
    });
    try {
      const c = await h.connect();
      const slow = uid('slow');
      const fast = uid('fast');
      const init = (fn, ms) => c.send(r.event(uid('wf'), 'cold_start', { invocation_id: 'i', function: fn, init_duration_ms: ms }));
      [1500, 1700, 1600].forEach((ms) => init(slow, ms));
      [100, 120, 2500, 90, 80, 110, 100, 95, 105, 99, 101, 102, 103, 104, 98, 97, 96, 94, 93, 92].forEach((ms) => init(fast, ms)); // one outlier: p95 stays low
      await c.flush(uid('f'));
      await waitUntil(() => named(h.rec, 'InitDurationHigh', 'function', slow).length > 0, { timeoutMs: 2000, what: 'InitDurationHigh' });
      assert.equal(named(h.rec, 'InitDurationHigh', 'function', slow)[0].annotations.value, '1.7');
      await waitUntil(() => named(h.rec, 'InitDurationHigh', 'function', slow).some((a) => a.status === 'resolved'), { timeoutMs: 3000, what: 'resolved' });
      await assertLifecycle(h, 'InitDurationHigh', 'function', slow);
      assert.equal(named(h.rec, 'InitDurationHigh', 'function', fast).length, 0, 'one slow init in 20 is not the p95');
    } finally {
      await h.close();
    }
  });

  test('DeadLetterQueueGrowing: a growing dlq.depth fires with the queue; a steady one does not', { timeout: 20000 }, async () => {
    const h = await alertSetup({
      settings: { explicit_resolve: true },
      rules: [{ name: 'DeadLetterQueueGrowing', window: '1s', keep_firing_for: '0s' }],
    });
    try {
      const c = await h.connect();
      const q = uid('orders-dlq');
      const steady = uid('steady-dlq');
      const cid = uid('wf');
      for (const [i, depth] of [0, 4, 9, 13].entries()) {
        c.send(r.metric('dlq.depth', 'gauge', depth, { function: 'consumer', correlation_id: cid, attributes: { queue: q } }));
        c.send(r.metric('dlq.depth', 'gauge', 50 + (i % 2), { function: 'consumer', attributes: { queue: steady } }));
        await c.flush(uid('f'));
        await sleep(60);
      }
      await waitUntil(() => named(h.rec, 'DeadLetterQueueGrowing', 'queue', q).length > 0, { timeoutMs: 2000, what: 'DeadLetterQueueGrowing' });
      const [a] = named(h.rec, 'DeadLetterQueueGrowing', 'queue', q);
      assert.deepEqual(a.labels, { alertname: 'DeadLetterQueueGrowing', severity: 'warning', queue: q });
      assert.equal(a.annotations.value, '13');
      assert.equal(a.annotations.trace_id, ids.traceIdFor(cid), 'the workflow named on the gauge point');
      await waitUntil(() => named(h.rec, 'DeadLetterQueueGrowing', 'queue', q).some((x) => x.status === 'resolved'), { timeoutMs: 3000, what: 'resolved' });
      await assertLifecycle(h, 'DeadLetterQueueGrowing', 'queue', q);
      assert.equal(named(h.rec, 'DeadLetterQueueGrowing', 'queue', steady).length, 0);
    } finally {
      await h.close();
    }
  });

  test('DeadLetterQueueGrowing reads the gauge named by alerts.dlq_depth_metric', { timeout: 20000 }, async () => {
    const h = await alertSetup({
      settings: { dlq_depth_metric: 'sqs.dlq.messages' },
      rules: [{ name: 'DeadLetterQueueGrowing', window: '1s' }],
    });
    try {
      const c = await h.connect();
      const q = uid('dlq');
      const other = uid('dlq');
      for (const depth of [1, 20]) {
        c.send(r.metric('sqs.dlq.messages', 'gauge', depth, { function: 'consumer', attributes: { queue: q } }));
        c.send(r.metric('dlq.depth', 'gauge', depth, { function: 'consumer', attributes: { queue: other } }));
        await c.flush(uid('f'));
        await sleep(60);
      }
      await waitUntil(() => named(h.rec, 'DeadLetterQueueGrowing', 'queue', q).length > 0, { timeoutMs: 2000, what: 'the alert from the configured gauge' });
      assert.equal(named(h.rec, 'DeadLetterQueueGrowing', 'queue', other).length, 0, 'dlq.depth is no longer read');
    } finally {
      await h.close();
    }
  });

  test('ExportFailing: every export failing fires (agent labels only); recovery resolves', { timeout: 30000 }, async () => {
    let failing = true;
    const h = await alertSetup({
      settings: { explicit_resolve: true },
      rules: [{ name: 'ExportFailing', window: '1s', for: '500ms' }],
      extra: { export: { retry_initial: '50ms', retry_max: '100ms' } },
      sinkOpts: { respond: () => (failing ? { status: 503 } : undefined) },
    });
    try {
      const c = await h.connect();
      const pump = setInterval(() => { c.send(r.log(uid('wf'), 'tick')); }, 100);
      try {
        await waitUntil(() => h.rec.alerts().some((a) => a.labels.alertname === 'ExportFailing'), { timeoutMs: 6000, what: 'ExportFailing' });
        const [a] = h.rec.alerts().filter((x) => x.labels.alertname === 'ExportFailing');
        assert.deepEqual(a.labels, { alertname: 'ExportFailing', severity: 'critical' }, 'nothing agent-specific');
        assert.ok(h.agent.stderr().split('\n').some((l) => l.includes('alert firing') && l.includes('ExportFailing') && l.includes('level=error')), 'an error line');
        failing = false;
        // The OTLP record about the agent travels under the agent's own resource.
        await waitUntil(() => h.sink.logs().some((l) => l.log.attributes['alert.name'] === 'ExportFailing'), { timeoutMs: 8000, what: 'the ExportFailing record once exports work again' });
        const lr = h.sink.logs().find((l) => l.log.attributes['alert.name'] === 'ExportFailing');
        assert.equal(lr.resource['service.name'], 'spindle');
        assert.equal(lr.log.severityText, 'ERROR');
        assert.equal(lr.log.traceId, '', 'no workflow: no trace');
        await waitUntil(() => h.rec.alerts().some((x) => x.labels.alertname === 'ExportFailing' && x.status === 'resolved'), { timeoutMs: 8000, what: 'resolved after exports recover' });
        const got = h.rec.alerts().filter((x) => x.labels.alertname === 'ExportFailing');
        assert.ok(got.filter((x) => x.status === 'firing').every((x) => x.startsAt === got[0].startsAt), 'one alert while failing');
        assert.equal(got.filter((x) => x.status === 'resolved').length, 1);
      } finally {
        clearInterval(pump);
      }
    } finally {
      await h.close();
    }
  });
});

describe('webhook signature and secrets', needBinary, () => {
  for (const source of ['file', 'env']) {
    test(`HMAC-SHA256 over timestamp.body verifies with the shared secret (secret from ${source}); the secret is never logged`, { timeout: 20000 }, async () => {
      const secret = `planted-${crypto.randomBytes(12).toString('hex')}`;
      const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'spindle-secret-'));
      const file = path.join(dir, 'secret');
      fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
      const pathToken = `T0KEN${crypto.randomBytes(6).toString('hex')}`; // as in Slack-style hook URLs
      const hook = (u) => `${u}/services/${pathToken}`;
      const h = await alertSetup({
        settings: source === 'file' ? { webhook: { secret_file: file } } : { webhook: { secret_env: 'SPINDLE_TEST_HOOK_SECRET' } },
        webhookUrl: hook,
        extra: { log: { level: 'debug' } },
        env: source === 'env' ? { SPINDLE_TEST_HOOK_SECRET: secret } : undefined,
      });
      try {
        const c = await h.connect();
        const cid = uid('wf');
        c.send(r.event(cid, 'dead_letter', { function: 'f', queue: 'q' }));
        await c.flush(uid('f'));
        await waitUntil(() => h.rec.requests.length > 0, { timeoutMs: 3000, what: 'a webhook request' });
        const req = h.rec.requests[0];
        const ts = req.headers['x-spindle-timestamp'];
        const sig = req.headers['x-spindle-signature'];
        assert.match(ts, /^\d+$/);
        assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 30, 'a current Unix time');
        const want = `sha256=${crypto.createHmac('sha256', secret).update(`${ts}.`).update(req.raw).digest('hex')}`;
        assert.equal(sig, want, 'the signature verifies');
        const wrong = `sha256=${crypto.createHmac('sha256', 'not-the-secret').update(`${ts}.`).update(req.raw).digest('hex')}`;
        assert.notEqual(sig, wrong);
        // Alertmanager's webhook payload
        assert.equal(req.json.version, '4');
        assert.equal(req.json.status, 'firing');
        assert.equal(req.json.alerts[0].labels.correlation_id, cid);
        assert.match(req.json.alerts[0].fingerprint, /^[0-9a-f]{16}$/);
        await h.agent.stop('SIGTERM');
        const logs = h.agent.stderr() + h.agent.stdout();
        assert.ok(logs.includes('alert notifier ready') && logs.includes('signed=true'), 'debug log was on and the notifier logged');
        assert.equal(logs.includes(secret), false, 'the secret is in no log line');
        assert.equal(logs.includes(secret.slice(8)), false);
        assert.equal(req.path, `/hook/services/${pathToken}`, 'posted to the full URL');
        assert.equal(logs.includes(pathToken), false, 'a token in the webhook URL is not logged either');
      } finally {
        await h.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a secret in the config in clear is refused, naming the line', { timeout: 10000 }, async () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'spindle-secret-'));
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'alerts:\n  webhook:\n    url: http://127.0.0.1:9/x\n    secret: hunter2\n');
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /c\.yaml:4: 'alerts\.webhook\.secret': secrets are never kept in the configuration in clear/);
    assert.equal(res.stderr.includes('hunter2'), false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('rules in the configuration', needBinary, () => {
  test('--print-default-config shows the default rules and --check-config validates rules with FILE:LINE', { timeout: 10000 }, async () => {
    const def = await runSpindle(['--print-default-config']);
    for (const name of ['DeadLetter', 'WorkflowRetries', 'FunctionThrottled', 'ColdStartRatioHigh', 'InitDurationHigh', 'DeadLetterQueueGrowing', 'ExportFailing', 'JournalNearlyFull']) {
      assert.ok(def.stdout.includes(`- name: ${name}\n`), name);
    }
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'spindle-rules-'));
    const bad = [
      ['alerts:\n  rules:\n    - name: WorkflowRetries\n      condition: count > 3\n', /:4: rule 'WorkflowRetries': bad value 'count > 3' for 'condition'/],
      ['alerts:\n  rules:\n    - name: Mine\n      signal: throttles\n      scope: function\n      condition: count >= 2\n', /:3: rule 'Mine' needs a window/],
      ['alerts:\n  rules:\n    - name: Mine\n      signal: cold_starts\n      scope: function\n      window: 1m\n      condition: ratio > 0.5\n', /:3: rule 'Mine' 'ratio > X' needs a denominator/],
      ['alerts:\n  rules:\n    - name: Mine\n      signal: throttles\n      scope: function\n      window: 1m\n      condition: any\n      colour: red\n', /:8: unknown key 'alerts\.rules\[Mine\]\.colour'/],
      ['alerts:\n  rules:\n    - name: DeadLetter\n      summary: "{{nope}}"\n', /:4: rule 'DeadLetter': unknown placeholder '\{\{nope\}\}'/],
      ['alerts:\n  rules:\n    - name: Q\n      signal: dlq_depth\n      scope: function\n      window: 1m\n      condition: increase >= 1\n', /:3: rule 'Q' .*queue/],
      ['alerts:\n  rulez: []\n', /:2: unknown key 'alerts\.rulez'/],
    ];
    for (const [text, re] of bad) {
      const f = path.join(dir, 'bad.yaml');
      fs.writeFileSync(f, text);
      const res = await runSpindle(['--check-config', f]);
      assert.equal(res.code, 1, text);
      assert.match(res.stderr, re, `${text} -> ${res.stderr}`);
      assert.ok(res.stderr.includes(f), 'names the file');
    }
    const good = path.join(dir, 'good.yaml');
    fs.writeFileSync(good, 'alerts:\n  rules:\n    - name: WorkflowRetries\n      condition: count >= 5\n    - name: FunctionThrottled\n      enabled: false\n    - {name: SlowCharge, signal: duration, scope: function, window: 5m, condition: "p95 > 2.5", labels: {team: payments}}\n');
    const ok = await runSpindle(['--check-config', good]);
    assert.equal(ok.code, 0, ok.stderr);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a changed threshold applies; rule state survives SIGHUP (no second firing)', { timeout: 20000 }, async () => {
    const h = await alertSetup({
      rules: [
        { name: 'WorkflowRetries', condition: 'count >= 1' },
        { name: 'FunctionThrottled', window: '5s', condition: 'count >= 2', labels: { team: 'payments' } },
      ],
    });
    try {
      const c = await h.connect();
      const cid = uid('wf');
      const fn = uid('fn');
      c.send(r.event(cid, 'retry', { function: fn, attempt: 2 }));
      c.send(r.event(cid, 'throttle', { function: fn }));
      c.send(r.event(cid, 'throttle', { function: fn }));
      await c.flush(uid('f'));
      await waitUntil(() => named(h.rec, 'WorkflowRetries', 'correlation_id', cid).length === 1 && named(h.rec, 'FunctionThrottled', 'function', fn).length >= 1, { timeoutMs: 2000, what: 'both alerts' });
      assert.equal(named(h.rec, 'FunctionThrottled', 'function', fn)[0].labels.team, 'payments', 'rule labels');
      const before = await c.stats(uid('s'));
      h.agent.proc.kill('SIGHUP');
      await h.agent.waitForStderr(/configuration reloaded/, 5000);
      // More of the same after the reload: with the state lost, both would fire afresh.
      c.send(r.event(cid, 'retry', { function: fn, attempt: 3 }));
      c.send(r.event(cid, 'throttle', { function: fn }));
      c.send(r.event(cid, 'throttle', { function: fn }));
      await c.flush(uid('f'));
      await waitUntil(() => named(h.rec, 'WorkflowRetries', 'correlation_id', cid).length === 2, { timeoutMs: 2000, what: 'the grown count' });
      await sleep(500);
      const after = await c.stats(uid('s'));
      assert.equal(after.alerts.fired, before.alerts.fired, 'nothing fired again after the reload');
      assert.equal(after.alerts.firing, before.alerts.firing);
      assert.equal(firingLines(h.agent, 'FunctionThrottled').length, 1);
      const wr = named(h.rec, 'WorkflowRetries', 'correlation_id', cid);
      assert.equal(wr.length, 2, 'sent again only because its count grew');
      assert.equal(wr[1].annotations.value, '2', 'the count went on from before the reload');
      assert.equal(wr[1].startsAt, wr[0].startsAt);
      const thr = named(h.rec, 'FunctionThrottled', 'function', fn);
      assert.equal(thr[thr.length - 1].startsAt, thr[0].startsAt, 'the same alert keeps being re-sent');
    } finally {
      await h.close();
    }
  });
});

describe('notifier delivery', needBinary, () => {
  /** A receiver standing in for an Alertmanager: answers `statuses` in turn, then 200. */
  async function fakeAm(statuses = []) {
    const http = require('node:http');
    const reqs = [];
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        reqs.push({ path: req.url, method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = statuses.length ? statuses.shift() : 200;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 200 ? '' : '{"error":"no"}');
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${server.address().port}`, reqs, close: () => new Promise((res) => { server.closeAllConnections?.(); server.close(() => res()); }) };
  }

  async function agentWith(amUrls, settings, env) {
    const s = { evaluation_interval: '100ms', resend_interval: '300ms', notify_max_attempts: 3, ...settings };
    const agent = await startAgent({ config: (dir) => testConfig(null, {})(dir) + alertsYaml(s), args: amUrls.flatMap((u) => ['--alertmanager', u]), env });
    const c = await connect(agent.socketPath);
    return { agent, c, async close() { c.destroy(); await agent.stop('SIGTERM', 10000); } };
  }

  test('every URL of an HA set gets POST /api/v2/alerts; bearer token from a file, never logged', { timeout: 20000 }, async () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'spindle-tok-'));
    const tok = `tok-${crypto.randomBytes(8).toString('hex')}`;
    fs.writeFileSync(path.join(dir, 'token'), `${tok}\n`);
    const one = await fakeAm();
    const two = await fakeAm();
    const a = await agentWith([one.url, `${two.url}/`], { alertmanager: { bearer_token_file: path.join(dir, 'token') } });
    try {
      const cid = uid('wf');
      a.c.send(r.event(cid, 'dead_letter', { function: 'f', queue: 'q' }));
      await a.c.flush(uid('f'));
      await waitUntil(() => one.reqs.length > 0 && two.reqs.length > 0, { timeoutMs: 3000, what: 'both Alertmanagers' });
      for (const am of [one, two]) {
        const q = am.reqs[0];
        assert.equal(q.method, 'POST');
        assert.equal(q.path, '/api/v2/alerts');
        assert.equal(q.headers['content-type'], 'application/json');
        assert.equal(q.headers.authorization, `Bearer ${tok}`);
        const body = JSON.parse(q.body);
        assert.ok(Array.isArray(body) && body[0].labels.correlation_id === cid);
      }
      await a.agent.stop('SIGTERM');
      assert.equal(a.agent.stderr().includes(tok), false, 'the token is in no log line');
    } finally {
      await a.close();
      await one.close();
      await two.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('basic auth from the environment', { timeout: 20000 }, async () => {
    const am = await fakeAm();
    const a = await agentWith([am.url], { alertmanager: { username: 'spindle', password_env: 'SPINDLE_TEST_AM_PASSWORD' } }, { SPINDLE_TEST_AM_PASSWORD: 's3cr3t:x' });
    try {
      a.c.send(r.event(uid('wf'), 'dead_letter', { function: 'f', queue: 'q' }));
      await a.c.flush(uid('f'));
      await waitUntil(() => am.reqs.length > 0, { timeoutMs: 3000, what: 'a request' });
      assert.equal(am.reqs[0].headers.authorization, `Basic ${Buffer.from('spindle:s3cr3t:x').toString('base64')}`);
    } finally {
      await a.close();
      await am.close();
    }
  });

  test('retries on 503 then delivers; a 400 is dropped at once; both counted', { timeout: 20000 }, async () => {
    const flaky = await fakeAm([503, 503]);
    const refusing = await fakeAm([400, 400, 400, 400]);
    // resend_interval 30 s: the requests counted here are the first one and its retries.
    const a = await agentWith([flaky.url, refusing.url], { notify_max_attempts: 5, resend_interval: '30s' });
    try {
      a.c.send(r.event(uid('wf'), 'dead_letter', { function: 'f', queue: 'q' }));
      await a.c.flush(uid('f'));
      await waitUntil(() => flaky.reqs.length === 3, { timeoutMs: 5000, what: 'two retries, then the delivery' });
      assert.equal(flaky.reqs[2].body, flaky.reqs[0].body, 'the same request again');
      await sleep(300);
      assert.equal(refusing.reqs.length, 1, 'a 400 is not retried');
      const st = await a.c.stats(uid('s'));
      assert.equal(st.alerts.notification_retries, 2);
      assert.equal(st.alerts.notifications_sent, 1);
      assert.equal(st.alerts.dropped_rejected, 1);
      assert.match(a.agent.stderr(), /alert notification refused; dropped.*status=400/);
    } finally {
      await a.close();
      await flaky.close();
      await refusing.close();
    }
  });

  test('the same Alertmanager in the file and on the command line (however spelled) gets each alert once', { timeout: 20000 }, async () => {
    const am = await fakeAm();
    // In the file as given; twice more on the command line, once with a trailing slash.
    const a = await agentWith([am.url, `${am.url}/`], { resend_interval: '30s', alertmanager: { urls: [am.url] } });
    try {
      const cid = uid('wf');
      a.c.send(r.event(cid, 'dead_letter', { function: 'f', queue: 'q' }));
      await a.c.flush(uid('f'));
      await waitUntil(() => am.reqs.length > 0, { timeoutMs: 3000, what: 'the alert' });
      await sleep(1000); // 10 evaluations: any second notifier would have posted by now
      assert.equal(am.reqs.length, 1, `one request, not one per spelling (${am.reqs.length})`);
      assert.equal(JSON.parse(am.reqs[0].body).filter((x) => x.labels.correlation_id === cid).length, 1, 'the alert once');
      const st = await a.c.stats(uid('s'));
      assert.equal(st.alerts.notifications_sent, 1);
      assert.equal(a.agent.stderr().match(/alert notifier ready.*notifier=alertmanager/g).length, 1, 'one Alertmanager notifier');
    } finally {
      await a.close();
      await am.close();
    }
  });

  test('many alerts at once go in several requests, each valid JSON under the body cap', { timeout: 30000 }, async () => {
    const am = await fakeAm();
    const a = await agentWith([am.url], { evaluation_interval: '1s', resend_interval: '30s' });
    try {
      const n = 3000;
      for (let i = 0; i < n; i++) a.c.send(r.event(`many-${i}-${'x'.repeat(100)}`, 'dead_letter', { function: 'f', queue: 'q' }));
      await a.c.flush(uid('f'));
      const count = () => am.reqs.reduce((acc, q) => acc + JSON.parse(q.body).length, 0);
      await waitUntil(() => count() >= n, { timeoutMs: 10000, what: `${n} alerts` });
      assert.equal(count(), n, 'each alert once');
      assert.ok(am.reqs.length >= 2, `split (${am.reqs.length} requests)`);
      for (const q of am.reqs) assert.ok(q.body.length < 4 * 1024 * 1024);
      const names = new Set(am.reqs.flatMap((q) => JSON.parse(q.body).map((x) => x.labels.correlation_id)));
      assert.equal(names.size, n);
    } finally {
      await a.close();
      await am.close();
    }
  });

  test('an unreachable Alertmanager never holds ingest back; retries run out and are counted', { timeout: 20000 }, async () => {
    const { freePort } = require('./lib/alerting');
    const port = await freePort(); // nothing listens here
    const a = await agentWith([`http://127.0.0.1:${port}`], { notify_max_attempts: 2 });
    try {
      for (let i = 0; i < 20; i++) a.c.send(r.event(uid('wf'), 'dead_letter', { function: 'f', queue: 'q' }));
      const t0 = Date.now();
      const ack = await a.c.flush(uid('f'));
      assert.equal(ack.accepted, 20);
      assert.ok(Date.now() - t0 < 1000, 'acknowledged at once');
      await waitUntil(async () => (await a.c.stats(uid('s'))).alerts.dropped_retries_exhausted >= 1, { timeoutMs: 5000, what: 'retries exhausted' });
    } finally {
      await a.close();
    }
  });
});
