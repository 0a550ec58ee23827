'use strict';
// Issue 8, "Backends": no backend answer can stop a queue or spin it. A Retry-After is capped at
// export.retry_max (the notifiers' 8 s ceiling) and never shortens the backoff; a timeout of 0 is
// refused; a backend slower than otlp.timeout is retried with backoff and given up like a 503;
// absurd partial_success counts are clamped to the request's items. Each test counts requests
// at a misbehaving loopback peer over a bounded window and reads `--stats`.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startSink } = require('./lib/sink');
const { startAgent, runSpindle } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const { alertsYaml } = require('./lib/alerting');
const r = require('./lib/records');
const otlp = require('./lib/otlp');
const { uid, sleep, waitUntil, makeTempDir } = require('./lib/util');
const { logsWithBody, latestPoint, delta } = require('./lib/find');

const INT64_MAX = '9223372036854775807';

/** A config function with the journal on, in the agent's temp dir. */
function journaled(url, extra) {
  return (dir) => testConfig(url, { ...extra, storage: { path: path.join(dir, 'journal') } })(dir);
}

describe('backend answers that must not stop or spin a queue', needBinary, () => {
  const agents = [];
  const sinks = [];
  after(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGTERM', 5000)));
    await Promise.all(sinks.map((s) => s.close()));
  });

  async function run(respond, config) {
    const sink = await startSink({ respond });
    sinks.push(sink);
    const a = await startAgent({ config: typeof config === 'function' ? config(sink.url) : testConfig(sink.url, config) });
    agents.push(a);
    const c = await connect(a.socketPath);
    return { sink, a, c };
  }

  // Item 4: a wait of three thousand years (or until 9999) is capped at export.retry_max (1 s
  // here), with the journal on as in the report; the capped wait is counted in --stats and in
  // the agent's own OTLP metrics.
  for (const [label, value] of [['99999999999 s', '99999999999'], ['a date in year 9999', 'Fri, 31 Dec 9999 23:59:59 GMT']]) {
    test(`Retry-After: ${label} is capped at export.retry_max`, { timeout: 30000 }, async () => {
      let n = 0;
      const respond = (rec) => {
        if (rec.signal !== 'logs') return undefined;
        n += 1;
        return n === 1 ? { status: 503, headers: { 'retry-after': value } } : undefined;
      };
      const { sink, c } = await run(respond, (url) => journaled(url, { export: { retry_initial: '100ms', retry_max: '1s' } }));
      const body = uid('huge-retry-after');
      await c.send(r.log(uid('c'), body));
      await c.flush();
      await sink.waitFor((s) => logsWithBody(s, body).length === 1, 8000, 'delivered after at most export.retry_max');
      const reqs = sink.requestsFor('logs');
      const gap = reqs[1].time - reqs[0].time;
      assert.ok(gap >= 800, `the header still counted, up to retry_max (${gap} ms)`);
      assert.ok(gap < 4000, `the wait was capped at retry_max = 1 s (${gap} ms)`);
      // The queue keeps going: later logs are delivered too.
      const tag = uid('later');
      for (let i = 0; i < 50; i++) c.send(r.log(uid('c'), `${tag}:${i}`));
      await c.flush();
      await sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith(`${tag}:`)).length >= 50, 8000, 'later logs');
      const st = await c.stats();
      assert.equal(st.export.retry_after_capped, 1, 'the capped wait is counted');
      await sink.waitFor((s) => {
        const p = latestPoint(s, 'spindle.export.retry_after_capped');
        return p && otlp.pointValue(p.point) === 1;
      }, 5000, 'spindle.export.retry_after_capped = 1 in the self-metrics');
      c.destroy();
    });
  }

  // Item 5: headers that used to mean "now" (0, a past date) or overflowed into "now" (2^63-1 s
  // times 1000) retried ~700 times a second. The backoff is the floor: over 3 s with
  // retry_initial 200 ms and retry_max 400 ms a queue makes about 8-15 attempts.
  test('Retry-After: 0, a past date or 2^63-1 never retries faster than the backoff', { timeout: 30000 }, async () => {
    const cases = [['0', '0'], ['a past date', 'Thu, 01 Jan 1970 00:00:00 GMT'], ['2^63-1', INT64_MAX]];
    const runs = await Promise.all(cases.map(async ([, value]) => {
      const respond = (rec) => (rec.signal === 'logs' ? { status: 503, headers: { 'retry-after': value } } : undefined);
      const x = await run(respond, { export: { retry_initial: '200ms', retry_max: '400ms' } });
      await x.c.send(r.log(uid('c'), uid('spin')));
      await x.c.flush();
      await x.sink.waitFor((s) => s.requestsFor('logs').length >= 1, 5000, 'the first attempt');
      return x;
    }));
    await sleep(3000);
    for (let i = 0; i < cases.length; i++) {
      const { sink, c } = runs[i];
      const n = sink.requestsFor('logs').length;
      assert.ok(n >= 3, `${cases[i][0]}: still retried (${n} attempts)`);
      assert.ok(n <= 40, `${cases[i][0]}: at most ~15 attempts in 3 s with backoff, got ${n}`);
      const st = await c.stats();
      assert.equal(st.dropped.retries_exhausted, 0);
      if (cases[i][1] === INT64_MAX) assert.ok(st.export.retry_after_capped >= 1, '2^63-1 s is capped, counted');
      else assert.equal(st.export.retry_after_capped, 0, `${cases[i][0]} is not a capped wait`);
      c.destroy();
    }
  });

  // Item 7, without the journal: each attempt times out; it is retried with backoff (a bounded
  // number of attempts), given up after retry_max_elapsed (counted retries_exhausted), and the
  // log says why.
  test('a backend slower than otlp.timeout: backoff, then retries_exhausted', { timeout: 30000 }, async () => {
    const respond = async (rec) => { if (rec.signal === 'logs') await sleep(1500); return undefined; };
    const { sink, a, c } = await run(respond, {
      otlp: { timeout: '300ms' },
      export: { retry_initial: '200ms', retry_max: '400ms', retry_max_elapsed: '3s' },
    });
    const tag = uid('slow');
    for (let i = 0; i < 10; i++) c.send(r.log(uid('c'), `${tag}:${i}`));
    await c.flush();
    const st = await waitUntil(async () => {
      const s = await c.stats();
      return s.dropped.retries_exhausted >= 10 ? s : null;
    }, { timeoutMs: 12000, what: 'dropped.retries_exhausted = 10' });
    assert.equal(st.dropped.retries_exhausted, 10);
    const n = sink.requestsFor('logs').length;
    // Each attempt lasts the 300 ms timeout plus a backoff: at most ~11 within 3 s.
    assert.ok(n >= 3 && n <= 14, `attempts bounded by backoff (${n})`);
    assert.ok(st.export.requests_timed_out >= n, `every attempt timed out, each counted (${st.export.requests_timed_out} of ${n})`);
    await a.waitForStderr(/backend answers slower than otlp\.timeout/, 1000);
    await sleep(1500);
    assert.equal(sink.requestsFor('logs').length, n, 'given up: no attempt after retries_exhausted');
    c.destroy();
  });

  // Item 7, with the journal: never given up, but retried with backoff, and delivered once the
  // backend is fast again; every duplicate the backend kept is one timed-out attempt.
  test('a backend slower than otlp.timeout, journaled: backoff, then delivered', { timeout: 30000 }, async () => {
    let slowUntil = Infinity;
    const respond = async (rec) => {
      if (rec.signal === 'logs' && Date.now() < slowUntil) await sleep(1000);
      else rec.fast = true; // answered within the timeout: the agent learns of this 200
      return undefined;
    };
    const { sink, c } = await run(respond, (url) => journaled(url, {
      otlp: { timeout: '300ms' },
      export: { retry_initial: '200ms', retry_max: '400ms', retry_max_elapsed: '1s' },
    }));
    const tag = uid('slowj');
    for (let i = 0; i < 10; i++) c.send(r.log(uid('c'), `${tag}:${i}`));
    await c.flush();
    await sleep(3000);
    const slowAttempts = sink.requestsFor('logs').length;
    assert.ok(slowAttempts >= 3 && slowAttempts <= 14, `attempts bounded by backoff (${slowAttempts})`);
    slowUntil = 0;
    const tagged = () => sink.logs().map((l) => String(l.log.body)).filter((b) => b.startsWith(`${tag}:`));
    // A fast 200 for the batch ends its retries: no logs request after it.
    await sink.waitFor((s) => s.requestsFor('logs').some((q) => q.fast), 8000, 'a timely answer');
    await sleep(1000);
    const logsReqs = sink.requestsFor('logs');
    const timely = new Set(sink.logs().filter((l) => l.request.fast).map((l) => String(l.log.body)).filter((b) => b.startsWith(`${tag}:`)));
    assert.equal(timely.size, 10, 'delivered once the backend answered in time');
    assert.ok(logsReqs[logsReqs.length - 1].fast, 'no attempt after the timely 200');
    const st = await c.stats();
    assert.equal(st.dropped.retries_exhausted, 0, 'journaled: not given up');
    assert.ok(st.export.requests_timed_out >= 2);
    const bodies = tagged();
    assert.equal(new Set(bodies).size, 10, 'every record arrived');
    // The slow backend kept what it answered too late: those are the duplicates the README names.
    console.log(`# slow journaled backend: ${slowAttempts} slow attempts, ${bodies.length - 10} duplicate records`);
    c.destroy();
  });

  // Item 8: a count above the request's items (or one that overflows) is clamped to them.
  test('partial_success: 2^63-1 rejected out of a batch counts the batch (protobuf)', { timeout: 30000 }, async () => {
    const resp = otlp.proto.collector.logs.v1.ExportLogsServiceResponse;
    const absurd = Buffer.from(resp.encode(resp.fromObject({ partialSuccess: { rejectedLogRecords: INT64_MAX, errorMessage: 'all of them and more' } })).finish());
    const respond = (rec) => (rec.signal === 'logs'
      ? { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: absurd } : undefined);
    const { sink, a, c } = await run(respond, {});
    const before = await c.stats();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20; i++) c.send(r.log(uid('c'), uid(`ps${round}`)));
      await c.flush();
      await sink.waitFor((s) => s.requestsFor('logs').length >= round + 1, 5000, `request ${round + 1}`);
    }
    const items = () => sink.logs().length;
    const st = await waitUntil(async () => {
      const s = await c.stats();
      return delta(before, s, 'dropped.partial_success') >= items() ? s : null;
    }, { timeoutMs: 3000, what: 'dropped.partial_success' });
    assert.ok(sink.requestsFor('logs').length >= 2, 'two such answers');
    assert.equal(delta(before, st, 'dropped.partial_success'), items(), 'clamped to the items sent');
    await a.waitForStderr(/partial_success count makes no sense/, 1000);
    c.destroy();
  });

  test('partial_success: rejectedLogRecords 1e300 in JSON counts the batch', { timeout: 30000 }, async () => {
    const respond = (rec) => (rec.signal === 'logs'
      ? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"partialSuccess":{"rejectedLogRecords":1e300}}' } : undefined);
    const { sink, c } = await run(respond, { otlp: { protocol: 'http/json' } });
    const before = await c.stats();
    for (let i = 0; i < 20; i++) c.send(r.log(uid('c'), uid('ps-json')));
    await c.flush();
    await sink.waitFor((s) => s.logs().length >= 20, 5000, 'the logs');
    const st = await waitUntil(async () => {
      const s = await c.stats();
      return delta(before, s, 'dropped.partial_success') >= 20 ? s : null;
    }, { timeoutMs: 3000, what: 'dropped.partial_success' });
    assert.equal(delta(before, st, 'dropped.partial_success'), sink.logs().length, 'clamped to the items sent');
    c.destroy();
  });
});

