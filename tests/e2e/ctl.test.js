'use strict';
// spindlectl against a running agent (status, workflows, workflow, alerts, emit, tail; --json;
// clear errors when no agent answers), and ./run.sh --demo: the demo's workflows and its firing
// alert on the status page in headless Chromium (screenshot kept like page.test.js's).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setup, needBinary } = require('./lib/harness');
const { SPINDLE_BIN, agentEnv } = require('./lib/agent');
const r = require('./lib/records');
const { uid, makeTempDir, withTimeout, sleep } = require('./lib/util');

const CTL = path.join(path.dirname(SPINDLE_BIN), 'spindlectl');
const TOP = path.resolve(__dirname, '../..');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARTIFACTS = process.env.SPINDLE_E2E_ARTIFACTS || path.join(os.tmpdir(), 'spindle-e2e-artifacts');

/** Runs spindlectl → {code, stdout, stderr}; `during(proc)` runs while it does. */
function ctl(args, { timeoutMs = 15000, during } = {}) {
  const proc = spawn(CTL, args, { env: agentEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c) => { stdout += c; });
  proc.stderr.on('data', (c) => { stderr += c; });
  const done = new Promise((resolve) => proc.once('close', (code) => resolve({ code, stdout, stderr })));
  if (during) during(proc);
  return withTimeout(done, timeoutMs, `spindlectl ${args.join(' ')}`).catch((e) => { proc.kill('SIGKILL'); throw e; });
}

async function adminAddress(agent) {
  const line = await agent.waitForStderr(/spindle ready/, 5000);
  return /admin="([^"]*)"/.exec(line)[1];
}

describe('spindlectl', needBinary, () => {
  let h;
  let at; // the flags that find this agent
  const cid = uid('ctl');
  before(async () => {
    h = await setup({ args: ['--http-listen', '127.0.0.1:0'] });
    at = ['--socket', h.agent.socketPath, '--http-listen', await adminAddress(h.agent)];
    const c = await h.connect();
    await c.sendAll([
      r.workflowStart(cid, { workflow: 'checkout' }),
      r.invocationStart(cid, 'i-1', { function: 'charge', cold_start: true }),
      r.event(cid, 'dead_letter', { invocation_id: 'i-1', function: 'charge', queue: 'orders-dlq' }),
    ]);
    await c.flush();
    c.destroy();
  });
  after(async () => { if (h) await h.close(); });

  test('status: ready and the counters; --json; over the data socket when the listener is off', { timeout: 20000 }, async () => {
    const s = await ctl([...at, 'status']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /spindle 0\.1\.0 {2}ready/);
    assert.match(s.stdout, /records {4}accepted 3 {2}rejected 0 {2}dropped 0/);
    assert.match(s.stdout, /exporter {3}otlp_http:/);
    const j = await ctl([...at, '--json', 'status']);
    const st = JSON.parse(j.stdout);
    assert.equal(st.ready, true);
    assert.equal(st.stats.records.accepted, 3);
    const off = await ctl(['--socket', h.agent.socketPath, '--http-listen', 'off', 'status']);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /admin off/);
    assert.match(off.stdout, /accepted 3/);
  });

  test('workflows, workflow ID and alerts, human and --json', { timeout: 20000 }, async () => {
    const w = await ctl([...at, 'workflows', '--state', 'open']);
    assert.equal(w.code, 0, w.stderr);
    const row = w.stdout.split('\n').find((l) => l.startsWith(cid));
    assert.ok(row, w.stdout);
    assert.match(row, /checkout +open +1 +1 +0 +1 .*failed$/);
    const one = await ctl([...at, 'workflow', cid]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /charge i-1 {2}unset {2}running cold start/);
    assert.match(one.stdout, /event dead_letter/);
    const js = JSON.parse((await ctl([...at, '--json', 'workflow', cid])).stdout);
    assert.equal(js.workflow.correlation_id, cid);
    const missing = await ctl([...at, 'workflow', 'no-such-workflow']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no open or recently closed workflow/);
    let alerts;
    for (let i = 0; i < 40; i++) { // DeadLetter fires within an evaluation interval (1 s)
      alerts = await ctl([...at, 'alerts']);
      if (/firing +DeadLetter/.test(alerts.stdout)) break;
      await sleep(200);
    }
    assert.match(alerts.stdout, new RegExp(`firing +DeadLetter +critical +${cid}`));
    const ja = JSON.parse((await ctl([...at, '--json', 'alerts'])).stdout);
    assert.ok(ja.alerts.some((a) => a.alertname === 'DeadLetter'));
  });

  test('emit sends one record and reports the ack; tail follows accepted records', { timeout: 30000 }, async () => {
    const ok = await ctl([...at, 'emit', 'log', `correlation_id=${cid}`, 'body=from a shell', 'attributes:={"n":1}']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'accepted\n');
    const bad = await ctl([...at, 'emit', 'log', 'body=no correlation id']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /rejected: missing_field/);
    const usage = await ctl([...at, 'emit', 'log', 'nonsense']);
    assert.equal(usage.code, 2);
    // tail: prints the records accepted after it started, then stops at --count.
    const tail = await ctl([...at, 'tail', '--count', '2', '--for', '15s'], {
      timeoutMs: 20000,
      during: async () => {
        await sleep(700); // tail's first poll starts the following
        await ctl([...at, 'emit', 'log', `correlation_id=${cid}`, 'body=one']);
        await ctl([...at, 'emit', 'event', 'name=cache_miss', `correlation_id=${cid}`]);
      },
    });
    assert.equal(tail.code, 0, tail.stderr);
    const lines = tail.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.body || l.name), ['one', 'cache_miss']);
    const stats = JSON.parse((await ctl([...at, '--json', 'status'])).stdout);
    assert.equal(stats.stats.records.accepted, 6);
  });

  test('clear errors: no agent, another agent\'s listener, usage', { timeout: 20000 }, async () => {
    const dir = makeTempDir();
    const none = await ctl(['--socket', path.join(dir, 'none.sock'), '--http-listen', 'off', 'status']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no agent answers on .*none\.sock/);
    const off = await ctl(['--socket', path.join(dir, 'none.sock'), '--http-listen', 'off', 'workflows']);
    assert.equal(off.code, 1);
    assert.match(off.stderr, /the admin listener is off/);
    const other = await ctl(['--socket', path.join(dir, 'none.sock'), '--http-listen', at[3], 'workflows']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /belongs to the agent of socket/);
    const closed = await ctl(['--socket', path.join(dir, 'none.sock'), '--http-listen', '127.0.0.1:1', 'alerts']);
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /no agent answers on the admin listener 127\.0\.0\.1:1/);
    const u = await ctl(['frobnicate']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /unknown command/);
    assert.match(fs.readFileSync(path.join(TOP, 'packaging/man/spindlectl.1.md'), 'utf8'), /^% SPINDLECTL 1/);
  });
});

