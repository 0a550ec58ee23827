'use strict';
// limits.max_memory: a slow sink and fast producers, no journal. Producers are pushed back,
// nothing is lost, and the agent's peak resident memory (VmHWM from /proc) stays within the
// budget plus the documented constant (16 MiB: shared libraries, allocator slack, hash tables),
// with logs only and with a high-cardinality mix of workflows, spans, logs and metrics.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep } = require('./lib/util');

const MiB = 1024 * 1024;

function vmHwmBytes(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return Number(m[1]) * 1024;
}

/**
 * Two producers of N records of ~1 KiB each against h's agent; when both are acknowledged and
 * everything arrived: each record exactly once, producers pushed back, nothing dropped, peak RSS
 * within budgetMiB + 16 MiB. Returns {held, peak} (ms the producers waited, bytes).
 */
async function twoProducers(h, tag, N, budgetMiB, ackTimeoutMs) {
  const pad = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(28);
  const started = Date.now();
  const producers = [0, 1].map(async (p) => {
    const c = await h.connect();
    for (let i = 0; i < N; i++) {
      c.send({ type: 'log', correlation_id: `${tag}-${p}-${i % 10}`, body: `${tag}:${p}:${i}:${pad}` });
    }
    return c.flush(uid('f'), ackTimeoutMs);
  });
  const acks = await Promise.all(producers);
  const held = Date.now() - started;
  for (const a of acks) assert.equal(a.accepted, N);
  await h.sink.waitFor((s) => s.logs().length >= 2 * N, ackTimeoutMs);
  const ids = h.sink.logs().map((l) => String(l.log.body).split(':').slice(0, 3).join(':'))
    .filter((b) => b.startsWith(`${tag}:`));
  assert.equal(new Set(ids).size, 2 * N, 'every record arrived');
  assert.equal(ids.length, 2 * N, 'none twice');
  const c = await h.connect();
  const st = await c.stats(uid('s'));
  assert.ok(st.connections.input_pauses >= 1, 'producers were pushed back');
  for (const [reason, n] of Object.entries(st.dropped)) assert.equal(n, 0, `dropped.${reason}`);
  const peak = vmHwmBytes(h.agent.pid);
  assert.ok(peak <= (budgetMiB + 16) * MiB,
    `peak RSS ${(peak / MiB).toFixed(1)} MiB within ${budgetMiB} MiB + 16 MiB`);
  return { held, peak };
}

describe('memory budget', needBinary, () => {
  test('slow sink, fast producers: pushed back, nothing lost, peak RSS within budget', { timeout: 90000 }, async () => {
    const h = await setup({
      sinkOpts: { respond: async () => { await sleep(300); return undefined; } },
      config: {
        limits: { max_memory: '8MiB' },
        export: { queue_max_bytes: '64MiB', batch_delay: '100ms' },
        otlp: { compression: 'none' },
      },
    });
    try {
      // 2 producers x 10,000 records of 1 KiB: ~20 MiB through an 8 MiB budget.
      await twoProducers(h, uid('mem'), 10000, 8, 60000);
    } finally {
      await h.close();
    }
  });

  test('a sink answering once per 5 s, fast producers, no journal: pushed back, nothing lost, within budget',
    { timeout: 120000 }, async () => {
      const h = await setup({
        sinkOpts: { respond: async () => { await sleep(5000); return undefined; } },
        config: {
          limits: { max_memory: '4MiB' },
          export: { batch_delay: '100ms', batch_max_items: 4096, batch_max_bytes: '1MiB' },
          otlp: { compression: 'none' },
        },
      });
      try {
        // 2 producers x 3,000 records of 1 KiB: ~6 MiB through a 4 MiB budget.
        const { held, peak } = await twoProducers(h, uid('slow5'), 3000, 4, 90000);
        console.log(`# slow sink (5 s/response): held ${held} ms, peak RSS ${(peak / MiB).toFixed(1)} MiB`);
        assert.ok(held >= 4000, `the producers were held back until the sink answered (${held} ms)`);
      } finally {
        await h.close();
      }
    });

  test('4 clients, many unique workflows, spans, logs, histograms and series: peak RSS within budget + 16 MiB',
    { timeout: 180000 }, async () => {
      const h = await setup({
        config: {
          limits: { max_memory: '32MiB' },
          metrics: { interval: '1s' },
          export: { batch_delay: '100ms' },
        },
      });
      try {
        const W = 4000; // workflows per client, 10-11 records each
        const pad = 'x'.repeat(200);
        const tag = uid('mix');
        let logs = 0;
        await Promise.all([0, 1, 2, 3].map(async (p) => {
          const c = await h.connect();
          for (let i = 0; i < W; i++) {
            const cid = `${tag}-${p}-${i}`;
            const inv = `${cid}-i1`;
            const now = Date.now() / 1000;
            const recs = [
              { type: 'event', name: 'workflow_start', correlation_id: cid, workflow: `wf-${i % 50}`, ts: now },
              { type: 'event', name: 'invocation_start', correlation_id: cid, invocation_id: inv, function: `fn-${i % 20}`, cold_start: i % 7 === 0, ts: now },
              { type: 'span', correlation_id: cid, invocation_id: inv, name: `db.query.${i % 30}`, start: now - 0.02, end: now, attributes: { 'db.statement': `select ${pad} ${i}`, row: i } },
              { type: 'span', correlation_id: cid, name: 'http.call', start: now - 0.01, end: now, attributes: { url: `/x/${i}` } },
              { type: 'log', correlation_id: cid, invocation_id: inv, body: `${tag}:${p}:${i}:a ${pad}`, attributes: { user: `u${i}` } },
              { type: 'log', correlation_id: cid, body: `${tag}:${p}:${i}:b`, severity: 'warn' },
              { type: 'metric', name: 'latency', kind: 'histogram', value: i % 1000, unit: 'ms', correlation_id: cid, attributes: { route: `/r/${i % 2000}`, fn: `fn-${i % 20}` } },
              { type: 'metric', name: 'requests', kind: 'counter', value: 1, attributes: { user: `user-${p}-${i}` } },
              { type: 'event', name: 'invocation_end', correlation_id: cid, invocation_id: inv, status: 'ok', ts: now },
            ];
            if (i % 3 === 0) recs.push({ type: 'event', name: 'workflow_end', correlation_id: cid, ts: now });
            logs += 2;
            c.sendAll(recs);
            if (i % 500 === 499) await c.flush(uid('f'), 60000);
          }
          const ack = await c.flush(uid('f'), 60000);
          assert.equal(ack.rejected, 0);
        }));
        // Workflows closed early for the budget still deliver what they held.
        await h.sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith(`${tag}:`)).length >= logs,
          60000, `${logs} logs`);
        const c = await h.connect();
        const st = await c.stats(uid('s'));
        const peak = vmHwmBytes(h.agent.pid);
        console.log(`# high-cardinality mix: peak RSS ${(peak / MiB).toFixed(1)} MiB, pauses ${st.connections.input_pauses}, ` +
          `workflows evicted ${st.workflows.evicted}, dropped memory_limit ${st.dropped.memory_limit}`);
        assert.ok(peak <= (32 + 16) * MiB, `peak RSS ${(peak / MiB).toFixed(1)} MiB within 32 MiB + 16 MiB`);
      } finally {
        await h.close();
      }
    });
});
