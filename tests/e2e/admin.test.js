'use strict';
// The admin listener (--http-listen): its address rules, /metrics scraped by a real Prometheus
// (Debian's prometheus 2.42) and checked by promtool, /healthz and /readyz, and --stats over it.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { setup, needBinary, testConfig } = require('./lib/harness');
const { startAgent, runSpindle } = require('./lib/agent');
const r = require('./lib/records');
const { uid, makeTempDir, waitUntil, sleep } = require('./lib/util');

/** GET over TCP ("127.0.0.1:PORT") or a Unix socket ("unix:PATH") → {status, headers, body}. */
function httpGet(addr, urlPath, headers = {}, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const opts = addr.startsWith('unix:')
      ? { socketPath: addr.slice(5), path: urlPath, headers }
      : { host: addr.slice(0, addr.lastIndexOf(':')), port: Number(addr.slice(addr.lastIndexOf(':') + 1)), path: urlPath, headers };
    const req = http.get(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${urlPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The admin address from the "spindle ready" line. */
async function adminAddress(agent) {
  const line = await agent.waitForStderr(/spindle ready/, 5000);
  const m = /admin="([^"]*)"/.exec(line);
  assert.ok(m, `no admin= in the ready line: ${line}`);
  return m[1];
}

/** One sample's value from the text exposition, or undefined. */
function sampleValue(text, name, labels = '') {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (line.slice(0, sp) === `${name}${labels}`) return Number(line.slice(sp + 1));
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function workflow(cid) {
  return [
    r.workflowStart(cid, { workflow: 'order' }),
    r.invocationStart(cid, `${cid}-i1`, { function: 'checkout', trigger: 'http', cold_start: true }),
    r.invocationEnd(cid, `${cid}-i1`, { function: 'checkout' }),
    r.event(cid, 'dead_letter', { function: 'checkout', queue: 'orders-dlq' }),
    r.workflowEnd(cid),
  ];
}

describe('admin listener: /metrics', needBinary, () => {
  let h;
  let addr;
  const cid = uid('adm');
  before(async () => {
    h = await setup({ args: ['--http-listen', '127.0.0.1:0'] });
    addr = await adminAddress(h.agent);
    const c = await h.connect();
    await c.sendAll(workflow(cid));
    await c.flush();
  });
  after(async () => { if (h) await h.close(); });

  test('port 0: the bound address is in the ready line and in --stats', { timeout: 15000 }, async () => {
    assert.match(addr, /^127\.0\.0\.1:[1-9][0-9]*$/);
    const res = await runSpindle(['--stats', '--socket', h.agent.socketPath, '--http-listen', 'off']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).admin, addr);
  });

  test('text exposition: every --stats counter, the workflow metrics, promtool check metrics', { timeout: 20000 }, async () => {
    const st = JSON.parse((await runSpindle(['--stats', '--socket', h.agent.socketPath, '--http-listen', 'off'])).stdout);
    const res = await httpGet(addr, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    const t = res.body;
    assert.equal(sampleValue(t, 'spindle_records_accepted_total'), st.records.accepted);
    assert.equal(sampleValue(t, 'spindle_records_accepted_total'), 5);
    assert.equal(sampleValue(t, 'spindle_records_rejected_total', '{reason="malformed_json"}'), 0);
    assert.equal(sampleValue(t, 'spindle_records_dropped_total', '{reason="queue_full"}'), 0);
    assert.equal(sampleValue(t, 'spindle_workflows_opened_total'), 1);
    assert.ok(sampleValue(t, 'spindle_memory_used_bytes') > 0);
    assert.ok(sampleValue(t, 'spindle_memory_part_bytes', '{part="workflows"}') >= 0);
    assert.equal(sampleValue(t, 'spindle_alerts_firing', '{alertname="DeadLetter",severity="critical"}') !== undefined, true);
    assert.equal(sampleValue(t, 'faas_invocations_total', '{faas_name="checkout",faas_trigger="http"}'), 1);
    assert.equal(sampleValue(t, 'faas_coldstarts_total', '{faas_name="checkout"}'), 1);
    assert.equal(sampleValue(t, 'faas_invoke_duration_seconds_count', '{faas_name="checkout"}'), 1);
    assert.equal(sampleValue(t, 'faas_invoke_duration_seconds_bucket', '{faas_name="checkout",le="+Inf"}'), 1);
    assert.equal(sampleValue(t, 'spindle_dead_letters_total', '{faas_name="checkout",queue="orders-dlq"}'), 1);
    assert.ok(t.includes('# TYPE spindle_export_duration_seconds histogram'));
    // Every group of --stats has its family.
    for (const n of ['spindle_connections_accepted_total', 'spindle_input_pauses_total', 'spindle_export_retries_total',
      'spindle_export_splits_total', 'spindle_export_queue_bytes', 'spindle_alerts_fired_total',
      'spindle_alerts_notifications_dropped_total', 'spindle_records_accepted_with_total']) {
      assert.ok(t.includes(`# TYPE ${n} `), `${n} is exposed`);
    }
    const pc = spawnSync('promtool', ['check', 'metrics'], { input: t, encoding: 'utf8', timeout: 10000 });
    assert.equal(pc.status, 0, `promtool check metrics: ${pc.stdout}${pc.stderr}`);
    assert.equal(`${pc.stdout}${pc.stderr}`.trim(), '', 'promtool has no complaint');
  });

  test('delivered by signal: the three add up to export.delivered', { timeout: 20000 }, async () => {
    let t;
    let st;
    const deadline = Date.now() + 15000;
    for (;;) {
      st = JSON.parse((await runSpindle(['--stats', '--socket', h.agent.socketPath, '--http-listen', 'off'])).stdout);
      t = (await httpGet(addr, '/metrics')).body;
      if (sampleValue(t, 'spindle_export_delivered_total', '{signal="traces"}') >= 2 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const by = ['traces', 'logs', 'metrics'].map((s) => sampleValue(t, 'spindle_export_delivered_total', `{signal="${s}"}`));
    assert.ok(by[0] >= 2, `the workflow and invocation spans were delivered (${by[0]})`);
    assert.ok(by.every((v) => v !== undefined), 'a sample for every signal');
    // Between two equal scrapes nothing was delivered: --stats read between them agrees.
    const sumOf = (body) => ['traces', 'logs', 'metrics']
      .map((s) => sampleValue(body, 'spindle_export_delivered_total', `{signal="${s}"}`)).reduce((x, y) => x + y, 0);
    for (let i = 0; ; i++) {
      const before = sumOf((await httpGet(addr, '/metrics')).body);
      const st2 = JSON.parse((await runSpindle(['--stats', '--socket', h.agent.socketPath, '--http-listen', 'off'])).stdout);
      const after = sumOf((await httpGet(addr, '/metrics')).body);
      if (before === after) {
        assert.equal(after, st2.export.delivered, 'the signals add up to export.delivered');
        break;
      }
      assert.ok(i < 20, 'deliveries settle');
    }
  });

  test('OpenMetrics when Accept asks for it', { timeout: 10000 }, async () => {
    const res = await httpGet(addr, '/metrics', { Accept: 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5' });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/openmetrics-text; version=1\.0\.0/);
    assert.ok(res.body.endsWith('# EOF\n'));
    assert.ok(res.body.includes('# TYPE spindle_records_accepted counter\n'));
    assert.ok(res.body.includes('\nspindle_records_accepted_total 5\n'));
  });

  test('a real Prometheus scrapes it (OpenMetrics negotiated) and answers queries', { timeout: 60000 }, async () => {
    const dir = makeTempDir('spindle-prom-');
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  scrape_timeout: 1s',
      'scrape_configs:', '  - job_name: spindle', '    static_configs:', `      - targets: ['${addr}']`, '',
    ].join('\n'));
    const prom = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    let promErr = '';
    prom.stderr.on('data', (c) => { promErr += c; });
    try {
      const base = `127.0.0.1:${port}`;
      const query = async (q) => {
        try {
          const res = await httpGet(base, `/api/v1/query?query=${encodeURIComponent(q)}`);
          return res.status === 200 ? JSON.parse(res.body).data.result : [];
        } catch (_) { return []; }
      };
      let got = [];
      await waitUntil(async () => {
        got = await query('spindle_records_accepted_total');
        return got.length === 1;
      }, { timeoutMs: 40000, intervalMs: 500, what: 'Prometheus to have scraped spindle', describe: () => promErr.slice(-2000) });
      assert.equal(got[0].value[1], '5');
      assert.equal(got[0].metric.job, 'spindle');
      const inv = await query('faas_invocations_total{faas_name="checkout"}');
      assert.equal(inv.length, 1);
      assert.equal(inv[0].value[1], '1');
      assert.equal(inv[0].metric.faas_trigger, 'http');
      const hist = await query('sum(faas_invoke_duration_seconds_count)');
      assert.equal(hist[0].value[1], '1');
      const up = await query('up{job="spindle"}');
      assert.equal(up[0].value[1], '1');
      const targets = JSON.parse((await httpGet(base, '/api/v1/targets')).body);
      const t = targets.data.activeTargets.find((x) => x.labels.job === 'spindle');
      assert.equal(t.health, 'up', t.lastError);
    } finally {
      prom.kill('SIGTERM');
      await Promise.race([new Promise((res) => prom.once('exit', res)), sleep(5000)]);
    }
  });

  test('/healthz and /readyz answer 200', { timeout: 10000 }, async () => {
    const hz = await httpGet(addr, '/healthz');
    assert.equal(hz.status, 200);
    assert.equal(hz.body, 'ok\n');
    const rz = await httpGet(addr, '/readyz');
    assert.equal(rz.status, 200, rz.body);
  });
});

describe('admin listener: addresses', needBinary, () => {
  test('off: no listener, admin="off" in the ready line', { timeout: 15000 }, async () => {
    const agent = await startAgent({ config: testConfig(null), args: ['--http-listen', 'off'] });
    try {
      assert.equal(await adminAddress(agent), 'off');
    } finally { await agent.stop(); }
  });

  test('unix:PATH serves /metrics on a Unix socket', { timeout: 15000 }, async () => {
    const dir = makeTempDir();
    const sock = path.join(dir, 'admin.sock');
    const agent = await startAgent({ dir, config: testConfig(null), args: ['--http-listen', `unix:${sock}`] });
    try {
      assert.equal(await adminAddress(agent), `unix:${sock}`);
      const res = await httpGet(`unix:${sock}`, '/metrics');
      assert.equal(res.status, 200);
      assert.equal(sampleValue(res.body, 'spindle_records_accepted_total'), 0);
    } finally { await agent.stop(); }
  });

  test('a configured address that cannot be bound: exit 1 naming it', { timeout: 15000 }, async () => {
    const holder = net.createServer();
    await new Promise((res) => holder.listen(0, '127.0.0.1', res));
    const taken = `127.0.0.1:${holder.address().port}`;
    try {
      const dir = makeTempDir();
      const res = await runSpindle(['--socket', path.join(dir, 's.sock'), '--http-listen', taken], { cwd: dir });
      assert.equal(res.code, 1, res.stderr);
      assert.ok(res.stderr.includes(taken), res.stderr);
      assert.match(res.stderr, /cannot listen on the admin address/);
      assert.equal(fs.existsSync(path.join(dir, 's.sock')), false, 'the data socket is removed again');
    } finally { holder.close(); }
  });

  test('the default address taken: a warning, and the agent runs without it', { timeout: 15000 }, async () => {
    // Holds the default port if it is free; if something else holds it, it is taken all the same.
    const holder = net.createServer();
    await new Promise((res) => { holder.once('error', () => res()); holder.listen(9464, '127.0.0.1', res); });
    try {
      const agent = await startAgent({ config: testConfig(null), admin: 'config' });
      try {
        assert.equal(await adminAddress(agent), 'off');
        assert.match(agent.stderr(), /level=warn msg="admin listener off: cannot listen on its default address/);
        const c = await require('./lib/client').connect(agent.socketPath);
        await c.sendAll([r.log(uid('x'), 'still works')]);
        const ack = await c.flush();
        assert.equal(ack.accepted, 1);
        c.destroy();
      } finally { await agent.stop(); }
    } finally { holder.close(); }
  });

  test('--check-config names the line of a bad admin.listen; --http-listen is checked too', { timeout: 15000 }, async () => {
    const dir = makeTempDir();
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'log:\n  level: info\nadmin:\n  listen: 127.0.0.1:99999\n');
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: bad value .*admin\\.listen`));
    const flag = await runSpindle(['--http-listen', 'example.com:80', '--socket', path.join(dir, 's.sock')]);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /--http-listen 'example\.com:80': the host must be a numeric address or localhost/);
  });
});

describe('admin listener: /readyz', needBinary, () => {
  test('503 with the reason while an exporter fails and nothing journals; 200 with the journal', { timeout: 30000 }, async () => {
    const dead = `http://127.0.0.1:${await freePort()}`; // nobody listens: every export fails
    for (const journal of [false, true]) {
      const dir = makeTempDir();
      const args = ['--http-listen', '127.0.0.1:0', '--otlp-endpoint', dead];
      if (journal) args.push('--storage-path', path.join(dir, 'journal'));
      const agent = await startAgent({ dir, config: testConfig(null), args });
      try {
        const addr = await adminAddress(agent);
        assert.equal((await httpGet(addr, '/readyz')).status, 200, 'ready before any export');
        const c = await require('./lib/client').connect(agent.socketPath);
        await c.sendAll([r.log(uid('rz'), 'x')]);
        await c.flush();
        c.destroy();
        await agent.waitForStderr(/export failed, will retry/, 10000);
        const rz = await httpGet(addr, '/readyz');
        if (journal) {
          assert.equal(rz.status, 200, rz.body);
        } else {
          assert.equal(rz.status, 503);
          assert.match(rz.body, /exporter otlp_http is not delivering logs/);
        }
        assert.equal((await httpGet(addr, '/healthz')).status, 200);
      } finally { await agent.stop('SIGTERM', 10000); }
    }
  });
});

describe('spindle --stats over the admin listener', needBinary, () => {
  test('answers while the data socket cannot (here: its file is gone)', { timeout: 20000 }, async () => {
    const h = await setup({ args: ['--http-listen', '127.0.0.1:0'] });
    try {
      const addr = await adminAddress(h.agent);
      const c = await h.connect();
      await c.sendAll([r.log(uid('s'), 'x')]);
      await c.flush();
      c.destroy();
      fs.renameSync(h.agent.socketPath, `${h.agent.socketPath}.moved`);
      const res = await runSpindle(['--stats', '--socket', h.agent.socketPath, '--http-listen', addr]);
      assert.equal(res.code, 0, res.stderr);
      const st = JSON.parse(res.stdout);
      assert.equal(st.records.accepted, 1);
      assert.equal(st.admin, addr);
      // Another agent's listener (its data socket differs) is not taken for this one.
      const other = await runSpindle(['--stats', '--socket', path.join(makeTempDir(), 'other.sock'), '--http-listen', addr]);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /cannot connect/);
      fs.renameSync(`${h.agent.socketPath}.moved`, h.agent.socketPath);
    } finally { await h.close(); }
  });
});

describe('admin listener: the JSON API', needBinary, () => {
  let h;
  let addr;
  const open = uid('api-open');
  const closed = uid('api-closed');
  before(async () => {
    h = await setup({ args: ['--http-listen', '127.0.0.1:0'], config: { alerts: { trace_url: 'http://jaeger.test/trace/{{trace_id}}' } } });
    addr = await adminAddress(h.agent);
    // Someone watches the API: from now on span records and closed workflows' details are kept.
    assert.equal((await httpGet(addr, '/api/v1/status')).status, 200);
    const c = await h.connect();
    await c.sendAll([
      r.workflowStart(open, { workflow: 'checkout' }),
      r.invocationStart(open, 'i-1', { function: 'charge', cold_start: true, trigger: 'http' }),
      r.span(open, 'POST /charges', { invocation_id: 'i-1', function: 'charge' }),
      r.invocationEnd(open, 'i-1', { function: 'charge' }),
      r.invocationStart(open, 'i-2', { function: 'charge', attempt: 2 }),
      r.event(open, 'dead_letter', { invocation_id: 'i-2', function: 'charge', queue: 'orders-dlq' }),
      r.workflowStart(closed, { workflow: 'refund' }),
      r.workflowEnd(closed),
    ]);
    await c.flush();
  });
  after(async () => { if (h) await h.close(); });

  const getJSON = async (p) => {
    const res = await httpGet(addr, p);
    assert.match(res.headers['content-type'], /^application\/json/);
    return { status: res.status, body: JSON.parse(res.body) };
  };

  test('/api/v1/workflows lists open and recently closed workflows, with filters and a limit', { timeout: 15000 }, async () => {
    let list;
    await waitUntil(async () => {
      list = (await getJSON('/api/v1/workflows')).body;
      return list.workflows.some((w) => w.correlation_id === closed && w.state === 'closed');
    }, { timeoutMs: 8000, what: 'the closed workflow to be listed' });
    const o = list.workflows.find((w) => w.correlation_id === open);
    assert.equal(o.state, 'open');
    assert.equal(o.name, 'checkout');
    assert.match(o.trace_id, /^[0-9a-f]{32}$/);
    assert.equal(o.invocations, 2);
    assert.equal(o.cold_starts, 1);
    assert.equal(o.retries, 1);
    assert.equal(o.dead_letters, 1);
    assert.equal(o.error, true);
    assert.ok(o.age_s >= 0);
    assert.equal(o.trace_url, `http://jaeger.test/trace/${o.trace_id}`);
    const cl = list.workflows.find((w) => w.correlation_id === closed);
    assert.equal(cl.name, 'refund');
    assert.equal((await getJSON('/api/v1/workflows?state=open')).body.workflows.every((w) => w.state === 'open'), true);
    const onlyClosed = (await getJSON(`/api/v1/workflows?state=closed&q=${encodeURIComponent(closed)}`)).body;
    assert.deepEqual(onlyClosed.workflows.map((w) => w.correlation_id), [closed]);
    const failed = (await getJSON('/api/v1/workflows?error=true')).body;
    assert.deepEqual(failed.workflows.map((w) => w.correlation_id), [open]);
    const one = (await getJSON('/api/v1/workflows?limit=1')).body;
    assert.equal(one.workflows.length, 1);
    assert.equal(one.matched, 2);
    assert.equal((await getJSON('/api/v1/workflows?limit=0')).status, 400);
    assert.equal((await getJSON('/api/v1/workflows?state=sleeping')).status, 400);
  });

  test('/api/v1/workflows/<id>: the invocations, spans and events this agent saw', { timeout: 10000 }, async () => {
    const { status, body } = await getJSON(`/api/v1/workflows/${encodeURIComponent(open)}`);
    assert.equal(status, 200);
    const w = body.workflow;
    assert.equal(w.correlation_id, open);
    assert.equal(w.invocations, 2);
    assert.equal(w.invocations_seen.length, 2);
    const i1 = w.invocations_seen.find((i) => i.invocation_id === 'i-1');
    assert.equal(i1.cold_start, true);
    assert.equal(i1.ended, true);
    assert.equal(i1.status, 'ok');
    assert.ok(i1.end_ms >= i1.start_ms);
    const i2 = w.invocations_seen.find((i) => i.invocation_id === 'i-2');
    assert.equal(i2.attempt, 2);
    assert.deepEqual(i2.events.map((e) => e.name), ['dead_letter']);
    assert.equal(w.spans_seen.length, 1);
    assert.equal(w.spans_seen[0].name, 'POST /charges');
    assert.equal(w.spans_seen[0].invocation_id, 'i-1');
    const c = (await getJSON(`/api/v1/workflows/${encodeURIComponent(closed)}`)).body.workflow;
    assert.equal(c.state, 'closed');
    assert.equal(c.name, 'refund');
    const missing = await getJSON('/api/v1/workflows/no-such-workflow');
    assert.equal(missing.status, 404);
  });

  test('/api/v1/alerts: the firing DeadLetter alert with its trace link; /api/v1/status', { timeout: 15000 }, async () => {
    let alerts;
    await waitUntil(async () => {
      alerts = (await getJSON('/api/v1/alerts')).body.alerts;
      return alerts.some((a) => a.alertname === 'DeadLetter' && a.state === 'firing');
    }, { timeoutMs: 8000, what: 'DeadLetter to fire' });
    const a = alerts.find((x) => x.alertname === 'DeadLetter');
    assert.equal(a.correlation_id, open);
    assert.equal(a.queue, 'orders-dlq');
    assert.equal(a.severity, 'critical');
    assert.match(a.summary, /orders-dlq/);
    assert.equal(a.trace_url, `http://jaeger.test/trace/${a.trace_id}`);
    const s = (await getJSON('/api/v1/status')).body;
    assert.equal(s.ready, true);
    assert.equal(s.stats.records.accepted, 8);
    assert.equal(s.stats.alerts.firing >= 1, true);
    assert.equal(s.exporters[0].name, 'otlp_http');
    assert.deepEqual(s.exporters[0].queues.map((q) => q.signal), ['traces', 'logs', 'metrics']);
  });
});
