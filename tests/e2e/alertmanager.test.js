'use strict';
// Issue 4, against a real Alertmanager (Debian's prometheus-alertmanager 0.25), started here on a
// loopback port with a temporary config whose webhook receiver (send_resolved: true) is a Node
// server in this test: labels, annotations and the trace link as Alertmanager stores them, the
// resolution as Alertmanager's receiver sees it, and two agents raising the same alert.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startAgent } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const { startReceiver, startAlertmanager, alertsYaml, freePort } = require('./lib/alerting');
const ids = require('./lib/ids');
const r = require('./lib/records');
const { uid, sleep, waitUntil } = require('./lib/util');

/** An agent (file exporter, no sink) sending to `amUrl` through the --alertmanager flag. */
async function agentFor(amUrl, { settings = {}, rules = [] } = {}) {
  const s = { evaluation_interval: '100ms', resend_interval: '300ms', trace_url: 'http://jaeger.test/trace/{{trace_id}}', ...settings };
  const agent = await startAgent({ config: (dir) => testConfig(null, {})(dir) + alertsYaml(s, rules), args: ['--alertmanager', amUrl] });
  const c = await connect(agent.socketPath);
  return { agent, c, async close() { c.destroy(); await agent.stop('SIGTERM', 10000); } };
}

const amFind = (list, name, key, value) => list.filter((a) => a.labels.alertname === name && a.labels[key] === value);
const received = (rec, name, key, value) => rec.alerts().filter((a) => a.labels.alertname === name && a.labels[key] === value);