// Item 6: a timeout of 0 would mean "no timeout at all" to libcurl.
describe('a timeout of zero (or past any bound) is refused', needBinary, () => {
  test('otlp.timeout: 0s fails --check-config naming the key and line', { timeout: 10000 }, async () => {
    const dir = makeTempDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, 'otlp:\n  timeout: 0s\n');
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /config\.yaml:2\b/, 'names the line');
    assert.match(res.stderr, /otlp\.timeout/, 'names the key');
    fs.writeFileSync(file, 'alerts:\n  notify_timeout: 0ms\n');
    const res2 = await runSpindle(['--check-config', file]);
    assert.equal(res2.code, 1, res2.stderr);
    assert.match(res2.stderr, /config\.yaml:2\b.*alerts\.notify_timeout/);
  });

  // 2^64 saturated strtoull and reached libcurl as -1: every request failed to start.
  for (const value of ['0', '18446744073709551616']) {
    test(`OTEL_EXPORTER_OTLP_TIMEOUT=${value} stops start-up naming the variable`, { timeout: 10000 }, async () => {
      const dir = makeTempDir();
      const sock = path.join(dir, 's.sock');
      const res = await runSpindle(['--socket', sock, '--otlp-endpoint', 'http://127.0.0.1:9'], {
        cwd: dir, env: { OTEL_EXPORTER_OTLP_TIMEOUT: value }, timeoutMs: 3000,
      });
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /OTEL_EXPORTER_OTLP_TIMEOUT/);
      assert.equal(fs.existsSync(sock), false, 'no socket file');
    });
  }
});