describe('./run.sh --demo', needBinary, () => {
  let proc;
  let err = '';
  after(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([new Promise((res) => proc.once('exit', res)), sleep(8000)]);
    }
  });

  test('prints the page URL; the page shows the demo workflows, a waterfall and a firing alert', { timeout: 120000 }, async (t) => {
    const dir = makeTempDir('spindle-demo-');
    proc = spawn(path.join(TOP, 'run.sh'), ['--demo', '--http-listen', '127.0.0.1:0'], {
      env: agentEnv({ SPINDLE_DEMO_DIR: dir }), stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr.on('data', (c) => { err += c; });
    const deadline = Date.now() + 60000; // run.sh checks the packages and the build first
    let url;
    while (!url && Date.now() < deadline && proc.exitCode === null) {
      const m = /status page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m) url = m[1];
      else await sleep(100);
    }
    assert.ok(url, `no status page URL printed:\n${err.slice(-3000)}`);
    const { chromium } = require('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'], timeout: 30000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(url, { timeout: 15000 });
      // Within seconds: workflows of the demo, one of them dead-lettered, and the alert firing.
      const failed = page.locator('#workflows tbody tr.failed', { hasText: 'place-order' }).first();
      await failed.waitFor({ timeout: 20000 });
      await page.locator('#alerts tbody tr', { hasText: 'DeadLetter' }).waitFor({ timeout: 15000 });
      assert.match(await page.locator('#alerts tbody tr', { hasText: 'DeadLetter' }).textContent(), /firing/);
      // A workflow that closed before anyone watched lists without its waterfall: the next
      // dead-lettered order (every fifth) closes while the page watches.
      const until = Date.now() + 30000;
      for (;;) {
        await failed.click();
        await page.waitForSelector('.r-workflow .tag.dlq', { timeout: 10000 });
        if (await page.locator('.r-invocation').count() > 0) break;
        assert.ok(Date.now() < until, 'a dead-lettered order with its waterfall within 30 s');
        await sleep(1000);
      }
      const labels = (await page.locator('.r-invocation .wlabel').allTextContents()).join(' | ');
      assert.match(labels, /charge-card.*retry #3/, labels);
      assert.ok(await page.locator('#trace-link').count() === 1, 'the trace link (alerts.trace_url of the demo)');
      // A cold start is marked (every fourth order's validate-order scales out).
      const cold = page.locator('#workflows tbody tr', { hasText: 'place-order' })
        .filter({ has: page.locator('td:nth-child(5)', { hasNotText: /^0$/ }) }).first();
      await cold.waitFor({ timeout: 20000 });
      await cold.click();
      await page.locator('.r-invocation .tag.cold').first().waitFor({ timeout: 10000 });
      await failed.click();
      await page.waitForSelector('.r-invocation .tag.retry', { timeout: 10000 });
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const shot = path.join(ARTIFACTS, 'demo-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);
    } finally {
      await browser.close();
    }
    proc.kill('SIGTERM');
    const code = await Promise.race([new Promise((res) => proc.once('exit', (c) => res(c))), sleep(10000).then(() => 'timeout')]);
    assert.equal(code, 0, err.slice(-2000));
  });
});