describe('Alertmanager (real, prometheus-alertmanager)', needBinary, () => {
  test('a dead letter reaches Alertmanager within 2 s: labels, annotations, trace link', { timeout: 30000 }, async () => {
    const rec = await startReceiver();
    const am = await startAlertmanager({ webhookUrl: rec.url });
    // The default evaluation interval (1 s): the 2 s promise holds for the defaults.
    const a = await agentFor(am.url, { settings: { evaluation_interval: '1s' } });
    try {
      const cid = uid('order');
      const fn = uid('charge');
      a.c.send(r.workflowStart(cid, { workflow: 'checkout' }));
      a.c.send(r.event(cid, 'dead_letter', { function: fn, queue: 'orders-dlq' }));
      await a.c.flush(uid('f'));
      const t0 = Date.now();
      const list = await waitUntil(async () => { const l = amFind(await am.alerts(), 'DeadLetter', 'correlation_id', cid); return l.length ? l : null; },
        { timeoutMs: 2000, intervalMs: 50, what: 'the alert in Alertmanager within 2 s' });
      assert.ok(Date.now() - t0 < 2000);
      assert.equal(list.length, 1);
      const x = list[0];
      const trace = ids.traceIdFor(cid);
      assert.deepEqual(x.labels, { alertname: 'DeadLetter', severity: 'critical', correlation_id: cid, function: fn, queue: 'orders-dlq' },
        "the record's function and queue, nothing agent-specific");
      assert.equal(x.annotations.workflow, 'checkout', "the workflow's name is an annotation");
      assert.equal(x.annotations.summary, `workflow ${cid} ended in dead-letter queue orders-dlq`);
      assert.equal(x.annotations.trace_id, trace);
      assert.equal(x.annotations.trace_url, `http://jaeger.test/trace/${trace}`);
      assert.equal(x.generatorURL, `http://jaeger.test/trace/${trace}`, 'the trace link');
      assert.equal(x.status.state, 'active');
      const hold = Date.parse(x.endsAt) - Date.parse(x.startsAt);
      assert.ok(Math.abs(hold - 3600 * 1000) < 1000, `endsAt = startsAt + 1 h (${hold} ms)`);
      // Alertmanager routed it to its receiver.
      await waitUntil(() => received(rec, 'DeadLetter', 'correlation_id', cid).length > 0, { timeoutMs: 3000, what: "Alertmanager's webhook" });
      assert.equal(received(rec, 'DeadLetter', 'correlation_id', cid)[0].status, 'firing');
      const st = await a.c.stats(uid('s'));
      assert.ok(st.alerts.notifications_sent >= 1);
      assert.equal(st.alerts.dropped_rejected, 0, 'Alertmanager accepted what spindle sent');
      // A second dead letter of the workflow, from another function and queue, grows the same
      // alert: its labels are those of the record that raised it, for the alert's life.
      a.c.send(r.event(cid, 'dead_letter', { function: `${fn}-b`, queue: 'other-dlq' }));
      await a.c.flush(uid('f'));
      const grown = await waitUntil(async () => {
        const l = (await am.alerts()).filter((y) => y.labels.alertname === 'DeadLetter' && y.labels.correlation_id === cid);
        return l.some((y) => y.annotations.value === '2') ? l : null;
      }, { timeoutMs: 3000, what: 'the count grown to 2' });
      assert.equal(grown.length, 1, 'still one alert');
      assert.equal(grown[0].labels.function, fn);
      assert.equal(grown[0].labels.queue, 'orders-dlq');
      assert.equal(grown[0].startsAt, x.startsAt);
    } finally {
      await a.close();
      await am.stop();
      await rec.close();
    }
  });

  test("the README's alert is what Alertmanager gets: the trace id, and a link only with alerts.trace_url", { timeout: 30000 }, async () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Alerts'), readme.indexOf('\n## ', readme.indexOf('\n## Alerts') + 1));
    const json = /```json\n([\s\S]*?)```/.exec(section);
    assert.ok(json, "the README's Alerts section shows an alert as Alertmanager receives it");
    const yaml = /```yaml\n[\s\S]*?trace_url: (\S+)[\s\S]*?```/.exec(section.slice(json.index));
    assert.ok(yaml, 'and how to set the trace link');
    const rec = await startReceiver();
    const am = await startAlertmanager({ webhookUrl: rec.url });
    const plain = await agentFor(am.url, { settings: { trace_url: '' } });
    const linked = await agentFor(am.url, { settings: { trace_url: yaml[1] } });
    try {
      const send = async (a, cid, fn) => {
        a.c.send(r.workflowStart(cid, { workflow: 'checkout' }));
        a.c.send(r.event(cid, 'dead_letter', { function: fn, queue: 'orders-dlq' }));
        await a.c.flush(uid('f'));
        const [x] = await waitUntil(async () => { const l = amFind(await am.alerts(), 'DeadLetter', 'correlation_id', cid); return l.length ? l : null; },
          { timeoutMs: 3000, what: 'the alert' });
        return x;
      };
      const cid = uid('order');
      const fn = uid('charge');
      const trace = ids.traceIdFor(cid);
      const doc = JSON.parse(json[1].replaceAll('order-7731', cid).replaceAll('"charge', `"${fn}`)
        .replaceAll('4bf92f3577b34da6a3ce929d0e0e4736', trace));
      const x = await send(plain, cid, fn);
      assert.deepEqual(x.labels, doc.labels, 'labels as the README shows them');
      assert.deepEqual(x.annotations, doc.annotations, 'annotations as the README shows them: the trace id, no link');
      assert.equal(Date.parse(x.endsAt) - Date.parse(x.startsAt), Date.parse(doc.endsAt) - Date.parse(doc.startsAt));
      assert.equal('generatorURL' in doc, false);
      assert.ok(!x.generatorURL, `no generatorURL without alerts.trace_url (${x.generatorURL})`);
      // With the README's setting: the link, as generatorURL and as an annotation.
      const cid2 = uid('order');
      const trace2 = ids.traceIdFor(cid2);
      const y = await send(linked, cid2, fn);
      const link = yaml[1].replace('{{trace_id}}', trace2);
      assert.equal(y.generatorURL, link);
      assert.equal(y.annotations.trace_url, link);
    } finally {
      await plain.close();
      await linked.close();
      await am.stop();
      await rec.close();
    }
  });

  test('a workflow event lapses at start + event_hold: the receiver sees it resolved', { timeout: 30000 }, async () => {
    const rec = await startReceiver();
    const am = await startAlertmanager({ webhookUrl: rec.url });
    const a = await agentFor(am.url, { settings: { event_hold: '1500ms' } });
    try {
      const cid = uid('wf');
      a.c.send(r.event(cid, 'dead_letter', { function: 'f', queue: 'q' }));
      await a.c.flush(uid('f'));
      const [x] = await waitUntil(async () => { const l = amFind(await am.alerts(), 'DeadLetter', 'correlation_id', cid); return l.length ? l : null; }, { timeoutMs: 3000, what: 'the alert' });
      assert.equal(Date.parse(x.endsAt) - Date.parse(x.startsAt), 1500);
      await waitUntil(() => received(rec, 'DeadLetter', 'correlation_id', cid).some((y) => y.status === 'resolved'), { timeoutMs: 6000, what: 'resolved after event_hold' });
      const resolvedAt = received(rec, 'DeadLetter', 'correlation_id', cid).find((y) => y.status === 'resolved').time;
      assert.ok(resolvedAt >= Date.parse(x.endsAt), 'not before its endsAt');
      assert.equal(amFind(await am.alerts(), 'DeadLetter', 'correlation_id', cid).length, 0);
    } finally {
      await a.close();
      await am.stop();
      await rec.close();
    }
  });

  test('a condition alert lapses when it clears: the receiver sees it resolved', { timeout: 30000 }, async () => {
    const rec = await startReceiver();
    const am = await startAlertmanager({ webhookUrl: rec.url });
    const a = await agentFor(am.url, { rules: [{ name: 'FunctionThrottled', window: '1s', condition: 'count >= 2', keep_firing_for: '0s' }] });
    try {
      const fn = uid('busy');
      for (let i = 0; i < 8; i++) {
        a.c.send(r.event(uid('wf'), 'throttle', { function: fn }));
        await a.c.flush(uid('f'));
        await sleep(100);
      }
      const [x] = await waitUntil(async () => { const l = amFind(await am.alerts(), 'FunctionThrottled', 'function', fn); return l.length ? l : null; }, { timeoutMs: 3000, what: 'FunctionThrottled in Alertmanager' });
      assert.deepEqual(x.labels, { alertname: 'FunctionThrottled', severity: 'warning', function: fn });
      assert.equal(x.status.state, 'active');
      const stoppedAt = Date.now();
      await waitUntil(() => received(rec, 'FunctionThrottled', 'function', fn).some((y) => y.status === 'resolved'), { timeoutMs: 8000, what: 'resolved at the receiver' });
      // No explicit resolve was sent: it lapsed at its rolling endsAt (window + 4 x resend).
      assert.ok(Date.now() - stoppedAt >= 1000, 'not before the window and endsAt passed');
      assert.equal(amFind(await am.alerts(), 'FunctionThrottled', 'function', fn).length, 0, 'gone from the active list');
    } finally {
      await a.close();
      await am.stop();
      await rec.close();
    }
  });

  test('a DeadLetter fired while Alertmanager is down reaches it once it is back: re-sent until its endsAt', { timeout: 60000 }, async () => {
    const rec = await startReceiver();
    const port = await freePort(); // Alertmanager will listen here; nothing does yet
    const a = await agentFor(`http://127.0.0.1:${port}`, { settings: { resend_interval: '500ms' } });
    let am;
    try {
      const cid = uid('order');
      const fn = uid('charge');
      a.c.send(r.event(cid, 'dead_letter', { function: fn, queue: 'orders-dlq' }));
      await a.c.flush(uid('f'));
      const firedAt = Date.now();
      // The first request's 5 attempts (250 ms + 500 ms + 1 s + 2 s apart) run out in about 4 s.
      await waitUntil(async () => (await a.c.stats(uid('s'))).alerts.dropped_retries_exhausted >= 1,
        { timeoutMs: 15000, intervalMs: 200, what: "the first request's retries exhausted" });
      await sleep(Math.max(0, 5500 - (Date.now() - firedAt)));
      am = await startAlertmanager({ webhookUrl: rec.url, port });
      const [x] = await waitUntil(async () => { const l = amFind(await am.alerts(), 'DeadLetter', 'correlation_id', cid); return l.length ? l : null; },
        { timeoutMs: 10000, intervalMs: 100, what: 'the alert in Alertmanager once it is back' });
      assert.ok(Date.parse(x.startsAt) <= firedAt, `it started when the record came (${x.startsAt}), not when it was delivered`);
      assert.equal(Date.parse(x.endsAt) - Date.parse(x.startsAt), 3600 * 1000, 'endsAt = startsAt + event_hold');
      assert.equal(x.labels.function, fn);
      await waitUntil(() => received(rec, 'DeadLetter', 'correlation_id', cid).length > 0, { timeoutMs: 5000, what: "Alertmanager's webhook: on-call is paged" });
    } finally {
      await a.close();
      if (am) await am.stop();
      await rec.close();
    }
  });

  test("two agents raising the same alert are one alert; one agent's recovery does not end it", { timeout: 40000 }, async () => {
    const rec = await startReceiver();
    const am = await startAlertmanager({ webhookUrl: rec.url });
    const rules = [{ name: 'FunctionThrottled', window: '1s', condition: 'count >= 2', keep_firing_for: '0s' }];
    const a = await agentFor(am.url, { rules });
    const b = await agentFor(am.url, { rules });
    try {
      const fn = uid('shared');
      const throttle = async (who) => { who.c.send(r.event(uid('wf'), 'throttle', { function: fn })); await who.c.flush(uid('f')); };
      // Both see it for a second.
      for (let i = 0; i < 8; i++) { await throttle(a); await throttle(b); await sleep(120); }
      await waitUntil(async () => amFind(await am.alerts(), 'FunctionThrottled', 'function', fn).length > 0, { timeoutMs: 3000, what: 'the alert' });
      const both = await a.c.stats(uid('s'));
      const bothB = await b.c.stats(uid('s'));
      assert.equal(both.alerts.firing, 1, 'agent A fires it');
      assert.equal(bothB.alerts.firing, 1, 'agent B fires it');
      assert.equal(amFind(await am.alerts(), 'FunctionThrottled', 'function', fn).length, 1, 'one alert in Alertmanager');
      // A recovers; B keeps seeing throttles for 3 s: longer than A's window + endsAt (1 s + 1.2 s).
      const until = Date.now() + 3000;
      while (Date.now() < until) { await throttle(b); await sleep(120); }
      const stA = await a.c.stats(uid('s'));
      assert.equal(stA.alerts.firing, 0, 'agent A stopped firing');
      assert.ok(stA.alerts.resolved >= 1);
      const still = amFind(await am.alerts(), 'FunctionThrottled', 'function', fn);
      assert.equal(still.length, 1, 'still one active alert while B fires');
      assert.equal(still[0].status.state, 'active');
      assert.equal(received(rec, 'FunctionThrottled', 'function', fn).filter((y) => y.status === 'resolved').length, 0, 'never resolved meanwhile');
      // B recovers too: now it ends.
      await waitUntil(() => received(rec, 'FunctionThrottled', 'function', fn).some((y) => y.status === 'resolved'), { timeoutMs: 8000, what: 'resolved once both recovered' });
    } finally {
      await a.close();
      await b.close();
      await am.stop();
      await rec.close();
    }
  });

  test('explicit_resolve (single agent): the resolve is sent at once', { timeout: 30000 }, async () => {
    const rec = await startReceiver();
    const am = await startAlertmanager({ webhookUrl: rec.url });
    const a = await agentFor(am.url, {
      settings: { explicit_resolve: true, resend_interval: '5s' }, // endsAt 20 s ahead: only an explicit resolve ends it soon
      rules: [{ name: 'FunctionThrottled', window: '500ms', condition: 'count >= 2', keep_firing_for: '0s' }],
    });
    try {
      const fn = uid('once');
      for (let i = 0; i < 3; i++) { a.c.send(r.event(uid('wf'), 'throttle', { function: fn })); }
      await a.c.flush(uid('f'));
      await waitUntil(async () => amFind(await am.alerts(), 'FunctionThrottled', 'function', fn).length > 0, { timeoutMs: 3000, what: 'the alert' });
      await waitUntil(() => received(rec, 'FunctionThrottled', 'function', fn).some((y) => y.status === 'resolved'), { timeoutMs: 4000, what: 'resolved well before the 20 s endsAt' });
    } finally {
      await a.close();
      await am.stop();
      await rec.close();
    }
  });
});
