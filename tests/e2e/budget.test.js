'use strict';
// limits.max_memory against hostile client mixes: clients that hang up in the middle of a
// record, with or without having pushed the agent over its budget first, never stop it
// serving the next client (issue 8, item 1); metric series are freed after
// metrics.series_ttl, and shed (counted) over the budget instead of holding input (item 2).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep, waitUntil, withTimeout } = require('./lib/util');
const { pointValue } = require('./lib/otlp');

function rawConnect(path) {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function write(s, data, ms) {
  return withTimeout(new Promise((resolve) => s.write(data, () => resolve())), ms, 'write')
    .catch(() => { /* the agent may be paused: what the kernel took is enough */ });
}

/** A new client is served: its flush is acknowledged and its log reaches the sink. */
async function newClientServed(h, what) {
  const c = await h.connect();
  const body = uid(what);
  c.send({ type: 'log', correlation_id: uid('cid'), body });
  const ack = await c.flush(uid('f'), 10000);
  assert.equal(ack.accepted, 1, `${what}: the new client's record was accepted`);
  await h.sink.waitFor((s) => s.logs().some((l) => l.log.body === body), 10000, `${what}: log at the sink`);
  return c;
}

describe('memory budget and hostile clients', needBinary, () => {
  test('many clients send "{" and hang up under a 4 MiB budget: a new client is served', { timeout: 60000 }, async () => {
    const h = await setup({ config: { limits: { max_memory: '4MiB' } } });
    try {
      const N = 60;
      const socks = [];
      for (let i = 0; i < N; i++) socks.push(await rawConnect(h.agent.socketPath));
      await Promise.all(socks.map((s) => write(s, '{', 2000)));
      await sleep(200);
      for (const s of socks) s.destroy();
      const c = await newClientServed(h, 'after-brace');
      // Every hang-up was seen: each half record counted, each connection gone.
      const st = await waitUntil(async () => {
        const x = await c.stats(uid('s'), 5000);
        return x.rejected.incomplete === N && x.connections.open === 1 ? x : null;
      }, { timeoutMs: 10000, what: `${N} incomplete records and 1 open connection` });
      assert.equal(st.dropped.memory_limit, 0);
    } finally {
      await h.close();
    }
  });

  test('clients push the agent over its budget with half records, then hang up: it resumes and serves a new client',
    { timeout: 60000 }, async () => {
      const h = await setup({ config: { limits: { max_memory: '4MiB' } } });
      try {
        const N = 40;
        const part = `{"type":"log","correlation_id":"x","body":"${'p'.repeat(150 * 1024)}`; // 150 KiB, no end
        const socks = [];
        for (let i = 0; i < N; i++) socks.push(await rawConnect(h.agent.socketPath));
        await Promise.all(socks.map((s) => write(s, part, 3000)));
        await sleep(500); // 40 x 150 KiB = 6 MiB held: input pauses
        for (const s of socks) s.destroy();
        const c = await newClientServed(h, 'after-partials');
        const st = await waitUntil(async () => {
          const x = await c.stats(uid('s'), 5000);
          return x.rejected.incomplete === N && x.connections.open === 1 ? x : null;
        }, { timeoutMs: 10000, what: `${N} incomplete records and 1 open connection` });
        assert.ok(st.connections.input_pauses >= 1, 'the half records did push the agent over its budget');
        assert.ok(st.memory.used_bytes < 1024 * 1024, `memory held by the gone clients was freed (${st.memory.used_bytes})`);
      } finally {
        await h.close();
      }
    });
});

describe('metric series: TTL and the memory budget', needBinary, () => {
  test('a series fed nothing for metrics.series_ttl is dropped after its last export; it comes back anew',
    { timeout: 30000 }, async () => {
      const h = await setup({ config: { metrics: { interval: '200ms', series_ttl: '1s' } } });
      try {
        const name = uid('ttl.counter').replace(/-/g, '_');
        const pts = () => h.sink.metrics().filter((m) => m.metric.name === name);
        const c = await h.connect();
        c.send({ type: 'metric', name, kind: 'counter', value: 5, attributes: { a: '1' } });
        await c.flush(uid('f'));
        await h.sink.waitFor(() => pts().some((m) => pointValue(m.point) === 5), 5000, 'the first point');
        const start1 = BigInt(pts()[0].point.startTimeUnixNano);
        // After the TTL, exports go on (self-metrics) without this series.
        const reqs = () => h.sink.requestsFor('metrics').length;
        await sleep(1500);
        const seen = pts().length;
        const n0 = reqs();
        await h.sink.waitFor(() => reqs() >= n0 + 3, 5000, 'three more metric exports');
        assert.equal(pts().length, seen, 'the series is no longer exported once its TTL passed');
        c.send({ type: 'metric', name, kind: 'counter', value: 3, attributes: { a: '1' } });
        await c.flush(uid('f'));
        await h.sink.waitFor(() => pts().length > seen, 5000, 'the series again');
        const again = pts().slice(seen);
        assert.equal(pointValue(again[0].point), 3, 'it starts anew: 3, not 5 + 3');
        assert.ok(BigInt(again[0].point.startTimeUnixNano) > start1, 'with a new start time');
      } finally {
        await h.close();
      }
    });

  test('distinct series over the memory budget are shed (counted memory_limit) instead of holding input',
    { timeout: 60000 }, async () => {
      // A long interval: nothing is exported (or expires) while the series pile up.
      const h = await setup({ config: { limits: { max_memory: '4MiB' }, metrics: { interval: '60s' } } });
      try {
        const c = await h.connect();
        const attrs = {};
        for (let k = 0; k < 20; k++) attrs[`attribute_${k}`] = `${'v'.repeat(100)}-${k}`;
        const N = 4000; // ~4 KiB each: ~16 MiB of series through a 4 MiB budget
        for (let i = 0; i < N; i += 100) {
          const batch = [];
          for (let j = i; j < i + 100; j++) {
            batch.push({ type: 'metric', name: 'many.series', kind: 'counter', value: 1, attributes: { ...attrs, n: j } });
          }
          c.sendAll(batch);
        }
        const ack = await c.flush(uid('f'), 20000);
        assert.equal(ack.accepted, N);
        const st = await c.stats(uid('s'));
        assert.ok(st.dropped.memory_limit > 0, `series shed, counted (${st.dropped.memory_limit})`);
        assert.ok(st.dropped.memory_limit < N, 'the most recent series were kept');
        assert.ok(st.memory.used_bytes <= 4 * 1024 * 1024, `within the budget (${st.memory.used_bytes})`);
        await newClientServed(h, 'after-series');
      } finally {
        await h.close();
      }
    });
});
