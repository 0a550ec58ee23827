'use strict';
// limits.max_memory against hostile client mixes: clients that hang up in the middle of a
// record, with or without having pushed the agent over its budget first, never stop it
// serving the next client (issue 8, item 1).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep, waitUntil, withTimeout } = require('./lib/util');

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
