'use strict';
// OTLP/HTTP export rules (fault injection at the sink): retry only 429/502/503/504 and
// connection failures, honour Retry-After, never retry a partial success or another 4xx.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSink } = require('./lib/sink');
const { startAgent } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const otlp = require('./lib/otlp');
const { uid, sleep, waitUntil } = require('./lib/util');
const { logsWithBody, delta } = require('./lib/find');

/** A respond() that answers `faults` (in order) to requests for `signal`, then 200. */
function faultsThenOk(signal, faults) {
  let n = 0;
  return (rec) => {
    if (rec.signal !== signal) return undefined;
    const f = faults[n];
    n += 1;
    return f;
  };
}

describe('export retries', needBinary, () => {
  const agents = [];
  const sinks = [];
  after(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGTERM', 5000)));
    await Promise.all(sinks.map((s) => s.close()));
  });

  async function run(respond, extra = {}) {
    const sink = await startSink({ respond });
    sinks.push(sink);
    const a = await startAgent({ config: testConfig(sink.url, extra) });
    agents.push(a);
    const c = await connect(a.socketPath);
    return { sink, a, c };
  }

  for (const status of [429, 502, 503, 504]) {
    test(`${status} is retried and the batch delivered once`, { timeout: 20000 }, async () => {
      const { sink, c } = await run(faultsThenOk('logs', [{ status }, { status }]));
      const before = await c.stats();
      const body = uid(`retry-${status}`);
      await c.send(r.log(uid('c'), body));
      await c.flush();
      await sink.waitFor((s) => s.requestsFor('logs').length >= 3, 15000, 'two failures and a retry');
      await sleep(300);
      const ok = sink.requestsFor('logs').filter((q) => q.status === 200);
      assert.equal(logsWithBody(sink, body).length, 1, 'delivered exactly once');
      assert.ok(ok.length >= 1);
      const after = await c.stats();
      assert.ok(delta(before, after, 'export.retries') >= 2, 'retries counted');
      c.destroy();
    });
  }

  test('a connection failure is retried', { timeout: 20000 }, async () => {
    const { sink, c } = await run(faultsThenOk('logs', [{ destroy: true }]));
    const body = uid('conn-fail');
    await c.send(r.log(uid('c'), body));
    await c.flush();
    await sink.waitFor((s) => logsWithBody(s, body).length === 1, 15000, 'delivered after a reset');
    c.destroy();
  });

  test('Retry-After (seconds) is honoured', { timeout: 20000 }, async () => {
    const { sink, c } = await run(faultsThenOk('logs', [{ status: 503, headers: { 'retry-after': '2' } }]));
    const body = uid('retry-after');
    await c.send(r.log(uid('c'), body));
    await c.flush();
    await sink.waitFor((s) => logsWithBody(s, body).length === 1, 15000, 'delivered after Retry-After');
    const reqs = sink.requestsFor('logs');
    const gap = reqs[1].time - reqs[0].time;
    assert.ok(gap >= 1800, `the retry waited for Retry-After: 2 (${gap} ms)`);
    c.destroy();
  });

  test('Retry-After (HTTP-date) is honoured', { timeout: 20000 }, async () => {
    // The date is 3 s ahead, whole seconds: at least 2 s must pass. Backoff alone would retry
    // within 100 ms, so an early attempt means the header was ignored. retry_max (5 s) is the
    // cap on a Retry-After, so it must be above the date.
    const when = () => new Date(Date.now() + 3000).toUTCString();
    let n = 0;
    const respond = (rec) => {
      if (rec.signal !== 'logs') return undefined;
      n += 1;
      return n === 1 ? { status: 503, headers: { 'retry-after': when() } } : undefined;
    };
    const { sink, c } = await run(respond, { export: { retry_initial: '100ms', retry_max: '5s' } });
    const body = uid('retry-after-date');
    await c.send(r.log(uid('c'), body));
    await c.flush();
    await sink.waitFor((s) => logsWithBody(s, body).length === 1, 15000, 'delivered after Retry-After');
    const reqs = sink.requestsFor('logs');
    const gap = reqs[1].time - reqs[0].time;
    assert.ok(gap >= 1500, `the retry waited for the Retry-After date (${gap} ms)`);
    c.destroy();
  });

  test('429 then 200: nothing lost, nothing twice', { timeout: 20000 }, async () => {
    const { sink, c } = await run(faultsThenOk('logs', [{ status: 429 }]),
      { export: { retry_initial: '100ms', retry_max: '200ms' } });
    const tag = uid('429');
    for (let i = 0; i < 50; i++) c.send(r.log(uid('c'), `${tag}:${i}`));
    await c.flush();
    await sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith(`${tag}:`)).length >= 50, 10000);
    await sleep(300);
    const bodies = sink.logs().map((l) => String(l.log.body)).filter((b) => b.startsWith(`${tag}:`));
    assert.equal(new Set(bodies).size, 50, 'every record arrived');
    assert.equal(bodies.length, 50, 'none twice');
    assert.equal(sink.requestsFor('logs')[0].status, 429, 'the first attempt was refused');
    c.destroy();
  });

  test('a NUL inside a string reaches the backend whole (protobuf)', { timeout: 20000 }, async () => {
    const { sink, c } = await run(() => undefined);
    const body = `${uid('nul')}\u0000after the NUL`;
    const attr = 'x\u0000y';
    await c.send({ type: 'log', correlation_id: uid('c'), body, attributes: { k: attr } });
    await c.flush();
    await sink.waitFor((s) => logsWithBody(s, body).length === 1, 5000, 'the log with its NUL');
    const [l] = logsWithBody(sink, body);
    assert.equal(l.request.format, 'protobuf');
    assert.equal(l.log.attributes.k, attr);
    c.destroy();
  });

  test('400 is not retried and counted non_retryable', { timeout: 20000 }, async () => {
    const { sink, c } = await run(faultsThenOk('logs', [{ status: 400, body: 'bad' }]));
    const before = await c.stats();
    await c.send(r.log(uid('c'), uid('bad-request')));
    await c.flush();
    await sink.waitFor((s) => s.requestsFor('logs').length >= 1, 5000, 'one attempt');
    const after = await waitUntil(async () => {
      const st = await c.stats();
      return delta(before, st, 'dropped.non_retryable') >= 1 ? st : null;
    }, { timeoutMs: 3000, what: 'dropped.non_retryable' });
    await sleep(1500);
    assert.equal(sink.requestsFor('logs').length, 1, 'no retry of a 400');
    assert.ok(delta(before, after, 'export.requests_failed') >= 1);
    c.destroy();
  });

  test('a partial success is not retried and counted partial_success', { timeout: 20000 }, async () => {
    const resp = otlp.proto.collector.logs.v1.ExportLogsServiceResponse;
    const partial = Buffer.from(resp.encode(resp.fromObject({ partialSuccess: { rejectedLogRecords: 1, errorMessage: 'one bad log' } })).finish());
    const { sink, c } = await run(faultsThenOk('logs', [{ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: partial }]));
    const before = await c.stats();
    await c.send(r.log(uid('c'), uid('partial')));
    await c.flush();
    await sink.waitFor((s) => s.requestsFor('logs').length >= 1, 5000, 'one attempt');
    const after = await waitUntil(async () => {
      const st = await c.stats();
      return delta(before, st, 'dropped.partial_success') >= 1 ? st : null;
    }, { timeoutMs: 3000, what: 'dropped.partial_success' });
    await sleep(1000);
    assert.equal(sink.requestsFor('logs').length, 1, 'no retry of a partial success');
    assert.equal(delta(before, after, 'dropped.partial_success'), 1);
    c.destroy();
  });
});
