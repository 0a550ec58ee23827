'use strict';
// 11. Shutdown: SIGTERM closes open workflows and flushes everything before exit 0.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSink } = require('./lib/sink');
const { startAgent } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { uid, sleep, makeTempDir } = require('./lib/util');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { workflowSpans, spanById, logsWithBody, metricPoints } = require('./lib/find');
const { pointValue } = require('./lib/otlp');

describe('shutdown', needBinary, () => {
  const sinks = [];
  const agents = [];
  after(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await Promise.all(sinks.map((s) => s.close()));
  });

  test('SIGTERM closes open workflows and flushes them to the sink before exit 0', { timeout: 20000 }, async () => {
    const sink = await startSink();
    sinks.push(sink);
    // Nothing would leave on its own for a long time: long batch delay, idle timeout, interval.
    const a = await startAgent({
      config: testConfig(sink.url, {
        export: { batch_delay: '30s', shutdown_timeout: '5s' },
        metrics: { interval: '1h' },
        correlation: { idle_timeout: '1h' },
      }),
    });
    agents.push(a);
    const cid = uid('term');
    const c = await connect(a.socketPath);
    await c.sendAll([
      r.workflowStart(cid, { workflow: 'term', function: 'svc' }),
      r.invocationStart(cid, 'open-inv', { function: 'svc' }), // never ended
      r.span(cid, `term-span-${cid}`, { function: 'svc', invocation_id: 'open-inv' }),
      r.log(cid, `term log ${cid}`, { function: 'svc', invocation_id: 'open-inv' }),
      r.metric(`term.counter.${cid}`, 'counter', 3, { function: 'svc' }),
    ]);
    assert.equal((await c.flush()).accepted, 5);
    await sleep(300);
    assert.equal(sink.spans().length + sink.logs().length, 0, 'nothing exported before SIGTERM');

    const t0 = Date.now();
    const exit = await a.stop('SIGTERM', 8000);
    const took = Date.now() - t0;
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `clean exit; stderr:\n${a.stderr().slice(-2000)}`);
    assert.ok(took < 6000, `exited within the shutdown timeout (${took} ms)`);

    const wfs = workflowSpans(sink, cid);
    assert.equal(wfs.length, 1, 'the open workflow was closed and exported');
    assert.equal(wfs[0].span.spanId, ids.workflowSpanIdFor(cid));
    const inv = spanById(sink, ids.invocationSpanIdFor(cid, 'open-inv'));
    assert.ok(inv, 'the open invocation was exported from its invocation_start');
    assert.equal(inv.span.parentSpanId, ids.workflowSpanIdFor(cid));
    assert.ok(sink.spans().some((s) => s.span.name === `term-span-${cid}`), 'pending span exported');
    assert.equal(logsWithBody(sink, `term log ${cid}`).length, 1, 'pending log exported');
    const pts = metricPoints(sink, `term.counter.${cid}`);
    assert.ok(pts.length >= 1, 'metrics exported at shutdown');
    assert.equal(pointValue(pts[pts.length - 1].point), 3);
  });

  test('an unreachable sink does not hold shutdown past shutdown_timeout', { timeout: 20000 }, async () => {
    const sink = await startSink({ respond: () => ({ status: 503, headers: { 'retry-after': '30' } }) });
    sinks.push(sink);
    const a = await startAgent({ config: testConfig(sink.url, { export: { batch_delay: '100ms', shutdown_timeout: '1s' } }) });
    agents.push(a);
    const c = await connect(a.socketPath);
    const cid = uid('stuck');
    await c.sendAll([r.workflowStart(cid), r.log(cid, 'never delivered')]);
    await c.flush();
    await sink.waitFor((s) => s.requests.length > 0, 5000, 'a first (failing) attempt');
    const t0 = Date.now();
    const exit = await a.stop('SIGTERM', 10000);
    const took = Date.now() - t0;
    assert.equal(exit.code, 0, `exit 0; stderr:\n${a.stderr().slice(-2000)}`);
    assert.ok(!exit.timedOut);
    assert.ok(took < 4000, `exited soon after the 1 s shutdown timeout (${took} ms)`);
  });

  test('batches still being compressed at the shutdown deadline are counted (or kept in the journal), and exit is clean',
    { timeout: 30000 }, async () => {
      // The first deflate() sleeps 1.5 s: six one-item batches wait on the thread pool.
      const shim = path.join(makeTempDir(), 'slow_deflate.so');
      execFileSync('cc', ['-shared', '-fPIC', '-o', shim, path.join(__dirname, 'fixtures/slow_deflate.c'), '-ldl']);
      for (const journal of [false, true]) {
        const sink = await startSink();
        sinks.push(sink);
        const extra = { export: { batch_delay: '30s', batch_max_items: 1, shutdown_timeout: '300ms' },
          metrics: { interval: '1h' } };
        const a = await startAgent({
          config: (dir) => testConfig(sink.url, journal ? { ...extra, storage: { path: `${dir}/journal` } } : extra)(dir),
          env: { LD_PRELOAD: shim, SLOW_DEFLATE_MS: '1500' },
        });
        agents.push(a);
        const c = await connect(a.socketPath);
        const cid = uid('zip');
        const recs = [];
        for (let i = 0; i < 6; i++) recs.push(r.log(cid, `zip ${i}`));
        await c.sendAll(recs);
        await c.flush();
        await sleep(100);
        const exit = await a.stop('SIGTERM', 10000);
        assert.equal(exit.code, 0, `exit 0; stderr:\n${a.stderr().slice(-2000)}`);
        const summary = a.stderr().split('\n').find((l) => /spindle stopped/.test(l));
        const dropped = Number(/dropped_shutdown=(\d+)/.exec(summary)[1]);
        const delivered = logsWithBody(sink, 'zip 0').length + [1, 2, 3, 4, 5]
          .reduce((n, i) => n + logsWithBody(sink, `zip ${i}`).length, 0);
        if (journal) {
          assert.equal(dropped, 0, 'kept in the journal, not counted as dropped');
          assert.match(a.stderr(), /journal kept for the next start/);
        } else {
          // dropped_shutdown counts every signal: the workflow span and the
          // self-metrics that shutdown itself emits may miss the 300 ms
          // deadline too on a loaded machine, so the six logs are a lower bound.
          assert.ok(delivered <= 6, `no log delivered twice (${delivered})`);
          assert.ok(dropped + delivered >= 6, `every log batch delivered or counted (${delivered} delivered, ${dropped} dropped)`);
          assert.ok(dropped >= 1, 'some were still being compressed at the deadline');
        }
        assert.doesNotMatch(a.stderr().split('spindle stopped')[1] || '', /export batch dropped/,
          'nothing is counted after the summary');
        c.destroy();
      }
    });
});