/** An Alertmanager-like receiver: POST /api/v2/alerts answered by `answer(n)` (n from 1). */
async function fakeAlertmanager(answer) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (ch) => chunks.push(ch));
    req.on('end', () => {
      let json = null;
      try { json = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch (_) { /* kept null */ }
      requests.push({ time: Date.now(), path: req.url, json });
      const a = answer(requests.length) || { status: 200 };
      res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers || {}) });
      res.end(a.status === 200 ? '' : 'unavailable');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

// Item 4 and 5 for the notifier: a huge Retry-After is capped at the 8 s backoff ceiling (the
// alert arrives after the receiver recovers), 2^63-1 no longer overflows into an at-once retry.
describe('Alertmanager notifier and Retry-After', needBinary, () => {
  test('Retry-After 99999999999 or 2^63-1: capped at 8 s, the alert arrives', { timeout: 40000 }, async () => {
    const runs = await Promise.all(['99999999999', INT64_MAX].map(async (value) => {
      const am = await fakeAlertmanager((n) => (n === 1 ? { status: 503, headers: { 'retry-after': value } } : undefined));
      const agent = await startAgent({
        config: (dir) => testConfig(null, {})(dir) + alertsYaml({ evaluation_interval: '100ms', resend_interval: '1h' }),
        args: ['--alertmanager', am.url],
      });
      const c = await connect(agent.socketPath);
      const cid = uid('dl');
      c.send(r.event(cid, 'dead_letter', { function: 'f', queue: 'q' }));
      await c.flush();
      return { value, am, agent, c, cid };
    }));
    try {
      for (const x of runs) {
        await waitUntil(() => x.am.requests.length >= 2, { timeoutMs: 15000, what: `a retry after Retry-After ${x.value}` });
        const gap = x.am.requests[1].time - x.am.requests[0].time;
        assert.ok(gap >= 7000 && gap <= 11000, `Retry-After ${x.value}: the wait is the 8 s ceiling (${gap} ms)`);
        const alerts = x.am.requests[1].json || [];
        assert.ok(alerts.some((al) => al.labels.alertname === 'DeadLetter' && al.labels.correlation_id === x.cid), 'the alert was sent');
        const st = await x.c.stats();
        assert.ok(st.alerts.notifications_sent >= 1);
        assert.equal(st.alerts.retry_after_capped, 1, 'the capped wait is counted');
      }
    } finally {
      for (const x of runs) {
        x.c.destroy();
        await x.agent.stop('SIGTERM', 5000);
        await x.am.close();
      }
    }
  });
});
