'use strict';
// limits.max_memory: a slow sink and fast producers, no journal. Producers are pushed back,
// nothing is lost, and the agent's peak resident memory (VmHWM from /proc) stays within the
// budget plus the documented constant (16 MiB: shared libraries, allocator slack, hash tables).

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
});
